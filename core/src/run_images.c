/* run_images.c — the pictures behind a run archive's rows: the recorded dataset opened again,
 * or files under a root (loupe/run_images.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "loupe/image.h"
#include "loupe/loader.h"
#include "loupe/run_images.h"

/* one split of the archive: its names, bytes, and where each row is in the dataset */
struct ri_split {
	char *name;
	char **names;     /* /dataset/<split>/names (lp_archive_read_strings) */
	size_t n;
	int64_t *bytes;   /* /dataset/<split>/bytes, or NULL */
	int64_t *index;   /* [n] the row's item in the reopened split (plugin source) */
	lp_split *ds;     /* plugin source */
};

struct lp_run_images {
	lp_ctx *ctx;
	lp_archive *run;
	char *root;       /* files source; NULL: plugin */
	lp_dataset *ds;
	struct ri_split *splits;
	size_t nsplits;
	char source[512];
};

static void split_free(struct ri_split *s)
{
	free(s->names); /* one block with its strings (lp_archive_read_strings) */
	free(s->name);
	free(s->bytes);
	free(s->index);
}

void lp_run_images_free(lp_run_images *ri)
{
	if (!ri)
		return;
	for (size_t i = 0; i < ri->nsplits; i++)
		split_free(&ri->splits[i]);
	free(ri->splits);
	lp_dataset_free(ri->ds);
	free(ri->root);
	free(ri);
}

const char *lp_run_images_source(const lp_run_images *ri)
{
	return ri->source;
}

/* the recorded dataset, opened again (items only: no scan) */
static int open_plugin(lp_run_images *ri)
{
	lp_ctx *ctx = ri->ctx;
	const char *path = lp_archive_path(ri->run);
	char *name = NULL, *params = NULL, *on_bad = NULL;
	const lp_plugin *p;
	lp_kv *kv = NULL;
	size_t n = 0;
	int rc;

	if (lp_archive_attr_get(ri->run, "/dataset", "plugin", &name) || !name || !*name) {
		free(name);
		return lp_error(ctx, LP_ERR_ARG, "%s: /dataset records no dataset plugin (attribute "
				"'plugin'); give the images' root directory (--images ROOT)", path);
	}
	lp_archive_attr_get(ri->run, "/dataset", "params", &params);
	lp_archive_attr_get(ri->run, "/dataset", "on_bad", &on_bad);
	lp_dataset_opts o = { .on_bad = LP_ON_BAD_SKIP };
	if (!(rc = lp_plugin_find(ctx, name, LP_KIND_DATASET, &p)) &&
	    !(rc = lpi_kv_parse(ctx, p, params ? params : "", &kv, &n)))
		rc = lp_dataset_open(ctx, p, kv, n, &o, &ri->ds);
	if (rc)
		lp_error_wrap(ctx, rc, "%s: the run's dataset (%s: %s)", path, name,
			      params ? params : "");
	else
		snprintf(ri->source, sizeof ri->source, "dataset %s%s%s%s", name,
			 params && *params ? " (" : "", params && *params ? params : "",
			 params && *params ? ")" : "");
	free(kv);
	free(name);
	free(params);
	free(on_bad);
	return rc;
}

/* open addressing over the reopened split's item names */
static uint64_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

static int match_rows(lp_run_images *ri, struct ri_split *s)
{
	lp_ctx *ctx = ri->ctx;
	int64_t m;
	size_t cap = 16;
	int rc = LP_OK;

	if (lp_dataset_split_check(ri->ds, s->name, &s->ds))
		return lp_error_wrap(ctx, LP_ERR_ARG, "%s: the run's dataset", lp_archive_path(ri->run));
	m = lp_split_count(s->ds);
	while (cap < 2 * (size_t)m)
		cap *= 2;
	int64_t *slot = malloc(cap * sizeof(*slot));
	s->index = malloc((s->n ? s->n : 1) * sizeof(*s->index));
	if (!slot || !s->index) {
		free(slot);
		return lp_error(ctx, LP_ERR_NOMEM, "run images: out of memory");
	}
	for (size_t i = 0; i < cap; i++)
		slot[i] = -1;
	for (int64_t i = 0; i < m; i++) {
		lp_item_info it;
		lp_split_item(s->ds, i, &it);
		size_t h = hash_name(it.name) & (cap - 1);
		while (slot[h] >= 0)
			h = (h + 1) & (cap - 1);
		slot[h] = i;
	}
	for (size_t r = 0; r < s->n && !rc; r++) {
		size_t h = hash_name(s->names[r]) & (cap - 1);
		s->index[r] = -1;
		for (; slot[h] >= 0 && s->index[r] < 0; h = (h + 1) & (cap - 1)) {
			lp_item_info it;
			lp_split_item(s->ds, slot[h], &it);
			if (strcmp(it.name, s->names[r]) == 0)
				s->index[r] = slot[h];
		}
		if (s->index[r] < 0)
			rc = lp_error(ctx, LP_ERR_ARG, "%s: /dataset/%s row %zu (%s) is not in the "
				      "dataset now (%s)", lp_archive_path(ri->run), s->name, r,
				      s->names[r], ri->source);
	}
	free(slot);
	return rc;
}

