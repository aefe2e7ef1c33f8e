/* Packs: many sealed blob boxes in one stored object, followed by a sealed
 * table of the blobs and a fixed trailer (docs/FORMAT.md §3):
 *
 *   box* | table box | u32 table length | "CAIRNPK1"
 *
 * A pack is named by the SHA-256 of all its bytes.  The table makes every
 * pack self-describing, so an index can be rebuilt from the packs alone.
 */
#ifndef CAIRN_STORE_PACK_H
#define CAIRN_STORE_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "store/codec.h"

#define PACK_MAGIC "CAIRNPK1"
#define PACK_TRAILER_LEN 12
#define PACK_TABLE_ENTRY_LEN 45
/* Writers close a pack at this many blobs even if it is small, so a table
 * stays a few MiB at most. */
#define PACK_MAX_BLOBS 65536

struct pack_entry {
	struct oid id;
	uint8_t type;        /* OBJ_DATA or OBJ_TREE */
	uint32_t offset;     /* of the box within the pack */
	uint32_t length;     /* of the box */
	uint32_t plain_len;  /* of the plaintext */
};

/* Builds one pack in memory. */
struct pack_builder {
	struct buf data;
	struct pack_entry *ents;
	size_t n, cap;
	uint8_t type;        /* what the writer keeps in it; pack.c ignores it */
};

void pack_builder_init(struct pack_builder *pb);
void pack_builder_release(struct pack_builder *pb);
/* Empties the builder, keeping its storage. */
void pack_builder_reset(struct pack_builder *pb);
/* Appends a sealed box.  0 or -errno. */
int pack_builder_add(struct pack_builder *pb, const struct oid *id, uint8_t type,
		     uint32_t plain_len, const void *box, size_t len);
/* Appends the sealed table and the trailer: pb->data is then the complete
 * pack.  0 or -errno. */
int pack_builder_finish(struct pack_builder *pb, struct codec *c);

/* Reads the trailer (the last PACK_TRAILER_LEN bytes of a pack of
 * pack_size bytes) and gives the table box length.  0 or -EBADMSG. */
int pack_parse_trailer(const uint8_t tail[PACK_TRAILER_LEN], uint64_t pack_size,
		       uint32_t *table_len);
/* Opens and decodes the table box that starts at table_offset.  Every entry
 * is checked to lie within [0, table_offset) without overlap.  *ents is
 * malloc'd (caller frees).  0, -EBADMSG or -ENOMEM. */
int pack_decode_table(struct codec *c, const void *box, size_t n,
		      uint64_t table_offset, struct pack_entry **ents, size_t *count);

#endif
