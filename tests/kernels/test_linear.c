/* test_linear.c — the linear plugin is PyTorch's nn.Linear: y = x W^T + b with W [out, F] and
 * the input flattened to [N, F], checked against hand-computed values and a naive double
 * reference written here; the Vulkan forward and backward match the CPU twin, whose gradients
 * match finite differences (layer_check.h), on odd shapes, without bias, at batch 1, with W
 * larger than one storage binding (AlexNet fc6, 151 MB: cut into ranges of rows) and with x
 * larger than one binding (cut into ranges of the batch) — the profile shows the cuts — and with
 * sums longer than lavapipe's loop limit; results are bit-identical run to run and to the twin
 * (both the any-shape and the vec4 kernels); dW is overwritten, not accumulated; dx = NULL
 * skips dx only; bad parameters and shapes are errors that name the layer. */
#include <math.h>

#include "layer_check.h"

static unsigned long long seed = 0x2545f4914f6cdd1dull;

static lp_layer *make(lp_ctx *ctx, int64_t out, int bias)
{
	const lp_plugin *p = NULL;
	lp_layer *l = NULL;
	lp_kv kv[] = { LC_INT("out", out), LC_BOOL("bias", bias) };

	CHECK_OK(ctx, lp_plugin_find(ctx, "linear", LP_KIND_LAYER, &p));
	if (p)
		CHECK_OK(ctx, lp_layer_new(ctx, p, kv, 2, &l));
	return l;
}

static lp_tensor *upload(lp_ctx *ctx, int rank, const int64_t *dims, const float *h)
{
	lp_tensor *t = NULL;
	CHECK_OK(ctx, lp_tensor_new(ctx, LP_F32, rank, dims, &t));
	if (t && h)
		CHECK_OK(ctx, lp_tensor_write(ctx, t, h, lp_tensor_bytes(t)));
	return t;
}

static float *download(lp_ctx *ctx, const lp_tensor *t)
{
	float *h = calloc((size_t)lp_tensor_numel(t) + 1, sizeof(float));
	CHECK_OK(ctx, lp_tensor_read(ctx, t, h, lp_tensor_bytes(t)));
	return h;
}

static float *randoms(size_t n)
{
	float *p = malloc((n ? n : 1) * sizeof(float));
	for (size_t i = 0; i < n; i++)
		p[i] = tu_rand(&seed);
	return p;
}

/* Tiny by hand: x [1, 3], W [4, 3] as nn.Linear stores it (out rows), b [4]. */
static void by_hand(lp_ctx *ctx)
{
	const int64_t xd[] = { 1, 3 }, wd[] = { 4, 3 }, bd[] = { 4 }, yd[] = { 1, 4 };
	const float x[] = { 1, 2, 3 };
	const float w[] = { 1, 0, 0, 0, 1, 0, 1, 1, 1, 0.5f, -1, 2 };
	const float b[] = { 0.5f, -1, 0, 2 };
	const float want[] = { 1.5f, 1, 6, 6.5f };
	lp_layer *l = make(ctx, 4, 1);
	lp_tensor *tx = upload(ctx, 2, xd, x), *ty = upload(ctx, 2, yd, NULL);
	lp_tensor *tw[2] = { upload(ctx, 2, wd, w), upload(ctx, 1, bd, b) };
	lp_cmd *cmd = NULL;

	if (l) {
		lp_layer_io io = { .size = sizeof io, .x = tx, .y = ty, .w = tw, .nw = 2 };
		CHECK_OK(ctx, lp_cmd_begin(ctx, &cmd));
		CHECK_OK(ctx, lp_layer_forward(l, cmd, &io));
		CHECK_OK(ctx, lp_cmd_submit(cmd));
		float *y = download(ctx, ty);
		for (int i = 0; i < 4; i++)
			if (y[i] != want[i]) {
				fprintf(stderr, "FAIL linear by hand: y[%d] = %g, want %g\n", i,
					(double)y[i], (double)want[i]);
				tu_failures++;
			}
		free(y);
	}
	lp_tensor_free(tx), lp_tensor_free(ty), lp_tensor_free(tw[0]), lp_tensor_free(tw[1]);
	lp_layer_free(l);
}

/* Shapes and declared weights: [N, ...] -> [N, out]; weight [out, F] (He, fan_in F), bias
 * [out] (zeros), no bias without it. */
