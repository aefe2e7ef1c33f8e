/* Unit tests for store/chunker: parameter checks, determinism, bounds,
 * average size, streaming equivalence, shift resistance, seeding. */
#include <errno.h>
#include <stdint.h>

#include "harness.h"
#include "store/chunker.h"
#include "store/crypto.h"

static uint8_t *random_data(size_t n, uint64_t seed)
{
	uint8_t *p = malloc(n);
	rng_state = seed;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t v = rnd();
		memcpy(p + i, &v, 8);
	}
	for (; i < n; i++)
		p[i] = (uint8_t)rnd();
	return p;
}

static const struct chunker_params defaults = {
	CHUNKER_MIN_DEFAULT, CHUNKER_AVG_DEFAULT, CHUNKER_MAX_DEFAULT
};

static void seed_of(uint8_t seed[32], uint8_t v)
{
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)(v + i * 13);
}

/* Cut list: lengths of the chunks of one stream. */
struct cuts {
	size_t *len;
	size_t n, cap;
};

static void cuts_add(struct cuts *c, size_t len)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->len = realloc(c->len, c->cap * sizeof(*c->len));
	}
	c->len[c->n++] = len;
}

/* Chunks p[0..n), fed to chunker_scan in pieces of 1..max_piece bytes
 * (sizes drawn from piece_seed), or max_piece 0: all that is left at once. */
static struct cuts chunk_stream(const struct chunker_params *prm, const uint8_t seed[32],
				const uint8_t *p, size_t n, size_t max_piece, uint64_t piece_seed)
{
	struct chunker ch;
	struct cuts c = { 0 };
	if (chunker_init(&ch, prm, seed) < 0)
		return c;
	uint64_t save = rng_state;
	rng_state = piece_seed;
	size_t start = 0, off = 0;
	while (off < n) {
		size_t piece = n - off;
		if (max_piece) {
			size_t k = 1 + rnd() % max_piece;
			if (k < piece)
				piece = k;
		}
		size_t k = chunker_scan(&ch, p + off, piece);
		if (k == 0) {
			off += piece;
			continue;
		}
		off += k;
		cuts_add(&c, off - start);
		start = off;
	}
	if (start < n)
		cuts_add(&c, n - start);
	rng_state = save;
	return c;
}

static int cuts_equal(const struct cuts *a, const struct cuts *b)
{
	return a->n == b->n && !memcmp(a->len, b->len, a->n * sizeof(*a->len));
}

TEST(params_check)
{
	struct chunker_params p = defaults;
	CHECK_EQ(chunker_params_check(&p), 0);
	p = (struct chunker_params){ 64, 256, 1024 };
	CHECK_EQ(chunker_params_check(&p), 0);
	p = (struct chunker_params){ 1u << 20, 2u << 20, CHUNKER_MAX_LIMIT };
	CHECK_EQ(chunker_params_check(&p), 0);

	/* avg not a power of two */
	p = defaults;
	p.avg = (1u << 20) + 4096;
	CHECK_EQ(chunker_params_check(&p), -EINVAL);
	p.avg = 3u << 19;
	CHECK_EQ(chunker_params_check(&p), -EINVAL);
	p.avg = 0;
	CHECK_EQ(chunker_params_check(&p), -EINVAL);
	/* min >= avg */
	p = defaults;
	p.min = p.avg;
	CHECK_EQ(chunker_params_check(&p), -EINVAL);
	p.min = p.avg + 1;
	CHECK_EQ(chunker_params_check(&p), -EINVAL);
	/* avg >= max */
	p = defaults;
	p.max = p.avg;
	CHECK_EQ(chunker_params_check(&p), -EINVAL);
	/* max past the limit */
	p = defaults;
	p.max = CHUNKER_MAX_LIMIT + 1;
	CHECK_EQ(chunker_params_check(&p), -EINVAL);
	p.max = UINT32_MAX;
	CHECK_EQ(chunker_params_check(&p), -EINVAL);
	/* min too small */
	p = (struct chunker_params){ 63, 256, 1024 };
	CHECK_EQ(chunker_params_check(&p), -EINVAL);
	p = (struct chunker_params){ 0, 256, 1024 };
	CHECK_EQ(chunker_params_check(&p), -EINVAL);

	/* init refuses what check refuses */
	struct chunker ch;
	uint8_t seed[32];
	seed_of(seed, 1);
	p = defaults;
	p.avg += 1;
	CHECK_EQ(chunker_init(&ch, &p, seed), -EINVAL);
	CHECK_EQ(chunker_init(&ch, &defaults, seed), 0);
}

