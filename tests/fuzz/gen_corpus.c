/* Writes the seed corpora of the libFuzzer targets: a few valid encodings
 * of every format the targets decode, made by cairn's own encoders with the
 * fixed keys of common.h, and some interesting invalid ones.  Built and run
 * by hand from the repository root after `make` (it links build/libcairn.a
 * like the unit tests):
 *
 *   cc -std=c11 -D_GNU_SOURCE -Iinclude tests/fuzz/gen_corpus.c build/libcairn.a \
 *      $(pkg-config --libs fuse3 libcurl sqlite3 jansson openssl liblz4 libzstd libgcrypt) \
 *      -lpthread -o /tmp/gen && /tmp/gen tests/fuzz/corpus
 *
 * It replaces the seed-N files of tests/fuzz/corpus/<target>/ and leaves
 * any other file there (inputs found by fuzzing) alone.  Encrypted boxes
 * and key files get random nonces, so those seeds differ between runs.
 */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/config.h"
#include "store/index.h"
#include "store/pack.h"
#include "store/snapshot.h"
#include "store/tree.h"

static const char *root;
static char dir[4096];
static int seq;
static size_t dir_bytes;

static void die(const char *what)
{
	fprintf(stderr, "gen_corpus: %s\n", what);
	exit(1);
}

/* Starts the corpus of target `name`: creates the directory and removes
 * its old seed-N files. */
static void begin(const char *name)
{
	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	if (mkdir(root, 0777) < 0 && errno != EEXIST)
		die(root);
	if (mkdir(dir, 0777) < 0 && errno != EEXIST)
		die(dir);
	DIR *d = opendir(dir);
	if (!d)
		die(dir);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "seed-", 5))
			continue;
		char p[8192];
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	seq = 0;
	dir_bytes = 0;
}

static void end(void)
{
	printf("%s: %d seeds, %zu bytes\n", dir, seq, dir_bytes);
}

static void emit(const void *p, size_t n)
{
	char path[8192];
	snprintf(path, sizeof(path), "%s/seed-%d", dir, ++seq);
	FILE *f = fopen(path, "wb");
	if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f))
		die(path);
	dir_bytes += n;
}

static void emit_buf(const struct buf *b) { emit(b->data, b->len); }

static void emit_str(const char *s) { emit(s, strlen(s)); }

static void check(int r, const char *what)
{
	if (r < 0) {
		fprintf(stderr, "gen_corpus: %s: %s\n", what, strerror(-r));
		exit(1);
	}
}

/* Deterministic filler. */
static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static struct oid some_id(uint8_t k)
{
	struct oid id;
	fill(id.b, OID_LEN, k);
	return id;
}

static const char text[] = "hello, cairn\n";
static const char lorem[] =
	"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do "
	"eiusmod tempor incididunt ut labore et dolore magna aliqua. ";

/* ---- boxes -------------------------------------------------------------- */

static void seal(struct codec *c, int type, const void *p, size_t n, struct buf *out)
{
	struct oid id = fuzz_blob_id();
	check(codec_seal(c, type, fuzz_id_for(type, &id), p, n, out), "codec_seal");
}

