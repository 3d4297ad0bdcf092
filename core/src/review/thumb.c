/*
 * thumb.c — the review page's pictures: item i's image from the dataset (lp_run_images),
 * letterboxed (never cropped: a class may be told by what is at the edge) into a square of
 * 160 or 512 pixels on a mid-grey ground, JPEG-encoded (quality 80), made once and kept in
 * memory; served under /t/HASH-SIZE.jpg (model.c's content hash), so browsers keep them.
 *
 *   const uint8_t *jpeg; size_t n; char why[256];
 *   if (lpv_thumb(r, i, 0, &jpeg, &n, why, sizeof why)) ... 404 with why ...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/thumbs.h"
#include "review_int.h"

static const int sizes[2] = { 160, 512 };

/* area resample of src (w x h, c channels) into the centred fit of a size x size RGB square */
static void letterbox(const uint8_t *src, int w, int h, int c, int size, uint8_t *dst)
{
	double scale = (double)size / (w > h ? w : h);
	int dw = (int)(w * scale + 0.5), dh = (int)(h * scale + 0.5);
	dw = dw < 1 ? 1 : dw > size ? size : dw;
	dh = dh < 1 ? 1 : dh > size ? size : dh;
	int x0 = (size - dw) / 2, y0 = (size - dh) / 2;

	memset(dst, 128, (size_t)size * size * 3);
	for (int y = 0; y < dh; y++) {
		int sy0 = (int)((double)y * h / dh), sy1 = (int)((double)(y + 1) * h / dh);
		sy1 = sy1 <= sy0 ? sy0 + 1 : sy1;
		for (int x = 0; x < dw; x++) {
			int sx0 = (int)((double)x * w / dw), sx1 = (int)((double)(x + 1) * w / dw);
			sx1 = sx1 <= sx0 ? sx0 + 1 : sx1;
			double acc[3] = { 0, 0, 0 };
			for (int sy = sy0; sy < sy1 && sy < h; sy++)
				for (int sx = sx0; sx < sx1 && sx < w; sx++)
					for (int k = 0; k < 3; k++)
						acc[k] += src[((size_t)sy * w + sx) * c +
							      (c >= 3 ? k : 0)];
			double cnt = (double)(sy1 - sy0) * (sx1 - sx0);
			uint8_t *o = dst + ((size_t)(y0 + y) * size + x0 + x) * 3;
			for (int k = 0; k < 3; k++)
				o[k] = (uint8_t)(acc[k] / cnt + 0.5);
		}
	}
}

static int make(lp_review *r, size_t i, int which, char *why, size_t why_size)
{
	const lpv_item *it = &r->m.items[i];
	int w, h, c, size = sizes[which];
	uint8_t *px = NULL, *sq = NULL, *jpeg = NULL;
	size_t n = 0;

	if (!r->images) {
		snprintf(why, why_size, "the run's images are not at hand: %s", r->notice);
		return -1;
	}
	if (lp_run_images_native(r->images, r->ctx, r->m.splits[it->split], it->row, &w, &h, &c,
				 &px)) {
		snprintf(why, why_size, "%s", lp_ctx_errmsg(r->ctx));
		return -1;
	}
	sq = malloc((size_t)size * size * 3);
	int rc = sq ? 0 : -1;
	if (!rc) {
		letterbox(px, w, h, c, size, sq);
		rc = lpr_jpeg(r->ctx, sq, size, size, 80, &jpeg, &n);
		if (rc)
			snprintf(why, why_size, "%s", lp_ctx_errmsg(r->ctx));
	} else {
		snprintf(why, why_size, "out of memory");
	}
	free(px);
	free(sq);
	if (!rc) {
		r->jpeg_data[which][i] = jpeg;
		r->jpeg_n[which][i] = n;
		r->c.thumbs_made++;
	}
	return rc;
}

int lpv_thumb(lp_review *r, size_t i, int which, const uint8_t **data, size_t *n, char *why,
	      size_t size)
{
	int rc = 0;

	pthread_mutex_lock(&r->thumb_lock);
	if (!r->jpeg_data[which]) {
		r->jpeg_data[which] = calloc(r->m.n + 1, sizeof *r->jpeg_data[which]);
		r->jpeg_n[which] = calloc(r->m.n + 1, sizeof *r->jpeg_n[which]);
		if (!r->jpeg_data[which] || !r->jpeg_n[which]) {
			snprintf(why, size, "out of memory");
			pthread_mutex_unlock(&r->thumb_lock);
			return -1;
		}
	}
	if (!r->jpeg_data[which][i])
		rc = make(r, i, which, why, size);
	if (!rc) {
		*data = r->jpeg_data[which][i];
		*n = r->jpeg_n[which][i];
		r->c.thumbs_served++;
	}
	pthread_mutex_unlock(&r->thumb_lock);
	return rc;
}

void lpv_thumbs_free(lp_review *r)
{
	for (int w = 0; w < 2; w++) {
		for (size_t i = 0; r->jpeg_data[w] && i < r->m.n; i++)
			free(r->jpeg_data[w][i]);
		free(r->jpeg_data[w]);
		free(r->jpeg_n[w]);
	}
}
