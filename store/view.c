/* The browsable namespace (include/store/view.h).  The root listing lives
 * in memory and is rebuilt by view_refresh; everything below a snapshot
 * root is a catalog node, materialized from trees on first access. */
#include "store/view.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/os.h"
#include "lib/pool.h"
#include "store/blobcache.h"

#define CHUNK_REF_LEN (OID_LEN + 4)
#define CACHE_DEFAULT (32u << 20)
#define PREFETCHERS_DEFAULT 2
/* A sequential reader gets the chunks up to this far ahead loaded. */
#define READ_AHEAD_BYTES (16u << 20)

struct root_entry {
	char name[32];
	uint64_t ino;
	uint8_t kind;          /* NODE_DIR (a snapshot) or NODE_SYMLINK */
	char target[32];
	int64_t time_ns;
};

struct view {
	struct repo *r;
	struct blobcache *bc;
	char *cat_path;
	struct pool cats;      /* catalog handles, so threads do not queue on one */
	struct pool codecs;
	pthread_rwlock_t root_lock;
	struct root_entry *root;
	size_t nroot;
	int64_t root_time_ns;
	uint64_t nsnaps;
	uid_t uid;
	gid_t gid;
};

struct view_file {
	uint32_t nchunks;
	struct oid *ids;
	uint64_t *offsets;     /* nchunks + 1: where each chunk starts */
	uint64_t size;
	_Atomic uint64_t next_off;      /* end of the last read: sequential? */
	_Atomic uint32_t ahead;         /* chunks before this are requested */
};

static void *make_cat(void *ctx)
{
	struct view *v = ctx;
	int e;
	return catalog_open(v->cat_path, &e);
}

static void free_cat(void *c) { catalog_close(c); }

static void *make_codec(void *ctx)
{
	struct view *v = ctx;
	return codec_new(&v->r->keys, COMP_NONE, 0);
}

static void free_codec(void *c) { codec_free(c); }

/* ---- inode numbers ---- */

static int is_node(uint64_t ino) { return ino >= VIEW_INO_BASE && !(ino & VIEW_DAY_BIT); }
static uint64_t node_of(uint64_t ino) { return ino - VIEW_INO_BASE; }
static uint64_t ino_of(uint64_t rowid) { return rowid + VIEW_INO_BASE; }

static void attr_of_node(struct view_attr *a, const struct catalog_node *n)
{
	a->ino = ino_of(n->ino);
	a->kind = n->kind;
	a->mode = n->mode;
	a->uid = n->uid;
	a->gid = n->gid;
	a->size = n->kind == NODE_SYMLINK ? n->data.len : n->kind == NODE_DIR ? 0 : n->size;
	/* directories report 1 link: "not counted", so find does not
	 * infer leaf directories from it */
	a->nlink = n->kind == NODE_DIR || !n->nlink ? 1 : n->nlink;
	a->rdev = n->rdev;
	a->mtime_sec = n->mtime_sec;
	a->mtime_nsec = n->mtime_nsec;
	a->ctime_sec = n->ctime_sec;
	a->ctime_nsec = n->ctime_nsec;
	a->immutable = 1;
}

static void attr_of_root_entry(const struct view *v, struct view_attr *a,
			       const struct root_entry *re)
{
	memset(a, 0, sizeof(*a));
	a->ino = re->ino;
	a->kind = re->kind;
	a->mode = re->kind == NODE_DIR ? 0555 : 0777;
	a->uid = v->uid;
	a->gid = v->gid;
	a->nlink = 1;
	a->size = re->kind == NODE_SYMLINK ? strlen(re->target) : 0;
	a->mtime_sec = a->ctime_sec = re->time_ns / 1000000000;
	a->mtime_nsec = a->ctime_nsec = (uint32_t)(re->time_ns % 1000000000);
	/* a snapshot directory never changes; the links move */
	a->immutable = re->kind == NODE_DIR;
}

