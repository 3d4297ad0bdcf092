/* ambiguous.c — the `ambiguous` analysis: single-label images whose probability is split
 * between two classes (both plausible: the image may show both), kept apart from images that
 * fit no class (probability spread thin: diffuse).
 *
 * Classes the model cannot tell apart at all (lp_joint_overlap, as in label_issues: that is
 * the classes' problem, `overlap` reports it) are first merged into one candidate, their
 * probabilities summed: an item split between two such classes and nothing else is not
 * ambiguous (counted as an overlap item), an item split between one of them and a third class
 * may be, its candidate named by the more probable member. Two passes over the rows: the first
 * makes U[a][c], the mean probability of candidate c over the items labelled a (its diagonal
 * is confident learning's per-class threshold, its off-diagonal what class a's items
 * habitually give c); the second takes, per item, the label's candidate L and the other
 * candidate O most above that habit, excess = P[O] - U[L][O]. An item is ambiguous when the
 * excess is at least `second` (0.1), P[L] is at least `label` (0.05: below, the label looks
 * wrong, which is label_issues' finding) and it is not diffuse; diffuse when the two most
 * probable classes hold less than 0.5 and the normalised entropy is at least 0.6
 * (docs/ANALYSES.md says why: trained CNNs do not split a two-class image's probability
 * evenly, and absolute mass / margin cut-offs missed 9 in 10 of the synthetic blends). Per
 * item: the two most probable classes and their probabilities, the normalised entropy, `other`
 * (O's most probable class), `p_label`, `p_other`, the score (the excess) and the kind.
 * Findings: kind ambiguous (class: the given label, other_class: O; by falling excess) and
 * diffuse; a [class, class] count of how often two classes share an ambiguous image. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "joint.h"

const lp_host *an_host;
#define host an_host

struct state {
	double second, label, share;
};

struct items {
	const lp_joint *j;
	int32_t *first, *second, *other; /* [n] */
	float *p1, *p2, *entropy, *score, *p_other, *p_label;
	uint8_t *kind;  /* 0 none, 1 ambiguous, 2 diffuse, 3 overlap item (left out) */
	int64_t *pairs; /* [k*k] */
	int32_t *group; /* [k]: the candidate of each class (the overlapping ones share one) */
	double *sum;    /* [k]: a row's probability per candidate */
	double *usual;  /* [k*k]: the mean probability of candidate c over the items labelled a */
	int32_t *best;  /* [k]: a row's most probable class of each candidate */
	const struct state *st;
};

static int init(lp_ctx *ctx, void *sp, const lp_params *p)
{
	struct state *s = sp;
	s->second = host->param_number(p, "second");
	s->label = host->param_number(p, "label");
	s->share = host->param_number(p, "overlap_share");
	if (!(s->second > 0 && s->second <= 1) || !(s->label >= 0 && s->label <= 0.5) ||
	    !(s->share > 0 && s->share <= 0.5))
		return host->error(ctx, LP_ERR_ARG,
				   "ambiguous: parameters 'second' = %g (> 0 .. 1), 'label' = %g "
				   "(0 .. 0.5) and 'overlap_share' = %g (> 0 .. 0.5) must be in "
				   "their ranges",
				   s->second, s->label, s->share);
	return LP_OK;
}

static int32_t find(int32_t *g, int32_t c)
{
	while (g[c] != c)
		c = g[c] = g[g[c]];
	return c;
}

/* the candidates: each class its own, classes that overlap (and what overlaps them) one */
static void groups(struct items *it)
{
	const lp_joint *j = it->j;
	int32_t *g = it->group;

	for (int64_t c = 0; c < j->k; c++)
		g[c] = (int32_t)c;
	for (int64_t a = 0; a < j->k; a++)
		for (int64_t b = a + 1; b < j->k; b++)
			if (lp_joint_overlap(j, a, b, it->st->share)) {
				int32_t ra = find(g, (int32_t)a), rb = find(g, (int32_t)b);
				if (ra != rb)
					g[ra > rb ? ra : rb] = ra < rb ? ra : rb;
			}
	for (int64_t c = 0; c < j->k; c++)
		g[c] = find(g, (int32_t)c);
}

/* a row's probability per candidate (it->sum) and the most probable class of each (it->best) */
static void candidates(struct items *it, const float *row)
{
	int64_t k = it->j->k;
	const int32_t *g = it->group;

	for (int64_t c = 0; c < k; c++) {
		it->sum[c] = 0;
		it->best[c] = -1;
	}
	for (int64_t c = 0; c < k; c++) {
		it->sum[g[c]] += row[c];
		if (it->best[g[c]] < 0 || row[c] > row[it->best[g[c]]])
			it->best[g[c]] = (int32_t)c;
	}
}

/* the first pass: usual[a][c], the mean probability of candidate c over the items labelled a
 * (sums here, divided by the counts after) */
static int usual_pass(void *user, int64_t row0, int64_t rows, const float *p)
{
	struct items *it = user;
	int64_t k = it->j->k;

	for (int64_t r = 0; r < rows; r++) {
		candidates(it, p + r * k);
		double *u = it->usual + (int64_t)it->group[it->j->labels[row0 + r]] * k;
		for (int64_t c = 0; c < k; c++)
			if (it->group[c] == c)
				u[c] += it->sum[c];
	}
	return LP_OK;
}

