/* issues.c — see issues.h.
 *
 * Passes over the probabilities: the joint's two (the second also gathering every per-item
 * figure here, through its `each` hook, while the row is in cache), and, only when some Cc
 * entry selects items, one that reads P[i][label] and the entries Cc selects of each row for
 * the heaps (over a matrix in memory: those entries alone).
 *
 * The estimate needs the median bin of the wrong classes' probabilities, N (K - 1) of them,
 * and counting each into a histogram would cost more than reading it. For large inputs only
 * those in a band around the median are binned, and the rest only counted below the band (one
 * compare): the band comes from a sample of rows in the joint's first pass, wide enough by the
 * rows' spread that the median falls in it, which is checked afterwards (a miss costs one
 * exact pass; the answer is the same either way). That this agrees with binning every value
 * rests on bin_of being monotone over floats — log10 of neighbouring floats differ by 2.6e-8,
 * far above its rounding error, and the rest are correctly rounded double operations — and
 * fast_bin (below) is bin_of without the log10. Both were checked on every float: fast_bin
 * equals bin_of, and bin_of never falls as the float rises. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "issues.h"

#define host an_host

const char *const lp_issues_methods[LP_METHODS] = {"prune_by_noise_rate", "prune_by_class",
						   "both", "confident_learning",
						   "predicted_neq_given"};

/* log-spaced bins over [1e-12, 1] for the estimator's two histograms */
#define BINS 8192
static int bin_of(float p)
{
	if (!(p > 1e-12f))
		return 0;
	double b = (log10((double)p) + 12.0) / 12.0 * (BINS - 1);
	return b >= BINS - 1 ? BINS - 1 : (int)b;
}

/* bin_of without the log10 (bin_of is monotone over floats, so its bins are runs of float bit
 * patterns): the bit pattern's cell of CELL floats gives the bin where the cell starts, and
 * one compare with the next bin's first float whether the value is past it (bins are at least
 * 28,000 floats wide, cells 16,384: a cell meets at most one bin's start). */
#define CELL_BITS 14
struct lp_bins {
	uint32_t start[BINS + 1]; /* start[b]: bits of the smallest float in bin b (b >= 1) */
	uint32_t lo, hi;          /* start[1], start[BINS - 1] */
	uint16_t *cell;
};

