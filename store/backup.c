/* Backing up a local directory (include/store/backup.h).
 *
 * The walk uses directory file descriptors (openat/fstatat), so depth is
 * bounded only by the open-file limit, not PATH_MAX, and a path swapped for
 * a symlink mid-walk is never followed.  Paths are kept only for messages
 * and exclude patterns. */
#include "store/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
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
#include "lib/version.h"
#include "store/lease.h"

#define READ_BUF (1u << 20)
/* Large files are read ahead this far; small files that will be read are
 * opened and read ahead up to PREFETCH_FILES / PREFETCH_BYTES in advance,
 * so with a cold page cache the disk works while the CPU chunks. */
#define READ_AHEAD (8u << 20)
#define PREFETCH_FILES 64
#define PREFETCH_BYTES (32u << 20)

struct walk {
	struct repo *r;
	const struct backup_opts *o;
	struct ingest *g;
	struct buf path;          /* relative path of the current entry */
	const char *root_abs;
	uint8_t *rbuf;
	struct idmap *links;      /* (dev, ino) -> link key, for hardlinks read this run */
	uint64_t next_link;
	unsigned warnings;
	struct snapshot_stats st;
	struct backup_progress *prog;
};

static void warn_entry(struct walk *w, const char *what, int err)
{
	w->warnings++;
	log_warn("%s/%.*s: %s: %s", w->root_abs, (int)w->path.len, (char *)w->path.data,
		 what, errstr(err));
}

static int excluded(struct walk *w, const char *name)
{
	const char *const *pat = w->o->excludes;
	for (; pat && *pat; pat++) {
		const char *p = *pat;
		if (!strchr(p, '/')) {
			if (!fnmatch(p, name, 0))
				return 1;
			continue;
		}
		/* A pattern with a slash matches the path inside the source, or
		 * the absolute path. */
		char abs[PATH_MAX * 2];
		snprintf(abs, sizeof(abs), "%s/%.*s", w->root_abs, (int)w->path.len,
			 (char *)w->path.data);
		if (!fnmatch(p[0] == '/' ? p + 1 : p, (char *)w->path.data, FNM_PATHNAME) ||
		    !fnmatch(p, abs, FNM_PATHNAME))
			return 1;
	}
	return 0;
}

static uint8_t kind_of(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return NODE_FILE;
	case S_IFDIR: return NODE_DIR;
	case S_IFLNK: return NODE_SYMLINK;
	case S_IFIFO: return NODE_FIFO;
	case S_IFCHR: return NODE_CHR;
	case S_IFBLK: return NODE_BLK;
	default: return 0; /* sockets are not backed up */
	}
}

static void attrs_from_stat(struct tree_entry *e, const char *name, const struct stat *st)
{
	memset(e, 0, sizeof(*e));
	e->name = (char *)name;
	e->name_len = (uint32_t)strlen(name);
	e->kind = kind_of(st->st_mode);
	e->mode = st->st_mode & 07777;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->mtime_sec = st->st_mtim.tv_sec;
	e->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	e->ctime_sec = st->st_ctim.tv_sec;
	e->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
	e->ino = st->st_ino;
	e->dev = st->st_dev;
	e->nlink = st->st_nlink;
	if (e->kind == NODE_FILE)
		e->size = (uint64_t)st->st_size;
	if (e->kind == NODE_CHR || e->kind == NODE_BLK)
		e->rdev = st->st_rdev;
}

/* The change test: same size, mtime, ctime and inode as last time. */
static int unchanged(const struct tree_entry *prev, const struct stat *st)
{
	return prev && prev->kind == NODE_FILE && prev->size == (uint64_t)st->st_size &&
	       prev->mtime_sec == st->st_mtim.tv_sec &&
	       prev->mtime_nsec == (uint32_t)st->st_mtim.tv_nsec &&
	       prev->ctime_sec == st->st_ctim.tv_sec &&
	       prev->ctime_nsec == (uint32_t)st->st_ctim.tv_nsec && prev->ino == st->st_ino;
}

