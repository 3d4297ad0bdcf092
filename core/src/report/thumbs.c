/* thumbs.c — see thumbs.h. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "loupe/loupe.h"
#include "thumbs.h"

struct jerr {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
};

static void jfail(j_common_ptr c)
{
	longjmp(((struct jerr *)c->err)->jump, 1); /* libjpeg's default would exit() */
}

int lpr_jpeg(lp_ctx *ctx, const uint8_t *rgb, int w, int h, int quality, uint8_t **out,
	     size_t *n)
{
	struct jpeg_compress_struct c;
	struct jerr err;
	unsigned char *volatile mem = NULL;
	unsigned long size = 0;

	c.err = jpeg_std_error(&err.pub);
	err.pub.error_exit = jfail;
	if (setjmp(err.jump)) {
		char msg[JMSG_LENGTH_MAX];
		err.pub.format_message((j_common_ptr)&c, msg);
		jpeg_destroy_compress(&c);
		free(mem);
		return lp_error(ctx, LP_ERR_NOMEM, "report: encoding a thumbnail: %s", msg);
	}
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, (unsigned char **)&mem, &size);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, quality, TRUE);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * (size_t)w * 3);
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	if (!mem)
		return lp_error(ctx, LP_ERR_NOMEM, "report: out of memory encoding a thumbnail");
	*out = mem;
	*n = size;
	return LP_OK;
}

static char *data_url(lp_ctx *ctx, const uint8_t *rgb, int size)
{
	uint8_t *jpg = NULL;
	size_t n = 0;
	lpr_buf b = { 0 };

	if (lpr_jpeg(ctx, rgb, size, size, 82, &jpg, &n))
		return NULL;
	lpr_puts(&b, "data:image/jpeg;base64,");
	lpr_base64(&b, jpg, n);
	free(jpg);
	if (b.nomem) {
		lpr_free(&b);
		return NULL;
	}
	return b.p;
}

int lpr_thumbs(lp_ctx *ctx, lp_run_images *ri, const char *split, const int64_t *rows,
	       size_t n, int size, char **urls, char *why, size_t why_size)
{
	size_t one = (size_t)size * (size_t)size * 3;
	uint8_t *px = malloc(one * (n ? n : 1));

	for (size_t i = 0; i < n; i++)
		urls[i] = NULL;
	if (!px)
		return lp_error(ctx, LP_ERR_NOMEM, "report: out of memory for thumbnails");
	if (lp_run_images_read(ri, split, rows, n, size, LP_FIT_CROP, px, NULL, 0)) {
		/* one bad row must not lose the others: read them one by one */
		snprintf(why, why_size, "%s", lp_ctx_errmsg(ctx));
		for (size_t i = 0; i < n; i++)
			if (!lp_run_images_read(ri, split, rows + i, 1, size, LP_FIT_CROP,
						px + i * one, NULL, 1))
				urls[i] = data_url(ctx, px + i * one, size);
	} else {
		for (size_t i = 0; i < n; i++)
			urls[i] = data_url(ctx, px + i * one, size);
	}
	free(px);
	return LP_OK;
}
