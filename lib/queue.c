/* Bounded blocking FIFO (include/lib/queue.h). */
#include "lib/queue.h"

#include <errno.h>
#include <stdlib.h>

int queue_init(struct queue *q, size_t cap)
{
	q->items = calloc(cap, sizeof(*q->items));
	if (!q->items)
		return -ENOMEM;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
	q->cap = cap;
	q->head = q->count = 0;
	q->closed = false;
	return 0;
}

void queue_release(struct queue *q)
{
	if (!q->items)
		return;
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	free(q->items);
	q->items = NULL;
}

int queue_push(struct queue *q, void *item)
{
	pthread_mutex_lock(&q->mu);
	while (q->count == q->cap && !q->closed)
		pthread_cond_wait(&q->not_full, &q->mu);
	if (q->closed) {
		pthread_mutex_unlock(&q->mu);
		return -EPIPE;
	}
	q->items[(q->head + q->count) % q->cap] = item;
	q->count++;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

int queue_trypush(struct queue *q, void *item)
{
	int r = 0;
	pthread_mutex_lock(&q->mu);
	if (q->closed)
		r = -EPIPE;
	else if (q->count == q->cap)
		r = -EAGAIN;
	else {
		q->items[(q->head + q->count) % q->cap] = item;
		q->count++;
		pthread_cond_signal(&q->not_empty);
	}
	pthread_mutex_unlock(&q->mu);
	return r;
}

static void *take(struct queue *q)
{
	void *item = q->items[q->head];
	q->head = (q->head + 1) % q->cap;
	q->count--;
	pthread_cond_signal(&q->not_full);
	return item;
}

void *queue_pop(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	while (q->count == 0 && !q->closed)
		pthread_cond_wait(&q->not_empty, &q->mu);
	void *item = q->count ? take(q) : NULL;
	pthread_mutex_unlock(&q->mu);
	return item;
}

void *queue_trypop(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	void *item = q->count ? take(q) : NULL;
	pthread_mutex_unlock(&q->mu);
	return item;
}

void queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->mu);
}
