/* Ingest: the one path by which content enters a repository (DESIGN §2).
 * A source describes a directory tree depth-first — directories opened and
 * closed, files streamed in, unchanged entries handed over as they were —
 * and ingest chunks, deduplicates, compresses, encrypts and packs the
 * content, and builds and stores the trees.
 *
 * Work is spread over threads: the caller's thread chunks; workers hash,
 * look up, compress and seal; an uploader stores finished packs and records
 * them in the catalog.  Memory is bounded: the caller blocks while too many
 * chunks are in flight.
 *
 * Durability: a pack is in the catalog only once the destination has it;
 * ingest_finish writes an index object covering every pack not yet indexed,
 * after those packs, and returns the root tree id.  Writing the snapshot is
 * the caller's next step, so the order packs -> index -> snapshot holds.
 *
 * All calls come from one thread (the source's).  They return 0 or -errno;
 * after a failure of the pipeline itself (destination down, disk full) every
 * later call returns that error.
 */
#ifndef CAIRN_STORE_INGEST_H
#define CAIRN_STORE_INGEST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "store/repo.h"
#include "store/tree.h"

struct ingest_opts {
	int workers;      /* sealing threads; 0: number of CPUs */
	int uploaders;    /* concurrent pack uploads; 0: 2 */
};

/* Running totals, readable from any thread while ingest runs. */
struct ingest_progress {
	atomic_uint_fast64_t files, dirs;
	atomic_uint_fast64_t bytes_read;     /* streamed in by the source */
	atomic_uint_fast64_t bytes_added;    /* plaintext of new blobs */
	atomic_uint_fast64_t bytes_stored;   /* sealed size of new blobs */
	atomic_uint_fast64_t blobs_added;
	atomic_uint_fast64_t packs_written;
};

struct ingest;

struct ingest *ingest_new(struct repo *r, const struct ingest_opts *o, int *err);
/* Stops the threads and frees everything.  Packs already stored stay in
 * the catalog as not indexed; the next ingest indexes and reuses them. */
void ingest_free(struct ingest *g);
const struct ingest_progress *ingest_progress(const struct ingest *g);

/* Opens a directory as a child of the current one (the first call opens
 * the root; its name is ignored).  attrs is copied; kind must be NODE_DIR. */
int ingest_dir_begin(struct ingest *g, const struct tree_entry *attrs);
/* Closes the current directory.  Its tree is stored once its files are. */
int ingest_dir_end(struct ingest *g);

/* Starts a regular file in the current directory (attrs copied; size and
 * chunks are filled from what is written). */
int ingest_file_begin(struct ingest *g, const struct tree_entry *attrs);
int ingest_file_write(struct ingest *g, const void *p, size_t n);
/* Completes the file; its entry is added with the bytes written. */
int ingest_file_end(struct ingest *g);
/* Drops the file being written (it could not be read); it gets no entry. */
void ingest_file_abort(struct ingest *g);

/* Adds an entry whose content is known: a symlink or special file, an
 * unchanged file (chunks given), an unchanged directory (subtree given).
 * Everything is copied. */
int ingest_add(struct ingest *g, const struct tree_entry *e);
/* Adds a file entry that shares the content of the file most recently
 * begun with ingest_file_begin under the same link_key (a hardlink seen
 * again).  Returns -ENOENT if no such file was seen. */
int ingest_add_link(struct ingest *g, const struct tree_entry *attrs, uint64_t link_key);
/* Tags the file being written with link_key for ingest_add_link. */
void ingest_file_set_link_key(struct ingest *g, uint64_t link_key);
/* Drops what is kept for link_key (call when its last name has been
 * seen), so hardlink bookkeeping does not grow with the whole backup. */
void ingest_forget_link(struct ingest *g, uint64_t link_key);

/* Closes the root, waits until every blob is stored, writes the index and
 * gives the root tree id.  Nothing may be added afterwards. */
int ingest_finish(struct ingest *g, struct oid *root);

/* Whether every chunk of a file entry is known to the repository (an
 * unchanged file may be reused only if its data is still there). */
int ingest_have_chunks(struct ingest *g, const struct tree_entry *e);

#endif
