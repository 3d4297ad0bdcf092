/* label_issues.c — the `label_issues` analysis: confident learning on out-of-sample
 * probabilities (joint.h), per split. Per item: score (self-confidence P[i][label], lower =
 * more likely mislabelled), flagged, suggested (the most probable other class); per class: the
 * estimated label noise, label quality and issue count; the joint Q. Findings: every flagged
 * item, kind label_issue — or overlap_item when its label and the suggested class are a pair
 * the model cannot tell apart (lp_joint_overlap), since there the label is not wrong, the
 * classes are. The training split's probabilities should come from loupe.crossval_predict
 * (/predictions/train_crossval, preferred over /predictions/train); in-sample ones are used
 * with a warning and the split's attribute in_sample = 1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "joint.h"

const lp_host *an_host;
#define host an_host

enum method { NOISE_RATE, BY_CLASS, BOTH, CONFIDENT, NEQ_GIVEN, METHODS };
static const char *const method_names[METHODS] = {"prune_by_noise_rate", "prune_by_class", "both",
						  "confident_learning", "predicted_neq_given"};

struct state {
	int method;
	double share;
	int cap;
};

/* log-spaced bins over [1e-12, 1] for the estimator's two histograms */
#define BINS 8192
static int bin_of(float p)
{
	if (!(p > 1e-12f))
		return 0;
	double b = (log10((double)p) + 12.0) / 12.0 * (BINS - 1);
	return b >= BINS - 1 ? BINS - 1 : (int)b;
}

/* what the third pass over the probabilities gathers */
struct items {
	lp_joint *j;
	float *score;       /* [n] P[i][label] */
	int32_t *suggested; /* [n] */
	uint8_t *flagged;   /* [n] */
	uint8_t *veto;      /* [n] the argmax (ties to the label) is the label */
	lp_heap *noise;     /* [k*k]: (k, j) keeps the Cc[k][j] largest margins P[j] - P[k] */
	lp_heap *low;       /* [k]: class k keeps its n_k - Cc[k][k] lowest P[k] */
	float *p_sugg;      /* [n] P[i][suggested] */
	int64_t *wrong;     /* [BINS] histogram of P[i][c], c not the label: wrong classes */
	int64_t *self;      /* [BINS] histogram of P[i][label] */
};

static int init(lp_ctx *ctx, void *st, const lp_params *p)
{
	struct state *s = st;
	const char *m = host->param_string(p, "method");

	for (s->method = 0; s->method < METHODS && strcmp(m, method_names[s->method]); s->method++)
		;
	if (s->method == METHODS)
		return host->error(ctx, LP_ERR_ARG,
				   "label_issues: parameter 'method' = \"%s\"; it is "
				   "one of prune_by_noise_rate, prune_by_class, both, "
				   "confident_learning, predicted_neq_given",
				   m);
	s->cap = host->param_bool(p, "cap");
	s->share = host->param_number(p, "overlap_share");
	if (!(s->share > 0 && s->share <= 0.5))
		return host->error(ctx, LP_ERR_ARG,
				   "label_issues: parameter 'overlap_share' = %g is "
				   "out of range (> 0 .. 0.5)",
				   s->share);
	return LP_OK;
}

static int gather(void *user, int64_t row0, int64_t rows, const float *p)
{
	struct items *it = user;
	const lp_joint *j = it->j;
	int64_t k = j->k;

	for (int64_t r = 0; r < rows; r++) {
		const float *row = p + r * k;
		int64_t i = row0 + r, y = j->labels[i], best = -1;
		for (int64_t c = 0; c < k; c++)
			if (c != y && (best < 0 || row[c] > row[best]))
				best = c;
		it->score[i] = row[y];
		it->suggested[i] = (int32_t)(best < 0 ? y : best);
		it->p_sugg[i] = best < 0 ? 0 : row[best];
		it->veto[i] = row[y] + 1e-6 >= (best < 0 ? 0 : row[best]);
		int flat = lp_flat_row(row, k); /* no evidence either way: not in the estimate */
		for (int64_t c = 0; c < k; c++) {
			if (c == y)
				continue;
			if (!flat)
				it->wrong[bin_of(row[c])]++;
			if (j->cc[y * k + c] > 0)
				lp_heap_push(&it->noise[y * k + c], row[c] - row[y], i);
		}
		if (!flat)
			it->self[bin_of(row[y])]++;
		lp_heap_push(&it->low[y], -row[y], i);
	}
	return LP_OK;
}

