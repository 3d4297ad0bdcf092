/* scale.c — a minimal layer plugin: y = factor * x, dx = factor * dy. */
#include "loupe/plugin.h"

static const uint32_t scale_spv[] =
#include "scale/scale.spv.inc"
	;

typedef struct push {
	uint32_t n;
	float factor;
} push;

typedef struct state {
	float factor;
	lp_kernel *kernel;
} state;

static const lp_host *host;

static int init(lp_ctx *ctx, void *st, const lp_params *p)
{
	(void)ctx;
	((state *)st)->factor = (float)host->param_number(p, "factor");
	return LP_OK;
}

static int build(lp_ctx *ctx, void *st)
{
	const uint32_t spec[] = { 256 }; /* workgroup size: specialization constant 0 */
	lp_kernel_desc d = { sizeof d, "scale", scale_spv, sizeof scale_spv, 2, sizeof(push), 1,
			     spec };
	return host->kernel_new(ctx, &d, &((state *)st)->kernel);
}

static void destroy(lp_ctx *ctx, void *st)
{
	(void)ctx;
	host->kernel_free(((state *)st)->kernel);
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

/* One dispatch over all elements (tensors up to one storage binding; see relu.c to split). */
static int apply(lp_ctx *ctx, state *s, lp_cmd *cmd, const lp_tensor *in, lp_tensor *out)
{
	int64_t n = host->tensor_numel(in);
	push pc = { (uint32_t)n, s->factor };
	lp_binding b[2] = { { in, 0, 0 }, { out, 0, 0 } };
	uint32_t groups[3] = { (uint32_t)((n + 255) / 256), 1, 1 };

	if (n == 0 || groups[0] > 65535)
		return host->error(ctx, LP_ERR_SHAPE, "scale: %lld elements", (long long)n);
	return host->dispatch(cmd, s->kernel, groups, &pc, sizeof pc, b, 2);
}

static int forward(lp_ctx *ctx, void *st, lp_cmd *cmd, const lp_layer_io *io)
{
	return apply(ctx, st, cmd, io->x, io->y);
}

static int backward(lp_ctx *ctx, void *st, lp_cmd *cmd, const lp_layer_io *io)
{
	return apply(ctx, st, cmd, io->dy, io->dx);
}

static const lp_param_spec params[] = {
	{ "factor", LP_PARAM_NUMBER, "2", "the constant to multiply by" },
	{ 0 },
};

static const lp_layer_vtable vtable = {
	.size = sizeof vtable, .init = init, .shape = shape, .build = build,
	.forward = forward, .backward = backward, .destroy = destroy,
};

static const lp_plugin plugin = {
	LP_PLUGIN_HEADER, .kind = LP_KIND_LAYER,
	.name = "scale", .version = "0.1.0", .summary = "multiply by a constant",
	.params = params, .state_size = sizeof(state), .vtable = &vtable,
};

LP_PLUGIN_DEFINE(plugin) /* lp_plugin_init: checks the host, sets `host`, returns &plugin */
