/* synthetic.c — procedural colour scenes with planted, recorded defects: the ground truth the
 * analyses are checked against, and the default dataset of the quick start.
 *
 * K classes, each a recipe of objects on a noisy gradient background (recipe.c, render.c);
 * `train` and `test` items, item i of a split drawn for class i mod K, size x size RGB pixels
 * rendered on demand. Planted, each with its parameter (truth.c draws them per item):
 *   flipped labels        flip_rate of the train items (test_flip_rate of the test items)
 *                         carry a label that is not their class;
 *   a merged pair         merge: classes K-2 and K-1 draw one recipe, so they are one
 *                         distribution under two names;
 *   a dark class          dark_class: every pixel times dark_gain;
 *   a signature class     signature_class: signature_rate of its train items (none of its
 *                         test items) carry a rose, striped background, a spurious colour
 *                         and texture cue;
 *   a scale shift         scale_class: its objects at scale 1 in train, scale_factor in test;
 *   two-class images      blend_rate of the items (the dark class's excepted) show a second
 *                         class as much as their own: two scenes, one cut;
 *   test leakage          dup_rate of the test items are exact or near copies of train items.
 * Class parameters take -1 for none and -2 for their default class (K-3, K-4, K-5). The
 * ground truth goes under /dataset/<split>/truth and /dataset/truth (truth.c).
 * Same parameters, same bytes: everything random is a hash of (seed, split, index).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "synthetic.h"

const lp_host *syn_host;

static const char *const split_names[SYN_SPLITS] = { "train", "test" };

static int bad(lp_ctx *ctx, const char *name, double v, const char *want)
{
	return syn_host->error(ctx, LP_ERR_ARG, "synthetic: %s = %g; it must be %s", name, v, want);
}

static int rate(lp_ctx *ctx, const lp_params *p, const char *name, double *out)
{
	*out = syn_host->param_number(p, name);
	if (!(*out >= 0 && *out <= 1))
		return bad(ctx, name, *out, "a fraction in [0, 1]");
	return LP_OK;
}

/* a class parameter: -1 none, -2 the default class K - back */
static int class_param(lp_ctx *ctx, const lp_params *p, const char *name, int K, int back,
		       int *out)
{
	int64_t v = syn_host->param_int(p, name);

	if (v == -2) {
		if (K - back < 0)
			return syn_host->error(ctx, LP_ERR_ARG, "synthetic: %s defaults to class "
					       "classes - %d, and classes = %d has none; set %s "
					       "= -1 (none) or a class 0..%d", name, back, K, name,
					       K - 1);
		v = K - back;
	}
	if (v < -1 || v >= K)
		return syn_host->error(ctx, LP_ERR_ARG, "synthetic: %s = %" PRId64 " is not a "
				       "class (0..%d), -1 (none) or -2 (class %d)", name, v, K - 1,
				       K - back);
	*out = (int)v;
	return LP_OK;
}

