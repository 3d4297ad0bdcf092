/* fixture.c — one layer plugin source compiled into many deliberately broken .so files, one
 * per loader refusal (tests/unit/test_loader.c). FIXTURE_NAME is the file stem; the FIX_*
 * macro chooses the defect. Without one, the plugin is valid (and has required and optional
 * parameters of every type, for tests/unit/test_params.c). */
#include "loupe/plugin.h"

static const lp_host *host;

static int init(lp_ctx *ctx, void *st, const lp_params *p)
{
	(void)st;
#ifdef FIX_UNDECLARED
	(void)host->param_number(p, "kk"); /* not in params[]: a plugin bug the core reports */
#endif
	if (host->param_int(p, "k") < 0)
		return host->error(ctx, LP_ERR_ARG, FIXTURE_NAME ": k must be >= 0");
	return LP_OK;
}

static int shape(lp_ctx *ctx, void *st, int rank, const int64_t *in, int *out_rank, int64_t *out)
{
	(void)ctx;
	(void)st;
	*out_rank = rank;
	for (int i = 0; i < rank; i++)
		out[i] = in[i];
	return LP_OK;
}

static int pass(lp_ctx *ctx, void *st, lp_cmd *cmd, const lp_layer_io *io)
{
	(void)st;
	(void)cmd;
	(void)io;
	return host->error(ctx, LP_ERR_ARG, FIXTURE_NAME ": this fixture computes nothing");
}

static const lp_param_spec params[] = {
	{ "k", LP_PARAM_INT, NULL, "a required integer" },
#ifdef FIX_BADSPEC
	{ "alpha", LP_PARAM_NUMBER, "abc", "a default that is not a number" },
#else
	{ "alpha", LP_PARAM_NUMBER, "0.5", "an optional number" },
#endif
	{ "flag", LP_PARAM_BOOL, "false", "an optional boolean" },
	{ "mode", LP_PARAM_STRING, "fast", "an optional string" },
	{ 0 },
};

static const lp_layer_vtable vtable = {
	.size = sizeof(lp_layer_vtable),
	.init = init,
	.shape = shape,
#ifndef FIX_NULLSLOT
	.forward = pass,
#endif
	.backward = pass,
};

static const lp_plugin plugin = {
#ifdef FIX_ABI
	.abi_version = 99,
#else
	.abi_version = LP_ABI_VERSION,
#endif
#ifdef FIX_SHORT
	.size = 16,
#else
	.size = sizeof(lp_plugin),
#endif
#ifdef FIX_KIND
	.kind = 99,
#else
	.kind = LP_KIND_LAYER,
#endif
#ifdef FIX_NAME
	.name = "someone_else",
#else
	.name = FIXTURE_NAME,
#endif
	.version = "0.0.1",
	.summary = "test fixture",
	.params = params,
	.state_size = 16,
	.vtable = &vtable,
};

#ifdef FIX_NOSYM
LP_EXPORT const lp_plugin *lp_plugin_init_v0(const lp_host *h)
#else
LP_EXPORT const lp_plugin *lp_plugin_init(const lp_host *h)
#endif
{
	host = h;
#ifdef FIX_NULLDESC
	return plugin.size ? NULL : &plugin; /* always NULL; keeps `plugin` used */
#else
	return &plugin;
#endif
}
