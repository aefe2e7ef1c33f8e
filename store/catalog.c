/* The local SQLite catalog (include/store/catalog.h).  One connection per
 * handle behind a recursive mutex, prepared statements kept for the hot
 * lookups, WAL so a mount can read while a backup writes. */
#include "store/catalog.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/log.h"
#include "catalog_int.h"


static const char *const stmt_sql[ST_COUNT] = {
	[ST_BLOB_FIND] = "SELECT b.type, b.offset, b.length, b.plain_len, p.name "
			 "FROM blobs b JOIN packs p ON p.id = b.pack WHERE b.id = ?",
	[ST_BLOB_ADD] = "INSERT OR IGNORE INTO blobs(id, type, pack, offset, length, "
			"plain_len) VALUES (?, ?, ?, ?, ?, ?)",
	[ST_PACK_ADD] = "INSERT INTO packs(name, size, indexed) VALUES (?, ?, ?) "
			"ON CONFLICT(name) DO UPDATE SET indexed = max(indexed, excluded.indexed)",
	[ST_PACK_ID] = "SELECT id FROM packs WHERE name = ?",
	[ST_PACK_INDEXED] = "UPDATE packs SET indexed = 1 WHERE name = ?",
	[ST_TREE_GET] = "SELECT data FROM trees WHERE id = ?",
	[ST_TREE_PUT] = "INSERT OR IGNORE INTO trees(id, data) VALUES (?, ?)",
	[ST_BLOB_EXISTS] = "SELECT 1 FROM blobs WHERE id = ?",
	[ST_FS_NODE] = "SELECT " NODE_COLS " FROM fs_nodes n WHERE n.ino = ?",
	[ST_FS_LOOKUP] = "SELECT " NODE_COLS " FROM fs_dirents d JOIN fs_nodes n "
			 "ON n.ino = d.ino WHERE d.parent = ? AND d.name = ?",
	[ST_FS_CHILDREN] = "SELECT d.name, " NODE_COLS " FROM fs_dirents d JOIN fs_nodes n "
			   "ON n.ino = d.ino WHERE d.parent = ? ORDER BY d.name",
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS packs(id INTEGER PRIMARY KEY, name BLOB NOT NULL UNIQUE,"
	" size INTEGER NOT NULL, indexed INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS blobs(id BLOB PRIMARY KEY, type INTEGER NOT NULL,"
	" pack INTEGER NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL,"
	" plain_len INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS blobs_pack ON blobs(pack);"
	"CREATE TABLE IF NOT EXISTS indexes(name BLOB PRIMARY KEY) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS snapshots(name BLOB PRIMARY KEY, time_ns INTEGER NOT NULL,"
	" json BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS trees(id BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS uploads(name BLOB PRIMARY KEY, size INTEGER NOT NULL)"
	" WITHOUT ROWID;"
	/* the browsable view (catalog_fs.c) */
	"CREATE TABLE IF NOT EXISTS fs_snaps(id BLOB PRIMARY KEY, root INTEGER NOT NULL)"
	" WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS fs_nodes(ino INTEGER PRIMARY KEY, snap INTEGER NOT NULL,"
	" kind INTEGER NOT NULL, mode INTEGER NOT NULL, uid INTEGER NOT NULL,"
	" gid INTEGER NOT NULL, size INTEGER NOT NULL, nlink INTEGER NOT NULL,"
	" rdev INTEGER NOT NULL, mtime_s INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
	" ctime_s INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, loaded INTEGER NOT NULL,"
	" data BLOB);"
	"CREATE TABLE IF NOT EXISTS fs_dirents(parent INTEGER NOT NULL, name BLOB NOT NULL,"
	" ino INTEGER NOT NULL, PRIMARY KEY(parent, name)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS fs_links(snap INTEGER NOT NULL, dev INTEGER NOT NULL,"
	" src INTEGER NOT NULL, ino INTEGER NOT NULL, PRIMARY KEY(snap, dev, src))"
	" WITHOUT ROWID;";

static const char drop_all[] =
	"DROP TABLE IF EXISTS meta; DROP TABLE IF EXISTS packs; DROP TABLE IF EXISTS blobs;"
	"DROP TABLE IF EXISTS indexes; DROP TABLE IF EXISTS snapshots;"
	"DROP TABLE IF EXISTS trees; DROP TABLE IF EXISTS uploads;"
	"DROP TABLE IF EXISTS fs_snaps; DROP TABLE IF EXISTS fs_nodes;"
	"DROP TABLE IF EXISTS fs_dirents; DROP TABLE IF EXISTS fs_links;";

/* Maps an SQLite result code to -errno, logging the original. */
int cat_sqlerr(struct catalog *c, int rc, const char *what)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		log_error("catalog %s: %s: database is busy", c->path, what);
		return -EBUSY;
	case SQLITE_FULL:
		log_error("catalog %s: %s: disk full", c->path, what);
		return -ENOSPC;
	default:
		log_error("catalog %s: %s: %s", c->path, what, sqlite3_errmsg(c->db));
		return -EIO;
	}
}

