/* conv2d.c — 2-D convolution over NCHW float32 tensors, exactly PyTorch's nn.Conv2d
 * (cross-correlation; weight [out, in/groups, k, k], bias [out]), so weights exchange with
 * PyTorch. Forward, data gradient, weight gradient and bias gradient on Vulkan, each a gather
 * with one writer per output element and a fixed summation order (deterministic, no atomics),
 * plus plain CPU twins for the tests.
 *
 * A batch whose activations exceed one storage binding (lavapipe: 128 MiB) is processed in
 * chunks of whole images, one dispatch per chunk. A chunk's binding starts at the aligned offset
 * at or below its first image and the kernel skips the few leading elements (push constants
 * x_off / y_off), so any image size works.
 *
 * Each invocation's loop iterations are bounded (LOOP_BUDGET; lavapipe silently cuts loops off
 * at 65535): the forward and data gradient split their channel sums into ranges, one dispatch
 * each, later ranges adding to the output; the weight and bias gradients split the batch into
 * slices (images x output rows) whose partial sums go to a scratch tensor and are then added up
 * in slice order by reduce.comp. Dispatches are ordered by the runtime's barriers, so all of it
 * stays deterministic.
 *
 * Speed on lavapipe, where every storage-buffer load is a loop over the SIMD lanes: register
 * tiles reuse each loaded value many times, and values all lanes need (weights in the forward,
 * dy in the weight gradient) are loaded one per lane and handed round with subgroupShuffle.
 * The data gradient of a stride-1 convolution is a forward convolution of dy with flipped
 * weights (flip.comp), so it runs on the forward kernel; other strides use a plain gather. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/plugin.h"

static const uint32_t forward_spv[] =
#include "conv2d/forward.spv.inc"
	;
static const uint32_t backward_data_spv[] =
#include "conv2d/backward_data.spv.inc"
	;
static const uint32_t backward_weight_spv[] =
#include "conv2d/backward_weight.spv.inc"
	;
static const uint32_t backward_bias_spv[] =
#include "conv2d/backward_bias.spv.inc"
	;
static const uint32_t flip_spv[] =
#include "conv2d/flip.spv.inc"
	;
static const uint32_t reduce_spv[] =
#include "conv2d/reduce.spv.inc"
	;

/* Mirrors `Push` in shaders/conv2d/conv2d.glsl. */
typedef struct push {
	uint32_t n, c, h, w;
	uint32_t k, oh, ow;
	uint32_t ks, stride, pad;
	uint32_t cg, kg;
	uint32_t x_off, y_off;
	uint32_t flags;
	uint32_t cblocks;
	uint32_t r0, rn;
	uint32_t s0;
	uint32_t ips, band_rows, bands;
	uint32_t p_off, p_stride;
} push;
_Static_assert(sizeof(push) <= 128, "push constants must fit the guaranteed 128 bytes");

/* Mirrors `Push` in shaders/conv2d/reduce.comp. */
typedef struct reduce_push {
	uint32_t len, slices, stride, base;
} reduce_push;

#define CONV_BIAS       1u
#define CONV_ACCUMULATE 2u

/* Workgroup size and register tiles (specialization constants 0, 1, 2 of the kernels; 3 and 4
 * are the kernel size and stride, so the tap loops unroll). Measured on lavapipe (Mesa 22.3.6,
 * one thread), AlexNet conv3 forward at batch 4: TK 16 x TP 7 with shuffled weights 11.5
 * GFLOP/s; TK 8 x TP 8 (a partial tile per row) 5.8; TK 8 x TP 4 without shuffles 1.7. */
#define WORKGROUP 64u
#define FWD_TK    16u /* forward: output channels per invocation (a multiple of 8) */
#define FWD_TP    8u  /* forward: at most this many output columns per invocation, */
#define FWD_TAPS  48u /* and at most this many columns x kernel size (unrolled code size) */
#define DATA_TC   4u  /* data gradient, general case: input channels per invocation */
#define WGT_TK    16u /* weight gradient: output channels per invocation (a multiple of 8) */
#define WGT_TJ    7u  /* weight gradient: output columns per step (3 for kernels over 7) */
#define MAX_GROUPS 65535u

#define MAX_CHANNELS 65535 /* channel tiles go in the workgroup count's y (at most 65535) */
#define MAX_KERNEL   16    /* the tap loops are unrolled into registers */
#define MAX_STRIDE   1024
#define MAX_PAD      1024

enum { SCRATCH_PART, SCRATCH_FLIP };

typedef struct state {
	int64_t out, kernel, stride, pad, groups;
	int bias;
	lp_kernel *fwd[FWD_TP + 1]; /* by output columns per invocation, made on first use */
	lp_kernel *bdata, *bweight, *bbias, *flip, *reduce;
	lp_tensor *scratch[2]; /* SCRATCH_PART: gradient partial sums; SCRATCH_FLIP: weights */
	uint64_t scratch_elems[2];
	lp_tensor **retired; /* earlier, smaller scratch tensors, freed by destroy */
	size_t nretired;
} state;

