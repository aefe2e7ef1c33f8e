/* Sealed boxes: compress if it pays, then encrypt and authenticate
 * (include/store/codec.h, docs/FORMAT.md §2).  Each codec keeps its cipher,
 * MAC and compression contexts so the per-blob cost is only the work. */
#include "store/codec.h"

#include <errno.h>
#include <lz4.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <zstd.h>

struct codec {
	struct repo_keys keys;
	int comp, level;
	EVP_CIPHER_CTX *enc, *dec;
	EVP_MAC *mac;
	EVP_MAC_CTX *hmac;
	EVP_MD_CTX *md;
	ZSTD_CCtx *zc;
	ZSTD_DCtx *zd;
	void *lz4_state;
	struct buf scratch;
};

int box_parse_header(const void *box, size_t n, size_t max_plain,
		     struct box_header *h)
{
	const uint8_t *p = box;
	if (n < BOX_OVERHEAD)
		return -EBADMSG;
	h->version = p[0];
	h->type = p[1];
	h->compression = p[2];
	h->crypto = p[3];
	h->plain_len = get_u32le(p + 4);
	h->payload_len = get_u32le(p + 8);
	memcpy(h->nonce, p + 12, NONCE_LEN);
	if (h->version != BOX_VERSION || h->type < 1 || h->type > OBJ_TYPE_MAX ||
	    h->compression > COMP_MAX || h->crypto > CRYPTO_AES256GCM)
		return -EBADMSG;
	if (h->payload_len != n - BOX_OVERHEAD || h->plain_len > max_plain)
		return -EBADMSG;
	if (h->compression == COMP_NONE && h->plain_len != h->payload_len)
		return -EBADMSG;
	if (h->compression != COMP_NONE && (h->payload_len == 0 || h->plain_len == 0))
		return -EBADMSG;
	return 0;
}

struct codec *codec_new(const struct repo_keys *keys, int compression, int level)
{
	struct codec *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->keys = *keys;
	c->comp = compression;
	c->level = level;
	c->enc = EVP_CIPHER_CTX_new();
	c->dec = EVP_CIPHER_CTX_new();
	c->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	c->hmac = c->mac ? EVP_MAC_CTX_new(c->mac) : NULL;
	c->md = EVP_MD_CTX_new();
	c->zc = ZSTD_createCCtx();
	c->zd = ZSTD_createDCtx();
	c->lz4_state = malloc((size_t)LZ4_sizeofState());
	if (!c->enc || !c->dec || !c->hmac || !c->md || !c->zc || !c->zd ||
	    !c->lz4_state)
		goto fail;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	if (!EVP_MAC_init(c->hmac, c->keys.id_key, KEY_LEN, params))
		goto fail;
	if (keys->encrypted &&
	    (!EVP_EncryptInit_ex(c->enc, EVP_aes_256_gcm(), NULL, keys->data_key, NULL) ||
	     !EVP_DecryptInit_ex(c->dec, EVP_aes_256_gcm(), NULL, keys->data_key, NULL)))
		goto fail;
	if (compression == COMP_ZSTD) {
		ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel, level);
		ZSTD_CCtx_setParameter(c->zc, ZSTD_c_checksumFlag, 0);
	}
	return c;
fail:
	codec_free(c);
	return NULL;
}

void codec_free(struct codec *c)
{
	if (!c)
		return;
	EVP_CIPHER_CTX_free(c->enc);
	EVP_CIPHER_CTX_free(c->dec);
	EVP_MAC_CTX_free(c->hmac);
	EVP_MAC_free(c->mac);
	EVP_MD_CTX_free(c->md);
	ZSTD_freeCCtx(c->zc);
	ZSTD_freeDCtx(c->zd);
	free(c->lz4_state);
	buf_release(&c->scratch);
	crypto_wipe(&c->keys, sizeof(c->keys));
	free(c);
}

void codec_blob_id(struct codec *c, struct oid *out, const void *p, size_t n)
{
	size_t len = OID_LEN;
	/* A NULL key re-initialises with the key set in codec_new. */
	EVP_MAC_init(c->hmac, NULL, 0, NULL);
	EVP_MAC_update(c->hmac, p, n);
	EVP_MAC_final(c->hmac, out->b, &len, OID_LEN);
}

/* Compresses p into c->scratch.  Returns the compressed length, or 0 when
 * compression is off or would not make the box smaller. */
static size_t compress(struct codec *c, const void *p, size_t n)
{
	if (c->comp == COMP_NONE || n < 32)
		return 0;
	size_t bound = c->comp == COMP_ZSTD ? ZSTD_compressBound(n)
					    : (size_t)LZ4_compressBound((int)n);
	buf_reset(&c->scratch);
	if (buf_grow(&c->scratch, bound) < 0)
		return 0;
	size_t got;
	if (c->comp == COMP_ZSTD) {
		got = ZSTD_compress2(c->zc, c->scratch.data, bound, p, n);
		if (ZSTD_isError(got))
			return 0;
	} else {
		int r = LZ4_compress_fast_extState(c->lz4_state, p, (char *)c->scratch.data,
						   (int)n, (int)bound, c->level > 0 ? c->level : 1);
		if (r <= 0)
			return 0;
		got = (size_t)r;
	}
	return got < n ? got : 0;
}

/* AAD is the header, then the blob id for content-addressed blobs. */
static void make_aad(uint8_t aad[BOX_HEADER_LEN + OID_LEN], const uint8_t *hdr,
		     const struct oid *id, size_t *len)
{
	memcpy(aad, hdr, BOX_HEADER_LEN);
	*len = BOX_HEADER_LEN;
	if (id) {
		memcpy(aad + BOX_HEADER_LEN, id->b, OID_LEN);
		*len += OID_LEN;
	}
}