static void gen_box(void)
{
	struct codec *none = fuzz_codec(0, COMP_NONE, 0);
	struct codec *lz4 = fuzz_codec(0, COMP_LZ4, 1);
	struct codec *zstd = fuzz_codec(0, COMP_ZSTD, 3);
	struct codec *enc = fuzz_codec(1, COMP_ZSTD, 3);
	struct codec *enc_lz4 = fuzz_codec(1, COMP_LZ4, 1);
	struct buf b = BUF_INIT;
	char rep[600];
	uint8_t noise[200];
	for (size_t i = 0; i < sizeof(rep); i++)
		rep[i] = lorem[i % (sizeof(lorem) - 1)];
	fill(noise, sizeof(noise), 7);

	begin("fuzz_box");
	for (int type = 1; type <= OBJ_TYPE_MAX; type++) {
		buf_reset(&b);
		seal(zstd, type, rep, sizeof(rep), &b);   /* compressed, zstd */
		emit_buf(&b);
		buf_reset(&b);
		seal(enc, type, text, strlen(text), &b);  /* encrypted */
		emit_buf(&b);
	}
	struct { struct codec *c; const void *p; size_t n; } more[] = {
		{ lz4, rep, sizeof(rep) },       /* LZ4 block */
		{ none, rep, sizeof(rep) },      /* stored */
		{ none, "", 0 },                 /* empty plaintext */
		{ zstd, noise, sizeof(noise) },  /* incompressible: stored */
		{ enc, rep, sizeof(rep) },       /* encrypted zstd */
		{ enc_lz4, rep, sizeof(rep) },   /* encrypted LZ4 */
		{ enc, "", 0 },                  /* encrypted, empty */
	};
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
		buf_reset(&b);
		seal(more[i].c, OBJ_DATA, more[i].p, more[i].n, &b);
		emit_buf(&b);
	}

	/* invalid: take a valid compressed box and break one thing */
	struct buf good = BUF_INIT;
	seal(lz4, OBJ_SNAPSHOT, rep, sizeof(rep), &good);
	struct oid none_id;
	memset(&none_id, 0, sizeof(none_id));
	emit(good.data, BOX_HEADER_LEN - 1);             /* shorter than a header */
	emit(good.data, good.len - 1);                   /* truncated */
	buf_reset(&b);
	buf_append(&b, good.data, good.len);
	b.data[0] = 2;                                   /* unknown version */
	fuzz_patch_tag(b.data, b.len, NULL);
	emit_buf(&b);
	buf_reset(&b);
	buf_append(&b, good.data, good.len);
	put_u32le(b.data + 4, get_u32le(b.data + 4) + 1); /* plain_len off by one */
	fuzz_patch_tag(b.data, b.len, NULL);
	emit_buf(&b);
	buf_reset(&b);
	buf_append(&b, good.data, good.len);
	b.data[BOX_HEADER_LEN + 3] ^= 0x40;              /* corrupt LZ4 payload */
	fuzz_patch_tag(b.data, b.len, NULL);
	emit_buf(&b);
	buf_reset(&b);
	buf_append(&b, good.data, good.len);
	b.data[b.len - 1] ^= 1;                          /* bad tag */
	emit_buf(&b);
	buf_reset(&b);
	seal(zstd, OBJ_INDEX, rep, sizeof(rep), &b);
	b.data[2] = COMP_LZ4;                            /* zstd frame labelled LZ4 */
	fuzz_patch_tag(b.data, b.len, NULL);
	emit_buf(&b);
	end();

	buf_release(&good);
	buf_release(&b);
	codec_free(none);
	codec_free(lz4);
	codec_free(zstd);
	codec_free(enc);
	codec_free(enc_lz4);
}

/* ---- packs -------------------------------------------------------------- */

/* A pack of nblobs boxes of tiny plaintexts; dup: all blobs the same (so the
 * table compresses). */
static void make_pack(struct codec *tc, int nblobs, int dup, struct buf *out)
{
	struct codec *bc = fuzz_codec(0, COMP_NONE, 0);
	struct pack_builder pb;
	struct buf box = BUF_INIT;
	pack_builder_init(&pb);
	for (int i = 0; i < nblobs; i++) {
		char p[16];
		int n = snprintf(p, sizeof(p), "blob %d", dup ? 0 : i);
		struct oid id;
		codec_blob_id(bc, &id, p, (size_t)n);
		int type = i % 3 == 2 ? OBJ_TREE : OBJ_DATA;
		buf_reset(&box);
		check(codec_seal(bc, type, &id, p, (size_t)n, &box), "seal blob");
		check(pack_builder_add(&pb, &id, (uint8_t)type, (uint32_t)n, box.data,
				       box.len), "pack_builder_add");
	}
	check(pack_builder_finish(&pb, tc), "pack_builder_finish");
	buf_append(out, pb.data.data, pb.data.len);
	pack_builder_release(&pb);
	buf_release(&box);
	codec_free(bc);
}

struct raw_ent { uint8_t type; uint32_t off, len, plain; };

/* A pack whose table says whatever ents say, over `prefix` bytes of blob
 * area; a bad table version if version != 1. */
