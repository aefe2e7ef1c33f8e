/* Unit tests for store/catalog: the SQLite cache of packs, blobs, index
 * names, snapshots and trees. */
#include <errno.h>
#include <sqlite3.h>
#include <stdint.h>

#include "harness.h"
#include "store/catalog.h"

static void fill_id(struct oid *id, uint32_t v, uint8_t tag)
{
	memset(id->b, tag, OID_LEN);
	put_u32le(id->b, v);
}

static struct pack_entry *make_entries(size_t n, uint32_t base, uint8_t tag)
{
	struct pack_entry *e = calloc(n, sizeof(*e));
	uint32_t off = 0;
	for (size_t i = 0; i < n; i++) {
		fill_id(&e[i].id, base + (uint32_t)i, tag);
		e[i].type = (i % 4 == 3) ? 2 : 1;
		e[i].offset = off;
		e[i].length = 40 + (uint32_t)i * 3;
		e[i].plain_len = (uint32_t)i * 5 + (i == 0 ? UINT32_MAX - 5 : 0);
		off += e[i].length;
	}
	return e;
}

struct fixture {
	char *dir, *path;
	struct catalog *c;
};

static int setup(struct fixture *f)
{
	f->dir = test_tmpdir();
	f->path = malloc(strlen(f->dir) + 20);
	sprintf(f->path, "%s/catalog.db", f->dir);
	int err = 0;
	f->c = catalog_open(f->path, &err);
	CHECK(f->c != NULL);
	CHECK_EQ(err, 0);
	return f->c != NULL;
}

static void teardown(struct fixture *f)
{
	catalog_close(f->c);
	test_rmtree(f->dir);
	free(f->dir);
	free(f->path);
}

static int loc_is(const struct blob_loc *l, const struct oid *pack, const struct pack_entry *e)
{
	return oid_eq(&l->pack, pack) && l->type == e->type && l->offset == e->offset &&
	       l->length == e->length && l->plain_len == e->plain_len;
}

struct pack_list {
	struct oid ids[16];
	uint64_t sizes[16];
	size_t n;
};

static int collect_pack(void *ctx, const struct oid *pack, uint64_t size)
{
	struct pack_list *l = ctx;
	if (l->n < 16) {
		l->ids[l->n] = *pack;
		l->sizes[l->n] = size;
	}
	l->n++;
	return 0;
}

TEST(add_pack_and_find)
{
	struct fixture f;
	if (!setup(&f))
		return;
	struct oid pack;
	fill_id(&pack, 1, 0xee);
	struct pack_entry *e = make_entries(50, 1000, 0x11);
	CHECK_EQ(catalog_add_pack(f.c, &pack, 123456789012ull, 0, e, 50), 0);

	int bad = 0;
	for (size_t i = 0; i < 50; i++) {
		struct blob_loc l;
		memset(&l, 0, sizeof(l));
		if (catalog_blob_find(f.c, &e[i].id, &l) != 0 || !loc_is(&l, &pack, &e[i]))
			bad++;
	}
	CHECK_EQ(bad, 0);
	struct oid absent;
	fill_id(&absent, 999999, 0x11);
	struct blob_loc l;
	CHECK_EQ(catalog_blob_find(f.c, &absent, &l), -ENOENT);

	/* it is listed as unindexed, with its size */
	struct pack_list pl = { .n = 0 };
	CHECK_EQ(catalog_unindexed_packs(f.c, collect_pack, &pl), 0);
	CHECK_EQ(pl.n, 1);
	CHECK(oid_eq(&pl.ids[0], &pack));
	CHECK(pl.sizes[0] == 123456789012ull);

	/* its blobs come back */
	struct pack_entry *got = NULL;
	size_t n = 0;
	CHECK_EQ(catalog_pack_blobs(f.c, &pack, &got, &n), 0);
	CHECK_EQ(n, 50);
	bad = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = get_u32le(got[i].id.b) - 1000;
		if (k >= 50 || memcmp(&got[i].id, &e[k].id, OID_LEN) || got[i].type != e[k].type ||
		    got[i].offset != e[k].offset || got[i].length != e[k].length ||
		    got[i].plain_len != e[k].plain_len)
			bad++;
	}
	CHECK_EQ(bad, 0);
	free(got);

	/* marking it indexed takes it off the list */
	CHECK_EQ(catalog_mark_indexed(f.c, &pack), 0);
	pl.n = 0;
	CHECK_EQ(catalog_unindexed_packs(f.c, collect_pack, &pl), 0);
	CHECK_EQ(pl.n, 0);
	/* re-adding with indexed=0 does not un-index it */
	CHECK_EQ(catalog_add_pack(f.c, &pack, 123456789012ull, 0, e, 50), 0);
	CHECK_EQ(catalog_unindexed_packs(f.c, collect_pack, &pl), 0);
	CHECK_EQ(pl.n, 0);
	free(e);
	teardown(&f);
}

