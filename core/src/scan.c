/* scan.c — decode every item of a split once: image sizes, statistics and the bad files; then
 * the dataset's part of the archive (/dataset, /provenance/dataset). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

#define STAT_SIZE 64

/* statistics of a STAT_SIZE^2 image, channel planes of 0..1 floats (3 channels) */
static void stats_chw(const float *p, int S, lp_item_stats *o)
{
	const size_t n = (size_t)S * (size_t)S;
	const float *R = p, *G = p + n, *B = p + 2 * n;
	uint32_t hist[256] = { 0 };
	double lsum = 0, rg1 = 0, rg2 = 0, yb1 = 0, yb2 = 0;
	float *luma = malloc(sizeof(float) * n);

	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < n; i++) {
		float r = R[i], g = G[i], b = B[i];
		float l = 0.299f * r + 0.587f * g + 0.114f * b;
		if (luma)
			luma[i] = l;
		lsum += l;
		int bin = (int)(l * 255.0f + 0.5f);
		hist[bin < 0 ? 0 : bin > 255 ? 255 : bin]++;
		float mx = fmaxf(r, fmaxf(g, b)), mn = fminf(r, fminf(g, b));
		float sat = mx > 0 ? (mx - mn) / mx : 0;
		int sq = (int)(sat * LP_STAT_SV_BINS), vq = (int)(mx * LP_STAT_SV_BINS);
		o->sat_hist[sq < 0 ? 0 : sq >= LP_STAT_SV_BINS ? LP_STAT_SV_BINS - 1 : sq] += 1;
		o->val_hist[vq < 0 ? 0 : vq >= LP_STAT_SV_BINS ? LP_STAT_SV_BINS - 1 : vq] += 1;
		if (sat >= 0.15f && mx >= 0.15f && mx > mn) {
			float d = mx - mn, h;
			if (mx == r)
				h = fmodf((g - b) / d + 6.0f, 6.0f);
			else if (mx == g)
				h = (b - r) / d + 2.0f;
			else
				h = (r - g) / d + 4.0f;
			int hb = (int)(h * LP_STAT_HUE_BINS / 6.0f);
			o->hue_hist[hb < 0 ? 0 : hb >= LP_STAT_HUE_BINS ? LP_STAT_HUE_BINS - 1 : hb] += 1;
		}
		double rg = r - g, yb = 0.5 * (r + g) - b;
		rg1 += rg;
		rg2 += rg * rg;
		yb1 += yb;
		yb2 += yb * yb;
	}
	for (int k = 0; k < LP_STAT_HUE_BINS; k++)
		o->hue_hist[k] /= (float)n;
	for (int k = 0; k < LP_STAT_SV_BINS; k++) {
		o->sat_hist[k] /= (float)n;
		o->val_hist[k] /= (float)n;
	}
	o->brightness = (float)(lsum / (double)n);
	const double q[3] = { 0.05, 0.50, 0.95 };
	float *dst[3] = { &o->luma_p05, &o->luma_p50, &o->luma_p95 };
	for (int k = 0; k < 3; k++) {
		uint64_t want = (uint64_t)ceil(q[k] * (double)n), seen = 0;
		int b = 0;
		for (; b < 255; b++) {
			seen += hist[b];
			if (seen >= want)
				break;
		}
		*dst[k] = (float)b / 255.0f;
	}
	double mrg = rg1 / (double)n, myb = yb1 / (double)n;
	double vrg = fmax(0, rg2 / (double)n - mrg * mrg), vyb = fmax(0, yb2 / (double)n - myb * myb);
	o->colourfulness = (float)(sqrt(vrg + vyb) + 0.3 * sqrt(mrg * mrg + myb * myb));
	if (luma) {
		double e = 0;
		for (int y = 1; y < S - 1; y++)
			for (int x = 1; x < S - 1; x++) {
				const float *c = luma + (size_t)y * S + x;
				float gx = (c[-S + 1] + 2 * c[1] + c[S + 1]) - (c[-S - 1] + 2 * c[-1] + c[S - 1]);
				float gy = (c[S - 1] + 2 * c[S] + c[S + 1]) - (c[-S - 1] + 2 * c[-S] + c[-S + 1]);
				e += sqrt((double)gx * gx + (double)gy * gy) / 4.0;
			}
		o->edge_energy = (float)(e / ((double)(S - 2) * (S - 2)));
		free(luma);
	}
}

