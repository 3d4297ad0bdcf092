/* loader.c — batches from a split, made by worker threads a few batches ahead of the consumer.
 *
 * Workers take items one at a time in epoch order and write each into its place in a ring of
 * batch slots; the consumer takes whole batches in order. What an item becomes depends only on
 * (seed, epoch, item), so the batches are the same whatever the number of threads. */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

struct slot {
	float *x;
	int32_t *labels;
	int64_t *index;
	int64_t batch, n, done;
	int64_t err_at; /* position in the batch of the first failed item, or -1 */
	char err[1024];
	int err_code;
};

struct lp_loader {
	lp_ctx *ctx;
	lp_split *s;
	lp_loader_opts o;
	int C, S;
	size_t item_floats;
	int64_t nb, end_item, *perm, *sub, count;
	int32_t *labels;
	uint64_t epoch;
	int started;
	struct slot *slots;
	int nslots;
	pthread_t *tid;
	int nthreads;
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_done;
	int64_t next_item, consumed, released, inflight;
	int holding, stop, paused;
};

lp_loader_opts lp_loader_defaults(void)
{
	lp_loader_opts o = { .batch = 32, .threads = 2, .prefetch = 2 };

	o.aug.size = 224;
	o.aug.std[0] = o.aug.std[1] = o.aug.std[2] = 1;
	return o;
}

static uint64_t item_key(const lp_loader_opts *o, uint64_t epoch, int64_t item)
{
	return lpi_mix(lpi_mix(o->seed, epoch + 1), (uint64_t)item);
}

int lp_loader_item(lp_ctx *ctx, const lp_split *s, int64_t i, const lp_augment *aug,
		   uint64_t seed, uint64_t epoch, int channels, float *out)
{
	int w, h, c, rc;
	uint8_t *px;
	lp_loader_opts o = { .seed = seed };

	if ((rc = lp_split_pixels(ctx, s, i, &w, &h, &c, &px)))
		return rc;
	rc = lp_augment_image(ctx, px, w, h, c, aug, item_key(&o, epoch, i), channels, out);
	free(px);
	return rc;
}

/* Make item number `pos` of the epoch into its place in slot sl; a failure is described in err. */
static int produce(lp_loader *ld, lp_ctx *wctx, struct slot *sl, int64_t pos, char *err,
		   size_t errsz)
{
	int64_t j = pos - sl->batch * ld->o.batch, item = ld->perm[pos];
	int w, h, c, rc;
	uint8_t *px = NULL;

	sl->labels[j] = ld->labels ? ld->labels[item] : ld->s->items[item].label;
	sl->index[j] = item;
	if (!wctx) {
		snprintf(err, errsz, "loader: out of memory");
		return LP_ERR_NOMEM;
	}
	if (ld->o.random_pixels) { /* Box-Muller over a counter keyed by (seed, item) only */
		float *x = sl->x + (size_t)j * ld->item_floats;
		uint64_t split = 0;
		for (const char *ch = ld->s->name; *ch; ch++) /* another split, other noise */
			split = split * 131 + (unsigned char)*ch;
		uint64_t key = lpi_mix(lpi_mix(lpi_mix(ld->o.seed, 0x6e6f697365ull), split),
				       (uint64_t)item);
		for (size_t k = 0; k < ld->item_floats; k += 2) {
			uint64_t a = lpi_mix(key, k), b = lpi_mix(key, k + 1);
			double u1 = ((double)(a >> 11) + 1) / 9007199254740993.0;
			double u2 = (double)(b >> 11) / 9007199254740992.0;
			double r = sqrt(-2 * log(u1));
			x[k] = (float)(r * cos(6.283185307179586 * u2));
			if (k + 1 < ld->item_floats)
				x[k + 1] = (float)(r * sin(6.283185307179586 * u2));
		}
		return LP_OK;
	}
	rc = lp_split_pixels(wctx, ld->s, item, &w, &h, &c, &px);
	if (!rc)
		rc = lp_augment_image(wctx, px, w, h, c, &ld->o.aug,
				      item_key(&ld->o, ld->epoch, item), ld->C,
				      sl->x + (size_t)j * ld->item_floats);
	free(px);
	if (rc)
		snprintf(err, errsz, "loader: %s item %" PRId64 " (%s): %s", ld->s->name, item,
			 ld->s->items[item].name, lp_ctx_errmsg(wctx));
	return rc;
}