static int stop_early(void *ctx, const struct oid *pack, uint64_t size)
{
	(*(int *)ctx)++;
	return 7;
}

TEST(unindexed_several)
{
	struct fixture f;
	if (!setup(&f))
		return;
	struct oid p[3];
	for (int i = 0; i < 3; i++) {
		fill_id(&p[i], (uint32_t)i, 0xe0);
		struct pack_entry *e = make_entries(3, 100u * (uint32_t)i, 0x20);
		CHECK_EQ(catalog_add_pack(f.c, &p[i], 1000u + (uint64_t)i, i == 1, e, 3), 0);
		free(e);
	}
	struct pack_list pl = { .n = 0 };
	CHECK_EQ(catalog_unindexed_packs(f.c, collect_pack, &pl), 0);
	CHECK_EQ(pl.n, 2);
	int seen0 = 0, seen2 = 0;
	for (size_t i = 0; i < pl.n && i < 16; i++) {
		seen0 += oid_eq(&pl.ids[i], &p[0]) && pl.sizes[i] == 1000;
		seen2 += oid_eq(&pl.ids[i], &p[2]) && pl.sizes[i] == 1002;
	}
	CHECK_EQ(seen0, 1);
	CHECK_EQ(seen2, 1);
	/* a callback's nonzero return stops the walk and is returned */
	int calls = 0;
	CHECK_EQ(catalog_unindexed_packs(f.c, stop_early, &calls), 7);
	CHECK_EQ(calls, 1);
	teardown(&f);
}

static void make_index(struct index_data *idx, uint8_t tag)
{
	idx->npacks = 2;
	idx->packs = calloc(2, sizeof(*idx->packs));
	for (size_t i = 0; i < 2; i++) {
		fill_id(&idx->packs[i].id, (uint32_t)i, tag);
		idx->packs[i].size = 5000 + i;
		idx->packs[i].nblobs = 10 + i * 5;
		idx->packs[i].blobs = make_entries(10 + i * 5, 5000u + 100u * (uint32_t)i, tag);
	}
}

static int collect_names(void *ctx, const struct oid *name)
{
	struct pack_list *l = ctx;
	if (l->n < 16)
		l->ids[l->n] = *name;
	l->n++;
	return 0;
}

TEST(add_index)
{
	struct fixture f;
	if (!setup(&f))
		return;
	struct index_data idx;
	make_index(&idx, 0x42);
	struct oid name, other;
	fill_id(&name, 77, 0x99);
	fill_id(&other, 78, 0x99);
	CHECK_EQ(catalog_has_index(f.c, &name), 0);
	CHECK_EQ(catalog_add_index(f.c, &name, &idx), 0);
	CHECK_EQ(catalog_has_index(f.c, &name), 1);
	CHECK_EQ(catalog_has_index(f.c, &other), 0);
	int bad = 0;
	for (size_t i = 0; i < idx.npacks; i++) {
		for (size_t k = 0; k < idx.packs[i].nblobs; k++) {
			struct blob_loc l;
			if (catalog_blob_find(f.c, &idx.packs[i].blobs[k].id, &l) != 0 ||
			    !loc_is(&l, &idx.packs[i].id, &idx.packs[i].blobs[k]))
				bad++;
		}
	}
	CHECK_EQ(bad, 0);
	/* packs from an index are indexed */
	struct pack_list pl = { .n = 0 };
	CHECK_EQ(catalog_unindexed_packs(f.c, collect_pack, &pl), 0);
	CHECK_EQ(pl.n, 0);
	pl.n = 0;
	CHECK_EQ(catalog_index_names(f.c, collect_names, &pl), 0);
	CHECK_EQ(pl.n, 1);
	CHECK(oid_eq(&pl.ids[0], &name));
	/* loading it again is harmless */
	CHECK_EQ(catalog_add_index(f.c, &name, &idx), 0);
	pl.n = 0;
	CHECK_EQ(catalog_index_names(f.c, collect_names, &pl), 0);
	CHECK_EQ(pl.n, 1);
	struct catalog_stats st;
	CHECK_EQ(catalog_stats(f.c, &st), 0);
	CHECK_EQ(st.packs, 2);
	CHECK_EQ(st.data_blobs + st.tree_blobs, 25);
	index_data_release(&idx);
	teardown(&f);
}