static void make_raw_pack(struct codec *c, uint8_t version, const struct raw_ent *e,
			  int n, size_t prefix, struct buf *out)
{
	struct buf t = BUF_INIT;
	buf_put_u8(&t, version);
	buf_put_u32le(&t, (uint32_t)n);
	for (int i = 0; i < n; i++) {
		struct oid id = some_id((uint8_t)i);
		buf_put_u8(&t, e[i].type);
		buf_append(&t, id.b, OID_LEN);
		buf_put_u32le(&t, e[i].off);
		buf_put_u32le(&t, e[i].len);
		buf_put_u32le(&t, e[i].plain);
	}
	uint8_t *blobs = calloc(1, prefix + 1);
	buf_append(out, blobs, prefix);
	free(blobs);
	size_t before = out->len;
	check(codec_seal(c, OBJ_PACK_TABLE, NULL, t.data, t.len, out), "seal table");
	buf_put_u32le(out, (uint32_t)(out->len - before));
	buf_append(out, PACK_MAGIC, 8);
	buf_release(&t);
}

static void gen_pack_table(void)
{
	struct codec *none = fuzz_codec(0, COMP_NONE, 0);
	struct codec *zstd = fuzz_codec(0, COMP_ZSTD, 3);
	struct codec *lz4 = fuzz_codec(0, COMP_LZ4, 1);
	struct buf b = BUF_INIT;

	begin("fuzz_pack_table");
	int shapes[][3] = { /* codec, blobs, dup */
		{ 0, 0, 0 }, { 0, 1, 0 }, { 0, 3, 0 }, { 0, 8, 0 },
		{ 1, 24, 1 }, { 2, 24, 1 }, { 1, 4, 0 },
	};
	struct codec *cs[] = { none, zstd, lz4 };
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		buf_reset(&b);
		make_pack(cs[shapes[i][0]], shapes[i][1], shapes[i][2], &b);
		emit_buf(&b);
	}

	/* invalid tables (authentic, but wrong inside) */
	const struct raw_ent overlap[] = { { 1, 0, 50, 10 }, { 1, 40, 50, 10 } };
	const struct raw_ent past_end[] = { { 1, 0, 50, 10 }, { 2, 50, 60, 20 } };
	const struct raw_ent short_box[] = { { 1, 0, BOX_OVERHEAD - 1, 0 } };
	const struct raw_ent bad_type[] = { { 3, 0, 50, 10 } };
	const struct raw_ent unsorted[] = { { 2, 60, 40, 1 }, { 1, 0, 60, 2 } };
	struct { uint8_t v; const struct raw_ent *e; int n; size_t prefix; } bad[] = {
		{ 1, overlap, 2, 100 },
		{ 1, past_end, 2, 100 },
		{ 1, short_box, 1, 100 },
		{ 1, bad_type, 1, 100 },
		{ 1, unsorted, 2, 100 },   /* valid: order in the table is free */
		{ 2, unsorted, 2, 100 },   /* unknown table version */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&b);
		make_raw_pack(none, bad[i].v, bad[i].e, bad[i].n, bad[i].prefix, &b);
		emit_buf(&b);
	}
	/* a table with a count the bytes do not hold */
	buf_reset(&b);
	make_raw_pack(none, 1, overlap, 2, 100, &b);
	put_u32le(b.data + 100 + BOX_HEADER_LEN + 1, 3);
	fuzz_patch_tag(b.data + 100, b.len - 100 - PACK_TRAILER_LEN, NULL);
	emit_buf(&b);
	/* trailer problems */
	buf_reset(&b);
	make_pack(none, 2, 0, &b);
	b.data[b.len - 1] = '2';                        /* bad magic */
	emit_buf(&b);
	buf_reset(&b);
	make_pack(none, 2, 0, &b);
	put_u32le(b.data + b.len - PACK_TRAILER_LEN, (uint32_t)b.len); /* too long */
	emit_buf(&b);
	emit(PACK_MAGIC, 8);                            /* nothing but magic */
	end();

	buf_release(&b);
	codec_free(none);
	codec_free(zstd);
	codec_free(lz4);
}