static void slot_claim(lp_loader *ld, struct slot *sl, int64_t b)
{
	if (sl->batch == b)
		return;
	sl->batch = b;
	sl->n = ld->end_item - b * ld->o.batch < ld->o.batch ? ld->end_item - b * ld->o.batch
							      : ld->o.batch;
	sl->done = 0;
	sl->err_at = -1;
	sl->err_code = 0;
}

static void *worker(void *arg)
{
	lp_loader *ld = arg;
	lp_ctx *w = NULL;
	char err[1024];

	if (lp_ctx_new(&w) == LP_OK)
		lp_ctx_seed(w, ld->o.seed);
	pthread_mutex_lock(&ld->mu);
	for (;;) {
		while (!ld->stop && (ld->paused || ld->next_item >= ld->end_item ||
				     ld->next_item / ld->o.batch >= ld->released + ld->nslots))
			pthread_cond_wait(&ld->cv_work, &ld->mu);
		if (ld->stop)
			break;
		int64_t pos = ld->next_item++, b = pos / ld->o.batch;
		struct slot *sl = &ld->slots[b % ld->nslots];
		slot_claim(ld, sl, b);
		ld->inflight++;
		pthread_mutex_unlock(&ld->mu);
		int rc = produce(ld, w, sl, pos, err, sizeof err);
		pthread_mutex_lock(&ld->mu);
		ld->inflight--;
		int64_t j = pos - b * ld->o.batch;
		if (rc && (sl->err_at < 0 || j < sl->err_at)) {
			sl->err_at = j;
			sl->err_code = rc;
			memcpy(sl->err, err, sizeof err);
		}
		if (++sl->done == sl->n || ld->inflight == 0)
			pthread_cond_broadcast(&ld->cv_done);
	}
	pthread_mutex_unlock(&ld->mu);
	lp_ctx_free(w);
	return NULL;
}

void lp_loader_free(lp_loader *ld)
{
	if (!ld)
		return;
	if (ld->nthreads) {
		pthread_mutex_lock(&ld->mu);
		ld->stop = 1;
		pthread_cond_broadcast(&ld->cv_work);
		pthread_mutex_unlock(&ld->mu);
		for (int t = 0; t < ld->nthreads; t++)
			pthread_join(ld->tid[t], NULL);
	}
	pthread_mutex_destroy(&ld->mu);
	pthread_cond_destroy(&ld->cv_work);
	pthread_cond_destroy(&ld->cv_done);
	for (int k = 0; ld->slots && k < ld->nslots; k++) {
		free(ld->slots[k].x);
		free(ld->slots[k].labels);
		free(ld->slots[k].index);
	}
	free(ld->slots);
	free(ld->tid);
	free(ld->perm);
	free(ld->sub);
	free(ld->labels);
	free(ld);
}