TEST(first_location_wins_and_forget)
{
	struct fixture f;
	if (!setup(&f))
		return;
	struct oid p1, p2;
	fill_id(&p1, 1, 0xa1);
	fill_id(&p2, 2, 0xa1);
	struct pack_entry *e1 = make_entries(10, 0, 0x33);
	struct pack_entry *e2 = make_entries(10, 5, 0x33); /* ids 5..14: 5..9 shared */
	for (int i = 0; i < 10; i++)
		e2[i].offset += 1000;
	CHECK_EQ(catalog_add_pack(f.c, &p1, 100, 1, e1, 10), 0);
	CHECK_EQ(catalog_add_pack(f.c, &p2, 200, 1, e2, 10), 0);
	struct blob_loc l;
	/* blob 7 is in both: it keeps its place in p1 */
	CHECK_EQ(catalog_blob_find(f.c, &e1[7].id, &l), 0);
	CHECK(loc_is(&l, &p1, &e1[7]));
	CHECK_EQ(catalog_blob_find(f.c, &e2[9].id, &l), 0); /* id 14: only in p2 */
	CHECK(loc_is(&l, &p2, &e2[9]));

	/* p2's blob list holds only what is located there */
	struct pack_entry *got;
	size_t n;
	CHECK_EQ(catalog_pack_blobs(f.c, &p2, &got, &n), 0);
	CHECK_EQ(n, 5);
	free(got);

	/* forgetting p1 forgets its blobs; p2's stay */
	CHECK_EQ(catalog_forget_pack(f.c, &p1), 0);
	CHECK_EQ(catalog_blob_find(f.c, &e1[0].id, &l), -ENOENT);
	CHECK_EQ(catalog_blob_find(f.c, &e1[7].id, &l), -ENOENT);
	CHECK_EQ(catalog_blob_find(f.c, &e2[9].id, &l), 0);
	CHECK(loc_is(&l, &p2, &e2[9]));
	CHECK_EQ(catalog_pack_blobs(f.c, &p1, &got, &n), 0);
	CHECK_EQ(n, 0);
	free(got);
	struct catalog_stats st;
	CHECK_EQ(catalog_stats(f.c, &st), 0);
	CHECK_EQ(st.packs, 1);
	CHECK_EQ(st.pack_bytes, 200);
	CHECK_EQ(st.data_blobs + st.tree_blobs, 5);
	/* re-adding p2's blobs now that they are gone from p1 */
	CHECK_EQ(catalog_add_pack(f.c, &p2, 200, 1, e2, 10), 0);
	CHECK_EQ(catalog_blob_find(f.c, &e1[7].id, &l), 0);
	CHECK(loc_is(&l, &p2, &e2[2]));
	/* forgetting an unknown pack is fine */
	CHECK_EQ(catalog_forget_pack(f.c, &p1), 0);
	free(e1);
	free(e2);
	teardown(&f);
}

struct snap_list {
	struct oid names[16];
	char json[16][32];
	size_t n;
};

static int collect_snap(void *ctx, const struct oid *name, const void *json, size_t n)
{
	struct snap_list *l = ctx;
	if (l->n < 16) {
		l->names[l->n] = *name;
		snprintf(l->json[l->n], sizeof(l->json[0]), "%.*s", (int)n, (const char *)json);
	}
	l->n++;
	return 0;
}

TEST(snapshots_in_time_order)
{
	struct fixture f;
	if (!setup(&f))
		return;
	static const int64_t times[] = { 300, -5, 100, 200, 4000000000000000000LL };
	struct oid names[5];
	for (int i = 0; i < 5; i++) {
		fill_id(&names[i], (uint32_t)(10 - i), 0x5e); /* names not in time order */
		char j[32];
		snprintf(j, sizeof(j), "{\"n\":%d}", i);
		CHECK_EQ(catalog_has_snapshot(f.c, &names[i]), 0);
		CHECK_EQ(catalog_add_snapshot(f.c, &names[i], times[i], j, strlen(j)), 0);
		CHECK_EQ(catalog_has_snapshot(f.c, &names[i]), 1);
	}
	struct snap_list sl = { .n = 0 };
	CHECK_EQ(catalog_snapshots(f.c, collect_snap, &sl), 0);
	CHECK_EQ(sl.n, 5);
	static const int order[] = { 1, 2, 3, 0, 4 };
	for (int i = 0; i < 5 && i < (int)sl.n; i++) {
		CHECK(oid_eq(&sl.names[i], &names[order[i]]));
		char want[32];
		snprintf(want, sizeof(want), "{\"n\":%d}", order[i]);
		CHECK_STR(sl.json[i], want);
	}
	struct catalog_stats st;
	CHECK_EQ(catalog_stats(f.c, &st), 0);
	CHECK_EQ(st.snapshots, 5);

	CHECK_EQ(catalog_del_snapshot(f.c, &names[2]), 0);
	CHECK_EQ(catalog_has_snapshot(f.c, &names[2]), 0);
	sl.n = 0;
	CHECK_EQ(catalog_snapshots(f.c, collect_snap, &sl), 0);
	CHECK_EQ(sl.n, 4);
	CHECK(oid_eq(&sl.names[1], &names[3]));
	teardown(&f);
}