static int read_params(lp_ctx *ctx, struct syn_state *st, const lp_params *p)
{
	const lp_host *h = syn_host;
	int64_t K = h->param_int(p, "classes"), size = h->param_int(p, "size");
	int rc;

	if (K < 2 || K > SYN_MAX_CLASSES)
		return h->error(ctx, LP_ERR_ARG, "synthetic: classes = %" PRId64 "; it must be "
				"2..%d (the distinct recipes there are)", K, SYN_MAX_CLASSES);
	st->classes = (int)K;
	for (int s = 0; s < SYN_SPLITS; s++) {
		int64_t n = h->param_int(p, split_names[s]), lo = s == SYN_TRAIN ? K : 0;
		/* bounded before anything is allocated: the core keeps ~100 bytes per item */
		if (n < lo || n > SYN_MAX_ITEMS)
			return h->error(ctx, LP_ERR_ARG, "synthetic: parameter '%s' = %" PRId64
					" is out of range (%" PRId64 "..%d%s)", split_names[s], n, lo,
					SYN_MAX_ITEMS,
					s == SYN_TRAIN ? "; every class needs a train item" : "");
		st->n[s] = n;
	}
	if (size < 32 || size > 4096)
		return h->error(ctx, LP_ERR_ARG, "synthetic: size = %" PRId64 "; it must be "
				"32..4096", size);
	st->size = (int)size;
	st->seed = (uint64_t)h->param_int(p, "seed");
	if ((rc = rate(ctx, p, "flip_rate", &st->flip_rate[SYN_TRAIN])) ||
	    (rc = rate(ctx, p, "test_flip_rate", &st->flip_rate[SYN_TEST])) ||
	    (rc = rate(ctx, p, "blend_rate", &st->blend_rate)) ||
	    (rc = rate(ctx, p, "dup_rate", &st->dup_rate)) ||
	    (rc = rate(ctx, p, "signature_rate", &st->signature_rate)))
		return rc;
	st->dark_gain = h->param_number(p, "dark_gain");
	if (!(st->dark_gain > 0 && st->dark_gain <= 1))
		return bad(ctx, "dark_gain", st->dark_gain, "in (0, 1]");
	st->scale_factor = h->param_number(p, "scale_factor");
	if (!(st->scale_factor > 0 && st->scale_factor <= 2))
		return bad(ctx, "scale_factor", st->scale_factor, "in (0, 2]");
	st->merge_a = st->merge_b = -1;
	if (h->param_bool(p, "merge")) {
		if (K < 3)
			return h->error(ctx, LP_ERR_ARG, "synthetic: merge = true needs classes >= 3 "
					"(a merged pair and a class to flip to); classes = %d",
					(int)K);
		st->merge_a = (int)K - 2;
		st->merge_b = (int)K - 1;
	}
	if ((rc = class_param(ctx, p, "dark_class", (int)K, 3, &st->dark_class)) ||
	    (rc = class_param(ctx, p, "signature_class", (int)K, 4, &st->signature_class)) ||
	    (rc = class_param(ctx, p, "scale_class", (int)K, 5, &st->scale_class)))
		return rc;
	/* one defect per class, so that each analysis has one cause to find */
	const char *nm[3] = { "dark_class", "signature_class", "scale_class" };
	int v[3] = { st->dark_class, st->signature_class, st->scale_class };
	for (int i = 0; i < 3; i++) {
		if (v[i] >= 0 && (v[i] == st->merge_a || v[i] == st->merge_b))
			return h->error(ctx, LP_ERR_ARG, "synthetic: %s = %d is one of the merged "
					"pair (%d, %d); choose another class, or merge = false",
					nm[i], v[i], st->merge_a, st->merge_b);
		for (int j = 0; j < i; j++)
			if (v[i] >= 0 && v[i] == v[j])
				return h->error(ctx, LP_ERR_ARG, "synthetic: %s and %s are both "
						"class %d; each defect needs a class of its own",
						nm[j], nm[i], v[i]);
	}
	return LP_OK;
}

static int syn_open(lp_ctx *ctx, void *state, const lp_params *params, lp_dataset *ds)
{
	struct syn_state *st = state;
	int rc;

	if ((rc = read_params(ctx, st, params)) || (rc = syn_recipes_new(ctx, st)))
		return rc;
	for (int c = 0; c < st->classes; c++)
		if ((rc = syn_host->dataset_class(ds, st->names[c])))
			return rc;
	for (int s = 0; s < SYN_SPLITS; s++)
		for (int64_t i = 0; i < st->n[s]; i++) {
			struct syn_truth t;
			syn_truth(st, s, i, &t);
			lp_item_desc d = { .size = sizeof d, .split = split_names[s],
					   .label = t.label, .width = st->size,
					   .height = st->size, .channels = 3,
					   .key = ((uint64_t)s << 32) | (uint64_t)i };
			if ((rc = syn_host->dataset_item(ds, &d)))
				return rc;
		}
	return LP_OK;
}

