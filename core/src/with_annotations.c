/* with_annotations.c — a dataset and a review state to the labels and items the next run uses
 * (loupe/with_annotations.h): relabel, remove, merge, and the also-shown items excluded from
 * training on request. Items are found by split and name, through a name index per split. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/loupe.h"
#include "loupe/with_annotations.h"

#define W "with_annotations"

/* the rows of one split sorted by item name, for finding an annotation's item by name */
struct named {
	const char *name; /* the dataset's (borrowed) */
	int64_t row;
};

struct names {
	struct named *by_name; /* [n] */
	int64_t n;
	uint8_t *done;         /* [n] by row: its decision is applied */
};

struct build {
	lp_ctx *ctx;
	lp_dataset *ds;
	const lp_review_state *st;
	lp_annotated_opts o;
	lp_annotated *a;
	struct names *ix;   /* [a->nsplits] */
	int32_t *map;       /* [k] class -> the class it is merged into (itself if none) */
	size_t k;
	const char *where;  /* the archive, for messages: "" or "PATH: " */
};

static int cmp_named(const void *x, const void *y)
{
	return strcmp(((const struct named *)x)->name, ((const struct named *)y)->name);
}

static int index_split(struct build *b, lp_split *s, struct names *ix)
{
	ix->n = lp_split_count(s);
	ix->by_name = malloc(sizeof(*ix->by_name) * (size_t)(ix->n + 1));
	ix->done = calloc((size_t)ix->n + 1, 1);
	if (!ix->by_name || !ix->done)
		return lp_error(b->ctx, LP_ERR_NOMEM, W ": out of memory");
	for (int64_t i = 0; i < ix->n; i++) {
		lp_item_info it;
		int rc = lp_split_item(s, i, &it);
		if (rc)
			return rc;
		ix->by_name[i] = (struct named){ it.name, i };
	}
	qsort(ix->by_name, (size_t)ix->n, sizeof(*ix->by_name), cmp_named);
	return LP_OK;
}

static int64_t find_row(const struct names *ix, const char *name)
{
	struct named key = { name, -1 };
	const struct named *hit = bsearch(&key, ix->by_name, (size_t)ix->n, sizeof(key),
					  cmp_named);
	return hit ? hit->row : -1;
}

static size_t split_index(const lp_annotated *a, const char *name)
{
	for (size_t i = 0; i < a->nsplits; i++)
		if (strcmp(a->splits[i].name, name) == 0)
			return i;
	return a->nsplits;
}

static int new_splits(struct build *b)
{
	lp_annotated *a = b->a;

	a->nsplits = lp_dataset_split_count(b->ds);
	a->splits = calloc(a->nsplits + 1, sizeof(*a->splits));
	b->ix = calloc(a->nsplits + 1, sizeof(*b->ix));
	if (!a->splits || !b->ix)
		return lp_error(b->ctx, LP_ERR_NOMEM, W ": out of memory");
	for (size_t k = 0; k < a->nsplits; k++) {
		lp_split *s = lp_dataset_split_at(b->ds, k);
		lp_annotated_split *as = &a->splits[k];
		int rc;
		as->name = lp_split_name(s);
		as->n = lp_split_count(s);
		as->labels = malloc(sizeof(*as->labels) * (size_t)(as->n + 1));
		as->keep = malloc((size_t)as->n + 1);
		as->items = malloc(sizeof(*as->items) * (size_t)(as->n + 1));
		if (!as->labels || !as->keep || !as->items)
			return lp_error(b->ctx, LP_ERR_NOMEM, W ": out of memory");
		memset(as->keep, 1, (size_t)as->n + 1);
		if ((rc = index_split(b, s, &b->ix[k])))
			return rc;
		for (int64_t i = 0; i < as->n; i++) {
			lp_item_info it;
			lp_split_item(s, i, &it);
			as->labels[i] = it.label;
		}
	}
	return LP_OK;
}

/* the merges in force as a class map, chains followed; a cycle or a class out of range is an
 * error (the review never makes either, a hand-written journal might) */
static int merge_map(struct build *b)
{
	const int32_t *from, *into;
	size_t m = lp_review_state_merges(b->st, &from, &into);
	lp_annotated *a = b->a;

	if (!(b->map = malloc(sizeof(*b->map) * (b->k + 1))) ||
	    !(a->from = malloc(sizeof(*a->from) * (b->k + 1))) ||
	    !(a->into = malloc(sizeof(*a->into) * (b->k + 1))))
		return lp_error(b->ctx, LP_ERR_NOMEM, W ": out of memory");
	for (size_t c = 0; c < b->k; c++)
		b->map[c] = (int32_t)c;
	for (size_t i = 0; i < m; i++) {
		if (from[i] < 0 || (size_t)from[i] >= b->k || into[i] < 0 || (size_t)into[i] >= b->k)
			return lp_error(b->ctx, LP_ERR_FORMAT, W ": %sa merge of class %d into %d; "
					"the dataset %s has classes 0..%zu", b->where, (int)from[i],
					(int)into[i],
					lp_dataset_name(b->ds), b->k - 1);
		b->map[from[i]] = into[i];
	}
	for (size_t c = 0; c < b->k; c++) {
		int32_t t = (int32_t)c;
		for (size_t step = 0; b->map[t] != t; step++) {
			if (step > b->k)
				return lp_error(b->ctx, LP_ERR_FORMAT, W ": %sthe merges form a cycle "
						"through class %zu", b->where, c);
			t = b->map[t];
		}
		if (t != (int32_t)c) {
			a->from[a->nmerges] = (int32_t)c;
			a->into[a->nmerges++] = t;
		}
	}
	for (size_t i = 0; i < a->nmerges; i++)
		b->map[a->from[i]] = a->into[i];
	return LP_OK;
}

