/* cairn repair catalog: rebuild the local catalog from the destination. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/log.h"

static const char usage[] =
	"usage: cairn repair catalog\n"
	"\n"
	"Throws away the local catalog (a cache) and rebuilds it from the\n"
	"repository's index and snapshot objects.\n";

int cmd_repair(struct cli *c, int argc, char **argv)
{
	struct repo *r;
	struct catalog_stats st;
	int rc = cli_parse(c, argc, argv, "", NULL, NULL, NULL, usage);
	if (rc)
		return CLI_EXIT(rc);
	if (c->argc != 1 || strcmp(c->argv[0], "catalog")) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if ((rc = cli_open_repo(c, 1, &r)))
		return rc;
	int e = repo_rebuild_catalog(r);
	if (!e)
		e = catalog_stats(r->cat, &st);
	if (e < 0) {
		log_error("%s: rebuilding the catalog: %s", r->url, errstr(e));
		repo_close(r);
		return EXIT_ERROR;
	}
	if (!c->quiet)
		printf("catalog rebuilt: %llu snapshots, %llu packs, %llu blobs\n",
		       (unsigned long long)st.snapshots, (unsigned long long)st.packs,
		       (unsigned long long)(st.data_blobs + st.tree_blobs));
	repo_close(r);
	return EXIT_OK;
}
