/* Decoded-blob cache (include/store/blobcache.h).
 *
 * Each blob has one entry: LOADING while one thread fetches it (others
 * wait on the condition variable), READY with its bytes, or gone.  Ready
 * entries nobody holds sit on an LRU list and are evicted, oldest first,
 * when the unheld bytes pass the cap. */
#include "store/blobcache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/idmap.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/queue.h"

enum { LOADING, READY };

struct blob_ref {
	struct oid id;
	int state;
	int refs;
	struct buf data;
	struct blob_ref *prev, *next; /* LRU (unheld, ready), most recent first */
};

struct blobcache {
	struct repo *r;
	pthread_mutex_t mu;
	pthread_cond_t loaded;
	struct idmap *map;             /* id -> struct blob_ref * */
	struct blob_ref *lru_head, *lru_tail;
	size_t unheld_bytes, max_bytes;
	struct blobcache_stats st;

	struct pool codecs;            /* a codec serves one thread at a time */

	struct queue prefetch;
	pthread_t *threads;
	int nthreads;
};

static void lru_unlink(struct blobcache *bc, struct blob_ref *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else if (bc->lru_head == b)
		bc->lru_head = b->next;
	if (b->next)
		b->next->prev = b->prev;
	else if (bc->lru_tail == b)
		bc->lru_tail = b->prev;
	b->prev = b->next = NULL;
}

static void lru_push(struct blobcache *bc, struct blob_ref *b)
{
	b->prev = NULL;
	b->next = bc->lru_head;
	if (bc->lru_head)
		bc->lru_head->prev = b;
	bc->lru_head = b;
	if (!bc->lru_tail)
		bc->lru_tail = b;
}

static void drop(struct blobcache *bc, struct blob_ref *b)
{
	idmap_del(bc->map, b->id.b);
	buf_release(&b->data);
	free(b);
}

static void evict(struct blobcache *bc)
{
	while (bc->unheld_bytes > bc->max_bytes && bc->lru_tail) {
		struct blob_ref *b = bc->lru_tail;
		lru_unlink(bc, b);
		bc->unheld_bytes -= b->data.len;
		drop(bc, b);
	}
}

static void *make_codec(void *ctx)
{
	struct blobcache *bc = ctx;
	return codec_new(&bc->r->keys, COMP_NONE, 0);
}

static void free_codec(void *c)
{
	codec_free(c);
}

/* Fetches and decodes a blob into b->data (no lock held). */
static int fetch(struct blobcache *bc, struct blob_ref *b)
{
	struct blob_loc loc;
	struct buf scratch = BUF_INIT;
	struct codec *c = pool_take(&bc->codecs);
	int e = c ? catalog_blob_find(bc->r->cat, &b->id, &loc) : -ENOMEM;
	if (!e && loc.type != OBJ_DATA)
		e = -EBADMSG;
	if (!e)
		e = repo_read_blob_at(bc->r, c, &b->id, &loc, &scratch, &b->data);
	if (e < 0 && e != -ENOMEM) {
		char id[OID_HEX_LEN + 1], pack[OID_HEX_LEN + 1] = "?";
		oid_hex(id, &b->id);
		if (e != -ENOENT)
			oid_hex(pack, &loc.pack);
		log_error("blob %s in pack %s: %s", id, pack,
			  e == -ENOENT ? "not in the repository's index" : errstr(e));
	}
	buf_release(&scratch);
	pool_give(&bc->codecs, c);
	return e;
}

