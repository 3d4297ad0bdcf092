/* softmax_xent.c — softmax and cross-entropy fused, with the gradient: the loss layer. Input
 * x = logits [N, C], io->labels = int32 class ids [N]; output y = per-item loss [N],
 *
 *   loss_n = logsumexp(x_n) - x_n[label_n] = (m_n - x_n[label_n]) + log sum_c exp(x_nc - m_n)
 *
 * with m_n the row maximum, so logits of any magnitude give finite losses (PyTorch's
 * F.cross_entropy with reduction='none'). If io->aux is given, forward also writes softmax(x)
 * [N, C] there. Backward: dx_nc = dy_n (softmax(x_n)_c - [c == label_n]) for any upstream dy [N]
 * (the net passes 1/N for a mean loss); the softmax is recomputed from x.
 *
 * Labels: the CPU twin refuses one outside [0, C) with LP_ERR_ARG; the device cannot report, so
 * such an item gets loss 0 and a zero gradient row (its probabilities are still written). No
 * parameters, no weights. One invocation per row, classes summed in order: deterministic.
 * More rows than one storage binding holds are processed in ranges of whole rows. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "loupe/plugin.h"
#include "loupe/plugin_util.h"

static const uint32_t forward_spv[] =
#include "softmax_xent/forward.spv.inc"
	;
static const uint32_t backward_spv[] =
#include "softmax_xent/backward.spv.inc"
	;

/* Mirrors Push in shaders/softmax_xent/rows.glsl. */
typedef struct push {
	uint32_t n;
	uint32_t c;
	uint32_t probs;
	uint32_t base[4];
} push;
_Static_assert(sizeof(push) <= 128, "push constants must fit the guaranteed 128 bytes");

#define WORKGROUP  64u
#define MAX_GROUPS 65535u

typedef struct state {
	lp_kernel *fwd, *bwd;
} state;

static const lp_host *host;

static int init(lp_ctx *ctx, void *st, const lp_params *p)
{
	(void)ctx;
	(void)st;
	(void)p;
	return LP_OK;
}

static int build(lp_ctx *ctx, void *st)
{
	state *s = st;
	const uint32_t spec[] = { WORKGROUP };
	lp_kernel_desc f = { sizeof f, "softmax_xent.forward", forward_spv, sizeof forward_spv, 4,
			     sizeof(push), 1, spec };
	lp_kernel_desc b = { sizeof b, "softmax_xent.backward", backward_spv, sizeof backward_spv,
			     4, sizeof(push), 1, spec };
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
	if (rank != 2)
		return host->error(ctx, LP_ERR_SHAPE, "softmax_xent: input has rank %d, expected 2 "
				   "(logits [N, C])", rank);
	if (in[0] < 1 || in[0] > INT32_MAX || in[1] < 1 || in[1] > INT32_MAX)
		return host->error(ctx, LP_ERR_SHAPE, "softmax_xent: logits [%lld, %lld]",
				   (long long)in[0], (long long)in[1]);
	*out_rank = 1;
	out[0] = in[0];
	return LP_OK;
}

/* t must have dtype and exactly `dims`. */
static int check_tensor(lp_ctx *ctx, const lp_tensor *t, int dtype, int rank,
			const int64_t *dims, const char *what)
{
	return lpu_check_tensor(host, ctx, "softmax_xent", t, dtype, rank, dims, what);
}

/* Dispatch k over the batch in ranges; per[i] is tensor i's elements per row and `work` the
 * invocations per row. */
static int run(lp_ctx *ctx, lp_cmd *cmd, lp_kernel *k, push pc, const lp_tensor *const *t,
	       const uint64_t *per, uint32_t nt, uint64_t rows, uint64_t work)
{
	return lpu_run_batched(host, ctx, cmd, k, "softmax_xent", "row", &pc, sizeof pc, &pc.n, pc.base,
			       t, per, nt, rows, work, WORKGROUP);
}

/* Check x and the labels; dims of x into d. */
static int prepare(lp_ctx *ctx, state *s, const lp_layer_io *io, int64_t *d)
{
	int64_t out[1];
	int orank, rc;

	if (!io->x)
		return host->error(ctx, LP_ERR_ARG, "softmax_xent: missing tensor x");
	if (!io->labels)
		return host->error(ctx, LP_ERR_ARG, "softmax_xent: no labels");
	int rank = host->tensor_rank(io->x);
	if ((rc = shape(ctx, s, rank, host->tensor_dims(io->x), &orank, out)))
		return rc;
	memcpy(d, host->tensor_dims(io->x), 2 * sizeof(*d));
	if ((rc = check_tensor(ctx, io->x, LP_F32, 2, d, "x")))
		return rc;
	return check_tensor(ctx, io->labels, LP_I32, 1, d, "labels");
}

