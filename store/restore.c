/* Restoring a tree into a local directory (include/store/restore.h).
 *
 * The calling thread walks the trees and creates every directory, symlink
 * and empty file in order, so a directory is complete when the walk leaves
 * it and its metadata can be set right there on its open fd.  File content
 * is written by worker threads in jobs of a few chunks each (pwrite at the
 * chunk's offset), so one large file keeps every worker busy; whoever
 * finishes a file's last job sets its size, owner, mode and times.
 * All-zero blocks are skipped, leaving holes: sparse files stay sparse. */
#include "store/restore.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/idmap.h"
#include "lib/log.h"
#include "lib/os.h"
#include "lib/queue.h"

#define CHUNKS_PER_JOB 4
#define HOLE_BLOCK 4096

struct rfile {
	int fd;
	struct tree_entry e;      /* deep copy: chunks, times, owner */
	char *path;               /* for messages */
	atomic_int jobs_left;
	atomic_int failed;
};

struct rjob {
	struct rfile *f;
	uint32_t first, count;
	uint64_t offset;
};

struct restore {
	struct repo *r;
	const struct restore_opts *o;
	int target_fd;
	int is_root;
	struct queue q;
	pthread_t *threads;
	int nthreads;
	struct idmap *links;      /* (dev, ino) -> index into link_paths */
	char **link_paths;
	size_t nlink_paths, caplink;
	struct buf path;
	atomic_uint_fast64_t failed, files, dirs, bytes;
	struct restore_progress *prog;
};

static void fail_entry(struct restore *rs, const char *path, const char *what, int err)
{
	rs->failed++;
	log_error("restore: %s: %s: %s", path, what, errstr(err));
}

/* ---- metadata ---- */

static void set_times(struct timespec ts[2], const struct tree_entry *e)
{
	ts[0].tv_sec = ts[1].tv_sec = e->mtime_sec;
	ts[0].tv_nsec = ts[1].tv_nsec = e->mtime_nsec;
}

/* Owner first (chown clears set-id bits), then mode, then times. */
static int apply_meta_fd(struct restore *rs, int fd, const struct tree_entry *e)
{
	struct timespec ts[2];
	set_times(ts, e);
	if (rs->is_root && fchown(fd, e->uid, e->gid) < 0)
		return -errno;
	if (fchmod(fd, e->mode) < 0)
		return -errno;
	return futimens(fd, ts) < 0 ? -errno : 0;
}