static int flag(struct items *it, int method)
{
	const lp_joint *j = it->j;
	int64_t n = j->n, k = j->k;
	uint8_t *a = calloc((size_t)n + 1, 1), *b = calloc((size_t)n + 1, 1);

	if (!a || !b) {
		free(a), free(b);
		return LP_ERR_NOMEM;
	}
	for (int64_t x = 0; x < k * k; x++)
		for (size_t e = 0; e < it->noise[x].n; e++)
			a[it->noise[x].item[e]] = 1;
	for (int64_t c = 0; c < k; c++)
		for (size_t e = 0; j->count[c] > 1 && e < it->low[c].n; e++)
			b[it->low[c].item[e]] = 1;
	for (int64_t i = 0; i < n; i++) {
		int f = method == NOISE_RATE  ? a[i]
			: method == BY_CLASS  ? b[i]
			: method == BOTH      ? a[i] && b[i]
			: method == CONFIDENT ? j->guess[i] != j->labels[i]
					      : 1;
		it->flagged[i] = (uint8_t)(f && !it->veto[i]);
	}
	free(a);
	free(b);
	return LP_OK;
}

static void items_free(struct items *it)
{
	int64_t k = it->j ? it->j->k : 0;
	for (int64_t x = 0; it->noise && x < k * k; x++)
		lp_heap_free(&it->noise[x]);
	for (int64_t c = 0; it->low && c < k; c++)
		lp_heap_free(&it->low[c]);
	free(it->noise), free(it->low), free(it->score), free(it->suggested), free(it->flagged);
	free(it->veto), free(it->p_sugg), free(it->wrong), free(it->self);
}

static int items_new(lp_ctx *ctx, lp_joint *j, struct items *it)
{
	int64_t n = j->n, k = j->k;
	int bad = 0;

	memset(it, 0, sizeof(*it));
	it->j = j;
	it->score = malloc(sizeof(float) * (size_t)(n + 1));
	it->p_sugg = malloc(sizeof(float) * (size_t)(n + 1));
	it->suggested = malloc(sizeof(int32_t) * (size_t)(n + 1));
	it->flagged = calloc((size_t)n + 1, 1);
	it->veto = calloc((size_t)n + 1, 1);
	it->noise = calloc((size_t)(k * k), sizeof(lp_heap));
	it->low = calloc((size_t)k, sizeof(lp_heap));
	it->wrong = calloc(BINS, sizeof(int64_t));
	it->self = calloc(BINS, sizeof(int64_t));
	bad = !it->wrong || !it->self || !it->score || !it->p_sugg || !it->suggested ||
	      !it->flagged || !it->veto || !it->noise || !it->low;
	for (int64_t a = 0; !bad && a < k; a++) {
		bad |= lp_heap_init(&it->low[a], (size_t)(j->count[a] - j->cc[a * k + a] > 0
							      ? j->count[a] - j->cc[a * k + a]
							      : 0));
		for (int64_t b = 0; !bad && b < k; b++)
			bad |= lp_heap_init(&it->noise[a * k + b],
					    a == b ? 0 : (size_t)j->cc[a * k + b]);
	}
	return bad ? host->error(ctx, LP_ERR_NOMEM, "label_issues: out of memory") : LP_OK;
}

/* per class: noise, quality, issues (from Q); the joint itself; thresholds */
static int write_classes(lp_archive *a, const char *g, const lp_joint *j)
{
	int64_t k = j->k, dims[2] = {k, k};
	const char *ax1[] = {"class"}, *ax2[] = {"class", "true_class"};
	float *f = calloc((size_t)(3 * k + k * k + 1), sizeof(float));
	char path[512];
	int rc = f ? LP_OK : LP_ERR_NOMEM;

	for (int64_t c = 0; f && c < k; c++) {
		double row = 0;
		for (int64_t x = 0; x < k; x++)
			row += j->q[c * k + x];
		double diag = j->q[c * k + c];
		f[c] = (float)(row > 1e-12 ? (row - diag) / row : 0); /* noise */
		f[k + c] = 1 - f[c];                                  /* quality */
		f[2 * k + c] = (float)j->t[c];
	}
	for (int64_t x = 0; f && x < k * k; x++)
		f[3 * k + x] = (float)j->q[x];
#define OUT(leaf, rank, ax, data)                                                                  \
	if (!rc) {                                                                                 \
		snprintf(path, sizeof path, "%s/" leaf, g);                                        \
		rc = host->archive_write(a, path, LP_F32, rank, dims, ax, data);                   \
	}
	OUT("class_noise", 1, ax1, f)
	OUT("class_quality", 1, ax1, f + k)
	OUT("thresholds", 1, ax1, f + 2 * k)
	OUT("joint", 2, ax2, f + 3 * k)
#undef OUT
	if (!rc) {
		snprintf(path, sizeof path, "%s/confident_joint", g);
		rc = host->archive_write(a, path, LP_I64, 2, dims, ax2, j->c);
	}
	free(f);
	return rc;
}

