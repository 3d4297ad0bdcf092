/* augment.c — one image to one float tensor: window, resample, flip, colour jitter, normalise.
 * (The geometry and the jitter are described in loader.h.) */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

#define PI 3.14159265358979323846

uint64_t lpi_mix(uint64_t a, uint64_t b)
{
	uint64_t z = a * 0x9e3779b97f4a7c15ull + b + 0x632be59bd9b4e019ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* splitmix64 stream: the random choices of one item, in a fixed order */
static double next_uniform(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

int lp_augment_check(lp_ctx *ctx, const lp_augment *a)
{
	if (a->size < 1 || a->size > 4096)
		return lp_error(ctx, LP_ERR_ARG, "augment: size = %d; it must be 1..4096", a->size);
	if (a->resize < 0 || a->resize > 16384)
		return lp_error(ctx, LP_ERR_ARG, "augment: resize = %d; it must be 0 (= size) or "
				"1..16384", a->resize);
	if (a->crop < LP_CROP_CENTER || a->crop > LP_CROP_NONE)
		return lp_error(ctx, LP_ERR_ARG, "augment: crop must be center, random or none");
	if (a->resample != LP_RESAMPLE_BILINEAR && a->resample != LP_RESAMPLE_AREA)
		return lp_error(ctx, LP_ERR_ARG, "augment: resample must be bilinear or area");
	if (!(a->brightness >= 0 && a->brightness <= 10))
		return lp_error(ctx, LP_ERR_ARG, "augment: brightness = %g; it must be 0..10",
				a->brightness);
	if (!(a->contrast >= 0 && a->contrast <= 10))
		return lp_error(ctx, LP_ERR_ARG, "augment: contrast = %g; it must be 0..10",
				a->contrast);
	if (!(a->saturation >= 0 && a->saturation <= 10))
		return lp_error(ctx, LP_ERR_ARG, "augment: saturation = %g; it must be 0..10",
				a->saturation);
	if (!(a->hue >= 0 && a->hue <= 0.5))
		return lp_error(ctx, LP_ERR_ARG, "augment: hue = %g; it must be 0..0.5 (turns)",
				a->hue);
	if (!((a->scale_min == 0 && a->scale_max == 0) ||
	      (a->scale_min > 0 && a->scale_max >= a->scale_min && a->scale_max <= 16)))
		return lp_error(ctx, LP_ERR_ARG, "augment: scale = {%g, %g}; it must be "
				"0 < min <= max <= 16", a->scale_min, a->scale_max);
	if (a->channels != 0 && a->channels != 1 && a->channels != 3)
		return lp_error(ctx, LP_ERR_ARG, "augment: channels = %d; it must be 1 or 3",
				a->channels);
	for (int c = 0; c < 3; c++)
		if (!(a->std[c] >= 0) || !isfinite(a->mean[c]) || !isfinite(a->std[c]))
			return lp_error(ctx, LP_ERR_ARG, "augment: mean/std[%d] = %g/%g: std must be "
					">= 0 and both finite", c + 1, (double)a->mean[c],
					(double)a->std[c]);
	return LP_OK;
}

/* Filter taps of one axis: for output o, source indices first[o] .. first[o] + count[o] - 1
 * with weights w[o * maxtaps + k], and cover[o], the share of the filter inside the image. */
typedef struct taps {
	int *first, *count;
	float *w, *cover;
	int maxtaps;
} taps;

static void taps_free(taps *t)
{
	free(t->first);
	free(t->count);
	free(t->w);
	free(t->cover);
}

static double triangle(double t)
{
	t = fabs(t);
	return t < 1 ? 1 - t : 0;
}

/* out samples over [x0, x0 + len) of a source axis of n pixels */
static int taps_make(taps *t, int out, double x0, double len, int n, int mode)
{
	double step = len / out, scale = step > 1 ? step : 1;
	int area = mode == LP_RESAMPLE_AREA && step > 1;
	double support = area ? step / 2 + 1 : scale; /* triangle: radius 1, widened */

	t->maxtaps = (int)ceil(2 * support) + 2;
	t->first = malloc(sizeof(int) * (size_t)out);
	t->count = malloc(sizeof(int) * (size_t)out);
	t->w = malloc(sizeof(float) * (size_t)out * (size_t)t->maxtaps);
	t->cover = malloc(sizeof(float) * (size_t)out);
	if (!t->first || !t->count || !t->w || !t->cover)
		return LP_ERR_NOMEM;
	for (int o = 0; o < out; o++) {
		double c = x0 + (o + 0.5) * step;
		int lo = (int)floor(c - support), hi = (int)ceil(c + support);
		double total = 0, inside = 0;
		double wk[t->maxtaps + 2];
		int first = -1, cnt = 0;
		if (hi - lo + 1 > t->maxtaps + 2)
			hi = lo + t->maxtaps + 1;
		for (int j = lo; j <= hi; j++) {
			double w;
			if (area) { /* overlap of pixel [j, j+1) with [c - step/2, c + step/2) */
				double a = fmax(j, c - step / 2), b = fmin(j + 1, c + step / 2);
				w = b > a ? b - a : 0;
			} else {
				w = triangle((j + 0.5 - c) / scale);
			}
			if (w <= 0)
				continue;
			total += w;
			if (j < 0 || j >= n)
				continue;
			if (first < 0)
				first = j;
			/* taps inside the image are contiguous: j - first is the slot */
			wk[j - first] = w;
			cnt = j - first + 1;
			inside += w;
		}
		if (cnt > t->maxtaps)
			cnt = t->maxtaps;
		t->first[o] = first < 0 ? 0 : first;
		t->count[o] = first < 0 ? 0 : cnt;
		/* the share of the output pixel's footprint that lies on the image: 1 inside,
		 * less where a zoomed-out window leaves it (not where the filter's tail does) */
		double f0 = fmax(c - step / 2, 0), f1 = fmin(c + step / 2, n);
		t->cover[o] = f1 > f0 ? (float)((f1 - f0) / step) : 0;
		(void)total;
		for (int k = 0; k < t->count[o]; k++)
			t->w[o * t->maxtaps + k] = (float)(inside > 0 ? wk[k] / inside : 0);
	}
	return LP_OK;
}

/* Luma weights, BT.601 */
#define LR 0.299f
#define LG 0.587f
#define LB 0.114f

int lp_augment_image(lp_ctx *ctx, const uint8_t *src, int width, int height, int sc,
		     const lp_augment *a, uint64_t key, int oc, float *out)
{
	const int S = a->size;
	uint64_t rs = key;
	int rc;

	if ((rc = lp_augment_check(ctx, a)))
		return rc;
	if (width < 1 || height < 1 || (sc != 1 && sc != 3) || (oc != 1 && oc != 3))
		return lp_error(ctx, LP_ERR_ARG, "augment: bad image %dx%dx%d -> %d channels", width,
				height, sc, oc);
	/* the random choices, always drawn in this order */
	double u_scale = next_uniform(&rs), u_x = next_uniform(&rs), u_y = next_uniform(&rs);
	double u_flip = next_uniform(&rs), u_b = next_uniform(&rs), u_c = next_uniform(&rs);
	double u_s = next_uniform(&rs), u_h = next_uniform(&rs);

	double x0, y0, wx, wy;
	if (a->crop == LP_CROP_NONE) {
		x0 = y0 = 0;
		wx = width;
		wy = height;
	} else {
		double s = 1;
		if (a->scale_min > 0) {
			double l0 = log(a->scale_min), l1 = log(a->scale_max);
			s = exp(l0 + u_scale * (l1 - l0));
		}
		double shortside = width < height ? width : height;
		double r = (a->resize ? a->resize : S) / shortside; /* source -> resized */
		wx = wy = S / s / r;
		if (a->crop == LP_CROP_CENTER) {
			x0 = (width - wx) / 2;
			y0 = (height - wy) / 2;
		} else { /* anywhere it fits; a window larger than the image holds it anywhere */
			x0 = (width - wx) * u_x;
			y0 = (height - wy) * u_y;
		}
	}
	int flip = a->flip && u_flip < 0.5;

	taps tx = { 0 }, ty = { 0 };
	float *rows = NULL;
	if (taps_make(&tx, S, x0, wx, width, a->resample) ||
	    taps_make(&ty, S, y0, wy, height, a->resample))
		goto nomem;
	/* source rows the vertical pass reads */
	int rlo = height, rhi = -1;
	for (int o = 0; o < S; o++)
		if (ty.count[o]) {
			if (ty.first[o] < rlo)
				rlo = ty.first[o];
			if (ty.first[o] + ty.count[o] - 1 > rhi)
				rhi = ty.first[o] + ty.count[o] - 1;
		}
	int nrows = rhi >= rlo ? rhi - rlo + 1 : 0;
	/* horizontal pass: rows[r][x][c] for the needed source rows, channels interleaved */
	rows = malloc(sizeof(float) * ((size_t)nrows * (size_t)S * (size_t)sc + 1));
	if (!rows)
		goto nomem;
	for (int r = 0; r < nrows; r++) {
		const uint8_t *line = src + (size_t)(rlo + r) * (size_t)width * (size_t)sc;
		float *dst = rows + (size_t)r * (size_t)S * (size_t)sc;
		for (int o = 0; o < S; o++) {
			const float *w = tx.w + o * tx.maxtaps;
			const uint8_t *p = line + (size_t)tx.first[o] * (size_t)sc;
			int n = tx.count[o];
			int ox = flip ? S - 1 - o : o;
			if (sc == 3) {
				float r0 = 0, g0 = 0, b0 = 0;
				for (int k = 0; k < n; k++, p += 3) {
					r0 += w[k] * p[0];
					g0 += w[k] * p[1];
					b0 += w[k] * p[2];
				}
				dst[3 * ox] = r0;
				dst[3 * ox + 1] = g0;
				dst[3 * ox + 2] = b0;
			} else {
				float v = 0;
				for (int k = 0; k < n; k++)
					v += w[k] * p[k];
				dst[ox] = v;
			}
		}
	}
	/* vertical pass into out, channel planes, still 0..255; mean luma on the way */
	const size_t plane = (size_t)S * (size_t)S;
	double lsum = 0;
	float acc[3 * 4096];
	for (int o = 0; o < S; o++) {
		const float *w = ty.w + o * ty.maxtaps;
		int n = ty.count[o];
		memset(acc, 0, sizeof(float) * (size_t)S * (size_t)sc);
		for (int k = 0; k < n; k++) {
			const float *row = rows + (size_t)(ty.first[o] - rlo + k) * (size_t)S *
						  (size_t)sc;
			float wk = w[k];
			for (int x = 0; x < S * sc; x++)
				acc[x] += wk * row[x];
		}
		for (int x = 0; x < S; x++) {
			float rgb[3];
			for (int c = 0; c < sc; c++)
				rgb[c] = acc[x * sc + c] * (1.0f / 255);
			if (sc == 1)
				rgb[1] = rgb[2] = rgb[0];
			float luma = LR * rgb[0] + LG * rgb[1] + LB * rgb[2];
			lsum += luma;
			if (oc == 3)
				for (int c = 0; c < 3; c++)
					out[(size_t)c * plane + (size_t)o * S + x] = rgb[c];
			else
				out[(size_t)o * S + x] = luma;
		}
	}
	/* colour: p' = M p + off (brightness, contrast, saturation, hue composed), clamp,
	 * normalise, fade to 0 where the window left the image */
	double b = a->brightness > 0 ? fmax(0, 1 - a->brightness) +
					       u_b * (1 + a->brightness - fmax(0, 1 - a->brightness)) : 1;
	double c = a->contrast > 0 ? fmax(0, 1 - a->contrast) +
					     u_c * (1 + a->contrast - fmax(0, 1 - a->contrast)) : 1;
	double s = a->saturation > 0 ? fmax(0, 1 - a->saturation) +
					       u_s * (1 + a->saturation - fmax(0, 1 - a->saturation)) : 1;
	double h = a->hue > 0 ? (2 * u_h - 1) * a->hue : 0;
	double m = b * lsum / (double)plane; /* mean luma after brightness (grey image: same) */
	double M[3][3], off = (1 - c) * m;
	{
		/* saturation S = s I + (1 - s) 1 l^T; hue H = T^-1 R T in YIQ */
		static const double T[3][3] = { { 0.299, 0.587, 0.114 },
						 { 0.595716, -0.274453, -0.321263 },
						 { 0.211456, -0.522591, 0.311135 } };
		static const double Ti[3][3] = { { 1, 0.9563, 0.6210 },
						  { 1, -0.2721, -0.6474 },
						  { 1, -1.1070, 1.7046 } };
		double ca = cos(2 * PI * h), sa = sin(2 * PI * h);
		double R[3][3] = { { 1, 0, 0 }, { 0, ca, -sa }, { 0, sa, ca } };
		double RT[3][3], H[3][3], Sm[3][3];
		const double l[3] = { LR, LG, LB };
		for (int i = 0; i < 3; i++)
			for (int j = 0; j < 3; j++) {
				RT[i][j] = 0;
				for (int k = 0; k < 3; k++)
					RT[i][j] += R[i][k] * T[k][j];
				Sm[i][j] = (i == j ? s : 0) + (1 - s) * l[j];
			}
		for (int i = 0; i < 3; i++)
			for (int j = 0; j < 3; j++) {
				H[i][j] = 0;
				for (int k = 0; k < 3; k++)
					H[i][j] += Ti[i][k] * RT[k][j];
			}
		if (h == 0) /* exactly the identity, not T^-1 T to 4 digits */
			for (int i = 0; i < 3; i++)
				for (int j = 0; j < 3; j++)
					H[i][j] = i == j;
		for (int i = 0; i < 3; i++)
			for (int j = 0; j < 3; j++) {
				M[i][j] = 0;
				for (int k = 0; k < 3; k++)
					M[i][j] += H[i][k] * Sm[k][j];
				M[i][j] *= c * b;
			}
	}
	float mean[3], inv[3];
	for (int k = 0; k < 3; k++) {
		mean[k] = a->mean[k];
		inv[k] = a->std[k] > 0 ? 1.0f / a->std[k] : 1.0f;
	}
	int colour = oc == 3 && sc == 3;
	float fm[9];
	for (int i = 0; i < 9; i++)
		fm[i] = (float)M[i / 3][i % 3];
	float foff = (float)off, gain = (float)(c * b);
	for (int y = 0; y < S; y++) {
		for (int x = 0; x < S; x++) {
			size_t at = (size_t)y * S + x;
			float cover = ty.cover[y] * tx.cover[flip ? S - 1 - x : x];
			if (colour) {
				float r0 = out[at], g0 = out[plane + at], b0 = out[2 * plane + at];
				float v[3] = { fm[0] * r0 + fm[1] * g0 + fm[2] * b0 + foff,
					       fm[3] * r0 + fm[4] * g0 + fm[5] * b0 + foff,
					       fm[6] * r0 + fm[7] * g0 + fm[8] * b0 + foff };
				for (int k = 0; k < 3; k++) {
					float q = v[k] < 0 ? 0 : v[k] > 1 ? 1 : v[k];
					out[k * plane + at] = (q - mean[k]) * inv[k] * cover;
				}
			} else {
				/* grey source or grey output: brightness and contrast on luma */
				float q = gain * out[at] + foff;
				q = q < 0 ? 0 : q > 1 ? 1 : q;
				for (int k = 0; k < oc; k++)
					out[k * plane + at] = (q - mean[k]) * inv[k] * cover;
			}
		}
	}
	taps_free(&tx);
	taps_free(&ty);
	free(rows);
	return LP_OK;
nomem:
	taps_free(&tx);
	taps_free(&ty);
	free(rows);
	return lp_error(ctx, LP_ERR_NOMEM, "augment: out of memory for a %dx%d image", width,
			height);
}
