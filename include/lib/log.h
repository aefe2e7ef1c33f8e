/* Messages to the user: one line each on stderr, prefixed "cairn: ".
 *
 * Thread-safe.  A progress display registers a hook so its status line is
 * cleared before a message and redrawn after it.  Never pass secrets.
 */
#ifndef CAIRN_LIB_LOG_H
#define CAIRN_LIB_LOG_H

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

/* Messages above this level are dropped (default LOG_INFO). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Called with the log lock held: clear (before=1) or redraw (before=0) a
 * status line.  NULL removes the hook. */
void log_set_hook(void (*hook)(int before, void *ctx), void *ctx);

/* Locks the output so a multi-line report is not interleaved. */
void log_lock(void);
void log_unlock(void);

/* Counts messages at LOG_WARN and LOG_ERROR since start. */
unsigned log_warnings(void);
unsigned log_errors(void);

/* strerror for a -errno or errno value, with cairn's own meanings for the
 * codes it gives a specific sense (EBADMSG: corrupt or unauthenticated data). */
const char *errstr(int err);

#endif