static int apply_meta_at(struct restore *rs, int dirfd, const struct tree_entry *e)
{
	struct timespec ts[2];
	set_times(ts, e);
	if (rs->is_root && fchownat(dirfd, e->name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (e->kind != NODE_SYMLINK && fchmodat(dirfd, e->name, e->mode, 0) < 0)
		return -errno;
	return utimensat(dirfd, e->name, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* ---- content workers ---- */

static int all_zero(const uint8_t *p, size_t n)
{
	static const uint8_t zero[HOLE_BLOCK];
	return n <= HOLE_BLOCK && !memcmp(p, zero, n);
}

/* Writes data at off, skipping whole zero blocks (the file was created
 * empty, so skipped blocks read back as zeros). */
static int write_sparse(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	size_t i = 0;
	while (i < n) {
		/* align runs to HOLE_BLOCK boundaries of the file */
		size_t blk = HOLE_BLOCK - (size_t)((off + i) % HOLE_BLOCK);
		if (blk > n - i)
			blk = n - i;
		if (all_zero(p + i, blk)) {
			i += blk;
			continue;
		}
		size_t j = i + blk;
		while (j < n) {
			size_t b = n - j < HOLE_BLOCK ? n - j : HOLE_BLOCK;
			if (all_zero(p + j, b))
				break;
			j += b;
		}
		int e = pwrite_all(fd, p + i, j - i, (off_t)(off + i));
		if (e < 0)
			return e;
		i = j;
	}
	return 0;
}

static void finish_file(struct restore *rs, struct rfile *f)
{
	int e = 0;
	if (!f->failed) {
		if (ftruncate(f->fd, (off_t)f->e.size) < 0)
			e = -errno;
		if (!e)
			e = apply_meta_fd(rs, f->fd, &f->e);
		if (e < 0)
			fail_entry(rs, f->path, "setting attributes", e);
	}
	if (close(f->fd) < 0 && !f->failed && !e)
		fail_entry(rs, f->path, "close", errno);
	rs->files++;
	if (rs->prog)
		rs->prog->files++;
	tree_entry_release(&f->e);
	free(f->path);
	free(f);
}

static void run_job(struct restore *rs, struct codec *c, struct rjob *j,
		    struct buf *scratch, struct buf *plain, struct oid *last)
{
	struct rfile *f = j->f;
	uint64_t off = j->offset;
	for (uint32_t i = j->first; i < j->first + j->count && !f->failed; i++) {
		const struct chunk_ref *ch = &f->e.chunks[i];
		int e = 0;
		/* Runs of one chunk (zeros above all) are decoded once. */
		if (!oid_eq(last, &ch->id) || plain->len != ch->len) {
			e = repo_read_blob(rs->r, c, &ch->id, OBJ_DATA, scratch, plain);
			*last = e ? (struct oid){ { 0 } } : ch->id;
			if (!e && plain->len != ch->len)
				e = -EBADMSG;
		}
		if (!e)
			e = write_sparse(f->fd, plain->data, plain->len, off);
		if (e < 0) {
			char hex[OID_HEX_LEN + 1];
			oid_hex(hex, &ch->id);
			log_error("restore: %s: chunk %s at offset %llu: %s", f->path, hex,
				  (unsigned long long)off, errstr(e));
			if (!atomic_exchange(&f->failed, 1))
				rs->failed++;
			break;
		}
		rs->bytes += ch->len;
		if (rs->prog)
			rs->prog->bytes += ch->len;
		off += ch->len;
	}
	if (atomic_fetch_sub(&f->jobs_left, 1) == 1)
		finish_file(rs, f);
}

static void *worker_main(void *arg)
{
	struct restore *rs = arg;
	struct codec *c = codec_new(&rs->r->keys, COMP_NONE, 0);
	struct buf scratch = BUF_INIT, plain = BUF_INIT;
	struct oid last = { { 0 } };
	struct rjob *j;
	while ((j = queue_pop(&rs->q))) {
		if (!c)
			atomic_store(&j->f->failed, 1);
		run_job(rs, c, j, &scratch, &plain, &last);
		free(j);
	}
	codec_free(c);
	buf_release(&scratch);
	buf_release(&plain);
	return NULL;
}

/* ---- the walk (calling thread) ---- */

static int queue_file(struct restore *rs, int fd, const struct tree_entry *e)
{
	struct rfile *f = calloc(1, sizeof(*f));
	int e2 = f ? tree_entry_copy(&f->e, e) : -ENOMEM;
	if (e2 < 0 || !(f->path = strdup((char *)rs->path.data))) {
		if (f)
			tree_entry_release(&f->e);
		free(f);
		close(fd);
		return -ENOMEM;
	}
	f->fd = fd;
	uint32_t njobs = (e->nchunks + CHUNKS_PER_JOB - 1) / CHUNKS_PER_JOB;
	f->jobs_left = (int)(njobs ? njobs : 1);
	if (!njobs) {
		atomic_store(&f->jobs_left, 1);
		struct rjob *j = calloc(1, sizeof(*j));
		if (!j) {
			finish_file(rs, f);
			return -ENOMEM;
		}
		j->f = f;
		return queue_push(&rs->q, j);
	}
	uint64_t off = 0;
	for (uint32_t k = 0; k < njobs; k++) {
		struct rjob *j = calloc(1, sizeof(*j));
		uint32_t first = k * CHUNKS_PER_JOB;
		uint32_t count = e->nchunks - first < CHUNKS_PER_JOB ? e->nchunks - first
								    : CHUNKS_PER_JOB;
		if (!j) {
			/* the remaining jobs will never run: account for them */
			atomic_store(&f->failed, 1);
			if (atomic_fetch_sub(&f->jobs_left, (int)(njobs - k)) == (int)(njobs - k))
				finish_file(rs, f);
			return -ENOMEM;
		}
		*j = (struct rjob){ f, first, count, off };
		for (uint32_t i = first; i < first + count; i++)
			off += e->chunks[i].len;
		queue_push(&rs->q, j);
	}
	return 0;
}

/* A hardlinked file seen before becomes a link to the first name. */
static int try_link(struct restore *rs, int dirfd, const struct tree_entry *e, int *done)
{
	uint8_t key[IDMAP_KEY_LEN] = { 0 };
	uint64_t mix = e->ino * 0x9E3779B97F4A7C15ull ^ e->dev;
	*done = 0;
	if (e->nlink < 2)
		return 0;
	memcpy(key, &mix, 8);
	memcpy(key + 8, &e->dev, 8);
	memcpy(key + 16, &e->ino, 8);
	int added;
	uint64_t *slot = idmap_put(rs->links, key, &added);
	if (!slot)
		return -ENOMEM;
	if (!added) {
		const char *first = rs->link_paths[*slot];
		unlinkat(dirfd, e->name, 0);
		if (linkat(rs->target_fd, first, dirfd, e->name, 0) == 0) {
			*done = 1;
			rs->files++;
			return 0;
		}
		/* could not link (another filesystem, path too long): copy */
		return 0;
	}
	if (rs->nlink_paths == rs->caplink) {
		size_t cap = rs->caplink ? 2 * rs->caplink : 16;
		char **v = realloc(rs->link_paths, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		rs->link_paths = v;
		rs->caplink = cap;
	}
	if (!(rs->link_paths[rs->nlink_paths] = strdup((char *)rs->path.data)))
		return -ENOMEM;
	*slot = rs->nlink_paths++;
	return 0;
}

static int restore_file(struct restore *rs, int dirfd, const struct tree_entry *e)
{
	int linked, r = try_link(rs, dirfd, e, &linked);
	if (r < 0 || linked)
		return r;
	int fd = openat(dirfd, e->name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
			0600);
	if (fd < 0 && (errno == EISDIR || errno == ELOOP)) {
		/* something else is in the way: replace it if it is removable */
		unlinkat(dirfd, e->name, 0);
		fd = openat(dirfd, e->name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
			    O_CLOEXEC, 0600);
	}
	if (fd < 0) {
		fail_entry(rs, (char *)rs->path.data, "cannot create", errno);
		return 0;
	}
	return queue_file(rs, fd, e);
}

static int restore_special(struct restore *rs, int dirfd, const struct tree_entry *e)
{
	int r = 0;
	unlinkat(dirfd, e->name, 0);
	switch (e->kind) {
	case NODE_SYMLINK:
		r = symlinkat(e->target, dirfd, e->name);
		break;
	case NODE_FIFO:
		r = mkfifoat(dirfd, e->name, e->mode);
		break;
	case NODE_CHR:
	case NODE_BLK:
		r = mknodat(dirfd, e->name, (e->kind == NODE_CHR ? S_IFCHR : S_IFBLK) | e->mode,
			    (dev_t)e->rdev);
		break;
	default:
		return 0;
	}
	if (r < 0) {
		fail_entry(rs, (char *)rs->path.data, "cannot create", errno);
		return 0;
	}
	if ((r = apply_meta_at(rs, dirfd, e)) < 0)
		fail_entry(rs, (char *)rs->path.data, "setting attributes", r);
	rs->files++;
	return 0;
}

static int restore_tree(struct restore *rs, int dirfd, const struct oid *id);

static int restore_dir(struct restore *rs, int dirfd, const struct tree_entry *e)
{
	if (mkdirat(dirfd, e->name, 0700) < 0 && errno != EEXIST) {
		fail_entry(rs, (char *)rs->path.data, "cannot create directory", errno);
		return 0;
	}
	int fd = openat(dirfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		fail_entry(rs, (char *)rs->path.data, "cannot open directory", errno);
		return 0;
	}
	int r = restore_tree(rs, fd, &e->subtree);
	/* Every entry inside exists now; workers write only file contents,
	 * which do not touch the directory, so its metadata is final. */
	int m = r < 0 ? 0 : apply_meta_fd(rs, fd, e);
	if (m < 0)
		fail_entry(rs, (char *)rs->path.data, "setting attributes", m);
	close(fd);
	rs->dirs++;
	if (rs->prog)
		rs->prog->dirs++;
	return r;
}

static int restore_entry(struct restore *rs, int dirfd, const struct tree_entry *e)
{
	switch (e->kind) {
	case NODE_DIR:
		return restore_dir(rs, dirfd, e);
	case NODE_FILE:
		return restore_file(rs, dirfd, e);
	default:
		return restore_special(rs, dirfd, e);
	}
}

static int restore_tree(struct restore *rs, int dirfd, const struct oid *id)
{
	struct tree *t;
	int r = repo_load_tree(rs->r, rs->r->codec, id, &t);
	if (r < 0) {
		char hex[OID_HEX_LEN + 1];
		oid_hex(hex, id);
		rs->failed++;
		log_error("restore: %s: tree %s: %s", rs->path.len ? (char *)rs->path.data : "/",
			  hex, errstr(r));
		return r == -ENOMEM ? r : 0;
	}
	size_t base = rs->path.len;
	for (size_t i = 0; i < t->count && r >= 0; i++) {
		rs->path.len = base;
		r = buf_printf(&rs->path, "%s%s", base ? "/" : "", t->entries[i].name);
		if (r >= 0)
			r = restore_entry(rs, dirfd, &t->entries[i]);
	}
	rs->path.len = base;
	rs->path.data[base] = 0;
	tree_free(t);
	return r;
}

/* ---- setup ---- */

static int start(struct restore *rs)
{
	int n = rs->o->threads > 0 ? rs->o->threads : 2 * os_ncpu();
	int e = queue_init(&rs->q, 64);
	rs->threads = calloc((size_t)n, sizeof(*rs->threads));
	rs->links = idmap_new(sizeof(uint64_t));
	if (e < 0 || !rs->threads || !rs->links || buf_grow(&rs->path, 256) < 0)
		return e < 0 ? e : -ENOMEM;
	rs->path.data[0] = 0;
	for (int i = 0; i < n; i++) {
		if (pthread_create(&rs->threads[i], NULL, worker_main, rs) != 0)
			return -EAGAIN;
		rs->nthreads++;
	}
	return 0;
}

static void stop(struct restore *rs)
{
	if (rs->q.items)
		queue_close(&rs->q);
	for (int i = 0; i < rs->nthreads; i++)
		pthread_join(rs->threads[i], NULL);
	free(rs->threads);
	queue_release(&rs->q);
	for (size_t i = 0; i < rs->nlink_paths; i++)
		free(rs->link_paths[i]);
	free(rs->link_paths);
	idmap_free(rs->links);
	buf_release(&rs->path);
}

/* Restores `e` (found at `path` in the snapshot) into the target. */
static int restore_top(struct restore *rs, const struct tree_entry *e)
{
	if (e->kind == NODE_DIR) {
		/* The contents of a directory go into the target itself. */
		return restore_tree(rs, rs->target_fd, &e->subtree);
	}
	buf_printf(&rs->path, "%s", e->name);
	return restore_entry(rs, rs->target_fd, e);
}

int restore_run(struct repo *r, const struct snapshot *snap, const char *path,
		const struct restore_opts *o, struct restore_result *res)
{
	struct restore rs = { .r = r, .o = o, .target_fd = -1, .is_root = geteuid() == 0,
			      .prog = o->progress };
	struct tree_entry top;
	memset(res, 0, sizeof(*res));
	int e = repo_walk_path(r, r->codec, &snap->tree, path ? path : "", &top);
	if (e < 0) {
		log_error("restore: %s: %s", path && *path ? path : "/", errstr(e));
		return e;
	}
	if ((e = mkdir_p(o->target, 0700)) < 0 ||
	    (rs.target_fd = open(o->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		e = e < 0 ? e : -errno;
		log_error("restore: target %s: %s", o->target, errstr(e));
		tree_entry_release(&top);
		return e;
	}
	if ((e = start(&rs)) == 0)
		e = restore_top(&rs, &top);
	stop(&rs); /* waits for every file */
	close(rs.target_fd);
	tree_entry_release(&top);
	res->files = rs.files;
	res->dirs = rs.dirs;
	res->bytes = rs.bytes;
	res->failed = rs.failed;
	if (e < 0)
		return e;
	return rs.failed ? -EIO : 0;
}
