/* test_maxpool.c — the maxpool plugin (nn.MaxPool2d, no padding, floor mode) proves:
 *   - on odd shapes and several kernel/stride pairs (overlapping, tiling, gapped, 1x1), the
 *     Vulkan forward and gather backward match the CPU twin, and the twin's backward matches
 *     finite differences of its forward (layer_check.h);
 *   - the forward matches this test's own pooling loop, and with many ties (inputs from
 *     {0, 1, 2}, -inf, NaN) the backward routes each window's gradient to its first maximum
 *     in row-major order (a NaN wins), as PyTorch does — checked against this test's scatter;
 *   - AlexNet's pool1 input at batch 128 with 95 channels (149 MB, images not a multiple of the
 *     binding alignment) is split over bindings and still equals the twin bit for bit;
 *   - bad parameters, a window larger than the input and one image larger than a storage
 *     binding are refused with messages naming the layer. */
#include <math.h>

#include "layer_check.h"

static unsigned long long seed = 0x5851f42d4c957f2dull;

static lp_layer *make(lp_ctx *ctx, int64_t k, int64_t s)
{
	const lp_plugin *p = NULL;
	lp_layer *l = NULL;
	lp_kv kv[] = { LC_INT("kernel", k), LC_INT("stride", s) };

	CHECK_OK(ctx, lp_plugin_find(ctx, "maxpool", LP_KIND_LAYER, &p));
	if (p)
		CHECK_OK(ctx, lp_layer_new(ctx, p, kv, 2, &l));
	return l;
}

/* Forward and backward on the device; y and dx are host arrays of the right sizes. */
static void device_run(lp_ctx *ctx, lp_layer *l, const int64_t *in, const int64_t *out,
		       const float *x, const float *dy, float *y, float *dx)
{
	lp_tensor *tx = lc_upload(ctx, LP_F32, 4, in, x);
	lp_tensor *tdx = lc_upload(ctx, LP_F32, 4, in, NULL);
	lp_tensor *ty = lc_upload(ctx, LP_F32, 4, out, NULL);
	lp_tensor *tdy = lc_upload(ctx, LP_F32, 4, out, dy);
	lp_layer_io io = { .size = sizeof io, .x = tx, .y = ty, .dy = tdy, .dx = tdx };
	lp_cmd *cmd = NULL;

	CHECK_OK(ctx, lp_cmd_begin(ctx, &cmd));
	CHECK_OK(ctx, lp_layer_forward(l, cmd, &io));
	CHECK_OK(ctx, lp_layer_backward(l, cmd, &io));
	CHECK_OK(ctx, cmd ? lp_cmd_submit(cmd) : LP_ERR_ARG);
	CHECK_OK(ctx, lp_tensor_read(ctx, ty, y, (size_t)lc_numel(4, out) * sizeof(float)));
	CHECK_OK(ctx, lp_tensor_read(ctx, tdx, dx, (size_t)lc_numel(4, in) * sizeof(float)));
	lp_tensor_free(tx), lp_tensor_free(ty), lp_tensor_free(tdy), lp_tensor_free(tdx);
}

/* This test's own pooling: y and the scatter of dy to each window's first maximum (NaN wins). */
static void reference(const int64_t *in, const int64_t *out, int64_t k, int64_t s,
		      const float *x, const float *dy, float *y, float *dx)
{
	memset(dx, 0, (size_t)lc_numel(4, in) * sizeof(float));
	for (int64_t p = 0; p < in[0] * in[1]; p++)
		for (int64_t oy = 0; oy < out[2]; oy++)
			for (int64_t ox = 0; ox < out[3]; ox++) {
				int64_t best = -1;
				for (int64_t i = 0; i < k; i++)
					for (int64_t j = 0; j < k; j++) {
						int64_t at = (p * in[2] + oy * s + i) * in[3] +
							     ox * s + j;
						if (best < 0 || x[at] > x[best] || isnan(x[at]))
							best = at;
					}
				int64_t o = (p * out[2] + oy) * out[3] + ox;
				y[o] = x[best];
				dx[best] += dy[o];
			}
}

static int64_t differ(const float *a, const float *b, int64_t n)
{
	int64_t bad = 0;
	for (int64_t i = 0; i < n; i++)
		bad += memcmp(&a[i], &b[i], sizeof(float)) != 0 && !(isnan(a[i]) && isnan(b[i]));
	return bad;
}

