/*
 * analyze.h — running analysis plugins (plugin.h, LP_KIND_ANALYSIS) on a run archive.
 *
 *   lp_archive *run;
 *   lp_kv kv[] = { { "top", { .type = LP_PARAM_INT, .integer = 20 } } };
 *   if (lp_archive_open(ctx, "runs/x.h5", 1, &run) ||
 *       lp_analyze(ctx, run, "confusion", kv, 1))       // writes /analyses/confusion
 *           lp_archive_discard(run);                      // the file stays as it was
 *   else
 *           lp_archive_close(run);                        // commits
 *
 * The plugin writes into a fresh temporary group; only when it succeeds does that group
 * replace /analyses/<name> (never two copies, never a half-written group), with attributes
 * plugin, version, params and seconds. Errors name the analysis.
 */
#ifndef LOUPE_ANALYZE_H
#define LOUPE_ANALYZE_H

#include "loupe/archive.h"
#include "loupe/plugins.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Run analysis `name` on run (opened writable) with parameters kv[0..n-1]. */
int lp_analyze(lp_ctx *ctx, lp_archive *run, const char *name, const lp_kv *kv, size_t n);

typedef struct lp_analyze_opts {
	const char *images; /* the images' root for analyses that read pixels (loupe/run_images.h);
			     * NULL: the dataset the archive records */
	int threads;        /* decoding threads; 0: one per CPU */
} lp_analyze_opts;
/* lp_analyze with options (o may be NULL). */
int lp_analyze_with(lp_ctx *ctx, lp_archive *run, const char *name, const lp_kv *kv, size_t n,
		    const lp_analyze_opts *o);

/* Every analysis plugin on the search path, by name, sorted: fn(user, plugin). */
int lp_analysis_list(lp_ctx *ctx, void (*fn)(void *user, const lp_plugin *p), void *user);

#ifdef __cplusplus
}
#endif
#endif
