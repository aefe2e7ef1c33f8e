/* Inside the catalog: the handle and the SQLite helpers shared by
 * catalog.c (index, snapshots, trees) and catalog_fs.c (the browsable
 * view).  Not a public header: nothing outside the catalog includes it. */
#ifndef CAIRN_STORE_CATALOG_INT_H
#define CAIRN_STORE_CATALOG_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "store/catalog.h"

enum stmt_id {
	ST_BLOB_FIND,
	ST_BLOB_ADD,
	ST_PACK_ADD,
	ST_PACK_ID,
	ST_PACK_INDEXED,
	ST_TREE_GET,
	ST_TREE_PUT,
	ST_BLOB_EXISTS,
	ST_FS_NODE,
	ST_FS_LOOKUP,
	ST_FS_CHILDREN,
	ST_COUNT
};

/* The columns of a browsable node, as catalog_fs.c reads them. */
#define NODE_COLS "n.ino, n.snap, n.kind, n.mode, n.uid, n.gid, n.size, n.nlink, " \
		  "n.rdev, n.mtime_s, n.mtime_ns, n.ctime_s, n.ctime_ns, n.loaded, n.data"

struct catalog {
	sqlite3 *db;
	pthread_mutex_t mu;       /* recursive: held across a transaction */
	sqlite3_stmt *st[ST_COUNT];
	char *path;
};

/* Maps an SQLite result code to -errno, logging the original. */
int cat_sqlerr(struct catalog *c, int rc, const char *what);
void cat_lock(struct catalog *c);
void cat_unlock(struct catalog *c);
int cat_exec(struct catalog *c, const char *sql);
/* Prepares one-off SQL (for the rarely used queries). */
int cat_prep(struct catalog *c, const char *sql, sqlite3_stmt **s);
/* Runs a statement that returns no rows, then resets it. */
int cat_step_done(struct catalog *c, sqlite3_stmt *s, const char *what);
void cat_bind_oid(sqlite3_stmt *s, int i, const struct oid *id);
int cat_column_oid(sqlite3_stmt *s, int i, struct oid *id);

/* A statement prepared once per handle, reset and unbound (lock held). */
sqlite3_stmt *cat_stmt(struct catalog *c, enum stmt_id id);

#endif
