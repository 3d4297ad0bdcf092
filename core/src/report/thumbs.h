/* thumbs.h — the report's pictures: rows of a split decoded (lp_run_images), centre-cropped to
 * a square, JPEG-encoded (libjpeg-turbo) and written as data: URLs. */
#ifndef LOUPE_REPORT_THUMBS_H
#define LOUPE_REPORT_THUMBS_H

#include "html.h"
#include "loupe/run_images.h"

/* JPEG of an RGB image (quality 0..100): *out malloc'd, *n bytes; 0 or an error code */
int lpr_jpeg(lp_ctx *ctx, const uint8_t *rgb, int w, int h, int quality, uint8_t **out,
	     size_t *n);

/* The thumbnails of rows[0..n-1] of split as data: URLs: urls[i] malloc'd, NULL where the
 * image could not be had (why says the first reason). */
int lpr_thumbs(lp_ctx *ctx, lp_run_images *ri, const char *split, const int64_t *rows,
	       size_t n, int size, char **urls, char *why, size_t why_size);

#endif
