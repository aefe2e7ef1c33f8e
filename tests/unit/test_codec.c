/* Unit tests for store/codec: sealed boxes with and without encryption and
 * with each compression; tamper detection; header validation; blob ids. */
#include <errno.h>
#include <stdint.h>

#include "harness.h"
#include "store/codec.h"
#include "store/crypto.h"

static struct repo_keys keys_enc, keys_plain;

static void make_keys(void)
{
	keys_enc.encrypted = 1;
	for (int i = 0; i < KEY_LEN; i++) {
		keys_enc.data_key[i] = (uint8_t)(0x10 + i);
		keys_enc.id_key[i] = (uint8_t)(0x80 + i);
	}
	keys_plain = keys_enc;
	keys_plain.encrypted = 0;
}

#define MIB (1u << 20)

static uint8_t *compressible(size_t n)
{
	static const char text[] =
		"It was the best of times, it was the worst of times, it was the age "
		"of wisdom, it was the age of foolishness, it was the epoch of belief. ";
	uint8_t *p = malloc(n ? n : 1);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)text[i % (sizeof(text) - 1)];
	return p;
}

static const char *comp_name[] = { "none", "lz4", "zstd" };

/* Seals p as a data blob with its id and opens it again. */
static int round_trip(struct codec *c, const void *p, size_t n, size_t *boxlen,
		      uint8_t *comp_used)
{
	struct oid id;
	struct buf box = BUF_INIT, out = BUF_INIT;
	codec_blob_id(c, &id, p, n);
	int ok = 1;
	buf_append(&box, "prefix", 6); /* seal appends */
	if (codec_seal(c, OBJ_DATA, &id, p, n, &box) != 0)
		ok = 0;
	if (ok && memcmp(box.data, "prefix", 6))
		ok = 0;
	const uint8_t *b = box.data + 6;
	size_t blen = box.len - 6;
	*boxlen = blen;
	*comp_used = ok ? b[2] : 0xff;
	buf_append(&out, "garbage", 7);
	if (ok && codec_open(c, OBJ_DATA, &id, b, blen, n, &out) != 0)
		ok = 0;
	if (ok && (out.len != n || (n && memcmp(out.data, p, n))))
		ok = 0;
	buf_release(&box);
	buf_release(&out);
	return ok;
}

TEST(round_trips_all_modes)
{
	uint8_t *rand1m = malloc(MIB);
	rnd_fill(rand1m, MIB);
	uint8_t *text1m = compressible(MIB);
	for (int enc = 0; enc < 2; enc++) {
		for (int comp = COMP_NONE; comp <= COMP_MAX; comp++) {
			int level = comp == COMP_ZSTD ? 3 : 1;
			struct codec *c = codec_new(enc ? &keys_enc : &keys_plain, comp, level);
			CHECK(c != NULL);
			if (!c)
				continue;
			size_t blen;
			uint8_t used;
			int before = h_checks_failed;

			CHECK(round_trip(c, "", 0, &blen, &used));
			CHECK_EQ(blen, BOX_OVERHEAD);
			CHECK_EQ(used, COMP_NONE);

			CHECK(round_trip(c, "x", 1, &blen, &used));
			CHECK_EQ(blen, 1 + BOX_OVERHEAD);
			CHECK_EQ(used, COMP_NONE);

			CHECK(round_trip(c, text1m, MIB, &blen, &used));
			if (comp == COMP_NONE) {
				CHECK_EQ(blen, MIB + BOX_OVERHEAD);
				CHECK_EQ(used, COMP_NONE);
			} else {
				CHECK(blen < MIB / 10); /* repeated text compresses well */
				CHECK_EQ(used, comp);
			}

			/* short compressible text */
			uint8_t *t300 = compressible(300);
			CHECK(round_trip(c, t300, 300, &blen, &used));
			if (comp != COMP_NONE)
				CHECK(blen < 300);
			free(t300);

			CHECK(round_trip(c, rand1m, MIB, &blen, &used));
			CHECK_EQ(blen, MIB + BOX_OVERHEAD); /* stored uncompressed */
			CHECK_EQ(used, COMP_NONE);

			/* sizes around small thresholds */
			for (size_t n = 2; n < 80; n += 7) {
				uint8_t *t = compressible(n);
				CHECK(round_trip(c, t, n, &blen, &used));
				CHECK(blen <= n + BOX_OVERHEAD);
				free(t);
			}
			if (h_checks_failed != before)
				fprintf(stderr, "  (encrypted=%d compression=%s)\n", enc,
					comp_name[comp]);
			codec_free(c);
		}
	}
	free(rand1m);
	free(text1m);
}

