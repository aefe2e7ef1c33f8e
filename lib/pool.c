/* Object pool (include/lib/pool.h). */
#include "lib/pool.h"

#include <stdlib.h>

void pool_init(struct pool *p, void *(*make)(void *ctx), void (*destroy)(void *item),
	       void *ctx)
{
	pthread_mutex_init(&p->mu, NULL);
	p->items = NULL;
	p->n = p->cap = 0;
	p->make = make;
	p->destroy = destroy;
	p->ctx = ctx;
}

void pool_release(struct pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		p->destroy(p->items[i]);
	free(p->items);
	p->items = NULL;
	p->n = p->cap = 0;
	pthread_mutex_destroy(&p->mu);
}

void *pool_take(struct pool *p)
{
	void *item = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->n)
		item = p->items[--p->n];
	pthread_mutex_unlock(&p->mu);
	return item ? item : p->make(p->ctx);
}

void pool_give(struct pool *p, void *item)
{
	if (!item)
		return;
	pthread_mutex_lock(&p->mu);
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 8;
		void **v = realloc(p->items, cap * sizeof(*v));
		if (v) {
			p->items = v;
			p->cap = cap;
		}
	}
	if (p->n < p->cap) {
		p->items[p->n++] = item;
		item = NULL;
	}
	pthread_mutex_unlock(&p->mu);
	if (item)
		p->destroy(item);
}
