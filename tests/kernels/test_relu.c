/* test_relu.c — the relu plugin's Vulkan forward and backward agree with an independent CPU
 * reference (and with the plugin's own CPU twin) on random data of odd sizes, with and without
 * a leaky slope; a chain of dispatches in one submit sees each result (barriers); a tensor
 * larger than one storage binding is processed whole; profiling yields one entry per dispatch. */
#include <math.h>

#include "layer_check.h"

static unsigned long long seed = 0x9e3779b97f4a7c15ull;

static float ref_fwd(float x, float s) { return x > 0.0f ? x : s * x; }
static float ref_bwd(float x, float dy, float s) { return x > 0.0f ? dy : s * dy; }

static lp_tensor *upload(lp_ctx *ctx, int rank, const int64_t *dims, const float *h, size_t n)
{
	lp_tensor *t = NULL;
	CHECK_OK(ctx, lp_tensor_new(ctx, LP_F32, rank, dims, &t));
	if (t)
		CHECK_OK(ctx, lp_tensor_write(ctx, t, h, n * sizeof(float)));
	return t;
}

static size_t mismatches(const float *a, const float *b, size_t n)
{
	size_t bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += a[i] != b[i] && fabsf(a[i] - b[i]) > 1e-6f * fmaxf(fabsf(b[i]), 1e-5f);
	return bad;
}

static lp_layer *make_relu(lp_ctx *ctx, double slope)
{
	const lp_plugin *p;
	lp_layer *l = NULL;
	lp_kv kv[] = { { "slope", { .type = LP_PARAM_NUMBER, .number = slope } } };

	CHECK_OK(ctx, lp_plugin_find(ctx, "relu", LP_KIND_LAYER, &p));
	if (p)
		CHECK_OK(ctx, lp_layer_new(ctx, p, kv, 1, &l));
	return l;
}

static void one_shape(lp_ctx *ctx, lp_layer *l, float slope, int rank, const int64_t *dims)
{
	size_t n = 1;
	for (int i = 0; i < rank; i++)
		n *= (size_t)dims[i];
	float *x = malloc(n * 4), *dy = malloc(n * 4), *y = malloc(n * 4), *dx = malloc(n * 4);
	float *ry = malloc(n * 4), *rdx = malloc(n * 4);
	for (size_t i = 0; i < n; i++) {
		x[i] = i % 17 == 0 ? 0.0f : tu_rand(&seed) * 10.0f; /* exact zeros on purpose */
		dy[i] = tu_rand(&seed);
		ry[i] = ref_fwd(x[i], slope);
		rdx[i] = ref_bwd(x[i], dy[i], slope);
	}
	lp_tensor *tx = upload(ctx, rank, dims, x, n), *tdy = upload(ctx, rank, dims, dy, n);
	lp_tensor *ty = NULL, *tdx = NULL;
	CHECK_OK(ctx, lp_tensor_new(ctx, LP_F32, rank, dims, &ty));
	CHECK_OK(ctx, lp_tensor_new(ctx, LP_F32, rank, dims, &tdx));
	lp_cmd *cmd = NULL;
	lp_layer_io io = { .size = sizeof io, .x = tx, .y = ty, .dy = tdy, .dx = tdx };
	CHECK_OK(ctx, lp_cmd_begin(ctx, &cmd));
	CHECK_OK(ctx, lp_layer_forward(l, cmd, &io));
	CHECK_OK(ctx, lp_layer_backward(l, cmd, &io));
	CHECK_OK(ctx, lp_cmd_submit(cmd));
	CHECK_OK(ctx, lp_tensor_read(ctx, ty, y, n * 4));
	CHECK_OK(ctx, lp_tensor_read(ctx, tdx, dx, n * 4));
	size_t bf = mismatches(y, ry, n), bb = mismatches(dx, rdx, n);
	if (bf || bb)
		fprintf(stderr, "FAIL relu slope %g n=%zu: %zu forward, %zu backward mismatches\n",
			(double)slope, n, bf, bb);
	tu_failures += bf || bb;
	/* the plugin's CPU twin against the same reference */
	lp_ref_io rio = { .size = sizeof rio, .rank = rank, .in_dims = dims, .out_rank = rank,
			  .out_dims = dims, .x = x, .y = y, .dy = dy, .dx = dx };
	CHECK_OK(ctx, lp_layer_forward_ref(l, &rio));
	CHECK_OK(ctx, lp_layer_backward_ref(l, &rio));
	CHECK(mismatches(y, ry, n) == 0 && mismatches(dx, rdx, n) == 0);
	lp_tensor_free(tx);
	lp_tensor_free(ty);
	lp_tensor_free(tdy);
	lp_tensor_free(tdx);
	free(x), free(dy), free(y), free(dx), free(ry), free(rdx);
}