static int write_items(lp_archive *a, const char *g, const struct items *it)
{
	int64_t dims[1] = {it->j->n};
	const char *ax[] = {"item"};
	char path[512];
	int rc;

	snprintf(path, sizeof path, "%s/score", g);
	rc = host->archive_write(a, path, LP_F32, 1, dims, ax, it->score);
	snprintf(path, sizeof path, "%s/flagged", g);
	if (!rc)
		rc = host->archive_write(a, path, LP_U8, 1, dims, ax, it->flagged);
	snprintf(path, sizeof path, "%s/suggested", g);
	if (!rc)
		rc = host->archive_write(a, path, LP_I32, 1, dims, ax, it->suggested);
	return rc;
}

/* the split's item names (/dataset/<split>/names), or NULL */
static char **item_names(lp_archive *a, const char *split, int64_t n)
{
	char path[300], **names = NULL;
	size_t got = 0;
	int kind = 0;

	snprintf(path, sizeof path, "/dataset/%s/names", split);
	if (host->archive_exists(a, path, &kind) || kind != 2 ||
	    host->archive_read_strings(a, path, &got, &names))
		return NULL;
	if ((int64_t)got != n) {
		host->free(names);
		return NULL;
	}
	return names;
}

/* flagged items as findings; returns how many are label issues (not overlap items) */
static int add_findings(lp_findings *f, const struct items *it, const char *split,
			const lp_inputs *in, char **names, double share, int64_t *issues)
{
	const lp_joint *j = it->j;
	*issues = 0;
	for (int64_t i = 0; i < j->n; i++) {
		if (!it->flagged[i])
			continue;
		int32_t y = j->labels[i], s = it->suggested[i];
		int overlap = lp_joint_overlap(j, y, s, share);
		char text[1024], who[600];
		if (names)
			snprintf(who, sizeof who, "%s item '%s'", split, names[i]);
		else
			snprintf(who, sizeof who, "%s item %lld", split, (long long)i);
		if (overlap)
			snprintf(
			    text, sizeof text,
			    "%s is labelled '%s' and looks like '%s' (p %.2f "
			    "against %.2f): two classes the model cannot tell apart, not a wrong "
			    "label",
			    who, in->classes[y], in->classes[s], it->p_sugg[i], it->score[i]);
		else
			snprintf(text, sizeof text,
				 "%s is labelled '%s' but looks like '%s' (p %.2f "
				 "against %.2f)",
				 who, in->classes[y], in->classes[s], it->p_sugg[i], it->score[i]);
		*issues += !overlap;
		int rc = lp_findings_add(
		    f, &(lp_finding){.kind = overlap ? "overlap_item" : "label_issue",
				     .split = split,
				     .item = i,
				     .cls = y,
				     .other_class = s,
				     .other_item = -1,
				     .score = 1 - it->score[i],
				     .text = text});
		if (rc)
			return rc;
	}
	return LP_OK;
}

/* The estimated number of wrong labels. A wrong label is a class the item does not show, so
 * the model gives it what it gives wrong classes; a right one gets the true class' share,
 * wrong only when the model errs. With x0 the median probability of wrong classes (over every
 * item and every class but its label), about half the wrong labels score below x0 and almost
 * no right ones do: m = 2 · #{i : P[i][label] <= x0}. Confident learning's own count, the
 * off-diagonal of the calibrated joint, also counts every confident mistake of the model and
 * grows to twice the truth and more as the model weakens; this one stays within a few percent
 * on models of 85 % accuracy and up (tests/e2e/label_issues_check.py). */
static int64_t estimate(const struct items *it)
{
	int64_t total = 0, cum = 0, below = 0;
	int b0 = 0;

	for (int b = 0; b < BINS; b++)
		total += it->wrong[b];
	if (!total)
		return 0;
	for (b0 = 0; b0 < BINS && 2 * (cum + it->wrong[b0]) < total; b0++)
		cum += it->wrong[b0];
	cum += b0 < BINS ? it->wrong[b0] : 0;
	for (int b = 0; b <= b0 && b < BINS; b++)
		below += it->self[b];
	double m = (double)below * (double)total / (double)cum;
	return m > (double)it->j->n ? it->j->n : (int64_t)nearbyint(m);
}

