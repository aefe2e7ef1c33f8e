/* Unit tests for store/index and store/tree: round trips, and decoders
 * that refuse malformed input. */
#include <errno.h>
#include <stdint.h>

#include "harness.h"
#include "store/chunker.h"
#include "store/codec.h"
#include "store/index.h"
#include "store/tree.h"

static struct repo_keys keys;

/* ================= index ================= */

static void make_index(struct index_data *idx)
{
	static const size_t counts[3] = { 1, 7, 300 };
	idx->npacks = 3;
	idx->packs = calloc(3, sizeof(*idx->packs));
	for (size_t i = 0; i < 3; i++) {
		struct index_pack *p = &idx->packs[i];
		rnd_fill(p->id.b, OID_LEN);
		p->nblobs = counts[i];
		p->blobs = calloc(counts[i], sizeof(*p->blobs));
		uint64_t off = 0;
		for (size_t k = 0; k < counts[i]; k++) {
			struct pack_entry *e = &p->blobs[k];
			rnd_fill(e->id.b, OID_LEN);
			e->type = (k % 3) ? OBJ_DATA : OBJ_TREE;
			e->offset = (uint32_t)off;
			e->length = BOX_OVERHEAD + (uint32_t)(rnd() % 5000000);
			e->plain_len = (uint32_t)rnd();
			off += e->length;
		}
		p->size = off + 100;
	}
	/* a blob near the top of the 32-bit range, in a pack > 4 GiB */
	struct pack_entry *e = &idx->packs[0].blobs[0];
	e->offset = UINT32_MAX - 1000;
	e->length = 1000;
	e->plain_len = UINT32_MAX;
	idx->packs[0].size = (uint64_t)UINT32_MAX + 12345;
}

static int index_equal(const struct index_data *a, const struct index_data *b)
{
	if (a->npacks != b->npacks)
		return 0;
	for (size_t i = 0; i < a->npacks; i++) {
		const struct index_pack *x = &a->packs[i], *y = &b->packs[i];
		if (!oid_eq(&x->id, &y->id) || x->size != y->size || x->nblobs != y->nblobs)
			return 0;
		for (size_t k = 0; k < x->nblobs; k++) {
			const struct pack_entry *e = &x->blobs[k], *f = &y->blobs[k];
			if (!oid_eq(&e->id, &f->id) || e->type != f->type ||
			    e->offset != f->offset || e->length != f->length ||
			    e->plain_len != f->plain_len)
				return 0;
		}
	}
	return 1;
}

TEST(index_round_trip)
{
	struct index_data idx, back;
	make_index(&idx);
	struct buf plain = BUF_INIT, box = BUF_INIT;
	CHECK_EQ(index_encode_plain(&idx, &plain), 0);
	CHECK_EQ(plain.data[0], 1); /* version */
	CHECK_EQ(index_decode_plain(plain.data, plain.len, &back), 0);
	CHECK(index_equal(&idx, &back));
	index_data_release(&back);
	CHECK(back.packs == NULL && back.npacks == 0);

	struct codec *c = codec_new(&keys, COMP_ZSTD, 3);
	CHECK_EQ(index_encode(c, &idx, &box), 0);
	CHECK_EQ(box.data[1], OBJ_INDEX);
	CHECK_EQ(index_decode(c, box.data, box.len, &back), 0);
	CHECK(index_equal(&idx, &back));
	index_data_release(&back);

	/* the box is authenticated and typed */
	box.data[box.len / 2] ^= 1;
	CHECK_EQ(index_decode(c, box.data, box.len, &back), -EBADMSG);
	buf_reset(&box);
	codec_seal(c, OBJ_SNAPSHOT, NULL, plain.data, plain.len, &box);
	CHECK_EQ(index_decode(c, box.data, box.len, &back), -EBADMSG);

	/* an empty index */
	struct index_data empty = { NULL, 0 };
	buf_reset(&plain);
	CHECK_EQ(index_encode_plain(&empty, &plain), 0);
	CHECK_EQ(plain.len, 2);
	CHECK_EQ(index_decode_plain(plain.data, plain.len, &back), 0);
	CHECK_EQ(back.npacks, 0);
	index_data_release(&back);

	codec_free(c);
	buf_release(&plain);
	buf_release(&box);
	index_data_release(&idx);
}

static int plain_fails(const struct buf *b)
{
	struct index_data out = { (void *)1, 99 };
	int r = index_decode_plain(b->data, b->len, &out);
	if (r == 0)
		index_data_release(&out);
	return r == -EBADMSG && out.packs == NULL && out.npacks == 0;
}

