/* image_dump.c OUT_DIR FILE... — decode each FILE with loupe and write OUT_DIR/<name>.rgb
 * ("P6"-style: "W H\n" then W*H*3 bytes) or OUT_DIR/<name>.err (the error message), for
 * tests/e2e/image_pillow.py to compare with Pillow. */
#include <stdio.h>
#include <string.h>

#include "loupe/image.h"

int main(int argc, char **argv)
{
	lp_ctx *ctx;
	char path[4096];

	if (argc < 2 || lp_ctx_new(&ctx)) {
		fprintf(stderr, "usage: image_dump OUT_DIR FILE...\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
		lp_image img;
		lp_image_limits lim = { .max_pixels = 4096 * 4096 };
		int rc = lp_image_load(ctx, argv[i], &lim, &img);
		snprintf(path, sizeof path, "%s/%s.%s", argv[1], base, rc ? "err" : "rgb");
		FILE *f = fopen(path, "wb");
		if (!f) {
			perror(path);
			return 1;
		}
		if (rc) {
			fprintf(f, "%s\n", lp_ctx_errmsg(ctx));
		} else {
			fprintf(f, "%d %d\n", img.width, img.height);
			fwrite(img.rgb, 3, (size_t)img.width * img.height, f);
		}
		fclose(f);
		lp_image_free(&img);
	}
	lp_ctx_free(ctx);
	return 0;
}
