/* Restoring a tree into a local directory (include/store/restore.h).
 *
 * The calling thread walks the trees, makes the directories, creates
 * symlinks and special files, and looks up where every chunk is (so the
 * workers never wait on the catalog).  Regular files are created and
 * written by worker threads, several small files of one directory per job,
 * through the directory's fd.  A directory holds a reference for each job
 * in it and one for the walk; whoever drops the last sets its mode, owner
 * and times — creating entries is what changes a directory's mtime, and
 * by then every entry exists.  All-zero blocks are skipped, so sparse files
 * stay sparse. */
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

#define HOLE_BLOCK 4096
/* A job gathers small files of one directory up to these limits. */
#define JOB_MAX_FILES 64
#define JOB_MAX_BYTES (4u << 20)

struct rdir {
	int fd;
	atomic_int refs;
	struct tree_entry meta;   /* name empty for the target itself */
	int apply_meta;
	char *path;
};

struct rfile {
	struct tree_entry e;      /* deep copy */
	struct blob_loc *locs;    /* one per chunk */
	int fd;                   /* already created (first of a hardlink group), or -1 */
	char *path;
};

struct rjob {
	struct rdir *dir;
	struct rfile *files;
	size_t n;
	uint64_t bytes;
};

struct restore {
	struct repo *r;
	const struct restore_opts *o;
	int target_fd;
	int is_root;
	uid_t uid;
	gid_t gid;
	struct queue q;
	pthread_t *threads;
	int nthreads;
	struct rjob *cur;         /* being filled by the walk */
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

static void count_file(struct restore *rs)
{
	rs->files++;
	if (rs->prog)
		rs->prog->files++;
}

/* ---- metadata ---- */

static void set_times(struct timespec ts[2], const struct tree_entry *e)
{
	ts[0].tv_sec = ts[1].tv_sec = e->mtime_sec;
	ts[0].tv_nsec = ts[1].tv_nsec = e->mtime_nsec;
}

/* Owner first (chown clears set-id bits), then mode, then times.  Files
 * are created with their mode already, so chmod is needed only when the
 * owner changed set-id bits or the file existed before. */
static int apply_meta_fd(struct restore *rs, int fd, const struct tree_entry *e,
			 int need_chmod)
{
	struct timespec ts[2];
	set_times(ts, e);
	if (rs->is_root && (e->uid != rs->uid || e->gid != rs->gid)) {
		if (fchown(fd, e->uid, e->gid) < 0)
			return -errno;
		need_chmod |= (e->mode & 06000) != 0;
	}
	if (need_chmod && fchmod(fd, e->mode) < 0)
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

static void dir_unref(struct restore *rs, struct rdir *d)
{
	if (atomic_fetch_sub(&d->refs, 1) != 1)
		return;
	if (d->apply_meta) {
		int e = apply_meta_fd(rs, d->fd, &d->meta, 1);
		if (e < 0)
			fail_entry(rs, d->path, "setting attributes", e);
	}
	close(d->fd);
	tree_entry_release(&d->meta);
	free(d->path);
	free(d);
}

/* ---- content (workers) ---- */

static int all_zero(const uint8_t *p, size_t n)
{
	static const uint8_t zero[HOLE_BLOCK];
	return !memcmp(p, zero, n);
}

/* Writes data at off, skipping whole zero blocks (the file was created
 * empty, so skipped blocks read back as zeros).  *end is the end of the
 * last byte written. */
static int write_sparse(int fd, const uint8_t *p, size_t n, uint64_t off, uint64_t *end)
{
	size_t i = 0;
	while (i < n) {
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
		*end = off + j;
		i = j;
	}
	return 0;
}

struct wctx {
	struct codec *c;
	struct buf scratch, plain;
	struct oid last;          /* chunk in plain; runs of one chunk decode once */
};

static int write_content(struct restore *rs, struct wctx *w, struct rfile *f, int fd)
{
	uint64_t off = 0, end = 0;
	for (uint32_t i = 0; i < f->e.nchunks; i++) {
		const struct chunk_ref *ch = &f->e.chunks[i];
		int e = 0;
		if (!oid_eq(&w->last, &ch->id) || w->plain.len != ch->len) {
			memset(&w->last, 0, sizeof(w->last));
			e = repo_read_blob_at(rs->r, w->c, &ch->id, &f->locs[i], &w->scratch,
					      &w->plain);
			if (!e && w->plain.len != ch->len)
				e = -EBADMSG;
			if (!e)
				w->last = ch->id;
		}
		if (!e)
			e = write_sparse(fd, w->plain.data, w->plain.len, off, &end);
		if (e < 0) {
			char hex[OID_HEX_LEN + 1];
			oid_hex(hex, &ch->id);
			log_error("restore: %s: chunk %s at offset %llu: %s", f->path, hex,
				  (unsigned long long)off, errstr(e));
			rs->failed++;
			return e;
		}
		rs->bytes += ch->len;
		if (rs->prog)
			rs->prog->bytes += ch->len;
		off += ch->len;
	}
	/* a hole at the end, or a file that existed and was longer */
	if (end != f->e.size && ftruncate(fd, (off_t)f->e.size) < 0) {
		fail_entry(rs, f->path, "setting size", errno);
		return -errno;
	}
	return 0;
}

static int create_file(struct restore *rs, int dirfd, struct rfile *f, int *existed)
{
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	*existed = 0;
	int fd = openat(dirfd, f->e.name, flags, f->e.mode);
	if (fd < 0 && errno == EEXIST) {
		/* replace whatever is there: a file is truncated, others removed */
		*existed = 1;
		fd = openat(dirfd, f->e.name, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && (errno == EISDIR || errno == ELOOP || errno == ENXIO ||
			       errno == EACCES)) {
			unlinkat(dirfd, f->e.name, 0);
			fd = openat(dirfd, f->e.name, flags, f->e.mode);
		}
	}
	return fd;
}

static void restore_one(struct restore *rs, struct wctx *w, struct rdir *d, struct rfile *f)
{
	int existed = 1, fd = f->fd;
	if (fd < 0)
		fd = create_file(rs, d->fd, f, &existed);
	if (fd < 0) {
		fail_entry(rs, f->path, "cannot create", errno);
		return;
	}
	if (write_content(rs, w, f, fd) == 0) {
		int e = apply_meta_fd(rs, fd, &f->e, existed);
		if (e < 0)
			fail_entry(rs, f->path, "setting attributes", e);
	}
	if (close(fd) < 0)
		fail_entry(rs, f->path, "close", errno);
	count_file(rs);
}

static void free_job(struct rjob *j)
{
	for (size_t i = 0; i < j->n; i++) {
		tree_entry_release(&j->files[i].e);
		free(j->files[i].locs);
		free(j->files[i].path);
	}
	free(j->files);
	free(j);
}

static void *worker_main(void *arg)
{
	struct restore *rs = arg;
	struct wctx w = { .c = codec_new(&rs->r->keys, COMP_NONE, 0) };
	struct rjob *j;
	while ((j = queue_pop(&rs->q))) {
		for (size_t i = 0; i < j->n; i++) {
			if (w.c)
				restore_one(rs, &w, j->dir, &j->files[i]);
			else
				fail_entry(rs, j->files[i].path, "cannot restore", ENOMEM);
		}
		dir_unref(rs, j->dir);
		free_job(j);
	}
	codec_free(w.c);
	buf_release(&w.scratch);
	buf_release(&w.plain);
	return NULL;
}

/* ---- the walk (calling thread) ---- */

static void flush_job(struct restore *rs)
{
	struct rjob *j = rs->cur;
	rs->cur = NULL;
	if (j && queue_push(&rs->q, j) < 0) {
		dir_unref(rs, j->dir);
		free_job(j);
	}
}

static int add_file(struct restore *rs, struct rdir *d, const struct tree_entry *e, int fd)
{
	struct rjob *j = rs->cur;
	if (j && (j->dir != d || j->n == JOB_MAX_FILES || j->bytes + e->size > JOB_MAX_BYTES))
		flush_job(rs);
	if (!rs->cur) {
		if (!(j = rs->cur = calloc(1, sizeof(*j))) ||
		    !(j->files = calloc(JOB_MAX_FILES, sizeof(*j->files)))) {
			free(j);
			rs->cur = NULL;
			return -ENOMEM;
		}
		j->dir = d;
		d->refs++;
	}
	j = rs->cur;
	struct rfile *f = &j->files[j->n];
	int r = tree_entry_copy(&f->e, e);
	if (r < 0)
		return r;
	f->fd = fd;
	f->path = strdup((char *)rs->path.data);
	f->locs = malloc((e->nchunks ? e->nchunks : 1) * sizeof(*f->locs));
	j->n++;
	if (!f->path || !f->locs)
		return -ENOMEM;
	for (uint32_t i = 0; i < e->nchunks; i++) {
		r = catalog_blob_find(rs->r->cat, &e->chunks[i].id, &f->locs[i]);
		if (r == 0 && f->locs[i].type != OBJ_DATA)
			r = -EBADMSG;
		if (r < 0) {
			char hex[OID_HEX_LEN + 1];
			oid_hex(hex, &e->chunks[i].id);
			log_error("restore: %s: chunk %s: %s", f->path, hex,
				  r == -ENOENT ? "not in the repository's index" : errstr(r));
			rs->failed++;
			j->n--;
			tree_entry_release(&f->e);
			free(f->path);
			free(f->locs);
			if (fd >= 0)
				close(fd);
			return r == -ENOMEM ? r : 0;
		}
	}
	j->bytes += e->size;
	/* a big file goes out alone, at once */
	if (j->bytes >= JOB_MAX_BYTES)
		flush_job(rs);
	return 0;
}

/* A hardlinked file seen before becomes a link to the first name.  The
 * first name is created here (not by a worker) so that it exists when a
 * later name links to it. */
static int restore_linked(struct restore *rs, struct rdir *d, const struct tree_entry *e,
			  int *done)
{
	uint8_t key[IDMAP_KEY_LEN] = { 0 };
	uint64_t mix = e->ino * 0x9E3779B97F4A7C15ull ^ e->dev;
	memcpy(key, &mix, 8);
	memcpy(key + 8, &e->dev, 8);
	memcpy(key + 16, &e->ino, 8);
	int added;
	uint64_t *slot = idmap_put(rs->links, key, &added);
	*done = 0;
	if (!slot)
		return -ENOMEM;
	if (!added) {
		unlinkat(d->fd, e->name, 0);
		if (linkat(rs->target_fd, rs->link_paths[*slot], d->fd, e->name, 0) == 0) {
			*done = 1;
			count_file(rs);
		}
		return 0; /* could not link (path too long...): restored as a copy */
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
	struct rfile tmp = { .e = *e };
	int existed;
	int fd = create_file(rs, d->fd, &tmp, &existed);
	if (fd < 0) {
		fail_entry(rs, (char *)rs->path.data, "cannot create", errno);
		*done = 1;
		return 0;
	}
	*done = 1;
	return add_file(rs, d, e, fd);
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
	count_file(rs);
	return 0;
}

static int restore_tree(struct restore *rs, struct rdir *d, const struct oid *id);

static struct rdir *rdir_new(int fd, const struct tree_entry *meta, const char *path)
{
	struct rdir *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->fd = fd;
	d->refs = 1;
	d->path = strdup(path);
	if (meta) {
		d->apply_meta = 1;
		if (tree_entry_copy(&d->meta, meta) < 0)
			d->apply_meta = 0;
	}
	return d;
}

static int restore_dir(struct restore *rs, struct rdir *parent, const struct tree_entry *e)
{
	const char *path = (char *)rs->path.data;
	if (mkdirat(parent->fd, e->name, 0700) < 0 && errno != EEXIST) {
		fail_entry(rs, path, "cannot create directory", errno);
		return 0;
	}
	int fd = openat(parent->fd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		fail_entry(rs, path, "cannot open directory", errno);
		return 0;
	}
	struct rdir *d = rdir_new(fd, e, path);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	int r = restore_tree(rs, d, &e->subtree);
	if (rs->cur && rs->cur->dir == d)
		flush_job(rs);
	dir_unref(rs, d);
	rs->dirs++;
	if (rs->prog)
		rs->prog->dirs++;
	return r;
}

static int restore_entry(struct restore *rs, struct rdir *d, const struct tree_entry *e)
{
	int done = 0, r;
	switch (e->kind) {
	case NODE_DIR:
		return restore_dir(rs, d, e);
	case NODE_FILE:
		if (e->nlink > 1 && ((r = restore_linked(rs, d, e, &done)) < 0 || done))
			return r;
		return add_file(rs, d, e, -1);
	default:
		return restore_special(rs, d->fd, e);
	}
}

static int restore_tree(struct restore *rs, struct rdir *d, const struct oid *id)
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
			r = restore_entry(rs, d, &t->entries[i]);
	}
	rs->path.len = base;
	rs->path.data[base] = 0;
	tree_free(t);
	return r;
}

/* Totals for a progress display: a walk over the trees alone (they come
 * from the catalog's tree cache, and restoring needs them anyway). */
static void count_tree(struct restore *rs, const struct oid *id)
{
	struct tree *t;
	if (repo_load_tree(rs->r, rs->r->codec, id, &t) < 0)
		return;
	for (size_t i = 0; i < t->count; i++) {
		const struct tree_entry *e = &t->entries[i];
		if (e->kind == NODE_DIR) {
			count_tree(rs, &e->subtree);
			continue;
		}
		rs->prog->files_total++;
		rs->prog->bytes_total += e->size;
	}
	tree_free(t);
}

/* ---- setup ---- */

static int start(struct restore *rs)
{
	int n = rs->o->threads > 0 ? rs->o->threads : os_ncpu() + 1;
	int e = queue_init(&rs->q, 16);
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
	flush_job(rs);
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

int restore_run(struct repo *r, const struct snapshot *snap, const char *path,
		const struct restore_opts *o, struct restore_result *res)
{
	struct restore rs = { .r = r, .o = o, .target_fd = -1, .is_root = geteuid() == 0,
			      .uid = geteuid(), .gid = getegid(), .prog = o->progress };
	struct tree_entry top;
	struct rdir *root = NULL;
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
	if (rs.prog && top.kind == NODE_DIR) {
		count_tree(&rs, &top.subtree);
	} else if (rs.prog) {
		rs.prog->files_total = 1;
		rs.prog->bytes_total = top.size;
	}
	/* Modes are set exactly as stored, not filtered by the umask. */
	mode_t old_umask = umask(0);
	int dfd = dup(rs.target_fd);
	if ((e = start(&rs)) == 0 && dfd >= 0 && (root = rdir_new(dfd, NULL, o->target))) {
		/* A directory's contents go into the target itself; anything
		 * else goes into it under its own name. */
		if (top.kind == NODE_DIR) {
			e = restore_tree(&rs, root, &top.subtree);
		} else {
			buf_printf(&rs.path, "%s", top.name);
			e = restore_entry(&rs, root, &top);
		}
		flush_job(&rs);
		dir_unref(&rs, root);
	} else if (e == 0) {
		e = -ENOMEM;
		if (dfd >= 0)
			close(dfd);
	}
	stop(&rs); /* waits for every file */
	umask(old_umask);
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