static int encoded_fails(const struct index_data *idx)
{
	struct buf b = BUF_INIT;
	index_encode_plain(idx, &b);
	int r = plain_fails(&b);
	buf_release(&b);
	return r;
}

TEST(index_rejects)
{
	struct index_data idx;
	make_index(&idx);
	struct buf b = BUF_INIT;

	/* trailing bytes */
	index_encode_plain(&idx, &b);
	buf_put_u8(&b, 0);
	CHECK(plain_fails(&b));
	/* every strict prefix */
	b.len--;
	int bad = 0;
	for (size_t n = 0; n < b.len; n += (n < 200 ? 1 : 97)) {
		struct buf p = { b.data, n, n };
		if (!plain_fails(&p))
			bad++;
	}
	CHECK_EQ(bad, 0);
	/* version */
	b.data[0] = 2;
	CHECK(plain_fails(&b));
	b.data[0] = 0;
	CHECK(plain_fails(&b));
	b.data[0] = 1;

	/* a blob reaching past its pack */
	struct pack_entry *e = &idx.packs[1].blobs[6];
	uint64_t size = idx.packs[1].size;
	idx.packs[1].size = (uint64_t)e->offset + e->length - 1;
	CHECK(encoded_fails(&idx));
	idx.packs[1].size = (uint64_t)e->offset + e->length; /* exactly fits */
	buf_reset(&b);
	index_encode_plain(&idx, &b);
	struct index_data back;
	CHECK_EQ(index_decode_plain(b.data, b.len, &back), 0);
	index_data_release(&back);
	idx.packs[1].size = size;

	/* unknown blob types */
	uint8_t types[] = { 0, 3, 4, 7, 255 };
	for (size_t i = 0; i < sizeof(types); i++) {
		idx.packs[2].blobs[100].type = types[i];
		CHECK(encoded_fails(&idx));
	}
	idx.packs[2].blobs[100].type = OBJ_DATA;
	/* a box shorter than its overhead */
	uint32_t len = idx.packs[2].blobs[5].length;
	idx.packs[2].blobs[5].length = BOX_OVERHEAD - 1;
	CHECK(encoded_fails(&idx));
	idx.packs[2].blobs[5].length = len;
	CHECK(!encoded_fails(&idx));

	/* counts larger than the data: many packs, few bytes */
	buf_reset(&b);
	buf_put_u8(&b, 1);
	buf_put_varint(&b, 1000);
	uint8_t zero[40] = { 0 };
	buf_append(&b, zero, sizeof(zero));
	CHECK(plain_fails(&b));
	buf_reset(&b);
	buf_put_u8(&b, 1);
	buf_put_varint(&b, UINT64_MAX);
	CHECK(plain_fails(&b));
	/* one pack claiming many blobs */
	buf_reset(&b);
	buf_put_u8(&b, 1);
	buf_put_varint(&b, 1);
	buf_append(&b, zero, OID_LEN);
	buf_put_varint(&b, 1 << 30);
	buf_put_varint(&b, 1 << 20);
	buf_append(&b, zero, sizeof(zero));
	CHECK(plain_fails(&b));
	/* a blob offset beyond 32 bits */
	buf_reset(&b);
	buf_put_u8(&b, 1);
	buf_put_varint(&b, 1);
	buf_append(&b, zero, OID_LEN);
	buf_put_varint(&b, (uint64_t)1 << 40); /* size */
	buf_put_varint(&b, 1);
	buf_put_u8(&b, OBJ_DATA);
	buf_append(&b, zero, OID_LEN);
	size_t mark = b.len;
	buf_put_varint(&b, (uint64_t)1 << 32); /* offset */
	buf_put_varint(&b, 100);
	buf_put_varint(&b, 100);
	CHECK(plain_fails(&b));
	/* the same with a 32-bit offset is fine (checks the crafting) */
	b.len = mark;
	buf_put_varint(&b, 4096);
	buf_put_varint(&b, 100);
	buf_put_varint(&b, 100);
	CHECK_EQ(index_decode_plain(b.data, b.len, &back), 0);
	CHECK_EQ(back.npacks, 1);
	if (back.npacks == 1 && back.packs[0].nblobs == 1)
		CHECK_EQ(back.packs[0].blobs[0].offset, 4096);
	index_data_release(&back);
	/* a varint that does not terminate */
	b.len = mark;
	uint8_t ff[11];
	memset(ff, 0xff, sizeof(ff));
	buf_append(&b, ff, sizeof(ff));
	CHECK(plain_fails(&b));

	buf_release(&b);
	index_data_release(&idx);
}

