/* Trees: one per directory, the sorted list of its entries with their
 * metadata, chunk lists (files), subtree ids (directories) and link targets
 * (docs/FORMAT.md §5).  A tree is stored as an OBJ_TREE blob whose id is the
 * keyed hash of its bytes, so an unchanged directory yields the same tree
 * and is stored once for every snapshot that shares it.
 */
#ifndef CAIRN_STORE_TREE_H
#define CAIRN_STORE_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "store/crypto.h"

#define TREE_VERSION 1
#define TREE_NAME_MAX 255
#define TREE_TARGET_MAX 4095
#define TREE_EXT_MAX 65536

enum node_kind {
	NODE_FILE = 1,
	NODE_DIR = 2,
	NODE_SYMLINK = 3,
	NODE_FIFO = 4,
	NODE_CHR = 5,
	NODE_BLK = 6,
	NODE_SOCK = 7,
};
#define NODE_KIND_MAX 7

struct chunk_ref {
	struct oid id;
	uint32_t len;
};

struct tree_entry {
	char *name;               /* NUL-terminated; no '/', not "." or ".." */
	uint32_t name_len;
	uint8_t kind;             /* enum node_kind */
	uint32_t mode;            /* permission and special bits (07777) */
	uint32_t uid, gid;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	int64_t ctime_sec;        /* for change detection only */
	uint32_t ctime_nsec;
	uint64_t ino, dev, nlink; /* change detection and hardlink groups */
	uint64_t size;            /* files: content bytes; others 0 */
	uint64_t rdev;            /* character and block devices */
	struct oid subtree;       /* NODE_DIR */
	char *target;             /* NODE_SYMLINK, NUL-terminated */
	uint32_t target_len;
	uint32_t nchunks;         /* NODE_FILE: chunks in order, lengths sum to size */
	struct chunk_ref *chunks;
	uint8_t *ext;             /* opaque extension records, kept verbatim */
	uint32_t ext_len;
};

/* A decoded tree; everything it points to lives in its own arenas. */
struct tree {
	size_t count;
	struct tree_entry *entries; /* sorted by name */
	struct chunk_ref *chunk_arena;
	char *str_arena;
};

/* Byte order of names in a tree: memcmp, shorter first on a tie. */
int tree_name_cmp(const char *a, size_t alen, const char *b, size_t blen);
/* Sorts entries by name. */
void tree_sort(struct tree_entry *e, size_t n);
/* 0 if a name may appear in a tree (1..255 bytes, no '/' or NUL, not "."
 * or ".."), else -EINVAL. */
int tree_name_check(const char *name, size_t len);

/* Encodes sorted entries as tree plaintext, appended to out.  -EINVAL if
 * entries are unsorted, duplicated or invalid (the encoder refuses to write
 * what the decoder would reject). */
int tree_encode(const struct tree_entry *e, size_t n, struct buf *out);
/* Decodes and validates tree plaintext.  *out is malloc'd (tree_free).
 * 0, -EBADMSG or -ENOMEM. */
int tree_decode(const void *p, size_t n, struct tree **out);
void tree_free(struct tree *t);
/* Deep copy of an entry (name, target, chunks, ext malloc'd); release with
 * tree_entry_release.  0 or -ENOMEM. */
int tree_entry_copy(struct tree_entry *dst, const struct tree_entry *src);
void tree_entry_release(struct tree_entry *e);

/* Binary search by name; NULL if absent. */
const struct tree_entry *tree_lookup(const struct tree *t, const char *name, size_t len);

#endif
