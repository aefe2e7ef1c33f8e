/* The repository handle: a destination (backend stack), its config and
 * keys, and the local catalog.  Everything that reads or writes repository
 * objects goes through here, so naming, sealing and verification live in
 * one place.
 *
 * Threads: the handle may be shared; functions that take a struct codec use
 * the caller's (one per thread).  r->codec belongs to the thread that opened
 * the repository.
 */
#ifndef CAIRN_STORE_REPO_H
#define CAIRN_STORE_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "store/backend.h"
#include "store/catalog.h"
#include "store/codec.h"
#include "store/config.h"
#include "store/snapshot.h"
#include "store/tree.h"

/* Largest stored objects a reader accepts (index, snapshot, config). */
#define OBJECT_MAX (256u << 20)
/* Largest tree plaintext (a directory of ~1M entries). */
#define TREE_MAX (256u << 20)

struct repo {
	struct backend *be;
	char *url;
	struct repo_config cfg;
	struct repo_keys keys;
	struct oid key_id;       /* key file that opened it (encrypted only) */
	struct catalog *cat;
	char *cache_dir;         /* <cache>/cairn/<repo id> */
	struct codec *codec;     /* the opening thread's */
};

struct repo_open_opts {
	const char *url;
	const char *cache_root;  /* NULL: $XDG_CACHE_HOME or ~/.cache */
	const char *password;    /* NULL for unencrypted repositories */
	size_t password_len;
	bool no_sync;            /* do not refresh the catalog from the destination */
	/* Read cache of pack ranges in <cache dir>/chunks, capped at this
	 * many bytes (0: none).  Skipped for a local destination unless
	 * read_cache_local: it would copy the same disk. */
	uint64_t read_cache_bytes;
	bool read_cache_local;
};

struct repo_init_opts {
	const char *url;
	const char *cache_root;
	const char *password;    /* NULL: unencrypted */
	size_t password_len;
	struct chunker_params chunker;  /* zero: defaults */
	int compression, level;         /* -1: default */
	uint32_t pack_size;             /* 0: default */
	const struct kdf_params *kdf;   /* NULL: defaults */
};

/* Creates a repository.  -EEXIST if one is there already. */
int repo_init(const struct repo_init_opts *o, struct repo **out);
/* Opens a repository: reads the config, unlocks a key, opens the catalog,
 * puts the read cache in front of the destination if asked (going on
 * without it, with a warning, if it cannot be used) and (unless no_sync)
 * brings the catalog up to date with the destination.
 * -ENOENT: no repository at url; -EKEYREJECTED: wrong password;
 * -EACCES: the repository is encrypted and no password was given. */
int repo_open(const struct repo_open_opts *o, struct repo **out);
void repo_close(struct repo *r);

/* Stores a new key file wrapping the master secret under password pw
 * (kdf NULL: defaults); *id is its name (keys/<hex>).  -EINVAL for an
 * unencrypted repository. */
int repo_key_add(struct repo *r, const char *pw, size_t pwlen,
		 const struct kdf_params *kdf, struct oid *id);

/* Whether the repository at url is encrypted: 1, 0, or -errno (-ENOENT:
 * no repository there). */
int repo_probe(const char *url);

/* Loads index and snapshot objects the catalog has not seen and forgets
 * those gone from the destination. */
int repo_sync_catalog(struct repo *r);
/* Empties the catalog and reloads it from the destination. */
int repo_rebuild_catalog(struct repo *r);

/* Object keys: "<dir>/<hex>" (packs: "data/<2 hex>/<hex>"); out >= 80. */
void repo_object_key(char *out, size_t n, enum obj_type type, const struct oid *name);

/* Seals plaintext as an object of the given type, names it by the SHA-256
 * of the sealed bytes and stores it.  Returns the name in *name. */
int repo_put_object(struct repo *r, struct codec *c, enum obj_type type,
		    const void *p, size_t n, struct oid *name);
/* Fetches an object, verifies its name against its bytes and opens it into
 * out.  -ENOENT, -EBADMSG. */
int repo_get_object(struct repo *r, struct codec *c, enum obj_type type,
		    const struct oid *name, struct buf *out);

/* Reads a blob via the catalog and opens it into out (replacing).
 * -ENOENT if the catalog does not know it; -EBADMSG if it fails to
 * authenticate.  scratch holds the sealed bytes (reused across calls). */
int repo_read_blob(struct repo *r, struct codec *c, const struct oid *id,
		   uint8_t type, struct buf *scratch, struct buf *out);

/* The same with the location already looked up (threads that must not
 * contend for the catalog look locations up beforehand). */
int repo_read_blob_at(struct repo *r, struct codec *c, const struct oid *id,
		      const struct blob_loc *loc, struct buf *scratch, struct buf *out);

/* Reads a pack's trailer and table from the destination (two ranged
 * reads) and decodes it; *ents is malloc'd.  -EBADMSG if damaged. */
int repo_read_pack_table(struct repo *r, struct codec *c, const struct oid *pack,
			 uint64_t size, struct pack_entry **ents, size_t *n);

/* Loads a tree (from the catalog's tree cache, else from its pack, caching
 * it).  *out is the caller's (tree_free). */
int repo_load_tree(struct repo *r, struct codec *c, const struct oid *id,
		   struct tree **out);

/* All snapshots in time order; *out is malloc'd (repo_snapshots_free). */
int repo_snapshots(struct repo *r, struct snapshot **out, size_t *n);
void repo_snapshots_free(struct snapshot *s, size_t n);
/* Resolves "latest", an id prefix (>= 4 hex digits), "@YYYY-MM-DD" (newest
 * that day) or a folder name as the mount shows it (snapshot_folder_names):
 * "@YYYY-MM-DD-HHMMSS" is the first snapshot of that second,
 * "@YYYY-MM-DD-HHMMSS-N" (N >= 2) the N-th.  -ENOENT if none (also for
 * "-1" or a leading zero: no folder is named so), -ENOTUNIQ if an id prefix
 * is ambiguous, -EINVAL if spec is none of these forms. */
int repo_find_snapshot(struct repo *r, const char *spec, struct snapshot *out);
/* Seals and stores a snapshot; sets s->id and records it in the catalog. */
int repo_save_snapshot(struct repo *r, struct snapshot *s);

/* Follows a '/'-separated path from a root tree.  Returns a copy of the
 * entry (caller releases with tree_entry_release); "" or "/" gives a
 * synthetic directory entry for the root itself.  -ENOENT, -ENOTDIR. */
int repo_walk_path(struct repo *r, struct codec *c, const struct oid *root,
		   const char *path, struct tree_entry *out);

#endif
