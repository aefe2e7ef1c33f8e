/* Destination URLs: turns a URL into the stack of backend layers that serves
 * it, and frees such stacks (include/store/backend.h).  Each scheme is one
 * row of the scheme table; a plain path means a local directory.
 */
#include "store/backend.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void backend_free(struct backend *b)
{
	if (b)
		b->ops->free(b);
}

/* file:///abs/dir.  Only an empty host is accepted: "file://dir" would
 * otherwise silently mean a directory named after a host. */
static struct backend *open_file_url(const char *url, const char *rest,
				     int create, int *err)
{
	if (rest[0] != '/') {
		*err = -EINVAL;
		return NULL;
	}
	return backend_file_new(rest, create, err);
}

/* Recognised so the CLI can say "not supported yet" rather than treating
 * the URL as a relative path or a typo. */
static struct backend *open_s3_url(const char *url, const char *rest,
				   int create, int *err)
{
	*err = -EPROTONOSUPPORT;
	return NULL;
}

static const struct scheme {
	const char *name;
	struct backend *(*open)(const char *url, const char *rest, int create,
				int *err);
} schemes[] = {
	{ "file", open_file_url },
	{ "s3", open_s3_url },
};

/* Length of a leading "scheme" followed by "://" (RFC 3986: a letter, then
 * letters, digits, '+', '-' or '.'), or 0 if url has none. */
static size_t scheme_len(const char *url)
{
	size_t n = 0;
	if (!isalpha((unsigned char)url[0]))
		return 0;
	while (isalnum((unsigned char)url[n]) ||
	       (url[n] && strchr("+-.", url[n])))
		n++;
	return strncmp(url + n, "://", 3) == 0 ? n : 0;
}

/* The bottom of the stack: the backend that actually stores objects. */
static struct backend *open_base(const char *url, int create, int *err)
{
	size_t n = scheme_len(url);
	if (!url[0]) {
		*err = -EINVAL;
		return NULL;
	}
	if (n == 0)
		return backend_file_new(url, create, err);
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		const struct scheme *s = &schemes[i];
		if (strlen(s->name) == n && !strncasecmp(url, s->name, n))
			return s->open(url, url + n + 3, create, err);
	}
	*err = -EINVAL;
	return NULL;
}

static struct backend *open_stack(const char *url, int create, int *err)
{
	struct backend *b = open_base(url, create, err);
	const char *spec = getenv("CAIRN_FAULT");
	if (!b || !spec || !spec[0])
		return b;
	struct backend *f = backend_fault_new(b, spec, err);
	if (!f)
		backend_free(b); /* the fault layer only owns b once it exists */
	return f;
}

struct backend *backend_open(const char *url, int *err)
{
	return open_stack(url, 0, err);
}

struct backend *backend_open_create(const char *url, int *err)
{
	return open_stack(url, 1, err);
}
