/*
 * annotations.c — the journal folded into the archive's /annotations, and read back
 * (loupe/annotations.h, docs/REVIEW.md "Where decisions go").
 *
 *   size_t added;
 *   if (lp_annotations_fold(ctx, "runs/x.h5", "runs/x.h5.journal", &added)) return fail(ctx);
 *   lp_annotation *e; size_t n;
 *   lp_annotations_read(ctx, run, "runs/x.h5.journal", &e, &n);   // archive + journal above it
 *   lp_annotations_free(e, n);
 *
 * /annotations is twelve extendible 1-D datasets along axis "annotation", one row per item of
 * an entry (one row with item -1, split and name "" for merge, unmerge, undo and redo; its
 * `class` is the class merged). Folding appends the entries whose seq is above the largest
 * there and commits, or changes nothing (the archive is not even rewritten) when there are
 * none. The archive layer has no float64 dtype, so `time` is int64 milliseconds since the
 * epoch (attribute `unit`), which the journal's times are rounded to when written.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entries.h"

enum { C_SEQ, C_TIME, C_ITEM, C_REF, C_CLASS, C_LABEL, C_ACTION, C_SPLIT, C_NAME, C_TAG, C_NOTE,
       C_ANNOTATOR, NCOLS };

static const struct {
	const char *path;
	int dtype; /* 0: strings */
} cols[NCOLS] = {
	{ "/annotations/seq", LP_I64 },    { "/annotations/time", LP_I64 },
	{ "/annotations/item", LP_I64 },   { "/annotations/ref", LP_I64 },
	{ "/annotations/class", LP_I32 },  { "/annotations/label", LP_I32 },
	{ "/annotations/action", 0 },      { "/annotations/split", 0 },
	{ "/annotations/name", 0 },        { "/annotations/tag", 0 },
	{ "/annotations/note", 0 },        { "/annotations/annotator", 0 },
};

#define AXIS "annotation"
#define I64(t, k) ((int64_t *)(t)->col[k])
#define I32(t, k) ((int32_t *)(t)->col[k])
#define STR(t, k) ((const char **)(t)->col[k])

/* The columns, each one malloc'd array (strings: pointers, borrowed when writing; one block
 * from lp_archive_read_strings when reading). */
struct table {
	size_t n;
	void *col[NCOLS];
};

static void table_free(struct table *t)
{
	for (int k = 0; k < NCOLS; k++)
		free(t->col[k]);
}

static size_t col_size(int k)
{
	return cols[k].dtype == LP_I64 ? 8 : cols[k].dtype == LP_I32 ? 4 : sizeof(char *);
}

static int table_alloc(struct table *t, size_t n)
{
	memset(t, 0, sizeof(*t));
	t->n = n;
	for (int k = 0; k < NCOLS; k++)
		if (!(t->col[k] = calloc(n ? n : 1, col_size(k))))
			return -1;
	return 0;
}

/* ---- what /annotations holds ----------------------------------------------------------------- */

/* The rows in /annotations (0 when it has none) after checking that all columns are there,
 * 1-D and of one length. */
static int count_rows(lp_ctx *ctx, lp_archive *a, size_t *rows)
{
	int64_t dims[LP_MAX_RANK], first = -1;
	int kind, present = 0, dtype, rank, ret = LP_OK;

	*rows = 0;
	for (int k = 0; k < NCOLS && !ret; k++)
		if (!(ret = lp_archive_exists(a, cols[k].path, &kind)))
			present += kind == LP_NODE_DATASET;
	if (ret || present == 0)
		return ret;
	for (int k = 0; k < NCOLS; k++) {
		if ((ret = lp_archive_exists(a, cols[k].path, &kind)) ||
		    (kind == LP_NODE_DATASET &&
		     (ret = lp_archive_info(a, cols[k].path, &dtype, &rank, dims))))
			return ret;
		if (kind != LP_NODE_DATASET || rank != 1 || (dtype == 0) != (cols[k].dtype == 0))
			return lp_error(ctx, LP_ERR_FORMAT, "annotations: %s: %s is missing or not "
					"a 1-D %s column", lp_archive_path(a), cols[k].path,
					cols[k].dtype ? "numeric" : "string");
		if (first >= 0 && dims[0] != first)
			return lp_error(ctx, LP_ERR_FORMAT, "annotations: %s: %s has %lld rows, "
					"%s %lld", lp_archive_path(a), cols[k].path,
					(long long)dims[0], cols[0].path, (long long)first);
		first = dims[0];
	}
	*rows = (size_t)first;
	return LP_OK;
}

static int read_table(lp_ctx *ctx, lp_archive *a, struct table *t)
{
	size_t rows, n;
	int ret = count_rows(ctx, a, &rows);

	memset(t, 0, sizeof(*t));
	for (int k = 0; !ret && rows && k < NCOLS; k++) {
		if (cols[k].dtype == 0) {
			ret = lp_archive_read_strings(a, cols[k].path, &n, (char ***)&t->col[k]);
			if (!ret && n != rows)
				ret = lp_error(ctx, LP_ERR_FORMAT, "annotations: %s: %s changed "
					       "length", lp_archive_path(a), cols[k].path);
			continue;
		}
		if (!(t->col[k] = malloc(rows ? rows * col_size(k) : 1)))
			return lp_error(ctx, LP_ERR_NOMEM, "annotations: out of memory");
		ret = lp_archive_read(a, cols[k].path, cols[k].dtype, t->col[k],
				      rows * col_size(k));
	}
	t->n = rows;
	return ret;
}

