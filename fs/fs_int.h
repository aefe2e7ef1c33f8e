/* Inside the FUSE driver: the state the request handlers share. */
#ifndef CAIRN_FS_INT_H
#define CAIRN_FS_INT_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "store/view.h"

struct handles;

struct fs {
	struct view *v;
	struct handles *handles;  /* files and listings by inode */
	struct fuse_session *se;
	int ready_fd;             /* tells the waiting parent the mount answers */
	int no_open, no_opendir;  /* the kernel opens without asking us */
};

/* Handles by inode (fs/handles.c): the chunk map of a file or the
 * listing of a directory, loaded on first use and shared by every request
 * for that inode, kept after the last user lets go within a memory cap.
 * Thread-safe.  handle_get returns -errno from the view on failure. */
enum { HANDLE_FILE, HANDLE_DIR };
struct handle;
struct handles *handles_new(struct view *v);
void handles_free(struct handles *h);
int handle_get(struct handles *h, uint64_t ino, int kind, struct handle **out);
void handle_put(struct handles *h, struct handle *e);
struct view_file *handle_file(const struct handle *e);
const struct view_dirent *handle_dirents(const struct handle *e, size_t *n);

/* The operations table (fs/ops.c). */
extern const struct fuse_lowlevel_ops fs_ops;

/* Says "ok" on ready_fd once and closes it (called from init). */
void fs_signal_ready(struct fs *fs);

#endif
