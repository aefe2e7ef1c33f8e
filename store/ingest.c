/* The ingest pipeline (include/store/ingest.h).
 *
 *   source thread: chunk ──work──► workers: id, dedup, seal, pack ──upq──► uploaders
 *        ▲                              │                                  │
 *        └──────────────done────────────┘                 put, catalog, index
 *
 * The source thread owns every tree-building structure; workers never touch
 * them.  A worker only fills in its job (the chunk's id) and hands it back
 * on the done queue, and the source thread applies results when it next
 * looks.  A directory's tree is sealed once all of its files' chunks are
 * back and all of its subdirectories are sealed — post-order, so the root
 * comes last.  The fixed pool of jobs bounds memory: with none free, the
 * source thread waits for results.
 */
#include "store/ingest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fsutil.h"
#include "lib/idmap.h"
#include "lib/log.h"
#include "lib/os.h"
#include "lib/queue.h"
#include "store/chunker.h"
#include "store/index.h"
#include "store/pack.h"

/* Packs (or blobs) stored since the last index object before another is
 * written, so a crash loses little indexing work even for another machine,
 * and the pending list stays small. */
#define INDEX_EVERY_PACKS 64
#define INDEX_EVERY_BLOBS 65536
/* Tree-cache rows are written in batches of about this many bytes. */
#define TREE_BATCH_BYTES (4u << 20)

struct dir_rec;

struct file_rec {
	struct chunk_ref *chunks;
	uint32_t n, cap;
	uint32_t pending;       /* chunks handed to workers, not yet back */
	uint64_t size;
	int closed, aborted;
	int refs;               /* slots pointing here, plus the open file */
	struct dir_rec **waiters; /* directories waiting for this content */
	size_t nwait, capwait;
	uint64_t link_key;
	int linked;             /* in the link map */
};

/* An entry of a directory being built; content from fr when set. */
struct slot {
	struct tree_entry e;
	struct file_rec *fr;
};

struct dir_rec {
	struct tree_entry attrs;
	struct slot *slots;
	size_t n, cap;
	uint32_t pending;       /* files and subdirectories not yet complete */
	int closed;
	struct dir_rec *parent;
	struct dir_rec *lprev, *lnext; /* every live dir_rec, for teardown */
};

struct chunk_job {
	struct file_rec *file;
	uint32_t index;
	uint8_t *data;
	size_t len;
	struct oid id;
	int err;
};

struct packer {
	pthread_mutex_t mu;
	struct pack_builder *pb;
	uint8_t type;
};

struct ingest {
	struct repo *r;
	struct catalog *lookup;     /* read handle shared by workers */
	struct catalog *verify;     /* the source's read handle, one long read
				     * transaction: blobs that existed at the start */
	struct chunker ch;
	struct codec *codec;        /* source thread's */
	size_t max_chunk;

	int nworkers, nuploaders;
	pthread_t *threads;
	int nthreads;
	struct queue work, done, upq;

	struct chunk_job *jobs;
	struct chunk_job **free_jobs;
	size_t njobs, nfree, in_flight;
	struct chunk_job *cur_job;
	struct file_rec *cur_file;
	struct tree_entry cur_attrs;
	struct dir_rec *cur_dir;
	struct dir_rec *live_dirs;
	int root_opened;
	int finished;

	pthread_mutex_t seen_mu;
	struct idmap *seen;

	struct packer data_pk, tree_pk;
	pthread_mutex_t pool_mu;
	pthread_cond_t pool_cv;
	struct pack_builder **pool;     /* free data-pack builders */
	size_t npool, nbuilt, max_built;

	pthread_mutex_t idx_mu;
	struct index_data pending_idx;  /* packs stored, not yet indexed */
	size_t pending_cap, pending_blobs;

	struct idmap *links;            /* link key -> struct file_rec * */

	struct buf tree_batch;          /* id | u32 len | plaintext, repeated */

	atomic_int err;
	struct ingest_progress prog;
	struct oid root;
	int root_done;
};

static void set_err(struct ingest *g, int e)
{
	int zero = 0;
	if (e < 0)
		atomic_compare_exchange_strong(&g->err, &zero, e);
}

const struct ingest_progress *ingest_progress(const struct ingest *g)
{
	return &g->prog;
}

/* ---- packs ---- */

/* Data packs are the bulk of ingest's memory: at most one filling and
 * one per uploader exist; a worker that needs another waits for an upload
 * to finish.  Tree packs are small: each gets a builder of its own that
 * grows as needed and is freed after upload. */
