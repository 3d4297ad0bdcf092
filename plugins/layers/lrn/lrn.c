/* lrn.c — local response normalisation across channels, PyTorch's nn.LocalResponseNorm
 * (AlexNet: size 5, alpha 1e-4, beta 0.75, k 2), with a CPU twin. Input [N, C, *], rank >= 3.
 *
 * PyTorch's convention, which differs from the AlexNet paper's by alpha/size instead of alpha:
 *
 *   y_c = x_c / s_c^beta,  s_c = k + alpha/size * sum_{j = c - size/2}^{c + (size-1)/2} x_j^2
 *
 * with the channels outside [0, C) counting as zeros (torch pads the squares with size/2 zeros
 * before and (size-1)/2 after, and average-pools them with divisor size, even at the edges).
 * Backward, from d s_c'/d x_c = 2 alpha/size x_c for c in W(c'):
 *
 *   dx_c = dy_c s_c^-beta - (2 alpha beta/size) x_c sum_{c' : c in W(c')} dy_c' x_c' s_c'^(-beta-1)
 *
 * Nothing is stored between forward and backward: each kernel invocation takes one pixel of one
 * image and walks its channels in order with a window of `size` squares (and, backward, of the
 * per-channel terms) in registers, so each s and power is computed once per pass; the window
 * size is a specialization constant, hence size <= 255. Sums run in channel order, as here.
 * Tensors larger than one storage binding are processed in ranges of whole images, each bound
 * from the aligned offset at or below its first image (push constant `base` skips the rest). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/plugin.h"
#include "loupe/plugin_util.h"

static const uint32_t forward_spv[] =
#include "lrn/forward.spv.inc"
	;
static const uint32_t backward_spv[] =
#include "lrn/backward.spv.inc"
	;

/* Mirrors Push in shaders/lrn/norm.glsl. */
typedef struct push {
	uint32_t n;
	uint32_t c, hw;
	uint32_t size;
	float alpha, beta, k;
	uint32_t base[4];
} push;
_Static_assert(sizeof(push) <= 128, "push constants must fit the guaranteed 128 bytes");

#define WORKGROUP  256u
#define MAX_GROUPS 65535u
#define MAX_SIZE   255 /* the kernels hold 3 x size floats per invocation in registers */

typedef struct state {
	int64_t size;
	float alpha, beta, k;
	lp_kernel *fwd, *bwd;
} state;

static const lp_host *host;

static int init(lp_ctx *ctx, void *st, const lp_params *p)
{
	state *s = st;
	double alpha = host->param_number(p, "alpha"), beta = host->param_number(p, "beta");
	double k = host->param_number(p, "k");

	s->size = host->param_int(p, "size");
	if (s->size < 1 || s->size > MAX_SIZE)
		return host->error(ctx, LP_ERR_ARG, "lrn: size %lld outside [1, %d]",
				   (long long)s->size, MAX_SIZE);
	/* k > 0 and alpha >= 0 keep s >= k > 0, so s^-beta is finite */
	if (!(k > 0 && k < 1e30))
		return host->error(ctx, LP_ERR_ARG, "lrn: k %g must be positive", k);
	if (!(alpha >= 0 && alpha < 1e30))
		return host->error(ctx, LP_ERR_ARG, "lrn: alpha %g must not be negative", alpha);
	if (!(fabs(beta) < 1e30))
		return host->error(ctx, LP_ERR_ARG, "lrn: beta %g must be finite", beta);
	s->alpha = (float)alpha;
	s->beta = (float)beta;
	s->k = (float)k;
	return LP_OK;
}

static int build(lp_ctx *ctx, void *st)
{
	state *s = st;
	const uint32_t spec[] = { WORKGROUP, (uint32_t)s->size };
	lp_kernel_desc f = { sizeof f, "lrn.forward", forward_spv, sizeof forward_spv, 2,
			     sizeof(push), 2, spec };
	lp_kernel_desc b = { sizeof b, "lrn.backward", backward_spv, sizeof backward_spv, 3,
			     sizeof(push), 2, spec };
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
	(void)st;
	if (rank < 3 || rank > LP_MAX_RANK)
		return host->error(ctx, LP_ERR_SHAPE,
				   "lrn: input has rank %d, expected [N, C, ...] (rank 3 or more)",
				   rank);
	for (int i = 0; i < rank; i++)
		if (in[i] < 1 || in[i] > INT32_MAX)
			return host->error(ctx, LP_ERR_SHAPE, "lrn: input dimension %d is %lld", i,
					   (long long)in[i]);
	*out_rank = rank;
	memcpy(out, in, (size_t)rank * sizeof(*in));
	return LP_OK;
}

