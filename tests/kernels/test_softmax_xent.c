/* test_softmax_xent.c — the softmax_xent plugin (softmax + cross-entropy per item, fused with
 * its gradient) proves:
 *   - on logits [1, 1] to [7, 67] and [3, 1000] with generated labels and a random upstream dy,
 *     the Vulkan loss and dx match the CPU twin, and the twin's dx matches finite differences
 *     of its loss (layer_check.h);
 *   - the loss, the probabilities written to io->aux and dx, from both the device and the twin,
 *     match this test's double-precision reference, also for logits of magnitude 1e4 (spread,
 *     and clustered around 1e4) where a naive exp overflows: results finite and correct;
 *   - the twin refuses a label outside [0, C); the device gives such an item loss 0 and a zero
 *     gradient row, leaving the other items right;
 *   - [34000, 1001] logits (136 MB, rows not a multiple of the binding alignment) are split over
 *     bindings and match the twin;
 *   - an input that is not [N, C], and one row larger than a storage binding, are refused with
 *     messages naming the layer. */
#include <math.h>

#include "layer_check.h"

static unsigned long long seed = 0xda3e39cb94b95bdbull;

static lp_layer *make(lp_ctx *ctx)
{
	const lp_plugin *p = NULL;
	lp_layer *l = NULL;

	CHECK_OK(ctx, lp_plugin_find(ctx, "softmax_xent", LP_KIND_LAYER, &p));
	if (p)
		CHECK_OK(ctx, lp_layer_new(ctx, p, NULL, 0, &l));
	return l;
}

/* Forward (with probabilities) and backward on the device. */
static void device_run(lp_ctx *ctx, lp_layer *l, int64_t n, int64_t c, const float *x,
		       const int32_t *labels, const float *dy, float *y, float *prob, float *dx)
{
	const int64_t d2[2] = { n, c }, d1[1] = { n };
	lp_tensor *tx = lc_upload(ctx, LP_F32, 2, d2, x);
	lp_tensor *tl = lc_upload(ctx, LP_I32, 1, d1, labels);
	lp_tensor *ty = lc_upload(ctx, LP_F32, 1, d1, NULL);
	lp_tensor *tdy = lc_upload(ctx, LP_F32, 1, d1, dy);
	lp_tensor *tp = lc_upload(ctx, LP_F32, 2, d2, NULL);
	lp_tensor *tdx = lc_upload(ctx, LP_F32, 2, d2, NULL);
	lp_layer_io io = { .size = sizeof io, .x = tx, .y = ty, .dy = tdy, .dx = tdx, .labels = tl,
			   .aux = tp };
	lp_cmd *cmd = NULL;

	CHECK_OK(ctx, lp_cmd_begin(ctx, &cmd));
	CHECK_OK(ctx, lp_layer_forward(l, cmd, &io));
	CHECK_OK(ctx, lp_layer_backward(l, cmd, &io));
	CHECK_OK(ctx, cmd ? lp_cmd_submit(cmd) : LP_ERR_ARG);
	CHECK_OK(ctx, lp_tensor_read(ctx, ty, y, (size_t)n * sizeof(float)));
	CHECK_OK(ctx, lp_tensor_read(ctx, tp, prob, (size_t)(n * c) * sizeof(float)));
	CHECK_OK(ctx, lp_tensor_read(ctx, tdx, dx, (size_t)(n * c) * sizeof(float)));
	lp_tensor_free(tx), lp_tensor_free(tl), lp_tensor_free(ty), lp_tensor_free(tdy);
	lp_tensor_free(tp), lp_tensor_free(tdx);
}

/* Count elements of a outside |a - ref| <= rel |ref| + abs (NaN and inf count). */
static int64_t off(const char *what, const float *a, const double *ref, int64_t n, double rel,
		   double abs)
{
	int64_t bad = 0;
	for (int64_t i = 0; i < n; i++)
		if (!(fabs((double)a[i] - ref[i]) <= rel * fabs(ref[i]) + abs)) {
			if (!bad)
				fprintf(stderr, "FAIL softmax_xent %s[%lld]: %.9g, "
					"reference %.9g\n", what, (long long)i, (double)a[i],
					ref[i]);
			bad++;
		}
	return bad;
}

/* Device and twin against double precision; logits x_scale * U[-1, 1) + shift. A label < 0
 * marks an item the twin must refuse and the device must zero. */
