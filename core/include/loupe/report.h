/*
 * report.h — one self-contained HTML page about a run archive (`loupe report`): the run and
 * its provenance, training curves and the confusion heatmap as inline SVG, then a section per
 * analysis under /analyses: its findings in words and a contact sheet of the images involved
 * (JPEG thumbnails embedded as data: URLs, each labelled with its given label, the prediction
 * and the score). No script, font or image comes from elsewhere: it opens from a file:// URL.
 *
 *   lp_report_opts o = { .top = 48 };
 *   if (lp_report_write(ctx, run, "runs/x.html", &o)) fail(lp_ctx_errmsg(ctx));
 *
 * The images come from the dataset the archive records, or from o.images (loupe/run_images.h);
 * without them the sheets say why and the rest of the page is written. The page is written to
 * PATH.tmp and renamed over PATH.
 */
#ifndef LOUPE_REPORT_H
#define LOUPE_REPORT_H

#include "loupe/archive.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lp_report_opts {
	const char *images; /* images' root (NULL: the recorded dataset) */
	int top;            /* findings shown per analysis (the rest counted); 0: 48 */
	int thumb;          /* thumbnail side in pixels; 0: 112 */
} lp_report_opts;

int lp_report_write(lp_ctx *ctx, lp_archive *run, const char *path, const lp_report_opts *o);

#ifdef __cplusplus
}
#endif
#endif
