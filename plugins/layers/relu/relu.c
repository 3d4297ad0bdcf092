/* relu.c — the rectified linear unit (leaky with slope != 0), forward and backward on Vulkan,
 * with a plain CPU twin for the tests. Elementwise, so tensors larger than one storage binding
 * (lavapipe: 128 MiB) are processed in aligned ranges, one dispatch per range. */
#include <string.h>

#include "loupe/plugin.h"

static const uint32_t forward_spv[] =
#include "relu/forward.spv.inc"
	;
static const uint32_t backward_spv[] =
#include "relu/backward.spv.inc"
	;

typedef struct push {
	uint32_t n;
	float slope;
} push;
_Static_assert(sizeof(push) <= 128, "push constants must fit the guaranteed 128 bytes");

#define WORKGROUP 256u
#define MAX_GROUPS 65535u

typedef struct state {
	float slope;
	lp_kernel *fwd, *bwd;
} state;

static const lp_host *host;

static int init(lp_ctx *ctx, void *st, const lp_params *p)
{
	state *s = st;

	s->slope = (float)host->param_number(p, "slope");
	if (!(s->slope >= 0.0f && s->slope < 1.0f))
		return host->error(ctx, LP_ERR_ARG, "relu: slope %g outside [0, 1)", (double)s->slope);
	return LP_OK;
}

static int build(lp_ctx *ctx, void *st)
{
	state *s = st;
	const uint32_t spec[] = { WORKGROUP };
	lp_kernel_desc f = { sizeof f, "relu.forward", forward_spv, sizeof forward_spv, 2,
			     sizeof(push), 1, spec };
	lp_kernel_desc b = { sizeof b, "relu.backward", backward_spv, sizeof backward_spv, 3,
			     sizeof(push), 1, spec };
	int rc = host->kernel_new(ctx, &f, &s->fwd);

	return rc ? rc : host->kernel_new(ctx, &b, &s->bwd);
}

static void destroy(lp_ctx *ctx, void *st)
{
	state *s = st;

	(void)ctx;
	host->kernel_free(s->fwd);
	host->kernel_free(s->bwd);
}

static int shape(lp_ctx *ctx, void *st, int rank, const int64_t *in, int *out_rank, int64_t *out)
{
	(void)ctx;
	(void)st;
	*out_rank = rank;
	memcpy(out, in, (size_t)rank * sizeof(*in));
	return LP_OK;
}

static int check_same(lp_ctx *ctx, const lp_tensor *a, const lp_tensor *b, const char *what)
{
	if (!a || !b)
		return host->error(ctx, LP_ERR_ARG, "relu: %s: missing tensor", what);
	if (host->tensor_dtype(a) != LP_F32 || host->tensor_dtype(b) != LP_F32)
		return host->error(ctx, LP_ERR_ARG, "relu: %s: tensors must be float32", what);
	if (host->tensor_numel(a) != host->tensor_numel(b))
		return host->error(ctx, LP_ERR_SHAPE, "relu: %s: %s has %lld elements, %s has %lld",
				   what, host->tensor_name(a), (long long)host->tensor_numel(a),
				   host->tensor_name(b), (long long)host->tensor_numel(b));
	return LP_OK;
}

/* Dispatch `k` over all elements, in ranges that fit one binding and keep its alignment. */
static int run(lp_ctx *ctx, const state *s, lp_cmd *cmd, lp_kernel *k, const lp_tensor *const *t,
	       uint32_t nt)
{
	uint64_t n = (uint64_t)host->tensor_numel(t[0]);
	uint64_t align = host->binding_align(ctx), max = host->max_binding_bytes(ctx);
	uint64_t chunk = (max / align * align) / sizeof(float);
	lp_binding b[3];

	if (chunk > (1u << 30)) /* n is a uint32 push constant */
		chunk = 1u << 30;
	if (chunk == 0)
		return host->error(ctx, LP_ERR_LIMIT, "relu: device binding limit %llu is too small",
				   (unsigned long long)max);
	for (uint64_t off = 0; off < n; off += chunk) {
		uint64_t len = n - off < chunk ? n - off : chunk;
		uint64_t groups = (len + WORKGROUP - 1) / WORKGROUP;
		push pc = { (uint32_t)len, s->slope };
		for (uint32_t i = 0; i < nt; i++)
			b[i] = (lp_binding){ t[i], off * sizeof(float), len * sizeof(float) };
		uint32_t g[3] = { groups < MAX_GROUPS ? (uint32_t)groups : MAX_GROUPS, 1, 1 };
		int rc = host->dispatch(cmd, k, g, &pc, sizeof pc, b, nt);
		if (rc)
			return rc;
	}
	return LP_OK;
}

static int forward(lp_ctx *ctx, void *st, lp_cmd *cmd, const lp_layer_io *io)
{
	int rc = check_same(ctx, io->x, io->y, "forward");
	const lp_tensor *t[2] = { io->x, io->y };

	if (rc || host->tensor_numel(io->x) == 0)
		return rc;
	return run(ctx, st, cmd, ((state *)st)->fwd, t, 2);
}

static int backward(lp_ctx *ctx, void *st, lp_cmd *cmd, const lp_layer_io *io)
{
	int rc = check_same(ctx, io->x, io->dy, "backward");
	const lp_tensor *t[3] = { io->x, io->dy, io->dx };

	if (rc || (rc = check_same(ctx, io->x, io->dx, "backward")) ||
	    host->tensor_numel(io->x) == 0)
		return rc;
	return run(ctx, st, cmd, ((state *)st)->bwd, t, 3);
}

static int64_t count(int rank, const int64_t *dims)
{
	int64_t n = 1;

	for (int i = 0; i < rank; i++)
		n *= dims[i];
	return n;
}

static int forward_ref(lp_ctx *ctx, void *st, const lp_ref_io *io)
{
	const state *s = st;

	(void)ctx;
	for (int64_t i = 0, n = count(io->rank, io->in_dims); i < n; i++)
		io->y[i] = io->x[i] > 0.0f ? io->x[i] : s->slope * io->x[i];
	return LP_OK;
}

static int backward_ref(lp_ctx *ctx, void *st, const lp_ref_io *io)
{
	const state *s = st;

	(void)ctx;
	for (int64_t i = 0, n = count(io->rank, io->in_dims); i < n; i++)
		io->dx[i] = io->x[i] > 0.0f ? io->dy[i] : s->slope * io->dy[i];
	return LP_OK;
}

static const lp_param_spec params[] = {
	{ "slope", LP_PARAM_NUMBER, "0", "slope for negative inputs (0 = ReLU, e.g. 0.01 = leaky)" },
	{ 0 },
};

static const lp_layer_vtable vtable = {
	.size = sizeof(lp_layer_vtable),
	.init = init,
	.shape = shape,
	.build = build,
	.forward = forward,
	.backward = backward,
	.destroy = destroy,
	.forward_ref = forward_ref,
	.backward_ref = backward_ref,
};

static const lp_plugin plugin = {
	LP_PLUGIN_HEADER,
	.kind = LP_KIND_LAYER,
	.name = "relu",
	.version = "1.0.0",
	.summary = "rectified linear unit, y = max(x, slope * x), with its gradient",
	.params = params,
	.state_size = sizeof(state),
	.vtable = &vtable,
};

LP_PLUGIN_DEFINE(plugin)
