/* The repository config (object "config") and key files (objects
 * "keys/<id>"), docs/FORMAT.md §7-8.
 *
 * The config is a sealed OBJ_CONFIG box of JSON: format version, repository
 * id, chunker parameters, compression, pack size and, for an unencrypted
 * repository, the id key.  In an encrypted repository it is sealed with the
 * data key, so opening it proves the password was right.
 *
 * A key file is plain JSON: Argon2id parameters, salt, and the master
 * secret (data key | id key) sealed with AES-256-GCM under the derived key.
 * Several key files may wrap the same master secret (one per passphrase).
 */
#ifndef CAIRN_STORE_CONFIG_H
#define CAIRN_STORE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "store/chunker.h"
#include "store/crypto.h"

#define REPO_FORMAT_VERSION 1
#define PACK_SIZE_DEFAULT (16u << 20)

struct repo_config {
	uint32_t version;
	struct oid id;                /* random; names the local cache */
	int64_t created_ns;
	int encrypted;
	struct chunker_params chunker;
	int compression;              /* enum compression */
	int level;
	uint32_t pack_size;
	uint8_t id_key[KEY_LEN];      /* unencrypted repositories only */
};

/* Parses "zstd", "zstd:N", "lz4", "lz4:N" (acceleration) or "none".
 * 0 or -EINVAL. */
int compression_parse(const char *s, int *comp, int *level);
/* "zstd:3", "lz4:1", "none" (out >= 16 bytes). */
void compression_format(int comp, int level, char *out, size_t n);

int config_to_json(const struct repo_config *c, struct buf *out);
/* Validates every field.  0 or -EBADMSG. */
int config_from_json(const void *p, size_t n, struct repo_config *c);

struct keyfile_info {
	int64_t created_ns;
	char host[256];
	char user[256];
	struct kdf_params kdf;
};

/* Wraps master (MASTER_LEN bytes) under a passphrase; JSON appended to out. */
int keyfile_create(const uint8_t *master, const char *pw, size_t pwlen,
		   const struct kdf_params *kdf, struct buf *out);
/* Unwraps: 0 and master filled, -EKEYREJECTED for a wrong passphrase,
 * -EBADMSG for a malformed key file. */
int keyfile_open(const void *json, size_t n, const char *pw, size_t pwlen,
		 uint8_t *master);
/* Reads the public fields.  0 or -EBADMSG. */
int keyfile_info(const void *json, size_t n, struct keyfile_info *info);

#endif
