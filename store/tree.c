/* Tree encoding and validating decoding (include/store/tree.h,
 * docs/FORMAT.md §5).  The decoder is the gate for everything restore and
 * the mount do with names, so it refuses anything that could escape a
 * directory: '/', NUL, "." and "..", unsorted or repeated names. */
#include "store/tree.h"

#include <errno.h>
#include <stdlib.h>

#include "store/chunker.h"

/* Smallest possible encoded entry: a 1-byte name and one byte for each of
 * the other fields (a fifo with zero metadata and no extension). */
#define MIN_ENTRY_LEN 14

int tree_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int entry_cmp(const void *x, const void *y)
{
	const struct tree_entry *a = x, *b = y;
	return tree_name_cmp(a->name, a->name_len, b->name, b->name_len);
}

void tree_sort(struct tree_entry *e, size_t n)
{
	qsort(e, n, sizeof(*e), entry_cmp);
}

int tree_name_check(const char *name, size_t len)
{
	if (len == 0 || len > TREE_NAME_MAX || memchr(name, '/', len) ||
	    memchr(name, 0, len))
		return -EINVAL;
	if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')))
		return -EINVAL;
	return 0;
}

static int check_entry(const struct tree_entry *e)
{
	if (tree_name_check(e->name, e->name_len) < 0 || e->kind < 1 ||
	    e->kind > NODE_KIND_MAX || e->mode > 07777 ||
	    e->mtime_nsec >= 1000000000u || e->ctime_nsec >= 1000000000u ||
	    e->ext_len > TREE_EXT_MAX)
		return -EINVAL;
	if (e->kind == NODE_SYMLINK &&
	    (e->target_len == 0 || e->target_len > TREE_TARGET_MAX ||
	     memchr(e->target, 0, e->target_len)))
		return -EINVAL;
	if (e->kind == NODE_FILE) {
		uint64_t sum = 0;
		for (uint32_t i = 0; i < e->nchunks; i++) {
			if (e->chunks[i].len == 0 || e->chunks[i].len > CHUNKER_MAX_LIMIT)
				return -EINVAL;
			sum += e->chunks[i].len;
		}
		if (sum != e->size)
			return -EINVAL;
	}
	return 0;
}

static int encode_entry(const struct tree_entry *e, struct buf *o)
{
	int r = 0;
#define PUT(x) do { if (!r) r = (x); } while (0)
	PUT(buf_put_varint(o, e->name_len));
	PUT(buf_append(o, e->name, e->name_len));
	PUT(buf_put_u8(o, e->kind));
	PUT(buf_put_varint(o, e->mode));
	PUT(buf_put_varint(o, e->uid));
	PUT(buf_put_varint(o, e->gid));
	PUT(buf_put_varint(o, zigzag(e->mtime_sec)));
	PUT(buf_put_varint(o, e->mtime_nsec));
	PUT(buf_put_varint(o, zigzag(e->ctime_sec)));
	PUT(buf_put_varint(o, e->ctime_nsec));
	PUT(buf_put_varint(o, e->ino));
	PUT(buf_put_varint(o, e->dev));
	PUT(buf_put_varint(o, e->nlink));
	switch (e->kind) {
	case NODE_FILE:
		PUT(buf_put_varint(o, e->size));
		PUT(buf_put_varint(o, e->nchunks));
		for (uint32_t i = 0; i < e->nchunks; i++) {
			PUT(buf_append(o, e->chunks[i].id.b, OID_LEN));
			PUT(buf_put_varint(o, e->chunks[i].len));
		}
		break;
	case NODE_DIR:
		PUT(buf_append(o, e->subtree.b, OID_LEN));
		break;
	case NODE_SYMLINK:
		PUT(buf_put_varint(o, e->target_len));
		PUT(buf_append(o, e->target, e->target_len));
		break;
	case NODE_CHR:
	case NODE_BLK:
		PUT(buf_put_varint(o, e->rdev));
		break;
	}
	PUT(buf_put_varint(o, e->ext_len));
	PUT(buf_append(o, e->ext, e->ext_len));
#undef PUT
	return r;
}

int tree_encode(const struct tree_entry *e, size_t n, struct buf *out)
{
	int r = buf_put_u8(out, TREE_VERSION);
	if (!r)
		r = buf_put_varint(out, n);
	for (size_t i = 0; !r && i < n; i++) {
		if (check_entry(&e[i]) < 0 ||
		    (i && entry_cmp(&e[i - 1], &e[i]) >= 0))
			return -EINVAL;
		r = encode_entry(&e[i], out);
	}
	return r;
}

void tree_free(struct tree *t)
{
	if (!t)
		return;
	free(t->entries);
	free(t->chunk_arena);
	free(t->str_arena);
	free(t);
}

/* Copies n bytes from the reader into the string arena, NUL-terminated. */
static char *take_str(struct rd *rd, size_t n, char **arena)
{
	const uint8_t *p = rd_bytes(rd, n);
	if (!p)
		return NULL;
	char *s = *arena;
	memcpy(s, p, n);
	s[n] = 0;
	*arena += n + 1;
	return s;
}

