/* One-line messages to stderr (include/lib/log.h). */
#include "lib/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static enum log_level log_level = LOG_INFO;
static void (*log_hook)(int, void *);
static void *log_hook_ctx;
static atomic_uint n_warn, n_err;

void log_set_level(enum log_level level) { log_level = level; }
enum log_level log_get_level(void) { return log_level; }

void log_set_hook(void (*hook)(int, void *), void *ctx)
{
	pthread_mutex_lock(&log_mu);
	log_hook = hook;
	log_hook_ctx = ctx;
	pthread_mutex_unlock(&log_mu);
}

void log_lock(void) { pthread_mutex_lock(&log_mu); }
void log_unlock(void) { pthread_mutex_unlock(&log_mu); }

unsigned log_warnings(void) { return n_warn; }
unsigned log_errors(void) { return n_err; }

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const tag[] = { "error: ", "warning: ", "", "debug: " };
	if (level == LOG_ERROR)
		n_err++;
	else if (level == LOG_WARN)
		n_warn++;
	if (level > log_level)
		return;

	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);

	pthread_mutex_lock(&log_mu);
	if (log_hook)
		log_hook(1, log_hook_ctx);
	fprintf(stderr, "cairn: %s%s\n", tag[level], line);
	if (log_hook)
		log_hook(0, log_hook_ctx);
	pthread_mutex_unlock(&log_mu);
}

const char *errstr(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case EBADMSG:
		return "corrupt or unauthenticated data";
	case EKEYREJECTED:
		return "wrong password or no key found";
	default:
		return strerror(err);
	}
}
