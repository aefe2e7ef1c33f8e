/* Unit tests for store/pack: building a pack, reading its trailer and
 * table, and the table decoder's layout checks. */
#include <errno.h>
#include <stdint.h>

#include "harness.h"
#include "store/codec.h"
#include "store/pack.h"

static struct repo_keys keys;

static void make_keys(void)
{
	keys.encrypted = 1;
	for (int i = 0; i < KEY_LEN; i++) {
		keys.data_key[i] = (uint8_t)(3 * i + 1);
		keys.id_key[i] = (uint8_t)(5 * i + 2);
	}
}

#define NBLOBS 100

struct blob {
	uint8_t *p;
	size_t n;
	uint8_t type;
	struct oid id;
};

static void make_blobs(struct codec *c, struct blob *b, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		b[i].n = i == 0 ? 0 : (size_t)(rnd() % 20000);
		b[i].p = malloc(b[i].n ? b[i].n : 1);
		for (size_t k = 0; k < b[i].n; k++)
			b[i].p[k] = (i % 3) ? (uint8_t)rnd() : (uint8_t)('a' + k % 7);
		b[i].type = (i % 2) ? OBJ_TREE : OBJ_DATA;
		codec_blob_id(c, &b[i].id, b[i].p, b[i].n);
	}
}

static void free_blobs(struct blob *b, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(b[i].p);
}

static int build_pack(struct codec *c, struct pack_builder *pb, const struct blob *b,
		      size_t count)
{
	struct buf box = BUF_INIT;
	int r = 0;
	for (size_t i = 0; !r && i < count; i++) {
		buf_reset(&box);
		r = codec_seal(c, b[i].type, &b[i].id, b[i].p, b[i].n, &box);
		if (!r)
			r = pack_builder_add(pb, &b[i].id, b[i].type, (uint32_t)b[i].n,
					     box.data, box.len);
	}
	buf_release(&box);
	if (!r)
		r = pack_builder_finish(pb, c);
	return r;
}

/* Trailer, then table: the reader's path through a pack. */
static int read_table(struct codec *c, const uint8_t *pack, size_t size,
		      struct pack_entry **ents, size_t *n, uint64_t *table_off)
{
	uint32_t tlen;
	if (size < PACK_TRAILER_LEN)
		return -EBADMSG;
	int r = pack_parse_trailer(pack + size - PACK_TRAILER_LEN, size, &tlen);
	if (r < 0)
		return r;
	uint64_t off = size - PACK_TRAILER_LEN - tlen;
	if (table_off)
		*table_off = off;
	return pack_decode_table(c, pack + off, tlen, off, ents, n);
}

