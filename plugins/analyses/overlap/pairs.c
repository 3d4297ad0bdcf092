/* pairs.c — see pairs.h.
 *
 * What the last pass needs of a row is the argmax over classes outside a small set S (a pair,
 * or the classes merged so far): the row's own argmax, kept from the joint's pass, unless that
 * is in S — only then is the row read whole. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pairs.h"

#define host an_host

/* joint pass 2: argmax against label */
static int first(void *user, int64_t row0, int64_t rows, const float *p)
{
	lp_overlap *o = user;
	int64_t k = o->j->k;

	for (int64_t r = 0; r < rows; r++) {
		float v;
		if (r + 2 < rows) { /* the count it will most likely raise: out of cache by now */
			int64_t y = o->j->labels[row0 + r + 2];
			__builtin_prefetch(o->argmax + y * k + y, 1, 3);
		}
		int64_t best = lp_argmax(p + r * k, 0, k, &v);
		o->top[row0 + r] = (int32_t)best;
		o->argmax[(int64_t)o->j->labels[row0 + r] * k + best]++;
	}
	return LP_OK;
}

/* the `top` pairs a < b by Q[a][b] + Q[b][a], largest first (ties: the smaller a, b) */
static int64_t rank_pairs(const lp_joint *j, int64_t top, lp_pair *out)
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
			out[at] = (lp_pair){(int32_t)a, (int32_t)b, s, 0, 0, 0};
		}
	return n;
}

/* group maps after each greedy merge of the ranked pairs (union of groups, id = min class) */
static void greedy_groups(const lp_pair *pairs, int64_t steps, int64_t k, int32_t *group)
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

/* one greedy step's merged classes, ascending: members of groups of two or more */
struct step {
	const int32_t *g; /* [k] */
	int32_t *member;  /* [nm] */
	int64_t nm;
	uint8_t *in;      /* [k] class c is a member */
};

struct last {
	lp_overlap *o;
	struct step *step; /* [o->steps] */
	double *sum;       /* [k] scratch, by group id */
};

/* the argmax over p of the classes outside ex (sorted; in: its indicator), given the row's
 * argmax t1 */
static int64_t argmax_out(const float *p, int64_t k, int64_t t1, const int32_t *ex, int64_t nex,
			  int t1_in, float *v)
{
	if (!t1_in) {
		*v = p[t1];
		return t1;
	}
	return lp_argmax_except(p, k, ex, nex, v);
}

/* whether a row is right once step s's groups are one class each: the argmax with each
 * group's probabilities summed (in class order, as one sum per group), ties to the smaller id */
static int step_right(const struct step *s, double *sum, const float *p, int64_t k, int64_t t1,
		      int32_t y)
{
	float sv;
	int64_t best = argmax_out(p, k, t1, s->member, s->nm, s->in[t1], &sv);
	double top = sv;

	for (int64_t e = 0; e < s->nm; e++)
		sum[s->g[s->member[e]]] = 0;
	for (int64_t e = 0; e < s->nm; e++)
		sum[s->g[s->member[e]]] += p[s->member[e]];
	for (int64_t e = 0; e < s->nm; e++) {
		int64_t id = s->member[e];
		if (s->g[id] != id)
			continue;
		if (best < 0 || sum[id] > top || (sum[id] == top && id < best))
			best = id, top = sum[id];
	}
	return best == s->g[y];
}

static int last_pass(void *user, int64_t row0, int64_t rows, const float *p)
{
	struct last *l = user;
	lp_overlap *o = l->o;
	int64_t k = o->j->k;

	for (int64_t r = 0; r < rows; r++) {
		const float *row = p + r * k;
		int64_t i = row0 + r, t1 = o->top[i];
		int32_t y = o->j->labels[i];
		for (int64_t x = 0; x < o->npairs; x++) {
			const lp_pair *q = &o->pairs[x];
			int in = y == q->a || y == q->b;
			if (!in && t1 != y)
				continue; /* a third class wins, merged or not */
			double m = (double)row[q->a] + row[q->b];
			if (!in) { /* the merged class wins ties: its members were one class */
				o->right[x] += row[y] > m;
				continue;
			}
			int32_t ex[2] = {q->a, q->b};
			float other;
			argmax_out(row, k, t1, ex, 2, t1 == q->a || t1 == q->b, &other);
			o->right[x] += m >= (double)other;
		}
		for (int64_t t = 0; t < o->steps; t++)
			o->step_right[t] += step_right(&l->step[t], l->sum, row, k, t1, y);
	}
	return LP_OK;
}

