/* find.c — the duplicates analysis' search: read the splits, hash every item, group equal
 * digests, then confirm the hash-near pairs on their thumbnails (duplicates.h). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "duplicates.h"

#define host an_host
#define CHUNK 1024 /* thumbnails read at a time */

/* train first, then by name */
static int split_order(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	int tx = strcmp(x, "train") == 0, ty = strcmp(y, "train") == 0;
	return tx != ty ? ty - tx : strcmp(x, y);
}

static int read_split(lp_ctx *ctx, struct dup_run *r, struct dup_split *sp)
{
	lp_archive *a = r->io->archive;
	char path[300];
	int dtype, rank, kind = 0, rc;
	int64_t dims[8];

	snprintf(path, sizeof path, "/dataset/%s/labels", sp->name);
	if ((rc = host->archive_info(a, path, &dtype, &rank, dims)))
		return rc;
	if (rank != 1)
		return host->error(ctx, LP_ERR_FORMAT, "duplicates: %s has %d dimensions; expected 1 "
				   "(one label per item)", path, rank);
	sp->n = dims[0];
	if (!(sp->labels = malloc(sizeof(int32_t) * (size_t)(sp->n + 1))))
		return host->error(ctx, LP_ERR_NOMEM, "duplicates: out of memory");
	if ((rc = lp_read_labels(ctx, a, "duplicates", path, sp->n, (int64_t)r->nclasses,
				 sp->labels)))
		return rc;
	snprintf(path, sizeof path, "/dataset/%s/names", sp->name);
	if (host->archive_exists(a, path, &kind) == LP_OK && kind == 2 &&
	    (rc = host->archive_read_strings(a, path, &sp->nnames, &sp->names)))
		return rc;
	if (sp->names && sp->nnames != (size_t)sp->n)
		return host->error(ctx, LP_ERR_FORMAT, "duplicates: %s has %zu rows; the split has "
				   "%" PRId64 " labels", path, sp->nnames, sp->n);
	return LP_OK;
}

