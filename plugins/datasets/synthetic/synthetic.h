/*
 * synthetic.h — what the files of the synthetic dataset plugin share (internal).
 *
 * synthetic.c  parameters, validation, classes and items, read(), the descriptor
 * recipe.c     class recipes: shape, colour, layout, sizes; class names
 * truth.c      each item's planted defects (flip, blend, duplicate) and write()
 * render.c     a scene from an item's hash, drawn into RGB bytes
 *
 * Everything random is a counter-based hash of (seed, split, index, purpose): an item is a pure
 * function of the state open() built and its key, so read() may run on many threads at once.
 */
#ifndef SYNTHETIC_H
#define SYNTHETIC_H

#include <stdint.h>

#include "loupe/plugin.h"

extern const lp_host *syn_host;

enum { SYN_TRAIN = 0, SYN_TEST = 1, SYN_SPLITS = 2 };
enum { SYN_DUP_NONE = 0, SYN_DUP_EXACT = 1, SYN_DUP_NEAR = 2 };

enum syn_shape { SYN_CIRCLE, SYN_SQUARE, SYN_TRIANGLE, SYN_CROSS, SYN_RING, SYN_BAR, SYN_SHAPES };
enum syn_layout { SYN_SCATTERED, SYN_ROW, SYN_GRID, SYN_CENTRED, SYN_LAYOUTS };
#define SYN_HUES 8

/* How every object of one class is drawn (before the item's own nuisance). */
struct syn_recipe {
	int shape;         /* enum syn_shape */
	int hue;           /* index into the hue table (recipe.c) */
	int layout;        /* enum syn_layout */
	int count_lo, count_hi;
	float r_lo, r_hi;  /* object radius, as a fraction of the image side */
};

#define SYN_MAX_CLASSES 192 /* distinct recipes (recipe.c) */
#define SYN_MAX_ITEMS 10000000 /* per split */

struct syn_state {
	uint64_t seed;
	int classes;
	int64_t n[SYN_SPLITS];   /* items per split */
	int size;                /* width = height */
	double flip_rate[SYN_SPLITS];
	double blend_rate, dup_rate, signature_rate;
	int merge_a, merge_b;    /* -1: no merged pair */
	int dark_class, signature_class, scale_class; /* -1: none */
	double dark_gain, scale_factor;
	struct syn_recipe *recipe; /* [classes]; the merged pair points at one recipe */
	int *recipe_of;            /* [classes]: whose recipe class c draws (merge: a for b) */
	char **names;              /* [classes] */
};

/* What one item is, beyond its pixels' randomness. */
struct syn_truth {
	int32_t label;        /* what the item carries (possibly flipped) */
	int32_t true_label;   /* the class its objects were drawn for */
	int32_t second;       /* blended second class, or -1 */
	int flipped;
	int64_t dup_of;       /* train index it copies, or -1 */
	int dup_kind;         /* SYN_DUP_* */
	int src_split;        /* whose scene the pixels are: (src_split, src_index) */
	int64_t src_index;
	int signature;        /* the pixels carry the signature (of the class or of the second) */
	float scale;          /* object scale of the true class (1, or scale_factor) */
};

/* splitmix64 (Steele, Lea & Flood 2014): the finaliser as a hash, the step as a stream. */
static inline uint64_t syn_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* purposes of the per-item hash */
enum { SYN_H_FLIP = 1, SYN_H_FLIPTO, SYN_H_BLEND, SYN_H_BLENDTO, SYN_H_DUP, SYN_H_DUPOF,
       SYN_H_SCENE, SYN_H_NEAR, SYN_H_RECIPE, SYN_H_SIG };

static inline uint64_t syn_hash(uint64_t seed, uint64_t split, uint64_t index, uint64_t purpose)
{
	uint64_t h = syn_mix(seed + 0x9e3779b97f4a7c15ull);
	h = syn_mix(h ^ (split * 0xd1b54a32d192ed03ull + purpose * 0xaef17502108ef2d9ull));
	return syn_mix(h ^ (index + 0x632be59bd9b4e019ull));
}

/* uniform in [0, 1) from 53 bits of h */
static inline double syn_unit(uint64_t h)
{
	return (double)(h >> 11) * 0x1.0p-53;
}

struct syn_rng {
	uint64_t s;
};

static inline uint64_t syn_next(struct syn_rng *r)
{
	return syn_mix(r->s += 0x9e3779b97f4a7c15ull);
}

static inline float syn_uniform(struct syn_rng *r, float lo, float hi)
{
	return lo + (hi - lo) * (float)syn_unit(syn_next(r));
}

/* recipe.c: fill st->recipe, st->recipe_of and st->names; LP_ERR_NOMEM on failure */
int syn_recipes_new(lp_ctx *ctx, struct syn_state *st);
void syn_recipes_free(struct syn_state *st);
/* the hue (degrees) of hue index h */
float syn_hue_degrees(int h);
/* class c's recipe in words (malloc'd; NULL: out of memory) */
char *syn_recipe_text(const struct syn_state *st, int c);

/* truth.c */
void syn_truth(const struct syn_state *st, int split, int64_t index, struct syn_truth *out);
int syn_write(lp_ctx *ctx, void *state, lp_archive *a, const char *group, const char *split,
	      size_t n, const uint64_t *keys);

/* render.c: draw item (split, index) with truth t into dst (size * size * 3 bytes); LP_OK, or
 * LP_ERR_NOMEM (a blend needs a second image's worth of memory) */
int syn_render(const struct syn_state *st, int split, int64_t index, const struct syn_truth *t,
	       uint8_t *dst);

#endif
