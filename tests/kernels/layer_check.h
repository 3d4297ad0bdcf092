/*
 * layer_check.h — the one check every layer plugin goes through (tests/kernels/test_<layer>.c):
 *
 *   1. the Vulkan forward matches the plugin's CPU twin within 1e-4 relative, 1e-5 absolute;
 *   2. the Vulkan backward (dx and every dw) matches the CPU twin's backward, same tolerance;
 *   3. the CPU twin's backward matches central finite differences of the CPU twin's forward
 *      on sampled elements of x and of every weight (points at a kink, where the one-sided
 *      differences disagree, are skipped and counted; most samples must be usable).
 *
 * Inputs, weights, labels and upstream gradients come from the test's own RNG. Usage:
 *
 *   lp_kv kv[] = { LC_INT("out", 8), LC_INT("kernel", 3) };
 *   lc_case c = { .layer = "conv2d", .kv = kv, .nkv = 2, .rank = 4, .dims = { 2, 3, 9, 9 } };
 *   failures += lc_check(ctx, &c);
 */
#ifndef LOUPE_LAYER_CHECK_H
#define LOUPE_LAYER_CHECK_H

#include <math.h>

#include "loupe/plugins.h"
#include "test_util.h"

#define LC_INT(k, v) { k, { .type = LP_PARAM_INT, .integer = v, .number = v } }
#define LC_NUM(k, v) { k, { .type = LP_PARAM_NUMBER, .number = v } }
#define LC_BOOL(k, v) { k, { .type = LP_PARAM_BOOL, .boolean = v } }
#define LC_STR(k, v) { k, { .type = LP_PARAM_STRING, .string = v } }

typedef struct lc_case {
	const char *layer;
	const lp_kv *kv;
	size_t nkv;
	int rank;
	int64_t dims[LP_MAX_RANK];
	int classes;      /* > 0: the layer takes int32 labels in [0, classes) */
	int training;     /* passed through (dropout) */
	double x_scale;   /* inputs are uniform in [-x_scale, x_scale); 0 means 1 */
	int fd_samples;   /* finite-difference samples per tensor; 0 means 24 */
	uint64_t seed, step;
} lc_case;

static unsigned long long lc_rng = 0x243f6a8885a308d3ull;

static int64_t lc_numel(int rank, const int64_t *d)
{
	int64_t n = 1;
	for (int i = 0; i < rank; i++)
		n *= d[i];
	return n;
}

static float *lc_random(int64_t n, double scale)
{
	float *p = malloc((size_t)(n ? n : 1) * sizeof(float));
	for (int64_t i = 0; i < n; i++)
		p[i] = (float)(tu_rand(&lc_rng) * scale);
	return p;
}

/* Count elements where |a - b| > max(1e-4 |b|, 1e-5); print the worst one. */
static int64_t lc_compare(const char *what, const char *layer, const float *a, const float *b,
			  int64_t n)
{
	int64_t bad = 0, worst = -1;
	double worst_err = 0;

	for (int64_t i = 0; i < n; i++) {
		double err = fabs((double)a[i] - (double)b[i]);
		double tol = fmax(1e-4 * fabs((double)b[i]), 1e-5);
		if (!(err <= tol)) {
			bad++;
			if (!(err <= worst_err)) {
				worst_err = err;
				worst = i;
			}
		}
	}
	if (bad)
		fprintf(stderr, "FAIL %s %s: %lld of %lld differ; worst [%lld] device %.9g cpu %.9g\n",
			layer, what, (long long)bad, (long long)n, (long long)worst, (double)a[worst],
			(double)b[worst]);
	return bad;
}

typedef struct lc_state {
	lp_layer *l;
	lp_ref_io io;
	int64_t nx, ny, nw[LP_MAX_WEIGHTS];
	float *w[LP_MAX_WEIGHTS];
	float *ytmp;
} lc_state;

/* sum_j dy_j * (y(+) - y(-))_j, in double: only outputs that the element touches differ. */
static double lc_dloss(lc_state *s, float *v, double h, double *fwd, double *bwd)
{
	lp_ref_io io = s->io;
	float *y0 = malloc((size_t)s->ny * sizeof(float));
	float *yp = malloc((size_t)s->ny * sizeof(float));
	float *ym = malloc((size_t)s->ny * sizeof(float));
	float keep = *v;
	double dp = 0, dm = 0;

	io.y = y0;
	lp_layer_forward_ref(s->l, &io);
	*v = (float)(keep + h);
	io.y = yp;
	lp_layer_forward_ref(s->l, &io);
	*v = (float)(keep - h);
	io.y = ym;
	lp_layer_forward_ref(s->l, &io);
	*v = keep;
	for (int64_t j = 0; j < s->ny; j++) {
		dp += (double)io.dy[j] * ((double)yp[j] - (double)y0[j]);
		dm += (double)io.dy[j] * ((double)y0[j] - (double)ym[j]);
	}
	double hp = (double)(float)(keep + h) - keep, hm = keep - (double)(float)(keep - h);
	*fwd = dp / hp;
	*bwd = dm / hm;
	free(y0), free(yp), free(ym);
	return (dp + dm) / (hp + hm);
}

