/* fuzz_image.c — libFuzzer harness for lp_image_decode (JPEG and PNG by content).
 *
 * Built and run by scripts/fuzz (clang, -fsanitize=fuzzer,address,undefined). A finding is a
 * crash, a sanitizer report, a leak, a timeout, or a broken contract checked here: on success a
 * non-empty image within the pixel limit whose every pixel can be read; on failure no pixels
 * and a message that starts with "image: " and names the input.
 *
 * libpng rejects a chunk whose CRC does not match, which would stop almost every mutation of a
 * PNG at the first chunk, so PNG input gets its chunk CRCs recomputed before decoding (what
 * other PNG fuzzers do by turning the check off inside libpng, which we link as it ships). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "loupe/image.h"

#define NAME "<fuzz>"
#define MAX_PIXELS (4u << 20) /* a 4-megapixel decode stays well inside -rss_limit_mb */

static lp_ctx *ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what)
{
	fprintf(stderr, "fuzz_image: contract broken: %s (%s)\n", what, lp_ctx_errmsg(ctx));
	abort();
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Rewrite the CRC of every whole chunk after the PNG signature. */
static void fix_png_crcs(uint8_t *p, size_t n)
{
	size_t at = 8;

	while (n - at >= 12) {
		uint32_t len = be32(p + at);
		if (len > n - at - 12)
			break;
		uint32_t crc = (uint32_t)crc32(0, p + at + 4, len + 4);
		uint8_t *c = p + at + 8 + len;
		c[0] = (uint8_t)(crc >> 24);
		c[1] = (uint8_t)(crc >> 16);
		c[2] = (uint8_t)(crc >> 8);
		c[3] = (uint8_t)crc;
		at += 12 + (size_t)len;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (lp_ctx_new(&ctx)) {
		fprintf(stderr, "fuzz_image: no context\n");
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lp_image_limits lim = { .max_pixels = MAX_PIXELS };
	lp_image img;
	uint8_t *copy = NULL;

	if (lp_image_sniff(data, size) == LP_IMAGE_PNG) {
		if (!(copy = malloc(size)))
			return 0;
		memcpy(copy, data, size);
		fix_png_crcs(copy, size);
		data = copy;
	}
	memset(&img, 0xa5, sizeof img); /* the decoder must set every field */
	if (lp_image_decode(ctx, data, size, NAME, &lim, &img) == LP_OK) {
		if (img.width <= 0 || img.height <= 0 || !img.rgb)
			broken("success without pixels");
		if ((uint64_t)img.width * (uint64_t)img.height > MAX_PIXELS)
			broken("an image above the pixel limit");
		/* read every byte, so ASan checks the buffer is as large as the size claims */
		size_t n = (size_t)img.width * (size_t)img.height * 3;
		unsigned sum = 0;
		for (size_t i = 0; i < n; i++)
			sum += img.rgb[i];
		volatile unsigned sink = sum;
		(void)sink;
		lp_image_free(&img);
	} else {
		const char *msg = lp_ctx_errmsg(ctx);
		if (img.rgb || img.width || img.height)
			broken("an error that leaves pixels behind");
		if (strncmp(msg, "image: ", 7) != 0 || !strstr(msg, NAME))
			broken("an error message that does not name the input");
	}
	free(copy);
	return 0;
}