int lp_loader_new(lp_ctx *ctx, lp_split *s, const lp_loader_opts *opts, lp_loader **out)
{
	lp_loader *ld;
	int rc;

	*out = NULL;
	if ((rc = lp_augment_check(ctx, &opts->aug)))
		return rc;
	if (opts->batch < 1)
		return lp_error(ctx, LP_ERR_ARG, "loader: batch = %" PRId64 "; it must be >= 1",
				opts->batch);
	if (opts->threads < 0 || opts->threads > 64)
		return lp_error(ctx, LP_ERR_ARG, "loader: threads = %d; it must be 0..64",
				opts->threads);
	if (opts->prefetch < 0 || opts->prefetch > 64)
		return lp_error(ctx, LP_ERR_ARG, "loader: prefetch = %d; it must be 0..64",
				opts->prefetch);
	if ((rc = lp_split_scan(s, opts->threads, NULL, NULL)))
		return rc;
	int64_t count = opts->items ? opts->nitems : s->n;
	if (opts->items) {
		if (opts->nitems < 1)
			return lp_error(ctx, LP_ERR_ARG, "loader: an empty item list");
		for (int64_t i = 0; i < opts->nitems; i++)
			if (opts->items[i] < 0 || opts->items[i] >= s->n)
				return lp_error(ctx, LP_ERR_ARG, "loader: item %" PRId64 " is not in "
						"split %s (0..%" PRId64 ")", opts->items[i], s->name,
						s->n - 1);
	}
	if (opts->batch > count)
		return lp_error(ctx, LP_ERR_ARG, "loader: batch = %" PRId64 " is larger than split "
				"%s, which has %" PRId64 " items%s", opts->batch, s->name, count,
				opts->items ? " in this subset" : "");
	if (!(ld = calloc(1, sizeof(*ld))))
		return lp_error(ctx, LP_ERR_NOMEM, "loader: out of memory");
	pthread_mutex_init(&ld->mu, NULL);
	pthread_cond_init(&ld->cv_work, NULL);
	pthread_cond_init(&ld->cv_done, NULL);
	ld->ctx = ctx;
	ld->s = s;
	ld->o = *opts;
	if (!ld->o.prefetch)
		ld->o.prefetch = 2;
	ld->S = opts->aug.size;
	ld->C = opts->aug.channels;
	if (!ld->C) {
		ld->C = 1;
		for (int64_t i = 0; i < s->n; i++)
			if (s->items[i].channels != 1)
				ld->C = 3;
	}
	ld->item_floats = (size_t)ld->C * (size_t)ld->S * (size_t)ld->S;
	ld->count = count;
	if (opts->labels) {
		size_t nc = lp_dataset_classes(s->ds, NULL);
		for (int64_t i = 0; i < s->n; i++)
			if (opts->labels[i] < 0 || (size_t)opts->labels[i] >= nc) {
				lp_loader_free(ld);
				return lp_error(ctx, LP_ERR_ARG, "loader: labels[%" PRId64 "] = %d is not "
						"a class (0..%zu)", i, (int)opts->labels[i], nc - 1);
			}
		if (!(ld->labels = malloc(sizeof(int32_t) * (size_t)s->n))) {
			lp_loader_free(ld);
			return lp_error(ctx, LP_ERR_NOMEM, "loader: out of memory");
		}
		memcpy(ld->labels, opts->labels, sizeof(int32_t) * (size_t)s->n);
	}
	ld->o.labels = NULL; /* ours is ld->labels */
	ld->o.items = NULL; /* ours is ld->sub */
	ld->nb = opts->drop_last ? count / opts->batch : (count + opts->batch - 1) / opts->batch;
	ld->end_item = opts->drop_last ? ld->nb * opts->batch : count;
	ld->nslots = ld->o.threads ? ld->o.prefetch + 1 : 1;
	ld->slots = calloc((size_t)ld->nslots, sizeof(*ld->slots));
	ld->perm = malloc(sizeof(int64_t) * (size_t)count);
	if (opts->items && (ld->sub = malloc(sizeof(int64_t) * (size_t)count)))
		memcpy(ld->sub, opts->items, sizeof(int64_t) * (size_t)count);
	ld->tid = calloc((size_t)(ld->o.threads ? ld->o.threads : 1), sizeof(pthread_t));
	if (!ld->slots || !ld->perm || !ld->tid || (opts->items && !ld->sub))
		goto nomem;
	for (int k = 0; k < ld->nslots; k++) {
		struct slot *sl = &ld->slots[k];
		sl->x = malloc(sizeof(float) * ld->item_floats * (size_t)opts->batch);
		sl->labels = malloc(sizeof(int32_t) * (size_t)opts->batch);
		sl->index = malloc(sizeof(int64_t) * (size_t)opts->batch);
		sl->batch = -1;
		if (!sl->x || !sl->labels || !sl->index)
			goto nomem;
	}
	ld->paused = 1; /* until lp_loader_start */
	for (int t = 0; t < ld->o.threads; t++) {
		if (pthread_create(&ld->tid[t], NULL, worker, ld) != 0) {
			lp_loader_free(ld);
			return lp_error(ctx, LP_ERR_NOMEM, "loader: cannot start worker thread %d",
					t + 1);
		}
		ld->nthreads++;
	}
	*out = ld;
	return LP_OK;
nomem:
	lp_loader_free(ld);
	return lp_error(ctx, LP_ERR_NOMEM, "loader: out of memory for %d batches of %" PRId64
			" x %dx%dx%d", opts->prefetch + 1, opts->batch, opts->aug.channels,
			opts->aug.size, opts->aug.size);
}