/* an item the dataset does not have: an error, or counted */
static int missing(struct build *b, const lp_annotation_item *it, const char *why)
{
	if (b->o.missing != LP_MISSING_SKIP)
		return lp_error(b->ctx, LP_ERR_NOTFOUND, W ": %sthe annotations name %s item "
				"%s (row %" PRId64 "), which the dataset %s does not have (%s)",
				b->where, it->split, it->name, it->item, lp_dataset_name(b->ds), why);
	if (!b->a->missing++) {
		size_t len = strlen(it->split) + strlen(it->name) + 8;
		if (!(b->a->first_missing = malloc(len)))
			return lp_error(b->ctx, LP_ERR_NOMEM, W ": out of memory");
		snprintf(b->a->first_missing, len, "%s item %s", it->split, it->name);
	}
	return LP_OK;
}

/* does the item's decision change what the dataset gives? */
static int decisive(const struct build *b, const lp_item_decision *d, const char *split)
{
	const char *train = b->o.train_split ? b->o.train_split : "train";
	return d->status == LP_DECISION_RELABEL || d->status == LP_DECISION_REMOVE ||
	       (d->n_also && b->o.also == LP_ALSO_EXCLUDE && strcmp(split, train) == 0);
}

static int apply_item(struct build *b, const lp_annotation *e, const lp_annotation_item *it)
{
	if (!it->split || !it->name)
		return lp_error(b->ctx, LP_ERR_FORMAT, W ": %sentry %" PRId64 " has an item "
				"without a split or name", b->where, e->seq);
	const lp_item_decision *d = lp_review_state_item(b->st, it->split, it->item);
	if (!decisive(b, d, it->split))
		return LP_OK;
	size_t k = split_index(b->a, it->split);
	if (k == b->a->nsplits)
		return missing(b, it, "no such split");
	int64_t row = find_row(&b->ix[k], it->name);
	if (row < 0)
		return missing(b, it, "no item of that name");
	lp_annotated_split *s = &b->a->splits[k];
	if (b->ix[k].done[row])
		return LP_OK;
	b->ix[k].done[row] = 1;
	if (it->cls >= 0 && it->cls != s->labels[row])
		return lp_error(b->ctx, LP_ERR_FORMAT, W ": %s%s item %s has label %d in the "
				"dataset %s but was annotated with label %d: not the same data?", b->where,
				it->split,
				it->name, (int)s->labels[row], lp_dataset_name(b->ds), (int)it->cls);
	if (d->status == LP_DECISION_REMOVE) {
		s->keep[row] = 0;
		s->removed++;
	} else if (d->status == LP_DECISION_RELABEL) {
		if (d->label < 0 || (size_t)d->label >= b->k)
			return lp_error(b->ctx, LP_ERR_FORMAT, W ": %sentry %" PRId64 " relabels "
					"%s item %s to class %d; the dataset has classes 0..%zu",
					b->where, d->seq, it->split, it->name, (int)d->label, b->k - 1);
		s->relabelled += d->label != s->labels[row];
		s->labels[row] = d->label;
	}
	if (s->keep[row] && d->n_also && b->o.also == LP_ALSO_EXCLUDE &&
	    strcmp(it->split, b->o.train_split ? b->o.train_split : "train") == 0) {
		s->keep[row] = 0;
		s->excluded++;
	}
	return LP_OK;
}

/* merges over every label, the kept items listed, the totals */
static void finish(struct build *b)
{
	lp_annotated *a = b->a;
	for (size_t k = 0; k < a->nsplits; k++) {
		lp_annotated_split *s = &a->splits[k];
		for (int64_t i = 0; i < s->n; i++) {
			int32_t to = b->map[s->labels[i]];
			s->merged += to != s->labels[i];
			s->labels[i] = to;
			if (s->keep[i])
				s->items[s->nitems++] = i;
		}
		a->relabelled += s->relabelled;
		a->removed += s->removed;
		a->excluded += s->excluded;
		a->merged += s->merged;
	}
}

