/* joint.c — see joint.h.
 *
 * The second pass reads every entry of every row once (check, guess, and the caller's `each`
 * hook while the row is in cache); the first reads P[i][y_i] alone (plus the caller's sample
 * rows), so over a matrix in memory it costs N cache lines, not the matrix. The row kernels
 * have an AVX2 twin, chosen at run time; both give the same answers, which the scalar loops
 * define: the AVX2 ones find a value first (max over lanes) and then its first index. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "joint.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(LP_NO_AVX2)
#include <immintrin.h>
#define HAVE_AVX2_KERNELS 1
#define AVX2 __attribute__((target("avx2")))
static int avx2(void)
{
	return __builtin_cpu_supports("avx2");
}
#else
static int avx2(void)
{
	return 0;
}
#endif

#define host an_host
#define ROWS 4096
#define AHEAD 2 /* rows prefetched ahead in the second pass (measured: 1, 4, 8 the same) */
#define RUN_FLOATS 8192 /* the each hook sees runs of rows this long at most */

/* ---- row kernels ---------------------------------------------------------------------- */

#ifdef HAVE_AVX2_KERNELS
AVX2 static float hmax8(__m256 a)
{
	__m128 h = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
	h = _mm_max_ps(h, _mm_movehl_ps(h, h));
	h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
	return _mm_cvtss_f32(h);
}

/* the first c in [from, to) with p[c] == v (and p[c] >= thr[c] when thr), or -1 */
AVX2 static int64_t find_avx2(const float *p, const float *thr, int64_t from, int64_t to, float v)
{
	__m256 vv = _mm256_set1_ps(v);
	int64_t c = from;

	for (; c + 8 <= to; c += 8) {
		__m256 x = _mm256_loadu_ps(p + c), eq = _mm256_cmp_ps(x, vv, _CMP_EQ_OQ);
		if (thr)
			eq = _mm256_and_ps(eq, _mm256_cmp_ps(x, _mm256_loadu_ps(thr + c), _CMP_GE_OQ));
		int bits = _mm256_movemask_ps(eq);
		if (bits)
			return c + __builtin_ctz((unsigned)bits);
	}
	for (; c < to; c++)
		if (p[c] == v && (!thr || p[c] >= thr[c]))
			return c;
	return -1;
}

AVX2 static int64_t argmax_avx2(const float *p, int64_t from, int64_t to, float *v)
{
	__m256 a = _mm256_loadu_ps(p + from), b = a;
	int64_t c = from + 8;

	for (; c + 16 <= to; c += 16) {
		a = _mm256_max_ps(a, _mm256_loadu_ps(p + c));
		b = _mm256_max_ps(b, _mm256_loadu_ps(p + c + 8));
	}
	float m = hmax8(_mm256_max_ps(a, b));
	for (; c < to; c++)
		m = p[c] > m ? p[c] : m;
	*v = m;
	return find_avx2(p, NULL, from, to, m);
}

/* One pass over a row for the second pass of the joint: the float sum and whether a sign bit
 * is set (for the check), the largest confident p (p >= thr; thr > 0, so a lane that is not
 * confident can stand at 0), and the largest p * rt (rt = 1 / t in float). ahead: a row to
 * prefetch meanwhile, so that memory keeps streaming while this one is worked on. */
struct scan {
	float sum, conf, rel;
	int neg;
};

