/* duplicates.h — the duplicates analysis' parts: find.c hashes every item and finds the exact
 * and near copies, write.c writes the per-item tables and the findings (duplicates.c). */
#ifndef LOUPE_DUPLICATES_H
#define LOUPE_DUPLICATES_H

#include <stddef.h>

#include "findings.h"
#include "phash.h"

enum { DUP_NONE = 0, DUP_EXACT = 1, DUP_NEAR = 2 };

struct dup_state {
	int64_t neighbours, shift;
	double max_diff;
};

struct dup_split {
	char *name;
	int64_t n, first;  /* rows, and the global index of row 0 */
	int32_t *labels;
	char **names;      /* /dataset/<split>/names (host->free) */
	size_t nnames;
};

/* one item of every split, in the global order (train first, then by name) */
struct dup_item {
	uint64_t hash;
	uint8_t digest[16];
	int64_t match;     /* global index of its original, -1 none */
	int32_t kind;      /* DUP_* */
	float diff;        /* thumbnail difference to the original (0 for an exact copy) */
	float spread;      /* the thumbnail's contrast (dup_spread) */
};

struct dup_run {
	const struct dup_state *s;
	const lp_analysis_io *io;
	char **classes;
	size_t nclasses;
	struct dup_split *splits;
	size_t nsplits;
	struct dup_item *items;
	int64_t n;
	float *feature;    /* [n * DUP_FEATURE] (dup_feature) */
	uint8_t *thumb;    /* [n * DUP_SIZE^2 * 3] blurred thumbnails (dup_blur) */
	int64_t exact, near; /* counts, for the group's attributes */
};

int dup_read_inputs(lp_ctx *ctx, struct dup_run *r);   /* find.c */
int dup_hash_all(lp_ctx *ctx, struct dup_run *r);
int dup_exact(lp_ctx *ctx, struct dup_run *r);
int dup_near(lp_ctx *ctx, struct dup_run *r);
const struct dup_split *dup_split_of(const struct dup_run *r, int64_t g);
void dup_run_free(struct dup_run *r);
int dup_write(lp_ctx *ctx, struct dup_run *r);         /* write.c */
int dup_write_skipped(lp_ctx *ctx, struct dup_run *r, const char *why);

#endif