static int read_split(lp_run_images *ri, const char *name, struct ri_split *s)
{
	char path[300];
	int dtype, rank, kind = 0;
	int64_t dims[8];
	int rc;

	if (!(s->name = strdup(name)))
		return lp_error(ri->ctx, LP_ERR_NOMEM, "run images: out of memory");
	snprintf(path, sizeof path, "/dataset/%s/names", name);
	if ((rc = lp_archive_read_strings(ri->run, path, &s->n, &s->names)))
		return rc;
	snprintf(path, sizeof path, "/dataset/%s/bytes", name);
	if (lp_archive_exists(ri->run, path, &kind) == LP_OK && kind == 2 &&
	    lp_archive_info(ri->run, path, &dtype, &rank, dims) == LP_OK && rank == 1 &&
	    dims[0] == (int64_t)s->n) {
		if (!(s->bytes = malloc((s->n ? s->n : 1) * sizeof(int64_t))))
			return lp_error(ri->ctx, LP_ERR_NOMEM, "run images: out of memory");
		if ((rc = lp_archive_read(ri->run, path, LP_I64, s->bytes, s->n * sizeof(int64_t))))
			return rc;
	}
	return ri->ds ? match_rows(ri, s) : LP_OK;
}

int lp_run_images_open(lp_ctx *ctx, lp_archive *run, const char *root, lp_run_images **out)
{
	lp_run_images *ri = calloc(1, sizeof(*ri));
	char **groups = NULL;
	size_t ngroups = 0;
	int rc = LP_OK;

	*out = NULL;
	if (!ri)
		return lp_error(ctx, LP_ERR_NOMEM, "run images: out of memory");
	ri->ctx = ctx;
	ri->run = run;
	if (root) {
		if (!(ri->root = strdup(root)))
			rc = lp_error(ctx, LP_ERR_NOMEM, "run images: out of memory");
		snprintf(ri->source, sizeof ri->source, "files under %s", root);
	} else {
		rc = open_plugin(ri);
	}
	if (!rc)
		rc = lpi_archive_groups(run, "/dataset", &groups, &ngroups);
	for (size_t i = 0; !rc && i < ngroups; i++) {
		char path[300];
		int kind = 0;
		snprintf(path, sizeof path, "/dataset/%s/names", groups[i]);
		if (lp_archive_exists(run, path, &kind) != LP_OK || kind != 2)
			continue; /* skipped/, truth/: not a split */
		struct ri_split *g = realloc(ri->splits, (ri->nsplits + 1) * sizeof(*g));
		if (!g) {
			rc = lp_error(ctx, LP_ERR_NOMEM, "run images: out of memory");
			break;
		}
		ri->splits = g;
		memset(&g[ri->nsplits], 0, sizeof(*g));
		rc = read_split(ri, groups[i], &g[ri->nsplits++]);
	}
	lpi_strings_free(groups, ngroups);
	if (rc) {
		lp_run_images_free(ri);
		return rc;
	}
	*out = ri;
	return LP_OK;
}

static struct ri_split *find_split(lp_run_images *ri, lp_ctx *ctx, const char *split)
{
	for (size_t i = 0; i < ri->nsplits; i++)
		if (strcmp(ri->splits[i].name, split) == 0)
			return &ri->splits[i];
	lp_error(ctx, LP_ERR_ARG, "%s: no split %s under /dataset (with names)",
		 lp_archive_path(ri->run), split);
	return NULL;
}

