/* Backend conformance: run_suite() is what every backend must pass.  With no
 * arguments it runs on the file backend, on an empty fault layer over it,
 * and is followed by tests of the fault layer, backend_open() and file-only
 * behaviour; with URLs as arguments only the suite runs, on each of them.
 * A destination given as an argument must be empty; the suite leaves it so.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "store/backend.h"

#define LARGE_SIZE ((size_t)20 << 20)
#define SHARED_SIZE ((size_t)1 << 20)
#define N_THREADS 8
#define N_OBJECTS 50
#define N_RANGE_THREADS 4

static struct backend *be;      /* the backend run_suite is testing */
static const char *fault_dir;   /* scratch directory for fault-layer tests */

/* ---- helpers ---- */

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t s = seed, v = 0;
	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 0)
			v = rnd_next(&s);
		p[i] = (uint8_t)(v >> (8 * (i % 8)));
	}
}

static uint8_t *make_data(size_t n, uint64_t seed)
{
	uint8_t *p = malloc(n ? n : 1);
	if (p)
		fill(p, n, seed);
	return p;
}

/* "<dir>/<64 hex>", or for dir "data" "data/<2 hex>/<64 hex>" like a pack;
 * first >= 0 forces the id's first byte (to share a data/ subdirectory). */
static void make_key(char *out, size_t max, const char *dir, uint64_t seed,
		     int first)
{
	uint8_t id[32];
	char hex[65];
	fill(id, sizeof(id), seed);
	if (first >= 0)
		id[0] = (uint8_t)first;
	hex_encode(hex, id, sizeof(id));
	if (!strcmp(dir, "data"))
		snprintf(out, max, "data/%.2s/%s", hex, hex);
	else
		snprintf(out, max, "%s/%s", dir, hex);
}

static int put_str(struct backend *b, const char *key, const char *s)
{
	return backend_put(b, key, s, strlen(s));
}

/* Whether key holds exactly p[0..n) according to get. */
static int holds(struct backend *b, const char *key, const void *p, size_t n)
{
	struct buf out = BUF_INIT;
	int ok = backend_get(b, key, &out) == 0 && out.len == n &&
		 (n == 0 || !memcmp(out.data, p, n));
	buf_release(&out);
	return ok;
}

/* A buffer with stale contents, to check that reads replace them. */
static void dirty(struct buf *out)
{
	buf_reset(out);
	buf_append(out, "stale bytes", 11);
}

static size_t count_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t d = 0;
	for (size_t i = 0; i < n; i++)
		d += a[i] != b[i];
	return d;
}

/* What a listing returned. */
struct seen {
	size_t n;
	int stop_at; /* return 42 from the callback at this call (0: never) */
	char keys[64][160];
	uint64_t sizes[64];
};

static int seen_add(void *ctx, const char *key, uint64_t size)
{
	struct seen *s = ctx;
	if (s->n < 64) {
		snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
		s->sizes[s->n] = size;
	}
	s->n++;
	return s->stop_at && (int)s->n == s->stop_at ? 42 : 0;
}

static int seen_count(struct seen *s, const char *key, uint64_t *size)
{
	int c = 0;
	for (size_t i = 0; i < s->n && i < 64; i++) {
		if (!strcmp(s->keys[i], key)) {
			c++;
			*size = s->sizes[i];
		}
	}
	return c;
}

static int count_keys(void *ctx, const char *key, uint64_t size)
{
	(*(size_t *)ctx)++;
	return 0;
}