/* ================= tree ================= */

static char long_bytes[256]; /* 0x01..0xff except '/', NUL-terminated */
static size_t long_bytes_len;
static char name255[256];
static char target4095[4096];
static struct chunk_ref chunks3[3];
static uint8_t ext_bytes[] = { 0x00, 0x01, 'e', 'x', 't', 0xff, 0x00 };

static void tree_fixtures(void)
{
	size_t n = 0;
	for (int c = 1; c <= 255; c++)
		if (c != '/')
			long_bytes[n++] = (char)c;
	long_bytes[n] = 0;
	long_bytes_len = n;
	memset(name255, 'z', 255);
	name255[255] = 0;
	memset(target4095, 't', 4095);
	target4095[4095] = 0;
	for (int i = 0; i < 3; i++)
		rnd_fill(chunks3[i].id.b, OID_LEN);
	chunks3[0].len = 1;
	chunks3[1].len = CHUNKER_MAX_LIMIT;
	chunks3[2].len = 12345;
}

static struct tree_entry ent(const char *name, size_t len, uint8_t kind)
{
	struct tree_entry e;
	memset(&e, 0, sizeof(e));
	e.name = (char *)name;
	e.name_len = (uint32_t)len;
	e.kind = kind;
	e.mode = 0644;
	e.uid = 1000;
	e.gid = 100;
	e.mtime_sec = 1718712000;
	e.mtime_nsec = 123456789;
	e.ctime_sec = 1718712001;
	e.ctime_nsec = 987654321;
	e.ino = 42;
	e.dev = 2049;
	e.nlink = 1;
	return e;
}

#define S(x) x, sizeof(x) - 1

/* Entries of every kind with every field used; sorted on return. */
static size_t full_entries(struct tree_entry *e)
{
	size_t n = 0;
	e[n] = ent(S("file"), NODE_FILE);
	e[n].mode = 04755;
	e[n].gid = UINT32_MAX;
	e[n].uid = UINT32_MAX - 1;
	e[n].mtime_sec = -1234567890;
	e[n].mtime_nsec = 999999999;
	e[n].ctime_sec = INT64_MAX;
	e[n].ctime_nsec = 0;
	e[n].ino = UINT64_MAX;
	e[n].nlink = 3;
	e[n].nchunks = 3;
	e[n].chunks = chunks3;
	e[n].size = 1 + (uint64_t)CHUNKER_MAX_LIMIT + 12345;
	e[n].ext = ext_bytes;
	e[n].ext_len = sizeof(ext_bytes);
	n++;
	e[n] = ent(S("empty"), NODE_FILE);
	n++;
	e[n] = ent(S("dir"), NODE_DIR);
	e[n].mode = 01777;
	rnd_fill(e[n].subtree.b, OID_LEN);
	n++;
	e[n] = ent(S("link"), NODE_SYMLINK);
	e[n].mode = 0777;
	e[n].target = (char *)"../some/where";
	e[n].target_len = 13;
	n++;
	e[n] = ent(S("longlink"), NODE_SYMLINK);
	e[n].target = target4095;
	e[n].target_len = 4095;
	n++;
	e[n] = ent(S("fifo"), NODE_FIFO);
	e[n].mtime_sec = INT64_MIN;
	n++;
	e[n] = ent(S("tty"), NODE_CHR);
	e[n].rdev = 0x0501;
	n++;
	e[n] = ent(S("disk"), NODE_BLK);
	e[n].rdev = UINT64_MAX;
	e[n].ext = ext_bytes + 2;
	e[n].ext_len = 3;
	n++;
	e[n] = ent(S("sock"), NODE_SOCK);
	e[n].mode = 0;
	n++;
	e[n] = ent(long_bytes, long_bytes_len, NODE_FILE);
	n++;
	e[n] = ent(name255, 255, NODE_DIR);
	n++;
	e[n] = ent(S("..."), NODE_FIFO);
	n++;
	e[n] = ent(S(".hidden"), NODE_FIFO);
	n++;
	e[n] = ent(S("\xc3\xa9t\xc3\xa9"), NODE_FIFO); /* UTF-8 */
	n++;
	e[n] = ent(S("\xff\xfe"), NODE_FIFO); /* not UTF-8 */
	n++;
	tree_sort(e, n);
	return n;
}

