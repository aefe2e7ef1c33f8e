/* libFuzzer target: tree plaintext (store/tree.c, docs/FORMAT.md §5).
 *
 * tree_decode on the raw bytes.  A tree that decodes must
 *  - re-encode with tree_encode to exactly the input bytes (the format says
 *    the encoding is canonical: a decoded tree encodes to the same bytes, so
 *    an unchanged directory keeps its tree id);
 *  - hold only entries the format allows (checked here independently);
 *  - find every entry by name with tree_lookup;
 *  - give, for each entry alone, a one-entry tree that tree_encode writes
 *    and tree_decode reads back;
 *  - survive tree_entry_copy.
 */
#define FUZZ_TARGET
#include "common.h"

#include "store/chunker.h"
#include "store/tree.h"

static void check_entry(const struct tree_entry *e)
{
	FUZZ_ASSERT(tree_name_check(e->name, e->name_len) == 0);
	FUZZ_ASSERT(e->name[e->name_len] == 0);
	FUZZ_ASSERT(e->kind >= 1 && e->kind <= NODE_KIND_MAX);
	FUZZ_ASSERT(e->mode <= 07777);
	FUZZ_ASSERT(e->mtime_nsec < 1000000000u && e->ctime_nsec < 1000000000u);
	FUZZ_ASSERT(e->ext_len <= TREE_EXT_MAX && (!e->ext_len || e->ext));
	if (e->kind == NODE_SYMLINK) {
		FUZZ_ASSERT(e->target_len >= 1 && e->target_len <= TREE_TARGET_MAX);
		FUZZ_ASSERT(!memchr(e->target, 0, e->target_len));
		FUZZ_ASSERT(e->target[e->target_len] == 0);
	}
	if (e->kind == NODE_FILE) {
		uint64_t sum = 0;
		for (uint32_t i = 0; i < e->nchunks; i++) {
			FUZZ_ASSERT(e->chunks[i].len >= 1 &&
				    e->chunks[i].len <= CHUNKER_MAX_LIMIT);
			sum += e->chunks[i].len;
		}
		FUZZ_ASSERT(sum == e->size);
	} else {
		FUZZ_ASSERT(e->nchunks == 0 && e->size == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tree *t = NULL;
	int r = tree_decode(data, size, &t);
	if (r < 0) {
		FUZZ_ASSERT(r == -EBADMSG || r == -ENOMEM);
		return 0;
	}
	FUZZ_ASSERT(t);

	struct buf enc = BUF_INIT;
	r = tree_encode(t->entries, t->count, &enc);
	if (r < 0) {
		fprintf(stderr, "tree_encode refuses a decoded tree: %d\n", r);
		abort();
	}
	if (enc.len != size || memcmp(enc.data, data, size)) {
		fprintf(stderr, "tree is not canonical: %zu bytes decode, "
			"re-encode to %zu different bytes\n", size, enc.len);
		abort();
	}
	buf_release(&enc);

	for (size_t i = 0; i < t->count; i++) {
		const struct tree_entry *e = &t->entries[i];
		check_entry(e);
		if (i)
			FUZZ_ASSERT(tree_name_cmp(t->entries[i - 1].name,
						  t->entries[i - 1].name_len, e->name,
						  e->name_len) < 0);
		FUZZ_ASSERT(tree_lookup(t, e->name, e->name_len) == e);
		/* the name one byte shorter is another entry or none */
		const struct tree_entry *o = tree_lookup(t, e->name, e->name_len - 1);
		FUZZ_ASSERT(!o || (o != e && o->name_len == e->name_len - 1));
		/* each entry alone is a tree too, which must decode back */
		struct buf one = BUF_INIT;
		struct tree *t1 = NULL;
		FUZZ_ASSERT(tree_encode(e, 1, &one) == 0);
		r = tree_decode(one.data, one.len, &t1);
		if (r < 0) {
			fprintf(stderr, "tree_decode refuses what tree_encode wrote "
				"for entry %zu alone (%zu bytes): %d\n", i, one.len, r);
			abort();
		}
		FUZZ_ASSERT(t1->count == 1 && t1->entries[0].name_len == e->name_len);
		tree_free(t1);
		buf_release(&one);

		struct tree_entry copy;
		FUZZ_ASSERT(tree_entry_copy(&copy, e) == 0);
		FUZZ_ASSERT(copy.name_len == e->name_len &&
			    !memcmp(copy.name, e->name, e->name_len + 1));
		tree_entry_release(&copy);
	}
	FUZZ_ASSERT(!tree_lookup(t, "/", 1));
	tree_free(t);
	return 0;
}