/* The sizes of one call, checked against the layer's parameters. */
typedef struct geom {
	int64_t n, c, h, w, oh, ow;
} geom;

static const lp_host *host;

static int init(lp_ctx *ctx, void *st, const lp_params *p)
{
	state *s = st;

	s->out = host->param_int(p, "out");
	s->kernel = host->param_int(p, "kernel");
	s->stride = host->param_int(p, "stride");
	s->pad = host->param_int(p, "padding");
	s->groups = host->param_int(p, "groups");
	s->bias = host->param_bool(p, "bias");
	if (s->out < 1 || s->out > MAX_CHANNELS)
		return host->error(ctx, LP_ERR_ARG, "conv2d: out %lld outside 1..%d",
				   (long long)s->out, MAX_CHANNELS);
	if (s->kernel < 1 || s->kernel > MAX_KERNEL)
		return host->error(ctx, LP_ERR_ARG, "conv2d: kernel %lld outside 1..%d",
				   (long long)s->kernel, MAX_KERNEL);
	if (s->stride < 1 || s->stride > MAX_STRIDE)
		return host->error(ctx, LP_ERR_ARG, "conv2d: stride %lld outside 1..%d",
				   (long long)s->stride, MAX_STRIDE);
	if (s->pad < 0 || s->pad > MAX_PAD)
		return host->error(ctx, LP_ERR_ARG, "conv2d: padding %lld outside 0..%d",
				   (long long)s->pad, MAX_PAD);
	if (s->groups < 1 || s->groups > s->out)
		return host->error(ctx, LP_ERR_ARG, "conv2d: groups %lld outside 1..out (%lld)",
				   (long long)s->groups, (long long)s->out);
	if (s->out % s->groups)
		return host->error(ctx, LP_ERR_ARG,
				   "conv2d: out channels %lld not divisible by groups %lld",
				   (long long)s->out, (long long)s->groups);
	return LP_OK;
}

/* Output columns per step of the weight gradient: fewer for large kernels, whose tap loops
 * are unrolled (compile time and registers). */
static uint32_t weight_tj(const state *s)
{
	return s->kernel > 7 ? 3u : WGT_TJ;
}

static int build(lp_ctx *ctx, void *st)
{
	state *s = st;
	const uint32_t ks = (uint32_t)s->kernel, stride = (uint32_t)s->stride;
	const uint32_t dspec[] = { WORKGROUP, DATA_TC }, kspec[] = { WORKGROUP, ks };
	const uint32_t wspec[] = { WORKGROUP, WGT_TK, weight_tj(s), ks, stride };
	const uint32_t bspec[] = { WORKGROUP }, biasspec[] = { WORKGROUP, weight_tj(s) };
	const lp_kernel_desc d[] = {
		{ sizeof d[0], "conv2d.backward_data", backward_data_spv, sizeof backward_data_spv, 3,
		  sizeof(push), 2, dspec },
		{ sizeof d[0], "conv2d.backward_weight", backward_weight_spv,
		  sizeof backward_weight_spv, 3, sizeof(push), 5, wspec },
		{ sizeof d[0], "conv2d.backward_bias", backward_bias_spv, sizeof backward_bias_spv, 2,
		  sizeof(push), 2, biasspec },
		{ sizeof d[0], "conv2d.flip", flip_spv, sizeof flip_spv, 2, sizeof(push), 2, kspec },
		{ sizeof d[0], "conv2d.reduce", reduce_spv, sizeof reduce_spv, 2,
		  sizeof(reduce_push), 1, bspec },
	};
	lp_kernel **k[] = { &s->bdata, &s->bweight, &s->bbias, &s->flip, &s->reduce };
	int rc = LP_OK;

	for (size_t i = 0; i < sizeof d / sizeof d[0] && !rc; i++)
		rc = host->kernel_new(ctx, &d[i], k[i]);
	return rc; /* destroy frees what was made */
}

static void destroy(lp_ctx *ctx, void *st)
{
	state *s = st;

	(void)ctx;
	for (size_t i = 0; i <= FWD_TP; i++)
		host->kernel_free(s->fwd[i]);
	host->kernel_free(s->bdata);
	host->kernel_free(s->bweight);
	host->kernel_free(s->bbias);
	host->kernel_free(s->flip);
	host->kernel_free(s->reduce);
	host->tensor_free(s->scratch[0]);
	host->tensor_free(s->scratch[1]);
	for (size_t i = 0; i < s->nretired; i++)
		host->tensor_free(s->retired[i]);
	free(s->retired);
}

