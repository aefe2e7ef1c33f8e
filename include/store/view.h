/* The browsable namespace of a repository — what the mount shows —
 * independent of FUSE:
 *
 *   /                       the root
 *   /@YYYY-MM-DD-HHMMSS/    one directory per snapshot (local time; a
 *                           second snapshot in the same second gets "-2")
 *   /@YYYY-MM-DD            symlink to the newest snapshot of that day
 *   /@latest                symlink to the newest snapshot
 *
 * Inside a snapshot, entries are materialized into the catalog on first
 * access (view_lookup, view_readdir) and answered from it afterwards, so
 * listing a directory never fetches remote data once its tree is cached.
 * Inode numbers are stable for the life of the catalog; hardlinks of one
 * snapshot share one.  File contents are read through a blob cache with
 * read-ahead for sequential readers.
 *
 * Thread-safe; functions return 0 or -errno (-ENOENT, -ENOTDIR, -EINVAL,
 * -EIO when data cannot be read or authenticated).
 */
#ifndef CAIRN_STORE_VIEW_H
#define CAIRN_STORE_VIEW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lib/buf.h"
#include "store/repo.h"

#define VIEW_ROOT_INO 1
#define VIEW_LATEST_INO 2
/* inode numbers of catalog nodes are their rowid plus this */
#define VIEW_INO_BASE 16
/* a day alias's inode is its day, YYYYMMDD, with this bit (stable when it moves) */
#define VIEW_DAY_BIT (UINT64_C(1) << 62)

struct view_attr {
	uint64_t ino;
	uint8_t kind;           /* enum node_kind */
	uint32_t mode, uid, gid;
	uint64_t size, nlink, rdev;
	int64_t mtime_sec, ctime_sec;
	uint32_t mtime_nsec, ctime_nsec;
	int immutable;          /* snapshot content: never changes */
};

struct view_dirent {
	char *name;
	struct view_attr attr;
};

struct view_opts {
	size_t cache_bytes;     /* decoded-blob memory cache; 0: default */
	int prefetchers;        /* read-ahead threads; 0: default */
};

struct view;

/* Builds the root listing from the catalog (call view_refresh to bring
 * the catalog up to date with the destination first if needed). */
struct view *view_new(struct repo *r, const struct view_opts *o, int *err);
void view_free(struct view *v);

/* Syncs the catalog with the destination and rebuilds the root listing;
 * *changed tells whether the set of snapshots changed.  Call from one
 * thread only (it uses the repository's own codec). */
int view_refresh(struct view *v, int *changed);

struct view_link {
	uint64_t ino;
	char name[32];
};
/* The root's links (@latest and the day aliases), which a refresh that
 * changed the snapshots may have moved; *out is malloc'd. */
int view_root_links(struct view *v, struct view_link **out, size_t *n);

int view_getattr(struct view *v, uint64_t ino, struct view_attr *a);
int view_lookup(struct view *v, uint64_t parent, const char *name, struct view_attr *a);
/* The whole listing of a directory, sorted by name (no "." or "..");
 * free with view_dirents_free. */
int view_readdir(struct view *v, uint64_t ino, struct view_dirent **ents, size_t *n);
void view_dirents_free(struct view_dirent *ents, size_t n);
/* A symlink's target (replacing out's contents, not NUL-terminated). */
int view_readlink(struct view *v, uint64_t ino, struct buf *out);

/* An open regular file: its chunk map, for reads at any offset. */
struct view_file;
int view_open(struct view *v, uint64_t ino, struct view_file **f);
/* Up to len bytes at off into out (replacing); short only at the end. */
int view_read(struct view *v, struct view_file *f, uint64_t off, size_t len,
	      struct buf *out);

/* The same bytes without a copy: pieces of cached chunks, held until
 * view_span_release.  -E2BIG if they take more than VIEW_SPAN_MAX pieces
 * (chunks far smaller than the read: use view_read). */
#define VIEW_SPAN_MAX 16
struct view_span {
	struct iovec iov[VIEW_SPAN_MAX];
	struct blob_ref *refs[VIEW_SPAN_MAX];
	int n;
	size_t len;
};
int view_read_span(struct view *v, struct view_file *f, uint64_t off, size_t len,
		   struct view_span *sp);
void view_span_release(struct view *v, struct view_span *sp);
void view_close(struct view *v, struct view_file *f);
/* Memory a file's chunk map takes. */
size_t view_file_bytes(const struct view_file *f);

struct view_statfs {
	uint64_t bytes;         /* what the repository stores (packs) */
	uint64_t snapshots;
};
int view_statfs(struct view *v, struct view_statfs *st);

#endif
