/* libFuzzer target: the sealed box (store/codec.c, docs/FORMAT.md §2).
 *
 * Each input is taken as a box and goes through
 *  1. box_parse_header with several plaintext limits;
 *  2. codec_open, as it is, with an unencrypted and an AES-256-GCM codec
 *     (fixed keys, see common.h) for every object type: the seeds are real
 *     boxes sealed with those keys, so both open; whatever opens must seal
 *     and open again to the same plaintext;
 *  3. codec_open with the unencrypted codec after its SHA-256 tag has been
 *     recomputed over the (mutated) header and payload, so that mutations
 *     reach the decompressors.  The result is checked against what the
 *     header and LZ4/zstd say directly: a valid box must open, to exactly
 *     the plaintext, and nothing else may.
 */
#define FUZZ_TARGET
#include "common.h"

#include <lz4.h>
#include <zstd.h>

#include "store/repo.h"

/* Seals p with c, opens it again and checks the plaintext survives. */
static void check_reseal(struct codec *c, int type, const struct oid *id,
			 const uint8_t *p, size_t n)
{
	struct buf box = BUF_INIT, back = BUF_INIT;
	FUZZ_ASSERT(codec_seal(c, type, id, p, n, &box) == 0);
	struct box_header h;
	FUZZ_ASSERT(box_parse_header(box.data, box.len, n, &h) == 0);
	FUZZ_ASSERT(h.type == type && h.plain_len == n);
	FUZZ_ASSERT(codec_open(c, type, id, box.data, box.len, n, &back) == 0);
	FUZZ_ASSERT(back.len == n && (n == 0 || !memcmp(back.data, p, n)));
	buf_release(&box);
	buf_release(&back);
}

/* What opening the (tag-patched) box must give, computed without the codec:
 * 1 and the plaintext in *plain if the box is valid, else 0. */
static int expect_open(const uint8_t *box, size_t n, const struct box_header *h,
		       uint8_t **plain)
{
	const uint8_t *payload = box + BOX_HEADER_LEN;
	*plain = NULL;
	if (h->crypto != CRYPTO_NONE)
		return 0;
	uint8_t *out = malloc(h->plain_len ? h->plain_len : 1);
	FUZZ_ASSERT(out);
	int ok;
	switch (h->compression) {
	case COMP_NONE:
		if (h->plain_len)
			memcpy(out, payload, h->plain_len);
		ok = 1;
		break;
	case COMP_LZ4:
		ok = LZ4_decompress_safe((const char *)payload, (char *)out,
					 (int)h->payload_len, (int)h->plain_len) ==
		     (int)h->plain_len;
		break;
	default: {
		size_t got = ZSTD_decompress(out, h->plain_len, payload, h->payload_len);
		ok = !ZSTD_isError(got) && got == h->plain_len;
		break;
	}
	}
	if (!ok) {
		free(out);
		return 0;
	}
	(void)n;
	*plain = out;
	return 1;
}

static struct codec *plain, *enc;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	plain = fuzz_codec(0, COMP_ZSTD, 3);
	enc = fuzz_codec(1, COMP_LZ4, 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct box_header h;
	memset(&h, 0, sizeof(h));
	struct oid blob_id = fuzz_blob_id();
	struct codec *codecs[2] = { plain, enc };
	struct buf out = BUF_INIT;

	/* 1. the header alone */
	int hdr_ok = box_parse_header(data, size, FUZZ_MAX_PLAIN, &h) == 0;
	if (box_parse_header(data, size, OBJECT_MAX, &h) == 0) {
		FUZZ_ASSERT(h.version == BOX_VERSION && h.payload_len == size - BOX_OVERHEAD);
		FUZZ_ASSERT(h.type >= 1 && h.type <= OBJ_TYPE_MAX);
		FUZZ_ASSERT(h.compression <= COMP_MAX && h.crypto <= CRYPTO_AES256GCM);
	}
	(void)box_parse_header(data, size, 0, &h);
	if (hdr_ok)
		FUZZ_ASSERT(box_parse_header(data, size, FUZZ_MAX_PLAIN, &h) == 0);

	/* 2. the bytes as they are, every codec and type */
	for (int k = 0; k < 2; k++) {
		for (int type = 0; type <= OBJ_TYPE_MAX + 1; type++) {
			const struct oid *id = fuzz_id_for(type, &blob_id);
			int r = codec_open(codecs[k], type, id, data, size,
					   FUZZ_MAX_PLAIN, &out);
			if (r < 0)
				continue;
			/* only a well-formed box of that type and crypto opens */
			FUZZ_ASSERT(hdr_ok && h.type == type);
			FUZZ_ASSERT(h.crypto == (k ? CRYPTO_AES256GCM : CRYPTO_NONE));
			FUZZ_ASSERT(out.len == h.plain_len);
			check_reseal(plain, type, id, out.data, out.len);
			check_reseal(enc, type, id, out.data, out.len);
		}
	}

	/* 3. with the unencrypted tag recomputed */
	if (size >= BOX_OVERHEAD) {
		uint8_t *box = malloc(size);
		FUZZ_ASSERT(box);
		memcpy(box, data, size);
		int type = box[1];
		const struct oid *id = fuzz_id_for(type, &blob_id);
		fuzz_patch_tag(box, size, id);
		int r = codec_open(plain, type, id, box, size, FUZZ_MAX_PLAIN, &out);
		uint8_t *want = NULL;
		int valid = hdr_ok && expect_open(box, size, &h, &want);
		if (valid != (r == 0)) {
			fprintf(stderr, "codec_open = %d, but the box is %svalid\n", r,
				valid ? "" : "in");
			abort();
		}
		if (valid) {
			FUZZ_ASSERT(out.len == h.plain_len);
			FUZZ_ASSERT(!out.len || !memcmp(out.data, want, out.len));
			/* the encrypted codec must refuse an unencrypted box */
			FUZZ_ASSERT(codec_open(enc, type, id, box, size, FUZZ_MAX_PLAIN,
					       &out) < 0);
		}
		free(want);
		free(box);
	}

	buf_release(&out);
	return 0;
}