/* Every box type opens with its own type and id=NULL for non-blobs. */
TEST(round_trip_object_types)
{
	struct codec *c = codec_new(&keys_enc, COMP_ZSTD, 3);
	uint8_t *t = compressible(5000);
	for (int type = OBJ_PACK_TABLE; type <= OBJ_TYPE_MAX; type++) {
		struct buf box = BUF_INIT, out = BUF_INIT;
		CHECK_EQ(codec_seal(c, type, NULL, t, 5000, &box), 0);
		CHECK_EQ(box.data[1], type);
		CHECK_EQ(codec_open(c, type, NULL, box.data, box.len, 5000, &out), 0);
		CHECK(out.len == 5000 && !memcmp(out.data, t, 5000));
		int other = type == OBJ_TYPE_MAX ? OBJ_PACK_TABLE : type + 1;
		CHECK_EQ(codec_open(c, other, NULL, box.data, box.len, 5000, &out), -EBADMSG);
		buf_release(&box);
		buf_release(&out);
	}
	free(t);
	codec_free(c);
}

/* The box layout of docs/FORMAT.md §2, checked from outside the codec. */
TEST(box_format_matches_spec)
{
	uint8_t msg[100];
	rnd_fill(msg, sizeof(msg));
	struct oid id;
	struct buf box = BUF_INIT;

	/* encrypted: AES-256-GCM under data_key, AAD = header | id */
	struct codec *c = codec_new(&keys_enc, COMP_NONE, 0);
	codec_blob_id(c, &id, msg, sizeof(msg));
	CHECK_EQ(codec_seal(c, OBJ_TREE, &id, msg, sizeof(msg), &box), 0);
	CHECK_EQ(box.len, sizeof(msg) + BOX_OVERHEAD);
	const uint8_t *h = box.data;
	CHECK_EQ(h[0], BOX_VERSION);
	CHECK_EQ(h[1], OBJ_TREE);
	CHECK_EQ(h[2], COMP_NONE);
	CHECK_EQ(h[3], CRYPTO_AES256GCM);
	CHECK_EQ(get_u32le(h + 4), sizeof(msg));
	CHECK_EQ(get_u32le(h + 8), sizeof(msg));
	uint8_t aad[BOX_HEADER_LEN + OID_LEN], plain[100];
	memcpy(aad, h, BOX_HEADER_LEN);
	memcpy(aad + BOX_HEADER_LEN, id.b, OID_LEN);
	CHECK_EQ(crypto_aead_open(keys_enc.data_key, h + 12, aad, sizeof(aad), h + 24,
				  sizeof(msg), plain, h + 24 + sizeof(msg)), 0);
	CHECK_MEM(plain, msg, sizeof(msg));
	CHECK(memcmp(h + 24, msg, sizeof(msg)) != 0); /* not in the clear */

	/* a second seal of the same data uses a fresh nonce */
	struct buf box2 = BUF_INIT;
	CHECK_EQ(codec_seal(c, OBJ_TREE, &id, msg, sizeof(msg), &box2), 0);
	CHECK(memcmp(box.data + 12, box2.data + 12, NONCE_LEN) != 0);
	CHECK(memcmp(box.data + 24, box2.data + 24, sizeof(msg)) != 0);
	buf_release(&box2);
	codec_free(c);

	/* unencrypted: payload in the clear, zero nonce, tag = SHA-256(aad|payload) */
	buf_reset(&box);
	c = codec_new(&keys_plain, COMP_NONE, 0);
	CHECK_EQ(codec_seal(c, OBJ_DATA, &id, msg, sizeof(msg), &box), 0);
	h = box.data;
	CHECK_EQ(h[3], CRYPTO_NONE);
	static const uint8_t zero[NONCE_LEN];
	CHECK_MEM(h + 12, zero, NONCE_LEN);
	CHECK_MEM(h + 24, msg, sizeof(msg));
	uint8_t cat[BOX_HEADER_LEN + OID_LEN + sizeof(msg)];
	memcpy(cat, h, BOX_HEADER_LEN);
	memcpy(cat + BOX_HEADER_LEN, id.b, OID_LEN);
	memcpy(cat + BOX_HEADER_LEN + OID_LEN, msg, sizeof(msg));
	struct oid sha;
	crypto_sha256(&sha, cat, sizeof(cat));
	CHECK_MEM(h + 24 + sizeof(msg), sha.b, TAG_LEN);
	codec_free(c);
	buf_release(&box);
}

