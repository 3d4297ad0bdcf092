/* dropout.c — inverted dropout as PyTorch applies it in training: y = x * mask / (1 - p), where
 * mask_i = 1 when u_i >= p. u_i comes from a counter-based generator (Philox4x32-10, see
 * shaders/dropout/philox.glsl) keyed by the layer's seed and counted by (step, i): the mask
 * needs no storage, backward recomputes it (dx = dy * mask / (1 - p)), the same (seed, step)
 * gives the same mask and the next step a fresh one. In inference y = x and dx = dy.
 *
 * One kernel serves both directions. Tensors larger than one storage binding are processed in
 * aligned ranges, as relu.c does; each range passes its first element's index, so the mask
 * does not depend on the split. The CPU twin draws the same words, so masks agree exactly. */
#include <math.h>
#include <string.h>

#include "loupe/plugin.h"

static const uint32_t mask_spv[] =
#include "dropout/mask.spv.inc"
	;

/* Mirrors `Push` in shaders/dropout/mask.comp. */
typedef struct push {
	uint32_t n;
	uint32_t base_lo, base_hi; /* index of the range's first element in the tensor */
	uint32_t seed_lo, seed_hi;
	uint32_t step_lo, step_hi;
	uint32_t thr;              /* keep when the random word >= thr = ceil(p * 2^32) */
	float scale;               /* 1 / (1 - p) */
	uint32_t train;
} push;
_Static_assert(sizeof(push) <= 128, "push constants must fit the guaranteed 128 bytes");

#define WORKGROUP 256u
#define MAX_GROUPS 65535u

typedef struct state {
	double p;
	uint32_t thr;
	float scale;
	lp_kernel *fwd, *bwd;
} state;

static const lp_host *host;

static int init(lp_ctx *ctx, void *st, const lp_params *params)
{
	state *s = st;
	double t;

	s->p = host->param_number(params, "p");
	if (!(s->p >= 0.0 && s->p < 1.0))
		return host->error(ctx, LP_ERR_ARG, "dropout: p = %g outside [0, 1)", s->p);
	t = ceil(s->p * 4294967296.0);
	s->thr = t >= 4294967295.0 ? UINT32_MAX : (uint32_t)t;
	s->scale = (float)(1.0 / (1.0 - s->p));
	return LP_OK;
}

static int build(lp_ctx *ctx, void *st)
{
	state *s = st;
	const uint32_t spec[] = { WORKGROUP };
	lp_kernel_desc f = { sizeof f, "dropout.forward", mask_spv, sizeof mask_spv, 2,
			     sizeof(push), 1, spec };
	lp_kernel_desc b = f;
	int rc;

	b.name = "dropout.backward";
	rc = host->kernel_new(ctx, &f, &s->fwd);
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
		return host->error(ctx, LP_ERR_ARG, "dropout: %s: missing tensor", what);
	if (host->tensor_dtype(a) != LP_F32 || host->tensor_dtype(b) != LP_F32)
		return host->error(ctx, LP_ERR_ARG, "dropout: %s: tensors must be float32", what);
	if (host->tensor_numel(a) != host->tensor_numel(b))
		return host->error(ctx, LP_ERR_SHAPE, "dropout: %s: %s has %lld elements, %s has "
				   "%lld", what, host->tensor_name(a),
				   (long long)host->tensor_numel(a), host->tensor_name(b),
				   (long long)host->tensor_numel(b));
	return LP_OK;
}

