/* The read-cache layer (include/store/backend.h).
 *
 * Each cached range is one file, "<dir>/<key with '/' as '+'>@<off>@<len>":
 *
 *   "cairnCC1"  8 bytes magic
 *   len         u64 LE, the payload's length
 *   sha256      32 bytes, of the payload
 *   payload     len bytes
 *
 * Entries are written to a temp file and renamed, without fsync: a torn
 * entry after a power cut fails its hash and is dropped, which costs one
 * more read from the destination, never a wrong byte.
 *
 * In memory: a map from the SHA-256 of an entry's name to the entry, and
 * an LRU list (most recently used first) for eviction.  At start the
 * directory is scanned and ordered by mtime, which hits refresh, so the
 * order survives a restart.  A put or del through the layer bumps a
 * generation counter under the lock; a range read from inner is kept only
 * if no put or del happened meanwhile, so a stale range can never be kept
 * after the object was replaced.
 */
#include "store/backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/idmap.h"
#include "lib/log.h"
#include "store/crypto.h"

#define ENTRY_MAGIC "cairnCC1"
#define ENTRY_HDR (8 + 8 + 32)
#define NAME_MAX_LEN 240

struct centry {
	uint64_t size;                 /* of the file, header included */
	struct timespec mtime;         /* only while scanning */
	struct centry *prev, *next;    /* LRU, most recent first */
	char name[];
};

struct cache_backend {
	struct backend b;
	char *dir;
	int dir_fd, lock_fd;
	uint64_t max_bytes;

	pthread_mutex_t mu;
	struct idmap *map;             /* sha256(name) -> struct centry * */
	struct centry *head, *tail;
	uint64_t bytes, gen;
	struct backend_cache_stats st;
};

static struct cache_backend *cache_of(struct backend *b)
{
	return (struct cache_backend *)b;
}

/* ---- entry format ---- */

int backend_cache_parse_entry(const uint8_t *p, size_t n, const uint8_t **data,
			      size_t *len)
{
	if (n < ENTRY_HDR || memcmp(p, ENTRY_MAGIC, 8) != 0)
		return -EBADMSG;
	uint64_t l = get_u64le(p + 8);
	if (l != n - ENTRY_HDR)
		return -EBADMSG;
	struct oid h;
	crypto_sha256(&h, p + ENTRY_HDR, (size_t)l);
	if (memcmp(h.b, p + 16, 32) != 0)
		return -EBADMSG;
	*data = p + ENTRY_HDR;
	*len = (size_t)l;
	return 0;
}

/* "<key, '/' as '+'>@<off>@<len>"; -ENAMETOOLONG if it does not fit. */
static int entry_name(char *out, size_t max, const char *key, uint64_t off,
		      size_t len)
{
	size_t i;
	for (i = 0; key[i] && i + 1 < max; i++)
		out[i] = key[i] == '/' ? '+' : key[i];
	int n = snprintf(out + i, max - i, "@%" PRIu64 "@%zu", off, len);
	return key[i] || n < 0 || (size_t)n >= max - i ? -ENAMETOOLONG : 0;
}

static int entry_name_ok(const char *name)
{
	const char *at = strchr(name, '@');
	uint64_t off, len;
	char tail;
	return at && at != name && strlen(name) < NAME_MAX_LEN &&
	       sscanf(at, "@%" SCNu64 "@%" SCNu64 "%c", &off, &len, &tail) == 2;
}

static void name_id(uint8_t id[32], const char *name)
{
	struct oid h;
	crypto_sha256(&h, name, strlen(name));
	memcpy(id, h.b, 32);
}

/* ---- LRU (lock held) ---- */