int blobcache_get(struct blobcache *bc, const struct oid *id, struct blob_ref **out)
{
	pthread_mutex_lock(&bc->mu);
	for (;;) {
		struct blob_ref **slot = idmap_get(bc->map, id->b);
		if (!slot)
			break;
		struct blob_ref *b = *slot;
		if (b->state == LOADING) {
			/* someone is fetching it: wait, then look again (it may
			 * have failed and gone) */
			pthread_cond_wait(&bc->loaded, &bc->mu);
			continue;
		}
		if (!b->refs++) {
			lru_unlink(bc, b);
			bc->unheld_bytes -= b->data.len;
		}
		bc->st.hits++;
		pthread_mutex_unlock(&bc->mu);
		*out = b;
		return 0;
	}
	struct blob_ref *b = calloc(1, sizeof(*b));
	struct blob_ref **slot = b ? idmap_put(bc->map, id->b, NULL) : NULL;
	if (!slot) {
		pthread_mutex_unlock(&bc->mu);
		free(b);
		return -ENOMEM;
	}
	b->id = *id;
	b->state = LOADING;
	b->refs = 1;
	*slot = b;
	bc->st.misses++;
	pthread_mutex_unlock(&bc->mu);

	int e = fetch(bc, b);

	pthread_mutex_lock(&bc->mu);
	if (e < 0) {
		bc->st.fetch_errors++;
		drop(bc, b); /* not cached: the next reader tries again */
		b = NULL;
	} else {
		b->state = READY;
		bc->st.bytes += b->data.len;
	}
	pthread_cond_broadcast(&bc->loaded);
	pthread_mutex_unlock(&bc->mu);
	*out = b;
	return e;
}

void blobcache_put(struct blobcache *bc, struct blob_ref *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&bc->mu);
	if (--b->refs == 0) {
		lru_push(bc, b);
		bc->unheld_bytes += b->data.len;
		evict(bc);
	}
	pthread_mutex_unlock(&bc->mu);
}

const uint8_t *blob_ref_data(const struct blob_ref *b) { return b->data.data; }
size_t blob_ref_len(const struct blob_ref *b) { return b->data.len; }

void blobcache_prefetch(struct blobcache *bc, const struct oid *id)
{
	if (!bc->nthreads)
		return;
	pthread_mutex_lock(&bc->mu);
	int known = idmap_get(bc->map, id->b) != NULL;
	pthread_mutex_unlock(&bc->mu);
	if (known)
		return;
	struct oid *copy = malloc(sizeof(*copy));
	if (!copy)
		return;
	*copy = *id;
	if (queue_trypush(&bc->prefetch, copy) < 0)
		free(copy);
}

static void *prefetch_main(void *arg)
{
	struct blobcache *bc = arg;
	struct oid *id;
	while ((id = queue_pop(&bc->prefetch))) {
		struct blob_ref *b;
		if (blobcache_get(bc, id, &b) == 0)
			blobcache_put(bc, b);
		free(id);
	}
	return NULL;
}

void blobcache_stats(struct blobcache *bc, struct blobcache_stats *st)
{
	pthread_mutex_lock(&bc->mu);
	*st = bc->st;
	pthread_mutex_unlock(&bc->mu);
}

struct blobcache *blobcache_new(struct repo *r, size_t max_bytes, int prefetchers,
				int *err)
{
	struct blobcache *bc = calloc(1, sizeof(*bc));
	if (!bc) {
		*err = -ENOMEM;
		return NULL;
	}
	bc->r = r;
	bc->max_bytes = max_bytes;
	pthread_mutex_init(&bc->mu, NULL);
	pool_init(&bc->codecs, make_codec, free_codec, bc);
	pthread_cond_init(&bc->loaded, NULL);
	bc->map = idmap_new(sizeof(struct blob_ref *));
	bc->threads = calloc((size_t)(prefetchers > 0 ? prefetchers : 1), sizeof(pthread_t));
	*err = bc->map && bc->threads ? queue_init(&bc->prefetch, 64) : -ENOMEM;
	if (*err < 0) {
		blobcache_free(bc);
		return NULL;
	}
	for (int i = 0; i < prefetchers; i++) {
		if (pthread_create(&bc->threads[i], NULL, prefetch_main, bc) != 0)
			break;
		bc->nthreads++;
	}
	return bc;
}

void blobcache_free(struct blobcache *bc)
{
	if (!bc)
		return;
	if (bc->prefetch.items) {
		queue_close(&bc->prefetch);
		for (int i = 0; i < bc->nthreads; i++)
			pthread_join(bc->threads[i], NULL);
		struct oid *id;
		while ((id = queue_trypop(&bc->prefetch)))
			free(id);
		queue_release(&bc->prefetch);
	}
	while (bc->lru_tail) {
		struct blob_ref *b = bc->lru_tail;
		lru_unlink(bc, b);
		drop(bc, b);
	}
	idmap_free(bc->map);
	pool_release(&bc->codecs);
	free(bc->threads);
	pthread_mutex_destroy(&bc->mu);
	pthread_cond_destroy(&bc->loaded);
	free(bc);
}
