/* Index objects: which blobs live in which packs, at what offset
 * (docs/FORMAT.md §4).  A repository's index is the union of its index
 * objects; the catalog keeps that union in SQLite. */
#ifndef CAIRN_STORE_INDEX_H
#define CAIRN_STORE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "store/codec.h"
#include "store/pack.h"

struct index_pack {
	struct oid id;
	uint64_t size;
	struct pack_entry *blobs;
	size_t nblobs;
};

struct index_data {
	struct index_pack *packs;
	size_t npacks;
};

/* Index plaintext appended to out. */
int index_encode_plain(const struct index_data *idx, struct buf *out);
/* Seals an index object (plaintext, then a box of OBJ_INDEX) appended to
 * out. */
int index_encode(struct codec *c, const struct index_data *idx, struct buf *out);
/* Opens and decodes an index object; every entry must lie inside its pack.
 * out is filled with malloc'd arrays (free with index_data_release).
 * 0, -EBADMSG or -ENOMEM. */
int index_decode(struct codec *c, const void *box, size_t n, struct index_data *out);
/* The same for plaintext that has already been opened. */
int index_decode_plain(const void *p, size_t n, struct index_data *out);
void index_data_release(struct index_data *idx);

#endif
