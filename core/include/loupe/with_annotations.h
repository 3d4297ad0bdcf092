/*
 * with_annotations.h — a dataset seen through a review's decisions: the labels and the items
 * the next run trains and evaluates on, from a run archive's /annotations (docs/REVIEW.md,
 * "Retraining from the decisions"; Lua: ds:with_annotations(run), docs/LUA.md).
 *
 *   lp_annotated_opts o = { .also = LP_ALSO_EXCLUDE };
 *   lp_annotated *an;
 *   if (lp_annotated_from_archive(ds, run, &o, &an)) fail(lp_ctx_errmsg(ctx));
 *   const lp_annotated_split *s = lp_annotated_split_get(an, "train");
 *   ... s->labels[i]: item i's label now; s->keep[i] == 0: it left the split;
 *       s->items[0 .. s->nitems-1]: the items that stay, in order (the loader's `items`) ...
 *   lp_annotated_write(ctx, an, next_run);   // annotations_hash, _source on /dataset (provenance)
 *   lp_annotated_free(an);
 *
 * What the decisions do (the state lp_review_state_new replays from the entries):
 *   relabel  the item's label becomes the decision's;
 *   remove   the item leaves its split (keep[i] = 0);
 *   merge    every label equal to a merged class becomes the class it is merged into (chains
 *            followed: a into b, b into c gives a into c), in every split, test included. The
 *            class count stays: the model keeps its shape, a merged-away class has no items;
 *   also     with LP_ALSO_EXCLUDE, an item shown to show another class too leaves the training
 *            split (o.train_split, "train"); other splits keep it. LP_ALSO_KEEP: no effect;
 *   keep, unsure, tag, answer: no effect.
 * Items are matched by split and name (the annotation's `name`, the archive's
 * /dataset/<split>/names), never by row alone, so a dataset listed in another order or size
 * still gets each decision on the right item. A decision on an item the dataset does not have
 * (no such split or name) is LP_ERR_NOTFOUND naming it, or with LP_MISSING_SKIP counted in
 * `missing` (the first one named in first_missing); an item whose label in the dataset is not
 * the one the annotation was made on (another dataset under the same names) is LP_ERR_FORMAT
 * naming it. Class ids out of range are LP_ERR_FORMAT naming the entry's seq.
 *
 * Ownership: the caller frees with lp_annotated_free; split names are borrowed from the
 * dataset, which must outlive the result. Nothing here exits or prints.
 */
#ifndef LOUPE_WITH_ANNOTATIONS_H
#define LOUPE_WITH_ANNOTATIONS_H

#include "loupe/annotations.h"
#include "loupe/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { LP_ALSO_KEEP = 0, LP_ALSO_EXCLUDE = 1 };
enum { LP_MISSING_ERROR = 0, LP_MISSING_SKIP = 1 };

typedef struct lp_annotated_opts {
	int also;                /* LP_ALSO_KEEP (default) or LP_ALSO_EXCLUDE */
	int missing;             /* LP_MISSING_ERROR (default) or LP_MISSING_SKIP */
	const char *train_split; /* the split LP_ALSO_EXCLUDE applies to; NULL: "train" */
} lp_annotated_opts;

typedef struct lp_annotated_split {
	const char *name;  /* the dataset's split (borrowed) */
	int64_t n;         /* its items */
	int32_t *labels;   /* [n] the label in effect: the decision's, then merged */
	uint8_t *keep;     /* [n] 1: in the split; 0: removed or excluded */
	int64_t *items;    /* [nitems] the items kept, ascending (0-based rows) */
	int64_t nitems;
	int64_t relabelled; /* items given another label by a decision */
	int64_t removed, excluded;
	int64_t merged;     /* items whose label a merge changed */
} lp_annotated_split;

typedef struct lp_annotated {
	size_t nsplits;
	lp_annotated_split *splits; /* in the dataset's split order */
	size_t nmerges;
	int32_t *from, *into; /* [nmerges] each merged class and the class it ends in */
	int64_t relabelled, removed, excluded, merged, missing; /* over every split */
	int also;             /* the option it was made with */
	char hash[65];        /* lp_review_state_hash of the decisions */
	char *source;         /* the archive's absolute path, or NULL (lp_annotated_new) */
	char *first_missing;  /* "SPLIT item NAME" of the first item not found, or NULL */
} lp_annotated;

/* The dataset ds with the decisions of state st applied; e[0..n-1] are the entries st was
 * replayed from (they say which items were decided on). o may be NULL (the defaults). */
int lp_annotated_new(lp_dataset *ds, const lp_annotation *e, size_t n, const lp_review_state *st,
		     const lp_annotated_opts *o, lp_annotated **out);
/* The same from a run archive: lp_annotations_read(run, no journal), lp_review_state_new,
 * lp_annotated_new; source = the archive's absolute path. An archive without /annotations
 * gives a result with no changes (and the hash of no decisions). */
int lp_annotated_from_archive(lp_dataset *ds, lp_archive *run, const lp_annotated_opts *o,
			      lp_annotated **out);
void lp_annotated_free(lp_annotated *a);
/* The split called name, or NULL. */
const lp_annotated_split *lp_annotated_split_get(const lp_annotated *a, const char *name);
/* Record on /dataset and /provenance/dataset of run (both must exist: lp_dataset_write
 * first): annotations_hash, annotations_source, annotations_also ("keep" / "exclude"),
 * annotations_relabelled, _removed, _excluded (int64), annotations_merged ("a>b, ..." as
 * class ids, "" none). Does not commit. */
int lp_annotated_write(lp_ctx *ctx, const lp_annotated *a, lp_archive *run);

#ifdef __cplusplus
}
#endif
#endif