/* ---- index -------------------------------------------------------------- */

static void make_index(struct index_data *idx, int npacks, int nblobs)
{
	idx->npacks = (size_t)npacks;
	idx->packs = calloc(npacks ? (size_t)npacks : 1, sizeof(*idx->packs));
	for (int i = 0; i < npacks; i++) {
		struct index_pack *p = &idx->packs[i];
		p->id = some_id((uint8_t)(100 + i));
		p->nblobs = (size_t)nblobs;
		p->blobs = calloc(nblobs ? (size_t)nblobs : 1, sizeof(*p->blobs));
		uint32_t off = 0;
		for (int k = 0; k < nblobs; k++) {
			struct pack_entry *e = &p->blobs[k];
			e->id = some_id((uint8_t)(i * 16 + k));
			e->type = k % 4 == 3 ? OBJ_TREE : OBJ_DATA;
			e->offset = off;
			e->length = BOX_OVERHEAD + 100u * (uint32_t)k + 300u;
			e->plain_len = e->length - BOX_OVERHEAD + (uint32_t)k * 7;
			off += e->length;
		}
		p->size = off + 200; /* the table and trailer */
	}
}

static void gen_index(void)
{
	struct codec *none = fuzz_codec(0, COMP_NONE, 0);
	struct codec *zstd = fuzz_codec(0, COMP_ZSTD, 3);
	struct buf b = BUF_INIT;
	int shapes[][2] = { { 0, 0 }, { 1, 0 }, { 1, 2 }, { 3, 4 }, { 2, 12 } };

	begin("fuzz_index");
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct index_data idx;
		make_index(&idx, shapes[i][0], shapes[i][1]);
		buf_reset(&b);
		check(index_encode_plain(&idx, &b), "index_encode_plain");
		emit_buf(&b);                       /* plaintext */
		if (i >= 2) {
			buf_reset(&b);
			check(index_encode(none, &idx, &b), "index_encode");
			emit_buf(&b);               /* stored box */
			buf_reset(&b);
			check(index_encode(zstd, &idx, &b), "index_encode");
			emit_buf(&b);               /* zstd box */
		}
		if (i == 3) {
			/* a blob that ends one byte past its pack */
			idx.packs[1].size = idx.packs[1].blobs[3].offset +
					    idx.packs[1].blobs[3].length - 1;
			buf_reset(&b);
			check(index_encode_plain(&idx, &b), "index_encode_plain");
			emit_buf(&b);
			/* a trailing byte */
			buf_put_u8(&b, 0);
			emit_buf(&b);
		}
		index_data_release(&idx);
	}
	/* hand-made: overlong varint npacks, unknown version, npacks too big */
	const uint8_t overlong[] = { 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02 };
	const uint8_t nonminimal[] = { 1, 0x80, 0x00 };
	const uint8_t version2[] = { 2, 0 };
	const uint8_t huge[] = { 1, 0xff, 0xff, 0xff, 0xff, 0x0f };
	emit(overlong, sizeof(overlong));
	emit(nonminimal, sizeof(nonminimal));
	emit(version2, sizeof(version2));
	emit(huge, sizeof(huge));
	end();

	buf_release(&b);
	codec_free(none);
	codec_free(zstd);
}

/* ---- trees -------------------------------------------------------------- */

static struct tree_entry entry(const char *name, int kind)
{
	struct tree_entry e;
	memset(&e, 0, sizeof(e));
	e.name = (char *)name;
	e.name_len = (uint32_t)strlen(name);
	e.kind = (uint8_t)kind;
	e.mode = kind == NODE_DIR ? 0755 : 0644;
	e.uid = 1000;
	e.gid = 1000;
	e.mtime_sec = 1750240800;
	e.mtime_nsec = 123456789;
	e.ctime_sec = -5;           /* zigzag of a negative value */
	e.ctime_nsec = 999999999;
	e.ino = 1234567;
	e.dev = 0x803;
	e.nlink = 1;
	return e;
}

