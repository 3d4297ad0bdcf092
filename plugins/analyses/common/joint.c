/* joint.c — see joint.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "joint.h"

#define host an_host
#define ROWS 4096

struct pass {
	lp_ctx *ctx;
	const char *who;
	lp_joint *j;
	double *sum; /* pass 1: [k] sum of P[i][k] over the items labelled k */
};

int lp_joint_rows(lp_ctx *ctx, lp_archive *a, const lp_joint *j,
		  int (*fn)(void *user, int64_t row0, int64_t rows, const float *p), void *user)
{
	float *buf = malloc(sizeof(float) * (size_t)(ROWS * j->k));
	int rc = buf ? LP_OK : host->error(ctx, LP_ERR_NOMEM, "out of memory for %s", j->probs);

	for (int64_t r0 = 0; !rc && r0 < j->n; r0 += ROWS) {
		int64_t m = j->n - r0 < ROWS ? j->n - r0 : ROWS;
		rc = host->archive_read_rows(a, j->probs, LP_F32, r0, m, buf,
					     sizeof(float) * (size_t)(m * j->k));
		if (!rc)
			rc = fn(user, r0, m, buf);
	}
	free(buf);
	return rc;
}

static int thresholds(void *user, int64_t row0, int64_t rows, const float *p)
{
	struct pass *s = user;
	const lp_joint *j = s->j;

	for (int64_t i = 0; i < rows; i++) {
		const float *row = p + i * j->k;
		int rc = lp_check_probs(s->ctx, s->who, j->probs, row0 + i, row, j->k);
		if (rc)
			return rc;
		s->sum[j->labels[row0 + i]] += row[j->labels[row0 + i]];
	}
	return LP_OK;
}

/* the guessed true label of one row (joint.h: confident classes only; else P / t) */
static int64_t guess(const lp_joint *j, const float *p, int64_t y)
{
	int64_t best = -1, rel = 0;

	if (lp_flat_row(p, j->k))
		return y; /* a model that says nothing has nothing against the label */
	for (int64_t c = 0; c < j->k; c++) {
		if (p[c] >= j->t[c] - 1e-6 && (best < 0 || p[c] > p[best]))
			best = c;
		if (p[c] / j->t[c] > p[rel] / j->t[rel])
			rel = c;
	}
	return best >= 0 ? best : rel;
}

static int count(void *user, int64_t row0, int64_t rows, const float *p)
{
	struct pass *s = user;
	lp_joint *j = s->j;

	for (int64_t i = 0; i < rows; i++) {
		int64_t g = guess(j, p + i * j->k, j->labels[row0 + i]);
		j->guess[row0 + i] = g;
		j->c[(int64_t)j->labels[row0 + i] * j->k + g]++;
	}
	return LP_OK;
}

/* row r of C scaled to total n, rounded half to even, the total kept (joint.h) */
static void calibrate_row(const int64_t *c, int64_t k, int64_t n, int64_t *out, double *res)
{
	int64_t sum = 0, total = 0;

	for (int64_t j = 0; j < k; j++)
		sum += c[j];
	for (int64_t j = 0; j < k; j++) {
		double f = sum ? (double)c[j] / (double)sum * (double)n : 0;
		out[j] = (int64_t)nearbyint(f);
		res[j] = f - (double)out[j];
		total += out[j];
	}
	for (; total != n; total += total < n ? 1 : -1) {
		int64_t pick = -1;
		for (int64_t j = 0; j < k; j++)
			if ((total < n && (pick < 0 || res[j] > res[pick])) ||
			    (total > n && out[j] > 0 && (pick < 0 || res[j] < res[pick])))
				pick = j;
		if (pick < 0)
			break;
		out[pick] += total < n ? 1 : -1;
		res[pick] += total < n ? -1.0 : 1.0;
	}
}

