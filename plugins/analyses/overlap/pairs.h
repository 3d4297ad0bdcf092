/* pairs.h — the computation of the `overlap` analysis, apart from the archive: for one split,
 * the class pairs a < b ranked by the calibrated joint's symmetric mass Q[a][b] + Q[b][a]
 * (joint.h), each with the accuracy if the pair were one class — relabel-only (argmax kept,
 * the pair's confusions counted right) and probability-summed (P[a] + P[b] as the merged
 * class, argmax again, exact over every item) — and the greedy merges in rank order with the
 * accuracy after each. The plugin (overlap.c) and bench/analyses run these same functions.
 *
 *   lp_joint j = {0};
 *   lp_overlap o;
 *   rc = lp_joint_open_memory(ctx, "overlap", "probs", p, labels, n, k, &j);
 *   if (!rc) rc = lp_overlap_compute(ctx, NULL, &j, 10, 5, &o);
 *   ... o.pairs[0 .. o.npairs), o.step_right[0 .. o.steps), o.accuracy ...
 *   lp_overlap_free(&o);
 *   lp_joint_free(&j);
 *
 * Passes: the joint's two (the second also counting argmax against label), then, when some
 * pair has mass, one that reads of each row the label's, the argmax's and the pairs' entries
 * (a whole row only where the argmax is one of them). Memory O(N + K^2). Errors: the joint's,
 * and out of memory, through the host in ctx. */
#ifndef LOUPE_PAIRS_H
#define LOUPE_PAIRS_H

#include "joint.h"

typedef struct lp_pair {
	int32_t a, b;
	double joint;   /* Q[a][b] + Q[b][a] */
	int64_t count;  /* about how many items: round(n * joint) */
	double relabel; /* accuracy, the pair's confusions counted right */
	double merged;  /* accuracy with P[a] + P[b] as one class */
} lp_pair;

typedef struct lp_overlap {
	const lp_joint *j;
	lp_pair *pairs;      /* [npairs], largest joint first (ties: the smaller a, b) */
	int64_t npairs;
	int64_t steps;       /* greedy merges: the first `steps` pairs, in order */
	int64_t *step_right; /* [steps] items right after each merge */
	double accuracy;     /* plain argmax accuracy */
	/* working state */
	int64_t *argmax;     /* [k*k] plain confusion counts, rows the label */
	int32_t *top;        /* [n] each row's argmax */
	int64_t *right;      /* [npairs] items right with the pair's probabilities summed */
	int32_t *group;      /* [steps][k]: class -> merged group after each greedy step */
} lp_overlap;

/* Run joint j (opened, not yet run; its hooks are taken) and the above, with the `top` pairs
 * (>= 1) and min(merges, pairs) greedy steps; a: the archive, NULL for a memory source.
 * lp_overlap_free `o` either way. */
int lp_overlap_compute(lp_ctx *ctx, lp_archive *a, lp_joint *j, int64_t top, int64_t merges,
		       lp_overlap *o);
void lp_overlap_free(lp_overlap *o);

#endif
