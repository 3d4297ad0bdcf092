/* test_lrn.c — the lrn plugin (nn.LocalResponseNorm across channels) proves:
 *   - with channel counts below, equal to and above the window (3, 5, 11, 40, 96), even and
 *     odd window sizes from 1 to 33, rank 3 to 5, AlexNet's parameters and parameters whose
 *     cross-channel term is large, the Vulkan forward and backward match the CPU twin, and the
 *     twin's backward matches finite differences of its forward (layer_check.h);
 *   - the device's y matches this test's double-precision rendering of PyTorch's definition
 *     (squares zero-padded by size/2 channels before and (size-1)/2 after, average-pooled with
 *     divisor size, times alpha, plus k, to the beta), and its dx matches central differences
 *     of that double-precision forward on every element;
 *   - a [2300, 5, 55, 55] input (139 MB, images not a multiple of the binding alignment) is
 *     split over bindings and matches the twin;
 *   - bad parameters, inputs of rank < 3 and one image larger than a storage binding are
 *     refused with messages naming the layer. */
#include <math.h>

#include "layer_check.h"

typedef struct lrn_params {
	int64_t size;
	double alpha, beta, k;
} lrn_params;

static const lrn_params alexnet = { 5, 1e-4, 0.75, 2.0 };

static lp_layer *make(lp_ctx *ctx, const lrn_params *q)
{
	const lp_plugin *p = NULL;
	lp_layer *l = NULL;
	lp_kv kv[] = { LC_INT("size", q->size), LC_NUM("alpha", q->alpha), LC_NUM("beta", q->beta),
		       LC_NUM("k", q->k) };

	CHECK_OK(ctx, lp_plugin_find(ctx, "lrn", LP_KIND_LAYER, &p));
	if (p)
		CHECK_OK(ctx, lp_layer_new(ctx, p, kv, 4, &l));
	return l;
}

static void device_run(lp_ctx *ctx, lp_layer *l, int rank, const int64_t *dims, const float *x,
		       const float *dy, float *y, float *dx)
{
	size_t bytes = (size_t)lc_numel(rank, dims) * sizeof(float);
	lp_tensor *tx = lc_upload(ctx, LP_F32, rank, dims, x);
	lp_tensor *tdy = lc_upload(ctx, LP_F32, rank, dims, dy);
	lp_tensor *ty = lc_upload(ctx, LP_F32, rank, dims, NULL);
	lp_tensor *tdx = lc_upload(ctx, LP_F32, rank, dims, NULL);
	lp_layer_io io = { .size = sizeof io, .x = tx, .y = ty, .dy = tdy, .dx = tdx };
	lp_cmd *cmd = NULL;

	CHECK_OK(ctx, lp_cmd_begin(ctx, &cmd));
	CHECK_OK(ctx, lp_layer_forward(l, cmd, &io));
	CHECK_OK(ctx, lp_layer_backward(l, cmd, &io));
	CHECK_OK(ctx, cmd ? lp_cmd_submit(cmd) : LP_ERR_ARG);
	CHECK_OK(ctx, lp_tensor_read(ctx, ty, y, bytes));
	CHECK_OK(ctx, lp_tensor_read(ctx, tdx, dx, bytes));
	lp_tensor_free(tx), lp_tensor_free(ty), lp_tensor_free(tdy), lp_tensor_free(tdx);
}

/* PyTorch's F.local_response_norm in double: pad x^2 along channels with size/2 zeros before
 * and (size-1)/2 after, average-pool windows of `size` (divisor size), *alpha, +k, ^beta. */
static void torch_lrn(const lrn_params *q, int rank, const int64_t *dims, const double *x,
		      double *y)
{
	int64_t n = dims[0], c = dims[1], hw = lc_numel(rank - 2, dims + 2);
	int64_t before = q->size / 2, padded = c + q->size - 1;
	double *sq = calloc((size_t)padded, sizeof(double));

	for (int64_t i = 0; i < n; i++)
		for (int64_t p = 0; p < hw; p++) {
			for (int64_t ch = 0; ch < c; ch++) {
				double v = x[(i * c + ch) * hw + p];
				sq[before + ch] = v * v;
			}
			for (int64_t ch = 0; ch < c; ch++) {
				double avg = 0;
				for (int64_t j = 0; j < q->size; j++)
					avg += sq[ch + j];
				avg /= (double)q->size;
				double div = pow(avg * q->alpha + q->k, q->beta);
				y[(i * c + ch) * hw + p] = x[(i * c + ch) * hw + p] / div;
			}
		}
	free(sq);
}

