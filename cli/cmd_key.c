/* cairn key: the passwords that open the repository. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "lib/hex.h"
#include "lib/log.h"

static const char usage[] =
	"usage: cairn key list\n"
	"       cairn key add [--new-password-file FILE]\n"
	"       cairn key passwd [--new-password-file FILE]\n"
	"       cairn key remove ID\n"
	"\n"
	"Each key wraps the repository's master key under one password.  The new\n"
	"password comes from CAIRN_NEW_PASSWORD, --new-password-file or a prompt.\n"
	"The key in use (marked *) cannot be removed; use passwd to replace it.\n";

enum { OPT_NEW_PW_FILE = 0x100 };

static int handle(void *ctx, int opt, const char *arg)
{
	const char **file = ctx;
	if (opt != OPT_NEW_PW_FILE)
		return EXIT_USAGE;
	*file = arg;
	return 0;
}

struct key_list {
	struct repo *r;
	int json;
	size_t n;
};

static int print_key(void *ctx, const char *key, uint64_t size)
{
	struct key_list *l = ctx;
	struct buf json = BUF_INIT;
	struct keyfile_info info;
	char cur[OID_HEX_LEN + 1], t[32];
	int e = backend_get(l->r->be, key, &json);
	if (!e)
		e = keyfile_info(json.data, json.len, &info);
	buf_release(&json);
	oid_hex(cur, &l->r->key_id);
	const char *id = key + 5;
	int current = !strcmp(id, cur);
	l->n++;
	if (e < 0) {
		printf(" %.8s  (unreadable key file: %s)\n", id, errstr(e));
		return 0;
	}
	time_t sec = (time_t)(info.created_ns / 1000000000);
	struct tm tm;
	localtime_r(&sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%d %H:%M:%S", &tm);
	if (l->json)
		printf("%s{\"id\":\"%s\",\"current\":%s,\"user\":\"%s\",\"host\":\"%s\","
		       "\"created\":\"%s\"}", l->n > 1 ? "," : "", id,
		       current ? "true" : "false", info.user, info.host, t);
	else
		printf("%c%.8s  %-12s  %-16s  %s\n", current ? '*' : ' ', id, info.user,
		       info.host, t);
	return 0;
}

static int new_password(struct cli *c, const char *file, char **pw)
{
	const char *env = getenv("CAIRN_NEW_PASSWORD");
	int e;
	if (file)
		e = cli_read_password_file(file, pw);
	else if (env)
		e = (*pw = strdup(env)) ? 0 : -ENOMEM;
	else {
		/* prompt only: the repository password sources are for the old one */
		struct cli none = { 0 };
		char *saved = getenv("CAIRN_PASSWORD") ? strdup(getenv("CAIRN_PASSWORD")) : NULL;
		unsetenv("CAIRN_PASSWORD");
		e = cli_get_password(&none, "enter the new password: ", 1, pw);
		if (saved) {
			setenv("CAIRN_PASSWORD", saved, 1);
			cli_free_password(saved);
		}
	}
	if (e < 0 || !*pw || !**pw) {
		log_error("no new password: set CAIRN_NEW_PASSWORD or use --new-password-file");
		cli_free_password(*pw);
		*pw = NULL;
		return -EINVAL;
	}
	return 0;
}

static int add(struct cli *c, struct repo *r, const char *file, struct oid *id)
{
	char *pw;
	if (new_password(c, file, &pw) < 0)
		return EXIT_ERROR;
	int e = repo_key_add(r, pw, strlen(pw), NULL, id);
	cli_free_password(pw);
	if (e < 0) {
		log_error("%s: adding a key: %s", r->url, errstr(e));
		return EXIT_ERROR;
	}
	char hex[OID_HEX_LEN + 1];
	oid_hex(hex, id);
	if (!c->quiet)
		printf("added key %.8s\n", hex);
	return EXIT_OK;
}

struct find_key {
	const char *prefix;
	char match[80];
	int count;
};

static int match_key(void *ctx, const char *key, uint64_t size)
{
	struct find_key *f = ctx;
	if (!strncmp(key + 5, f->prefix, strlen(f->prefix))) {
		snprintf(f->match, sizeof(f->match), "%s", key);
		f->count++;
	}
	return 0;
}

static int remove_key(struct cli *c, struct repo *r, const char *prefix)
{
	struct find_key f = { .prefix = prefix };
	char cur[OID_HEX_LEN + 1];
	oid_hex(cur, &r->key_id);
	if (strlen(prefix) < 4 || hex_span(prefix) != strlen(prefix)) {
		log_error("%s: give at least 4 hex digits of a key id ('cairn key list')", prefix);
		return EXIT_USAGE;
	}
	int e = backend_list(r->be, "keys/", match_key, &f);
	if (!e && f.count != 1) {
		log_error("key %s: %s", prefix, f.count ? "ambiguous" : "not found");
		return EXIT_ERROR;
	}
	if (!e && !strcmp(f.match + 5, cur)) {
		log_error("key %s is the one in use; open with another password to remove it, "
			  "or use 'cairn key passwd'", prefix);
		return EXIT_ERROR;
	}
	if (!e)
		e = backend_del(r->be, f.match);
	if (e < 0) {
		log_error("%s: removing key %s: %s", r->url, prefix, errstr(e));
		return EXIT_ERROR;
	}
	if (!c->quiet)
		printf("removed key %.8s\n", f.match + 5);
	return EXIT_OK;
}

int cmd_key(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "new-password-file", required_argument, NULL, OPT_NEW_PW_FILE },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL;
	struct repo *r;
	struct oid id;
	int rc = cli_parse(c, argc, argv, "", opts, handle, &file, usage);
	if (rc)
		return CLI_EXIT(rc);
	const char *sub = c->argc ? c->argv[0] : "";
	int want = !strcmp(sub, "remove") ? 2 : 1;
	if (c->argc != want || (strcmp(sub, "list") && strcmp(sub, "add") &&
				strcmp(sub, "passwd") && strcmp(sub, "remove"))) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if ((rc = cli_open_repo(c, 1, &r)))
		return rc;
	if (!r->cfg.encrypted) {
		log_error("%s is not encrypted: it has no keys", r->url);
		repo_close(r);
		return EXIT_ERROR;
	}
	if (!strcmp(sub, "list")) {
		struct key_list l = { .r = r, .json = c->json };
		if (c->json)
			printf("[");
		rc = backend_list(r->be, "keys/", print_key, &l) < 0 ? EXIT_ERROR : EXIT_OK;
		if (c->json)
			printf("]\n");
	} else if (!strcmp(sub, "add")) {
		rc = add(c, r, file, &id);
	} else if (!strcmp(sub, "passwd")) {
		char old[OID_HEX_LEN + 1];
		oid_hex(old, &r->key_id);
		rc = add(c, r, file, &id);
		if (rc == EXIT_OK) {
			r->key_id = id; /* the old key is no longer the one in use */
			rc = remove_key(c, r, old);
		}
	} else {
		rc = remove_key(c, r, c->argv[1]);
	}
	repo_close(r);
	return rc;
}