static float float_of(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

static int fast_bin(const struct lp_bins *t, float p)
{
	uint32_t u;

	if (!(p > 1e-12f))
		return 0;
	memcpy(&u, &p, sizeof u);
	if (u < t->lo)
		return 0;
	if (u >= t->hi)
		return BINS - 1;
	int b = t->cell[(u - t->lo) >> CELL_BITS];
	return b + (u >= t->start[b + 1]);
}

/* the smallest float in bin b: from 10^(12 b / (BINS - 1) - 12), a few floats off */
static uint32_t bin_start(int b)
{
	float f = (float)pow(10.0, 12.0 * b / (BINS - 1) - 12.0);
	uint32_t u;

	while (f > 0 && bin_of(f) >= b)
		f = nextafterf(f, 0);
	while (bin_of(f) < b)
		f = nextafterf(f, INFINITY);
	memcpy(&u, &f, sizeof u);
	return u;
}

static struct lp_bins *bins_new(void)
{
	struct lp_bins *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	for (int b = 1; b < BINS; b++)
		t->start[b] = bin_start(b);
	t->start[BINS] = 0x7f800000u; /* +inf */
	t->lo = t->start[1], t->hi = t->start[BINS - 1];
	uint32_t cells = ((t->hi - t->lo) >> CELL_BITS) + 1;
	if (!(t->cell = malloc(sizeof(uint16_t) * cells))) {
		free(t);
		return NULL;
	}
	for (uint32_t c = 0; c < cells; c++)
		t->cell[c] = (uint16_t)bin_of(float_of(t->lo + (c << CELL_BITS)));
	return t;
}

static void bins_free(struct lp_bins *t)
{
	if (t)
		free(t->cell);
	free(t);
}

/* Inputs up to this many wrong-class values are binned whole; larger ones sample about
 * SAMPLE of them, from evenly spaced rows. */
#define EXACT  ((int64_t)1 << 22)
#define SAMPLE ((int64_t)1 << 21)
#ifndef BAND_SIGMAS /* a test narrows it to see a missed band handled */
#define BAND_SIGMAS 6
#endif

/* joint pass 1: a sample row's wrong-class bins */
static int sample_row(void *user, int64_t row, const float *p)
{
	lp_issues *it = user;
	struct lp_band *b = &it->band;
	int64_t k = it->j->k, y = it->j->labels[row];

	if (b->rows >= b->cap || lp_flat_row(p, k))
		return LP_OK;
	uint16_t *out = b->bins + b->rows++ * (k - 1);
	for (int64_t c = 0; c < k; c++)
		if (c != y)
			*out++ = (uint16_t)fast_bin(it->bins, p[c]);
	return LP_OK;
}

/* the sample's quantile q bin (the first whose cumulative count reaches q * total) */
static int quantile_bin(const int64_t *h, int64_t total, double q)
{
	int64_t cum = 0;
	for (int b = 0; b < BINS; b++)
		if ((double)(cum += h[b]) >= q * (double)total)
			return b;
	return BINS - 1;
}

/* The band from the sample: the bins of its quantiles 0.5 -+ d, d six standard errors of the
 * rows' share below the median (rows are the sampled units: their values move together) plus
 * six of a sample of independent values. */
static void choose_band(lp_issues *it, int64_t *h)
{
	struct lp_band *b = &it->band;
	int64_t per = it->j->k - 1, total = b->rows * per;
	double mean = 0, sq = 0;

	if (!b->rows)
		return;
	for (int64_t i = 0; i < total; i++)
		h[b->bins[i]]++;
	int med = quantile_bin(h, total, 0.5);
	for (int64_t r = 0; r < b->rows; r++) {
		int64_t below = 0;
		for (int64_t c = 0; c < per; c++)
			below += b->bins[r * per + c] <= med;
		double f = (double)below / (double)per;
		mean += f, sq += f * f;
	}
	mean /= (double)b->rows;
	double var = sq / (double)b->rows - mean * mean;
	double d = BAND_SIGMAS * (sqrt((var > 0 ? var : 0) / (double)b->rows) +
				  0.5 / sqrt((double)total));
	b->lo_bin = quantile_bin(h, total, 0.5 - d);
	b->hi_bin = quantile_bin(h, total, 0.5 + d);
	b->lo = b->lo_bin ? float_of(it->bins->start[b->lo_bin]) : 0;
	b->hi = float_of(it->bins->start[b->hi_bin + 1]);
	b->on = 1;
	memset(h, 0, sizeof(int64_t) * BINS);
}

static void bin_values(lp_issues *it, const float *v, int64_t m)
{
	for (int64_t x = 0; x < m; x++) {
		int b = fast_bin(it->bins, v[x]);
		it->band.bad |= b < it->band.lo_bin || b > it->band.hi_bin;
		it->wrong[b]++;
	}
}

/* one row's wrong classes into the histogram, all of them */
static void wrong_row(lp_issues *it, const float *row, int64_t y)
{
	for (int64_t c = 0; c < it->j->k; c++)
		if (c != y)
			it->wrong[fast_bin(it->bins, row[c])]++;
}

/* joint pass 2: every per-item figure while the row is in cache; the wrong classes' values
 * in the band (all of them without one) are binned */
static int gather(void *user, int64_t row0, int64_t rows, const float *p)
{
	lp_issues *it = user;
	struct lp_band *b = &it->band;
	const lp_joint *j = it->j;
	int64_t k = j->k;

	if (row0 == 0 && b->cap)
		choose_band(it, it->wrong);
	float lo = b->on ? b->lo : 0, hi = b->on ? b->hi : INFINITY;
	for (int64_t r = 0; r < rows; r++) {
		const float *row = p + r * k;
		int64_t i = row0 + r, y = j->labels[i], below, m;
		float top;
		int64_t best = lp_band_argmax(row, k, y, lo, hi, &below, b->buf, &m, &top);
		it->score[i] = row[y];
		it->suggested[i] = (int32_t)(best < 0 ? y : best);
		it->p_sugg[i] = best < 0 ? 0 : row[best];
		it->veto[i] = row[y] + 1e-6 >= (best < 0 ? 0 : row[best]);
		if (lp_flat_row(row, k)) /* no evidence either way: not in the estimate */
			continue;
		it->counted++;
		it->self[fast_bin(it->bins, row[y])]++;
		bin_values(it, b->buf, m);
		b->below += below;
	}
	return LP_OK;
}

/* the exact histogram, when the band missed the median */
static int wrong_all(void *user, int64_t row0, int64_t rows, const float *p)
{
	lp_issues *it = user;
	int64_t k = it->j->k;

	for (int64_t r = 0; r < rows; r++)
		if (!lp_flat_row(p + r * k, k))
			wrong_row(it, p + r * k, it->j->labels[row0 + r]);
	return LP_OK;
}

/* the heaps' pass: of each row, P[i][label] and the margins Cc asks for */
static int select_rows(void *user, int64_t row0, int64_t rows, const float *p)
{
	lp_issues *it = user;
	int64_t k = it->j->k;

	for (int64_t r = 0; r < rows; r++) {
		const float *row = p + r * k;
		int64_t i = row0 + r, y = it->j->labels[i];
		for (int64_t e = it->edge[y]; e < it->edge[y + 1]; e++)
			lp_heap_push(&it->noise[e], row[it->cls[e]] - row[y], i);
		lp_heap_push(&it->low[y], -row[y], i);
	}
	return LP_OK;
}

/* the heaps: one per class (its n_k - Cc[k][k] least self-confident) and one per nonzero
 * off-diagonal Cc[y][c] (its Cc[y][c] largest margins P[c] - P[y]), then their pass */
static int heaps(lp_ctx *ctx, lp_archive *a, lp_issues *it)
{
	const lp_joint *j = it->j;
	int64_t k = j->k, used = 0, any = 0;
	int bad;

	it->edge = calloc((size_t)k + 1, sizeof(int64_t));
	it->low = calloc((size_t)k, sizeof(lp_heap));
	bad = !it->edge || !it->low;
	for (int64_t y = 0; !bad && y < k; y++) {
		for (int64_t c = 0; c < k; c++)
			used += c != y && j->cc[y * k + c] > 0;
		it->edge[y + 1] = used;
	}
	it->noise = bad ? NULL : calloc((size_t)used + 1, sizeof(lp_heap));
	it->cls = bad ? NULL : malloc(sizeof(int32_t) * (size_t)(used + 1));
	bad |= !it->noise || !it->cls;
	for (int64_t y = 0, e = 0; !bad && y < k; y++) {
		int64_t left = j->count[y] - j->cc[y * k + y];
		bad |= lp_heap_init(&it->low[y], (size_t)(left > 0 ? left : 0));
		any |= left > 0;
		for (int64_t c = 0; !bad && c < k; c++)
			if (c != y && j->cc[y * k + c] > 0) {
				it->cls[e] = (int32_t)c;
				bad |= lp_heap_init(&it->noise[e++], (size_t)j->cc[y * k + c]);
			}
	}
	if (bad)
		return host->error(ctx, LP_ERR_NOMEM, "label_issues: out of memory");
	return used || any ? lp_joint_rows(ctx, a, j, select_rows, it) : LP_OK;
}

static int flag(lp_issues *it, int method)
{
	const lp_joint *j = it->j;
	int64_t n = j->n, k = j->k;
	uint8_t *a = calloc((size_t)n + 1, 1), *b = calloc((size_t)n + 1, 1);

	if (!a || !b) {
		free(a), free(b);
		return LP_ERR_NOMEM;
	}
	for (int64_t x = 0; x < it->edge[k]; x++)
		for (size_t e = 0; e < it->noise[x].n; e++)
			a[it->noise[x].item[e]] = 1;
	for (int64_t c = 0; c < k; c++)
		for (size_t e = 0; j->count[c] > 1 && e < it->low[c].n; e++)
			b[it->low[c].item[e]] = 1;
	for (int64_t i = 0; i < n; i++) {
		int f = method == LP_NOISE_RATE  ? a[i]
			: method == LP_BY_CLASS  ? b[i]
			: method == LP_BOTH      ? a[i] && b[i]
			: method == LP_CONFIDENT ? j->guess[i] != j->labels[i]
						 : 1;
		it->flagged[i] = (uint8_t)(f && !it->veto[i]);
	}
	free(a);
	free(b);
	return LP_OK;
}

/* The estimated number of wrong labels. A wrong label is a class the item does not show, so
 * the model gives it what it gives wrong classes; a right one gets the true class' share,
 * wrong only when the model errs. With x0 the median probability of wrong classes (over every
 * item and every class but its label), about half the wrong labels score below x0 and almost
 * no right ones do: m = 2 · #{i : P[i][label] <= x0}. Confident learning's own count, the
 * off-diagonal of the calibrated joint, also counts every confident mistake of the model and
 * grows to twice the truth and more as the model weakens; this one stays within a few percent
 * on models of 85 % accuracy and up (tests/e2e/label_issues_check.py). total: the values
 * counted in it->wrong (the band's below it lumped into the bin under the band). */
static int64_t estimate(const lp_issues *it, int64_t total)
{
	int64_t cum = 0, below = 0;
	int b0 = 0;

	if (!total)
		return 0;
	for (b0 = 0; b0 < BINS && 2 * (cum + it->wrong[b0]) < total; b0++)
		cum += it->wrong[b0];
	cum += b0 < BINS ? it->wrong[b0] : 0;
	for (int b = 0; b <= b0 && b < BINS; b++)
		below += it->self[b];
	double m = (double)below * (double)total / (double)cum;
	return m > (double)it->j->n ? it->j->n : (int64_t)nearbyint(m);
}

/* whether the band holds the median: then the histogram with the values below it lumped into
 * the bin under it gives estimate() the same answer as binning every value */
static int band_holds(lp_issues *it, int64_t total)
{
	struct lp_band *b = &it->band;
	int64_t in = 0;

	for (int x = b->lo_bin; x <= b->hi_bin; x++)
		in += it->wrong[x];
	if (b->bad || !(2 * b->below < total && 2 * (b->below + in) >= total))
		return 0;
	if (b->lo_bin > 0)
		it->wrong[b->lo_bin - 1] += b->below;
	return 1;
}

struct rank {
	float score;
	int64_t item;
};

static int by_score(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;
	if (x->score != y->score)
		return x->score < y->score ? -1 : 1;
	return x->item < y->item ? -1 : x->item > y->item;
}

/* keep at most m flagged label issues (not overlap items): the lowest self-confidence */
static int cap_flags(lp_issues *it, double share, int64_t m)
{
	const lp_joint *j = it->j;
	struct rank *r = malloc(sizeof(*r) * (size_t)(j->n + 1));
	int64_t n = 0;

	if (!r)
		return LP_ERR_NOMEM;
	for (int64_t i = 0; i < j->n; i++)
		if (it->flagged[i] && !lp_joint_overlap(j, j->labels[i], it->suggested[i], share))
			r[n++] = (struct rank){it->score[i], i};
	if (n > m) {
		qsort(r, (size_t)n, sizeof(*r), by_score);
		for (int64_t x = m; x < n; x++)
			it->flagged[r[x].item] = 0;
	}
	free(r);
	return LP_OK;
}

static int issues_new(lp_ctx *ctx, lp_joint *j, lp_issues *it)
{
	int64_t n = j->n, k = j->k, values = n * (k - 1);
	struct lp_band *b = &it->band;

	memset(it, 0, sizeof(*it));
	it->j = j;
	it->score = malloc(sizeof(float) * (size_t)(n + 1));
	it->p_sugg = malloc(sizeof(float) * (size_t)(n + 1));
	it->suggested = malloc(sizeof(int32_t) * (size_t)(n + 1));
	it->flagged = calloc((size_t)n + 1, 1);
	it->veto = calloc((size_t)n + 1, 1);
	it->wrong = calloc(BINS, sizeof(int64_t));
	it->self = calloc(BINS, sizeof(int64_t));
	it->bins = bins_new();
	int bad = !it->bins || !it->wrong || !it->self || !it->score || !it->p_sugg || !it->suggested ||
		  !it->flagged || !it->veto;
	if (!bad && values > EXACT) {
		int64_t rows = SAMPLE / (k - 1) > 64 ? SAMPLE / (k - 1) : 64;
		j->sample_every = n / rows > 1 ? n / rows : 1;
		b->cap = (n + j->sample_every - 1) / j->sample_every;
		b->bins = malloc(sizeof(uint16_t) * (size_t)(b->cap * (k - 1)));
		bad = !b->bins;
		j->sample = sample_row;
	}
	b->buf = bad ? NULL : malloc(sizeof(float) * (size_t)k);
	bad |= !b->buf;
	j->each = gather;
	j->user = it;
	return bad ? host->error(ctx, LP_ERR_NOMEM, "label_issues: out of memory") : LP_OK;
}

int lp_issues_compute(lp_ctx *ctx, lp_archive *a, lp_joint *j, const lp_issues_opts *o,
		      lp_issues *it)
{
	int rc = issues_new(ctx, j, it);
	int64_t total;

	if (!rc)
		rc = lp_joint_run(ctx, a, "label_issues", j);
	j->sample = NULL, j->each = NULL, j->user = NULL;
	total = it->counted * (j->k - 1);
	if (!rc && it->band.on && !band_holds(it, total)) {
		memset(it->wrong, 0, sizeof(int64_t) * BINS);
		it->band.on = 0;
		rc = lp_joint_rows(ctx, a, j, wrong_all, it);
	}
	if (!rc)
		rc = heaps(ctx, a, it);
	if (!rc && (rc = flag(it, o->method)))
		rc = host->error(ctx, rc, "label_issues: out of memory");
	if (!rc)
		it->estimated = estimate(it, total);
	if (!rc && o->cap && (rc = cap_flags(it, o->share, it->estimated)))
		rc = host->error(ctx, rc, "label_issues: out of memory");
	return rc;
}

void lp_issues_free(lp_issues *it)
{
	int64_t k = it->j ? it->j->k : 0;
	for (int64_t x = 0; it->noise && x < it->edge[k]; x++)
		lp_heap_free(&it->noise[x]);
	for (int64_t c = 0; it->low && c < k; c++)
		lp_heap_free(&it->low[c]);
	free(it->noise), free(it->low), free(it->score), free(it->suggested), free(it->flagged);
	free(it->veto), free(it->p_sugg), free(it->wrong), free(it->self);
	free(it->edge), free(it->cls), free(it->band.bins), free(it->band.buf);
	bins_free(it->bins);
	memset(it, 0, sizeof(*it));
}

void lp_issues_class_noise(const lp_joint *j, float *noise)
{
	int64_t k = j->k;

	for (int64_t c = 0; c < k; c++) {
		double row = 0;
		for (int64_t x = 0; x < k; x++)
			row += j->q[c * k + x];
		double diag = j->q[c * k + c];
		noise[c] = (float)(row > 1e-12 ? (row - diag) / row : 0);
	}
}
