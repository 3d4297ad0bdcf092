/* label_issues.c — the `label_issues` analysis: confident learning on out-of-sample
 * probabilities (joint.h), per split. Per item: score (self-confidence P[i][label], lower =
 * more likely mislabelled), flagged, suggested (the most probable other class); per class: the
 * estimated label noise, label quality and issue count; the joint Q. Findings: every flagged
 * item, kind label_issue — or overlap_item when its label and the suggested class are a pair
 * the model cannot tell apart (lp_joint_overlap), since there the label is not wrong, the
 * classes are. The training split's probabilities should come from loupe.crossval_predict
 * (/predictions/train_crossval, preferred over /predictions/train); in-sample ones are used
 * with a warning and the split's attribute in_sample = 1. This file reads and writes the
 * archive; the computation is issues.c's (issues.h), which bench/analyses runs too. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "issues.h"

const lp_host *an_host;
#define host an_host

struct state {
	lp_issues_opts o;
};

static int init(lp_ctx *ctx, void *st, const lp_params *p)
{
	struct state *s = st;
	const char *m = host->param_string(p, "method");

	for (s->o.method = 0; s->o.method < LP_METHODS && strcmp(m, lp_issues_methods[s->o.method]);
	     s->o.method++)
		;
	if (s->o.method == LP_METHODS)
		return host->error(ctx, LP_ERR_ARG,
				   "label_issues: parameter 'method' = \"%s\"; it is "
				   "one of prune_by_noise_rate, prune_by_class, both, "
				   "confident_learning, predicted_neq_given",
				   m);
	s->o.cap = host->param_bool(p, "cap");
	s->o.share = host->param_number(p, "overlap_share");
	if (!(s->o.share > 0 && s->o.share <= 0.5))
		return host->error(ctx, LP_ERR_ARG,
				   "label_issues: parameter 'overlap_share' = %g is "
				   "out of range (> 0 .. 0.5)",
				   s->o.share);
	return LP_OK;
}

/* per class: noise, quality, issues (from Q); the joint itself; thresholds */
static int write_classes(lp_archive *a, const char *g, const lp_joint *j)
{
	int64_t k = j->k, dims[2] = {k, k};
	const char *ax1[] = {"class"}, *ax2[] = {"class", "true_class"};
	float *f = calloc((size_t)(3 * k + k * k + 1), sizeof(float));
	char path[512];
	int rc = f ? LP_OK : LP_ERR_NOMEM;

	if (f)
		lp_issues_class_noise(j, f);
	for (int64_t c = 0; f && c < k; c++) {
		f[k + c] = 1 - f[c]; /* quality */
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

static int write_items(lp_archive *a, const char *g, const lp_issues *it)
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
static int add_findings(lp_findings *f, const lp_issues *it, const char *split,
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

static int one_split(lp_ctx *ctx, void *state, const lp_analysis_io *io, const lp_inputs *in,
		     const char *g, lp_findings *f)
{
	const struct state *s = state;
	char out[512], split[256];
	int in_sample = lp_group_in_sample(g);
	lp_joint j = {0};
	lp_issues it = {0};
	int64_t issues = 0;

	lp_group_split(g, split, sizeof split);
	snprintf(out, sizeof out, "%s/%s", io->group, split);
	int rc = lp_joint_open_group(ctx, io->archive, "label_issues", in, g, &j);
	if (!rc)
		rc = lp_issues_compute(ctx, io->archive, &j, &s->o, &it);
	char **names = rc ? NULL : item_names(io->archive, split, j.n);
	if (!rc)
		rc = add_findings(f, &it, split, in, names, s->o.share, &issues);
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
		rc = host->archive_attr_int(io->archive, out, "estimated_issues", it.estimated);
	if (!rc)
		rc = host->archive_attr_string(io->archive, out, "method",
						 lp_issues_methods[s->o.method]);
	if (!rc && in_sample)
		host->log(
		    ctx, LP_LOG_WARN,
		    "label_issues: %s holds in-sample probabilities (the model "
		    "trained on these items, so it has learnt their wrong labels too): label "
		    "issues will be under-found; loupe.crossval_predict writes out-of-sample ones",
		    j.probs);
	lp_issues_free(&it);
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