static const lp_augment stat_aug = { .size = STAT_SIZE, .crop = LP_CROP_NONE,
				     .resample = LP_RESAMPLE_AREA, .std = { 1, 1, 1 } };

static int stats_of(lp_ctx *ctx, const uint8_t *data, int w, int h, int c, lp_item_stats *o)
{
	float buf[3 * STAT_SIZE * STAT_SIZE];
	int rc = lp_augment_image(ctx, data, w, h, c, &stat_aug, 0, 3, buf);
	if (rc == LP_OK)
		stats_chw(buf, STAT_SIZE, o);
	return rc;
}

void lp_image_stats(const uint8_t *data, int width, int height, int channels, lp_item_stats *out)
{
	if (stats_of(NULL, data, width, height, channels, out))
		memset(out, 0, sizeof(*out));
}

struct scan {
	lp_split *s;
	lp_item_stats *stats;
	int *w, *h;
	char **why; /* NULL: fine */
	int nomem;
};

static void scan_one(void *user, int64_t i, lp_ctx *wctx)
{
	struct scan *sc = user;
	int w, h, c;
	uint8_t *px = NULL;

	if (!wctx) {
		sc->nomem = 1;
		return;
	}
	if (lp_split_pixels(wctx, sc->s, i, &w, &h, &c, &px) ||
	    stats_of(wctx, px, w, h, c, &sc->stats[i])) {
		const char *m = lp_ctx_errmsg(wctx);
		/* the decoder names the file; say no more than that */
		if (!(sc->why[i] = strdup(m)))
			sc->nomem = 1;
	} else {
		sc->w[i] = w;
		sc->h[i] = h;
	}
	free(px);
}

int lp_split_scanned(const lp_split *s)
{
	return s->scanned;
}

const lp_item_stats *lp_split_stats(const lp_split *s, int64_t i)
{
	return s->scanned && i >= 0 && i < s->n ? &s->stats[i] : NULL;
}

int lp_split_scan(lp_split *s, int threads, lp_progress_fn progress, void *user)
{
	lp_dataset *ds = s->ds;
	lp_ctx *ctx = ds->ctx;
	struct scan sc = { .s = s };
	int rc = LP_OK;

	if (s->scanned)
		return LP_OK;
	size_t n = (size_t)(s->n ? s->n : 1);
	sc.stats = calloc(n, sizeof(*sc.stats));
	sc.w = calloc(n, sizeof(int));
	sc.h = calloc(n, sizeof(int));
	sc.why = calloc(n, sizeof(char *));
	if (!sc.stats || !sc.w || !sc.h || !sc.why) {
		rc = lp_error(ctx, LP_ERR_NOMEM, "dataset %s: out of memory scanning %s",
			      ds->plugin->name, s->name);
		goto out;
	}
	lpi_parallel_for(ctx, s->n, threads, scan_one, &sc, progress, user);
	if (sc.nomem) {
		rc = lp_error(ctx, LP_ERR_NOMEM, "dataset %s: out of memory scanning %s",
			      ds->plugin->name, s->name);
		goto out;
	}
	int64_t kept = 0, bad = 0;
	for (int64_t i = 0; i < s->n; i++) {
		struct lp_item *it = &s->items[i];
		if (sc.why[i]) {
			if ((rc = lpi_dataset_bad(ds, s->name, it->name, sc.why[i])))
				goto out; /* on_bad = "error": the first bad item, by index */
			free(it->name);
			free(it->path);
			bad++;
			continue;
		}
		it->width = sc.w[i];
		it->height = sc.h[i];
		sc.stats[kept] = sc.stats[i];
		s->items[kept++] = *it;
	}
	s->n = kept;
	s->stats = sc.stats;
	sc.stats = NULL;
	s->scanned = 1;
	if (bad)
		lp_log(ctx, LP_LOG_WARN, "dataset %s: skipped %" PRId64 " of %" PRId64 " %s items that "
		       "do not decode; each is recorded with its reason under /dataset/skipped",
		       ds->plugin->name, bad, kept + bad, s->name);
out:
	for (int64_t i = 0; sc.why && i < (int64_t)n; i++)
		free(sc.why[i]);
	free(sc.why);
	free(sc.stats);
	free(sc.w);
	free(sc.h);
	return rc;
}