struct rank {
	float score;
	int64_t item;
};

static int by_score(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;
	if (x->score != y->score)
		return x->score < y->score ? -1 : 1;
	return x->item < y->item ? -1 : x->item > y->item;
}

/* keep at most m flagged label issues (not overlap items): the lowest self-confidence */
static int cap_flags(struct items *it, double share, int64_t m)
{
	const lp_joint *j = it->j;
	struct rank *r = malloc(sizeof(*r) * (size_t)(j->n + 1));
	int64_t n = 0;

	if (!r)
		return LP_ERR_NOMEM;
	for (int64_t i = 0; i < j->n; i++)
		if (it->flagged[i] && !lp_joint_overlap(j, j->labels[i], it->suggested[i], share))
			r[n++] = (struct rank){it->score[i], i};
	if (n > m) {
		qsort(r, (size_t)n, sizeof(*r), by_score);
		for (int64_t x = m; x < n; x++)
			it->flagged[r[x].item] = 0;
	}
	free(r);
	return LP_OK;
}

static int one_split(lp_ctx *ctx, void *state, const lp_analysis_io *io, const lp_inputs *in,
		     const char *g, lp_findings *f)
{
	const struct state *s = state;
	char out[512], split[256];
	int in_sample = lp_group_in_sample(g);
	lp_joint j = {0};
	struct items it;
	int64_t issues = 0, estimated = 0;

	lp_group_split(g, split, sizeof split);
	snprintf(out, sizeof out, "%s/%s", io->group, split);
	int rc = lp_joint_group(ctx, io->archive, "label_issues", in, g, &j);
	if (!rc)
		rc = items_new(ctx, &j, &it);
	else
		memset(&it, 0, sizeof(it));
	if (!rc)
		rc = lp_joint_rows(ctx, io->archive, &j, gather, &it);
	if (!rc)
		rc = flag(&it, s->method);
	if (!rc)
		estimated = estimate(&it);
	if (!rc && s->cap)
		rc = cap_flags(&it, s->share, estimated);
	char **names = rc ? NULL : item_names(io->archive, split, j.n);
	if (!rc)
		rc = add_findings(f, &it, split, in, names, s->share, &issues);
	host->free(names);
	if (!rc)
		rc = write_items(io->archive, out, &it);
	if (!rc)
		rc = write_classes(io->archive, out, &j);
	if (!rc)
		rc = host->archive_attr_string(io->archive, out, "probabilities", j.probs);
	if (!rc)
		rc = host->archive_attr_int(io->archive, out, "in_sample", in_sample);
	if (!rc)
		rc = host->archive_attr_int(io->archive, out, "label_issues", issues);
	if (!rc)
		rc = host->archive_attr_int(io->archive, out, "estimated_issues", estimated);
	if (!rc)
		rc = host->archive_attr_string(io->archive, out, "method", method_names[s->method]);
	if (!rc && in_sample)
		host->log(
		    ctx, LP_LOG_WARN,
		    "label_issues: %s holds in-sample probabilities (the model "
		    "trained on these items, so it has learnt their wrong labels too): label "
		    "issues will be under-found; loupe.crossval_predict writes out-of-sample ones",
		    j.probs);
	items_free(&it);
	lp_joint_free(&j);
	return rc;
}

static int run(lp_ctx *ctx, void *st, const lp_analysis_io *io)
{
	return lp_run_groups(ctx, st, io, "label_issues", 0, one_split);
}

static const lp_param_spec params[] = {
    {"method", LP_PARAM_STRING, "prune_by_noise_rate",
     "which items to flag: prune_by_noise_rate, prune_by_class, both, confident_learning, "
     "predicted_neq_given (docs/ANALYSES.md)"},
    {"cap", LP_PARAM_BOOL, "true",
     "flag at most the estimated number of wrong labels, the least self-confident first "
     "(false: every item the method flags)"},
    {"overlap_share", LP_PARAM_NUMBER, "0.15",
     "two classes overlap when each gives at least this share of its joint mass to the other; "
     "their items are overlap_item, not label_issue"},
    {0},
};

static const lp_analysis_vtable vt = {.size = sizeof vt, .init = init, .run = run};

static const lp_plugin desc = {
    LP_PLUGIN_HEADER,
    .kind = LP_KIND_ANALYSIS,
    .name = "label_issues",
    .version = "1.0.0",
    .summary = "wrong labels by confident learning, kept apart from overlapping classes",
    .params = params,
    .state_size = sizeof(struct state),
    .vtable = &vt,
};

LP_PLUGIN_DEFINE_HOST(desc, an_host)