static int entry_equal(const struct tree_entry *a, const struct tree_entry *b)
{
	if (a->name_len != b->name_len || memcmp(a->name, b->name, a->name_len) ||
	    b->name[b->name_len] != 0 || a->kind != b->kind || a->mode != b->mode ||
	    a->uid != b->uid || a->gid != b->gid || a->mtime_sec != b->mtime_sec ||
	    a->mtime_nsec != b->mtime_nsec || a->ctime_sec != b->ctime_sec ||
	    a->ctime_nsec != b->ctime_nsec || a->ino != b->ino || a->dev != b->dev ||
	    a->nlink != b->nlink || a->size != b->size || a->rdev != b->rdev ||
	    a->ext_len != b->ext_len || (a->ext_len && memcmp(a->ext, b->ext, a->ext_len)))
		return 0;
	if (a->kind == NODE_DIR && !oid_eq(&a->subtree, &b->subtree))
		return 0;
	if (a->kind == NODE_SYMLINK &&
	    (a->target_len != b->target_len || memcmp(a->target, b->target, a->target_len) ||
	     b->target[b->target_len] != 0))
		return 0;
	if (a->nchunks != b->nchunks)
		return 0;
	for (uint32_t i = 0; i < a->nchunks; i++)
		if (!oid_eq(&a->chunks[i].id, &b->chunks[i].id) || a->chunks[i].len != b->chunks[i].len)
			return 0;
	return 1;
}

TEST(tree_round_trip)
{
	struct tree_entry e[32];
	size_t n = full_entries(e);
	struct buf b = BUF_INIT, again = BUF_INIT;
	CHECK_EQ(tree_encode(e, n, &b), 0);
	CHECK_EQ(b.data[0], TREE_VERSION);
	struct tree *t = NULL;
	CHECK_EQ(tree_decode(b.data, b.len, &t), 0);
	if (!t)
		return;
	CHECK_EQ(t->count, n);
	int bad = 0;
	for (size_t i = 0; i < n && i < t->count; i++) {
		if (!entry_equal(&e[i], &t->entries[i])) {
			fprintf(stderr, "  entry %zu (%.20s) differs\n", i, e[i].name);
			bad++;
		}
	}
	CHECK_EQ(bad, 0);
	/* canonical: re-encoding the decoded tree gives the same bytes */
	CHECK_EQ(tree_encode(t->entries, t->count, &again), 0);
	CHECK_EQ(again.len, b.len);
	CHECK(again.len == b.len && !memcmp(again.data, b.data, b.len));
	tree_free(t);

	/* the empty tree */
	buf_reset(&b);
	CHECK_EQ(tree_encode(NULL, 0, &b), 0);
	CHECK_EQ(b.len, 2);
	CHECK_EQ(tree_decode(b.data, b.len, &t), 0);
	CHECK_EQ(t->count, 0);
	CHECK(tree_lookup(t, "a", 1) == NULL);
	tree_free(t);
	buf_release(&b);
	buf_release(&again);
}

TEST(tree_sort_order)
{
	CHECK(tree_name_cmp("a", 1, "ab", 2) < 0);
	CHECK(tree_name_cmp("ab", 2, "a", 1) > 0);
	CHECK(tree_name_cmp("ab", 2, "b", 1) < 0);
	CHECK(tree_name_cmp("a", 1, "a", 1) == 0);
	CHECK(tree_name_cmp("Z", 1, "a", 1) < 0);
	CHECK(tree_name_cmp("z", 1, "\x80", 1) < 0); /* bytes are unsigned */
	CHECK(tree_name_cmp("a\x01", 2, "a", 1) > 0);

	struct tree_entry e[5];
	const char *names[] = { "b", "\xe9", "ab", "a", "B" };
	for (int i = 0; i < 5; i++)
		e[i] = ent(names[i], strlen(names[i]), NODE_FIFO);
	tree_sort(e, 5);
	const char *want[] = { "B", "a", "ab", "b", "\xe9" };
	for (int i = 0; i < 5; i++)
		CHECK_STR(e[i].name, want[i]);
}

static int encode_fails(const struct tree_entry *e, size_t n)
{
	struct buf b = BUF_INIT;
	int r = tree_encode(e, n, &b);
	buf_release(&b);
	return r == -EINVAL;
}

