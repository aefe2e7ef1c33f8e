/* libFuzzer target: the repository config and key files (store/config.c,
 * docs/FORMAT.md §7-8).
 *
 * Each input goes through
 *  1. config_from_json; a config that parses must write out with
 *     config_to_json and parse again to the same config;
 *  2. keyfile_info; what it accepts must be within the documented Argon2
 *     bounds;
 *  3. keyfile_open with an empty password (refused before any work), and,
 *     for inputs under 4 KiB whose parameters are cheap (m <= 1024 KiB,
 *     t <= 2), with the fixed password of the seed key files: it may only
 *     succeed with the master secret those seeds wrap (common.h), since
 *     nothing else can pass AES-GCM.
 */
#define FUZZ_TARGET
#include "common.h"

#include "store/config.h"

static void check_config(const void *data, size_t size)
{
	struct repo_config c, again;
	int r = config_from_json(data, size, &c);
	if (r < 0) {
		FUZZ_ASSERT(r == -EBADMSG);
		return;
	}
	FUZZ_ASSERT(c.version == REPO_FORMAT_VERSION);
	FUZZ_ASSERT(chunker_params_check(&c.chunker) == 0);
	FUZZ_ASSERT(c.compression >= COMP_NONE && c.compression <= COMP_MAX);
	FUZZ_ASSERT(c.pack_size >= (1u << 20) && c.pack_size <= (1u << 30));

	struct buf j = BUF_INIT;
	FUZZ_ASSERT(config_to_json(&c, &j) == 0);
	r = config_from_json(j.data, j.len, &again);
	if (r < 0) {
		fprintf(stderr, "config_from_json refuses what config_to_json "
			"wrote (%d): %.*s\n", r, (int)j.len, (const char *)j.data);
		abort();
	}
	FUZZ_ASSERT(again.version == c.version && oid_eq(&again.id, &c.id));
	FUZZ_ASSERT(again.created_ns == c.created_ns);
	FUZZ_ASSERT(again.encrypted == c.encrypted);
	FUZZ_ASSERT(again.chunker.min == c.chunker.min &&
		    again.chunker.avg == c.chunker.avg &&
		    again.chunker.max == c.chunker.max);
	FUZZ_ASSERT(again.compression == c.compression && again.level == c.level);
	FUZZ_ASSERT(again.pack_size == c.pack_size);
	FUZZ_ASSERT(!memcmp(again.id_key, c.id_key, KEY_LEN));
	buf_release(&j);
}

static void check_keyfile(const void *data, size_t size)
{
	struct keyfile_info info;
	uint8_t master[MASTER_LEN];
	int r = keyfile_info(data, size, &info);
	int empty = keyfile_open(data, size, "", 0, master);
	if (r < 0) {
		FUZZ_ASSERT(r == -EBADMSG);
		FUZZ_ASSERT(empty == -EBADMSG);
		return;
	}
	FUZZ_ASSERT(empty == -EKEYREJECTED);
	FUZZ_ASSERT(info.kdf.t >= 1 && info.kdf.t <= 64);
	FUZZ_ASSERT(info.kdf.m >= 8 && info.kdf.m <= (4u << 20));
	FUZZ_ASSERT(info.kdf.p >= 1 && info.kdf.p <= 16);
	FUZZ_ASSERT(memchr(info.host, 0, sizeof(info.host)) &&
		    memchr(info.user, 0, sizeof(info.user)));

	/* Argon2 only where it is cheap */
	if (size >= 4096 || info.kdf.m > 1024 || info.kdf.t > 2)
		return;
	r = keyfile_open(data, size, FUZZ_PASSWORD, strlen(FUZZ_PASSWORD), master);
	if (r == 0) {
		struct repo_keys k = fuzz_keys(0);
		FUZZ_ASSERT(!memcmp(master, k.data_key, KEY_LEN) &&
			    !memcmp(master + KEY_LEN, k.id_key, KEY_LEN));
	} else if (r != -EKEYREJECTED && r != -EBADMSG) {
		fprintf(stderr, "keyfile_open = %d (%s), not 0, -EKEYREJECTED or "
			"-EBADMSG, for a key file keyfile_info accepts (t=%u m=%u p=%u)\n",
			r, strerror(-r), info.kdf.t, info.kdf.m, info.kdf.p);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_config(data, size);
	check_keyfile(data, size);
	return 0;
}