/* Streams a file into ingest.  0 when stored, 1 when it could not be read
 * (warned and skipped), -errno when the backup itself failed. */
static int open_source(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM) /* O_NOATIME needs ownership */
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

static int read_source_file(struct walk *w, int dirfd, const char *name,
			    struct tree_entry *a, uint64_t link_key, int fd)
{
	if (fd < 0 && (fd = open_source(dirfd, name)) < 0) {
		warn_entry(w, "cannot open", errno);
		return 1;
	}
	if (a->size > READ_BUF)
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	uint64_t pos = 0;
	int e = ingest_file_begin(w->g, a);
	if (e < 0)
		goto out;
	if (link_key)
		ingest_file_set_link_key(w->g, link_key);
	for (;;) {
		ssize_t n = read(fd, w->rbuf, READ_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			warn_entry(w, "read error", errno);
			ingest_file_abort(w->g);
			e = 1;
			goto out;
		}
		if (n == 0)
			break;
		/* keep the disk busy READ_AHEAD beyond what is being chunked */
		if (pos % READ_AHEAD == 0 && pos + READ_AHEAD < a->size)
			posix_fadvise(fd, (off_t)(pos + READ_AHEAD), READ_AHEAD,
				      POSIX_FADV_WILLNEED);
		pos += (uint64_t)n;
		if ((e = ingest_file_write(w->g, w->rbuf, (size_t)n)) < 0)
			goto out;
		if (w->prog)
			w->prog->bytes_done += (uint64_t)n;
	}
	e = ingest_file_end(w->g);
out:
	close(fd);
	return e;
}

/* Hardlinked files read in this run get a link key so later names of the
 * same inode share the content instead of being read again.  An inode is
 * forgotten once all its names are seen, and at most LINKS_MAX are
 * remembered at once (links to files outside the backup would otherwise
 * pile up); a name not remembered is simply read again. */
#define LINKS_MAX 16384

struct link_state {
	uint64_t key;
	uint64_t left;   /* names not seen yet */
};

static void link_id(uint8_t key[IDMAP_KEY_LEN], const struct stat *st)
{
	uint64_t mix = st->st_ino * 0x9E3779B97F4A7C15ull ^ st->st_dev;
	memset(key, 0, IDMAP_KEY_LEN);
	memcpy(key, &mix, 8);
	memcpy(key + 8, &st->st_dev, sizeof(st->st_dev));
	memcpy(key + 16, &st->st_ino, sizeof(st->st_ino));
}

/* A name of a hardlinked inode seen before: share its content.  1 if the
 * entry was added, 0 if the file must be read. */
static int link_again(struct walk *w, const struct stat *st, struct tree_entry *a)
{
	uint8_t id[IDMAP_KEY_LEN];
	link_id(id, st);
	struct link_state *ls = idmap_get(w->links, id);
	if (!ls)
		return 0;
	uint64_t key = ls->key;
	int added = ingest_add_link(w->g, a, key) == 0;
	if (--ls->left == 0) {
		idmap_del(w->links, id);
		ingest_forget_link(w->g, key);
	}
	return added;
}

/* The link key to tag a hardlinked file with as it is read (0: none). */
static uint64_t link_first(struct walk *w, const struct stat *st)
{
	uint8_t id[IDMAP_KEY_LEN];
	int added;
	if (idmap_count(w->links) >= LINKS_MAX)
		return 0;
	link_id(id, st);
	struct link_state *ls = idmap_put(w->links, id, &added);
	if (!ls || !added)
		return 0;
	ls->key = ++w->next_link;
	ls->left = st->st_nlink - 1;
	return ls->key;
}

static int walk_dir(struct walk *w, int dirfd, const struct tree *prev);

static void count_read(struct walk *w, const struct tree_entry *prev)
{
	if (prev)
		w->st.files_changed++;
	else
		w->st.files_new++;
}

