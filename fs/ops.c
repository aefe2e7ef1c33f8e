/* FUSE low-level operations over the view (store/view.h).  Every request
 * gets exactly one reply; nothing is locked across a reply.  Snapshot
 * content never changes, so its entries and attributes are cached by the
 * kernel for a day and its files keep their page cache between opens; the
 * root changes when snapshots come and go, so its entries live a second.
 *
 * Round trips are what a FUSE file system costs, so there are few: no
 * open or opendir requests (fs/handles.c), link targets cached by the
 * kernel, listings with attributes (readdirplus), reads of up to 1 MiB
 * answered straight from the cached chunks.  The mount is read-only
 * ("ro"), so the kernel refuses writes itself; the handlers below answer
 * EROFS all the same. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_int.h"
#include "lib/log.h"

#define IMMUTABLE_TIMEOUT 86400.0
#define ROOT_TIMEOUT 1.0
/* The largest read the kernel will send once max_pages is raised. */
#define MAX_IO (1u << 20)

static struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Errors from the store that mean "the data is bad or unreachable" all
 * reach applications as EIO; the store has logged the details. */
static int fs_errno(int e)
{
	switch (e) {
	case -ENOENT:
	case -ENOTDIR:
	case -EISDIR:
	case -EINVAL:
	case -ENOMEM:
	case -EROFS:
		return -e;
	default:
		return EIO;
	}
}

static mode_t type_bits(uint8_t kind)
{
	switch (kind) {
	case NODE_DIR: return S_IFDIR;
	case NODE_SYMLINK: return S_IFLNK;
	case NODE_FIFO: return S_IFIFO;
	case NODE_CHR: return S_IFCHR;
	case NODE_BLK: return S_IFBLK;
	case NODE_SOCK: return S_IFSOCK;
	default: return S_IFREG;
	}
}

static void fill_stat(struct stat *st, const struct view_attr *a)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = type_bits(a->kind) | a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blksize = 65536;
	/* as many 512-byte blocks as the size needs: du shows the real size */
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	st->st_mtim.tv_sec = a->mtime_sec;
	st->st_mtim.tv_nsec = a->mtime_nsec;
	st->st_atim = st->st_mtim;
	st->st_ctim.tv_sec = a->ctime_sec;
	st->st_ctim.tv_nsec = a->ctime_nsec;
}

static double timeout_of(const struct view_attr *a)
{
	return a->immutable ? IMMUTABLE_TIMEOUT : ROOT_TIMEOUT;
}