/* Validate an input shape and compute the output's spatial size. */
static int geometry(lp_ctx *ctx, const state *s, int rank, const int64_t *in, geom *g)
{
	if (rank != 4)
		return host->error(ctx, LP_ERR_SHAPE, "conv2d: input has rank %d, expected 4 (NCHW)",
				   rank);
	*g = (geom){ .n = in[0], .c = in[1], .h = in[2], .w = in[3] };
	if (g->n < 0 || g->c < 1 || g->h < 1 || g->w < 1)
		return host->error(ctx, LP_ERR_SHAPE, "conv2d: input [%lld, %lld, %lld, %lld] has an "
				   "empty dimension", (long long)g->n, (long long)g->c,
				   (long long)g->h, (long long)g->w);
	if (g->c > MAX_CHANNELS || g->h > INT32_MAX / 2 || g->w > INT32_MAX / 2)
		return host->error(ctx, LP_ERR_LIMIT, "conv2d: input [%lld, %lld, %lld, %lld] too "
				   "large", (long long)g->n, (long long)g->c, (long long)g->h,
				   (long long)g->w);
	if (g->c % s->groups)
		return host->error(ctx, LP_ERR_SHAPE,
				   "conv2d: in channels %lld not divisible by groups %lld",
				   (long long)g->c, (long long)s->groups);
	int64_t ph = g->h + 2 * s->pad - s->kernel, pw = g->w + 2 * s->pad - s->kernel;
	if (ph < 0 || pw < 0)
		return host->error(ctx, LP_ERR_SHAPE, "conv2d: kernel %lld larger than the padded "
				   "input %lldx%lld (padding %lld)", (long long)s->kernel,
				   (long long)g->h, (long long)g->w, (long long)s->pad);
	g->oh = ph / s->stride + 1;
	g->ow = pw / s->stride + 1;
	return LP_OK;
}

static int shape(lp_ctx *ctx, void *st, int rank, const int64_t *in, int *out_rank, int64_t *out)
{
	const state *s = st;
	geom g;
	int rc = geometry(ctx, s, rank, in, &g);

	if (rc)
		return rc;
	*out_rank = 4;
	out[0] = g.n;
	out[1] = s->out;
	out[2] = g.oh;
	out[3] = g.ow;
	return LP_OK;
}

static int weights(lp_ctx *ctx, void *st, int rank, const int64_t *in, lp_weight_decl *out,
		   uint32_t *n)
{
	const state *s = st;
	geom g;
	int rc = geometry(ctx, s, rank, in, &g);

	if (rc)
		return rc;
	int64_t cg = g.c / s->groups;
	out[0] = (lp_weight_decl){ .name = "weight", .rank = 4,
				   .dims = { s->out, cg, s->kernel, s->kernel }, .init = LP_INIT_HE,
				   .a = (double)(cg * s->kernel * s->kernel) };
	*n = 1;
	if (s->bias) {
		out[1] = (lp_weight_decl){ .name = "bias", .rank = 1, .dims = { s->out },
					   .init = LP_INIT_CONSTANT, .a = 0.0 };
		*n = 2;
	}
	return LP_OK;
}

/* t must be a float32 tensor of exactly the given shape. */
static int check_tensor(lp_ctx *ctx, const lp_tensor *t, const char *what, int rank,
			const int64_t *dims)
{
	if (!t)
		return host->error(ctx, LP_ERR_ARG, "conv2d: %s tensor missing", what);
	if (host->tensor_dtype(t) != LP_F32)
		return host->error(ctx, LP_ERR_ARG, "conv2d: %s (%s) must be float32", what,
				   host->tensor_name(t));
	const int64_t *d = host->tensor_dims(t);
	int ok = host->tensor_rank(t) == rank;
	for (int i = 0; ok && i < rank; i++)
		ok = d[i] == dims[i];
	if (!ok) {
		char got[96] = "", want[96] = "";
		size_t a = 0, b = 0;
		for (int i = 0; i < host->tensor_rank(t) && a < sizeof got; i++)
			a += (size_t)snprintf(got + a, sizeof got - a, i ? ", %lld" : "%lld",
					      (long long)d[i]);
		for (int i = 0; i < rank && b < sizeof want; i++)
			b += (size_t)snprintf(want + b, sizeof want - b, i ? ", %lld" : "%lld",
					      (long long)dims[i]);
		return host->error(ctx, LP_ERR_SHAPE, "conv2d: %s (%s) is [%s], expected [%s]", what,
				   host->tensor_name(t), got, want);
	}
	return LP_OK;
}

/* Shape of x from the tensor, checks of the weights, and the push-constant template. */
static int setup(lp_ctx *ctx, const state *s, const lp_layer_io *io, geom *g, push *pc)
{
	int rc;

	if (!io->x)
		return host->error(ctx, LP_ERR_ARG, "conv2d: x tensor missing");
	if ((rc = geometry(ctx, s, host->tensor_rank(io->x), host->tensor_dims(io->x), g)))
		return rc;
	if (io->nw != (s->bias ? 2u : 1u) || !io->w)
		return host->error(ctx, LP_ERR_ARG, "conv2d: got %u weight tensors, expected %u",
				   io->nw, s->bias ? 2u : 1u);
	int64_t cg = g->c / s->groups;
	const int64_t wd[4] = { s->out, cg, s->kernel, s->kernel };
	if ((rc = check_tensor(ctx, io->w[0], "weight", 4, wd)) ||
	    (s->bias && (rc = check_tensor(ctx, io->w[1], "bias", 1, &s->out))))
		return rc;
	*pc = (push){ .c = (uint32_t)g->c, .h = (uint32_t)g->h, .w = (uint32_t)g->w,
		      .k = (uint32_t)s->out, .oh = (uint32_t)g->oh, .ow = (uint32_t)g->ow,
		      .ks = (uint32_t)s->kernel, .stride = (uint32_t)s->stride,
		      .pad = (uint32_t)s->pad, .cg = (uint32_t)cg,
		      .kg = (uint32_t)(s->out / s->groups) };
	return LP_OK;
}