/* ---- folding --------------------------------------------------------------------------------- */

/* The rows of entries e[0..n-1] (string columns borrow from them). */
static int entries_table(const lp_annotation *e, size_t n, struct table *t)
{
	size_t rows = 0, r = 0;

	for (size_t i = 0; i < n; i++)
		rows += e[i].n_items ? e[i].n_items : 1;
	if (table_alloc(t, rows))
		return -1;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < (e[i].n_items ? e[i].n_items : 1); k++, r++) {
			const lp_annotation_item *it = e[i].n_items ? &e[i].items[k] : NULL;

			I64(t, C_SEQ)[r] = e[i].seq;
			I64(t, C_TIME)[r] = llround(e[i].time * 1000.0);
			I64(t, C_ITEM)[r] = it ? it->item : -1;
			I64(t, C_REF)[r] = e[i].ref;
			I32(t, C_CLASS)[r] = it ? it->cls : e[i].cls;
			I32(t, C_LABEL)[r] = e[i].label;
			STR(t, C_ACTION)[r] = e[i].action;
			STR(t, C_SPLIT)[r] = it ? it->split : "";
			STR(t, C_NAME)[r] = it ? it->name : "";
			STR(t, C_TAG)[r] = e[i].tag;
			STR(t, C_NOTE)[r] = e[i].note;
			STR(t, C_ANNOTATOR)[r] = e[i].annotator;
		}
	return 0;
}

static int append_table(lp_archive *a, const struct table *t, const char *journal_path)
{
	int ret = LP_OK;

	for (int k = 0; k < NCOLS && !ret; k++) {
		const char *const *strs = t->col[k];

		ret = cols[k].dtype ? lp_archive_append(a, cols[k].path, cols[k].dtype, t->n,
							t->col[k], AXIS)
				    : lp_archive_append_strings(a, cols[k].path, t->n, strs, AXIS);
	}
	if (!ret)
		ret = lp_archive_attr_string(a, "/annotations", "journal", journal_path);
	if (!ret)
		ret = lp_archive_attr_string(a, cols[C_TIME].path, "unit",
					     "milliseconds since 1970-01-01T00:00:00Z");
	return ret;
}

/* The largest seq in /annotations (0 when empty). */
static int max_seq(lp_ctx *ctx, lp_archive *a, int64_t *max)
{
	size_t rows;
	int64_t *seq;
	int ret = count_rows(ctx, a, &rows);

	*max = 0;
	if (ret || !rows)
		return ret;
	if (!(seq = malloc(rows * sizeof(*seq))))
		return lp_error(ctx, LP_ERR_NOMEM, "annotations: out of memory");
	ret = lp_archive_read(a, cols[C_SEQ].path, LP_I64, seq, rows * sizeof(*seq));
	for (size_t i = 0; !ret && i < rows; i++)
		*max = seq[i] > *max ? seq[i] : *max;
	free(seq);
	return ret;
}

int lp_annotations_fold(lp_ctx *ctx, const char *run_path, const char *journal_path,
			size_t *added)
{
	lp_annotation *e = NULL;
	struct table t = { 0 };
	lp_archive *a = NULL;
	size_t n = 0, first = 0;
	int64_t max = 0;
	int ret;

	*added = 0;
	ret = lp_journal_read(ctx, journal_path, &e, &n);
	if (!ret)
		ret = lp_archive_open(ctx, run_path, 1, &a);
	if (!ret)
		ret = max_seq(ctx, a, &max);
	while (!ret && first < n && e[first].seq <= max)
		first++;
	if (ret || first == n) /* nothing new: the archive stays as it is */
		goto out_discard;
	if (entries_table(e + first, n - first, &t)) {
		ret = lp_error(ctx, LP_ERR_NOMEM, "annotations: out of memory folding %s",
			       journal_path);
		goto out_discard;
	}
	ret = append_table(a, &t, journal_path);
	if (ret)
		goto out_discard;
	ret = lp_archive_close(a);
	if (!ret)
		*added = t.n;
	goto out_free;
out_discard:
	lp_archive_discard(a);
out_free:
	table_free(&t);
	lp_annotations_free(e, n);
	return ret;
}

/* ---- reading back ---------------------------------------------------------------------------- */

