/* libFuzzer target: the pack trailer and table (store/pack.c,
 * docs/FORMAT.md §3).
 *
 * The input is a whole pack.  pack_parse_trailer reads its last 12 bytes;
 * when they name a table box, pack_decode_table opens it with an
 * unencrypted codec twice: as it is, and with its SHA-256 tag recomputed
 * over the (mutated) header and payload so that the fuzzer's changes to
 * the table itself are parsed.  A decoded table is checked against the
 * format: every entry a data or tree box of at least BOX_OVERHEAD bytes
 * inside [0, table offset), none overlapping, and re-encoding the entries
 * gives back the table plaintext.
 */
#define FUZZ_TARGET
#include "common.h"

#include "store/pack.h"

static int cmp_off(const void *a, const void *b)
{
	const struct pack_entry *x = a, *y = b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void check_table(struct codec *c, const uint8_t *box, size_t n,
			uint64_t table_offset, const struct pack_entry *e, size_t count)
{
	FUZZ_ASSERT(count <= PACK_MAX_BLOBS);
	struct pack_entry *s = malloc(count ? count * sizeof(*s) : 1);
	FUZZ_ASSERT(s);
	if (count)
		memcpy(s, e, count * sizeof(*s));
	qsort(s, count, sizeof(*s), cmp_off);
	uint64_t end = 0;
	for (size_t i = 0; i < count; i++) {
		FUZZ_ASSERT(s[i].type == OBJ_DATA || s[i].type == OBJ_TREE);
		FUZZ_ASSERT(s[i].length >= BOX_OVERHEAD);
		FUZZ_ASSERT(s[i].offset >= end);
		end = (uint64_t)s[i].offset + s[i].length;
		FUZZ_ASSERT(end <= table_offset);
	}
	free(s);

	/* the table format is fixed-width: the entries re-encode exactly */
	struct buf plain = BUF_INIT, again = BUF_INIT;
	FUZZ_ASSERT(codec_open(c, OBJ_PACK_TABLE, NULL, box, n, FUZZ_MAX_PLAIN * 4,
			       &plain) == 0);
	FUZZ_ASSERT(buf_put_u8(&again, 1) == 0);
	FUZZ_ASSERT(buf_put_u32le(&again, (uint32_t)count) == 0);
	for (size_t i = 0; i < count; i++) {
		FUZZ_ASSERT(buf_put_u8(&again, e[i].type) == 0);
		FUZZ_ASSERT(buf_append(&again, e[i].id.b, OID_LEN) == 0);
		FUZZ_ASSERT(buf_put_u32le(&again, e[i].offset) == 0);
		FUZZ_ASSERT(buf_put_u32le(&again, e[i].length) == 0);
		FUZZ_ASSERT(buf_put_u32le(&again, e[i].plain_len) == 0);
	}
	FUZZ_ASSERT(again.len == plain.len && !memcmp(again.data, plain.data, plain.len));
	buf_release(&plain);
	buf_release(&again);
}

static void decode(struct codec *c, const uint8_t *box, size_t n, uint64_t table_offset)
{
	struct pack_entry *e = NULL;
	size_t count = 0;
	int r = pack_decode_table(c, box, n, table_offset, &e, &count);
	if (r == 0) {
		check_table(c, box, n, table_offset, e, count);
		free(e);
	} else {
		FUZZ_ASSERT(r == -EBADMSG || r == -ENOMEM);
	}
}

static struct codec *codec; /* unencrypted */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	codec = fuzz_codec(0, COMP_ZSTD, 3);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < PACK_TRAILER_LEN)
		return 0;
	const uint8_t *tail = data + size - PACK_TRAILER_LEN;
	uint32_t tlen = 0;
	int r = pack_parse_trailer(tail, size, &tlen);
	/* the same trailer against a few other claimed pack sizes */
	uint32_t other;
	(void)pack_parse_trailer(tail, 0, &other);
	(void)pack_parse_trailer(tail, UINT64_MAX, &other);
	(void)pack_parse_trailer(tail, size - PACK_TRAILER_LEN, &other);
	if (r < 0) {
		FUZZ_ASSERT(r == -EBADMSG);
		return 0;
	}
	FUZZ_ASSERT(tlen >= BOX_OVERHEAD && tlen <= size - PACK_TRAILER_LEN);
	FUZZ_ASSERT(!memcmp(tail + 4, PACK_MAGIC, 8));

	uint64_t table_offset = size - PACK_TRAILER_LEN - tlen;
	decode(codec, data + table_offset, tlen, table_offset);

	uint8_t *box = malloc(tlen);
	FUZZ_ASSERT(box);
	memcpy(box, data + table_offset, tlen);
	fuzz_patch_tag(box, tlen, NULL);
	decode(codec, box, tlen, table_offset);
	free(box);
	return 0;
}