static int scan(void *user, int64_t row0, int64_t rows, const float *p)
{
	struct items *it = user;
	int64_t k = it->j->k;
	double logk = k > 1 ? log((double)k) : 1;
	const int32_t *g = it->group;

	for (int64_t r = 0; r < rows; r++) {
		const float *row = p + r * k;
		int64_t i = row0 + r, a = 0, b = k > 1 ? 1 : 0;
		double h = 0;
		if (k > 1 && row[1] > row[0])
			a = 1, b = 0;
		for (int64_t c = 0; c < k; c++) {
			if (row[c] > 0)
				h -= row[c] * log(row[c]);
			if (c < 2)
				continue;
			if (row[c] > row[a])
				b = a, a = c;
			else if (row[c] > row[b])
				b = c;
		}
		candidates(it, row);
		/* the label's candidate, and the other candidate most above what the label's
		 * items usually give it (ties: the lower class) */
		int32_t y = it->j->labels[i], gy = g[y], go = -1;
		const double *u = it->usual + (int64_t)gy * k;
		double excess = 0;
		for (int64_t c = 0; c < k; c++) {
			if (g[c] != c || c == gy)
				continue;
			double e = it->sum[c] - u[c];
			if (go < 0 || e > excess)
				go = (int32_t)c, excess = e;
		}
		float p1 = row[a], p2 = k > 1 ? row[b] : 0;
		it->first[i] = (int32_t)a, it->second[i] = (int32_t)b;
		it->p1[i] = p1, it->p2[i] = p2;
		it->entropy[i] = (float)(h / logk);
		it->p_label[i] = (float)it->sum[gy];
		it->other[i] = go >= 0 ? it->best[go] : -1;
		it->p_other[i] = go >= 0 ? (float)it->sum[go] : 0;
		it->score[i] = go >= 0 ? (float)excess : 0;
		int diffuse = p1 + p2 < 0.5 && it->entropy[i] >= 0.6;
		int amb =
		    go >= 0 && !diffuse && excess >= it->st->second && it->sum[gy] >= it->st->label;
		/* split between classes that overlap, and not beyond them */
		int overlap = k > 1 && g[a] == g[b] && !amb && !diffuse && p2 >= it->st->second;
		it->kind[i] = amb ? 1 : diffuse ? 2 : overlap ? 3 : 0;
		if (amb) {
			int32_t c1 = y, c2 = it->other[i];
			it->pairs[(c1 < c2 ? c1 : c2) * k + (c1 < c2 ? c2 : c1)]++;
		}
	}
	return LP_OK;
}

static void items_free(struct items *it)
{
	free(it->first), free(it->second), free(it->p1), free(it->p2), free(it->entropy);
	free(it->score), free(it->kind), free(it->pairs), free(it->other), free(it->p_other);
	free(it->p_label);
	free(it->group), free(it->sum), free(it->best), free(it->usual);
}

static int items_new(lp_ctx *ctx, const lp_joint *j, const struct state *st, struct items *it)
{
	size_t n = (size_t)j->n + 1;

	memset(it, 0, sizeof(*it));
	it->j = j, it->st = st;
	it->first = malloc(sizeof(int32_t) * n), it->second = malloc(sizeof(int32_t) * n);
	it->p1 = malloc(sizeof(float) * n), it->p2 = malloc(sizeof(float) * n);
	it->entropy = malloc(sizeof(float) * n), it->score = malloc(sizeof(float) * n);
	it->other = malloc(sizeof(int32_t) * n), it->p_other = malloc(sizeof(float) * n);
	it->p_label = malloc(sizeof(float) * n);
	it->kind = calloc(n, 1);
	it->pairs = calloc((size_t)(j->k * j->k), sizeof(int64_t));
	it->group = malloc(sizeof(int32_t) * (size_t)j->k);
	it->sum = malloc(sizeof(double) * (size_t)j->k);
	it->best = malloc(sizeof(int32_t) * (size_t)j->k);
	it->usual = calloc((size_t)(j->k * j->k), sizeof(double));
	if (!it->first || !it->second || !it->p1 || !it->p2 || !it->entropy || !it->score ||
	    !it->kind || !it->pairs || !it->other || !it->p_other || !it->p_label || !it->group ||
	    !it->sum || !it->best || !it->usual)
		return host->error(ctx, LP_ERR_NOMEM, "ambiguous: out of memory");
	groups(it);
	return LP_OK;
}