static int open_fails(struct codec *c, enum obj_type type, const struct oid *id,
		      const uint8_t *box, size_t n, size_t max_plain)
{
	struct buf out = BUF_INIT;
	int r = codec_open(c, type, id, box, n, max_plain, &out);
	buf_release(&out);
	return r == -EBADMSG;
}

/* Seals p, then flips bytes at the given positions (all when npos == 0)
 * and counts the opens that did not fail with -EBADMSG. */
static int tamper_count(struct codec *c, const uint8_t *p, size_t n, size_t npos)
{
	struct oid id;
	struct buf box = BUF_INIT;
	codec_blob_id(c, &id, p, n);
	codec_seal(c, OBJ_DATA, &id, p, n, &box);
	int bad = 0;
	static const uint8_t masks[] = { 0x01, 0x80, 0xff, 0x10 };
	size_t count = npos ? npos : box.len;
	for (size_t k = 0; k < count; k++) {
		size_t i = npos ? (size_t)(rnd() % box.len) : k;
		/* the header and the tag get extra attention in the random case */
		if (npos && k < 64)
			i = k < 24 ? k : box.len - 1 - (k - 24) % TAG_LEN;
		for (size_t m = 0; m < sizeof(masks); m++) {
			box.data[i] ^= masks[m];
			if (!open_fails(c, OBJ_DATA, &id, box.data, box.len, n + 1000)) {
				if (bad < 5)
					fprintf(stderr, "  flip 0x%02x at %zu of %zu opened\n",
						masks[m], i, box.len);
				bad++;
			}
			box.data[i] ^= masks[m];
		}
	}
	/* untouched, it still opens */
	struct buf out = BUF_INIT;
	if (codec_open(c, OBJ_DATA, &id, box.data, box.len, n, &out) != 0)
		bad++;
	buf_release(&out);
	buf_release(&box);
	return bad;
}

TEST(tamper_any_byte)
{
	uint8_t *rand1m = malloc(MIB);
	rnd_fill(rand1m, MIB);
	uint8_t *text1m = compressible(MIB);
	uint8_t *text200 = compressible(200);
	for (int enc = 0; enc < 2; enc++) {
		for (int comp = COMP_NONE; comp <= COMP_MAX; comp++) {
			struct codec *c = codec_new(enc ? &keys_enc : &keys_plain, comp,
						    comp == COMP_ZSTD ? 3 : 1);
			int before = h_checks_failed;
			/* every byte of small boxes */
			CHECK_EQ(tamper_count(c, text200, 200, 0), 0);
			CHECK_EQ(tamper_count(c, rand1m, 64, 0), 0);
			CHECK_EQ(tamper_count(c, (const uint8_t *)"", 0, 0), 0);
			/* random positions of large ones */
			CHECK_EQ(tamper_count(c, rand1m, MIB, 100), 0);
			CHECK_EQ(tamper_count(c, text1m, MIB, 100), 0);
			if (h_checks_failed != before)
				fprintf(stderr, "  (encrypted=%d compression=%s)\n", enc,
					comp_name[comp]);
			codec_free(c);
		}
	}
	free(rand1m);
	free(text1m);
	free(text200);
}

