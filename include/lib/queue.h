/* Bounded blocking FIFO of pointers, for handing work between threads.
 * Many producers and consumers; push blocks while full, pop while empty.
 * After queue_close, push fails and pop drains what is left, then returns
 * NULL. */
#ifndef CAIRN_LIB_QUEUE_H
#define CAIRN_LIB_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t not_empty;
	pthread_cond_t not_full;
	void **items;
	size_t cap, head, count;
	bool closed;
};

int queue_init(struct queue *q, size_t cap);
void queue_release(struct queue *q);
/* 0, or -EPIPE once closed. */
int queue_push(struct queue *q, void *item);
/* 0, -EAGAIN when full (nothing waits), or -EPIPE once closed. */
int queue_trypush(struct queue *q, void *item);
void *queue_pop(struct queue *q);
/* NULL at once when empty. */
void *queue_trypop(struct queue *q);
void queue_close(struct queue *q);

#endif