void cat_lock(struct catalog *c) { pthread_mutex_lock(&c->mu); }
void cat_unlock(struct catalog *c) { pthread_mutex_unlock(&c->mu); }

sqlite3_stmt *cat_stmt(struct catalog *c, enum stmt_id id)
{
	sqlite3_stmt *s = c->st[id];
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

int cat_exec(struct catalog *c, const char *sql)
{
	return cat_sqlerr(c, sqlite3_exec(c->db, sql, NULL, NULL, NULL), sql);
}

static int setup(struct catalog *c)
{
	sqlite3_stmt *s;
	int version = 0, r;
	sqlite3_busy_timeout(c->db, 30000);
	if ((r = cat_exec(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			 "PRAGMA temp_store=MEMORY;")) < 0)
		return r;
	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return cat_sqlerr(c, sqlite3_errcode(c->db), "user_version");
	if (sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (version != CATALOG_SCHEMA_VERSION) {
		/* Another version's cache: throw it away, it is rebuilt. */
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", CATALOG_SCHEMA_VERSION);
		if ((r = cat_exec(c, "BEGIN IMMEDIATE")) < 0)
			return r;
		if ((r = cat_exec(c, drop_all)) < 0 ||
		    (r = cat_exec(c, schema)) < 0 || (r = cat_exec(c, sql)) < 0) {
			cat_exec(c, "ROLLBACK");
			return r;
		}
		if ((r = cat_exec(c, "COMMIT")) < 0)
			return r;
	}
	for (int i = 0; i < ST_COUNT; i++)
		if (sqlite3_prepare_v3(c->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &c->st[i], NULL) != SQLITE_OK)
			return cat_sqlerr(c, sqlite3_errcode(c->db), stmt_sql[i]);
	return 0;
}

struct catalog *catalog_open(const char *path, int *err)
{
	struct catalog *c = calloc(1, sizeof(*c));
	pthread_mutexattr_t attr;
	if (!c || !(c->path = strdup(path))) {
		free(c);
		*err = -ENOMEM;
		return NULL;
	}
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&c->mu, &attr);
	pthread_mutexattr_destroy(&attr);
	int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		*err = cat_sqlerr(c, rc, "open");
		catalog_close(c);
		return NULL;
	}
	if ((*err = setup(c)) < 0) {
		catalog_close(c);
		return NULL;
	}
	return c;
}

void catalog_close(struct catalog *c)
{
	if (!c)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
	pthread_mutex_destroy(&c->mu);
	free(c->path);
	free(c);
}

int catalog_begin(struct catalog *c)
{
	cat_lock(c);
	int r = cat_exec(c, "BEGIN IMMEDIATE");
	if (r < 0)
		cat_unlock(c);
	return r;
}

int catalog_commit(struct catalog *c)
{
	int r = cat_exec(c, "COMMIT");
	if (r < 0)
		cat_exec(c, "ROLLBACK");
	cat_unlock(c);
	return r;
}

void catalog_rollback(struct catalog *c)
{
	cat_exec(c, "ROLLBACK");
	cat_unlock(c);
}