int64_t lp_loader_batches(const lp_loader *ld)
{
	return ld->nb;
}

int64_t lp_loader_items(const lp_loader *ld)
{
	return ld->end_item;
}

void lp_loader_item_shape(const lp_loader *ld, int *channels, int *size)
{
	*channels = ld->C;
	*size = ld->S;
}

lp_split *lp_loader_split(const lp_loader *ld)
{
	return ld->s;
}

int lp_loader_start(lp_loader *ld, uint64_t epoch, int64_t first)
{
	if (first < 0 || first > ld->nb)
		return lp_error(ld->ctx, LP_ERR_ARG, "loader: epoch has %" PRId64 " batches; cannot "
				"start at batch %" PRId64, ld->nb, first);
	pthread_mutex_lock(&ld->mu);
	ld->paused = 1;
	while (ld->inflight > 0) /* let items being made finish before the slots change */
		pthread_cond_wait(&ld->cv_done, &ld->mu);
	int64_t n = ld->count;
	for (int64_t i = 0; i < n; i++)
		ld->perm[i] = ld->sub ? ld->sub[i] : i;
	if (ld->o.shuffle) {
		uint64_t st = lpi_mix(ld->o.seed ^ 0x5eed5eed5eed5eedull, epoch);
		for (int64_t i = n - 1; i > 0; i--) {
			st = lpi_mix(st, (uint64_t)i);
			int64_t j = (int64_t)(st % (uint64_t)(i + 1));
			int64_t t = ld->perm[i];
			ld->perm[i] = ld->perm[j];
			ld->perm[j] = t;
		}
	}
	for (int k = 0; k < ld->nslots; k++)
		ld->slots[k].batch = -1;
	ld->epoch = epoch;
	ld->next_item = first * ld->o.batch;
	ld->consumed = ld->released = first;
	ld->holding = 0;
	ld->started = 1;
	ld->paused = 0;
	pthread_cond_broadcast(&ld->cv_work);
	pthread_mutex_unlock(&ld->mu);
	return LP_OK;
}

int lp_loader_next(lp_loader *ld, lp_batch *b)
{
	memset(b, 0, sizeof(*b));
	if (!ld->started)
		return lp_error(ld->ctx, LP_ERR_ARG, "loader: lp_loader_start was not called");
	pthread_mutex_lock(&ld->mu);
	if (ld->holding) {
		ld->released++;
		ld->holding = 0;
		pthread_cond_broadcast(&ld->cv_work);
	}
	int64_t k = ld->consumed;
	b->channels = ld->C;
	b->height = b->width = ld->S;
	b->number = k;
	if (k >= ld->nb) {
		pthread_mutex_unlock(&ld->mu);
		return LP_OK;
	}
	struct slot *sl = &ld->slots[k % ld->nslots];
	if (!ld->nthreads) { /* no workers: make the batch here */
		char err[1024];
		pthread_mutex_unlock(&ld->mu);
		slot_claim(ld, sl, k);
		for (int64_t j = 0; j < sl->n; j++) {
			int rc = produce(ld, ld->ctx, sl, k * ld->o.batch + j, err, sizeof err);
			if (rc)
				return lp_error(ld->ctx, rc, "%s", err);
		}
		pthread_mutex_lock(&ld->mu);
	} else {
		while (!(sl->batch == k && sl->done == sl->n))
			pthread_cond_wait(&ld->cv_done, &ld->mu);
	}
	ld->consumed++;
	ld->holding = 1;
	pthread_mutex_unlock(&ld->mu);
	if (sl->err_at >= 0)
		return lp_error(ld->ctx, sl->err_code, "%s", sl->err);
	b->n = sl->n;
	b->x = sl->x;
	b->labels = sl->labels;
	b->index = sl->index;
	return LP_OK;
}
