/* The local-directory backend: each object is a file under the root at its
 * key's path, stored via temp file, fsync and rename.  Owns key validation
 * for local paths, the set of directories known to exist and a small LRU
 * cache of open read fds for ranged reads.
 */
#include "store/backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/hex.h"

#define FILE_MODE 0600
#define DIR_MODE 0700
#define KEY_MAX 1024          /* longer keys get -ENAMETOOLONG */
#define TMP_MARK ".tmp-"      /* "<key>.tmp-<16 hex>" while a put runs */
#define FD_SLOTS 32
#define DIR_BUCKETS 64
#define LIST_DEPTH_MAX 16     /* keys are 3 deep; this stops symlink loops */
#define OFF_LIMIT ((uint64_t)INT64_MAX)

/* An open read-only fd for one key.  Users hold a reference; an entry that
 * leaves the cache while in use is closed by its last user, so a pread never
 * races with close() and fd reuse. */
struct fd_ent {
	char *key;
	int fd;
	unsigned refs;
	bool cached;
	uint64_t used; /* LRU clock value of the last lookup */
};

struct dir_node {
	struct dir_node *next;
	char name[];
};

struct file_backend {
	struct backend b;
	char *root;
	int rootfd;
	pthread_mutex_t mu; /* guards dirs, fds, tick and gen */
	struct dir_node *dirs[DIR_BUCKETS];
	struct fd_ent *fds[FD_SLOTS];
	uint64_t tick;
	/* Bumped whenever an object is replaced or removed: an fd opened
	 * across such a change may be of the old file and is not cached. */
	uint64_t gen;
};

static struct file_backend *fb_of(struct backend *b)
{
	return (struct file_backend *)b;
}

/* ---- keys ---- */

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static bool component_ok(const char *s, size_t n)
{
	if (n == 0 || (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char_ok(s[i]))
			return false;
	return true;
}

/* Keys become paths under the root, so anything that could leave it is
 * refused; so is the temp-file marker, which list would hide. */
static int path_check(const char *s, size_t n)
{
	if (n > KEY_MAX)
		return -ENAMETOOLONG;
	if (memmem(s, n, TMP_MARK, strlen(TMP_MARK)))
		return -EINVAL;
	for (;;) {
		const char *slash = memchr(s, '/', n);
		size_t c = slash ? (size_t)(slash - s) : n;
		if (!component_ok(s, c))
			return -EINVAL;
		if (!slash)
			return 0;
		s += c + 1;
		n -= c + 1;
	}
}

static int key_check(const char *key)
{
	return path_check(key, strlen(key));
}

/* A list prefix: everything up to its last '/' must be a valid key (the
 * directory to walk), the rest only the start of a name.  *dirlen gets the
 * length of that directory part. */
static int prefix_check(const char *prefix, size_t *dirlen)
{
	const char *slash = strrchr(prefix, '/');
	size_t d = slash ? (size_t)(slash - prefix) : 0;
	if (slash) {
		int r = path_check(prefix, d);
		if (r < 0)
			return r;
	}
	for (const char *p = slash ? slash + 1 : prefix; *p; p++)
		if (!name_char_ok(*p))
			return -EINVAL;
	*dirlen = d;
	return 0;
}

/* A path that names a directory, or goes through a file, is no object. */
static int not_found(int r)
{
	return r == -ENOTDIR || r == -EISDIR ? -ENOENT : r;
}

/* ---- directories ---- */

static unsigned dir_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h % DIR_BUCKETS;
}

/* Called with mu held. */
static bool dirset_has(struct file_backend *fb, const char *dir, size_t n)
{
	for (struct dir_node *d = fb->dirs[dir_hash(dir, n)]; d; d = d->next)
		if (strlen(d->name) == n && !memcmp(d->name, dir, n))
			return true;
	return false;
}