static void finish(lp_joint *j)
{
	int64_t k = j->k, total = 0;
	double *res = malloc(sizeof(double) * (size_t)k);

	for (int64_t c = 0; c < k; c++)
		if (j->count[c] && j->c[c * k + c] < 1)
			j->c[c * k + c] = 1; /* every class keeps one clean count */
	for (int64_t r = 0; res && r < k; r++)
		calibrate_row(j->c + r * k, k, j->count[r], j->cc + r * k, res);
	free(res);
	for (int64_t i = 0; i < k * k; i++)
		total += j->cc[i];
	for (int64_t i = 0; i < k * k; i++)
		j->q[i] = total ? (double)j->cc[i] / (double)total : 0;
}

int lp_joint_compute(lp_ctx *ctx, lp_archive *a, const char *who, const char *probs_path,
		     const char *labels_path, int64_t k, lp_joint *j)
{
	int64_t dims[8];
	int dtype, rank, rc;
	struct pass s = {ctx, who, j, NULL};

	j->probs = probs_path;
	j->k = k;
	if ((rc = host->archive_info(a, probs_path, &dtype, &rank, dims)))
		return rc;
	if (rank != 2 || dims[1] != k)
		return host->error(ctx, LP_ERR_SHAPE,
				   "%s: %s is [%lld, %lld]; /dataset/classes has "
				   "%lld classes",
				   who, probs_path, (long long)dims[0],
				   (long long)(rank > 1 ? dims[1] : 0), (long long)k);
	j->n = dims[0];
	size_t n = (size_t)j->n + 1, kk = (size_t)(k * k);
	j->labels = malloc(sizeof(int32_t) * n);
	j->guess = malloc(sizeof(int64_t) * n);
	j->count = calloc((size_t)k, sizeof(int64_t));
	j->t = calloc((size_t)k, sizeof(double));
	j->c = calloc(kk, sizeof(int64_t));
	j->cc = calloc(kk, sizeof(int64_t));
	j->q = calloc(kk, sizeof(double));
	s.sum = calloc((size_t)k, sizeof(double));
	if (!j->labels || !j->guess || !j->count || !j->t || !j->c || !j->cc || !j->q || !s.sum)
		rc = host->error(ctx, LP_ERR_NOMEM, "%s: out of memory", who);
	if (!rc)
		rc = lp_read_labels(ctx, a, who, labels_path, j->n, k, j->labels);
	for (int64_t i = 0; !rc && i < j->n; i++)
		j->count[j->labels[i]]++;
	if (!rc)
		rc = lp_joint_rows(ctx, a, j, thresholds, &s);
	for (int64_t c = 0; !rc && c < k; c++) {
		j->t[c] = j->count[c] ? s.sum[c] / (double)j->count[c] : 2.0;
		if (j->t[c] < 2e-6)
			j->t[c] = 2e-6;
	}
	if (!rc)
		rc = lp_joint_rows(ctx, a, j, count, &s);
	if (!rc)
		finish(j);
	free(s.sum);
	return rc;
}

int lp_flat_row(const float *p, int64_t k)
{
	for (int64_t c = 1; c < k; c++)
		if (p[c] != p[0])
			return 0;
	return 1;
}

int lp_joint_group(lp_ctx *ctx, lp_archive *a, const char *who, const lp_inputs *in,
		   const char *g, lp_joint *j)
{
	snprintf(j->path[0], sizeof j->path[0], "/predictions/%s/probs", g);
	lp_labels_path(a, g, j->path[1], sizeof j->path[1]);
	return lp_joint_compute(ctx, a, who, j->path[0], j->path[1], (int64_t)in->nclasses, j);
}

void lp_joint_free(lp_joint *j)
{
	free(j->labels);
	free(j->guess);
	free(j->count);
	free(j->t);
	free(j->c);
	free(j->cc);
	free(j->q);
	memset(j, 0, sizeof(*j));
}

int lp_joint_overlap(const lp_joint *j, int64_t a, int64_t b, double share)
{
	double ra = 0, rb = 0;

	for (int64_t c = 0; c < j->k; c++)
		ra += j->q[a * j->k + c], rb += j->q[b * j->k + c];
	return a != b && ra > 0 && rb > 0 && j->q[a * j->k + b] >= share * ra &&
	       j->q[b * j->k + a] >= share * rb;
}
