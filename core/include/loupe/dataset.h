/*
 * dataset.h — datasets: a plugin's items, checked, with their statistics and the run's policy
 * for bad input. (How a plugin declares items: plugin.h, "datasets".)
 *
 *   const lp_plugin *p;
 *   lp_kv kv[] = { { "root", { .type = LP_PARAM_STRING, .string = "data/indoor67" } } };
 *   lp_dataset_opts o = { .on_bad = LP_ON_BAD_SKIP };
 *   lp_dataset *ds;
 *   if (lp_plugin_find(ctx, "indoor67", LP_KIND_DATASET, &p) ||
 *       lp_dataset_open(ctx, p, kv, 1, &o, &ds)) fail(lp_ctx_errmsg(ctx));
 *   lp_split *train = lp_dataset_split(ds, "train");
 *   lp_split_scan(train, 2, NULL, NULL);      // decode each item once: statistics, bad files
 *   ... lp_split_count(train), lp_split_item(train, i, &info) ...
 *   lp_dataset_write(ds, archive);            // /dataset/<split>/..., fingerprint
 *   lp_dataset_free(ds);
 *
 * Opening enumerates items only (cheap). Scanning decodes every item once, on worker threads:
 * it finds the files that do not decode, records each image's size and statistics, and under
 * LP_ON_BAD_SKIP drops the bad ones from the split (they are kept, with their reason, in
 * lp_dataset_skipped and in the archive). Under LP_ON_BAD_ERROR the first bad item stops with
 * a message naming it. After a scan, item indices are stable: the loader, the predictions and
 * the archive all count items the same way.
 */
#ifndef LOUPE_DATASET_H
#define LOUPE_DATASET_H

#include "loupe/plugins.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lp_split lp_split;

enum { LP_ON_BAD_ERROR = 0, LP_ON_BAD_SKIP = 1 };

typedef struct lp_dataset_opts {
	int on_bad;          /* LP_ON_BAD_ERROR (default) or LP_ON_BAD_SKIP */
	uint64_t max_pixels; /* decoder limit per image; 0: LP_IMAGE_MAX_PIXELS */
	uint64_t max_bytes;  /* file size limit; 0: LP_IMAGE_MAX_BYTES */
} lp_dataset_opts;

/* An item, as the dataset and the scan know it (strings borrowed from the dataset). */
typedef struct lp_item_info {
	const char *name;   /* archive name: relative path, or "<split>/<index>" */
	const char *path;   /* file, or NULL for pixel items */
	int32_t label;
	int width, height;  /* native size (files: known after the scan, else 0) */
	int channels;       /* 3, or 1 for grey pixel items */
	uint64_t bytes;     /* file size (pixel items: width * height * channels) */
	uint64_t key;
} lp_item_info;

/* Image statistics of one item, computed by the scan on a 64x64 resample (so images of any
 * size compare). Luma is BT.601 in [0, 1]. */
#define LP_STAT_HUE_BINS 12
#define LP_STAT_SV_BINS 4
typedef struct lp_item_stats {
	float brightness;          /* mean luma */
	float luma_p05, luma_p50, luma_p95;
	float hue_hist[LP_STAT_HUE_BINS]; /* fraction of pixels per 30-degree hue bin, counting
					   * only pixels with saturation and value >= 0.15 */
	float sat_hist[LP_STAT_SV_BINS];  /* fraction of pixels per saturation quarter */
	float val_hist[LP_STAT_SV_BINS];  /* per value (max channel) quarter */
	float colourfulness;       /* Hasler & Suesstrunk 2003, on 0..1 RGB */
	float edge_energy;         /* mean Sobel gradient magnitude of luma */
} lp_item_stats;

/* A bad item or directory, as recorded under LP_ON_BAD_SKIP. */
typedef struct lp_skipped {
	const char *split;  /* may be "" for dataset-level problems (an empty class directory) */
	const char *name;
	const char *reason;
} lp_skipped;

/* Open an instance of a dataset plugin. kv holds the plugin's parameters (validated against its
 * spec); opts may be NULL. */
int lp_dataset_open(lp_ctx *ctx, const lp_plugin *p, const lp_kv *kv, size_t n,
		    const lp_dataset_opts *opts, lp_dataset **out);
void lp_dataset_free(lp_dataset *ds);
const char *lp_dataset_name(const lp_dataset *ds);
lp_ctx *lp_dataset_ctx(const lp_dataset *ds);
/* Class names in label order (borrowed). */
size_t lp_dataset_classes(const lp_dataset *ds, const char *const **names);
size_t lp_dataset_split_count(const lp_dataset *ds);
lp_split *lp_dataset_split_at(lp_dataset *ds, size_t i);
/* The split called `name`, or NULL (lp_dataset_split_check sets an error naming the ones
 * there are). */
lp_split *lp_dataset_split(lp_dataset *ds, const char *name);
int lp_dataset_split_check(lp_dataset *ds, const char *name, lp_split **out);
/* Skipped items and directories so far (borrowed). */
size_t lp_dataset_skipped(const lp_dataset *ds, const lp_skipped **out);
/* sha256 (hex) over every split's items in order: split, name, bytes and label, one line
 * each. Two datasets with the same fingerprint list the same files, sizes and labels. */
int lp_dataset_fingerprint(lp_dataset *ds, char hex[65]);
/* Scan every split that has not been scanned, then write /dataset (classes, per split: names,
 * labels, sizes, statistics, skipped items, the plugin's own extras) and the fingerprint
 * (attribute on /dataset and /provenance/dataset). */
int lp_dataset_write(lp_dataset *ds, lp_archive *a);

lp_dataset *lp_split_dataset(const lp_split *s);
const char *lp_split_name(const lp_split *s);
int64_t lp_split_count(const lp_split *s);
int lp_split_item(const lp_split *s, int64_t i, lp_item_info *out);
/* Items per class (counts has room for the class count). */
void lp_split_class_counts(const lp_split *s, int64_t *counts);

/* Decode (files) or render (pixel items) item i at its native size: *data is malloc'd
 * height * width * channels bytes, channels 3 (RGB) or 1 (grey); free() it. Thread-safe when
 * each thread passes its own ctx. */
int lp_split_pixels(lp_ctx *ctx, const lp_split *s, int64_t i, int *width, int *height,
		    int *channels, uint8_t **data);

/* Decode every item once on `threads` workers (0: one per CPU); progress(user, done, total)
 * is called from the caller's thread now and then. Idempotent. */
typedef void (*lp_progress_fn)(void *user, int64_t done, int64_t total);
int lp_split_scan(lp_split *s, int threads, lp_progress_fn progress, void *user);
int lp_split_scanned(const lp_split *s);
/* Statistics of item i (after a scan; NULL before). */
const lp_item_stats *lp_split_stats(const lp_split *s, int64_t i);
/* The statistics of one image (exposed for tests and the analyses). */
void lp_image_stats(const uint8_t *data, int width, int height, int channels, lp_item_stats *out);

#ifdef __cplusplus
}
#endif
#endif
