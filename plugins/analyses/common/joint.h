/* joint.h — confident learning's core, shared by the label_issues and overlap analyses
 * (Northcutt, Jiang, Chuang, JAIR 2021; docs/ANALYSES.md says where loupe departs from
 * cleanlab and why). For one split of N items, K classes, out-of-sample probabilities P and
 * given labels y:
 *   t[k]   per-class threshold: mean P[i][k] over the items labelled k (2 if none: nobody
 *          reaches it), at least 2e-6;
 *   C      the confident joint, K x K, rows the given label, columns the guessed true one:
 *          each item's guess is the confident class (P[i][k] >= t[k] - 1e-6) of highest
 *          probability — among the confident ones only (the paper's Eq. 2; cleanlab takes the
 *          argmax over all classes when two are confident) — and an item confident in no
 *          class is counted too, under the class of highest P[i][k] / t[k] (cleanlab drops
 *          it, under-counting errors on unusual images); the diagonal of a class with items
 *          is at least 1;
 *   Cc     C calibrated: each row scaled to the given-label count n[k] and rounded with the
 *          row total kept (half to even, the largest residuals taking the remainder);
 *   Q      Cc / sum(Cc), the estimated joint of given and true label.
 *
 * The probabilities come from a row source: a dataset of the run archive, read in slabs of
 * rows (memory O(K^2 + N)), or an N x K row-major matrix in memory (no copy; the benchmark's).
 *
 *   lp_joint j = {0};
 *   rc = lp_joint_open_group(ctx, a, "overlap", in, g, &j);   // or lp_joint_open_memory
 *   j.each = my_rows, j.user = &mine;                           // optional: see lp_joint_run
 *   if (!rc) rc = lp_joint_run(ctx, a, "overlap", &j);
 *   ... j.c, j.cc, j.q, j.t, j.guess ...
 *   lp_joint_free(&j);
 *
 * Errors: through the host (an_host->error) in ctx, naming `who` and the dataset. */
#ifndef LOUPE_JOINT_H
#define LOUPE_JOINT_H

#include "findings.h"

typedef int (*lp_rows_fn)(void *user, int64_t row0, int64_t rows, const float *p);

typedef struct lp_joint {
	const char *probs;      /* the probabilities' dataset path (in memory: a name) */
	char path[2][300];      /* lp_joint_open_group's: the probabilities' and the labels' paths */
	const float *mem;       /* the matrix of a memory source [n x k] (borrowed), else NULL */
	int64_t n, k;
	int32_t *labels;        /* [n] */
	int64_t *count;         /* [k] items per given label */
	double *t;              /* [k] */
	int64_t *guess;         /* [n] guessed true label */
	int64_t *c;             /* [k*k] confident joint */
	int64_t *cc;            /* [k*k] calibrated */
	double *q;              /* [k*k] */
	/* Optional, set by the caller between open and run (NULL: none). sample(user, i, row)
	 * sees every sample_every-th row during the first pass, before any row is checked; each
	 * sees every row of the second pass, in order, in runs of a few rows just checked and
	 * guessed (still in cache), so that an analysis needing one more look at every row needs
	 * no pass of its own. */
	int (*sample)(void *user, int64_t row, const float *p);
	int64_t sample_every;
	lp_rows_fn each;
	void *user;
} lp_joint;

/* The archive as row source: the probabilities at probs_path ([n, k] float), the labels at
 * labels_path, read and checked (in range). */
int lp_joint_open(lp_ctx *ctx, lp_archive *a, const char *who, const char *probs_path,
		  const char *labels_path, int64_t k, lp_joint *j);
/* lp_joint_open for prediction group g: /predictions/<g>/probs, labels by lp_labels_path. */
int lp_joint_open_group(lp_ctx *ctx, lp_archive *a, const char *who, const lp_inputs *in,
			const char *g, lp_joint *j);
/* A matrix in memory as row source: p [n x k] row-major (borrowed until lp_joint_free),
 * labels [n] (copied, checked in range); name stands for the dataset in messages. */
int lp_joint_open_memory(lp_ctx *ctx, const char *who, const char *name, const float *p,
			 const int32_t *labels, int64_t n, int64_t k, lp_joint *j);
/* The thresholds from a first pass (only P[i][y_i] of each row is read from memory), a second
 * pass checking every row (finite, >= 0, summing to 1 within 1e-3) and guessing it, then C,
 * Cc and Q. a: the archive (NULL for a memory source). */
int lp_joint_run(lp_ctx *ctx, lp_archive *a, const char *who, lp_joint *j);
/* lp_joint_open + lp_joint_run */
int lp_joint_compute(lp_ctx *ctx, lp_archive *a, const char *who, const char *probs_path,
		     const char *labels_path, int64_t k, lp_joint *j);
/* lp_joint_open_group + lp_joint_run */
int lp_joint_group(lp_ctx *ctx, lp_archive *a, const char *who, const lp_inputs *in,
		   const char *g, lp_joint *j);
void lp_joint_free(lp_joint *j);

/* Visit the probabilities in slabs: fn(user, row0, rows, p) with p [rows x k]; stops at the
 * first nonzero return. A memory source hands out its own rows (a is not used): a visitor
 * that reads few entries of a row costs only those. */
int lp_joint_rows(lp_ctx *ctx, lp_archive *a, const lp_joint *j, lp_rows_fn fn, void *user);

/* Whether a row's probabilities are all equal: the model tells nothing about the item. Such an
 * item counts as its own label in C, and as no evidence in the estimates. */
int lp_flat_row(const float *p, int64_t k);

/* Whether classes a and b overlap: each loses at least `share` of its mass to the other in Q
 * (Q[a][b] >= share * row_a and Q[b][a] >= share * row_b). Flipped labels spread over all
 * classes and rarely pass this; two classes the model cannot separate do. */
int lp_joint_overlap(const lp_joint *j, int64_t a, int64_t b, double share);

/* Row kernels (vectorised where the CPU allows; the same answers either way). */
/* The first index of the largest p[c], c in [from, to), its value in *v; -1 and *v = -1 if
 * the range is empty. NaN-free input. */
int64_t lp_argmax(const float *p, int64_t from, int64_t to, float *v);
/* lp_argmax over [0, k) less the classes in ex (sorted ascending, nex of them). */
int64_t lp_argmax_except(const float *p, int64_t k, const int32_t *ex, int64_t nex, float *v);
/* Of p[0 .. k) less p[skip]: the first index of the largest (its value in *v; -1 and -1 if
 * none), how many are < lo (*below; lo >= 0), and the values in [lo, hi) copied in order to
 * band (room for k), *nband of them. */
int64_t lp_band_argmax(const float *p, int64_t k, int64_t skip, float lo, float hi,
		       int64_t *below, float *band, int64_t *nband, float *v);

#endif
