/* linear.c — the fully connected layer, exactly as PyTorch's nn.Linear: y = x W^T + b with
 * W [out, F], where an input [N, ...] is read as [N, F] (F = the product of the other dims, as
 * torch.flatten(x, 1) would), so the layer follows a convolution or a pooling directly.
 *
 * Every output is one sequential float sum in index order (the shaders mark it `precise`), which
 * the CPU twin repeats, so device and twin agree to the bit and no reduction uses atomics.
 * Tensors larger than one storage binding (lavapipe: 128 MiB; AlexNet's fc6 W is 151 MB) are
 * cut into ranges of whole rows at aligned offsets: W and dW by output features, x, dx, y and dy
 * by batch rows. Forward and dW write disjoint outputs per range; sums that span ranges (dx over
 * the ranges of W, dW and db over the ranges of the batch) are continued in range order by the
 * next dispatch, which starts from the stored partial — so the split never changes a bit. A sum
 * longer than MAX_TERMS is cut the same way (llvmpipe stops an invocation after 65535 loop
 * iterations, without a word). */
#include <string.h>

#include "loupe/plugin.h"

static const uint32_t forward_spv[] =
#include "linear/forward.spv.inc"
	;
static const uint32_t forward_vec4_spv[] =
#include "linear/forward_vec4.spv.inc"
	;
static const uint32_t backward_data_spv[] =
#include "linear/backward_data.spv.inc"
	;
static const uint32_t backward_data_vec4_spv[] =
#include "linear/backward_data_vec4.spv.inc"
	;
static const uint32_t backward_weight_spv[] =
#include "linear/backward_weight.spv.inc"
	;
static const uint32_t backward_weight_vec4_spv[] =
#include "linear/backward_weight_vec4.spv.inc"
	;
static const uint32_t backward_bias_spv[] =
#include "linear/backward_bias.spv.inc"
	;

/* Mirrors `Push` in shaders/linear/linear.glsl. */
typedef struct push {
	uint32_t n;          /* batch rows in this range */
	uint32_t f;          /* input features */
	uint32_t out;        /* output features (row stride of y and dy) */
	uint32_t o0;         /* first output feature of this range of W */
	uint32_t rows;       /* output features in this range */
	uint32_t k0, klen;   /* the terms of each output's sum that this dispatch adds */
	uint32_t accumulate; /* 1: continue the sum already stored in the output */
	uint32_t bias;       /* forward adds b (with the last terms) */
} push;
_Static_assert(sizeof(push) <= 128, "push constants must fit the guaranteed 128 bytes");

#define WORKGROUP 64u
#define MAX_GROUPS 65535u
#define MAX_ELEMS (1ull << 30) /* elements in one binding: indices stay uint32 */
/* Terms of a sum added by one dispatch: llvmpipe silently ends an invocation after 65535 loop
 * iterations (all loops together), so longer sums continue in the next dispatch. */
#define MAX_TERMS 32768u

/* Kernel index: each of the first three has a variant at +1 for f % 4 == 0 that reads four
 * features at a time (all of AlexNet's). */
enum { FWD, FWD4, BWD_DATA, BWD_DATA4, BWD_WEIGHT, BWD_WEIGHT4, BWD_BIAS, NKERNELS };

/* Tile sizes (outputs per invocation along the output's two dimensions; for the vec4 kernels
 * the second counts features, a multiple of 4) are the fastest of those tried on lavapipe
 * (LP_NUM_THREADS=1, [64, 4096] -> 4096, GFLOP/s per thread): forward 4 x 8: 4.2 (2 x 2: 1.7,
 * 8 x 8: 2.6), vec4 8.6; dx 8 x 8: 5.7, vec4 8 x 32: 12.6 (8 x 8: 6.9, 16 x 32: 3.0, spills);
 * dW 8 x 8: 5.0, vec4 16 x 16: 10.6. */
#define K(id, nb, ta, tb) { "linear." #id, id##_spv, sizeof id##_spv, nb, ta, tb }
static const struct kdef {
	const char *name;
	const uint32_t *spv;
	size_t bytes;
	uint32_t bindings, ta, tb;
} kdefs[NKERNELS] = {
	[FWD] = K(forward, 4, 4, 8),
	[FWD4] = K(forward_vec4, 4, 4, 8),
	[BWD_DATA] = K(backward_data, 3, 8, 8),
	[BWD_DATA4] = K(backward_data_vec4, 3, 8, 32),
	[BWD_WEIGHT] = K(backward_weight, 3, 8, 8),
	[BWD_WEIGHT4] = K(backward_weight_vec4, 3, 16, 16),
	[BWD_BIAS] = K(backward_bias, 2, 1, 1),
};
#undef K