static void declarations(lp_ctx *ctx)
{
	const int64_t in[] = { 2, 3, 4, 5 };
	lp_weight_decl d[LP_MAX_WEIGHTS];
	uint32_t n = 9;
	int64_t out[LP_MAX_RANK];
	int orank = 0;
	lp_layer *l = make(ctx, 6, 1), *nb = make(ctx, 6, 0);

	if (!l || !nb)
		goto out;
	CHECK_OK(ctx, lp_layer_shape(l, 4, in, &orank, out));
	CHECK(orank == 2 && out[0] == 2 && out[1] == 6);
	CHECK_OK(ctx, lp_layer_weights(l, 4, in, d, &n));
	CHECK(n == 2);
	CHECK(strcmp(d[0].name, "weight") == 0 && d[0].rank == 2 && d[0].dims[0] == 6 &&
	      d[0].dims[1] == 60 && d[0].init == LP_INIT_HE && d[0].a == 60.0);
	CHECK(strcmp(d[1].name, "bias") == 0 && d[1].rank == 1 && d[1].dims[0] == 6 &&
	      d[1].init == LP_INIT_CONSTANT && d[1].a == 0.0);
	CHECK_OK(ctx, lp_layer_weights(nb, 4, in, d, &n));
	CHECK(n == 1 && strcmp(d[0].name, "weight") == 0);
	/* rank 1 has no batch dimension */
	CHECK(lp_layer_shape(l, 1, in, &orank, out) == LP_ERR_SHAPE);
	CHECK_MSG(ctx, "linear", "rank 1");
out:
	lp_layer_free(l);
	lp_layer_free(nb);
}

/* The device forward against a naive double reference, with the error bound of a float sum:
 * |err| <= F * 2^-23 * sum |terms| (loose; float sums over F terms of either order pass). */
static void against_naive(lp_ctx *ctx, int rank, const int64_t *dims, int64_t out, int bias)
{
	int64_t n = dims[0], f = 1;
	for (int i = 1; i < rank; i++)
		f *= dims[i];
	const int64_t wd[] = { out, f }, bd[] = { out }, yd[] = { n, out };
	float *x = randoms((size_t)(n * f)), *w = randoms((size_t)(out * f)), *b = randoms((size_t)out);
	lp_layer *l = make(ctx, out, bias);
	lp_tensor *tx = upload(ctx, rank, dims, x), *ty = upload(ctx, 2, yd, NULL);
	lp_tensor *tw[2] = { upload(ctx, 2, wd, w), upload(ctx, 1, bd, b) };
	lp_cmd *cmd = NULL;
	int bad = 0;

	if (l) {
		lp_layer_io io = { .size = sizeof io, .x = tx, .y = ty, .w = tw, .nw = bias ? 2 : 1 };
		CHECK_OK(ctx, lp_cmd_begin(ctx, &cmd));
		CHECK_OK(ctx, lp_layer_forward(l, cmd, &io));
		CHECK_OK(ctx, lp_cmd_submit(cmd));
		float *y = download(ctx, ty);
		for (int64_t i = 0; i < n; i++)
			for (int64_t o = 0; o < out; o++) {
				double s = bias ? b[o] : 0.0, mag = fabs(s);
				for (int64_t k = 0; k < f; k++) {
					s += (double)x[i * f + k] * w[o * f + k];
					mag += fabs((double)x[i * f + k] * w[o * f + k]);
				}
				double got = y[i * out + o];
				if (!(fabs(got - s) <= (double)f * 0x1p-23 * mag + 1e-30)) {
					if (bad++ < 3)
						fprintf(stderr, "FAIL linear naive [%lld, %lld]: %.9g, "
							"want %.9g\n", (long long)i, (long long)o,
							got, s);
				}
			}
		free(y);
	}
	tu_failures += bad != 0;
	lp_tensor_free(tx), lp_tensor_free(ty), lp_tensor_free(tw[0]), lp_tensor_free(tw[1]);
	free(x), free(w), free(b);
	lp_layer_free(l);
}

typedef struct run_out {
	float *y, *dx, *dw, *db;
} run_out;

/* One forward + backward on the device; dx, dw and db start as garbage (1e6) to catch a kernel
 * that accumulates into them; with_dx = 0 passes dx = NULL. */
