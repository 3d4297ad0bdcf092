/* svg.c — see svg.h. */
#include <math.h>
#include <stdio.h>

#include "svg.h"

static const char *const colour[] = { "#1f77b4", "#d62728", "#2ca02c", "#9467bd" };

static void range(const float *v, int n, double *lo, double *hi)
{
	for (int i = 0; i < n; i++)
		if (isfinite(v[i])) {
			*lo = v[i] < *lo ? v[i] : *lo;
			*hi = v[i] > *hi ? v[i] : *hi;
		}
}

/* a round step near (hi - lo) / 4: 1, 2 or 5 times a power of ten */
static double nice_step(double span)
{
	double raw = span / 4, p = pow(10, floor(log10(raw))), m = raw / p;
	return p * (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10);
}

static void axes(lpr_buf *b, double x0, double x1, double y0, double y1, int W, int H, int L,
		 int T)
{
	double step = nice_step(y1 - y0), xs = fmax(1, round(nice_step(x1 - x0)));

	lpr_printf(b, "<rect x='%d' y='%d' width='%d' height='%d' fill='none' stroke='#999'/>",
		   L, T, W, H);
	for (double v = ceil(y0 / step) * step; v <= y1 + 1e-9 * step; v += step) {
		double y = T + H - H * (v - y0) / (y1 - y0);
		lpr_printf(b, "<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' stroke='#eee'/>"
			   "<text x='%d' y='%.1f' text-anchor='end' font-size='11'>%g</text>",
			   L, L + W, y, y, L - 4, y + 4, fabs(v) < 1e-12 ? 0 : v);
	}
	for (double v = ceil(x0 / xs) * xs; v <= x1 + 1e-9; v += xs)
		lpr_printf(b, "<text x='%.1f' y='%d' text-anchor='middle' font-size='11'>%g</text>",
			   L + W * (v - x0) / (x1 - x0), T + H + 14, v);
	lpr_printf(b, "<text x='%d' y='%d' text-anchor='end' font-size='11' fill='#666'>epoch"
		   "</text>", L + W, T + H + 28);
}

void lpr_curve(lpr_buf *b, const char *title, const float *x, int n, const float *const *y,
	       const char *const *names, int nseries)
{
	const int W = 380, H = 200, L = 44, T = 24;
	double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;

	range(x, n, &x0, &x1);
	for (int s = 0; s < nseries; s++)
		range(y[s], n, &y0, &y1);
	if (!(x1 > x0)) {
		x0 = isfinite(x0) ? x0 - 1 : 0;
		x1 = x0 + 2;
	}
	if (!(y1 > y0)) {
		y0 = isfinite(y0) ? y0 - 0.5 : 0;
		y1 = y0 + 1;
	}
	lpr_printf(b, "<svg class='curve' viewBox='0 0 %d %d' width='%d' height='%d' role='img'>",
		   W + L + 10, H + T + 40, W + L + 10, H + T + 40);
	lpr_puts(b, "<text x='4' y='14' font-size='13' font-weight='bold'>");
	lpr_escape(b, title);
	lpr_puts(b, "</text>");
	axes(b, x0, x1, y0, y1, W, H, L, T);
	for (int s = 0; s < nseries; s++) {
		int open = 0;
		for (int i = 0; i < n; i++) {
			if (!isfinite(y[s][i]) || !isfinite(x[i])) {
				if (open)
					lpr_puts(b, "'/>");
				open = 0;
				continue;
			}
			double px = L + W * (x[i] - x0) / (x1 - x0);
			double py = T + H - H * (y[s][i] - y0) / (y1 - y0);
			if (!open)
				lpr_printf(b, "<polyline fill='none' stroke='%s' stroke-width='2' "
					   "points='", colour[s % 4]);
			lpr_printf(b, "%.1f,%.1f ", px, py);
			open = 1;
		}
		if (open)
			lpr_puts(b, "'/>");
		lpr_printf(b, "<rect x='%d' y='%d' width='10' height='10' fill='%s'/>"
			   "<text x='%d' y='%d' font-size='11'>", L + 8 + 110 * s, T + H + 22,
			   colour[s % 4], L + 22 + 110 * s, T + H + 31);
		lpr_escape(b, names[s]);
		lpr_puts(b, "</text>");
	}
	lpr_puts(b, "</svg>\n");
}

void lpr_heatmap(lpr_buf *b, const int64_t *m, int64_t k, char *const *classes)
{
	const int side = 640, labels = k <= 40 ? 190 : 24, right = k <= 40 ? 130 : 10;
	const double c = (double)side / (double)(k ? k : 1);
	const int W = labels + side + right, H = side + (k <= 40 ? 150 : 30);

	lpr_printf(b, "<svg class='heatmap' data-k='%lld' viewBox='0 0 %d %d' width='%d' "
		   "height='%d' role='img'>", (long long)k, W, H, W, H);
	lpr_printf(b, "<text x='%d' y='%d' font-size='12' fill='#666' text-anchor='middle' "
		   "transform='rotate(-90 12 %d)'>label</text><text x='%d' y='%d' font-size='12' "
		   "fill='#666' text-anchor='middle'>prediction</text>", 12, side / 2, side / 2,
		   labels + side / 2, H - 4);
	for (int64_t i = 0; i < k; i++) {
		int64_t row = 0;
		for (int64_t j = 0; j < k; j++)
			row += m[i * k + j];
		for (int64_t j = 0; j < k; j++) {
			double share = row ? (double)m[i * k + j] / (double)row : 0;
			int light = (int)(97 - 62 * sqrt(share)); /* sqrt: small confusions show */
			lpr_printf(b, "<rect class='cell' x='%.2f' y='%.2f' width='%.2f' height='%.2f' "
				   "fill='hsl(%d,70%%,%d%%)'><title>", labels + c * (double)j,
				   c * (double)i, c + 0.05, c + 0.05, i == j ? 210 : 5, light);
			lpr_escape(b, classes[i]);
			lpr_puts(b, " \xe2\x86\x92 ");
			lpr_escape(b, classes[j]);
			lpr_printf(b, ": %lld of %lld (%.1f%%)</title></rect>",
				   (long long)m[i * k + j], (long long)row, 100 * share);
		}
	}
	for (int64_t i = 0; labels && i < k; i++) {
		lpr_printf(b, "<text x='%d' y='%.1f' text-anchor='end' font-size='%.0f'>",
			   labels - 4, c * ((double)i + 0.7), fmin(12, c * 0.8));
		lpr_escape(b, classes[i]);
		lpr_printf(b, "</text><text transform='translate(%.1f,%d) rotate(60)' "
			   "font-size='%.0f'>", labels + c * ((double)i + 0.6), side + 10,
			   fmin(12, c * 0.8));
		lpr_escape(b, classes[i]);
		lpr_puts(b, "</text>");
	}
	lpr_puts(b, "</svg>\n");
}