static void last_free(struct last *l, int64_t steps)
{
	for (int64_t t = 0; l->step && t < steps; t++)
		free(l->step[t].member), free(l->step[t].in);
	free(l->step);
	free(l->sum);
}

static int last_new(lp_overlap *o, struct last *l)
{
	int64_t k = o->j->k;

	l->o = o;
	l->step = calloc((size_t)o->steps + 1, sizeof(*l->step));
	l->sum = calloc((size_t)k, sizeof(double));
	if (!l->step || !l->sum)
		return LP_ERR_NOMEM;
	for (int64_t t = 0; t < o->steps; t++) {
		struct step *s = &l->step[t];
		s->g = o->group + t * k;
		s->member = malloc(sizeof(int32_t) * (size_t)k);
		s->in = calloc((size_t)k, 1);
		if (!s->member || !s->in)
			return LP_ERR_NOMEM;
		for (int64_t c = 0; c < k; c++)
			s->in[s->g[c]] |= s->g[c] != c, s->in[c] |= s->g[c] != c;
		for (int64_t c = 0; c < k; c++)
			if (s->in[c])
				s->member[s->nm++] = (int32_t)c;
	}
	return LP_OK;
}

static int overlap_new(lp_ctx *ctx, lp_joint *j, int64_t top, lp_overlap *o)
{
	memset(o, 0, sizeof(*o));
	o->j = j;
	o->pairs = calloc((size_t)top + 1, sizeof(*o->pairs));
	o->argmax = calloc((size_t)(j->k * j->k), sizeof(int64_t));
	o->top = malloc(sizeof(int32_t) * (size_t)(j->n + 1));
	if (!o->pairs || !o->argmax || !o->top)
		return host->error(ctx, LP_ERR_NOMEM, "overlap: out of memory");
	j->each = first;
	j->user = o;
	return LP_OK;
}

/* the pairs and steps, once Q is known */
static int plan(lp_ctx *ctx, lp_overlap *o, int64_t top, int64_t merges)
{
	int64_t k = o->j->k;

	o->npairs = rank_pairs(o->j, top, o->pairs);
	o->steps = merges < o->npairs ? merges : o->npairs;
	o->right = calloc((size_t)o->npairs + 1, sizeof(int64_t));
	o->step_right = calloc((size_t)o->steps + 1, sizeof(int64_t));
	o->group = calloc((size_t)((o->steps + 1) * k), sizeof(int32_t));
	if (!o->right || !o->step_right || !o->group)
		return host->error(ctx, LP_ERR_NOMEM, "overlap: out of memory");
	greedy_groups(o->pairs, o->steps, k, o->group);
	return LP_OK;
}

int lp_overlap_compute(lp_ctx *ctx, lp_archive *a, lp_joint *j, int64_t top, int64_t merges,
		       lp_overlap *o)
{
	struct last l = {0};
	int rc = overlap_new(ctx, j, top, o);

	if (!rc)
		rc = lp_joint_run(ctx, a, "overlap", j);
	j->each = NULL, j->user = NULL;
	if (!rc)
		rc = plan(ctx, o, top, merges);
	if (!rc && o->npairs && last_new(o, &l))
		rc = host->error(ctx, LP_ERR_NOMEM, "overlap: out of memory");
	if (!rc && o->npairs)
		rc = lp_joint_rows(ctx, a, j, last_pass, &l);
	last_free(&l, o->steps);
	double n = (double)(j->n ? j->n : 1);
	for (int64_t c = 0; !rc && c < j->k; c++)
		o->accuracy += (double)o->argmax[c * j->k + c] / n;
	for (int64_t x = 0; !rc && x < o->npairs; x++) {
		lp_pair *q = &o->pairs[x];
		q->count = (int64_t)nearbyint((double)j->n * q->joint);
		q->relabel = o->accuracy +
			     (double)(o->argmax[q->a * j->k + q->b] + o->argmax[q->b * j->k + q->a]) /
				 n;
		q->merged = (double)o->right[x] / n;
	}
	return rc;
}

void lp_overlap_free(lp_overlap *o)
{
	free(o->pairs), free(o->right), free(o->argmax), free(o->group), free(o->step_right);
	free(o->top);
	memset(o, 0, sizeof(*o));
}
