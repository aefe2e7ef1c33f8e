/* cairn's entry point: global options, then one subcommand. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lz4.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <zstd.h>

#include "cli/cli.h"
#include "lib/log.h"
#include "lib/version.h"

static const char usage[] =
	"usage: cairn [-r URL] [--password-file FILE] [--cache-dir DIR] [-q] [--json]\n"
	"             COMMAND [ARGS]\n"
	"\n"
	"commands:\n"
	"  init                         create a repository\n"
	"  backup [--source NAME] [--exclude PATTERN]... [--tag TAG]... DIR\n"
	"                               back up a directory as source NAME\n"
	"  snapshots                    list snapshots\n"
	"  ls SNAPSHOT[:PATH] [-l]      list files in a snapshot\n"
	"  restore SNAPSHOT[:PATH] --target DIR\n"
	"                               restore files\n"
	"  check [--read-data]          verify the repository\n"
	"  stats                        sizes, deduplication and compression\n"
	"  key list|add|passwd|remove   manage passwords\n"
	"  repair catalog               rebuild the local catalog\n"
	"  mount MOUNTPOINT             browse every snapshot as a folder\n"
	"  umount MOUNTPOINT            unmount it\n"
	"  version                      print the version\n"
	"\n"
	"The repository comes from -r/--repo or CAIRN_REPO; the password from\n"
	"CAIRN_PASSWORD, CAIRN_PASSWORD_FILE, --password-file or a prompt.\n"
	"SNAPSHOT is 'latest', an id prefix, or a folder name as the mount shows\n"
	"it: @YYYY-MM-DD-HHMMSS[-N] (-2, -3... for later snapshots of the same\n"
	"second) or @YYYY-MM-DD (the newest of that day).\n";

static int cmd_version(struct cli *c, int argc, char **argv)
{
	printf("cairn %s (zstd %s, lz4 %s, %s, SQLite %s)\n", CAIRN_VERSION,
	       ZSTD_versionString(), LZ4_versionString(),
	       OpenSSL_version(OPENSSL_VERSION), sqlite3_libversion());
	return EXIT_OK;
}

static const struct {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
} commands[] = {
	{ "init", cmd_init },
	{ "backup", cmd_backup },
	{ "snapshots", cmd_snapshots },
	{ "ls", cmd_ls },
	{ "restore", cmd_restore },
	{ "check", cmd_check },
	{ "stats", cmd_stats },
	{ "key", cmd_key },
	{ "repair", cmd_repair },
	{ "mount", cmd_mount },
	{ "umount", cmd_umount },
	{ "version", cmd_version },
};

int main(int argc, char **argv)
{
	struct cli c = { .repo_url = getenv("CAIRN_REPO") };
	int opt;

	/* A closed pipe (cairn ls | head) must end quietly, not kill us
	 * mid-write of something else; writes then fail with EPIPE. */
	signal(SIGPIPE, SIG_IGN);

	/* Leading global options; the first non-option is the command. */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+r:qvh", cli_global_options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			return EXIT_OK;
		}
		int g = cli_global_option(&c, opt, optarg);
		if (g <= 0) {
			fprintf(stderr, "cairn: unknown or incomplete option '%s'\n%s",
				argv[optind - 1], usage);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[optind];
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, name))
			continue;
		optind++; /* getopt restarts on the command's own arguments */
		return commands[i].fn(&c, argc - optind + 1, argv + optind - 1);
	}
	fprintf(stderr, "cairn: unknown command '%s'\n%s", name, usage);
	return EXIT_USAGE;
}