/* Finite differences on `samples` random elements of v (n elements) against grad. */
static int lc_fd(lc_state *s, const char *layer, const char *what, float *v, const float *grad,
		 int64_t n, int samples, double scale)
{
	int bad = 0, skipped = 0, used = 0;
	double h = 1e-2 * scale;

	for (int k = 0; k < samples && n > 0; k++) {
		int64_t i = (int64_t)((tu_rand(&lc_rng) + 1.0f) * 0.5f * (float)n) % n;
		double fwd, bwd, fd = lc_dloss(s, &v[i], h, &fwd, &bwd);
		if (fabs(fwd - bwd) > 0.05 * fmax(fabs(fwd), fabs(bwd)) + 1e-3) {
			skipped++; /* a kink (relu-like, max) between x - h and x + h */
			continue;
		}
		used++;
		double an = grad[i];
		if (fabs(fd - an) > 2e-2 * fmax(fabs(fd), fabs(an)) + 2e-3) {
			if (bad < 3)
				fprintf(stderr, "FAIL %s d%s[%lld]: analytic %.7g, finite difference %.7g\n",
					layer, what, (long long)i, an, fd);
			bad++;
		}
	}
	if (samples > 0 && n > 0 && used < samples / 2) {
		fprintf(stderr, "FAIL %s d%s: only %d of %d finite-difference samples usable\n",
			layer, what, used, samples);
		bad++;
	}
	(void)skipped;
	return bad;
}

static lp_tensor *lc_upload(lp_ctx *ctx, int dtype, int rank, const int64_t *dims,
			    const void *data)
{
	lp_tensor *t = NULL;
	CHECK_OK(ctx, lp_tensor_new(ctx, dtype, rank, dims, &t));
	if (t && data)
		CHECK_OK(ctx, lp_tensor_write(ctx, t, data, lp_tensor_bytes(t)));
	return t;
}

static float *lc_download(lp_ctx *ctx, const lp_tensor *t)
{
	float *h = calloc((size_t)lp_tensor_numel(t) + 1, sizeof(float));
	CHECK_OK(ctx, lp_tensor_read(ctx, t, h, lp_tensor_bytes(t)));
	return h;
}

/* Run the three checks for one case; returns the number of failures (also added to
 * tu_failures). */
