/* Hex and base64 (include/lib/hex.h).  base64 goes through OpenSSL's EVP
 * encoder so there is no hand-written table to get wrong. */
#include "lib/hex.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

void hex_encode(char *out, const void *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = in;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(void *out, const char *in, size_t n)
{
	uint8_t *p = out;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(in[2 * i]);
		int lo = hi < 0 ? -1 : hexval(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		p[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

size_t hex_span(const char *s)
{
	size_t n = 0;
	while (hexval(s[n]) >= 0)
		n++;
	return n;
}

char *base64_encode(const void *in, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (!out)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	return out;
}

long base64_decode(void *out, size_t max, const char *in)
{
	size_t len = strlen(in);
	if (len % 4 || len / 4 * 3 > max + 2 || len > (1u << 20))
		return -EINVAL;
	/* '=' only as padding at the very end: EVP_DecodeBlock would take it
	 * anywhere as zero bits. */
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '=' && i + 2 < len)
			return -EINVAL;
		if (in[i] == '=' && i + 1 < len && in[i + 1] != '=')
			return -EINVAL;
	}
	unsigned char *tmp = malloc(len / 4 * 3 + 1);
	if (!tmp)
		return -ENOMEM;
	int n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
	if (n < 0) {
		free(tmp);
		return -EINVAL;
	}
	/* EVP_DecodeBlock counts padding as zero bytes; drop them */
	if (len && in[len - 1] == '=')
		n--;
	if (len > 1 && in[len - 2] == '=')
		n--;
	if ((size_t)n > max) {
		free(tmp);
		return -EINVAL;
	}
	memcpy(out, tmp, (size_t)n);
	free(tmp);
	return n;
}
