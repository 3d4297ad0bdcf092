/* test_dropout.c — the dropout plugin is inverted dropout: in training y = x * mask / (1 - p) and
 * dx = dy * mask / (1 - p) with the same mask, in inference y = x and dx = dy. The mask is
 * u_i >= p with u_i the first word of Philox4x32-10 (counter (i, step), key seed) over 2^32:
 * a Philox written here, checked against Random123's published known answers, predicts every
 * device mask bit (high words of seed, step and index included, and across the ranges of a
 * tensor larger than one storage binding). Also: the fraction dropped is p within 0.01 over 100k
 * elements; another step or seed draws another mask, the same step the same bits; the layer
 * check (device vs CPU twin vs finite differences) in both modes; p outside [0, 1) is an error
 * naming the layer and the value. */
#include <math.h>

#include "layer_check.h"

/* Philox4x32-10 (Salmon et al., SC'11), written from the paper, independent of the plugin. */
static void philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
	uint32_t c[4] = { ctr[0], ctr[1], ctr[2], ctr[3] }, k[2] = { key[0], key[1] };

	for (int r = 0; r < 10; r++) {
		uint64_t a = (uint64_t)0xD2511F53u * c[0], b = (uint64_t)0xCD9E8D57u * c[2];
		uint32_t n[4] = { (uint32_t)(b >> 32) ^ c[1] ^ k[0], (uint32_t)b,
				  (uint32_t)(a >> 32) ^ c[3] ^ k[1], (uint32_t)a };
		memcpy(c, n, sizeof c);
		k[0] += 0x9E3779B9u;
		k[1] += 0xBB67AE85u;
	}
	memcpy(out, c, sizeof c);
}

/* Random123's kat_vectors for philox4x32 10: counter, key, expected. */
static void known_answers(void)
{
	static const uint32_t kat[3][10] = {
		{ 0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 },
		{ 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
		  0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd },
		{ 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
		  0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1 },
	};
	for (int i = 0; i < 3; i++) {
		uint32_t out[4];
		philox(kat[i], kat[i] + 4, out);
		CHECK(memcmp(out, kat[i] + 6, sizeof out) == 0);
	}
}

static int keep(uint64_t i, uint64_t step, uint64_t seed, double p)
{
	uint32_t c[4] = { (uint32_t)i, (uint32_t)(i >> 32), (uint32_t)step, (uint32_t)(step >> 32) };
	uint32_t k[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) }, out[4];

	philox(c, k, out);
	return (double)out[0] / 4294967296.0 >= p;
}

static lp_layer *make(lp_ctx *ctx, double p)
{
	const lp_plugin *pl = NULL;
	lp_layer *l = NULL;
	lp_kv kv[] = { LC_NUM("p", p) };

	CHECK_OK(ctx, lp_plugin_find(ctx, "dropout", LP_KIND_LAYER, &pl));
	if (pl)
		CHECK_OK(ctx, lp_layer_new(ctx, pl, kv, 1, &l));
	return l;
}

/* Forward (and, with dy, backward) of n elements on the device; returns y (and dx in *dx). */
static float *device(lp_ctx *ctx, lp_layer *l, const float *x, const float *dy, float **dx,
		     int64_t n, uint64_t seed, uint64_t step, int training)
{
	int64_t dims[1] = { n };
	lp_tensor *tx = NULL, *ty = NULL, *tdy = NULL, *tdx = NULL;
	lp_cmd *cmd = NULL;
	float *y = calloc((size_t)n, sizeof(float));

	CHECK_OK(ctx, lp_tensor_new(ctx, LP_F32, 1, dims, &tx));
	CHECK_OK(ctx, lp_tensor_new(ctx, LP_F32, 1, dims, &ty));
	CHECK_OK(ctx, lp_tensor_write(ctx, tx, x, (size_t)n * 4));
	if (dy) {
		CHECK_OK(ctx, lp_tensor_new(ctx, LP_F32, 1, dims, &tdy));
		CHECK_OK(ctx, lp_tensor_new(ctx, LP_F32, 1, dims, &tdx));
		CHECK_OK(ctx, lp_tensor_write(ctx, tdy, dy, (size_t)n * 4));
	}
	lp_layer_io io = { .size = sizeof io, .x = tx, .y = ty, .dy = tdy, .dx = tdx, .seed = seed,
			   .step = step, .training = training };
	CHECK_OK(ctx, lp_cmd_begin(ctx, &cmd));
	CHECK_OK(ctx, lp_layer_forward(l, cmd, &io));
	if (dy)
		CHECK_OK(ctx, lp_layer_backward(l, cmd, &io));
	CHECK_OK(ctx, lp_cmd_submit(cmd));
	CHECK_OK(ctx, lp_tensor_read(ctx, ty, y, (size_t)n * 4));
	if (dy) {
		*dx = calloc((size_t)n, sizeof(float));
		CHECK_OK(ctx, lp_tensor_read(ctx, tdx, *dx, (size_t)n * 4));
	}
	lp_tensor_free(tx), lp_tensor_free(ty), lp_tensor_free(tdy), lp_tensor_free(tdx);
	return y;
}

