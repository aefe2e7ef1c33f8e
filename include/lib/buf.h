/* Growable byte buffer with a hard size cap, and a bounds-checked reader.
 *
 * Every decoder of bytes from disk or network reads through struct rd: each
 * read checks the remaining length, and the first short read or bad value
 * sets a sticky error, so a decoder can read a whole record and test once.
 */
#ifndef CAIRN_LIB_BUF_H
#define CAIRN_LIB_BUF_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* No buffer grows past this; larger requests fail with -EFBIG.  Objects in a
 * repository are far smaller (packs are ~16 MiB, chunks at most 4 MiB). */
#define BUF_MAX ((size_t)1 << 30)

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

static inline void buf_init(struct buf *b) { b->data = NULL; b->len = b->cap = 0; }
/* Frees the storage; the buffer is empty and reusable afterwards. */
void buf_release(struct buf *b);
/* Keeps the storage, forgets the contents. */
static inline void buf_reset(struct buf *b) { b->len = 0; }
/* Makes room for at least `extra` more bytes.  0, -ENOMEM or -EFBIG. */
int buf_grow(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_put_u8(struct buf *b, uint8_t v);
int buf_put_u32le(struct buf *b, uint32_t v);
int buf_put_u64le(struct buf *b, uint64_t v);
/* LEB128 unsigned varint (at most 10 bytes). */
int buf_put_varint(struct buf *b, uint64_t v);
int buf_put_str(struct buf *b, const char *s); /* varint length + bytes */
/* Appends printf output; NUL-terminates without counting the NUL. */
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* NUL-terminates (not counted in len) and hands the storage to the caller,
 * who frees it; the buffer is left empty. */
char *buf_detach(struct buf *b, size_t *len);

static inline void put_u32le(uint8_t *p, uint32_t v)
{
	p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}
static inline uint32_t get_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static inline void put_u64le(uint8_t *p, uint64_t v)
{
	put_u32le(p, (uint32_t)v); put_u32le(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t get_u64le(const uint8_t *p)
{
	return get_u32le(p) | (uint64_t)get_u32le(p + 4) << 32;
}

/* Reader over borrowed bytes.  After any failed read, err is -EBADMSG and
 * every later read returns 0/NULL. */
struct rd {
	const uint8_t *p;
	const uint8_t *end;
	int err;
};

static inline void rd_init(struct rd *r, const void *p, size_t n)
{
	r->p = p; r->end = r->p + n; r->err = 0;
}
static inline size_t rd_left(const struct rd *r) { return r->err ? 0 : (size_t)(r->end - r->p); }
/* Marks the reader failed (for semantic checks done by the caller). */
static inline void rd_fail(struct rd *r) { r->err = -EBADMSG; }
const uint8_t *rd_bytes(struct rd *r, size_t n);
uint8_t rd_u8(struct rd *r);
uint32_t rd_u32le(struct rd *r);
uint64_t rd_u64le(struct rd *r);
/* Rejects encodings longer than 10 bytes, overflowing 64 bits, or longer
 * than needed (so decoded-then-encoded bytes are identical). */
uint64_t rd_varint(struct rd *r);
/* A varint that must be <= max. */
uint64_t rd_varint_max(struct rd *r, uint64_t max);

/* Zigzag mapping for signed varints. */
static inline uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

#endif