TEST(tree_cache)
{
	struct fixture f;
	if (!setup(&f))
		return;
	struct oid a, b;
	fill_id(&a, 1, 0x77);
	fill_id(&b, 2, 0x77);
	uint8_t *big = malloc(300000);
	for (size_t i = 0; i < 300000; i++)
		big[i] = (uint8_t)(i * 7 + (i >> 9));
	CHECK_EQ(catalog_tree_put(f.c, &a, big, 300000), 0);
	static const uint8_t small[] = { 1, 0, 2, 0 };
	CHECK_EQ(catalog_tree_put(f.c, &b, small, sizeof(small)), 0);
	struct buf out = BUF_INIT;
	buf_append(&out, "junk", 4);
	CHECK_EQ(catalog_tree_get(f.c, &a, &out), 0);
	CHECK(out.len == 300000 && !memcmp(out.data, big, 300000));
	CHECK_EQ(catalog_tree_get(f.c, &b, &out), 0);
	CHECK(out.len == sizeof(small) && !memcmp(out.data, small, sizeof(small)));
	struct oid c;
	fill_id(&c, 3, 0x77);
	CHECK_EQ(catalog_tree_get(f.c, &c, &out), -ENOENT);
	/* a tree id names its content: a second put keeps the first */
	CHECK_EQ(catalog_tree_put(f.c, &b, "xx", 2), 0);
	CHECK_EQ(catalog_tree_get(f.c, &b, &out), 0);
	CHECK_EQ(out.len, sizeof(small));
	/* puts inside an explicit transaction */
	CHECK_EQ(catalog_begin(f.c), 0);
	CHECK_EQ(catalog_tree_put(f.c, &c, "ccc", 3), 0);
	catalog_rollback(f.c);
	CHECK_EQ(catalog_tree_get(f.c, &c, &out), -ENOENT);
	CHECK_EQ(catalog_begin(f.c), 0);
	CHECK_EQ(catalog_tree_put(f.c, &c, "ccc", 3), 0);
	CHECK_EQ(catalog_commit(f.c), 0);
	CHECK_EQ(catalog_tree_get(f.c, &c, &out), 0);
	CHECK(out.len == 3 && !memcmp(out.data, "ccc", 3));
	buf_release(&out);
	free(big);
	teardown(&f);
}

TEST(meta_and_stats)
{
	struct fixture f;
	if (!setup(&f))
		return;
	struct buf out = BUF_INIT;
	CHECK_EQ(catalog_meta_get(f.c, "k", &out), -ENOENT);
	CHECK_EQ(catalog_meta_set(f.c, "k", "v1"), 0);
	CHECK_EQ(catalog_meta_set(f.c, "k", "value two"), 0);
	CHECK_EQ(catalog_meta_get(f.c, "k", &out), 0);
	CHECK(out.len == 9 && !memcmp(out.data, "value two", 9));

	struct catalog_stats st;
	CHECK_EQ(catalog_stats(f.c, &st), 0);
	CHECK_EQ(st.packs, 0);
	CHECK_EQ(st.data_blobs, 0);
	CHECK_EQ(st.snapshots, 0);

	struct oid p;
	fill_id(&p, 1, 0xcc);
	struct pack_entry e[4];
	memset(e, 0, sizeof(e));
	for (int i = 0; i < 4; i++) {
		fill_id(&e[i].id, (uint32_t)i, 0xdd);
		e[i].type = i < 3 ? 1 : 2;
		e[i].offset = 100u * (uint32_t)i;
		e[i].length = 50 + (uint32_t)i;
		e[i].plain_len = 1000 + (uint32_t)i;
	}
	CHECK_EQ(catalog_add_pack(f.c, &p, 9999, 1, e, 4), 0);
	CHECK_EQ(catalog_stats(f.c, &st), 0);
	CHECK_EQ(st.packs, 1);
	CHECK_EQ(st.pack_bytes, 9999);
	CHECK_EQ(st.data_blobs, 3);
	CHECK_EQ(st.data_plain, 1000 + 1001 + 1002);
	CHECK_EQ(st.data_stored, 50 + 51 + 52);
	CHECK_EQ(st.tree_blobs, 1);
	CHECK_EQ(st.tree_plain, 1003);
	CHECK_EQ(st.tree_stored, 53);
	buf_release(&out);
	teardown(&f);
}