TEST(binding_and_limits)
{
	for (int enc = 0; enc < 2; enc++) {
		for (int comp = COMP_NONE; comp <= COMP_MAX; comp++) {
			struct codec *c = codec_new(enc ? &keys_enc : &keys_plain, comp, 1);
			size_t n = 3000;
			uint8_t *p = compressible(n);
			struct oid id, other;
			codec_blob_id(c, &id, p, n);
			other = id;
			other.b[17] ^= 4;
			struct buf box = BUF_INIT, out = BUF_INIT;
			CHECK_EQ(codec_seal(c, OBJ_DATA, &id, p, n, &box), 0);
			int before = h_checks_failed;

			CHECK_EQ(codec_open(c, OBJ_DATA, &id, box.data, box.len, n, &out), 0);
			/* wrong type */
			CHECK(open_fails(c, OBJ_TREE, &id, box.data, box.len, n));
			CHECK(open_fails(c, OBJ_INDEX, &id, box.data, box.len, n));
			/* wrong id or no id: the id is associated data */
			CHECK(open_fails(c, OBJ_DATA, &other, box.data, box.len, n));
			CHECK(open_fails(c, OBJ_DATA, NULL, box.data, box.len, n));
			/* truncated or extended */
			CHECK(open_fails(c, OBJ_DATA, &id, box.data, box.len - 1, n));
			CHECK(open_fails(c, OBJ_DATA, &id, box.data, box.len - TAG_LEN, n));
			CHECK(open_fails(c, OBJ_DATA, &id, box.data, BOX_OVERHEAD, n));
			CHECK(open_fails(c, OBJ_DATA, &id, box.data, BOX_OVERHEAD - 1, n));
			CHECK(open_fails(c, OBJ_DATA, &id, box.data, BOX_HEADER_LEN, n));
			CHECK(open_fails(c, OBJ_DATA, &id, box.data, 0, n));
			buf_put_u8(&box, 0);
			CHECK(open_fails(c, OBJ_DATA, &id, box.data, box.len, n));
			box.len--;
			/* plaintext larger than max_plain */
			CHECK(open_fails(c, OBJ_DATA, &id, box.data, box.len, n - 1));
			CHECK(open_fails(c, OBJ_DATA, &id, box.data, box.len, 0));
			CHECK_EQ(codec_open(c, OBJ_DATA, &id, box.data, box.len, n, &out), 0);
			CHECK(out.len == n && !memcmp(out.data, p, n));

			/* the other kind of repository refuses it */
			struct codec *x = codec_new(enc ? &keys_plain : &keys_enc, comp, 1);
			CHECK(open_fails(x, OBJ_DATA, &id, box.data, box.len, n));
			codec_free(x);

			if (enc) {
				/* another data key */
				struct repo_keys k2 = keys_enc;
				k2.data_key[0] ^= 1;
				x = codec_new(&k2, comp, 1);
				CHECK(open_fails(x, OBJ_DATA, &id, box.data, box.len, n));
				codec_free(x);
			}
			if (h_checks_failed != before)
				fprintf(stderr, "  (encrypted=%d compression=%s)\n", enc,
					comp_name[comp]);
			buf_release(&box);
			buf_release(&out);
			free(p);
			codec_free(c);
		}
	}
}

/* A box sealed with an unencrypted codec relabelled crypto=1 (or the
 * reverse) must not open either. */
