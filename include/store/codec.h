/* The sealed box: how every blob and every stored object is framed,
 * compressed and encrypted (exact bytes in docs/FORMAT.md §2).
 *
 *   header (24) | payload | tag (16)
 *   header = version, type, compression, crypto, plain_len, payload_len, nonce
 *
 * The payload is the plaintext, or its LZ4/zstd compression when that is
 * smaller, then AES-256-GCM under the repository's data key with a random
 * nonce.  The header and, for content-addressed blobs, the blob id are the
 * associated data, so a box cannot be moved to another id or retyped.  In an
 * unencrypted repository the tag is a truncated SHA-256 instead, which still
 * detects corruption.
 *
 * A codec holds per-thread state (cipher and compression contexts, scratch
 * space): create one per thread; never share one between threads.
 */
#ifndef CAIRN_STORE_CODEC_H
#define CAIRN_STORE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "store/crypto.h"

#define BOX_VERSION 1
#define BOX_HEADER_LEN 24
#define BOX_OVERHEAD (BOX_HEADER_LEN + TAG_LEN)

enum obj_type {
	OBJ_DATA = 1,     /* file content chunk (blob in a pack) */
	OBJ_TREE = 2,     /* directory listing (blob in a pack) */
	OBJ_PACK_TABLE = 3,
	OBJ_INDEX = 4,
	OBJ_SNAPSHOT = 5,
	OBJ_CONFIG = 6,
	OBJ_LEASE = 7,
};
#define OBJ_TYPE_MAX 7

enum compression {
	COMP_NONE = 0,
	COMP_LZ4 = 1,
	COMP_ZSTD = 2,
};
#define COMP_MAX 2

enum box_crypto {
	CRYPTO_NONE = 0,  /* tag = SHA-256(aad | payload)[0..16) */
	CRYPTO_AES256GCM = 1,
};

struct box_header {
	uint8_t version, type, compression, crypto;
	uint32_t plain_len, payload_len;
	uint8_t nonce[NONCE_LEN];
};

/* Parses and validates the fixed header of a box of total length n:
 * version known, type/compression/crypto in range, payload_len exactly
 * n - BOX_OVERHEAD, plain_len no larger than max_plain.  0 or -EBADMSG. */
int box_parse_header(const void *box, size_t n, size_t max_plain,
		     struct box_header *h);

struct codec;

/* compression: enum compression for new boxes; level: zstd level (1..19)
 * or LZ4 acceleration (ignored for none).  Keys are copied.  NULL on ENOMEM. */
struct codec *codec_new(const struct repo_keys *keys, int compression, int level);
void codec_free(struct codec *c);

/* The blob id of plaintext: HMAC-SHA256 under the id key. */
void codec_blob_id(struct codec *c, struct oid *out, const void *p, size_t n);

/* Appends a sealed box of plaintext p[0..n) to out.  id is the blob id for
 * OBJ_DATA/OBJ_TREE (bound into the associated data), NULL for other types.
 * Compression is kept only when it makes the box smaller.  0 or -errno. */
int codec_seal(struct codec *c, enum obj_type type, const struct oid *id,
	       const void *p, size_t n, struct buf *out);

/* Opens a box: checks the header (type must be `type`, crypto must match the
 * repository), authenticates, decompresses into out (replacing its
 * contents) and checks the length.  Plaintext larger than max_plain is
 * refused.  -EBADMSG on any mismatch; nothing is trusted before the tag. */
int codec_open(struct codec *c, enum obj_type type, const struct oid *id,
	       const void *box, size_t n, size_t max_plain, struct buf *out);

#endif