int cat_step_done(struct catalog *c, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);
	int r = rc == SQLITE_DONE ? 0 : cat_sqlerr(c, rc, what);
	sqlite3_reset(s);
	return r;
}

void cat_bind_oid(sqlite3_stmt *s, int i, const struct oid *id)
{
	sqlite3_bind_blob(s, i, id->b, OID_LEN, SQLITE_STATIC);
}

int cat_column_oid(sqlite3_stmt *s, int i, struct oid *id)
{
	if (sqlite3_column_bytes(s, i) != OID_LEN)
		return -EIO;
	memcpy(id->b, sqlite3_column_blob(s, i), OID_LEN);
	return 0;
}

int cat_prep(struct catalog *c, const char *sql, sqlite3_stmt **s)
{
	int rc = sqlite3_prepare_v2(c->db, sql, -1, s, NULL);
	return rc == SQLITE_OK ? 0 : cat_sqlerr(c, rc, sql);
}

int catalog_meta_get(struct catalog *c, const char *key, struct buf *out)
{
	sqlite3_stmt *s;
	cat_lock(c);
	int r = cat_prep(c, "SELECT value FROM meta WHERE key = ?", &s);
	if (r == 0) {
		sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
		int rc = sqlite3_step(s);
		buf_reset(out);
		if (rc == SQLITE_ROW)
			r = buf_append(out, sqlite3_column_text(s, 0),
				       (size_t)sqlite3_column_bytes(s, 0));
		else
			r = rc == SQLITE_DONE ? -ENOENT : cat_sqlerr(c, rc, "meta get");
		sqlite3_finalize(s);
	}
	cat_unlock(c);
	return r;
}

int catalog_meta_set(struct catalog *c, const char *key, const char *value)
{
	sqlite3_stmt *s;
	cat_lock(c);
	int r = cat_prep(c, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", &s);
	if (r == 0) {
		sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
		r = cat_step_done(c, s, "meta set");
		sqlite3_finalize(s);
	}
	cat_unlock(c);
	return r;
}

int catalog_read_begin(struct catalog *c)
{
	return cat_exec(c, "BEGIN DEFERRED");
}

void catalog_read_end(struct catalog *c)
{
	cat_exec(c, "COMMIT");
}

int catalog_blob_exists(struct catalog *c, const struct oid *id)
{
	cat_lock(c);
	sqlite3_stmt *s = cat_stmt(c, ST_BLOB_EXISTS);
	cat_bind_oid(s, 1, id);
	int rc = sqlite3_step(s);
	int r = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : cat_sqlerr(c, rc, "blob exists");
	sqlite3_reset(s);
	cat_unlock(c);
	return r;
}

int catalog_blob_find(struct catalog *c, const struct oid *id, struct blob_loc *loc)
{
	cat_lock(c);
	sqlite3_stmt *s = cat_stmt(c, ST_BLOB_FIND);
	cat_bind_oid(s, 1, id);
	int rc = sqlite3_step(s), r;
	if (rc == SQLITE_ROW) {
		loc->type = (uint8_t)sqlite3_column_int(s, 0);
		loc->offset = (uint32_t)sqlite3_column_int64(s, 1);
		loc->length = (uint32_t)sqlite3_column_int64(s, 2);
		loc->plain_len = (uint32_t)sqlite3_column_int64(s, 3);
		r = cat_column_oid(s, 4, &loc->pack);
	} else {
		r = rc == SQLITE_DONE ? -ENOENT : cat_sqlerr(c, rc, "blob find");
	}
	sqlite3_reset(s);
	cat_unlock(c);
	return r;
}

/* Inserts or updates a pack row; gives its rowid. */
static int pack_row(struct catalog *c, const struct oid *pack, uint64_t size,
		    int indexed, sqlite3_int64 *rowid)
{
	sqlite3_stmt *s = cat_stmt(c, ST_PACK_ADD);
	cat_bind_oid(s, 1, pack);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)size);
	sqlite3_bind_int(s, 3, indexed);
	int r = cat_step_done(c, s, "pack add");
	if (r < 0)
		return r;
	s = cat_stmt(c, ST_PACK_ID);
	cat_bind_oid(s, 1, pack);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*rowid = sqlite3_column_int64(s, 0);
	else
		r = cat_sqlerr(c, rc == SQLITE_DONE ? SQLITE_ERROR : rc, "pack id");
	sqlite3_reset(s);
	return r;
}

