/* A tiny test harness.  Each TEST is a function; RUN prints one TAP-style
 * line per test ("ok - name" / "not ok - name"), which tests/run counts.
 * CHECK* record a failure with file and line and carry on. */
#ifndef CAIRN_TEST_HARNESS_H
#define CAIRN_TEST_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int h_checks_failed, h_tests_passed, h_tests_failed;

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			h_checks_failed++;                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                            \
		}                                                            \
	} while (0)

#define CHECK_EQ(a, b)                                                        \
	do {                                                                  \
		long long h_a = (long long)(a), h_b = (long long)(b);         \
		if (h_a != h_b) {                                             \
			h_checks_failed++;                                    \
			fprintf(stderr, "%s:%d: check failed: %s == %s (%lld != %lld)\n", \
				__FILE__, __LINE__, #a, #b, h_a, h_b);        \
		}                                                             \
	} while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)
#define CHECK_STR(a, b) CHECK(strcmp((a), (b)) == 0)

#define TEST(name) static void name(void)

#define RUN(name)                                                         \
	do {                                                              \
		int h_before = h_checks_failed;                           \
		name();                                                   \
		if (h_checks_failed == h_before) {                        \
			h_tests_passed++;                                 \
			printf("ok - %s\n", #name);                       \
		} else {                                                  \
			h_tests_failed++;                                 \
			printf("not ok - %s\n", #name);                   \
		}                                                         \
		fflush(stdout);                                           \
	} while (0)

#define HARNESS_DONE()                                                    \
	do {                                                              \
		printf("# %d passed, %d failed\n", h_tests_passed,        \
		       h_tests_failed);                                   \
		return h_tests_failed ? 1 : 0;                            \
	} while (0)

/* Deterministic pseudo-random numbers (splitmix64).  rnd_next keeps its
 * state in *s (one per thread); rnd uses rng_state, which tests may reseed. */
static inline uint64_t rnd_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static inline uint64_t rnd(void)
{
	return rnd_next(&rng_state);
}

static inline void rnd_fill(void *p, size_t n)
{
	uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rnd();
}

/* A fresh temporary directory (malloc'd path) removed by test_rmtree. */
static inline char *test_tmpdir(void)
{
	char tmpl[] = "/tmp/cairn-test-XXXXXX";
	const char *d = mkdtemp(tmpl);
	return d ? strdup(d) : NULL;
}

static inline void test_rmtree(const char *dir)
{
	char cmd[4200];
	if (!dir || strncmp(dir, "/tmp/cairn-test-", 16))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

#endif