static int syn_read(lp_ctx *ctx, void *state, uint64_t key, uint8_t *dst)
{
	const struct syn_state *st = state;
	uint64_t s = key >> 32;
	int64_t i = (int64_t)(key & 0xffffffffu);
	struct syn_truth t;

	if (s >= SYN_SPLITS || i >= st->n[s])
		return syn_host->error(ctx, LP_ERR_ARG, "synthetic: no item with key %llx",
				       (unsigned long long)key);
	syn_truth(st, (int)s, i, &t);
	if (syn_render(st, (int)s, i, &t, dst))
		return syn_host->error(ctx, LP_ERR_NOMEM, "synthetic: out of memory drawing item "
				       "%lld of %s (a blend: two %dx%d scenes)", (long long)i,
				       split_names[s], st->size, st->size);
	return LP_OK;
}

static void syn_close(lp_ctx *ctx, void *state)
{
	(void)ctx;
	syn_recipes_free(state);
}

static const lp_param_spec params[] = {
	{ "seed", LP_PARAM_INT, "1", "seed of every random choice (recipes, items, defects)" },
	{ "classes", LP_PARAM_INT, "10", "number of classes K, 2..192" },
	{ "train", LP_PARAM_INT, "2000", "train items (item i is drawn for class i mod K)" },
	{ "test", LP_PARAM_INT, "500", "test items (item i is drawn for class i mod K)" },
	{ "size", LP_PARAM_INT, "32", "width = height of the RGB images, 32..4096" },
	{ "flip_rate", LP_PARAM_NUMBER, "0.1",
	  "fraction of train items whose label is replaced by another class (never the merge "
	  "partner)" },
	{ "test_flip_rate", LP_PARAM_NUMBER, "0", "the same for test items" },
	{ "merge", LP_PARAM_BOOL, "true",
	  "classes K-2 and K-1 draw one recipe: one distribution under two names" },
	{ "dark_class", LP_PARAM_INT, "-2",
	  "class whose images are dark (every pixel times dark_gain); -1 none, -2 class K-3" },
	{ "dark_gain", LP_PARAM_NUMBER, "0.35", "brightness factor of the dark class, (0, 1]" },
	{ "signature_class", LP_PARAM_INT, "-2",
	  "class whose train items (only) carry rose diagonal stripes on the background, a "
	  "spurious colour and texture cue; -1 none, -2 class K-4" },
	{ "signature_rate", LP_PARAM_NUMBER, "1",
	  "fraction of signature_class's train items that carry the signature" },
	{ "scale_class", LP_PARAM_INT, "-2",
	  "class whose objects are drawn at scale_factor times their train size in test; -1 "
	  "none, -2 class K-5" },
	{ "scale_factor", LP_PARAM_NUMBER, "0.5", "test object scale of scale_class, (0, 2]" },
	{ "blend_rate", LP_PARAM_NUMBER, "0.05",
	  "fraction of items (but the dark class's) that show a second class too: its whole "
	  "scene beyond a cut through the centre (recorded)" },
	{ "dup_rate", LP_PARAM_NUMBER, "0.02",
	  "fraction of test items that copy a train item: half exact, half shifted 1-2 px "
	  "(times size/32) with noise" },
	{ 0 },
};

static const lp_dataset_vtable vt = {
	.size = sizeof vt, .open = syn_open, .read = syn_read, .write = syn_write,
	.close = syn_close,
};

static const lp_plugin desc = {
	LP_PLUGIN_HEADER,
	.kind = LP_KIND_DATASET,
	.name = "synthetic",
	.version = "1.0.0",
	.summary = "procedural colour scenes with planted, recorded defects (labels, merge, dark, "
		   "signature, scale, blends, duplicates)",
	.params = params,
	.state_size = sizeof(struct syn_state),
	.vtable = &vt,
};

LP_PLUGIN_DEFINE_HOST(desc, syn_host)
