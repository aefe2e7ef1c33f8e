/* Growable byte buffer and bounds-checked reader (include/lib/buf.h). */
#include "lib/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void buf_release(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

int buf_grow(struct buf *b, size_t extra)
{
	if (extra > BUF_MAX || b->len > BUF_MAX - extra)
		return -EFBIG;
	size_t need = b->len + extra + 1; /* room for a NUL from buf_detach */
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap < BUF_MAX / 2 ? cap * 2 : BUF_MAX + 1;
	uint8_t *p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	int r = buf_grow(b, n);
	if (r < 0)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int buf_put_u8(struct buf *b, uint8_t v)
{
	return buf_append(b, &v, 1);
}

int buf_put_u32le(struct buf *b, uint32_t v)
{
	uint8_t t[4];
	put_u32le(t, v);
	return buf_append(b, t, 4);
}

int buf_put_u64le(struct buf *b, uint64_t v)
{
	uint8_t t[8];
	put_u64le(t, v);
	return buf_append(b, t, 8);
}

int buf_put_varint(struct buf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;
	do {
		uint8_t c = v & 0x7f;
		v >>= 7;
		t[n++] = c | (v ? 0x80 : 0);
	} while (v);
	return buf_append(b, t, n);
}

int buf_put_str(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	int r = buf_put_varint(b, n);
	return r < 0 ? r : buf_append(b, s, n);
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	int r = buf_grow(b, (size_t)n + 1);
	if (r < 0)
		return r;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *buf_detach(struct buf *b, size_t *len)
{
	if (buf_grow(b, 0) < 0)
		return NULL;
	b->data[b->len] = 0;
	char *p = (char *)b->data;
	if (len)
		*len = b->len;
	buf_init(b);
	return p;
}

const uint8_t *rd_bytes(struct rd *r, size_t n)
{
	if (r->err || (size_t)(r->end - r->p) < n) {
		r->err = -EBADMSG;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	return p;
}

uint8_t rd_u8(struct rd *r)
{
	const uint8_t *p = rd_bytes(r, 1);
	return p ? p[0] : 0;
}

uint32_t rd_u32le(struct rd *r)
{
	const uint8_t *p = rd_bytes(r, 4);
	return p ? get_u32le(p) : 0;
}

uint64_t rd_u64le(struct rd *r)
{
	const uint8_t *p = rd_bytes(r, 8);
	return p ? get_u64le(p) : 0;
}

uint64_t rd_varint(struct rd *r)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 70; shift += 7) {
		const uint8_t *p = rd_bytes(r, 1);
		if (!p)
			return 0;
		uint64_t c = p[0] & 0x7f;
		/* the tenth byte may only carry the top bit of a 64-bit value */
		if (shift == 63 && (c > 1 || (p[0] & 0x80)))
			break;
		v |= c << shift;
		if (!(p[0] & 0x80)) {
			/* a final zero byte after others is an overlong form:
			 * refuse it, so every value has one encoding */
			if (shift && !c)
				break;
			return v;
		}
	}
	r->err = -EBADMSG;
	return 0;
}

uint64_t rd_varint_max(struct rd *r, uint64_t max)
{
	uint64_t v = rd_varint(r);
	if (v > max) {
		r->err = -EBADMSG;
		return 0;
	}
	return v;
}
