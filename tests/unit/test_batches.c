/* test_batches.c — the loader: batches identical whatever the number of threads, epochs that
 * are permutations, resuming mid-epoch, and the pixel pipeline against references computed
 * here (identity, mirror, 2x2 box means, zoom-out fill, colour jitter invariants). The
 * dataset is tests/plugins/fixture_pixels.c: RGB items of assorted sizes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/dataset.h"
#include "loupe/loader.h"
#include "test_util.h"

#define EPOCHS 2

/* Every batch of EPOCHS epochs, concatenated: x, labels and indices. */
typedef struct run {
	float *x;
	int32_t *labels;
	int64_t *index;
	size_t nx, n;
} run;

static void run_free(run *r)
{
	free(r->x);
	free(r->labels);
	free(r->index);
}

static int collect(lp_ctx *ctx, lp_split *s, lp_loader_opts o, run *r, int64_t first)
{
	lp_loader *ld;
	lp_batch b;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = lp_loader_new(ctx, s, &o, &ld)))
		return rc;
	for (uint64_t e = 0; e < EPOCHS; e++) {
		if ((rc = lp_loader_start(ld, e, e == EPOCHS - 1 ? first : 0)))
			break;
		while ((rc = lp_loader_next(ld, &b)) == LP_OK && b.n) {
			size_t k = (size_t)(b.n * b.channels * b.height * b.width);
			r->x = realloc(r->x, sizeof(float) * (r->nx + k));
			r->labels = realloc(r->labels, sizeof(int32_t) * (r->n + (size_t)b.n));
			r->index = realloc(r->index, sizeof(int64_t) * (r->n + (size_t)b.n));
			memcpy(r->x + r->nx, b.x, sizeof(float) * k);
			memcpy(r->labels + r->n, b.labels, sizeof(int32_t) * (size_t)b.n);
			memcpy(r->index + r->n, b.index, sizeof(int64_t) * (size_t)b.n);
			r->nx += k;
			r->n += (size_t)b.n;
		}
		if (rc)
			break;
	}
	lp_loader_free(ld);
	return rc;
}

static int same(const run *a, const run *b)
{
	return a->nx == b->nx && a->n == b->n && memcmp(a->x, b->x, sizeof(float) * a->nx) == 0 &&
	       memcmp(a->labels, b->labels, sizeof(int32_t) * a->n) == 0 &&
	       memcmp(a->index, b->index, sizeof(int64_t) * a->n) == 0;
}

