/* Shared by the libFuzzer targets (tests/fuzz/fuzz_*.c) and the seed
 * generator (tests/fuzz/gen_corpus.c): fixed keys, the fixed blob id and the
 * tag-patching trick that lets the fuzzer reach the decoders behind the
 * unencrypted box's SHA-256 tag.
 *
 * The keys are constants so that the seeds gen_corpus writes open in the
 * targets, including the AES-256-GCM ones.
 *
 * Targets make their codecs once, in LLVMFuzzerInitialize: codec_new costs
 * far more than opening a small box, and cairn itself keeps one codec per
 * thread for any number of boxes.  A codec's only state between calls is
 * reused scratch space and contexts that every call resets, so a run does
 * not depend on the runs before it.
 */
#ifndef CAIRN_FUZZ_COMMON_H
#define CAIRN_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/codec.h"
#include "store/crypto.h"

/* Largest plaintext the targets let codec_open allocate: big enough for any
 * table, index or tree the fuzzer can build, small enough to stay fast. */
#define FUZZ_MAX_PLAIN ((size_t)1 << 20)

/* The fixed password of the key files in the config corpus. */
#define FUZZ_PASSWORD "cairn fuzz password"

static inline struct repo_keys fuzz_keys(int encrypted)
{
	struct repo_keys k;
	memset(&k, 0, sizeof(k));
	k.encrypted = encrypted;
	for (int i = 0; i < KEY_LEN; i++) {
		k.data_key[i] = (uint8_t)(0xd0 + i);
		k.id_key[i] = (uint8_t)(0x1d + 3 * i);
	}
	return k;
}

/* The blob id bound into the AAD of every OBJ_DATA/OBJ_TREE box the
 * generator seals and the targets open. */
static inline struct oid fuzz_blob_id(void)
{
	struct oid id;
	for (int i = 0; i < OID_LEN; i++)
		id.b[i] = (uint8_t)(0xb0 ^ i);
	return id;
}

/* The AAD id for a box of this type (NULL for non-blob types). */
static inline const struct oid *fuzz_id_for(int type, const struct oid *blob_id)
{
	return type == OBJ_DATA || type == OBJ_TREE ? blob_id : NULL;
}

static inline struct codec *fuzz_codec(int encrypted, int comp, int level)
{
	struct repo_keys k = fuzz_keys(encrypted);
	struct codec *c = codec_new(&k, comp, level);
	if (!c) {
		fprintf(stderr, "codec_new failed\n");
		abort();
	}
	return c;
}

/* Recomputes the unencrypted box tag over box[0..n): the first TAG_LEN bytes
 * of SHA-256(header | id | payload), written over the last TAG_LEN bytes.
 * Header and payload are whatever the bytes say, valid or not. */
static inline void fuzz_patch_tag(uint8_t *box, size_t n, const struct oid *id)
{
	if (n < BOX_OVERHEAD)
		return;
	struct oid md;
	if (!id) {
		crypto_sha256(&md, box, n - TAG_LEN);
	} else {
		struct sha256 *h = sha256_new();
		if (!h)
			abort();
		sha256_update(h, box, BOX_HEADER_LEN);
		sha256_update(h, id->b, OID_LEN);
		sha256_update(h, box + BOX_HEADER_LEN, n - BOX_OVERHEAD);
		sha256_final(h, &md);
		sha256_free(h);
	}
	memcpy(box + n - TAG_LEN, md.b, TAG_LEN);
}

/* A property the target checks failed: say which and crash. */
#define FUZZ_ASSERT(cond)                                                    \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: fuzz check failed: %s\n",    \
				__FILE__, __LINE__, #cond);                  \
			abort();                                             \
		}                                                            \
	} while (0)

/* The Makefile builds with -fsanitize=undefined but lets UBSan recover;
 * make every undefined-behaviour report fatal so the fuzzer keeps it. */
#ifdef FUZZ_TARGET
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#endif

#endif
