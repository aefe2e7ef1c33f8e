/* The fault layer: fails, delays or corrupts calls to the backend below it
 * as a spec says (include/store/backend.h), so tests can reach every error
 * path.  Owns the spec parser and the per-operation call counters.
 *
 * Beyond the header's grammar, "flip@N+" flips every read from the Nth on,
 * and "OP@N=crash" lets the Nth call of OP complete and then kills the
 * process with SIGKILL — a crash at the most awkward moment, made certain.
 */
#include "store/backend.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DELAY_MAX_MS 600000u

/* Counter indexes; OP_ANY counts every call and OP_FLIP every read. */
enum fault_op {
	OP_GET,
	OP_GET_RANGE,
	OP_PUT,
	OP_STAT,
	OP_DEL,
	OP_LIST,
	OP_ANY,
	OP_FLIP,
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"get", "get_range", "put", "stat", "del", "list", "any", "flip",
};

static const struct {
	const char *name;
	int err;
} errno_names[] = {
	{ "EIO", EIO },
	{ "ENOSPC", ENOSPC },
	{ "ETIMEDOUT", ETIMEDOUT },
	{ "ECONNRESET", ECONNRESET },
	{ "ECONNREFUSED", ECONNREFUSED },
	{ "EHOSTUNREACH", EHOSTUNREACH },
	{ "ENETUNREACH", ENETUNREACH },
	{ "EPIPE", EPIPE },
	{ "EACCES", EACCES },
	{ "EPERM", EPERM },
	{ "EROFS", EROFS },
	{ "EDQUOT", EDQUOT },
	{ "ENOENT", ENOENT },
	{ "EAGAIN", EAGAIN },
	{ "EINTR", EINTR },
	{ "ENOMEM", ENOMEM },
	{ "EBADMSG", EBADMSG },
	{ "EFBIG", EFBIG },
};

struct fault_rule {
	enum fault_op op;
	uint64_t n;   /* 1-based call number */
	bool onward;  /* "N+": this call and every later one */
	int err;      /* -errno to fail with (unused for flip), or FAULT_CRASH */
};

/* A rule's err that means: let the call through, then die. */
#define FAULT_CRASH 1
/* Set by fault_enter when this thread's call is to end in a crash. */
static _Thread_local bool crash_after;

struct fault_backend {
	struct backend b;
	struct fault_rule *rules;
	size_t n_rules;
	unsigned delay_ms;
	_Atomic uint64_t calls[OP_COUNT];
};

static struct fault_backend *fault_of(struct backend *b)
{
	return (struct fault_backend *)b;
}

/* ---- spec ---- */

/* Decimal digits at *s, at most max; advances *s past them. */
static int parse_num(const char **s, uint64_t max, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (max - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*s = p;
	*out = v;
	return 0;
}

/* -errno for a name such as "EIO", or 0 if unknown. */
static int errno_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (!strcmp(errno_names[i].name, name))
			return -errno_names[i].err;
	return 0;
}