TEST(clear_empties)
{
	struct fixture f;
	if (!setup(&f))
		return;
	struct oid p, name;
	fill_id(&p, 1, 0xcc);
	fill_id(&name, 2, 0xcc);
	struct pack_entry *e = make_entries(5, 0, 0xab);
	CHECK_EQ(catalog_add_pack(f.c, &p, 10, 0, e, 5), 0);
	struct index_data idx;
	make_index(&idx, 0x43);
	CHECK_EQ(catalog_add_index(f.c, &name, &idx), 0);
	CHECK_EQ(catalog_add_snapshot(f.c, &name, 1, "{}", 2), 0);
	CHECK_EQ(catalog_tree_put(f.c, &name, "t", 1), 0);
	CHECK_EQ(catalog_meta_set(f.c, "m", "x"), 0);

	CHECK_EQ(catalog_clear(f.c), 0);
	struct catalog_stats st;
	CHECK_EQ(catalog_stats(f.c, &st), 0);
	CHECK_EQ(st.packs, 0);
	CHECK_EQ(st.data_blobs + st.tree_blobs, 0);
	CHECK_EQ(st.snapshots, 0);
	struct blob_loc l;
	CHECK_EQ(catalog_blob_find(f.c, &e[0].id, &l), -ENOENT);
	CHECK_EQ(catalog_blob_find(f.c, &idx.packs[1].blobs[0].id, &l), -ENOENT);
	CHECK_EQ(catalog_has_index(f.c, &name), 0);
	CHECK_EQ(catalog_has_snapshot(f.c, &name), 0);
	struct buf out = BUF_INIT;
	CHECK_EQ(catalog_tree_get(f.c, &name, &out), -ENOENT);
	CHECK_EQ(catalog_meta_get(f.c, "m", &out), -ENOENT);
	struct pack_list pl = { .n = 0 };
	CHECK_EQ(catalog_unindexed_packs(f.c, collect_pack, &pl), 0);
	CHECK_EQ(pl.n, 0);
	/* and it works afterwards */
	CHECK_EQ(catalog_add_pack(f.c, &p, 10, 0, e, 5), 0);
	CHECK_EQ(catalog_blob_find(f.c, &e[0].id, &l), 0);
	buf_release(&out);
	index_data_release(&idx);
	free(e);
	teardown(&f);
}

static int set_user_version(const char *path, int v)
{
	sqlite3 *db;
	char sql[64];
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", v);
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Fills a catalog, sets its schema version to v, reopens it. */
static void check_reopen_with_version(int v, int expect_empty)
{
	struct fixture f;
	if (!setup(&f))
		return;
	struct oid p;
	fill_id(&p, 1, 0xcc);
	struct pack_entry *e = make_entries(5, 0, 0xab);
	CHECK_EQ(catalog_add_pack(f.c, &p, 10, 0, e, 5), 0);
	CHECK_EQ(catalog_add_snapshot(f.c, &p, 1, "{}", 2), 0);
	CHECK_EQ(catalog_tree_put(f.c, &p, "t", 1), 0);
	CHECK_EQ(catalog_meta_set(f.c, "m", "x"), 0);
	catalog_close(f.c);
	f.c = NULL;

	CHECK_EQ(set_user_version(f.path, v), 0);
	int err = 0;
	f.c = catalog_open(f.path, &err);
	CHECK(f.c != NULL);
	if (f.c) {
		struct catalog_stats st;
		struct blob_loc l;
		struct buf out = BUF_INIT;
		CHECK_EQ(catalog_stats(f.c, &st), 0);
		if (expect_empty) {
			CHECK_EQ(st.packs, 0);
			CHECK_EQ(st.snapshots, 0);
			CHECK_EQ(catalog_blob_find(f.c, &e[0].id, &l), -ENOENT);
			CHECK_EQ(catalog_tree_get(f.c, &p, &out), -ENOENT);
			CHECK_EQ(catalog_meta_get(f.c, "m", &out), -ENOENT);
		} else {
			CHECK_EQ(st.packs, 1);
			CHECK_EQ(catalog_blob_find(f.c, &e[0].id, &l), 0);
		}
		/* usable either way */
		CHECK_EQ(catalog_add_pack(f.c, &p, 10, 0, e, 5), 0);
		CHECK_EQ(catalog_blob_find(f.c, &e[3].id, &l), 0);
		buf_release(&out);
	}
	/* the file now carries the current version */
	catalog_close(f.c);
	f.c = NULL;
	sqlite3 *db;
	sqlite3_stmt *s;
	int ver = -1;
	if (sqlite3_open(f.path, &db) == SQLITE_OK) {
		if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK) {
			if (sqlite3_step(s) == SQLITE_ROW)
				ver = sqlite3_column_int(s, 0);
			sqlite3_finalize(s);
		}
		sqlite3_close(db);
	}
	CHECK_EQ(ver, CATALOG_SCHEMA_VERSION);
	free(e);
	teardown(&f);
}

