/* cairn check: verify the repository on the destination. */
#include <stdio.h>

#include "cli/cli.h"
#include "lib/log.h"
#include "store/check.h"

static const char usage[] =
	"usage: cairn check [--read-data]\n"
	"\n"
	"Checks that every index, pack table, snapshot and tree is readable and\n"
	"consistent.  --read-data also reads every pack and authenticates and\n"
	"re-hashes every blob.\n";

enum { OPT_READ_DATA = 0x100 };

static int handle(void *ctx, int opt, const char *arg)
{
	struct check_opts *o = ctx;
	if (opt != OPT_READ_DATA)
		return EXIT_USAGE;
	o->read_data = true;
	return 0;
}

int cmd_check(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "read-data", no_argument, NULL, OPT_READ_DATA },
		{ NULL, 0, NULL, 0 },
	};
	struct check_opts o = { 0 };
	struct check_result res;
	struct repo *r;
	int rc = cli_parse(c, argc, argv, "", opts, handle, &o, usage);
	if (rc)
		return CLI_EXIT(rc);
	if (c->argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	/* The catalog is not used by the check; do not refresh it either, so a
	 * damaged index is reported by the check rather than on opening. */
	if ((rc = cli_open_repo(c, 1, &r)))
		return rc;
	if (!c->quiet && !c->json)
		printf("checking %s%s\n", r->url, o.read_data ? " (reading all data)" : "");
	int e = check_run(r, &o, &res);
	if (c->json) {
		printf("{\"errors\":%llu,\"warnings\":%llu,\"packs\":%llu,\"indexes\":%llu,"
		       "\"snapshots\":%llu,\"trees\":%llu,\"blobs_read\":%llu,"
		       "\"unused_blobs\":%llu,\"unused_bytes\":%llu}\n",
		       (unsigned long long)res.errors, (unsigned long long)res.warnings,
		       (unsigned long long)res.packs, (unsigned long long)res.indexes,
		       (unsigned long long)res.snapshots, (unsigned long long)res.trees,
		       (unsigned long long)res.blobs_read, (unsigned long long)res.unused_blobs,
		       (unsigned long long)res.unused_bytes);
	} else if (e == 0 || res.errors) {
		printf("%llu packs, %llu indexes, %llu snapshots, %llu trees",
		       (unsigned long long)res.packs, (unsigned long long)res.indexes,
		       (unsigned long long)res.snapshots, (unsigned long long)res.trees);
		if (o.read_data)
			printf(", %llu blobs read", (unsigned long long)res.blobs_read);
		printf("\n");
		if (res.unused_blobs) {
			char sz[16];
			fmt_bytes(res.unused_bytes, sz, sizeof(sz));
			printf("%llu blobs (%s) are not used by any snapshot\n",
			       (unsigned long long)res.unused_blobs, sz);
		}
		if (res.errors)
			printf("%llu errors found\n", (unsigned long long)res.errors);
		else
			printf("no errors were found\n");
	}
	repo_close(r);
	if (e < 0 && !res.errors)
		log_error("check could not run: %s", errstr(e));
	return e < 0 ? EXIT_ERROR : EXIT_OK;
}