static int add_blobs(struct catalog *c, sqlite3_int64 pack,
		     const struct pack_entry *ents, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *s = cat_stmt(c, ST_BLOB_ADD);
		cat_bind_oid(s, 1, &ents[i].id);
		sqlite3_bind_int(s, 2, ents[i].type);
		sqlite3_bind_int64(s, 3, pack);
		sqlite3_bind_int64(s, 4, ents[i].offset);
		sqlite3_bind_int64(s, 5, ents[i].length);
		sqlite3_bind_int64(s, 6, ents[i].plain_len);
		int r = cat_step_done(c, s, "blob add");
		if (r < 0)
			return r;
	}
	return 0;
}

int catalog_add_pack(struct catalog *c, const struct oid *pack, uint64_t size,
		     int indexed, const struct pack_entry *ents, size_t n)
{
	sqlite3_int64 rowid;
	int r = catalog_begin(c);
	if (r < 0)
		return r;
	if ((r = pack_row(c, pack, size, indexed, &rowid)) < 0 ||
	    (r = add_blobs(c, rowid, ents, n)) < 0 ||
	    (r = catalog_upload_end(c, pack)) < 0) {
		catalog_rollback(c);
		return r;
	}
	return catalog_commit(c);
}

/* Runs one statement binding a pack name (and optionally a size). */
static int pack_stmt(struct catalog *c, const char *sql, const struct oid *pack,
		     const uint64_t *size)
{
	sqlite3_stmt *s;
	cat_lock(c);
	int r = cat_prep(c, sql, &s);
	if (r == 0) {
		cat_bind_oid(s, 1, pack);
		if (size)
			sqlite3_bind_int64(s, 2, (sqlite3_int64)*size);
		r = cat_step_done(c, s, sql);
		sqlite3_finalize(s);
	}
	cat_unlock(c);
	return r;
}

int catalog_upload_begin(struct catalog *c, const struct oid *pack, uint64_t size)
{
	return pack_stmt(c, "INSERT OR REPLACE INTO uploads(name, size) VALUES (?, ?)",
			 pack, &size);
}

int catalog_upload_end(struct catalog *c, const struct oid *pack)
{
	return pack_stmt(c, "DELETE FROM uploads WHERE name = ?", pack, NULL);
}


/* Runs a query of (name, size) rows and hands each to fn, after collecting
 * them all, so fn may use the catalog. */