/* Images per dispatch so that every chunked tensor's range fits one binding, including the
 * slack of an aligned-down start. img[i] are bytes per image. */
static int chunk_images(lp_ctx *ctx, const char *what, int64_t n, const uint64_t *img, int nt,
			int64_t *per)
{
	uint64_t max = host->max_binding_bytes(ctx), align = host->binding_align(ctx);
	uint64_t slack = align > 4 ? align - 4 : 0;

	*per = n > 0 ? n : 1;
	for (int i = 0; i < nt; i++) {
		if ((uint64_t)n * img[i] <= max)
			continue;
		if (max <= slack || img[i] > max - slack)
			return host->error(ctx, LP_ERR_LIMIT, "conv2d: %s: one image is %llu bytes, "
					   "more than one binding may cover (%llu bytes)", what,
					   (unsigned long long)img[i], (unsigned long long)max);
		int64_t k = (int64_t)((max - slack) / img[i]);
		if (k < *per)
			*per = k;
	}
	return LP_OK;
}

/* Bind images [i0, i0 + cnt) of t, starting at the aligned offset at or below the first; the
 * element skip that leaves goes to *skip. */
static lp_binding bind_images(lp_ctx *ctx, const lp_tensor *t, int64_t i0, int64_t cnt,
			      uint64_t img, uint32_t *skip)
{
	uint64_t align = host->binding_align(ctx), start = (uint64_t)i0 * img;
	uint64_t at = align ? start - start % align : start;

	*skip = (uint32_t)((start - at) / sizeof(float));
	return (lp_binding){ t, at, start - at + (uint64_t)cnt * img };
}

static int dispatch(lp_cmd *cmd, lp_kernel *k, uint64_t items, uint32_t gy, const push *pc,
		    const lp_binding *b, uint32_t nb)
{
	uint64_t gx = (items + WORKGROUP - 1) / WORKGROUP;
	const uint32_t g[3] = { gx == 0 ? 1 : gx < MAX_GROUPS ? (uint32_t)gx : MAX_GROUPS, gy, 1 };

	return host->dispatch(cmd, k, g, pc, sizeof *pc, b, nb);
}

/* Loop iterations one invocation may run: lavapipe (gallivm) silently ends every loop of an
 * invocation once they have together run 65535 iterations, so each kernel's work per
 * invocation is kept to a quarter of that. items: invocations the dispatch needs; beyond
 * what one dispatch launches, the grid-stride loop runs each invocation several times. */
#define LOOP_BUDGET 16384u

static uint64_t budget(uint64_t items)
{
	uint64_t launched = (uint64_t)MAX_GROUPS * WORKGROUP;
	uint64_t rounds = items > launched ? (items + launched - 1) / launched : 1;

	return LOOP_BUDGET / rounds ? LOOP_BUDGET / rounds : 1;
}

/* The forward kernel for output rows of `ow` columns: each row is cut into equal tiles of at
 * most FWD_TP columns (13 -> 7 + 7, not 8 + 8: a partial tile costs a whole one), fewer for
 * large kernels (the tap loops are unrolled: compile time and registers), and the tile width
 * is a specialization constant, so a kernel is made per width on first use. */
static int forward_kernel(lp_ctx *ctx, state *s, uint32_t ow, uint32_t *tp, lp_kernel **k)
{
	uint32_t most = FWD_TAPS / (uint32_t)s->kernel;
	most = most < 1 ? 1 : most > FWD_TP ? FWD_TP : most;
	uint32_t tiles = (ow + most - 1) / most;

	*tp = (ow + tiles - 1) / tiles;
	if (!s->fwd[*tp]) {
		const uint32_t spec[] = { WORKGROUP, FWD_TK, *tp, (uint32_t)s->kernel,
					  (uint32_t)s->stride };
		const lp_kernel_desc d = { sizeof d, "conv2d.forward", forward_spv,
					   sizeof forward_spv, 4, sizeof(push), 5, spec };
		int rc = host->kernel_new(ctx, &d, &s->fwd[*tp]);
		if (rc)
			return rc;
	}
	*k = s->fwd[*tp];
	return LP_OK;
}

/* y = conv(x, w) (+ b unless NULL) for the geometry in tpl over n images, in chunks of whole
 * images that fit one binding, and in ranges of input channels within the loop budget. */