TEST(tree_encode_refuses)
{
	struct tree_entry e[2];
	e[0] = ent(S("a"), NODE_FIFO);
	e[1] = ent(S("b"), NODE_FIFO);
	CHECK(!encode_fails(e, 2));
	/* unsorted, duplicate */
	e[0].name = (char *)"c";
	CHECK(encode_fails(e, 2));
	e[0].name = (char *)"b";
	CHECK(encode_fails(e, 2));
	e[0].name = (char *)"a";

	struct tree_entry x;
	static char name256[257];
	memset(name256, 'n', 256);
	struct {
		const char *name;
		size_t len;
	} bad_names[] = {
		{ ".", 1 }, { "..", 2 }, { "a/b", 3 }, { "/", 1 }, { "a/", 2 },
		{ "", 0 }, { "a\0b", 3 }, { name256, 256 },
	};
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		x = ent(bad_names[i].name, bad_names[i].len, NODE_FIFO);
		CHECK(encode_fails(&x, 1));
		CHECK_EQ(tree_name_check(bad_names[i].name, bad_names[i].len), -EINVAL);
	}
	CHECK_EQ(tree_name_check(name256, 255), 0);
	CHECK_EQ(tree_name_check("...", 3), 0);
	CHECK_EQ(tree_name_check(".a", 2), 0);

	/* file size must equal the sum of its chunk lengths */
	x = ent(S("f"), NODE_FILE);
	x.chunks = chunks3;
	x.nchunks = 3;
	x.size = 1 + (uint64_t)CHUNKER_MAX_LIMIT + 12345;
	CHECK(!encode_fails(&x, 1));
	x.size++;
	CHECK(encode_fails(&x, 1));
	x.size -= 2;
	CHECK(encode_fails(&x, 1));
	x.size = 0;
	x.nchunks = 0;
	CHECK(!encode_fails(&x, 1));
	x.size = 1;
	CHECK(encode_fails(&x, 1));
	/* chunk lengths 1..16 MiB */
	struct chunk_ref cr[1] = { { { { 0 } }, 0 } };
	x.chunks = cr;
	x.nchunks = 1;
	x.size = 0;
	CHECK(encode_fails(&x, 1));
	cr[0].len = CHUNKER_MAX_LIMIT + 1;
	x.size = cr[0].len;
	CHECK(encode_fails(&x, 1));

	/* other fields */
	x = ent(S("k"), 0);
	CHECK(encode_fails(&x, 1));
	x = ent(S("k"), NODE_KIND_MAX + 1);
	CHECK(encode_fails(&x, 1));
	x = ent(S("m"), NODE_FIFO);
	x.mode = 010000;
	CHECK(encode_fails(&x, 1));
	x = ent(S("t"), NODE_FIFO);
	x.mtime_nsec = 1000000000;
	CHECK(encode_fails(&x, 1));
	x = ent(S("t"), NODE_FIFO);
	x.ctime_nsec = 1000000000;
	CHECK(encode_fails(&x, 1));
	x = ent(S("s"), NODE_SYMLINK);
	x.target = (char *)"";
	x.target_len = 0;
	CHECK(encode_fails(&x, 1));
	x.target = (char *)"a\0b";
	x.target_len = 3;
	CHECK(encode_fails(&x, 1));
	static char t4096[4097];
	memset(t4096, 't', 4096);
	x.target = t4096;
	x.target_len = 4096;
	CHECK(encode_fails(&x, 1));
	x = ent(S("x"), NODE_FIFO);
	static uint8_t bigext[TREE_EXT_MAX + 1];
	x.ext = bigext;
	x.ext_len = TREE_EXT_MAX + 1;
	CHECK(encode_fails(&x, 1));
	x.ext_len = TREE_EXT_MAX;
	CHECK(!encode_fails(&x, 1));
}

/* An independent encoder following docs/FORMAT.md §5, to hand-craft trees
 * the real encoder would refuse. */
struct raw {
	const char *name;
	size_t nlen;
	uint8_t kind;
	uint64_t mode, mtime_nsec;
	uint64_t size, nchunks;
	const uint32_t *lens;
	const char *target;
	size_t tlen;
};

