/*
 * review.h — `loupe review`: the review page's server (docs/REVIEW.md).
 *
 *   lp_review_opts o = { .run = "runs/x.h5", .port = 0 };
 *   lp_review *r;
 *   if (lp_review_start(ctx, &o, &r)) fail(lp_ctx_errmsg(ctx));
 *   printf("%s\n", lp_review_url(r));     // http://127.0.0.1:PORT/?token=...
 *   ... wait for a signal ...
 *   lp_review_stop(r);                     // stops serving, folds the journal into the run
 *
 * Start folds RUN.journal into the archive (a run that is still being written is said in
 * lp_review_notice and folded later), reads the run's classes, predictions and findings, and
 * serves on its own threads (libmicrohttpd). Every decision is in the journal, fsync'd, before
 * its request is answered. Nothing here exits or prints; errors name the file or object.
 */
#ifndef LOUPE_REVIEW_H
#define LOUPE_REVIEW_H

#include "loupe/loupe.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lp_review_opts {
	const char *run;        /* the run archive */
	const char *host;       /* address to bind; NULL: 127.0.0.1 */
	int port;               /* 0: a free one */
	int blind;              /* human against the model: test images, nothing telling */
	const char *split;      /* blind mode's split; NULL: "test" */
	const char *annotator;  /* recorded with each decision; NULL: $USER */
	const char *images;     /* the images' root (as loupe analyze --images); NULL: the dataset */
	uint64_t seed;          /* blind mode's order */
} lp_review_opts;

typedef struct lp_review lp_review;

int lp_review_start(lp_ctx *ctx, const lp_review_opts *o, lp_review **out);
const char *lp_review_url(const lp_review *r);
/* what the person should know ("" if nothing): e.g. the run is still being written */
const char *lp_review_notice(const lp_review *r);
/* Stop serving, close the journal, fold it into the archive; *added = rows folded */
int lp_review_stop(lp_review *r, size_t *added);

#ifdef __cplusplus
}
#endif
#endif
