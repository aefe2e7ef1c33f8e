/* Snapshot JSON and time formats (include/store/snapshot.h,
 * docs/FORMAT.md §6).  jansson does the JSON; this file only maps fields
 * and validates them. */
#include "store/snapshot.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/hex.h"
#include "lib/jsonutil.h"

#define SNAPSHOT_VERSION 1
#define MAX_TAGS 1024
#define MAX_SOURCES 4096

void time_format_rfc3339(int64_t time_ns, char *out, size_t n)
{
	time_t sec = (time_t)(time_ns / 1000000000);
	long nsec = (long)(time_ns % 1000000000);
	if (nsec < 0) {
		nsec += 1000000000;
		sec--;
	}
	struct tm tm;
	localtime_r(&sec, &tm);
	long off = tm.tm_gmtoff;
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%09ld%c%02ld:%02ld",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, nsec, sign, off / 3600, off / 60 % 60);
}

static int digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int time_parse_rfc3339(const char *s, int64_t *time_ns)
{
	int Y, M, D, h, m, sec;
	if (strlen(s) < 20 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) ||
	    s[7] != '-' || digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != ' ') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &m) ||
	    s[16] != ':' || digits(s + 17, 2, &sec))
		return -EINVAL;
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
		return -EINVAL;
	const char *p = s + 19;
	long nsec = 0;
	if (*p == '.') {
		int nd = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, nd++)
			if (nd < 9)
				nsec = nsec * 10 + (*p - '0');
		if (nd == 0)
			return -EINVAL;
		for (; nd < 9; nd++)
			nsec *= 10;
	}
	long off = 0;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return -EINVAL;
		off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	struct tm tm = { .tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D,
			 .tm_hour = h, .tm_min = m, .tm_sec = sec };
	time_t t = timegm(&tm);
	/* nanoseconds since 1970 fit in int64 only for years ~1678..2261 */
	if ((int64_t)t - off < -9223372035LL || (int64_t)t - off > 9223372035LL)
		return -EINVAL;
	/* timegm rolls 2024-02-31 over to March: refuse dates that moved */
	if (tm.tm_mday != D || tm.tm_mon != M - 1)
		return -EINVAL;
	*time_ns = ((int64_t)t - off) * 1000000000 + nsec;
	return 0;
}

void snapshot_dirname(int64_t time_ns, char *out, size_t n)
{
	time_t sec = (time_t)(time_ns / 1000000000);
	struct tm tm;
	localtime_r(&sec, &tm);
	strftime(out, n, "@%Y-%m-%d-%H%M%S", &tm);
}

struct named {
	const char *name;
	size_t i;
};

static int cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->i > y->i) - (x->i < y->i);
}

int snapshot_folder_names(const struct snapshot *s, size_t n,
			  char (*names)[SNAPSHOT_NAME_MAX])
{
	int dups = 0;
	for (size_t i = 0; i < n; i++) {
		snapshot_dirname(s[i].time_ns, names[i], SNAPSHOT_NAME_MAX);
		if (i && strcmp(names[i - 1], names[i]) >= 0)
			dups = 1; /* same second, or local time went back */
	}
	if (!dups)
		return 0;
	/* Group equal names, each group in time order: the k-th gets "-k". */
	struct named *v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		v[i] = (struct named){ names[i], i };
	qsort(v, n, sizeof(*v), cmp_named);
	size_t first = 0;
	for (size_t j = 1; j < n; j++) {
		/* the group's first keeps its name, so it stays comparable */
		if (strcmp(v[first].name, v[j].name)) {
			first = j;
			continue;
		}
		char *name = names[v[j].i];
		size_t len = strlen(name);
		snprintf(name + len, SNAPSHOT_NAME_MAX - len, "-%zu", j - first + 1);
	}
	free(v);
	return 0;
}

void snapshot_short_id(const struct snapshot *s, char *out)
{
	hex_encode(out, s->id.b, 4);
}

static json_t *jid(const struct oid *id)
{
	char hex[OID_HEX_LEN + 1];
	oid_hex(hex, id);
	return json_string(hex);
}

static json_t *jtime(int64_t ns)
{
	char t[64];
	time_format_rfc3339(ns, t, sizeof(t));
	return json_string(t);
}

static json_t *stats_json(const struct snapshot_stats *st)
{
	return json_pack("{sIsIsIsIsIsIsIsIsIsI}",
			 "files_new", (json_int_t)st->files_new,
			 "files_changed", (json_int_t)st->files_changed,
			 "files_unmodified", (json_int_t)st->files_unmodified,
			 "dirs", (json_int_t)st->dirs,
			 "bytes_total", (json_int_t)st->bytes_total,
			 "bytes_read", (json_int_t)st->bytes_read,
			 "bytes_added", (json_int_t)st->bytes_added,
			 "bytes_stored", (json_int_t)st->bytes_stored,
			 "blobs_added", (json_int_t)st->blobs_added,
			 "duration_ms", (json_int_t)st->duration_ms);
}

