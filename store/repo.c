/* The repository handle (include/store/repo.h): creating and opening a
 * repository, object naming and verification, blob and tree reads through
 * the catalog, and keeping the catalog in step with the destination. */
#include "store/repo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "lib/os.h"
#include "store/chunker.h"

static const char *type_dir(enum obj_type type)
{
	switch (type) {
	case OBJ_INDEX: return "index";
	case OBJ_SNAPSHOT: return "snapshots";
	case OBJ_LEASE: return "locks";
	default: return "data";
	}
}

void repo_object_key(char *out, size_t n, enum obj_type type, const struct oid *name)
{
	char hex[OID_HEX_LEN + 1];
	oid_hex(hex, name);
	if (type == OBJ_DATA || type == OBJ_TREE || type == OBJ_PACK_TABLE)
		snprintf(out, n, "data/%.2s/%s", hex, hex);
	else
		snprintf(out, n, "%s/%s", type_dir(type), hex);
}

static char *cache_dir_for(const char *root, const struct oid *id)
{
	char hex[OID_HEX_LEN + 1], path[4096];
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	oid_hex(hex, id);
	if (root)
		snprintf(path, sizeof(path), "%s/%s", root, hex);
	else if (xdg && *xdg)
		snprintf(path, sizeof(path), "%s/cairn/%s", xdg, hex);
	else
		snprintf(path, sizeof(path), "%s/.cache/cairn/%s", home ? home : "/tmp", hex);
	return strdup(path);
}

static int open_catalog(struct repo *r, const char *cache_root)
{
	int err = 0;
	r->cache_dir = cache_dir_for(cache_root, &r->cfg.id);
	if (!r->cache_dir)
		return -ENOMEM;
	if ((err = mkdir_p(r->cache_dir, 0700)) < 0) {
		log_error("cannot create cache directory %s: %s", r->cache_dir, errstr(err));
		return err;
	}
	char *path = path_join(r->cache_dir, "catalog.db");
	if (!path)
		return -ENOMEM;
	/* Lookups touch pages all over the file: with a cold page cache one
	 * sequential read-ahead is far cheaper than thousands of seeks. */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
		close(fd);
	}
	r->cat = catalog_open(path, &err);
	if (!r->cat && err == -EIO) {
		/* Not a database, or corrupt: it is only a cache, so start a new
		 * one; the sync that follows refills it from the destination. */
		char side[4200];
		log_warn("catalog %s is damaged; rebuilding it from %s", path, r->url);
		unlink(path);
		snprintf(side, sizeof(side), "%s-wal", path);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", path);
		unlink(side);
		r->cat = catalog_open(path, &err);
	}
	free(path);
	return r->cat ? 0 : err;
}

void repo_close(struct repo *r)
{
	if (!r)
		return;
	catalog_close(r->cat);
	codec_free(r->codec);
	backend_free(r->be);
	crypto_wipe(&r->keys, sizeof(r->keys));
	free(r->url);
	free(r->cache_dir);
	free(r);
}

static int make_codec(struct repo *r)
{
	r->codec = codec_new(&r->keys, r->cfg.compression, r->cfg.level);
	return r->codec ? 0 : -ENOMEM;
}

static int write_config(struct repo *r)
{
	struct buf plain = BUF_INIT, box = BUF_INIT;
	int e = config_to_json(&r->cfg, &plain);
	if (!e)
		e = codec_seal(r->codec, OBJ_CONFIG, NULL, plain.data, plain.len, &box);
	if (!e)
		e = backend_put(r->be, "config", box.data, box.len);
	buf_release(&plain);
	buf_release(&box);
	return e;
}

int repo_key_add(struct repo *r, const char *pw, size_t pwlen,
		 const struct kdf_params *kdf, struct oid *id)
{
	struct kdf_params def;
	if (!r->keys.encrypted)
		return -EINVAL;
	if (!kdf) {
		kdf_params_default(&def);
		kdf = &def;
	}
	uint8_t master[MASTER_LEN];
	struct buf json = BUF_INIT;
	char key[80], hex[OID_HEX_LEN + 1];
	memcpy(master, r->keys.data_key, KEY_LEN);
	memcpy(master + KEY_LEN, r->keys.id_key, KEY_LEN);
	int e = keyfile_create(master, pw, pwlen, kdf, &json);
	crypto_wipe(master, sizeof(master));
	if (!e) {
		crypto_sha256(id, json.data, json.len);
		oid_hex(hex, id);
		snprintf(key, sizeof(key), "keys/%s", hex);
		e = backend_put(r->be, key, json.data, json.len);
	}
	buf_release(&json);
	return e;
}