static size_t list_count(struct backend *b, const char *prefix)
{
	size_t n = 0;
	CHECK_EQ(backend_list(b, prefix, count_keys, &n), 0);
	return n;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- the generic suite ---- */

TEST(starts_empty)
{
	CHECK_EQ(list_count(be, ""), 0);
}

TEST(round_trip)
{
	static const char text[] = "hello, backend";
	uint8_t bin[600];
	struct buf out = BUF_INIT;
	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (uint8_t)(i % 3 ? i : 0); /* NUL bytes throughout */
	CHECK_EQ(put_str(be, "config", text), 0);
	CHECK_EQ(backend_put(be, "keys/0001", bin, sizeof(bin)), 0);
	dirty(&out);
	CHECK_EQ(backend_get(be, "config", &out), 0);
	CHECK_EQ(out.len, strlen(text));
	CHECK(out.len == strlen(text) && !memcmp(out.data, text, out.len));
	dirty(&out);
	CHECK_EQ(backend_get(be, "keys/0001", &out), 0);
	CHECK_EQ(out.len, sizeof(bin));
	CHECK(out.len == sizeof(bin) && !memcmp(out.data, bin, sizeof(bin)));
	CHECK_EQ(backend_del(be, "config"), 0);
	CHECK_EQ(backend_del(be, "keys/0001"), 0);
	buf_release(&out);
}

TEST(empty_object)
{
	struct buf out = BUF_INIT;
	uint64_t size = 99;
	CHECK_EQ(backend_put(be, "locks/empty", "", 0), 0);
	dirty(&out);
	CHECK_EQ(backend_get(be, "locks/empty", &out), 0);
	CHECK_EQ(out.len, 0);
	CHECK_EQ(backend_stat(be, "locks/empty", &size), 0);
	CHECK_EQ(size, 0);
	dirty(&out);
	CHECK_EQ(backend_get_range(be, "locks/empty", 0, 10, &out), 0);
	CHECK_EQ(out.len, 0);
	CHECK_EQ(list_count(be, "locks/"), 1);
	CHECK_EQ(backend_del(be, "locks/empty"), 0);
	buf_release(&out);
}

TEST(large_object)
{
	uint8_t *data = make_data(LARGE_SIZE, 20);
	struct buf out = BUF_INIT;
	uint64_t size = 0;
	char key[160];
	if (!data) {
		CHECK(!"out of memory");
		return;
	}
	make_key(key, sizeof(key), "data", 20, -1);
	CHECK_EQ(backend_put(be, key, data, LARGE_SIZE), 0);
	CHECK_EQ(backend_get(be, key, &out), 0);
	CHECK_EQ(out.len, LARGE_SIZE);
	CHECK(out.len == LARGE_SIZE && !memcmp(out.data, data, LARGE_SIZE));
	CHECK_EQ(backend_stat(be, key, &size), 0);
	CHECK_EQ(size, LARGE_SIZE);
	CHECK_EQ(backend_get_range(be, key, 12345678, 1 << 20, &out), 0);
	CHECK_EQ(out.len, 1 << 20);
	CHECK(out.len == 1 << 20 && !memcmp(out.data, data + 12345678, 1 << 20));
	CHECK_EQ(backend_del(be, key), 0);
	buf_release(&out);
	free(data);
}

TEST(overwrite)
{
	struct buf out = BUF_INIT;
	uint64_t size = 0;
	CHECK_EQ(put_str(be, "index/ow", "the first, longer version"), 0);
	/* a ranged read first, so a cached handle must not outlive the put */
	CHECK_EQ(backend_get_range(be, "index/ow", 4, 5, &out), 0);
	CHECK(out.len == 5 && !memcmp(out.data, "first", 5));
	CHECK_EQ(put_str(be, "index/ow", "second"), 0);
	CHECK(holds(be, "index/ow", "second", 6));
	CHECK_EQ(backend_stat(be, "index/ow", &size), 0);
	CHECK_EQ(size, 6);
	dirty(&out);
	CHECK_EQ(backend_get_range(be, "index/ow", 0, 100, &out), 0);
	CHECK(out.len == 6 && !memcmp(out.data, "second", 6));
	CHECK_EQ(list_count(be, "index/"), 1);
	CHECK_EQ(backend_del(be, "index/ow"), 0);
	buf_release(&out);
}

TEST(missing)
{
	struct buf out = BUF_INIT;
	uint64_t size;
	CHECK_EQ(backend_get(be, "snapshots/nothing", &out), -ENOENT);
	CHECK_EQ(backend_get_range(be, "snapshots/nothing", 0, 1, &out), -ENOENT);
	CHECK_EQ(backend_stat(be, "snapshots/nothing", &size), -ENOENT);
	CHECK_EQ(backend_del(be, "snapshots/nothing"), -ENOENT);
	CHECK_EQ(backend_get(be, "data/zz/nothing", &out), -ENOENT);
	CHECK_EQ(backend_stat(be, "nothing", &size), -ENOENT);
	/* an object's name used as a directory, and a "directory" as a name */
	CHECK_EQ(put_str(be, "data/ab/obj", "x"), 0);
	CHECK_EQ(backend_get(be, "data/ab/obj/below", &out), -ENOENT);
	CHECK_EQ(backend_stat(be, "data/ab/obj/below", &size), -ENOENT);
	CHECK_EQ(backend_get(be, "data/ab", &out), -ENOENT);
	CHECK_EQ(backend_get_range(be, "data/ab", 0, 1, &out), -ENOENT);
	CHECK_EQ(backend_stat(be, "data", &size), -ENOENT);
	CHECK_EQ(backend_del(be, "data/ab"), -ENOENT);
	CHECK_EQ(backend_del(be, "data/ab/obj"), 0);
	buf_release(&out);
}

TEST(ranges)
{
	uint8_t *data = make_data(1000, 7);
	struct buf out = BUF_INIT;
	CHECK_EQ(backend_put(be, "index/r", data, 1000), 0);
	dirty(&out);
	CHECK_EQ(backend_get_range(be, "index/r", 100, 50, &out), 0);
	CHECK(out.len == 50 && !memcmp(out.data, data + 100, 50));
	dirty(&out);
	CHECK_EQ(backend_get_range(be, "index/r", 0, 1000, &out), 0);
	CHECK(out.len == 1000 && !memcmp(out.data, data, 1000));
	dirty(&out);
	CHECK_EQ(backend_get_range(be, "index/r", 990, 50, &out), 0);
	CHECK(out.len == 10 && !memcmp(out.data, data + 990, 10));
	dirty(&out);
	CHECK_EQ(backend_get_range(be, "index/r", 999, 1, &out), 0);
	CHECK(out.len == 1 && out.data[0] == data[999]);
	dirty(&out);
	CHECK_EQ(backend_get_range(be, "index/r", 1000, 10, &out), 0);
	CHECK_EQ(out.len, 0);
	dirty(&out);
	CHECK_EQ(backend_get_range(be, "index/r", 5000, 10, &out), 0);
	CHECK_EQ(out.len, 0);
	dirty(&out);
	CHECK_EQ(backend_get_range(be, "index/r", UINT64_MAX - 5, 10, &out), 0);
	CHECK_EQ(out.len, 0);
	dirty(&out);
	CHECK_EQ(backend_get_range(be, "index/r", 10, 0, &out), 0);
	CHECK_EQ(out.len, 0);
	CHECK_EQ(backend_del(be, "index/r"), 0);
	buf_release(&out);
	free(data);
}

TEST(stat_size)
{
	uint64_t size = 0;
	uint8_t *data = make_data(4097, 8);
	CHECK_EQ(backend_put(be, "snapshots/s", data, 4097), 0);
	CHECK_EQ(backend_stat(be, "snapshots/s", &size), 0);
	CHECK_EQ(size, 4097);
	CHECK_EQ(put_str(be, "snapshots/t", "abc"), 0);
	CHECK_EQ(backend_stat(be, "snapshots/t", &size), 0);
	CHECK_EQ(size, 3);
	CHECK_EQ(backend_del(be, "snapshots/s"), 0);
	CHECK_EQ(backend_del(be, "snapshots/t"), 0);
	free(data);
}

TEST(delete)
{
	struct buf out = BUF_INIT;
	uint64_t size;
	CHECK_EQ(put_str(be, "locks/d", "doomed"), 0);
	CHECK_EQ(put_str(be, "locks/keep", "kept"), 0);
	CHECK_EQ(backend_get_range(be, "locks/d", 0, 3, &out), 0);
	CHECK_EQ(backend_del(be, "locks/d"), 0);
	CHECK_EQ(backend_get(be, "locks/d", &out), -ENOENT);
	CHECK_EQ(backend_get_range(be, "locks/d", 0, 3, &out), -ENOENT);
	CHECK_EQ(backend_stat(be, "locks/d", &size), -ENOENT);
	CHECK_EQ(backend_del(be, "locks/d"), -ENOENT);
	CHECK(holds(be, "locks/keep", "kept", 4));
	CHECK_EQ(list_count(be, "locks/"), 1);
	CHECK_EQ(backend_del(be, "locks/keep"), 0);
	CHECK_EQ(list_count(be, "locks/"), 0);
	buf_release(&out);
}

struct obj {
	char key[160];
	size_t size;
};

/* Lists prefix and checks the result is exactly the objects in o that
 * start with it, each once and with its size; returns how many those are. */
static size_t check_listing(const char *prefix, const struct obj *o, size_t n)
{
	struct seen *s = calloc(1, sizeof(*s));
	size_t want = 0;
	if (!s) {
		CHECK(!"out of memory");
		return 0;
	}
	CHECK_EQ(backend_list(be, prefix, seen_add, s), 0);
	for (size_t i = 0; i < n; i++) {
		uint64_t size = UINT64_MAX;
		int c = seen_count(s, o[i].key, &size);
		if (strncmp(o[i].key, prefix, strlen(prefix))) {
			CHECK_EQ(c, 0);
			continue;
		}
		want++;
		CHECK_EQ(c, 1);
		CHECK_EQ(size, o[i].size);
	}
	CHECK_EQ(s->n, want);
	free(s);
	return want;
}

TEST(list_prefixes)
{
	struct obj o[10];
	char ab_prefix[16], idx_prefix[80], long_prefix[170];
	size_t n = 0;
	for (int i = 0; i < 5; i++, n++) {
		make_key(o[n].key, sizeof(o[n].key), "data", 100 + i, i < 3 ? 0xab : 0xcd);
		o[n].size = 10 + i;
	}
	for (int i = 0; i < 3; i++, n++) {
		make_key(o[n].key, sizeof(o[n].key), "index", 200 + i, i < 2 ? 0x12 : 0x34);
		o[n].size = 20 + i;
	}
	snprintf(o[n].key, sizeof(o[n].key), "config");
	o[n++].size = 7;
	for (size_t i = 0; i < n; i++) {
		uint8_t *d = make_data(o[i].size, i);
		CHECK_EQ(backend_put(be, o[i].key, d, o[i].size), 0);
		free(d);
	}
	snprintf(ab_prefix, sizeof(ab_prefix), "data/ab/");
	snprintf(idx_prefix, sizeof(idx_prefix), "index/12");
	CHECK_EQ(check_listing("", o, n), 9);
	CHECK_EQ(check_listing("data/", o, n), 5);
	CHECK_EQ(check_listing("index/", o, n), 3);
	CHECK_EQ(check_listing(ab_prefix, o, n), 3);
	CHECK_EQ(check_listing("data/cd", o, n), 2);
	CHECK_EQ(check_listing(idx_prefix, o, n), 2);
	CHECK_EQ(check_listing("d", o, n), 5);
	CHECK_EQ(check_listing("config", o, n), 1);
	CHECK_EQ(check_listing("conf", o, n), 1);
	CHECK_EQ(check_listing(o[0].key, o, n), 1);
	CHECK_EQ(check_listing("snapshots/", o, n), 0);
	CHECK_EQ(check_listing("data/ef/", o, n), 0);
	CHECK_EQ(check_listing("zzz", o, n), 0);
	/* keys that are a proper prefix of the prefix do not match it */
	CHECK_EQ(check_listing("configs", o, n), 0);
	snprintf(long_prefix, sizeof(long_prefix), "%s0", o[0].key);
	CHECK_EQ(check_listing(long_prefix, o, n), 0);

	/* a nonzero return stops the listing and is passed back */
	struct seen *s = calloc(1, sizeof(*s));
	if (s) {
		s->stop_at = 2;
		CHECK_EQ(backend_list(be, "", seen_add, s), 42);
		CHECK_EQ(s->n, 2);
		free(s);
	}
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(backend_del(be, o[i].key), 0);
	CHECK_EQ(list_count(be, ""), 0);
}

TEST(invalid_keys)
{
	static const char *const bad[] = {
		"../x", "/abs", "a//b", "a/./b", "", "a/../b", "..", ".", "a/",
		"a b", "a\\b", "x/..", "./x",
	};
	struct buf out = BUF_INIT;
	uint64_t size;
	size_t n = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *k = bad[i];
		int r;
		CHECK_EQ(r = put_str(be, k, "x"), -EINVAL);
		if (r != -EINVAL)
			fprintf(stderr, "  key \"%s\"\n", k);
		CHECK_EQ(backend_get(be, k, &out), -EINVAL);
		CHECK_EQ(backend_get_range(be, k, 0, 1, &out), -EINVAL);
		CHECK_EQ(backend_stat(be, k, &size), -EINVAL);
		CHECK_EQ(backend_del(be, k), -EINVAL);
	}
	CHECK_EQ(backend_list(be, "../", count_keys, &n), -EINVAL);
	CHECK_EQ(backend_list(be, "/", count_keys, &n), -EINVAL);
	CHECK_EQ(backend_list(be, "a//", count_keys, &n), -EINVAL);
	CHECK_EQ(n, 0);
	CHECK_EQ(list_count(be, ""), 0); /* nothing was stored */
	buf_release(&out);
}