static void gen_tree(void)
{
	struct buf b = BUF_INIT;
	struct chunk_ref chunks[3];
	for (int i = 0; i < 3; i++) {
		chunks[i].id = some_id((uint8_t)(200 + i));
		chunks[i].len = i == 2 ? 1 : CHUNKER_MAX_LIMIT >> i;
	}
	uint8_t ext[5] = { 1, 3, 'a', 'b', 'c' };

	begin("fuzz_tree");
	struct tree_entry all[8];
	all[0] = entry("bin", NODE_DIR);
	all[0].subtree = some_id(42);
	all[1] = entry("blk", NODE_BLK);
	all[1].rdev = 0x801;
	all[2] = entry("file.txt", NODE_FILE);
	all[2].nchunks = 3;
	all[2].chunks = chunks;
	all[2].size = chunks[0].len + chunks[1].len + chunks[2].len;
	all[2].nlink = 2;
	all[2].ext = ext;
	all[2].ext_len = sizeof(ext);
	all[3] = entry("file.txt2", NODE_FILE); /* empty file */
	all[4] = entry("link", NODE_SYMLINK);
	all[4].target = "../some/where";
	all[4].target_len = (uint32_t)strlen(all[4].target);
	all[5] = entry("pipe", NODE_FIFO);
	all[6] = entry("sock", NODE_SOCK);
	all[7] = entry("tty", NODE_CHR);
	all[7].rdev = 0x400;
	all[7].mode = 06755;

	/* the empty tree, each entry alone, then all of them */
	check(tree_encode(all, 0, &b), "tree_encode");
	emit_buf(&b);
	for (int i = 0; i < 8; i++) {
		buf_reset(&b);
		check(tree_encode(&all[i], 1, &b), "tree_encode");
		emit_buf(&b);
	}
	buf_reset(&b);
	check(tree_encode(all, 8, &b), "tree_encode");
	emit_buf(&b);
	struct buf good = BUF_INIT;
	buf_append(&good, b.data, b.len);

	/* a long name and a large directory of small entries */
	char longname[TREE_NAME_MAX + 1];
	memset(longname, 'x', TREE_NAME_MAX);
	longname[TREE_NAME_MAX] = 0;
	struct tree_entry one = entry(longname, NODE_FILE);
	buf_reset(&b);
	check(tree_encode(&one, 1, &b), "tree_encode");
	emit_buf(&b);
	struct tree_entry many[40];
	char names[40][4];
	for (int i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "%c%c", 'a' + i / 26, 'a' + i % 26);
		many[i] = entry(names[i], NODE_FIFO);
		many[i].mode = 0;
		many[i].uid = many[i].gid = 0;
		many[i].mtime_sec = many[i].ctime_sec = 0;
		many[i].mtime_nsec = many[i].ctime_nsec = 0;
		many[i].ino = many[i].dev = many[i].nlink = 0;
	}
	buf_reset(&b);
	check(tree_encode(many, 40, &b), "tree_encode");
	emit_buf(&b);

	/* invalid: what the encoder refuses, written by hand */
	struct tree_entry pair[2] = { all[5], all[1] };      /* unsorted */
	buf_reset(&b);
	buf_put_u8(&b, TREE_VERSION);
	buf_put_varint(&b, 2);
	for (int i = 0; i < 2; i++) {
		struct tree_entry e = pair[i];
		struct buf one_b = BUF_INIT;
		check(tree_encode(&e, 1, &one_b), "tree_encode");
		buf_append(&b, one_b.data + 2, one_b.len - 2); /* skip version, count */
		buf_release(&one_b);
	}
	emit_buf(&b);
	const char *bad_names[] = { "..", ".", "a/b" };
	for (int i = 0; i < 3; i++) {
		struct tree_entry e = entry("zz", NODE_FIFO);
		struct buf one_b = BUF_INIT;
		check(tree_encode(&e, 1, &one_b), "tree_encode");
		/* version | count | name_len=2 | "zz" | ... */
		buf_reset(&b);
		buf_put_u8(&b, TREE_VERSION);
		buf_put_varint(&b, 1);
		buf_put_varint(&b, strlen(bad_names[i]));
		buf_append(&b, bad_names[i], strlen(bad_names[i]));
		buf_append(&b, one_b.data + 5, one_b.len - 5);
		emit_buf(&b);
		buf_release(&one_b);
	}
	{
		/* chunk lengths that do not sum to the size: one file of one
		 * 5-byte chunk and no ext ends "05 00"; make the chunk 6 bytes */
		struct chunk_ref c5 = { some_id(77), 5 };
		struct tree_entry e = entry("short", NODE_FILE);
		e.size = 5;
		e.nchunks = 1;
		e.chunks = &c5;
		buf_reset(&b);
		check(tree_encode(&e, 1, &b), "tree_encode");
		b.data[b.len - 2] = 6;
		emit_buf(&b);
	}
	buf_reset(&b);
	buf_append(&b, good.data, good.len - 1);   /* truncated */
	emit_buf(&b);
	buf_reset(&b);
	buf_append(&b, good.data, good.len);
	buf_put_u8(&b, 0);                          /* trailing byte */
	emit_buf(&b);
	end();

	buf_release(&good);
	buf_release(&b);
}