/* Ten leaky relus chained in one command: negatives end up scaled by 0.5^10, which only
 * happens if each dispatch sees the previous one's output. */
static void chain(lp_ctx *ctx)
{
	enum { N = 4099, DEPTH = 10 };
	int64_t dims[1] = { N };
	float x[N], y[N];
	lp_layer *l = make_relu(ctx, 0.5);
	lp_tensor *t[DEPTH + 1] = { 0 };
	lp_cmd *cmd = NULL;

	for (int i = 0; i < N; i++)
		x[i] = tu_rand(&seed);
	t[0] = upload(ctx, 1, dims, x, N);
	lp_ctx_set_profile(ctx, 1);
	CHECK_OK(ctx, lp_cmd_begin(ctx, &cmd));
	for (int d = 0; d < DEPTH && l; d++) {
		CHECK_OK(ctx, lp_tensor_new(ctx, LP_F32, 1, dims, &t[d + 1]));
		lp_layer_io io = { .size = sizeof io, .x = t[d], .y = t[d + 1] };
		CHECK_OK(ctx, lp_layer_forward(l, cmd, &io));
	}
	CHECK_OK(ctx, lp_cmd_submit(cmd));
	lp_ctx_set_profile(ctx, 0);
	CHECK_OK(ctx, lp_tensor_read(ctx, t[DEPTH], y, sizeof y));
	size_t bad = 0;
	for (int i = 0; i < N; i++)
		bad += y[i] != (x[i] > 0 ? x[i] : x[i] * 0.0009765625f);
	CHECK(bad == 0);
	const lp_profile_entry *e;
	size_t np = lp_profile_get(ctx, &e);
	CHECK(np == DEPTH);
	for (size_t i = 0; i < np; i++)
		CHECK(strcmp(e[i].kernel, "relu.forward") == 0 && e[i].ms >= 0.0 &&
		      e[i].groups[0] == (N + 255) / 256);
	for (int d = 0; d <= DEPTH; d++)
		lp_tensor_free(t[d]);
	lp_layer_free(l);
}

int main(void)
{
	lp_ctx *ctx = tu_ctx();
	const int64_t s1[] = { 1 }, s2[] = { 7 }, s3[] = { 3, 5, 7 }, s4[] = { 257, 33 },
		      s5[] = { 1000003 };
	const struct { int rank; const int64_t *dims; } shapes[] = {
		{ 1, s1 }, { 1, s2 }, { 3, s3 }, { 2, s4 }, { 1, s5 },
	};
	const float slopes[] = { 0.0f, 0.1f };

	for (int si = 0; si < 2; si++) {
		lp_layer *l = make_relu(ctx, slopes[si]);
		for (size_t i = 0; l && i < sizeof shapes / sizeof shapes[0]; i++)
			one_shape(ctx, l, slopes[si], shapes[i].rank, shapes[i].dims);
		lp_layer_free(l);
	}
	chain(ctx);

	/* the shared layer check: device vs twin, twin vs finite differences */
	lp_kv leaky[] = { LC_NUM("slope", 0.1) };
	lc_case c = { .layer = "relu", .kv = leaky, .nkv = 1, .rank = 3, .dims = { 3, 5, 7 } };
	lc_check(ctx, &c);

	/* larger than lavapipe's 128 MiB binding: processed in aligned ranges */
	lp_device_info d;
	CHECK_OK(ctx, lp_device_get_info(ctx, &d));
	int64_t big[1] = { (int64_t)(d.max_storage_buffer_range / 4) + 1234567 };
	if (big[0] * 4 < (int64_t)d.max_alloc_size) {
		lp_layer *l = make_relu(ctx, 0.25);
		if (l)
			one_shape(ctx, l, 0.25f, 1, big);
		lp_layer_free(l);
	}
	return tu_finish(ctx, "test_relu");
}