/* ---- concurrency ---- */

static uint8_t *shared_data;

struct worker {
	pthread_t th;
	int id;
	int errors;
};

static size_t object_size(uint64_t seed)
{
	return (size_t)(seed * 7919 % 70000);
}

static void work_one(struct worker *w, int i, struct buf *out)
{
	uint64_t seed = 1000 + (uint64_t)w->id * 100 + (uint64_t)i;
	size_t size = object_size(seed);
	uint8_t *data = make_data(size, seed);
	char key[160];
	make_key(key, sizeof(key), i % 2 ? "data" : "snapshots", seed, -1);
	if (!data || backend_put(be, key, data, size) != 0) {
		w->errors++;
		free(data);
		return;
	}
	if (!holds(be, key, data, size))
		w->errors++;
	size_t off = size / 3, len = size - off < 100 ? size - off : 100;
	if (backend_get_range(be, key, off, 100, out) != 0 || out->len != len ||
	    (len && memcmp(out->data, data + off, len)))
		w->errors++;
	free(data);
}

static void *put_get_worker(void *arg)
{
	struct worker *w = arg;
	struct buf out = BUF_INIT;
	char key[160];
	uint64_t size;
	for (int i = 0; i < N_OBJECTS; i++)
		work_one(w, i, &out);
	for (int i = 0; i < N_OBJECTS; i++) {
		uint64_t seed = 1000 + (uint64_t)w->id * 100 + (uint64_t)i;
		make_key(key, sizeof(key), i % 2 ? "data" : "snapshots", seed, -1);
		if (backend_stat(be, key, &size) != 0 || size != object_size(seed))
			w->errors++;
		if (backend_del(be, key) != 0 || backend_stat(be, key, &size) != -ENOENT)
			w->errors++;
	}
	buf_release(&out);
	return NULL;
}

static void *range_worker(void *arg)
{
	struct worker *w = arg;
	struct buf out = BUF_INIT;
	uint64_t s = (uint64_t)w->id;
	for (int i = 0; i < 300; i++) {
		size_t off = rnd_next(&s) % (SHARED_SIZE + 100);
		size_t len = rnd_next(&s) % 70000;
		size_t want = off >= SHARED_SIZE ? 0 :
			      len < SHARED_SIZE - off ? len : SHARED_SIZE - off;
		if (backend_get_range(be, "index/shared", off, len, &out) != 0 ||
		    out.len != want ||
		    (want && memcmp(out.data, shared_data + off, want)))
			w->errors++;
	}
	buf_release(&out);
	return NULL;
}

