/* The status line of long commands (include/cli/cli.h): redrawn on a
 * terminal's stderr a few times a second, cleared around log messages. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/log.h"
#include "lib/os.h"

struct progress {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	void (*fmt)(void *ctx, double elapsed, char *line, size_t n);
	void *ctx;
	int64_t start;
	size_t shown; /* width of the line on screen */
};

static void clear_line(struct progress *p)
{
	if (p->shown)
		fprintf(stderr, "\r%*s\r", (int)p->shown, "");
	p->shown = 0;
}

static void draw(struct progress *p)
{
	char line[512];
	p->fmt(p->ctx, (double)(os_mono_ns() - p->start) / 1e9, line, sizeof(line));
	size_t n = strlen(line);
	fprintf(stderr, "\r%s", line);
	if (n < p->shown)
		fprintf(stderr, "%*s", (int)(p->shown - n), "");
	p->shown = n;
	fflush(stderr);
}

/* Log hook: runs with the log lock held. */
static void hook(int before, void *ctx)
{
	struct progress *p = ctx;
	if (before)
		clear_line(p);
	else
		draw(p);
}

static void *run(void *arg)
{
	struct progress *p = arg;
	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&p->cv, &p->mu, &ts);
		if (p->stop)
			break;
		log_lock();
		draw(p);
		log_unlock();
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct progress *progress_start(const struct cli *c,
				void (*fmt)(void *ctx, double elapsed, char *line, size_t n),
				void *ctx)
{
	if (c->quiet || c->json || !isatty(STDERR_FILENO))
		return NULL;
	struct progress *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->fmt = fmt;
	p->ctx = ctx;
	p->start = os_mono_ns();
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	log_set_hook(hook, p);
	if (pthread_create(&p->thread, NULL, run, p) != 0) {
		log_set_hook(NULL, NULL);
		free(p);
		return NULL;
	}
	return p;
}

void progress_stop(struct progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	log_lock();
	clear_line(p);
	log_unlock();
	log_set_hook(NULL, NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}
