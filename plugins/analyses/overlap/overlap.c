/* overlap.c — the `overlap` analysis: class pairs the model cannot separate, per split, ranked
 * by the symmetric mass of the calibrated joint Q (joint.h: Q[a][b] + Q[b][a]; not the raw
 * confusion counts, which mix in the model's ordinary mistakes), each with what the accuracy
 * would be if the pair were one class: relabel-only (argmax kept, the pair's confusions counted
 * right) and probability-summed (P[a] + P[b] as the merged class' probability, argmax again:
 * exact, over every item). Then a greedy list of merges, in rank order, with the accuracy after
 * each (probabilities summed over each merged group). Findings: kind merge_candidate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "joint.h"

const lp_host *an_host;
#define host an_host

struct state {
	int64_t top, merges;
};

struct pair {
	int32_t a, b;
	double joint;
	int64_t count;
	double relabel, merged;
};

/* what the pass over the probabilities counts */
struct pass {
	const lp_joint *j;
	struct pair *pairs;
	int64_t npairs;
	int64_t *right;  /* [npairs] items right with the pair's probabilities summed */
	int64_t *argmax; /* [k*k] plain confusion counts, rows the label */
	int32_t *group;  /* [merges][k]: class -> merged group after each greedy step */
	int64_t steps;
	int64_t *step_right; /* [steps] */
	double *sum;         /* [k] scratch */
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

/* the `top` pairs a < b by Q[a][b] + Q[b][a], largest first (ties: the smaller a, b) */
static int64_t rank_pairs(const lp_joint *j, int64_t top, struct pair *out)
{
	int64_t k = j->k, n = 0;

	for (int64_t a = 0; a < k; a++)
		for (int64_t b = a + 1; b < k; b++) {
			double s = j->q[a * k + b] + j->q[b * k + a];
			if (s <= 0)
				continue;
			int64_t at = n < top ? n++ : top;
			if (at == top && !(s > out[top - 1].joint))
				continue;
			if (at == top)
				at = top - 1;
			while (at > 0 && s > out[at - 1].joint) {
				out[at] = out[at - 1];
				at--;
			}
			out[at] = (struct pair){(int32_t)a, (int32_t)b, s, 0, 0, 0};
		}
	return n;
}

/* the argmax of one row with the classes of each group summed (group[c]: its group's id, the
 * smallest class in it) */
static int64_t merged_argmax(const float *p, int64_t k, const int32_t *group, double *sum)
{
	int64_t best = -1;

	for (int64_t c = 0; c < k; c++)
		sum[c] = 0;
	for (int64_t c = 0; c < k; c++)
		sum[group[c]] += p[c];
	for (int64_t c = 0; c < k; c++)
		if (group[c] == c && (best < 0 || sum[c] > sum[best]))
			best = c;
	return best;
}

static int count(void *user, int64_t row0, int64_t rows, const float *p)
{
	struct pass *s = user;
	int64_t k = s->j->k;

	for (int64_t r = 0; r < rows; r++) {
		const float *row = p + r * k;
		int32_t y = s->j->labels[row0 + r];
		int64_t best = 0;
		for (int64_t c = 1; c < k; c++)
			if (row[c] > row[best])
				best = c;
		s->argmax[(int64_t)y * k + best]++;
		for (int64_t x = 0; x < s->npairs; x++) {
			const struct pair *q = &s->pairs[x];
			double m = (double)row[q->a] + row[q->b], other = -1;
			for (int64_t c = 0; c < k; c++)
				if (c != q->a && c != q->b && row[c] > other)
					other = row[c];
			int in = y == q->a || y == q->b;
			/* the merged class wins ties: its members were one class to begin with */
			s->right[x] +=
			    in ? m >= other : (row[y] > m && row[y] >= other && best == y);
		}
		for (int64_t t = 0; t < s->steps; t++) {
			const int32_t *g = s->group + t * k;
			s->step_right[t] += merged_argmax(row, k, g, s->sum) == g[y];
		}
	}
	return LP_OK;
}

/* group maps after each greedy merge of the ranked pairs (union of groups, id = min class) */
static void greedy_groups(const struct pair *pairs, int64_t steps, int64_t k, int32_t *group)
{
	for (int64_t c = 0; c < k; c++)
		group[c] = (int32_t)c;
	for (int64_t t = 0; t < steps; t++) {
		int32_t *g = group + t * k;
		if (t)
			memcpy(g, g - k, sizeof(int32_t) * (size_t)k);
		int32_t ga = g[pairs[t].a], gb = g[pairs[t].b], to = ga < gb ? ga : gb;
		for (int64_t c = 0; c < k; c++)
			if (g[c] == ga || g[c] == gb)
				g[c] = to;
	}
}

static int write_split(lp_archive *a, const char *out, const struct pass *s, double accuracy)
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
		rc = host->archive_attr_number(a, out, "accuracy", accuracy);
	free(ia);
	free(f);
	free(cnt);
	return rc;
}

