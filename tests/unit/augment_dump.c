/* augment_dump.c IMAGE SIZE bilinear|area — decode IMAGE, squash it to SIZE x SIZE with the
 * loader's resampler (no crop, no jitter) and write the float32 channel planes (0..1) to
 * stdout, for tests/e2e/augment_pillow.py to compare with Pillow's resize. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/image.h"
#include "loupe/loader.h"

int main(int argc, char **argv)
{
	lp_ctx *ctx;
	lp_image img = { 0 };

	if (argc != 4 || lp_ctx_new(&ctx)) {
		fprintf(stderr, "usage: augment_dump IMAGE SIZE bilinear|area\n");
		return 2;
	}
	lp_augment a = { .size = atoi(argv[2]), .crop = LP_CROP_NONE,
			 .resample = strcmp(argv[3], "area") == 0 ? LP_RESAMPLE_AREA
								  : LP_RESAMPLE_BILINEAR,
			 .std = { 1, 1, 1 } };
	float *out = malloc(sizeof(float) * 3 * (size_t)(a.size > 0 ? a.size : 1) *
			    (size_t)(a.size > 0 ? a.size : 1));
	if (!out || lp_image_load(ctx, argv[1], NULL, &img) ||
	    lp_augment_image(ctx, img.rgb, img.width, img.height, 3, &a, 0, 3, out)) {
		fprintf(stderr, "augment_dump: %s\n", lp_ctx_errmsg(ctx));
		return 1;
	}
	fwrite(out, sizeof(float), 3 * (size_t)a.size * (size_t)a.size, stdout);
	free(out);
	lp_image_free(&img);
	lp_ctx_free(ctx);
	return 0;
}