static int op_by_name(const char *s, size_t n, enum fault_op *op)
{
	for (int i = 0; i < OP_COUNT; i++) {
		if (strlen(op_names[i]) == n && !strncmp(op_names[i], s, n)) {
			*op = (enum fault_op)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* "OP@N", "OP@N+", "OP@N=ERR", "flip@N". */
static int parse_rule(const char *tok, struct fault_rule *rule)
{
	const char *at = strchr(tok, '@'), *p;
	if (!at || op_by_name(tok, (size_t)(at - tok), &rule->op) < 0)
		return -EINVAL;
	p = at + 1;
	if (parse_num(&p, UINT64_MAX, &rule->n) < 0 || rule->n == 0)
		return -EINVAL;
	rule->onward = *p == '+';
	p += rule->onward;
	rule->err = -EIO;
	if (*p == '=' && rule->op != OP_FLIP) {
		rule->err = !strcmp(p + 1, "crash") ? FAULT_CRASH : errno_by_name(p + 1);
		return rule->err ? 0 : -EINVAL;
	}
	return *p ? -EINVAL : 0;
}

static int parse_item(struct fault_backend *f, const char *tok)
{
	if (!strncmp(tok, "delay=", 6)) {
		const char *p = tok + 6;
		uint64_t ms;
		if (parse_num(&p, DELAY_MAX_MS, &ms) < 0 || *p)
			return -EINVAL;
		f->delay_ms = (unsigned)ms;
		return 0;
	}
	int r = parse_rule(tok, &f->rules[f->n_rules]);
	if (r == 0)
		f->n_rules++;
	return r;
}

/* Comma-separated items; an empty spec has none, but an empty item (",,"
 * or a trailing comma) is a mistake worth reporting. */
static int parse_spec(struct fault_backend *f, const char *spec)
{
	if (!spec[0])
		return 0;
	size_t items = 1;
	for (const char *p = spec; *p; p++)
		items += *p == ',';
	char *copy = strdup(spec), *rest = copy, *tok;
	f->rules = calloc(items, sizeof(*f->rules));
	if (!copy || !f->rules) {
		free(copy);
		return -ENOMEM;
	}
	int r = 0;
	while (r == 0 && (tok = strsep(&rest, ",")))
		r = parse_item(f, tok);
	free(copy);
	return r;
}

/* ---- calls ---- */

static bool rule_hits(const struct fault_rule *rule, uint64_t n)
{
	return rule->onward ? n >= rule->n : n == rule->n;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t count(struct fault_backend *f, enum fault_op op)
{
	return atomic_fetch_add(&f->calls[op], 1) + 1;
}

/* Counts a call of op: 0 to pass it on, or the error of the first failing
 * rule that matches it. */
static int fault_enter(struct fault_backend *f, enum fault_op op)
{
	if (f->delay_ms)
		sleep_ms(f->delay_ms);
	uint64_t n = count(f, op), any = count(f, OP_ANY);
	for (size_t i = 0; i < f->n_rules; i++) {
		const struct fault_rule *rule = &f->rules[i];
		if ((rule->op == op && rule_hits(rule, n)) ||
		    (rule->op == OP_ANY && rule_hits(rule, any))) {
			if (rule->err != FAULT_CRASH)
				return rule->err;
			crash_after = true;
			return 0;
		}
	}
	return 0;
}

/* Ends a call: the result, unless a crash rule matched it. */
static int fault_leave(int r)
{
	if (crash_after)
		raise(SIGKILL);
	return r;
}

/* A read (get or get_range) numbered nth among reads: flips the middle
 * byte of what it returned if a flip rule says so. */
static void fault_flip(struct fault_backend *f, uint64_t nth, struct buf *out)
{
	for (size_t i = 0; i < f->n_rules; i++) {
		if (f->rules[i].op == OP_FLIP && rule_hits(&f->rules[i], nth) &&
		    out->len) {
			out->data[out->len / 2] ^= 0xff;
			return;
		}
	}
}

static int fault_get(struct backend *b, const char *key, struct buf *out)
{
	struct fault_backend *f = fault_of(b);
	uint64_t nth = count(f, OP_FLIP);
	int r = fault_enter(f, OP_GET);
	if (r == 0)
		r = backend_get(b->inner, key, out);
	if (r == 0)
		fault_flip(f, nth, out);
	return fault_leave(r);
}

static int fault_get_range(struct backend *b, const char *key, uint64_t off,
			   size_t len, struct buf *out)
{
	struct fault_backend *f = fault_of(b);
	uint64_t nth = count(f, OP_FLIP);
	int r = fault_enter(f, OP_GET_RANGE);
	if (r == 0)
		r = backend_get_range(b->inner, key, off, len, out);
	if (r == 0)
		fault_flip(f, nth, out);
	return fault_leave(r);
}

static int fault_put(struct backend *b, const char *key, const void *p, size_t n)
{
	int r = fault_enter(fault_of(b), OP_PUT);
	return fault_leave(r ? r : backend_put(b->inner, key, p, n));
}

static int fault_stat(struct backend *b, const char *key, uint64_t *size)
{
	int r = fault_enter(fault_of(b), OP_STAT);
	return fault_leave(r ? r : backend_stat(b->inner, key, size));
}

static int fault_del(struct backend *b, const char *key)
{
	int r = fault_enter(fault_of(b), OP_DEL);
	return fault_leave(r ? r : backend_del(b->inner, key));
}

static int fault_list(struct backend *b, const char *prefix, backend_list_fn fn,
		      void *ctx)
{
	int r = fault_enter(fault_of(b), OP_LIST);
	return fault_leave(r ? r : backend_list(b->inner, prefix, fn, ctx));
}

static void fault_free(struct backend *b)
{
	struct fault_backend *f = fault_of(b);
	backend_free(b->inner);
	free(f->rules);
	free(b->url);
	free(f);
}

static const struct backend_ops fault_ops = {
	.name = "fault",
	.get = fault_get,
	.get_range = fault_get_range,
	.put = fault_put,
	.stat = fault_stat,
	.del = fault_del,
	.list = fault_list,
	.free = fault_free,
};

/* On failure inner is left to the caller; on success the layer owns it. */
struct backend *backend_fault_new(struct backend *inner, const char *spec, int *err)
{
	if (!inner) {
		*err = -EINVAL;
		return NULL;
	}
	struct fault_backend *f = calloc(1, sizeof(*f));
	if (!f) {
		*err = -ENOMEM;
		return NULL;
	}
	f->b.ops = &fault_ops;
	for (int i = 0; i < OP_COUNT; i++)
		atomic_init(&f->calls[i], 0);
	int r = parse_spec(f, spec ? spec : "");
	/* the same URL as below: messages should name the real destination */
	if (r == 0 && !(f->b.url = strdup(inner->url ? inner->url : "")))
		r = -ENOMEM;
	if (r < 0) {
		fault_free(&f->b); /* b.inner is still NULL: inner survives */
		*err = r;
		return NULL;
	}
	f->b.inner = inner;
	return &f->b;
}
