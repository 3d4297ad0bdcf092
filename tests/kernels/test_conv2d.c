/* test_conv2d.c — the conv2d plugin against its CPU twin and finite differences:
 *   - lc_check (device forward, dx, dweight, dbias vs the twin; the twin's gradients vs central
 *     differences) on odd sizes, strides 2 and 4, padding 1 and 2, groups 2, no bias, kernels
 *     1, 2, 5 and 11 (AlexNet conv1's shape, small), batches 1 to 3, channel counts that
 *     leave partial register tiles, both data-gradient paths (stride 1: forward kernel on
 *     flipped weights; other strides or padding >= kernel: gather), and sums longer than one
 *     invocation may run on lavapipe (channel ranges; batch slices and row bands whose
 *     partial sums are reduced in order);
 *   - the twin's forward against a direct evaluation of the definition on a few outputs (so the
 *     twin is not only self-consistent);
 *   - backward with dx = NULL (a net's first layer) still writes the weight gradients;
 *   - a scratch tensor outgrown within one command stays valid until the command has run;
 *   - two identical runs give bit-identical outputs and gradients (no atomics, fixed order);
 *   - parameter and shape errors name the layer and the value;
 *   - a batch whose activations exceed one storage binding (lavapipe: 128 MiB) is split over
 *     several dispatches at unaligned image boundaries and still matches the twin. */
#include <math.h>

#include "layer_check.h"

static lp_layer *make(lp_ctx *ctx, const lp_kv *kv, size_t n)
{
	const lp_plugin *p = NULL;
	lp_layer *l = NULL;

	CHECK_OK(ctx, lp_plugin_find(ctx, "conv2d", LP_KIND_LAYER, &p));
	if (p)
		CHECK_OK(ctx, lp_layer_new(ctx, p, kv, n, &l));
	return l;
}