TEST(schema_version_mismatch_empties)
{
	check_reopen_with_version(CATALOG_SCHEMA_VERSION + 1, 1);
	check_reopen_with_version(99, 1);
	/* same version: kept */
	check_reopen_with_version(CATALOG_SCHEMA_VERSION, 0);
}

TEST(two_handles_share_commits)
{
	struct fixture f;
	if (!setup(&f))
		return;
	int err = 0;
	struct catalog *c2 = catalog_open(f.path, &err);
	CHECK(c2 != NULL);
	if (!c2) {
		teardown(&f);
		return;
	}
	struct oid p;
	fill_id(&p, 1, 0xcc);
	struct pack_entry *e = make_entries(5, 0, 0xab);
	struct blob_loc l;
	CHECK_EQ(catalog_blob_find(c2, &e[0].id, &l), -ENOENT);
	CHECK_EQ(catalog_add_pack(f.c, &p, 10, 0, e, 5), 0);
	CHECK_EQ(catalog_blob_find(c2, &e[0].id, &l), 0);
	CHECK(loc_is(&l, &p, &e[0]));

	/* the other direction, through an explicit transaction */
	struct oid t;
	fill_id(&t, 9, 0xcc);
	CHECK_EQ(catalog_begin(c2), 0);
	CHECK_EQ(catalog_tree_put(c2, &t, "tree", 4), 0);
	struct buf out = BUF_INIT;
	CHECK_EQ(catalog_commit(c2), 0);
	CHECK_EQ(catalog_tree_get(f.c, &t, &out), 0);
	CHECK(out.len == 4 && !memcmp(out.data, "tree", 4));
	CHECK_EQ(catalog_add_snapshot(c2, &t, 5, "{}", 2), 0);
	CHECK_EQ(catalog_has_snapshot(f.c, &t), 1);
	CHECK_EQ(catalog_forget_pack(c2, &p), 0);
	CHECK_EQ(catalog_blob_find(f.c, &e[0].id, &l), -ENOENT);
	buf_release(&out);
	catalog_close(c2);
	free(e);
	teardown(&f);
}

TEST(open_fails_cleanly)
{
	int err = 0;
	struct catalog *c = catalog_open("/nonexistent-dir-cairn/x/catalog.db", &err);
	CHECK(c == NULL);
	CHECK(err < 0);
	/* a file that is not a database */
	char *dir = test_tmpdir();
	char path[256];
	snprintf(path, sizeof(path), "%s/garbage.db", dir);
	FILE *fp = fopen(path, "w");
	for (int i = 0; i < 4096; i++)
		fputc('g', fp);
	fclose(fp);
	err = 0;
	c = catalog_open(path, &err);
	CHECK(c == NULL);
	CHECK(err < 0);
	catalog_close(c);
	test_rmtree(dir);
	free(dir);
}

int main(void)
{
	RUN(add_pack_and_find);
	RUN(unindexed_several);
	RUN(add_index);
	RUN(first_location_wins_and_forget);
	RUN(snapshots_in_time_order);
	RUN(tree_cache);
	RUN(meta_and_stats);
	RUN(clear_empties);
	RUN(schema_version_mismatch_empties);
	RUN(two_handles_share_commits);
	RUN(open_fails_cleanly);
	HARNESS_DONE();
}