AVX2 static void scan_avx2(const float *p, const float *thr, const float *rt, int64_t k,
			   const float *ahead, struct scan *s)
{
	__m256 s0 = _mm256_setzero_ps(), s1 = s0, bits = s0, cm = s0, rm = s0;
	int64_t c = 0;

	for (; c + 16 <= k; c += 16) {
		if (ahead)
			_mm_prefetch((const char *)(ahead + c), _MM_HINT_T0);
		__m256 x0 = _mm256_loadu_ps(p + c), x1 = _mm256_loadu_ps(p + c + 8);
		s0 = _mm256_add_ps(s0, x0), s1 = _mm256_add_ps(s1, x1);
		bits = _mm256_or_ps(bits, _mm256_or_ps(x0, x1));
		__m256 ok0 = _mm256_cmp_ps(x0, _mm256_loadu_ps(thr + c), _CMP_GE_OQ);
		__m256 ok1 = _mm256_cmp_ps(x1, _mm256_loadu_ps(thr + c + 8), _CMP_GE_OQ);
		cm = _mm256_max_ps(cm, _mm256_max_ps(_mm256_and_ps(ok0, x0), _mm256_and_ps(ok1, x1)));
		rm = _mm256_max_ps(rm, _mm256_max_ps(_mm256_mul_ps(x0, _mm256_loadu_ps(rt + c)),
						     _mm256_mul_ps(x1, _mm256_loadu_ps(rt + c + 8))));
	}
	s0 = _mm256_add_ps(s0, s1);
	__m128 h = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
	h = _mm_add_ps(h, _mm_movehl_ps(h, h));
	h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
	s->sum = _mm_cvtss_f32(h);
	s->neg = _mm256_movemask_ps(bits);
	s->conf = hmax8(cm), s->rel = hmax8(rm);
	for (; c < k; c++) {
		float r = p[c] * rt[c];
		s->sum += p[c], s->neg |= signbit(p[c]) != 0;
		if (p[c] >= thr[c] && p[c] > s->conf)
			s->conf = p[c];
		s->rel = r > s->rel ? r : s->rel;
	}
}

/* argmax of p[c] / t[c] (double, first index), f the largest p * rt in float: the classes
 * within 1e-6 of f (more than its rounding error, 2.4e-7) are decided in double */
AVX2 static int64_t relative_avx2(const float *p, const float *rt, const double *t, int64_t k,
				  float f)
{
	float cut = f * (1 - 1e-6f);
	__m256 vcut = _mm256_set1_ps(cut);
	int64_t best = -1;
	double top = 0;

	for (int64_t c = 0; c < k; c += 8) {
		int bits = 0xff;
		if (c + 8 <= k)
			bits = _mm256_movemask_ps(_mm256_cmp_ps(
			    _mm256_mul_ps(_mm256_loadu_ps(p + c), _mm256_loadu_ps(rt + c)), vcut,
			    _CMP_GE_OQ));
		for (; bits; bits &= bits - 1) {
			int64_t x = c + __builtin_ctz((unsigned)bits);
			if (x >= k || !(p[x] * rt[x] >= cut))
				continue;
			double d = (double)p[x] / t[x];
			if (best < 0 || d > top)
				best = x, top = d;
		}
	}
	return best;
}

/* lp_band_argmax, 8 floats at c (skip: their lane of the skipped class, -1 if none): that
 * class stands at -1, below any lo (>= 0); returns mx raised by them */
AVX2 static inline __m256 band8(const float *p, int64_t c, int skip, __m256 vlo, __m256 vhi,
				__m256i *cnt, float *band, int64_t *m, __m256 mx)
{
	__m256 x = _mm256_loadu_ps(p + c);
	if (skip >= 0)
		x = _mm256_blendv_ps(x, _mm256_set1_ps(-1),
				     _mm256_castsi256_ps(_mm256_cmpeq_epi32(
					 _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
					 _mm256_set1_epi32(skip))));
	__m256 lt = _mm256_cmp_ps(x, vlo, _CMP_LT_OQ);
	*cnt = _mm256_sub_epi32(*cnt, _mm256_castps_si256(lt));
	int bits = _mm256_movemask_ps(_mm256_andnot_ps(lt, _mm256_cmp_ps(x, vhi, _CMP_LT_OQ)));
	for (; bits; bits &= bits - 1)
		band[(*m)++] = p[c + __builtin_ctz((unsigned)bits)];
	return _mm256_max_ps(mx, x);
}

