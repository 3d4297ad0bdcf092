/*
 * model.c — the run as the review page sees it, read once at start:
 *
 *   lpv_model m;
 *   if (lpv_model_load(ctx, "runs/x.h5", &opts, &m)) fail();
 *   ... m.items[i]: split, row, given label, top 5, score, findings, thumbnail hash ...
 *   lpv_model_free(&m);
 *
 * Items are every row of every split under /dataset that has labels. Probabilities per split
 * come from /predictions/<split>_crossval (out of sample) when the run has it, else
 * /predictions/<split>; a split without either is shown without a model's view. The score is
 * /analyses/label_issues/<split>/score where present, else 1 - p(given label). Findings
 * about items come from /analyses/{label_issues,ambiguous,duplicates,overlap}/findings; the
 * class-level merge_candidate findings of overlap become merge suggestions. A thumbnail's hash
 * is sha256 of the dataset's fingerprint, split, name and file size: it changes when the image
 * does, so its URL can be cached for ever.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "loupe/archive.h"
#include "review_int.h"

static const char *const analyses[] = { "label_issues", "ambiguous", "duplicates", "overlap" };

const char *lpv_suspect_name(int s)
{
	static const char *const names[] = { "", "label_issue", "ambiguous", "duplicate",
					     "overlap" };
	return s >= 0 && s <= LPV_SUS_OVERLAP ? names[s] : "";
}

static int read_strings(lp_archive *a, const char *path, char ***out, size_t *n)
{
	return lp_archive_read_strings(a, path, n, out);
}

/* rows x cols of a numeric dataset as dtype; *out malloc'd */
static int read_all(lp_archive *a, const char *path, int dtype, size_t esize, void **out,
		    int64_t *rows, int64_t *cols)
{
	int dt, rank;
	int64_t dims[4] = { 0, 1, 1, 1 };

	*out = NULL;
	if (lp_archive_info(a, path, &dt, &rank, dims))
		return -1;
	*rows = dims[0];
	*cols = rank > 1 ? dims[1] : 1;
	size_t bytes = (size_t)(*rows) * (size_t)(*cols) * esize;
	*out = malloc(bytes ? bytes : 1);
	if (!*out)
		return -1;
	return lp_archive_read(a, path, dtype, *out, bytes);
}

static int exists(lp_archive *a, const char *path)
{
	int kind = 0;
	return lp_archive_exists(a, path, &kind) == 0 && kind != LP_NODE_NONE;
}