TEST(concurrent)
{
	struct worker w[N_THREADS + N_RANGE_THREADS];
	int started = 0, errors = 0;
	shared_data = make_data(SHARED_SIZE, 77);
	if (!shared_data) {
		CHECK(!"out of memory");
		return;
	}
	CHECK_EQ(backend_put(be, "index/shared", shared_data, SHARED_SIZE), 0);
	for (int i = 0; i < N_THREADS + N_RANGE_THREADS; i++) {
		w[i].id = i;
		w[i].errors = 0;
		if (pthread_create(&w[i].th, NULL,
				   i < N_THREADS ? put_get_worker : range_worker,
				   &w[i]) != 0)
			break;
		started++;
	}
	CHECK_EQ(started, N_THREADS + N_RANGE_THREADS);
	for (int i = 0; i < started; i++) {
		pthread_join(w[i].th, NULL);
		errors += w[i].errors;
	}
	CHECK_EQ(errors, 0);
	CHECK_EQ(backend_del(be, "index/shared"), 0);
	CHECK_EQ(list_count(be, ""), 0);
	free(shared_data);
}

/* Version v of the object "atomic": 4096 + 16 v bytes, all equal to v. */
static size_t version_size(uint8_t v)
{
	return 4096 + 16 * (size_t)v;
}

static void *overwrite_writer(void *arg)
{
	struct worker *w = arg;
	uint8_t *p = malloc(version_size(255));
	for (int i = 0; p && i < 20; i++) {
		uint8_t v = (uint8_t)(w->id * 20 + i);
		memset(p, v, version_size(v));
		if (backend_put(be, "locks/atomic", p, version_size(v)) != 0)
			w->errors++;
	}
	w->errors += !p;
	free(p);
	return NULL;
}

/* A reader must see some whole version, never a mix or a part. */
static int version_ok(const struct buf *out)
{
	if (!out->len || out->len != version_size(out->data[0]))
		return 0;
	for (size_t i = 0; i < out->len; i++)
		if (out->data[i] != out->data[0])
			return 0;
	return 1;
}

static void *overwrite_reader(void *arg)
{
	struct worker *w = arg;
	struct buf out = BUF_INIT;
	for (int i = 0; i < 200; i++) {
		int r = i % 2 ? backend_get(be, "locks/atomic", &out) :
			backend_get_range(be, "locks/atomic", 0, 8192, &out);
		if (r != 0 || !version_ok(&out))
			w->errors++;
	}
	buf_release(&out);
	return NULL;
}

TEST(concurrent_overwrite)
{
	struct worker w[6];
	int started = 0, errors = 0;
	uint8_t v0[4096];
	memset(v0, 0, sizeof(v0));
	CHECK_EQ(backend_put(be, "locks/atomic", v0, sizeof(v0)), 0);
	for (int i = 0; i < 6; i++) {
		w[i].id = i;
		w[i].errors = 0;
		if (pthread_create(&w[i].th, NULL,
				   i < 4 ? overwrite_writer : overwrite_reader,
				   &w[i]) != 0)
			break;
		started++;
	}
	CHECK_EQ(started, 6);
	for (int i = 0; i < started; i++) {
		pthread_join(w[i].th, NULL);
		errors += w[i].errors;
	}
	CHECK_EQ(errors, 0);
	CHECK_EQ(backend_del(be, "locks/atomic"), 0);
}

TEST(ends_empty)
{
	CHECK_EQ(list_count(be, ""), 0);
}

static void run_suite(struct backend *b)
{
	be = b;
	printf("# suite: %s (%s)\n", b->url, b->ops->name);
	RUN(starts_empty);
	RUN(round_trip);
	RUN(empty_object);
	RUN(large_object);
	RUN(overwrite);
	RUN(missing);
	RUN(ranges);
	RUN(stat_size);
	RUN(delete);
	RUN(list_prefixes);
	RUN(invalid_keys);
	RUN(concurrent);
	RUN(concurrent_overwrite);
	RUN(ends_empty);
}

/* ---- the fault layer ---- */

static struct backend *fault_over(const char *spec)
{
	int err = 0;
	struct backend *in = backend_file_new(fault_dir, 1, &err);
	struct backend *f = in ? backend_fault_new(in, spec, &err) : NULL;
	if (!f) {
		fprintf(stderr, "fault layer \"%s\": %s\n", spec, strerror(-err));
		backend_free(in);
	}
	return f;
}

TEST(fault_put_once)
{
	struct backend *f = fault_over("put@2");
	uint64_t size;
	if (!f) {
		CHECK(f);
		return;
	}
	CHECK_EQ(put_str(f, "po/a", "1"), 0);
	CHECK_EQ(put_str(f, "po/b", "2"), -EIO);
	CHECK_EQ(backend_stat(f->inner, "po/b", &size), -ENOENT);
	CHECK_EQ(list_count(f->inner, "po/"), 1);
	CHECK_EQ(put_str(f, "po/c", "3"), 0);
	CHECK_EQ(put_str(f, "po/b", "4"), 0);
	CHECK(holds(f->inner, "po/b", "4", 1));
	CHECK_EQ(list_count(f, "po/"), 3);
	CHECK_EQ(backend_del(f, "po/a"), 0);
	CHECK_EQ(backend_del(f, "po/b"), 0);
	CHECK_EQ(backend_del(f, "po/c"), 0);
	backend_free(f);
}

TEST(fault_put_onward)
{
	struct backend *f = fault_over("put@2+");
	char key[32];
	if (!f) {
		CHECK(f);
		return;
	}
	CHECK_EQ(put_str(f, "pf/0", "0"), 0);
	for (int i = 1; i < 6; i++) {
		snprintf(key, sizeof(key), "pf/%d", i);
		CHECK_EQ(put_str(f, key, "x"), -EIO);
	}
	CHECK_EQ(list_count(f->inner, "pf/"), 1);
	CHECK(holds(f, "pf/0", "0", 1)); /* other operations still work */
	CHECK_EQ(backend_del(f, "pf/0"), 0);
	backend_free(f);
}