static int forward(lp_ctx *ctx, void *st, lp_cmd *cmd, const lp_layer_io *io)
{
	state *s = st;
	int64_t d[2];
	int rc = prepare(ctx, s, io, d);

	if (rc || (rc = check_tensor(ctx, io->y, LP_F32, 1, d, "y")) ||
	    (io->aux && (rc = check_tensor(ctx, io->aux, LP_F32, 2, d, "aux"))))
		return rc;
	/* without probabilities, binding 3 (never written then) is y again */
	const lp_tensor *t[4] = { io->x, io->labels, io->y, io->aux ? io->aux : io->y };
	const uint64_t c = (uint64_t)d[1], per[4] = { c, 1, 1, io->aux ? c : 1 };
	push pc = { 0, (uint32_t)c, io->aux != NULL, { 0 } };
	return run(ctx, cmd, s->fwd, pc, t, per, 4, (uint64_t)d[0], 1);
}

static int backward(lp_ctx *ctx, void *st, lp_cmd *cmd, const lp_layer_io *io)
{
	state *s = st;
	int64_t d[2];
	int rc = prepare(ctx, s, io, d);

	if (rc || !io->dx)
		return rc;
	if ((rc = check_tensor(ctx, io->dy, LP_F32, 1, d, "dy")) ||
	    (rc = check_tensor(ctx, io->dx, LP_F32, 2, d, "dx")))
		return rc;
	const lp_tensor *t[4] = { io->x, io->labels, io->dy, io->dx };
	const uint64_t c = (uint64_t)d[1], per[4] = { c, 1, 1, c };
	push pc = { 0, (uint32_t)c, 0, { 0 } };
	return run(ctx, cmd, s->bwd, pc, t, per, 4, (uint64_t)d[0], 1);
}

/* The row's maximum and sum of exp(x - max), as the kernels compute them. */
static void row_stats(const float *x, int64_t c, float *m, float *sum)
{
	*m = x[0];
	for (int64_t j = 1; j < c; j++)
		*m = x[j] > *m ? x[j] : *m;
	*sum = 0.0f;
	for (int64_t j = 0; j < c; j++)
		*sum += expf(x[j] - *m);
}

/* Check the twin's shapes and labels. */
static int ref_check(lp_ctx *ctx, state *s, const lp_ref_io *io)
{
	int64_t out[1];
	int orank, rc = shape(ctx, s, io->rank, io->in_dims, &orank, out);

	if (rc)
		return rc;
	if (!io->labels)
		return host->error(ctx, LP_ERR_ARG, "softmax_xent: no labels");
	for (int64_t i = 0; i < io->in_dims[0]; i++)
		if (io->labels[i] < 0 || io->labels[i] >= io->in_dims[1])
			return host->error(ctx, LP_ERR_ARG,
					   "softmax_xent: item %lld has label %d, not in [0, %lld)",
					   (long long)i, (int)io->labels[i],
					   (long long)io->in_dims[1]);
	return LP_OK;
}

static int forward_ref(lp_ctx *ctx, void *st, const lp_ref_io *io)
{
	int rc = ref_check(ctx, st, io);
	int64_t n = io->in_dims[0], c = io->in_dims[1];
	float m, sum;

	if (rc)
		return rc;
	for (int64_t i = 0; i < n; i++) {
		const float *x = io->x + i * c;
		row_stats(x, c, &m, &sum);
		io->y[i] = (m - x[io->labels[i]]) + logf(sum);
		for (int64_t j = 0; io->aux && j < c; j++)
			io->aux[i * c + j] = expf(x[j] - m) / sum;
	}
	return LP_OK;
}

static int backward_ref(lp_ctx *ctx, void *st, const lp_ref_io *io)
{
	int rc = ref_check(ctx, st, io);
	int64_t n = io->in_dims[0], c = io->in_dims[1];
	float m, sum;

	if (rc || !io->dx)
		return rc;
	for (int64_t i = 0; i < n; i++) {
		const float *x = io->x + i * c;
		row_stats(x, c, &m, &sum);
		for (int64_t j = 0; j < c; j++)
			io->dx[i * c + j] = io->dy[i] * (expf(x[j] - m) / sum -
							 (j == io->labels[i] ? 1.0f : 0.0f));
	}
	return LP_OK;
}

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
	.name = "softmax_xent",
	.version = "1.0.0",
	.summary = "softmax + cross-entropy loss per item (optionally the probabilities), with its "
		   "gradient",
	.params = NULL,
	.state_size = sizeof(state),
	.vtable = &vtable,
};

LP_PLUGIN_DEFINE(plugin)
