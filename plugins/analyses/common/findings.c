/* findings.c — see findings.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"

#define host an_host

struct names {
	char **v;
	size_t n;
	int bad;
};

static void on_child(void *user, const char *name, int kind)
{
	struct names *s = user;
	char **v;

	if (kind != 1 || s->bad)
		return;
	if (!(v = realloc(s->v, (s->n + 1) * sizeof(*v))) || !(v[s->n] = strdup(name))) {
		s->v = v ? v : s->v;
		s->bad = 1;
		return;
	}
	s->v = v;
	s->n++;
}

int lp_list_groups(lp_ctx *ctx, lp_archive *a, const char *who, const char *group,
		   char ***names, size_t *n)
{
	struct names s = {NULL, 0, 0};
	int rc = host->archive_list(a, group, on_child, &s);

	if (!rc && s.bad)
		rc = host->error(ctx, LP_ERR_NOMEM, "%s: out of memory", who);
	if (rc) {
		lp_names_free(s.v, s.n);
		s.v = NULL;
		s.n = 0;
	}
	*names = s.v;
	*n = s.n;
	return rc;
}

void lp_names_free(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int lp_inputs_read(lp_ctx *ctx, lp_archive *a, const char *who, lp_inputs *in)
{
	int kind = 0, rc;

	memset(in, 0, sizeof(*in));
	if ((rc = host->archive_exists(a, "/dataset/classes", &kind)))
		return rc;
	if (kind != 2)
		return host->error(ctx, LP_ERR_NOTFOUND,
				   "%s: the archive has no /dataset/classes "
				   "(the class names: ds:write(run), or see docs/ARCHIVE.md for "
				   "archives written elsewhere)",
				   who);
	if ((rc = host->archive_read_strings(a, "/dataset/classes", &in->nclasses, &in->classes)))
		return rc;
	if (!in->nclasses)
		return host->error(ctx, LP_ERR_FORMAT, "%s: /dataset/classes is empty", who);
	if ((rc = host->archive_exists(a, "/predictions", &kind)))
		return rc;
	if (kind == 1 &&
	    (rc = lp_list_groups(ctx, a, who, "/predictions", &in->splits, &in->nsplits)))
		return rc;
	if (!in->nsplits)
		return host->error(
		    ctx, LP_ERR_NOTFOUND,
		    "%s: the archive has no predictions (no "
		    "group under /predictions: run loupe.predict(net, split, { archive "
		    "= run }) first)",
		    who);
	qsort(in->splits, in->nsplits, sizeof(*in->splits), by_name);
	return LP_OK;
}

void lp_inputs_free(lp_inputs *in)
{
	host->free(in->classes);
	lp_names_free(in->splits, in->nsplits);
	memset(in, 0, sizeof(*in));
}

int lp_check_probs(lp_ctx *ctx, const char *who, const char *path, int64_t row, const float *p,
		   int64_t k)
{
	double sum = 0;

	for (int64_t c = 0; c < k; c++) {
		if (!(p[c] >= 0) || isinf(p[c]))
			return host->error(ctx, LP_ERR_FORMAT,
					   "%s: %s row %lld, class %lld: %g is not "
					   "a probability",
					   who, path, (long long)row, (long long)c, (double)p[c]);
		sum += p[c];
	}
	if (fabs(sum - 1.0) > 1e-3)
		return host->error(ctx, LP_ERR_FORMAT,
				   "%s: %s row %lld sums to %.6g, not 1 (softmax "
				   "probabilities are needed)",
				   who, path, (long long)row, sum);
	return LP_OK;
}

int lp_read_labels(lp_ctx *ctx, lp_archive *a, const char *who, const char *path, int64_t n,
		   int64_t k, int32_t *labels)
{
	int64_t dims[8];
	int dtype, rank, rc = host->archive_info(a, path, &dtype, &rank, dims);

	if (rc)
		return rc;
	if (rank != 1 || dims[0] != n)
		return host->error(ctx, LP_ERR_SHAPE,
				   "%s: %s has %lld rows; the probabilities have "
				   "%lld",
				   who, path, (long long)(rank ? dims[0] : 0), (long long)n);
	if ((rc = host->archive_read(a, path, LP_I32, labels, sizeof(int32_t) * (size_t)n)))
		return rc;
	for (int64_t i = 0; i < n; i++)
		if (labels[i] < 0 || labels[i] >= k)
			return host->error(ctx, LP_ERR_FORMAT,
					   "%s: %s row %lld is %d, not a class "
					   "(0 .. %lld)",
					   who, path, (long long)i, labels[i], (long long)k - 1);
	return LP_OK;
}

void lp_labels_path(lp_archive *a, const char *g, char *path, size_t size)
{
	int kind = 0;
	size_t len = strlen(g);

	snprintf(path, size, "/predictions/%s/labels", g);
	if (host->archive_exists(a, path, &kind) == LP_OK && kind == 2)
		return;
	if (len > 9 && strcmp(g + len - 9, "_crossval") == 0)
		len -= 9;
	snprintf(path, size, "/dataset/%.*s/labels", (int)len, g);
}

static int crossval(const char *g)
{
	size_t len = strlen(g);
	return len > 9 && strcmp(g + len - 9, "_crossval") == 0;
}

int lp_group_superseded(const lp_inputs *in, const char *g)
{
	char twin[300];

	snprintf(twin, sizeof twin, "%s_crossval", g);
	for (size_t i = 0; i < in->nsplits; i++)
		if (strcmp(in->splits[i], twin) == 0)
			return 1;
	return 0;
}

void lp_group_split(const char *g, char *split, size_t size)
{
	snprintf(split, size, "%.*s", (int)(strlen(g) - (crossval(g) ? 9 : 0)), g);
}

int lp_group_in_sample(const char *g)
{
	return strcmp(g, "train") == 0;
}

void lp_findings_init(lp_findings *f)
{
	memset(f, 0, sizeof(*f));
}

static char *dup(const char *s)
{
	return strdup(s ? s : "");
}

int lp_findings_add(lp_findings *f, const lp_finding *row)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 64;
		lp_finding *r = realloc(f->rows, cap * sizeof(*r));
		if (!r)
			return LP_ERR_NOMEM;
		f->rows = r;
		f->cap = cap;
	}
	lp_finding *r = &f->rows[f->n];
	*r = *row;
	r->kind = dup(row->kind);
	r->split = dup(row->split);
	r->other_split = dup(row->other_split);
	r->text = dup(row->text);
	if (!r->kind || !r->split || !r->other_split || !r->text) {
		free((char *)r->kind), free((char *)r->split), free((char *)r->other_split);
		free((char *)r->text);
		return LP_ERR_NOMEM;
	}
	f->n++;
	return LP_OK;
}

int lp_findings_has(const lp_findings *f, const char *split, int64_t key)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->rows[i].key == key && strcmp(f->rows[i].split, split) == 0)
			return 1;
	return 0;
}

static int by_score(const void *a, const void *b)
{
	const lp_finding *x = a, *y = b;
	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return x->key < y->key ? -1 : x->key > y->key; /* then the order they were added */
}

