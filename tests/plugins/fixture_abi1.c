/* fixture_abi1.c — a layer plugin built against ABI 1's plugin.h and types.h (copies kept in
 * tests/plugins/abi1/loupe/, as they were when ABI 2 came): its descriptor is ABI 1's size,
 * it declares a weight and parameters, and its init checks the host the ABI-1 way (version
 * equal to 1). tests/unit/test_loader.c loads it with today's core and runs it.
 * y = scale * x + w (w: one weight per feature, initialised to the constant `offset`). */
#include "loupe/plugin.h"

#if LP_ABI_VERSION != 1
#error "fixture_abi1 must be built against the ABI 1 header (tests/plugins/abi1)"
#endif

static const lp_host *host;

struct state {
	double scale, offset;
};

static int init(lp_ctx *ctx, void *st, const lp_params *p)
{
	struct state *s = st;
	(void)ctx;
	s->scale = host->param_number(p, "scale");
	s->offset = host->param_number(p, "offset");
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

static int weights(lp_ctx *ctx, void *st, int rank, const int64_t *in, lp_weight_decl *out,
		   uint32_t *n)
{
	struct state *s = st;
	(void)ctx;
	out[0] = (lp_weight_decl){ .name = "w", .rank = 1, .dims = { in[rank - 1] },
				   .init = LP_INIT_CONSTANT, .a = s->offset };
	*n = 1;
	return LP_OK;
}

static int pass(lp_ctx *ctx, void *st, lp_cmd *cmd, const lp_layer_io *io)
{
	(void)st;
	(void)cmd;
	(void)io;
	return host->error(ctx, LP_ERR_ARG, "fixture_abi1: on the device it computes nothing");
}

static int forward_ref(lp_ctx *ctx, void *st, const lp_ref_io *io)
{
	struct state *s = st;
	int64_t n = 1, f = io->in_dims[io->rank - 1];
	(void)ctx;
	for (int i = 0; i < io->rank; i++)
		n *= io->in_dims[i];
	for (int64_t i = 0; i < n; i++)
		io->y[i] = (float)(s->scale * io->x[i]) + io->w[0][i % f];
	return LP_OK;
}

static const lp_param_spec params[] = {
	{ "scale", LP_PARAM_NUMBER, "2", "the factor" },
	{ "offset", LP_PARAM_NUMBER, "0.5", "the weight's initial value" },
	{ 0 },
};

static const lp_layer_vtable vtable = {
	.size = sizeof(lp_layer_vtable), .init = init, .shape = shape, .weights = weights,
	.forward = pass, .backward = pass, .forward_ref = forward_ref,
};

static const lp_plugin plugin = {
	LP_ABI_VERSION, sizeof(lp_plugin), LP_KIND_LAYER, "fixture_abi1", "1.0.0",
	"a layer built against ABI 1", params, sizeof(struct state), &vtable,
};

LP_EXPORT const lp_plugin *lp_plugin_init(const lp_host *h)
{
	if (h->abi_version != LP_ABI_VERSION || h->size < sizeof(*h))
		return NULL;
	host = h;
	return &plugin;
}
