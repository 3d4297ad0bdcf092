/* image.c — JPEG (libjpeg-turbo) and PNG (libpng) to 8-bit RGB, chosen by content. */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <png.h>

#include "core.h"
#include "loupe/image.h"

int lp_image_sniff(const void *data, size_t n)
{
	const unsigned char *p = data;

	if (n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
		return LP_IMAGE_JPEG;
	if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
		return LP_IMAGE_PNG;
	if (n >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
		return LP_IMAGE_GIF;
	if (n >= 2 && p[0] == 'B' && p[1] == 'M')
		return LP_IMAGE_BMP;
	return LP_IMAGE_UNKNOWN;
}

const char *lp_image_format_name(int format)
{
	static const char *const names[] = { "unknown", "JPEG", "PNG", "GIF", "BMP" };
	return format >= 0 && format <= LP_IMAGE_BMP ? names[format] : "unknown";
}

void lp_image_free(lp_image *img)
{
	if (!img)
		return;
	free(img->rgb);
	img->rgb = NULL;
	img->width = img->height = 0;
}

static int check_size(lp_ctx *ctx, const char *name, uint64_t w, uint64_t h,
		      const lp_image_limits *lim)
{
	uint64_t max = lim && lim->max_pixels ? lim->max_pixels : LP_IMAGE_MAX_PIXELS;

	if (w == 0 || h == 0)
		return lp_error(ctx, LP_ERR_FORMAT, "image: %s: empty image (%llux%llu)", name,
				(unsigned long long)w, (unsigned long long)h);
	if (w * h > max)
		return lp_error(ctx, LP_ERR_LIMIT, "image: %s: %llux%llu pixels exceed the limit of "
				"%llu (a decompression bomb?)", name, (unsigned long long)w,
				(unsigned long long)h, (unsigned long long)max);
	return LP_OK;
}

/* ---- JPEG ---------------------------------------------------------------------------- */

typedef struct jpeg_err {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_fail(j_common_ptr cinfo)
{
	jpeg_err *e = (jpeg_err *)cinfo->err;
	e->pub.format_message(cinfo, e->msg);
	longjmp(e->jump, 1);
}

static void jpeg_quiet(j_common_ptr cinfo, int level)
{
	jpeg_err *e = (jpeg_err *)cinfo->err;
	/* a corrupt-data warning (e.g. a truncated file padded by the library) is an error here */
	if (level < 0 && e->msg[0] == 0)
		e->pub.format_message(cinfo, e->msg);
}

/* Pillow's rounding of a * b / 255, so CMYK converts to the same RGB. */
static uint8_t muldiv255(unsigned a, unsigned b)
{
	unsigned t = a * b + 128;
	return (uint8_t)(((t >> 8) + t) >> 8);
}

static int decode_jpeg(lp_ctx *ctx, const void *data, size_t n, const char *name,
		       const lp_image_limits *lim, lp_image *out)
{
	struct jpeg_decompress_struct cinfo;
	jpeg_err err;
	uint8_t *volatile rgb = NULL;
	uint8_t *volatile row = NULL;
	volatile int rc = LP_OK;

	memset(&err, 0, sizeof err);
	cinfo.err = jpeg_std_error(&err.pub);
	err.pub.error_exit = jpeg_fail;
	err.pub.emit_message = jpeg_quiet;
	if (setjmp(err.jump)) {
		rc = rc ? rc : lp_error(ctx, LP_ERR_FORMAT, "image: %s: bad JPEG: %s", name, err.msg);
		goto out;
	}
	jpeg_create_decompress(&cinfo);
	jpeg_mem_src(&cinfo, data, (unsigned long)n);
	jpeg_read_header(&cinfo, TRUE);
	/* A warning fails the decode (below), so stop at the first one rather than decode every
	 * pixel first: a few hundred bytes with a bad marker could cost a full-size decode. */
	if (err.msg[0]) {
		rc = lp_error(ctx, LP_ERR_FORMAT, "image: %s: bad JPEG: %s", name, err.msg);
		goto out;
	}
	if ((rc = check_size(ctx, name, cinfo.image_width, cinfo.image_height, lim)))
		goto out;
	int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
	cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
	jpeg_start_decompress(&cinfo);
	size_t w = cinfo.output_width, h = cinfo.output_height;
	rgb = malloc(w * h * 3);
	row = malloc(w * (size_t)cinfo.output_components);
	if (!rgb || !row) {
		rc = lp_error(ctx, LP_ERR_NOMEM, "image: %s: out of memory for %zux%zu", name, w, h);
		goto out;
	}
	while (cinfo.output_scanline < h && !err.msg[0]) {
		size_t y = cinfo.output_scanline;
		JSAMPROW r = cmyk ? row : rgb + y * w * 3;
		jpeg_read_scanlines(&cinfo, &r, 1);
		if (!cmyk)
			continue;
		/* Adobe files store CMYK inverted (255 = no ink): then RGB = c'k'/255, else
		 * (255 - c)(255 - k)/255 — Pillow's conversion, rounding included */
		for (size_t x = 0; x < w; x++) {
			const uint8_t *p = row + 4 * x;
			unsigned k = cinfo.saw_Adobe_marker ? p[3] : 255u - p[3];
			for (int c = 0; c < 3; c++)
				rgb[(y * w + x) * 3 + c] =
					muldiv255(cinfo.saw_Adobe_marker ? p[c] : 255u - p[c], k);
		}
	}
	if (err.msg[0]) {
		rc = lp_error(ctx, LP_ERR_FORMAT, "image: %s: bad JPEG: %s", name, err.msg);
		goto out;
	}
	jpeg_finish_decompress(&cinfo);
	out->width = (int)w;
	out->height = (int)h;
	out->rgb = rgb;
	rgb = NULL;
out:
	jpeg_destroy_decompress(&cinfo);
	free(row);
	free(rgb);
	return rc;
}

/* ---- PNG ----------------------------------------------------------------------------- */

typedef struct png_src {
	const unsigned char *p;
	size_t n, at;
	char msg[256];
} png_src;

static void png_read_mem(png_structp png, png_bytep dst, png_size_t len)
{
	png_src *s = png_get_io_ptr(png);
	if (len > s->n - s->at)
		png_error(png, "file ends early (truncated)");
	memcpy(dst, s->p + s->at, len);
	s->at += len;
}

static void png_fail(png_structp png, png_const_charp msg)
{
	png_src *s = png_get_error_ptr(png);
	snprintf(s->msg, sizeof s->msg, "%s", msg);
	png_longjmp(png, 1);
}

static void png_quiet(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/* libpng allocates a chunk's declared length before reading its data, and a length above its
 * limits is only a warning in release builds: a 300-byte file whose zTXt chunk claimed 1 GB made
 * it allocate 1 GB (found by tests/fuzz). Every chunk before the first IDAT is read whole by
 * png_read_info; the IDAT stream after it is read in small pieces. So those chunks are checked
 * against what the file holds before libpng sees them. */
static int png_check_chunks(lp_ctx *ctx, const char *name, const unsigned char *p, size_t n)
{
	size_t at = 8;

	while (n - at >= 8) {
		const unsigned char *c = p + at;
		uint32_t len = (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 |
			       c[3];
		if (memcmp(c + 4, "IDAT", 4) == 0)
			break;
		if (len > n - at - 8) {
			char type[5];
			for (int i = 0; i < 4; i++)
				type[i] = isalpha(c[4 + i]) ? (char)c[4 + i] : '?';
			type[4] = 0;
			return lp_error(ctx, LP_ERR_FORMAT, "image: %s: bad PNG: chunk %s claims "
					"%u bytes, more than the %zu left in the file (truncated?)",
					name, type, len, n - at - 8);
		}
		if (n - at - 8 - len < 4)
			break;
		at += 12 + (size_t)len;
	}
	return LP_OK;
}

static int decode_png(lp_ctx *ctx, const void *data, size_t n, const char *name,
		      const lp_image_limits *lim, lp_image *out)
{
	png_src src = { data, n, 0, "" };
	png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_fail, png_quiet);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	uint8_t *volatile rgb = NULL;
	png_bytep *volatile rows = NULL;
	volatile int rc = LP_OK;

	if (!png || !info) {
		png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
		return lp_error(ctx, LP_ERR_NOMEM, "image: %s: out of memory", name);
	}
	if (setjmp(png_jmpbuf(png))) {
		rc = rc ? rc : lp_error(ctx, LP_ERR_FORMAT, "image: %s: bad PNG: %s", name, src.msg);
		goto out;
	}
	png_set_read_fn(png, &src, png_read_mem);
	png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
	png_read_info(png, info);
	png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
	if ((rc = check_size(ctx, name, w, h, lim)))
		goto out;
	int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
	if (type == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(png);
	if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(png);
	if (depth == 16)
		png_set_strip_16(png); /* the high byte, as Pillow reads 16-bit RGB */
	if (type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA)
		png_set_gray_to_rgb(png);
	/* alpha (also a palette's tRNS, which the expansion turns into alpha) is dropped, not
	 * composited: what Pillow's convert("RGB") does */
	if ((type & PNG_COLOR_MASK_ALPHA) ||
	    (type == PNG_COLOR_TYPE_PALETTE && png_get_valid(png, info, PNG_INFO_tRNS)))
		png_set_strip_alpha(png);
	png_set_interlace_handling(png);
	png_read_update_info(png, info);
	if (png_get_rowbytes(png, info) != (size_t)w * 3) {
		rc = lp_error(ctx, LP_ERR_FORMAT, "image: %s: unexpected PNG layout", name);
		goto out;
	}
	rgb = malloc((size_t)w * h * 3);
	rows = malloc(h * sizeof(*rows));
	if (!rgb || !rows) {
		rc = lp_error(ctx, LP_ERR_NOMEM, "image: %s: out of memory for %ux%u", name, w, h);
		goto out;
	}
	for (png_uint_32 y = 0; y < h; y++)
		rows[y] = rgb + (size_t)y * w * 3;
	png_read_image(png, rows);
	out->width = (int)w;
	out->height = (int)h;
	out->rgb = rgb;
	rgb = NULL;
out:
	png_destroy_read_struct(&png, &info, NULL);
	free(rows);
	free(rgb);
	return rc;
}

int lp_image_decode(lp_ctx *ctx, const void *data, size_t n, const char *name,
		    const lp_image_limits *limits, lp_image *out)
{
	int format = lp_image_sniff(data, n), rc;

	memset(out, 0, sizeof(*out));
	if (!name)
		name = "<memory>";
	if (n == 0)
		return lp_error(ctx, LP_ERR_FORMAT, "image: %s: empty file", name);
	switch (format) {
	case LP_IMAGE_JPEG:
		return decode_jpeg(ctx, data, n, name, limits, out);
	case LP_IMAGE_PNG:
		if ((rc = png_check_chunks(ctx, name, data, n)))
			return rc;
		return decode_png(ctx, data, n, name, limits, out);
	case LP_IMAGE_GIF:
	case LP_IMAGE_BMP:
		return lp_error(ctx, LP_ERR_FORMAT, "image: %s: %s images are not supported yet "
				"(JPEG and PNG are)", name, lp_image_format_name(format));
	default:
		return lp_error(ctx, LP_ERR_FORMAT, "image: %s: not an image (neither JPEG nor PNG "
				"by its first bytes)", name);
	}
}

int lp_image_load(lp_ctx *ctx, const char *path, const lp_image_limits *limits, lp_image *out)
{
	uint64_t max = limits && limits->max_bytes ? limits->max_bytes : LP_IMAGE_MAX_BYTES;
	struct stat st;
	FILE *f;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!(f = fopen(path, "rb")))
		return lp_error(ctx, LP_ERR_IO, "image: cannot open %s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return lp_error(ctx, LP_ERR_IO, "image: %s is not a regular file", path);
	}
	if ((uint64_t)st.st_size > max) {
		fclose(f);
		return lp_error(ctx, LP_ERR_LIMIT, "image: %s: %lld bytes exceed the limit of %llu",
				path, (long long)st.st_size, (unsigned long long)max);
	}
	size_t n = (size_t)st.st_size;
	unsigned char *buf = malloc(n ? n : 1);
	if (!buf) {
		fclose(f);
		return lp_error(ctx, LP_ERR_NOMEM, "image: %s: out of memory", path);
	}
	if (fread(buf, 1, n, f) != n) {
		rc = lp_error(ctx, LP_ERR_IO, "image: cannot read %s", path);
	} else {
		rc = lp_image_decode(ctx, buf, n, path, limits, out);
	}
	fclose(f);
	free(buf);
	return rc;
}