TEST(fault_errno)
{
	static const struct {
		const char *name;
		int err;
	} names[] = {
		{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "ETIMEDOUT", ETIMEDOUT },
		{ "ECONNRESET", ECONNRESET }, { "EACCES", EACCES },
		{ "ENOENT", ENOENT }, { "EAGAIN", EAGAIN },
	};
	struct backend *f = fault_over("get@1=ENOSPC,stat@2=ETIMEDOUT");
	struct buf out = BUF_INIT;
	uint64_t size;
	char spec[64];
	if (!f) {
		CHECK(f);
		return;
	}
	CHECK_EQ(put_str(f, "fe", "data"), 0);
	CHECK_EQ(backend_get(f, "fe", &out), -ENOSPC);
	CHECK(holds(f, "fe", "data", 4));
	CHECK_EQ(backend_stat(f, "fe", &size), 0);
	CHECK_EQ(backend_stat(f, "fe", &size), -ETIMEDOUT);
	CHECK_EQ(backend_stat(f, "fe", &size), 0);
	backend_free(f);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(spec, sizeof(spec), "get_range@1=%s", names[i].name);
		if (!(f = fault_over(spec))) {
			CHECK(f);
			continue;
		}
		CHECK_EQ(backend_get_range(f, "fe", 0, 4, &out), -names[i].err);
		CHECK_EQ(backend_get_range(f, "fe", 0, 4, &out), 0);
		backend_free(f);
	}
	if ((f = fault_over("del@1=EACCES,list@1=ECONNRESET"))) {
		size_t n = 0;
		CHECK_EQ(backend_list(f, "", count_keys, &n), -ECONNRESET);
		CHECK_EQ(n, 0);
		CHECK_EQ(list_count(f, ""), 1);
		CHECK_EQ(backend_del(f, "fe"), -EACCES);
		CHECK_EQ(backend_del(f, "fe"), 0);
		backend_free(f);
	}
	buf_release(&out);
}

TEST(fault_flip)
{
	uint8_t *data = make_data(1000, 3);
	struct backend *f = fault_over("flip@1");
	struct buf out = BUF_INIT;
	if (!f || !data) {
		CHECK(f && data);
		goto out;
	}
	CHECK_EQ(backend_put(f, "ff", data, 1000), 0);
	CHECK_EQ(backend_get(f, "ff", &out), 0);
	CHECK_EQ(out.len, 1000);
	CHECK(out.len == 1000 && count_diff(out.data, data, 1000) == 1);
	CHECK(holds(f, "ff", data, 1000));
	CHECK(holds(f->inner, "ff", data, 1000)); /* the stored copy is intact */
	backend_free(f);

	/* get and get_range share the count */
	if (!(f = fault_over("flip@2"))) {
		CHECK(f);
		goto out;
	}
	CHECK(holds(f, "ff", data, 1000));
	CHECK_EQ(backend_get_range(f, "ff", 100, 200, &out), 0);
	CHECK(out.len == 200 && count_diff(out.data, data + 100, 200) == 1);
	CHECK_EQ(backend_get_range(f, "ff", 100, 200, &out), 0);
	CHECK(out.len == 200 && count_diff(out.data, data + 100, 200) == 0);
	CHECK_EQ(backend_del(f, "ff"), 0);
out:
	backend_free(f);
	buf_release(&out);
	free(data);
}

TEST(fault_any)
{
	struct backend *f = fault_over("any@3");
	struct buf out = BUF_INIT;
	uint64_t size;
	if (!f) {
		CHECK(f);
		return;
	}
	CHECK_EQ(put_str(f, "fa", "x"), 0);
	CHECK_EQ(backend_stat(f, "fa", &size), 0);
	CHECK_EQ(backend_get(f, "fa", &out), -EIO);
	CHECK_EQ(backend_get(f, "fa", &out), 0);
	CHECK_EQ(backend_del(f, "fa"), 0);
	backend_free(f);
	buf_release(&out);
}

TEST(fault_delay)
{
	struct backend *f = fault_over("delay=50");
	uint64_t size;
	if (!f) {
		CHECK(f);
		return;
	}
	double t0 = now_ms();
	CHECK_EQ(backend_stat(f, "fd", &size), -ENOENT);
	double t1 = now_ms();
	CHECK(t1 - t0 >= 50.0);
	CHECK(t1 - t0 < 5000.0);
	backend_free(f);
}

struct counter_arg {
	pthread_t th;
	struct backend *f;
	int fails;
};

static void *stat_many(void *arg)
{
	struct counter_arg *a = arg;
	uint64_t size;
	for (int i = 0; i < 50; i++)
		a->fails += backend_stat(a->f, "fc", &size) != 0;
	return NULL;
}

/* The counters are shared by all threads: exactly the calls numbered by the
 * rules fail, however the threads interleave. */
TEST(fault_threads)
{
	static const char *const specs[] = { "stat@37", "stat@101+" };
	static const int want[] = { 1, 400 - 100 };
	for (int s = 0; s < 2; s++) {
		struct counter_arg a[8];
		struct backend *f = fault_over(specs[s]);
		int fails = 0, started = 0;
		if (!f) {
			CHECK(f);
			continue;
		}
		CHECK_EQ(put_str(f->inner, "fc", "x"), 0);
		for (int i = 0; i < 8; i++) {
			a[i].f = f;
			a[i].fails = 0;
			if (pthread_create(&a[i].th, NULL, stat_many, &a[i]) != 0)
				break;
			started++;
		}
		CHECK_EQ(started, 8);
		for (int i = 0; i < started; i++) {
			pthread_join(a[i].th, NULL);
			fails += a[i].fails;
		}
		CHECK_EQ(fails, want[s]);
		CHECK_EQ(backend_del(f->inner, "fc"), 0);
		backend_free(f);
	}
}

TEST(fault_specs)
{
	static const char *const bad[] = {
		"put", "put@", "put@0", "put@x", "put@1x", "put@-1", "put@1++",
		"bogus@1", "@1", "Put@1", "put@1=", "put@1=EBOGUS", "put@1=eio",
		"flip@1=EIO", "delay=", "delay=x", "delay=-5", "delay=5ms",
		"delay", "put@1,", ",put@1", "put@1,,get@2", ",",
		"put@99999999999999999999999", "delay=99999999999", "put@1 ",
	};
	static const char *const good[] = {
		"", "put@1", "get@2+", "get_range@3=ETIMEDOUT", "any@5=ECONNRESET",
		"flip@3", "flip@3+", "delay=0", "list@1,del@2=EAGAIN,stat@3+=ENOENT",
		"put@18446744073709551615",
	};
	int err = 0;
	struct backend *in = backend_file_new(fault_dir, 1, &err);
	if (!in) {
		CHECK(in);
		return;
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = 0;
		struct backend *f = backend_fault_new(in, bad[i], &err);
		CHECK(!f);
		CHECK_EQ(err, -EINVAL);
		if (f || err != -EINVAL)
			fprintf(stderr, "  spec \"%s\"\n", bad[i]);
		if (f) {
			f->inner = NULL; /* keep in for the next spec */
			backend_free(f);
		}
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct backend *f = backend_fault_new(in, good[i], &err);
		CHECK(f);
		if (!f)
			fprintf(stderr, "  spec \"%s\"\n", good[i]);
		if (f) {
			CHECK_STR(f->url, in->url);
			f->inner = NULL;
			backend_free(f);
		}
	}
	err = 0;
	CHECK(!backend_fault_new(NULL, "", &err));
	CHECK_EQ(err, -EINVAL);
	backend_free(in);
}