AVX2 static int64_t band_argmax_avx2(const float *p, int64_t k, int64_t skip, float lo, float hi,
				     int64_t *below, float *band, int64_t *nband, float *v)
{
	__m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
	__m256 mx0 = _mm256_set1_ps(-1), mx1 = mx0; /* two chains: max's latency, not its rate */
	__m256i cnt = _mm256_setzero_si256();
	int64_t c = 0, m = 0, under = 0, sc = skip - skip % 8; /* the skipped class' chunk */

	for (; c + 16 <= sc; c += 16) {
		mx0 = band8(p, c, -1, vlo, vhi, &cnt, band, &m, mx0);
		mx1 = band8(p, c + 8, -1, vlo, vhi, &cnt, band, &m, mx1);
	}
	for (; c < sc && c + 8 <= k; c += 8)
		mx0 = band8(p, c, -1, vlo, vhi, &cnt, band, &m, mx0);
	if (c == sc && c + 8 <= k)
		mx1 = band8(p, c, (int)(skip - sc), vlo, vhi, &cnt, band, &m, mx1), c += 8;
	for (; c + 16 <= k; c += 16) {
		mx0 = band8(p, c, -1, vlo, vhi, &cnt, band, &m, mx0);
		mx1 = band8(p, c + 8, -1, vlo, vhi, &cnt, band, &m, mx1);
	}
	if (c + 8 <= k)
		mx0 = band8(p, c, -1, vlo, vhi, &cnt, band, &m, mx0), c += 8;
	__m256 mx = _mm256_max_ps(mx0, mx1);
	int32_t l[8];
	_mm256_storeu_si256((__m256i *)l, cnt);
	for (int x = 0; x < 8; x++)
		under += l[x];
	under -= skip < c; /* the skipped class' -1 */
	float top = hmax8(mx);
	for (; c < k; c++) {
		if (c == skip)
			continue;
		under += p[c] < lo;
		if (p[c] >= lo && p[c] < hi)
			band[m++] = p[c];
		top = p[c] > top ? p[c] : top;
	}
	*below = under, *nband = m, *v = top;
	if (top < 0)
		return -1;
	int64_t at = find_avx2(p, NULL, 0, skip, top);
	return at >= 0 ? at : find_avx2(p, NULL, skip + 1, k, top);
}
#endif

int64_t lp_argmax(const float *p, int64_t from, int64_t to, float *v)
{
	int64_t best = from;

	if (to <= from) {
		*v = -1;
		return -1;
	}
#ifdef HAVE_AVX2_KERNELS
	if (to - from >= 16 && avx2())
		return argmax_avx2(p, from, to, v);
#endif
	for (int64_t c = from + 1; c < to; c++)
		if (p[c] > p[best])
			best = c;
	*v = p[best];
	return best;
}

int64_t lp_argmax_except(const float *p, int64_t k, const int32_t *ex, int64_t nex, float *v)
{
	int64_t best = -1, from = 0;
	float top = -1;

	for (int64_t e = 0; e <= nex; e++) {
		int64_t to = e < nex ? ex[e] : k;
		float x;
		int64_t c = to > from ? lp_argmax(p, from, to, &x) : -1;
		if (c >= 0 && (best < 0 || x > top))
			best = c, top = x;
		if (e < nex && ex[e] + 1 > from)
			from = ex[e] + 1;
	}
	*v = top;
	return best;
}

int64_t lp_band_argmax(const float *p, int64_t k, int64_t skip, float lo, float hi,
		       int64_t *below, float *band, int64_t *nband, float *v)
{
	int64_t m = 0, under = 0, best = -1;

#ifdef HAVE_AVX2_KERNELS
	if (k < ((int64_t)1 << 31) && avx2())
		return band_argmax_avx2(p, k, skip, lo, hi, below, band, nband, v);
#endif
	for (int64_t c = 0; c < k; c++) {
		if (c == skip)
			continue;
		under += p[c] < lo;
		if (p[c] >= lo && p[c] < hi)
			band[m++] = p[c];
		if (best < 0 || p[c] > p[best])
			best = c;
	}
	*below = under, *nband = m, *v = best < 0 ? -1 : p[best];
	return best;
}

