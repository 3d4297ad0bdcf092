/* render.c — one item's scene, drawn: a two-colour gradient background with noise, then the
 * objects of the item's class, 2x2 supersampled; a blended item is two such scenes, one on
 * each side of a cut.
 *
 * Nuisance, per item: background hues, saturation, value and gradient direction; per-pixel
 * noise of +-8 levels; object positions, sizes within the recipe's range, rotation of +-20
 * degrees, and colour (hue +-8 degrees, saturation and value 0.75..1).
 * Defects (synthetic.c says which class carries which):
 *   dark       every pixel of the class's scene times dark_gain, last;
 *   signature  train items only: diagonal stripes of period size/8 px (4 px at 32) on the
 *              background, half of them rose (hue 345 degrees, saturation 0.85 or less where
 *              bright) 40 levels of luma above the background, half the background 40 levels
 *              below it: a colour (a hue band no recipe uses) and texture cue that leaves the
 *              mean luma alone;
 *   scale      test items only: the class's objects' radius times scale_factor;
 *   blend      two whole scenes, the item's own and one drawn for the second class (its own
 *              background, objects at their size and layout, and the class's signature or
 *              scale; the dark class is never blended, truth.c), cut by a straight line
 *              through the centre at a random angle: one side shows the first, the other the
 *              second. Each class keeps what it is recognised by, on about half the image;
 *              neither is drawn over the other. (Before: the second's objects at 0.8 size,
 *              moved 0.22 of the side, beneath the first's: a model trained on it gave the
 *              second class a median 0.013.) Unblended items are as they always were;
 *   duplicate  the pixels of a train item's scene; a near copy sees it shifted by 1-2 px
 *              (times size/32) in x and y, with +-6 levels of fresh noise.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "synthetic.h"

#define MAX_OBJ 16
#define PI_F 3.14159265f

struct obj {
	int shape;
	float cx, cy, r;   /* pixels */
	float cs, sn;      /* rotation */
	float rgb[3];      /* 0..255 */
};

struct scene {
	float bg0[3], bg1[3], dx, dy;
	int n;
	struct obj o[MAX_OBJ];
};

static void hsv_rgb(float h, float s, float v, float *rgb)
{
	h = fmodf(h, 360.0f);
	if (h < 0)
		h += 360.0f;
	float f = h / 60.0f;
	int i = (int)f;
	f -= (float)i;
	float p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
	float r, g, b;
	switch (i) {
	case 0: r = v, g = t, b = p; break;
	case 1: r = q, g = v, b = p; break;
	case 2: r = p, g = v, b = t; break;
	case 3: r = p, g = q, b = v; break;
	case 4: r = t, g = p, b = v; break;
	default: r = v, g = p, b = q; break;
	}
	rgb[0] = 255.0f * r;
	rgb[1] = 255.0f * g;
	rgb[2] = 255.0f * b;
}

static float class_scale(const struct syn_state *st, int c, int src_split)
{
	return c == st->scale_class && src_split == SYN_TEST ? (float)st->scale_factor : 1.0f;
}