static struct pack_builder *pool_get(struct ingest *g, uint8_t type)
{
	struct pack_builder *pb = NULL;
	int create = type == OBJ_TREE;
	if (!create) {
		pthread_mutex_lock(&g->pool_mu);
		while (!g->npool && g->nbuilt >= g->max_built)
			pthread_cond_wait(&g->pool_cv, &g->pool_mu);
		if (g->npool)
			pb = g->pool[--g->npool];
		else
			create = ++g->nbuilt;
		pthread_mutex_unlock(&g->pool_mu);
	}
	if (create && (pb = malloc(sizeof(*pb)))) {
		pack_builder_init(pb);
		/* Reserve a whole data pack up front: no realloc copies. */
		if (type == OBJ_DATA &&
		    buf_grow(&pb->data, g->r->cfg.pack_size + g->max_chunk + 4096) < 0) {
			free(pb);
			pb = NULL;
		}
	}
	if (!pb && create && type == OBJ_DATA) {
		pthread_mutex_lock(&g->pool_mu);
		g->nbuilt--;
		pthread_cond_signal(&g->pool_cv);
		pthread_mutex_unlock(&g->pool_mu);
	}
	if (pb)
		pb->type = type;
	return pb;
}

static void pool_put(struct ingest *g, struct pack_builder *pb)
{
	if (pb->type == OBJ_TREE) {
		pack_builder_release(pb);
		free(pb);
		return;
	}
	pack_builder_reset(pb);
	pthread_mutex_lock(&g->pool_mu);
	g->pool[g->npool++] = pb;
	pthread_cond_signal(&g->pool_cv);
	pthread_mutex_unlock(&g->pool_mu);
}

/* Adds a sealed box; hands the pack to the uploaders when it is full. */
static int packer_add(struct ingest *g, struct packer *pk, const struct oid *id,
		      uint32_t plain_len, const struct buf *box)
{
	struct pack_builder *full = NULL;
	int e = 0;
	pthread_mutex_lock(&pk->mu);
	if (!pk->pb && !(pk->pb = pool_get(g, pk->type)))
		e = -ENOMEM;
	if (!e)
		e = pack_builder_add(pk->pb, id, pk->type, plain_len, box->data, box->len);
	if (!e && (pk->pb->data.len >= g->r->cfg.pack_size ||
		   pk->pb->n >= PACK_MAX_BLOBS)) {
		full = pk->pb;
		pk->pb = NULL;
	}
	pthread_mutex_unlock(&pk->mu);
	if (full && queue_push(&g->upq, full) < 0)
		pool_put(g, full);
	return e;
}

static void packer_flush(struct ingest *g, struct packer *pk)
{
	pthread_mutex_lock(&pk->mu);
	struct pack_builder *pb = pk->pb;
	pk->pb = NULL;
	pthread_mutex_unlock(&pk->mu);
	if (pb && pb->n && queue_push(&g->upq, pb) == 0)
		return;
	if (pb)
		pool_put(g, pb);
}

/* ---- index ---- */

static int write_index(struct ingest *g, struct codec *c, struct index_data *idx)
{
	struct buf plain = BUF_INIT;
	struct oid name;
	int e = index_encode_plain(idx, &plain);
	if (!e)
		e = repo_put_object(g->r, c, OBJ_INDEX, plain.data, plain.len, &name);
	if (!e)
		e = catalog_add_index(g->r->cat, &name, idx);
	buf_release(&plain);
	return e;
}