int lp_flat_row(const float *p, int64_t k)
{
	for (int64_t c = 1; c < k; c++)
		if (p[c] != p[0])
			return 0;
	return 1;
}

/* ---- the passes ----------------------------------------------------------------------- */

struct pass {
	lp_ctx *ctx;
	const char *who;
	lp_joint *j;
	double *sum;  /* pass 1: [k] sum of P[i][k] over the items labelled k */
	float *thr;   /* pass 2: [k] the smallest float p with (double)p >= t[k] - 1e-6 */
	float *rt;    /* pass 2: [k] (float)(1 / t[k]) */
	float limit;  /* pass 2: plausible rows' |float sum - 1| */
	int fast;     /* the AVX2 kernels */
};

int lp_joint_rows(lp_ctx *ctx, lp_archive *a, const lp_joint *j, lp_rows_fn fn, void *user)
{
	int rc = LP_OK;

	if (j->mem) {
		for (int64_t r0 = 0; !rc && r0 < j->n; r0 += ROWS)
			rc = fn(user, r0, j->n - r0 < ROWS ? j->n - r0 : ROWS, j->mem + r0 * j->k);
		return rc;
	}
	float *buf = malloc(sizeof(float) * (size_t)(ROWS * j->k));
	if (!buf)
		return host->error(ctx, LP_ERR_NOMEM, "out of memory for %s", j->probs);
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
		int32_t y = j->labels[row0 + i];
		if (i + 16 < rows) /* one cache line a row, each a miss: ask early */
			__builtin_prefetch(p + (i + 16) * j->k + j->labels[row0 + i + 16], 0, 3);
		s->sum[y] += p[i * j->k + y];
	}
	if (!j->sample)
		return LP_OK;
	int64_t every = j->sample_every > 0 ? j->sample_every : 1;
	for (int64_t i = (every - row0 % every) % every; i < rows; i += every) {
		int rc = j->sample(j->user, row0 + i, p + i * j->k);
		if (rc)
			return rc;
	}
	return LP_OK;
}

/* the guessed true label of one row (joint.h: confident classes only; else P / t); sc: the
 * row's scan when the AVX2 kernels run */
static int64_t guess(const struct pass *s, const float *p, int64_t y, const void *sc)
{
	const lp_joint *j = s->j;
	int64_t best = -1, rel = 0;

	if (lp_flat_row(p, j->k))
		return y; /* a model that says nothing has nothing against the label */
#ifdef HAVE_AVX2_KERNELS
	if (sc) {
		const struct scan *r = sc;
		return r->conf > 0 ? find_avx2(p, s->thr, 0, j->k, r->conf)
				   : relative_avx2(p, s->rt, j->t, j->k, r->rel);
	}
#else
	(void)sc;
#endif
	for (int64_t c = 0; c < j->k; c++) {
		if (p[c] >= s->thr[c] && (best < 0 || p[c] > p[best]))
			best = c;
		if (p[c] / j->t[c] > p[rel] / j->t[rel])
			rel = c;
	}
	return best >= 0 ? best : rel;
}

/* one row of the second pass: checked (the scan's float sum decides when it cannot be wrong;
 * else lp_check_probs), guessed, counted */
static int count_row(struct pass *s, const float *row, int64_t i, const float *ahead)
{
	lp_joint *j = s->j;
	const void *sc = NULL;
	int ok = 0;

#ifdef HAVE_AVX2_KERNELS
	struct scan r;
	if (s->fast) {
		scan_avx2(row, s->thr, s->rt, j->k, ahead, &r);
		ok = !r.neg && fabsf(r.sum - 1.0f) <= s->limit;
		sc = &r;
	}
#else
	(void)ahead;
#endif
	int rc = ok ? LP_OK : lp_check_probs(s->ctx, s->who, j->probs, i, row, j->k);
	if (rc)
		return rc;
	int64_t g = guess(s, row, j->labels[i], sc);
	j->guess[i] = g;
	j->c[(int64_t)j->labels[i] * j->k + g]++;
	return LP_OK;
}