static void exact(lp_ctx *ctx, int64_t n, int64_t c, double x_scale, double shift,
		  const int32_t *bad_labels)
{
	lp_layer *l = make(ctx);
	float *x = malloc((size_t)(n * c) * 4), *dy = malloc((size_t)n * 4);
	int32_t *labels = malloc((size_t)n * 4);
	double *ly = malloc((size_t)n * 8), *lp = malloc((size_t)(n * c) * 8);
	double *ldx = malloc((size_t)(n * c) * 8);
	float *y = malloc((size_t)n * 4), *p = malloc((size_t)(n * c) * 4);
	float *dx = malloc((size_t)(n * c) * 4);

	for (int64_t i = 0; i < n * c; i++)
		x[i] = (float)(tu_rand(&seed) * x_scale + shift);
	for (int64_t i = 0; i < n; i++) {
		int32_t r = (int32_t)((tu_rand(&seed) + 1.0f) * 0.5f * (float)c) % (int32_t)c;
		labels[i] = bad_labels ? bad_labels[i] : r;
		dy[i] = tu_rand(&seed);
	}
	for (int64_t i = 0; i < n; i++) {
		const float *r = x + i * c;
		int ok = labels[i] >= 0 && labels[i] < c;
		double m = -INFINITY, sum = 0;
		for (int64_t j = 0; j < c; j++)
			m = fmax(m, r[j]);
		for (int64_t j = 0; j < c; j++)
			sum += exp((double)r[j] - m);
		ly[i] = ok ? m + log(sum) - r[labels[i]] : 0.0;
		for (int64_t j = 0; j < c; j++) {
			lp[i * c + j] = exp((double)r[j] - m) / sum;
			ldx[i * c + j] = ok ? dy[i] * (lp[i * c + j] - (j == labels[i])) : 0.0;
		}
	}
	int64_t bad = 0;
	if (l) {
		device_run(ctx, l, n, c, x, labels, dy, y, p, dx);
		bad += off("device loss", y, ly, n, 1e-5, 1e-5);
		bad += off("device probabilities", p, lp, n * c, 1e-4, 1e-6);
		bad += off("device dx", dx, ldx, n * c, 1e-4, 1e-6);
	}
	const int64_t d2[2] = { n, c }, d1[1] = { n };
	lp_ref_io io = { .size = sizeof io, .rank = 2, .out_rank = 1, .in_dims = d2,
			 .out_dims = d1, .x = x, .y = y, .dy = dy, .dx = dx, .labels = labels,
			 .aux = p };
	if (l && !bad_labels) {
		memset(p, 0, (size_t)(n * c) * 4);
		CHECK_OK(ctx, lp_layer_forward_ref(l, &io));
		CHECK_OK(ctx, lp_layer_backward_ref(l, &io));
		bad += off("twin loss", y, ly, n, 1e-5, 1e-5);
		bad += off("twin probabilities", p, lp, n * c, 1e-4, 1e-6);
		bad += off("twin dx", dx, ldx, n * c, 1e-4, 1e-6);
	} else if (l) {
		CHECK(lp_layer_forward_ref(l, &io) == LP_ERR_ARG);
		CHECK_MSG(ctx, "softmax_xent", "label");
		CHECK(lp_layer_backward_ref(l, &io) == LP_ERR_ARG);
	}
	if (bad)
		fprintf(stderr, "  in [%lld, %lld], logits %g * U[-1, 1) + %g: %lld values off\n",
			(long long)n, (long long)c, x_scale, shift, (long long)bad);
	tu_failures += bad != 0;
	free(x), free(dy), free(labels), free(ly), free(lp), free(ldx), free(y), free(p), free(dx);
	lp_layer_free(l);
}

