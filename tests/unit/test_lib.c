/* Unit tests for lib/: buf and rd, zigzag, hex and base64, idmap, queue,
 * fsutil. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/idmap.h"
#include "lib/queue.h"

/* ---- buf ---- */

TEST(buf_append_and_put)
{
	struct buf b = BUF_INIT;
	CHECK_EQ(buf_append(&b, "hello", 5), 0);
	CHECK_EQ(buf_append(&b, " world", 6), 0);
	CHECK_EQ(buf_append(&b, NULL, 0), 0);
	CHECK_EQ(b.len, 11);
	CHECK_MEM(b.data, "hello world", 11);
	CHECK(b.cap >= b.len + 1);

	buf_reset(&b);
	CHECK_EQ(b.len, 0);
	CHECK_EQ(buf_put_u8(&b, 0xab), 0);
	CHECK_EQ(buf_put_u32le(&b, 0x01020304u), 0);
	CHECK_EQ(buf_put_u64le(&b, 0x1122334455667788ull), 0);
	CHECK_EQ(buf_put_varint(&b, 300), 0);
	CHECK_EQ(buf_put_str(&b, "abc"), 0);
	static const uint8_t want[] = {
		0xab, 0x04, 0x03, 0x02, 0x01, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33,
		0x22, 0x11, 0xac, 0x02, 0x03, 'a', 'b', 'c',
	};
	CHECK_EQ(b.len, sizeof(want));
	CHECK_MEM(b.data, want, sizeof(want));
	CHECK_EQ(get_u32le(b.data + 1), 0x01020304u);
	CHECK(get_u64le(b.data + 5) == 0x1122334455667788ull);
	buf_release(&b);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
	/* reusable after release */
	CHECK_EQ(buf_append(&b, "x", 1), 0);
	CHECK_EQ(b.len, 1);
	CHECK_EQ(b.data[0], 'x');
	buf_release(&b);
}

TEST(buf_grows_and_keeps_content)
{
	struct buf b = BUF_INIT;
	size_t total = 0;
	uint8_t *ref = malloc(300000);
	rnd_fill(ref, 300000);
	while (total < 300000) {
		size_t n = 1 + rnd() % 5000;
		if (n > 300000 - total)
			n = 300000 - total;
		CHECK_EQ(buf_append(&b, ref + total, n), 0);
		total += n;
		CHECK_EQ(b.len, total);
		CHECK(b.cap > b.len);
	}
	CHECK_MEM(b.data, ref, 300000);
	/* grow leaves content alone and reserves room */
	CHECK_EQ(buf_grow(&b, 1000000), 0);
	CHECK(b.cap >= b.len + 1000000);
	CHECK_EQ(b.len, 300000);
	CHECK_MEM(b.data, ref, 300000);
	free(ref);
	buf_release(&b);
}

TEST(buf_printf_appends)
{
	struct buf b = BUF_INIT;
	CHECK_EQ(buf_printf(&b, "%d-%s", 42, "x"), 0);
	CHECK_EQ(b.len, 4);
	CHECK_MEM(b.data, "42-x", 4);
	CHECK_EQ(b.data[b.len], 0);
	CHECK_EQ(buf_printf(&b, "%s", ""), 0);
	CHECK_EQ(b.len, 4);
	/* long output forces growth in the middle of printf */
	char big[5000];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	CHECK_EQ(buf_printf(&b, "[%s]%u", big, 7u), 0);
	CHECK_EQ(b.len, 4 + 1 + 4999 + 1 + 1);
	CHECK_MEM(b.data, "42-x[", 5);
	CHECK_EQ(b.data[5 + 4998], 'z');
	CHECK_MEM(b.data + 5 + 4999, "]7", 2);
	CHECK_EQ(b.data[b.len], 0);
	CHECK_EQ(strlen((char *)b.data), b.len);
	buf_release(&b);
}

TEST(buf_detach_hands_over)
{
	struct buf b = BUF_INIT;
	buf_append(&b, "abc", 3);
	size_t len = 99;
	char *s = buf_detach(&b, &len);
	CHECK(s != NULL);
	CHECK_EQ(len, 3);
	if (s)
		CHECK_STR(s, "abc");
	CHECK(b.data == NULL);
	CHECK_EQ(b.len, 0);
	CHECK_EQ(b.cap, 0);
	free(s);

	/* an empty buffer detaches as "" */
	s = buf_detach(&b, &len);
	CHECK(s != NULL);
	CHECK_EQ(len, 0);
	if (s)
		CHECK_STR(s, "");
	free(s);

	/* exactly-full buffer still gets its NUL */
	struct buf c = BUF_INIT;
	for (int i = 0; i < 63; i++)
		buf_put_u8(&c, 'q');
	s = buf_detach(&c, NULL);
	CHECK(s && strlen(s) == 63);
	free(s);
}

