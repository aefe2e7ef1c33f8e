/* cairn backup: back up a directory as one source of a new snapshot. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/log.h"
#include "store/backup.h"

static const char usage[] =
	"usage: cairn backup [--source NAME] [--exclude PATTERN]... [--tag TAG]...\n"
	"                    [--host HOST] DIR\n"
	"\n"
	"Backs up DIR as the folder NAME (default: DIR's name) of a new snapshot;\n"
	"the other sources of the previous snapshot are carried over unchanged.\n"
	"A PATTERN without '/' matches names anywhere; with '/', paths inside DIR\n"
	"(or absolute paths).  Exit 3: the snapshot was written but some files\n"
	"could not be read (each is named above).\n";

enum { OPT_SOURCE = 0x100, OPT_EXCLUDE, OPT_TAG, OPT_HOST };

#define MAX_LIST 256

struct backup_args {
	struct backup_opts o;
	const char *excludes[MAX_LIST + 1];
	const char *tags[MAX_LIST + 1];
	int nex, ntag;
};

static int handle(void *ctx, int opt, const char *arg)
{
	struct backup_args *a = ctx;
	switch (opt) {
	case OPT_SOURCE:
		a->o.source = arg;
		return 0;
	case OPT_HOST:
		a->o.host = arg;
		return 0;
	case OPT_EXCLUDE:
	case 'e':
		if (a->nex == MAX_LIST)
			return EXIT_USAGE;
		a->excludes[a->nex++] = arg;
		return 0;
	case OPT_TAG:
		if (a->ntag == MAX_LIST)
			return EXIT_USAGE;
		a->tags[a->ntag++] = arg;
		return 0;
	default:
		return EXIT_USAGE;
	}
}

static void show(void *ctx, double elapsed, char *line, size_t n)
{
	const struct backup_progress *p = ctx;
	char done[16], total[16], rate[16], el[16], eta[16] = "?";
	uint64_t bytes = p->bytes_done, tb = p->total_bytes;
	fmt_bytes(bytes, done, sizeof(done));
	fmt_bytes(tb, total, sizeof(total));
	fmt_bytes(elapsed > 0 ? (uint64_t)((double)bytes / elapsed) : 0, rate, sizeof(rate));
	fmt_duration(elapsed, el, sizeof(el));
	if (p->scan_done && bytes && tb >= bytes)
		fmt_duration(elapsed * (double)(tb - bytes) / (double)bytes, eta, sizeof(eta));
	snprintf(line, n, "[%s] %llu/%llu%s files, %s/%s%s, %s/s, ETA %s", el,
		 (unsigned long long)p->files_done, (unsigned long long)p->total_files,
		 p->scan_done ? "" : "+", done, total, p->scan_done ? "" : "+", rate, eta);
}

/* The new snapshot's folder name among all (snapshot_folder_names: "-2"
 * if an earlier one was made in the same second); its plain
 * snapshot_dirname if the list cannot be read. */
static void folder_name(struct repo *r, const struct snapshot *s, char *out)
{
	struct snapshot *v;
	size_t n;
	snapshot_dirname(s->time_ns, out, SNAPSHOT_NAME_MAX);
	if (repo_snapshots(r, &v, &n) < 0)
		return;
	char (*names)[SNAPSHOT_NAME_MAX] = malloc((n ? n : 1) * sizeof(*names));
	if (names && snapshot_folder_names(v, n, names) == 0)
		for (size_t i = 0; i < n; i++)
			if (oid_eq(&v[i].id, &s->id))
				snprintf(out, SNAPSHOT_NAME_MAX, "%s", names[i]);
	free(names);
	repo_snapshots_free(v, n);
}

static void print_summary(const struct cli *c, struct repo *r,
			  const struct backup_result *res, int rc)
{
	const struct snapshot *s = &res->snap;
	const struct snapshot_stats *st = &s->stats;
	char id[OID_HEX_LEN + 1], name[SNAPSHOT_NAME_MAX], added[16], stored[16], total[16];
	if (c->quiet && !c->json)
		return;
	oid_hex(id, &s->id);
	folder_name(r, s, name);
	if (c->json) {
		json_t *o = json_object();
		json_object_set_new(o, "snapshot_id", json_string(id));
		json_object_set_new(o, "name", json_string(name));
		json_object_set_new(o, "files_new", json_integer((json_int_t)st->files_new));
		json_object_set_new(o, "files_changed", json_integer((json_int_t)st->files_changed));
		json_object_set_new(o, "files_unmodified",
				    json_integer((json_int_t)st->files_unmodified));
		json_object_set_new(o, "dirs", json_integer((json_int_t)st->dirs));
		json_object_set_new(o, "bytes_total", json_integer((json_int_t)st->bytes_total));
		json_object_set_new(o, "bytes_read", json_integer((json_int_t)st->bytes_read));
		json_object_set_new(o, "bytes_added", json_integer((json_int_t)st->bytes_added));
		json_object_set_new(o, "bytes_stored", json_integer((json_int_t)st->bytes_stored));
		json_object_set_new(o, "blobs_added", json_integer((json_int_t)st->blobs_added));
		json_object_set_new(o, "duration", json_real((double)st->duration_ms / 1000.0));
		json_object_set_new(o, "warnings", json_integer(res->warnings));
		json_object_set_new(o, "exit_code", json_integer(rc));
		char *txt = json_dumps(o, JSON_COMPACT);
		if (txt)
			puts(txt);
		free(txt);
		json_decref(o);
		return;
	}
	fmt_bytes(st->bytes_added, added, sizeof(added));
	fmt_bytes(st->bytes_stored, stored, sizeof(stored));
	fmt_bytes(st->bytes_total, total, sizeof(total));
	printf("files:  %llu new, %llu changed, %llu unmodified (%s)\n",
	       (unsigned long long)st->files_new, (unsigned long long)st->files_changed,
	       (unsigned long long)st->files_unmodified, total);
	printf("dirs:   %llu\n", (unsigned long long)st->dirs);
	printf("added:  %s of new data, %s stored\n", added, stored);
	printf("snapshot %.8s (%s) saved in %.2f s%s\n", id, name,
	       (double)st->duration_ms / 1000.0,
	       rc == EXIT_PARTIAL ? ", but some files could not be read" : "");
}

int cmd_backup(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "exclude", required_argument, NULL, OPT_EXCLUDE },
		{ "tag", required_argument, NULL, OPT_TAG },
		{ "host", required_argument, NULL, OPT_HOST },
		{ NULL, 0, NULL, 0 },
	};
	struct backup_args a = { 0 };
	struct backup_progress prog = { 0 };
	struct backup_result res;
	struct repo *r;
	int rc = cli_parse(c, argc, argv, "e:", opts, handle, &a, usage);
	if (rc)
		return CLI_EXIT(rc);
	if (c->argc != 1) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if ((rc = cli_open_repo(c, 0, &r)))
		return rc;
	a.o.path = c->argv[0];
	a.o.excludes = a.excludes;
	a.o.tags = a.tags;
	struct progress *p = progress_start(c, show, &prog);
	if (p)
		a.o.progress = &prog;
	int e = backup_run(r, &a.o, &res);
	progress_stop(p);
	if (e < 0) {
		log_error("backup of %s failed: %s; no snapshot was written", a.o.path,
			  errstr(e));
		repo_close(r);
		return EXIT_ERROR;
	}
	rc = e == BACKUP_PARTIAL ? EXIT_PARTIAL : EXIT_OK;
	print_summary(c, r, &res, rc);
	backup_result_release(&res);
	repo_close(r);
	return rc;
}