static void decode_entry(struct rd *rd, struct tree_entry *e,
			 struct chunk_ref **chunks, char **strs)
{
	memset(e, 0, sizeof(*e));
	e->name_len = (uint32_t)rd_varint_max(rd, TREE_NAME_MAX);
	e->name = take_str(rd, e->name_len, strs);
	e->kind = rd_u8(rd);
	e->mode = (uint32_t)rd_varint_max(rd, 07777);
	e->uid = (uint32_t)rd_varint_max(rd, UINT32_MAX);
	e->gid = (uint32_t)rd_varint_max(rd, UINT32_MAX);
	e->mtime_sec = unzigzag(rd_varint(rd));
	e->mtime_nsec = (uint32_t)rd_varint_max(rd, 999999999);
	e->ctime_sec = unzigzag(rd_varint(rd));
	e->ctime_nsec = (uint32_t)rd_varint_max(rd, 999999999);
	e->ino = rd_varint(rd);
	e->dev = rd_varint(rd);
	e->nlink = rd_varint(rd);
	switch (e->kind) {
	case NODE_FILE:
		e->size = rd_varint(rd);
		e->nchunks = (uint32_t)rd_varint_max(rd, rd_left(rd) / (OID_LEN + 1));
		e->chunks = *chunks;
		for (uint32_t i = 0; i < e->nchunks && !rd->err; i++) {
			const uint8_t *id = rd_bytes(rd, OID_LEN);
			if (id)
				memcpy(e->chunks[i].id.b, id, OID_LEN);
			e->chunks[i].len = (uint32_t)rd_varint_max(rd, CHUNKER_MAX_LIMIT);
		}
		*chunks += e->nchunks;
		break;
	case NODE_DIR: {
		const uint8_t *id = rd_bytes(rd, OID_LEN);
		if (id)
			memcpy(e->subtree.b, id, OID_LEN);
		break;
	}
	case NODE_SYMLINK:
		e->target_len = (uint32_t)rd_varint_max(rd, TREE_TARGET_MAX);
		e->target = take_str(rd, e->target_len, strs);
		break;
	case NODE_CHR:
	case NODE_BLK:
		e->rdev = rd_varint(rd);
		break;
	}
	e->ext_len = (uint32_t)rd_varint_max(rd, TREE_EXT_MAX);
	if (e->ext_len)
		e->ext = (uint8_t *)take_str(rd, e->ext_len, strs);
}

int tree_decode(const void *p, size_t n, struct tree **out)
{
	struct rd rd;
	rd_init(&rd, p, n);
	uint8_t version = rd_u8(&rd);
	size_t count = rd_varint_max(&rd, rd_left(&rd) / MIN_ENTRY_LEN);
	if (rd.err || version != TREE_VERSION)
		return -EBADMSG;

	struct tree *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	/* Upper bounds from the input size, so one pass can fill arenas that
	 * never move: every chunk takes at least 33 input bytes, and every
	 * string at most its input bytes plus a NUL. */
	t->entries = calloc(count ? count : 1, sizeof(*t->entries));
	t->chunk_arena = malloc((n / (OID_LEN + 1) + 1) * sizeof(struct chunk_ref));
	t->str_arena = malloc(n + 3 * count + 1);
	if (!t->entries || !t->chunk_arena || !t->str_arena) {
		tree_free(t);
		return -ENOMEM;
	}
	struct chunk_ref *chunks = t->chunk_arena;
	char *strs = t->str_arena;
	for (size_t i = 0; i < count && !rd.err; i++) {
		decode_entry(&rd, &t->entries[i], &chunks, &strs);
		if (!rd.err && (check_entry(&t->entries[i]) < 0 ||
				(i && entry_cmp(&t->entries[i - 1], &t->entries[i]) >= 0)))
			rd_fail(&rd);
	}
	if (rd.err || rd_left(&rd)) {
		tree_free(t);
		return -EBADMSG;
	}
	t->count = count;
	*out = t;
	return 0;
}

const struct tree_entry *tree_lookup(const struct tree *t, const char *name, size_t len)
{
	size_t lo = 0, hi = t->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct tree_entry *e = &t->entries[mid];
		int c = tree_name_cmp(name, len, e->name, e->name_len);
		if (!c)
			return e;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static void *dup_bytes(const void *p, size_t n, size_t extra)
{
	char *d = malloc(n + extra);
	if (d) {
		if (n)
			memcpy(d, p, n);
		if (extra)
			d[n] = 0;
	}
	return d;
}

int tree_entry_copy(struct tree_entry *dst, const struct tree_entry *src)
{
	*dst = *src;
	dst->name = dup_bytes(src->name ? src->name : "", src->name_len, 1);
	dst->target = src->target ? dup_bytes(src->target, src->target_len, 1) : NULL;
	dst->chunks = src->nchunks ? dup_bytes(src->chunks,
					       src->nchunks * sizeof(*src->chunks), 0)
				   : NULL;
	dst->ext = src->ext_len ? dup_bytes(src->ext, src->ext_len, 0) : NULL;
	if (!dst->name || (src->target && !dst->target) ||
	    (src->nchunks && !dst->chunks) || (src->ext_len && !dst->ext)) {
		tree_entry_release(dst);
		return -ENOMEM;
	}
	return 0;
}

void tree_entry_release(struct tree_entry *e)
{
	free(e->name);
	free(e->target);
	free(e->chunks);
	free(e->ext);
	memset(e, 0, sizeof(*e));
}