int lp_run_images_native(lp_run_images *ri, lp_ctx *ctx, const char *split, int64_t row,
			 int *width, int *height, int *channels, uint8_t **data)
{
	struct ri_split *s = find_split(ri, ctx, split);
	int rc;

	*data = NULL;
	if (!s)
		return LP_ERR_ARG;
	if (row < 0 || (size_t)row >= s->n)
		return lp_error(ctx, LP_ERR_ARG, "%s: split %s has %zu rows; no row %" PRId64,
				lp_archive_path(ri->run), split, s->n, row);
	if (ri->root) {
		char path[4096];
		lp_image img = { 0 };
		snprintf(path, sizeof path, "%s/%s", ri->root, s->names[row]);
		if ((rc = lp_image_load(ctx, path, NULL, &img)))
			return lp_error_wrap(ctx, rc, "split %s row %" PRId64, split, row);
		*width = img.width;
		*height = img.height;
		*channels = 3;
		*data = img.rgb;
	} else {
		lp_item_info it;
		lp_split_item(s->ds, s->index[row], &it);
		if (s->bytes && it.bytes && (int64_t)it.bytes != s->bytes[row])
			return lp_error(ctx, LP_ERR_ARG, "split %s row %" PRId64 " (%s): %" PRIu64
					" bytes now, %" PRId64 " when the run read it: the file "
					"changed", split, row, it.name, it.bytes, s->bytes[row]);
		if ((rc = lp_split_pixels(ctx, s->ds, s->index[row], width, height, channels,
					  data)))
			return lp_error_wrap(ctx, rc, "split %s row %" PRId64, split, row);
	}
	return LP_OK;
}

struct batch {
	lp_run_images *ri;
	const char *split;
	const int64_t *rows;
	int size, fit;
	uint8_t *out, *digest;
	char **why; /* per row: NULL fine */
};

static int shrink(lp_ctx *ctx, const uint8_t *px, int w, int h, int c, int size, int fit,
		  uint8_t *out)
{
	lp_augment aug = { .size = size, .resize = fit == LP_FIT_CROP ? size : 0,
			   .crop = fit == LP_FIT_CROP ? LP_CROP_CENTER : LP_CROP_NONE,
			   .resample = LP_RESAMPLE_AREA, .std = { 1, 1, 1 } };
	size_t plane = (size_t)size * (size_t)size;
	float *f = malloc(3 * plane * sizeof(float));
	int rc;

	if (!f)
		return lp_error(ctx, LP_ERR_NOMEM, "run images: out of memory");
	if (!(rc = lp_augment_image(ctx, px, w, h, c, &aug, 0, 3, f)))
		for (size_t i = 0; i < plane; i++)
			for (int ch = 0; ch < 3; ch++) {
				float v = f[(size_t)ch * plane + i] * 255.0f + 0.5f;
				out[3 * i + (size_t)ch] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
			}
	free(f);
	return rc;
}

static void digest_of(const uint8_t *px, int w, int h, int c, uint8_t out[16])
{
	size_t bytes = (size_t)w * (size_t)h * (size_t)c;
	uint8_t *buf = malloc(bytes + 12), full[32];
	if (!buf) { /* a digest nobody else has: no false duplicate */
		memset(out, 0xff, 16);
		memcpy(out, &px, sizeof(px));
		return;
	}
	int32_t hdr[3] = { w, h, c };
	memcpy(buf, hdr, 12);
	memcpy(buf + 12, px, bytes);
	lpi_sha256(buf, bytes + 12, full);
	memcpy(out, full, 16);
	free(buf);
}

static void batch_one(void *user, int64_t i, lp_ctx *wctx)
{
	struct batch *b = user;
	int w, h, c;
	uint8_t *px = NULL;
	size_t one = (size_t)b->size * (size_t)b->size * 3;

	if (!wctx) {
		b->why[i] = strdup("out of memory");
		return;
	}
	if (lp_run_images_native(b->ri, wctx, b->split, b->rows[i], &w, &h, &c, &px) ||
	    shrink(wctx, px, w, h, c, b->size, b->fit, b->out + (size_t)i * one))
		b->why[i] = strdup(lp_ctx_errmsg(wctx));
	else if (b->digest)
		digest_of(px, w, h, c, b->digest + 16 * (size_t)i);
	free(px);
}

int lp_run_images_read(lp_run_images *ri, const char *split, const int64_t *rows, size_t n,
		       int size, int fit, uint8_t *out, uint8_t *digest, int threads)
{
	lp_ctx *ctx = ri->ctx;
	struct batch b = { ri, split, rows, size, fit, out, digest, NULL };
	int rc = LP_OK;

	if (size < 1 || size > 4096)
		return lp_error(ctx, LP_ERR_ARG, "run images: size %d is not 1..4096", size);
	if (!find_split(ri, ctx, split))
		return LP_ERR_ARG;
	if (!n)
		return LP_OK;
	if (!(b.why = calloc(n, sizeof(char *))))
		return lp_error(ctx, LP_ERR_NOMEM, "run images: out of memory");
	lpi_parallel_for(ctx, (int64_t)n, threads, batch_one, &b, NULL, NULL);
	for (size_t i = 0; i < n && !rc; i++)
		if (b.why[i])
			rc = lp_error(ctx, LP_ERR_IO, "%s: %s", lp_archive_path(ri->run), b.why[i]);
	for (size_t i = 0; i < n; i++)
		free(b.why[i]);
	free(b.why);
	return rc;
}
