/* Inside the FUSE driver: the state the request handlers share. */
#ifndef CAIRN_FS_INT_H
#define CAIRN_FS_INT_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "store/view.h"

struct fs {
	struct view *v;
	struct fuse_session *se;
	int ready_fd;             /* tells the waiting parent the mount answers */
};

/* The operations table (fs/ops.c). */
extern const struct fuse_lowlevel_ops fs_ops;

/* Says "ok" on ready_fd once and closes it (called from init). */
void fs_signal_ready(struct fs *fs);

#endif