/* Called with mu held. */
static int dirset_add(struct file_backend *fb, const char *dir, size_t n)
{
	if (dirset_has(fb, dir, n))
		return 0;
	struct dir_node *d = malloc(sizeof(*d) + n + 1);
	if (!d)
		return -ENOMEM;
	memcpy(d->name, dir, n);
	d->name[n] = 0;
	unsigned h = dir_hash(dir, n);
	d->next = fb->dirs[h];
	fb->dirs[h] = d;
	return 0;
}

static int fd_sync(int fd)
{
	return fsync(fd) < 0 ? -errno : 0;
}

/* fsyncs the directory holding path (relative to the root), which makes a
 * rename, unlink or mkdir in it durable. */
static int parent_sync(struct file_backend *fb, const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[KEY_MAX + 1];
	if (!slash)
		return fd_sync(fb->rootfd);
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = 0;
	int fd = openat(fb->rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fd_sync(fd);
	close(fd);
	return r;
}

/* Makes the first n bytes of key (a directory path) exist, one level at a
 * time.  A new directory is fsynced into its parent, or a crash could lose
 * it together with the objects stored under it. */
static int mkdirs(struct file_backend *fb, const char *key, size_t n)
{
	char path[KEY_MAX + 1];
	memcpy(path, key, n);
	path[n] = 0;
	for (size_t i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != 0)
			continue;
		char c = path[i];
		path[i] = 0;
		int r = mkdirat(fb->rootfd, path, DIR_MODE) < 0 ? -errno : 0;
		if (r == 0)
			r = parent_sync(fb, path);
		else if (r == -EEXIST)
			r = 0;
		path[i] = c;
		if (r < 0)
			return r;
	}
	return 0;
}

/* Creates the directories above key.  Those known to exist are remembered,
 * so a backup writing thousands of packs does not mkdir for each. */
static int parent_ensure(struct file_backend *fb, const char *key)
{
	const char *slash = strrchr(key, '/');
	if (!slash)
		return 0;
	size_t n = (size_t)(slash - key);
	pthread_mutex_lock(&fb->mu);
	bool known = dirset_has(fb, key, n);
	pthread_mutex_unlock(&fb->mu);
	if (known)
		return 0;
	int r = mkdirs(fb, key, n);
	if (r < 0)
		return r;
	pthread_mutex_lock(&fb->mu);
	r = dirset_add(fb, key, n);
	pthread_mutex_unlock(&fb->mu);
	return r;
}

/* ---- read fd cache ---- */

static void fd_ent_free(struct fd_ent *e)
{
	close(e->fd);
	free(e->key);
	free(e);
}

/* Called with mu held. */
static int fd_find(struct file_backend *fb, const char *key)
{
	for (int i = 0; i < FD_SLOTS; i++)
		if (fb->fds[i] && !strcmp(fb->fds[i]->key, key))
			return i;
	return -1;
}

/* Takes slot i out of the cache; returns the entry if nobody uses it (the
 * caller frees it), else NULL (its last user will).  Called with mu held. */
static struct fd_ent *fd_evict(struct file_backend *fb, int i)
{
	struct fd_ent *e = fb->fds[i];
	fb->fds[i] = NULL;
	e->cached = false;
	return e->refs ? NULL : e;
}

/* Puts e in a free slot or the least recently used one.  Called with mu
 * held; returns an evicted entry for the caller to free, or NULL. */
static struct fd_ent *fd_insert(struct file_backend *fb, struct fd_ent *e)
{
	struct fd_ent *old = NULL;
	int v = 0;
	for (int i = 0; i < FD_SLOTS; i++) {
		if (!fb->fds[i]) {
			v = i;
			break;
		}
		if (fb->fds[i]->used < fb->fds[v]->used)
			v = i;
	}
	if (fb->fds[v])
		old = fd_evict(fb, v);
	fb->fds[v] = e;
	e->cached = true;
	e->used = ++fb->tick;
	return old;
}

