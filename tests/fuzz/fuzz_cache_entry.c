/* libFuzzer target: entries of the read cache (store/backend_cache.c).
 *
 * Each input is checked as an entry file as it is, and with its length
 * and SHA-256 fields rewritten to match its payload so that the fuzzer
 * gets past the hash.  An accepted entry's payload must lie inside the
 * input and hash to the recorded value; a rewritten one must be accepted.
 */
#define FUZZ_TARGET
#include "common.h"

#include <errno.h>

#include "lib/buf.h"
#include "store/backend.h"

#define HDR 48

static void check(const uint8_t *p, size_t n)
{
	const uint8_t *data = NULL;
	size_t len = 0;
	int r = backend_cache_parse_entry(p, n, &data, &len);
	if (r < 0) {
		FUZZ_ASSERT(r == -EBADMSG);
		return;
	}
	FUZZ_ASSERT(n >= HDR && data == p + HDR && len == n - HDR);
	struct oid h;
	crypto_sha256(&h, data, len);
	FUZZ_ASSERT(memcmp(h.b, p + 16, 32) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(data, size);
	if (size >= HDR) {
		uint8_t *copy = malloc(size);
		FUZZ_ASSERT(copy);
		memcpy(copy, data, size);
		memcpy(copy, "cairnCC1", 8);
		put_u64le(copy + 8, size - HDR);
		struct oid h;
		crypto_sha256(&h, copy + HDR, size - HDR);
		memcpy(copy + 16, h.b, 32);
		const uint8_t *d;
		size_t len;
		FUZZ_ASSERT(backend_cache_parse_entry(copy, size, &d, &len) == 0);
		check(copy, size);
		free(copy);
	}
	return 0;
}
