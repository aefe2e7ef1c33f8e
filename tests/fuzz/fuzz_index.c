/* libFuzzer target: index objects (store/index.c, docs/FORMAT.md §4).
 *
 * Each input goes through
 *  1. index_decode_plain on the raw bytes; what decodes must satisfy the
 *     format (blob types, boxes inside their pack) and survive
 *     index_encode_plain and a second decode unchanged;
 *  2. index_decode of the raw bytes sealed in an unencrypted box, which must
 *     agree with 1;
 *  3. index_decode of the input taken as a box, as it is and with its
 *     SHA-256 tag recomputed so that mutations of a (possibly compressed)
 *     payload are parsed; what opens must agree with codec_open followed
 *     by index_decode_plain.
 */
#define FUZZ_TARGET
#include "common.h"

#include "store/index.h"
#include "store/repo.h"

static void check_valid(const struct index_data *idx)
{
	for (size_t i = 0; i < idx->npacks; i++) {
		const struct index_pack *p = &idx->packs[i];
		for (size_t k = 0; k < p->nblobs; k++) {
			const struct pack_entry *e = &p->blobs[k];
			FUZZ_ASSERT(e->type == OBJ_DATA || e->type == OBJ_TREE);
			FUZZ_ASSERT(e->length >= BOX_OVERHEAD);
			FUZZ_ASSERT((uint64_t)e->offset + e->length <= p->size);
		}
	}
}

static void check_same(const struct index_data *a, const struct index_data *b)
{
	FUZZ_ASSERT(a->npacks == b->npacks);
	for (size_t i = 0; i < a->npacks; i++) {
		const struct index_pack *p = &a->packs[i], *q = &b->packs[i];
		FUZZ_ASSERT(oid_eq(&p->id, &q->id) && p->size == q->size &&
			    p->nblobs == q->nblobs);
		for (size_t k = 0; k < p->nblobs; k++) {
			const struct pack_entry *x = &p->blobs[k], *y = &q->blobs[k];
			FUZZ_ASSERT(x->type == y->type && oid_eq(&x->id, &y->id) &&
				    x->offset == y->offset && x->length == y->length &&
				    x->plain_len == y->plain_len);
		}
	}
}

/* Decodes p as plaintext; 1 and *out filled if it decodes. */
static int decode_plain(const uint8_t *p, size_t n, struct index_data *out)
{
	int r = index_decode_plain(p, n, out);
	if (r < 0) {
		FUZZ_ASSERT(r == -EBADMSG || r == -ENOMEM);
		FUZZ_ASSERT(out->npacks == 0 && out->packs == NULL);
		return 0;
	}
	check_valid(out);
	return 1;
}

/* Opens box with c and checks index_decode against codec_open and
 * index_decode_plain. */
static void decode_box(struct codec *c, const uint8_t *box, size_t n)
{
	struct index_data idx, ref;
	struct buf plain = BUF_INIT;
	memset(&idx, 0, sizeof(idx));
	int r = index_decode(c, box, n, &idx);
	int opened = codec_open(c, OBJ_INDEX, NULL, box, n, OBJECT_MAX, &plain) == 0;
	int ok = opened && decode_plain(plain.data, plain.len, &ref);
	FUZZ_ASSERT(ok == (r == 0));
	if (ok) {
		check_same(&idx, &ref);
		index_data_release(&idx);
		index_data_release(&ref);
	}
	buf_release(&plain);
}

static struct codec *codec; /* unencrypted */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	codec = fuzz_codec(0, COMP_NONE, 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct index_data idx;

	/* 1. plaintext */
	int ok = decode_plain(data, size, &idx);
	if (ok) {
		struct buf enc = BUF_INIT;
		struct index_data again;
		FUZZ_ASSERT(index_encode_plain(&idx, &enc) == 0);
		/* minimal varints are never longer than what was read */
		FUZZ_ASSERT(enc.len <= size);
		FUZZ_ASSERT(decode_plain(enc.data, enc.len, &again));
		check_same(&idx, &again);
		index_data_release(&again);
		buf_release(&enc);
	}

	/* 2. the same plaintext in a box */
	struct buf box = BUF_INIT;
	FUZZ_ASSERT(codec_seal(codec, OBJ_INDEX, NULL, data, size, &box) == 0);
	struct index_data boxed;
	int r = index_decode(codec, box.data, box.len, &boxed);
	FUZZ_ASSERT(ok == (r == 0));
	if (ok) {
		check_same(&idx, &boxed);
		index_data_release(&boxed);
		index_data_release(&idx);
	}
	buf_release(&box);

	/* 3. the input as a box */
	if (size >= BOX_OVERHEAD) {
		decode_box(codec, data, size);
		uint8_t *copy = malloc(size);
		FUZZ_ASSERT(copy);
		memcpy(copy, data, size);
		fuzz_patch_tag(copy, size, NULL);
		decode_box(codec, copy, size);
		free(copy);
	}
	return 0;
}