TEST(buf_max_is_enforced)
{
	struct buf b = BUF_INIT;
	CHECK_EQ(buf_grow(&b, BUF_MAX + 1), -EFBIG);
	CHECK_EQ(buf_grow(&b, SIZE_MAX), -EFBIG);
	CHECK_EQ(buf_grow(&b, SIZE_MAX - 5), -EFBIG);
	CHECK(b.data == NULL && b.len == 0);
	buf_append(&b, "0123456789", 10);
	/* len + extra past the cap, even though extra alone is below it */
	CHECK_EQ(buf_grow(&b, BUF_MAX - 5), -EFBIG);
	CHECK_EQ(buf_grow(&b, SIZE_MAX - 5), -EFBIG);
	/* appending refuses without reading the (short) source */
	CHECK_EQ(buf_append(&b, "x", BUF_MAX), -EFBIG);
	CHECK_EQ(b.len, 10);
	CHECK_MEM(b.data, "0123456789", 10);
	buf_release(&b);
}

/* ---- rd ---- */

TEST(rd_fixed_width)
{
	static const uint8_t in[] = { 0x78, 0x56, 0x34, 0x12, 0xef, 0xcd, 0xab, 0x89,
				      0x67, 0x45, 0x23, 0x01, 0x7f };
	struct rd r;
	rd_init(&r, in, sizeof(in));
	CHECK_EQ(rd_left(&r), 13);
	CHECK_EQ(rd_u32le(&r), 0x12345678u);
	CHECK(rd_u64le(&r) == 0x0123456789abcdefull);
	CHECK_EQ(rd_left(&r), 1);
	CHECK_EQ(rd_u8(&r), 0x7f);
	CHECK_EQ(r.err, 0);
	CHECK_EQ(rd_left(&r), 0);
	CHECK_EQ(rd_u8(&r), 0);
	CHECK_EQ(r.err, -EBADMSG);

	rd_init(&r, in, 3);
	CHECK_EQ(rd_u32le(&r), 0);
	CHECK_EQ(r.err, -EBADMSG);
	rd_init(&r, in, 7);
	CHECK(rd_u64le(&r) == 0);
	CHECK_EQ(r.err, -EBADMSG);

	rd_init(&r, in, sizeof(in));
	const uint8_t *p = rd_bytes(&r, 4);
	CHECK(p == in);
	CHECK(rd_bytes(&r, 10) == NULL);
	CHECK_EQ(r.err, -EBADMSG);
}

TEST(rd_error_is_sticky)
{
	static const uint8_t in[] = { 1, 2, 3, 4, 5, 6 };
	struct rd r;
	rd_init(&r, in, sizeof(in));
	CHECK_EQ(rd_u8(&r), 1);
	CHECK(rd_u64le(&r) == 0); /* 5 left, needs 8 */
	CHECK_EQ(r.err, -EBADMSG);
	/* the 5 remaining bytes are not readable any more */
	CHECK_EQ(rd_left(&r), 0);
	CHECK_EQ(rd_u8(&r), 0);
	CHECK_EQ(rd_u32le(&r), 0);
	CHECK(rd_bytes(&r, 1) == NULL);
	CHECK(rd_varint(&r) == 0);
	CHECK_EQ(r.err, -EBADMSG);

	rd_init(&r, in, sizeof(in));
	rd_fail(&r);
	CHECK_EQ(r.err, -EBADMSG);
	CHECK_EQ(rd_u8(&r), 0);
	CHECK_EQ(rd_left(&r), 0);
}