static void layer_checks(lp_ctx *ctx)
{
	lp_kv odd[] = { LC_INT("out", 5), LC_INT("kernel", 3) };
	lp_kv s2[] = { LC_INT("out", 4), LC_INT("kernel", 3), LC_INT("stride", 2),
		       LC_INT("padding", 1) };
	lp_kv s4[] = { LC_INT("out", 3), LC_INT("kernel", 3), LC_INT("stride", 4),
		       LC_INT("padding", 2) };
	lp_kv g2[] = { LC_INT("out", 6), LC_INT("kernel", 3), LC_INT("padding", 1),
		       LC_INT("groups", 2) };
	lp_kv g2tail[] = { LC_INT("out", 18), LC_INT("kernel", 2), LC_INT("stride", 2),
			   LC_INT("groups", 2) };
	lp_kv nobias[] = { LC_INT("out", 4), LC_INT("kernel", 2), LC_BOOL("bias", 0) };
	lp_kv k1[] = { LC_INT("out", 7), LC_INT("kernel", 1) };
	lp_kv k5[] = { LC_INT("out", 4), LC_INT("kernel", 5), LC_INT("padding", 2) };
	lp_kv conv1[] = { LC_INT("out", 8), LC_INT("kernel", 11), LC_INT("stride", 4),
			  LC_INT("padding", 2) };
	lp_kv wide[] = { LC_INT("out", 11), LC_INT("kernel", 3), LC_INT("padding", 1) };
	/* more channels than one invocation may sum (loop budget): input-channel ranges in the
	 * forward, output-channel ranges in the (stride 2: general) data gradient, accumulated */
	lp_kv deep[] = { LC_INT("out", 340), LC_INT("kernel", 11), LC_INT("stride", 2) };
	/* padding >= kernel: the general data gradient at stride 1 */
	lp_kv wide_pad[] = { LC_INT("out", 3), LC_INT("kernel", 2), LC_INT("padding", 2) };
	/* more output positions than one invocation may sum: row bands and image slices,
	 * partial sums reduced in order */
	lp_kv big[] = { LC_INT("out", 2), LC_INT("kernel", 3), LC_INT("padding", 1) };
	const lc_case cases[] = {
		{ .kv = odd, .nkv = 2, .dims = { 2, 3, 7, 9 } },
		{ .kv = s2, .nkv = 4, .dims = { 2, 3, 9, 8 } },
		{ .kv = s4, .nkv = 4, .dims = { 1, 2, 13, 11 } },
		{ .kv = g2, .nkv = 4, .dims = { 2, 4, 6, 7 } },
		{ .kv = g2tail, .nkv = 4, .dims = { 1, 6, 7, 6 } },
		{ .kv = nobias, .nkv = 3, .dims = { 2, 3, 5, 6 } },
		{ .kv = k1, .nkv = 2, .dims = { 3, 5, 4, 5 } },
		{ .kv = k5, .nkv = 3, .dims = { 1, 3, 9, 10 } },
		{ .kv = conv1, .nkv = 4, .dims = { 1, 3, 35, 35 } },
		{ .kv = wide, .nkv = 3, .dims = { 3, 9, 5, 6 } },
		{ .kv = deep, .nkv = 3, .dims = { 1, 120, 11, 11 }, .fd_samples = 8,
		  .x_scale = 0.1 }, /* long float sums: keep the rounding under the tolerance */
		{ .kv = wide_pad, .nkv = 3, .dims = { 1, 2, 4, 5 } },
		/* 2 images per slice, 3 images: two slices, the second partial */
		{ .kv = big, .nkv = 3, .dims = { 3, 1, 40, 1000 }, .fd_samples = 8 },
		/* one image in two row bands */
		{ .kv = big, .nkv = 3, .dims = { 1, 1, 200, 700 }, .fd_samples = 8 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		lc_case c = cases[i];
		c.layer = "conv2d";
		c.rank = 4;
		c.fd_samples = c.fd_samples ? c.fd_samples : 16;
		if (lc_check(ctx, &c))
			fprintf(stderr, "  (case %zu)\n", i);
	}
}

/* y[n,o,i,j] = b[o] + sum w[o,c,u,v] x[n, g*cg+c, i*s-p+u, j*s-p+v], written out once more
 * for single outputs of a strided, padded, grouped case. */
static void twin_vs_definition(lp_ctx *ctx)
{
	enum { N = 2, C = 4, H = 6, W = 5, K = 6, KS = 3, S = 2, P = 1, G = 2 };
	enum { OH = (H + 2 * P - KS) / S + 1, OW = (W + 2 * P - KS) / S + 1, CG = C / G };
	lp_kv kv[] = { LC_INT("out", K), LC_INT("kernel", KS), LC_INT("stride", S),
		       LC_INT("padding", P), LC_INT("groups", G) };
	lp_layer *l = make(ctx, kv, 5);
	const int64_t in[4] = { N, C, H, W }, od[4] = { N, K, OH, OW };
	static float x[N][C][H][W], w[K][CG][KS][KS], b[K], y[N][K][OH][OW];
	unsigned long long seed = 0x1234567ull;

	if (!l)
		return;
	for (float *p = &x[0][0][0][0]; p < &x[0][0][0][0] + N * C * H * W; p++)
		*p = tu_rand(&seed);
	for (float *p = &w[0][0][0][0]; p < &w[0][0][0][0] + K * CG * KS * KS; p++)
		*p = tu_rand(&seed);
	for (int o = 0; o < K; o++)
		b[o] = tu_rand(&seed);
	const float *ws[2] = { &w[0][0][0][0], b };
	lp_ref_io io = { .size = sizeof io, .rank = 4, .out_rank = 4, .in_dims = in,
			 .out_dims = od, .x = &x[0][0][0][0], .y = &y[0][0][0][0], .w = ws,
			 .nw = 2 };
	CHECK_OK(ctx, lp_layer_forward_ref(l, &io));
	const int picks[][4] = { { 0, 0, 0, 0 }, { 1, 5, OH - 1, OW - 1 }, { 0, 3, 1, 2 },
				 { 1, 2, 2, 0 } };
	for (size_t k = 0; k < sizeof picks / sizeof picks[0]; k++) {
		int n = picks[k][0], o = picks[k][1], i = picks[k][2], j = picks[k][3];
		double want = b[o];
		for (int c = 0; c < CG; c++)
			for (int u = 0; u < KS; u++)
				for (int v = 0; v < KS; v++) {
					int r = i * S - P + u, q = j * S - P + v;
					if (r >= 0 && r < H && q >= 0 && q < W)
						want += (double)w[o][c][u][v] *
							x[n][o / (K / G) * CG + c][r][q];
				}
		if (fabs(y[n][o][i][j] - want) > 1e-5 * fmax(1.0, fabs(want))) {
			fprintf(stderr, "FAIL conv2d twin y[%d,%d,%d,%d] = %.7g, definition %.7g\n",
				n, o, i, j, (double)y[n][o][i][j], want);
			tu_failures++;
		}
	}
	lp_layer_free(l);
}

/* Device run of one case; returns downloaded y, dx (unless skip_dx), dw, db. */
typedef struct run_out {
	float *y, *dx, *dw, *db;
} run_out;

static run_out device_run(lp_ctx *ctx, lp_layer *l, const int64_t *in, const int64_t *od,
			  const int64_t *wd, int64_t k, const float *x, const float *w,
			  const float *b, const float *dy, int skip_dx)
{
	run_out r = { 0 };
	lp_tensor *tx = lc_upload(ctx, LP_F32, 4, in, x), *ty = lc_upload(ctx, LP_F32, 4, od, NULL);
	lp_tensor *tdy = lc_upload(ctx, LP_F32, 4, od, dy);
	lp_tensor *tdx = skip_dx ? NULL : lc_upload(ctx, LP_F32, 4, in, NULL);
	lp_tensor *tw[2] = { lc_upload(ctx, LP_F32, 4, wd, w), lc_upload(ctx, LP_F32, 1, &k, b) };
	lp_tensor *tdw[2] = { lc_upload(ctx, LP_F32, 4, wd, NULL),
			      lc_upload(ctx, LP_F32, 1, &k, NULL) };
	lp_layer_io io = { .size = sizeof io, .x = tx, .y = ty, .dy = tdy, .dx = tdx, .w = tw,
			   .dw = tdw, .nw = 2 };
	lp_cmd *cmd = NULL;

	CHECK_OK(ctx, lp_cmd_begin(ctx, &cmd));
	if (cmd) {
		CHECK_OK(ctx, lp_layer_forward(l, cmd, &io));
		CHECK_OK(ctx, lp_layer_backward(l, cmd, &io));
		CHECK_OK(ctx, lp_cmd_submit(cmd));
	}
	r.y = lc_download(ctx, ty);
	r.dx = tdx ? lc_download(ctx, tdx) : NULL;
	r.dw = lc_download(ctx, tdw[0]);
	r.db = lc_download(ctx, tdw[1]);
	lp_tensor_free(tx), lp_tensor_free(ty), lp_tensor_free(tdy), lp_tensor_free(tdx);
	for (int i = 0; i < 2; i++)
		lp_tensor_free(tw[i]), lp_tensor_free(tdw[i]);
	return r;
}

static void run_free(run_out *r)
{
	free(r->y), free(r->dx), free(r->dw), free(r->db);
}

/* Bit-identical results run to run, and dx = NULL is allowed (weights still get gradients). */
static void determinism_and_no_dx(lp_ctx *ctx)
{
	lp_kv kv[] = { LC_INT("out", 10), LC_INT("kernel", 3), LC_INT("padding", 1),
		       LC_INT("groups", 2) };
	const int64_t in[4] = { 3, 6, 11, 10 }, od[4] = { 3, 10, 11, 10 }, wd[4] = { 10, 3, 3, 3 };
	const int64_t k = 10, nx = 3 * 6 * 11 * 10, ny = 3 * 10 * 11 * 10, nw = 10 * 3 * 9;
	lp_layer *l = make(ctx, kv, 4);

	if (!l)
		return;
	float *x = lc_random(nx, 1.0), *dy = lc_random(ny, 1.0), *w = lc_random(nw, 0.5);
	float *b = lc_random(k, 0.5);
	run_out a = device_run(ctx, l, in, od, wd, k, x, w, b, dy, 0);
	run_out c = device_run(ctx, l, in, od, wd, k, x, w, b, dy, 0);
	run_out d = device_run(ctx, l, in, od, wd, k, x, w, b, dy, 1);
	CHECK(memcmp(a.y, c.y, (size_t)ny * 4) == 0);
	CHECK(memcmp(a.dx, c.dx, (size_t)nx * 4) == 0);
	CHECK(memcmp(a.dw, c.dw, (size_t)nw * 4) == 0);
	CHECK(memcmp(a.db, c.db, (size_t)k * 4) == 0);
	CHECK(memcmp(a.dw, d.dw, (size_t)nw * 4) == 0);
	CHECK(memcmp(a.db, d.db, (size_t)k * 4) == 0);
	run_free(&a), run_free(&c), run_free(&d);
	free(x), free(dy), free(w), free(b);
	lp_layer_free(l);
}

/* Gradients summed over ~1e5 or more float terms: the device sums in float, the twin in double,
 * so compare at 1e-3 of the value (or of 1, near zero); a lost slice would be off by far more. */
static void long_sums(const char *what, const float *dev, const float *cpu, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		if (!(fabs(dev[i] - cpu[i]) <= 1e-3 * fmax(1.0, fabs(cpu[i])))) {
			fprintf(stderr, "FAIL conv2d %s[%lld]: device %.9g cpu %.9g\n", what,
				(long long)i, (double)dev[i], (double)cpu[i]);
			tu_failures++;
			return;
		}
}

/* Two backward passes in one command, the second needing more partial-sum scratch than the
 * first: the first's scratch is replaced but must live until the command has run. */
static void scratch_growth(lp_ctx *ctx)
{
	lp_kv kv[] = { LC_INT("out", 2), LC_INT("kernel", 3), LC_INT("padding", 1) };
	lp_layer *l = make(ctx, kv, 3);
	const int64_t batch[2] = { 3, 5 }, wd[4] = { 2, 1, 3, 3 }, k = 2;
	float *w = lc_random(18, 0.5), *b = lc_random(2, 0.5);
	lp_tensor *tw[2] = { lc_upload(ctx, LP_F32, 4, wd, w), lc_upload(ctx, LP_F32, 1, &k, b) };
	lp_tensor *t[2][4] = { { 0 } }, *tdw[2][2] = { { 0 } };
	float *x[2], *dy[2];
	lp_cmd *cmd = NULL;

	if (!l)
		goto out;
	CHECK_OK(ctx, lp_cmd_begin(ctx, &cmd));
	for (int i = 0; i < 2 && cmd; i++) {
		const int64_t in[4] = { batch[i], 1, 40, 1000 };
		x[i] = lc_random(batch[i] * 40000, 1.0);
		dy[i] = lc_random(batch[i] * 80000, 1.0);
		const int64_t od[4] = { batch[i], 2, 40, 1000 };
		t[i][0] = lc_upload(ctx, LP_F32, 4, in, x[i]);
		t[i][1] = lc_upload(ctx, LP_F32, 4, od, NULL);
		t[i][2] = lc_upload(ctx, LP_F32, 4, od, dy[i]);
		tdw[i][0] = lc_upload(ctx, LP_F32, 4, wd, NULL);
		tdw[i][1] = lc_upload(ctx, LP_F32, 1, &k, NULL);
		lp_layer_io io = { .size = sizeof io, .x = t[i][0], .y = t[i][1], .dy = t[i][2],
				   .w = tw, .dw = tdw[i], .nw = 2 };
		CHECK_OK(ctx, lp_layer_backward(l, cmd, &io));
	}
	if (cmd)
		CHECK_OK(ctx, lp_cmd_submit(cmd));
	for (int i = 0; i < 2 && cmd; i++) {
		const int64_t in[4] = { batch[i], 1, 40, 1000 }, od[4] = { batch[i], 2, 40, 1000 };
		float dw[18], db[2];
		const float *ws[2] = { w, b };
		float *dws[2] = { dw, db };
		lp_ref_io io = { .size = sizeof io, .rank = 4, .out_rank = 4, .in_dims = in,
				 .out_dims = od, .x = x[i], .dy = dy[i], .w = ws, .dw = dws, .nw = 2 };
		CHECK_OK(ctx, lp_layer_backward_ref(l, &io));
		float *ddw = lc_download(ctx, tdw[i][0]), *ddb = lc_download(ctx, tdw[i][1]);
		long_sums("weight (scratch growth)", ddw, dw, 18);
		long_sums("bias (scratch growth)", ddb, db, 2);
		free(ddw), free(ddb), free(x[i]), free(dy[i]);
		for (int j = 0; j < 4; j++)
			lp_tensor_free(t[i][j]);
		lp_tensor_free(tdw[i][0]), lp_tensor_free(tdw[i][1]);
	}
out:
	lp_tensor_free(tw[0]), lp_tensor_free(tw[1]);
	free(w), free(b);
	lp_layer_free(l);
}

static void errors(lp_ctx *ctx)
{
	const lp_plugin *p = NULL;
	lp_layer *l = NULL;
	int64_t od[4];
	int orank;

	CHECK_OK(ctx, lp_plugin_find(ctx, "conv2d", LP_KIND_LAYER, &p));
	if (!p)
		return;
	lp_kv nout[] = { LC_INT("kernel", 3) };
	CHECK(lp_layer_new(ctx, p, nout, 1, &l) != LP_OK && !l);
	CHECK_MSG(ctx, "conv2d", "out");

	lp_kv badg[] = { LC_INT("out", 6), LC_INT("kernel", 3), LC_INT("groups", 4) };
	CHECK(lp_layer_new(ctx, p, badg, 3, &l) != LP_OK && !l);
	CHECK_MSG(ctx, "conv2d", "out channels 6 not divisible by groups 4");

	lp_kv badk[] = { LC_INT("out", 6), LC_INT("kernel", 0) };
	CHECK(lp_layer_new(ctx, p, badk, 2, &l) != LP_OK && !l);
	CHECK_MSG(ctx, "conv2d", "kernel 0");

	lp_kv g2[] = { LC_INT("out", 4), LC_INT("kernel", 5), LC_INT("groups", 2) };
	CHECK_OK(ctx, lp_layer_new(ctx, p, g2, 3, &l));
	if (!l)
		return;
	const int64_t in3[4] = { 1, 3, 8, 8 }, small[4] = { 1, 4, 3, 3 }, in2[2] = { 4, 4 };
	CHECK(lp_layer_shape(l, 4, in3, &orank, od) == LP_ERR_SHAPE);
	CHECK_MSG(ctx, "conv2d", "in channels 3 not divisible by groups 2");
	CHECK(lp_layer_shape(l, 4, small, &orank, od) == LP_ERR_SHAPE);
	CHECK_MSG(ctx, "conv2d", "kernel 5", "3x3");
	CHECK(lp_layer_shape(l, 2, in2, &orank, od) == LP_ERR_SHAPE);
	CHECK_MSG(ctx, "conv2d", "rank 2");
	lp_layer_free(l);
}

/* A batch over one binding's limit: x and dx exceed it, and neither the input nor the output
 * image size is a multiple of the offset alignment, so later chunks start at an aligned-down
 * offset. Kernel 1, stride 2 keep the device and CPU work small; the split does not care. */
static void over_binding_limit(lp_ctx *ctx)
{
	lp_device_info d;
	CHECK_OK(ctx, lp_device_get_info(ctx, &d));
	const int64_t H = 997, W = 1001, img = H * W;       /* 3,991,988 bytes */
	const int64_t OH = 499, OW = 501, oimg = OH * OW;   /* 999,996 bytes */
	int64_t n = (int64_t)(d.max_storage_buffer_range / (uint64_t)(img * 4)) + 1;
	if (n * img * 4 > ((int64_t)300 << 20) || n * img * 4 > (int64_t)d.max_alloc_size) {
		printf("test_conv2d: binding limit %llu too large for the split test; skipped\n",
		       (unsigned long long)d.max_storage_buffer_range);
		return;
	}
	lp_kv kv[] = { LC_INT("out", 1), LC_INT("kernel", 1), LC_INT("stride", 2) };
	lp_layer *l = make(ctx, kv, 3);
	const int64_t in[4] = { n, 1, H, W }, od[4] = { n, 1, OH, OW }, wd[4] = { 1, 1, 1, 1 };
	const int64_t k = 1;
	if (!l)
		return;
	float *x = lc_random(n * img, 1.0), *dy = lc_random(n * oimg, 1.0), *w = lc_random(1, 0.5);
	float *b = lc_random(1, 0.5), *y = malloc((size_t)(n * oimg) * 4);
	float *dx = malloc((size_t)(n * img) * 4), dw[1], db[1];
	const float *ws[2] = { w, b };
	float *dws[2] = { dw, db };
	lp_ref_io io = { .size = sizeof io, .rank = 4, .out_rank = 4, .in_dims = in,
			 .out_dims = od, .x = x, .y = y, .dy = dy, .dx = dx, .w = ws, .dw = dws,
			 .nw = 2 };
	CHECK_OK(ctx, lp_layer_forward_ref(l, &io));
	CHECK_OK(ctx, lp_layer_backward_ref(l, &io));
	run_out r = device_run(ctx, l, in, od, wd, k, x, w, b, dy, 0);
	tu_failures += lc_compare("forward (split)", "conv2d", r.y, y, n * oimg) != 0;
	tu_failures += lc_compare("dx (split)", "conv2d", r.dx, dx, n * img) != 0;
	long_sums("weight (split)", r.dw, dw, 1);
	long_sums("bias (split)", r.db, db, 1);
	run_free(&r);
	free(x), free(dy), free(w), free(b), free(y), free(dx);
	lp_layer_free(l);
}

int main(void)
{
	lp_ctx *ctx = tu_ctx();

	layer_checks(ctx);
	twin_vs_definition(ctx);
	determinism_and_no_dx(ctx);
	scratch_growth(ctx);
	errors(ctx);
	over_binding_limit(ctx);
	return tu_finish(ctx, "test_conv2d");
}
