/* Mounting (include/fs/mount.h): checks, the daemon, the FUSE session and
 * the thread that notices new snapshots.
 *
 * The daemon is forked before anything opens SQLite or starts a thread;
 * it opens the repository itself, and tells the waiting parent "ok" from
 * the FUSE init callback — the moment the mount can answer — or the error
 * that stopped it. */
#include "fs/mount.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fs_int.h"
#include "lib/log.h"
#include "store/backend.h"

#define REFRESH_MS_DEFAULT 2000

int fs_check_mountpoint(const char *mp, bool allow_nonempty)
{
	struct stat st, up;
	char parent[PATH_MAX + 4];
	if (stat(mp, &st) < 0) {
		int e = errno;
		if (e == ENOTCONN)
			log_error("%s: a stale mount is there (its process died); "
				  "run 'cairn umount %s' first", mp, mp);
		else
			log_error("%s: %s", mp, errstr(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_error("%s: not a directory", mp);
		return -ENOTDIR;
	}
	snprintf(parent, sizeof(parent), "%s/..", mp);
	if (stat(parent, &up) == 0 && (up.st_dev != st.st_dev || up.st_ino == st.st_ino)) {
		log_error("%s: something is already mounted there", mp);
		return -EBUSY;
	}
	if (!allow_nonempty) {
		DIR *d = opendir(mp);
		struct dirent *de;
		int entries = 0;
		while (d && (de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				entries++;
		if (d)
			closedir(d);
		if (entries) {
			log_error("%s: not empty (its files would be hidden); "
				  "use -o nonempty to mount anyway", mp);
			return -ENOTEMPTY;
		}
	}
	return 0;
}

void fs_signal_ready(struct fs *fs)
{
	if (fs->ready_fd < 0)
		return;
	if (write(fs->ready_fd, "ok", 2) < 0) {
		/* the parent is gone; nobody to tell */
	}
	close(fs->ready_fd);
	fs->ready_fd = -1;
}

/* Tells the parent why the daemon could not mount (one line). */
static void signal_failure(int fd, const char *msg)
{
	if (fd < 0)
		return;
	if (write(fd, msg, strlen(msg)) < 0) {
		/* nothing more to do */
	}
	close(fd);
}

/* ---- noticing new snapshots ---- */

struct refresher {
	struct fs *fs;
	int interval_ms;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
};

/* Drops the kernel's root listing and the cached targets of the links,
 * which may point elsewhere now. */
static void invalidate_root(struct fs *fs)
{
	struct view_link *l;
	size_t n;
	fuse_lowlevel_notify_inval_inode(fs->se, VIEW_ROOT_INO, 0, 0);
	if (view_root_links(fs->v, &l, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		fuse_lowlevel_notify_inval_inode(fs->se, l[i].ino, 0, 0);
		fuse_lowlevel_notify_inval_entry(fs->se, VIEW_ROOT_INO, l[i].name,
						 strlen(l[i].name));
	}
	free(l);
}

static void *refresh_main(void *arg)
{
	struct refresher *rf = arg;
	pthread_mutex_lock(&rf->mu);
	while (!rf->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += rf->interval_ms / 1000;
		ts.tv_nsec += (long)(rf->interval_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&rf->cv, &rf->mu, &ts);
		if (rf->stop)
			break;
		pthread_mutex_unlock(&rf->mu);
		int changed = 0;
		int e = view_refresh(rf->fs->v, &changed);
		if (e < 0)
			log_warn("looking for new snapshots: %s", errstr(e));
		if (changed)
			invalidate_root(rf->fs);
		pthread_mutex_lock(&rf->mu);
	}
	pthread_mutex_unlock(&rf->mu);
	return NULL;
}

/* ---- the session ---- */

static struct fuse_session *new_session(struct fs *fs, const struct fs_mount_opts *o)
{
	char opts[512];
	snprintf(opts, sizeof(opts), "ro,fsname=cairn,subtype=cairn,default_permissions%s",
		 o->allow_other ? ",allow_other" : "");
	char *argv[] = { "cairn", "-o", opts, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct fuse_session *se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), fs);
	fuse_opt_free_args(&args); /* libfuse may have copied them */
	return se;
}

/* One line in the log at unmount: how well the read cache did. */
static void log_cache_stats(struct repo *r)
{
	struct backend_cache_stats st;
	if (!r)
		return;
	backend_cache_stats(r->be, &st);
	if (st.hits + st.misses)
		log_info("read cache: %" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64
			 " damaged, %" PRIu64 " evicted; %" PRIu64 " entries, %.1f MB",
			 st.hits, st.misses, st.damaged, st.evicted, st.entries,
			 (double)st.bytes / 1e6);
}

/* Everything after the fork (or in the foreground). */
static int serve(const struct fs_mount_opts *o, int ready_fd)
{
	struct fs fs = { .ready_fd = ready_fd };
	struct refresher rf = { .fs = &fs };
	struct repo *r = NULL;
	struct view_opts vo = { 0 };
	/* Up to 16 request threads would otherwise get an arena each, and
	 * each arena keeps what its thread freed: tens of MB for nothing. */
	mallopt(M_ARENA_MAX, 2);
	char msg[512];
	int e = repo_open(&o->repo, &r), started = 0, mounted = 0;
	if (e < 0) {
		snprintf(msg, sizeof(msg), "%s: cannot open the repository: %s", o->repo.url,
			 errstr(e));
		goto out;
	}
	if (!(fs.v = view_new(r, &vo, &e))) {
		snprintf(msg, sizeof(msg), "%s: reading snapshots: %s", o->repo.url, errstr(e));
		goto out;
	}
	if (!(fs.handles = handles_new(fs.v))) {
		e = -ENOMEM;
		snprintf(msg, sizeof(msg), "%s: out of memory", o->mountpoint);
		goto out;
	}
	if (!(fs.se = new_session(&fs, o))) {
		e = -EIO;
		snprintf(msg, sizeof(msg), "%s: cannot start FUSE", o->mountpoint);
		goto out;
	}
	if (fuse_session_mount(fs.se, o->mountpoint) != 0) {
		e = -EIO;
		snprintf(msg, sizeof(msg), "%s: cannot mount (is /dev/fuse there, and are "
			 "you allowed to mount?)", o->mountpoint);
		goto out;
	}
	mounted = 1;
	fuse_set_signal_handlers(fs.se);
	rf.interval_ms = o->refresh_ms > 0 ? o->refresh_ms : REFRESH_MS_DEFAULT;
	pthread_mutex_init(&rf.mu, NULL);
	pthread_cond_init(&rf.cv, NULL);
	started = pthread_create(&rf.thread, NULL, refresh_main, &rf) == 0;

	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, 16);
	e = fuse_session_loop_mt(fs.se, cfg) < 0 ? -EIO : 0; /* > 0: the signal that stopped it */
	fuse_loop_cfg_destroy(cfg);
	msg[0] = 0;
out:
	if (e < 0 && fs.ready_fd >= 0) {
		log_error("%s", msg);
		signal_failure(fs.ready_fd, msg);
		fs.ready_fd = -1;
	}
	if (started) {
		pthread_mutex_lock(&rf.mu);
		rf.stop = 1;
		pthread_cond_signal(&rf.cv);
		pthread_mutex_unlock(&rf.mu);
		pthread_join(rf.thread, NULL);
	}
	if (fs.se) {
		fuse_remove_signal_handlers(fs.se);
		if (mounted)
			fuse_session_unmount(fs.se);
		fuse_session_destroy(fs.se);
	}
	handles_free(fs.handles);
	view_free(fs.v);
	log_cache_stats(r);
	repo_close(r);
	return e;
}

/* The daemon's stdio: nothing in, the log file for messages. */
static void daemon_stdio(const struct fs_mount_opts *o)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	char path[4200];
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (o->repo.cache_root)
		snprintf(path, sizeof(path), "%s/mount.log", o->repo.cache_root);
	else if (xdg && *xdg)
		snprintf(path, sizeof(path), "%s/cairn/mount.log", xdg);
	else
		snprintf(path, sizeof(path), "%s/.cache/cairn/mount.log", home ? home : "/tmp");
	int log = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (log >= 0) {
		dup2(log, STDERR_FILENO);
		close(log);
	}
}

int fs_mount(const struct fs_mount_opts *o)
{
	if (o->foreground)
		return serve(o, -1);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(p[0]);
		close(p[1]);
		return e;
	}
	if (pid == 0) {
		close(p[0]);
		setsid();
		daemon_stdio(o);
		_exit(serve(o, p[1]) < 0 ? 1 : 0);
	}
	close(p[1]);
	char msg[512];
	ssize_t n = read(p[0], msg, sizeof(msg) - 1);
	close(p[0]);
	if (n == 2 && !memcmp(msg, "ok", 2))
		return 0;
	int status;
	if (n <= 0) {
		waitpid(pid, &status, 0);
		log_error("%s: the mount process ended before the mount was ready", o->mountpoint);
		return -EIO;
	}
	msg[n] = 0;
	log_error("%s", msg);
	waitpid(pid, &status, 0);
	return -EIO;
}

int fs_unmount(const char *mp)
{
	/* fusermount3 does the unprivileged case and the mtab bookkeeping */
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "-q", mp, (char *)NULL);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		log_error("fusermount3 not found (install fuse3)");
		return -ENOENT;
	}
	/* Busy (a file is open, or a shell is inside): detach now; the mount
	 * goes away when the last user lets go. */
	if ((pid = fork()) == 0) {
		execlp("fusermount3", "fusermount3", "-u", "-z", "-q", mp, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		log_error("%s: cannot unmount (not a cairn mount?)", mp);
		return -EINVAL;
	}
	log_warn("%s was busy: detached; it goes away when the last open file is closed", mp);
	return 0;
}