TEST(varint_round_trip)
{
	static const struct {
		uint64_t v;
		size_t len;
	} cases[] = {
		{ 0, 1 }, { 1, 1 }, { 127, 1 }, { 128, 2 }, { 300, 2 },
		{ 16383, 2 }, { 16384, 3 }, { UINT32_MAX, 5 },
		{ (uint64_t)1 << 56, 9 }, { ((uint64_t)1 << 63) - 1, 9 },
		{ (uint64_t)1 << 63, 10 }, { UINT64_MAX, 10 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;
		CHECK_EQ(buf_put_varint(&b, cases[i].v), 0);
		CHECK_EQ(b.len, cases[i].len);
		/* continuation bits on all but the last byte */
		for (size_t k = 0; k < b.len; k++)
			CHECK_EQ(!!(b.data[k] & 0x80), k + 1 < b.len);
		struct rd r;
		rd_init(&r, b.data, b.len);
		uint64_t got = rd_varint(&r);
		CHECK(got == cases[i].v);
		CHECK_EQ(r.err, 0);
		CHECK_EQ(rd_left(&r), 0);
		buf_release(&b);
	}
	/* exact bytes of 2^63 and UINT64_MAX */
	static const uint8_t top[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 };
	static const uint8_t max[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	struct rd r;
	rd_init(&r, top, sizeof(top));
	CHECK(rd_varint(&r) == (uint64_t)1 << 63);
	CHECK_EQ(r.err, 0);
	rd_init(&r, max, sizeof(max));
	CHECK(rd_varint(&r) == UINT64_MAX);
	CHECK_EQ(r.err, 0);

	/* many in a row */
	struct buf b = BUF_INIT;
	uint64_t vals[1000];
	for (int i = 0; i < 1000; i++) {
		vals[i] = rnd() >> (rnd() % 64);
		buf_put_varint(&b, vals[i]);
	}
	rd_init(&r, b.data, b.len);
	for (int i = 0; i < 1000; i++)
		CHECK(rd_varint(&r) == vals[i]);
	CHECK_EQ(r.err, 0);
	CHECK_EQ(rd_left(&r), 0);
	buf_release(&b);
}

static int varint_fails(const uint8_t *p, size_t n)
{
	struct rd r;
	rd_init(&r, p, n);
	uint64_t v = rd_varint(&r);
	return r.err == -EBADMSG && v == 0;
}

TEST(varint_rejects_malformed)
{
	/* 11 bytes: ten with continuation bits, then a terminator */
	uint8_t eleven[11];
	memset(eleven, 0x80, 10);
	eleven[10] = 0;
	CHECK(varint_fails(eleven, 11));
	memset(eleven, 0xff, 10);
	eleven[10] = 1;
	CHECK(varint_fails(eleven, 11));
	/* truncated */
	static const uint8_t t1[] = { 0x80 };
	static const uint8_t t2[] = { 0xff, 0xff, 0xff };
	CHECK(varint_fails(t1, 1));
	CHECK(varint_fails(t2, 3));
	CHECK(varint_fails(t2, 0));
	/* the 10th byte overflows 64 bits */
	uint8_t ov[10];
	memset(ov, 0xff, 9);
	ov[9] = 0x02;
	CHECK(varint_fails(ov, 10));
	ov[9] = 0x7f;
	CHECK(varint_fails(ov, 10));
	memset(ov, 0x80, 9);
	ov[9] = 0x02;
	CHECK(varint_fails(ov, 10));
	/* truncated after a valid prefix: the error sticks */
	static const uint8_t two[] = { 0x05, 0x80 };
	struct rd r;
	rd_init(&r, two, 2);
	CHECK(rd_varint(&r) == 5);
	CHECK(rd_varint(&r) == 0);
	CHECK_EQ(r.err, -EBADMSG);
}

TEST(varint_max)
{
	struct buf b = BUF_INIT;
	buf_put_varint(&b, 300);
	struct rd r;
	rd_init(&r, b.data, b.len);
	CHECK(rd_varint_max(&r, 300) == 300);
	CHECK_EQ(r.err, 0);
	rd_init(&r, b.data, b.len);
	CHECK(rd_varint_max(&r, 299) == 0);
	CHECK_EQ(r.err, -EBADMSG);
	buf_release(&b);
}

TEST(zigzag_maps)
{
	CHECK(zigzag(0) == 0);
	CHECK(zigzag(-1) == 1);
	CHECK(zigzag(1) == 2);
	CHECK(zigzag(-2) == 3);
	CHECK(zigzag(2) == 4);
	CHECK(zigzag(INT64_MAX) == UINT64_MAX - 1);
	CHECK(zigzag(INT64_MIN) == UINT64_MAX);
	CHECK(unzigzag(UINT64_MAX) == INT64_MIN);
	CHECK(unzigzag(UINT64_MAX - 1) == INT64_MAX);
	CHECK(unzigzag(3) == -2);
	for (int i = 0; i < 10000; i++) {
		int64_t v = (int64_t)(rnd() >> (rnd() % 64));
		if (rnd() & 1)
			v = -v;
		CHECK(unzigzag(zigzag(v)) == v);
		/* small magnitudes stay small */
		if (v > -64 && v < 64)
			CHECK(zigzag(v) < 128);
	}
}

/* ---- hex / base64 ---- */

TEST(hex_encode_decode)
{
	static const uint8_t in[] = { 0x00, 0x01, 0xab, 0xff, 0x10, 0x9c };
	char out[13];
	hex_encode(out, in, sizeof(in));
	CHECK_STR(out, "0001abff109c");
	uint8_t back[6];
	CHECK_EQ(hex_decode(back, out, 6), 0);
	CHECK_MEM(back, in, 6);
	CHECK_EQ(hex_decode(back, "0001ABFF109C", 6), 0);
	CHECK_MEM(back, in, 6);
	/* decodes exactly n bytes out of a longer string */
	uint8_t two[2];
	CHECK_EQ(hex_decode(two, "beefzz", 2), 0);
	CHECK(two[0] == 0xbe && two[1] == 0xef);
	hex_encode(out, in, 0);
	CHECK_STR(out, "");
	CHECK_EQ(hex_span("12abXY"), 4);
	CHECK_EQ(hex_span("ABCDEFabcdef0123456789"), 22);
	CHECK_EQ(hex_span(""), 0);
	CHECK_EQ(hex_span("g"), 0);
}

TEST(hex_rejects_bad_digits)
{
	uint8_t b[4];
	CHECK_EQ(hex_decode(b, "0g", 1), -EINVAL);
	CHECK_EQ(hex_decode(b, "g0", 1), -EINVAL);
	CHECK_EQ(hex_decode(b, "000000 0", 4), -EINVAL);
	CHECK_EQ(hex_decode(b, "0x00", 2), -EINVAL);
	CHECK_EQ(hex_decode(b, "abc", 2), -EINVAL); /* too short: NUL */
	CHECK_EQ(hex_decode(b, "", 1), -EINVAL);
	CHECK_EQ(hex_decode(b, "-1", 1), -EINVAL);
	CHECK_EQ(hex_decode(b, "1:", 1), -EINVAL); /* ':' follows '9' */
	CHECK_EQ(hex_decode(b, "1@", 1), -EINVAL); /* '@' precedes 'A' */
	CHECK_EQ(hex_decode(b, "1G", 1), -EINVAL);
	CHECK_EQ(hex_decode(b, "1`", 1), -EINVAL);
}

TEST(base64_known_and_round_trip)
{
	static const struct {
		const char *in, *out;
	} kat[] = { /* RFC 4648 §10 */
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		char *e = base64_encode(kat[i].in, strlen(kat[i].in));
		CHECK(e != NULL);
		if (e)
			CHECK_STR(e, kat[i].out);
		free(e);
		uint8_t d[16];
		CHECK_EQ(base64_decode(d, sizeof(d), kat[i].out), (long)strlen(kat[i].in));
		CHECK_MEM(d, kat[i].in, strlen(kat[i].in));
	}
	for (size_t n = 0; n <= 40; n++) {
		for (int rep = 0; rep < 8; rep++) {
			uint8_t in[40], out[48];
			rnd_fill(in, n);
			if (rep == 1)
				memset(in, 0xff, n);
			if (rep == 2)
				memset(in, 0, n);
			char *e = base64_encode(in, n);
			CHECK(e != NULL);
			if (!e)
				continue;
			CHECK_EQ(strlen(e), 4 * ((n + 2) / 3));
			memset(out, 0xaa, sizeof(out));
			long got = base64_decode(out, n, e);
			CHECK_EQ(got, (long)n);
			CHECK_MEM(out, in, n);
			CHECK_EQ(out[n], 0xaa); /* nothing written past the length */
			free(e);
		}
	}
}

TEST(base64_rejects)
{
	uint8_t out[64];
	CHECK_EQ(base64_decode(out, sizeof(out), "Zm9"), -EINVAL);
	CHECK_EQ(base64_decode(out, sizeof(out), "Zm9vY"), -EINVAL);
	CHECK_EQ(base64_decode(out, sizeof(out), "Z"), -EINVAL);
	CHECK_EQ(base64_decode(out, sizeof(out), "Zm9$"), -EINVAL);
	CHECK_EQ(base64_decode(out, sizeof(out), "Zm!v"), -EINVAL);
	CHECK_EQ(base64_decode(out, sizeof(out), "Zm9vYmF*"), -EINVAL);
}

/* '=' is only padding at the end: a decoder that "rejects anything
 * malformed" must not turn these into bytes. */
TEST(base64_rejects_misplaced_padding)
{
	static const char *bad[] = { "Zg=a", "=Zg=", "====", "Z===", "Zg==Zg==",
				     "Zm9v====", "Zm=v" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t out[16];
		long r = base64_decode(out, sizeof(out), bad[i]);
		if (r != -EINVAL)
			fprintf(stderr, "  base64_decode(\"%s\") = %ld\n", bad[i], r);
		CHECK_EQ(r, -EINVAL);
	}
}

TEST(base64_decode_max)
{
	uint8_t out[16];
	memset(out, 0xaa, sizeof(out));
	/* 6 bytes do not fit in 5 */
	CHECK_EQ(base64_decode(out, 5, "Zm9vYmFy"), -EINVAL);
	CHECK_EQ(base64_decode(out, 6, "Zm9vYmFy"), 6);
	CHECK_MEM(out, "foobar", 6);
	CHECK_EQ(out[6], 0xaa);
	memset(out, 0xaa, sizeof(out));
	CHECK_EQ(base64_decode(out, 1, "Zg=="), 1);
	CHECK_EQ(out[0], 'f');
	CHECK_EQ(out[1], 0xaa);
	CHECK_EQ(base64_decode(out, 0, "Zg=="), -EINVAL);
	CHECK_EQ(base64_decode(out, 0, ""), 0);
	CHECK_EQ(base64_decode(out, 2, "Zm9v"), -EINVAL);
	/* a string far longer than max */
	char *big = malloc(4001);
	memset(big, 'A', 4000);
	big[4000] = 0;
	memset(out, 0xaa, sizeof(out));
	CHECK_EQ(base64_decode(out, 16, big), -EINVAL);
	CHECK_EQ(out[0], 0xaa);
	free(big);
}

/* ---- idmap ---- */

#define NIDS 100000

TEST(idmap_many_ids)
{
	uint8_t (*ids)[32] = malloc((size_t)NIDS * 32);
	rnd_fill(ids, (size_t)NIDS * 32);
	struct idmap *m = idmap_new(sizeof(uint64_t));
	CHECK(m != NULL);
	if (!m || !ids)
		return;
	CHECK_EQ(idmap_count(m), 0);
	CHECK(idmap_get(m, ids[0]) == NULL);
	int bad_added = 0, bad_zero = 0, bad_get = 0;
	for (size_t i = 0; i < NIDS; i++) {
		int added = -1;
		uint64_t *v = idmap_put(m, ids[i], &added);
		if (!v || added != 1)
			bad_added++;
		if (v && *v != 0)
			bad_zero++;
		if (v)
			*v = i * 7 + 1;
		/* spot-check earlier entries survive growth */
		if ((i & 1023) == 0) {
			for (size_t k = 0; k <= i; k += 97) {
				uint64_t *g = idmap_get(m, ids[k]);
				if (!g || *g != k * 7 + 1)
					bad_get++;
			}
		}
	}
	CHECK_EQ(bad_added, 0);
	CHECK_EQ(bad_zero, 0);
	CHECK_EQ(bad_get, 0);
	CHECK_EQ(idmap_count(m), NIDS);

	int bad = 0;
	for (size_t i = 0; i < NIDS; i++) {
		uint64_t *g = idmap_get(m, ids[i]);
		if (!g || *g != i * 7 + 1)
			bad++;
	}
	CHECK_EQ(bad, 0);

	/* re-put: not added, value preserved, count unchanged */
	bad = 0;
	for (size_t i = 0; i < NIDS; i += 3) {
		int added = -1;
		uint64_t *v = idmap_put(m, ids[i], &added);
		if (!v || added != 0 || *v != i * 7 + 1)
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(idmap_count(m), NIDS);

	/* absent ids */
	bad = 0;
	for (int i = 0; i < 1000; i++) {
		uint8_t k[32];
		rnd_fill(k, 32);
		if (idmap_get(m, k))
			bad++;
	}
	CHECK_EQ(bad, 0);
	/* same 8-byte prefix as a present id (same bucket) but different */
	uint8_t near[32];
	memcpy(near, ids[5], 32);
	near[31] ^= 1;
	CHECK(idmap_get(m, near) == NULL);

	/* iteration visits each exactly once */
	uint8_t *seen = calloc(NIDS, 1);
	size_t pos = 0, visits = 0;
	const uint8_t *key;
	void *val;
	bad = 0;
	while ((key = idmap_next(m, &pos, &val))) {
		visits++;
		uint64_t v = *(uint64_t *)val;
		if ((v - 1) % 7) {
			bad++;
			continue;
		}
		size_t i = (v - 1) / 7;
		if (i >= NIDS || memcmp(key, ids[i], 32)) {
			bad++;
			continue;
		}
		seen[i]++;
	}
	CHECK_EQ(visits, NIDS);
	CHECK_EQ(bad, 0);
	int dup = 0, missing = 0;
	for (size_t i = 0; i < NIDS; i++) {
		if (seen[i] == 0)
			missing++;
		if (seen[i] > 1)
			dup++;
	}
	CHECK_EQ(missing, 0);
	CHECK_EQ(dup, 0);
	/* the end stays the end */
	CHECK(idmap_next(m, &pos, &val) == NULL);
	free(seen);
	idmap_free(m);
	free(ids);
}

/* Deleting keeps every other key findable, including keys in the same
 * probe run (shared 8-byte prefixes collide) and after wrap-around. */
TEST(idmap_delete)
{
	for (int round = 0; round < 2; round++) {
		struct idmap *m = idmap_new(sizeof(uint32_t));
		enum { N = 3000 };
		static uint8_t keys[N][32];
		static int present[N];
		srand(7 + round);
		for (int i = 0; i < N; i++) {
			for (int b = 0; b < 32; b++)
				keys[i][b] = (uint8_t)rand();
			if (round == 1)
				memset(keys[i], 0x11 * (i % 7), 8); /* 7 long probe runs */
			uint32_t *v = idmap_put(m, keys[i], NULL);
			CHECK(v != NULL);
			if (v)
				*v = (uint32_t)i;
			present[i] = 1;
		}
		int bad = 0;
		for (int step = 0; step < 4 * N; step++) {
			int i = rand() % N;
			if (present[i]) {
				bad += idmap_del(m, keys[i]) != 1;
				present[i] = 0;
			} else {
				uint32_t *v = idmap_put(m, keys[i], NULL);
				if (v)
					*v = (uint32_t)i;
				present[i] = 1;
			}
		}
		size_t count = 0;
		for (int i = 0; i < N; i++) {
			uint32_t *v = idmap_get(m, keys[i]);
			count += (size_t)present[i];
			if (present[i] ? !v || *v != (uint32_t)i : v != NULL)
				bad++;
		}
		CHECK_EQ(bad, 0);
		CHECK_EQ(idmap_count(m), count);
		uint8_t absent[32] = { 0xfe };
		CHECK_EQ(idmap_del(m, absent), 0);
		idmap_free(m);
	}
}

TEST(idmap_colliding_prefixes_and_sets)
{
	/* ids that share their first 8 bytes all hash to one bucket */
	struct idmap *m = idmap_new(3);
	uint8_t k[32];
	memset(k, 0x5a, 32);
	for (int i = 0; i < 500; i++) {
		k[30] = (uint8_t)(i >> 8);
		k[31] = (uint8_t)i;
		int added;
		uint8_t *v = idmap_put(m, k, &added);
		CHECK(v && added);
		if (v) {
			CHECK(v[0] == 0 && v[1] == 0 && v[2] == 0);
			v[0] = (uint8_t)i;
			v[1] = (uint8_t)(i >> 8);
			v[2] = 0xcc;
		}
	}
	CHECK_EQ(idmap_count(m), 500);
	int bad = 0;
	for (int i = 0; i < 500; i++) {
		k[30] = (uint8_t)(i >> 8);
		k[31] = (uint8_t)i;
		uint8_t *v = idmap_get(m, k);
		if (!v || v[0] != (uint8_t)i || v[1] != (uint8_t)(i >> 8) || v[2] != 0xcc)
			bad++;
	}
	CHECK_EQ(bad, 0);
	idmap_free(m);

	/* value_size 0: a set */
	struct idmap *s = idmap_new(0);
	uint8_t a[32] = { 1 }, b[32] = { 2 };
	int added;
	CHECK(idmap_put(s, a, &added) != NULL && added == 1);
	CHECK(idmap_put(s, a, &added) != NULL && added == 0);
	CHECK(idmap_put(s, b, NULL) != NULL);
	CHECK_EQ(idmap_count(s), 2);
	CHECK(idmap_get(s, a) != NULL);
	uint8_t c[32] = { 3 };
	CHECK(idmap_get(s, c) == NULL);
	size_t pos = 0, n = 0;
	while (idmap_next(s, &pos, NULL))
		n++;
	CHECK_EQ(n, 2);
	idmap_free(s);
	idmap_free(NULL);
}

/* ---- queue ---- */

#define QITEMS 100000
#define QPROD 2
#define QCONS 2

struct qctx {
	struct queue *q;
	int id;
	unsigned char *seen; /* per consumer */
	int order_bad;
	int push_bad;
	size_t got;
};

static void *producer(void *arg)
{
	struct qctx *x = arg;
	for (uintptr_t i = (uintptr_t)x->id; i < QITEMS; i += QPROD)
		if (queue_push(x->q, (void *)(i + 1)) != 0)
			x->push_bad++;
	return NULL;
}

static void *consumer(void *arg)
{
	struct qctx *x = arg;
	uintptr_t last[QPROD] = { 0 };
	int first[QPROD] = { 1, 1 };
	void *it;
	while ((it = queue_pop(x->q))) {
		uintptr_t i = (uintptr_t)it - 1;
		if (i >= QITEMS) {
			x->order_bad++;
			continue;
		}
		x->seen[i]++;
		x->got++;
		/* FIFO: one producer's items come out in the order pushed */
		int p = (int)(i % QPROD);
		if (!first[p] && i <= last[p])
			x->order_bad++;
		first[p] = 0;
		last[p] = i;
	}
	return NULL;
}

TEST(queue_many_threads)
{
	struct queue q;
	CHECK_EQ(queue_init(&q, 16), 0);
	pthread_t pt[QPROD], ct[QCONS];
	struct qctx pc[QPROD], cc[QCONS];
	memset(pc, 0, sizeof(pc));
	memset(cc, 0, sizeof(cc));
	for (int i = 0; i < QCONS; i++) {
		cc[i].q = &q;
		cc[i].seen = calloc(QITEMS, 1);
		pthread_create(&ct[i], NULL, consumer, &cc[i]);
	}
	for (int i = 0; i < QPROD; i++) {
		pc[i].q = &q;
		pc[i].id = i;
		pthread_create(&pt[i], NULL, producer, &pc[i]);
	}
	for (int i = 0; i < QPROD; i++)
		pthread_join(pt[i], NULL);
	queue_close(&q);
	for (int i = 0; i < QCONS; i++)
		pthread_join(ct[i], NULL);
	size_t total = 0;
	int order_bad = 0, push_bad = 0, missing = 0, dup = 0;
	for (int i = 0; i < QPROD; i++)
		push_bad += pc[i].push_bad;
	for (int i = 0; i < QCONS; i++) {
		total += cc[i].got;
		order_bad += cc[i].order_bad;
	}
	for (size_t i = 0; i < QITEMS; i++) {
		int n = 0;
		for (int k = 0; k < QCONS; k++)
			n += cc[k].seen[i];
		if (n == 0)
			missing++;
		if (n > 1)
			dup++;
	}
	CHECK_EQ(push_bad, 0);
	CHECK_EQ(total, QITEMS);
	CHECK_EQ(order_bad, 0);
	CHECK_EQ(missing, 0);
	CHECK_EQ(dup, 0);
	/* both consumers got work (the queue holds only 16) */
	for (int i = 0; i < QCONS; i++)
		CHECK(cc[i].got > 0);
	for (int i = 0; i < QCONS; i++)
		free(cc[i].seen);
	queue_release(&q);
}

TEST(queue_close_drains)
{
	struct queue q;
	CHECK_EQ(queue_init(&q, 8), 0);
	CHECK(queue_trypop(&q) == NULL);
	for (uintptr_t i = 1; i <= 5; i++)
		CHECK_EQ(queue_push(&q, (void *)i), 0);
	CHECK((uintptr_t)queue_trypop(&q) == 1);
	queue_close(&q);
	CHECK_EQ(queue_push(&q, (void *)99), -EPIPE);
	for (uintptr_t i = 2; i <= 5; i++)
		CHECK((uintptr_t)queue_pop(&q) == i);
	CHECK(queue_pop(&q) == NULL);
	CHECK(queue_pop(&q) == NULL);
	CHECK(queue_trypop(&q) == NULL);
	queue_release(&q);
	queue_release(&q); /* idempotent */
}

TEST(queue_wraps_around)
{
	struct queue q;
	queue_init(&q, 3);
	int bad = 0;
	uintptr_t next_in = 1, next_out = 1;
	for (int round = 0; round < 100; round++) {
		int n = 1 + round % 3;
		for (int i = 0; i < n; i++)
			if (queue_push(&q, (void *)next_in++))
				bad++;
		for (int i = 0; i < n; i++)
			if ((uintptr_t)queue_trypop(&q) != next_out++)
				bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK(queue_trypop(&q) == NULL);
	queue_release(&q);
}

static void *blocked_pop(void *arg)
{
	return queue_pop(arg);
}

static void *blocked_push(void *arg)
{
	return (void *)(intptr_t)queue_push(arg, (void *)7);
}

TEST(queue_close_wakes_waiters)
{
	struct queue q;
	queue_init(&q, 1);
	pthread_t t;
	pthread_create(&t, NULL, blocked_pop, &q);
	usleep(20000);
	queue_close(&q);
	void *r = (void *)1;
	pthread_join(t, &r);
	CHECK(r == NULL);
	queue_release(&q);

	queue_init(&q, 1);
	CHECK_EQ(queue_push(&q, (void *)1), 0);
	pthread_create(&t, NULL, blocked_push, &q); /* full: blocks */
	usleep(20000);
	queue_close(&q);
	pthread_join(t, &r);
	CHECK_EQ((intptr_t)r, -EPIPE);
	CHECK((uintptr_t)queue_pop(&q) == 1);
	CHECK(queue_pop(&q) == NULL);
	queue_release(&q);
}

/* ---- fsutil ---- */

static int count_tmp_leftovers(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".tmp-"))
			n++;
	closedir(d);
	return n;
}

TEST(fs_write_atomic_then_read)
{
	char *dir = test_tmpdir();
	CHECK(dir != NULL);
	if (!dir)
		return;
	mode_t old = umask(022);
	char *path = path_join(dir, "f");
	struct buf b = BUF_INIT;
	CHECK_EQ(write_file_atomic(path, "hello", 5, 0640), 0);
	CHECK_EQ(read_file(path, &b, 100), 0);
	CHECK_EQ(b.len, 5);
	CHECK_MEM(b.data, "hello", 5);
	struct stat st;
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0640);

	/* replaced whole */
	CHECK_EQ(write_file_atomic(path, "bye", 3, 0640), 0);
	buf_append(&b, "junk", 4); /* read_file replaces contents */
	CHECK_EQ(read_file(path, &b, 100), 0);
	CHECK_EQ(b.len, 3);
	CHECK_MEM(b.data, "bye", 3);

	/* empty file */
	CHECK_EQ(write_file_atomic(path, "", 0, 0600), 0);
	CHECK_EQ(read_file(path, &b, 100), 0);
	CHECK_EQ(b.len, 0);

	/* sizes around the 64 KiB read granule */
	size_t sizes[] = { 65535, 65536, 65537, 131072, 200001 };
	uint8_t *data = malloc(200001);
	rnd_fill(data, 200001);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		CHECK_EQ(write_file_atomic(path, data, sizes[i], 0600), 0);
		CHECK_EQ(read_file(path, &b, 1 << 20), 0);
		CHECK_EQ(b.len, sizes[i]);
		CHECK(b.len == sizes[i] && !memcmp(b.data, data, sizes[i]));
		/* exactly max is fine, one less is too big */
		CHECK_EQ(read_file(path, &b, sizes[i]), 0);
		CHECK_EQ(read_file(path, &b, sizes[i] - 1), -EFBIG);
	}
	free(data);
	CHECK_EQ(count_tmp_leftovers(dir), 0);

	char *missing = path_join(dir, "nope");
	CHECK_EQ(read_file(missing, &b, 100), -ENOENT);
	/* no such directory */
	char *deep = path_join(dir, "no/such/file");
	CHECK_EQ(write_file_atomic(deep, "x", 1, 0600), -ENOENT);
	free(deep);
	free(missing);
	umask(old);
	buf_release(&b);
	free(path);
	test_rmtree(dir);
	free(dir);
}