/* ---- the root listing ---- */

static int cmp_root(const void *x, const void *y)
{
	const struct root_entry *a = x, *b = y;
	return strcmp(a->name, b->name);
}

static const struct root_entry *root_find_name(const struct view *v, const char *name)
{
	struct root_entry key;
	if (strlen(name) >= sizeof(key.name))
		return NULL;
	strcpy(key.name, name);
	return bsearch(&key, v->root, v->nroot, sizeof(key), cmp_root);
}

int view_root_links(struct view *v, struct view_link **out, size_t *n)
{
	pthread_rwlock_rdlock(&v->root_lock);
	struct view_link *l = calloc(v->nroot + 1, sizeof(*l));
	size_t k = 0;
	for (size_t i = 0; l && i < v->nroot; i++) {
		if (v->root[i].kind != NODE_SYMLINK)
			continue;
		l[k].ino = v->root[i].ino;
		snprintf(l[k].name, sizeof(l[k].name), "%s", v->root[i].name);
		k++;
	}
	pthread_rwlock_unlock(&v->root_lock);
	*out = l;
	*n = k;
	return l ? 0 : -ENOMEM;
}

static const struct root_entry *root_find_ino(const struct view *v, uint64_t ino)
{
	for (size_t i = 0; i < v->nroot; i++)
		if (v->root[i].ino == ino)
			return &v->root[i];
	return NULL;
}

/* Builds the listing: snapshot directories, day aliases, @latest. */
static int build_root(struct view *v, struct catalog *cat, const struct snapshot *s,
		      size_t n, struct root_entry **out, size_t *nout)
{
	struct root_entry *r = calloc(2 * n + 1, sizeof(*r));
	/* "@…-HHMMSS", and "-2", "-3"... for later ones of the same second */
	char (*names)[SNAPSHOT_NAME_MAX] = calloc(n ? n : 1, sizeof(*names));
	size_t k = 0;
	int e = r && names ? snapshot_folder_names(s, n, names) : -ENOMEM;
	if (e < 0) {
		free(r);
		free(names);
		return e;
	}
	for (size_t i = 0; i < n && !e; i++) {
		uint64_t rowid;
		snprintf(r[k].name, sizeof(r[k].name), "%s", names[i]);
		e = catalog_fs_snapshot_root(cat, &s[i].id, &s[i].tree, s[i].time_ns, &rowid);
		r[k].ino = ino_of(rowid);
		r[k].kind = NODE_DIR;
		r[k].time_ns = s[i].time_ns;
		k++;
	}
	size_t ndirs = k;
	for (size_t i = 0; i < ndirs && !e; i++) {
		/* the newest of a day is the last of that day in time order */
		if (i + 1 < ndirs && !strncmp(r[i].name, r[i + 1].name, 11))
			continue;
		struct root_entry *d = &r[k++];
		snprintf(d->name, sizeof(d->name), "%.11s", r[i].name);
		snprintf(d->target, sizeof(d->target), "%s", r[i].name);
		/* one inode per day, whichever snapshot it points at: a kernel
		 * that cached the alias's entry still finds it after it moves */
		uint64_t day = 0; /* YYYYMMDD */
		for (const char *c = r[i].name + 1; c < r[i].name + 11; c++)
			if (*c >= '0' && *c <= '9')
				day = day * 10 + (uint64_t)(*c - '0');
		d->ino = day | VIEW_DAY_BIT;
		d->kind = NODE_SYMLINK;
		d->time_ns = r[i].time_ns;
	}
	if (!e && ndirs) {
		struct root_entry *l = &r[k++];
		snprintf(l->name, sizeof(l->name), "@latest");
		snprintf(l->target, sizeof(l->target), "%s", r[ndirs - 1].name);
		l->ino = VIEW_LATEST_INO;
		l->kind = NODE_SYMLINK;
		l->time_ns = r[ndirs - 1].time_ns;
	}
	free(names);
	if (e < 0) {
		free(r);
		return e;
	}
	qsort(r, k, sizeof(*r), cmp_root);
	*out = r;
	*nout = k;
	return 0;
}