static int count(void *user, int64_t row0, int64_t rows, const float *p)
{
	struct pass *s = user;
	lp_joint *j = s->j;
	/* the hook sees the rows while they are in cache: runs of at most 32 KiB */
	int64_t run = j->k < RUN_FLOATS ? RUN_FLOATS / j->k : 1;

	for (int64_t i0 = 0; i0 < rows; i0 += run) {
		int64_t m = rows - i0 < run ? rows - i0 : run;
		for (int64_t i = i0; i < i0 + m; i++) {
			const float *ahead = i + AHEAD < rows ? p + (i + AHEAD) * j->k : NULL;
			if (ahead) {
				int32_t y = j->labels[row0 + i + AHEAD];
				__builtin_prefetch(j->c + (int64_t)y * j->k + y, 1, 3);
			}
			int rc = count_row(s, p + i * j->k, row0 + i, ahead);
			if (rc)
				return rc;
		}
		int rc = j->each ? j->each(j->user, row0 + i0, m, p + i0 * j->k) : LP_OK;
		if (rc)
			return rc;
	}
	return LP_OK;
}

/* the smallest float f with (double)f >= d */
static float float_at_least(double d)
{
	float f = (float)d;
	if ((double)f < d)
		return nextafterf(f, INFINITY);
	while ((double)nextafterf(f, -INFINITY) >= d)
		f = nextafterf(f, -INFINITY);
	return f;
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

static int finish(lp_ctx *ctx, const char *who, lp_joint *j)
{
	int64_t k = j->k, total = 0;
	double *res = malloc(sizeof(double) * (size_t)k);

	if (!res)
		return host->error(ctx, LP_ERR_NOMEM, "%s: out of memory", who);
	for (int64_t c = 0; c < k; c++)
		if (j->count[c] && j->c[c * k + c] < 1)
			j->c[c * k + c] = 1; /* every class keeps one clean count */
	for (int64_t r = 0; r < k; r++)
		calibrate_row(j->c + r * k, k, j->count[r], j->cc + r * k, res);
	free(res);
	for (int64_t i = 0; i < k * k; i++)
		total += j->cc[i];
	for (int64_t i = 0; i < k * k; i++)
		j->q[i] = total ? (double)j->cc[i] / (double)total : 0;
	return LP_OK;
}

/* the arrays every source needs, once n and k are known */
static int joint_alloc(lp_ctx *ctx, const char *who, lp_joint *j)
{
	size_t n = (size_t)j->n + 1, kk = (size_t)(j->k * j->k);

	j->labels = malloc(sizeof(int32_t) * n);
	j->guess = malloc(sizeof(int64_t) * n);
	j->count = calloc((size_t)j->k, sizeof(int64_t));
	j->t = calloc((size_t)j->k, sizeof(double));
	j->c = calloc(kk, sizeof(int64_t));
	j->cc = calloc(kk, sizeof(int64_t));
	j->q = calloc(kk, sizeof(double));
	if (!j->labels || !j->guess || !j->count || !j->t || !j->c || !j->cc || !j->q)
		return host->error(ctx, LP_ERR_NOMEM, "%s: out of memory", who);
	return LP_OK;
}

int lp_joint_open(lp_ctx *ctx, lp_archive *a, const char *who, const char *probs_path,
		  const char *labels_path, int64_t k, lp_joint *j)
{
	int64_t dims[8];
	int dtype, rank, rc;

	j->probs = probs_path;
	j->mem = NULL;
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
	if ((rc = joint_alloc(ctx, who, j)))
		return rc;
	return lp_read_labels(ctx, a, who, labels_path, j->n, k, j->labels);
}

int lp_joint_open_memory(lp_ctx *ctx, const char *who, const char *name, const float *p,
			 const int32_t *labels, int64_t n, int64_t k, lp_joint *j)
{
	int rc;

	j->probs = name;
	j->mem = p;
	j->n = n;
	j->k = k;
	if (n < 0 || k < 1)
		return host->error(ctx, LP_ERR_SHAPE, "%s: %s is [%lld, %lld]", who, name,
				   (long long)n, (long long)k);
	if ((rc = joint_alloc(ctx, who, j)))
		return rc;
	for (int64_t i = 0; i < n; i++) {
		if (labels[i] < 0 || labels[i] >= k)
			return host->error(ctx, LP_ERR_FORMAT,
					   "%s: the labels of %s: row %lld is %d, not a class "
					   "(0 .. %lld)",
					   who, name, (long long)i, labels[i], (long long)k - 1);
		j->labels[i] = labels[i];
	}
	return LP_OK;
}

/* pass 2's per-class constants, from t */
static void pass_constants(struct pass *s)
{
	const lp_joint *j = s->j;

	for (int64_t c = 0; c < j->k; c++) {
		s->thr[c] = float_at_least(j->t[c] - 1e-6);
		s->rt[c] = (float)(1.0 / j->t[c]);
	}
	/* float sum of k terms in 16 lanes: error below (k/16 + 32) 2^-23 of the sum (about 1),
	 * and the exact check's double sum k 2^-52: twice that is kept off the 1e-3 limit */
	double margin = 2 * ((double)(j->k / 16 + 32) * 0x1p-23 + (double)j->k * 0x1p-52);
	s->limit = margin < 5e-4 ? (float)(1e-3 - margin) : -1;
	s->fast = avx2() && s->limit > 0;
}

int lp_joint_run(lp_ctx *ctx, lp_archive *a, const char *who, lp_joint *j)
{
	struct pass s = {ctx, who, j, NULL, NULL, NULL, 0, 0};
	int64_t k = j->k;
	int rc = LP_OK;

	s.sum = calloc((size_t)k, sizeof(double));
	s.thr = malloc(sizeof(float) * (size_t)k);
	s.rt = malloc(sizeof(float) * (size_t)k);
	if (!s.sum || !s.thr || !s.rt)
		rc = host->error(ctx, LP_ERR_NOMEM, "%s: out of memory", who);
	for (int64_t i = 0; !rc && i < j->n; i++)
		j->count[j->labels[i]]++;
	if (!rc)
		rc = lp_joint_rows(ctx, a, j, thresholds, &s);
	for (int64_t c = 0; !rc && c < k; c++) {
		j->t[c] = j->count[c] ? s.sum[c] / (double)j->count[c] : 2.0;
		if (!(j->t[c] >= 2e-6))
			j->t[c] = 2e-6; /* NaN too: a bad row, which pass 2 reports */
	}
	if (!rc)
		pass_constants(&s);
	if (!rc)
		rc = lp_joint_rows(ctx, a, j, count, &s);
	if (!rc)
		rc = finish(ctx, who, j);
	free(s.sum);
	free(s.thr);
	free(s.rt);
	return rc;
}

int lp_joint_compute(lp_ctx *ctx, lp_archive *a, const char *who, const char *probs_path,
		     const char *labels_path, int64_t k, lp_joint *j)
{
	int rc = lp_joint_open(ctx, a, who, probs_path, labels_path, k, j);
	return rc ? rc : lp_joint_run(ctx, a, who, j);
}

int lp_joint_open_group(lp_ctx *ctx, lp_archive *a, const char *who, const lp_inputs *in,
			const char *g, lp_joint *j)
{
	snprintf(j->path[0], sizeof j->path[0], "/predictions/%s/probs", g);
	lp_labels_path(a, g, j->path[1], sizeof j->path[1]);
	return lp_joint_open(ctx, a, who, j->path[0], j->path[1], (int64_t)in->nclasses, j);
}

int lp_joint_group(lp_ctx *ctx, lp_archive *a, const char *who, const lp_inputs *in,
		   const char *g, lp_joint *j)
{
	int rc = lp_joint_open_group(ctx, a, who, in, g, j);
	return rc ? rc : lp_joint_run(ctx, a, who, j);
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