static int lc_check(lp_ctx *ctx, const lc_case *c)
{
	int before = tu_failures;
	const lp_plugin *p;
	lc_state s = { 0 };
	lp_weight_decl decl[LP_MAX_WEIGHTS];
	uint32_t nw = 0;
	int64_t od[LP_MAX_RANK];
	int orank;
	double scale = c->x_scale > 0 ? c->x_scale : 1.0;

	CHECK_OK(ctx, lp_plugin_find(ctx, c->layer, LP_KIND_LAYER, &p));
	if (tu_failures > before)
		return tu_failures - before;
	CHECK_OK(ctx, lp_layer_new(ctx, p, c->kv, c->nkv, &s.l));
	if (tu_failures > before)
		return tu_failures - before;
	CHECK_OK(ctx, lp_layer_shape(s.l, c->rank, c->dims, &orank, od));
	CHECK_OK(ctx, lp_layer_weights(s.l, c->rank, c->dims, decl, &nw));
	if (tu_failures > before) {
		lp_layer_free(s.l);
		return tu_failures - before;
	}
	s.nx = lc_numel(c->rank, c->dims);
	s.ny = lc_numel(orank, od);
	float *x = lc_random(s.nx, scale), *dy = lc_random(s.ny, 1.0);
	float *y_ref = calloc((size_t)s.ny + 1, 4), *dx_ref = calloc((size_t)s.nx + 1, 4);
	float *dw_ref[LP_MAX_WEIGHTS] = { 0 };
	int32_t *labels = NULL;
	for (uint32_t k = 0; k < nw; k++) {
		s.nw[k] = lc_numel(decl[k].rank, decl[k].dims);
		s.w[k] = lc_random(s.nw[k], 0.5);
		dw_ref[k] = calloc((size_t)s.nw[k] + 1, 4);
	}
	if (c->classes > 0) {
		labels = malloc((size_t)c->dims[0] * sizeof(*labels));
		for (int64_t i = 0; i < c->dims[0]; i++)
			labels[i] = (int32_t)(((tu_rand(&lc_rng) + 1.0f) * 0.5f) * c->classes) %
				    c->classes;
	}
	s.io = (lp_ref_io){ .size = sizeof s.io, .rank = c->rank, .out_rank = orank,
			    .in_dims = c->dims, .out_dims = od, .x = x, .y = y_ref, .dy = dy,
			    .dx = dx_ref, .w = (const float *const *)s.w, .dw = dw_ref, .nw = nw,
			    .labels = labels, .seed = c->seed, .step = c->step,
			    .training = c->training };
	CHECK_OK(ctx, lp_layer_forward_ref(s.l, &s.io));
	CHECK_OK(ctx, lp_layer_backward_ref(s.l, &s.io));

	/* the device */
	lp_tensor *tx = lc_upload(ctx, LP_F32, c->rank, c->dims, x);
	lp_tensor *ty = lc_upload(ctx, LP_F32, orank, od, NULL);
	lp_tensor *tdy = lc_upload(ctx, LP_F32, orank, od, dy);
	lp_tensor *tdx = lc_upload(ctx, LP_F32, c->rank, c->dims, NULL);
	lp_tensor *tl = labels ? lc_upload(ctx, LP_I32, 1, c->dims, labels) : NULL;
	lp_tensor *tw[LP_MAX_WEIGHTS] = { 0 }, *tdw[LP_MAX_WEIGHTS] = { 0 };
	for (uint32_t k = 0; k < nw; k++) {
		tw[k] = lc_upload(ctx, LP_F32, decl[k].rank, decl[k].dims, s.w[k]);
		tdw[k] = lc_upload(ctx, LP_F32, decl[k].rank, decl[k].dims, NULL);
	}
	lp_layer_io io = { .size = sizeof io, .x = tx, .y = ty, .dy = tdy, .dx = tdx, .w = tw,
			   .dw = tdw, .nw = nw, .labels = tl, .seed = c->seed, .step = c->step,
			   .training = c->training };
	lp_cmd *cmd = NULL;
	if (tu_failures == before) {
		CHECK_OK(ctx, lp_cmd_begin(ctx, &cmd));
		CHECK_OK(ctx, lp_layer_forward(s.l, cmd, &io));
		CHECK_OK(ctx, lp_layer_backward(s.l, cmd, &io));
		CHECK_OK(ctx, cmd ? lp_cmd_submit(cmd) : LP_ERR_ARG);
	}
	if (tu_failures == before) {
		float *y = lc_download(ctx, ty), *dx = lc_download(ctx, tdx);
		tu_failures += lc_compare("forward", c->layer, y, y_ref, s.ny) != 0;
		tu_failures += lc_compare("dx", c->layer, dx, dx_ref, s.nx) != 0;
		for (uint32_t k = 0; k < nw; k++) {
			float *dw = lc_download(ctx, tdw[k]);
			tu_failures += lc_compare(decl[k].name, c->layer, dw, dw_ref[k], s.nw[k]) != 0;
			free(dw);
		}
		free(y), free(dx);
	}
	/* the CPU twin's gradients against finite differences of its forward */
	int samples = c->fd_samples > 0 ? c->fd_samples : 24;
	tu_failures += lc_fd(&s, c->layer, "x", x, dx_ref, s.nx, samples, scale) != 0;
	for (uint32_t k = 0; k < nw; k++)
		tu_failures += lc_fd(&s, c->layer, decl[k].name, s.w[k], dw_ref[k], s.nw[k],
				     samples, 0.5) != 0;

	lp_tensor_free(tx), lp_tensor_free(ty), lp_tensor_free(tdy), lp_tensor_free(tdx);
	lp_tensor_free(tl);
	for (uint32_t k = 0; k < nw; k++) {
		lp_tensor_free(tw[k]), lp_tensor_free(tdw[k]);
		free(s.w[k]), free(dw_ref[k]);
	}
	free(x), free(dy), free(y_ref), free(dx_ref), free(labels);
	lp_layer_free(s.l);
	if (tu_failures > before)
		fprintf(stderr, "  in case: %s, input rank %d [%lld, ...]\n", c->layer, c->rank,
			(long long)c->dims[0]);
	return tu_failures - before;
}

#endif
