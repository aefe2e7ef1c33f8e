/* Repository check (include/store/check.h).  Works from what the
 * destination holds — never from the catalog, which could hide a problem —
 * and names every object it finds wrong. */
#include "store/check.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hex.h"
#include "lib/idmap.h"
#include "lib/log.h"
#include "lib/os.h"
#include "store/index.h"
#include "store/pack.h"

/* Where the indexes say a blob is. */
struct loc {
	uint32_t pack;      /* index into ck->packs */
	uint32_t offset, length, plain_len;
	uint8_t type;
	uint8_t used;       /* referenced by a snapshot */
};

struct pack_info {
	struct oid id;
	uint64_t size;
	int indexed;
};

struct check {
	struct repo *r;
	const struct check_opts *o;
	struct check_result *res;
	struct pack_info *packs;
	size_t npacks, cap;
	struct idmap *pack_by_id;   /* -> u32 index into packs */
	struct idmap *blobs;        /* -> struct loc */
	struct idmap *trees_seen;
	pthread_mutex_t mu;
	size_t next_pack;           /* read-data work distribution */
};

static void problem(struct check *ck, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void problem(struct check *ck, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&ck->mu);
	ck->res->errors++;
	pthread_mutex_unlock(&ck->mu);
	log_error("%s", msg);
}

static void hex(char out[OID_HEX_LEN + 1], const struct oid *id)
{
	oid_hex(out, id);
}

/* ---- packs on the destination ---- */

