/* libFuzzer target: snapshot JSON (store/snapshot.c, docs/FORMAT.md §6).
 *
 * snapshot_from_json on the raw bytes.  A snapshot that parses must write
 * out with snapshot_to_json and parse again, to the same snapshot, and
 * writing that out again must give the same JSON; snapshot_copy must agree.
 */
#define FUZZ_TARGET
#include "common.h"

#include "store/snapshot.h"

static int str_eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static void check_same(const struct snapshot *a, const struct snapshot *b)
{
	FUZZ_ASSERT(a->time_ns == b->time_ns);
	FUZZ_ASSERT(str_eq(a->host, b->host) && str_eq(a->user, b->user) &&
		    str_eq(a->program, b->program));
	FUZZ_ASSERT(oid_eq(&a->tree, &b->tree));
	FUZZ_ASSERT(a->has_parent == b->has_parent);
	FUZZ_ASSERT(!a->has_parent || oid_eq(&a->parent, &b->parent));
	FUZZ_ASSERT(a->ntags == b->ntags);
	for (size_t i = 0; i < a->ntags; i++)
		FUZZ_ASSERT(str_eq(a->tags[i], b->tags[i]));
	FUZZ_ASSERT(a->nsources == b->nsources);
	for (size_t i = 0; i < a->nsources; i++) {
		const struct snapshot_source *x = &a->sources[i], *y = &b->sources[i];
		FUZZ_ASSERT(str_eq(x->name, y->name) && str_eq(x->path, y->path) &&
			    str_eq(x->host, y->host) && x->time_ns == y->time_ns);
	}
	FUZZ_ASSERT(!memcmp(&a->stats, &b->stats, sizeof(a->stats)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapshot s, again, copy;
	int r = snapshot_from_json(data, size, &s);
	if (r < 0) {
		FUZZ_ASSERT(r == -EBADMSG || r == -ENOMEM);
		return 0;
	}
	FUZZ_ASSERT(s.host && s.user && s.program);
	FUZZ_ASSERT(!s.ntags || s.tags);
	FUZZ_ASSERT(!s.nsources || s.sources);

	struct buf j1 = BUF_INIT, j2 = BUF_INIT;
	FUZZ_ASSERT(snapshot_to_json(&s, &j1) == 0);
	r = snapshot_from_json(j1.data, j1.len, &again);
	if (r < 0) {
		fprintf(stderr, "snapshot_from_json refuses what snapshot_to_json "
			"wrote (%d): %.*s\n", r, (int)j1.len, (const char *)j1.data);
		abort();
	}
	check_same(&s, &again);
	FUZZ_ASSERT(snapshot_to_json(&again, &j2) == 0);
	FUZZ_ASSERT(j1.len == j2.len && !memcmp(j1.data, j2.data, j1.len));

	FUZZ_ASSERT(snapshot_copy(&copy, &s) == 0);
	check_same(&s, &copy);

	snapshot_release(&copy);
	snapshot_release(&again);
	snapshot_release(&s);
	buf_release(&j1);
	buf_release(&j2);
	return 0;
}