TEST(fs_write_new_refuses_existing)
{
	char *dir = test_tmpdir();
	char *path = path_join(dir, "obj");
	struct buf b = BUF_INIT;
	CHECK_EQ(write_file_new(path, "first", 5, 0600), 0);
	CHECK_EQ(write_file_new(path, "second", 6, 0600), -EEXIST);
	CHECK_EQ(read_file(path, &b, 100), 0);
	CHECK_EQ(b.len, 5);
	CHECK_MEM(b.data, "first", 5);
	CHECK_EQ(count_tmp_leftovers(dir), 0);
	/* write_file_atomic does replace */
	CHECK_EQ(write_file_atomic(path, "third", 5, 0600), 0);
	CHECK_EQ(read_file(path, &b, 100), 0);
	CHECK_MEM(b.data, "third", 5);
	buf_release(&b);
	free(path);
	test_rmtree(dir);
	free(dir);
}

TEST(fs_mkdir_p)
{
	char *dir = test_tmpdir();
	char *p = path_join(dir, "a/b/c/d");
	struct stat st;
	CHECK_EQ(mkdir_p(p, 0755), 0);
	CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK_EQ(mkdir_p(p, 0755), 0); /* exists: fine */
	char *q = path_join(dir, "a/x//y/");
	CHECK_EQ(mkdir_p(q, 0755), 0);
	char *y = path_join(dir, "a/x/y");
	CHECK(stat(y, &st) == 0 && S_ISDIR(st.st_mode));
	/* a file in the way of a parent */
	char *f = path_join(dir, "file");
	CHECK_EQ(write_file_atomic(f, "x", 1, 0600), 0);
	char *under = path_join(f, "sub");
	CHECK_EQ(mkdir_p(under, 0755), -ENOTDIR);
	free(under);
	free(f);
	free(y);
	free(q);
	free(p);
	test_rmtree(dir);
	free(dir);
}

