/* confusion.c — the `confusion` analysis: per split of /predictions, the confusion matrix,
 * per-class precision / recall / F1, top-1/3/5 accuracy, and the most confused class pairs as
 * findings ("12 of 80 'video store' images are predicted 'book store'").
 *
 * Reads /dataset/classes, /predictions/<split>/probs [item, class] and the labels predicted
 * against (lp_labels_path: /predictions/<split>/labels, else /dataset/<split>/labels). Checks what
 * it reads: probabilities finite, >= 0, rows summing to 1 (within 1e-3), labels in range; an error
 * names the dataset and the row. A split with no rows gives empty tables. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"

const lp_host *an_host;
#define host an_host

#define ROWS 4096 /* probabilities are read this many rows at a time */

struct state {
	int64_t top;
};

struct split {
	const char *name;
	int64_t n, k;
	int32_t *labels;
	int64_t *matrix; /* [true, predicted] */
	int64_t hits[3]; /* top-1, top-3, top-5 */
};

static int init(lp_ctx *ctx, void *st, const lp_params *p)
{
	struct state *s = st;
	s->top = host->param_int(p, "top");
	if (s->top < 0 || s->top > 1000000)
		return host->error(ctx, LP_ERR_ARG,
				   "confusion: parameter 'top' = %lld is out of "
				   "range (0 .. 1000000)",
				   (long long)s->top);
	return LP_OK;
}

/* one row, checked, counted into the matrix and the top-k hits */
static int count_row(lp_ctx *ctx, struct split *sp, const char *path, int64_t row, const float *p)
{
	int32_t y = sp->labels[row];
	int64_t best = 0, above = 0;
	int rc = lp_check_probs(ctx, "confusion", path, row, p, sp->k);

	if (rc)
		return rc;
	for (int64_t c = 0; c < sp->k; c++) {
		if (p[c] > p[best])
			best = c;
		above += p[c] > p[y];
	}
	sp->matrix[(int64_t)y * sp->k + best]++;
	sp->hits[0] += above < 1;
	sp->hits[1] += above < 3;
	sp->hits[2] += above < 5;
	return LP_OK;
}

static int count_split(lp_ctx *ctx, lp_archive *a, struct split *sp)
{
	char path[256];
	float *buf;
	int rc = LP_OK;

	snprintf(path, sizeof path, "/predictions/%s/probs", sp->name);
	if (!(buf = malloc(sizeof(float) * (size_t)(ROWS * sp->k))))
		return host->error(ctx, LP_ERR_NOMEM, "confusion: out of memory");
	for (int64_t r0 = 0; !rc && r0 < sp->n; r0 += ROWS) {
		int64_t m = sp->n - r0 < ROWS ? sp->n - r0 : ROWS;
		rc = host->archive_read_rows(a, path, LP_F32, r0, m, buf,
					     sizeof(float) * (size_t)(m * sp->k));
		for (int64_t i = 0; !rc && i < m; i++)
			rc = count_row(ctx, sp, path, r0 + i, buf + i * sp->k);
	}
	free(buf);
	return rc;
}

/* per class: precision, recall, F1, support; and the split's accuracies */
static int write_split(lp_archive *a, const char *group, const struct split *sp)
{
	int64_t k = sp->k, dims[2] = {k, k};
	float *pr = calloc((size_t)(3 * k + 1), sizeof(float));
	int64_t *support = calloc((size_t)k + 1, sizeof(int64_t));
	const char *axes2[] = {"class", "predicted"}, *axes1[] = {"class"};
	char path[512];
	int rc = pr && support ? LP_OK : LP_ERR_NOMEM;

	for (int64_t c = 0; !rc && c < k; c++) {
		int64_t tp = sp->matrix[c * k + c], col = 0;
		for (int64_t j = 0; j < k; j++) {
			support[c] += sp->matrix[c * k + j];
			col += sp->matrix[j * k + c];
		}
		float prec = col ? (float)tp / (float)col : 0,
		      rec = support[c] ? (float)tp / (float)support[c] : 0;
		pr[c] = prec, pr[k + c] = rec;
		pr[2 * k + c] = prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0;
	}
#define OUT(leaf, dt, rank, d, ax, data)                                                           \
	if (!rc) {                                                                                 \
		snprintf(path, sizeof path, "%s/%s/" leaf, group, sp->name);                       \
		rc = host->archive_write(a, path, dt, rank, d, ax, data);                          \
	}
	OUT("matrix", LP_I64, 2, dims, axes2, sp->matrix)
	OUT("precision", LP_F32, 1, dims, axes1, pr)
	OUT("recall", LP_F32, 1, dims, axes1, pr + k)
	OUT("f1", LP_F32, 1, dims, axes1, pr + 2 * k)
	OUT("support", LP_I64, 1, dims, axes1, support)
#undef OUT
	snprintf(path, sizeof path, "%s/%s", group, sp->name);
	static const char *const top[] = {"top1", "top3", "top5"};
	for (int t = 0; !rc && t < 3; t++)
		rc = host->archive_attr_number(a, path, top[t],
					       sp->n ? (double)sp->hits[t] / (double)sp->n : 0.0);
	if (!rc)
		rc = host->archive_attr_int(a, path, "count", sp->n);
	free(pr);
	free(support);
	return rc;
}