static run_out device_run(lp_ctx *ctx, lp_layer *l, const int64_t *xd, int64_t out,
			  const float *x, const float *w, const float *b, const float *dy,
			  int with_dx)
{
	const int64_t wd[] = { out, xd[1] }, bd[] = { out }, yd[] = { xd[0], out };
	size_t nw = (size_t)(out * xd[1]);
	size_t nj = nw > (size_t)(xd[0] * xd[1]) ? nw : (size_t)(xd[0] * xd[1]);
	float *junk = malloc(nj * sizeof(float));
	for (size_t i = 0; i < nj; i++)
		junk[i] = 1e6f;
	lp_tensor *tx = upload(ctx, 2, xd, x), *ty = upload(ctx, 2, yd, NULL);
	lp_tensor *tdy = upload(ctx, 2, yd, dy), *tdx = upload(ctx, 2, xd, junk);
	lp_tensor *tw[2] = { upload(ctx, 2, wd, w), upload(ctx, 1, bd, b) };
	lp_tensor *tdw[2] = { upload(ctx, 2, wd, junk), upload(ctx, 1, bd, junk) };
	lp_layer_io io = { .size = sizeof io, .x = tx, .y = ty, .dy = tdy,
			   .dx = with_dx ? tdx : NULL, .w = tw, .dw = tdw, .nw = 2 };
	lp_cmd *cmd = NULL;
	run_out r;

	CHECK_OK(ctx, lp_cmd_begin(ctx, &cmd));
	CHECK_OK(ctx, lp_layer_forward(l, cmd, &io));
	CHECK_OK(ctx, lp_layer_backward(l, cmd, &io));
	CHECK_OK(ctx, lp_cmd_submit(cmd));
	r.y = download(ctx, ty), r.dx = download(ctx, tdx);
	r.dw = download(ctx, tdw[0]), r.db = download(ctx, tdw[1]);
	lp_tensor_free(tx), lp_tensor_free(ty), lp_tensor_free(tdy), lp_tensor_free(tdx);
	for (int k = 0; k < 2; k++)
		lp_tensor_free(tw[k]), lp_tensor_free(tdw[k]);
	free(junk);
	return r;
}

static void run_free(run_out *r)
{
	free(r->y), free(r->dx), free(r->dw), free(r->db);
}

/* Bit-identical twice, bit-identical to the CPU twin (the same sums in the same order), dW and
 * db overwritten, and dx = NULL changes nothing else. */
static void determinism(lp_ctx *ctx, int64_t n, int64_t f, int64_t out)
{
	const int64_t xd[] = { n, f }, yd[] = { n, out };
	size_t nx = (size_t)(n * f), ny = (size_t)(n * out), nw = (size_t)(out * f);
	size_t nb = (size_t)out;
	float *x = randoms(nx), *w = randoms(nw), *b = randoms(nb), *dy = randoms(ny);
	lp_layer *l = make(ctx, out, 1);
	int before = tu_failures;

	if (!l)
		goto out;
	run_out a = device_run(ctx, l, xd, out, x, w, b, dy, 1);
	run_out c = device_run(ctx, l, xd, out, x, w, b, dy, 1);
	run_out d = device_run(ctx, l, xd, out, x, w, b, dy, 0);
	CHECK(memcmp(a.y, c.y, ny * 4) == 0 && memcmp(a.dx, c.dx, nx * 4) == 0 &&
	      memcmp(a.dw, c.dw, nw * 4) == 0 && memcmp(a.db, c.db, nb * 4) == 0);
	CHECK(memcmp(a.y, d.y, ny * 4) == 0 && memcmp(a.dw, d.dw, nw * 4) == 0 &&
	      memcmp(a.db, d.db, nb * 4) == 0);
	for (size_t i = 0; i < nx; i++)
		if (d.dx[i] != 1e6f) { /* never written */
			CHECK(d.dx[i] == 1e6f);
			break;
		}

	float *ry = calloc(ny, 4), *rdx = calloc(nx, 4), *rdw = calloc(nw, 4), *rdb = calloc(nb, 4);
	const float *wt[2] = { w, b };
	float *dwt[2] = { rdw, rdb };
	lp_ref_io io = { .size = sizeof io, .rank = 2, .out_rank = 2, .in_dims = xd,
			 .out_dims = yd, .x = x, .y = ry, .dy = dy, .dx = rdx, .w = wt,
			 .dw = dwt, .nw = 2 };
	CHECK_OK(ctx, lp_layer_forward_ref(l, &io));
	CHECK_OK(ctx, lp_layer_backward_ref(l, &io));
	CHECK(memcmp(a.y, ry, ny * 4) == 0);
	CHECK(memcmp(a.dx, rdx, nx * 4) == 0);
	CHECK(memcmp(a.dw, rdw, nw * 4) == 0);
	CHECK(memcmp(a.db, rdb, nb * 4) == 0);
	/* db by hand: the batch sum of dy */
	for (int64_t o = 0; o < out; o++) {
		double sum = 0;
		for (int64_t i = 0; i < n; i++)
			sum += dy[i * out + o];
		CHECK(fabs(sum - a.db[o]) < 1e-5 * (double)n);
	}
	free(ry), free(rdx), free(rdw), free(rdb);
	run_free(&a), run_free(&c), run_free(&d);
	if (tu_failures > before)
		fprintf(stderr, "  in determinism [%lld, %lld] -> %lld\n", (long long)n, (long long)f,
			(long long)out);
out:
	free(x), free(w), free(b), free(dy);
	lp_layer_free(l);
}

