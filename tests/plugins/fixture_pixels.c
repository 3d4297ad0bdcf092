/* fixture_pixels.c — a dataset plugin for the loader tests: 3 classes, 90 train and 30 test
 * RGB items of different sizes (20..69 x 20..59), each a gradient plus hashed noise, a pure
 * function of its key (as read() must be: it runs on several threads at once). */
#include <stdio.h>

#include "loupe/plugin.h"

static const lp_host *host;

static void size_of(uint64_t key, int *w, int *h)
{
	*w = 20 + (int)((key * 7) % 50);
	*h = 20 + (int)((key * 13) % 40);
}

static uint32_t hash(uint64_t x)
{
	x = (x ^ (x >> 33)) * 0xff51afd7ed558ccdull;
	x = (x ^ (x >> 33)) * 0xc4ceb9fe1a85ec53ull;
	return (uint32_t)(x ^ (x >> 33));
}

static int fx_open(lp_ctx *ctx, void *state, const lp_params *params, lp_dataset *ds)
{
	static const char *const cls[3] = { "red", "green", "blue" };
	int rc;

	(void)ctx;
	(void)state;
	(void)params;
	for (int c = 0; c < 3; c++)
		if ((rc = host->dataset_class(ds, cls[c])))
			return rc;
	for (uint64_t k = 0; k < 120; k++) {
		lp_item_desc d = { .size = sizeof d, .split = k < 90 ? "train" : "test",
				   .label = (int32_t)(k % 3), .channels = 3, .key = k };
		size_of(k, &d.width, &d.height);
		if ((rc = host->dataset_item(ds, &d)))
			return rc;
	}
	return 0;
}

static int fx_read(lp_ctx *ctx, void *state, uint64_t key, uint8_t *dst)
{
	int w, h;

	(void)ctx;
	(void)state;
	size_of(key, &w, &h);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			for (int c = 0; c < 3; c++) {
				int base = c == (int)(key % 3) ? 150 : 40;
				int v = base + (x * 60) / w + (int)(hash(key * 1000003u + (uint64_t)(y * w + x) * 3u + (uint64_t)c) % 40);
				*dst++ = (uint8_t)(v > 255 ? 255 : v);
			}
	return 0;
}

static const lp_dataset_vtable vt = { .size = sizeof vt, .open = fx_open, .read = fx_read };

static const lp_plugin desc = {
	LP_PLUGIN_HEADER,
	.kind = LP_KIND_DATASET,
	.name = "fixture_pixels",
	.version = "0.0.1",
	.summary = "loader test fixture: 120 RGB items of assorted sizes",
	.state_size = 1,
	.vtable = &vt,
};

LP_PLUGIN_DEFINE(desc)
