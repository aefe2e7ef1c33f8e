/* cairn stats: what the snapshots hold and what the repository stores. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "lib/idmap.h"
#include "lib/log.h"

static const char usage[] =
	"usage: cairn stats [--json]\n"
	"\n"
	"Shows the size of the latest snapshot and of all snapshots together as\n"
	"they would be restored, what the repository stores, and the resulting\n"
	"deduplication and compression ratios.\n";

struct size {
	uint64_t files, bytes;
};

/* Restore size of a tree, memoised per tree id (shared trees are walked
 * once but counted every time they appear). */
static int tree_size(struct repo *r, struct idmap *memo, const struct oid *id,
		     struct size *out)
{
	struct size *m = idmap_get(memo, id->b);
	if (m) {
		*out = *m;
		return 0;
	}
	struct tree *t;
	int e = repo_load_tree(r, r->codec, id, &t);
	if (e < 0)
		return e;
	struct size s = { 0 };
	for (size_t i = 0; i < t->count && !e; i++) {
		const struct tree_entry *en = &t->entries[i];
		if (en->kind == NODE_DIR) {
			struct size sub;
			if (!(e = tree_size(r, memo, &en->subtree, &sub))) {
				s.files += sub.files;
				s.bytes += sub.bytes;
			}
		} else {
			s.files++;
			s.bytes += en->size;
		}
	}
	tree_free(t);
	if (e < 0)
		return e;
	if (!(m = idmap_put(memo, id->b, NULL)))
		return -ENOMEM;
	*m = s;
	*out = s;
	return 0;
}

int cmd_stats(struct cli *c, int argc, char **argv)
{
	struct repo *r;
	struct snapshot *v = NULL;
	struct catalog_stats cs;
	struct size latest = { 0 }, all = { 0 };
	size_t n = 0;
	int rc = cli_parse(c, argc, argv, "", NULL, NULL, NULL, usage);
	if (rc)
		return CLI_EXIT(rc);
	if (c->argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if ((rc = cli_open_repo(c, 0, &r)))
		return rc;
	struct idmap *memo = idmap_new(sizeof(struct size));
	int e = memo ? repo_snapshots(r, &v, &n) : -ENOMEM;
	for (size_t i = 0; !e && i < n; i++) {
		struct size s;
		if ((e = tree_size(r, memo, &v[i].tree, &s)) < 0)
			break;
		all.files += s.files;
		all.bytes += s.bytes;
		latest = s;
	}
	if (!e)
		e = catalog_stats(r->cat, &cs);
	idmap_free(memo);
	repo_snapshots_free(v, n);
	if (e < 0) {
		log_error("%s: stats: %s", r->url, errstr(e));
		repo_close(r);
		return EXIT_ERROR;
	}
	uint64_t unique = cs.data_plain + cs.tree_plain;
	uint64_t stored = cs.data_stored + cs.tree_stored;
	double dedup = unique ? (double)all.bytes / (double)cs.data_plain : 0;
	double comp = stored ? (double)unique / (double)stored : 0;
	if (c->json) {
		printf("{\"snapshots\":%zu,\"latest_files\":%llu,\"latest_bytes\":%llu,"
		       "\"total_files\":%llu,\"total_bytes\":%llu,\"packs\":%llu,"
		       "\"pack_bytes\":%llu,\"blobs\":%llu,\"unique_bytes\":%llu,"
		       "\"stored_bytes\":%llu,\"dedup_ratio\":%.3f,\"compression_ratio\":%.3f}\n",
		       n, (unsigned long long)latest.files, (unsigned long long)latest.bytes,
		       (unsigned long long)all.files, (unsigned long long)all.bytes,
		       (unsigned long long)cs.packs, (unsigned long long)cs.pack_bytes,
		       (unsigned long long)(cs.data_blobs + cs.tree_blobs),
		       (unsigned long long)unique, (unsigned long long)stored, dedup, comp);
	} else {
		char a[16], b[16], p[16], u[16], s[16];
		fmt_bytes(latest.bytes, a, sizeof(a));
		fmt_bytes(all.bytes, b, sizeof(b));
		fmt_bytes(cs.pack_bytes, p, sizeof(p));
		fmt_bytes(unique, u, sizeof(u));
		fmt_bytes(stored, s, sizeof(s));
		printf("snapshots:           %zu\n", n);
		printf("latest snapshot:     %s in %llu files\n", a,
		       (unsigned long long)latest.files);
		printf("all snapshots:       %s in %llu files\n", b, (unsigned long long)all.files);
		printf("unique data:         %s in %llu blobs\n", u,
		       (unsigned long long)(cs.data_blobs + cs.tree_blobs));
		printf("stored:              %s in %llu packs (%s of blobs)\n", p,
		       (unsigned long long)cs.packs, s);
		printf("deduplication:       %.2fx\n", dedup);
		printf("compression:         %.2fx\n", comp);
	}
	repo_close(r);
	return EXIT_OK;
}