/* Queues a stored pack for the next index object (takes ents). */
static int pending_add(struct ingest *g, const struct oid *id, uint64_t size,
		       struct pack_entry *ents, size_t n)
{
	struct index_data *p = &g->pending_idx;
	if (p->npacks == g->pending_cap) {
		size_t cap = g->pending_cap ? 2 * g->pending_cap : 16;
		struct index_pack *np = realloc(p->packs, cap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		p->packs = np;
		g->pending_cap = cap;
	}
	p->packs[p->npacks++] = (struct index_pack){ *id, size, ents, n };
	g->pending_blobs += n;
	return 0;
}

/* Writes an index object for the pending packs if there are enough of them
 * (or any at all, with force). */
static int flush_index(struct ingest *g, struct codec *c, int force)
{
	pthread_mutex_lock(&g->idx_mu);
	int e = 0;
	if ((force && g->pending_idx.npacks) || g->pending_idx.npacks >= INDEX_EVERY_PACKS ||
	    g->pending_blobs >= INDEX_EVERY_BLOBS) {
		e = write_index(g, c, &g->pending_idx);
		index_data_release(&g->pending_idx);
		g->pending_cap = g->pending_blobs = 0;
	}
	pthread_mutex_unlock(&g->idx_mu);
	return e;
}

/* ---- uploader threads ---- */

static int store_pack(struct ingest *g, struct codec *c, struct pack_builder *pb)
{
	struct oid name;
	char key[96], hex[OID_HEX_LEN + 1];
	int e = pack_builder_finish(pb, c);
	if (e < 0)
		return e;
	crypto_sha256(&name, pb->data.data, pb->data.len);
	repo_object_key(key, sizeof(key), OBJ_DATA, &name);
	/* Recorded as an upload first: if we die after the put, the next
	 * writer finds the pack and adopts it. */
	if ((e = catalog_upload_begin(g->r->cat, &name, pb->data.len)) < 0)
		return e;
	if ((e = backend_put(g->r->be, key, pb->data.data, pb->data.len)) < 0) {
		oid_hex(hex, &name);
		log_error("%s: storing pack %s: %s", g->r->url, hex, errstr(e));
		return e;
	}
	/* Durable on the destination: only now may the catalog know its
	 * blobs.  They then leave the in-flight set, under its lock, so a
	 * worker looking a blob up sees it in one place or the other. */
	pthread_mutex_lock(&g->seen_mu);
	e = catalog_add_pack(g->r->cat, &name, pb->data.len, 0, pb->ents, pb->n);
	for (size_t i = 0; !e && i < pb->n; i++)
		idmap_del(g->seen, pb->ents[i].id.b);
	pthread_mutex_unlock(&g->seen_mu);
	if (e < 0)
		return e;
	struct pack_entry *copy = malloc(pb->n * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, pb->ents, pb->n * sizeof(*copy));
	pthread_mutex_lock(&g->idx_mu);
	e = pending_add(g, &name, pb->data.len, copy, pb->n);
	pthread_mutex_unlock(&g->idx_mu);
	if (e < 0) {
		free(copy);
		return e;
	}
	g->prog.packs_written++;
	return flush_index(g, c, 0);
}

static void *uploader_main(void *arg)
{
	struct ingest *g = arg;
	struct codec *c = codec_new(&g->r->keys, g->r->cfg.compression, g->r->cfg.level);
	struct pack_builder *pb;
	if (!c)
		set_err(g, -ENOMEM);
	/* Keep draining after an error so producers never block forever. */
	while ((pb = queue_pop(&g->upq))) {
		if (c && !atomic_load(&g->err))
			set_err(g, store_pack(g, c, pb));
		pool_put(g, pb);
	}
	codec_free(c);
	return NULL;
}

/* ---- worker threads ---- */

/* 1 if the blob must be stored (it is now in flight), 0 if it is known:
 * stored (in the catalog) or in flight (in the seen set, until its pack is
 * stored).  Both are consulted under seen_mu, which the uploader holds while
 * moving a pack's blobs from one to the other. */
static int claim_blob(struct ingest *g, const struct oid *id)
{
	struct blob_loc loc;
	int added = 0;
	pthread_mutex_lock(&g->seen_mu);
	int e = catalog_blob_find(g->lookup, id, &loc);
	if (e == -ENOENT)
		e = idmap_put(g->seen, id->b, &added) ? added : -ENOMEM;
	pthread_mutex_unlock(&g->seen_mu);
	return e;
}

static int seal_blob(struct ingest *g, struct codec *c, struct buf *box,
		     enum obj_type type, const struct oid *id, const void *p, size_t n)
{
	int e = claim_blob(g, id);
	if (e <= 0)
		return e;
	buf_reset(box);
	if ((e = codec_seal(c, type, id, p, n, box)) < 0)
		return e;
	e = packer_add(g, type == OBJ_TREE ? &g->tree_pk : &g->data_pk, id,
		       (uint32_t)n, box);
	if (!e) {
		g->prog.bytes_added += n;
		g->prog.bytes_stored += box->len;
		g->prog.blobs_added++;
	}
	return e;
}

static void *worker_main(void *arg)
{
	struct ingest *g = arg;
	struct codec *c = codec_new(&g->r->keys, g->r->cfg.compression, g->r->cfg.level);
	struct buf box = BUF_INIT;
	struct chunk_job *job;
	while ((job = queue_pop(&g->work))) {
		job->err = c ? 0 : -ENOMEM;
		if (c && !atomic_load(&g->err)) {
			codec_blob_id(c, &job->id, job->data, job->len);
			job->err = seal_blob(g, c, &box, OBJ_DATA, &job->id, job->data, job->len);
		}
		queue_push(&g->done, job);
	}
	buf_release(&box);
	codec_free(c);
	return NULL;
}

/* ---- building trees (source thread only) ---- */

static int push_slot(struct dir_rec *d, struct slot **out)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 16;
		struct slot *s = realloc(d->slots, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		d->slots = s;
		d->cap = cap;
	}
	*out = &d->slots[d->n++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

static void file_unref(struct file_rec *fr)
{
	if (--fr->refs > 0)
		return;
	free(fr->chunks);
	free(fr->waiters);
	free(fr);
}

static void dir_free(struct ingest *g, struct dir_rec *d)
{
	if (d->lprev)
		d->lprev->lnext = d->lnext;
	else
		g->live_dirs = d->lnext;
	if (d->lnext)
		d->lnext->lprev = d->lprev;
	for (size_t i = 0; i < d->n; i++) {
		tree_entry_release(&d->slots[i].e);
		if (d->slots[i].fr)
			file_unref(d->slots[i].fr);
	}
	free(d->slots);
	tree_entry_release(&d->attrs);
	free(d);
}

static int flush_tree_batch(struct ingest *g)
{
	if (!g->tree_batch.len)
		return 0;
	int e = catalog_begin(g->lookup);
	for (size_t off = 0; !e && off < g->tree_batch.len;) {
		struct oid id;
		memcpy(id.b, g->tree_batch.data + off, OID_LEN);
		uint32_t len = get_u32le(g->tree_batch.data + off + OID_LEN);
		off += OID_LEN + 4;
		e = catalog_tree_put(g->lookup, &id, g->tree_batch.data + off, len);
		off += len;
	}
	if (e < 0) {
		catalog_rollback(g->lookup);
	} else {
		e = catalog_commit(g->lookup);
	}
	buf_reset(&g->tree_batch);
	return e;
}

/* Stores a tree blob and remembers its plaintext for the tree cache. */
static int store_tree(struct ingest *g, const struct buf *plain, struct oid *id)
{
	struct buf box = BUF_INIT;
	codec_blob_id(g->codec, id, plain->data, plain->len);
	int e = seal_blob(g, g->codec, &box, OBJ_TREE, id, plain->data, plain->len);
	buf_release(&box);
	if (e < 0)
		return e;
	if ((e = buf_append(&g->tree_batch, id->b, OID_LEN)) < 0 ||
	    (e = buf_put_u32le(&g->tree_batch, (uint32_t)plain->len)) < 0 ||
	    (e = buf_append(&g->tree_batch, plain->data, plain->len)) < 0)
		return e;
	return g->tree_batch.len >= TREE_BATCH_BYTES ? flush_tree_batch(g) : 0;
}

/* Seals a complete directory into a tree; returns its parent if that is
 * now complete too. */
static struct dir_rec *dir_seal(struct ingest *g, struct dir_rec *d)
{
	struct tree_entry *ents = malloc((d->n ? d->n : 1) * sizeof(*ents));
	struct buf plain = BUF_INIT;
	struct oid id;
	int e = ents ? 0 : -ENOMEM;
	for (size_t i = 0; !e && i < d->n; i++) {
		struct slot *s = &d->slots[i];
		ents[i] = s->e;
		if (s->fr) {
			ents[i].chunks = s->fr->chunks;
			ents[i].nchunks = s->fr->n;
			ents[i].size = s->fr->size;
		}
	}
	if (!e) {
		tree_sort(ents, d->n);
		e = tree_encode(ents, d->n, &plain);
		if (e == -EINVAL)
			log_error("directory %s: duplicate or invalid names", d->attrs.name);
	}
	if (!e)
		e = store_tree(g, &plain, &id);
	free(ents);
	buf_release(&plain);
	set_err(g, e);

	struct dir_rec *parent = d->parent;
	if (!parent) {
		g->root = id;
		g->root_done = !e;
		dir_free(g, d);
		return NULL;
	}
	struct slot *s;
	if (e < 0 || push_slot(parent, &s) < 0) {
		set_err(g, -ENOMEM);
	} else {
		s->e = d->attrs;
		s->e.subtree = id;
		memset(&d->attrs, 0, sizeof(d->attrs)); /* moved into the slot */
	}
	dir_free(g, d);
	parent->pending--;
	return parent->closed && !parent->pending ? parent : NULL;
}

static void dir_try_seal(struct ingest *g, struct dir_rec *d)
{
	while (d && d->closed && !d->pending)
		d = dir_seal(g, d);
}

static void file_complete(struct ingest *g, struct file_rec *fr)
{
	for (size_t i = 0; i < fr->nwait; i++) {
		struct dir_rec *d = fr->waiters[i];
		d->pending--;
		dir_try_seal(g, d);
	}
	fr->nwait = 0;
}

static void apply(struct ingest *g, struct chunk_job *job)
{
	struct file_rec *fr = job->file;
	if (job->err)
		set_err(g, job->err);
	else
		fr->chunks[job->index].id = job->id;
	g->free_jobs[g->nfree++] = job;
	g->in_flight--;
	if (--fr->pending == 0 && fr->closed)
		file_complete(g, fr);
	file_unref(fr); /* the job's reference */
}

static void drain(struct ingest *g, int block)
{
	struct chunk_job *job;
	if (block && g->in_flight)
		apply(g, queue_pop(&g->done));
	while ((job = queue_trypop(&g->done)))
		apply(g, job);
}

static struct chunk_job *get_job(struct ingest *g)
{
	while (!g->nfree)
		drain(g, 1);
	struct chunk_job *job = g->free_jobs[--g->nfree];
	if (!job->data && !(job->data = malloc(g->max_chunk))) {
		g->free_jobs[g->nfree++] = job;
		return NULL;
	}
	job->len = 0;
	return job;
}

static int add_chunk_slot(struct file_rec *fr, uint32_t len)
{
	if (fr->n == fr->cap) {
		uint32_t cap = fr->cap ? 2 * fr->cap : 4;
		struct chunk_ref *c = realloc(fr->chunks, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		fr->chunks = c;
		fr->cap = cap;
	}
	memset(&fr->chunks[fr->n].id, 0, OID_LEN);
	fr->chunks[fr->n++].len = len;
	return 0;
}

/* Hands the current job (a complete chunk) to the workers. */
static int emit_chunk(struct ingest *g)
{
	struct chunk_job *job = g->cur_job;
	struct file_rec *fr = g->cur_file;
	int e = add_chunk_slot(fr, (uint32_t)job->len);
	if (e < 0)
		return e;
	job->file = fr;
	job->index = fr->n - 1;
	fr->pending++;
	fr->refs++;
	fr->size += job->len;
	g->cur_job = NULL;
	g->in_flight++;
	if (queue_push(&g->work, job) < 0) {
		g->in_flight--;
		return -EPIPE;
	}
	return 0;
}

/* ---- the public calls ---- */

static int check_ok(struct ingest *g)
{
	int e = atomic_load(&g->err);
	if (e)
		return e;
	return g->finished ? -EINVAL : 0;
}

int ingest_dir_begin(struct ingest *g, const struct tree_entry *attrs)
{
	int e = check_ok(g);
	if (e < 0)
		return e;
	struct dir_rec *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	if ((e = tree_entry_copy(&d->attrs, attrs)) < 0) {
		free(d);
		return e;
	}
	d->attrs.kind = NODE_DIR;
	d->parent = g->cur_dir;
	if (d->parent) {
		d->parent->pending++;
	} else if (g->root_opened) {
		tree_entry_release(&d->attrs);
		free(d);
		return -EINVAL; /* a second root */
	}
	g->root_opened = 1;
	g->cur_dir = d;
	d->lnext = g->live_dirs;
	if (d->lnext)
		d->lnext->lprev = d;
	g->live_dirs = d;
	g->prog.dirs++;
	return 0;
}

int ingest_dir_end(struct ingest *g)
{
	int e = check_ok(g);
	if (e < 0)
		return e;
	struct dir_rec *d = g->cur_dir;
	if (!d || g->cur_file)
		return -EINVAL;
	g->cur_dir = d->parent;
	drain(g, 0); /* before closing: a drain may seal a closed d and free it */
	d->closed = 1;
	dir_try_seal(g, d);
	return atomic_load(&g->err);
}

int ingest_file_begin(struct ingest *g, const struct tree_entry *attrs)
{
	int e = check_ok(g);
	if (e < 0)
		return e;
	if (!g->cur_dir || g->cur_file)
		return -EINVAL;
	struct file_rec *fr = calloc(1, sizeof(*fr));
	if (!fr)
		return -ENOMEM;
	if ((e = tree_entry_copy(&g->cur_attrs, attrs)) < 0) {
		free(fr);
		return e;
	}
	g->cur_attrs.kind = NODE_FILE;
	g->cur_attrs.nchunks = 0;
	free(g->cur_attrs.chunks);
	g->cur_attrs.chunks = NULL;
	fr->refs = 1; /* the open file's */
	g->cur_file = fr;
	chunker_reset(&g->ch);
	return 0;
}

int ingest_file_write(struct ingest *g, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	int e = check_ok(g);
	if (e < 0 || !g->cur_file)
		return e < 0 ? e : -EINVAL;
	g->prog.bytes_read += n;
	while (n) {
		size_t cut = chunker_scan(&g->ch, p, n);
		size_t take = cut ? cut : n;
		if (!g->cur_job && !(g->cur_job = get_job(g)))
			return -ENOMEM;
		struct chunk_job *job = g->cur_job;
		if (job->len + take > g->max_chunk)
			return -EIO; /* the chunker guarantees this cannot happen */
		memcpy(job->data + job->len, p, take);
		job->len += take;
		if (cut && (e = emit_chunk(g)) < 0)
			return e;
		p += take;
		n -= take;
	}
	return 0;
}

static void link_id(uint8_t key[IDMAP_KEY_LEN], uint64_t link_key)
{
	memset(key, 0, IDMAP_KEY_LEN);
	memcpy(key, &link_key, sizeof(link_key));
}

static struct file_rec *link_find(struct ingest *g, uint64_t link_key)
{
	uint8_t key[IDMAP_KEY_LEN];
	link_id(key, link_key);
	struct file_rec **v = idmap_get(g->links, key);
	return v ? *v : NULL;
}

void ingest_forget_link(struct ingest *g, uint64_t link_key)
{
	uint8_t key[IDMAP_KEY_LEN];
	struct file_rec *fr = link_find(g, link_key);
	if (!fr)
		return;
	link_id(key, link_key);
	idmap_del(g->links, key);
	fr->linked = 0;
	file_unref(fr);
}

void ingest_file_abort(struct ingest *g)
{
	struct file_rec *fr = g->cur_file;
	if (!fr)
		return;
	if (g->cur_job) {
		g->free_jobs[g->nfree++] = g->cur_job;
		g->cur_job = NULL;
	}
	fr->aborted = 1;
	if (fr->linked)
		ingest_forget_link(g, fr->link_key);
	g->cur_file = NULL;
	tree_entry_release(&g->cur_attrs);
	file_unref(fr); /* pending jobs keep it alive until they are back */
}

static int add_waiter(struct file_rec *fr, struct dir_rec *d)
{
	if (fr->nwait == fr->capwait) {
		size_t cap = fr->capwait ? 2 * fr->capwait : 2;
		struct dir_rec **w = realloc(fr->waiters, cap * sizeof(*w));
		if (!w)
			return -ENOMEM;
		fr->waiters = w;
		fr->capwait = cap;
	}
	fr->waiters[fr->nwait++] = d;
	d->pending++;
	return 0;
}

/* Puts a slot for fr's content into the current directory. */
static int link_slot(struct ingest *g, struct tree_entry *attrs, struct file_rec *fr)
{
	struct slot *s;
	int e = push_slot(g->cur_dir, &s);
	if (e < 0)
		return e;
	s->e = *attrs;
	s->fr = fr;
	fr->refs++;
	memset(attrs, 0, sizeof(*attrs)); /* moved */
	if (fr->pending && (e = add_waiter(fr, g->cur_dir)) < 0)
		set_err(g, e);
	return e;
}

int ingest_file_end(struct ingest *g)
{
	int e = check_ok(g);
	struct file_rec *fr = g->cur_file;
	if (e < 0 || !fr)
		return e < 0 ? e : -EINVAL;
	if (g->cur_job && g->cur_job->len && (e = emit_chunk(g)) < 0)
		return e;
	fr->closed = 1;
	g->cur_file = NULL;
	g->cur_attrs.size = fr->size;
	e = link_slot(g, &g->cur_attrs, fr);
	file_unref(fr); /* the open file's reference; the slot holds one */
	g->prog.files++;
	drain(g, 0);
	return e;
}

void ingest_file_set_link_key(struct ingest *g, uint64_t link_key)
{
	struct file_rec *fr = g->cur_file;
	uint8_t key[IDMAP_KEY_LEN];
	int added;
	if (!fr || fr->linked)
		return;
	link_id(key, link_key);
	struct file_rec **v = idmap_put(g->links, key, &added);
	if (!v || !added)
		return; /* without an entry, a later link is read again: still right */
	*v = fr;
	fr->link_key = link_key;
	fr->linked = 1;
	fr->refs++;
}

int ingest_add_link(struct ingest *g, const struct tree_entry *attrs, uint64_t link_key)
{
	int e = check_ok(g);
	if (e < 0)
		return e;
	struct file_rec *fr = link_find(g, link_key);
	if (!fr || !fr->closed)
		return -ENOENT;
	struct tree_entry copy;
	if ((e = tree_entry_copy(&copy, attrs)) < 0)
		return e;
	copy.kind = NODE_FILE;
	copy.size = fr->size;
	free(copy.chunks);
	copy.chunks = NULL;
	copy.nchunks = 0;
	e = link_slot(g, &copy, fr);
	tree_entry_release(&copy);
	g->prog.files++;
	return e;
}

int ingest_add(struct ingest *g, const struct tree_entry *e)
{
	int err = check_ok(g);
	struct slot *s;
	if (err < 0)
		return err;
	if (!g->cur_dir || g->cur_file)
		return -EINVAL;
	if ((err = push_slot(g->cur_dir, &s)) < 0)
		return err;
	if ((err = tree_entry_copy(&s->e, e)) < 0) {
		g->cur_dir->n--;
		return err;
	}
	if (e->kind == NODE_DIR)
		g->prog.dirs++;
	else
		g->prog.files++;
	return 0;
}

int ingest_have_chunks(struct ingest *g, const struct tree_entry *e)
{
	for (uint32_t i = 0; i < e->nchunks; i++)
		if (catalog_blob_exists(g->verify, &e->chunks[i].id) != 1)
			return 0;
	return 1;
}

/* 1 if the destination has the pack at its recorded size, 0 if not. */
static int pack_still_there(struct ingest *g, const struct oid *pack, uint64_t size)
{
	char key[96];
	uint64_t have;
	repo_object_key(key, sizeof(key), OBJ_DATA, pack);
	int e = backend_stat(g->r->be, key, &have);
	if (e == -ENOENT)
		return 0;
	return e < 0 ? e : have == size;
}

/* A pack an earlier run was storing when it died: if the destination has
 * it whole, record it from its own table (it is then adopted below like
 * any unindexed pack); if not, forget it. */
static int adopt_upload(void *ctx, const struct oid *pack, uint64_t size)
{
	struct ingest *g = ctx;
	struct pack_entry *ents;
	size_t n;
	int e = pack_still_there(g, pack, size);
	if (e <= 0)
		return e < 0 ? e : catalog_upload_end(g->r->cat, pack);
	e = repo_read_pack_table(g->r, g->codec, pack, size, &ents, &n);
	if (e == -EBADMSG)
		return catalog_upload_end(g->r->cat, pack); /* check will name it */
	if (e < 0)
		return e;
	e = catalog_add_pack(g->r->cat, pack, size, 0, ents, n);
	free(ents);
	return e;
}

/* Packs left unindexed by an earlier run that died: keep those the
 * destination really has (they are reused and indexed at the end),
 * forget the rest. */
static int adopt_pack(void *ctx, const struct oid *pack, uint64_t size)
{
	struct ingest *g = ctx;
	struct pack_entry *ents;
	size_t n;
	int e = pack_still_there(g, pack, size);
	if (e <= 0)
		return e < 0 ? e : catalog_forget_pack(g->r->cat, pack);
	if ((e = catalog_pack_blobs(g->r->cat, pack, &ents, &n)) < 0)
		return e;
	pthread_mutex_lock(&g->idx_mu);
	e = pending_add(g, pack, size, ents, n);
	pthread_mutex_unlock(&g->idx_mu);
	if (e < 0)
		free(ents);
	return e;
}

int ingest_finish(struct ingest *g, struct oid *root)
{
	int e = check_ok(g);
	if (e < 0)
		return e;
	if (g->cur_file || !g->cur_dir || g->cur_dir->parent)
		return -EINVAL; /* a file or a directory below the root is open */
	g->finished = 1;
	struct dir_rec *d = g->cur_dir;
	g->cur_dir = NULL;
	d->closed = 1;
	dir_try_seal(g, d);
	while (g->in_flight)
		drain(g, 1);
	/* Everything is sealed; push out the partial packs and wait. */
	packer_flush(g, &g->data_pk);
	packer_flush(g, &g->tree_pk);
	queue_close(&g->upq);
	queue_close(&g->work);
	for (int i = 0; i < g->nthreads; i++)
		pthread_join(g->threads[i], NULL);
	g->nthreads = 0;
	if ((e = atomic_load(&g->err)) < 0)
		return e;
	if (!g->root_done)
		return -EIO;
	if ((e = flush_index(g, g->codec, 1)) < 0 || (e = flush_tree_batch(g)) < 0)
		return e;
	*root = g->root;
	return 0;
}

/* ---- setup and teardown ---- */

static int start_threads(struct ingest *g)
{
	g->threads = calloc((size_t)(g->nworkers + g->nuploaders), sizeof(*g->threads));
	if (!g->threads)
		return -ENOMEM;
	for (int i = 0; i < g->nworkers + g->nuploaders; i++) {
		void *(*fn)(void *) = i < g->nworkers ? worker_main : uploader_main;
		if (pthread_create(&g->threads[i], NULL, fn, g) != 0)
			return -EAGAIN;
		g->nthreads++;
	}
	return 0;
}

static int setup(struct ingest *g, const struct ingest_opts *o)
{
	struct repo *r = g->r;
	struct oid seed;
	int e;
	g->nworkers = o && o->workers > 0 ? o->workers : os_ncpu();
	g->nuploaders = o && o->uploaders > 0 ? o->uploaders : 1;
	g->max_chunk = r->cfg.chunker.max;
	/* Two jobs per worker (one working, one queued) plus one being filled
	 * and one coming back: enough to ride out a stalled read with a cold
	 * page cache; each may hold a max-size chunk, so no more. */
	g->njobs = (size_t)g->nworkers * 2 + 2;
	g->jobs = calloc(g->njobs, sizeof(*g->jobs));
	g->free_jobs = calloc(g->njobs, sizeof(*g->free_jobs));
	/* data pack builders: one filling, one per uploader */
	g->max_built = (size_t)g->nuploaders + 1;
	g->pool = calloc(g->max_built, sizeof(*g->pool));
	g->seen = idmap_new(0);
	g->links = idmap_new(sizeof(struct file_rec *));
	g->codec = codec_new(&r->keys, r->cfg.compression, r->cfg.level);
	if (!g->jobs || !g->free_jobs || !g->pool || !g->seen || !g->links || !g->codec)
		return -ENOMEM;
	for (size_t i = 0; i < g->njobs; i++)
		g->free_jobs[g->nfree++] = &g->jobs[i];
	crypto_hmac(&seed, r->keys.id_key, "cairn fastcdc gear v1", 21);
	if ((e = chunker_init(&g->ch, &r->cfg.chunker, seed.b)) < 0)
		return e;
	char *path = path_join(r->cache_dir, "catalog.db");
	if (!path)
		return -ENOMEM;
	g->lookup = catalog_open(path, &e);
	if (g->lookup)
		g->verify = catalog_open(path, &e);
	free(path);
	if (!g->lookup || !g->verify || (e = catalog_read_begin(g->verify)) < 0)
		return e;
	if ((e = queue_init(&g->work, g->njobs)) < 0 ||
	    (e = queue_init(&g->done, g->njobs)) < 0 ||
	    (e = queue_init(&g->upq, 1)) < 0)
		return e;
	if ((e = catalog_uploads(r->cat, adopt_upload, g)) < 0 ||
	    (e = catalog_unindexed_packs(r->cat, adopt_pack, g)) < 0)
		return e;
	return start_threads(g);
}

struct ingest *ingest_new(struct repo *r, const struct ingest_opts *o, int *err)
{
	struct ingest *g = calloc(1, sizeof(*g));
	if (!g) {
		*err = -ENOMEM;
		return NULL;
	}
	g->r = r;
	pthread_mutex_init(&g->seen_mu, NULL);
	pthread_mutex_init(&g->pool_mu, NULL);
	pthread_cond_init(&g->pool_cv, NULL);
	pthread_mutex_init(&g->idx_mu, NULL);
	pthread_mutex_init(&g->data_pk.mu, NULL);
	pthread_mutex_init(&g->tree_pk.mu, NULL);
	g->data_pk.type = OBJ_DATA;
	g->tree_pk.type = OBJ_TREE;
	if ((*err = setup(g, o)) < 0) {
		ingest_free(g);
		return NULL;
	}
	return g;
}

/* Directories never sealed (an aborted run), open or waiting. */
static void free_dirs(struct ingest *g)
{
	while (g->live_dirs)
		dir_free(g, g->live_dirs);
	g->cur_dir = NULL;
}

void ingest_free(struct ingest *g)
{
	if (!g)
		return;
	if (g->nthreads) {
		set_err(g, -ECANCELED);
		queue_close(&g->work);
		queue_close(&g->upq);
		for (int i = 0; i < g->nthreads; i++)
			pthread_join(g->threads[i], NULL);
	}
	/* Every thread is gone, so jobs in flight are all on the done queue:
	 * drop their references without building anything more. */
	struct chunk_job *job;
	if (g->done.items)
		while ((job = queue_trypop(&g->done)))
			file_unref(job->file);
	if (g->cur_file)
		ingest_file_abort(g);
	free_dirs(g);
	if (g->links) {
		size_t pos = 0;
		void *v;
		while (idmap_next(g->links, &pos, &v))
			file_unref(*(struct file_rec **)v);
		idmap_free(g->links);
	}
	for (size_t i = 0; i < g->njobs; i++)
		free(g->jobs[i].data);
	free(g->jobs);
	free(g->free_jobs);
	free(g->threads);
	for (size_t i = 0; i < g->npool; i++) {
		pack_builder_release(g->pool[i]);
		free(g->pool[i]);
	}
	if (g->data_pk.pb) {
		pack_builder_release(g->data_pk.pb);
		free(g->data_pk.pb);
	}
	if (g->tree_pk.pb) {
		pack_builder_release(g->tree_pk.pb);
		free(g->tree_pk.pb);
	}
	free(g->pool);
	index_data_release(&g->pending_idx);
	buf_release(&g->tree_batch);
	idmap_free(g->seen);
	codec_free(g->codec);
	if (g->verify)
		catalog_read_end(g->verify);
	catalog_close(g->verify);
	catalog_close(g->lookup);
	queue_release(&g->work);
	queue_release(&g->done);
	queue_release(&g->upq);
	pthread_mutex_destroy(&g->seen_mu);
	pthread_mutex_destroy(&g->pool_mu);
	pthread_cond_destroy(&g->pool_cv);
	pthread_mutex_destroy(&g->idx_mu);
	pthread_mutex_destroy(&g->data_pk.mu);
	pthread_mutex_destroy(&g->tree_pk.mu);
	free(g);
}
