/* Shared CLI plumbing (include/cli/cli.h): options, passwords, opening
 * the repository with one clear line on failure, formatting. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "store/crypto.h"

enum { OPT_PASSWORD_FILE = 0x1000, OPT_CACHE_DIR, OPT_JSON, OPT_REPO, OPT_QUIET,
       OPT_VERBOSE };

const struct option cli_global_options[] = {
	{ "repo", required_argument, NULL, 'r' },
	{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
	{ "cache-dir", required_argument, NULL, OPT_CACHE_DIR },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cli_global_option(struct cli *c, int opt, const char *arg)
{
	switch (opt) {
	case 'r':
		c->repo_url = arg;
		return 1;
	case OPT_PASSWORD_FILE:
		c->password_file = arg;
		return 1;
	case OPT_CACHE_DIR:
		c->cache_dir = arg;
		return 1;
	case 'q':
		c->quiet = 1;
		log_set_level(LOG_WARN);
		return 1;
	case 'v':
		c->verbose = 1;
		log_set_level(LOG_DEBUG);
		return 1;
	case OPT_JSON:
		c->json = 1;
		return 1;
	case '?':
	case ':':
		return -1;
	default:
		return 0;
	}
}

int cli_parse(struct cli *c, int argc, char **argv, const char *short_opts,
	      const struct option *opts,
	      int (*handle)(void *ctx, int opt, const char *arg), void *ctx,
	      const char *usage)
{
	struct option all[64];
	char shorts[64];
	size_t n = 0;
	for (; opts && opts[n].name && n < 40; n++)
		all[n] = opts[n];
	for (size_t i = 0; cli_global_options[i].name; i++)
		all[n++] = cli_global_options[i];
	all[n] = (struct option){ 0 };
	snprintf(shorts, sizeof(shorts), "%sr:qvh", short_opts ? short_opts : "");

	optind = 0; /* GNU getopt: start over on this argument vector */
	opterr = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, shorts, all, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			return CLI_DONE;
		}
		int g = cli_global_option(c, opt, optarg);
		if (g < 0) {
			fprintf(stderr, "cairn %s: unknown or incomplete option '%s'\n%s",
				argv[0], argv[optind - 1], usage);
			return EXIT_USAGE;
		}
		if (g > 0)
			continue;
		int r = handle ? handle(ctx, opt, optarg) : EXIT_USAGE;
		if (r)
			return r;
	}
	c->argc = argc - optind;
	c->argv = argv + optind;
	return 0;
}

void cli_free_password(char *pw)
{
	if (!pw)
		return;
	crypto_wipe(pw, strlen(pw));
	free(pw);
}

int cli_read_password_file(const char *path, char **pw)
{
	struct buf b = BUF_INIT;
	int e = read_file(path, &b, 4096);
	if (e < 0) {
		buf_release(&b);
		return e;
	}
	size_t n = 0;
	while (n < b.len && b.data[n] != '\n' && b.data[n] != '\r')
		n++;
	b.len = n;
	*pw = buf_detach(&b, NULL);
	return *pw ? 0 : -ENOMEM;
}

/* Prompts on the terminal with echo off. */
static int prompt_tty(const char *prompt, char **pw)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	struct termios old, quiet;
	int have_term = tcgetattr(fd, &old) == 0;
	if (have_term) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	if (write(fd, prompt, strlen(prompt)) < 0) {
		/* nothing to do: the read below still works */
	}
	char line[1024];
	size_t n = 0;
	for (;;) {
		char ch;
		ssize_t k = read(fd, &ch, 1);
		if (k <= 0 || ch == '\n')
			break;
		if (n < sizeof(line) - 1)
			line[n++] = ch;
	}
	line[n] = 0;
	if (have_term)
		tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0) {
		/* ignore */
	}
	close(fd);
	*pw = strdup(line);
	crypto_wipe(line, sizeof(line));
	return *pw ? 0 : -ENOMEM;
}

int cli_get_password(const struct cli *c, const char *prompt, int confirm, char **pw)
{
	const char *env = getenv("CAIRN_PASSWORD");
	const char *file = c->password_file ? c->password_file : getenv("CAIRN_PASSWORD_FILE");
	*pw = NULL;
	if (file && *file) {
		int e = cli_read_password_file(file, pw);
		if (e < 0)
			log_error("password file %s: %s", file, errstr(e));
		return e < 0 ? -EINVAL : 0;
	}
	if (env) {
		*pw = strdup(env);
		return *pw ? 0 : -ENOMEM;
	}
	int e = prompt_tty(prompt, pw);
	if (e < 0 || !confirm)
		return e;
	char *again;
	if ((e = prompt_tty("enter the password again: ", &again)) < 0) {
		cli_free_password(*pw);
		*pw = NULL;
		return e;
	}
	if (strcmp(*pw, again)) {
		log_error("the passwords do not match");
		cli_free_password(*pw);
		*pw = NULL;
		e = -EINVAL;
	}
	cli_free_password(again);
	return e;
}

