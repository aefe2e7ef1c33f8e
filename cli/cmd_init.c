/* cairn init: create a repository. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/log.h"

static const char usage[] =
	"usage: cairn init [--no-encryption] [--compression zstd[:N]|lz4[:N]|none]\n"
	"\n"
	"Creates a repository at -r URL.  It is encrypted with the password from\n"
	"CAIRN_PASSWORD, --password-file or a prompt, unless --no-encryption.\n";

enum { OPT_NO_ENC = 0x100, OPT_COMP };

struct init_args {
	int no_encryption;
	const char *compression;
};

static int handle(void *ctx, int opt, const char *arg)
{
	struct init_args *a = ctx;
	switch (opt) {
	case OPT_NO_ENC: a->no_encryption = 1; return 0;
	case OPT_COMP: a->compression = arg; return 0;
	default: return EXIT_USAGE;
	}
}

int cmd_init(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-encryption", no_argument, NULL, OPT_NO_ENC },
		{ "insecure-no-password", no_argument, NULL, OPT_NO_ENC },
		{ "compression", required_argument, NULL, OPT_COMP },
		{ NULL, 0, NULL, 0 },
	};
	struct init_args a = { 0 };
	struct repo_init_opts o = { .compression = -1 };
	struct repo *r = NULL;
	char *pw = NULL;
	int rc = cli_parse(c, argc, argv, "", opts, handle, &a, usage);
	if (rc)
		return CLI_EXIT(rc);
	if (c->argc || !c->repo_url) {
		fputs(usage, stderr);
		if (!c->repo_url)
			log_error("no repository given: use -r URL or set CAIRN_REPO");
		return EXIT_USAGE;
	}
	if (a.compression && compression_parse(a.compression, &o.compression, &o.level) < 0) {
		log_error("--compression %s: use zstd, zstd:LEVEL (1-19), lz4, lz4:ACCEL or none",
			  a.compression);
		return EXIT_USAGE;
	}
	if (!a.no_encryption) {
		int e = cli_get_password(c, "enter a password for the new repository: ", 1, &pw);
		if (e == -ENOENT) {
			log_error("no password: set CAIRN_PASSWORD, use --password-file, "
				  "or pass --no-encryption");
			return EXIT_ERROR;
		}
		if (e < 0)
			return EXIT_ERROR;
		if (!*pw) {
			log_error("an empty password is refused; use --no-encryption for an "
				  "unencrypted repository");
			cli_free_password(pw);
			return EXIT_ERROR;
		}
	}
	o.url = c->repo_url;
	o.cache_root = c->cache_dir;
	o.password = pw;
	o.password_len = pw ? strlen(pw) : 0;
	int e = repo_init(&o, &r);
	cli_free_password(pw);
	if (e == -EEXIST) {
		log_error("%s: a repository exists there already; refusing to overwrite it",
			  c->repo_url);
		return EXIT_ERROR;
	}
	if (e < 0) {
		log_error("%s: cannot create a repository: %s", c->repo_url, errstr(e));
		return EXIT_ERROR;
	}
	char id[OID_HEX_LEN + 1], comp[16];
	oid_hex(id, &r->cfg.id);
	compression_format(r->cfg.compression, r->cfg.level, comp, sizeof(comp));
	if (c->json) {
		printf("{\"id\":\"%s\",\"url\":\"%s\",\"encrypted\":%s,\"compression\":\"%s\"}\n",
		       id, r->url, r->cfg.encrypted ? "true" : "false", comp);
	} else if (!c->quiet) {
		printf("created cairn repository %.8s at %s (%s, compression %s)\n", id, r->url,
		       r->cfg.encrypted ? "encrypted" : "NOT encrypted", comp);
		if (r->cfg.encrypted)
			printf("keep the password safe: without it the data cannot be read\n");
	}
	repo_close(r);
	return EXIT_OK;
}