/* Ties everywhere: device and twin against the reference above, exactly. */
static void ties(lp_ctx *ctx, int64_t k, int64_t s, const int64_t *in)
{
	lp_layer *l = make(ctx, k, s);
	int64_t out[4] = { in[0], in[1], (in[2] - k) / s + 1, (in[3] - k) / s + 1 };
	int64_t nx = lc_numel(4, in), ny = lc_numel(4, out);
	float *x = malloc((size_t)nx * 4), *dx = malloc((size_t)nx * 4);
	float *rdx = malloc((size_t)nx * 4), *tdx = malloc((size_t)nx * 4);
	float *dy = lc_random(ny, 1.0), *y = malloc((size_t)ny * 4), *ry = malloc((size_t)ny * 4);
	float *ty = malloc((size_t)ny * 4);

	for (int64_t i = 0; i < nx; i++) {
		float r = tu_rand(&seed);
		x[i] = r < -0.9f ? -INFINITY : r < 0.0f ? 0.0f : r < 0.9f ? 1.0f : 2.0f;
	}
	x[nx / 3] = NAN;
	x[nx / 2] = NAN;
	reference(in, out, k, s, x, dy, ry, rdx);
	if (l)
		device_run(ctx, l, in, out, x, dy, y, dx);
	lp_ref_io io = { .size = sizeof io, .rank = 4, .out_rank = 4, .in_dims = in,
			 .out_dims = out, .x = x, .y = ty, .dy = dy, .dx = tdx };
	if (l) {
		CHECK_OK(ctx, lp_layer_forward_ref(l, &io));
		CHECK_OK(ctx, lp_layer_backward_ref(l, &io));
	}
	int64_t b1 = differ(y, ry, ny), b2 = differ(dx, rdx, nx);
	int64_t b3 = differ(ty, ry, ny), b4 = differ(tdx, rdx, nx);
	if (b1 || b2 || b3 || b4)
		fprintf(stderr, "FAIL maxpool ties k%lld s%lld: device y %lld dx %lld, twin y %lld "
			"dx %lld elements differ from the reference\n", (long long)k, (long long)s,
			(long long)b1, (long long)b2, (long long)b3, (long long)b4);
	tu_failures += b1 || b2 || b3 || b4;
	free(x), free(dx), free(rdx), free(tdx), free(dy), free(y), free(ry), free(ty);
	lp_layer_free(l);
}

/* Random inputs: the device forward against the reference (the twin is layer_check's). */
static void forward_vs_reference(lp_ctx *ctx, int64_t k, int64_t s, const int64_t *in)
{
	lp_layer *l = make(ctx, k, s);
	int64_t out[4] = { in[0], in[1], (in[2] - k) / s + 1, (in[3] - k) / s + 1 };
	int64_t nx = lc_numel(4, in), ny = lc_numel(4, out);
	float *x = lc_random(nx, 1.0), *dy = lc_random(ny, 1.0);
	float *y = malloc((size_t)ny * 4), *ry = malloc((size_t)ny * 4);
	float *dx = malloc((size_t)nx * 4), *rdx = malloc((size_t)nx * 4);

	reference(in, out, k, s, x, dy, ry, rdx);
	if (l)
		device_run(ctx, l, in, out, x, dy, y, dx);
	CHECK(differ(y, ry, ny) == 0 && differ(dx, rdx, nx) == 0);
	free(x), free(dy), free(y), free(ry), free(dx), free(rdx);
	lp_layer_free(l);
}

/* Larger than one storage binding: the device equals the twin exactly. */
static void big(lp_ctx *ctx)
{
	const int64_t in[4] = { 128, 95, 55, 55 }, out[4] = { 128, 95, 27, 27 };
	lp_device_info d;
	int64_t nx = lc_numel(4, in), ny = lc_numel(4, out);

	CHECK_OK(ctx, lp_device_get_info(ctx, &d));
	if ((uint64_t)nx * 4 <= d.max_storage_buffer_range || (uint64_t)nx * 4 > d.max_alloc_size) {
		printf("maxpool: big case skipped (binding limit %llu)\n",
		       (unsigned long long)d.max_storage_buffer_range);
		return;
	}
	CHECK((in[1] * in[2] * in[3] * 4) % 16 != 0); /* images straddle aligned offsets */
	lp_layer *l = make(ctx, 3, 2);
	float *x = lc_random(nx, 1.0), *dy = lc_random(ny, 1.0);
	float *y = malloc((size_t)ny * 4), *ry = malloc((size_t)ny * 4);
	float *dx = malloc((size_t)nx * 4), *rdx = malloc((size_t)nx * 4);
	lp_ref_io io = { .size = sizeof io, .rank = 4, .out_rank = 4, .in_dims = in,
			 .out_dims = out, .x = x, .y = ry, .dy = dy, .dx = rdx };
	if (l) {
		CHECK_OK(ctx, lp_layer_forward_ref(l, &io));
		CHECK_OK(ctx, lp_layer_backward_ref(l, &io));
		device_run(ctx, l, in, out, x, dy, y, dx);
	}
	int64_t b1 = differ(y, ry, ny), b2 = differ(dx, rdx, nx);
	if (b1 || b2)
		fprintf(stderr, "FAIL maxpool big: %lld forward, %lld backward elements differ\n",
			(long long)b1, (long long)b2);
	tu_failures += b1 || b2;
	free(x), free(dy), free(y), free(ry), free(dx), free(rdx);
	lp_layer_free(l);
}

