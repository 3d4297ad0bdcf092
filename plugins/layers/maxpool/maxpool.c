/* maxpool.c — 2-D max pooling over NCHW float32, PyTorch's nn.MaxPool2d without padding, in
 * floor mode (AlexNet's overlapping 3x3 windows, stride 2, by default), with a CPU twin.
 *
 * No argmax is stored between forward and backward. The backward kernel gives each input row
 * to one invocation, the only writer of that row of dx: it recomputes the argmax (first maximum
 * in row-major order, a NaN winning, as PyTorch) of every window overlapping the row and adds
 * dy where the argmax falls in the row, windows in row-major order. The twin is the plain
 * scatter (dx[argmax] += dy, windows in row-major order), which adds in the same order, so the
 * two agree bit for bit. (One invocation per row rather than per element: a third of the
 * loads and no integer division per element, about 3x faster on lavapipe.)
 *
 * Activations larger than one storage binding (lavapipe: 128 MiB; AlexNet's pool1 input at
 * batch 128 is 149 MB) are processed in ranges of whole images, one dispatch per range: each
 * tensor is bound from the aligned offset at or below its first image, and the kernel skips
 * the few elements in between (push constant `base`), so images need not be aligned. */
#include <stdio.h>
#include <string.h>

#include "loupe/plugin.h"
#include "loupe/plugin_util.h"

static const uint32_t forward_spv[] =
#include "maxpool/forward.spv.inc"
	;
static const uint32_t backward_spv[] =
#include "maxpool/backward.spv.inc"
	;

/* Mirrors Push in shaders/maxpool/window.glsl. */
typedef struct push {
	uint32_t n;
	uint32_t c, h, w;
	uint32_t oh, ow;
	uint32_t k, s;
	uint32_t base[4];
} push;
_Static_assert(sizeof(push) <= 128, "push constants must fit the guaranteed 128 bytes");

#define WORKGROUP  256u
#define MAX_GROUPS 65535u
#define MAX_KERNEL 4096

typedef struct state {
	int64_t k, s;
	lp_kernel *fwd, *bwd;
} state;

static const lp_host *host;

static int init(lp_ctx *ctx, void *st, const lp_params *p)
{
	state *s = st;

	s->k = host->param_int(p, "kernel");
	s->s = host->param_int(p, "stride");
	if (s->k < 1 || s->k > MAX_KERNEL)
		return host->error(ctx, LP_ERR_ARG, "maxpool: kernel %lld outside [1, %d]",
				   (long long)s->k, MAX_KERNEL);
	if (s->s < 1 || s->s > MAX_KERNEL)
		return host->error(ctx, LP_ERR_ARG, "maxpool: stride %lld outside [1, %d]",
				   (long long)s->s, MAX_KERNEL);
	return LP_OK;
}

