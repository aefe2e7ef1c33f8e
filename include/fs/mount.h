/* Mounting a repository as a folder (DESIGN §1): the root shows one
 * read-only directory per snapshot plus @YYYY-MM-DD and @latest links,
 * new snapshots appear without remounting, and anything that would write
 * fails with EROFS.  The libfuse3 low-level API, multi-threaded.
 */
#ifndef CAIRN_FS_MOUNT_H
#define CAIRN_FS_MOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include "store/repo.h"

struct fs_mount_opts {
	const char *mountpoint;
	bool foreground;          /* else: daemon, returns once the mount answers */
	bool allow_other;
	bool allow_nonempty;      /* mount over a directory that has entries */
	int refresh_ms;           /* how often to look for new snapshots; 0: 2000 */
	struct repo_open_opts repo; /* opened again by the daemon */
};

/* Checks that a directory can be mounted on (exists, is a directory, is
 * not already a mount, is empty unless allowed).  Prints one line and
 * returns -errno if not. */
int fs_check_mountpoint(const char *mountpoint, bool allow_nonempty);

/* Mounts and serves until unmounted (or SIGINT/SIGTERM).  Without
 * foreground, forks: the parent returns 0 once the mount answers, or the
 * error the daemon met (already printed); the daemon logs to
 * <cache dir>/mount.log.  In the foreground it returns when unmounted. */
int fs_mount(const struct fs_mount_opts *o);

/* Unmounts (lazily if a file is still open, saying so). */
int fs_unmount(const char *mountpoint);

#endif