/* Device y and dx against the double forward and central differences of sum(dy * y). */
static void exact(lp_ctx *ctx, const lrn_params *q, int rank, const int64_t *dims, double scale)
{
	static unsigned long long seed = 0x2545f4914f6cdd1dull;
	lp_layer *l = make(ctx, q);
	int64_t n = lc_numel(rank, dims);
	float *x = malloc((size_t)n * 4), *dy = malloc((size_t)n * 4);
	float *y = malloc((size_t)n * 4), *dx = malloc((size_t)n * 4);
	double *xd = malloc((size_t)n * 8), *yd = malloc((size_t)n * 8);
	double *yp = malloc((size_t)n * 8), *ym = malloc((size_t)n * 8);
	double *gd = malloc((size_t)n * 8), gmax = 0;
	int64_t bad_y = 0, bad_dx = 0;

	for (int64_t i = 0; i < n; i++) {
		x[i] = (float)(tu_rand(&seed) * scale);
		dy[i] = tu_rand(&seed);
		xd[i] = x[i];
	}
	torch_lrn(q, rank, dims, xd, yd);
	for (int64_t i = 0; i < n; i++) {
		double keep = xd[i], h = 1e-5 * fmax(1.0, fabs(keep)), sum = 0;
		xd[i] = keep + h;
		torch_lrn(q, rank, dims, xd, yp);
		xd[i] = keep - h;
		torch_lrn(q, rank, dims, xd, ym);
		xd[i] = keep;
		for (int64_t j = 0; j < n; j++)
			sum += (double)dy[j] * (yp[j] - ym[j]);
		gd[i] = sum / (2 * h);
		gmax = fmax(gmax, fabs(gd[i]));
	}
	if (l)
		device_run(ctx, l, rank, dims, x, dy, y, dx);
	for (int64_t i = 0; i < n; i++) {
		bad_y += !(fabs(y[i] - yd[i]) <= 2e-5 * fabs(yd[i]) + 1e-6);
		bad_dx += !(fabs(dx[i] - gd[i]) <= 1e-4 * fabs(gd[i]) + 1e-5 * gmax);
	}
	if (bad_y || bad_dx)
		fprintf(stderr, "FAIL lrn size %lld alpha %g beta %g k %g, [%lld, %lld, ...]: "
			"%lld y, %lld dx of %lld differ from the double-precision reference\n",
			(long long)q->size, q->alpha, q->beta, q->k, (long long)dims[0],
			(long long)dims[1], (long long)bad_y, (long long)bad_dx, (long long)n);
	tu_failures += bad_y || bad_dx;
	free(x), free(dy), free(y), free(dx), free(xd), free(yd), free(yp), free(ym), free(gd);
	lp_layer_free(l);
}

/* Larger than one storage binding: the device against the twin. */
static void big(lp_ctx *ctx)
{
	const int64_t dims[4] = { 2300, 5, 55, 55 };
	int64_t n = lc_numel(4, dims);
	lp_device_info d;

	CHECK_OK(ctx, lp_device_get_info(ctx, &d));
	if ((uint64_t)n * 4 <= d.max_storage_buffer_range || (uint64_t)n * 4 > d.max_alloc_size) {
		printf("lrn: big case skipped (binding limit %llu)\n",
		       (unsigned long long)d.max_storage_buffer_range);
		return;
	}
	CHECK((dims[1] * dims[2] * dims[3] * 4) % 16 != 0); /* images straddle aligned offsets */
	lrn_params q = { 5, 0.5, 0.75, 2.0 };
	lp_layer *l = make(ctx, &q);
	float *x = lc_random(n, 2.0), *dy = lc_random(n, 1.0);
	float *y = malloc((size_t)n * 4), *dx = malloc((size_t)n * 4);
	float *ry = malloc((size_t)n * 4), *rdx = malloc((size_t)n * 4);
	lp_ref_io io = { .size = sizeof io, .rank = 4, .out_rank = 4, .in_dims = dims,
			 .out_dims = dims, .x = x, .y = ry, .dy = dy, .dx = rdx };
	if (l) {
		CHECK_OK(ctx, lp_layer_forward_ref(l, &io));
		CHECK_OK(ctx, lp_layer_backward_ref(l, &io));
		device_run(ctx, l, 4, dims, x, dy, y, dx);
	}
	tu_failures += lc_compare("forward (big)", "lrn", y, ry, n) != 0;
	tu_failures += lc_compare("dx (big)", "lrn", dx, rdx, n) != 0;
	free(x), free(dy), free(y), free(dx), free(ry), free(rdx);
	lp_layer_free(l);
}

/* One image larger than a storage binding cannot be split over the batch: LP_ERR_LIMIT. */
static void image_too_big(lp_ctx *ctx)
{
	const int64_t dims[4] = { 1, 1, 5800, 5800 };
	lp_device_info d;

	CHECK_OK(ctx, lp_device_get_info(ctx, &d));
	if ((uint64_t)lc_numel(4, dims) * 4 <= d.max_storage_buffer_range ||
	    (uint64_t)lc_numel(4, dims) * 4 > d.max_alloc_size)
		return;
	lp_layer *l = make(ctx, &alexnet);
	lp_tensor *tx = lc_upload(ctx, LP_F32, 4, dims, NULL);
	lp_layer_io io = { .size = sizeof io, .x = tx, .y = tx, .dy = tx, .dx = tx };
	lp_cmd *cmd = NULL;
	CHECK_OK(ctx, lp_cmd_begin(ctx, &cmd));
	if (l && cmd && tx) {
		CHECK(lp_layer_forward(l, cmd, &io) == LP_ERR_LIMIT);
		CHECK_MSG(ctx, "lrn", "does not fit");
	}
	lp_cmd_free(cmd);
	lp_tensor_free(tx);
	lp_layer_free(l);
}