#define COLUMN(name, T, field, dtype)                                                              \
	do {                                                                                       \
		T *col_ = malloc(sizeof(T) * (n ? n : 1));                                         \
		if (!col_)                                                                         \
			return LP_ERR_NOMEM;                                                       \
		for (size_t i = 0; i < n; i++)                                                     \
			col_[i] = (T)f->rows[i].field;                                             \
		snprintf(path, sizeof path, "%s/findings/" name, group);                           \
		rc = host->archive_write(a, path, dtype, 1, dims, axes, col_);                     \
		free(col_);                                                                        \
		if (rc)                                                                            \
			return rc;                                                                 \
	} while (0)

#define STRINGS(name, field)                                                                       \
	do {                                                                                       \
		const char **col_ = malloc(sizeof(char *) * (n ? n : 1));                          \
		if (!col_)                                                                         \
			return LP_ERR_NOMEM;                                                       \
		for (size_t i = 0; i < n; i++)                                                     \
			col_[i] = f->rows[i].field;                                                \
		snprintf(path, sizeof path, "%s/findings/" name, group);                           \
		rc = host->archive_write_strings(a, path, n, col_, "finding");                     \
		free(col_);                                                                        \
		if (rc)                                                                            \
			return rc;                                                                 \
	} while (0)

int lp_findings_write(lp_findings *f, lp_archive *a, const char *group)
{
	size_t n = f->n;
	int64_t dims[1] = {(int64_t)n};
	const char *axes[] = {"finding"};
	char path[512];
	int rc;

	for (size_t i = 0; i < n; i++)
		f->rows[i].key = (int64_t)i; /* keys were the plugin's; done with them */
	if (n)
		qsort(f->rows, n, sizeof(*f->rows), by_score);
	STRINGS("kind", kind);
	STRINGS("split", split);
	COLUMN("item", int64_t, item, LP_I64);
	COLUMN("class", int32_t, cls, LP_I32);
	COLUMN("other_class", int32_t, other_class, LP_I32);
	STRINGS("other_split", other_split);
	COLUMN("other_item", int64_t, other_item, LP_I64);
	COLUMN("score", float, score, LP_F32);
	STRINGS("text", text);
	snprintf(path, sizeof path, "%s/findings", group);
	return host->archive_attr_int(a, path, "count", (int64_t)n);
}

void lp_findings_free(lp_findings *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free((char *)f->rows[i].kind);
		free((char *)f->rows[i].split);
		free((char *)f->rows[i].other_split);
		free((char *)f->rows[i].text);
	}
	free(f->rows);
	lp_findings_init(f);
}

int lp_run_groups(lp_ctx *ctx, void *state, const lp_analysis_io *io, const char *who, int all,
		  lp_group_fn fn)
{
	lp_inputs in;
	lp_findings f;
	int rc = lp_inputs_read(ctx, io->archive, who, &in);

	lp_findings_init(&f);
	for (size_t i = 0; !rc && i < in.nsplits; i++)
		if (all || !lp_group_superseded(&in, in.splits[i]))
			rc = fn(ctx, state, io, &in, in.splits[i], &f);
	if (!rc)
		rc = lp_findings_write(&f, io->archive, io->group);
	lp_findings_free(&f);
	lp_inputs_free(&in);
	return rc;
}