static int run_forward(lp_ctx *ctx, state *s, lp_cmd *cmd, const push *tpl, int64_t n,
		       const lp_tensor *x, const lp_tensor *w, const lp_tensor *b, lp_tensor *y,
		       const char *what)
{
	const uint64_t img[2] = { (uint64_t)tpl->c * tpl->h * tpl->w * 4,
				  (uint64_t)tpl->k * tpl->oh * tpl->ow * 4 };
	const uint32_t cblocks = (tpl->kg + FWD_TK - 1) / FWD_TK, ks1 = tpl->ks + 1;
	const uint32_t groups = tpl->k / tpl->kg;
	lp_kernel *k;
	uint32_t tp;
	int64_t per;
	int rc;

	if ((rc = chunk_images(ctx, what, n, img, 2, &per)) ||
	    (rc = forward_kernel(ctx, s, tpl->ow, &tp, &k)))
		return rc;
	for (int64_t i0 = 0; i0 < n; i0 += per) {
		int64_t cnt = n - i0 < per ? n - i0 : per;
		uint64_t items = (uint64_t)cnt * tpl->oh * ((tpl->ow + tp - 1) / tp);
		uint64_t rn = budget(items) / (ks1 * ks1); /* per channel: (ks + 1)^2 iterations */
		push pc = *tpl;
		pc.n = (uint32_t)cnt;
		pc.cblocks = cblocks;
		pc.rn = rn ? (uint32_t)(rn < tpl->cg ? rn : tpl->cg) : 1;
		const lp_binding bind[4] = {
			bind_images(ctx, x, i0, cnt, img[0], &pc.x_off),
			{ w, 0, 0 },
			{ b ? b : w, 0, 0 }, /* unread without a bias */
			bind_images(ctx, y, i0, cnt, img[1], &pc.y_off),
		};
		for (uint32_t r0 = 0; r0 < tpl->cg; r0 += pc.rn) {
			push pr = pc;
			pr.r0 = r0;
			pr.rn = tpl->cg - r0 < pc.rn ? tpl->cg - r0 : pc.rn;
			pr.flags = r0 ? CONV_ACCUMULATE : b ? CONV_BIAS : 0;
			if ((rc = dispatch(cmd, k, items, groups * cblocks, &pr, bind, 4)))
				return rc;
		}
	}
	return LP_OK;
}

static int forward(lp_ctx *ctx, void *st, lp_cmd *cmd, const lp_layer_io *io)
{
	state *s = st;
	geom g;
	push tpl;
	int rc;

	if ((rc = setup(ctx, s, io, &g, &tpl)))
		return rc;
	const int64_t yd[4] = { g.n, s->out, g.oh, g.ow };
	if ((rc = check_tensor(ctx, io->y, "y", 4, yd)))
		return rc;
	return run_forward(ctx, s, cmd, &tpl, g.n, io->x, io->w[0], s->bias ? io->w[1] : NULL,
			   io->y, "forward");
}

/* How the weight and bias gradients slice the batch: ips images x band_rows output rows per
 * slice, each slice summed by one invocation within the loop budget (a row takes one
 * iteration per weight_tj columns, plus two). */
static int slicing(lp_ctx *ctx, const state *s, const geom *g, uint64_t items, push *pc)
{
	uint64_t tj = weight_tj(s);
	uint64_t b = budget(items), row = ((uint64_t)g->ow + tj - 1) / tj + 2;
	uint64_t image = 1 + (uint64_t)g->oh * row;

	if (image <= b) {
		pc->ips = (uint32_t)(b / image);
		pc->band_rows = (uint32_t)g->oh;
	} else {
		if (b <= row)
			return host->error(ctx, LP_ERR_LIMIT, "conv2d: backward: output rows of %lld "
					   "columns are too long for one invocation's loop budget",
					   (long long)g->ow);
		pc->ips = 1;
		pc->band_rows = (uint32_t)((b - 1) / row);
	}
	pc->bands = (pc->oh + pc->band_rows - 1) / pc->band_rows;
	return LP_OK;
}

static uint64_t slices_of(const push *pc, int64_t images)
{
	return (uint64_t)((images + pc->ips - 1) / pc->ips) * pc->bands;
}

/* Scratch tensor `slot` of at least `elems` floats. One the command being recorded may still
 * use is never freed before destroy: a larger one replaces it and the old one is retired. */
static int scratch(lp_ctx *ctx, state *s, int slot, uint64_t elems, lp_tensor **out)
{
	if (s->scratch[slot] && s->scratch_elems[slot] >= elems) {
		*out = s->scratch[slot];
		return LP_OK;
	}
	if (s->scratch[slot]) {
		lp_tensor **r = realloc(s->retired, (s->nretired + 1) * sizeof(*r));
		if (!r)
			return host->error(ctx, LP_ERR_NOMEM, "conv2d: out of memory");
		s->retired = r;
		s->retired[s->nretired++] = s->scratch[slot];
		s->scratch[slot] = NULL;
	}
	int64_t d = (int64_t)elems;
	int rc = host->tensor_new(ctx, LP_F32, 1, &d, &s->scratch[slot]);
	if (rc)
		return rc;
	s->scratch_elems[slot] = elems;
	*out = s->scratch[slot];
	return LP_OK;
}

