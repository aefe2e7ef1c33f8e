/* cairn restore: copy a snapshot, or a path in it, into a directory. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/log.h"
#include "store/restore.h"

static const char usage[] =
	"usage: cairn restore SNAPSHOT[:PATH] --target DIR\n"
	"\n"
	"Puts the contents of PATH (default: the whole snapshot) into DIR, which\n"
	"is created if missing.  Existing files of the same names are replaced.\n";

enum { OPT_TARGET = 0x100 };

static int handle(void *ctx, int opt, const char *arg)
{
	struct restore_opts *o = ctx;
	if (opt != OPT_TARGET && opt != 't')
		return EXIT_USAGE;
	o->target = arg;
	return 0;
}

static void show(void *ctx, double elapsed, char *line, size_t n)
{
	const struct restore_progress *p = ctx;
	char done[16], total[16], el[16], rate[16], eta[16] = "?";
	uint64_t bytes = p->bytes, tb = p->bytes_total;
	fmt_bytes(bytes, done, sizeof(done));
	fmt_bytes(tb, total, sizeof(total));
	fmt_bytes(elapsed > 0 ? (uint64_t)((double)bytes / elapsed) : 0, rate, sizeof(rate));
	fmt_duration(elapsed, el, sizeof(el));
	if (bytes && tb >= bytes)
		fmt_duration(elapsed * (double)(tb - bytes) / (double)bytes, eta, sizeof(eta));
	snprintf(line, n, "[%s] %llu/%llu files, %s/%s, %s/s, ETA %s", el,
		 (unsigned long long)p->files, (unsigned long long)p->files_total, done, total,
		 rate, eta);
}

int cmd_restore(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "target", required_argument, NULL, OPT_TARGET },
		{ NULL, 0, NULL, 0 },
	};
	struct restore_opts o = { 0 };
	struct restore_progress prog = { 0 };
	struct restore_result res;
	struct snapshot snap;
	struct repo *r;
	char *path;
	int rc = cli_parse(c, argc, argv, "t:", opts, handle, &o, usage);
	if (rc)
		return CLI_EXIT(rc);
	if (c->argc != 1 || !o.target) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if ((rc = cli_open_repo(c, 0, &r)))
		return rc;
	if ((rc = cli_snapshot_arg(r, c->argv[0], &snap, &path))) {
		repo_close(r);
		return rc;
	}
	struct progress *p = progress_start(c, show, &prog);
	if (p)
		o.progress = &prog;
	int e = restore_run(r, &snap, path, &o, &res);
	progress_stop(p);
	char bytes[16], id[OID_HEX_LEN + 1];
	fmt_bytes(res.bytes, bytes, sizeof(bytes));
	oid_hex(id, &snap.id);
	if (c->json)
		printf("{\"snapshot_id\":\"%s\",\"files\":%llu,\"dirs\":%llu,\"bytes\":%llu,"
		       "\"failed\":%llu}\n", id, (unsigned long long)res.files,
		       (unsigned long long)res.dirs, (unsigned long long)res.bytes,
		       (unsigned long long)res.failed);
	else if (!c->quiet && (e == 0 || res.failed))
		printf("restored %llu files, %llu directories (%s) from %.8s into %s\n",
		       (unsigned long long)res.files, (unsigned long long)res.dirs, bytes, id,
		       o.target);
	if (res.failed)
		log_error("%llu entries could not be restored (named above)",
			  (unsigned long long)res.failed);
	snapshot_release(&snap);
	repo_close(r);
	return e < 0 ? EXIT_ERROR : EXIT_OK;
}