static void errors(lp_ctx *ctx)
{
	const lp_plugin *p = NULL;
	lp_layer *l = NULL;
	int64_t out[4];
	int orank;

	CHECK_OK(ctx, lp_plugin_find(ctx, "lrn", LP_KIND_LAYER, &p));
	if (!p)
		return;
	lp_kv size0[] = { LC_INT("size", 0) }, k0[] = { LC_NUM("k", 0) };
	lp_kv size256[] = { LC_INT("size", 256) };
	lp_kv neg[] = { LC_NUM("alpha", -1) };
	CHECK(lp_layer_new(ctx, p, size0, 1, &l) == LP_ERR_ARG && !l);
	CHECK_MSG(ctx, "lrn", "size 0");
	CHECK(lp_layer_new(ctx, p, size256, 1, &l) == LP_ERR_ARG && !l);
	CHECK_MSG(ctx, "lrn", "size 256");
	CHECK(lp_layer_new(ctx, p, k0, 1, &l) == LP_ERR_ARG && !l);
	CHECK_MSG(ctx, "lrn", "k 0");
	CHECK(lp_layer_new(ctx, p, neg, 1, &l) == LP_ERR_ARG && !l);
	CHECK_MSG(ctx, "lrn", "alpha -1");

	CHECK_OK(ctx, lp_layer_new(ctx, p, NULL, 0, &l));
	if (!l)
		return;
	const int64_t flat[2] = { 4, 10 }, ok[3] = { 2, 7, 9 };
	CHECK(lp_layer_shape(l, 2, flat, &orank, out) == LP_ERR_SHAPE);
	CHECK_MSG(ctx, "lrn", "rank 2");
	CHECK_OK(ctx, lp_layer_shape(l, 3, ok, &orank, out));
	CHECK(orank == 3 && out[0] == 2 && out[1] == 7 && out[2] == 9);
	lp_layer_free(l);
}

int main(void)
{
	lp_ctx *ctx = tu_ctx();
	const lrn_params strong = { 5, 2.0, 0.75, 1.0 }, even = { 4, 1.0, 0.6, 1.5 };
	const lrn_params one = { 1, 1.0, 0.75, 1.0 }, wide = { 7, 1.5, 0.9, 0.5 };
	const lrn_params huge = { 33, 6.0, 0.75, 1.0 };
	const struct {
		const lrn_params *q;
		int rank;
		int64_t dims[5];
		double scale;
	} cases[] = {
		{ &alexnet, 4, { 2, 3, 5, 5 }, 1.0 },   { &alexnet, 4, { 1, 5, 7, 7 }, 1.0 },
		{ &alexnet, 4, { 2, 11, 6, 5 }, 1.0 },  { &alexnet, 4, { 1, 96, 3, 5 }, 10.0 },
		{ &strong, 4, { 2, 3, 5, 5 }, 1.5 },    { &strong, 4, { 1, 5, 7, 7 }, 1.5 },
		{ &strong, 4, { 2, 11, 6, 5 }, 1.5 },   { &even, 4, { 2, 7, 3, 4 }, 1.5 },
		{ &one, 4, { 2, 4, 3, 3 }, 1.5 },       { &wide, 4, { 2, 3, 4, 4 }, 1.5 },
		{ &strong, 3, { 2, 6, 10 }, 1.5 },      { &even, 5, { 1, 4, 2, 3, 2 }, 1.5 },
		{ &huge, 4, { 2, 40, 2, 3 }, 1.5 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const lrn_params *q = cases[i].q;
		lp_kv kv[] = { LC_INT("size", q->size), LC_NUM("alpha", q->alpha),
			       LC_NUM("beta", q->beta), LC_NUM("k", q->k) };
		lc_case c = { .layer = "lrn", .kv = kv, .nkv = 4, .rank = cases[i].rank,
			      .x_scale = cases[i].scale, .fd_samples = 48 };
		memcpy(c.dims, cases[i].dims, sizeof cases[i].dims);
		if (lc_check(ctx, &c))
			fprintf(stderr, "  size %lld alpha %g beta %g k %g\n", (long long)q->size,
				q->alpha, q->beta, q->k);
		exact(ctx, q, cases[i].rank, cases[i].dims, cases[i].scale);
	}
	/* AlexNet's parameters by default */
	lc_case def = { .layer = "lrn", .rank = 4, .dims = { 2, 7, 4, 3 }, .x_scale = 20.0 };
	lc_check(ctx, &def);

	errors(ctx);
	image_too_big(ctx);
	big(ctx);
	return tu_finish(ctx, "test_lrn");
}