/* fd: the file already open (read ahead), or -1.  Always consumed. */
static int do_file(struct walk *w, int dirfd, const char *name, const struct stat *st,
		   struct tree_entry *a, const struct tree_entry *prev, int fd)
{
	int e;
	if (unchanged(prev, st) && ingest_have_chunks(w->g, prev)) {
		if (fd >= 0)
			close(fd);
		a->chunks = prev->chunks;
		a->nchunks = prev->nchunks;
		if ((e = ingest_add(w->g, a)) < 0)
			return e;
		w->st.files_unmodified++;
		if (w->prog)
			w->prog->bytes_done += a->size;
	} else if (st->st_nlink > 1 && link_again(w, st, a)) {
		if (fd >= 0)
			close(fd);
		if (w->prog)
			w->prog->bytes_done += a->size;
		count_read(w, prev);
	} else {
		uint64_t key = st->st_nlink > 1 ? link_first(w, st) : 0;
		if ((e = read_source_file(w, dirfd, name, a, key, fd)) != 0)
			return e < 0 ? e : 0; /* 1: skipped, with a warning */
		count_read(w, prev);
	}
	w->st.bytes_total += a->size;
	return 0;
}

static int do_symlink(struct walk *w, int dirfd, const char *name, struct tree_entry *a)
{
	char target[TREE_TARGET_MAX + 2];
	ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
	if (n < 0 || n > TREE_TARGET_MAX) {
		warn_entry(w, "cannot read link", n < 0 ? errno : ENAMETOOLONG);
		return 0;
	}
	target[n] = 0;
	a->target = target;
	a->target_len = (uint32_t)n;
	return ingest_add(w->g, a);
}

static int do_dir(struct walk *w, int dirfd, const char *name, struct tree_entry *a,
		  const struct tree_entry *prev)
{
	struct tree *pt = NULL;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		warn_entry(w, "cannot open directory", errno);
		return 0;
	}
	if (prev && prev->kind == NODE_DIR &&
	    repo_load_tree(w->r, w->r->codec, &prev->subtree, &pt) < 0)
		pt = NULL; /* no previous tree: everything is read afresh */
	int e = ingest_dir_begin(w->g, a);
	if (!e)
		e = walk_dir(w, fd, pt);
	if (!e)
		e = ingest_dir_end(w->g);
	w->st.dirs++;
	tree_free(pt);
	close(fd);
	return e;
}

/* Reads all names first so the directory stream is closed before
 * descending (one fd per level, not two). */
static int read_names(int dirfd, char ***names, size_t *n)
{
	int fd = dup(dirfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	size_t cap = 0;
	*names = NULL;
	*n = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	rewinddir(d);
	int e = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			char **v = realloc(*names, cap * sizeof(*v));
			if (!v) {
				e = -ENOMEM;
				break;
			}
			*names = v;
		}
		if (!((*names)[(*n)++] = strdup(de->d_name))) {
			(*n)--;
			e = -ENOMEM;
			break;
		}
	}
	if (!e && errno)
		e = -errno;
	closedir(d);
	return e;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* One directory entry, stat'ed ahead of processing. */
struct item {
	char *name;
	struct stat st;
	int err;                        /* of fstatat, or 0 */
	const struct tree_entry *prev;  /* same name in the previous tree */
	int fd;                         /* opened ahead for reading, or -1 */
	int skip;                       /* excluded, a socket, or a bad name */
};

static int will_read(const struct item *it)
{
	return !it->err && !it->skip && S_ISREG(it->st.st_mode) &&
	       !unchanged(it->prev, &it->st);
}

static int set_path(struct walk *w, size_t base, const char *name)
{
	w->path.len = base;
	return buf_printf(&w->path, "%s%s", base ? "/" : "", name);
}

static int do_item(struct walk *w, int dirfd, struct item *it)
{
	struct tree_entry a;
	int fd = it->fd;
	it->fd = -1;
	if (it->err) {
		warn_entry(w, "cannot stat", it->err);
		return 0;
	}
	if (it->skip == 2)
		warn_entry(w, "name cannot be stored", ENAMETOOLONG);
	if (it->skip)
		return 0;
	attrs_from_stat(&a, it->name, &it->st);
	if (w->prog)
		w->prog->files_done++;
	switch (a.kind) {
	case NODE_FILE:
		return do_file(w, dirfd, it->name, &it->st, &a, it->prev, fd);
	case NODE_DIR:
		return do_dir(w, dirfd, it->name, &a, it->prev);
	case NODE_SYMLINK:
		return do_symlink(w, dirfd, it->name, &a);
	default:
		return ingest_add(w->g, &a);
	}
}