/* Weight and bias gradients over images [i0, i0 + cnt): slices z go to p_off + z * p_stride
 * of dw / db (bound as `wout` / `bout`), in dispatches of at most MAX_GROUPS slices. */
static int grad_slices(lp_cmd *cmd, const state *s, const push *pc, uint64_t nslices,
		       lp_binding x, lp_binding dy, lp_binding wout, uint32_t woff,
		       lp_binding bout, uint32_t boff)
{
	int rc;

	for (uint64_t s0 = 0; s0 < nslices; s0 += MAX_GROUPS) {
		uint32_t nz = (uint32_t)(nslices - s0 < MAX_GROUPS ? nslices - s0 : MAX_GROUPS);
		push pw = *pc;
		pw.s0 = (uint32_t)s0;
		pw.cblocks = (pc->kg + WGT_TK - 1) / WGT_TK;
		pw.p_off = woff + (uint32_t)s0 * pc->p_stride;
		const lp_binding bw[3] = { x, dy, wout };
		uint64_t gx = ((uint64_t)pc->cg * pc->ks + WORKGROUP - 1) / WORKGROUP;
		uint32_t g[3] = { gx < MAX_GROUPS ? (uint32_t)gx : MAX_GROUPS,
				  (uint32_t)s->groups * pw.cblocks, nz };
		if ((rc = host->dispatch(cmd, s->bweight, g, &pw, sizeof pw, bw, 3)))
			return rc;
		if (!s->bias)
			continue;
		pw.p_off = boff + (uint32_t)s0 * pc->p_stride;
		const lp_binding bb[2] = { dy, bout };
		gx = ((uint64_t)s->out + WORKGROUP - 1) / WORKGROUP;
		g[0] = gx < MAX_GROUPS ? (uint32_t)gx : MAX_GROUPS;
		g[1] = 1;
		if ((rc = host->dispatch(cmd, s->bbias, g, &pw, sizeof pw, bb, 2)))
			return rc;
	}
	return LP_OK;
}

static int reduce(lp_cmd *cmd, const state *s, lp_tensor *part, lp_tensor *out, uint32_t len,
		  uint32_t slices, uint32_t stride, uint32_t base)
{
	reduce_push rp = { len, slices, stride, base };
	const lp_binding b[2] = { { part, 0, 0 }, { out, 0, 0 } };
	uint64_t gx = ((uint64_t)len + WORKGROUP - 1) / WORKGROUP;
	const uint32_t g[3] = { gx < MAX_GROUPS ? (uint32_t)gx : MAX_GROUPS, 1, 1 };

	return host->dispatch(cmd, s->reduce, g, &rp, sizeof rp, b, 2);
}

/* dx over one batch chunk (dx bound at pc->x_off) with the general gather kernel, in ranges
 * of output channels within the loop budget. */
static int data_general(lp_ctx *ctx, const state *s, lp_cmd *cmd, const push *pc, int64_t cnt,
			lp_binding dy, const lp_tensor *w, lp_binding dx)
{
	const uint32_t t = (pc->ks + pc->stride - 1) / pc->stride, t1 = t + 1;
	uint64_t items = (uint64_t)cnt * pc->h * pc->w;
	uint64_t rn = budget(items) / (t1 * t1); /* per channel: (taps + 1)^2 iterations */
	push pd = *pc;
	int rc;

	(void)ctx;
	pd.cblocks = (pc->cg + DATA_TC - 1) / DATA_TC;
	pd.rn = rn ? (uint32_t)(rn < pc->kg ? rn : pc->kg) : 1;
	const lp_binding b[3] = { dy, { w, 0, 0 }, dx };
	for (uint32_t r0 = 0; r0 < pc->kg; r0 += pd.rn) {
		push pr = pd;
		pr.r0 = r0;
		pr.rn = pc->kg - r0 < pd.rn ? pc->kg - r0 : pd.rn;
		pr.flags = r0 ? CONV_ACCUMULATE : 0;
		if ((rc = dispatch(cmd, s->bdata, items, (uint32_t)s->groups * pd.cblocks, &pr, b,
				   3)))
			return rc;
	}
	return LP_OK;
}

/* dx = conv(dy, flipped w) with padding ks - 1 - pad: the data gradient of a stride-1
 * convolution as a forward one (in and out channels swap within each group). */
static int data_flipped(lp_ctx *ctx, state *s, lp_cmd *cmd, const lp_layer_io *io,
			const geom *g, const push *tpl)
{
	lp_tensor *wt;
	uint64_t nw = (uint64_t)host->tensor_numel(io->w[0]);
	int rc = scratch(ctx, s, SCRATCH_FLIP, nw, &wt);

	if (rc)
		return rc;
	const lp_binding fb[2] = { { io->w[0], 0, 0 }, { wt, 0, 0 } };
	if ((rc = dispatch(cmd, s->flip, (uint64_t)tpl->c * tpl->kg, 1, tpl, fb, 2)))
		return rc;
	push t = *tpl;
	t.c = tpl->k, t.h = tpl->oh, t.w = tpl->ow;
	t.k = tpl->c, t.oh = tpl->h, t.ow = tpl->w;
	t.cg = tpl->kg, t.kg = tpl->cg;
	t.pad = tpl->ks - 1 - tpl->pad;
	return run_forward(ctx, s, cmd, &t, g->n, io->dy, wt, NULL, io->dx, "backward");
}