/* ---- backend_open ---- */

/* Opens url and checks the result: its URL, or the error. */
static void check_open(const char *url, int create, int want_err,
		       const char *want_url)
{
	int err = 0;
	struct backend *b = create ? backend_open_create(url, &err) :
			    backend_open(url, &err);
	CHECK_EQ(b ? 0 : err, want_err);
	if (b && want_url)
		CHECK_STR(b->url, want_url);
	if ((b ? 0 : err) != want_err || (b && want_url && strcmp(b->url, want_url)))
		fprintf(stderr, "  url \"%s\" gave %s\n", url, b ? b->url : strerror(-err));
	backend_free(b);
}

TEST(open_urls)
{
	char url[4200], want[4300], file[4200];
	int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *base = strrchr(fault_dir, '/') + 1;
	snprintf(want, sizeof(want), "file://%s", fault_dir);
	snprintf(url, sizeof(url), "file://%s", fault_dir);
	check_open(url, 0, 0, want);
	snprintf(url, sizeof(url), "FILE://%s", fault_dir);
	check_open(url, 0, 0, want);
	check_open(fault_dir, 0, 0, want);
	snprintf(url, sizeof(url), "%s//./", fault_dir);
	check_open(url, 0, 0, want);
	/* relative paths are taken from the cwd */
	CHECK_EQ(chdir("/tmp"), 0);
	check_open(base, 0, 0, want);
	snprintf(url, sizeof(url), "./%s/", base);
	check_open(url, 0, 0, want);
	if (cwd >= 0)
		CHECK_EQ(fchdir(cwd), 0);

	check_open("", 0, -EINVAL, NULL);
	check_open("file://relative/dir", 0, -EINVAL, NULL);
	check_open("file://", 0, -EINVAL, NULL);
	check_open("s3://bucket/prefix", 0, -EPROTONOSUPPORT, NULL);
	check_open("s3://bucket/prefix", 1, -EPROTONOSUPPORT, NULL);
	check_open("ftp://host/dir", 0, -EINVAL, NULL);
	check_open("sftp://host/dir", 1, -EINVAL, NULL);

	/* missing directories: only created on request */
	snprintf(url, sizeof(url), "%s/new/a/b", fault_dir);
	snprintf(want, sizeof(want), "file://%s", url);
	check_open(url, 0, -ENOENT, NULL);
	check_open(url, 1, 0, want);
	check_open(url, 0, 0, want);
	snprintf(file, sizeof(file), "%s/new/plain", fault_dir);
	CHECK_EQ(write_file_atomic(file, "x", 1, 0600), 0);
	check_open(file, 0, -ENOTDIR, NULL);
	check_open(file, 1, -ENOTDIR, NULL);
	unlink(file);
	if (cwd >= 0)
		close(cwd);
}

TEST(open_fault_env)
{
	int err = 0;
	uint64_t size;
	setenv("CAIRN_FAULT", "put@1", 1);
	struct backend *b = backend_open(fault_dir, &err);
	CHECK(b);
	if (b) {
		CHECK_STR(b->ops->name, "fault");
		CHECK(b->inner && !strcmp(b->inner->ops->name, "file"));
		CHECK_EQ(put_str(b, "env", "x"), -EIO);
		CHECK_EQ(backend_stat(b, "env", &size), -ENOENT);
		backend_free(b);
	}
	setenv("CAIRN_FAULT", "nonsense", 1);
	err = 0;
	CHECK(!backend_open(fault_dir, &err));
	CHECK_EQ(err, -EINVAL);
	setenv("CAIRN_FAULT", "", 1);
	b = backend_open(fault_dir, &err);
	CHECK(b && !strcmp(b->ops->name, "file"));
	backend_free(b);
	unsetenv("CAIRN_FAULT");
}

/* ---- the file backend's own behaviour ---- */

static const char *file_dir; /* root of the file backend under test */

static char *under(const char *rel)
{
	return path_join(file_dir, rel);
}

TEST(file_layout)
{
	struct buf out = BUF_INIT;
	char *path = under("data/ab/cdef");
	CHECK_EQ(put_str(be, "data/ab/cdef", "pack bytes"), 0);
	CHECK_EQ(read_file(path, &out, 1 << 20), 0);
	CHECK(out.len == 10 && !memcmp(out.data, "pack bytes", 10));
	CHECK_EQ(backend_del(be, "data/ab/cdef"), 0);
	CHECK_EQ(access(path, F_OK), -1);
	free(path);
	buf_release(&out);
}

TEST(file_hides_strays)
{
	/* a put's temp file, a name no key has, a temp file at the top */
	static const char *const strays[] = {
		"data/ab/0123.tmp-00112233aabbccdd", "index/has space",
		"config.tmp-1",
	};
	char *dirs[] = { under("data/ab"), under("index") };
	for (size_t i = 0; i < 2; i++) {
		CHECK(dirs[i] && mkdir_p(dirs[i], 0700) == 0);
		free(dirs[i]);
	}
	for (size_t i = 0; i < 3; i++) {
		char *path = under(strays[i]);
		CHECK(path && write_file_atomic(path, "junk", 4, 0600) == 0);
		free(path);
	}
	CHECK_EQ(put_str(be, "index/real", "r"), 0);
	CHECK_EQ(list_count(be, ""), 1);
	CHECK_EQ(list_count(be, "data/"), 0);
	CHECK_EQ(list_count(be, "index/"), 1);
	CHECK_EQ(backend_del(be, "index/real"), 0);
	for (size_t i = 0; i < 3; i++) {
		char *path = under(strays[i]);
		CHECK_EQ(unlink(path), 0);
		free(path);
	}
}

static int temp_files;

static int find_temp(const char *path, const struct stat *st, int type,
		     struct FTW *ftw)
{
	temp_files += strstr(path, ".tmp-") != NULL;
	return 0;
}

TEST(file_no_temp_left)
{
	temp_files = 0;
	CHECK_EQ(nftw(file_dir, find_temp, 16, FTW_PHYS), 0);
	CHECK_EQ(temp_files, 0);
}

TEST(file_dir_removed)
{
	/* a directory the backend knows of vanishes behind its back */
	char *dir = under("snapshots");
	CHECK_EQ(put_str(be, "snapshots/one", "1"), 0);
	CHECK_EQ(backend_del(be, "snapshots/one"), 0);
	CHECK_EQ(rmdir(dir), 0);
	CHECK_EQ(put_str(be, "snapshots/two", "2"), 0);
	CHECK(holds(be, "snapshots/two", "2", 1));
	CHECK_EQ(backend_del(be, "snapshots/two"), 0);
	free(dir);
}

