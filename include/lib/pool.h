/* A pool of reusable objects (codecs, catalog handles) for code that runs
 * on threads it does not own, such as FUSE request handlers: take one,
 * use it, give it back.  Thread-safe. */
#ifndef CAIRN_LIB_POOL_H
#define CAIRN_LIB_POOL_H

#include <pthread.h>
#include <stddef.h>

struct pool {
	pthread_mutex_t mu;
	void **items;
	size_t n, cap;
	void *(*make)(void *ctx);  /* a new object, or NULL */
	void (*destroy)(void *item);
	void *ctx;
};

void pool_init(struct pool *p, void *(*make)(void *ctx), void (*destroy)(void *item),
	       void *ctx);
/* Destroys every object given back. */
void pool_release(struct pool *p);
/* A free object, or a new one; NULL if none can be made. */
void *pool_take(struct pool *p);
void pool_give(struct pool *p, void *item);

#endif
