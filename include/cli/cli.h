/* What the subcommands share: global options, opening the repository with
 * the right password and the right error, exit codes, output helpers and
 * the progress line. */
#ifndef CAIRN_CLI_CLI_H
#define CAIRN_CLI_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "store/repo.h"

/* Exit codes (restic's where they overlap). */
enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_PARTIAL = 3,   /* backup written, some files skipped */
	EXIT_NO_REPO = 10,  /* no repository at the URL */
	EXIT_BAD_PASSWORD = 12,
};

struct cli {
	const char *repo_url;
	const char *password_file;
	const char *cache_dir;
	int quiet, json, verbose;
	int argc;           /* the subcommand's arguments after options */
	char **argv;
};

/* Options every subcommand accepts; their getopt codes are >= 0x1000. */
extern const struct option cli_global_options[];
/* Applies a global option; 1 if it was one, 0 if not, -1 on error. */
int cli_global_option(struct cli *c, int opt, const char *arg);

/* Parses the subcommand's options: a table of its own (terminated by a
 * zero entry) merged with the globals.  handle is called for each of its
 * own options; it returns 0, or an exit code to stop.  Non-option
 * arguments end up in c->argc/argv.  Returns 0 to go on, CLI_DONE after
 * printing help (exit 0), or an exit code. */
#define CLI_DONE (-1)
#define CLI_EXIT(r) ((r) == CLI_DONE ? EXIT_OK : (r))
int cli_parse(struct cli *c, int argc, char **argv, const char *short_opts,
	      const struct option *opts,
	      int (*handle)(void *ctx, int opt, const char *arg), void *ctx,
	      const char *usage);

/* Reads the repository password (CAIRN_PASSWORD, CAIRN_PASSWORD_FILE,
 * --password-file, or a prompt on the terminal).  *pw is malloc'd and
 * wiped+freed with cli_free_password.  confirm: ask twice when prompting.
 * Returns 0, -ENOENT if none could be had, or -errno. */
int cli_get_password(const struct cli *c, const char *prompt, int confirm, char **pw);
void cli_free_password(char *pw);
/* Reads a password from a file (first line). */
int cli_read_password_file(const char *path, char **pw);

/* Opens the repository, asking for a password if it is encrypted.  On
 * failure prints one line naming the repository and returns the exit code
 * to use (*out is NULL); 0 on success. */
int cli_open_repo(const struct cli *c, int no_sync, struct repo **out);
/* The same, also handing over the password that opened it (NULL for an
 * unencrypted repository; free with cli_free_password). */
int cli_open_repo_keep(const struct cli *c, int no_sync, struct repo **out, char **password);
/* Parses "512M", "2G", "1048576" (bytes; K, M, G, T powers of 1024).
 * 0 or -EINVAL. */
int parse_size(const char *s, uint64_t *out);

/* Splits "SNAPSHOT[:PATH]" and resolves the snapshot; prints the error
 * and returns an exit code on failure.  *path points into spec or "". */
int cli_snapshot_arg(struct repo *r, const char *spec, struct snapshot *snap,
		     char **path);

/* "12.3 MiB" (out >= 16). */
void fmt_bytes(uint64_t n, char *out, size_t size);
/* "1:02:03" or "2:03" (out >= 16). */
void fmt_duration(double seconds, char *out, size_t size);

/* A status line redrawn on stderr (a terminal only) while a command runs;
 * fmt writes the line.  NULL when not on a terminal or quiet. */
struct progress;
struct progress *progress_start(const struct cli *c,
				void (*fmt)(void *ctx, double elapsed, char *line, size_t n),
				void *ctx);
void progress_stop(struct progress *p);

int cmd_init(struct cli *c, int argc, char **argv);
int cmd_backup(struct cli *c, int argc, char **argv);
int cmd_snapshots(struct cli *c, int argc, char **argv);
int cmd_ls(struct cli *c, int argc, char **argv);
int cmd_restore(struct cli *c, int argc, char **argv);
int cmd_check(struct cli *c, int argc, char **argv);
int cmd_stats(struct cli *c, int argc, char **argv);
int cmd_key(struct cli *c, int argc, char **argv);
int cmd_repair(struct cli *c, int argc, char **argv);
int cmd_mount(struct cli *c, int argc, char **argv);
int cmd_umount(struct cli *c, int argc, char **argv);

#endif