/* ---- the archive ---- */

#define TRY(x)                      \
	do {                        \
		if ((rc = (x)))     \
			goto out;   \
	} while (0)

static int write_split(lp_dataset *ds, lp_archive *a, lp_split *s)
{
	lp_ctx *ctx = ds->ctx;
	char g[512], p[600];
	int64_t n = s->n;
	int rc = LP_OK;
	const char *item_ax[1] = { "item" };

	snprintf(g, sizeof g, "/dataset/%s", s->name);
	if ((rc = lp_archive_group(a, g)) || (rc = lp_archive_attr_int(a, g, "count", n)))
		return rc;
	if (n == 0)
		return LP_OK;
	const char **names = malloc(sizeof(char *) * (size_t)n);
	int32_t *i32 = malloc(sizeof(int32_t) * (size_t)n);
	int64_t *i64 = malloc(sizeof(int64_t) * (size_t)n);
	uint64_t *keys = malloc(sizeof(uint64_t) * (size_t)n);
	float *f = malloc(sizeof(float) * (size_t)n * LP_STAT_HUE_BINS);
	if (!names || !i32 || !i64 || !keys || !f) {
		rc = lp_error(ctx, LP_ERR_NOMEM, "dataset %s: out of memory", ds->plugin->name);
		goto out;
	}
	for (int64_t i = 0; i < n; i++) {
		names[i] = s->items[i].name;
		keys[i] = s->items[i].key;
	}
	snprintf(p, sizeof p, "%s/names", g);
	TRY(lp_archive_write_strings(a, p, (size_t)n, names, "item"));
	for (int64_t i = 0; i < n; i++)
		i32[i] = s->items[i].label;
	snprintf(p, sizeof p, "%s/labels", g);
	TRY(lp_archive_write(a, p, LP_I32, 1, &n, item_ax, i32));
	for (int64_t i = 0; i < n; i++)
		i32[i] = s->items[i].width;
	snprintf(p, sizeof p, "%s/width", g);
	TRY(lp_archive_write(a, p, LP_I32, 1, &n, item_ax, i32));
	for (int64_t i = 0; i < n; i++)
		i32[i] = s->items[i].height;
	snprintf(p, sizeof p, "%s/height", g);
	TRY(lp_archive_write(a, p, LP_I32, 1, &n, item_ax, i32));
	for (int64_t i = 0; i < n; i++)
		i64[i] = (int64_t)s->items[i].bytes;
	snprintf(p, sizeof p, "%s/bytes", g);
	TRY(lp_archive_write(a, p, LP_I64, 1, &n, item_ax, i64));

	struct { const char *name; size_t off; int k; const char *axis; } cols[] = {
		{ "brightness", offsetof(lp_item_stats, brightness), 1, NULL },
		{ "luma_percentiles", offsetof(lp_item_stats, luma_p05), 3, "percentile" },
		{ "hue_hist", offsetof(lp_item_stats, hue_hist), LP_STAT_HUE_BINS, "hue_bin" },
		{ "sat_hist", offsetof(lp_item_stats, sat_hist), LP_STAT_SV_BINS, "sat_bin" },
		{ "val_hist", offsetof(lp_item_stats, val_hist), LP_STAT_SV_BINS, "val_bin" },
		{ "colourfulness", offsetof(lp_item_stats, colourfulness), 1, NULL },
		{ "edge_energy", offsetof(lp_item_stats, edge_energy), 1, NULL },
	};
	for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
		for (int64_t i = 0; i < n; i++)
			memcpy(f + i * cols[c].k, (const char *)&s->stats[i] + cols[c].off,
			       sizeof(float) * (size_t)cols[c].k);
		int64_t dims[2] = { n, cols[c].k };
		const char *ax[2] = { "item", cols[c].axis };
		snprintf(p, sizeof p, "%s/%s", g, cols[c].name);
		TRY(lp_archive_write(a, p, LP_F32, cols[c].k > 1 ? 2 : 1, dims, ax, f));
	}
	snprintf(p, sizeof p, "%s/luma_percentiles", g);
	TRY(lp_archive_attr_string(a, p, "percentiles", "5,50,95"));
	const lp_dataset_vtable *vt = ds->vt;
	if (vt->size >= offsetof(lp_dataset_vtable, write) + sizeof(vt->write) && vt->write &&
	    (rc = vt->write(ctx, ds->state, a, g, s->name, (size_t)n, keys)))
		lp_error_wrap(ctx, rc, "dataset %s: writing %s", ds->plugin->name, g);
