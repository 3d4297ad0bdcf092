/*
 * run_images.h — the pictures behind a run archive's rows, for the analyses that look at
 * pixels (duplicates) and for the report's contact sheets.
 *
 *   lp_run_images *ri;
 *   if (lp_run_images_open(ctx, run, NULL, &ri)) fail(lp_ctx_errmsg(ctx));
 *   int64_t rows[] = { 0, 7 };
 *   uint8_t px[2 * 32 * 32 * 3], digest[2 * 16];
 *   lp_run_images_read(ri, "test", rows, 2, 32, LP_FIT_SQUASH, px, digest, 0);
 *   lp_run_images_free(ri);
 *
 * Where the images come from: with root NULL, the dataset the archive records — /dataset's
 * attributes `plugin` and `params` (the text lp_dataset_write stored) — opened again; with a
 * root, the files ROOT/<name> for each row's /dataset/<split>/names (an archive written by
 * another framework, or a dataset that moved). Rows are matched to the reopened dataset by
 * name, so items the run skipped do not shift the rest; an item whose file size differs from
 * /dataset/<split>/bytes is refused (the file changed since the run).
 */
#ifndef LOUPE_RUN_IMAGES_H
#define LOUPE_RUN_IMAGES_H

#include "loupe/archive.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lp_run_images lp_run_images;

enum {
	LP_FIT_SQUASH = 0, /* the whole image resampled (area) to size x size */
	LP_FIT_CROP = 1,   /* short side to size, the centre size x size window */
};

int lp_run_images_open(lp_ctx *ctx, lp_archive *run, const char *root, lp_run_images **out);
void lp_run_images_free(lp_run_images *ri);
/* Where the images come from, in words ("dataset synthetic (seed=3, ...)", "files under R"). */
const char *lp_run_images_source(const lp_run_images *ri);

/* Rows rows[0..n-1] of split (archive rows) as size x size RGB (grey items repeated) into
 * out[n * size * size * 3]; digest, if not NULL, gets 16 bytes per row: sha256 (truncated) of
 * the decoded native pixels with their width, height and channels — equal digests, the same
 * pixels. Decoded on `threads` workers (0: one per CPU). The first row that cannot be read
 * stops it with an error naming the split, row and item. */
int lp_run_images_read(lp_run_images *ri, const char *split, const int64_t *rows, size_t n,
		       int size, int fit, uint8_t *out, uint8_t *digest, int threads);

/* One row at its native size: *data is malloc'd height * width * channels bytes (free()). */
int lp_run_images_native(lp_run_images *ri, lp_ctx *ctx, const char *split, int64_t row,
			 int *width, int *height, int *channels, uint8_t **data);

#ifdef __cplusplus
}
#endif
#endif
