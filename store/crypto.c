/* Hashes, keyed ids, Argon2id and one-shot AES-256-GCM
 * (include/store/crypto.h).  OpenSSL for SHA-256/HMAC/AES, libgcrypt for
 * Argon2id. */
#include "store/crypto.h"

#include <errno.h>
#include <gcrypt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>

#include "lib/hex.h"
#include "lib/log.h"

void oid_hex(char out[OID_HEX_LEN + 1], const struct oid *id)
{
	hex_encode(out, id->b, OID_LEN);
}

int oid_from_hex(struct oid *id, const char *hex)
{
	if (hex_span(hex) != OID_HEX_LEN || hex[OID_HEX_LEN])
		return -EINVAL;
	return hex_decode(id->b, hex, OID_LEN);
}

void crypto_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

int crypto_random(void *p, size_t n)
{
	return RAND_bytes(p, (int)n) == 1 ? 0 : -EIO;
}

void crypto_sha256(struct oid *out, const void *p, size_t n)
{
	unsigned len = OID_LEN;
	EVP_Digest(p, n, out->b, &len, EVP_sha256(), NULL);
}

struct sha256 {
	EVP_MD_CTX *ctx;
};

struct sha256 *sha256_new(void)
{
	struct sha256 *h = malloc(sizeof(*h));
	if (!h)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || !EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL)) {
		sha256_free(h);
		return NULL;
	}
	return h;
}

void sha256_free(struct sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void sha256_reset(struct sha256 *h)
{
	EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
}

void sha256_update(struct sha256 *h, const void *p, size_t n)
{
	EVP_DigestUpdate(h->ctx, p, n);
}

void sha256_final(struct sha256 *h, struct oid *out)
{
	unsigned len = OID_LEN;
	EVP_DigestFinal_ex(h->ctx, out->b, &len);
}

void crypto_hmac(struct oid *out, const uint8_t key[KEY_LEN], const void *p, size_t n)
{
	unsigned len = OID_LEN;
	HMAC(EVP_sha256(), key, KEY_LEN, p, n, out->b, &len);
}

void kdf_params_default(struct kdf_params *p)
{
	p->t = 2;
	p->m = 19456;
	p->p = 1;
	crypto_random(p->salt, sizeof(p->salt));
}

static pthread_once_t gcry_once = PTHREAD_ONCE_INIT;

static void gcry_setup(void)
{
	if (!gcry_check_version(GCRYPT_VERSION))
		log_error("libgcrypt version mismatch");
	gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
}

int crypto_kdf(const struct kdf_params *p, const char *pw, size_t pwlen,
	       uint8_t out[KEY_LEN])
{
	/* Bounds keep a hostile key file from asking for absurd work. */
	if (!pwlen)
		return -EINVAL; /* Argon2 in libgcrypt refuses an empty password */
	if (p->t < 1 || p->t > 64 || p->m < 8 * p->p || p->m > (4u << 20) ||
	    p->p < 1 || p->p > 16)
		return -EINVAL;
	pthread_once(&gcry_once, gcry_setup);
	/* libgcrypt's order: output length, passes, memory, lanes */
	unsigned long param[4] = { KEY_LEN, p->t, p->m, p->p };
	gcry_kdf_hd_t hd;
	gpg_error_t e = gcry_kdf_open(&hd, GCRY_KDF_ARGON2, GCRY_KDF_ARGON2ID,
				      param, 4, pw, pwlen, p->salt,
				      sizeof(p->salt), NULL, 0, NULL, 0);
	if (e)
		return -EINVAL;
	int r = 0;
	if (gcry_kdf_compute(hd, NULL) || gcry_kdf_final(hd, KEY_LEN, out))
		r = -ENOMEM;
	gcry_kdf_close(hd);
	return r;
}

static int aead(int enc, const uint8_t key[KEY_LEN], const uint8_t nonce[NONCE_LEN],
		const void *aad, size_t aadlen, const void *in, size_t n,
		void *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len, ok;
	if (!ctx)
		return -ENOMEM;
	ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, enc) &&
	     (!aadlen || EVP_CipherUpdate(ctx, NULL, &len, aad, (int)aadlen)) &&
	     EVP_CipherUpdate(ctx, out, &len, in, (int)n);
	if (ok && enc)
		ok = EVP_CipherFinal_ex(ctx, (uint8_t *)out + len, &len) &&
		     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag);
	else if (ok)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) &&
		     EVP_CipherFinal_ex(ctx, (uint8_t *)out + len, &len);
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : enc ? -EIO : -EBADMSG;
}

int crypto_aead_seal(const uint8_t key[KEY_LEN], const uint8_t nonce[NONCE_LEN],
		     const void *aad, size_t aadlen, const void *in, size_t n,
		     void *out, uint8_t tag[TAG_LEN])
{
	return aead(1, key, nonce, aad, aadlen, in, n, out, tag);
}

int crypto_aead_open(const uint8_t key[KEY_LEN], const uint8_t nonce[NONCE_LEN],
		     const void *aad, size_t aadlen, const void *in, size_t n,
		     void *out, const uint8_t tag[TAG_LEN])
{
	return aead(0, key, nonce, aad, aadlen, in, n, out, (uint8_t *)tag);
}
