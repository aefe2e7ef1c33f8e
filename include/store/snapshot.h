/* Snapshot objects: a point in time, the root tree (one entry per source),
 * who made it and what it cost (docs/FORMAT.md §6).  The plaintext is JSON;
 * the stored object is an OBJ_SNAPSHOT box named by its SHA-256.
 */
#ifndef CAIRN_STORE_SNAPSHOT_H
#define CAIRN_STORE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "store/crypto.h"

struct snapshot_source {
	char *name;      /* top-level folder in the snapshot */
	char *path;      /* where it came from (a directory, "drive", ...) */
	char *host;
	int64_t time_ns; /* when this source was last backed up */
};

struct snapshot_stats {
	uint64_t files_new, files_changed, files_unmodified;
	uint64_t dirs;
	uint64_t bytes_total;  /* sum of file sizes in the source backed up */
	uint64_t bytes_read;   /* read from the source (changed files) */
	uint64_t bytes_added;  /* plaintext of new blobs */
	uint64_t bytes_stored; /* what new blobs take in packs */
	uint64_t blobs_added;
	uint64_t duration_ms;
};

struct snapshot {
	struct oid id;        /* object name; set when loaded or saved */
	int64_t time_ns;      /* UTC, ns since the epoch */
	char *host, *user;
	char **tags;
	size_t ntags;
	struct oid tree;
	bool has_parent;
	struct oid parent;
	struct snapshot_source *sources;
	size_t nsources;
	struct snapshot_stats stats;
	char *program;
};

/* JSON plaintext appended to out. */
int snapshot_to_json(const struct snapshot *s, struct buf *out);
/* Parses and validates JSON plaintext; s is filled with malloc'd fields
 * (snapshot_release).  0, -EBADMSG or -ENOMEM. */
int snapshot_from_json(const void *p, size_t n, struct snapshot *s);
void snapshot_release(struct snapshot *s);
/* Deep copy.  0 or -ENOMEM. */
int snapshot_copy(struct snapshot *dst, const struct snapshot *src);

/* "@YYYY-MM-DD-HHMMSS" in local time (out >= 24 bytes). */
void snapshot_dirname(int64_t time_ns, char *out, size_t n);

/* Room for a folder name from snapshot_folder_names ("-N" included, for
 * any N below 10^12). */
#define SNAPSHOT_NAME_MAX 32

/* The folder names of snapshots s[0..n), given in time order (as
 * repo_snapshots returns them); names[i] is s[i]'s.  This is the one rule
 * the mount and the command line share: a snapshot is named by its
 * snapshot_dirname, except that the k-th snapshot (k >= 2, in time order)
 * with the same snapshot_dirname gets "-k" appended: "@…-HHMMSS",
 * "@…-HHMMSS-2", "@…-HHMMSS-3", ...  (Two snapshots share a dirname when
 * made in the same second, or when local time repeats as clocks go back.)
 * The names are distinct.  0 or -ENOMEM (names is then undefined). */
int snapshot_folder_names(const struct snapshot *s, size_t n,
			  char (*names)[SNAPSHOT_NAME_MAX]);

/* The first 8 hex digits of the id (out >= 9 bytes). */
void snapshot_short_id(const struct snapshot *s, char *out);
/* RFC 3339 local time with nanoseconds and offset (out >= 40 bytes). */
void time_format_rfc3339(int64_t time_ns, char *out, size_t n);
/* Parses RFC 3339 with optional fraction and Z or +hh:mm.  0 or -EINVAL. */
int time_parse_rfc3339(const char *s, int64_t *time_ns);

#endif
