/* Pack building and pack table decoding (include/store/pack.h,
 * docs/FORMAT.md §3). */
#include "store/pack.h"

#include <errno.h>
#include <stdlib.h>

#define TABLE_VERSION 1

void pack_builder_init(struct pack_builder *pb)
{
	buf_init(&pb->data);
	pb->ents = NULL;
	pb->n = pb->cap = 0;
}

void pack_builder_release(struct pack_builder *pb)
{
	buf_release(&pb->data);
	free(pb->ents);
	pack_builder_init(pb);
}

void pack_builder_reset(struct pack_builder *pb)
{
	buf_reset(&pb->data);
	pb->n = 0;
}

int pack_builder_add(struct pack_builder *pb, const struct oid *id, uint8_t type,
		     uint32_t plain_len, const void *box, size_t len)
{
	if (pb->data.len + len > UINT32_MAX || pb->n >= PACK_MAX_BLOBS)
		return -EFBIG;
	if (pb->n == pb->cap) {
		size_t cap = pb->cap ? pb->cap * 2 : 256;
		struct pack_entry *e = realloc(pb->ents, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		pb->ents = e;
		pb->cap = cap;
	}
	struct pack_entry *e = &pb->ents[pb->n];
	e->id = *id;
	e->type = type;
	e->offset = (uint32_t)pb->data.len;
	e->length = (uint32_t)len;
	e->plain_len = plain_len;
	int r = buf_append(&pb->data, box, len);
	if (r < 0)
		return r;
	pb->n++;
	return 0;
}

int pack_builder_finish(struct pack_builder *pb, struct codec *c)
{
	struct buf t = BUF_INIT;
	int r = buf_put_u8(&t, TABLE_VERSION);
	if (!r)
		r = buf_put_u32le(&t, (uint32_t)pb->n);
	for (size_t i = 0; !r && i < pb->n; i++) {
		const struct pack_entry *e = &pb->ents[i];
		if (!(r = buf_put_u8(&t, e->type)) &&
		    !(r = buf_append(&t, e->id.b, OID_LEN)) &&
		    !(r = buf_put_u32le(&t, e->offset)) &&
		    !(r = buf_put_u32le(&t, e->length)))
			r = buf_put_u32le(&t, e->plain_len);
	}
	size_t before = pb->data.len;
	if (!r)
		r = codec_seal(c, OBJ_PACK_TABLE, NULL, t.data, t.len, &pb->data);
	if (!r && pb->data.len - before > UINT32_MAX)
		r = -EFBIG;
	if (!r)
		r = buf_put_u32le(&pb->data, (uint32_t)(pb->data.len - before));
	if (!r)
		r = buf_append(&pb->data, PACK_MAGIC, 8);
	buf_release(&t);
	return r;
}

int pack_parse_trailer(const uint8_t tail[PACK_TRAILER_LEN], uint64_t pack_size,
		       uint32_t *table_len)
{
	if (pack_size < PACK_TRAILER_LEN + BOX_OVERHEAD ||
	    memcmp(tail + 4, PACK_MAGIC, 8))
		return -EBADMSG;
	uint32_t len = get_u32le(tail);
	if (len < BOX_OVERHEAD || len > pack_size - PACK_TRAILER_LEN)
		return -EBADMSG;
	*table_len = len;
	return 0;
}

static int cmp_offset(const void *a, const void *b)
{
	const struct pack_entry *x = a, *y = b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Entries must not overlap and must end before the table. */
static int check_layout(struct pack_entry *e, size_t n, uint64_t table_offset)
{
	struct pack_entry *s = malloc(n ? n * sizeof(*s) : 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, e, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_offset);
	uint64_t end = 0;
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i].offset < end || s[i].length < BOX_OVERHEAD ||
		    (uint64_t)s[i].offset + s[i].length > table_offset) {
			r = -EBADMSG;
			break;
		}
		end = (uint64_t)s[i].offset + s[i].length;
	}
	free(s);
	return r;
}

int pack_decode_table(struct codec *c, const void *box, size_t n,
		      uint64_t table_offset, struct pack_entry **ents, size_t *count)
{
	struct buf t = BUF_INIT;
	struct pack_entry *e = NULL;
	int r = codec_open(c, OBJ_PACK_TABLE, NULL, box, n,
			   5 + (size_t)PACK_MAX_BLOBS * PACK_TABLE_ENTRY_LEN, &t);
	if (r < 0)
		goto out;
	struct rd rd;
	rd_init(&rd, t.data, t.len);
	uint8_t version = rd_u8(&rd);
	uint32_t cnt = rd_u32le(&rd);
	if (rd.err || version != TABLE_VERSION || cnt > PACK_MAX_BLOBS ||
	    rd_left(&rd) != (size_t)cnt * PACK_TABLE_ENTRY_LEN) {
		r = -EBADMSG;
		goto out;
	}
	e = malloc(cnt ? cnt * sizeof(*e) : 1);
	if (!e) {
		r = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < cnt; i++) {
		e[i].type = rd_u8(&rd);
		const uint8_t *id = rd_bytes(&rd, OID_LEN);
		if (id)
			memcpy(e[i].id.b, id, OID_LEN);
		e[i].offset = rd_u32le(&rd);
		e[i].length = rd_u32le(&rd);
		e[i].plain_len = rd_u32le(&rd);
		if (e[i].type != OBJ_DATA && e[i].type != OBJ_TREE)
			rd_fail(&rd);
	}
	if (rd.err) {
		r = -EBADMSG;
		goto out;
	}
	if ((r = check_layout(e, cnt, table_offset)) < 0)
		goto out;
	*ents = e;
	*count = cnt;
	e = NULL;
out:
	free(e);
	buf_release(&t);
	return r;
}