static void test_threads_and_resume(lp_ctx *ctx, lp_split *s)
{
	lp_loader_opts o = lp_loader_defaults();
	run r[4], other, resumed;

	o.batch = 16;
	o.shuffle = 1;
	o.seed = 7;
	o.aug = (lp_augment){ .size = 24, .resize = 28, .crop = LP_CROP_RANDOM, .flip = 1,
			      .brightness = 0.3, .contrast = 0.3, .saturation = 0.3, .hue = 0.1,
			      .scale_min = 0.7, .scale_max = 1.4, .mean = { 0.5f, 0.4f, 0.3f },
			      .std = { 0.2f, 0.25f, 0.3f } };
	for (int t = 0; t < 4; t++) { /* 0 = in the caller's thread, then 1, 2, 3 workers */
		o.threads = t;
		o.prefetch = t == 3 ? 1 : 2;
		CHECK_OK(ctx, collect(ctx, s, o, &r[t], 0));
	}
	for (int t = 1; t < 4; t++)
		CHECK(same(&r[0], &r[t]));
	CHECK(r[0].n == (size_t)(EPOCHS * lp_split_count(s)));

	/* each epoch is a permutation of the items, and the two epochs differ in order */
	int64_t n = lp_split_count(s);
	char *seen = calloc((size_t)n, 1);
	int differ = 0;
	for (int e = 0; e < EPOCHS; e++) {
		memset(seen, 0, (size_t)n);
		for (int64_t i = 0; i < n; i++) {
			int64_t k = r[0].index[e * n + i];
			CHECK(k >= 0 && k < n && !seen[k]);
			if (k >= 0 && k < n)
				seen[k] = 1;
			lp_item_info it;
			lp_split_item(s, k, &it);
			CHECK(r[0].labels[e * n + i] == it.label);
		}
		differ |= e && memcmp(r[0].index, r[0].index + n, sizeof(int64_t) * (size_t)n);
	}
	CHECK(differ);
	free(seen);

	/* another seed, other batches */
	o.seed = 8;
	o.threads = 2;
	CHECK_OK(ctx, collect(ctx, s, o, &other, 0));
	CHECK(!same(&r[0], &other));
	run_free(&other);

	/* resuming the last epoch at batch 3 gives exactly its batches 3.. */
	o.seed = 7;
	CHECK_OK(ctx, collect(ctx, s, o, &resumed, 3));
	size_t skip = (size_t)(3 * o.batch);
	size_t per = (size_t)(3 * 24 * 24);
	CHECK(resumed.n == r[0].n - skip);
	if (resumed.n == r[0].n - skip) {
		CHECK(memcmp(resumed.x + (size_t)n * per, r[0].x + ((size_t)n + skip) * per,
			     sizeof(float) * (resumed.n - (size_t)n) * per) == 0);
		CHECK(memcmp(resumed.index + n, r[0].index + (size_t)n + skip,
			     sizeof(int64_t) * (resumed.n - (size_t)n)) == 0);
	}
	run_free(&resumed);

	/* one item alone through lp_loader_item is the same as its row in the batch */
	float *one = malloc(sizeof(float) * per);
	int64_t k = r[0].index[5];
	CHECK_OK(ctx, lp_loader_item(ctx, s, k, &o.aug, 7, 0, 3, one));
	CHECK(memcmp(one, r[0].x + 5 * per, sizeof(float) * per) == 0);
	free(one);
	for (int t = 0; t < 4; t++)
		run_free(&r[t]);

	lp_loader *ld;
	/* a subset of items with relabelled items; random pixels: one fixed image per item */
	{
		int64_t sub[20];
		int32_t *relabel = malloc(sizeof(int32_t) * (size_t)n);
		for (int i = 0; i < 20; i++)
			sub[i] = 3 * i + 1;
		for (int64_t i = 0; i < n; i++)
			relabel[i] = (int32_t)((i * 7) % 3);
		lp_loader_opts so = o;
		so.items = sub;
		so.nitems = 20;
		so.labels = relabel;
		so.random_pixels = 1;
		so.batch = 8;
		run a, b;
		so.threads = 0;
		CHECK_OK(ctx, collect(ctx, s, so, &a, 0));
		so.threads = 2;
		CHECK_OK(ctx, collect(ctx, s, so, &b, 0));
		CHECK(same(&a, &b));
		CHECK(a.n == 40);
		for (size_t i = 0; i < a.n; i++) {
			CHECK(a.index[i] % 3 == 1 && a.index[i] < 60);
			CHECK(a.labels[i] == (int32_t)((a.index[i] * 7) % 3));
		}
		/* the noise of an item is the same in both epochs; items differ; it is N(0, 1) */
		double sum = 0, sq = 0;
		for (size_t i = 0; i < 20; i++) {
			size_t j = 20;
			while (j < 40 && a.index[j] != a.index[i])
				j++;
			CHECK(j < 40 && memcmp(a.x + i * per, a.x + j * per, sizeof(float) * per) == 0);
			if (i)
				CHECK(memcmp(a.x, a.x + i * per, sizeof(float) * per) != 0);
			for (size_t q = 0; q < per; q++) {
				sum += a.x[i * per + q];
				sq += (double)a.x[i * per + q] * a.x[i * per + q];
			}
		}
		double mean = sum / (20.0 * per), var = sq / (20.0 * per) - mean * mean;
		CHECK(fabs(mean) < 0.02 && fabs(var - 1) < 0.03);
		run_free(&a);
		run_free(&b);
		relabel[5] = 3; /* not a class */
		so.random_pixels = 0;
		CHECK(lp_loader_new(ctx, s, &so, &ld) == LP_ERR_ARG);
		CHECK(strstr(lp_ctx_errmsg(ctx), "labels[5]") != NULL);
		free(relabel);
	}

	/* drop_last and the errors that name the option */
	o.drop_last = 1;
	CHECK_OK(ctx, lp_loader_new(ctx, s, &o, &ld));
	CHECK(lp_loader_batches(ld) == n / 16);
	lp_loader_free(ld);
	o.batch = n + 1;
	CHECK(lp_loader_new(ctx, s, &o, &ld) == LP_ERR_ARG);
	CHECK(strstr(lp_ctx_errmsg(ctx), "batch") != NULL);
	o.batch = 4;
	o.aug.hue = 0.7;
	CHECK(lp_loader_new(ctx, s, &o, &ld) == LP_ERR_ARG);
	CHECK(strstr(lp_ctx_errmsg(ctx), "hue") != NULL);
}

/* a w x h RGB image of hashed values */
static uint8_t *noise(int w, int h, unsigned seed)
{
	uint8_t *p = malloc((size_t)w * (size_t)h * 3);
	uint32_t x = seed * 2654435761u + 1;
	for (int i = 0; i < w * h * 3; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)(x >> 24);
	}
	return p;
}

