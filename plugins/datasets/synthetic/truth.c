/* truth.c — each item's planted defects, and the ground truth written into the archive.
 *
 * Item i of a split is drawn for class i mod classes. Each of these is an independent draw per
 * item (a hash of seed, split, index and the purpose), so the realised rates scatter around
 * the asked ones like a binomial sample:
 *   flip       with flip_rate (train) or test_flip_rate (test), the label becomes a uniformly
 *              drawn other class, never the merge partner of the true class (a flip between
 *              the merged pair could not be seen in the pixels);
 *   signature  with signature_rate, a train item of signature_class carries the signature (on
 *              its side of the cut when it is a blend); so does a train item blended with
 *              signature_class, on the second class's side;
 *   blend      with blend_rate, an item of any class but dark_class shows a second class too,
 *              as much as its own: a uniformly drawn other class, never the merge partner nor
 *              dark_class (render.c: two scenes, one cut; the dark class is dark as a whole
 *              image, which half an image cannot be);
 *   duplicate  test items only, with dup_rate: the item copies a uniformly drawn train item j,
 *              exactly or near (a fair coin); it then takes j's true class, second class and
 *              signature (its pixels are j's), and may still be flipped like any test item.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthetic.h"

static const char *const split_names[SYN_SPLITS] = { "train", "test" };

static int partner(const struct syn_state *st, int c)
{
	return c == st->merge_a ? st->merge_b : c == st->merge_b ? st->merge_a : -1;
}

/* the (h mod m)-th of the m classes that are none of a, b and x (-1: no class); -1 if there
 * is none */
static int32_t other_class(const struct syn_state *st, int a, int b, int x, uint64_t h)
{
	int m = 0;

	for (int c = 0; c < st->classes; c++)
		m += c != a && c != b && c != x;
	if (m <= 0)
		return -1;
	int k = (int)(h % (uint64_t)m);
	for (int c = 0; c < st->classes; c++) {
		if (c == a || c == b || c == x)
			continue;
		if (k-- == 0)
			return c;
	}
	return -1;
}

static int draw(const struct syn_state *st, int split, int64_t i, int purpose, double rate)
{
	return rate > 0 &&
	       syn_unit(syn_hash(st->seed, (uint64_t)split, (uint64_t)i, (uint64_t)purpose)) < rate;
}

void syn_truth(const struct syn_state *st, int split, int64_t i, struct syn_truth *out)
{
	int32_t cls = (int32_t)(i % st->classes);

	memset(out, 0, sizeof(*out));
	out->dup_of = -1;
	out->src_split = split;
	out->src_index = i;
	if (split == SYN_TEST && draw(st, split, i, SYN_H_DUP, st->dup_rate)) {
		uint64_t h = syn_hash(st->seed, (uint64_t)split, (uint64_t)i, SYN_H_DUPOF);
		int64_t j = (int64_t)((h >> 1) % (uint64_t)st->n[SYN_TRAIN]);
		syn_truth(st, SYN_TRAIN, j, out);
		out->dup_of = j;
		out->dup_kind = h & 1 ? SYN_DUP_NEAR : SYN_DUP_EXACT;
		out->flipped = 0;
	} else {
		out->true_label = cls;
		out->second = -1;
		/* the dark class is dark as a whole image: it is neither half of a blend */
		if (cls != st->dark_class && draw(st, split, i, SYN_H_BLEND, st->blend_rate))
			out->second = other_class(st, cls, partner(st, cls), st->dark_class,
						  syn_hash(st->seed, (uint64_t)split,
							   (uint64_t)i, SYN_H_BLENDTO));
		/* the signature class's scene carries it, also as a blend's second half */
		out->signature = split == SYN_TRAIN && st->signature_class >= 0 &&
				 (cls == st->signature_class ||
				  out->second == st->signature_class) &&
				 draw(st, split, i, SYN_H_SIG, st->signature_rate);
		out->scale = split == SYN_TEST && cls == st->scale_class
			     ? (float)st->scale_factor : 1.0f;
	}
	out->label = out->true_label;
	if (draw(st, split, i, SYN_H_FLIP, st->flip_rate[split])) {
		int32_t to = other_class(st, out->true_label, partner(st, out->true_label), -1,
					 syn_hash(st->seed, (uint64_t)split, (uint64_t)i,
						  SYN_H_FLIPTO));
		if (to >= 0) {
			out->label = to;
			out->flipped = 1;
		}
	}
}

#define TRY(x)                  \
	do {                    \
		if ((rc = (x))) \
			goto out; \
	} while (0)

