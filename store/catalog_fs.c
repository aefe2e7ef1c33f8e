/* The browsable view's tables (include/store/catalog.h, "the browsable
 * view"): nodes, directory entries, hardlink groups, snapshot roots. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_int.h"
#include "store/tree.h"

static int column_node(sqlite3_stmt *s, int i, struct catalog_node *n)
{
	n->ino = (uint64_t)sqlite3_column_int64(s, i);
	n->snap = (uint64_t)sqlite3_column_int64(s, i + 1);
	n->kind = (uint8_t)sqlite3_column_int(s, i + 2);
	n->mode = (uint32_t)sqlite3_column_int64(s, i + 3);
	n->uid = (uint32_t)sqlite3_column_int64(s, i + 4);
	n->gid = (uint32_t)sqlite3_column_int64(s, i + 5);
	n->size = (uint64_t)sqlite3_column_int64(s, i + 6);
	n->nlink = (uint64_t)sqlite3_column_int64(s, i + 7);
	n->rdev = (uint64_t)sqlite3_column_int64(s, i + 8);
	n->mtime_sec = sqlite3_column_int64(s, i + 9);
	n->mtime_nsec = (uint32_t)sqlite3_column_int64(s, i + 10);
	n->ctime_sec = sqlite3_column_int64(s, i + 11);
	n->ctime_nsec = (uint32_t)sqlite3_column_int64(s, i + 12);
	n->loaded = sqlite3_column_int(s, i + 13);
	buf_reset(&n->data);
	return buf_append(&n->data, sqlite3_column_blob(s, i + 14),
			  (size_t)sqlite3_column_bytes(s, i + 14));
}

/* Runs a query expected to give one node row. */
static int one_node(struct catalog *c, sqlite3_stmt *s, struct catalog_node *n)
{
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		return column_node(s, 0, n);
	return rc == SQLITE_DONE ? -ENOENT : cat_sqlerr(c, rc, "fs node");
}

int catalog_fs_node(struct catalog *c, uint64_t ino, struct catalog_node *n)
{
	cat_lock(c);
	sqlite3_stmt *s = cat_stmt(c, ST_FS_NODE);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ino);
	int r = one_node(c, s, n);
	sqlite3_reset(s);
	cat_unlock(c);
	return r;
}

int catalog_fs_lookup(struct catalog *c, uint64_t parent, const char *name, size_t len,
		      struct catalog_node *n)
{
	cat_lock(c);
	sqlite3_stmt *s = cat_stmt(c, ST_FS_LOOKUP);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)parent);
	sqlite3_bind_blob(s, 2, name, (int)len, SQLITE_STATIC);
	int r = one_node(c, s, n);
	sqlite3_reset(s);
	cat_unlock(c);
	return r;
}

int catalog_fs_children(struct catalog *c, uint64_t parent,
			int (*fn)(void *ctx, const char *name, size_t len,
				  const struct catalog_node *n),
			void *ctx)
{
	struct catalog_node n = { 0 };
	int r = 0;
	cat_lock(c);
	sqlite3_stmt *s = cat_stmt(c, ST_FS_CHILDREN);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)parent);
	while (!r) {
		int rc = sqlite3_step(s);
		if (rc != SQLITE_ROW) {
			r = rc == SQLITE_DONE ? 0 : cat_sqlerr(c, rc, "fs children");
			break;
		}
		if ((r = column_node(s, 1, &n)) < 0)
			break;
		/* fn runs under the lock and must not use this handle */
		r = fn(ctx, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0), &n);
	}
	sqlite3_reset(s);
	cat_unlock(c);
	buf_release(&n.data);
	return r;
}

/* Inserts a node row; gives its number. */
static int insert_node(struct catalog *c, sqlite3_stmt *s, uint64_t snap,
		       const struct tree_entry *e, const void *data, size_t n,
		       uint64_t *ino)
{
	sqlite3_reset(s);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)snap);
	sqlite3_bind_int(s, 2, e->kind);
	sqlite3_bind_int64(s, 3, e->mode);
	sqlite3_bind_int64(s, 4, e->uid);
	sqlite3_bind_int64(s, 5, e->gid);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)e->size);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)e->nlink);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)e->rdev);
	sqlite3_bind_int64(s, 9, e->mtime_sec);
	sqlite3_bind_int64(s, 10, e->mtime_nsec);
	sqlite3_bind_int64(s, 11, e->ctime_sec);
	sqlite3_bind_int64(s, 12, e->ctime_nsec);
	sqlite3_bind_blob(s, 13, data, (int)n, SQLITE_STATIC);
	int r = cat_step_done(c, s, "fs node insert");
	if (!r)
		*ino = (uint64_t)sqlite3_last_insert_rowid(c->db);
	return r;
}