TEST(crypto_byte_relabel)
{
	struct codec *ce = codec_new(&keys_enc, COMP_NONE, 0);
	struct codec *cp = codec_new(&keys_plain, COMP_NONE, 0);
	uint8_t msg[64];
	rnd_fill(msg, sizeof(msg));
	struct buf b = BUF_INIT;
	codec_seal(cp, OBJ_SNAPSHOT, NULL, msg, sizeof(msg), &b);
	b.data[3] = CRYPTO_AES256GCM;
	CHECK(open_fails(ce, OBJ_SNAPSHOT, NULL, b.data, b.len, 1000));
	buf_reset(&b);
	codec_seal(ce, OBJ_SNAPSHOT, NULL, msg, sizeof(msg), &b);
	b.data[3] = CRYPTO_NONE;
	CHECK(open_fails(cp, OBJ_SNAPSHOT, NULL, b.data, b.len, 1000));
	buf_release(&b);
	codec_free(ce);
	codec_free(cp);
}

static void put_header(uint8_t *h, uint8_t ver, uint8_t type, uint8_t comp, uint8_t cr,
		       uint32_t plain, uint32_t payload)
{
	h[0] = ver;
	h[1] = type;
	h[2] = comp;
	h[3] = cr;
	put_u32le(h + 4, plain);
	put_u32le(h + 8, payload);
	memset(h + 12, 0x5c, NONCE_LEN);
}

TEST(parse_header)
{
	uint8_t box[BOX_OVERHEAD + 100];
	memset(box, 0, sizeof(box));
	struct box_header h;
	size_t n = sizeof(box);

	put_header(box, 1, OBJ_DATA, COMP_NONE, CRYPTO_AES256GCM, 100, 100);
	CHECK_EQ(box_parse_header(box, n, 100, &h), 0);
	CHECK_EQ(h.version, 1);
	CHECK_EQ(h.type, OBJ_DATA);
	CHECK_EQ(h.compression, COMP_NONE);
	CHECK_EQ(h.crypto, CRYPTO_AES256GCM);
	CHECK_EQ(h.plain_len, 100);
	CHECK_EQ(h.payload_len, 100);
	CHECK(h.nonce[0] == 0x5c && h.nonce[11] == 0x5c);
	/* plain_len above max_plain */
	CHECK_EQ(box_parse_header(box, n, 99, &h), -EBADMSG);

	put_header(box, 1, OBJ_LEASE, COMP_ZSTD, CRYPTO_NONE, 5000, 100);
	CHECK_EQ(box_parse_header(box, n, 5000, &h), 0);
	CHECK_EQ(box_parse_header(box, n, 4999, &h), -EBADMSG);

	static const struct {
		uint8_t ver, type, comp, cr;
		uint32_t plain, payload;
	} bad[] = {
		{ 0, 1, 0, 1, 100, 100 },   /* version */
		{ 2, 1, 0, 1, 100, 100 },
		{ 255, 1, 0, 1, 100, 100 },
		{ 1, 0, 0, 1, 100, 100 },   /* type */
		{ 1, 8, 0, 1, 100, 100 },
		{ 1, 255, 0, 1, 100, 100 },
		{ 1, 1, 3, 1, 100, 100 },   /* compression */
		{ 1, 1, 255, 1, 100, 100 },
		{ 1, 1, 0, 2, 100, 100 },   /* crypto */
		{ 1, 1, 0, 255, 100, 100 },
		{ 1, 1, 0, 1, 100, 99 },    /* payload_len != n - overhead */
		{ 1, 1, 0, 1, 100, 101 },
		{ 1, 1, 0, 1, 100, UINT32_MAX },
		{ 1, 1, 0, 1, 99, 100 },    /* uncompressed: plain == payload */
		{ 1, 1, 0, 1, 101, 100 },
		{ 1, 1, 1, 1, 0, 100 },     /* compressed to nothing / from nothing */
		{ 1, 1, 2, 1, 0, 100 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_header(box, bad[i].ver, bad[i].type, bad[i].comp, bad[i].cr,
			   bad[i].plain, bad[i].payload);
		int r = box_parse_header(box, n, 1000, &h);
		if (r != -EBADMSG)
			fprintf(stderr, "  bad header #%zu accepted\n", i);
		CHECK_EQ(r, -EBADMSG);
	}
	/* compressed box with an empty payload */
	put_header(box, 1, 1, COMP_LZ4, 1, 10, 0);
	CHECK_EQ(box_parse_header(box, BOX_OVERHEAD, 1000, &h), -EBADMSG);
	/* too short for a header and tag */
	put_header(box, 1, 1, COMP_NONE, 1, 0, 0);
	CHECK_EQ(box_parse_header(box, BOX_OVERHEAD, 1000, &h), 0);
	CHECK_EQ(box_parse_header(box, BOX_OVERHEAD - 1, 1000, &h), -EBADMSG);
	CHECK_EQ(box_parse_header(box, 0, 1000, &h), -EBADMSG);
}

TEST(blob_id_is_hmac)
{
	uint8_t *p = malloc(MIB);
	rnd_fill(p, MIB);
	struct codec *c = codec_new(&keys_enc, COMP_ZSTD, 3);
	struct codec *d = codec_new(&keys_plain, COMP_NONE, 0);
	size_t sizes[] = { 0, 1, 31, 32, 64, 65, 1000, MIB };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct oid a, b, want;
		crypto_hmac(&want, keys_enc.id_key, p, sizes[i]);
		codec_blob_id(c, &a, p, sizes[i]);
		codec_blob_id(d, &b, p, sizes[i]); /* same id key */
		CHECK(oid_eq(&a, &want));
		CHECK(oid_eq(&b, &want));
		/* repeated calls agree (the MAC context is re-initialised) */
		codec_blob_id(c, &a, p, sizes[i]);
		CHECK(oid_eq(&a, &want));
	}
	/* the id key, not the data key, keys the id */
	struct repo_keys k = keys_enc;
	k.data_key[3] ^= 1;
	struct codec *e = codec_new(&k, COMP_NONE, 0);
	struct oid a, b;
	codec_blob_id(c, &a, p, 100);
	codec_blob_id(e, &b, p, 100);
	CHECK(oid_eq(&a, &b));
	codec_free(e);
	k = keys_enc;
	k.id_key[3] ^= 1;
	e = codec_new(&k, COMP_NONE, 0);
	codec_blob_id(e, &b, p, 100);
	CHECK(!oid_eq(&a, &b));
	codec_free(e);
	codec_free(c);
	codec_free(d);
	free(p);
}