/* /dataset/truth: the recipes and the parameters of every planted defect */
static int write_dataset_truth(lp_ctx *ctx, const struct syn_state *st, lp_archive *a)
{
	const lp_host *h = syn_host;
	const char *T = "/dataset/truth";
	int K = st->classes, rc = LP_OK;
	int64_t dims[1] = { K };
	const char *ax[1] = { "class" };
	char **text = calloc((size_t)K, sizeof(char *));
	int32_t *of = malloc(sizeof(int32_t) * (size_t)K);

	if (!text || !of) {
		rc = h->error(ctx, LP_ERR_NOMEM, "synthetic: out of memory");
		goto out;
	}
	for (int c = 0; c < K; c++) {
		of[c] = st->recipe_of[c];
		if (!(text[c] = syn_recipe_text(st, c))) {
			rc = h->error(ctx, LP_ERR_NOMEM, "synthetic: out of memory");
			goto out;
		}
	}
	TRY(h->archive_write_strings(a, "/dataset/truth/recipe", (size_t)K,
				     (const char *const *)text, "class"));
	TRY(h->archive_write(a, "/dataset/truth/recipe_of", LP_I32, 1, dims, ax, of));
	TRY(h->archive_attr_int(a, T, "seed", (int64_t)st->seed));
	TRY(h->archive_attr_int(a, T, "classes", K));
	TRY(h->archive_attr_int(a, T, "size", st->size));
	TRY(h->archive_attr_int(a, T, "merge_a", st->merge_a));
	TRY(h->archive_attr_int(a, T, "merge_b", st->merge_b));
	TRY(h->archive_attr_int(a, T, "dark_class", st->dark_class));
	TRY(h->archive_attr_number(a, T, "dark_gain", st->dark_gain));
	TRY(h->archive_attr_int(a, T, "signature_class", st->signature_class));
	TRY(h->archive_attr_number(a, T, "signature_rate", st->signature_rate));
	TRY(h->archive_attr_string(a, T, "signature",
				   "train items only: diagonal background stripes of period size/8 "
				   "px, half rose (hue 345 degrees) at the background's luma + 40 "
				   "levels, half the background at luma - 40"));
	TRY(h->archive_attr_int(a, T, "scale_class", st->scale_class));
	TRY(h->archive_attr_number(a, T, "scale_factor", st->scale_factor));
	TRY(h->archive_attr_number(a, T, "flip_rate", st->flip_rate[SYN_TRAIN]));
	TRY(h->archive_attr_number(a, T, "test_flip_rate", st->flip_rate[SYN_TEST]));
	TRY(h->archive_attr_number(a, T, "blend_rate", st->blend_rate));
	TRY(h->archive_attr_number(a, T, "dup_rate", st->dup_rate));
out:
	for (int c = 0; text && c < K; c++)
		free(text[c]);
	free(text);
	free(of);
	return rc;
}

int syn_write(lp_ctx *ctx, void *state, lp_archive *a, const char *group, const char *split,
	      size_t n, const uint64_t *keys)
{
	const struct syn_state *st = state;
	const lp_host *h = syn_host;
	int s = -1, rc = LP_OK;
	char p[600];
	int64_t dims[1] = { (int64_t)n };
	const char *ax[1] = { "item" };

	for (int k = 0; k < SYN_SPLITS; k++)
		if (strcmp(split, split_names[k]) == 0)
			s = k;
	if (s < 0)
		return h->error(ctx, LP_ERR_ARG, "synthetic: no split \"%s\"", split);
	if ((rc = write_dataset_truth(ctx, st, a)))
		return rc;
	if (n == 0)
		return LP_OK;
	int32_t *tl = malloc(sizeof(int32_t) * n), *sl = malloc(sizeof(int32_t) * n);
	int32_t *dk = malloc(sizeof(int32_t) * n);
	int64_t *dof = malloc(sizeof(int64_t) * n);
	uint8_t *fl = malloc(n), *sig = malloc(n);
	float *sc = malloc(sizeof(float) * n);
	if (!tl || !sl || !dk || !dof || !fl || !sig || !sc) {
		rc = h->error(ctx, LP_ERR_NOMEM, "synthetic: out of memory writing %s", group);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t ks = keys[i] >> 32, ki = keys[i] & 0xffffffffu;
		struct syn_truth t;
		if (ks != (uint64_t)s || ki >= (uint64_t)st->n[s]) {
			rc = h->error(ctx, LP_ERR_ARG, "synthetic: item %zu of %s has key %llx, "
				      "not one of the split's", i, split,
				      (unsigned long long)keys[i]);
			goto out;
		}
		/* duplicate_of counts train items in archive order: it is the train index only
		 * while the archive holds every train item in order (nothing fails to render) */
		if (s == SYN_TRAIN && ki != i) {
			rc = h->error(ctx, LP_ERR_ARG, "synthetic: train item %zu of the archive is "
				      "item %llu: train items were dropped or reordered, so "
				      "duplicate_of could not name them", i, (unsigned long long)ki);
			goto out;
		}
		syn_truth(st, s, (int64_t)ki, &t);
		tl[i] = t.true_label;
		sl[i] = t.second;
		fl[i] = (uint8_t)t.flipped;
		dof[i] = t.dup_of;
		dk[i] = t.dup_kind;
		sig[i] = (uint8_t)t.signature;
		sc[i] = t.scale;
	}
	struct {
		const char *name;
		int dtype;
		const void *data;
	} cols[] = {
		{ "true_label", LP_I32, tl }, { "flipped", LP_U8, fl },
		{ "second_label", LP_I32, sl }, { "duplicate_of", LP_I64, dof },
		{ "duplicate_kind", LP_I32, dk }, { "signature", LP_U8, sig },
		{ "object_scale", LP_F32, sc },
	};
	for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
		snprintf(p, sizeof p, "%s/truth/%s", group, cols[c].name);
		TRY(h->archive_write(a, p, cols[c].dtype, 1, dims, ax, cols[c].data));
	}
	snprintf(p, sizeof p, "%s/truth", group);
	TRY(h->archive_attr_number(a, p, "flip_rate", st->flip_rate[s]));
	TRY(h->archive_attr_string(a, p, "duplicate_kind", "0: none, 1: exact, 2: near"));
out:
	free(tl);
	free(sl);
	free(dk);
	free(dof);
	free(fl);
	free(sig);
	free(sc);
	return rc;
}
