/* duplicates.c — the `duplicates` analysis: images that occur twice, within a split and across
 * splits (a test image that is also a training image inflates the test score), and copies that
 * carry different labels (one of the two labels is wrong).
 *
 * Every item of every split under /dataset is read through the host (the dataset the archive
 * records, or `loupe analyze --images ROOT`) as a 32 x 32 thumbnail with a digest of its
 * decoded pixels:
 *   exact   equal digests: the same decoded pixels, whatever the file names;
 *   near    perceptual hashes (phash.h) within max_distance bits, confirmed on the thumbnails:
 *           mean absolute difference at the best shift within +-shift pixels <= max_diff.
 * Items are ordered train first, then the other splits by name, each by row; a copy's
 * `original` is the earliest item it copies (for a near copy, the closest earlier one).
 * Without images to read (an archive written elsewhere, no --images) the analysis writes an
 * empty result whose attribute `skipped` says why. Candidate pairs are found by comparing every
 * hash with every earlier one: N^2 / 2 popcounts (0.1 s for 16,000 items). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duplicates.h"

const lp_host *an_host;
#define host an_host

static int init(lp_ctx *ctx, void *st, const lp_params *p)
{
	struct dup_state *s = st;
	s->neighbours = host->param_int(p, "neighbours");
	s->max_diff = host->param_number(p, "max_diff");
	s->shift = host->param_int(p, "shift");
	if (s->neighbours < 1 || s->neighbours > 8)
		return host->error(ctx, LP_ERR_ARG, "duplicates: parameter 'neighbours' = %" PRId64
				   " is out of range (1 .. 8)", s->neighbours);
	if (!(s->max_diff >= 0 && s->max_diff <= 10))
		return host->error(ctx, LP_ERR_ARG, "duplicates: parameter 'max_diff' = %g is out of "
				   "range (0 .. 10)", s->max_diff);
	if (s->shift < 0 || s->shift > 8)
		return host->error(ctx, LP_ERR_ARG, "duplicates: parameter 'shift' = %" PRId64
				   " is out of range (0 .. 8 pixels)", s->shift);
	return LP_OK;
}

static int run(lp_ctx *ctx, void *st, const lp_analysis_io *io)
{
	struct dup_state *s = st;
	struct dup_run r = { .s = s, .io = io };
	int rc;

	if ((rc = dup_read_inputs(ctx, &r)))
		goto out;
	if (host->analysis_images(ctx, io, r.splits[0].name, NULL, 0, DUP_SIZE, NULL, NULL)) {
		/* no images to be had: an empty result that says why (docs/ANALYSES.md) */
		rc = dup_write_skipped(ctx, &r, host->errmsg(ctx));
		goto out;
	}
	if (!(rc = dup_hash_all(ctx, &r)) && !(rc = dup_exact(ctx, &r)) &&
	    !(rc = dup_near(ctx, &r)))
		rc = dup_write(ctx, &r);
out:
	dup_run_free(&r);
	return rc;
}

static const lp_param_spec params[] = {
	{ "neighbours", LP_PARAM_INT, "8",
	  "near copies: how many nearest earlier images (by DCT feature) are checked on pixels" },
	{ "max_diff", LP_PARAM_NUMBER, "0.2",
	  "near copies: blurred 32x32 thumbnails differ by at most this (mean absolute "
	  "difference over the images' contrast; different pictures score 0.3 and more)" },
	{ "shift", LP_PARAM_INT, "2",
	  "near copies: compare the thumbnails shifted by up to this many pixels" },
	{ 0 },
};

static const lp_analysis_vtable vt = { .size = sizeof vt, .init = init, .run = run };

static const lp_plugin desc = {
	LP_PLUGIN_HEADER,
	.kind = LP_KIND_ANALYSIS,
	.name = "duplicates",
	.version = "1.0.0",
	.summary = "exact and near duplicate images, within and across splits, and copies whose "
		   "labels differ",
	.params = params,
	.state_size = sizeof(struct dup_state),
	.vtable = &vt,
};

LP_PLUGIN_DEFINE_HOST(desc, an_host)