TEST(deterministic)
{
	size_t n = 16u << 20;
	uint8_t *d = random_data(n, 1);
	uint8_t seed[32];
	seed_of(seed, 3);
	struct cuts a = chunk_stream(&defaults, seed, d, n, 0, 0);
	struct cuts b = chunk_stream(&defaults, seed, d, n, 0, 0);
	CHECK(a.n > 4);
	CHECK(cuts_equal(&a, &b));
	size_t sum = 0;
	for (size_t i = 0; i < a.n; i++)
		sum += a.len[i];
	CHECK_EQ(sum, n);
	free(a.len);
	free(b.len);
	free(d);
}

static void check_bounds(const struct chunker_params *p, const struct cuts *c, size_t n)
{
	size_t sum = 0;
	int bad = 0;
	for (size_t i = 0; i < c->n; i++) {
		sum += c->len[i];
		if (i + 1 < c->n && (c->len[i] < p->min || c->len[i] > p->max))
			bad++;
		if (c->len[i] == 0 || c->len[i] > p->max)
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(sum, n);
}

TEST(chunks_within_bounds)
{
	uint8_t seed[32];
	seed_of(seed, 5);
	size_t n = 40u << 20;
	uint8_t *d = random_data(n, 2);
	struct cuts c = chunk_stream(&defaults, seed, d, n, 0, 0);
	check_bounds(&defaults, &c, n);
	free(c.len);

	/* small parameters, lots of chunks */
	struct chunker_params small = { 64, 256, 1024 };
	c = chunk_stream(&small, seed, d, 4u << 20, 0, 0);
	CHECK(c.n > 4000);
	check_bounds(&small, &c, 4u << 20);
	free(c.len);

	/* low-entropy data (few distinct bytes) still respects max */
	for (size_t i = 0; i < (8u << 20); i++)
		d[i] = (uint8_t)(d[i] & 3);
	c = chunk_stream(&defaults, seed, d, 8u << 20, 0, 0);
	check_bounds(&defaults, &c, 8u << 20);
	free(c.len);
	free(d);
}

TEST(average_size)
{
	uint8_t seed[32];
	seed_of(seed, 7);
	size_t n = 64u << 20;
	uint8_t *d = random_data(n, 3);
	struct cuts c = chunk_stream(&defaults, seed, d, n, 0, 0);
	/* ignore the tail chunk */
	double mean = (double)(n - c.len[c.n - 1]) / (double)(c.n - 1);
	fprintf(stderr, "  %zu chunks, mean %.3f MiB\n", c.n, mean / (1 << 20));
	CHECK(mean >= 0.8 * (1 << 20));
	CHECK(mean <= 1.6 * (1 << 20));
	/* normalized chunking: most chunks are near the average, few at max */
	size_t at_max = 0;
	for (size_t i = 0; i + 1 < c.n; i++)
		if (c.len[i] == CHUNKER_MAX_DEFAULT)
			at_max++;
	CHECK(at_max * 20 < c.n);
	free(c.len);
	free(d);
}

TEST(streaming_equals_one_call)
{
	uint8_t seed[32];
	seed_of(seed, 9);
	size_t n = 24u << 20;
	uint8_t *d = random_data(n, 4);
	struct cuts whole = chunk_stream(&defaults, seed, d, n, 0, 0);
	struct cuts big = chunk_stream(&defaults, seed, d, n, 3u << 20, 11);
	struct cuts mid = chunk_stream(&defaults, seed, d, n, 70000, 12);
	CHECK(whole.n > 5);
	CHECK(cuts_equal(&whole, &big));
	CHECK(cuts_equal(&whole, &mid));
	free(big.len);
	free(mid.len);
	/* tiny pieces over a prefix */
	size_t m = 6u << 20;
	struct cuts w2 = chunk_stream(&defaults, seed, d, m, 0, 0);
	struct cuts tiny = chunk_stream(&defaults, seed, d, m, 200, 13);
	CHECK(cuts_equal(&w2, &tiny));
	/* and with small params where pieces cross every region */
	struct chunker_params small = { 64, 256, 1024 };
	struct cuts s1 = chunk_stream(&small, seed, d, 1u << 20, 0, 0);
	struct cuts s2 = chunk_stream(&small, seed, d, 1u << 20, 37, 14);
	struct cuts s3 = chunk_stream(&small, seed, d, 1u << 20, 1, 15);
	CHECK(cuts_equal(&s1, &s2));
	CHECK(cuts_equal(&s1, &s3));
	free(s1.len);
	free(s2.len);
	free(s3.len);
	free(w2.len);
	free(tiny.len);
	free(whole.len);
	free(d);
}

TEST(reset_starts_fresh)
{
	uint8_t seed[32];
	seed_of(seed, 10);
	size_t n = 8u << 20;
	uint8_t *d = random_data(n, 5);
	struct chunker a, b;
	chunker_init(&a, &defaults, seed);
	chunker_init(&b, &defaults, seed);
	/* a sees some unrelated bytes, then a reset */
	CHECK_EQ(chunker_scan(&a, d + n - 300000, 200000), 0);
	chunker_reset(&a);
	size_t ka = chunker_scan(&a, d, n);
	size_t kb = chunker_scan(&b, d, n);
	CHECK(ka > 0);
	CHECK_EQ(ka, kb);
	free(d);
}

struct chunk_ids {
	struct oid *id;
	size_t n;
};

static struct chunk_ids hash_chunks(const struct cuts *c, const uint8_t *p)
{
	struct chunk_ids h = { malloc(c->n * sizeof(struct oid)), c->n };
	size_t off = 0;
	for (size_t i = 0; i < c->n; i++) {
		crypto_sha256(&h.id[i], p + off, c->len[i]);
		off += c->len[i];
	}
	return h;
}

static int has_id(const struct chunk_ids *h, const struct oid *id)
{
	for (size_t i = 0; i < h->n; i++)
		if (oid_eq(&h->id[i], id))
			return 1;
	return 0;
}

TEST(insert_byte_changes_few_chunks)
{
	uint8_t seed[32];
	seed_of(seed, 11);
	size_t n = 32u << 20;
	uint8_t *d = random_data(n + 1, 6);
	/* e = one byte, then d[0..n) */
	uint8_t *e = malloc(n + 1);
	e[0] = 0x42;
	memcpy(e + 1, d, n);
	struct cuts cd = chunk_stream(&defaults, seed, d, n, 0, 0);
	struct cuts ce = chunk_stream(&defaults, seed, e, n + 1, 0, 0);
	struct chunk_ids hd = hash_chunks(&cd, d), he = hash_chunks(&ce, e);
	size_t new_in_e = 0, first_new = 0, last_new = 0;
	for (size_t i = 0; i < he.n; i++) {
		if (!has_id(&hd, &he.id[i])) {
			if (!new_in_e)
				first_new = i;
			last_new = i;
			new_in_e++;
		}
	}
	size_t gone_from_d = 0;
	for (size_t i = 0; i < hd.n; i++)
		if (!has_id(&he, &hd.id[i]))
			gone_from_d++;
	fprintf(stderr, "  %zu chunks; %zu new (#%zu..#%zu), %zu gone\n", ce.n, new_in_e,
		first_new, last_new, gone_from_d);
	CHECK(new_in_e >= 1);
	CHECK(new_in_e <= 2);
	CHECK(gone_from_d <= 2);
	/* the changed chunks are at the start */
	CHECK_EQ(first_new, 0);
	CHECK(last_new <= 1);
	free(hd.id);
	free(he.id);
	free(cd.len);
	free(ce.len);
	free(d);
	free(e);
}

TEST(seed_changes_boundaries)
{
	uint8_t s1[32], s2[32];
	seed_of(s1, 20);
	memcpy(s2, s1, 32);
	s2[31] ^= 1;
	size_t n = 16u << 20;
	uint8_t *d = random_data(n, 7);
	struct cuts a = chunk_stream(&defaults, s1, d, n, 0, 0);
	struct cuts b = chunk_stream(&defaults, s2, d, n, 0, 0);
	CHECK(!cuts_equal(&a, &b));
	/* and not just shifted a little: few boundaries coincide */
	size_t pa = 0, common = 0;
	for (size_t i = 0; i + 1 < a.n; i++) {
		pa += a.len[i];
		size_t pb = 0;
		for (size_t k = 0; k + 1 < b.n; k++) {
			pb += b.len[k];
			if (pb == pa)
				common++;
		}
	}
	CHECK(common * 4 < a.n);
	/* the gear tables differ */
	struct chunker c1, c2;
	chunker_init(&c1, &defaults, s1);
	chunker_init(&c2, &defaults, s2);
	CHECK(memcmp(c1.gear, c2.gear, sizeof(c1.gear)) != 0);
	free(a.len);
	free(b.len);
	free(d);
}

TEST(zeros_cut_at_max)
{
	uint8_t seed[32];
	seed_of(seed, 30);
	size_t n = 4 * (size_t)CHUNKER_MAX_DEFAULT + 1000;
	uint8_t *z = calloc(n, 1);
	struct cuts c = chunk_stream(&defaults, seed, z, n, 0, 0);
	CHECK_EQ(c.n, 5);
	for (size_t i = 0; i < 4 && i < c.n; i++)
		CHECK_EQ(c.len[i], CHUNKER_MAX_DEFAULT);
	if (c.n == 5)
		CHECK_EQ(c.len[4], 1000);
	free(c.len);
	/* the same in pieces */
	c = chunk_stream(&defaults, seed, z, n, 1u << 20, 99);
	CHECK_EQ(c.n, 5);
	for (size_t i = 0; i < 4 && i < c.n; i++)
		CHECK_EQ(c.len[i], CHUNKER_MAX_DEFAULT);
	free(c.len);
	free(z);
}

TEST(scan_contract)
{
	uint8_t seed[32];
	seed_of(seed, 40);
	struct chunker ch;
	chunker_init(&ch, &defaults, seed);
	uint8_t *d = random_data(CHUNKER_MAX_DEFAULT + 10, 8);
	/* below min nothing can cut */
	CHECK_EQ(chunker_scan(&ch, d, CHUNKER_MIN_DEFAULT), 0);
	CHECK_EQ(chunker_scan(&ch, d, 0), 0);
	/* a cut is reported within the piece, at most max from the chunk start */
	size_t k = chunker_scan(&ch, d + CHUNKER_MIN_DEFAULT, CHUNKER_MAX_DEFAULT);
	CHECK(k >= 1);
	CHECK(k <= CHUNKER_MAX_DEFAULT - CHUNKER_MIN_DEFAULT);
	free(d);
}

int main(void)
{
	RUN(params_check);
	RUN(deterministic);
	RUN(chunks_within_bounds);
	RUN(average_size);
	RUN(streaming_equals_one_call);
	RUN(reset_starts_fresh);
	RUN(insert_byte_changes_few_chunks);
	RUN(seed_changes_boundaries);
	RUN(zeros_cut_at_max);
	RUN(scan_contract);
	HARNESS_DONE();
}
