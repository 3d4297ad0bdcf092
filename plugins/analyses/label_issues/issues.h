/* issues.h — the computation of the `label_issues` analysis, apart from the archive: confident
 * learning (joint.h) on one split, per item score (self-confidence P[i][label], lower = more
 * likely mislabelled), flagged and suggested (the most probable other class), and the
 * estimated number of wrong labels (docs/ANALYSES.md). The plugin (label_issues.c) and
 * bench/analyses run these same functions, on the archive and on a matrix in memory.
 *
 *   lp_joint j = {0};
 *   lp_issues it;
 *   rc = lp_joint_open_memory(ctx, "label_issues", "probs", p, labels, n, k, &j);
 *   if (!rc) rc = lp_issues_compute(ctx, NULL, &j, &(lp_issues_opts){LP_NOISE_RATE, 1, 0.15},
 *                                   &it);
 *   ... it.flagged, it.suggested, it.score, it.estimated; lp_issues_class_noise(&j, noise) ...
 *   lp_issues_free(&it);
 *   lp_joint_free(&j);
 *
 * Memory: O(N + K^2) besides the probabilities (five bytes-to-floats per item, a sample of at
 * most 2^21 bins). Errors: the joint's, and out of memory, through the host in ctx. */
#ifndef LOUPE_ISSUES_H
#define LOUPE_ISSUES_H

#include "heap.h"
#include "joint.h"

enum lp_issues_method {
	LP_NOISE_RATE,
	LP_BY_CLASS,
	LP_BOTH,
	LP_CONFIDENT,
	LP_NEQ_GIVEN,
	LP_METHODS
};
/* "prune_by_noise_rate", "prune_by_class", "both", "confident_learning",
 * "predicted_neq_given" */
extern const char *const lp_issues_methods[LP_METHODS];

typedef struct lp_issues_opts {
	int method;   /* enum lp_issues_method */
	int cap;      /* flag at most the estimated number of wrong labels */
	double share; /* lp_joint_overlap's: such pairs' items are overlap items, not issues */
} lp_issues_opts;

typedef struct lp_issues {
	lp_joint *j;
	float *score;       /* [n] P[i][label] */
	int32_t *suggested; /* [n] */
	uint8_t *flagged;   /* [n] */
	float *p_sugg;      /* [n] P[i][suggested] */
	int64_t estimated;  /* the estimated number of wrong labels */
	/* working state */
	uint8_t *veto;      /* [n] the argmax (ties to the label) is the label */
	lp_heap *noise;     /* [edge[k]]: edge e of row y keeps the Cc[y][c] largest margins */
	int64_t *edge;      /* [k + 1] row y's edges: cls[edge[y] .. edge[y + 1]), the classes */
	int32_t *cls;       /*   c != y with Cc[y][c] > 0, ascending; P[c] - P[y] the margin */
	lp_heap *low;       /* [k]: class k keeps its n_k - Cc[k][k] lowest P[k] */
	int64_t *wrong;     /* [BINS] histogram of P[i][c], c not the label: wrong classes */
	int64_t *self;      /* [BINS] histogram of P[i][label] */
	int64_t counted;    /* rows in the histograms (not flat) */
	struct lp_bins *bins; /* the histograms' bins, fast: issues.c */
	struct lp_band {    /* the wrong-class histogram within [lo, hi) only: issues.c */
		int on, bad, lo_bin, hi_bin;
		float lo, hi;
		int64_t below, rows, cap;
		uint16_t *bins; /* the sample rows' bins, k - 1 a row */
		float *buf;     /* [k] */
	} band;
} lp_issues;

/* Run joint j (opened, not yet run: lp_joint_open*; its sample/each hooks are taken) and
 * everything above on its source; a: the archive, NULL for a memory source. On failure `it`
 * holds what was allocated: lp_issues_free it either way. */
int lp_issues_compute(lp_ctx *ctx, lp_archive *a, lp_joint *j, const lp_issues_opts *o,
		      lp_issues *it);
void lp_issues_free(lp_issues *it);
/* noise[k] = 1 - Q[k][k] / sum_j Q[k][j] (0 for a class without mass) */
void lp_issues_class_noise(const lp_joint *j, float *noise);

#endif