/* Rows r0..r1-1 (one seq) as an entry copied into *out; items: room for r1 - r0. */
static int row_entry(lp_ctx *ctx, const char *file, const struct table *t, size_t r0,
		     size_t r1, lp_annotation_item *items, lp_annotation *out)
{
	lp_annotation e = {
		.seq = I64(t, C_SEQ)[r0], .time = (double)I64(t, C_TIME)[r0] / 1000.0,
		.action = STR(t, C_ACTION)[r0], .items = items, .cls = -1,
		.label = I32(t, C_LABEL)[r0], .tag = STR(t, C_TAG)[r0], .note = STR(t, C_NOTE)[r0],
		.annotator = STR(t, C_ANNOTATOR)[r0], .ref = I64(t, C_REF)[r0],
	};
	char why[256];

	if (r1 - r0 == 1 && I64(t, C_ITEM)[r0] == -1)
		e.cls = I32(t, C_CLASS)[r0];
	else
		e.n_items = r1 - r0;
	for (size_t r = r0; r < r1 && e.n_items; r++) {
		items[r - r0] = (lp_annotation_item){ STR(t, C_SPLIT)[r], I64(t, C_ITEM)[r],
						      STR(t, C_NAME)[r], I32(t, C_CLASS)[r] };
		if (strcmp(STR(t, C_ACTION)[r], e.action) != 0)
			return lp_error(ctx, LP_ERR_FORMAT, "annotations: %s: /annotations rows "
					"%zu and %zu of seq %lld name different actions", file, r0,
					r, (long long)e.seq);
	}
	if (lprv_entry_check(&e, why, sizeof why))
		return lp_error(ctx, LP_ERR_FORMAT, "annotations: %s: /annotations rows %zu..%zu "
				"(seq %lld): %s", file, r0, r1 - 1, (long long)e.seq, why);
	if (lprv_entry_copy(&e, out))
		return lp_error(ctx, LP_ERR_NOMEM, "annotations: out of memory");
	return LP_OK;
}

/* The table's rows regrouped into entries: *out has room for t->n entries. */
static int table_entries(lp_ctx *ctx, const char *file, const struct table *t,
			 lp_annotation *out, size_t *n)
{
	lp_annotation_item *items = malloc((t->n ? t->n : 1) * sizeof(*items));
	size_t r0 = 0, r1;
	int ret = LP_OK;

	*n = 0;
	if (!items)
		return lp_error(ctx, LP_ERR_NOMEM, "annotations: out of memory");
	for (; !ret && r0 < t->n; r0 = r1) {
		for (r1 = r0 + 1; r1 < t->n && I64(t, C_SEQ)[r1] == I64(t, C_SEQ)[r0]; r1++)
			;
		if (*n && I64(t, C_SEQ)[r0] <= out[*n - 1].seq)
			ret = lp_error(ctx, LP_ERR_FORMAT, "annotations: %s: /annotations/seq row "
				       "%zu: seq %lld after %lld", file, r0,
				       (long long)I64(t, C_SEQ)[r0], (long long)out[*n - 1].seq);
		else if (!(ret = row_entry(ctx, file, t, r0, r1, items, &out[*n])))
			(*n)++;
	}
	free(items);
	return ret;
}

/* Append the journal's entries above the archive's to *e (n of them). */
static int add_journal(lp_ctx *ctx, const char *journal_path, lp_annotation **e, size_t *n)
{
	lp_annotation *j = NULL, *all;
	size_t nj = 0, first = 0;
	int64_t max = *n ? (*e)[*n - 1].seq : 0;
	int ret = lp_journal_read(ctx, journal_path, &j, &nj);

	if (ret)
		return ret;
	while (first < nj && j[first].seq <= max)
		first++;
	all = realloc(*e, (*n + nj - first + 1) * sizeof(*all));
	if (!all) {
		lp_annotations_free(j, nj);
		return lp_error(ctx, LP_ERR_NOMEM, "annotations: out of memory");
	}
	if (nj > first) /* their blocks move over */
		memcpy(all + *n, j + first, (nj - first) * sizeof(*all));
	lprv_entries_clear(j, first);
	free(j);
	*e = all;
	*n += nj - first;
	return LP_OK;
}

int lp_annotations_read(lp_ctx *ctx, lp_archive *run, const char *journal_path,
			lp_annotation **out, size_t *n)
{
	struct table t;
	lp_annotation *e;
	int ret = read_table(ctx, run, &t);

	*out = NULL;
	*n = 0;
	if (ret) {
		table_free(&t);
		return ret;
	}
	e = calloc(t.n ? t.n : 1, sizeof(*e));
	if (!e)
		ret = lp_error(ctx, LP_ERR_NOMEM, "annotations: out of memory");
	else
		ret = table_entries(ctx, lp_archive_path(run), &t, e, n);
	table_free(&t);
	if (!ret && journal_path)
		ret = add_journal(ctx, journal_path, &e, n);
	if (ret) {
		lp_annotations_free(e, *n);
		*n = 0;
		return ret;
	}
	*out = e;
	return LP_OK;
}

int lp_annotations_load(lp_ctx *ctx, lp_archive *run, const char *journal_path,
			lp_review_state **out)
{
	lp_annotation *e;
	size_t n;
	int ret = lp_annotations_read(ctx, run, journal_path, &e, &n);

	*out = NULL;
	if (ret)
		return ret;
	ret = lp_review_state_new(ctx, e, n, out);
	lp_annotations_free(e, n);
	return ret;
}