TEST(build_and_read_back)
{
	struct codec *c = codec_new(&keys, COMP_ZSTD, 3);
	struct blob b[NBLOBS];
	make_blobs(c, b, NBLOBS);
	struct pack_builder pb;
	pack_builder_init(&pb);
	CHECK_EQ(build_pack(c, &pb, b, NBLOBS), 0);
	CHECK_EQ(pb.n, NBLOBS);

	/* builder entries are contiguous from 0 */
	uint32_t off = 0;
	for (size_t i = 0; i < pb.n; i++) {
		CHECK_EQ(pb.ents[i].offset, off);
		CHECK(oid_eq(&pb.ents[i].id, &b[i].id));
		CHECK_EQ(pb.ents[i].type, b[i].type);
		CHECK_EQ(pb.ents[i].plain_len, b[i].n);
		off += pb.ents[i].length;
	}
	/* trailer: u32 table length, then the magic */
	const uint8_t *tail = pb.data.data + pb.data.len - PACK_TRAILER_LEN;
	CHECK_MEM(tail + 4, "CAIRNPK1", 8);
	CHECK_EQ(get_u32le(tail) + off + PACK_TRAILER_LEN, pb.data.len);

	struct pack_entry *e = NULL;
	size_t n = 0;
	uint64_t toff = 0;
	CHECK_EQ(read_table(c, pb.data.data, pb.data.len, &e, &n, &toff), 0);
	CHECK_EQ(toff, off);
	CHECK_EQ(n, NBLOBS);
	int bad = 0;
	struct buf out = BUF_INIT;
	for (size_t i = 0; e && i < n && i < NBLOBS; i++) {
		if (memcmp(&e[i].id, &pb.ents[i].id, OID_LEN) || e[i].type != pb.ents[i].type ||
		    e[i].offset != pb.ents[i].offset || e[i].length != pb.ents[i].length ||
		    e[i].plain_len != pb.ents[i].plain_len)
			bad++;
		/* every blob opens with its id and gives its plaintext */
		if (codec_open(c, e[i].type, &e[i].id, pb.data.data + e[i].offset, e[i].length,
			       e[i].plain_len, &out) ||
		    out.len != b[i].n || (b[i].n && memcmp(out.data, b[i].p, b[i].n)))
			bad++;
		/* and not with a neighbour's id */
		if (i && codec_open(c, e[i].type, &e[i - 1].id, pb.data.data + e[i].offset,
				    e[i].length, e[i].plain_len, &out) != -EBADMSG)
			bad++;
	}
	CHECK_EQ(bad, 0);
	buf_release(&out);
	free(e);

	/* reset and reuse: a pack of one blob */
	pack_builder_reset(&pb);
	CHECK_EQ(pb.n, 0);
	CHECK_EQ(pb.data.len, 0);
	CHECK_EQ(build_pack(c, &pb, b + 5, 1), 0);
	CHECK_EQ(read_table(c, pb.data.data, pb.data.len, &e, &n, NULL), 0);
	CHECK_EQ(n, 1);
	if (n == 1) {
		CHECK(oid_eq(&e[0].id, &b[5].id));
		CHECK_EQ(e[0].offset, 0);
	}
	free(e);

	/* a pack of nothing */
	pack_builder_reset(&pb);
	CHECK_EQ(pack_builder_finish(&pb, c), 0);
	e = NULL;
	n = 99;
	CHECK_EQ(read_table(c, pb.data.data, pb.data.len, &e, &n, &toff), 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(toff, 0);
	free(e);

	pack_builder_release(&pb);
	free_blobs(b, NBLOBS);
	codec_free(c);
}

TEST(unencrypted_pack)
{
	struct repo_keys k = keys;
	k.encrypted = 0;
	struct codec *c = codec_new(&k, COMP_LZ4, 1);
	struct blob b[20];
	make_blobs(c, b, 20);
	struct pack_builder pb;
	pack_builder_init(&pb);
	CHECK_EQ(build_pack(c, &pb, b, 20), 0);
	struct pack_entry *e = NULL;
	size_t n = 0;
	CHECK_EQ(read_table(c, pb.data.data, pb.data.len, &e, &n, NULL), 0);
	CHECK_EQ(n, 20);
	free(e);
	/* an encrypted repository refuses this table */
	struct codec *x = codec_new(&keys, COMP_LZ4, 1);
	e = NULL;
	CHECK_EQ(read_table(x, pb.data.data, pb.data.len, &e, &n, NULL), -EBADMSG);
	CHECK(e == NULL);
	codec_free(x);
	pack_builder_release(&pb);
	free_blobs(b, 20);
	codec_free(c);
}

TEST(trailer_errors)
{
	struct codec *c = codec_new(&keys, COMP_NONE, 0);
	struct blob b[10];
	make_blobs(c, b, 10);
	struct pack_builder pb;
	pack_builder_init(&pb);
	CHECK_EQ(build_pack(c, &pb, b, 10), 0);
	uint8_t *p = pb.data.data;
	size_t size = pb.data.len;
	uint8_t *tail = p + size - PACK_TRAILER_LEN;
	uint32_t tlen, good = get_u32le(tail);
	CHECK_EQ(pack_parse_trailer(tail, size, &tlen), 0);
	CHECK_EQ(tlen, good);

	/* magic */
	for (int i = 4; i < PACK_TRAILER_LEN; i++) {
		tail[i] ^= 0x20;
		CHECK_EQ(pack_parse_trailer(tail, size, &tlen), -EBADMSG);
		tail[i] ^= 0x20;
	}
	/* table length past the start of the pack, or below a box */
	put_u32le(tail, (uint32_t)(size - PACK_TRAILER_LEN + 1));
	CHECK_EQ(pack_parse_trailer(tail, size, &tlen), -EBADMSG);
	put_u32le(tail, UINT32_MAX);
	CHECK_EQ(pack_parse_trailer(tail, size, &tlen), -EBADMSG);
	put_u32le(tail, BOX_OVERHEAD - 1);
	CHECK_EQ(pack_parse_trailer(tail, size, &tlen), -EBADMSG);
	put_u32le(tail, 0);
	CHECK_EQ(pack_parse_trailer(tail, size, &tlen), -EBADMSG);
	/* the whole pack is the table: allowed by the trailer alone */
	put_u32le(tail, (uint32_t)(size - PACK_TRAILER_LEN));
	CHECK_EQ(pack_parse_trailer(tail, size, &tlen), 0);
	/* pack too small to hold a trailer and a box */
	put_u32le(tail, good);
	CHECK_EQ(pack_parse_trailer(tail, PACK_TRAILER_LEN + BOX_OVERHEAD - 1, &tlen), -EBADMSG);

	/* a wrong (but plausible) table length points at the wrong bytes */
	struct pack_entry *e = NULL;
	size_t n;
	put_u32le(tail, good + 1);
	CHECK_EQ(read_table(c, p, size, &e, &n, NULL), -EBADMSG);
	put_u32le(tail, good - 1);
	CHECK_EQ(read_table(c, p, size, &e, &n, NULL), -EBADMSG);
	put_u32le(tail, good);
	CHECK_EQ(read_table(c, p, size, &e, &n, NULL), 0);
	free(e);
	e = NULL;

	/* any corrupted byte of the table box */
	int bad = 0;
	for (size_t i = size - PACK_TRAILER_LEN - good; i < size - PACK_TRAILER_LEN; i++) {
		p[i] ^= 0x40;
		if (read_table(c, p, size, &e, &n, NULL) != -EBADMSG)
			bad++;
		p[i] ^= 0x40;
	}
	CHECK_EQ(bad, 0);
	/* a larger table_offset only loosens the bound */
	CHECK_EQ(pack_decode_table(c, p + size - PACK_TRAILER_LEN - good, good,
				   size - PACK_TRAILER_LEN - good + 1000, &e, &n), 0);
	CHECK_EQ(n, 10);
	free(e);
	e = NULL;
	/* entries must end before the table: a smaller table_offset fails */
	CHECK_EQ(pack_decode_table(c, p + size - PACK_TRAILER_LEN - good, good,
				   size - PACK_TRAILER_LEN - good - 1, &e, &n), -EBADMSG);
	pack_builder_release(&pb);
	free_blobs(b, 10);
	codec_free(c);
}

/* Table plaintext following store/pack.c: u8 version | u32 count |
 * count x (u8 type | id[32] | u32 offset | u32 length | u32 plain_len). */
struct tent {
	uint8_t type;
	uint32_t offset, length, plain_len;
};

static void table_plain(struct buf *t, uint8_t version, uint32_t count,
			const struct tent *e, size_t n)
{
	buf_reset(t);
	buf_put_u8(t, version);
	buf_put_u32le(t, count);
	for (size_t i = 0; i < n; i++) {
		uint8_t id[OID_LEN];
		memset(id, (int)(i + 1), OID_LEN);
		buf_put_u8(t, e[i].type);
		buf_append(t, id, OID_LEN);
		buf_put_u32le(t, e[i].offset);
		buf_put_u32le(t, e[i].length);
		buf_put_u32le(t, e[i].plain_len);
	}
}

static int decode_crafted(struct codec *c, uint8_t version, uint32_t count,
			  const struct tent *e, size_t n, uint64_t table_offset,
			  struct pack_entry **out, size_t *cnt)
{
	struct buf t = BUF_INIT, box = BUF_INIT;
	table_plain(&t, version, count, e, n);
	codec_seal(c, OBJ_PACK_TABLE, NULL, t.data, t.len, &box);
	*out = NULL;
	int r = pack_decode_table(c, box.data, box.len, table_offset, out, cnt);
	buf_release(&t);
	buf_release(&box);
	return r;
}

static int crafted_fails(struct codec *c, uint8_t version, uint32_t count,
			 const struct tent *e, size_t n, uint64_t table_offset)
{
	struct pack_entry *out = NULL;
	size_t cnt = 0;
	int r = decode_crafted(c, version, count, e, n, table_offset, &out, &cnt);
	free(out);
	return r == -EBADMSG;
}

TEST(crafted_tables)
{
	struct codec *c = codec_new(&keys, COMP_NONE, 0);
	struct pack_entry *out = NULL;
	size_t cnt = 0;

	/* a valid one: gaps allowed, any order, last one ends at the table */
	const struct tent ok[] = {
		{ OBJ_DATA, 100, 50, 10 },
		{ OBJ_TREE, 0, 40, 0 },
		{ OBJ_DATA, 150, 60, 1000 },
	};
	CHECK_EQ(decode_crafted(c, 1, 3, ok, 3, 210, &out, &cnt), 0);
	CHECK_EQ(cnt, 3);
	if (out && cnt == 3) {
		CHECK_EQ(out[0].type, OBJ_DATA);
		CHECK_EQ(out[0].offset, 100);
		CHECK_EQ(out[0].length, 50);
		CHECK_EQ(out[0].plain_len, 10);
		CHECK_EQ(out[1].type, OBJ_TREE);
		CHECK_EQ(out[1].offset, 0);
		CHECK_EQ(out[2].plain_len, 1000);
		CHECK(out[2].id.b[0] == 3 && out[2].id.b[31] == 3);
	}
	free(out);

	/* an entry past the table offset */
	CHECK(crafted_fails(c, 1, 3, ok, 3, 209));
	const struct tent beyond[] = { { OBJ_DATA, 0, 40, 0 }, { OBJ_DATA, 4000, 100, 0 } };
	CHECK(crafted_fails(c, 1, 2, beyond, 2, 1000));
	/* offset + length overflowing 32 bits */
	const struct tent wrap[] = { { OBJ_DATA, UINT32_MAX - 10, 100, 0 } };
	CHECK(crafted_fails(c, 1, 1, wrap, 1, 1000));
	CHECK(crafted_fails(c, 1, 1, wrap, 1, UINT32_MAX));

	/* overlapping entries, in either order */
	const struct tent ov1[] = { { OBJ_DATA, 0, 100, 0 }, { OBJ_DATA, 99, 50, 0 } };
	CHECK(crafted_fails(c, 1, 2, ov1, 2, 10000));
	const struct tent ov2[] = { { OBJ_DATA, 99, 50, 0 }, { OBJ_TREE, 0, 100, 0 } };
	CHECK(crafted_fails(c, 1, 2, ov2, 2, 10000));
	const struct tent same[] = { { OBJ_DATA, 0, 100, 0 }, { OBJ_DATA, 0, 100, 0 } };
	CHECK(crafted_fails(c, 1, 2, same, 2, 10000));
	const struct tent inside[] = { { OBJ_DATA, 0, 1000, 0 }, { OBJ_DATA, 200, 50, 0 } };
	CHECK(crafted_fails(c, 1, 2, inside, 2, 10000));
	/* touching is not overlapping */
	const struct tent touch[] = { { OBJ_DATA, 0, 100, 0 }, { OBJ_DATA, 100, 50, 0 } };
	CHECK_EQ(decode_crafted(c, 1, 2, touch, 2, 150, &out, &cnt), 0);
	free(out);

	/* a box shorter than its overhead */
	const struct tent tiny[] = { { OBJ_DATA, 0, BOX_OVERHEAD - 1, 0 } };
	CHECK(crafted_fails(c, 1, 1, tiny, 1, 1000));
	const struct tent zero[] = { { OBJ_DATA, 0, 0, 0 } };
	CHECK(crafted_fails(c, 1, 1, zero, 1, 1000));

	/* types other than data and tree */
	for (int t = 0; t < 256; t += (t < 10 ? 1 : 61)) {
		if (t == OBJ_DATA || t == OBJ_TREE)
			continue;
		const struct tent ty[] = { { (uint8_t)t, 0, 100, 0 } };
		CHECK(crafted_fails(c, 1, 1, ty, 1, 1000));
	}
	/* version */
	CHECK(crafted_fails(c, 0, 3, ok, 3, 210));
	CHECK(crafted_fails(c, 2, 3, ok, 3, 210));
	/* count disagrees with the entries present */
	CHECK(crafted_fails(c, 1, 4, ok, 3, 210));
	CHECK(crafted_fails(c, 1, 2, ok, 3, 210));
	CHECK(crafted_fails(c, 1, UINT32_MAX, ok, 3, 210));
	CHECK(crafted_fails(c, 1, PACK_MAX_BLOBS + 1, ok, 3, 210));

	/* truncated plaintext, and trailing bytes */
	struct buf t = BUF_INIT, box = BUF_INIT;
	table_plain(&t, 1, 3, ok, 3);
	for (size_t len = 0; len < t.len; len += (len < 10 ? 1 : 17)) {
		buf_reset(&box);
		codec_seal(c, OBJ_PACK_TABLE, NULL, t.data, len, &box);
		out = NULL;
		CHECK_EQ(pack_decode_table(c, box.data, box.len, 210, &out, &cnt), -EBADMSG);
		free(out);
	}
	buf_put_u8(&t, 0);
	buf_reset(&box);
	codec_seal(c, OBJ_PACK_TABLE, NULL, t.data, t.len, &box);
	CHECK_EQ(pack_decode_table(c, box.data, box.len, 210, &out, &cnt), -EBADMSG);

	/* a table sealed as another object type */
	table_plain(&t, 1, 3, ok, 3);
	buf_reset(&box);
	codec_seal(c, OBJ_INDEX, NULL, t.data, t.len, &box);
	CHECK_EQ(pack_decode_table(c, box.data, box.len, 210, &out, &cnt), -EBADMSG);
	buf_release(&t);
	buf_release(&box);

	/* the empty table */
	CHECK_EQ(decode_crafted(c, 1, 0, NULL, 0, 0, &out, &cnt), 0);
	CHECK_EQ(cnt, 0);
	free(out);
	codec_free(c);
}

TEST(builder_limits)
{
	struct pack_builder pb;
	pack_builder_init(&pb);
	uint8_t box[BOX_OVERHEAD] = { 0 };
	struct oid id = { { 0 } };
	int bad = 0;
	for (size_t i = 0; i < PACK_MAX_BLOBS; i++) {
		id.b[0] = (uint8_t)i;
		id.b[1] = (uint8_t)(i >> 8);
		if (pack_builder_add(&pb, &id, OBJ_DATA, 0, box, sizeof(box)))
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(pb.n, PACK_MAX_BLOBS);
	CHECK_EQ(pb.data.len, (size_t)PACK_MAX_BLOBS * BOX_OVERHEAD);
	CHECK_EQ(pack_builder_add(&pb, &id, OBJ_DATA, 0, box, sizeof(box)), -EFBIG);
	CHECK_EQ(pb.n, PACK_MAX_BLOBS);
	/* the full table still fits what the decoder accepts */
	struct codec *c = codec_new(&keys, COMP_ZSTD, 1);
	CHECK_EQ(pack_builder_finish(&pb, c), 0);
	struct pack_entry *e = NULL;
	size_t n = 0;
	CHECK_EQ(read_table(c, pb.data.data, pb.data.len, &e, &n, NULL), 0);
	CHECK_EQ(n, PACK_MAX_BLOBS);
	if (e && n == PACK_MAX_BLOBS) {
		CHECK_EQ(e[PACK_MAX_BLOBS - 1].offset, (PACK_MAX_BLOBS - 1) * BOX_OVERHEAD);
		CHECK_EQ(e[PACK_MAX_BLOBS - 1].id.b[1], (uint8_t)((PACK_MAX_BLOBS - 1) >> 8));
	}
	free(e);
	codec_free(c);
	pack_builder_release(&pb);
}

int main(void)
{
	make_keys();
	RUN(build_and_read_back);
	RUN(unencrypted_pack);
	RUN(trailer_errors);
	RUN(crafted_tables);
	RUN(builder_limits);
	HARNESS_DONE();
}