static int fd_open(struct file_backend *fb, const char *key, struct fd_ent **out)
{
	struct stat st;
	struct fd_ent *e = NULL;
	int r, fd = openat(fb->rootfd, key, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return not_found(-errno);
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	r = -ENOENT;
	if (!S_ISREG(st.st_mode))
		goto out;
	r = -ENOMEM;
	if (!(e = calloc(1, sizeof(*e))) || !(e->key = strdup(key)))
		goto out;
	e->fd = fd;
	e->refs = 1;
	*out = e;
	return 0;
out:
	free(e);
	close(fd);
	return r;
}

/* An fd for key, from the cache or newly opened (and cached).  Hand it back
 * with fd_release. */
static int fd_acquire(struct file_backend *fb, const char *key, struct fd_ent **out)
{
	pthread_mutex_lock(&fb->mu);
	int i = fd_find(fb, key);
	if (i >= 0) {
		*out = fb->fds[i];
		(*out)->refs++;
		(*out)->used = ++fb->tick;
	}
	uint64_t gen = fb->gen;
	pthread_mutex_unlock(&fb->mu);
	if (i >= 0)
		return 0;

	struct fd_ent *e = NULL, *old = NULL;
	int r = fd_open(fb, key, &e);
	if (r < 0)
		return r;
	pthread_mutex_lock(&fb->mu);
	/* Another thread may have cached the key meanwhile; then ours stays
	 * private and is closed on release. */
	if (fb->gen == gen && fd_find(fb, key) < 0)
		old = fd_insert(fb, e);
	pthread_mutex_unlock(&fb->mu);
	if (old)
		fd_ent_free(old);
	*out = e;
	return 0;
}

static void fd_release(struct file_backend *fb, struct fd_ent *e)
{
	pthread_mutex_lock(&fb->mu);
	bool last = --e->refs == 0 && !e->cached;
	pthread_mutex_unlock(&fb->mu);
	if (last)
		fd_ent_free(e);
}

/* key was replaced or removed: later reads must not see the old file. */
static void fd_forget(struct file_backend *fb, const char *key)
{
	struct fd_ent *e = NULL;
	pthread_mutex_lock(&fb->mu);
	fb->gen++;
	int i = fd_find(fb, key);
	if (i >= 0)
		e = fd_evict(fb, i);
	pthread_mutex_unlock(&fb->mu);
	if (e)
		fd_ent_free(e);
}

/* ---- operations ---- */

static int file_get(struct backend *b, const char *key, struct buf *out)
{
	int r = key_check(key);
	if (r < 0)
		return r;
	char *path = path_join(fb_of(b)->root, key);
	if (!path)
		return -ENOMEM;
	r = read_file(path, out, BUF_MAX);
	free(path);
	if (r < 0)
		buf_reset(out);
	return not_found(r);
}

static int file_get_range(struct backend *b, const char *key, uint64_t off,
			  size_t len, struct buf *out)
{
	struct file_backend *fb = fb_of(b);
	struct fd_ent *e;
	int r = key_check(key);
	if (r < 0)
		return r;
	buf_reset(out);
	if ((r = fd_acquire(fb, key, &e)) < 0)
		return r;
	/* Past any possible end: empty, like any offset past the end. */
	if (off > OFF_LIMIT)
		len = 0;
	else if (len > OFF_LIMIT - off)
		len = (size_t)(OFF_LIMIT - off);
	if (len && (r = buf_grow(out, len)) == 0) {
		ssize_t got = pread_all(e->fd, out->data, len, (off_t)off);
		if (got < 0)
			r = (int)got;
		else
			out->len = (size_t)got;
	}
	fd_release(fb, e);
	return r;
}

static int tmp_name(const char *key, char *out, size_t max)
{
	uint8_t raw[8];
	char hex[2 * sizeof(raw) + 1];
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -EIO;
	hex_encode(hex, raw, sizeof(raw));
	size_t n = strlen(key);
	if (n + strlen(TMP_MARK) + strlen(hex) >= max)
		return -ENAMETOOLONG;
	memcpy(out, key, n);
	strcpy(out + n, TMP_MARK);
	strcat(out, hex);
	return 0;
}

static int tmp_create(struct file_backend *fb, const char *key, const char *tmp)
{
	int fd = openat(fb->rootfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			FILE_MODE);
	const char *slash = strrchr(key, '/');
	if (fd >= 0 || errno != ENOENT || !slash)
		return fd < 0 ? -errno : fd;
	/* A directory we knew of was removed behind our back. */
	int r = mkdirs(fb, key, (size_t)(slash - key));
	if (r < 0)
		return r;
	fd = openat(fb->rootfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    FILE_MODE);
	return fd < 0 ? -errno : fd;
}

static int file_put(struct backend *b, const char *key, const void *p, size_t n)
{
	struct file_backend *fb = fb_of(b);
	char tmp[KEY_MAX + 32];
	int r = key_check(key);
	if (r == 0)
		r = parent_ensure(fb, key);
	if (r == 0)
		r = tmp_name(key, tmp, sizeof(tmp));
	if (r < 0)
		return r;
	int fd = tmp_create(fb, key, tmp);
	if (fd < 0)
		return fd;
	r = write_all(fd, p, n);
	if (r == 0)
		r = fd_sync(fd);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(fb->rootfd, tmp, fb->rootfd, key) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(fb->rootfd, tmp, 0);
		return r;
	}
	fd_forget(fb, key);
	return parent_sync(fb, key);
}

