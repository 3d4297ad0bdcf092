/*
 * test_util.h — the little the C tests share: checks that report file:line, a context whose
 * validation-layer count is checked at the end, and a seeded random source independent of the
 * core's RNG.
 */
#ifndef LOUPE_TEST_UTIL_H
#define LOUPE_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/loupe.h"

static int tu_failures;

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);      \
			tu_failures++;                                                       \
		}                                                                            \
	} while (0)

#define CHECK_OK(ctx, expr)                                                                  \
	do {                                                                                 \
		int rc_ = (expr);                                                            \
		if (rc_ != LP_OK) {                                                          \
			fprintf(stderr, "FAIL %s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #expr, \
				lp_status_name(rc_), lp_ctx_errmsg(ctx));                    \
			tu_failures++;                                                       \
		}                                                                            \
	} while (0)

/* The message must contain every one of the NULL-terminated needles. */
static inline int tu_has_all(const char *msg, const char *const *needles)
{
	for (; *needles; needles++)
		if (!strstr(msg, *needles))
			return 0;
	return 1;
}

#define CHECK_MSG(ctx, ...)                                                                  \
	do {                                                                                 \
		const char *const n_[] = { __VA_ARGS__, NULL };                              \
		if (!tu_has_all(lp_ctx_errmsg(ctx), n_)) {                                   \
			fprintf(stderr, "FAIL %s:%d: message \"%s\" lacks one of: %s\n",     \
				__FILE__, __LINE__, lp_ctx_errmsg(ctx), #__VA_ARGS__);       \
			tu_failures++;                                                       \
		}                                                                            \
	} while (0)

static inline void tu_log(void *user, int level, const char *msg)
{
	(void)user;
	if (level >= LP_LOG_WARN)
		fprintf(stderr, "loupe: %s\n", msg);
}

static inline lp_ctx *tu_ctx(void)
{
	lp_ctx *ctx;
	if (lp_ctx_new(&ctx) != LP_OK) {
		fprintf(stderr, "FAIL: lp_ctx_new\n");
		exit(1);
	}
	lp_ctx_set_log(ctx, tu_log, NULL);
	return ctx;
}

/* Close the device (leaked Vulkan objects are reported then), check the validation layer said
 * nothing, free the context, and turn the failure count into the exit status. */
static inline int tu_finish(lp_ctx *ctx, const char *name)
{
	lp_device_close(ctx);
	unsigned long long n = (unsigned long long)lp_device_validation_count(ctx);
	lp_ctx_free(ctx);
	if (n) {
		fprintf(stderr, "FAIL %s: the validation layer reported %llu message(s)\n", name, n);
		tu_failures++;
	}
	if (tu_failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", name, tu_failures);
		return 1;
	}
	printf("%s: ok\n", name);
	return 0;
}

/* xorshift64*: the tests' own random numbers, independent of the core's splitmix64. */
static inline float tu_rand(unsigned long long *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (float)((*s * 2685821657736338717ull) >> 40) / (float)(1 << 24) * 2.0f - 1.0f;
}

#endif
