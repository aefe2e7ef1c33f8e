/* cairn snapshots: list the snapshots, oldest first. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "lib/jsonutil.h"
#include "lib/log.h"

static const char usage[] =
	"usage: cairn snapshots [--json]\n"
	"\n"
	"Lists snapshots oldest first: id, folder name in the mount, time, host,\n"
	"tags and sources.\n";

static json_t *snapshot_json(const struct snapshot *s, const char *name)
{
	char id[OID_HEX_LEN + 1], tree[OID_HEX_LEN + 1], t[64];
	oid_hex(id, &s->id);
	oid_hex(tree, &s->tree);
	time_format_rfc3339(s->time_ns, t, sizeof(t));
	json_t *tags = json_array(), *srcs = json_array();
	for (size_t i = 0; i < s->ntags; i++)
		json_array_append_new(tags, json_string_lossy(s->tags[i]));
	for (size_t i = 0; i < s->nsources; i++)
		json_array_append_new(srcs, json_pack("{sososo}",
			"name", json_string_lossy(s->sources[i].name),
			"path", json_string_lossy(s->sources[i].path),
			"host", json_string_lossy(s->sources[i].host)));
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "short_id", json_stringn(id, 8));
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "time", json_string(t));
	json_object_set_new(o, "host", json_string_lossy(s->host));
	json_object_set_new(o, "user", json_string_lossy(s->user));
	json_object_set_new(o, "tree", json_string(tree));
	json_object_set_new(o, "program", json_string_lossy(s->program));
	json_object_set_new(o, "tags", tags);
	json_object_set_new(o, "sources", srcs);
	if (s->has_parent) {
		char parent[OID_HEX_LEN + 1];
		oid_hex(parent, &s->parent);
		json_object_set_new(o, "parent", json_string(parent));
	}
	json_object_set_new(o, "stats", json_pack("{sIsIsIsIsIsI}",
		"files_new", (json_int_t)s->stats.files_new,
		"files_changed", (json_int_t)s->stats.files_changed,
		"files_unmodified", (json_int_t)s->stats.files_unmodified,
		"bytes_total", (json_int_t)s->stats.bytes_total,
		"bytes_added", (json_int_t)s->stats.bytes_added,
		"bytes_stored", (json_int_t)s->stats.bytes_stored));
	return o;
}

static void print_row(const struct snapshot *s, const char *name)
{
	char t[32], tags[256] = "", srcs[512] = "";
	char id[OID_HEX_LEN + 1];
	time_t sec = (time_t)(s->time_ns / 1000000000);
	struct tm tm;
	oid_hex(id, &s->id);
	localtime_r(&sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%d %H:%M:%S", &tm);
	for (size_t i = 0; i < s->ntags; i++)
		snprintf(tags + strlen(tags), sizeof(tags) - strlen(tags), "%s%s",
			 i ? "," : "", s->tags[i]);
	for (size_t i = 0; i < s->nsources; i++)
		snprintf(srcs + strlen(srcs), sizeof(srcs) - strlen(srcs), "%s%s",
			 i ? ", " : "", s->sources[i].name);
	printf("%.8s  %-20s  %s  %-12s  %-10s  %s\n", id, name, t, s->host,
	       *tags ? tags : "-", srcs);
}

int cmd_snapshots(struct cli *c, int argc, char **argv)
{
	struct repo *r;
	struct snapshot *v;
	size_t n;
	int rc = cli_parse(c, argc, argv, "", NULL, NULL, NULL, usage);
	if (rc)
		return CLI_EXIT(rc);
	if (c->argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if ((rc = cli_open_repo(c, 0, &r)))
		return rc;
	/* the mount's folder names: "-2", "-3"... for the same second */
	char (*names)[SNAPSHOT_NAME_MAX] = NULL;
	int e = repo_snapshots(r, &v, &n);
	if (e == 0) {
		names = malloc((n ? n : 1) * sizeof(*names));
		e = names ? snapshot_folder_names(v, n, names) : -ENOMEM;
		if (e < 0)
			repo_snapshots_free(v, n);
	}
	if (e < 0) {
		log_error("%s: listing snapshots: %s", r->url, errstr(e));
		free(names);
		repo_close(r);
		return EXIT_ERROR;
	}
	if (c->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, snapshot_json(&v[i], names[i]));
		char *txt = json_dumps(arr, JSON_COMPACT);
		if (txt)
			puts(txt);
		free(txt);
		json_decref(arr);
	} else {
		printf("%-8s  %-20s  %-19s  %-12s  %-10s  %s\n", "ID", "Folder", "Time", "Host",
		       "Tags", "Sources");
		for (size_t i = 0; i < n; i++)
			print_row(&v[i], names[i]);
		printf("%zu snapshot%s\n", n, n == 1 ? "" : "s");
	}
	free(names);
	repo_snapshots_free(v, n);
	repo_close(r);
	return EXIT_OK;
}