TEST(file_many_ranges)
{
	/* more objects than cached fds, read repeatedly and then replaced */
	char key[64], val[32];
	struct buf out = BUF_INIT;
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 80; i++) {
			snprintf(key, sizeof(key), "index/m%02d", i);
			snprintf(val, sizeof(val), "%d-%d", round, i);
			CHECK_EQ(put_str(be, key, val), 0);
		}
		for (int pass = 0; pass < 3; pass++) {
			for (int i = 0; i < 80; i++) {
				snprintf(key, sizeof(key), "index/m%02d", i);
				snprintf(val, sizeof(val), "%d-%d", round, i);
				CHECK_EQ(backend_get_range(be, key, 0, 20, &out), 0);
				CHECK(out.len == strlen(val) &&
				      !memcmp(out.data, val, out.len));
			}
		}
	}
	for (int i = 0; i < 80; i++) {
		snprintf(key, sizeof(key), "index/m%02d", i);
		CHECK_EQ(backend_del(be, key), 0);
	}
	buf_release(&out);
}

static void run_file_tests(struct backend *b, const char *dir)
{
	be = b;
	file_dir = dir;
	RUN(file_layout);
	RUN(file_hides_strays);
	RUN(file_dir_removed);
	RUN(file_many_ranges);
	RUN(file_no_temp_left);
}

/* ---- the cache layer ---- */

static const char *cache_dir;   /* the cache layer's directory */

/* file backend in fault_dir, an optional fault layer (spec), the cache. */
static struct backend *cache_over(const char *spec, uint64_t cap)
{
	int err = 0;
	struct backend *b = backend_file_new(fault_dir, 1, &err);
	if (b && spec) {
		struct backend *f = backend_fault_new(b, spec, &err);
		if (!f)
			backend_free(b);
		b = f;
	}
	struct backend *c = b ? backend_cache_new(b, cache_dir, cap, &err) : NULL;
	if (!c) {
		fprintf(stderr, "cache layer: %s\n", strerror(-err));
		backend_free(b);
	}
	return c;
}

static struct backend_cache_stats cstats(struct backend *c)
{
	struct backend_cache_stats st;
	backend_cache_stats(c, &st);
	return st;
}

/* Calls fn on the path of every entry file in the cache directory;
 * returns how many there are. */
static int each_entry(void (*fn)(const char *path, void *ctx), void *ctx)
{
	int n = 0;
	DIR *d = opendir(cache_dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char path[4096];
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "lock"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", cache_dir, de->d_name);
		fn(path, ctx);
		n++;
	}
	if (d)
		closedir(d);
	return n;
}

static void add_size(const char *path, void *ctx)
{
	struct stat st;
	if (stat(path, &st) == 0)
		*(uint64_t *)ctx += (uint64_t)st.st_size;
}

/* Bytes of the entry files in the cache directory. */
static uint64_t cache_dir_bytes(int *files)
{
	uint64_t total = 0;
	*files = each_entry(add_size, &total);
	return total;
}

/* Does get_range(key, off, len) through b give want[off..off+len)? */
static int range_is(struct backend *b, const char *key, const uint8_t *want,
		    uint64_t off, size_t len)
{
	struct buf out = BUF_INIT;
	int ok = backend_get_range(b, key, off, len, &out) == 0 && out.len == len &&
		 memcmp(out.data, want + off, len) == 0;
	buf_release(&out);
	return ok;
}

TEST(cache_serves_repeats)
{
	struct backend *c = cache_over(NULL, 64 << 20);
	size_t n = 3 << 20;
	uint8_t *d = make_data(n, 71), *d2 = make_data(n, 72);
	char key[96];
	make_key(key, sizeof(key), "data", 71, -1);
	if (!c || !d || !d2) {
		CHECK(c && d && d2);
		goto out;
	}
	CHECK_EQ(backend_put(c, key, d, n), 0);
	CHECK(range_is(c, key, d, 1000, 1 << 20));
	CHECK(cstats(c).misses == 1 && cstats(c).stored == 1 && cstats(c).hits == 0);
	CHECK(range_is(c, key, d, 1000, 1 << 20));
	CHECK(cstats(c).hits == 1);
	/* a hit does not touch the destination: packs never change there, so
	 * the cache may keep serving what it read */
	CHECK_EQ(backend_put(c->inner, key, d2, n), 0);
	CHECK(range_is(c, key, d, 1000, 1 << 20));
	/* a put through the layer forgets the key's ranges */
	CHECK_EQ(backend_put(c, key, d2, n), 0);
	CHECK(range_is(c, key, d2, 1000, 1 << 20));
	/* short reads at the end and other folders are not kept */
	uint64_t stored = cstats(c).stored;
	struct buf out = BUF_INIT;
	CHECK_EQ(backend_get_range(c, key, n - 10, 100, &out), 0);
	CHECK_EQ(out.len, 10);
	CHECK_EQ(put_str(c, "index/cache1", "0123456789"), 0);
	CHECK_EQ(backend_get_range(c, "index/cache1", 2, 4, &out), 0);
	CHECK_EQ(backend_get_range(c, "index/cache1", 2, 4, &out), 0);
	CHECK(out.len == 4 && !memcmp(out.data, "2345", 4));
	CHECK_EQ(cstats(c).stored, stored);
	buf_release(&out);
	CHECK_EQ(backend_del(c, "index/cache1"), 0);
	CHECK_EQ(backend_del(c, key), 0);
	CHECK_EQ(cstats(c).entries, 0);
out:
	backend_free(c);
	free(d);
	free(d2);
}

TEST(cache_evicts_oldest)
{
	uint64_t cap = 1 << 20;
	struct backend *c = cache_over(NULL, cap);
	size_t n = 4 << 20, piece = 200 << 10;
	uint8_t *d = make_data(n, 73);
	char key[96];
	int files;
	make_key(key, sizeof(key), "data", 73, -1);
	if (!c || !d) {
		CHECK(c && d);
		goto out;
	}
	CHECK_EQ(backend_put(c, key, d, n), 0);
	for (int i = 0; i < 12; i++)
		CHECK(range_is(c, key, d, (uint64_t)i * piece, piece));
	struct backend_cache_stats st = cstats(c);
	CHECK(st.evicted >= 7 && st.bytes <= cap);
	CHECK(cache_dir_bytes(&files) <= cap);
	CHECK_EQ((uint64_t)files, st.entries);
	/* the newest is still there, the oldest is not */
	CHECK(range_is(c, key, d, 11 * piece, piece));
	CHECK_EQ(cstats(c).hits, st.hits + 1);
	CHECK(range_is(c, key, d, 0, piece));
	CHECK_EQ(cstats(c).misses, st.misses + 1);
	/* a range larger than the whole cache is read, never kept */
	uint64_t stored = cstats(c).stored;
	CHECK(range_is(c, key, d, 0, 2 << 20));
	CHECK_EQ(cstats(c).stored, stored);
	CHECK_EQ(backend_del(c, key), 0);
out:
	backend_free(c);
	free(d);
}