/* One image larger than a storage binding cannot be split over the batch: LP_ERR_LIMIT. */
static void image_too_big(lp_ctx *ctx)
{
	const int64_t in[4] = { 1, 1, 5800, 5800 }, out[4] = { 1, 1, 2899, 2899 };
	lp_device_info d;

	CHECK_OK(ctx, lp_device_get_info(ctx, &d));
	if ((uint64_t)lc_numel(4, in) * 4 <= d.max_storage_buffer_range ||
	    (uint64_t)lc_numel(4, in) * 4 > d.max_alloc_size)
		return;
	lp_layer *l = make(ctx, 3, 2);
	lp_tensor *tx = lc_upload(ctx, LP_F32, 4, in, NULL);
	lp_tensor *ty = lc_upload(ctx, LP_F32, 4, out, NULL);
	lp_layer_io io = { .size = sizeof io, .x = tx, .y = ty, .dy = ty, .dx = tx };
	lp_cmd *cmd = NULL;
	CHECK_OK(ctx, lp_cmd_begin(ctx, &cmd));
	if (l && cmd && tx && ty) {
		CHECK(lp_layer_forward(l, cmd, &io) == LP_ERR_LIMIT);
		CHECK_MSG(ctx, "maxpool", "does not fit");
		CHECK(lp_layer_backward(l, cmd, &io) == LP_ERR_LIMIT);
		CHECK_MSG(ctx, "maxpool", "does not fit");
	}
	lp_cmd_free(cmd);
	lp_tensor_free(tx), lp_tensor_free(ty);
	lp_layer_free(l);
}

static void errors(lp_ctx *ctx)
{
	const lp_plugin *p = NULL;
	lp_layer *l = NULL;
	int64_t out[4];
	int orank;

	CHECK_OK(ctx, lp_plugin_find(ctx, "maxpool", LP_KIND_LAYER, &p));
	if (!p)
		return;
	lp_kv k0[] = { LC_INT("kernel", 0) }, s0[] = { LC_INT("stride", 0) };
	CHECK(lp_layer_new(ctx, p, k0, 1, &l) == LP_ERR_ARG && !l);
	CHECK_MSG(ctx, "maxpool", "kernel 0");
	CHECK(lp_layer_new(ctx, p, s0, 1, &l) == LP_ERR_ARG && !l);
	CHECK_MSG(ctx, "maxpool", "stride 0");

	lp_kv k5[] = { LC_INT("kernel", 5) };
	CHECK_OK(ctx, lp_layer_new(ctx, p, k5, 1, &l));
	if (!l)
		return;
	const int64_t small[4] = { 2, 3, 4, 9 }, rank3[3] = { 3, 9, 9 }, ok[4] = { 2, 3, 5, 12 };
	CHECK(lp_layer_shape(l, 4, small, &orank, out) == LP_ERR_SHAPE);
	CHECK_MSG(ctx, "maxpool", "5x5", "4x9");
	CHECK(lp_layer_shape(l, 3, rank3, &orank, out) == LP_ERR_SHAPE);
	CHECK_MSG(ctx, "maxpool", "rank 3");
	CHECK_OK(ctx, lp_layer_shape(l, 4, ok, &orank, out));
	CHECK(orank == 4 && out[0] == 2 && out[1] == 3 && out[2] == 1 && out[3] == 4);
	lp_layer_free(l);
}

int main(void)
{
	lp_ctx *ctx = tu_ctx();
	const struct {
		int64_t k, s, dims[4];
	} cases[] = {
		{ 3, 2, { 2, 3, 7, 9 } },   { 3, 2, { 1, 5, 13, 13 } }, { 3, 2, { 3, 4, 27, 27 } },
		{ 2, 2, { 2, 3, 8, 11 } },  { 3, 1, { 2, 2, 9, 7 } },   { 2, 3, { 1, 3, 10, 11 } },
		{ 1, 1, { 2, 2, 3, 5 } },   { 5, 3, { 2, 3, 12, 17 } }, { 3, 2, { 1, 1, 3, 3 } },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		lp_kv kv[] = { LC_INT("kernel", cases[i].k), LC_INT("stride", cases[i].s) };
		lc_case c = { .layer = "maxpool", .kv = kv, .nkv = 2, .rank = 4, .x_scale = 2.0,
			      .fd_samples = 64 };
		memcpy(c.dims, cases[i].dims, sizeof cases[i].dims);
		if (lc_check(ctx, &c))
			fprintf(stderr, "  kernel %lld stride %lld\n", (long long)cases[i].k,
				(long long)cases[i].s);
		forward_vs_reference(ctx, cases[i].k, cases[i].s, cases[i].dims);
	}
	/* default parameters (3, 2) through an empty parameter list */
	lc_case def = { .layer = "maxpool", .rank = 4, .dims = { 2, 2, 11, 6 }, .fd_samples = 64 };
	lc_check(ctx, &def);

	const int64_t t1[4] = { 2, 3, 9, 11 }, t2[4] = { 1, 2, 12, 12 };
	ties(ctx, 3, 2, t1);
	ties(ctx, 3, 1, t1);
	ties(ctx, 2, 2, t2);
	errors(ctx);
	image_too_big(ctx);
	big(ctx);
	return tu_finish(ctx, "test_maxpool");
}
