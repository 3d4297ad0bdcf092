/*
 * image.h — decoding images into 8-bit RGB, chosen by the file's content, not its name.
 *
 *   lp_image img = { 0 };
 *   if (lp_image_load(ctx, "Images/bar/x.jpg", NULL, &img)) fail(lp_ctx_errmsg(ctx));
 *   ... img.width, img.height, img.rgb (height x width x 3, row-major) ...
 *   lp_image_free(&img);
 *
 * JPEG (libjpeg-turbo: baseline, progressive, greyscale, CMYK and YCCK — Adobe's inverted
 * CMYK, as Photoshop writes it) and PNG (libpng: palette, grey, 16-bit (high byte), alpha
 * (dropped, not composited), interlaced) become RGB. Web-scraped datasets hold files whose
 * extension lies, so the first bytes decide. Limits are checked from the header, before any
 * pixel memory is allocated. A bad file is an error naming the file and the reason; nothing
 * here crashes, exits or prints on bad input.
 */
#ifndef LOUPE_IMAGE_H
#define LOUPE_IMAGE_H

#include "loupe/loupe.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lp_image {
	int width, height;
	uint8_t *rgb; /* width * height * 3, owned: lp_image_free */
} lp_image;

typedef struct lp_image_limits {
	uint64_t max_pixels; /* width * height; 0: LP_IMAGE_MAX_PIXELS */
	uint64_t max_bytes;  /* file size; 0: LP_IMAGE_MAX_BYTES */
} lp_image_limits;

#define LP_IMAGE_MAX_PIXELS (64ull << 20) /* 64 megapixels */
#define LP_IMAGE_MAX_BYTES (256ull << 20)

typedef enum lp_image_format {
	LP_IMAGE_UNKNOWN = 0,
	LP_IMAGE_JPEG,
	LP_IMAGE_PNG,
	LP_IMAGE_GIF,
	LP_IMAGE_BMP,
} lp_image_format;

/* What the first bytes say the data is. */
int lp_image_sniff(const void *data, size_t n);
const char *lp_image_format_name(int format);
/* Decode from memory; `name` is used in messages (a path, or "<memory>"). limits may be NULL. */
int lp_image_decode(lp_ctx *ctx, const void *data, size_t n, const char *name,
		    const lp_image_limits *limits, lp_image *out);
/* Read and decode a file. */
int lp_image_load(lp_ctx *ctx, const char *path, const lp_image_limits *limits, lp_image *out);
void lp_image_free(lp_image *img);

#ifdef __cplusplus
}
#endif
#endif
