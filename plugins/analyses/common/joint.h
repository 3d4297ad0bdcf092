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
 * Probabilities are read in slabs of rows, so memory stays O(K^2 + N). */
#ifndef LOUPE_JOINT_H
#define LOUPE_JOINT_H

#include "findings.h"

typedef struct lp_joint {
	const char *probs;      /* the probabilities' dataset path */
	char path[2][300];      /* lp_joint_group's: the probabilities' and the labels' paths */
	int64_t n, k;
	int32_t *labels;        /* [n] */
	int64_t *count;         /* [k] items per given label */
	double *t;              /* [k] */
	int64_t *guess;         /* [n] guessed true label */
	int64_t *c;             /* [k*k] confident joint */
	int64_t *cc;            /* [k*k] calibrated */
	double *q;              /* [k*k] */
} lp_joint;

/* Read the labels and two passes over the probabilities (checking every row: finite, >= 0,
 * summing to 1 within 1e-3; labels in range), then C, Cc and Q. labels_path: where the labels
 * are. who: the analysis, for messages. */
int lp_joint_compute(lp_ctx *ctx, lp_archive *a, const char *who, const char *probs_path,
		     const char *labels_path, int64_t k, lp_joint *j);
/* lp_joint_compute for prediction group g: /predictions/<g>/probs, labels by lp_labels_path. */
int lp_joint_group(lp_ctx *ctx, lp_archive *a, const char *who, const lp_inputs *in,
		   const char *g, lp_joint *j);
void lp_joint_free(lp_joint *j);

/* Visit the probabilities in slabs: fn(user, row0, rows, p) with p [rows x k]; stops at the
 * first nonzero return. */
int lp_joint_rows(lp_ctx *ctx, lp_archive *a, const lp_joint *j,
		  int (*fn)(void *user, int64_t row0, int64_t rows, const float *p), void *user);

/* Whether a row's probabilities are all equal: the model tells nothing about the item. Such an
 * item counts as its own label in C, and as no evidence in the estimates. */
int lp_flat_row(const float *p, int64_t k);

/* Whether classes a and b overlap: each loses at least `share` of its mass to the other in Q
 * (Q[a][b] >= share * row_a and Q[b][a] >= share * row_b). Flipped labels spread over all
 * classes and rarely pass this; two classes the model cannot separate do. */
int lp_joint_overlap(const lp_joint *j, int64_t a, int64_t b, double share);

#endif