/* Opens files that will be read, up to the prefetch window ahead of the
 * one being processed, and asks the kernel to read them in. */
static void prefetch(struct item *v, size_t n, size_t *next, size_t cur, int dirfd)
{
	size_t files = 0;
	uint64_t bytes = 0;
	for (size_t i = cur; i < *next; i++) {
		if (v[i].fd >= 0) {
			files++;
			bytes += (uint64_t)v[i].st.st_size;
		}
	}
	for (; *next < n && files < PREFETCH_FILES && bytes < PREFETCH_BYTES; (*next)++) {
		struct item *it = &v[*next];
		if (!will_read(it))
			continue;
		if ((it->fd = open_source(dirfd, it->name)) < 0)
			continue; /* reported when it is processed */
		off_t len = it->st.st_size < (off_t)READ_AHEAD ? it->st.st_size : (off_t)READ_AHEAD;
		posix_fadvise(it->fd, 0, len, POSIX_FADV_WILLNEED);
		files++;
		bytes += (uint64_t)len;
	}
}

static void stat_items(struct walk *w, int dirfd, char **names, size_t n,
		       const struct tree *prev, struct item *v)
{
	for (size_t i = 0; i < n; i++) {
		struct item *it = &v[i];
		size_t len = strlen(names[i]);
		*it = (struct item){ .name = names[i], .fd = -1 };
		if (fstatat(dirfd, it->name, &it->st, AT_SYMLINK_NOFOLLOW) < 0) {
			it->err = errno;
			continue;
		}
		size_t base = w->path.len;
		set_path(w, base, it->name);
		if (!kind_of(it->st.st_mode) || excluded(w, it->name))
			it->skip = 1;
		else if (tree_name_check(it->name, len) < 0)
			it->skip = 2;
		w->path.len = base;
		it->prev = prev ? tree_lookup(prev, it->name, len) : NULL;
	}
}

/* Stats every entry first, then handles files (reading ahead of itself),
 * then descends into subdirectories — so no prefetched file is held open
 * while deeper levels are walked. */
static int walk_dir(struct walk *w, int dirfd, const struct tree *prev)
{
	char **names;
	size_t n, base = w->path.len, next = 0;
	int e = read_names(dirfd, &names, &n);
	if (e < 0) {
		free_names(names, n);
		warn_entry(w, "cannot list directory", e);
		return e == -ENOMEM ? e : 0;
	}
	struct item *v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		free_names(names, n);
		return -ENOMEM;
	}
	stat_items(w, dirfd, names, n, prev, v);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n && !e; i++) {
			if (pass != (!v[i].err && S_ISDIR(v[i].st.st_mode)))
				continue;
			if (pass == 0)
				prefetch(v, n, &next, i, dirfd);
			if ((e = set_path(w, base, v[i].name)) < 0)
				break;
			e = do_item(w, dirfd, &v[i]);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (v[i].fd >= 0)
			close(v[i].fd);
	free(v);
	w->path.len = base;
	if (w->path.data)
		w->path.data[base] = 0;
	free_names(names, n);
	return e;
}

/* ---- the parallel scan: progress totals, and inodes read ahead ---- */

struct scan {
	char *root;
	struct backup_progress *prog;
	pthread_t thread;
	atomic_int stop;
};

static void scan_dir(struct scan *s, int dirfd)
{
	char **names;
	size_t n;
	if (read_names(dirfd, &names, &n) < 0) {
		free_names(names, n);
		return;
	}
	for (size_t i = 0; i < n && !s->stop; i++) {
		struct stat st;
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		s->prog->total_files++;
		if (S_ISREG(st.st_mode))
			s->prog->total_bytes += (uint64_t)st.st_size;
		if (S_ISDIR(st.st_mode)) {
			int fd = openat(dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					O_CLOEXEC);
			if (fd >= 0) {
				scan_dir(s, fd);
				close(fd);
			}
		}
	}
	free_names(names, n);
}