static void fill_entry(struct fuse_entry_param *e, const struct view_attr *a)
{
	memset(e, 0, sizeof(*e));
	e->ino = a->ino;
	e->attr_timeout = e->entry_timeout = timeout_of(a);
	fill_stat(&e->attr, a);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	/* No OPEN/RELEASE and OPENDIR/RELEASEDIR round trips (fs/handles.c);
	 * the kernel then keeps file pages and listings, as we would ask. */
	if (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) {
		conn->want |= FUSE_CAP_NO_OPEN_SUPPORT;
		fs->no_open = 1;
	}
	if (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) {
		conn->want |= FUSE_CAP_NO_OPENDIR_SUPPORT;
		fs->no_opendir = 1;
	}
	/* Snapshot files never change: no attribute check before each read. */
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
	/* Cached link targets: a path through @latest would otherwise cost a
	 * READLINK per lookup.  The refresh thread invalidates the links
	 * when they move. */
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* max_write also sets the largest request (max_pages): reads of a
	 * MiB instead of 128 KiB, a quarter of the round trips */
	conn->max_write = MAX_IO;
	conn->max_readahead = MAX_IO;
	fs_signal_ready(fs);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct view_attr a;
	struct fuse_entry_param e;
	int r = view_lookup(fs_of(req)->v, parent, name, &a);
	if (r < 0) {
		if (r == -ENOENT && parent != VIEW_ROOT_INO) {
			/* a name missing from a snapshot stays missing */
			memset(&e, 0, sizeof(e));
			e.entry_timeout = IMMUTABLE_TIMEOUT;
			fuse_reply_entry(req, &e);
			return;
		}
		fuse_reply_err(req, fs_errno(r));
		return;
	}
	fill_entry(&e, &a);
	fuse_reply_entry(req, &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	/* Nodes live in the catalog, not in memory: nothing to release. */
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct view_attr a;
	struct stat st;
	int r = view_getattr(fs_of(req)->v, ino, &a);
	if (r < 0) {
		fuse_reply_err(req, fs_errno(r));
		return;
	}
	fill_stat(&st, &a);
	fuse_reply_attr(req, &st, timeout_of(&a));
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct buf t = BUF_INIT;
	int r = view_readlink(fs_of(req)->v, ino, &t);
	if (!r)
		r = buf_put_u8(&t, 0);
	if (r < 0)
		fuse_reply_err(req, fs_errno(r));
	else
		fuse_reply_readlink(req, (char *)t.data);
	buf_release(&t);
}

/* Directories and files are opened only where the kernel cannot do
 * without it (fs/handles.c): with FUSE_CAP_NO_OPEN(DIR)_SUPPORT the first
 * open answers ENOSYS and later requests carry no handle (fh 0), only the
 * inode. */
static struct handle *handle_of(struct fuse_file_info *fi)
{
	return fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
}

/* The handle a request works on: its own, or one looked up for it
 * (*owned: put it back after the reply). */
static int request_handle(fuse_req_t req, fuse_ino_t ino, int kind,
			  struct fuse_file_info *fi, struct handle **h, int *owned)
{
	*h = handle_of(fi);
	*owned = !*h;
	return *h ? 0 : handle_get(fs_of(req)->handles, ino, kind, h);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct handle *h;
	if (fs->no_opendir) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	int r = handle_get(fs->handles, ino, HANDLE_DIR, &h);
	if (r < 0) {
		fuse_reply_err(req, fs_errno(r));
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	if (ino != VIEW_ROOT_INO) {
		/* a snapshot directory never changes: the kernel may keep it */
		fi->cache_readdir = 1;
		fi->keep_cache = 1;
	}
	if (fuse_reply_open(req, fi) == -ENOENT) /* interrupted: no release comes */
		handle_put(fs->handles, h);
}

/* Offsets: 1 after ".", 2 after "..", 2 + i + 1 after entry i. */
static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, int plus)
{
	struct handles *hs = fs_of(req)->handles; /* req is gone after the reply */
	struct handle *h;
	int owned;
	int r = request_handle(req, ino, HANDLE_DIR, fi, &h, &owned);
	/* the kernel asks for a page at a time: no allocation for that */
	char stackbuf[4096];
	char *buf = r ? NULL : size <= sizeof(stackbuf) ? stackbuf : malloc(size);
	size_t used = 0, n = 0;
	if (!buf) {
		fuse_reply_err(req, r ? fs_errno(r) : ENOMEM);
		goto out;
	}
	const struct view_dirent *ents = handle_dirents(h, &n);
	for (off_t i = off; i < (off_t)n + 2; i++) {
		struct fuse_entry_param e;
		const char *name;
		if (i < 2) {
			/* "." and "..": no lookup count, so ino 0 in plus mode */
			memset(&e, 0, sizeof(e));
			e.attr.st_mode = S_IFDIR;
			e.attr.st_ino = i == 0 ? ino : 1;
			name = i == 0 ? "." : "..";
		} else {
			fill_entry(&e, &ents[i - 2].attr);
			name = ents[i - 2].name;
		}
		size_t len = plus ? fuse_add_direntry_plus(req, buf + used, size - used, name,
							   &e, i + 1)
				  : fuse_add_direntry(req, buf + used, size - used, name,
						      &e.attr, i + 1);
		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
	if (buf != stackbuf)
		free(buf);
out:
	if (owned && !r)
		handle_put(hs, h);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	handle_put(fs_of(req)->handles, handle_of(fi)); /* before the reply frees req */
	fuse_reply_err(req, 0);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct handle *h;
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (fs->no_open) { /* the kernel keeps the page cache by default then */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	int r = handle_get(fs->handles, ino, HANDLE_FILE, &h);
	if (r < 0) {
		fuse_reply_err(req, fs_errno(r));
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->keep_cache = 1; /* snapshot files never change */
	if (fuse_reply_open(req, fi) == -ENOENT)
		handle_put(fs->handles, h);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req); /* req is gone after the reply */
	struct handle *h;
	struct view_span sp;
	int owned;
	int r = request_handle(req, ino, HANDLE_FILE, fi, &h, &owned);
	if (!r)
		r = view_read_span(fs->v, handle_file(h), (uint64_t)off, size, &sp);
	if (r == -E2BIG) { /* tiny chunks: copy them together */
		struct buf b = BUF_INIT;
		r = view_read(fs->v, handle_file(h), (uint64_t)off, size, &b);
		if (r < 0)
			fuse_reply_err(req, fs_errno(r));
		else
			fuse_reply_buf(req, (const char *)b.data, b.len);
		buf_release(&b);
	} else if (r < 0) {
		fuse_reply_err(req, fs_errno(r));
	} else {
		/* straight from the cached chunks to the kernel, no copy */
		if (sp.n)
			fuse_reply_iov(req, sp.iov, sp.n);
		else
			fuse_reply_buf(req, NULL, 0); /* at or past the end */
		view_span_release(fs->v, &sp);
	}
	if (owned && h)
		handle_put(fs->handles, h);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	handle_put(fs_of(req)->handles, handle_of(fi));
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct view_statfs vs;
	struct statvfs st;
	int r = view_statfs(fs_of(req)->v, &vs);
	if (r < 0) {
		fuse_reply_err(req, fs_errno(r));
		return;
	}
	memset(&st, 0, sizeof(st));
	st.f_bsize = st.f_frsize = 4096;
	st.f_blocks = (vs.bytes + 4095) / 4096;
	st.f_files = vs.snapshots;
	st.f_namemax = 255;
	fuse_reply_statfs(req, &st);
}

/* No extended attributes: ENOSYS once, and the kernel stops asking. */
static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	fuse_reply_err(req, ENOSYS);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	fuse_reply_err(req, ENOSYS);
}

/* ---- everything that would change something ---- */

static void erofs(fuse_req_t req) { fuse_reply_err(req, EROFS); }

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi) { erofs(req); }
static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     dev_t rdev) { erofs(req); }
static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{ erofs(req); }
static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) { erofs(req); }
static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) { erofs(req); }
static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name) { erofs(req); }
static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname, unsigned int flags)
{ erofs(req); }
static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname) { erofs(req); }
static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi) { erofs(req); }
static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		     off_t off, struct fuse_file_info *fi) { erofs(req); }
static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags) { erofs(req); }
static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{ erofs(req); }
static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
			 off_t length, struct fuse_file_info *fi) { erofs(req); }

const struct fuse_lowlevel_ops fs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.statfs = op_statfs,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.create = op_create,
	.write = op_write,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
	.fallocate = op_fallocate,
};