static void param_errors(lp_ctx *ctx)
{
	const lp_plugin *p = NULL;
	lp_layer *l = NULL;
	lp_kv nothing[] = { LC_BOOL("bias", 0) };
	lp_kv zero[] = { LC_INT("out", 0) };
	lp_kv typo[] = { LC_INT("out", 4), LC_BOOL("biass", 1) };

	CHECK_OK(ctx, lp_plugin_find(ctx, "linear", LP_KIND_LAYER, &p));
	if (!p)
		return;
	CHECK(lp_layer_new(ctx, p, nothing, 1, &l) == LP_ERR_ARG && !l);
	CHECK_MSG(ctx, "linear", "out");
	CHECK(lp_layer_new(ctx, p, zero, 1, &l) == LP_ERR_ARG && !l);
	CHECK_MSG(ctx, "linear", "out = 0");
	CHECK(lp_layer_new(ctx, p, typo, 2, &l) != LP_OK && !l);
	CHECK_MSG(ctx, "linear", "biass");
}

/* A case too big for one binding, checked through lc_check; the profile of its one submit shows
 * how many dispatches each kernel took, which must be at least the given counts (the cuts). */
static void big_case(lp_ctx *ctx, const lc_case *c, int fwd, int data, int weight, int bias)
{
	const lp_profile_entry *e;
	int counts[4] = { 0 };
	double ms[4] = { 0 };
	const char *names[4] = { "linear.forward", "linear.backward_data",
				 "linear.backward_weight", "linear.backward_bias" };

	lp_ctx_set_profile(ctx, 1);
	lc_check(ctx, c);
	lp_ctx_set_profile(ctx, 0);
	size_t n = lp_profile_get(ctx, &e);
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 4; k++)
			if (strncmp(e[i].kernel, names[k], strlen(names[k])) == 0) /* and _vec4 */
				counts[k]++, ms[k] += e[i].ms;
	printf("  [%lld, %lld] -> %lld:", (long long)c->dims[0], (long long)c->dims[1],
	       (long long)c->kv[0].value.integer);
	for (int k = 0; k < 4; k++)
		printf(" %s %d x, %.1f ms;", names[k] + 7, counts[k], ms[k]);
	printf("\n");
	if (counts[0] < fwd || counts[1] < data || counts[2] < weight || counts[3] < bias) {
		fprintf(stderr, "FAIL linear big case: dispatches %d/%d/%d/%d, want at least "
			"%d/%d/%d/%d\n", counts[0], counts[1], counts[2], counts[3], fwd, data,
			weight, bias);
		tu_failures++;
	}
}