/* t must be float32 with the same dims as x. */
static int check_tensor(lp_ctx *ctx, const lp_tensor *t, int rank, const int64_t *dims,
			const char *what)
{
	return lpu_check_tensor(host, ctx, "lrn", t, LP_F32, rank, dims, what);
}

/* Dispatch k over the batch in ranges; per[i] is tensor i's floats per image and `work` the
 * invocations per image. */
static int run(lp_ctx *ctx, lp_cmd *cmd, lp_kernel *k, push pc, const lp_tensor *const *t,
	       const uint64_t *per, uint32_t nt, uint64_t images, uint64_t work)
{
	return lpu_run_batched(host, ctx, cmd, k, "lrn", "image", &pc, sizeof pc, &pc.n, pc.base,
			       t, per, nt, images, work, WORKGROUP);
}

/* Check x and fill the shape part of pc; *images and *per (floats per image) for run(). */
static int prepare(lp_ctx *ctx, state *s, const lp_tensor *x, push *pc, uint64_t *images,
		   uint64_t *per)
{
	int64_t out[LP_MAX_RANK];
	int orank, rc;

	if (!x)
		return host->error(ctx, LP_ERR_ARG, "lrn: missing tensor x");
	int rank = host->tensor_rank(x);
	const int64_t *d = host->tensor_dims(x);
	if ((rc = shape(ctx, s, rank, d, &orank, out)) || (rc = check_tensor(ctx, x, rank, d, "x")))
		return rc;
	int64_t hw = 1;
	for (int i = 2; i < rank; i++)
		hw *= d[i];
	*images = (uint64_t)d[0];
	*per = (uint64_t)(d[1] * hw);
	*pc = (push){ 0, (uint32_t)d[1], (uint32_t)hw, (uint32_t)s->size, s->alpha, s->beta, s->k,
		      { 0 } };
	return LP_OK;
}

static int forward(lp_ctx *ctx, void *st, lp_cmd *cmd, const lp_layer_io *io)
{
	state *s = st;
	uint64_t images, per;
	push pc;
	int rc = prepare(ctx, s, io->x, &pc, &images, &per);

	if (rc || (rc = check_tensor(ctx, io->y, host->tensor_rank(io->x),
				     host->tensor_dims(io->x), "y")))
		return rc;
	const lp_tensor *t[2] = { io->x, io->y };
	const uint64_t pers[2] = { per, per };
	return run(ctx, cmd, s->fwd, pc, t, pers, 2, images, pc.hw);
}

static int backward(lp_ctx *ctx, void *st, lp_cmd *cmd, const lp_layer_io *io)
{
	state *s = st;
	uint64_t images, per;
	push pc;
	int rc = prepare(ctx, s, io->x, &pc, &images, &per);

	if (rc || !io->dx)
		return rc;
	int rank = host->tensor_rank(io->x);
	const int64_t *d = host->tensor_dims(io->x);
	if ((rc = check_tensor(ctx, io->dy, rank, d, "dy")) ||
	    (rc = check_tensor(ctx, io->dx, rank, d, "dx")))
		return rc;
	const lp_tensor *t[3] = { io->x, io->dy, io->dx };
	const uint64_t pers[3] = { per, per, per };
	return run(ctx, cmd, s->bwd, pc, t, pers, 3, images, pc.hw);
}

