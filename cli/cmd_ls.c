/* cairn ls: list the files of a snapshot, recursively. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "lib/jsonutil.h"
#include "lib/log.h"

static const char usage[] =
	"usage: cairn ls SNAPSHOT[:PATH] [-l] [--json]\n"
	"\n"
	"Lists PATH (default: the whole snapshot) and everything below it.\n"
	"-l shows mode, owner, size and time; --json prints one object per line.\n";

struct ls {
	struct cli *c;
	struct repo *r;
	int lng;
	struct buf path;
	unsigned errors;
};

static void mode_string(const struct tree_entry *e, char out[11])
{
	static const char kinds[] = "?-dlpcbs";
	uint32_t m = e->mode;
	out[0] = kinds[e->kind <= NODE_KIND_MAX ? e->kind : 0];
	const char *rwx = "rwxrwxrwx";
	for (int i = 0; i < 9; i++)
		out[1 + i] = (m & (0400u >> i)) ? rwx[i] : '-';
	if (m & 04000)
		out[3] = out[3] == 'x' ? 's' : 'S';
	if (m & 02000)
		out[6] = out[6] == 'x' ? 's' : 'S';
	if (m & 01000)
		out[9] = out[9] == 'x' ? 't' : 'T';
	out[10] = 0;
}

static void print_entry(struct ls *l, const struct tree_entry *e)
{
	const char *path = (char *)l->path.data;
	if (l->c->json) {
		static const char *const kinds[] = { "", "file", "dir", "symlink", "fifo",
						     "chardev", "blockdev", "socket" };
		char t[64];
		time_format_rfc3339(e->mtime_sec * 1000000000 + e->mtime_nsec, t, sizeof(t));
		json_t *o = json_pack("{sosssisisisIss}", "path", json_string_lossy(path),
				      "type", kinds[e->kind], "mode", (int)e->mode,
				      "uid", (int)e->uid, "gid", (int)e->gid,
				      "size", (json_int_t)e->size, "mtime", t);
		if (o && e->kind == NODE_SYMLINK)
			json_object_set_new(o, "target", json_string_lossy(e->target));
		char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (txt)
			puts(txt);
		free(txt);
		json_decref(o);
		return;
	}
	if (!l->lng) {
		printf("%s\n", path);
		return;
	}
	char mode[11], t[32];
	time_t sec = (time_t)e->mtime_sec;
	struct tm tm;
	localtime_r(&sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%d %H:%M:%S", &tm);
	mode_string(e, mode);
	printf("%s %6u %6u %12llu %s %s%s%s\n", mode, e->uid, e->gid,
	       (unsigned long long)e->size, t, path, e->kind == NODE_SYMLINK ? " -> " : "",
	       e->kind == NODE_SYMLINK ? e->target : "");
}

static int list_tree(struct ls *l, const struct oid *id)
{
	struct tree *t;
	int e = repo_load_tree(l->r, l->r->codec, id, &t);
	if (e < 0) {
		char hex[OID_HEX_LEN + 1];
		oid_hex(hex, id);
		log_error("%s: tree %s: %s", (char *)l->path.data, hex, errstr(e));
		l->errors++;
		return 0;
	}
	size_t base = l->path.len;
	for (size_t i = 0; i < t->count && !e; i++) {
		const struct tree_entry *en = &t->entries[i];
		l->path.len = base;
		if ((e = buf_printf(&l->path, "/%s", en->name)) < 0)
			break;
		print_entry(l, en);
		if (en->kind == NODE_DIR)
			e = list_tree(l, &en->subtree);
	}
	l->path.len = base;
	l->path.data[base] = 0;
	tree_free(t);
	return e;
}

static int handle(void *ctx, int opt, const char *arg)
{
	struct ls *l = ctx;
	if (opt != 'l')
		return EXIT_USAGE;
	l->lng = 1;
	return 0;
}

int cmd_ls(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "long", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct ls l = { .c = c };
	struct snapshot snap;
	struct tree_entry top;
	char *path;
	int rc = cli_parse(c, argc, argv, "l", opts, handle, &l, usage);
	if (rc)
		return CLI_EXIT(rc);
	if (c->argc != 1) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if ((rc = cli_open_repo(c, 0, &l.r)))
		return rc;
	if ((rc = cli_snapshot_arg(l.r, c->argv[0], &snap, &path))) {
		repo_close(l.r);
		return rc;
	}
	int e = repo_walk_path(l.r, l.r->codec, &snap.tree, path, &top);
	if (e < 0) {
		log_error("%s: %s", *path ? path : "/", errstr(e));
		rc = EXIT_ERROR;
		goto out;
	}
	/* Paths print as they are in the snapshot, starting with '/'. */
	while (*path == '/')
		path++;
	size_t n = strlen(path);
	while (n && path[n - 1] == '/')
		n--;
	buf_printf(&l.path, "%s%.*s", n ? "/" : "", (int)n, path);
	if (n)
		print_entry(&l, &top);
	if (top.kind == NODE_DIR)
		e = list_tree(&l, &top.subtree);
	tree_entry_release(&top);
	rc = e < 0 || l.errors ? EXIT_ERROR : EXIT_OK;
out:
	buf_release(&l.path);
	snapshot_release(&snap);
	repo_close(l.r);
	return rc;
}