static int list_packs(struct catalog *c, const char *sql,
		      int (*fn)(void *ctx, const struct oid *pack, uint64_t size),
		      void *ctx)
{
	sqlite3_stmt *s = NULL;
	struct oid *ids = NULL;
	uint64_t *sizes = NULL;
	size_t n = 0, cap = 0;
	cat_lock(c);
	int r = cat_prep(c, sql, &s);
	while (r == 0) {
		int rc = sqlite3_step(s);
		if (rc != SQLITE_ROW) {
			r = rc == SQLITE_DONE ? 1 : cat_sqlerr(c, rc, sql);
			break;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			struct oid *ni = realloc(ids, cap * sizeof(*ids));
			uint64_t *ns = ni ? realloc(sizes, cap * sizeof(*sizes)) : NULL;
			if (ni)
				ids = ni;
			if (!ni || !ns) {
				r = -ENOMEM;
				break;
			}
			sizes = ns;
		}
		r = cat_column_oid(s, 0, &ids[n]);
		sizes[n++] = (uint64_t)sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	cat_unlock(c);
	/* Callbacks run unlocked so they may use the catalog themselves. */
	for (size_t i = 0; r == 1 && i < n; i++) {
		int k = fn(ctx, &ids[i], sizes[i]);
		if (k)
			r = k;
	}
	free(ids);
	free(sizes);
	return r == 1 ? 0 : r;
}

int catalog_uploads(struct catalog *c,
		    int (*fn)(void *ctx, const struct oid *pack, uint64_t size), void *ctx)
{
	return list_packs(c, "SELECT name, size FROM uploads", fn, ctx);
}

int catalog_unindexed_packs(struct catalog *c,
			    int (*fn)(void *ctx, const struct oid *pack, uint64_t size),
			    void *ctx)
{
	return list_packs(c, "SELECT name, size FROM packs WHERE indexed = 0", fn, ctx);
}

int catalog_pack_blobs(struct catalog *c, const struct oid *pack,
		       struct pack_entry **ents, size_t *n)
{
	sqlite3_stmt *s = NULL;
	struct pack_entry *e = NULL;
	size_t cnt = 0, cap = 0;
	cat_lock(c);
	int r = cat_prep(c, "SELECT b.id, b.type, b.offset, b.length, b.plain_len FROM blobs b "
			"JOIN packs p ON p.id = b.pack WHERE p.name = ?", &s);
	if (r == 0)
		cat_bind_oid(s, 1, pack);
	while (r == 0) {
		int rc = sqlite3_step(s);
		if (rc != SQLITE_ROW) {
			r = rc == SQLITE_DONE ? 1 : cat_sqlerr(c, rc, "pack blobs");
			break;
		}
		if (cnt == cap) {
			cap = cap ? 2 * cap : 64;
			struct pack_entry *ne = realloc(e, cap * sizeof(*e));
			if (!ne) {
				r = -ENOMEM;
				break;
			}
			e = ne;
		}
		struct pack_entry *x = &e[cnt++];
		r = cat_column_oid(s, 0, &x->id);
		x->type = (uint8_t)sqlite3_column_int(s, 1);
		x->offset = (uint32_t)sqlite3_column_int64(s, 2);
		x->length = (uint32_t)sqlite3_column_int64(s, 3);
		x->plain_len = (uint32_t)sqlite3_column_int64(s, 4);
	}
	sqlite3_finalize(s);
	cat_unlock(c);
	if (r < 0) {
		free(e);
		return r;
	}
	*ents = e;
	*n = cnt;
	return 0;
}

int catalog_mark_indexed(struct catalog *c, const struct oid *pack)
{
	cat_lock(c);
	sqlite3_stmt *s = cat_stmt(c, ST_PACK_INDEXED);
	cat_bind_oid(s, 1, pack);
	int r = cat_step_done(c, s, "mark indexed");
	cat_unlock(c);
	return r;
}

int catalog_forget_pack(struct catalog *c, const struct oid *pack)
{
	sqlite3_stmt *s1 = NULL, *s2 = NULL;
	int r = catalog_begin(c);
	if (r < 0)
		return r;
	if (!(r = cat_prep(c, "DELETE FROM blobs WHERE pack = (SELECT id FROM packs WHERE name = ?)", &s1))) {
		cat_bind_oid(s1, 1, pack);
		r = cat_step_done(c, s1, "forget pack blobs");
	}
	if (!r && !(r = cat_prep(c, "DELETE FROM packs WHERE name = ?", &s2))) {
		cat_bind_oid(s2, 1, pack);
		r = cat_step_done(c, s2, "forget pack");
	}
	sqlite3_finalize(s1);
	sqlite3_finalize(s2);
	if (r < 0) {
		catalog_rollback(c);
		return r;
	}
	return catalog_commit(c);
}

/* SELECT 1 FROM <table> WHERE name = ? */
static int has_name(struct catalog *c, const char *sql, const struct oid *name)
{
	sqlite3_stmt *s;
	cat_lock(c);
	int r = cat_prep(c, sql, &s);
	if (r == 0) {
		cat_bind_oid(s, 1, name);
		int rc = sqlite3_step(s);
		r = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : cat_sqlerr(c, rc, sql);
		sqlite3_finalize(s);
	}
	cat_unlock(c);
	return r;
}

int catalog_has_index(struct catalog *c, const struct oid *name)
{
	return has_name(c, "SELECT 1 FROM indexes WHERE name = ?", name);
}

int catalog_add_index(struct catalog *c, const struct oid *name,
		      const struct index_data *idx)
{
	sqlite3_stmt *s = NULL;
	int r = catalog_begin(c);
	if (r < 0)
		return r;
	for (size_t i = 0; !r && i < idx->npacks; i++) {
		sqlite3_int64 rowid;
		const struct index_pack *p = &idx->packs[i];
		if (!(r = pack_row(c, &p->id, p->size, 1, &rowid)))
			r = add_blobs(c, rowid, p->blobs, p->nblobs);
	}
	if (!r && !(r = cat_prep(c, "INSERT OR IGNORE INTO indexes(name) VALUES (?)", &s))) {
		cat_bind_oid(s, 1, name);
		r = cat_step_done(c, s, "index add");
	}
	sqlite3_finalize(s);
	if (r < 0) {
		catalog_rollback(c);
		return r;
	}
	return catalog_commit(c);
}

/* Runs a query whose first column is an oid and hands each to fn, after
 * collecting them, so fn may use the catalog. */
static int each_oid(struct catalog *c, const char *sql,
		    int (*fn)(void *ctx, const struct oid *name), void *ctx)
{
	sqlite3_stmt *s = NULL;
	struct oid *ids = NULL;
	size_t n = 0, cap = 0;
	cat_lock(c);
	int r = cat_prep(c, sql, &s);
	while (r == 0) {
		int rc = sqlite3_step(s);
		if (rc != SQLITE_ROW) {
			r = rc == SQLITE_DONE ? 1 : cat_sqlerr(c, rc, sql);
			break;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			struct oid *ni = realloc(ids, cap * sizeof(*ids));
			if (!ni) {
				r = -ENOMEM;
				break;
			}
			ids = ni;
		}
		r = cat_column_oid(s, 0, &ids[n++]);
	}
	sqlite3_finalize(s);
	cat_unlock(c);
	for (size_t i = 0; r == 1 && i < n; i++) {
		int k = fn(ctx, &ids[i]);
		if (k)
			r = k;
	}
	free(ids);
	return r == 1 ? 0 : r;
}

int catalog_index_names(struct catalog *c,
			int (*fn)(void *ctx, const struct oid *name), void *ctx)
{
	return each_oid(c, "SELECT name FROM indexes", fn, ctx);
}

int catalog_has_snapshot(struct catalog *c, const struct oid *name)
{
	return has_name(c, "SELECT 1 FROM snapshots WHERE name = ?", name);
}

int catalog_add_snapshot(struct catalog *c, const struct oid *name,
			 int64_t time_ns, const void *json, size_t n)
{
	sqlite3_stmt *s;
	cat_lock(c);
	int r = cat_prep(c, "INSERT OR REPLACE INTO snapshots(name, time_ns, json) "
			"VALUES (?, ?, ?)", &s);
	if (r == 0) {
		cat_bind_oid(s, 1, name);
		sqlite3_bind_int64(s, 2, time_ns);
		sqlite3_bind_blob(s, 3, json, (int)n, SQLITE_STATIC);
		r = cat_step_done(c, s, "snapshot add");
		sqlite3_finalize(s);
	}
	cat_unlock(c);
	return r;
}

int catalog_del_snapshot(struct catalog *c, const struct oid *name)
{
	sqlite3_stmt *s;
	cat_lock(c);
	int r = cat_prep(c, "DELETE FROM snapshots WHERE name = ?", &s);
	if (r == 0) {
		cat_bind_oid(s, 1, name);
		r = cat_step_done(c, s, "snapshot del");
		sqlite3_finalize(s);
	}
	cat_unlock(c);
	return r;
}

int catalog_snapshots(struct catalog *c,
		      int (*fn)(void *ctx, const struct oid *name,
				const void *json, size_t n),
		      void *ctx)
{
	sqlite3_stmt *s = NULL;
	cat_lock(c);
	int r = cat_prep(c, "SELECT name, json FROM snapshots ORDER BY time_ns, name", &s);
	while (r == 0) {
		int rc = sqlite3_step(s);
		if (rc != SQLITE_ROW) {
			r = rc == SQLITE_DONE ? 0 : cat_sqlerr(c, rc, "snapshots");
			break;
		}
		struct oid name;
		if ((r = cat_column_oid(s, 0, &name)) < 0)
			break;
		/* fn must not use this handle: it runs under the lock */
		r = fn(ctx, &name, sqlite3_column_blob(s, 1),
		       (size_t)sqlite3_column_bytes(s, 1));
	}
	sqlite3_finalize(s);
	cat_unlock(c);
	return r;
}

int catalog_tree_get(struct catalog *c, const struct oid *id, struct buf *out)
{
	cat_lock(c);
	sqlite3_stmt *s = cat_stmt(c, ST_TREE_GET);
	cat_bind_oid(s, 1, id);
	int rc = sqlite3_step(s), r;
	buf_reset(out);
	if (rc == SQLITE_ROW)
		r = buf_append(out, sqlite3_column_blob(s, 0),
			       (size_t)sqlite3_column_bytes(s, 0));
	else
		r = rc == SQLITE_DONE ? -ENOENT : cat_sqlerr(c, rc, "tree get");
	sqlite3_reset(s);
	cat_unlock(c);
	return r;
}

int catalog_tree_put(struct catalog *c, const struct oid *id, const void *p, size_t n)
{
	cat_lock(c);
	sqlite3_stmt *s = cat_stmt(c, ST_TREE_PUT);
	cat_bind_oid(s, 1, id);
	sqlite3_bind_blob(s, 2, p, (int)n, SQLITE_STATIC);
	int r = cat_step_done(c, s, "tree put");
	cat_unlock(c);
	return r;
}

static int scalar2(struct catalog *c, const char *sql, uint64_t *a, uint64_t *b)
{
	sqlite3_stmt *s;
	int r = cat_prep(c, sql, &s);
	if (r < 0)
		return r;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*a = (uint64_t)sqlite3_column_int64(s, 0);
		if (b)
			*b = (uint64_t)sqlite3_column_int64(s, 1);
	} else {
		r = cat_sqlerr(c, rc, sql);
	}
	sqlite3_finalize(s);
	return r;
}