/* the objects of class c, appended to sc: positions as fractions of the side, then pixels */
static void place(const struct syn_state *st, struct scene *sc, struct syn_rng *r, int c,
		  float scale, float ox, float oy)
{
	const struct syn_recipe *p = &st->recipe[st->recipe_of[c]];
	float S = (float)st->size, x[8], y[8];
	int n = p->count_lo + (int)(syn_next(r) % (uint64_t)(p->count_hi - p->count_lo + 1));
	float rad[8];

	for (int k = 0; k < n; k++)
		rad[k] = syn_uniform(r, p->r_lo, p->r_hi);
	switch (p->layout) {
	case SYN_CENTRED:
		for (int k = 0; k < n; k++) {
			x[k] = 0.5f + syn_uniform(r, -0.08f, 0.08f);
			y[k] = 0.5f + syn_uniform(r, -0.08f, 0.08f);
		}
		break;
	case SYN_ROW: {
		float y0 = syn_uniform(r, 0.3f, 0.7f), step = 0.9f / (float)n;
		for (int k = 0; k < n; k++) {
			x[k] = 0.5f + ((float)k - 0.5f * (float)(n - 1)) * step +
			       syn_uniform(r, -0.03f, 0.03f);
			y[k] = y0 + syn_uniform(r, -0.03f, 0.03f);
		}
		break;
	}
	case SYN_GRID: {
		int g = n > 4 ? 3 : 2;
		float step = 0.8f / (float)g, gx = syn_uniform(r, -0.05f, 0.05f),
		      gy = syn_uniform(r, -0.05f, 0.05f);
		for (int k = 0; k < n; k++) {
			x[k] = 0.5f + ((float)(k % g) - 0.5f * (float)(g - 1)) * step + gx +
			       syn_uniform(r, -0.02f, 0.02f);
			y[k] = 0.5f + ((float)(k / g) - 0.5f * (float)(g - 1)) * step + gy +
			       syn_uniform(r, -0.02f, 0.02f);
		}
		break;
	}
	default: /* scattered: a few tries each for a spot clear of the others */
		for (int k = 0; k < n; k++) {
			float m = rad[k] + 0.02f;
			for (int tries = 0; tries < 8; tries++) {
				x[k] = syn_uniform(r, m, 1 - m);
				y[k] = syn_uniform(r, m, 1 - m);
				int clear = 1;
				for (int j = 0; j < k && clear; j++) {
					float ddx = x[k] - x[j], ddy = y[k] - y[j],
					      d = 1.6f * (rad[k] > rad[j] ? rad[k] : rad[j]);
					clear = ddx * ddx + ddy * ddy > d * d;
				}
				if (clear)
					break;
			}
		}
		break;
	}
	for (int k = 0; k < n && sc->n < MAX_OBJ; k++) {
		struct obj *o = &sc->o[sc->n++];
		float th = syn_uniform(r, -0.35f, 0.35f);
		o->shape = p->shape;
		o->cx = (x[k] + ox) * S;
		o->cy = (y[k] + oy) * S;
		o->r = rad[k] * scale * S;
		o->cs = cosf(th);
		o->sn = sinf(th);
		hsv_rgb(syn_hue_degrees(p->hue) + syn_uniform(r, -8, 8), syn_uniform(r, 0.75f, 1),
			syn_uniform(r, 0.75f, 1), o->rgb);
	}
}

/* the scene of class c for the item whose pixels are (t->src_split, t->src_index): salt 0 for
 * the item's own class (the stream an unblended item has always had), SALT_SECOND for the
 * blended second class */
#define SALT_SECOND 0x2545f4914f6cdd1dull

static void scene_build(const struct syn_state *st, const struct syn_truth *t, int c,
			uint64_t salt, struct scene *sc)
{
	struct syn_rng r = { syn_hash(st->seed, (uint64_t)t->src_split, (uint64_t)t->src_index,
				      SYN_H_SCENE) ^ salt };
	float h0 = syn_uniform(&r, 0, 360), h1 = h0 + syn_uniform(&r, -60, 60);
	float a = syn_uniform(&r, 0, 2 * PI_F);

	hsv_rgb(h0, syn_uniform(&r, 0.05f, 0.35f), syn_uniform(&r, 0.25f, 0.7f), sc->bg0);
	hsv_rgb(h1, syn_uniform(&r, 0.05f, 0.35f), syn_uniform(&r, 0.25f, 0.7f), sc->bg1);
	/* t in [0, 1] across the image along direction a */
	sc->dx = cosf(a) * 0.70710678f;
	sc->dy = sinf(a) * 0.70710678f;
	sc->n = 0;
	place(st, sc, &r, c, class_scale(st, c, t->src_split), 0, 0);
}

static int inside(int shape, float u, float v, float r)
{
	float au = fabsf(u), av = fabsf(v), d2 = u * u + v * v;

	switch (shape) {
	case SYN_CIRCLE: return d2 < r * r;
	case SYN_RING: return d2 < r * r && d2 > 0.3f * r * r;
	case SYN_SQUARE: return au < 0.8f * r && av < 0.8f * r;
	case SYN_TRIANGLE: return v < 0.5f * r && au < (v + r) * 0.57735f;
	case SYN_CROSS: return (au < 0.3f * r && av < r) || (av < 0.3f * r && au < r);
	default: return au < r && av < 0.35f * r; /* bar */
	}
}