out:
	free(names);
	free(i32);
	free(i64);
	free(keys);
	free(f);
	return rc;
}

int lp_dataset_write(lp_dataset *ds, lp_archive *a)
{
	lp_ctx *ctx = ds->ctx;
	char fp[65];
	int rc = LP_OK;

	for (size_t k = 0; k < ds->nsplits; k++)
		if ((rc = lp_split_scan(ds->splits[k], 0, NULL, NULL)))
			return rc;
	TRY(lp_dataset_fingerprint(ds, fp));
	TRY(lp_archive_group(a, "/dataset"));
	TRY(lp_archive_write_strings(a, "/dataset/classes", ds->nclasses,
				     (const char *const *)ds->classes, "class"));
	TRY(lp_archive_attr_string(a, "/dataset", "plugin", ds->plugin->name));
	TRY(lp_archive_attr_string(a, "/dataset", "plugin_version", ds->plugin->version));
	TRY(lp_archive_attr_string(a, "/dataset", "params", ds->params_text));
	TRY(lp_archive_attr_string(a, "/dataset", "fingerprint", fp));
	TRY(lp_archive_attr_string(a, "/dataset", "on_bad",
				   ds->opts.on_bad == LP_ON_BAD_SKIP ? "skip" : "error"));
	TRY(lp_archive_attr_int(a, "/dataset", "skipped", (int64_t)ds->nskipped));
	for (size_t k = 0; k < ds->nsplits; k++)
		TRY(write_split(ds, a, ds->splits[k]));
	if (ds->nskipped) {
		const char **col = malloc(sizeof(char *) * ds->nskipped);
		if (!col)
			return lp_error(ctx, LP_ERR_NOMEM, "dataset: out of memory");
		for (int which = 0; which < 3 && !rc; which++) {
			for (size_t i = 0; i < ds->nskipped; i++)
				col[i] = which == 0 ? ds->skipped[i].split : which == 1
					 ? ds->skipped[i].name : ds->skipped[i].reason;
			const char *nm[3] = { "/dataset/skipped/split", "/dataset/skipped/name",
					      "/dataset/skipped/reason" };
			rc = lp_archive_write_strings(a, nm[which], ds->nskipped, col, "skipped");
		}
		free(col);
		if (rc)
			goto out;
	}
	TRY(lp_archive_group(a, "/provenance/dataset"));
	TRY(lp_archive_attr_string(a, "/provenance/dataset", "plugin", ds->plugin->name));
	TRY(lp_archive_attr_string(a, "/provenance/dataset", "version", ds->plugin->version));
	TRY(lp_archive_attr_string(a, "/provenance/dataset", "params", ds->params_text));
	TRY(lp_archive_attr_string(a, "/provenance/dataset", "fingerprint", fp));
	TRY(lp_archive_commit(a)); /* a run killed later keeps its dataset */
out:
	return rc;
}