/* Larger than one storage binding: the device against the twin. */
static void big(lp_ctx *ctx)
{
	const int64_t n = 34000, c = 1001, d2[2] = { n, c }, d1[1] = { n };
	lp_device_info d;

	CHECK_OK(ctx, lp_device_get_info(ctx, &d));
	if ((uint64_t)(n * c) * 4 <= d.max_storage_buffer_range ||
	    (uint64_t)(n * c) * 4 > d.max_alloc_size) {
		printf("softmax_xent: big case skipped (binding limit %llu)\n",
		       (unsigned long long)d.max_storage_buffer_range);
		return;
	}
	CHECK((c * 4) % 16 != 0); /* rows straddle aligned offsets */
	lp_layer *l = make(ctx);
	float *x = lc_random(n * c, 5.0), *dy = lc_random(n, 1.0);
	int32_t *labels = malloc((size_t)n * 4);
	float *y = malloc((size_t)n * 4), *p = malloc((size_t)(n * c) * 4);
	float *dx = malloc((size_t)(n * c) * 4), *ry = malloc((size_t)n * 4);
	float *rp = malloc((size_t)(n * c) * 4), *rdx = malloc((size_t)(n * c) * 4);
	for (int64_t i = 0; i < n; i++)
		labels[i] = (int32_t)((i * 7919) % c);
	lp_ref_io io = { .size = sizeof io, .rank = 2, .out_rank = 1, .in_dims = d2,
			 .out_dims = d1, .x = x, .y = ry, .dy = dy, .dx = rdx, .labels = labels,
			 .aux = rp };
	if (l) {
		CHECK_OK(ctx, lp_layer_forward_ref(l, &io));
		CHECK_OK(ctx, lp_layer_backward_ref(l, &io));
		device_run(ctx, l, n, c, x, labels, dy, y, p, dx);
	}
	tu_failures += lc_compare("loss (big)", "softmax_xent", y, ry, n) != 0;
	tu_failures += lc_compare("probabilities (big)", "softmax_xent", p, rp, n * c) != 0;
	tu_failures += lc_compare("dx (big)", "softmax_xent", dx, rdx, n * c) != 0;
	free(x), free(dy), free(labels), free(y), free(p), free(dx), free(ry), free(rp), free(rdx);
	lp_layer_free(l);
}

static void errors(lp_ctx *ctx)
{
	lp_layer *l = make(ctx);
	int64_t out[4];
	int orank;
	lp_device_info d;

	if (!l)
		return;
	/* one row larger than a storage binding cannot be split: LP_ERR_LIMIT */
	const int64_t wide[2] = { 1, 33600000 }, one[1] = { 1 };
	const int32_t label = 0;
	CHECK_OK(ctx, lp_device_get_info(ctx, &d));
	if ((uint64_t)wide[1] * 4 > d.max_storage_buffer_range &&
	    (uint64_t)wide[1] * 4 <= d.max_alloc_size) {
		lp_tensor *tx = lc_upload(ctx, LP_F32, 2, wide, NULL);
		lp_tensor *ty = lc_upload(ctx, LP_F32, 1, one, NULL);
		lp_tensor *tl = lc_upload(ctx, LP_I32, 1, one, &label);
		lp_layer_io io = { .size = sizeof io, .x = tx, .y = ty, .labels = tl };
		lp_cmd *cmd = NULL;
		CHECK_OK(ctx, lp_cmd_begin(ctx, &cmd));
		if (cmd && tx && ty && tl) {
			CHECK(lp_layer_forward(l, cmd, &io) == LP_ERR_LIMIT);
			CHECK_MSG(ctx, "softmax_xent", "does not fit");
		}
		lp_cmd_free(cmd);
		lp_tensor_free(tx), lp_tensor_free(ty), lp_tensor_free(tl);
	}
	const int64_t img[4] = { 2, 3, 4, 4 }, ok[2] = { 5, 9 };
	CHECK(lp_layer_shape(l, 4, img, &orank, out) == LP_ERR_SHAPE);
	CHECK_MSG(ctx, "softmax_xent", "rank 4");
	CHECK_OK(ctx, lp_layer_shape(l, 2, ok, &orank, out));
	CHECK(orank == 1 && out[0] == 5);
	lp_layer_free(l);
}

int main(void)
{
	lp_ctx *ctx = tu_ctx();
	const int64_t shapes[][2] = { { 1, 1 }, { 1, 5 }, { 4, 1 }, { 2, 2 }, { 4, 10 },
				      { 5, 33 }, { 7, 67 }, { 3, 1000 } };

	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		lc_case c = { .layer = "softmax_xent", .rank = 2,
			      .dims = { shapes[i][0], shapes[i][1] }, .classes = (int)shapes[i][1],
			      .x_scale = 3.0, .fd_samples = 32 };
		lc_check(ctx, &c);
	}
	exact(ctx, 7, 67, 3.0, 0.0, NULL);
	exact(ctx, 1, 1, 3.0, 0.0, NULL);
	exact(ctx, 16, 10, 1e4, 0.0, NULL);  /* spread: losses up to ~2e4, probabilities 0 or 1 */
	exact(ctx, 16, 10, 3.0, 1e4, NULL);  /* clustered at 1e4: every exp(x) overflows */
	exact(ctx, 4, 1000, 1e4, -1e4, NULL);
	const int32_t bad[5] = { 2, -1, 5, 0, 4 };
	exact(ctx, 5, 5, 3.0, 0.0, bad);     /* items 1 and 2: loss 0, zero gradient */
	errors(ctx);
	big(ctx);
	return tu_finish(ctx, "test_softmax_xent");
}
