/* Small POSIX file helpers: full reads and writes that retry on EINTR and
 * short counts, and the durable-write idiom (temp file, fsync, rename,
 * fsync of the directory).  All return 0 or -errno unless stated. */
#ifndef CAIRN_LIB_FSUTIL_H
#define CAIRN_LIB_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/buf.h"

int write_all(int fd, const void *p, size_t n);
int pwrite_all(int fd, const void *p, size_t n, off_t off);
/* Reads up to n bytes at off; returns the count (short only at EOF). */
ssize_t pread_all(int fd, void *p, size_t n, off_t off);
/* Reads until EOF; returns the count. */
ssize_t read_all(int fd, void *p, size_t n);

/* Reads a whole file into out (replacing its contents); -EFBIG past max. */
int read_file(const char *path, struct buf *out, size_t max);
/* Writes path atomically: a temp file beside it, fsync, rename, fsync of the
 * directory.  Readers see the old file or the whole new one, never part. */
int write_file_atomic(const char *path, const void *p, size_t n, mode_t mode);
/* Like write_file_atomic but fails with -EEXIST if path exists. */
int write_file_new(const char *path, const void *p, size_t n, mode_t mode);
int fsync_dir(const char *dir);
/* Creates dir and its missing parents. */
int mkdir_p(const char *path, mode_t mode);
/* malloc'd "a/b" (caller frees); NULL on ENOMEM. */
char *path_join(const char *a, const char *b);

#endif