/* ---- snapshots ---------------------------------------------------------- */

static void gen_snapshot(void)
{
	struct buf b = BUF_INIT;
	char *tags[] = { "daily", "before upgrade", "ünïcödé" };
	struct snapshot_source srcs[2] = {
		{ "laptop", "/home/ana", "laptop", 1750240800123456789 },
		{ "drive", "drive", "laptop", 1750000000000000000 },
	};
	struct snapshot s;
	memset(&s, 0, sizeof(s));
	s.time_ns = 1750240800123456789;
	s.host = "laptop";
	s.user = "ana";
	s.program = "cairn 0.1.0";
	s.tree = some_id(1);

	begin("fuzz_snapshot");
	check(snapshot_to_json(&s, &b), "snapshot_to_json"); /* no tags, sources */
	emit_buf(&b);
	s.tags = tags;
	s.ntags = 3;
	s.sources = srcs;
	s.nsources = 2;
	s.has_parent = true;
	s.parent = some_id(2);
	s.stats.files_new = 12;
	s.stats.bytes_total = (uint64_t)1 << 40;
	s.stats.duration_ms = 1234;
	buf_reset(&b);
	check(snapshot_to_json(&s, &b), "snapshot_to_json");
	emit_buf(&b);
	emit_str(
		"{\"version\":1,\n"
		" \"time\":\"2025-06-18T12:00:00.123456789+02:00\",\n"
		" \"host\":\"laptop\",\"user\":\"ana\",\"program\":\"cairn 0.1.0\",\n"
		" \"tree\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\",\n"
		" \"tags\":[\"daily\"],\n"
		" \"sources\":[{\"name\":\"laptop\",\"path\":\"/home/ana\",\"host\":\"laptop\",\n"
		"             \"time\":\"2025-06-18 12:00:00Z\"}],\n"
		" \"stats\":{\"files_new\":-1,\"dirs\":9223372036854775807}}");
	/* invalid */
	emit_str("{\"version\":2,\"time\":\"2025-06-18T12:00:00Z\",\"host\":\"h\",\"user\":\"u\","
		 "\"program\":\"p\",\"tree\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\","
		 "\"tags\":[],\"sources\":[]}");
	emit_str("{\"version\":1,\"time\":\"2025-06-18T12:00:00+24:00\",\"host\":\"h\",\"user\":\"u\","
		 "\"program\":\"p\",\"tree\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\","
		 "\"tags\":[],\"sources\":[]}");
	emit_str("{\"version\":1,\"time\":\"2025-06-18T12:00:00Z\",\"host\":\"h\",\"user\":\"u\","
		 "\"program\":\"p\",\"tree\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeefg\","
		 "\"tags\":[1],\"sources\":[{}]}");
	emit_str("{\"version\":1,\"version\":1}");
	emit_str("[]");
	end();
	buf_release(&b);
}

/* ---- config and key files ----------------------------------------------- */