static void test_pixels(lp_ctx *ctx)
{
	const int W = 48, H = 48;
	uint8_t *img = noise(W, H, 3);
	float *out = malloc(sizeof(float) * 3 * W * H);
	lp_augment a = { .size = W, .crop = LP_CROP_NONE, .std = { 1, 1, 1 } };
	double err = 0;

	/* same size, no jitter: exactly the pixels / 255, channel planes */
	CHECK_OK(ctx, lp_augment_image(ctx, img, W, H, 3, &a, 1, 3, out));
	for (int c = 0; c < 3; c++)
		for (int y = 0; y < H; y++)
			for (int x = 0; x < W; x++)
				err = fmax(err, fabs(out[(c * H + y) * W + x] -
						     img[(y * W + x) * 3 + c] / 255.0));
	CHECK(err < 1e-6);

	/* flip: find keys that flip and that do not, compare mirrored */
	a.flip = 1;
	int flipped = 0, kept = 0;
	for (uint64_t key = 0; key < 16; key++) {
		CHECK_OK(ctx, lp_augment_image(ctx, img, W, H, 3, &a, key, 3, out));
		int is_mirror = 1, is_same = 1;
		for (int y = 0; y < H; y++)
			for (int x = 0; x < W; x++) {
				float v = out[y * W + x];
				is_mirror &= fabsf(v - img[(y * W + (W - 1 - x)) * 3] / 255.0f) < 1e-6f;
				is_same &= fabsf(v - img[(y * W + x) * 3] / 255.0f) < 1e-6f;
			}
		CHECK(is_mirror || is_same);
		flipped += is_mirror;
		kept += is_same;
	}
	CHECK(flipped >= 3 && kept >= 3);
	a.flip = 0;

	/* area, factor 2: each output the mean of a 2x2 block */
	a.size = W / 2;
	a.resample = LP_RESAMPLE_AREA;
	err = 0;
	CHECK_OK(ctx, lp_augment_image(ctx, img, W, H, 3, &a, 1, 3, out));
	for (int c = 0; c < 3; c++)
		for (int y = 0; y < H / 2; y++)
			for (int x = 0; x < W / 2; x++) {
				double m = 0;
				for (int dy = 0; dy < 2; dy++)
					for (int dx = 0; dx < 2; dx++)
						m += img[((2 * y + dy) * W + 2 * x + dx) * 3 + c];
				err = fmax(err, fabs(out[(c * (H / 2) + y) * (W / 2) + x] - m / 4 / 255));
			}
	CHECK(err < 1e-5);

	/* bilinear, factor 2 on a horizontal ramp: the triangle filter of radius 2 keeps a ramp
	 * a ramp (inside the image) */
	uint8_t *ramp = malloc((size_t)W * H * 3);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			for (int c = 0; c < 3; c++)
				ramp[(y * W + x) * 3 + c] = (uint8_t)(4 * x + c);
	a.resample = LP_RESAMPLE_BILINEAR;
	CHECK_OK(ctx, lp_augment_image(ctx, ramp, W, H, 3, &a, 1, 3, out));
	err = 0;
	for (int x = 2; x < W / 2 - 2; x++) /* output x covers source 2x, 2x+1: centre 2x + 0.5 */
		err = fmax(err, fabs(out[5 * (W / 2) + x] - (4 * (2 * x + 0.5)) / 255.0));
	CHECK(err < 1e-5);
	free(ramp);

	/* zoom out by 2, centred: the image fills the middle half, the rest is 0 (= the mean) */
	a.size = 32;
	a.crop = LP_CROP_CENTER;
	a.scale_min = a.scale_max = 0.5;
	a.mean[0] = a.mean[1] = a.mean[2] = 0.5f;
	CHECK_OK(ctx, lp_augment_image(ctx, img, W, H, 3, &a, 1, 3, out));
	CHECK(out[0] == 0 && out[31] == 0 && out[31 * 32] == 0);
	double centre = 0;
	for (int y = 12; y < 20; y++)
		for (int x = 12; x < 20; x++)
			centre += fabs(out[y * 32 + x]);
	CHECK(centre > 0.1);
	a.scale_min = a.scale_max = 0;
	a.mean[0] = a.mean[1] = a.mean[2] = 0;

	/* colour: a mid-grey image stays grey under saturation and hue; brightness scales it by
	 * one factor within [1 - b, 1 + b]; hue keeps luma */
	uint8_t *grey = malloc((size_t)W * H * 3);
	for (int i = 0; i < W * H * 3; i++)
		grey[i] = (uint8_t)(100 + (i / 3) % 50);
	a.size = W;
	a.crop = LP_CROP_NONE;
	a.saturation = 0.9;
	a.hue = 0.4;
	CHECK_OK(ctx, lp_augment_image(ctx, grey, W, H, 3, &a, 5, 3, out));
	err = 0;
	for (int i = 0; i < W * H; i++)
		err = fmax(err, fabs(out[i] - grey[i * 3] / 255.0) +
				fabs(out[W * H + i] - grey[i * 3] / 255.0));
	CHECK(err < 1e-3);
	a.saturation = a.hue = 0;
	a.brightness = 0.4;
	for (uint64_t key = 0; key < 5; key++) {
		CHECK_OK(ctx, lp_augment_image(ctx, grey, W, H, 3, &a, key, 3, out));
		double f = out[0] / (grey[0] / 255.0), spread = 0;
		for (int i = 0; i < W * H; i++)
			spread = fmax(spread, fabs(out[i] / (grey[i * 3] / 255.0) - f));
		CHECK(f >= 0.6 - 1e-6 && f <= 1.4 + 1e-6 && spread < 1e-4);
	}
	a.brightness = 0;
	a.hue = 0.25;
	uint8_t *soft = malloc((size_t)W * H * 3);
	for (int i = 0; i < W * H * 3; i++)
		soft[i] = (uint8_t)(90 + img[i] / 4); /* colours far from clamping */
	CHECK_OK(ctx, lp_augment_image(ctx, soft, W, H, 3, &a, 9, 3, out));
	err = 0;
	double moved = 0;
	for (int i = 0; i < W * H; i++) {
		double l0 = (0.299 * soft[3 * i] + 0.587 * soft[3 * i + 1] + 0.114 * soft[3 * i + 2]) /
			    255;
		double l1 = 0.299 * out[i] + 0.587 * out[W * H + i] + 0.114 * out[2 * W * H + i];
		err = fmax(err, fabs(l0 - l1));
		moved = fmax(moved, fabs(out[i] - soft[3 * i] / 255.0));
	}
	CHECK(err < 2e-3);
	CHECK(moved > 0.01); /* unless the draw was ~0, the hue moved */
	free(soft);
	free(grey);

	/* grey output from RGB is luma */
	a.hue = 0;
	CHECK_OK(ctx, lp_augment_image(ctx, img, W, H, 3, &a, 1, 1, out));
	err = 0;
	for (int i = 0; i < W * H; i++)
		err = fmax(err, fabs(out[i] - (0.299 * img[3 * i] + 0.587 * img[3 * i + 1] +
					       0.114 * img[3 * i + 2]) / 255));
	CHECK(err < 1e-5);
	free(out);
	free(img);
}

