/* FastCDC with normalized chunking, level 2 (include/store/chunker.h).
 *
 * The gear hash shifts left once per byte, so its top bits depend on the
 * last 64 bytes and its low bits only on the last few: the cut masks take
 * the top bits.  The first min bytes of a chunk are skipped unhashed, as in
 * the paper; that is where most of FastCDC's speed comes from. */
#include "store/chunker.h"

#include <errno.h>
#include <string.h>

#include "store/crypto.h"

static int log2_exact(uint32_t v)
{
	if (!v || (v & (v - 1)))
		return -1;
	int b = 0;
	while (v >>= 1)
		b++;
	return b;
}

int chunker_params_check(const struct chunker_params *p)
{
	int bits = log2_exact(p->avg);
	if (bits < 8 || p->min < 64 || p->min >= p->avg || p->avg >= p->max ||
	    p->max > CHUNKER_MAX_LIMIT)
		return -EINVAL;
	return 0;
}

static uint64_t top_bits(int n)
{
	return ((UINT64_C(1) << n) - 1) << (64 - n);
}

int chunker_init(struct chunker *c, const struct chunker_params *p,
		 const uint8_t seed[32])
{
	if (chunker_params_check(p) < 0)
		return -EINVAL;
	/* gear[i] = first 8 bytes (little endian) of SHA-256(seed | i) */
	for (int i = 0; i < 256; i++) {
		uint8_t in[33];
		struct oid h;
		memcpy(in, seed, 32);
		in[32] = (uint8_t)i;
		crypto_sha256(&h, in, sizeof(in));
		uint64_t g = 0;
		for (int k = 7; k >= 0; k--)
			g = g << 8 | h.b[k];
		c->gear[i] = g;
	}
	int bits = log2_exact(p->avg);
	c->mask_s = top_bits(bits + 2);
	c->mask_l = top_bits(bits - 2);
	c->min = p->min;
	c->avg = p->avg;
	c->max = p->max;
	chunker_reset(c);
	return 0;
}

void chunker_reset(struct chunker *c)
{
	c->pos = 0;
	c->hash = 0;
}

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

size_t chunker_scan(struct chunker *c, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	const uint64_t *gear = c->gear;
	uint32_t pos = c->pos;
	uint64_t h = c->hash;
	size_t i = 0, i0;

	if (pos < c->min) {
		size_t skip = c->min - pos;
		if (n <= skip) {
			c->pos = pos + (uint32_t)n;
			return 0;
		}
		i = skip;
		pos = c->min;
		h = 0;
	}
	if (pos < c->avg) {
		size_t lim = i + min_sz(n - i, c->avg - pos);
		uint64_t mask = c->mask_s;
		for (i0 = i; i < lim; i++) {
			h = (h << 1) + gear[p[i]];
			if (!(h & mask))
				goto cut;
		}
		pos += (uint32_t)(i - i0);
		if (i == n)
			goto more;
	}
	{
		size_t lim = i + min_sz(n - i, c->max - pos);
		uint64_t mask = c->mask_l;
		for (i0 = i; i < lim; i++) {
			h = (h << 1) + gear[p[i]];
			if (!(h & mask))
				goto cut;
		}
		pos += (uint32_t)(i - i0);
		if (pos >= c->max) {
			c->pos = 0;
			c->hash = 0;
			return i;
		}
	}
more:
	c->pos = pos;
	c->hash = h;
	return 0;
cut:
	c->pos = 0;
	c->hash = 0;
	return i + 1;
}