static void *scan_main(void *arg)
{
	struct scan *s = arg;
	int fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		scan_dir(s, fd);
		close(fd);
	}
	s->prog->scan_done = 1;
	return NULL;
}

/* ---- the snapshot ---- */

/* The previous snapshot and, in its root tree, the entry for this source. */
struct parent {
	int have;
	struct snapshot snap;
	struct tree *root;
};

static int load_parent(struct repo *r, struct parent *p)
{
	memset(p, 0, sizeof(*p));
	int e = repo_find_snapshot(r, "latest", &p->snap);
	if (e == -ENOENT)
		return 0;
	if (e < 0)
		return e;
	if ((e = repo_load_tree(r, r->codec, &p->snap.tree, &p->root)) < 0) {
		char hex[OID_HEX_LEN + 1];
		oid_hex(hex, &p->snap.tree);
		log_error("previous snapshot's root tree %s cannot be read: %s", hex, errstr(e));
		snapshot_release(&p->snap);
		return e;
	}
	p->have = 1;
	return 0;
}

static void release_parent(struct parent *p)
{
	if (p->have) {
		snapshot_release(&p->snap);
		tree_free(p->root);
	}
}

static int fill_snapshot(struct walk *w, const struct parent *p, const char *name,
			 const struct oid *root, int64_t start, struct snapshot *s)
{
	char host[256], user[256];
	os_hostname(host, sizeof(host));
	os_username(user, sizeof(user));
	memset(s, 0, sizeof(*s));
	s->time_ns = start;
	s->tree = *root;
	s->host = strdup(w->o->host ? w->o->host : host);
	s->user = strdup(user);
	s->program = strdup("cairn " CAIRN_VERSION);
	if (p->have) {
		s->has_parent = true;
		s->parent = p->snap.id;
	}
	size_t ntags = 0;
	while (w->o->tags && w->o->tags[ntags])
		ntags++;
	s->tags = calloc(ntags + 1, sizeof(*s->tags));
	size_t nprev = p->have ? p->snap.nsources : 0;
	s->sources = calloc(nprev + 1, sizeof(*s->sources));
	if (!s->host || !s->user || !s->program || !s->tags || !s->sources)
		return -ENOMEM;
	for (; s->ntags < ntags; s->ntags++)
		if (!(s->tags[s->ntags] = strdup(w->o->tags[s->ntags])))
			return -ENOMEM;
	for (size_t i = 0; i < nprev; i++) {
		const struct snapshot_source *ps = &p->snap.sources[i];
		if (!strcmp(ps->name, name))
			continue;
		struct snapshot_source *d = &s->sources[s->nsources++];
		*d = (struct snapshot_source){ strdup(ps->name), strdup(ps->path),
					       strdup(ps->host), ps->time_ns };
		if (!d->name || !d->path || !d->host)
			return -ENOMEM;
	}
	struct snapshot_source *d = &s->sources[s->nsources++];
	*d = (struct snapshot_source){ strdup(name), strdup(w->root_abs), strdup(s->host),
				       start };
	if (!d->name || !d->path || !d->host)
		return -ENOMEM;
	s->stats = w->st;
	return 0;
}

/* Opens the snapshot's root: the other sources carried over, then this
 * source's directory walked. */
static int walk_source(struct walk *w, const struct parent *p, const char *name,
		       int fd, const struct stat *st, int64_t start)
{
	struct tree_entry root = { .kind = NODE_DIR, .mode = 0755,
				   .mtime_sec = start / 1000000000 };
	struct tree_entry a;
	struct tree *prev = NULL;
	int e = ingest_dir_begin(w->g, &root);
	for (size_t i = 0; !e && p->have && i < p->root->count; i++) {
		const struct tree_entry *pe = &p->root->entries[i];
		if (strcmp(pe->name, name))
			e = ingest_add(w->g, pe);
	}
	if (e < 0)
		return e;
	const struct tree_entry *pe = p->have ? tree_lookup(p->root, name, strlen(name)) : NULL;
	if (pe && pe->kind == NODE_DIR && repo_load_tree(w->r, w->r->codec, &pe->subtree, &prev) < 0)
		prev = NULL;
	attrs_from_stat(&a, name, st);
	if (!(e = ingest_dir_begin(w->g, &a)) && !(e = walk_dir(w, fd, prev)))
		e = ingest_dir_end(w->g);
	tree_free(prev);
	return e;
}