static void raw_entry(struct buf *o, const struct raw *r)
{
	buf_put_varint(o, r->nlen);
	buf_append(o, r->name, r->nlen);
	buf_put_u8(o, r->kind);
	buf_put_varint(o, r->mode);
	buf_put_varint(o, 1000);        /* uid */
	buf_put_varint(o, 1000);        /* gid */
	buf_put_varint(o, zigzag(-5));  /* mtime */
	buf_put_varint(o, r->mtime_nsec);
	buf_put_varint(o, zigzag(7));   /* ctime */
	buf_put_varint(o, 0);
	buf_put_varint(o, 11);          /* ino */
	buf_put_varint(o, 12);          /* dev */
	buf_put_varint(o, 1);           /* nlink */
	uint8_t id[OID_LEN];
	memset(id, 0xab, OID_LEN);
	switch (r->kind) {
	case NODE_FILE:
		buf_put_varint(o, r->size);
		buf_put_varint(o, r->nchunks);
		for (uint64_t i = 0; i < r->nchunks && r->lens; i++) {
			buf_append(o, id, OID_LEN);
			buf_put_varint(o, r->lens[i]);
		}
		break;
	case NODE_DIR:
		buf_append(o, id, OID_LEN);
		break;
	case NODE_SYMLINK:
		buf_put_varint(o, r->tlen);
		buf_append(o, r->target, r->tlen);
		break;
	case NODE_CHR:
	case NODE_BLK:
		buf_put_varint(o, 259);
		break;
	}
	buf_put_varint(o, 0); /* ext_len */
}

static void raw_tree(struct buf *o, uint64_t count, const struct raw *r, size_t n)
{
	buf_reset(o);
	buf_put_u8(o, TREE_VERSION);
	buf_put_varint(o, count);
	for (size_t i = 0; i < n; i++)
		raw_entry(o, &r[i]);
}

static struct raw rawent(const char *name, size_t nlen, uint8_t kind)
{
	struct raw r = { name, nlen, kind, 0644, 5, 0, 0, NULL, "x", 1 };
	return r;
}

static int decode_fails(const struct buf *b)
{
	struct tree *t = (struct tree *)1;
	int r = tree_decode(b->data, b->len, &t);
	if (r == 0)
		tree_free(t);
	return r == -EBADMSG;
}