static void hash_item(const char *fingerprint, const char *split, const char *name,
		      int64_t bytes, char out[17])
{
	char buf[1024];
	uint8_t d[32];
	int n = snprintf(buf, sizeof buf, "%s\n%s\n%s\n%lld", fingerprint, split, name,
			 (long long)bytes);
	lpi_sha256(buf, n > 0 && (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1, d);
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* the top LPV_TOP classes of one probability row */
static void top_of(const float *p, int K, lpv_item *it)
{
	it->ntop = K < LPV_TOP ? K : LPV_TOP;
	for (int t = 0; t < it->ntop; t++) {
		int best = -1;
		for (int c = 0; c < K; c++) {
			int used = 0;
			for (int u = 0; u < t; u++)
				used |= it->top[u] == c;
			if (!used && (best < 0 || p[c] > p[best]))
				best = c;
		}
		it->top[t] = best;
		it->topp[t] = p[best];
	}
}

/* the predictions of split s: probabilities, per prediction row the dataset row */
static int load_predictions(lp_ctx *ctx, lp_archive *a, lpv_model *m, int s)
{
	char path[256], items[256];
	const char *sp = m->splits[s];
	float *probs = NULL;
	int64_t *rows = NULL, n, k, n2, one;

	snprintf(path, sizeof path, "/predictions/%s_crossval/probs", sp);
	snprintf(items, sizeof items, "/predictions/%s_crossval/items", sp);
	if (!exists(a, path)) {
		snprintf(path, sizeof path, "/predictions/%s/probs", sp);
		snprintf(items, sizeof items, "/predictions/%s/items", sp);
		if (!exists(a, path))
			return 0;
	}
	int rc = read_all(a, path, LP_F32, sizeof(float), (void **)&probs, &n, &k) ||
		 read_all(a, items, LP_I64, sizeof(int64_t), (void **)&rows, &n2, &one);
	if (!rc && (k != m->K || n2 != n))
		rc = lp_error(ctx, LP_ERR_SHAPE, "%s: %lld x %lld, expected rows x %d classes",
			      path, (long long)n, (long long)k, m->K);
	for (int64_t i = 0; !rc && i < n; i++) {
		if (rows[i] < 0 || rows[i] >= m->rows[s])
			continue;
		lpv_item *it = &m->items[m->first[s] + (size_t)rows[i]];
		top_of(probs + i * k, m->K, it);
		if (it->label >= 0 && it->label < m->K) /* a label out of range stays unscored */
			it->score = 1.0f - probs[i * k + it->label];
	}
	free(probs);
	free(rows);
	return rc;
}

int lpv_split_index(const lpv_model *m, const char *split)
{
	for (int s = 0; s < m->n_splits; s++)
		if (strcmp(m->splits[s], split) == 0)
			return s;
	return -1;
}

/* label_issues' per-item score replaces 1 - p where the run has it */
static int load_scores(lp_archive *a, lpv_model *m, int s)
{
	char path[256];
	float *score = NULL;
	int64_t n, one;

	snprintf(path, sizeof path, "/analyses/label_issues/%s/score", m->splits[s]);
	if (!exists(a, path))
		return 0;
	if (read_all(a, path, LP_F32, sizeof(float), (void **)&score, &n, &one))
		return free(score), -1;
	for (int64_t i = 0; i < n && i < m->rows[s]; i++)
		m->items[m->first[s] + (size_t)i].score = score[i];
	free(score);
	return 0;
}

/* the findings of one analysis: item findings attached to their items, merge candidates kept */
static int load_findings(lp_archive *a, lpv_model *m, int which)
{
	char base[128], path[192];
	char **kind = NULL, **split = NULL, **text = NULL;
	int64_t *item = NULL, n = 0, one;
	int32_t *cls = NULL, *other = NULL;
	float *score = NULL;
	size_t nk = 0, ns = 0, nt = 0;
	int rc = 0;

	snprintf(base, sizeof base, "/analyses/%s/findings", analyses[which]);
	snprintf(path, sizeof path, "%s/kind", base);
	if (!exists(a, path))
		return 0;
#define COL(name, dt, T, v) (snprintf(path, sizeof path, "%s/" name, base), \
			     read_all(a, path, dt, sizeof(T), (void **)&v, &n, &one))
#define STR(name, v, c) (snprintf(path, sizeof path, "%s/" name, base), \
			 read_strings(a, path, &v, &c))
	rc = STR("kind", kind, nk) || STR("split", split, ns) || STR("text", text, nt) ||
	     COL("item", LP_I64, int64_t, item) || COL("class", LP_I32, int32_t, cls) ||
	     COL("other_class", LP_I32, int32_t, other) || COL("score", LP_F32, float, score);
#undef COL
#undef STR
	size_t cnt = rc ? 0 : (size_t)n;
	if (nk < cnt || ns < cnt || nt < cnt)
		cnt = 0;
	lpv_finding *f = realloc(m->findings, (m->n_findings + cnt) * sizeof *f + 1);
	lpv_merge *mg = realloc(m->merges, (m->n_merges + cnt) * sizeof *mg + 1);
	if (f)
		m->findings = f;
	if (mg)
		m->merges = mg;
	for (size_t i = 0; f && mg && i < cnt; i++) {
		int s = lpv_split_index(m, split[i]);
		if (item[i] < 0 && strcmp(kind[i], "merge_candidate") == 0 && cls[i] >= 0 &&
		    other[i] >= 0 && cls[i] < m->K && other[i] < m->K) {
			m->merges[m->n_merges++] = (lpv_merge){ cls[i], other[i], score[i],
								strdup(text[i]) };
			continue;
		}
		if (s < 0 || item[i] < 0 || item[i] >= m->rows[s])
			continue;
		lpv_item *it = &m->items[m->first[s] + (size_t)item[i]];
		lpv_finding *x = &m->findings[m->n_findings];
		*x = (lpv_finding){ strdup(kind[i]), strdup(text[i]), score[i], -1 };
		/* append at the end of the item's list: the analyses' order is kept */
		int32_t *link = &it->finding;
		while (*link >= 0)
			link = &m->findings[*link].next;
		*link = (int32_t)m->n_findings++;
		if (!it->suspect)
			it->suspect = which + 1;
	}
	free(kind), free(split), free(text), free(item), free(cls), free(other), free(score);
	return rc;
}

static int cmp_hash(const void *x, const void *y, void *arg)
{
	const lpv_model *m = arg;
	return strcmp(m->items[*(const size_t *)x].hash, m->items[*(const size_t *)y].hash);
}

