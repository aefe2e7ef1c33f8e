/* The catalog: a local SQLite (WAL) cache of what the repository holds —
 * the blob index, the snapshot list, decoded trees — so that lookups never
 * go to the destination (DESIGN §6).  Losing it loses nothing: it is
 * rebuilt from the index and snapshot objects.
 *
 * A handle is one SQLite connection guarded by a mutex, so it may be shared
 * between threads; threads that want to read in parallel open their own
 * handles on the same file.  All functions return 0 or -errno (-ENOENT for
 * "not found", -EIO for SQLite failures, logged with SQLite's message).
 */
#ifndef CAIRN_STORE_CATALOG_H
#define CAIRN_STORE_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "store/crypto.h"
#include "store/index.h"
#include "store/pack.h"

#define CATALOG_SCHEMA_VERSION 3

struct catalog;

struct blob_loc {
	struct oid pack;
	uint8_t type;
	uint32_t offset, length, plain_len;
};

/* Opens (creating if needed) the catalog file.  A file with another schema
 * version is emptied.  NULL and *err on failure. */
struct catalog *catalog_open(const char *path, int *err);
void catalog_close(struct catalog *c);

int catalog_begin(struct catalog *c);
int catalog_commit(struct catalog *c);
void catalog_rollback(struct catalog *c);

int catalog_meta_get(struct catalog *c, const char *key, struct buf *out);
int catalog_meta_set(struct catalog *c, const char *key, const char *value);

/* A read transaction: every read until catalog_read_end sees the catalog
 * as it was at the first read, and no read pays for locking on its own.
 * Only for handles that do not write meanwhile. */
int catalog_read_begin(struct catalog *c);
void catalog_read_end(struct catalog *c);

/* 1 if the blob is known, 0 if not, or -errno. */
int catalog_blob_exists(struct catalog *c, const struct oid *id);

/* Where a blob is stored; -ENOENT if not known. */
int catalog_blob_find(struct catalog *c, const struct oid *id, struct blob_loc *loc);

/* Records a pack and its blobs.  indexed=0 for a pack written locally whose
 * index object is not written yet.  Blobs already known keep their first
 * location. */
int catalog_add_pack(struct catalog *c, const struct oid *pack, uint64_t size,
		     int indexed, const struct pack_entry *ents, size_t n);
/* Calls fn for every pack recorded with indexed=0. */
int catalog_unindexed_packs(struct catalog *c,
			    int (*fn)(void *ctx, const struct oid *pack, uint64_t size),
			    void *ctx);
/* The blobs recorded for a pack (malloc'd array, caller frees). */
int catalog_pack_blobs(struct catalog *c, const struct oid *pack,
		       struct pack_entry **ents, size_t *n);
int catalog_mark_indexed(struct catalog *c, const struct oid *pack);
/* Forgets a pack and the blobs located in it. */
int catalog_forget_pack(struct catalog *c, const struct oid *pack);

/* Uploads in progress: a pack is recorded here before it is stored, so
 * that if the process dies between storing it and recording it, the next
 * writer can find it (and adopt or forget it).  catalog_add_pack ends the
 * upload of the same pack. */
int catalog_upload_begin(struct catalog *c, const struct oid *pack, uint64_t size);
int catalog_upload_end(struct catalog *c, const struct oid *pack);
int catalog_uploads(struct catalog *c,
		    int (*fn)(void *ctx, const struct oid *pack, uint64_t size), void *ctx);

/* Index objects already loaded. */
int catalog_has_index(struct catalog *c, const struct oid *name);
/* Loads an index object's packs and blobs and remembers its name, in one
 * transaction. */
int catalog_add_index(struct catalog *c, const struct oid *name,
		      const struct index_data *idx);
int catalog_index_names(struct catalog *c,
			int (*fn)(void *ctx, const struct oid *name), void *ctx);

/* Snapshots, by object name, with their JSON plaintext. */
int catalog_has_snapshot(struct catalog *c, const struct oid *name);
int catalog_add_snapshot(struct catalog *c, const struct oid *name,
			 int64_t time_ns, const void *json, size_t n);
int catalog_del_snapshot(struct catalog *c, const struct oid *name);
/* In time order (oldest first). */
int catalog_snapshots(struct catalog *c,
		      int (*fn)(void *ctx, const struct oid *name,
				const void *json, size_t n),
		      void *ctx);

/* Decoded-tree cache: tree plaintext by tree id. */
int catalog_tree_get(struct catalog *c, const struct oid *id, struct buf *out);
int catalog_tree_put(struct catalog *c, const struct oid *id, const void *p, size_t n);

/* ---- the browsable view (catalog_fs.c) ----
 * Snapshot directories are materialized here on first access, one row per
 * entry, so that lookups and listings are answered from SQLite.  A node's
 * number (its rowid) is stable for as long as the catalog exists; the
 * names of hardlinks of one snapshot share one node. */

struct catalog_node {
	uint64_t ino;              /* rowid */
	uint64_t snap;             /* node of the snapshot's root */
	uint8_t kind;              /* enum node_kind */
	uint32_t mode, uid, gid;
	uint64_t size, nlink, rdev;
	int64_t mtime_sec, ctime_sec;
	uint32_t mtime_nsec, ctime_nsec;
	int loaded;                /* directories: children materialized */
	struct buf data;           /* dir: subtree id; symlink: target;
				    * file: nchunks x (id[32] | u32 len) */
};

/* The root node of a snapshot, created on first use (a directory whose
 * subtree is the snapshot's root tree). */
int catalog_fs_snapshot_root(struct catalog *c, const struct oid *snap,
			     const struct oid *tree, int64_t time_ns, uint64_t *ino);
/* n->data is replaced; -ENOENT if there is no such node. */
int catalog_fs_node(struct catalog *c, uint64_t ino, struct catalog_node *n);
int catalog_fs_lookup(struct catalog *c, uint64_t parent, const char *name, size_t len,
		      struct catalog_node *n);
/* Children in name order; n is borrowed for the call. */
int catalog_fs_children(struct catalog *c, uint64_t parent,
			int (*fn)(void *ctx, const char *name, size_t len,
				  const struct catalog_node *n),
			void *ctx);
/* Materializes directory dir from its tree t, once (a no-op if another
 * thread or process did it first). */
struct tree;
int catalog_fs_fill(struct catalog *c, uint64_t dir, uint64_t snap, const struct tree *t);

struct catalog_stats {
	uint64_t packs, pack_bytes;
	uint64_t data_blobs, data_plain, data_stored;
	uint64_t tree_blobs, tree_plain, tree_stored;
	uint64_t snapshots;
};
int catalog_stats(struct catalog *c, struct catalog_stats *st);

/* Drops every row (before a rebuild). */
int catalog_clear(struct catalog *c);

#endif
