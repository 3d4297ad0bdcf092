/* overlap.c — the `overlap` analysis: class pairs the model cannot separate, per split, ranked
 * by the symmetric mass of the calibrated joint Q (joint.h: Q[a][b] + Q[b][a]; not the raw
 * confusion counts, which mix in the model's ordinary mistakes), each with what the accuracy
 * would be if the pair were one class: relabel-only (argmax kept, the pair's confusions counted
 * right) and probability-summed (P[a] + P[b] as the merged class' probability, argmax again:
 * exact, over every item). Then a greedy list of merges, in rank order, with the accuracy after
 * each (probabilities summed over each merged group). Findings: kind merge_candidate. This file
 * reads and writes the archive; the computation is pairs.c's (pairs.h), which bench/analyses
 * runs too. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pairs.h"

const lp_host *an_host;
#define host an_host

struct state {
	int64_t top, merges;
};

static int init(lp_ctx *ctx, void *st, const lp_params *p)
{
	struct state *s = st;
	s->top = host->param_int(p, "top");
	s->merges = host->param_int(p, "merges");
	if (s->top < 1 || s->top > 10000)
		return host->error(ctx, LP_ERR_ARG,
				   "overlap: parameter 'top' = %lld is out of range "
				   "(1 .. 10000)",
				   (long long)s->top);
	if (s->merges < 0 || s->merges > 100)
		return host->error(ctx, LP_ERR_ARG,
				   "overlap: parameter 'merges' = %lld is out of "
				   "range (0 .. 100)",
				   (long long)s->merges);
	return LP_OK;
}

static int write_split(lp_archive *a, const char *out, const lp_overlap *s)
{
	int64_t n = s->npairs, dims[1] = {n}, sdims[1] = {s->steps};
	const char *ax[] = {"pair"}, *sax[] = {"merge"};
	int32_t *ia = malloc(sizeof(int32_t) * (size_t)(2 * n + 2 * s->steps + 2));
	float *f = malloc(sizeof(float) * (size_t)(3 * n + s->steps + 1));
	int64_t *cnt = malloc(sizeof(int64_t) * (size_t)(n + 1));
	char path[600];
	int rc = ia && f && cnt ? LP_OK : LP_ERR_NOMEM;

	for (int64_t x = 0; !rc && x < n; x++) {
		ia[x] = s->pairs[x].a, ia[n + x] = s->pairs[x].b;
		f[x] = (float)s->pairs[x].joint, f[n + x] = (float)s->pairs[x].relabel;
		f[2 * n + x] = (float)s->pairs[x].merged;
		cnt[x] = s->pairs[x].count;
	}
	for (int64_t t = 0; !rc && t < s->steps; t++) {
		ia[2 * n + t] = s->pairs[t].a, ia[2 * n + s->steps + t] = s->pairs[t].b;
		f[3 * n + t] = (float)((double)s->step_right[t] / (double)(s->j->n ? s->j->n : 1));
	}
#define OUT(leaf, dt, d, axes, data)                                                               \
	if (!rc) {                                                                                 \
		snprintf(path, sizeof path, "%s/" leaf, out);                                      \
		rc = host->archive_write(a, path, dt, 1, d, axes, data);                           \
	}
	OUT("class_a", LP_I32, dims, ax, ia)
	OUT("class_b", LP_I32, dims, ax, ia + n)
	OUT("joint", LP_F32, dims, ax, f)
	OUT("count", LP_I64, dims, ax, cnt)
	OUT("accuracy_relabelled", LP_F32, dims, ax, f + n)
	OUT("accuracy_merged", LP_F32, dims, ax, f + 2 * n)
	OUT("merges/class_a", LP_I32, sdims, sax, ia + 2 * n)
	OUT("merges/class_b", LP_I32, sdims, sax, ia + 2 * n + s->steps)
	OUT("merges/accuracy", LP_F32, sdims, sax, f + 3 * n)
#undef OUT
	if (!rc)
		rc = host->archive_attr_number(a, out, "accuracy", s->accuracy);
	free(ia);
	free(f);
	free(cnt);
	return rc;
}

static int add_findings(lp_findings *f, const lp_overlap *s, const char *split,
			const lp_inputs *in)
{
	for (int64_t x = 0; x < s->npairs; x++) {
		const lp_pair *q = &s->pairs[x];
		char text[1024];
		snprintf(
		    text, sizeof text,
		    "'%s' and '%s' share %.1f%% of the joint of given and "
		    "true label in %s (about %lld items): the model cannot tell them apart; as "
		    "one class, accuracy would go from %.3f to %.3f",
		    in->classes[q->a], in->classes[q->b], 100 * q->joint, split,
		    (long long)q->count, s->accuracy, q->merged);
		int rc = lp_findings_add(f, &(lp_finding){.kind = "merge_candidate",
							  .split = split,
							  .item = -1,
							  .cls = q->a,
							  .other_class = q->b,
							  .other_item = -1,
							  .score = (float)q->joint,
							  .text = text});
		if (rc)
			return rc;
	}
	return LP_OK;
}

static int one_split(lp_ctx *ctx, void *state, const lp_analysis_io *io, const lp_inputs *in,
		     const char *g, lp_findings *f)
{
	const struct state *st = state;
	char out[600], split[256];
	lp_joint j = {0};
	lp_overlap s = {0};

	lp_group_split(g, split, sizeof split);
	snprintf(out, sizeof out, "%s/%s", io->group, split);
	int rc = lp_joint_open_group(ctx, io->archive, "overlap", in, g, &j);
	if (!rc)
		rc = lp_overlap_compute(ctx, io->archive, &j, st->top, st->merges, &s);
	if (!rc)
		rc = write_split(io->archive, out, &s);
	if (!rc)
		rc = add_findings(f, &s, split, in);
	if (!rc)
		rc = host->archive_attr_string(io->archive, out, "probabilities", j.probs);
	if (!rc)
		rc = host->archive_attr_int(io->archive, out, "in_sample", lp_group_in_sample(g));
	lp_overlap_free(&s);
	lp_joint_free(&j);
	return rc;
}

static int run(lp_ctx *ctx, void *st, const lp_analysis_io *io)
{
	return lp_run_groups(ctx, st, io, "overlap", 0, one_split);
}

static const lp_param_spec params[] = {
    {"top", LP_PARAM_INT, "10", "how many class pairs to list per split"},
    {"merges", LP_PARAM_INT, "5", "how many greedy merges to evaluate, in rank order"},
    {0},
};

static const lp_analysis_vtable vt = {.size = sizeof vt, .init = init, .run = run};

static const lp_plugin desc = {
    LP_PLUGIN_HEADER,
    .kind = LP_KIND_ANALYSIS,
    .name = "overlap",
    .version = "1.0.0",
    .summary = "class pairs the model cannot separate, with the accuracy if merged",
    .params = params,
    .state_size = sizeof(struct state),
    .vtable = &vt,
};

LP_PLUGIN_DEFINE_HOST(desc, an_host)
