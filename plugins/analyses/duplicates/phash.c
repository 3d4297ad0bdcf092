/* phash.c — see phash.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "phash.h"

#define F 8 /* frequencies kept per axis */

static double basis[F][DUP_SIZE]; /* cos((2x + 1) u pi / 2N) */
static int basis_ready;

static void basis_init(void)
{
	if (basis_ready)
		return;
	for (int u = 0; u < F; u++)
		for (int x = 0; x < DUP_SIZE; x++)
			basis[u][x] = cos((2.0 * x + 1.0) * u * M_PI / (2.0 * DUP_SIZE));
	basis_ready = 1; /* the same values from any thread: a race writes what is there */
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* the luma's 8 x 8 lowest DCT-II frequencies, out[v * 8 + u] */
static void dct8(const uint8_t *rgb, double *c)
{
	double luma[DUP_SIZE][DUP_SIZE], rows[DUP_SIZE][F];

	basis_init();
	for (int y = 0; y < DUP_SIZE; y++)
		for (int x = 0; x < DUP_SIZE; x++) {
			const uint8_t *p = rgb + 3 * (y * DUP_SIZE + x);
			luma[y][x] = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
		}
	for (int y = 0; y < DUP_SIZE; y++)
		for (int u = 0; u < F; u++) {
			double s = 0;
			for (int x = 0; x < DUP_SIZE; x++)
				s += luma[y][x] * basis[u][x];
			rows[y][u] = s;
		}
	for (int v = 0; v < F; v++)
		for (int u = 0; u < F; u++) {
			double s = 0;
			for (int y = 0; y < DUP_SIZE; y++)
				s += rows[y][u] * basis[v][y];
			c[v * F + u] = s;
		}
}

/* the 63 coefficients less the DC term, scaled to unit length */
static void feature_of(const double *c, float *out)
{
	double norm = 0;

	for (int i = 1; i < F * F; i++)
		norm += c[i] * c[i];
	norm = norm > 1e-12 ? 1.0 / sqrt(norm) : 0.0;
	for (int i = 1; i < F * F; i++)
		out[i - 1] = (float)(c[i] * norm);
	out[DUP_FEATURE - 1] = 0;
}

uint64_t dup_phash(const uint8_t *rgb, float *feature)
{
	double c[F * F], sorted[F * F];
	uint64_t h = 0;

	dct8(rgb, c);
	if (feature)
		feature_of(c, feature);
	memcpy(sorted, c, sizeof c);
	qsort(sorted, F * F, sizeof(double), cmp_double);
	double median = 0.5 * (sorted[F * F / 2 - 1] + sorted[F * F / 2]);
	for (int i = 0; i < F * F; i++)
		h |= (uint64_t)(c[i] > median) << i;
	return h;
}

void dup_feature_shifted(const uint8_t *rgb, int shift, float *out)
{
	const int S = DUP_SIZE;
	uint8_t moved[DUP_SIZE * DUP_SIZE * 3];
	int k = 0;

	for (int dy = -shift; dy <= shift; dy++)
		for (int dx = -shift; dx <= shift; dx++) {
			for (int y = 0; y < S; y++) {
				int sy = y + dy < 0 ? 0 : y + dy >= S ? S - 1 : y + dy;
				for (int x = 0; x < S; x++) {
					int sx = x + dx < 0 ? 0 : x + dx >= S ? S - 1 : x + dx;
					memcpy(moved + 3 * (y * S + x), rgb + 3 * (sy * S + sx), 3);
				}
			}
			double c[F * F];
			dct8(moved, c);
			feature_of(c, out + (size_t)DUP_FEATURE * (size_t)k++);
		}
}

void dup_blur(const uint8_t *rgb, int S, uint8_t *out)
{

	for (int y = 0; y < S; y++)
		for (int x = 0; x < S; x++)
			for (int c = 0; c < 3; c++) {
				int sum = 0;
				for (int dy = -1; dy <= 1; dy++)
					for (int dx = -1; dx <= 1; dx++) {
						int yy = y + dy < 0 ? 0 : y + dy >= S ? S - 1 : y + dy;
						int xx = x + dx < 0 ? 0 : x + dx >= S ? S - 1 : x + dx;
						sum += rgb[3 * (yy * S + xx) + c];
					}
				out[3 * (y * S + x) + c] = (uint8_t)((sum + 4) / 9);
			}
}

double dup_spread(const uint8_t *a, int S)
{
	const int n = S * S;
	double mean[3] = { 0, 0, 0 }, dev = 0;

	for (int i = 0; i < n; i++)
		for (int c = 0; c < 3; c++)
			mean[c] += a[3 * i + c];
	for (int c = 0; c < 3; c++)
		mean[c] /= n;
	for (int i = 0; i < n; i++)
		for (int c = 0; c < 3; c++) {
			double d = a[3 * i + c] - mean[c];
			dev += d < 0 ? -d : d;
		}
	return dev / (3.0 * n);
}

/* mean |b(x + qx/4, y + qy/4) - a(x, y)| over where both are: b between pixels bilinear */
static double diff_at(const uint8_t *a, const uint8_t *b, int S, int qx, int qy)
{
	int fx = qx >> 2, fy = qy >> 2, rx = qx & 3, ry = qy & 3; /* floor, and quarters */
	int wx[2] = { 4 - rx, rx }, wy[2] = { 4 - ry, ry };
	int x0 = fx < 0 ? -fx : 0, x1 = S - fx - (rx > 0) < S ? S - fx - (rx > 0) : S;
	int y0 = fy < 0 ? -fy : 0, y1 = S - fy - (ry > 0) < S ? S - fy - (ry > 0) : S;
	int dx = rx > 0 ? 3 : 0, dy = ry > 0 ? 3 * S : 0;
	long sum = 0, n = 0;

	for (int y = y0; y < y1; y++) {
		const uint8_t *p = a + 3 * (y * S + x0);
		const uint8_t *q = b + 3 * ((y + fy) * S + x0 + fx);
		for (int i = 0; i < 3 * (x1 - x0); i++) {
			int v = 16 * (int)p[i] -
				wy[0] * (wx[0] * q[i] + wx[1] * q[i + dx]) -
				wy[1] * (wx[0] * q[i + dy] + wx[1] * q[i + dy + dx]);
			sum += v < 0 ? -v : v;
		}
		n += 3 * (x1 - x0);
	}
	return n ? (double)sum / (16.0 * (double)n) : 255.0;
}

double dup_diff(const uint8_t *a, double spread_a, const uint8_t *b, double spread_b, int S,
		int shift, double give_up)
{
	double best = 1e30, c = 0.5 * (spread_a + spread_b);
	int bx = 0, by = 0;

	for (int y = -shift; y <= shift; y++) /* whole pixels */
		for (int x = -shift; x <= shift; x++) {
			double d = diff_at(a, b, S, 4 * x, 4 * y);
			if (d < best) {
				best = d;
				bx = 4 * x;
				by = 4 * y;
			}
		}
	c = c > 1.0 ? c : 1.0; /* a flat image: its differences in grey levels */
	if (best / c > give_up)
		return best / c; /* refining moves it by a third at most (measured) */
	for (int step = 2; step >= 1; step--) { /* then halves and quarters around the best */
		int cx = bx, cy = by;
		for (int y = -1; y <= 1; y++)
			for (int x = -1; x <= 1; x++) {
				int qx = cx + step * x, qy = cy + step * y;
				if ((!x && !y) || qx < -4 * shift || qx > 4 * shift || qy < -4 * shift ||
				    qy > 4 * shift)
					continue;
				double d = diff_at(a, b, S, qx, qy);
				if (d < best) {
					best = d;
					bx = qx;
					by = qy;
				}
			}
	}
	return best / c;
}