/* The last component existing as a regular file is not a directory:
 * "mkdir -p" fails there, and so should mkdir_p. */
TEST(fs_mkdir_p_refuses_file)
{
	char *dir = test_tmpdir();
	char *f = path_join(dir, "file");
	CHECK_EQ(write_file_atomic(f, "x", 1, 0600), 0);
	int r = mkdir_p(f, 0755);
	CHECK(r == -EEXIST || r == -ENOTDIR);
	free(f);
	test_rmtree(dir);
	free(dir);
}

TEST(fs_path_join)
{
	struct {
		const char *a, *b, *want;
	} cases[] = {
		{ "a", "b", "a/b" },
		{ "a/", "b", "a/b" },
		{ "a///", "b", "a/b" },
		{ "/x/y", "z/w", "/x/y/z/w" },
		{ "/", "b", "/b" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = path_join(cases[i].a, cases[i].b);
		CHECK(p != NULL);
		if (p && strcmp(p, cases[i].want)) {
			fprintf(stderr, "  path_join(\"%s\", \"%s\") = \"%s\", want \"%s\"\n",
				cases[i].a, cases[i].b, p, cases[i].want);
			CHECK_STR(p, cases[i].want);
		}
		free(p);
	}
}

TEST(fs_full_io)
{
	char *dir = test_tmpdir();
	char *path = path_join(dir, "io");
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	uint8_t data[10000], back[10000];
	rnd_fill(data, sizeof(data));
	CHECK_EQ(write_all(fd, data, sizeof(data)), 0);
	CHECK_EQ(pwrite_all(fd, "XYZ", 3, 100), 0);
	memcpy(data + 100, "XYZ", 3);
	CHECK_EQ(pread_all(fd, back, sizeof(back), 0), (ssize_t)sizeof(back));
	CHECK_MEM(back, data, sizeof(data));
	/* short only at EOF */
	CHECK_EQ(pread_all(fd, back, 100, 9950), 50);
	CHECK_MEM(back, data + 9950, 50);
	lseek(fd, 0, SEEK_SET);
	CHECK_EQ(read_all(fd, back, 20000), (ssize_t)sizeof(data));
	CHECK_MEM(back, data, sizeof(data));
	close(fd);
	CHECK_EQ(fsync_dir(dir), 0);
	CHECK_EQ(fsync_dir(path), -ENOTDIR);
	free(path);
	test_rmtree(dir);
	free(dir);
}

int main(void)
{
	RUN(buf_append_and_put);
	RUN(buf_grows_and_keeps_content);
	RUN(buf_printf_appends);
	RUN(buf_detach_hands_over);
	RUN(buf_max_is_enforced);
	RUN(rd_fixed_width);
	RUN(rd_error_is_sticky);
	RUN(varint_round_trip);
	RUN(varint_rejects_malformed);
	RUN(varint_max);
	RUN(zigzag_maps);
	RUN(hex_encode_decode);
	RUN(hex_rejects_bad_digits);
	RUN(base64_known_and_round_trip);
	RUN(base64_rejects);
	RUN(base64_rejects_misplaced_padding);
	RUN(base64_decode_max);
	RUN(idmap_many_ids);
	RUN(idmap_colliding_prefixes_and_sets);
	RUN(idmap_delete);
	RUN(queue_many_threads);
	RUN(queue_close_drains);
	RUN(queue_wraps_around);
	RUN(queue_close_wakes_waiters);
	RUN(fs_write_atomic_then_read);
	RUN(fs_write_new_refuses_existing);
	RUN(fs_mkdir_p);
	RUN(fs_mkdir_p_refuses_file);
	RUN(fs_path_join);
	RUN(fs_full_io);
	HARNESS_DONE();
}