int dup_read_inputs(lp_ctx *ctx, struct dup_run *r)
{
	lp_archive *a = r->io->archive;
	char **v = NULL;
	size_t n = 0;
	int kind = 0, rc;

	if ((rc = host->archive_exists(a, "/dataset/classes", &kind)))
		return rc;
	if (kind != 2)
		return host->error(ctx, LP_ERR_NOTFOUND, "duplicates: the archive has no "
				   "/dataset/classes (docs/ARCHIVE.md)");
	if ((rc = host->archive_read_strings(a, "/dataset/classes", &r->nclasses, &r->classes)) ||
	    (rc = lp_list_groups(ctx, a, "duplicates", "/dataset", &v, &n)))
		goto out;
	qsort(v, n, sizeof(*v), split_order);
	if (!(r->splits = calloc(n + 1, sizeof(*r->splits)))) {
		rc = host->error(ctx, LP_ERR_NOMEM, "duplicates: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		char path[300];
		snprintf(path, sizeof path, "/dataset/%s/labels", v[i]);
		if (host->archive_exists(a, path, &kind) != LP_OK || kind != 2)
			continue; /* skipped/, truth/: not a split */
		struct dup_split *sp = &r->splits[r->nsplits++];
		sp->name = v[i];
		v[i] = NULL;
		sp->first = r->n;
		if (!(rc = read_split(ctx, r, sp)))
			r->n += sp->n;
	}
	if (!rc && !r->nsplits)
		rc = host->error(ctx, LP_ERR_NOTFOUND, "duplicates: no split under /dataset has "
				 "labels (/dataset/<split>/labels)");
out:
	lp_names_free(v, n);
	return rc;
}

const struct dup_split *dup_split_of(const struct dup_run *r, int64_t g)
{
	for (size_t i = r->nsplits; i-- > 0;)
		if (g >= r->splits[i].first)
			return &r->splits[i];
	return &r->splits[0];
}

int dup_hash_all(lp_ctx *ctx, struct dup_run *r)
{
	const size_t one = DUP_SIZE * DUP_SIZE * 3;
	uint8_t digest[CHUNK * 16], blurred[DUP_SIZE * DUP_SIZE * 3];
	int64_t rows[CHUNK], done = 0;
	int rc = LP_OK;

	r->items = calloc((size_t)r->n + 1, sizeof(*r->items));
	r->feature = malloc(sizeof(float) * DUP_FEATURE * (size_t)(r->n + 1));
	r->thumb = malloc(one * (size_t)(r->n + 1)); /* 3 KB an item */
	if (!r->items || !r->feature || !r->thumb)
		return host->error(ctx, LP_ERR_NOMEM, "duplicates: out of memory for %" PRId64
				   " thumbnails", r->n);
	for (size_t s = 0; s < r->nsplits && !rc; s++) {
		const struct dup_split *sp = &r->splits[s];
		for (int64_t row0 = 0; row0 < sp->n && !rc; row0 += CHUNK) {
			int64_t m = sp->n - row0 < CHUNK ? sp->n - row0 : CHUNK;
			uint8_t *px = r->thumb + one * (size_t)(sp->first + row0);
			for (int64_t i = 0; i < m; i++)
				rows[i] = row0 + i;
			if ((rc = host->analysis_images(ctx, r->io, sp->name, rows, (size_t)m,
							DUP_SIZE, px, digest)))
				break;
			for (int64_t i = 0; i < m; i++) {
				int64_t g = sp->first + row0 + i;
				struct dup_item *it = &r->items[g];
				it->hash = dup_phash(px + (size_t)i * one,
						     r->feature + DUP_FEATURE * (size_t)g);
				dup_blur(px + (size_t)i * one, DUP_SIZE, blurred);
				it->spread = (float)dup_spread(blurred, DUP_SIZE);
				memcpy(it->digest, digest + 16 * i, 16);
				it->match = -1;
			}
			done += m;
			host->log(ctx, LP_LOG_INFO, "duplicates: %" PRId64 " of %" PRId64 " images "
				  "read", done, r->n);
		}
	}
	return rc;
}

static const struct dup_item *sort_items; /* qsort has no user pointer */

static int by_digest(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	int c = memcmp(sort_items[x].digest, sort_items[y].digest, 16);
	return c ? c : (x > y) - (x < y);
}

int dup_exact(lp_ctx *ctx, struct dup_run *r)
{
	int64_t *order = malloc(sizeof(int64_t) * (size_t)(r->n + 1));

	if (!order)
		return host->error(ctx, LP_ERR_NOMEM, "duplicates: out of memory");
	for (int64_t i = 0; i < r->n; i++)
		order[i] = i;
	sort_items = r->items;
	qsort(order, (size_t)r->n, sizeof(*order), by_digest);
	for (int64_t i = 1, first = order[0]; i < r->n; i++) {
		struct dup_item *it = &r->items[order[i]];
		if (memcmp(it->digest, r->items[first].digest, 16)) {
			first = order[i];
			continue;
		}
		it->match = first;
		it->kind = DUP_EXACT;
		it->diff = 0;
		r->exact++;
	}
	free(order);
	return LP_OK;
}

#define MAX_NEIGHBOURS 8

/* item j's nearest earlier items by feature at the best shift (exact copies left out: their
 * originals stand for them), confirmed on the blurred thumbnails */
struct search {
	struct dup_run *r;
	int64_t next; /* the next j to take (atomic) */
	int neighbours;
};

static void nearest(const struct dup_run *r, int64_t j, const float *sj, int ns, int m,
		    int64_t *best, float *dot)
{
	for (int k = 0; k < m; k++) {
		best[k] = -1;
		dot[k] = -2;
	}
	for (int64_t i = 0; i < j; i++) {
		if (r->items[i].kind == DUP_EXACT)
			continue;
		const float *b = r->feature + DUP_FEATURE * (size_t)i;
		float top = -2;
		for (int k = 0; k < ns; k++) {
			const float *a = sj + DUP_FEATURE * (size_t)k;
			float d = 0;
			for (int t = 0; t < DUP_FEATURE; t++)
				d += a[t] * b[t];
			top = d > top ? d : top;
		}
		if (top <= dot[m - 1])
			continue;
		int k = m - 1;
		for (; k > 0 && dot[k - 1] < top; k--) {
			dot[k] = dot[k - 1];
			best[k] = best[k - 1];
		}
		dot[k] = top;
		best[k] = i;
	}
}

static void confirm(struct dup_run *r, int64_t j, const int64_t *best, int m)
{
	const size_t one = DUP_SIZE * DUP_SIZE * 3;
	uint8_t a[DUP_SIZE * DUP_SIZE * 3], b[DUP_SIZE * DUP_SIZE * 3];
	struct dup_item *it = &r->items[j];
	const int shift = (int)r->s->shift;

	dup_blur(r->thumb + one * (size_t)j, DUP_SIZE, b);
	for (int k = 0; k < m && best[k] >= 0; k++) {
		dup_blur(r->thumb + one * (size_t)best[k], DUP_SIZE, a);
		double d = dup_diff(a, r->items[best[k]].spread, b, it->spread, DUP_SIZE, shift,
				    1.5 * r->s->max_diff);
		/* the earliest split's copy first (a test image that is a training image), then
		 * the closest */
		const struct dup_split *sc = dup_split_of(r, best[k]);
		const struct dup_split *sm = it->match >= 0 ? dup_split_of(r, it->match) : NULL;
		if (d > r->s->max_diff || (sm && (sm < sc || (sm == sc && d >= it->diff))))
			continue;
		it->match = best[k];
		it->kind = DUP_NEAR;
		it->diff = (float)d;
	}
}

static void *search_worker(void *arg)
{
	struct search *s = arg;
	struct dup_run *r = s->r;
	const int ns = (int)((2 * r->s->shift + 1) * (2 * r->s->shift + 1));
	float *sj = malloc(sizeof(float) * DUP_FEATURE * (size_t)ns), dot[MAX_NEIGHBOURS];
	int64_t best[MAX_NEIGHBOURS];

	if (!sj)
		return (void *)1;
	for (;;) {
		int64_t j = __atomic_fetch_add(&s->next, 1, __ATOMIC_RELAXED);
		if (j >= r->n)
			break;
		if (j == 0 || r->items[j].kind == DUP_EXACT)
			continue;
		dup_feature_shifted(r->thumb + DUP_SIZE * DUP_SIZE * 3 * (size_t)j,
				    (int)r->s->shift, sj);
		nearest(r, j, sj, ns, s->neighbours, best, dot);
		confirm(r, j, best, s->neighbours);
	}
	free(sj);
	return NULL;
}

int dup_near(lp_ctx *ctx, struct dup_run *r)
{
	struct search s = { r, 0, (int)r->s->neighbours };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int nt = cpus < 1 ? 1 : cpus > 16 ? 16 : (int)cpus, started = 0;
	pthread_t tid[16];
	void *bad = NULL;

	for (int t = 0; t < nt; t++)
		started += pthread_create(&tid[t], NULL, search_worker, &s) == 0;
	if (!started)
		bad = search_worker(&s);
	for (int t = 0; t < started; t++) {
		void *res;
		pthread_join(tid[t], &res);
		bad = res ? res : bad;
	}
	if (bad)
		return host->error(ctx, LP_ERR_NOMEM, "duplicates: out of memory");
	for (int64_t j = 0; j < r->n; j++)
		r->near += r->items[j].kind == DUP_NEAR;
	return LP_OK;
}

void dup_run_free(struct dup_run *r)
{
	for (size_t i = 0; i < r->nsplits; i++) {
		struct dup_split *sp = &r->splits[i];
		free(sp->name);
		free(sp->labels);
		host->free(sp->names); /* one block with its strings */
	}
	free(r->splits);
	host->free(r->classes);
	free(r->items);
	free(r->feature);
	free(r->thumb);
}
