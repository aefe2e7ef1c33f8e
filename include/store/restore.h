/* Restoring a snapshot (or a path inside it) into a local directory:
 * contents, modes, owners (when root), mtimes to the nanosecond, symlinks,
 * hardlinks, sparse files.  Files are written by a pool of threads; a file
 * that cannot be restored is named and the rest go on.
 */
#ifndef CAIRN_STORE_RESTORE_H
#define CAIRN_STORE_RESTORE_H

#include <stdatomic.h>
#include <stdint.h>

#include "store/repo.h"

struct restore_progress {
	atomic_uint_fast64_t files, dirs, bytes;
	atomic_uint_fast64_t files_total, bytes_total;
};

struct restore_opts {
	const char *target;   /* created if missing */
	int threads;          /* 0: default */
	struct restore_progress *progress; /* optional */
};

struct restore_result {
	uint64_t files, dirs, bytes;
	uint64_t failed;      /* entries that could not be restored */
};

/* Restores the contents of `path` (a directory: its children; a file:
 * that file) from the tree of snap into o->target.  0 if everything was
 * restored, -EIO if some entries failed (each named in an error), other
 * -errno if nothing could be done. */
int restore_run(struct repo *r, const struct snapshot *snap, const char *path,
		const struct restore_opts *o, struct restore_result *res);

#endif