static int add_findings(lp_findings *f, const struct pass *s, const char *split,
			const lp_inputs *in, double accuracy)
{
	for (int64_t x = 0; x < s->npairs; x++) {
		const struct pair *q = &s->pairs[x];
		char text[1024];
		snprintf(
		    text, sizeof text,
		    "'%s' and '%s' share %.1f%% of the joint of given and "
		    "true label in %s (about %lld items): the model cannot tell them apart; as "
		    "one class, accuracy would go from %.3f to %.3f",
		    in->classes[q->a], in->classes[q->b], 100 * q->joint, split,
		    (long long)q->count, accuracy, q->merged);
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

static void pass_free(struct pass *s)
{
	free(s->pairs), free(s->right), free(s->argmax), free(s->group), free(s->step_right);
	free(s->sum);
}

static int pass_new(lp_ctx *ctx, const lp_joint *j, const struct state *st, struct pass *s)
{
	int64_t k = j->k;

	memset(s, 0, sizeof(*s));
	s->j = j;
	s->pairs = calloc((size_t)st->top + 1, sizeof(*s->pairs));
	s->argmax = calloc((size_t)(k * k), sizeof(int64_t));
	s->sum = calloc((size_t)k, sizeof(double));
	if (!s->pairs || !s->argmax || !s->sum)
		return host->error(ctx, LP_ERR_NOMEM, "overlap: out of memory");
	s->npairs = rank_pairs(j, st->top, s->pairs);
	s->steps = st->merges < s->npairs ? st->merges : s->npairs;
	s->right = calloc((size_t)s->npairs + 1, sizeof(int64_t));
	s->step_right = calloc((size_t)s->steps + 1, sizeof(int64_t));
	s->group = calloc((size_t)((s->steps + 1) * k), sizeof(int32_t));
	if (!s->right || !s->step_right || !s->group)
		return host->error(ctx, LP_ERR_NOMEM, "overlap: out of memory");
	greedy_groups(s->pairs, s->steps, k, s->group);
	return LP_OK;
}

static int one_split(lp_ctx *ctx, void *state, const lp_analysis_io *io, const lp_inputs *in,
		     const char *g, lp_findings *f)
{
	const struct state *st = state;
	char out[600], split[256];
	lp_joint j = {0};
	struct pass s;
	double acc = 0;

	lp_group_split(g, split, sizeof split);
	snprintf(out, sizeof out, "%s/%s", io->group, split);
	int rc = lp_joint_group(ctx, io->archive, "overlap", in, g, &j);
	if (!rc)
		rc = pass_new(ctx, &j, st, &s);
	else
		memset(&s, 0, sizeof(s));
	if (!rc)
		rc = lp_joint_rows(ctx, io->archive, &j, count, &s);
	double n = (double)(j.n ? j.n : 1);
	for (int64_t c = 0; !rc && c < j.k; c++)
		acc += (double)s.argmax[c * j.k + c] / n;
	for (int64_t x = 0; !rc && x < s.npairs; x++) {
		struct pair *q = &s.pairs[x];
		q->count = (int64_t)nearbyint((double)j.n * q->joint);
		q->relabel =
		    acc + (double)(s.argmax[q->a * j.k + q->b] + s.argmax[q->b * j.k + q->a]) / n;
		q->merged = (double)s.right[x] / n;
	}
	if (!rc)
		rc = write_split(io->archive, out, &s, acc);
	if (!rc)
		rc = add_findings(f, &s, split, in, acc);
	if (!rc)
		rc = host->archive_attr_string(io->archive, out, "probabilities", j.probs);
	if (!rc)
		rc = host->archive_attr_int(io->archive, out, "in_sample", lp_group_in_sample(g));
	pass_free(&s);
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