static const char insert_sql[] =
	"INSERT INTO fs_nodes(snap, kind, mode, uid, gid, size, nlink, rdev, mtime_s, "
	"mtime_ns, ctime_s, ctime_ns, loaded, data) "
	"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)";

int catalog_fs_snapshot_root(struct catalog *c, const struct oid *snap,
			     const struct oid *tree, int64_t time_ns, uint64_t *ino)
{
	sqlite3_stmt *q = NULL, *ins = NULL, *link = NULL;
	int r = catalog_begin(c);
	if (r < 0)
		return r;
	if ((r = cat_prep(c, "SELECT root FROM fs_snaps WHERE id = ?", &q)) < 0)
		goto out;
	cat_bind_oid(q, 1, snap);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*ino = (uint64_t)sqlite3_column_int64(q, 0);
		goto out;
	}
	if (rc != SQLITE_DONE) {
		r = cat_sqlerr(c, rc, "fs snapshot root");
		goto out;
	}
	struct tree_entry e = { .kind = NODE_DIR, .mode = 0555, .nlink = 1,
				.mtime_sec = time_ns / 1000000000,
				.mtime_nsec = (uint32_t)(time_ns % 1000000000) };
	e.ctime_sec = e.mtime_sec;
	e.ctime_nsec = e.mtime_nsec;
	if ((r = cat_prep(c, insert_sql, &ins)) < 0 ||
	    (r = insert_node(c, ins, 0, &e, tree->b, OID_LEN, ino)) < 0)
		goto out;
	/* a root is its own snapshot scope */
	char upd[96];
	snprintf(upd, sizeof(upd), "UPDATE fs_nodes SET snap = ino WHERE ino = %llu",
		 (unsigned long long)*ino);
	if ((r = cat_exec(c, upd)) < 0 ||
	    (r = cat_prep(c, "INSERT INTO fs_snaps(id, root) VALUES (?, ?)", &link)) < 0)
		goto out;
	cat_bind_oid(link, 1, snap);
	sqlite3_bind_int64(link, 2, (sqlite3_int64)*ino);
	r = cat_step_done(c, link, "fs snapshot insert");
out:
	sqlite3_finalize(q);
	sqlite3_finalize(ins);
	sqlite3_finalize(link);
	if (r < 0) {
		catalog_rollback(c);
		return r;
	}
	return catalog_commit(c);
}

/* The node of an entry's data: a file's chunks, a link's target, a
 * directory's subtree. */
static int entry_data(const struct tree_entry *e, struct buf *b)
{
	buf_reset(b);
	switch (e->kind) {
	case NODE_DIR:
		return buf_append(b, e->subtree.b, OID_LEN);
	case NODE_SYMLINK:
		return buf_append(b, e->target, e->target_len);
	case NODE_FILE:
		for (uint32_t i = 0; i < e->nchunks; i++) {
			int r = buf_append(b, e->chunks[i].id.b, OID_LEN);
			if (!r)
				r = buf_put_u32le(b, e->chunks[i].len);
			if (r < 0)
				return r;
		}
		return 0;
	default:
		return 0;
	}
}

struct fill {
	struct catalog *c;
	uint64_t dir, snap;
	sqlite3_stmt *ins, *dirent, *link_get, *link_put;
	struct buf data;
};

/* The node for a hardlinked file: the one already made for its inode in
 * this snapshot, or a new one. */
