/* Backing up a local directory: walk it, compare each file with the
 * previous snapshot of the same source by (size, mtime, ctime, inode) and
 * feed ingest only what changed, then commit a snapshot that carries the
 * other sources of the previous snapshot over unchanged.
 */
#ifndef CAIRN_STORE_BACKUP_H
#define CAIRN_STORE_BACKUP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/ingest.h"
#include "store/repo.h"
#include "store/snapshot.h"

/* Totals a progress display reads while the backup runs.  total_* come
 * from a parallel scan and are final once scan_done is set. */
struct backup_progress {
	atomic_uint_fast64_t files_done, bytes_done;
	atomic_uint_fast64_t total_files, total_bytes;
	atomic_int scan_done;
	_Atomic(const struct ingest_progress *) ingest; /* once ingest starts */
};

struct backup_opts {
	const char *path;          /* directory to back up */
	const char *source;        /* top-level name; NULL: basename of path */
	const char *const *excludes; /* fnmatch patterns, NULL-terminated */
	const char *const *tags;   /* NULL-terminated */
	const char *host;          /* NULL: this host */
	struct ingest_opts ingest;
	struct backup_progress *progress; /* optional; enables the scan */
};

struct backup_result {
	struct snapshot snap;      /* the snapshot written */
	unsigned warnings;         /* files skipped because they could not be read */
};

/* 0: complete; 3 (BACKUP_PARTIAL): written, but some files were skipped
 * (each named in a warning); -errno: no snapshot was written. */
#define BACKUP_PARTIAL 3
int backup_run(struct repo *r, const struct backup_opts *o, struct backup_result *res);
void backup_result_release(struct backup_result *res);

#endif