typedef struct state {
	int64_t out;
	int bias;
	lp_kernel *k[NKERNELS];
} state;

/* How one call is cut: batch rows per range (x, dx, y, dy) and rows of W per range. */
typedef struct plan {
	uint64_t n, f, out;
	uint64_t batch, rows;
} plan;

static const lp_host *host;

static int init(lp_ctx *ctx, void *st, const lp_params *p)
{
	state *s = st;

	s->out = host->param_int(p, "out");
	s->bias = host->param_bool(p, "bias");
	if (s->out < 1 || s->out > (int64_t)UINT32_MAX)
		return host->error(ctx, LP_ERR_ARG, "linear: out = %lld outside 1..%u",
				   (long long)s->out, UINT32_MAX);
	return LP_OK;
}

static int build(lp_ctx *ctx, void *st)
{
	state *s = st;

	for (int i = 0; i < NKERNELS; i++) {
		const struct kdef *k = &kdefs[i];
		const uint32_t spec[] = { WORKGROUP, k->ta, k->tb };
		lp_kernel_desc d = { sizeof d, k->name, k->spv, k->bytes, k->bindings,
				     sizeof(push), 3, spec };
		int rc = host->kernel_new(ctx, &d, &s->k[i]);
		if (rc)
			return rc;
	}
	return LP_OK;
}

static void destroy(lp_ctx *ctx, void *st)
{
	state *s = st;

	(void)ctx;
	for (int i = 0; i < NKERNELS; i++)
		host->kernel_free(s->k[i]);
}

static int features(lp_ctx *ctx, int rank, const int64_t *in, int64_t *f)
{
	if (rank < 2 || rank > LP_MAX_RANK)
		return host->error(ctx, LP_ERR_SHAPE, "linear: input must be [N, features...] "
				   "(rank 2 to %d), got rank %d", LP_MAX_RANK, rank);
	*f = 1;
	for (int i = 1; i < rank; i++) {
		if (in[i] < 1 || *f > INT64_MAX / in[i])
			return host->error(ctx, LP_ERR_SHAPE, "linear: input dimension %d is %lld",
					   i, (long long)in[i]);
		*f *= in[i];
	}
	if (in[0] < 1 || in[0] > (int64_t)UINT32_MAX || *f > (int64_t)UINT32_MAX)
		return host->error(ctx, LP_ERR_SHAPE, "linear: input [%lld, %lld] (flattened) is "
				   "outside 1..%u per dimension", (long long)in[0], (long long)*f,
				   UINT32_MAX);
	return LP_OK;
}

static int shape(lp_ctx *ctx, void *st, int rank, const int64_t *in, int *out_rank, int64_t *out)
{
	const state *s = st;
	int64_t f;
	int rc = features(ctx, rank, in, &f);

	if (rc)
		return rc;
	*out_rank = 2;
	out[0] = in[0];
	out[1] = s->out;
	return LP_OK;
}