/* out = in * mask * scale over all elements, in ranges that fit one binding. */
static int run(lp_ctx *ctx, const state *s, lp_cmd *cmd, lp_kernel *k, const lp_layer_io *io,
	       const lp_tensor *in, const lp_tensor *out)
{
	uint64_t n = (uint64_t)host->tensor_numel(in);
	uint64_t align = host->binding_align(ctx), max = host->max_binding_bytes(ctx);
	uint64_t chunk = (max / align * align) / sizeof(float);
	int train = io->training != 0;

	if (chunk > (1u << 30)) /* n is a uint32 push constant */
		chunk = 1u << 30;
	if (chunk == 0)
		return host->error(ctx, LP_ERR_LIMIT, "dropout: device binding limit %llu is too "
				   "small", (unsigned long long)max);
	for (uint64_t off = 0; off < n; off += chunk) {
		uint64_t len = n - off < chunk ? n - off : chunk;
		uint64_t groups = (len + WORKGROUP - 1) / WORKGROUP;
		push pc = { (uint32_t)len, (uint32_t)off, (uint32_t)(off >> 32),
			    (uint32_t)io->seed, (uint32_t)(io->seed >> 32), (uint32_t)io->step,
			    (uint32_t)(io->step >> 32), s->thr, s->scale, (uint32_t)train };
		lp_binding b[2] = { { in, off * sizeof(float), len * sizeof(float) },
				    { out, off * sizeof(float), len * sizeof(float) } };
		uint32_t g[3] = { groups < MAX_GROUPS ? (uint32_t)groups : MAX_GROUPS, 1, 1 };
		int rc = host->dispatch(cmd, k, g, &pc, sizeof pc, b, 2);
		if (rc)
			return rc;
	}
	return LP_OK;
}

static int forward(lp_ctx *ctx, void *st, lp_cmd *cmd, const lp_layer_io *io)
{
	int rc = check_same(ctx, io->x, io->y, "forward");

	if (rc || host->tensor_numel(io->x) == 0)
		return rc;
	return run(ctx, st, cmd, ((state *)st)->fwd, io, io->x, io->y);
}

static int backward(lp_ctx *ctx, void *st, lp_cmd *cmd, const lp_layer_io *io)
{
	int rc;

	if (!io->dx) /* nothing upstream wants dx */
		return LP_OK;
	if ((rc = check_same(ctx, io->dy, io->dx, "backward")) || host->tensor_numel(io->dy) == 0)
		return rc;
	return run(ctx, st, cmd, ((state *)st)->bwd, io, io->dy, io->dx);
}

/* Philox4x32-10, word 0 only: the C twin of philox4x32_10() in shaders/dropout/philox.glsl. */
static uint32_t philox(uint64_t index, uint64_t step, uint64_t seed)
{
	uint32_t c[4] = { (uint32_t)index, (uint32_t)(index >> 32), (uint32_t)step,
			  (uint32_t)(step >> 32) };
	uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);

	for (int r = 0; r < 10; r++) {
		if (r > 0)
			k0 += 0x9E3779B9u, k1 += 0xBB67AE85u;
		uint64_t p0 = (uint64_t)0xD2511F53u * c[0], p1 = (uint64_t)0xCD9E8D57u * c[2];
		uint32_t n0 = (uint32_t)(p1 >> 32) ^ c[1] ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c[3] ^ k1;
		c[0] = n0, c[1] = (uint32_t)p1, c[2] = n2, c[3] = (uint32_t)p0;
	}
	return c[0];
}

static void apply_ref(const state *s, const lp_ref_io *io, const float *in, float *out)
{
	int64_t n = 1;

	for (int i = 0; i < io->rank; i++)
		n *= io->in_dims[i];
	for (int64_t i = 0; i < n; i++)
		out[i] = io->training ? in[i] * (philox((uint64_t)i, io->step, io->seed) >= s->thr
							 ? s->scale : 0.0f)
				      : in[i];
}

static int forward_ref(lp_ctx *ctx, void *st, const lp_ref_io *io)
{
	(void)ctx;
	apply_ref(st, io, io->x, io->y);
	return LP_OK;
}

static int backward_ref(lp_ctx *ctx, void *st, const lp_ref_io *io)
{
	(void)ctx;
	if (io->dx)
		apply_ref(st, io, io->dy, io->dx);
	return LP_OK;
}

static const lp_param_spec params[] = {
	{ "p", LP_PARAM_NUMBER, "0.5", "probability of zeroing an element in training, [0, 1)" },
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
	.name = "dropout",
	.version = "1.0.0",
	.summary = "inverted dropout, y = x * mask / (1 - p) in training, identity in inference",
	.params = params,
	.state_size = sizeof(state),
	.vtable = &vtable,
};

LP_PLUGIN_DEFINE(plugin)