static int annotate(lp_dataset *ds, const lp_annotation *e, size_t n, const lp_review_state *st,
		    const lp_annotated_opts *o, const char *where, lp_annotated **out)
{
	struct build b = { .ctx = lp_dataset_ctx(ds), .ds = ds, .st = st, .where = where };
	int rc;

	*out = NULL;
	if (o)
		b.o = *o;
	b.k = lp_dataset_classes(ds, NULL);
	if (!(b.a = calloc(1, sizeof(*b.a))))
		return lp_error(b.ctx, LP_ERR_NOMEM, W ": out of memory");
	b.a->also = b.o.also;
	lp_review_state_hash(st, b.a->hash);
	if ((rc = new_splits(&b)) || (rc = merge_map(&b)))
		goto out_free;
	for (size_t i = 0; i < n && !rc; i++)
		for (size_t j = 0; j < e[i].n_items && !rc; j++)
			rc = apply_item(&b, &e[i], &e[i].items[j]);
	if (rc)
		goto out_free;
	finish(&b);
	*out = b.a;
	b.a = NULL;
out_free:
	for (size_t k = 0; b.ix && k < lp_dataset_split_count(ds); k++) {
		free(b.ix[k].by_name);
		free(b.ix[k].done);
	}
	free(b.ix);
	free(b.map);
	lp_annotated_free(b.a);
	return rc;
}

int lp_annotated_new(lp_dataset *ds, const lp_annotation *e, size_t n, const lp_review_state *st,
		     const lp_annotated_opts *o, lp_annotated **out)
{
	return annotate(ds, e, n, st, o, "", out);
}

int lp_annotated_from_archive(lp_dataset *ds, lp_archive *run, const lp_annotated_opts *o,
			      lp_annotated **out)
{
	lp_ctx *ctx = lp_dataset_ctx(ds);
	lp_annotation *e = NULL;
	lp_review_state *st = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	if ((rc = lp_annotations_read(ctx, run, NULL, &e, &n)))
		return lp_error_wrap(ctx, rc, W); /* the store's message names the file */
	if ((rc = lp_review_state_new(ctx, e, n, &st))) {
		lp_error_wrap(ctx, rc, W);
		goto out_free_entries;
	}
	size_t len = strlen(lp_archive_path(run)) + 3;
	char *where = malloc(len);
	if (!where) {
		rc = lp_error(ctx, LP_ERR_NOMEM, W ": out of memory");
		goto out_free_state;
	}
	snprintf(where, len, "%s: ", lp_archive_path(run));
	rc = annotate(ds, e, n, st, o, where, out);
	free(where);
	if (rc)
		goto out_free_state;
	char *abs = realpath(lp_archive_path(run), NULL); /* provenance: where, from anywhere */
	(*out)->source = abs ? abs : strdup(lp_archive_path(run));
	if (!(*out)->source) {
		lp_annotated_free(*out);
		*out = NULL;
		rc = lp_error(ctx, LP_ERR_NOMEM, W ": out of memory");
	}
out_free_state:
	lp_review_state_free(st);
out_free_entries:
	lp_annotations_free(e, n);
	return rc;
}

void lp_annotated_free(lp_annotated *a)
{
	if (!a)
		return;
	for (size_t k = 0; a->splits && k < a->nsplits; k++) {
		free(a->splits[k].labels);
		free(a->splits[k].keep);
		free(a->splits[k].items);
	}
	free(a->splits);
	free(a->from);
	free(a->into);
	free(a->source);
	free(a->first_missing);
	free(a);
}

const lp_annotated_split *lp_annotated_split_get(const lp_annotated *a, const char *name)
{
	size_t k = a && name ? split_index(a, name) : 0;
	return a && name && k < a->nsplits ? &a->splits[k] : NULL;
}

static int write_attrs(const lp_annotated *a, lp_archive *run, const char *obj,
		       const char *merged)
{
	int rc;
	if ((rc = lp_archive_attr_string(run, obj, "annotations_hash", a->hash)) ||
	    (rc = lp_archive_attr_string(run, obj, "annotations_source",
					 a->source ? a->source : "")) ||
	    (rc = lp_archive_attr_string(run, obj, "annotations_also",
					 a->also == LP_ALSO_EXCLUDE ? "exclude" : "keep")) ||
	    (rc = lp_archive_attr_int(run, obj, "annotations_relabelled", a->relabelled)) ||
	    (rc = lp_archive_attr_int(run, obj, "annotations_removed", a->removed)) ||
	    (rc = lp_archive_attr_int(run, obj, "annotations_excluded", a->excluded)) ||
	    (rc = lp_archive_attr_string(run, obj, "annotations_merged", merged)))
		return rc;
	return LP_OK;
}

int lp_annotated_write(lp_ctx *ctx, const lp_annotated *a, lp_archive *run)
{
	char *merged = malloc(24 * a->nmerges + 1);
	size_t len = 0;
	int rc;

	if (!merged)
		return lp_error(ctx, LP_ERR_NOMEM, W ": out of memory");
	merged[0] = 0;
	for (size_t i = 0; i < a->nmerges; i++)
		len += (size_t)sprintf(merged + len, "%s%d>%d", i ? ", " : "", (int)a->from[i],
				       (int)a->into[i]);
	rc = write_attrs(a, run, "/dataset", merged);
	if (!rc)
		rc = write_attrs(a, run, "/provenance/dataset", merged);
	free(merged);
	return rc;
}