/* s and s^beta for every element of one image [C, hw], computed as the kernels do. */
static void norms(const state *s, const float *x, int64_t c, int64_t hw, float *out, float *pw)
{
	for (int64_t ch = 0; ch < c; ch++) {
		int64_t lo = ch - s->size / 2, hi = ch + (s->size - 1) / 2;
		lo = lo < 0 ? 0 : lo;
		hi = hi > c - 1 ? c - 1 : hi;
		for (int64_t p = 0; p < hw; p++) {
			float sum = 0.0f;
			for (int64_t j = lo; j <= hi; j++)
				sum += x[j * hw + p] * x[j * hw + p];
			out[ch * hw + p] = s->k + s->alpha * (sum / (float)s->size);
			pw[ch * hw + p] = powf(out[ch * hw + p], s->beta);
		}
	}
}

/* Image count, channels and plane size of the twin's input, checked; *buf holds s and s^beta
 * of one image. */
static int ref_dims(lp_ctx *ctx, state *s, const lp_ref_io *io, int64_t *n, int64_t *c,
		    int64_t *hw, float **buf)
{
	int64_t out[LP_MAX_RANK];
	int orank, rc = shape(ctx, s, io->rank, io->in_dims, &orank, out);

	if (rc)
		return rc;
	*n = io->in_dims[0];
	*c = io->in_dims[1];
	*hw = 1;
	for (int i = 2; i < io->rank; i++)
		*hw *= io->in_dims[i];
	if (!(*buf = malloc((size_t)(2 * *c * *hw) * sizeof(float))))
		return host->error(ctx, LP_ERR_NOMEM, "lrn: out of memory");
	return LP_OK;
}

static int forward_ref(lp_ctx *ctx, void *st, const lp_ref_io *io)
{
	state *s = st;
	int64_t n, c, hw;
	float *sc;
	int rc = ref_dims(ctx, s, io, &n, &c, &hw, &sc);

	if (rc)
		return rc;
	for (int64_t i = 0; i < n; i++) {
		const float *x = io->x + i * c * hw;
		float *y = io->y + i * c * hw;
		norms(s, x, c, hw, sc, sc + c * hw);
		for (int64_t e = 0; e < c * hw; e++)
			y[e] = x[e] / sc[c * hw + e];
	}
	free(sc);
	return LP_OK;
}

static int backward_ref(lp_ctx *ctx, void *st, const lp_ref_io *io)
{
	state *s = st;
	int64_t n, c, hw;
	float *sc;
	int rc;

	if (!io->dx)
		return LP_OK;
	if ((rc = ref_dims(ctx, s, io, &n, &c, &hw, &sc)))
		return rc;
	float coef = 2.0f * s->alpha * s->beta / (float)s->size;
	for (int64_t i = 0; i < n; i++) {
		const float *x = io->x + i * c * hw, *dy = io->dy + i * c * hw;
		float *dx = io->dx + i * c * hw;
		const float *pw = sc + c * hw;
		norms(s, x, c, hw, sc, sc + c * hw);
		for (int64_t ch = 0; ch < c; ch++) {
			int64_t lo = ch - (s->size - 1) / 2, hi = ch + s->size / 2;
			lo = lo < 0 ? 0 : lo;
			hi = hi > c - 1 ? c - 1 : hi;
			for (int64_t p = 0; p < hw; p++) {
				float acc = 0.0f;
				for (int64_t j = lo; j <= hi; j++) {
					int64_t at = j * hw + p;
					acc += dy[at] * x[at] / (pw[at] * sc[at]);
				}
				int64_t e = ch * hw + p;
				dx[e] = dy[e] / pw[e] - coef * x[e] * acc;
			}
		}
	}
	free(sc);
	return LP_OK;
}

static const lp_param_spec params[] = {
	{ "size", LP_PARAM_INT, "5", "channels in a window (centred; PyTorch's padding)" },
	{ "alpha", LP_PARAM_NUMBER, "1e-4", "scale, divided by size (PyTorch's convention)" },
	{ "beta", LP_PARAM_NUMBER, "0.75", "exponent" },
	{ "k", LP_PARAM_NUMBER, "2", "additive constant (> 0)" },
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
	.name = "lrn",
	.version = "1.0.0",
	.summary = "local response normalisation across channels (nn.LocalResponseNorm)",
	.params = params,
	.state_size = sizeof(state),
	.vtable = &vtable,
};

LP_PLUGIN_DEFINE(plugin)