static int build(lp_ctx *ctx, void *st)
{
	state *s = st;
	const uint32_t spec[] = { WORKGROUP };
	lp_kernel_desc f = { sizeof f, "maxpool.forward", forward_spv, sizeof forward_spv, 2,
			     sizeof(push), 1, spec };
	lp_kernel_desc b = { sizeof b, "maxpool.backward", backward_spv, sizeof backward_spv, 3,
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
	const state *s = st;

	if (rank != 4)
		return host->error(ctx, LP_ERR_SHAPE,
				   "maxpool: input has rank %d, expected 4 (NCHW)", rank);
	for (int i = 0; i < 4; i++)
		if (in[i] < 1 || in[i] > INT32_MAX)
			return host->error(ctx, LP_ERR_SHAPE, "maxpool: input dimension %d is %lld",
					   i, (long long)in[i]);
	if (in[2] < s->k || in[3] < s->k)
		return host->error(ctx, LP_ERR_SHAPE, "maxpool: %lldx%lld window (stride %lld) is "
				   "larger than the %lldx%lld input [%lld, %lld, %lld, %lld]",
				   (long long)s->k, (long long)s->k, (long long)s->s,
				   (long long)in[2], (long long)in[3], (long long)in[0],
				   (long long)in[1], (long long)in[2], (long long)in[3]);
	*out_rank = 4;
	out[0] = in[0];
	out[1] = in[1];
	out[2] = (in[2] - s->k) / s->s + 1;
	out[3] = (in[3] - s->k) / s->s + 1;
	return LP_OK;
}

/* t must be float32 with exactly `dims` (rank 4). */
static int check_tensor(lp_ctx *ctx, const lp_tensor *t, const int64_t *dims, const char *what)
{
	return lpu_check_tensor(host, ctx, "maxpool", t, LP_F32, 4, dims, what);
}

/* Dispatch k over the batch in ranges; per[i] is tensor i's floats per image and `work` the
 * invocations per image. */
static int run(lp_ctx *ctx, lp_cmd *cmd, lp_kernel *k, push pc, const lp_tensor *const *t,
	       const uint64_t *per, uint32_t nt, uint64_t images, uint64_t work)
{
	return lpu_run_batched(host, ctx, cmd, k, "maxpool", "image", &pc, sizeof pc, &pc.n, pc.base,
			       t, per, nt, images, work, WORKGROUP);
}

/* Shapes of x and y from the x tensor, checked; fills the shape part of pc. */
static int prepare(lp_ctx *ctx, state *s, const lp_tensor *x, int64_t *in, int64_t *out,
		   push *pc)
{
	int orank;
	int rc;

	if (!x)
		return host->error(ctx, LP_ERR_ARG, "maxpool: missing tensor x");
	if (host->tensor_rank(x) != 4)
		return host->error(ctx, LP_ERR_SHAPE, "maxpool: x (%s) has rank %d, expected 4",
				   host->tensor_name(x), host->tensor_rank(x));
	memcpy(in, host->tensor_dims(x), 4 * sizeof(*in));
	if ((rc = check_tensor(ctx, x, in, "x")) || (rc = shape(ctx, s, 4, in, &orank, out)))
		return rc;
	*pc = (push){ 0, (uint32_t)in[1], (uint32_t)in[2], (uint32_t)in[3], (uint32_t)out[2],
		      (uint32_t)out[3], (uint32_t)s->k, (uint32_t)s->s, { 0 } };
	return LP_OK;
}

static int forward(lp_ctx *ctx, void *st, lp_cmd *cmd, const lp_layer_io *io)
{
	state *s = st;
	int64_t in[4], out[4];
	push pc;
	int rc = prepare(ctx, s, io->x, in, out, &pc);

	if (rc || (rc = check_tensor(ctx, io->y, out, "y")))
		return rc;
	const lp_tensor *t[2] = { io->x, io->y };
	const uint64_t per[2] = { (uint64_t)(in[1] * in[2] * in[3]),
				  (uint64_t)(out[1] * out[2] * out[3]) };
	return run(ctx, cmd, s->fwd, pc, t, per, 2, (uint64_t)in[0], (uint64_t)(out[1] * out[2]));
}

static int backward(lp_ctx *ctx, void *st, lp_cmd *cmd, const lp_layer_io *io)
{
	state *s = st;
	int64_t in[4], out[4];
	push pc;
	int rc = prepare(ctx, s, io->x, in, out, &pc);

	if (rc || !io->dx)
		return rc;
	if ((rc = check_tensor(ctx, io->dy, out, "dy")) ||
	    (rc = check_tensor(ctx, io->dx, in, "dx")))
		return rc;
	const lp_tensor *t[3] = { io->x, io->dy, io->dx };
	const uint64_t px = (uint64_t)(in[1] * in[2] * in[3]);
	const uint64_t per[3] = { px, (uint64_t)(out[1] * out[2] * out[3]), px };
	return run(ctx, cmd, s->bwd, pc, t, per, 3, (uint64_t)in[0], (uint64_t)(in[1] * in[2]));
}

/* Row-major index in the window of its first maximum (a NaN wins, the last one, as PyTorch). */
static int64_t argmax(const float *x, int64_t w, int64_t k, float *max)
{
	int64_t arg = 0;
	float best = x[0];

	for (int64_t i = 0; i < k; i++)
		for (int64_t j = 0; j < k; j++) {
			float v = x[i * w + j];
			if (v > best || v != v) {
				best = v;
				arg = i * k + j;
			}
		}
	*max = best;
	return arg;
}

static int ref_shapes(lp_ctx *ctx, state *s, const lp_ref_io *io, int64_t *out)
{
	int orank;

	return shape(ctx, s, io->rank, io->in_dims, &orank, out);
}

static int forward_ref(lp_ctx *ctx, void *st, const lp_ref_io *io)
{
	state *s = st;
	const int64_t *in = io->in_dims;
	int64_t out[4];
	int rc = ref_shapes(ctx, s, io, out);
	float m;

	if (rc)
		return rc;
	for (int64_t p = 0; p < in[0] * in[1]; p++) {
		const float *x = io->x + p * in[2] * in[3];
		float *y = io->y + p * out[2] * out[3];
		for (int64_t oy = 0; oy < out[2]; oy++)
			for (int64_t ox = 0; ox < out[3]; ox++) {
				argmax(x + oy * s->s * in[3] + ox * s->s, in[3], s->k, &m);
				y[oy * out[3] + ox] = m;
			}
	}
	return LP_OK;
}

static int backward_ref(lp_ctx *ctx, void *st, const lp_ref_io *io)
{
	state *s = st;
	const int64_t *in = io->in_dims;
	int64_t out[4];
	int rc = ref_shapes(ctx, s, io, out);
	float m;

	if (rc || !io->dx)
		return rc;
	memset(io->dx, 0, (size_t)(in[0] * in[1] * in[2] * in[3]) * sizeof(float));
	for (int64_t p = 0; p < in[0] * in[1]; p++) {
		const float *x = io->x + p * in[2] * in[3];
		const float *dy = io->dy + p * out[2] * out[3];
		float *dx = io->dx + p * in[2] * in[3];
		for (int64_t oy = 0; oy < out[2]; oy++)
			for (int64_t ox = 0; ox < out[3]; ox++) {
				int64_t at = oy * s->s * in[3] + ox * s->s;
				int64_t a = argmax(x + at, in[3], s->k, &m);
				dx[at + a / s->k * in[3] + a % s->k] += dy[oy * out[3] + ox];
			}
	}
	return LP_OK;
}

static const lp_param_spec params[] = {
	{ "kernel", LP_PARAM_INT, "3", "window height and width" },
	{ "stride", LP_PARAM_INT, "2", "step between windows (no padding, floor mode)" },
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
	.name = "maxpool",
	.version = "1.0.0",
	.summary = "2-D max pooling (nn.MaxPool2d, no padding, floor mode), with its gradient",
	.params = params,
	.state_size = sizeof(state),
	.vtable = &vtable,
};

LP_PLUGIN_DEFINE(plugin)
