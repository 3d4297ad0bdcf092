/* ctx.c — the context: error messages, logging, the seeded RNG, profile entries. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "vk/lpvk.h"

int lp_ctx_new(lp_ctx **out)
{
	lp_ctx *ctx = calloc(1, sizeof(*ctx));

	*out = NULL;
	if (!ctx)
		return LP_ERR_NOMEM;
	lp_ctx_seed(ctx, 0);
	const char *p = getenv("LOUPE_PROFILE");
	ctx->profile = p && *p && strcmp(p, "0") != 0;
	*out = ctx;
	return LP_OK;
}

void lp_ctx_free(lp_ctx *ctx)
{
	if (!ctx)
		return;
	lpi_plugins_free(ctx);
	lpvk_device_close(ctx->dev);
	for (size_t i = 0; i < ctx->nprof; i++)
		free((char *)ctx->prof[i].kernel);
	free(ctx->prof);
	free(ctx);
}

const char *lp_ctx_errmsg(const lp_ctx *ctx)
{
	return ctx && ctx->err[0] ? ctx->err : "no error";
}

int lp_verror(lp_ctx *ctx, int code, const char *fmt, va_list ap)
{
	if (ctx) {
		vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
		ctx->err_code = code;
	}
	return code;
}

int lp_error(lp_ctx *ctx, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lp_verror(ctx, code, fmt, ap);
	va_end(ap);
	return code;
}

int lp_error_wrap(lp_ctx *ctx, int code, const char *fmt, ...)
{
	char prefix[1024], old[sizeof ctx->err];
	va_list ap;

	if (!ctx)
		return code;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, ctx->err, sizeof old);
	if (snprintf(ctx->err, sizeof ctx->err, "%s: %s", prefix, old) >= (int)sizeof ctx->err)
		ctx->err[sizeof ctx->err - 1] = 0; /* truncated: keep what fits */
	ctx->err_code = code;
	return code;
}

void lp_ctx_set_log(lp_ctx *ctx, lp_log_fn fn, void *user)
{
	ctx->log = fn;
	ctx->log_user = user;
}

void lp_log(lp_ctx *ctx, int level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (!ctx || !ctx->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ctx->log(ctx->log_user, level, msg);
}

const char *lp_status_name(int code)
{
	static const char *const names[] = {
		"LP_OK", "LP_ERR_NOMEM", "LP_ERR_ARG", "LP_ERR_IO", "LP_ERR_FORMAT",
		"LP_ERR_SHAPE", "LP_ERR_VULKAN", "LP_ERR_HDF5", "LP_ERR_PLUGIN", "LP_ERR_ABI",
		"LP_ERR_NOTFOUND", "LP_ERR_LIMIT", "LP_ERR_BUSY",
	};
	if (code < 0 || (size_t)code >= sizeof names / sizeof names[0])
		return "LP_ERR_UNKNOWN";
	return names[code];
}

/* splitmix64 (Steele, Lea, Flood 2014): tiny, full-period, and good enough to seed and to
 * draw initial weights; a counter-based generator in the shaders handles dropout. */
void lp_ctx_seed(lp_ctx *ctx, uint64_t seed)
{
	ctx->seed = seed;
	ctx->rng = seed;
	ctx->has_spare = 0;
}

uint64_t lp_ctx_get_seed(const lp_ctx *ctx)
{
	return ctx->seed;
}

void lp_rng_state(const lp_ctx *ctx, char out[LP_RNG_STATE_LEN])
{
	snprintf(out, LP_RNG_STATE_LEN, "%llu %llu %d %a", (unsigned long long)ctx->seed,
		 (unsigned long long)ctx->rng, ctx->has_spare, ctx->spare);
}

int lp_rng_set_state(lp_ctx *ctx, const char *state)
{
	unsigned long long seed, rng;
	int spare_on;
	double spare;

	if (!state || sscanf(state, "%llu %llu %d %la", &seed, &rng, &spare_on, &spare) != 4)
		return lp_error(ctx, LP_ERR_FORMAT, "rng: '%s' is not an RNG state",
				state ? state : "(null)");
	ctx->seed = seed;
	ctx->rng = rng;
	ctx->has_spare = spare_on != 0;
	ctx->spare = spare;
	return LP_OK;
}

uint64_t lp_rng_next(lp_ctx *ctx)
{
	uint64_t z = (ctx->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

double lp_rng_uniform(lp_ctx *ctx)
{
	return (double)(lp_rng_next(ctx) >> 11) * 0x1.0p-53;
}

double lp_rng_normal(lp_ctx *ctx)
{
	double u, v;

	if (ctx->has_spare) {
		ctx->has_spare = 0;
		return ctx->spare;
	}
	do
		u = lp_rng_uniform(ctx);
	while (u <= 0.0);
	v = lp_rng_uniform(ctx);
	ctx->spare = sqrt(-2.0 * log(u)) * sin(2.0 * M_PI * v);
	ctx->has_spare = 1;
	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

void lp_ctx_set_profile(lp_ctx *ctx, int on)
{
	ctx->profile = on;
}

size_t lp_profile_get(const lp_ctx *ctx, const lp_profile_entry **out)
{
	*out = ctx->prof;
	return ctx->nprof;
}

void lpi_profile_reset(lp_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nprof; i++)
		free((char *)ctx->prof[i].kernel);
	ctx->nprof = 0;
}

int lpi_profile_add(lp_ctx *ctx, const char *kernel, double ms, const uint32_t groups[3])
{
	if (ctx->nprof == ctx->capprof) {
		size_t cap = ctx->capprof ? 2 * ctx->capprof : 64;
		lp_profile_entry *p = realloc(ctx->prof, cap * sizeof(*p));
		if (!p)
			return lp_error(ctx, LP_ERR_NOMEM, "profile: out of memory");
		ctx->prof = p;
		ctx->capprof = cap;
	}
	char *name = strdup(kernel);
	if (!name)
		return lp_error(ctx, LP_ERR_NOMEM, "profile: out of memory");
	ctx->prof[ctx->nprof++] = (lp_profile_entry){ name, ms, { groups[0], groups[1], groups[2] } };
	return LP_OK;
}