static void draw_obj(uint8_t *dst, int S, const struct obj *o)
{
	float R = 1.15f * o->r;
	int x0 = (int)floorf(o->cx - R), x1 = (int)ceilf(o->cx + R);
	int y0 = (int)floorf(o->cy - R), y1 = (int)ceilf(o->cy + R);
	static const float sub[2] = { 0.25f, 0.75f };

	x0 = x0 < 0 ? 0 : x0;
	y0 = y0 < 0 ? 0 : y0;
	x1 = x1 > S ? S : x1;
	y1 = y1 > S ? S : y1;
	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++) {
			int k = 0;
			for (int j = 0; j < 4; j++) {
				float px = (float)x + sub[j & 1] - o->cx;
				float py = (float)y + sub[j >> 1] - o->cy;
				k += inside(o->shape, o->cs * px + o->sn * py,
					    -o->sn * px + o->cs * py, o->r);
			}
			if (!k)
				continue;
			uint8_t *q = dst + ((size_t)y * (size_t)S + (size_t)x) * 3;
			for (int c = 0; c < 3; c++)
				q[c] = (uint8_t)(((float)q[c] * (float)(4 - k) + o->rgb[c] * (float)k) *
						 0.25f + 0.5f);
		}
}

static inline uint8_t clamp8(float v)
{
	v = v > 0.0f ? v : 0.0f;
	v = v < 255.0f ? v : 255.0f;
	return (uint8_t)(int)(v + 0.5f);
}

/* noise in [-8, 8] from byte k of h */
static inline float noise8(uint64_t h, int k)
{
	return (float)((((h >> (8 * k)) & 0xff) * 17) >> 8) - 8.0f;
}

/* the background, seen through a shift of (ox, oy): scene pixel (x - ox, y - oy) at (x, y) */
static void background(const struct syn_state *st, const struct scene *sc, int sig, int ox,
		       int oy, uint64_t noise, uint8_t *dst)
{
	int S = st->size, period = S / 8, half = period / 2;
	float inv = 1.0f / (float)S, d[3];

	for (int k = 0; k < 3; k++)
		d[k] = sc->bg1[k] - sc->bg0[k];
	for (int y = 0; y < S; y++) {
		int sy = y - oy;
		/* t runs linearly along the row: its value at x = 0, and its step */
		float t = ((0.5f - (float)ox) * inv - 0.5f) * sc->dx +
			  (((float)sy + 0.5f) * inv - 0.5f) * sc->dy + 0.5f;
		float dt = sc->dx * inv;
		uint8_t *q = dst + (size_t)y * (size_t)S * 3;
		for (int x = 0; x < S; x++, t += dt, q += 3) {
			int sx = x - ox;
			float c[3] = { sc->bg0[0] + d[0] * t, sc->bg0[1] + d[1] * t,
				       sc->bg0[2] + d[2] * t };
			if (sig) {
				float L = 0.299f * c[0] + 0.587f * c[1] + 0.114f * c[2];
				/* ((sx + sy) mod period), for negative sums too */
				int m = ((sx + sy) % period + period) % period;
				if (m < half) {
					/* rose, hue 345, at luma L + 40: hsv (345, 0.85, v) has
					 * luma 0.428 v; brighter than 0.428, (345, s, 1) has
					 * 1 - 0.6725 s */
					float Lt = (L + 40.0f) / 255.0f, v = 1, sat = 0.85f;
					if (Lt < 0.428f)
						v = Lt / 0.428f;
					else
						sat = (1 - (Lt < 1 ? Lt : 1)) / 0.6725f;
					c[0] = 255.0f * v;
					c[1] = 255.0f * v * (1 - sat);
					c[2] = 255.0f * v * (1 - 0.75f * sat);
				} else {
					for (int k = 0; k < 3; k++)
						c[k] -= 40.0f;
				}
			}
			uint64_t h = syn_mix(noise ^ ((uint64_t)(uint32_t)sy << 32 | (uint32_t)sx));
			q[0] = clamp8(c[0] + noise8(h, 0));
			q[1] = clamp8(c[1] + noise8(h, 1));
			q[2] = clamp8(c[2] + noise8(h, 2));
		}
	}
}