static void lru_unlink(struct cache_backend *c, struct centry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct cache_backend *c, struct centry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

static struct centry *lookup(struct cache_backend *c, const char *name)
{
	uint8_t id[32];
	name_id(id, name);
	struct centry **slot = idmap_get(c->map, id);
	return slot ? *slot : NULL;
}

/* Forgets an entry and removes its file. */
static void remove_entry(struct cache_backend *c, struct centry *e)
{
	uint8_t id[32];
	name_id(id, e->name);
	idmap_del(c->map, id);
	lru_unlink(c, e);
	c->bytes -= e->size;
	c->st.entries--;
	unlinkat(c->dir_fd, e->name, 0);
	free(e);
}

static void evict(struct cache_backend *c)
{
	while (c->bytes > c->max_bytes && c->tail) {
		remove_entry(c, c->tail);
		c->st.evicted++;
	}
}

/* Adds an entry of the given file size; the file is already in place. */
static int add_entry(struct cache_backend *c, const char *name, uint64_t size,
		     struct centry **out)
{
	uint8_t id[32];
	int added;
	struct centry *e = malloc(sizeof(*e) + strlen(name) + 1);
	if (!e)
		return -ENOMEM;
	name_id(id, name);
	struct centry **slot = idmap_put(c->map, id, &added);
	if (!slot) {
		free(e);
		return -ENOMEM;
	}
	if (!added) { /* replaced on disk: drop the old accounting */
		struct centry *old = *slot;
		lru_unlink(c, old);
		c->bytes -= old->size;
		c->st.entries--;
		free(old);
	}
	strcpy(e->name, name);
	e->size = size;
	e->prev = e->next = NULL;
	*slot = e;
	lru_push(c, e);
	c->bytes += size;
	c->st.entries++;
	if (out)
		*out = e;
	return 0;
}

/* ---- reads ---- */

/* The cached range into out; -ENOENT on a miss (damaged entries are
 * dropped and count as misses). */
static int read_entry(struct cache_backend *c, const char *name, size_t len,
		      struct buf *out)
{
	pthread_mutex_lock(&c->mu);
	int known = lookup(c, name) != NULL;
	pthread_mutex_unlock(&c->mu);
	if (!known)
		return -ENOENT;

	int fd = openat(c->dir_fd, name, O_RDONLY | O_CLOEXEC);
	int e = fd < 0 ? -errno : 0;
	struct stat st;
	if (!e && fstat(fd, &st) < 0)
		e = -errno;
	if (!e && (uint64_t)st.st_size != (uint64_t)len + ENTRY_HDR)
		e = -EBADMSG;
	if (!e) {
		buf_reset(out);
		e = buf_grow(out, len + ENTRY_HDR);
	}
	if (!e) {
		ssize_t n = pread_all(fd, out->data, len + ENTRY_HDR, 0);
		e = n < 0 ? (int)n : (size_t)n != len + ENTRY_HDR ? -EBADMSG : 0;
	}
	const uint8_t *data;
	size_t dlen;
	if (!e)
		e = backend_cache_parse_entry(out->data, len + ENTRY_HDR, &data, &dlen);
	if (!e) {
		memmove(out->data, data, dlen);
		out->len = dlen;
		futimens(fd, NULL); /* recency for the next start's order */
	}
	if (fd >= 0)
		close(fd);

	pthread_mutex_lock(&c->mu);
	struct centry *ent = lookup(c, name);
	if (!e && ent) {
		lru_unlink(c, ent);
		lru_push(c, ent);
		c->st.hits++;
	} else if (e) {
		if (ent)
			remove_entry(c, ent);
		else if (e != -ENOENT)
			unlinkat(c->dir_fd, name, 0);
		if (e != -ENOENT) {
			c->st.damaged++;
			log_warn("read cache %s/%s: %s; reading the destination",
				 c->dir, name, e == -EBADMSG ? "damaged" : errstr(e));
		}
		e = -ENOENT;
	}
	pthread_mutex_unlock(&c->mu);
	if (e)
		buf_reset(out);
	return e;
}

/* Writes a new entry for a range read from inner at generation gen. */
static void store_entry(struct cache_backend *c, const char *name, uint64_t gen,
			const struct buf *data)
{
	uint64_t size = data->len + ENTRY_HDR;
	if (size > c->max_bytes)
		return;
	uint8_t hdr[ENTRY_HDR];
	struct oid h;
	memcpy(hdr, ENTRY_MAGIC, 8);
	put_u64le(hdr + 8, data->len);
	crypto_sha256(&h, data->data, data->len);
	memcpy(hdr + 16, h.b, 32);

	char tmp[32];
	static unsigned long seq;
	snprintf(tmp, sizeof(tmp), ".tmp-%d-%lu", (int)getpid(),
		 __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
	int fd = openat(c->dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	int e = write_all(fd, hdr, sizeof(hdr));
	if (!e)
		e = write_all(fd, data->data, data->len);
	close(fd);

	pthread_mutex_lock(&c->mu);
	if (!e && gen == c->gen && renameat(c->dir_fd, tmp, c->dir_fd, name) == 0 &&
	    add_entry(c, name, size, NULL) == 0) {
		c->st.stored++;
		evict(c);
	} else {
		unlinkat(c->dir_fd, tmp, 0);
	}
	pthread_mutex_unlock(&c->mu);
}

static bool cacheable(const char *key)
{
	return strncmp(key, "data/", 5) == 0;
}

static int cache_get_range(struct backend *b, const char *key, uint64_t off,
			   size_t len, struct buf *out)
{
	struct cache_backend *c = cache_of(b);
	char name[NAME_MAX_LEN + 40];
	if (!cacheable(key) || len == 0 ||
	    entry_name(name, sizeof(name), key, off, len) < 0)
		return backend_get_range(b->inner, key, off, len, out);
	if (read_entry(c, name, len, out) == 0)
		return 0;

	pthread_mutex_lock(&c->mu);
	uint64_t gen = c->gen;
	c->st.misses++;
	pthread_mutex_unlock(&c->mu);
	int e = backend_get_range(b->inner, key, off, len, out);
	if (!e && out->len == len) /* short reads (past the end) are not kept */
		store_entry(c, name, gen, out);
	return e;
}

/* ---- pass-through and invalidation ---- */

/* Forgets every range of key (lock held). */
static void forget_key(struct cache_backend *c, const char *key)
{
	char prefix[NAME_MAX_LEN + 40];
	if (entry_name(prefix, sizeof(prefix), key, 0, 0) < 0)
		return;
	size_t n = strchr(prefix, '@') - prefix + 1;
	c->gen++;
	for (struct centry *e = c->head, *next; e; e = next) {
		next = e->next;
		if (!strncmp(e->name, prefix, n))
			remove_entry(c, e);
	}
}

static int cache_get(struct backend *b, const char *key, struct buf *out)
{
	return backend_get(b->inner, key, out);
}

static int cache_put(struct backend *b, const char *key, const void *p, size_t n)
{
	struct cache_backend *c = cache_of(b);
	int e = backend_put(b->inner, key, p, n);
	if (cacheable(key)) {
		pthread_mutex_lock(&c->mu);
		forget_key(c, key);
		pthread_mutex_unlock(&c->mu);
	}
	return e;
}

static int cache_del(struct backend *b, const char *key)
{
	struct cache_backend *c = cache_of(b);
	int e = backend_del(b->inner, key);
	if (cacheable(key)) {
		pthread_mutex_lock(&c->mu);
		forget_key(c, key);
		pthread_mutex_unlock(&c->mu);
	}
	return e;
}

static int cache_stat(struct backend *b, const char *key, uint64_t *size)
{
	return backend_stat(b->inner, key, size);
}

static int cache_list(struct backend *b, const char *prefix, backend_list_fn fn,
		      void *ctx)
{
	return backend_list(b->inner, prefix, fn, ctx);
}

static void cache_free(struct backend *b)
{
	struct cache_backend *c = cache_of(b);
	backend_free(b->inner);
	if (c->map) {
		while (c->tail) {
			struct centry *e = c->tail;
			lru_unlink(c, e);
			free(e);
		}
		idmap_free(c->map);
	}
	if (c->dir_fd >= 0)
		close(c->dir_fd);
	if (c->lock_fd >= 0)
		close(c->lock_fd); /* releases the flock */
	pthread_mutex_destroy(&c->mu);
	free(c->dir);
	free(b->url);
	free(c);
}

static const struct backend_ops cache_ops = {
	.name = "cache",
	.get = cache_get,
	.get_range = cache_get_range,
	.put = cache_put,
	.stat = cache_stat,
	.del = cache_del,
	.list = cache_list,
	.free = cache_free,
};

/* ---- start-up ---- */

static int by_mtime(const void *a, const void *b)
{
	const struct centry *x = *(struct centry *const *)a;
	const struct centry *y = *(struct centry *const *)b;
	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return 0;
}

/* Loads the entries already on disk, oldest used first into the LRU, and
 * removes temp files and anything that is not an entry. */
static int scan(struct cache_backend *c)
{
	int fd = dup(c->dir_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	struct centry **v = NULL;
	size_t n = 0, cap = 0;
	int e = 0;
	struct dirent *de;
	while (!e && (de = readdir(d))) {
		struct stat st;
		const char *name = de->d_name;
		if (!strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, "lock"))
			continue;
		if (!entry_name_ok(name) ||
		    fstatat(c->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || st.st_size < ENTRY_HDR) {
			unlinkat(c->dir_fd, name, 0);
			continue;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct centry **nv = realloc(v, ncap * sizeof(*v));
			if (!nv) {
				e = -ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		struct centry *ent = malloc(sizeof(*ent) + strlen(name) + 1);
		if (!ent) {
			e = -ENOMEM;
			break;
		}
		strcpy(ent->name, name);
		ent->size = (uint64_t)st.st_size;
		ent->mtime = st.st_mtim;
		v[n++] = ent;
	}
	closedir(d);
	if (n) /* v is NULL for an empty directory */
		qsort(v, n, sizeof(*v), by_mtime);
	for (size_t i = 0; i < n; i++) {
		if (!e)
			e = add_entry(c, v[i]->name, v[i]->size, NULL);
		free(v[i]);
	}
	free(v);
	if (!e)
		evict(c); /* the cap may have shrunk since the last run */
	return e;
}

struct backend *backend_cache_new(struct backend *inner, const char *dir,
				  uint64_t max_bytes, int *err)
{
	struct cache_backend *c = calloc(1, sizeof(*c));
	if (!inner || !c) {
		free(c);
		*err = inner ? -ENOMEM : -EINVAL;
		return NULL;
	}
	c->b.ops = &cache_ops;
	c->dir_fd = c->lock_fd = -1;
	c->max_bytes = max_bytes;
	pthread_mutex_init(&c->mu, NULL);
	int e = 0;
	if (!(c->dir = strdup(dir)) || !(c->b.url = strdup(inner->url ? inner->url : "")) ||
	    !(c->map = idmap_new(sizeof(struct centry *))))
		e = -ENOMEM;
	if (!e)
		e = mkdir_p(dir, 0700);
	if (!e && (c->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		e = -errno;
	if (!e && (c->lock_fd = openat(c->dir_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC,
				       0600)) < 0)
		e = -errno;
	if (!e && flock(c->lock_fd, LOCK_EX | LOCK_NB) < 0)
		e = errno == EWOULDBLOCK ? -EBUSY : -errno;
	if (!e)
		e = scan(c);
	if (e) {
		cache_free(&c->b); /* b.inner is still NULL: inner survives */
		*err = e;
		return NULL;
	}
	c->b.inner = inner;
	return &c->b;
}

void backend_cache_stats(struct backend *b, struct backend_cache_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!b || b->ops != &cache_ops)
		return;
	struct cache_backend *c = cache_of(b);
	pthread_mutex_lock(&c->mu);
	*st = c->st;
	st->bytes = c->bytes;
	pthread_mutex_unlock(&c->mu);
}

bool backend_is_local(const struct backend *b)
{
	while (b && b->inner)
		b = b->inner;
	return b && !strcmp(b->ops->name, "file");
}