TEST(tree_decode_refuses)
{
	struct buf b = BUF_INIT;
	struct tree *t;
	static const uint32_t lens[] = { 100, 200 };

	/* the hand-crafted form is what the real decoder reads */
	struct raw good[4] = {
		rawent(S("a"), NODE_DIR), rawent(S("b"), NODE_FILE),
		rawent(S("c"), NODE_SYMLINK), rawent(S("d"), NODE_CHR),
	};
	good[1].size = 300;
	good[1].nchunks = 2;
	good[1].lens = lens;
	raw_tree(&b, 4, good, 4);
	CHECK_EQ(tree_decode(b.data, b.len, &t), 0);
	if (t) {
		CHECK_EQ(t->count, 4);
		if (t->count == 4) {
			CHECK_EQ(t->entries[1].size, 300);
			CHECK_EQ(t->entries[1].chunks[1].len, 200);
			CHECK_EQ(t->entries[2].target_len, 1);
			CHECK_EQ(t->entries[3].rdev, 259);
			CHECK_EQ(t->entries[0].mtime_sec, -5);
		}
		tree_free(t);
	}
	/* every strict prefix fails */
	size_t full = b.len;
	int bad = 0;
	for (size_t n = 0; n < full; n++) {
		struct buf p = { b.data, n, n };
		if (!decode_fails(&p))
			bad++;
	}
	CHECK_EQ(bad, 0);
	/* trailing bytes */
	buf_put_u8(&b, 0);
	CHECK(decode_fails(&b));
	/* count disagreeing with the entries */
	raw_tree(&b, 5, good, 4);
	CHECK(decode_fails(&b));
	raw_tree(&b, 3, good, 4);
	CHECK(decode_fails(&b));
	raw_tree(&b, 1u << 30, good, 4);
	CHECK(decode_fails(&b));
	raw_tree(&b, UINT64_MAX, good, 4);
	CHECK(decode_fails(&b));
	/* version */
	raw_tree(&b, 4, good, 4);
	b.data[0] = 2;
	CHECK(decode_fails(&b));
	b.data[0] = 0;
	CHECK(decode_fails(&b));

	/* bad names, alone in a tree */
	static char n256[256];
	memset(n256, 'n', 256);
	struct {
		const char *name;
		size_t len;
	} names[] = { { "a/b", 3 }, { "/", 1 }, { ".", 1 }, { "..", 2 },
		      { "a\0b", 3 }, { "\0", 1 }, { "", 0 }, { n256, 256 } };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct raw r = rawent(names[i].name, names[i].len, NODE_DIR);
		raw_tree(&b, 1, &r, 1);
		if (!decode_fails(&b))
			fprintf(stderr, "  name #%zu accepted\n", i);
		CHECK(decode_fails(&b));
	}
	struct raw r255 = rawent(n256, 255, NODE_DIR);
	raw_tree(&b, 1, &r255, 1);
	CHECK(!decode_fails(&b));

	/* unsorted and duplicate names */
	struct raw two[2] = { rawent(S("b"), NODE_DIR), rawent(S("a"), NODE_DIR) };
	raw_tree(&b, 2, two, 2);
	CHECK(decode_fails(&b));
	two[1].name = "b";
	raw_tree(&b, 2, two, 2);
	CHECK(decode_fails(&b));
	two[0].name = "ab";
	two[0].nlen = 2;
	two[1].name = "a";
	raw_tree(&b, 2, two, 2); /* "ab" before "a": shorter sorts first */
	CHECK(decode_fails(&b));
	two[0] = rawent(S("a"), NODE_DIR);
	two[1] = rawent(S("ab"), NODE_DIR);
	raw_tree(&b, 2, two, 2);
	CHECK(!decode_fails(&b));

	/* a file whose size is not the sum of its chunks */
	struct raw f = rawent(S("f"), NODE_FILE);
	f.nchunks = 2;
	f.lens = lens;
	f.size = 301;
	raw_tree(&b, 1, &f, 1);
	CHECK(decode_fails(&b));
	f.size = 299;
	raw_tree(&b, 1, &f, 1);
	CHECK(decode_fails(&b));
	f.size = 300;
	raw_tree(&b, 1, &f, 1);
	CHECK(!decode_fails(&b));
	/* zero-length and oversized chunks */
	static const uint32_t zl[] = { 0 };
	static const uint32_t big[] = { CHUNKER_MAX_LIMIT + 1 };
	f.nchunks = 1;
	f.lens = zl;
	f.size = 0;
	raw_tree(&b, 1, &f, 1);
	CHECK(decode_fails(&b));
	f.lens = big;
	f.size = big[0];
	raw_tree(&b, 1, &f, 1);
	CHECK(decode_fails(&b));
	/* more chunks claimed than bytes present */
	f.lens = NULL;
	f.nchunks = 1000;
	f.size = 0;
	raw_tree(&b, 1, &f, 1);
	CHECK(decode_fails(&b));

	/* kinds, mode, nanoseconds, symlink targets */
	struct raw k = rawent(S("k"), 0);
	raw_tree(&b, 1, &k, 1);
	CHECK(decode_fails(&b));
	k.kind = NODE_KIND_MAX + 1;
	raw_tree(&b, 1, &k, 1);
	CHECK(decode_fails(&b));
	k = rawent(S("k"), NODE_DIR);
	k.mode = 010000;
	raw_tree(&b, 1, &k, 1);
	CHECK(decode_fails(&b));
	k.mode = 07777;
	raw_tree(&b, 1, &k, 1);
	CHECK(!decode_fails(&b));
	k.mtime_nsec = 1000000000;
	raw_tree(&b, 1, &k, 1);
	CHECK(decode_fails(&b));
	struct raw s = rawent(S("s"), NODE_SYMLINK);
	s.tlen = 0;
	raw_tree(&b, 1, &s, 1);
	CHECK(decode_fails(&b));
	s.target = "a\0b";
	s.tlen = 3;
	raw_tree(&b, 1, &s, 1);
	CHECK(decode_fails(&b));
	static char t4096[4096];
	memset(t4096, 't', sizeof(t4096));
	s.target = t4096;
	s.tlen = 4096;
	raw_tree(&b, 1, &s, 1);
	CHECK(decode_fails(&b));
	s.tlen = 4095;
	raw_tree(&b, 1, &s, 1);
	CHECK(!decode_fails(&b));
	buf_release(&b);
}

/* The encoder "refuses to write what the decoder would reject", so what it
 * writes must decode — also for entries whose encoding is tiny (a fifo or
 * socket with small metadata takes 14 bytes, a device 15). */