/* the most confused pairs of a split (true a, predicted b, a != b), largest count first */
static int pairs(lp_findings *f, const struct split *sp, const char *const *classes, int64_t top)
{
	int64_t k = sp->k;
	for (int64_t t = 0; t < top; t++) {
		int64_t best = -1, count = 0;
		for (int64_t i = 0; i < k * k; i++)
			if (i / k != i % k && sp->matrix[i] > count &&
			    !lp_findings_has(f, sp->name, i))
				best = i, count = sp->matrix[i];
		if (best < 0)
			break;
		int64_t a = best / k, b = best % k, support = 0;
		for (int64_t j = 0; j < k; j++)
			support += sp->matrix[a * k + j];
		char text[600];
		snprintf(text, sizeof text, "%lld of %lld '%s' images in %s are predicted '%s'",
			 (long long)count, (long long)support, classes[a], sp->name, classes[b]);
		int rc = lp_findings_add(f, &(lp_finding){.kind = "confused_pair",
							  .split = sp->name,
							  .item = -1,
							  .cls = (int32_t)a,
							  .other_class = (int32_t)b,
							  .other_item = -1,
							  .score = (float)count / (float)support,
							  .text = text,
							  .key = best});
		if (rc)
			return rc;
	}
	return LP_OK;
}

static int read_split(lp_ctx *ctx, lp_archive *a, struct split *sp, int64_t k)
{
	char path[256];
	int dtype, rank;
	int64_t dims[8];

	snprintf(path, sizeof path, "/predictions/%s/probs", sp->name);
	int rc = host->archive_info(a, path, &dtype, &rank, dims);
	if (rc)
		return rc;
	if (rank != 2 || dims[1] != k)
		return host->error(ctx, LP_ERR_SHAPE,
				   "confusion: %s is [%lld, %lld]; /dataset/classes "
				   "has %lld classes",
				   path, (long long)dims[0], (long long)(rank > 1 ? dims[1] : 0),
				   (long long)k);
	sp->n = dims[0], sp->k = k;
	lp_labels_path(a, sp->name, path, sizeof path);
	sp->labels = malloc(sizeof(int32_t) * (size_t)(sp->n + 1));
	sp->matrix = calloc((size_t)(k * k + 1), sizeof(int64_t));
	if (!sp->labels || !sp->matrix)
		return host->error(ctx, LP_ERR_NOMEM, "confusion: out of memory");
	if ((rc = lp_read_labels(ctx, a, "confusion", path, sp->n, k, sp->labels)))
		return rc;
	return count_split(ctx, a, sp);
}

static int one_split(lp_ctx *ctx, void *st, const lp_analysis_io *io, const lp_inputs *in,
		     const char *g, lp_findings *f)
{
	struct state *s = st;
	struct split sp = {.name = g};
	int rc = read_split(ctx, io->archive, &sp, (int64_t)in->nclasses);

	if (!rc)
		rc = write_split(io->archive, io->group, &sp);
	if (!rc)
		rc = pairs(f, &sp, (const char *const *)in->classes, s->top);
	free(sp.labels);
	free(sp.matrix);
	return rc;
}

static int run(lp_ctx *ctx, void *st, const lp_analysis_io *io)
{
	return lp_run_groups(ctx, st, io, "confusion", 1, one_split);
}

static const lp_param_spec params[] = {
    {"top", LP_PARAM_INT, "20", "how many confused pairs per split become findings"},
    {0},
};

static const lp_analysis_vtable vt = {.size = sizeof vt, .init = init, .run = run};

static const lp_plugin desc = {
    LP_PLUGIN_HEADER,
    .kind = LP_KIND_ANALYSIS,
    .name = "confusion",
    .version = "1.0.0",
    .summary = "confusion matrix, per-class precision/recall/F1, top-1/3/5, confused pairs",
    .params = params,
    .state_size = sizeof(struct state),
    .vtable = &vt,
};

LP_PLUGIN_DEFINE_HOST(desc, an_host)
