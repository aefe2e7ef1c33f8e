/* Destinations: a table of operations over named objects, stacked in layers
 * (DESIGN §4).  A layer may wrap an inner backend (fault injection, cache,
 * replication); the stack for a URL is assembled in backend_open().
 *
 * Keys are relative '/'-separated names: "config", "keys/<hex>",
 * "data/<2 hex>/<hex>", "index/<hex>", "snapshots/<hex>", "locks/<hex>".
 * A key is made of [A-Za-z0-9._-] and '/', with no empty, "." or ".."
 * component and no ".tmp-" (temp files of interrupted writes, which lists
 * never show); any other key gives -EINVAL.
 * Every operation may be called from several threads at once.  All return
 * 0 or -errno; -ENOENT means the object does not exist.
 */
#ifndef CAIRN_STORE_BACKEND_H
#define CAIRN_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

struct backend;

/* Called by list for each object; a nonzero return stops the listing and
 * becomes list's return value. */
typedef int (*backend_list_fn)(void *ctx, const char *key, uint64_t size);

struct backend_ops {
	const char *name;
	/* Whole object into out (replacing its contents). */
	int (*get)(struct backend *b, const char *key, struct buf *out);
	/* len bytes at off into out (replacing); short only at the end. */
	int (*get_range)(struct backend *b, const char *key, uint64_t off,
			 size_t len, struct buf *out);
	/* Stores an object durably and atomically: a reader sees all of it
	 * or nothing.  Replaces an existing object of the same key. */
	int (*put)(struct backend *b, const char *key, const void *p, size_t n);
	/* 0 and the size if the object exists. */
	int (*stat)(struct backend *b, const char *key, uint64_t *size);
	/* Removes an object; -ENOENT if it was not there. */
	int (*del)(struct backend *b, const char *key);
	/* Every object whose key begins with prefix ("" for all), any order. */
	int (*list)(struct backend *b, const char *prefix, backend_list_fn fn,
		    void *ctx);
	void (*free)(struct backend *b);
};

struct backend {
	const struct backend_ops *ops;
	struct backend *inner; /* the layer below, or NULL */
	char *url;             /* for messages; never holds credentials */
};

static inline int backend_get(struct backend *b, const char *key, struct buf *out)
{
	return b->ops->get(b, key, out);
}
static inline int backend_get_range(struct backend *b, const char *key,
				    uint64_t off, size_t len, struct buf *out)
{
	return b->ops->get_range(b, key, off, len, out);
}
static inline int backend_put(struct backend *b, const char *key, const void *p, size_t n)
{
	return b->ops->put(b, key, p, n);
}
static inline int backend_stat(struct backend *b, const char *key, uint64_t *size)
{
	return b->ops->stat(b, key, size);
}
static inline int backend_del(struct backend *b, const char *key)
{
	return b->ops->del(b, key);
}
static inline int backend_list(struct backend *b, const char *prefix,
			       backend_list_fn fn, void *ctx)
{
	return b->ops->list(b, prefix, fn, ctx);
}
/* Frees the whole stack below b as well. */
void backend_free(struct backend *b);

/* Assembles the stack for a URL: "file:///abs/dir", "/abs/dir" or a
 * relative path (local directory); with CAIRN_FAULT set in the environment
 * the stack is wrapped in a fault layer (tests).  NULL and *err set on
 * failure (-EINVAL for an unknown scheme). */
struct backend *backend_open(const char *url, int *err);
/* Like backend_open, but a missing local directory is created (for init). */
struct backend *backend_open_create(const char *url, int *err);

/* file:// — objects are files under dir; put writes a temp file, fsyncs and
 * renames it into place.  create: make dir if missing. */
struct backend *backend_file_new(const char *dir, int create, int *err);

/* fault — fails, delays or corrupts calls of the inner backend, for tests.
 * spec is a comma-separated list of rules:
 *   OP@N      the Nth call of OP fails once with -EIO (OP: get, get_range,
 *             put, stat, del, list, or "any")
 *   OP@N+     the Nth and every later call of OP fails
 *   OP@N=ERR  fails with errno name ERR (ENOSPC, ETIMEDOUT, ...)
 *   OP@N=crash  the call completes, then the process is killed (SIGKILL)
 *   flip@N    the Nth get/get_range returns its data with one byte flipped
 *   delay=MS  every call sleeps MS milliseconds first
 * -EINVAL for a malformed spec.  On failure inner still belongs to the
 * caller. */
struct backend *backend_fault_new(struct backend *inner, const char *spec, int *err);

/* cache — keeps the ranges get_range returned for "data/" objects (packs,
 * which never change once stored) in files under dir, at most max_bytes of
 * them, dropping the least recently used first.  Every entry carries the
 * SHA-256 of its bytes and is checked on each read: a damaged or vanished
 * entry is dropped and read from inner again.  put and del through the
 * layer forget the ranges of that key.  Everything else passes through.
 * One process uses a cache directory at a time: -EBUSY if another holds
 * it.  On failure inner still belongs to the caller. */
struct backend *backend_cache_new(struct backend *inner, const char *dir,
				  uint64_t max_bytes, int *err);

struct backend_cache_stats {
	uint64_t hits, misses, stored, evicted, damaged, bytes, entries;
};
/* Counters of the cache layer at the top of b's stack (zeros otherwise). */
void backend_cache_stats(struct backend *b, struct backend_cache_stats *st);

/* Checks a cache entry file: magic, length, SHA-256 of the payload.  0 and
 * the payload in *data, *len, or -EBADMSG. */
int backend_cache_parse_entry(const uint8_t *p, size_t n, const uint8_t **data,
			      size_t *len);

/* Whether the bottom of the stack is a local directory (a read cache in
 * front of it would only copy the same disk). */
bool backend_is_local(const struct backend *b);

#endif