static float *ones(int64_t n)
{
	float *p = malloc((size_t)n * sizeof(float));
	for (int64_t i = 0; i < n; i++)
		p[i] = 1.0f;
	return p;
}

/* Every element of y (from x = 1) is 0 where the reference drops it and exactly
 * (float)(1 / (1 - p)) where it keeps it; returns the number of mismatches. */
static int64_t against_reference(const float *y, int64_t n, uint64_t seed, uint64_t step,
				 double p)
{
	float scale = (float)(1.0 / (1.0 - p));
	int64_t bad = 0;

	for (int64_t i = 0; i < n; i++) {
		float want = keep((uint64_t)i, step, seed, p) ? scale : 0.0f;
		if (y[i] != want && bad++ < 3)
			fprintf(stderr, "FAIL dropout p %g seed %llx step %llx: y[%lld] = %g, want %g\n",
				p, (unsigned long long)seed, (unsigned long long)step, (long long)i,
				(double)y[i], (double)want);
	}
	return bad;
}

static void masks(lp_ctx *ctx)
{
	enum { N = 100000 };
	const double ps[] = { 0.5, 0.2 };
	float *x = ones(N);

	for (int k = 0; k < 2; k++) {
		double p = ps[k];
		lp_layer *l = make(ctx, p);
		if (!l)
			continue;
		uint64_t seed = 0x0123456789abcdefull, step = 0x100000005ull;
		float *dx = NULL;
		float *a = device(ctx, l, x, x, &dx, N, seed, step, 1);
		float *b = device(ctx, l, x, NULL, NULL, N, seed, step, 1);
		float *c = device(ctx, l, x, NULL, NULL, N, seed, step + 1, 1);
		float *d = device(ctx, l, x, NULL, NULL, N, seed + 1, step, 1);
		int64_t zeros = 0, differ_step = 0, differ_seed = 0;
		for (int i = 0; i < N; i++) {
			zeros += a[i] == 0.0f;
			differ_step += (a[i] == 0.0f) != (c[i] == 0.0f);
			differ_seed += (a[i] == 0.0f) != (d[i] == 0.0f);
		}
		double frac = (double)zeros / N, both = 2 * p * (1 - p);
		printf("  p %.1f: dropped %.4f; another step changes %.4f, another seed %.4f "
		       "(expected %.4f)\n", p, frac, (double)differ_step / N,
		       (double)differ_seed / N, both);
		CHECK(fabs(frac - p) <= 0.01);
		CHECK(fabs((double)differ_step / N - both) <= 0.01);
		CHECK(fabs((double)differ_seed / N - both) <= 0.01);
		CHECK(memcmp(a, b, N * sizeof(float)) == 0); /* same (seed, step): same bits */
		CHECK(memcmp(a, dx, N * sizeof(float)) == 0); /* backward: the forward's mask */
		tu_failures += against_reference(a, N, seed, step, p) != 0;
		tu_failures += against_reference(c, N, seed, step + 1, p) != 0;
		free(a), free(b), free(c), free(d), free(dx);
		lp_layer_free(l);
	}
	free(x);
}