static int backward(lp_ctx *ctx, void *st, lp_cmd *cmd, const lp_layer_io *io)
{
	state *s = st;
	geom g;
	push tpl;
	int rc;

	if ((rc = setup(ctx, s, io, &g, &tpl)))
		return rc;
	const int64_t yd[4] = { g.n, s->out, g.oh, g.ow };
	if ((rc = check_tensor(ctx, io->dy, "dy", 4, yd)) ||
	    (io->dx && (rc = check_tensor(ctx, io->dx, "dx", 4, host->tensor_dims(io->x)))))
		return rc;
	if (!io->dw || !io->dw[0] || (s->bias && !io->dw[1]))
		return host->error(ctx, LP_ERR_ARG, "conv2d: backward: weight gradients missing");
	if ((rc = check_tensor(ctx, io->dw[0], "weight gradient", 4,
			       host->tensor_dims(io->w[0]))) ||
	    (s->bias && (rc = check_tensor(ctx, io->dw[1], "bias gradient", 1, &s->out))))
		return rc;
	const uint64_t img[2] = { (uint64_t)(g.c * g.h * g.w) * 4,
				  (uint64_t)(s->out * g.oh * g.ow) * 4 };
	const uint64_t nw = (uint64_t)host->tensor_numel(io->w[0]);
	const lp_binding dwb = { io->dw[0], 0, 0 }, dbb = { io->dw[s->bias], 0, 0 };
	int64_t per;
	if ((rc = chunk_images(ctx, "backward", g.n, img, 2, &per)) ||
	    (rc = slicing(ctx, s, &g, (uint64_t)tpl.cg * tpl.ks, &tpl)))
		return rc;
	if (g.n == 0) { /* an empty batch still overwrites the gradients: with zeros */
		const lp_binding none = { io->w[0], 0, 0 };
		return grad_slices(cmd, s, &tpl, 1, none, none, dwb, 0, dbb, 0);
	}
	uint64_t total = 0;
	for (int64_t i0 = 0; i0 < g.n; i0 += per)
		total += slices_of(&tpl, g.n - i0 < per ? g.n - i0 : per);
	lp_tensor *part = NULL;
	uint64_t pitch = nw + (uint64_t)(s->bias ? s->out : 0);
	if (total > 1) {
		if (total * pitch * 4 > host->max_binding_bytes(ctx) || total >= budget(nw))
			return host->error(ctx, LP_ERR_LIMIT, "conv2d: backward: %llu partial sums "
					   "of %llu weights exceed one binding or loop budget",
					   (unsigned long long)total, (unsigned long long)pitch);
		if ((rc = scratch(ctx, s, SCRATCH_PART, total * pitch, &part)))
			return rc;
	}
	tpl.p_stride = (uint32_t)pitch;

	/* dx: for stride 1 (and padding < kernel) a forward convolution of dy with the flipped
	 * weights, the fast kernel; otherwise the general gather */
	int flipped = io->dx && s->stride == 1 && s->pad < s->kernel;
	if (flipped && (rc = data_flipped(ctx, s, cmd, io, &g, &tpl)))
		return rc;
	uint64_t base = 0;
	for (int64_t i0 = 0; i0 < g.n; i0 += per) {
		int64_t cnt = g.n - i0 < per ? g.n - i0 : per;
		push pc = tpl;
		pc.n = (uint32_t)cnt;
		lp_binding x = bind_images(ctx, io->x, i0, cnt, img[0], &pc.x_off);
		lp_binding dy = bind_images(ctx, io->dy, i0, cnt, img[1], &pc.y_off);
		if (io->dx && !flipped) {
			push pd = pc;
			lp_binding dx = bind_images(ctx, io->dx, i0, cnt, img[0], &pd.x_off);
			if ((rc = data_general(ctx, s, cmd, &pd, cnt, dy, io->w[0], dx)))
				return rc;
		}
		uint64_t ns = slices_of(&tpl, cnt);
		if (part) {
			const lp_binding pb = { part, 0, 0 };
			rc = grad_slices(cmd, s, &pc, ns, x, dy, pb, (uint32_t)(base * pitch), pb,
					 (uint32_t)(base * pitch + nw));
		} else {
			rc = grad_slices(cmd, s, &pc, ns, x, dy, dwb, 0, dbb, 0);
		}
		if (rc)
			return rc;
		base += ns;
	}
	if (part && (rc = reduce(cmd, s, part, io->dw[0], (uint32_t)nw, (uint32_t)total,
				 (uint32_t)pitch, 0)))
		return rc;
	if (part && s->bias)
		rc = reduce(cmd, s, part, io->dw[1], (uint32_t)s->out, (uint32_t)total,
			    (uint32_t)pitch, (uint32_t)nw);
	return rc;
}