/* One codec sealing and opening many boxes of varied sizes and types keeps
 * its state straight. */
TEST(codec_reuse)
{
	struct codec *c = codec_new(&keys_enc, COMP_LZ4, 1);
	uint8_t *text = compressible(200000);
	uint8_t *rand = malloc(200000);
	rnd_fill(rand, 200000);
	int bad = 0;
	struct buf box = BUF_INIT, out = BUF_INIT;
	for (int i = 0; i < 200; i++) {
		size_t n = rnd() % 200000;
		const uint8_t *p = (i & 1) ? text + (rnd() % (200000 - n + 1)) : rand;
		struct oid id;
		codec_blob_id(c, &id, p, n);
		buf_reset(&box);
		if (codec_seal(c, (i & 2) ? OBJ_TREE : OBJ_DATA, &id, p, n, &box) ||
		    codec_open(c, (i & 2) ? OBJ_TREE : OBJ_DATA, &id, box.data, box.len, n,
			       &out) ||
		    out.len != n || (n && memcmp(out.data, p, n)))
			bad++;
	}
	CHECK_EQ(bad, 0);
	buf_release(&box);
	buf_release(&out);
	free(text);
	free(rand);
	codec_free(c);
}

int main(void)
{
	make_keys();
	RUN(round_trips_all_modes);
	RUN(round_trip_object_types);
	RUN(box_format_matches_spec);
	RUN(tamper_any_byte);
	RUN(binding_and_limits);
	RUN(crypto_byte_relabel);
	RUN(parse_header);
	RUN(blob_id_is_hmac);
	RUN(codec_reuse);
	HARNESS_DONE();
}