static void default_params(struct repo_config *cfg, const struct repo_init_opts *o)
{
	cfg->chunker = o->chunker;
	if (!cfg->chunker.avg) {
		cfg->chunker.min = CHUNKER_MIN_DEFAULT;
		cfg->chunker.avg = CHUNKER_AVG_DEFAULT;
		cfg->chunker.max = CHUNKER_MAX_DEFAULT;
	}
	cfg->compression = o->compression;
	cfg->level = o->level;
	if (o->compression < 0) {
		cfg->compression = COMP_ZSTD;
		cfg->level = 3;
	}
	cfg->pack_size = o->pack_size ? o->pack_size : PACK_SIZE_DEFAULT;
}

int repo_init(const struct repo_init_opts *o, struct repo **out)
{
	int e = 0;
	uint64_t size;
	struct repo *r = calloc(1, sizeof(*r));
	if (!r || !(r->url = strdup(o->url))) {
		free(r);
		return -ENOMEM;
	}
	if (!(r->be = backend_open_create(o->url, &e)))
		goto fail;
	if ((e = backend_stat(r->be, "config", &size)) != -ENOENT) {
		e = e ? e : -EEXIST;
		goto fail;
	}
	r->cfg.version = REPO_FORMAT_VERSION;
	r->cfg.created_ns = os_now_ns();
	r->cfg.encrypted = r->keys.encrypted = o->password != NULL;
	default_params(&r->cfg, o);
	if ((e = chunker_params_check(&r->cfg.chunker)) < 0 ||
	    (e = crypto_random(r->cfg.id.b, OID_LEN)) < 0 ||
	    (e = crypto_random(r->keys.data_key, KEY_LEN)) < 0 ||
	    (e = crypto_random(r->keys.id_key, KEY_LEN)) < 0)
		goto fail;
	if (!r->keys.encrypted)
		memcpy(r->cfg.id_key, r->keys.id_key, KEY_LEN);
	if ((e = make_codec(r)) < 0)
		goto fail;
	if (r->keys.encrypted) {
		struct kdf_params kdf;
		if (o->kdf)
			kdf = *o->kdf;
		else
			kdf_params_default(&kdf);
		if ((e = repo_key_add(r, o->password, o->password_len, &kdf, &r->key_id)) < 0)
			goto fail;
	}
	/* The config goes last: its presence is what makes a repository. */
	if ((e = write_config(r)) < 0 || (e = open_catalog(r, o->cache_root)) < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	repo_close(r);
	return e;
}

struct key_try {
	struct repo *r;
	const char *pw;
	size_t pwlen;
	uint8_t master[MASTER_LEN];
	int found;
	int bad;     /* malformed key files seen */
	struct oid id;
};

static int try_key(void *ctx, const char *key, uint64_t size)
{
	struct key_try *t = ctx;
	struct buf json = BUF_INIT;
	int e = size > 65536 ? -EFBIG : backend_get(t->r->be, key, &json);
	if (!e)
		e = keyfile_open(json.data, json.len, t->pw, t->pwlen, t->master);
	buf_release(&json);
	if (e == 0) {
		t->found = 1;
		oid_from_hex(&t->id, key + 5);
		return 1;
	}
	if (e != -EKEYREJECTED) {
		t->bad++;
		log_warn("key file %s: %s", key, errstr(e));
	}
	return 0;
}

static int unlock_keys(struct repo *r, const struct repo_open_opts *o)
{
	if (!o->password)
		return -EACCES;
	struct key_try t = { .r = r, .pw = o->password, .pwlen = o->password_len };
	int e = backend_list(r->be, "keys/", try_key, &t);
	if (e < 0)
		return e;
	if (!t.found)
		return -EKEYREJECTED;
	memcpy(r->keys.data_key, t.master, KEY_LEN);
	memcpy(r->keys.id_key, t.master + KEY_LEN, KEY_LEN);
	r->key_id = t.id;
	crypto_wipe(t.master, sizeof(t.master));
	return 0;
}

/* Reads and opens the config; unlocks the keys first if it is encrypted. */
static int load_config(struct repo *r, const struct repo_open_opts *o)
{
	struct buf box = BUF_INIT, plain = BUF_INIT;
	struct box_header h;
	int e = backend_get(r->be, "config", &box);
	if (e < 0)
		goto out;
	if ((e = box_parse_header(box.data, box.len, OBJECT_MAX, &h)) < 0 ||
	    h.type != OBJ_CONFIG) {
		log_error("%s: config is not a cairn repository config", r->url);
		e = -EBADMSG;
		goto out;
	}
	r->keys.encrypted = h.crypto == CRYPTO_AES256GCM;
	if (r->keys.encrypted && (e = unlock_keys(r, o)) < 0)
		goto out;
	/* An unencrypted box needs no key to open; the compression setting
	 * is not known yet and does not matter for opening. */
	struct codec *c = codec_new(&r->keys, COMP_NONE, 0);
	if (!c) {
		e = -ENOMEM;
		goto out;
	}
	e = codec_open(c, OBJ_CONFIG, NULL, box.data, box.len, OBJECT_MAX, &plain);
	codec_free(c);
	if (!e)
		e = config_from_json(plain.data, plain.len, &r->cfg);
	if (e < 0) {
		log_error("%s: config: %s", r->url, errstr(e));
		goto out;
	}
	if (r->cfg.encrypted != r->keys.encrypted) {
		e = -EBADMSG;
		goto out;
	}
	if (!r->cfg.encrypted)
		memcpy(r->keys.id_key, r->cfg.id_key, KEY_LEN);
out:
	buf_release(&box);
	buf_release(&plain);
	return e;
}

int repo_probe(const char *url)
{
	int e = 0;
	struct backend *be = backend_open(url, &e);
	struct buf box = BUF_INIT;
	struct box_header h;
	if (!be)
		return e;
	if (!(e = backend_get(be, "config", &box)))
		e = box_parse_header(box.data, box.len, OBJECT_MAX, &h);
	if (!e)
		e = h.crypto == CRYPTO_AES256GCM;
	buf_release(&box);
	backend_free(be);
	return e;
}

/* A cache is a help, not a need: if it cannot be had, say so and read
 * the destination directly. */
static void add_read_cache(struct repo *r, const struct repo_open_opts *o)
{
	if (!o->read_cache_bytes || (backend_is_local(r->be) && !o->read_cache_local))
		return;
	char *dir = path_join(r->cache_dir, "chunks");
	int e = dir ? 0 : -ENOMEM;
	struct backend *c = dir ? backend_cache_new(r->be, dir, o->read_cache_bytes, &e)
				: NULL;
	if (c)
		r->be = c;
	else if (e == -EBUSY)
		log_warn("read cache %s is used by another process; reading without it", dir);
	else
		log_warn("read cache %s: %s; reading without it", dir ? dir : "chunks",
			 errstr(e));
	free(dir);
}

int repo_open(const struct repo_open_opts *o, struct repo **out)
{
	int e = 0;
	struct repo *r = calloc(1, sizeof(*r));
	if (!r || !(r->url = strdup(o->url))) {
		free(r);
		return -ENOMEM;
	}
	if (!(r->be = backend_open(o->url, &e)) || (e = load_config(r, o)) < 0 ||
	    (e = make_codec(r)) < 0 || (e = open_catalog(r, o->cache_root)) < 0)
		goto fail;
	add_read_cache(r, o);
	if (!o->no_sync && (e = repo_sync_catalog(r)) < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	repo_close(r);
	return e;
}

int repo_put_object(struct repo *r, struct codec *c, enum obj_type type,
		    const void *p, size_t n, struct oid *name)
{
	struct buf box = BUF_INIT;
	char key[96];
	int e = codec_seal(c, type, NULL, p, n, &box);
	if (!e) {
		crypto_sha256(name, box.data, box.len);
		repo_object_key(key, sizeof(key), type, name);
		e = backend_put(r->be, key, box.data, box.len);
		if (e < 0)
			log_error("%s: storing %s: %s", r->url, key, errstr(e));
	}
	buf_release(&box);
	return e;
}

int repo_get_object(struct repo *r, struct codec *c, enum obj_type type,
		    const struct oid *name, struct buf *out)
{
	struct buf box = BUF_INIT;
	struct oid got;
	char key[96];
	repo_object_key(key, sizeof(key), type, name);
	int e = backend_get(r->be, key, &box);
	if (!e) {
		crypto_sha256(&got, box.data, box.len);
		e = oid_eq(&got, name) ? 0 : -EBADMSG;
	}
	if (!e)
		e = codec_open(c, type, NULL, box.data, box.len, OBJECT_MAX, out);
	buf_release(&box);
	return e;
}

int repo_read_blob_at(struct repo *r, struct codec *c, const struct oid *id,
		      const struct blob_loc *loc, struct buf *scratch, struct buf *out)
{
	char key[96];
	repo_object_key(key, sizeof(key), OBJ_DATA, &loc->pack);
	int e = backend_get_range(r->be, key, loc->offset, loc->length, scratch);
	if (e < 0)
		return e;
	if (scratch->len != loc->length)
		return -EBADMSG;
	e = codec_open(c, loc->type, id, scratch->data, scratch->len,
		       loc->type == OBJ_TREE ? TREE_MAX : CHUNKER_MAX_LIMIT, out);
	if (!e && out->len != loc->plain_len)
		e = -EBADMSG;
	return e;
}

int repo_read_blob(struct repo *r, struct codec *c, const struct oid *id,
		   uint8_t type, struct buf *scratch, struct buf *out)
{
	struct blob_loc loc;
	int e = catalog_blob_find(r->cat, id, &loc);
	if (e < 0)
		return e;
	if (loc.type != type)
		return -EBADMSG;
	return repo_read_blob_at(r, c, id, &loc, scratch, out);
}

int repo_read_pack_table(struct repo *r, struct codec *c, const struct oid *pack,
			 uint64_t size, struct pack_entry **ents, size_t *n)
{
	struct buf b = BUF_INIT;
	char key[96];
	uint32_t tlen;
	repo_object_key(key, sizeof(key), OBJ_DATA, pack);
	int e = size < PACK_TRAILER_LEN ? -EBADMSG
		: backend_get_range(r->be, key, size - PACK_TRAILER_LEN, PACK_TRAILER_LEN, &b);
	if (!e && b.len != PACK_TRAILER_LEN)
		e = -EBADMSG;
	if (!e)
		e = pack_parse_trailer(b.data, size, &tlen);
	uint64_t toff = e ? 0 : size - PACK_TRAILER_LEN - tlen;
	if (!e)
		e = backend_get_range(r->be, key, toff, tlen, &b);
	if (!e && b.len != tlen)
		e = -EBADMSG;
	if (!e)
		e = pack_decode_table(c, b.data, tlen, toff, ents, n);
	buf_release(&b);
	return e;
}

int repo_load_tree(struct repo *r, struct codec *c, const struct oid *id,
		   struct tree **out)
{
	struct buf plain = BUF_INIT, scratch = BUF_INIT;
	int e = catalog_tree_get(r->cat, id, &plain);
	if (e == -ENOENT) {
		e = repo_read_blob(r, c, id, OBJ_TREE, &scratch, &plain);
		if (!e)
			catalog_tree_put(r->cat, id, plain.data, plain.len);
	}
	if (!e)
		e = tree_decode(plain.data, plain.len, out);
	buf_release(&plain);
	buf_release(&scratch);
	return e;
}

/* ---- keeping the catalog in step with the destination ---- */

struct sync_ctx {
	struct repo *r;
	struct oid *seen;
	size_t nseen, cap;
	int err;
};

static int remember(struct sync_ctx *s, const struct oid *id)
{
	if (s->nseen == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct oid *n = realloc(s->seen, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->seen = n;
		s->cap = cap;
	}
	s->seen[s->nseen++] = *id;
	return 0;
}

static int name_from_key(const char *key, const char *dir, struct oid *id)
{
	size_t n = strlen(dir);
	if (strncmp(key, dir, n) || oid_from_hex(id, key + n) < 0)
		return -EINVAL;
	return 0;
}

static int load_index(void *ctx, const char *key, uint64_t size)
{
	struct sync_ctx *s = ctx;
	struct oid name;
	struct buf plain = BUF_INIT;
	struct index_data idx = { 0 };
	if (name_from_key(key, "index/", &name) < 0)
		return 0; /* not ours; check reports it */
	int e = remember(s, &name);
	if (e < 0)
		return e;
	if (catalog_has_index(s->r->cat, &name) > 0)
		return 0;
	e = repo_get_object(s->r, s->r->codec, OBJ_INDEX, &name, &plain);
	if (!e)
		e = index_decode_plain(plain.data, plain.len, &idx);
	if (!e)
		e = catalog_add_index(s->r->cat, &name, &idx);
	else
		log_warn("%s: index object %s cannot be read (%s); "
			 "run 'cairn check'", s->r->url, key, errstr(e));
	index_data_release(&idx);
	buf_release(&plain);
	return e == -EBADMSG || e == -ENOENT ? 0 : e;
}

static int load_snapshot(void *ctx, const char *key, uint64_t size)
{
	struct sync_ctx *s = ctx;
	struct oid name;
	struct buf plain = BUF_INIT;
	struct snapshot snap;
	if (name_from_key(key, "snapshots/", &name) < 0)
		return 0;
	int e = remember(s, &name);
	if (e < 0)
		return e;
	if (catalog_has_snapshot(s->r->cat, &name) > 0)
		return 0;
	e = repo_get_object(s->r, s->r->codec, OBJ_SNAPSHOT, &name, &plain);
	if (!e)
		e = snapshot_from_json(plain.data, plain.len, &snap);
	if (!e) {
		e = catalog_add_snapshot(s->r->cat, &name, snap.time_ns, plain.data, plain.len);
		snapshot_release(&snap);
	} else {
		log_warn("%s: snapshot %s cannot be read (%s); run 'cairn check'",
			 s->r->url, key, errstr(e));
	}
	buf_release(&plain);
	return e == -EBADMSG || e == -ENOENT ? 0 : e;
}

static int cmp_oid(const void *a, const void *b)
{
	return memcmp(a, b, OID_LEN);
}

static void sort_seen(struct sync_ctx *s)
{
	if (s->nseen)
		qsort(s->seen, s->nseen, sizeof(*s->seen), cmp_oid);
}

struct gone_ctx {
	struct sync_ctx *s;
	int (*forget)(struct catalog *c, const struct oid *name);
	int any;
};

static int forget_if_gone(void *ctx, const struct oid *name)
{
	struct gone_ctx *g = ctx;
	if (g->s->nseen && bsearch(name, g->s->seen, g->s->nseen, sizeof(*name), cmp_oid))
		return 0;
	g->any = 1;
	return g->forget ? g->forget(g->s->r->cat, name) : 0;
}

static int each_snapshot_name(void *ctx, const struct oid *name, const void *json, size_t n)
{
	struct sync_ctx *s = ctx;
	return remember(s, name);
}

int repo_sync_catalog(struct repo *r)
{
	struct sync_ctx s = { .r = r };
	struct gone_ctx g = { .s = &s };
	int e = backend_list(r->be, "index/", load_index, &s);
	if (e < 0)
		goto out;
	sort_seen(&s);
	if ((e = catalog_index_names(r->cat, forget_if_gone, &g)) < 0)
		goto out;
	if (g.any) {
		/* An index object went away (pruned or repaired elsewhere):
		 * the blob table can no longer be trusted piecemeal. */
		free(s.seen);
		return repo_rebuild_catalog(r);
	}
	s.nseen = 0;
	if ((e = backend_list(r->be, "snapshots/", load_snapshot, &s)) < 0)
		goto out;
	sort_seen(&s);
	/* Forget snapshots deleted on the destination. */
	struct sync_ctx known = { .r = r };
	if ((e = catalog_snapshots(r->cat, each_snapshot_name, &known)) < 0) {
		free(known.seen);
		goto out;
	}
	g.forget = catalog_del_snapshot;
	for (size_t i = 0; i < known.nseen && e == 0; i++)
		e = forget_if_gone(&g, &known.seen[i]);
	free(known.seen);
out:
	free(s.seen);
	if (e < 0)
		log_error("%s: reading the repository: %s", r->url, errstr(e));
	return e;
}

int repo_rebuild_catalog(struct repo *r)
{
	int e = catalog_clear(r->cat);
	return e < 0 ? e : repo_sync_catalog(r);
}

/* ---- snapshots ---- */

struct snap_list {
	struct snapshot *v;
	size_t n, cap;
	int err;
};

static int collect_snapshot(void *ctx, const struct oid *name, const void *json, size_t n)
{
	struct snap_list *l = ctx;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct snapshot *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	if (snapshot_from_json(json, n, &l->v[l->n]) < 0)
		return 0; /* was valid when cached; skip rather than fail */
	l->v[l->n++].id = *name;
	return 0;
}

int repo_snapshots(struct repo *r, struct snapshot **out, size_t *n)
{
	struct snap_list l = { 0 };
	int e = catalog_snapshots(r->cat, collect_snapshot, &l);
	if (e < 0) {
		repo_snapshots_free(l.v, l.n);
		return e;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

void repo_snapshots_free(struct snapshot *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		snapshot_release(&s[i]);
	free(s);
}

enum { SPEC_OTHER, SPEC_DAY, SPEC_FOLDER };

/* SPEC_DAY for "@YYYY-MM-DD", SPEC_FOLDER for "@YYYY-MM-DD-HHMMSS" and
 * "@YYYY-MM-DD-HHMMSS-N"; whether such a snapshot exists is another matter. */
static int folder_spec(const char *spec)
{
	size_t len = strlen(spec);
	if (spec[0] != '@')
		return SPEC_OTHER;
	if (len == 11)
		return SPEC_DAY;
	if (len == 18)
		return SPEC_FOLDER;
	if (len < 20 || len >= SNAPSHOT_NAME_MAX || spec[18] != '-')
		return SPEC_OTHER;
	for (const char *p = spec + 19; *p; p++)
		if (*p < '0' || *p > '9')
			return SPEC_OTHER;
	return SPEC_FOLDER;
}

int repo_find_snapshot(struct repo *r, const char *spec, struct snapshot *out)
{
	struct snapshot *v;
	char (*names)[SNAPSHOT_NAME_MAX] = NULL;
	size_t n, hexlen = hex_span(spec);
	int by_id = hexlen >= 4 && !spec[hexlen] && hexlen <= OID_HEX_LEN;
	int latest = !strcmp(spec, "latest"), folder = folder_spec(spec);
	if (!latest && !by_id && folder == SPEC_OTHER)
		return -EINVAL;
	int e = repo_snapshots(r, &v, &n);
	if (e < 0)
		return e;
	/* by folder name: the names the mount shows */
	if (folder != SPEC_OTHER) {
		names = malloc((n ? n : 1) * sizeof(*names));
		e = names ? snapshot_folder_names(v, n, names) : -ENOMEM;
	}
	ssize_t found = -1;
	int matches = 0;
	for (size_t i = 0; i < n && e == 0; i++) {
		char hex[OID_HEX_LEN + 1];
		int match;
		if (latest) {
			match = 1;
		} else if (folder == SPEC_DAY) {
			match = !strncmp(names[i], spec, 11);
		} else if (folder == SPEC_FOLDER) {
			match = !strcmp(names[i], spec);
		} else {
			oid_hex(hex, &v[i].id);
			match = !strncasecmp(hex, spec, hexlen);
		}
		if (match) {
			found = (ssize_t)i; /* time order: the last match is the newest */
			matches++;
		}
	}
	if (e == 0 && found < 0)
		e = -ENOENT;
	else if (e == 0 && by_id && matches > 1)
		e = -ENOTUNIQ;
	else if (e == 0)
		e = snapshot_copy(out, &v[found]);
	free(names);
	repo_snapshots_free(v, n);
	return e;
}

int repo_save_snapshot(struct repo *r, struct snapshot *s)
{
	struct buf json = BUF_INIT;
	int e = snapshot_to_json(s, &json);
	if (!e)
		e = repo_put_object(r, r->codec, OBJ_SNAPSHOT, json.data, json.len, &s->id);
	if (!e)
		e = catalog_add_snapshot(r->cat, &s->id, s->time_ns, json.data, json.len);
	buf_release(&json);
	return e;
}

/* ---- paths ---- */

int repo_walk_path(struct repo *r, struct codec *c, const struct oid *root,
		   const char *path, struct tree_entry *out)
{
	struct tree_entry cur = { .kind = NODE_DIR, .mode = 0755, .subtree = *root };
	struct tree *t = NULL;
	int e = tree_entry_copy(out, &cur);
	const char *p = path;
	while (!e) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, "/");
		if (out->kind != NODE_DIR) {
			e = -ENOTDIR;
			break;
		}
		if ((e = repo_load_tree(r, c, &out->subtree, &t)) < 0)
			break;
		const struct tree_entry *next = tree_lookup(t, p, len);
		tree_entry_release(out);
		e = next ? tree_entry_copy(out, next) : -ENOENT;
		tree_free(t);
		t = NULL;
		p += len;
	}
	if (e < 0)
		tree_entry_release(out);
	return e;
}