static int same_root(const struct root_entry *a, size_t na, const struct root_entry *b,
		     size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i].name, b[i].name) || a[i].ino != b[i].ino ||
		    strcmp(a[i].target, b[i].target))
			return 0;
	return 1;
}

static int rebuild_root(struct view *v, int *changed)
{
	struct snapshot *s;
	struct root_entry *r;
	size_t n, nr;
	struct catalog *cat = pool_take(&v->cats);
	int e = cat ? repo_snapshots(v->r, &s, &n) : -ENOMEM;
	if (e < 0) {
		pool_give(&v->cats, cat);
		return e;
	}
	e = build_root(v, cat, s, n, &r, &nr);
	pool_give(&v->cats, cat);
	if (e == 0) {
		pthread_rwlock_wrlock(&v->root_lock);
		if (changed)
			*changed = !same_root(v->root, v->nroot, r, nr);
		free(v->root);
		v->root = r;
		v->nroot = nr;
		v->nsnaps = n;
		v->root_time_ns = n ? s[n - 1].time_ns : v->root_time_ns;
		pthread_rwlock_unlock(&v->root_lock);
	}
	repo_snapshots_free(s, n);
	return e;
}

int view_refresh(struct view *v, int *changed)
{
	int e = repo_sync_catalog(v->r);
	return e < 0 ? e : rebuild_root(v, changed);
}

/* ---- nodes ---- */

static int load_node(struct view *v, uint64_t ino, struct catalog_node *n)
{
	struct catalog *cat = pool_take(&v->cats);
	int e = cat ? catalog_fs_node(cat, node_of(ino), n) : -ENOMEM;
	pool_give(&v->cats, cat);
	return e;
}

/* Materializes a directory node's children if nobody has yet. */
static int ensure_loaded(struct view *v, struct catalog *cat, const struct catalog_node *n)
{
	struct tree *t;
	struct oid id;
	if (n->kind != NODE_DIR)
		return -ENOTDIR;
	if (n->loaded)
		return 0;
	if (n->data.len != OID_LEN)
		return -EIO;
	memcpy(id.b, n->data.data, OID_LEN);
	struct codec *c = pool_take(&v->codecs);
	int e = c ? repo_load_tree(v->r, c, &id, &t) : -ENOMEM;
	pool_give(&v->codecs, c);
	if (e < 0)
		return e == -ENOMEM ? e : -EIO;
	e = catalog_fs_fill(cat, n->ino, n->snap, t);
	tree_free(t);
	return e;
}

int view_getattr(struct view *v, uint64_t ino, struct view_attr *a)
{
	if (ino == VIEW_ROOT_INO) {
		memset(a, 0, sizeof(*a));
		a->ino = ino;
		a->kind = NODE_DIR;
		a->mode = 0555;
		a->uid = v->uid;
		a->gid = v->gid;
		a->nlink = 1;
		pthread_rwlock_rdlock(&v->root_lock);
		a->mtime_sec = a->ctime_sec = v->root_time_ns / 1000000000;
		a->mtime_nsec = a->ctime_nsec = (uint32_t)(v->root_time_ns % 1000000000);
		pthread_rwlock_unlock(&v->root_lock);
		return 0;
	}
	if (!is_node(ino)) {
		pthread_rwlock_rdlock(&v->root_lock);
		const struct root_entry *re = root_find_ino(v, ino);
		if (re)
			attr_of_root_entry(v, a, re);
		pthread_rwlock_unlock(&v->root_lock);
		return re ? 0 : -ENOENT;
	}
	struct catalog_node n = { 0 };
	int e = load_node(v, ino, &n);
	if (!e)
		attr_of_node(a, &n);
	buf_release(&n.data);
	return e;
}