static char *source_name(const struct backup_opts *o, const char *abs)
{
	const char *base = o->source;
	if (!base) {
		base = strrchr(abs, '/');
		base = base ? base + 1 : abs;
	}
	if (tree_name_check(base, strlen(base)) < 0)
		return NULL;
	return strdup(base);
}

int backup_run(struct repo *r, const struct backup_opts *o, struct backup_result *res)
{
	struct backup_progress quiet = { 0 };
	struct backup_progress *prog = o->progress ? o->progress : &quiet;
	struct walk w = { .r = r, .o = o, .prog = prog };
	struct parent p = { 0 };
	struct lease *lease = NULL;
	struct scan scan = { .prog = prog };
	struct stat st;
	struct oid root;
	char *abs = realpath(o->path, NULL), *name = NULL;
	int64_t start = os_now_ns(), t0 = os_mono_ns();
	int fd = -1, e, scanning = 0;
	memset(res, 0, sizeof(*res));

	if (!abs) {
		e = -errno;
		log_error("%s: %s", o->path, errstr(e));
		return e;
	}
	if (!(name = source_name(o, abs))) {
		log_error("%s: cannot be a source name; pass --source NAME", abs);
		e = -EINVAL;
		goto out;
	}
	fd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		e = -errno;
		log_error("%s: %s", abs, errstr(e));
		goto out;
	}
	w.root_abs = abs;
	w.rbuf = malloc(READ_BUF);
	w.links = idmap_new(sizeof(struct link_state));
	if (!w.rbuf || !w.links) {
		e = -ENOMEM;
		goto out;
	}
	if ((e = load_parent(r, &p)) < 0 || (e = lease_take(r, "backup", &lease)) < 0)
		goto out;
	/* Always scan: besides totals for progress, it warms the inode cache
	 * ahead of the walk, two stats in flight instead of one when cold. */
	scan.root = abs;
	scanning = !pthread_create(&scan.thread, NULL, scan_main, &scan);
	if (!(w.g = ingest_new(r, &o->ingest, &e)))
		goto out;
	if (o->progress)
		o->progress->ingest = ingest_progress(w.g);
	if ((e = walk_source(&w, &p, name, fd, &st, start)) < 0 ||
	    (e = ingest_finish(w.g, &root)) < 0)
		goto out;
	const struct ingest_progress *ip = ingest_progress(w.g);
	w.st.bytes_read = ip->bytes_read;
	w.st.bytes_added = ip->bytes_added;
	w.st.bytes_stored = ip->bytes_stored;
	w.st.blobs_added = ip->blobs_added;
	w.st.duration_ms = (uint64_t)((os_mono_ns() - t0) / 1000000);
	/* Packs and index are stored: now the snapshot may reference them. */
	if ((e = fill_snapshot(&w, &p, name, &root, start, &res->snap)) < 0 ||
	    (e = repo_save_snapshot(r, &res->snap)) < 0)
		goto out;
	res->warnings = w.warnings;
	e = w.warnings ? BACKUP_PARTIAL : 0;
out:
	if (scanning) {
		scan.stop = 1;
		pthread_join(scan.thread, NULL);
	}
	if (o->progress)
		o->progress->ingest = NULL;
	ingest_free(w.g);
	lease_release(lease);
	release_parent(&p);
	idmap_free(w.links);
	buf_release(&w.path);
	free(w.rbuf);
	if (fd >= 0)
		close(fd);
	free(name);
	free(abs);
	if (e < 0)
		snapshot_release(&res->snap);
	return e;
}

void backup_result_release(struct backup_result *res)
{
	snapshot_release(&res->snap);
}