int main(void)
{
	lp_ctx *ctx = tu_ctx();
	lp_device_info dev;

	by_hand(ctx);
	declarations(ctx);
	param_errors(ctx);
	{
		const int64_t d4[] = { 2, 3, 4, 5 }, d2[] = { 33, 130 }, d1[] = { 1, 13 };
		against_naive(ctx, 4, d4, 6, 1);
		against_naive(ctx, 2, d2, 70, 1);
		against_naive(ctx, 2, d1, 11, 0);
	}
	determinism(ctx, 33, 130, 70); /* scalar kernels */
	determinism(ctx, 33, 132, 70); /* f % 4 == 0: the vec4 kernels */

	lp_kv o5[] = { LC_INT("out", 5) }, o6[] = { LC_INT("out", 6) };
	lp_kv o3nb[] = { LC_INT("out", 3), LC_BOOL("bias", 0) }, o11[] = { LC_INT("out", 11) };
	lp_kv o70[] = { LC_INT("out", 70) }, o1[] = { LC_INT("out", 1) };
	lp_kv o3[] = { LC_INT("out", 3) }, o2[] = { LC_INT("out", 2) };
	lp_kv o70001[] = { LC_INT("out", 70001) };
	lc_case cases[] = {
		{ .layer = "linear", .kv = o5, .nkv = 1, .rank = 2, .dims = { 3, 7 } },
		{ .layer = "linear", .kv = o6, .nkv = 1, .rank = 4, .dims = { 2, 3, 4, 5 } },
		{ .layer = "linear", .kv = o3nb, .nkv = 2, .rank = 2, .dims = { 4, 9 } },
		{ .layer = "linear", .kv = o11, .nkv = 1, .rank = 2, .dims = { 1, 13 } },
		{ .layer = "linear", .kv = o70, .nkv = 1, .rank = 3, .dims = { 33, 10, 13 } },
		{ .layer = "linear", .kv = o1, .nkv = 1, .rank = 2, .dims = { 5, 1 } },
		/* sums of more than 65535 terms (llvmpipe ends an invocation after 65535 loop
		 * iterations): over features (forward), outputs (dx) and the batch (dW, db) */
		{ .layer = "linear", .kv = o3, .nkv = 1, .rank = 2, .dims = { 2, 70001 },
		  .fd_samples = 12 },
		{ .layer = "linear", .kv = o70001, .nkv = 1, .rank = 2, .dims = { 2, 1 },
		  .fd_samples = 12 },
		{ .layer = "linear", .kv = o2, .nkv = 1, .rank = 2, .dims = { 70001, 1 },
		  .fd_samples = 12 },
		/* the same through the vec4 kernels (f % 4 == 0) */
		{ .layer = "linear", .kv = o3, .nkv = 1, .rank = 2, .dims = { 2, 70004 },
		  .fd_samples = 12 },
		{ .layer = "linear", .kv = o70001, .nkv = 1, .rank = 2, .dims = { 2, 4 },
		  .fd_samples = 12 },
		{ .layer = "linear", .kv = o2, .nkv = 1, .rank = 2, .dims = { 70001, 4 },
		  .fd_samples = 12 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		lc_check(ctx, &cases[i]);

	CHECK_OK(ctx, lp_device_get_info(ctx, &dev));
	uint64_t max = dev.max_storage_buffer_range;
	/* AlexNet fc6: W [4096, 9216] = 151 MB, over lavapipe's 128 MiB binding: ranges of rows */
	lp_kv o4096[] = { LC_INT("out", 4096) };
	lc_case fc6 = { .layer = "linear", .kv = o4096, .nkv = 1, .rank = 2, .dims = { 2, 9216 },
			.fd_samples = 6 };
	uint64_t wbytes = 4096ull * 9216 * 4;
	if (wbytes > max && wbytes <= dev.max_alloc_size)
		big_case(ctx, &fc6, 2, 2, 2, 1);
	else
		printf("  note: W [4096, 9216] fits one binding on %s: not split\n", dev.name);
	/* x [36000, 1001] = 144 MB: ranges of the batch; the odd F makes a range a multiple of
	 * 4 rows (16-byte offsets) */
	lc_case tall = { .layer = "linear", .kv = o1, .nkv = 1, .rank = 2, .dims = { 36000, 1001 },
			 .fd_samples = 4 };
	uint64_t xbytes = 36000ull * 1001 * 4;
	if (xbytes > max && xbytes <= dev.max_alloc_size)
		big_case(ctx, &tall, 2, 2, 2, 2);
	else
		printf("  note: x [36000, 1001] fits one binding on %s: not split\n", dev.name);
	return tu_finish(ctx, "test_linear");
}
