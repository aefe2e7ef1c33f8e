/* Open files and directory listings by inode (fs/fs_int.h).
 *
 * The kernel is told it need not open files and directories
 * (FUSE_CAP_NO_OPEN_SUPPORT, FUSE_CAP_NO_OPENDIR_SUPPORT): that saves two
 * round trips per file a copy or a thumbnailer touches, and per directory
 * a listing walks.  Reads and readdirs then come with nothing but an
 * inode, so the chunk map or listing they need is kept here, shared, for
 * the next request.  Snapshot content never changes, so a kept handle
 * never goes stale; the root's listing is never kept (it moves, and the
 * view answers it from memory).
 *
 * A hash table over (inode, kind) with chaining, an LRU list of handles
 * nobody holds, evicted past a count or byte cap. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fs_int.h"

#define BUCKETS 4096          /* power of two */
#define MAX_ENTRIES 4096
#define MAX_BYTES (24u << 20)

struct handle {
	uint64_t ino;
	int kind;                 /* HANDLE_FILE or HANDLE_DIR */
	int refs;                 /* under the lock */
	int kept;                 /* in the table (set before it is shared) */
	size_t bytes;             /* memory it holds, roughly */
	struct view_file *file;
	struct view_dirent *ents;
	size_t nents;
	struct handle *hnext;               /* bucket chain */
	struct handle *prev, *next;         /* LRU of unheld, most recent first */
};

struct handles {
	struct view *v;
	pthread_mutex_t mu;
	struct handle *bucket[BUCKETS];
	struct handle *head, *tail;
	size_t count, bytes;      /* of unheld handles */
};

static size_t slot_of(uint64_t ino, int kind)
{
	uint64_t x = ino * 2 + (uint64_t)kind; /* splitmix64's finaliser */
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return (size_t)(x ^ (x >> 31)) & (BUCKETS - 1);
}

static void lru_unlink(struct handles *h, struct handle *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		h->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		h->tail = e->prev;
	e->prev = e->next = NULL;
}

static void release(struct handles *h, struct handle *e)
{
	if (e->file)
		view_close(h->v, e->file);
	view_dirents_free(e->ents, e->nents);
	free(e);
}

/* Drops unheld handles, oldest first, past the caps (lock held). */
static void evict(struct handles *h)
{
	while (h->tail && (h->count > MAX_ENTRIES || h->bytes > MAX_BYTES)) {
		struct handle *e = h->tail, **pp = &h->bucket[slot_of(e->ino, e->kind)];
		lru_unlink(h, e);
		h->count--;
		h->bytes -= e->bytes;
		while (*pp != e)
			pp = &(*pp)->hnext;
		*pp = e->hnext;
		release(h, e);
	}
}

/* Loads what a handle holds (no lock held). */
static int load(struct handles *h, struct handle *e)
{
	if (e->kind == HANDLE_FILE) {
		int r = view_open(h->v, e->ino, &e->file);
		if (!r)
			e->bytes = sizeof(*e) + view_file_bytes(e->file);
		return r;
	}
	int r = view_readdir(h->v, e->ino, &e->ents, &e->nents);
	e->bytes = sizeof(*e);
	for (size_t i = 0; !r && i < e->nents; i++)
		e->bytes += sizeof(*e->ents) + strlen(e->ents[i].name) + 1;
	return r;
}

/* The kept handle for (ino, kind), held, or NULL (lock held). */
static struct handle *find_and_hold(struct handles *h, size_t slot, uint64_t ino, int kind)
{
	for (struct handle *e = h->bucket[slot]; e; e = e->hnext) {
		if (e->ino != ino || e->kind != kind)
			continue;
		if (e->refs++ == 0) { /* off the LRU while held */
			lru_unlink(h, e);
			h->count--;
			h->bytes -= e->bytes;
		}
		return e;
	}
	return NULL;
}

/* A new handle, loaded (no lock held). */
static int make(struct handles *h, uint64_t ino, int kind, int kept, struct handle **out)
{
	struct handle *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->ino = ino;
	e->kind = kind;
	e->refs = 1;
	e->kept = kept;
	int r = load(h, e);
	if (r < 0) {
		release(h, e);
		return r;
	}
	*out = e;
	return 0;
}

int handle_get(struct handles *h, uint64_t ino, int kind, struct handle **out)
{
	if (kind == HANDLE_DIR && ino == VIEW_ROOT_INO) /* never kept */
		return make(h, ino, kind, 0, out);
	size_t s = slot_of(ino, kind);
	pthread_mutex_lock(&h->mu);
	struct handle *e = find_and_hold(h, s, ino, kind);
	pthread_mutex_unlock(&h->mu);
	if (e) {
		*out = e;
		return 0;
	}
	/* Load without the lock; if another thread loaded the same inode
	 * meanwhile, keep theirs. */
	int r = make(h, ino, kind, 1, &e);
	if (r < 0)
		return r;
	pthread_mutex_lock(&h->mu);
	struct handle *o = find_and_hold(h, s, ino, kind);
	if (!o) {
		e->hnext = h->bucket[s];
		h->bucket[s] = e;
	}
	pthread_mutex_unlock(&h->mu);
	if (o)
		release(h, e);
	*out = o ? o : e;
	return 0;
}

void handle_put(struct handles *h, struct handle *e)
{
	if (!e)
		return;
	if (!e->kept) { /* the root's listing */
		release(h, e);
		return;
	}
	pthread_mutex_lock(&h->mu);
	if (--e->refs == 0) {
		e->next = h->head;
		e->prev = NULL;
		if (h->head)
			h->head->prev = e;
		h->head = e;
		if (!h->tail)
			h->tail = e;
		h->count++;
		h->bytes += e->bytes;
		evict(h);
	}
	pthread_mutex_unlock(&h->mu);
}

struct view_file *handle_file(const struct handle *e) { return e->file; }

const struct view_dirent *handle_dirents(const struct handle *e, size_t *n)
{
	*n = e->nents;
	return e->ents;
}

struct handles *handles_new(struct view *v)
{
	struct handles *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->v = v;
	pthread_mutex_init(&h->mu, NULL);
	return h;
}

void handles_free(struct handles *h)
{
	if (!h)
		return;
	for (size_t s = 0; s < BUCKETS; s++) {
		for (struct handle *e = h->bucket[s], *next; e; e = next) {
			next = e->hnext;
			release(h, e); /* requests are over: nothing is held */
		}
	}
	pthread_mutex_destroy(&h->mu);
	free(h);
}