int view_lookup(struct view *v, uint64_t parent, const char *name, struct view_attr *a)
{
	if (parent == VIEW_ROOT_INO) {
		pthread_rwlock_rdlock(&v->root_lock);
		const struct root_entry *re = root_find_name(v, name);
		if (re)
			attr_of_root_entry(v, a, re);
		pthread_rwlock_unlock(&v->root_lock);
		return re ? 0 : -ENOENT;
	}
	if (!is_node(parent))
		return -ENOTDIR;
	struct catalog_node n = { 0 };
	struct catalog *cat = pool_take(&v->cats);
	int e = cat ? catalog_fs_node(cat, node_of(parent), &n) : -ENOMEM;
	if (!e)
		e = ensure_loaded(v, cat, &n);
	if (!e)
		e = catalog_fs_lookup(cat, n.ino, name, strlen(name), &n);
	if (!e)
		attr_of_node(a, &n);
	pool_give(&v->cats, cat);
	buf_release(&n.data);
	return e;
}

struct dirlist {
	struct view_dirent *v;
	size_t n, cap;
};

static int add_dirent(struct dirlist *l, const char *name, size_t len,
		      const struct view_attr *a)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		struct view_dirent *nv = realloc(l->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	char *copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, name, len);
	copy[len] = 0;
	l->v[l->n].name = copy;
	l->v[l->n++].attr = *a;
	return 0;
}

static int collect_child(void *ctx, const char *name, size_t len,
			 const struct catalog_node *n)
{
	struct view_attr a;
	attr_of_node(&a, n);
	return add_dirent(ctx, name, len, &a);
}

static int readdir_root(struct view *v, struct dirlist *l)
{
	int e = 0;
	pthread_rwlock_rdlock(&v->root_lock);
	for (size_t i = 0; i < v->nroot && !e; i++) {
		struct view_attr a;
		attr_of_root_entry(v, &a, &v->root[i]);
		e = add_dirent(l, v->root[i].name, strlen(v->root[i].name), &a);
	}
	pthread_rwlock_unlock(&v->root_lock);
	return e;
}

int view_readdir(struct view *v, uint64_t ino, struct view_dirent **ents, size_t *n)
{
	struct dirlist l = { 0 };
	int e;
	if (ino == VIEW_ROOT_INO) {
		e = readdir_root(v, &l);
	} else if (!is_node(ino)) {
		e = -ENOTDIR;
	} else {
		struct catalog_node node = { 0 };
		struct catalog *cat = pool_take(&v->cats);
		e = cat ? catalog_fs_node(cat, node_of(ino), &node) : -ENOMEM;
		if (!e)
			e = ensure_loaded(v, cat, &node);
		if (!e)
			e = catalog_fs_children(cat, node.ino, collect_child, &l);
		pool_give(&v->cats, cat);
		buf_release(&node.data);
	}
	if (e < 0) {
		view_dirents_free(l.v, l.n);
		return e;
	}
	*ents = l.v;
	*n = l.n;
	return 0;
}

void view_dirents_free(struct view_dirent *ents, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
}

int view_readlink(struct view *v, uint64_t ino, struct buf *out)
{
	buf_reset(out);
	if (!is_node(ino)) {
		pthread_rwlock_rdlock(&v->root_lock);
		const struct root_entry *re = root_find_ino(v, ino);
		int e = !re ? -ENOENT : re->kind != NODE_SYMLINK ? -EINVAL
			: buf_append(out, re->target, strlen(re->target));
		pthread_rwlock_unlock(&v->root_lock);
		return e;
	}
	struct catalog_node n = { 0 };
	int e = load_node(v, ino, &n);
	if (!e && n.kind != NODE_SYMLINK)
		e = -EINVAL;
	if (!e)
		e = buf_append(out, n.data.data, n.data.len);
	buf_release(&n.data);
	return e;
}

/* ---- reading ---- */

