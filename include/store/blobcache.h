/* A cache of decoded data blobs for readers that come back to the same
 * chunks (the mount): a byte-capped LRU in memory, one fetch per blob even
 * when many threads want it at once, and read-ahead threads that load the
 * blobs a sequential reader will want next.
 *
 * Thread-safe.  A blob handed out stays valid until it is put back, even if
 * the cache evicts it meanwhile. */
#ifndef CAIRN_STORE_BLOBCACHE_H
#define CAIRN_STORE_BLOBCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "store/repo.h"

struct blobcache;
struct blob_ref;

/* max_bytes: memory for decoded blobs not in use; prefetchers: read-ahead
 * threads (0: none).  NULL and *err on failure. */
struct blobcache *blobcache_new(struct repo *r, size_t max_bytes, int prefetchers,
				int *err);
/* Waits for the read-ahead threads; no blob may still be held. */
void blobcache_free(struct blobcache *bc);

/* The decoded data blob, fetched if needed.  -ENOENT if the repository
 * does not know it, -EBADMSG if it fails to authenticate (logged, naming
 * the blob and its pack), other -errno from the destination. */
int blobcache_get(struct blobcache *bc, const struct oid *id, struct blob_ref **out);
void blobcache_put(struct blobcache *bc, struct blob_ref *b);
const uint8_t *blob_ref_data(const struct blob_ref *b);
size_t blob_ref_len(const struct blob_ref *b);

/* Asks a read-ahead thread to load id; dropped if they are all busy. */
void blobcache_prefetch(struct blobcache *bc, const struct oid *id);

struct blobcache_stats {
	uint64_t hits, misses, fetch_errors, bytes;
};
void blobcache_stats(struct blobcache *bc, struct blobcache_stats *st);

#endif