static void gen_config(void)
{
	struct buf b = BUF_INIT;
	struct repo_config c;
	memset(&c, 0, sizeof(c));
	c.version = REPO_FORMAT_VERSION;
	c.id = some_id(9);
	c.created_ns = 1750240800123456789;
	c.encrypted = 1;
	c.chunker.min = CHUNKER_MIN_DEFAULT;
	c.chunker.avg = CHUNKER_AVG_DEFAULT;
	c.chunker.max = CHUNKER_MAX_DEFAULT;
	c.compression = COMP_ZSTD;
	c.level = 3;
	c.pack_size = PACK_SIZE_DEFAULT;

	begin("fuzz_config");
	check(config_to_json(&c, &b), "config_to_json");
	emit_buf(&b);
	c.encrypted = 0;
	struct repo_keys k = fuzz_keys(0);
	memcpy(c.id_key, k.id_key, KEY_LEN);
	c.compression = COMP_LZ4;
	c.level = 1;
	c.chunker.min = 64;
	c.chunker.avg = 256;
	c.chunker.max = CHUNKER_MAX_LIMIT;
	buf_reset(&b);
	check(config_to_json(&c, &b), "config_to_json");
	emit_buf(&b);
	c.compression = COMP_NONE;
	c.level = 0;
	c.pack_size = 1u << 30;
	buf_reset(&b);
	check(config_to_json(&c, &b), "config_to_json");
	emit_buf(&b);
	emit_str("{\"version\":1,\"id\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\","
		 "\"created\":\"2025-06-18T12:00:00Z\",\"chunker\":{\"algorithm\":\"fastcdc\","
		 "\"min\":262144,\"avg\":1000000,\"max\":4194304},\"compression\":\"zstd:20\","
		 "\"pack_size\":16777216,\"encryption\":\"aes-256-gcm\"}");     /* invalid */
	emit_str("{\"version\":1,\"id\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\","
		 "\"created\":\"2025-06-18T12:00:00Z\",\"chunker\":{\"algorithm\":\"fastcdc\","
		 "\"min\":262144,\"avg\":1048576,\"max\":4194304},\"compression\":\"lz4:65537\","
		 "\"pack_size\":1048576,\"encryption\":\"aes-256-gcm\","
		 "\"id_key\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}");

	/* key files: cheap Argon2 settings the target runs, and one it skips */
	uint8_t master[MASTER_LEN];
	memcpy(master, k.data_key, KEY_LEN);
	memcpy(master + KEY_LEN, k.id_key, KEY_LEN);
	struct kdf_params kdfs[] = {
		{ .t = 1, .m = 8, .p = 1 },
		{ .t = 2, .m = 1024, .p = 1 },
		{ .t = 1, .m = 64, .p = 8 },
		{ .t = 2, .m = 19456, .p = 1 },
	};
	for (size_t i = 0; i < sizeof(kdfs) / sizeof(kdfs[0]); i++) {
		fill(kdfs[i].salt, sizeof(kdfs[i].salt), (uint32_t)i);
		buf_reset(&b);
		check(keyfile_create(master, FUZZ_PASSWORD, strlen(FUZZ_PASSWORD),
				     &kdfs[i], &b), "keyfile_create");
		emit_buf(&b);
	}
	buf_reset(&b);
	check(keyfile_create(master, "another password", 16, &kdfs[0], &b),
	      "keyfile_create");
	emit_buf(&b);
	emit_str("{\"version\":1,\"created\":\"2025-06-18T12:00:00Z\",\"host\":\"h\","
		 "\"user\":\"u\",\"kdf\":\"argon2id\",\"kdf_params\":{\"t\":0,\"m\":8,"
		 "\"p\":1,\"salt\":\"AAAAAAAAAAAAAAAAAAAAAA==\"},\"master\":\"AAAA\"}");
	emit_str("{\"version\":1,\"created\":\"2025-06-18T12:00:00Z\",\"host\":\"h\","
		 "\"user\":\"u\",\"kdf\":\"argon2id\",\"kdf_params\":{\"t\":1,\"m\":8,"
		 "\"p\":1,\"salt\":\"AAAAAAAAAAAAAAAAAAAAAA=\"},\"master\":\"====\"}");
	end();
	buf_release(&b);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
		return 2;
	}
	root = argv[1];
	gen_box();
	gen_pack_table();
	gen_index();
	gen_tree();
	gen_snapshot();
	gen_config();
	return 0;
}
