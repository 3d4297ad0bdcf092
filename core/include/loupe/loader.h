/*
 * loader.h — batches of float tensors from a split: decoding, resizing, cropping, flipping,
 * colour jitter, random scale and normalisation on worker threads that prefetch ahead.
 *
 *   lp_loader_opts o = lp_loader_defaults();
 *   o.batch = 32; o.shuffle = 1; o.seed = 7; o.threads = 2;
 *   o.aug.size = 227; o.aug.resize = 256; o.aug.crop = LP_CROP_RANDOM; o.aug.flip = 1;
 *   o.aug.brightness = 0.2;
 *   lp_loader *ld;
 *   if (lp_loader_new(ctx, split, &o, &ld)) fail(lp_ctx_errmsg(ctx));
 *   lp_batch b;
 *   lp_loader_start(ld, epoch, 0);
 *   while (lp_loader_next(ld, &b) == LP_OK && b.n > 0)
 *       ... b.x [n, C, size, size] float32, b.labels [n], b.index [n] (item indices) ...
 *   lp_loader_free(ld);
 *
 * Determinism: the order of an epoch is a permutation drawn from (seed, epoch), and the random
 * choices for an item (crop, flip, jitter, scale) from (seed, epoch, item index). Neither
 * depends on the number of threads or on which thread did the work, so the same seed gives
 * the same batches with 0, 1 or 8 workers; lp_loader_start(ld, epoch, k) resumes an epoch at
 * batch k with exactly the batches an uninterrupted run would have seen.
 *
 * The geometry, in the source image's pixels: the image is scaled so that its short side is
 * `resize` (0: = size), and a square window of side size / s is taken from it, s drawn
 * log-uniformly from [scale_min, scale_max] (s > 1 zooms in, s < 1 zooms out; the part of a
 * window beyond the image is filled with the normalisation mean, i.e. 0 after it). The window
 * sits at the centre (LP_CROP_CENTER) or anywhere it fits (LP_CROP_RANDOM). LP_CROP_NONE
 * squashes the whole image to size x size, ignoring its aspect. One resampling pass goes from
 * the source to the output (bilinear: a triangle filter widened by the reduction factor, as
 * Pillow's; area: a box filter, each output pixel the mean of the source area it covers).
 * Colour jitter follows torchvision's ColorJitter ranges, applied in the order brightness,
 * contrast, saturation, hue (hue as a rotation of chroma in YIQ space), values clamped to
 * [0, 1], then (x - mean) / std per channel.
 */
#ifndef LOUPE_LOADER_H
#define LOUPE_LOADER_H

#include "loupe/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lp_loader lp_loader;

enum { LP_CROP_CENTER = 0, LP_CROP_RANDOM = 1, LP_CROP_NONE = 2 };
enum { LP_RESAMPLE_BILINEAR = 0, LP_RESAMPLE_AREA = 1 };

typedef struct lp_augment {
	int size;          /* output side (square); required */
	int resize;        /* short side before the window is taken; 0: size */
	int crop;          /* LP_CROP_* */
	int resample;      /* LP_RESAMPLE_* */
	int flip;          /* horizontal flip with probability 1/2 */
	double brightness; /* factor drawn from [max(0, 1 - b), 1 + b] */
	double contrast;   /* likewise, blending with the image's mean luma */
	double saturation; /* likewise, blending with the pixel's luma */
	double hue;        /* rotation drawn from [-h, h] turns; h <= 0.5 */
	double scale_min, scale_max; /* zoom range (0, 0: none, i.e. 1) */
	int channels;      /* output channels: 1 or 3; 0: the dataset's (3, or 1 if all grey) */
	float mean[3], std[3]; /* per channel, on 0..1 values; std 0: 1 */
} lp_augment;

typedef struct lp_loader_opts {
	int64_t batch;
	int shuffle;       /* a new permutation each epoch */
	int drop_last;     /* drop a last, smaller batch */
	uint64_t seed;
	int threads;       /* worker threads; 0: decode in the caller's thread */
	int prefetch;      /* batches prepared ahead; 0: 2 */
	lp_augment aug;
	const int64_t *items; /* only these items of the split (copied), in this order before
			       * any shuffle; NULL: all. k-fold training uses it. */
	int64_t nitems;
	const int32_t *labels; /* labels to use instead of the dataset's, one per split item
				* (copied; NULL: the dataset's): relabelled or permuted sets */
	int random_pixels;     /* each item's image replaced by N(0, 1) noise, the same for the
				* item in every epoch (Zhang et al. 2017's "random pixels") */
} lp_loader_opts;

/* What one batch holds; the arrays are borrowed until the next lp_loader_next. */
typedef struct lp_batch {
	int64_t n;            /* items in this batch (0: the epoch is over) */
	int64_t number;       /* batch number within the epoch */
	int channels, height, width;
	const float *x;       /* [n, channels, height, width] */
	const int32_t *labels;/* [n] */
	const int64_t *index; /* [n] item indices in the split */
} lp_batch;

lp_loader_opts lp_loader_defaults(void);
/* Checks the options (an error names the option) and scans the split if needed. */
int lp_loader_new(lp_ctx *ctx, lp_split *s, const lp_loader_opts *opts, lp_loader **out);
void lp_loader_free(lp_loader *ld);
/* Batches per epoch, items per epoch, and the shape of one item: channels x size x size. */
int64_t lp_loader_batches(const lp_loader *ld);
int64_t lp_loader_items(const lp_loader *ld);
void lp_loader_item_shape(const lp_loader *ld, int *channels, int *size);
lp_split *lp_loader_split(const lp_loader *ld);
/* Begin epoch `epoch` at batch `first` (0 for the whole epoch); workers start at once. */
int lp_loader_start(lp_loader *ld, uint64_t epoch, int64_t first);
/* The next batch, in order; b->n == 0 at the end of the epoch. An item that fails to decode
 * now (the file changed since the scan) is an error naming it. */
int lp_loader_next(lp_loader *ld, lp_batch *b);

/* One item through the whole pipeline, without threads: out has room for
 * channels * size * size floats. `epoch` and `seed` pick the random choices as the loader
 * would. For tests, the analyses (test-time transforms) and bench/loader. */
int lp_loader_item(lp_ctx *ctx, const lp_split *s, int64_t i, const lp_augment *aug,
		   uint64_t seed, uint64_t epoch, int channels, float *out);
/* The pixel work alone, on an image already decoded (HWC uint8, 1 or 3 channels) with the
 * random choices drawn from `rng_key`: bench/loader times this against Pillow. */
int lp_augment_image(lp_ctx *ctx, const uint8_t *src, int width, int height, int src_channels,
		     const lp_augment *aug, uint64_t rng_key, int channels, float *out);
/* Check an augment's fields; the error names the field. */
int lp_augment_check(lp_ctx *ctx, const lp_augment *aug);

#ifdef __cplusplus
}
#endif
#endif
