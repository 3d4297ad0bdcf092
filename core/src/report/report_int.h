/* report_int.h — what the report's parts share (report.c: the page, the run, training and
 * confusion; sections.c: one section per analysis with its contact sheet). */
#ifndef LOUPE_REPORT_INT_H
#define LOUPE_REPORT_INT_H

#include "html.h"
#include "loupe/report.h"
#include "loupe/run_images.h"

struct lpr_split {
	char *name;
	int64_t n;
	int32_t *labels;    /* [n] or NULL */
	int32_t *predicted; /* [n] argmax of the split's (out-of-sample if any) probs, or NULL */
	float *confidence;  /* [n] its probability */
};

typedef struct lpr {
	lp_ctx *ctx;
	lp_archive *a;
	lpr_buf b;
	lp_report_opts o;
	char **classes;
	size_t k;
	struct lpr_split *splits;
	size_t nsplits;
	lp_run_images *ri;  /* NULL: no images (images_why) */
	char images_why[600];
	int64_t images, missing; /* thumbnails embedded, and not to be had */
	const char *section;     /* the analysis being written */
} lpr;

/* attribute as text, malloc'd, or NULL */
char *lpr_attr(lpr *r, const char *obj, const char *name);
struct lpr_split *lpr_split_find(lpr *r, const char *name);
const char *lpr_class(const lpr *r, int64_t c); /* "?" out of range */
int lpr_analysis_section(lpr *r, const char *name);
/* /compare/annotations (experiments/reannotate_retrain.lua), when the archive has it */
int lpr_annotations_section(lpr *r);
/* human.c: blind mode's answers (/annotations) against the model, when there are any */
int lpr_human_section(lpr *r);

#endif
