/* POSIX file helpers (include/lib/fsutil.h). */
#include "lib/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/random.h>

#include "lib/hex.h"

int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int pwrite_all(int fd, const void *p, size_t n, off_t off)
{
	const char *c = p;
	while (n) {
		ssize_t w = pwrite(fd, c, n, off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		off += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t pread_all(int fd, void *p, size_t n, off_t off)
{
	char *c = p;
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, c + got, n - got, off + (off_t)got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

ssize_t read_all(int fd, void *p, size_t n)
{
	char *c = p;
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, c + got, n - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int read_file(const char *path, struct buf *out, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf_reset(out);
	int r = 0;
	for (;;) {
		if ((r = buf_grow(out, 65536)) < 0)
			break;
		ssize_t n = read_all(fd, out->data + out->len, 65536);
		if (n < 0) {
			r = (int)n;
			break;
		}
		out->len += (size_t)n;
		if (out->len > max) {
			r = -EFBIG;
			break;
		}
		if (n < 65536)
			break;
	}
	close(fd);
	return r;
}

int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

static int parent_of(const char *path, char *out, size_t max)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return snprintf(out, max, ".") < (int)max ? 0 : -ENAMETOOLONG;
	size_t n = (size_t)(slash - path);
	if (n == 0)
		n = 1;
	if (n >= max)
		return -ENAMETOOLONG;
	memcpy(out, path, n);
	out[n] = 0;
	return 0;
}

/* Writes to "<path>.tmp-<random>" and renames into place.  With exclusive,
 * link() instead of rename() so an existing file is never replaced. */
static int write_durable(const char *path, const void *p, size_t n, mode_t mode,
			 int exclusive)
{
	char dir[4096], tmp[4200], rnd[17];
	uint8_t raw[8];
	int r = parent_of(path, dir, sizeof(dir));
	if (r < 0)
		return r;
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return -EIO;
	hex_encode(rnd, raw, sizeof(raw));
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%s", path, rnd) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	r = write_all(fd, p, n);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0) {
		if (exclusive)
			r = link(tmp, path) < 0 ? -errno : 0;
		else
			r = rename(tmp, path) < 0 ? -errno : 0;
	}
	if (r < 0 || exclusive)
		unlink(tmp);
	if (r == 0)
		r = fsync_dir(dir);
	return r;
}

int write_file_atomic(const char *path, const void *p, size_t n, mode_t mode)
{
	return write_durable(path, p, n, mode, 0);
}

int write_file_new(const char *path, const void *p, size_t n, mode_t mode)
{
	return write_durable(path, p, n, mode, 1);
}

int mkdir_p(const char *path, mode_t mode)
{
	char tmp[4096];
	size_t n = strlen(path);
	if (n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0) {
		struct stat st;
		if (errno != EEXIST)
			return -errno;
		if (stat(tmp, &st) < 0)
			return -errno;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
	}
	return 0;
}

char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	while (la > 0 && a[la - 1] == '/')
		la--; /* "/" becomes "", so the join below gives "/b" */
	char *p = malloc(la + lb + 2);
	if (!p)
		return NULL;
	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}
