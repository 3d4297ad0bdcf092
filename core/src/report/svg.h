/* svg.h — the report's charts, as inline SVG: line charts of training curves, and the
 * confusion heatmap (rows the label, columns the prediction, each cell shaded by its share of
 * the row, its count and share in a tooltip). */
#ifndef LOUPE_REPORT_SVG_H
#define LOUPE_REPORT_SVG_H

#include "html.h"

/* nseries series over the same x (n points); NaN points are left out (a gap) */
void lpr_curve(lpr_buf *b, const char *title, const float *x, int n, const float *const *y,
	       const char *const *names, int nseries);
/* m[k * k], true x predicted; classes[k] */
void lpr_heatmap(lpr_buf *b, const int64_t *m, int64_t k, char *const *classes);

#endif