static void test_stats(void)
{
	const int W = 40, H = 40;
	uint8_t *p = malloc((size_t)W * H * 3);
	lp_item_stats st;

	for (int i = 0; i < W * H; i++) { /* pure red */
		p[3 * i] = 255;
		p[3 * i + 1] = p[3 * i + 2] = 0;
	}
	lp_image_stats(p, W, H, 3, &st);
	CHECK(fabsf(st.brightness - 0.299f) < 1e-3f);
	CHECK(fabsf(st.hue_hist[0] - 1) < 1e-5f && st.hue_hist[6] == 0);
	CHECK(st.edge_energy < 1e-5f && fabsf(st.colourfulness - 0.3354f) < 1e-3f); /* 0.3 * |(1, 0.5)| */
	for (int y = 0; y < H; y++) /* left half black, right half white: grey, one edge */
		for (int x = 0; x < W; x++)
			p[3 * (y * W + x)] = p[3 * (y * W + x) + 1] = p[3 * (y * W + x) + 2] =
				x < W / 2 ? 0 : 255;
	lp_image_stats(p, W, H, 3, &st);
	CHECK(fabsf(st.brightness - 0.5f) < 1e-3f);
	CHECK(st.luma_p05 == 0 && st.luma_p95 == 1);
	CHECK(st.colourfulness < 1e-5f && st.hue_hist[0] == 0);
	CHECK(st.edge_energy > 0.01f);
	CHECK(fabsf(st.val_hist[0] - 0.5f) < 1e-3f && fabsf(st.val_hist[3] - 0.5f) < 1e-3f);
	free(p);
}

int main(void)
{
	lp_ctx *ctx;
	const lp_plugin *p;
	lp_dataset *ds = NULL;

	if (lp_ctx_new(&ctx))
		return 1;
	CHECK_OK(ctx, lp_plugin_load(ctx, FIXTURE_DIR "/pixels/fixture_pixels.so", &p));
	CHECK_OK(ctx, lp_dataset_open(ctx, p, NULL, 0, NULL, &ds));
	if (ds) {
		lp_split *s = lp_dataset_split(ds, "train");
		CHECK(s && lp_split_count(s) == 90);
		if (s)
			test_threads_and_resume(ctx, s);
		lp_dataset_free(ds);
	}
	test_pixels(ctx);
	test_stats();
	lp_ctx_free(ctx);
	if (tu_failures)
		fprintf(stderr, "%d check(s) failed\n", tu_failures);
	return tu_failures != 0;
}