TEST(tree_minimal_entries_decode)
{
	struct tree_entry e[8];
	static const char *names[8] = { "a", "b", "c", "d", "e", "f", "g", "h" };
	for (int i = 0; i < 8; i++) {
		memset(&e[i], 0, sizeof(e[i]));
		e[i].name = (char *)names[i];
		e[i].name_len = 1;
		e[i].kind = (i & 1) ? NODE_SOCK : NODE_FIFO;
		if (i == 7)
			e[i].kind = NODE_CHR;
	}
	for (size_t n = 1; n <= 8; n++) {
		struct buf b = BUF_INIT;
		CHECK_EQ(tree_encode(e, n, &b), 0);
		struct tree *t = NULL;
		int r = tree_decode(b.data, b.len, &t);
		if (r != 0)
			fprintf(stderr, "  %zu minimal entries (%zu bytes): decode %d\n", n,
				b.len, r);
		CHECK_EQ(r, 0);
		if (r == 0) {
			CHECK_EQ(t->count, n);
			tree_free(t);
		}
		buf_release(&b);
	}
}

TEST(tree_lookup_all)
{
	struct tree_entry e[32];
	size_t n = full_entries(e);
	struct buf b = BUF_INIT;
	tree_encode(e, n, &b);
	struct tree *t = NULL;
	CHECK_EQ(tree_decode(b.data, b.len, &t), 0);
	if (!t)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct tree_entry *f = tree_lookup(t, e[i].name, e[i].name_len);
		CHECK(f == &t->entries[i]);
	}
	/* absent: prefixes, extensions, before the first, after the last */
	struct {
		const char *name;
		size_t len;
	} absent[] = {
		{ "fil", 3 }, { "filex", 5 }, { "file\0", 5 }, { "\x01", 1 },
		{ "zzz", 3 }, { "\xff", 1 }, { "\xff\xfe\x01", 3 }, { "", 0 },
		{ "\x01\x02", 2 }, { "A", 1 }, { "dis", 3 }, { "e", 1 },
	};
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		CHECK(tree_lookup(t, absent[i].name, absent[i].len) == NULL);
	char z256[256];
	memset(z256, 'z', 256);
	CHECK(tree_lookup(t, z256, 254) == NULL);
	CHECK(tree_lookup(t, z256, 255) != NULL);
	CHECK(tree_lookup(t, z256, 256) == NULL);
	tree_free(t);
	buf_release(&b);
}

TEST(tree_entry_copy_deep)
{
	struct tree_entry e[32];
	size_t n = full_entries(e);
	struct buf b = BUF_INIT;
	tree_encode(e, n, &b);
	struct tree *t = NULL;
	CHECK_EQ(tree_decode(b.data, b.len, &t), 0);
	if (!t)
		return;
	struct tree_entry copy[32];
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(tree_entry_copy(&copy[i], &t->entries[i]), 0);
	/* scribble over and free the source: the copies stand alone */
	memset(t->str_arena, 0x55, 16);
	memset(t->chunk_arena, 0x55, sizeof(struct chunk_ref));
	tree_free(t);
	memset(b.data, 0, b.len);
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		if (!entry_equal(&e[i], &copy[i]))
			bad++;
	}
	CHECK_EQ(bad, 0);
	/* changing the copy leaves the original alone */
	for (size_t i = 0; i < n; i++) {
		if (copy[i].kind == NODE_FILE && copy[i].nchunks) {
			copy[i].chunks[0].len = 77;
			CHECK_EQ(chunks3[0].len, 1);
		}
		if (copy[i].ext_len)
			copy[i].ext[0] ^= 1;
	}
	CHECK_EQ(ext_bytes[0], 0x00);
	CHECK_EQ(ext_bytes[2], 'e');
	for (size_t i = 0; i < n; i++) {
		tree_entry_release(&copy[i]);
		CHECK(copy[i].name == NULL && copy[i].chunks == NULL && copy[i].name_len == 0);
	}
	/* copy of a caller-built entry */
	struct tree_entry c;
	CHECK_EQ(tree_entry_copy(&c, &e[0]), 0);
	CHECK(entry_equal(&e[0], &c));
	CHECK(c.name != e[0].name);
	tree_entry_release(&c);
	buf_release(&b);
}

int main(void)
{
	keys.encrypted = 1;
	for (int i = 0; i < KEY_LEN; i++) {
		keys.data_key[i] = (uint8_t)(i * 11);
		keys.id_key[i] = (uint8_t)(i * 13);
	}
	tree_fixtures();
	RUN(index_round_trip);
	RUN(index_rejects);
	RUN(tree_round_trip);
	RUN(tree_sort_order);
	RUN(tree_encode_refuses);
	RUN(tree_decode_refuses);
	RUN(tree_minimal_entries_decode);
	RUN(tree_lookup_all);
	RUN(tree_entry_copy_deep);
	HARNESS_DONE();
}