int view_open(struct view *v, uint64_t ino, struct view_file **out)
{
	struct catalog_node n = { 0 };
	struct view_file *f = NULL;
	int e = is_node(ino) ? load_node(v, ino, &n) : -EISDIR;
	if (!e && n.kind != NODE_FILE)
		e = n.kind == NODE_DIR ? -EISDIR : -EINVAL;
	if (!e && n.data.len % CHUNK_REF_LEN)
		e = -EIO;
	uint32_t cnt = (uint32_t)(n.data.len / CHUNK_REF_LEN);
	if (!e && (!(f = calloc(1, sizeof(*f))) ||
		   !(f->ids = malloc((cnt ? cnt : 1) * sizeof(*f->ids))) ||
		   !(f->offsets = malloc((cnt + 1) * sizeof(*f->offsets)))))
		e = -ENOMEM;
	if (!e) {
		uint64_t off = 0;
		for (uint32_t i = 0; i < cnt; i++) {
			const uint8_t *p = n.data.data + i * CHUNK_REF_LEN;
			memcpy(f->ids[i].b, p, OID_LEN);
			f->offsets[i] = off;
			off += get_u32le(p + OID_LEN);
		}
		f->offsets[cnt] = off;
		f->nchunks = cnt;
		f->size = off;
		if (off != n.size)
			e = -EIO; /* the tree decoder checks this; never trust a cache */
	}
	buf_release(&n.data);
	if (e < 0) {
		view_close(v, f);
		return e;
	}
	*out = f;
	return 0;
}

void view_close(struct view *v, struct view_file *f)
{
	if (!f)
		return;
	free(f->ids);
	free(f->offsets);
	free(f);
}

size_t view_file_bytes(const struct view_file *f)
{
	return sizeof(*f) + f->nchunks * (sizeof(*f->ids) + sizeof(*f->offsets));
}