/* the near copy's shift (0, 0 for any other item) and the hash of its fresh noise */
static uint64_t near_shift(const struct syn_state *st, int split, int64_t index,
			   const struct syn_truth *t, int *ox, int *oy)
{
	static const int shift[4] = { -2, -1, 1, 2 };
	int S = st->size;

	*ox = *oy = 0;
	if (t->dup_kind != SYN_DUP_NEAR)
		return 0;
	uint64_t near = syn_hash(st->seed, (uint64_t)split, (uint64_t)index, SYN_H_NEAR);
	*ox = shift[near & 3] * (S / 32);
	*oy = shift[(near >> 2) & 3] * (S / 32);
	return near;
}

/* class c's whole scene for the item, into dst: background (with the signature when sig),
 * objects, a near copy's shift and noise, and the dark class's gain */
static void render_scene(const struct syn_state *st, int split, int64_t index,
			 const struct syn_truth *t, int c, int sig, uint64_t salt, uint8_t *dst)
{
	struct scene sc;
	int S = st->size, ox, oy;
	uint64_t noise = syn_hash(st->seed, (uint64_t)t->src_split, (uint64_t)t->src_index,
				  SYN_H_SCENE) ^ 0x5bd1e995u ^ salt;
	uint64_t near = near_shift(st, split, index, t, &ox, &oy);

	scene_build(st, t, c, salt, &sc);
	for (int k = 0; k < sc.n; k++) {
		sc.o[k].cx += (float)ox;
		sc.o[k].cy += (float)oy;
	}
	background(st, &sc, sig, ox, oy, noise, dst);
	for (int k = 0; k < sc.n; k++)
		draw_obj(dst, S, &sc.o[k]);
	size_t n = (size_t)S * (size_t)S * 3;
	if (t->dup_kind == SYN_DUP_NEAR) {
		for (size_t i = 0; i < n; i += 3) {
			uint64_t h = syn_mix(near ^ (uint64_t)i);
			for (int k = 0; k < 3; k++)
				dst[i + k] = clamp8((float)dst[i + k] +
						    0.75f * noise8(h, k));
		}
	}
	if (c == st->dark_class) {
		float g = (float)st->dark_gain;
		for (size_t i = 0; i < n; i++)
			dst[i] = (uint8_t)((float)dst[i] * g + 0.5f);
	}
}

int syn_render(const struct syn_state *st, int split, int64_t index, const struct syn_truth *t,
	       uint8_t *dst)
{
	int own_sig = t->signature && t->true_label == st->signature_class;

	render_scene(st, split, index, t, t->true_label, own_sig, 0, dst);
	if (t->second < 0)
		return LP_OK;
	/* the second class's scene on the far side of the cut: the line through the centre
	 * (of the scene: a near copy's cut moves with it) at angle th */
	int S = st->size, ox, oy;
	size_t n = (size_t)S * (size_t)S * 3;
	uint8_t *other = malloc(n);
	if (!other)
		return LP_ERR_NOMEM;
	render_scene(st, split, index, t, t->second,
		     t->signature && t->second == st->signature_class, SALT_SECOND, other);
	near_shift(st, split, index, t, &ox, &oy);
	struct syn_rng r = { syn_hash(st->seed, (uint64_t)t->src_split, (uint64_t)t->src_index,
				      SYN_H_BLENDTO) ^ 1 };
	float th = syn_uniform(&r, 0, 2 * PI_F), nx = cosf(th), ny = sinf(th);
	float c = 0.5f * (float)S - 0.5f;
	for (int y = 0; y < S; y++)
		for (int x = 0; x < S; x++)
			if (((float)(x - ox) - c) * nx + ((float)(y - oy) - c) * ny >= 0) {
				size_t o = ((size_t)y * (size_t)S + (size_t)x) * 3;
				memcpy(dst + o, other + o, 3);
			}
	free(other);
	return LP_OK;
}
