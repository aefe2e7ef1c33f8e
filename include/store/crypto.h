/* Hashes, keyed ids, key derivation and AEAD primitives.
 *
 * OpenSSL does SHA-256 (SHA-NI), HMAC-SHA256 and AES-256-GCM (AES-NI,
 * VPCLMULQDQ); libgcrypt does Argon2id, which OpenSSL 3.0 lacks.  Nothing
 * here logs or prints key material.
 */
#ifndef CAIRN_STORE_CRYPTO_H
#define CAIRN_STORE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define OID_LEN 32
#define OID_HEX_LEN 64
#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16

/* An object or blob id: a keyed hash (blobs) or SHA-256 (stored objects). */
struct oid {
	uint8_t b[OID_LEN];
};

static inline int oid_eq(const struct oid *a, const struct oid *b)
{
	return !memcmp(a->b, b->b, OID_LEN);
}
static inline int oid_is_zero(const struct oid *a)
{
	static const struct oid zero;
	return oid_eq(a, &zero);
}
/* out receives 64 hex digits and a NUL. */
void oid_hex(char out[OID_HEX_LEN + 1], const struct oid *id);
/* Parses exactly 64 hex digits; 0 or -EINVAL. */
int oid_from_hex(struct oid *id, const char *hex);

/* The repository's secrets.  For an unencrypted repository data_key is
 * unused and id_key is public (it is stored in the config). */
struct repo_keys {
	int encrypted;
	uint8_t data_key[KEY_LEN]; /* AES-256-GCM key of every sealed box */
	uint8_t id_key[KEY_LEN];   /* HMAC-SHA256 key of blob ids */
};
/* The master secret wrapped by key files is data_key || id_key. */
#define MASTER_LEN (2 * KEY_LEN)

/* Overwrites secrets so they do not linger in freed memory. */
void crypto_wipe(void *p, size_t n);

/* Fills p from the OS CSPRNG.  0 or -EIO. */
int crypto_random(void *p, size_t n);

void crypto_sha256(struct oid *out, const void *p, size_t n);

/* Streaming SHA-256; one per thread. */
struct sha256;
struct sha256 *sha256_new(void);
void sha256_free(struct sha256 *h);
void sha256_reset(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *p, size_t n);
void sha256_final(struct sha256 *h, struct oid *out);

/* One-shot HMAC-SHA256. */
void crypto_hmac(struct oid *out, const uint8_t key[KEY_LEN], const void *p, size_t n);

/* Argon2id (RFC 9106) via libgcrypt.  t passes, m KiB of memory, p lanes. */
struct kdf_params {
	uint32_t t, m, p;
	uint8_t salt[16];
};
/* The parameters new keys get: t=2, m=19 MiB, p=1 — OWASP's recommended
 * Argon2id setting; ~75 ms here, so unlocking stays a small part of an
 * incremental backup.  Key files record their own parameters. */
void kdf_params_default(struct kdf_params *p);
int crypto_kdf(const struct kdf_params *p, const char *pw, size_t pwlen,
	       uint8_t out[KEY_LEN]);

/* One-shot AES-256-GCM for small things (key files).  Bulk data goes
 * through struct codec, which keeps its contexts.  out has n bytes.
 * open returns -EBADMSG if authentication fails. */
int crypto_aead_seal(const uint8_t key[KEY_LEN], const uint8_t nonce[NONCE_LEN],
		     const void *aad, size_t aadlen, const void *in, size_t n,
		     void *out, uint8_t tag[TAG_LEN]);
int crypto_aead_open(const uint8_t key[KEY_LEN], const uint8_t nonce[NONCE_LEN],
		     const void *aad, size_t aadlen, const void *in, size_t n,
		     void *out, const uint8_t tag[TAG_LEN]);

#endif