static int add_pack(void *ctx, const char *key, uint64_t size)
{
	struct check *ck = ctx;
	struct oid id;
	char want[96];
	if (strlen(key) != 5 + 3 + OID_HEX_LEN || oid_from_hex(&id, key + 8) < 0) {
		ck->res->warnings++;
		log_warn("unexpected object %s", key);
		return 0;
	}
	repo_object_key(want, sizeof(want), OBJ_DATA, &id);
	if (strcmp(want, key)) {
		ck->res->warnings++;
		log_warn("unexpected object %s", key);
		return 0;
	}
	if (ck->npacks == ck->cap) {
		size_t cap = ck->cap ? 2 * ck->cap : 256;
		struct pack_info *p = realloc(ck->packs, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		ck->packs = p;
		ck->cap = cap;
	}
	uint32_t *slot = idmap_put(ck->pack_by_id, id.b, NULL);
	if (!slot)
		return -ENOMEM;
	*slot = (uint32_t)ck->npacks;
	ck->packs[ck->npacks++] = (struct pack_info){ id, size, 0 };
	return 0;
}

/* ---- index objects ---- */

static int add_index_pack(struct check *ck, const char *iname, const struct index_pack *p)
{
	char ph[OID_HEX_LEN + 1];
	uint32_t *pi = idmap_get(ck->pack_by_id, p->id.b);
	hex(ph, &p->id);
	if (!pi) {
		problem(ck, "index %s: pack %s is missing from the repository", iname, ph);
		return 0;
	}
	struct pack_info *info = &ck->packs[*pi];
	if (info->size != p->size)
		problem(ck, "pack %s: size %llu, but index %s says %llu (truncated or "
			"replaced)", ph, (unsigned long long)info->size, iname,
			(unsigned long long)p->size);
	info->indexed = 1;
	for (size_t k = 0; k < p->nblobs; k++) {
		const struct pack_entry *e = &p->blobs[k];
		int added;
		struct loc *l = idmap_put(ck->blobs, e->id.b, &added);
		if (!l)
			return -ENOMEM;
		if (added)
			*l = (struct loc){ *pi, e->offset, e->length, e->plain_len, e->type, 0 };
	}
	return 0;
}

static int check_index(void *ctx, const char *key, uint64_t size)
{
	struct check *ck = ctx;
	struct oid name;
	struct buf plain = BUF_INIT;
	struct index_data idx = { 0 };
	if (strncmp(key, "index/", 6) || oid_from_hex(&name, key + 6) < 0) {
		ck->res->warnings++;
		log_warn("unexpected object %s", key);
		return 0;
	}
	ck->res->indexes++;
	int e = repo_get_object(ck->r, ck->r->codec, OBJ_INDEX, &name, &plain);
	if (!e)
		e = index_decode_plain(plain.data, plain.len, &idx);
	buf_release(&plain);
	if (e == -ENOMEM)
		return e;
	if (e < 0) {
		problem(ck, "index %s: %s", key + 6, errstr(e));
		return 0;
	}
	for (size_t i = 0; i < idx.npacks && e == 0; i++)
		e = add_index_pack(ck, key + 6, &idx.packs[i]);
	index_data_release(&idx);
	return e;
}

/* ---- pack contents ---- */

/* Every blob the indexes place in this pack must be in its table, at the
 * same place. */
static void compare_table(struct check *ck, uint32_t pi, const struct pack_entry *t, size_t n)
{
	char ph[OID_HEX_LEN + 1], bh[OID_HEX_LEN + 1];
	hex(ph, &ck->packs[pi].id);
	struct idmap *in_table = idmap_new(sizeof(uint32_t));
	if (!in_table)
		return;
	for (size_t i = 0; i < n; i++) {
		uint32_t *v = idmap_put(in_table, t[i].id.b, NULL);
		if (v)
			*v = (uint32_t)i;
	}
	size_t pos = 0;
	const uint8_t *id;
	struct loc *l;
	while ((id = idmap_next(ck->blobs, &pos, (void **)&l))) {
		if (l->pack != pi)
			continue;
		uint32_t *k = idmap_get(in_table, id);
		const struct pack_entry *te = k ? &t[*k] : NULL;
		if (!te || te->offset != l->offset || te->length != l->length ||
		    te->type != l->type || te->plain_len != l->plain_len) {
			hex_encode(bh, id, OID_LEN);
			problem(ck, "pack %s: blob %s is %s its table", ph, bh,
				te ? "at another place than the index says in" : "missing from");
		}
	}
	idmap_free(in_table);
}

static int read_table(struct check *ck, struct codec *c, uint32_t pi,
		      const uint8_t *whole, struct pack_entry **t, size_t *n)
{
	struct pack_info *p = &ck->packs[pi];
	uint32_t tlen;
	if (!whole)
		return repo_read_pack_table(ck->r, c, &p->id, p->size, t, n);
	int e = p->size < PACK_TRAILER_LEN ? -EBADMSG
		: pack_parse_trailer(whole + p->size - PACK_TRAILER_LEN, p->size, &tlen);
	if (e < 0)
		return e;
	uint64_t toff = p->size - PACK_TRAILER_LEN - tlen;
	return pack_decode_table(c, whole + toff, tlen, toff, t, n);
}

static void read_blobs(struct check *ck, struct codec *c, uint32_t pi, const uint8_t *whole,
		       const struct pack_entry *t, size_t n)
{
	char ph[OID_HEX_LEN + 1], bh[OID_HEX_LEN + 1];
	struct buf plain = BUF_INIT;
	hex(ph, &ck->packs[pi].id);
	for (size_t i = 0; i < n; i++) {
		struct oid got;
		int e = codec_open(c, t[i].type, &t[i].id, whole + t[i].offset, t[i].length,
				   t[i].type == OBJ_TREE ? TREE_MAX : CHUNKER_MAX_LIMIT, &plain);
		if (!e) {
			codec_blob_id(c, &got, plain.data, plain.len);
			e = oid_eq(&got, &t[i].id) && plain.len == t[i].plain_len ? 0 : -EBADMSG;
		}
		if (e < 0) {
			hex(bh, &t[i].id);
			problem(ck, "pack %s: blob %s: %s", ph, bh, errstr(e));
		}
		pthread_mutex_lock(&ck->mu);
		ck->res->blobs_read++;
		pthread_mutex_unlock(&ck->mu);
	}
	buf_release(&plain);
}

static void check_pack(struct check *ck, struct codec *c, uint32_t pi)
{
	struct pack_info *p = &ck->packs[pi];
	char ph[OID_HEX_LEN + 1], key[96];
	struct buf whole = BUF_INIT;
	struct pack_entry *t = NULL;
	size_t n = 0;
	int e = 0;
	hex(ph, &p->id);
	if (ck->o->read_data) {
		struct oid got;
		repo_object_key(key, sizeof(key), OBJ_DATA, &p->id);
		e = backend_get(ck->r->be, key, &whole);
		if (!e) {
			crypto_sha256(&got, whole.data, whole.len);
			if (!oid_eq(&got, &p->id) || whole.len != p->size) {
				problem(ck, "pack %s: content does not match its name "
					"(corrupted or truncated)", ph);
			}
		}
	}
	if (!e)
		e = read_table(ck, c, pi, ck->o->read_data ? whole.data : NULL, &t, &n);
	if (e < 0) {
		problem(ck, "pack %s: %s", ph, e == -EBADMSG ? "table is corrupted or truncated"
							       : errstr(e));
	} else {
		compare_table(ck, pi, t, n);
		if (ck->o->read_data)
			read_blobs(ck, c, pi, whole.data, t, n);
	}
	free(t);
	buf_release(&whole);
}

static void *pack_worker(void *arg)
{
	struct check *ck = arg;
	struct codec *c = codec_new(&ck->r->keys, COMP_NONE, 0);
	for (;;) {
		pthread_mutex_lock(&ck->mu);
		size_t i = ck->next_pack++;
		pthread_mutex_unlock(&ck->mu);
		if (i >= ck->npacks || !c)
			break;
		if (ck->packs[i].indexed)
			check_pack(ck, c, (uint32_t)i);
	}
	codec_free(c);
	return NULL;
}

static void check_packs(struct check *ck)
{
	char ph[OID_HEX_LEN + 1];
	for (size_t i = 0; i < ck->npacks; i++) {
		if (ck->packs[i].indexed)
			continue;
		hex(ph, &ck->packs[i].id);
		ck->res->warnings++;
		log_warn("pack %s is not in any index (left by an interrupted backup; "
			 "harmless)", ph);
	}
	int n = ck->o->read_data ? os_ncpu() : 4;
	pthread_t th[64];
	int started = 0;
	for (int i = 0; i < n && i < 64; i++)
		if (pthread_create(&th[i], NULL, pack_worker, ck) == 0)
			started++;
	if (!started)
		pack_worker(ck);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

/* ---- snapshots and trees ---- */

static int read_blob(struct check *ck, const struct oid *id, uint8_t type, struct buf *out)
{
	struct loc *l = idmap_get(ck->blobs, id->b);
	struct buf box = BUF_INIT;
	char key[96];
	if (!l)
		return -ENOENT;
	if (l->type != type)
		return -EBADMSG;
	l->used = 1;
	repo_object_key(key, sizeof(key), OBJ_DATA, &ck->packs[l->pack].id);
	int e = backend_get_range(ck->r->be, key, l->offset, l->length, &box);
	if (!e && box.len != l->length)
		e = -EBADMSG;
	if (!e)
		e = codec_open(ck->r->codec, type, id, box.data, box.len, TREE_MAX, out);
	buf_release(&box);
	return e;
}

static int check_tree(struct check *ck, const char *snap, const struct oid *id,
		      struct buf *path)
{
	char th[OID_HEX_LEN + 1], bh[OID_HEX_LEN + 1];
	int added;
	if (!idmap_put(ck->trees_seen, id->b, &added))
		return -ENOMEM;
	if (!added)
		return 0;
	ck->res->trees++;
	struct buf plain = BUF_INIT;
	struct tree *t = NULL;
	int e = read_blob(ck, id, OBJ_TREE, &plain);
	if (!e)
		e = tree_decode(plain.data, plain.len, &t);
	buf_release(&plain);
	if (e < 0) {
		hex(th, id);
		problem(ck, "snapshot %s: tree %s (/%s): %s", snap, th, (char *)path->data,
			e == -ENOENT ? "not in any index" : errstr(e));
		return e == -ENOMEM ? e : 0;
	}
	size_t base = path->len;
	for (size_t i = 0; i < t->count && e >= 0; i++) {
		const struct tree_entry *en = &t->entries[i];
		path->len = base;
		if ((e = buf_printf(path, "%s%s", base ? "/" : "", en->name)) < 0)
			break;
		if (en->kind == NODE_DIR) {
			e = check_tree(ck, snap, &en->subtree, path);
			continue;
		}
		for (uint32_t k = 0; k < en->nchunks; k++) {
			struct loc *l = idmap_get(ck->blobs, en->chunks[k].id.b);
			if (l && l->type == OBJ_DATA) {
				l->used = 1;
				continue;
			}
			hex(bh, &en->chunks[k].id);
			problem(ck, "snapshot %s: /%s: chunk %s is %s", snap, (char *)path->data,
				bh, l ? "not a data blob" : "not in any index");
			break;
		}
	}
	path->len = base;
	path->data[base] = 0;
	tree_free(t);
	return e;
}

static int check_snapshot(void *ctx, const char *key, uint64_t size)
{
	struct check *ck = ctx;
	struct oid name;
	struct buf plain = BUF_INIT, path = BUF_INIT;
	struct snapshot s;
	if (strncmp(key, "snapshots/", 10) || oid_from_hex(&name, key + 10) < 0) {
		ck->res->warnings++;
		log_warn("unexpected object %s", key);
		return 0;
	}
	ck->res->snapshots++;
	const char *sh = key + 10;
	int e = repo_get_object(ck->r, ck->r->codec, OBJ_SNAPSHOT, &name, &plain);
	if (!e)
		e = snapshot_from_json(plain.data, plain.len, &s);
	buf_release(&plain);
	if (e < 0) {
		problem(ck, "snapshot %s: %s", sh, errstr(e));
		return e == -ENOMEM ? e : 0;
	}
	if (!(e = buf_printf(&path, "%s", "")))
		e = check_tree(ck, sh, &s.tree, &path);
	snapshot_release(&s);
	buf_release(&path);
	return e;
}

static int check_key(void *ctx, const char *key, uint64_t size)
{
	struct check *ck = ctx;
	struct buf json = BUF_INIT;
	struct keyfile_info info;
	int e = backend_get(ck->r->be, key, &json);
	if (!e)
		e = keyfile_info(json.data, json.len, &info);
	if (e < 0)
		problem(ck, "key file %s: %s", key, errstr(e));
	buf_release(&json);
	return e == -ENOMEM ? e : 0;
}

int check_run(struct repo *r, const struct check_opts *o, struct check_result *res)
{
	struct check ck = { .r = r, .o = o, .res = res };
	memset(res, 0, sizeof(*res));
	pthread_mutex_init(&ck.mu, NULL);
	ck.pack_by_id = idmap_new(sizeof(uint32_t));
	ck.blobs = idmap_new(sizeof(struct loc));
	ck.trees_seen = idmap_new(0);
	int e = ck.pack_by_id && ck.blobs && ck.trees_seen ? 0 : -ENOMEM;
	if (!e && r->keys.encrypted)
		e = backend_list(r->be, "keys/", check_key, &ck);
	if (!e)
		e = backend_list(r->be, "data/", add_pack, &ck);
	res->packs = ck.npacks;
	if (!e)
		e = backend_list(r->be, "index/", check_index, &ck);
	if (!e)
		check_packs(&ck);
	if (!e)
		e = backend_list(r->be, "snapshots/", check_snapshot, &ck);
	size_t pos = 0;
	void *v;
	while (!e && idmap_next(ck.blobs, &pos, &v)) {
		const struct loc *l = v;
		if (!l->used) {
			res->unused_blobs++;
			res->unused_bytes += l->length;
		}
	}
	free(ck.packs);
	idmap_free(ck.pack_by_id);
	idmap_free(ck.blobs);
	idmap_free(ck.trees_seen);
	pthread_mutex_destroy(&ck.mu);
	if (e < 0)
		return e;
	return res->errors ? -EBADMSG : 0;
}