int cli_open_repo(const struct cli *c, int no_sync, struct repo **out)
{
	return cli_open_repo_keep(c, no_sync, out, NULL);
}

int cli_open_repo_keep(const struct cli *c, int no_sync, struct repo **out, char **password)
{
	char *pw = NULL;
	*out = NULL;
	if (password)
		*password = NULL;
	if (!c->repo_url || !*c->repo_url) {
		log_error("no repository given: use -r URL or set CAIRN_REPO");
		return EXIT_USAGE;
	}
	int e = repo_probe(c->repo_url);
	if (e == -ENOENT || e == -ENOTDIR || e == -EBADMSG) {
		log_error("%s: there is no cairn repository here (create one with 'cairn init')",
			  c->repo_url);
		return EXIT_NO_REPO;
	}
	if (e < 0) {
		log_error("%s: %s", c->repo_url, errstr(e));
		return EXIT_ERROR;
	}
	if (e == 1) {
		e = cli_get_password(c, "enter the repository password: ", 0, &pw);
		if (e == -ENOENT) {
			log_error("%s is encrypted: set CAIRN_PASSWORD or use --password-file",
				  c->repo_url);
			return EXIT_ERROR;
		}
		if (e < 0)
			return EXIT_ERROR;
	}
	struct repo_open_opts o = { .url = c->repo_url, .cache_root = c->cache_dir,
				    .password = pw, .password_len = pw ? strlen(pw) : 0,
				    .no_sync = no_sync };
	e = repo_open(&o, out);
	if (e == 0 && password)
		*password = pw;
	else
		cli_free_password(pw);
	if (e == -EKEYREJECTED) {
		log_error("%s: wrong password (no key of this repository opens with it)",
			  c->repo_url);
		return EXIT_BAD_PASSWORD;
	}
	if (e < 0) {
		log_error("%s: cannot open the repository: %s", c->repo_url, errstr(e));
		return EXIT_ERROR;
	}
	return 0;
}

int cli_snapshot_arg(struct repo *r, const char *spec, struct snapshot *snap, char **path)
{
	char *colon = strchr(spec, ':');
	char name[128];
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
	if (n >= sizeof(name)) {
		log_error("%s: not a snapshot", spec);
		return EXIT_USAGE;
	}
	memcpy(name, spec, n);
	name[n] = 0;
	*path = colon ? colon + 1 : (char *)"";
	int e = repo_find_snapshot(r, name, snap);
	if (e == -ENOENT) {
		log_error("snapshot %s not found", name);
		return EXIT_ERROR;
	}
	if (e == -ENOTUNIQ) {
		log_error("snapshot id %s is ambiguous: give more digits", name);
		return EXIT_ERROR;
	}
	if (e == -EINVAL) {
		log_error("%s: a snapshot is 'latest', an id prefix of at least 4 hex digits, "
			  "or @YYYY-MM-DD[-HHMMSS[-N]]", name);
		return EXIT_USAGE;
	}
	if (e < 0) {
		log_error("snapshot %s: %s", name, errstr(e));
		return EXIT_ERROR;
	}
	return 0;
}

void fmt_bytes(uint64_t n, char *out, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)n;
	int u = 0;
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, size, "%llu B", (unsigned long long)n);
	else
		snprintf(out, size, "%.*f %s", v < 10 ? 2 : v < 100 ? 1 : 0, v, unit[u]);
}

void fmt_duration(double seconds, char *out, size_t size)
{
	unsigned long s = seconds > 0 ? (unsigned long)(seconds + 0.5) : 0;
	if (s >= 3600)
		snprintf(out, size, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(out, size, "%lu:%02lu", s / 60, s % 60);
}

int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno)
		return -EINVAL;
	int shift = 0;
	switch (*end) {
	case 'T': case 't': shift += 10; /* fall through */
	case 'G': case 'g': shift += 10; /* fall through */
	case 'M': case 'm': shift += 10; /* fall through */
	case 'K': case 'k': shift += 10; end++; break;
	case 0: break;
	default: return -EINVAL;
	}
	if (*end == 'i' || *end == 'B' || *end == 'b')
		end += *end == 'i' && (end[1] == 'B' || end[1] == 'b') ? 2 : 1;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}
