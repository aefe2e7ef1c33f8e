/* Hex and base64 encoding of binary values (ids, salts, wrapped keys). */
#ifndef CAIRN_LIB_HEX_H
#define CAIRN_LIB_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2n lowercase hex digits and a NUL to out (2n+1 bytes). */
void hex_encode(char *out, const void *in, size_t n);
/* Decodes exactly 2n hex digits (either case) from a NUL-terminated or
 * longer string.  0 or -EINVAL. */
int hex_decode(void *out, const char *in, size_t n);
/* Length of the leading run of hex digits in s. */
size_t hex_span(const char *s);

/* Standard base64 with padding.  Returns a malloc'd NUL-terminated string
 * (caller frees) or NULL on ENOMEM. */
char *base64_encode(const void *in, size_t n);
/* Decodes into out (at most max bytes).  Returns the length or -EINVAL. */
long base64_decode(void *out, size_t max, const char *in);

#endif