/* ---- CPU twins: plain loops over the definition, accumulated in double ---- */

static int ref_geom(lp_ctx *ctx, const state *s, const lp_ref_io *io, geom *g)
{
	int rc = geometry(ctx, s, io->rank, io->in_dims, g);

	if (!rc && io->nw != (s->bias ? 2u : 1u))
		return host->error(ctx, LP_ERR_ARG, "conv2d: got %u weight arrays, expected %u",
				   io->nw, s->bias ? 2u : 1u);
	return rc;
}

static int forward_ref(lp_ctx *ctx, void *st, const lp_ref_io *io)
{
	const state *s = st;
	geom g;
	int rc = ref_geom(ctx, s, io, &g);

	if (rc)
		return rc;
	const int64_t K = s->out, C = g.c, H = g.h, W = g.w, OH = g.oh, OW = g.ow;
	const int64_t ks = s->kernel, cg = C / s->groups, kg = K / s->groups;
	const float *w = io->w[0], *b = s->bias ? io->w[1] : NULL;

	for (int64_t n = 0; n < g.n; n++)
	for (int64_t o = 0; o < K; o++)
	for (int64_t i = 0; i < OH; i++)
	for (int64_t j = 0; j < OW; j++) {
		double sum = b ? b[o] : 0.0;
		for (int64_t c = 0; c < cg; c++)
		for (int64_t u = 0; u < ks; u++)
		for (int64_t v = 0; v < ks; v++) {
			int64_t r = i * s->stride - s->pad + u, q = j * s->stride - s->pad + v;
			if (r < 0 || r >= H || q < 0 || q >= W)
				continue;
			int64_t ci = o / kg * cg + c;
			sum += (double)w[((o * cg + c) * ks + u) * ks + v] *
			       io->x[((n * C + ci) * H + r) * W + q];
		}
		io->y[((n * K + o) * OH + i) * OW + j] = (float)sum;
	}
	return LP_OK;
}

/* The chain rule applied to forward_ref's loops term by term (a scatter, in double). */
static int backward_ref(lp_ctx *ctx, void *st, const lp_ref_io *io)
{
	const state *s = st;
	geom g;
	int rc = ref_geom(ctx, s, io, &g);

	if (rc)
		return rc;
	const int64_t K = s->out, C = g.c, H = g.h, W = g.w, OH = g.oh, OW = g.ow;
	const int64_t ks = s->kernel, cg = C / s->groups, kg = K / s->groups;
	const int64_t nx = g.n * C * H * W, nw = K * cg * ks * ks;
	const float *w = io->w[0];
	double *dx = calloc((size_t)nx + 1, sizeof(double));
	double *dw = calloc((size_t)nw + 1, sizeof(double));
	double *db = calloc((size_t)K, sizeof(double));

	if (!dx || !dw || !db) {
		free(dx), free(dw), free(db);
		return host->error(ctx, LP_ERR_NOMEM, "conv2d: backward_ref: out of memory");
	}
	for (int64_t n = 0; n < g.n; n++)
	for (int64_t o = 0; o < K; o++)
	for (int64_t i = 0; i < OH; i++)
	for (int64_t j = 0; j < OW; j++) {
		double d = io->dy[((n * K + o) * OH + i) * OW + j];
		db[o] += d;
		for (int64_t c = 0; c < cg; c++)
		for (int64_t u = 0; u < ks; u++)
		for (int64_t v = 0; v < ks; v++) {
			int64_t r = i * s->stride - s->pad + u, q = j * s->stride - s->pad + v;
			if (r < 0 || r >= H || q < 0 || q >= W)
				continue;
			int64_t xi = ((n * C + o / kg * cg + c) * H + r) * W + q;
			int64_t wi = ((o * cg + c) * ks + u) * ks + v;
			dx[xi] += d * w[wi];
			dw[wi] += d * io->x[xi];
		}
	}
	for (int64_t i = 0; io->dx && i < nx; i++)
		io->dx[i] = (float)dx[i];
	for (int64_t i = 0; i < nw; i++)
		io->dw[0][i] = (float)dw[i];
	for (int64_t o = 0; s->bias && o < K; o++)
		io->dw[1][o] = (float)db[o];
	free(dx), free(dw), free(db);
	return LP_OK;
}

static const lp_param_spec params[] = {
	{ "out", LP_PARAM_INT, NULL, "output channels" },
	{ "kernel", LP_PARAM_INT, NULL, "kernel size (square)" },
	{ "stride", LP_PARAM_INT, "1", "stride" },
	{ "padding", LP_PARAM_INT, "0", "zero padding on every side" },
	{ "groups", LP_PARAM_INT, "1", "channel groups (in and out divisible by it)" },
	{ "bias", LP_PARAM_BOOL, "true", "add a learned bias per output channel" },
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
	.name = "conv2d",
	.version = "1.0.0",
	.summary = "2-D convolution (NCHW, groups, as PyTorch nn.Conv2d) with its gradients",
	.params = params,
	.state_size = sizeof(state),
	.vtable = &vtable,
};

LP_PLUGIN_DEFINE(plugin)