static int weights(lp_ctx *ctx, void *st, int rank, const int64_t *in, lp_weight_decl *w,
		   uint32_t *n)
{
	const state *s = st;
	int64_t f;
	int rc = features(ctx, rank, in, &f);

	if (rc)
		return rc;
	/* He (Kaiming) normal with fan_in F rather than the AlexNet paper's N(0, 0.01^2), whose
	 * fixed scale shrinks the signal through stacked layers and slows the start of training */
	w[0] = (lp_weight_decl){ "weight", 2, { s->out, f }, LP_INIT_HE, (double)f, 0.0 };
	w[1] = (lp_weight_decl){ "bias", 1, { s->out }, LP_INIT_CONSTANT, 0.0, 0.0 };
	*n = s->bias ? 2 : 1;
	return LP_OK;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* The fewest rows of `row_bytes` whose total is a multiple of align. */
static uint64_t row_unit(uint64_t row_bytes, uint64_t align)
{
	return align / gcd(row_bytes, align);
}

/* Fit the ranges to the device's binding limit and offset alignment. */
static int make_plan(lp_ctx *ctx, const state *s, const lp_tensor *x, plan *p)
{
	const int64_t *d = host->tensor_dims(x);
	uint64_t align = host->binding_align(ctx), max = host->max_binding_bytes(ctx);
	int64_t f;
	int rc = features(ctx, host->tensor_rank(x), d, &f);

	if (rc)
		return rc;
	if (max > MAX_ELEMS * sizeof(float))
		max = MAX_ELEMS * sizeof(float);
	if (align == 0)
		align = 1;
	p->n = (uint64_t)d[0];
	p->f = (uint64_t)f;
	p->out = (uint64_t)s->out;

	uint64_t fb = p->f * sizeof(float), ob = p->out * sizeof(float);
	uint64_t uf = row_unit(fb, align), uo = row_unit(ob, align);
	uint64_t ub = uf / gcd(uf, uo) * uo; /* lcm: ranges of x and of y both start aligned */
	p->rows = max / fb / uf * uf;
	p->batch = max / (fb > ob ? fb : ob) / ub * ub;
	if (p->rows == 0 || p->batch == 0)
		return host->error(ctx, LP_ERR_LIMIT, "linear: [%llu, %llu] -> %llu: the device "
				   "binds at most %llu bytes at offsets aligned to %llu, too few "
				   "for whole rows", (unsigned long long)p->n,
				   (unsigned long long)p->f, (unsigned long long)p->out,
				   (unsigned long long)max, (unsigned long long)align);
	return LP_OK;
}

static int check(lp_ctx *ctx, const lp_tensor *t, int64_t numel, const char *what)
{
	if (!t)
		return host->error(ctx, LP_ERR_ARG, "linear: missing tensor %s", what);
	if (host->tensor_dtype(t) != LP_F32)
		return host->error(ctx, LP_ERR_ARG, "linear: %s (%s) must be float32", what,
				   host->tensor_name(t));
	if (host->tensor_numel(t) != numel)
		return host->error(ctx, LP_ERR_SHAPE, "linear: %s (%s) has %lld elements, expected "
				   "%lld", what, host->tensor_name(t),
				   (long long)host->tensor_numel(t), (long long)numel);
	return LP_OK;
}

static int check_weights(lp_ctx *ctx, const state *s, const plan *p, lp_tensor *const *w,
			 uint32_t nw, const char *what)
{
	int64_t nwt = (int64_t)(p->out * p->f), need = s->bias ? 2 : 1;
	int rc;

	if (!w || nw < (uint32_t)need)
		return host->error(ctx, LP_ERR_ARG, "linear: %u %s tensor(s) given, %lld declared",
				   w ? nw : 0, what, (long long)need);
	if ((rc = check(ctx, w[0], nwt, what)))
		return rc;
	return s->bias ? check(ctx, w[1], (int64_t)p->out, what) : LP_OK;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static lp_binding rows_of(const lp_tensor *t, uint64_t first, uint64_t count, uint64_t width)
{
	return (lp_binding){ t, first * width * sizeof(float), count * width * sizeof(float) };
}

/* Dispatch kernel `ki` over an [a, b] output, one tile per invocation (the grid's y dimension
 * carries on where x stops), adding `terms` terms of each output's sum, MAX_TERMS at a time;
 * `more` says the sum continues a previous dispatch's; the bias goes with the last terms. */
static int sum(lp_ctx *ctx, lp_cmd *cmd, const state *s, int ki, uint64_t a, uint64_t b,
	       push pc, uint64_t terms, int more, int bias, const lp_binding *bind, uint32_t nb)
{
	const struct kdef *d = &kdefs[ki];
	uint64_t tiles = ((a + d->ta - 1) / d->ta) * ((b + d->tb - 1) / d->tb);
	uint64_t groups = (tiles + WORKGROUP - 1) / WORKGROUP;
	uint64_t gx = min64(groups, MAX_GROUPS), gy = (groups + gx - 1) / gx;
	uint32_t g[3] = { (uint32_t)gx, (uint32_t)gy, 1 };

	if (gy > MAX_GROUPS)
		return host->error(ctx, LP_ERR_LIMIT, "linear: %s: %llu tiles in one dispatch",
				   d->name, (unsigned long long)tiles);
	for (uint64_t k0 = 0; k0 < terms; k0 += MAX_TERMS) {
		int rc;
		pc.k0 = (uint32_t)k0;
		pc.klen = (uint32_t)min64(MAX_TERMS, terms - k0);
		pc.accumulate = more || k0 > 0;
		pc.bias = bias && k0 + pc.klen == terms;
		if ((rc = host->dispatch(cmd, s->k[ki], g, &pc, sizeof pc, bind, nb)))
			return rc;
	}
	return LP_OK;
}

static int forward(lp_ctx *ctx, void *st, lp_cmd *cmd, const lp_layer_io *io)
{
	const state *s = st;
	plan p;
	int rc, v;

	if (!io->x)
		return host->error(ctx, LP_ERR_ARG, "linear: forward: missing input");
	if ((rc = make_plan(ctx, s, io->x, &p)) ||
	    (rc = check(ctx, io->x, (int64_t)(p.n * p.f), "x")) ||
	    (rc = check(ctx, io->y, (int64_t)(p.n * p.out), "y")) ||
	    (rc = check_weights(ctx, s, &p, io->w, io->nw, "weight")))
		return rc;
	v = p.f % 4 == 0; /* then every range of rows starts 16-byte aligned: the vec4 kernels */
	for (uint64_t n0 = 0; n0 < p.n; n0 += p.batch) {
		uint64_t nb = min64(p.batch, p.n - n0);
		for (uint64_t o0 = 0; o0 < p.out; o0 += p.rows) {
			uint64_t rows = min64(p.rows, p.out - o0);
			push pc = { .n = (uint32_t)nb, .f = (uint32_t)p.f, .out = (uint32_t)p.out,
				    .o0 = (uint32_t)o0, .rows = (uint32_t)rows };
			lp_binding b[4] = { rows_of(io->x, n0, nb, p.f),
					    rows_of(io->w[0], o0, rows, p.f), { 0 },
					    rows_of(io->y, n0, nb, p.out) };
			/* without a bias, slot 2 is bound to x and never read */
			b[2] = s->bias ? (lp_binding){ io->w[1], 0, 0 } : b[0];
			if ((rc = sum(ctx, cmd, s, FWD + v, nb, rows, pc, p.f, 0, s->bias, b, 4)))
				return rc;
		}
	}
	return LP_OK;
}

static int backward(lp_ctx *ctx, void *st, lp_cmd *cmd, const lp_layer_io *io)
{
	const state *s = st;
	plan p;
	int rc, v;

	if (!io->x)
		return host->error(ctx, LP_ERR_ARG, "linear: backward: missing input");
	if ((rc = make_plan(ctx, s, io->x, &p)) ||
	    (rc = check(ctx, io->x, (int64_t)(p.n * p.f), "x")) ||
	    (rc = check(ctx, io->dy, (int64_t)(p.n * p.out), "dy")) ||
	    (rc = check_weights(ctx, s, &p, io->w, io->nw, "weight")) ||
	    (rc = check_weights(ctx, s, &p, io->dw, io->nw, "weight gradient")) ||
	    (io->dx && (rc = check(ctx, io->dx, (int64_t)(p.n * p.f), "dx"))))
		return rc;
	v = p.f % 4 == 0; /* then every range of rows starts 16-byte aligned: the vec4 kernels */
	for (uint64_t n0 = 0; n0 < p.n; n0 += p.batch) {
		uint64_t nb = min64(p.batch, p.n - n0);
		lp_binding dy = rows_of(io->dy, n0, nb, p.out), x = rows_of(io->x, n0, nb, p.f);
		for (uint64_t o0 = 0; o0 < p.out; o0 += p.rows) {
			uint64_t rows = min64(p.rows, p.out - o0);
			lp_binding w = rows_of(io->w[0], o0, rows, p.f);
			lp_binding dw = rows_of(io->dw[0], o0, rows, p.f);
			push pc = { .n = (uint32_t)nb, .f = (uint32_t)p.f, .out = (uint32_t)p.out,
				    .o0 = (uint32_t)o0, .rows = (uint32_t)rows };
			/* dx sums over every range of W; dW over every range of the batch */
			if (io->dx) {
				lp_binding b[3] = { dy, w, rows_of(io->dx, n0, nb, p.f) };
				if ((rc = sum(ctx, cmd, s, BWD_DATA + v, nb, p.f, pc, rows, o0 > 0, 0,
					      b, 3)))
					return rc;
			}
			lp_binding b[3] = { dy, x, dw };
			if ((rc = sum(ctx, cmd, s, BWD_WEIGHT + v, rows, p.f, pc, nb, n0 > 0, 0, b,
				      3)))
				return rc;
		}
		if (s->bias) {
			push pc = { .n = (uint32_t)nb, .f = (uint32_t)p.f, .out = (uint32_t)p.out,
				    .rows = (uint32_t)p.out };
			lp_binding b[2] = { dy, { io->dw[1], 0, 0 } };
			if ((rc = sum(ctx, cmd, s, BWD_BIAS, 1, p.out, pc, nb, n0 > 0, 0, b, 2)))
				return rc;
		}
	}
	return LP_OK;
}

/* The CPU twin: the same sums in the same order as the shaders, in float. */

static int ref_dims(lp_ctx *ctx, const state *s, const lp_ref_io *io, int64_t *n, int64_t *f)
{
	int rc = features(ctx, io->rank, io->in_dims, f);

	if (rc)
		return rc;
	if (io->nw < (s->bias ? 2u : 1u))
		return host->error(ctx, LP_ERR_ARG, "linear: %u weight array(s) given", io->nw);
	*n = io->in_dims[0];
	return LP_OK;
}

static int forward_ref(lp_ctx *ctx, void *st, const lp_ref_io *io)
{
	const state *s = st;
	int64_t n, f, out = s->out, o;
	int rc = ref_dims(ctx, s, io, &n, &f);

	if (rc)
		return rc;
	for (int64_t i = 0; i < n; i++) {
		const float *x = io->x + i * f;
		float *y = io->y + i * out;
		/* four outputs at a time: independent sums, for the CPU's sake */
		for (o = 0; o + 4 <= out; o += 4) {
			const float *w0 = io->w[0] + o * f, *w1 = w0 + f, *w2 = w1 + f, *w3 = w2 + f;
			float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
			for (int64_t k = 0; k < f; k++) {
				a0 += x[k] * w0[k];
				a1 += x[k] * w1[k];
				a2 += x[k] * w2[k];
				a3 += x[k] * w3[k];
			}
			y[o] = a0, y[o + 1] = a1, y[o + 2] = a2, y[o + 3] = a3;
		}
		for (; o < out; o++) {
			const float *w = io->w[0] + o * f;
			float a = 0.0f;
			for (int64_t k = 0; k < f; k++)
				a += x[k] * w[k];
			y[o] = a;
		}
		if (s->bias)
			for (o = 0; o < out; o++)
				y[o] += io->w[1][o];
	}
	return LP_OK;
}

static int backward_ref(lp_ctx *ctx, void *st, const lp_ref_io *io)
{
	const state *s = st;
	int64_t n, f, out = s->out;
	int rc = ref_dims(ctx, s, io, &n, &f);

	if (rc)
		return rc;
	if (io->dx) {
		for (int64_t i = 0; i < n; i++) {
			float *dx = io->dx + i * f;
			memset(dx, 0, (size_t)f * sizeof(float));
			for (int64_t o = 0; o < out; o++) {
				float g = io->dy[i * out + o];
				const float *w = io->w[0] + o * f;
				for (int64_t k = 0; k < f; k++)
					dx[k] += g * w[k];
			}
		}
	}
	for (int64_t o = 0; o < out; o++) {
		float *dw = io->dw[0] + o * f;
		memset(dw, 0, (size_t)f * sizeof(float));
		for (int64_t i = 0; i < n; i++) {
			float g = io->dy[i * out + o];
			const float *x = io->x + i * f;
			for (int64_t k = 0; k < f; k++)
				dw[k] += g * x[k];
		}
		if (s->bias) {
			float a = 0.0f;
			for (int64_t i = 0; i < n; i++)
				a += io->dy[i * out + o];
			io->dw[1][o] = a;
		}
	}
	return LP_OK;
}

static const lp_param_spec params[] = {
	{ "out", LP_PARAM_INT, NULL, "output features" },
	{ "bias", LP_PARAM_BOOL, "true", "add a learned bias" },
	{ 0 },
};

static const lp_layer_vtable vtable = {
	.size = sizeof(lp_layer_vtable),
	.init = init,
	.shape = shape,
	.weights = weights,
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
	.name = "linear",
	.version = "1.0.0",
	.summary = "fully connected layer, y = x W^T + b over the flattened input (nn.Linear)",
	.params = params,
	.state_size = sizeof(state),
	.vtable = &vtable,
};

LP_PLUGIN_DEFINE(plugin)