static void plain_tag(struct codec *c, const uint8_t *aad, size_t aadlen,
		      const uint8_t *payload, size_t n, uint8_t tag[TAG_LEN])
{
	uint8_t md[32];
	unsigned len = sizeof(md);
	EVP_DigestInit_ex(c->md, EVP_sha256(), NULL);
	EVP_DigestUpdate(c->md, aad, aadlen);
	EVP_DigestUpdate(c->md, payload, n);
	EVP_DigestFinal_ex(c->md, md, &len);
	memcpy(tag, md, TAG_LEN);
}

static int gcm(EVP_CIPHER_CTX *ctx, int enc, const uint8_t *nonce,
	       const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t n,
	       uint8_t *out, uint8_t *tag)
{
	int len;
	if (!EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, enc) ||
	    !EVP_CipherUpdate(ctx, NULL, &len, aad, (int)aadlen) ||
	    (n && !EVP_CipherUpdate(ctx, out, &len, in, (int)n)))
		return enc ? -EIO : -EBADMSG;
	if (enc)
		return EVP_CipherFinal_ex(ctx, out + n, &len) &&
		       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag)
			       ? 0 : -EIO;
	if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) ||
	    EVP_CipherFinal_ex(ctx, out + n, &len) <= 0)
		return -EBADMSG;
	return 0;
}

int codec_seal(struct codec *c, enum obj_type type, const struct oid *id,
	       const void *p, size_t n, struct buf *out)
{
	if (n > UINT32_MAX - BOX_OVERHEAD)
		return -EFBIG;
	size_t clen = compress(c, p, n);
	const uint8_t *payload = clen ? c->scratch.data : p;
	size_t plen = clen ? clen : n;
	int r = buf_grow(out, BOX_OVERHEAD + plen);
	if (r < 0)
		return r;

	uint8_t *hdr = out->data + out->len;
	hdr[0] = BOX_VERSION;
	hdr[1] = (uint8_t)type;
	hdr[2] = clen ? (uint8_t)c->comp : COMP_NONE;
	hdr[3] = c->keys.encrypted ? CRYPTO_AES256GCM : CRYPTO_NONE;
	put_u32le(hdr + 4, (uint32_t)n);
	put_u32le(hdr + 8, (uint32_t)plen);
	if (c->keys.encrypted) {
		if ((r = crypto_random(hdr + 12, NONCE_LEN)) < 0)
			return r;
	} else {
		memset(hdr + 12, 0, NONCE_LEN);
	}

	uint8_t aad[BOX_HEADER_LEN + OID_LEN];
	size_t aadlen;
	make_aad(aad, hdr, id, &aadlen);
	uint8_t *body = hdr + BOX_HEADER_LEN;
	uint8_t *tag = body + plen;
	if (c->keys.encrypted) {
		r = gcm(c->enc, 1, hdr + 12, aad, aadlen, payload, plen, body, tag);
		if (r < 0)
			return r;
	} else {
		memcpy(body, payload, plen);
		plain_tag(c, aad, aadlen, body, plen, tag);
	}
	out->len += BOX_OVERHEAD + plen;
	return 0;
}

static int decompress(struct codec *c, int comp, const uint8_t *in, size_t n,
		      uint8_t *out, size_t plain_len)
{
	if (comp == COMP_ZSTD) {
		size_t got = ZSTD_decompressDCtx(c->zd, out, plain_len, in, n);
		return !ZSTD_isError(got) && got == plain_len ? 0 : -EBADMSG;
	}
	int got = LZ4_decompress_safe((const char *)in, (char *)out, (int)n, (int)plain_len);
	return got >= 0 && (size_t)got == plain_len ? 0 : -EBADMSG;
}

int codec_open(struct codec *c, enum obj_type type, const struct oid *id,
	       const void *box, size_t n, size_t max_plain, struct buf *out)
{
	struct box_header h;
	int r = box_parse_header(box, n, max_plain, &h);
	if (r < 0)
		return r;
	if (h.type != type ||
	    h.crypto != (c->keys.encrypted ? CRYPTO_AES256GCM : CRYPTO_NONE))
		return -EBADMSG;

	const uint8_t *hdr = box;
	const uint8_t *body = hdr + BOX_HEADER_LEN;
	const uint8_t *tag = body + h.payload_len;
	uint8_t aad[BOX_HEADER_LEN + OID_LEN];
	size_t aadlen;
	make_aad(aad, hdr, id, &aadlen);

	/* Decrypt straight into out when there is nothing to decompress. */
	struct buf *dst = h.compression == COMP_NONE ? out : &c->scratch;
	buf_reset(dst);
	if ((r = buf_grow(dst, h.payload_len)) < 0)
		return r;
	if (c->keys.encrypted) {
		r = gcm(c->dec, 0, h.nonce, aad, aadlen, body, h.payload_len,
			dst->data, (uint8_t *)tag);
	} else {
		uint8_t want[TAG_LEN];
		plain_tag(c, aad, aadlen, body, h.payload_len, want);
		r = memcmp(want, tag, TAG_LEN) ? -EBADMSG : 0;
		if (!r && h.payload_len)
			memcpy(dst->data, body, h.payload_len);
	}
	if (r < 0)
		return r;
	dst->len = h.payload_len;
	if (h.compression == COMP_NONE)
		return 0;

	buf_reset(out);
	if ((r = buf_grow(out, h.plain_len)) < 0)
		return r;
	r = decompress(c, h.compression, c->scratch.data, h.payload_len, out->data,
		       h.plain_len);
	if (r < 0)
		return r;
	out->len = h.plain_len;
	return 0;
}
