/* recipe.c — class recipes: which objects (shape, colour, count, size, layout) make a class.
 *
 * Class c gets shape c mod 6, hue c mod 8 and layout (c + c / 8) mod 4 out of seed-shuffled
 * tables, and objects 1.35x larger when (c / 96) is odd. Among the first 24 classes two that
 * share a hue differ in shape and layout, two that share a shape differ in hue; c and c + 24k
 * (k = 1..3) share shape and hue but not the layout; 96..191 repeat 0..95 larger: 192
 * distinct recipes. The hues avoid the 330-360 degree band,
 * which belongs to the signature (render.c). A merged pair shares one recipe: the second class
 * of the pair draws the first's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synthetic.h"

static const struct {
	const char *name;
	float deg;
} hues[SYN_HUES] = {
	{ "red", 12 }, { "orange", 36 }, { "yellow", 56 }, { "green", 120 },
	{ "cyan", 180 }, { "blue", 225 }, { "violet", 272 }, { "pink", 316 },
};

static const char *const shape_names[SYN_SHAPES] = { "circles", "squares", "triangles",
						     "crosses", "rings", "bars" };
static const char *const layout_names[SYN_LAYOUTS] = { "scattered", "row", "grid", "centred" };

/* objects per layout and their radius (fraction of the side) */
static const struct {
	int lo, hi;
	float r_lo, r_hi;
} layouts[SYN_LAYOUTS] = {
	[SYN_SCATTERED] = { 3, 5, 0.085f, 0.115f },
	[SYN_ROW] = { 3, 3, 0.10f, 0.12f },
	[SYN_GRID] = { 4, 4, 0.11f, 0.14f },
	[SYN_CENTRED] = { 1, 1, 0.24f, 0.30f },
};

float syn_hue_degrees(int h)
{
	return hues[h].deg;
}

static void shuffle(struct syn_rng *r, int *a, int n)
{
	for (int i = 0; i < n; i++)
		a[i] = i;
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(syn_next(r) % (uint64_t)(i + 1)), t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

int syn_recipes_new(lp_ctx *ctx, struct syn_state *st)
{
	int K = st->classes, shape[SYN_SHAPES], hue[SYN_HUES], layout[SYN_LAYOUTS];
	struct syn_rng r = { syn_hash(st->seed, 0, 0, SYN_H_RECIPE) };

	st->recipe = calloc((size_t)K, sizeof(*st->recipe));
	st->recipe_of = calloc((size_t)K, sizeof(int));
	st->names = calloc((size_t)K, sizeof(char *));
	if (!st->recipe || !st->recipe_of || !st->names)
		goto nomem;
	shuffle(&r, shape, SYN_SHAPES);
	shuffle(&r, hue, SYN_HUES);
	shuffle(&r, layout, SYN_LAYOUTS);
	for (int c = 0; c < K; c++) {
		struct syn_recipe *p = &st->recipe[c];
		int big = (c / 96) % 2;
		p->shape = shape[c % SYN_SHAPES];
		p->hue = hue[c % SYN_HUES];
		p->layout = layout[(c + c / SYN_HUES) % SYN_LAYOUTS];
		p->count_lo = layouts[p->layout].lo;
		p->count_hi = layouts[p->layout].hi;
		p->r_lo = layouts[p->layout].r_lo * (big ? 1.35f : 1.0f);
		p->r_hi = layouts[p->layout].r_hi * (big ? 1.35f : 1.0f);
		st->recipe_of[c] = c;
	}
	if (st->merge_a >= 0)
		st->recipe_of[st->merge_b] = st->merge_a;
	for (int c = 0; c < K; c++) {
		const struct syn_recipe *p = &st->recipe[st->recipe_of[c]];
		char buf[96];
		snprintf(buf, sizeof buf, "c%d_%s_%s_%s%s", c, hues[p->hue].name,
			 shape_names[p->shape], layout_names[p->layout],
			 p->r_lo > layouts[p->layout].r_lo ? "_large" : "");
		if (!(st->names[c] = strdup(buf)))
			goto nomem;
	}
	return LP_OK;
nomem:
	syn_recipes_free(st);
	return syn_host->error(ctx, LP_ERR_NOMEM, "synthetic: out of memory for %d class recipes",
			       K);
}

void syn_recipes_free(struct syn_state *st)
{
	for (int c = 0; st->names && c < st->classes; c++)
		free(st->names[c]);
	free(st->names);
	free(st->recipe);
	free(st->recipe_of);
	st->names = NULL;
	st->recipe = NULL;
	st->recipe_of = NULL;
}

char *syn_recipe_text(const struct syn_state *st, int c)
{
	int rc = st->recipe_of[c];
	const struct syn_recipe *p = &st->recipe[rc];
	char buf[200], count[16];

	if (p->count_lo == p->count_hi)
		snprintf(count, sizeof count, "%d", p->count_lo);
	else
		snprintf(count, sizeof count, "%d-%d", p->count_lo, p->count_hi);
	snprintf(buf, sizeof buf, "%s %s, %s, %s object%s of radius %.3f-%.3f of the side%s%s",
		 hues[p->hue].name, shape_names[p->shape], layout_names[p->layout], count,
		 p->count_hi > 1 ? "s" : "", p->r_lo, p->r_hi,
		 rc != c ? ", the recipe of " : "", rc != c ? st->names[rc] : "");
	return strdup(buf);
}