static int file_stat(struct backend *b, const char *key, uint64_t *size)
{
	struct stat st;
	int r = key_check(key);
	if (r < 0)
		return r;
	if (fstatat(fb_of(b)->rootfd, key, &st, 0) < 0)
		return not_found(-errno);
	if (!S_ISREG(st.st_mode))
		return -ENOENT;
	*size = (uint64_t)st.st_size;
	return 0;
}

static int file_del(struct backend *b, const char *key)
{
	struct file_backend *fb = fb_of(b);
	int r = key_check(key);
	if (r < 0)
		return r;
	if (unlinkat(fb->rootfd, key, 0) < 0)
		return not_found(-errno);
	fd_forget(fb, key);
	return parent_sync(fb, key);
}

/* ---- list ---- */

struct walk {
	const char *prefix;
	size_t prefix_len;
	backend_list_fn fn;
	void *ctx;
	char key[KEY_MAX + 1]; /* the path being visited */
};

static int walk_dir(struct walk *w, int fd, size_t klen, int depth);

/* One directory entry; the directory's own key is w->key[0..klen). */
static int walk_entry(struct walk *w, int dfd, const char *name, size_t klen,
		      int depth)
{
	struct stat st;
	size_t n = strlen(name), sep = klen ? 1 : 0, len = klen + sep + n;
	/* temp files of puts in flight, and names no key could have */
	if (!component_ok(name, n) || strstr(name, TMP_MARK) || len > KEY_MAX)
		return 0;
	w->key[klen] = '/';
	memcpy(w->key + klen + sep, name, n + 1);
	size_t cmp = len < w->prefix_len ? len : w->prefix_len;
	if (memcmp(w->key, w->prefix, cmp))
		return 0;
	if (fstatat(dfd, name, &st, 0) < 0)
		return errno == ENOENT ? 0 : -errno; /* deleted meanwhile */
	if (S_ISDIR(st.st_mode)) {
		/* only if keys below it ("<key>/...") can match the prefix */
		if (depth >= LIST_DEPTH_MAX ||
		    (len < w->prefix_len && w->prefix[len] != '/'))
			return 0;
		int cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cfd < 0)
			return errno == ENOENT ? 0 : -errno;
		return walk_dir(w, cfd, len, depth + 1);
	}
	if (!S_ISREG(st.st_mode) || len < w->prefix_len)
		return 0;
	return w->fn(w->ctx, w->key, (uint64_t)st.st_size);
}

/* Visits the directory open as fd (which it takes over). */
static int walk_dir(struct walk *w, int fd, size_t klen, int depth)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		int r = -errno;
		close(fd);
		return r;
	}
	int r = 0;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			r = -errno;
			break;
		}
		if ((r = walk_entry(w, dirfd(d), de->d_name, klen, depth)) != 0)
			break;
	}
	closedir(d);
	return r;
}

