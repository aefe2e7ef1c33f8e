/* FastCDC content-defined chunking with normalized chunk sizes (Xia et al.,
 * 2016): a gear rolling hash, a stricter cut mask before the average size
 * and a looser one after it, hard limits at min and max.
 *
 * The gear table is derived from a per-repository secret seed, so chunk
 * boundaries do not reveal content to someone without the keys.  A chunker
 * allocates nothing; it is a value, one per stream, not shared between
 * threads.
 */
#ifndef CAIRN_STORE_CHUNKER_H
#define CAIRN_STORE_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

struct chunker_params {
	uint32_t min, avg, max; /* avg a power of two; min < avg < max */
};

#define CHUNKER_MIN_DEFAULT (256u << 10)
#define CHUNKER_AVG_DEFAULT (1u << 20)
#define CHUNKER_MAX_DEFAULT (4u << 20)
/* Limits accepted from a repository config. */
#define CHUNKER_MAX_LIMIT (16u << 20)

struct chunker {
	uint64_t gear[256];
	uint64_t mask_s, mask_l;
	uint32_t min, avg, max;
	uint32_t pos;  /* bytes of the current chunk seen so far */
	uint64_t hash;
};

/* 0 if min/avg/max are sane (64 <= min < avg < max <= CHUNKER_MAX_LIMIT,
 * avg a power of two), else -EINVAL. */
int chunker_params_check(const struct chunker_params *p);
/* seed: 32 secret bytes (derived from the repository id key). */
int chunker_init(struct chunker *c, const struct chunker_params *p,
		 const uint8_t seed[32]);
/* Forgets the current chunk (start of a new file). */
void chunker_reset(struct chunker *c);
/* Scans p[0..n) as the continuation of the current chunk.  Returns k in
 * 1..n when the chunk ends after p[k-1] (the state is then reset for the
 * next chunk), or 0 when all of p belongs to the current chunk. */
size_t chunker_scan(struct chunker *c, const void *p, size_t n);

#endif