int64_t lpv_model_by_hash(const lpv_model *m, const char *hash)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(m->items[m->by_hash[mid]].hash, hash);
		if (c == 0)
			return (int64_t)m->by_hash[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* splits with names and labels: items, hashes */
static int load_items(lp_ctx *ctx, lp_archive *a, lpv_model *m)
{
	char **splits = NULL, *fp = NULL, path[256];
	size_t ns = 0;

	if (lpi_archive_groups(a, "/dataset", &splits, &ns))
		return -1;
	lp_archive_attr_get(a, "/dataset", "fingerprint", &fp);
	m->first = calloc(9, sizeof *m->first);
	int rc = m->first ? 0 : lp_error(ctx, LP_ERR_NOMEM, "review: out of memory");
	for (size_t i = 0; !rc && i < ns && m->n_splits < 8; i++) {
		snprintf(path, sizeof path, "/dataset/%s/labels", splits[i]);
		if (strcmp(splits[i], "truth") == 0 || !exists(a, path))
			continue;
		int s = m->n_splits;
		int32_t *labels = NULL;
		int64_t *bytes = NULL, n, one, nb = 0;
		size_t nn = 0;
		rc = read_all(a, path, LP_I32, sizeof(int32_t), (void **)&labels, &n, &one);
		snprintf(path, sizeof path, "/dataset/%s/names", splits[i]);
		rc = rc || read_strings(a, path, &m->names[s], &nn);
		snprintf(path, sizeof path, "/dataset/%s/bytes", splits[i]);
		if (!rc && exists(a, path))
			rc = read_all(a, path, LP_I64, sizeof(int64_t), (void **)&bytes, &nb, &one);
		if (!rc && nn != (size_t)n)
			rc = lp_error(ctx, LP_ERR_SHAPE, "%s: %zu names for %lld labels", path, nn,
				      (long long)n);
		lpv_item *items = rc ? NULL : realloc(m->items, (m->n + (size_t)n) * sizeof *items + 1);
		if (!rc && !items)
			rc = lp_error(ctx, LP_ERR_NOMEM, "review: out of memory");
		if (!rc) {
			m->items = items;
			m->splits[s] = strdup(splits[i]);
			m->rows[s] = n;
			m->first[s] = m->n;
			for (int64_t r = 0; r < n; r++) {
				lpv_item *it = &m->items[m->n++];
				*it = (lpv_item){ .split = s, .row = r, .label = labels[r], .finding = -1 };
				hash_item(fp ? fp : "", splits[i], m->names[s][r],
					  r < nb ? bytes[r] : -1, it->hash);
			}
			m->n_splits++;
		}
		free(labels);
		free(bytes);
	}
	free(fp);
	lpi_strings_free(splits, ns);
	return rc;
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* blind mode: the split's items in a seeded random order (Fisher-Yates) */
static int blind_order(lp_ctx *ctx, lpv_model *m, const lp_review_opts *o)
{
	const char *split = o->split ? o->split : "test";
	int s = lpv_split_index(m, split);
	if (s < 0)
		return lp_error(ctx, LP_ERR_NOTFOUND, "review --blind: the run has no split '%s' "
				"with labels under /dataset", split);
	m->n_blind = (size_t)m->rows[s];
	m->blind = malloc(m->n_blind * sizeof *m->blind + 1);
	if (!m->blind)
		return lp_error(ctx, LP_ERR_NOMEM, "review: out of memory");
	for (size_t i = 0; i < m->n_blind; i++)
		m->blind[i] = m->first[s] + i;
	uint64_t st = o->seed ? o->seed : 1;
	for (size_t i = m->n_blind; i > 1; i--) {
		st = mix(st);
		size_t j = (size_t)(st % i), t = m->blind[i - 1];
		m->blind[i - 1] = m->blind[j];
		m->blind[j] = t;
	}
	return 0;
}

static int load_all(lp_ctx *ctx, lp_archive *a, const lp_review_opts *o, lpv_model *m)
{
	size_t nc = 0;
	if (read_strings(a, "/dataset/classes", &m->classes, &nc))
		return -1;
	m->K = (int)nc;
	if (load_items(ctx, a, m))
		return -1;
	if (m->n == 0)
		return lp_error(ctx, LP_ERR_NOTFOUND, "%s: no split under /dataset has labels",
				o->run);
	for (int s = 0; s < m->n_splits; s++)
		if (load_predictions(ctx, a, m, s) || load_scores(a, m, s))
			return -1;
	for (int w = 0; w < 4; w++)
		if (load_findings(a, m, w))
			return -1;
	m->by_hash = malloc(m->n * sizeof *m->by_hash);
	if (!m->by_hash)
		return lp_error(ctx, LP_ERR_NOMEM, "review: out of memory");
	for (size_t i = 0; i < m->n; i++)
		m->by_hash[i] = i;
	qsort_r(m->by_hash, m->n, sizeof *m->by_hash, cmp_hash, m);
	return o->blind ? blind_order(ctx, m, o) : 0;
}

int lpv_model_load(lp_ctx *ctx, lp_archive *a, const lp_review_opts *o, lpv_model *m)
{
	memset(m, 0, sizeof *m);
	int rc = load_all(ctx, a, o, m);
	if (rc)
		lpv_model_free(m);
	return rc ? -1 : 0;
}

void lpv_model_free(lpv_model *m)
{
	free(m->classes);
	for (int s = 0; s < m->n_splits; s++) {
		free(m->splits[s]);
		free(m->names[s]);
	}
	for (size_t i = 0; i < m->n_findings; i++) {
		free(m->findings[i].kind);
		free(m->findings[i].text);
	}
	for (size_t i = 0; i < m->n_merges; i++)
		free(m->merges[i].text);
	free(m->findings);
	free(m->merges);
	free(m->items);
	free(m->first);
	free(m->by_hash);
	free(m->blind);
	memset(m, 0, sizeof *m);
}