static int link_node(struct fill *f, const struct tree_entry *e, uint64_t *ino)
{
	sqlite3_reset(f->link_get);
	sqlite3_bind_int64(f->link_get, 1, (sqlite3_int64)f->snap);
	sqlite3_bind_int64(f->link_get, 2, (sqlite3_int64)e->dev);
	sqlite3_bind_int64(f->link_get, 3, (sqlite3_int64)e->ino);
	int rc = sqlite3_step(f->link_get);
	if (rc == SQLITE_ROW) {
		*ino = (uint64_t)sqlite3_column_int64(f->link_get, 0);
		return 0;
	}
	if (rc != SQLITE_DONE)
		return cat_sqlerr(f->c, rc, "fs link");
	int r = insert_node(f->c, f->ins, f->snap, e, f->data.data, f->data.len, ino);
	if (r < 0)
		return r;
	sqlite3_reset(f->link_put);
	sqlite3_bind_int64(f->link_put, 1, (sqlite3_int64)f->snap);
	sqlite3_bind_int64(f->link_put, 2, (sqlite3_int64)e->dev);
	sqlite3_bind_int64(f->link_put, 3, (sqlite3_int64)e->ino);
	sqlite3_bind_int64(f->link_put, 4, (sqlite3_int64)*ino);
	return cat_step_done(f->c, f->link_put, "fs link insert");
}

static int fill_entry(struct fill *f, const struct tree_entry *e)
{
	uint64_t ino;
	int r = entry_data(e, &f->data);
	if (r < 0)
		return r;
	if (e->kind == NODE_FILE && e->nlink > 1)
		r = link_node(f, e, &ino);
	else
		r = insert_node(f->c, f->ins, f->snap, e, f->data.data, f->data.len, &ino);
	if (r < 0)
		return r;
	sqlite3_reset(f->dirent);
	sqlite3_bind_int64(f->dirent, 1, (sqlite3_int64)f->dir);
	sqlite3_bind_blob(f->dirent, 2, e->name, (int)e->name_len, SQLITE_STATIC);
	sqlite3_bind_int64(f->dirent, 3, (sqlite3_int64)ino);
	return cat_step_done(f->c, f->dirent, "fs dirent insert");
}

static int already_loaded(struct catalog *c, uint64_t dir)
{
	sqlite3_stmt *s;
	int r = cat_prep(c, "SELECT loaded FROM fs_nodes WHERE ino = ?", &s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)dir);
	int rc = sqlite3_step(s);
	r = rc == SQLITE_ROW ? sqlite3_column_int(s, 0)
			     : rc == SQLITE_DONE ? -ENOENT : cat_sqlerr(c, rc, "fs loaded");
	sqlite3_finalize(s);
	return r;
}

int catalog_fs_fill(struct catalog *c, uint64_t dir, uint64_t snap, const struct tree *t)
{
	struct fill f = { .c = c, .dir = dir, .snap = snap };
	int r = catalog_begin(c);
	if (r < 0)
		return r;
	/* Checked inside the write transaction: whoever filled it first wins. */
	if ((r = already_loaded(c, dir)) != 0)
		goto out;
	if ((r = cat_prep(c, insert_sql, &f.ins)) < 0 ||
	    (r = cat_prep(c, "INSERT OR REPLACE INTO fs_dirents(parent, name, ino) "
			  "VALUES (?, ?, ?)", &f.dirent)) < 0 ||
	    (r = cat_prep(c, "SELECT ino FROM fs_links WHERE snap = ? AND dev = ? AND src = ?",
			  &f.link_get)) < 0 ||
	    (r = cat_prep(c, "INSERT INTO fs_links(snap, dev, src, ino) VALUES (?, ?, ?, ?)",
			  &f.link_put)) < 0)
		goto out;
	for (size_t i = 0; i < t->count && !r; i++)
		r = fill_entry(&f, &t->entries[i]);
	if (!r) {
		char upd[80];
		snprintf(upd, sizeof(upd), "UPDATE fs_nodes SET loaded = 1 WHERE ino = %llu",
			 (unsigned long long)dir);
		r = cat_exec(c, upd);
	}
out:
	sqlite3_finalize(f.ins);
	sqlite3_finalize(f.dirent);
	sqlite3_finalize(f.link_get);
	sqlite3_finalize(f.link_put);
	buf_release(&f.data);
	if (r < 0) {
		catalog_rollback(c);
		return r;
	}
	return catalog_commit(c);
}