int snapshot_to_json(const struct snapshot *s, struct buf *out)
{
	json_t *o = json_object(), *tags = json_array(), *srcs = json_array();
	int r = -ENOMEM;
	if (!o || !tags || !srcs)
		goto out;
	for (size_t i = 0; i < s->ntags; i++)
		json_array_append_new(tags, json_string_lossy(s->tags[i]));
	for (size_t i = 0; i < s->nsources; i++) {
		const struct snapshot_source *src = &s->sources[i];
		json_array_append_new(srcs, json_pack("{sosososo}",
			"name", json_string_lossy(src->name), "path", json_string_lossy(src->path),
			"host", json_string_lossy(src->host), "time", jtime(src->time_ns)));
	}
	json_object_set_new(o, "version", json_integer(SNAPSHOT_VERSION));
	json_object_set_new(o, "time", jtime(s->time_ns));
	json_object_set_new(o, "host", json_string_lossy(s->host));
	json_object_set_new(o, "user", json_string_lossy(s->user));
	json_object_set_new(o, "tree", jid(&s->tree));
	if (s->has_parent)
		json_object_set_new(o, "parent", jid(&s->parent));
	json_object_set(o, "tags", tags);
	json_object_set(o, "sources", srcs);
	json_object_set_new(o, "stats", stats_json(&s->stats));
	json_object_set_new(o, "program", json_string_lossy(s->program));
	char *txt = json_dumps(o, JSON_COMPACT);
	if (!txt)
		goto out;
	r = buf_append(out, txt, strlen(txt));
	free(txt);
out:
	json_decref(tags);
	json_decref(srcs);
	json_decref(o);
	return r;
}

static char *dupstr(json_t *j)
{
	const char *s = json_string_value(j);
	return s ? strdup(s) : NULL;
}

static int parse_id(json_t *j, struct oid *id)
{
	const char *s = json_string_value(j);
	return s && !oid_from_hex(id, s) ? 0 : -EBADMSG;
}

static int parse_time(json_t *j, int64_t *ns)
{
	const char *s = json_string_value(j);
	return s && !time_parse_rfc3339(s, ns) ? 0 : -EBADMSG;
}

static uint64_t jnum(json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));
	return v > 0 ? (uint64_t)v : 0;
}

static void parse_stats(json_t *o, struct snapshot_stats *st)
{
	st->files_new = jnum(o, "files_new");
	st->files_changed = jnum(o, "files_changed");
	st->files_unmodified = jnum(o, "files_unmodified");
	st->dirs = jnum(o, "dirs");
	st->bytes_total = jnum(o, "bytes_total");
	st->bytes_read = jnum(o, "bytes_read");
	st->bytes_added = jnum(o, "bytes_added");
	st->bytes_stored = jnum(o, "bytes_stored");
	st->blobs_added = jnum(o, "blobs_added");
	st->duration_ms = jnum(o, "duration_ms");
}

static int parse_sources(json_t *arr, struct snapshot *s)
{
	size_t n = json_array_size(arr);
	if (!json_is_array(arr) || n > MAX_SOURCES)
		return -EBADMSG;
	s->sources = calloc(n ? n : 1, sizeof(*s->sources));
	if (!s->sources)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(arr, i);
		struct snapshot_source *src = &s->sources[i];
		s->nsources = i + 1;
		src->name = dupstr(json_object_get(o, "name"));
		src->path = dupstr(json_object_get(o, "path"));
		src->host = dupstr(json_object_get(o, "host"));
		if (!src->name || !src->path || !src->host ||
		    parse_time(json_object_get(o, "time"), &src->time_ns) < 0)
			return -EBADMSG;
	}
	return 0;
}

static int parse_tags(json_t *arr, struct snapshot *s)
{
	size_t n = json_array_size(arr);
	if (!json_is_array(arr) || n > MAX_TAGS)
		return -EBADMSG;
	s->tags = calloc(n ? n : 1, sizeof(*s->tags));
	if (!s->tags)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		s->ntags = i + 1;
		if (!(s->tags[i] = dupstr(json_array_get(arr, i))))
			return -EBADMSG;
	}
	return 0;
}

int snapshot_from_json(const void *p, size_t n, struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	json_t *o = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
	int r = -EBADMSG;
	if (!json_is_object(o) ||
	    json_integer_value(json_object_get(o, "version")) != SNAPSHOT_VERSION)
		goto out;
	if (parse_time(json_object_get(o, "time"), &s->time_ns) < 0 ||
	    parse_id(json_object_get(o, "tree"), &s->tree) < 0)
		goto out;
	json_t *parent = json_object_get(o, "parent");
	if (parent) {
		if (parse_id(parent, &s->parent) < 0)
			goto out;
		s->has_parent = true;
	}
	s->host = dupstr(json_object_get(o, "host"));
	s->user = dupstr(json_object_get(o, "user"));
	s->program = dupstr(json_object_get(o, "program"));
	if (!s->host || !s->user || !s->program)
		goto out;
	if ((r = parse_tags(json_object_get(o, "tags"), s)) < 0 ||
	    (r = parse_sources(json_object_get(o, "sources"), s)) < 0)
		goto out;
	parse_stats(json_object_get(o, "stats"), &s->stats);
	r = 0;
out:
	json_decref(o);
	if (r < 0)
		snapshot_release(s);
	return r;
}

void snapshot_release(struct snapshot *s)
{
	for (size_t i = 0; i < s->ntags; i++)
		free(s->tags[i]);
	for (size_t i = 0; i < s->nsources; i++) {
		free(s->sources[i].name);
		free(s->sources[i].path);
		free(s->sources[i].host);
	}
	free(s->tags);
	free(s->sources);
	free(s->host);
	free(s->user);
	free(s->program);
	memset(s, 0, sizeof(*s));
}

int snapshot_copy(struct snapshot *dst, const struct snapshot *src)
{
	struct buf b = BUF_INIT;
	int r = snapshot_to_json(src, &b);
	if (!r)
		r = snapshot_from_json(b.data, b.len, dst);
	buf_release(&b);
	if (!r)
		dst->id = src->id;
	return r;
}