static int file_list(struct backend *b, const char *prefix, backend_list_fn fn,
		     void *ctx)
{
	struct walk w = { prefix, strlen(prefix), fn, ctx, "" };
	size_t dlen;
	int r = prefix_check(prefix, &dlen);
	if (r < 0)
		return r;
	/* Only the subtree that can hold the prefix: "data/" walks data/. */
	memcpy(w.key, prefix, dlen);
	w.key[dlen] = 0;
	int fd = openat(fb_of(b)->rootfd, dlen ? w.key : ".",
			O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	return walk_dir(&w, fd, dlen, 0);
}

/* ---- lifetime ---- */

static void file_free(struct backend *b)
{
	struct file_backend *fb = fb_of(b);
	for (int i = 0; i < FD_SLOTS; i++)
		if (fb->fds[i])
			fd_ent_free(fb->fds[i]);
	for (int i = 0; i < DIR_BUCKETS; i++) {
		while (fb->dirs[i]) {
			struct dir_node *d = fb->dirs[i];
			fb->dirs[i] = d->next;
			free(d);
		}
	}
	if (fb->rootfd >= 0)
		close(fb->rootfd);
	pthread_mutex_destroy(&fb->mu);
	free(fb->root);
	free(fb->b.url);
	free(fb);
}

static const struct backend_ops file_ops = {
	.name = "file",
	.get = file_get,
	.get_range = file_get_range,
	.put = file_put,
	.stat = file_stat,
	.del = file_del,
	.list = file_list,
	.free = file_free,
};

/* Appends path's components to b as "/name", dropping empty and "."
 * components.  ".." is kept: resolving it by text is wrong across symlinks. */
static int add_components(struct buf *b, const char *path)
{
	while (*path) {
		size_t n = strcspn(path, "/");
		bool skip = n == 0 || (n == 1 && path[0] == '.');
		int r = skip ? 0 : buf_put_u8(b, '/');
		if (r == 0 && !skip)
			r = buf_append(b, path, n);
		if (r < 0)
			return r;
		path += n + (path[n] == '/');
	}
	return 0;
}

/* dir as a tidy absolute path (relative ones are taken from the cwd), so
 * that the URL in messages names it unambiguously. */
static int root_path(const char *dir, char **out)
{
	struct buf b = BUF_INIT;
	int r = 0;
	if (dir[0] != '/') {
		char *cwd = getcwd(NULL, 0);
		r = cwd ? add_components(&b, cwd) : -errno;
		free(cwd);
	}
	if (r == 0)
		r = add_components(&b, dir);
	if (r == 0 && b.len == 0)
		r = buf_put_u8(&b, '/');
	if (r == 0 && !(*out = buf_detach(&b, NULL)))
		r = -ENOMEM;
	buf_release(&b);
	return r;
}

static int root_open(struct file_backend *fb, const char *dir, int create)
{
	int r = root_path(dir, &fb->root);
	if (r < 0)
		return r;
	if (create && (r = mkdir_p(fb->root, DIR_MODE)) < 0)
		return r;
	fb->rootfd = open(fb->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fb->rootfd < 0)
		return -errno;
	struct buf url = BUF_INIT;
	r = buf_printf(&url, "file://%s", fb->root);
	if (r == 0 && !(fb->b.url = buf_detach(&url, NULL)))
		r = -ENOMEM;
	buf_release(&url);
	return r;
}

struct backend *backend_file_new(const char *dir, int create, int *err)
{
	if (!dir || !dir[0]) {
		*err = -EINVAL;
		return NULL;
	}
	struct file_backend *fb = calloc(1, sizeof(*fb));
	if (!fb) {
		*err = -ENOMEM;
		return NULL;
	}
	fb->b.ops = &file_ops;
	fb->rootfd = -1;
	pthread_mutex_init(&fb->mu, NULL);
	int r = root_open(fb, dir, create);
	if (r < 0) {
		file_free(&fb->b);
		*err = r;
		return NULL;
	}
	return &fb->b;
}