/* The chunk holding byte off (off < size): binary search of the starts. */
static uint32_t chunk_at(const struct view_file *f, uint64_t off)
{
	uint32_t lo = 0, hi = f->nchunks;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (f->offsets[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* A sequential reader gets the chunks after the last one it read loaded in
 * the background, up to window bytes' worth, each requested once. */
static void read_ahead(struct view *v, struct view_file *f, uint32_t last,
		       uint64_t window)
{
	uint64_t base = f->offsets[last + 1];
	uint32_t i = atomic_load(&f->ahead);
	if (i <= last)
		i = last + 1;
	uint32_t from = i;
	for (; i < f->nchunks && f->offsets[i] - base < window; i++)
		blobcache_prefetch(v->bc, &f->ids[i]);
	if (i > from)
		atomic_store(&f->ahead, i);
}

/* The pieces of [off, end) in cached chunks, held; -E2BIG past the span's
 * room (chunks smaller than a read / VIEW_SPAN_MAX). */
static int gather(struct view *v, struct view_file *f, uint64_t off, uint64_t end,
		  struct view_span *sp, uint32_t *last)
{
	uint32_t i = chunk_at(f, off);
	for (uint64_t pos = off; pos < end; i++) {
		struct blob_ref *b;
		if (sp->n == VIEW_SPAN_MAX)
			return -E2BIG;
		int e = blobcache_get(v->bc, &f->ids[i], &b);
		if (e < 0)
			return e == -ENOMEM ? e : -EIO;
		sp->refs[sp->n] = b;
		uint64_t cstart = f->offsets[i], clen = f->offsets[i + 1] - cstart;
		if (blob_ref_len(b) != clen)
			return -EIO;
		uint64_t from = pos - cstart;
		uint64_t n = (end < cstart + clen ? end : cstart + clen) - pos;
		sp->iov[sp->n].iov_base = (void *)(blob_ref_data(b) + from);
		sp->iov[sp->n].iov_len = (size_t)n;
		sp->n++;
		sp->len += (size_t)n;
		pos += n;
		*last = i;
	}
	return 0;
}

int view_read_span(struct view *v, struct view_file *f, uint64_t off, size_t len,
		   struct view_span *sp)
{
	memset(sp, 0, sizeof(*sp));
	if (off >= f->size || !len)
		return 0;
	uint64_t end = off + len < f->size ? off + len : f->size;
	int sequential = atomic_load(&f->next_off) == off; /* 0 at first */
	uint32_t last = 0;
	int e = gather(v, f, off, end, sp, &last);
	if (e < 0) {
		view_span_release(v, sp);
		return e;
	}
	/* A first read at 0 asks for one chunk more: a thumbnailer reading
	 * the head of thousands of files must not load 16 MiB for each. */
	uint64_t done = atomic_exchange(&f->next_off, end);
	if (sequential)
		read_ahead(v, f, last, done == 0 ? 1 : READ_AHEAD_BYTES);
	return 0;
}

void view_span_release(struct view *v, struct view_span *sp)
{
	for (int i = 0; i < VIEW_SPAN_MAX && sp->refs[i]; i++)
		blobcache_put(v->bc, sp->refs[i]);
	memset(sp, 0, sizeof(*sp));
}

int view_read(struct view *v, struct view_file *f, uint64_t off, size_t len,
	      struct buf *out)
{
	buf_reset(out);
	while (len) { /* span by span: any chunk size works */
		struct view_span sp;
		size_t want = len;
		int e;
		while ((e = view_read_span(v, f, off, want, &sp)) == -E2BIG)
			want = want / 2 ? want / 2 : 1;
		if (e < 0)
			return e;
		for (int i = 0; !e && i < sp.n; i++)
			e = buf_append(out, sp.iov[i].iov_base, sp.iov[i].iov_len);
		size_t got = sp.len;
		view_span_release(v, &sp);
		if (e < 0)
			return e;
		if (!got)
			break;
		off += got;
		len -= got;
	}
	return 0;
}

int view_statfs(struct view *v, struct view_statfs *st)
{
	struct catalog_stats cs;
	struct catalog *cat = pool_take(&v->cats);
	int e = cat ? catalog_stats(cat, &cs) : -ENOMEM;
	pool_give(&v->cats, cat);
	if (e < 0)
		return e;
	st->bytes = cs.pack_bytes;
	pthread_rwlock_rdlock(&v->root_lock);
	st->snapshots = v->nsnaps;
	pthread_rwlock_unlock(&v->root_lock);
	return 0;
}

/* ---- setup ---- */

struct view *view_new(struct repo *r, const struct view_opts *o, int *err)
{
	struct view *v = calloc(1, sizeof(*v));
	if (!v) {
		*err = -ENOMEM;
		return NULL;
	}
	v->r = r;
	v->uid = getuid();
	v->gid = getgid();
	v->root_time_ns = os_now_ns();
	pthread_rwlock_init(&v->root_lock, NULL);
	pool_init(&v->cats, make_cat, free_cat, v);
	pool_init(&v->codecs, make_codec, free_codec, v);
	v->cat_path = path_join(r->cache_dir, "catalog.db");
	size_t cache = o && o->cache_bytes ? o->cache_bytes : CACHE_DEFAULT;
	int pf = o && o->prefetchers ? o->prefetchers : PREFETCHERS_DEFAULT;
	*err = v->cat_path ? 0 : -ENOMEM;
	if (!*err && !(v->bc = blobcache_new(r, cache, pf, err))) {
		view_free(v);
		return NULL;
	}
	if (*err || (*err = rebuild_root(v, NULL)) < 0) {
		view_free(v);
		return NULL;
	}
	return v;
}

void view_free(struct view *v)
{
	if (!v)
		return;
	blobcache_free(v->bc);
	pool_release(&v->cats);
	pool_release(&v->codecs);
	pthread_rwlock_destroy(&v->root_lock);
	free(v->root);
	free(v->cat_path);
	free(v);
}
