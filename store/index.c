/* Index objects (include/store/index.h, docs/FORMAT.md §4). */
#include "store/index.h"

#include <errno.h>
#include <stdlib.h>

#include "store/repo.h"

#define INDEX_VERSION 1
/* Smallest encodings, to bound counts by the bytes that are really there. */
#define MIN_PACK_LEN (OID_LEN + 2)
#define MIN_BLOB_LEN (1 + OID_LEN + 3)

int index_encode_plain(const struct index_data *idx, struct buf *t)
{
	int r = buf_put_u8(t, INDEX_VERSION);
	if (!r)
		r = buf_put_varint(t, idx->npacks);
	for (size_t i = 0; !r && i < idx->npacks; i++) {
		const struct index_pack *p = &idx->packs[i];
		if (!(r = buf_append(t, p->id.b, OID_LEN)) &&
		    !(r = buf_put_varint(t, p->size)))
			r = buf_put_varint(t, p->nblobs);
		for (size_t k = 0; !r && k < p->nblobs; k++) {
			const struct pack_entry *e = &p->blobs[k];
			if (!(r = buf_put_u8(t, e->type)) &&
			    !(r = buf_append(t, e->id.b, OID_LEN)) &&
			    !(r = buf_put_varint(t, e->offset)) &&
			    !(r = buf_put_varint(t, e->length)))
				r = buf_put_varint(t, e->plain_len);
		}
	}
	return r;
}

int index_encode(struct codec *c, const struct index_data *idx, struct buf *out)
{
	struct buf t = BUF_INIT;
	int r = index_encode_plain(idx, &t);
	if (!r)
		r = codec_seal(c, OBJ_INDEX, NULL, t.data, t.len, out);
	buf_release(&t);
	return r;
}

void index_data_release(struct index_data *idx)
{
	for (size_t i = 0; i < idx->npacks; i++)
		free(idx->packs[i].blobs);
	free(idx->packs);
	idx->packs = NULL;
	idx->npacks = 0;
}

static int decode_pack(struct rd *rd, struct index_pack *p)
{
	const uint8_t *id = rd_bytes(rd, OID_LEN);
	if (id)
		memcpy(p->id.b, id, OID_LEN);
	p->size = rd_varint(rd);
	p->nblobs = rd_varint_max(rd, rd_left(rd) / MIN_BLOB_LEN);
	if (rd->err)
		return -EBADMSG;
	p->blobs = malloc(p->nblobs ? p->nblobs * sizeof(*p->blobs) : 1);
	if (!p->blobs)
		return -ENOMEM;
	for (size_t k = 0; k < p->nblobs; k++) {
		struct pack_entry *e = &p->blobs[k];
		e->type = rd_u8(rd);
		const uint8_t *bid = rd_bytes(rd, OID_LEN);
		if (bid)
			memcpy(e->id.b, bid, OID_LEN);
		e->offset = (uint32_t)rd_varint_max(rd, UINT32_MAX);
		e->length = (uint32_t)rd_varint_max(rd, UINT32_MAX);
		e->plain_len = (uint32_t)rd_varint_max(rd, UINT32_MAX);
		if ((e->type != OBJ_DATA && e->type != OBJ_TREE) ||
		    e->length < BOX_OVERHEAD ||
		    (uint64_t)e->offset + e->length > p->size)
			rd_fail(rd);
		if (rd->err)
			return -EBADMSG;
	}
	return 0;
}

int index_decode_plain(const void *p, size_t n, struct index_data *out)
{
	struct rd rd;
	rd_init(&rd, p, n);
	out->packs = NULL;
	out->npacks = 0;
	uint8_t version = rd_u8(&rd);
	size_t npacks = rd_varint_max(&rd, rd_left(&rd) / MIN_PACK_LEN);
	if (rd.err || version != INDEX_VERSION)
		return -EBADMSG;
	out->packs = calloc(npacks ? npacks : 1, sizeof(*out->packs));
	if (!out->packs)
		return -ENOMEM;
	int r = 0;
	for (size_t i = 0; i < npacks && !r; i++) {
		out->npacks = i + 1;
		r = decode_pack(&rd, &out->packs[i]);
	}
	if (!r && rd_left(&rd))
		r = -EBADMSG; /* trailing bytes */
	if (r < 0)
		index_data_release(out);
	return r;
}

int index_decode(struct codec *c, const void *box, size_t n, struct index_data *out)
{
	struct buf t = BUF_INIT;
	int r = codec_open(c, OBJ_INDEX, NULL, box, n, OBJECT_MAX, &t);
	if (!r)
		r = index_decode_plain(t.data, t.len, out);
	buf_release(&t);
	return r;
}