static int write_items(lp_archive *a, const char *out, const struct items *it)
{
	int64_t dims[2] = {it->j->n, it->j->k}, kk[2] = {it->j->k, it->j->k};
	const char *ax[] = {"item"}, *ax2[] = {"class", "other_class"};
	char path[600];
	int rc = LP_OK;
#define OUT(leaf, dt, rank, d, axes, data)                                                         \
	if (!rc) {                                                                                 \
		snprintf(path, sizeof path, "%s/" leaf, out);                                      \
		rc = host->archive_write(a, path, dt, rank, d, axes, data);                        \
	}
	OUT("first", LP_I32, 1, dims, ax, it->first)
	OUT("second", LP_I32, 1, dims, ax, it->second)
	OUT("p_first", LP_F32, 1, dims, ax, it->p1)
	OUT("p_second", LP_F32, 1, dims, ax, it->p2)
	OUT("entropy", LP_F32, 1, dims, ax, it->entropy)
	OUT("other", LP_I32, 1, dims, ax, it->other)
	OUT("p_other", LP_F32, 1, dims, ax, it->p_other)
	OUT("p_label", LP_F32, 1, dims, ax, it->p_label)
	OUT("score", LP_F32, 1, dims, ax, it->score)
	OUT("kind", LP_U8, 1, dims, ax, it->kind)
	OUT("pairs", LP_I64, 2, kk, ax2, it->pairs)
#undef OUT
	return rc;
}

static int add_findings(lp_findings *f, const struct items *it, const char *split,
			const lp_inputs *in)
{
	const lp_joint *j = it->j;
	for (int64_t i = 0; i < j->n; i++) {
		if (it->kind[i] != 1 && it->kind[i] != 2)
			continue;
		int32_t y = j->labels[i], a = it->first[i], other = it->other[i];
		char text[1024];
		if (it->kind[i] == 1)
			snprintf(text, sizeof text,
				 "%s item %lld (labelled '%s', %.2f) may show '%s' too (%.2f)",
				 split, (long long)i, in->classes[y], it->p_label[i],
				 in->classes[other], it->p_other[i]);
		else
			snprintf(text, sizeof text,
				 "%s item %lld (labelled '%s') fits no class well: "
				 "its most probable, '%s', has only %.2f",
				 split, (long long)i, in->classes[y], in->classes[a], it->p1[i]);
		int rc = lp_findings_add(
		    f, &(lp_finding){.kind = it->kind[i] == 1 ? "ambiguous" : "diffuse",
				     .split = split,
				     .item = i,
				     .cls = y,
				     .other_class = it->kind[i] == 1 ? other : -1,
				     .other_item = -1,
				     .score = it->kind[i] == 1 ? it->score[i] : it->entropy[i] - 1,
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
	struct items it;
	int64_t counts[4] = {0};

	lp_group_split(g, split, sizeof split);
	snprintf(out, sizeof out, "%s/%s", io->group, split);
	memset(&it, 0, sizeof(it));
	int rc = lp_joint_group(ctx, io->archive, "ambiguous", in, g, &j);
	if (!rc)
		rc = items_new(ctx, &j, st, &it);
	if (!rc)
		rc = lp_joint_rows(ctx, io->archive, &j, usual_pass, &it);
	for (int64_t a = 0; !rc && a < j.k; a++) {
		int64_t n = 0;
		for (int64_t c = 0; c < j.k; c++)
			n += it.group[c] == a ? j.count[c] : 0;
		for (int64_t c = 0; n > 0 && c < j.k; c++)
			it.usual[a * j.k + c] /= (double)n;
	}
	if (!rc)
		rc = lp_joint_rows(ctx, io->archive, &j, scan, &it);
	for (int64_t i = 0; !rc && i < j.n; i++)
		counts[it.kind[i]]++;
	if (!rc)
		rc = write_items(io->archive, out, &it);
	if (!rc)
		rc = add_findings(f, &it, split, in);
	static const char *const names[] = {"", "ambiguous", "diffuse", "overlap_items"};
	for (int c = 1; !rc && c < 4; c++)
		rc = host->archive_attr_int(io->archive, out, names[c], counts[c]);
	if (!rc)
		rc = host->archive_attr_string(io->archive, out, "probabilities", j.probs);
	items_free(&it);
	lp_joint_free(&j);
	return rc;
}

static int run(lp_ctx *ctx, void *st, const lp_analysis_io *io)
{
	return lp_run_groups(ctx, st, io, "ambiguous", 0, one_split);
}

static const lp_param_spec params[] = {
    {"second", LP_PARAM_NUMBER, "0.1",
     "ambiguous: another class (overlapping classes summed as one) holds at least this much "
     "more than the items of the label usually give it"},
    {"label", LP_PARAM_NUMBER, "0.05",
     "ambiguous: and the label's class still holds at least this much (below, the label "
     "looks wrong: label_issues)"},
    {"overlap_share", LP_PARAM_NUMBER, "0.15",
     "classes that overlap this much (as in label_issues) are one candidate: an item split "
     "between them is the classes' problem, left out"},
    {0},
};

static const lp_analysis_vtable vt = {.size = sizeof vt, .init = init, .run = run};

static const lp_plugin desc = {
    LP_PLUGIN_HEADER,
    .kind = LP_KIND_ANALYSIS,
    .name = "ambiguous",
    .version = "1.1.0",
    .summary = "images split between two classes, apart from those that fit none",
    .params = params,
    .state_size = sizeof(struct state),
    .vtable = &vt,
};

LP_PLUGIN_DEFINE_HOST(desc, an_host)
