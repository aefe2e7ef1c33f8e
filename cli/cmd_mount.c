/* cairn mount / cairn umount: the repository as a folder. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "fs/mount.h"
#include "lib/log.h"

static const char mount_usage[] =
	"usage: cairn mount MOUNTPOINT [--foreground] [--cache-size SIZE]\n"
	"                   [-o allow_other] [-o nonempty]\n"
	"\n"
	"Shows every snapshot as a read-only folder @YYYY-MM-DD-HHMMSS, the newest\n"
	"of each day as @YYYY-MM-DD and the newest of all as @latest.  New\n"
	"snapshots appear by themselves.  Runs in the background once the folder\n"
	"answers (--foreground keeps it attached, for systemd); stop it with\n"
	"'cairn umount MOUNTPOINT' or fusermount3 -u.\n"
	"\n"
	"--cache-size caps the on-disk cache of chunks read from the destination\n"
	"(default 1G; 0 turns it off).  A local destination (file://) is read\n"
	"directly unless --cache-size is given.  The daemon itself stays under\n"
	"100 MB of memory.\n";

static const char umount_usage[] = "usage: cairn umount MOUNTPOINT\n";

enum { OPT_FOREGROUND = 0x100, OPT_CACHE_SIZE };

#define READ_CACHE_DEFAULT ((uint64_t)1 << 30)

struct mount_args {
	struct fs_mount_opts o;
	uint64_t cache_bytes;
	int cache_given;
};

static int handle(void *ctx, int opt, const char *arg)
{
	struct mount_args *a = ctx;
	uint64_t size;
	switch (opt) {
	case OPT_FOREGROUND:
	case 'f':
		a->o.foreground = true;
		return 0;
	case OPT_CACHE_SIZE:
		if (parse_size(arg, &size) < 0 || (size && size < (1u << 20))) {
			log_error("--cache-size %s: give 0 or a size of at least 1M (like 256M, 2G)",
				  arg);
			return EXIT_USAGE;
		}
		a->cache_bytes = size;
		a->cache_given = 1;
		return 0;
	case 'o': {
		char *copy = strdup(arg), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			if (!strcmp(t, "allow_other"))
				a->o.allow_other = true;
			else if (!strcmp(t, "nonempty"))
				a->o.allow_nonempty = true;
			else {
				log_error("-o %s: known options are allow_other and nonempty", t);
				free(copy);
				return EXIT_USAGE;
			}
		}
		free(copy);
		return 0;
	}
	default:
		return EXIT_USAGE;
	}
}

int cmd_mount(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, OPT_FOREGROUND },
		{ "cache-size", required_argument, NULL, OPT_CACHE_SIZE },
		{ NULL, 0, NULL, 0 },
	};
	struct mount_args a = { 0 };
	struct repo *r;
	char *pw = NULL;
	int rc = cli_parse(c, argc, argv, "fo:", opts, handle, &a, mount_usage);
	if (rc)
		return CLI_EXIT(rc);
	if (c->argc != 1) {
		fputs(mount_usage, stderr);
		return EXIT_USAGE;
	}
	a.o.mountpoint = c->argv[0];
	/* Open once here: a wrong password or a missing repository is said
	 * on this terminal, before anything is mounted. */
	if ((rc = cli_open_repo_keep(c, 0, &r, &pw)))
		return rc;
	repo_close(r);
	if (fs_check_mountpoint(a.o.mountpoint, a.o.allow_nonempty) < 0) {
		cli_free_password(pw);
		return EXIT_ERROR;
	}
	a.o.repo = (struct repo_open_opts){ .url = c->repo_url, .cache_root = c->cache_dir,
					    .password = pw, .password_len = pw ? strlen(pw) : 0,
					    .read_cache_bytes = a.cache_given ? a.cache_bytes
									      : READ_CACHE_DEFAULT,
					    .read_cache_local = a.cache_given };
	int e = fs_mount(&a.o);
	cli_free_password(pw);
	if (e < 0)
		return EXIT_ERROR;
	if (!a.o.foreground && !c->quiet)
		printf("mounted %s at %s\n", c->repo_url, a.o.mountpoint);
	return EXIT_OK;
}

int cmd_umount(struct cli *c, int argc, char **argv)
{
	int rc = cli_parse(c, argc, argv, "", NULL, NULL, NULL, umount_usage);
	if (rc)
		return CLI_EXIT(rc);
	if (c->argc != 1) {
		fputs(umount_usage, stderr);
		return EXIT_USAGE;
	}
	return fs_unmount(c->argv[0]) < 0 ? EXIT_ERROR : EXIT_OK;
}