/* Inference is the identity, bit for bit, in both directions. */
static void inference(lp_ctx *ctx)
{
	enum { N = 4099 };
	static unsigned long long s = 0x9e3779b97f4a7c15ull;
	float x[N], dy[N];
	lp_layer *l = make(ctx, 0.5);

	for (int i = 0; i < N; i++)
		x[i] = tu_rand(&s) * 100.0f, dy[i] = tu_rand(&s);
	if (l) {
		float *dx = NULL, *y = device(ctx, l, x, dy, &dx, N, 7, 3, 0);
		CHECK(memcmp(y, x, sizeof x) == 0 && memcmp(dx, dy, sizeof dy) == 0);
		free(y), free(dx);
	}
	lp_layer_free(l);
}

static void param_errors(lp_ctx *ctx)
{
	const lp_plugin *pl = NULL;
	lp_layer *l = NULL;
	lp_kv big[] = { LC_NUM("p", 1.5) }, one[] = { LC_NUM("p", 1.0) };
	lp_kv neg[] = { LC_NUM("p", -0.25) };

	CHECK_OK(ctx, lp_plugin_find(ctx, "dropout", LP_KIND_LAYER, &pl));
	if (!pl)
		return;
	CHECK(lp_layer_new(ctx, pl, big, 1, &l) == LP_ERR_ARG && !l);
	CHECK_MSG(ctx, "dropout", "1.5");
	CHECK(lp_layer_new(ctx, pl, one, 1, &l) == LP_ERR_ARG && !l);
	CHECK_MSG(ctx, "dropout", "p = 1 ");
	CHECK(lp_layer_new(ctx, pl, neg, 1, &l) == LP_ERR_ARG && !l);
	CHECK_MSG(ctx, "dropout", "-0.25");
	/* the default is p = 0.5 */
	CHECK_OK(ctx, lp_layer_new(ctx, pl, NULL, 0, &l));
	if (l) {
		enum { N = 20000 };
		float *x = ones(N), *y = device(ctx, l, x, NULL, NULL, N, 1, 1, 1);
		CHECK(against_reference(y, N, 1, 1, 0.5) == 0);
		free(x), free(y);
	}
	lp_layer_free(l);
}

/* Larger than one storage binding: the ranges continue the element index. */
static void big(lp_ctx *ctx)
{
	lp_device_info d;

	CHECK_OK(ctx, lp_device_get_info(ctx, &d));
	int64_t n = (int64_t)(d.max_storage_buffer_range / 4) + 123457;
	if ((uint64_t)n * 4 > d.max_alloc_size) {
		printf("  note: %lld floats exceed one allocation on %s; skipped\n", (long long)n,
		       d.name);
		return;
	}
	lp_layer *l = make(ctx, 0.3);
	if (l) {
		float *x = ones(n), *y = device(ctx, l, x, NULL, NULL, n, 99, 12345, 1);
		CHECK(against_reference(y, n, 99, 12345, 0.3) == 0);
		free(x), free(y);
	}
	lp_layer_free(l);
}

int main(void)
{
	lp_ctx *ctx = tu_ctx();

	known_answers();
	masks(ctx);
	inference(ctx);
	param_errors(ctx);

	lp_kv half[] = { LC_NUM("p", 0.5) }, fifth[] = { LC_NUM("p", 0.2) };
	lp_kv zero[] = { LC_NUM("p", 0.0) };
	lc_case cases[] = {
		{ .layer = "dropout", .kv = half, .nkv = 1, .rank = 3, .dims = { 3, 5, 7 },
		  .training = 1, .seed = 42, .step = 7 },
		{ .layer = "dropout", .kv = fifth, .nkv = 1, .rank = 2, .dims = { 2, 1000 },
		  .training = 1, .seed = 0xfeedfacecafebeefull, .step = 1ull << 40 },
		{ .layer = "dropout", .kv = half, .nkv = 1, .rank = 2, .dims = { 4, 33 },
		  .training = 0, .seed = 42, .step = 7 },
		{ .layer = "dropout", .kv = zero, .nkv = 1, .rank = 1, .dims = { 17 },
		  .training = 1, .seed = 5, .step = 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		lc_check(ctx, &cases[i]);

	big(ctx);
	return tu_finish(ctx, "test_dropout");
}