/* Flips a byte in the middle of an entry file. */
static void damage(const char *path, void *ctx)
{
	int fd = open(path, O_RDWR);
	struct stat st;
	uint8_t byte;
	if (fd >= 0 && fstat(fd, &st) == 0 && pread(fd, &byte, 1, st.st_size / 2) == 1) {
		byte ^= 0x40;
		*(int *)ctx += pwrite(fd, &byte, 1, st.st_size / 2) == 1;
	}
	if (fd >= 0)
		close(fd);
}

static int damage_entries(void)
{
	int damaged = 0;
	each_entry(damage, &damaged);
	return damaged;
}

TEST(cache_damaged_entry)
{
	struct backend *c = cache_over(NULL, 64 << 20);
	size_t n = 1 << 20;
	uint8_t *d = make_data(n, 74);
	char key[96];
	make_key(key, sizeof(key), "data", 74, -1);
	if (!c || !d) {
		CHECK(c && d);
		goto out;
	}
	CHECK_EQ(backend_put(c, key, d, n), 0);
	CHECK(range_is(c, key, d, 4096, 500000));
	CHECK_EQ(damage_entries(), 1);
	log_set_level(LOG_ERROR); /* the warning is expected */
	CHECK(range_is(c, key, d, 4096, 500000));
	log_set_level(LOG_INFO);
	CHECK_EQ(cstats(c).damaged, 1);
	CHECK_EQ(cstats(c).stored, 2); /* read again and kept again */
	CHECK(range_is(c, key, d, 4096, 500000));
	CHECK_EQ(cstats(c).hits, 1);
	CHECK_EQ(backend_del(c, key), 0);
out:
	backend_free(c);
	free(d);
}

TEST(cache_survives_restart)
{
	struct backend *c = cache_over(NULL, 64 << 20);
	size_t n = 2 << 20;
	uint8_t *d = make_data(n, 75);
	char key[96];
	make_key(key, sizeof(key), "data", 75, -1);
	if (!c || !d) {
		CHECK(c && d);
		goto out;
	}
	CHECK_EQ(backend_put(c, key, d, n), 0);
	CHECK(range_is(c, key, d, 0, 300000));
	CHECK(range_is(c, key, d, 300000, 300000));
	/* while it is open the directory is taken */
	int err = 0;
	struct backend *in = backend_file_new(fault_dir, 0, &err);
	struct backend *other = in ? backend_cache_new(in, cache_dir, 1 << 20, &err) : NULL;
	CHECK(!other);
	CHECK_EQ(err, -EBUSY);
	backend_free(other ? other : in);
	backend_free(c);

	/* reopened over a destination whose every ranged read fails: the two
	 * kept ranges are still served, a third is not */
	c = cache_over("get_range@1+", 64 << 20);
	if (!c) {
		CHECK(c);
		goto out;
	}
	CHECK_EQ(cstats(c).entries, 2);
	CHECK(range_is(c, key, d, 300000, 300000));
	CHECK(range_is(c, key, d, 0, 300000));
	struct buf out = BUF_INIT;
	CHECK_EQ(backend_get_range(c, key, 600000, 1000, &out), -EIO);
	buf_release(&out);
	backend_free(c);

	/* a smaller cap drops the oldest used at start */
	c = cache_over(NULL, 400000);
	if (!c) {
		CHECK(c);
		goto out;
	}
	CHECK_EQ(cstats(c).entries, 1);
	CHECK(range_is(c, key, d, 0, 300000));
	CHECK_EQ(cstats(c).hits, 1);
	CHECK_EQ(backend_del(c, key), 0);
out:
	backend_free(c);
	free(d);
}

TEST(cache_is_local)
{
	struct backend *c = cache_over("", 1 << 20);
	CHECK(c && backend_is_local(c) && backend_is_local(c->inner));
	backend_free(c);
}

/* ---- main ---- */

static void suite_on_url(const char *url)
{
	int err = 0;
	struct backend *b = backend_open(url, &err);
	if (!b) {
		printf("not ok - open %s: %s\n", url, strerror(-err));
		h_tests_failed++;
		return;
	}
	run_suite(b);
	backend_free(b);
}

/* A file backend in a fresh directory, with the fault layer spec on top
 * (NULL: none), or the cache layer if spec is "cache". */
static void suite_on_tmp(const char *spec)
{
	char *dir = test_tmpdir();
	char *cdir = test_tmpdir();
	int err = 0;
	struct backend *b = dir ? backend_file_new(dir, 0, &err) : NULL;
	if (b && spec) {
		struct backend *f = !strcmp(spec, "cache")
			? backend_cache_new(b, cdir, 64 << 20, &err)
			: backend_fault_new(b, spec, &err);
		if (!f)
			backend_free(b);
		b = f;
	}
	if (!b) {
		printf("not ok - backend in %s: %s\n", dir ? dir : "(no dir)",
		       strerror(-err));
		h_tests_failed++;
	} else {
		run_suite(b);
		if (!spec)
			run_file_tests(b, dir);
		backend_free(b);
	}
	test_rmtree(dir);
	free(dir);
	test_rmtree(cdir);
	free(cdir);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			suite_on_url(argv[i]);
		HARNESS_DONE();
	}
	unsetenv("CAIRN_FAULT");
	suite_on_tmp(NULL);
	suite_on_tmp("");
	suite_on_tmp("cache");

	char *dir = test_tmpdir();
	if (!dir) {
		printf("not ok - no temporary directory\n");
		return 1;
	}
	fault_dir = dir;
	printf("# fault layer and backend_open\n");
	RUN(fault_put_once);
	RUN(fault_put_onward);
	RUN(fault_errno);
	RUN(fault_flip);
	RUN(fault_any);
	RUN(fault_delay);
	RUN(fault_threads);
	RUN(fault_specs);
	RUN(open_urls);
	RUN(open_fault_env);

	printf("# cache layer\n");
	char *cdir = test_tmpdir();
	cache_dir = cdir;
	RUN(cache_serves_repeats);
	RUN(cache_evicts_oldest);
	RUN(cache_damaged_entry);
	RUN(cache_survives_restart);
	RUN(cache_is_local);
	test_rmtree(cdir);
	free(cdir);
	test_rmtree(dir);
	free(dir);
	HARNESS_DONE();
}