int catalog_stats(struct catalog *c, struct catalog_stats *st)
{
	memset(st, 0, sizeof(*st));
	cat_lock(c);
	int r = scalar2(c, "SELECT count(*), coalesce(sum(size), 0) FROM packs",
			&st->packs, &st->pack_bytes);
	if (!r)
		r = scalar2(c, "SELECT count(*), coalesce(sum(plain_len), 0) FROM blobs "
			       "WHERE type = 1", &st->data_blobs, &st->data_plain);
	if (!r)
		r = scalar2(c, "SELECT coalesce(sum(length), 0), 0 FROM blobs WHERE type = 1",
			    &st->data_stored, NULL);
	if (!r)
		r = scalar2(c, "SELECT count(*), coalesce(sum(plain_len), 0) FROM blobs "
			       "WHERE type = 2", &st->tree_blobs, &st->tree_plain);
	if (!r)
		r = scalar2(c, "SELECT coalesce(sum(length), 0), 0 FROM blobs WHERE type = 2",
			    &st->tree_stored, NULL);
	if (!r)
		r = scalar2(c, "SELECT count(*), 0 FROM snapshots", &st->snapshots, NULL);
	cat_unlock(c);
	return r;
}

int catalog_clear(struct catalog *c)
{
	cat_lock(c);
	int r = cat_exec(c, "BEGIN IMMEDIATE; DELETE FROM meta; DELETE FROM packs; "
			"DELETE FROM blobs; DELETE FROM indexes; DELETE FROM snapshots; "
			"DELETE FROM trees; DELETE FROM uploads; DELETE FROM fs_snaps; "
			"DELETE FROM fs_nodes; DELETE FROM fs_dirents; DELETE FROM fs_links; COMMIT;");
	if (r < 0)
		cat_exec(c, "ROLLBACK");
	cat_unlock(c);
	return r;
}
