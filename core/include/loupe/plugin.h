/*
 * plugin.h — THE loupe plugin ABI: the only header a plugin includes.
 *
 * A plugin is one shared object `<name>.so` that exports exactly one symbol:
 *
 *   static const lp_host *host;
 *   static const lp_param_spec params[] = {
 *       { "slope", LP_PARAM_NUMBER, "0", "negative slope (0 = plain ReLU)" },
 *       { 0 } };
 *   static const lp_layer_vtable vt = { .size = sizeof vt, .init = ..., .forward = ... };
 *   static const lp_plugin desc = { LP_PLUGIN_HEADER, .kind = LP_KIND_LAYER, .name = "relu",
 *       .version = "1.0.0", .summary = "rectified linear unit", .params = params,
 *       .state_size = sizeof(struct state), .vtable = &vt };
 *   LP_PLUGIN_DEFINE(desc)   // lp_plugin_init: checks the host, sets `host`, returns &desc
 *
 * Plugins link neither the core nor libvulkan nor libhdf5: everything goes through the lp_host
 * table the core hands in. Both lp_host and lp_plugin start with abi_version and size, and only
 * ever grow at the end (append-only), the way SQLite's interfaces do: the core accepts any
 * descriptor from ABI 1 on, reads only the bytes its size says it has (the rest count as zero),
 * walks the arrays a plugin hands over (params, weight declarations) with the element size the
 * plugin was built with, and hands every plugin the newest host table, whose abi_version is the
 * newest ABI it speaks: a plugin checks `h->abi_version >= LP_ABI_VERSION`. (ABI 1 plugins
 * checked for equality; the core retries their init with abi_version 1, so they keep loading.) The core allocates and frees each instance's state
 * (state_size bytes, zeroed); a plugin never frees core objects. Every vtable function returns
 * an lp_status and reports failures through host->error(ctx, code, fmt, ...).
 */
#ifndef LOUPE_PLUGIN_H
#define LOUPE_PLUGIN_H

#include "loupe/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP_ABI_VERSION 2u     /* 2: analysis plugins; element sizes in the descriptor */
#define LP_ABI_MIN_VERSION 1u /* the oldest plugin this header's core still loads */
#define LP_EXPORT __attribute__((visibility("default")))
#define LP_PLUGIN_SYMBOL "lp_plugin_init"

typedef enum lp_plugin_kind {
	LP_KIND_LAYER = 1,
	LP_KIND_DATASET = 2,
	LP_KIND_ANALYSIS = 3,
} lp_plugin_kind;

typedef enum lp_param_type {
	LP_PARAM_NUMBER = 1, /* double */
	LP_PARAM_INT = 2,    /* int64_t; a Lua float with an integral value is accepted */
	LP_PARAM_BOOL = 3,
	LP_PARAM_STRING = 4,
} lp_param_type;

/* One declared parameter; an array of them ends with { 0 }. def == NULL: required. */
typedef struct lp_param_spec {
	const char *name;
	int type;
	const char *def;  /* default, written as text: "0.5", "3", "true", "relu" */
	const char *help;
} lp_param_spec;

#define LP_MAX_WEIGHTS 4

/* How the core initialises a declared weight tensor from the context's seeded RNG. */
typedef enum lp_init {
	LP_INIT_CONSTANT = 1, /* every element = a */
	LP_INIT_GAUSSIAN = 2, /* N(a, b^2) */
	LP_INIT_UNIFORM = 3,  /* U[a, b) */
	LP_INIT_HE = 4,       /* N(0, 2 / fan_in) with fan_in = a (Kaiming, for ReLU nets) */
} lp_init;

/* A weight tensor the layer needs; the core owns it, its gradient and optimizer state, and
 * stores it in checkpoints as "<layer name>.<name>". */
typedef struct lp_weight_decl {
	const char *name; /* static string: "weight", "bias" */
	int rank;
	int64_t dims[LP_MAX_RANK];
	int init;         /* lp_init */
	double a, b;
} lp_weight_decl;

/* Inputs and outputs of one layer call on the device; grows at the end (check size). */
typedef struct lp_layer_io {
	uint32_t size;
	const lp_tensor *x;        /* input */
	lp_tensor *y;              /* output (forward) */
	const lp_tensor *dy;       /* gradient of the loss w.r.t. y (backward) */
	lp_tensor *dx;             /* gradient w.r.t. x, written by backward (may be NULL: skip) */
	lp_tensor *const *w;       /* the declared weights, in declaration order */
	lp_tensor *const *dw;      /* their gradients, overwritten (not accumulated) by backward */
	uint32_t nw;
	const lp_tensor *labels;   /* int32 class per item, for loss layers */
	lp_tensor *aux;            /* optional extra output (softmax_xent: probabilities) */
	uint64_t seed;             /* per-layer seed, for counter-based RNG (dropout) */
	uint64_t step;             /* training step, likewise */
	int training;              /* 0: inference (dropout is the identity) */
} lp_layer_io;

/* The same call on the CPU twin, over host float32 arrays in the same layouts. */
typedef struct lp_ref_io {
	uint32_t size;
	int rank, out_rank;
	const int64_t *in_dims, *out_dims;
	const float *x;
	float *y;
	const float *dy;
	float *dx;
	const float *const *w;
	float *const *dw;
	uint32_t nw;
	const int32_t *labels;
	float *aux;
	uint64_t seed, step;
	int training;
} lp_ref_io;

typedef struct lp_layer_vtable {
	uint32_t size; /* sizeof(lp_layer_vtable) as the plugin was built */
	/* Read parameters into state. Required. */
	int (*init)(lp_ctx *ctx, void *state, const lp_params *params);
	/* Output shape for an input shape. Required. */
	int (*shape)(lp_ctx *ctx, void *state, int rank, const int64_t *in, int *out_rank,
		     int64_t *out);
	/* Declare weights for an input shape: fill out[0..*n-1] (at most LP_MAX_WEIGHTS).
	 * Optional: a layer without it has none. */
	int (*weights)(lp_ctx *ctx, void *state, int rank, const int64_t *in, lp_weight_decl *out,
		       uint32_t *n);
	/* Create kernels (called once, after init). Optional. */
	int (*build)(lp_ctx *ctx, void *state);
	/* Record the forward pass into cmd. Required. */
	int (*forward)(lp_ctx *ctx, void *state, lp_cmd *cmd, const lp_layer_io *io);
	/* Record the backward pass: write io->dx (unless NULL) and io->dw. Required. */
	int (*backward)(lp_ctx *ctx, void *state, lp_cmd *cmd, const lp_layer_io *io);
	/* Free what build/init made. Optional. */
	void (*destroy)(lp_ctx *ctx, void *state);
	/* CPU twins, used by tests only. Optional but expected of every layer. */
	int (*forward_ref)(lp_ctx *ctx, void *state, const lp_ref_io *io);
	int (*backward_ref)(lp_ctx *ctx, void *state, const lp_ref_io *io);
} lp_layer_vtable;

/* ---- datasets ----------------------------------------------------------------------------
 * A dataset plugin says what the items are; the core's loader does everything else (decoding,
 * statistics, resizing, augmentation, batching, worker threads). During open() the plugin
 * declares its classes (host->dataset_class, in label order) and then its items
 * (host->dataset_item). An item is either a file the core decodes (path set: JPEG or PNG, by
 * content), or pixels the plugin renders on demand through read() (path NULL; width, height
 * and channels give their size). The core checks every item (label range, file present, name
 * UTF-8, no path listed twice) and applies the run's on_bad policy; a plugin that finds a
 * problem itself (an empty class directory, a malformed split line) reports it with
 * host->dataset_bad. Both return nonzero when the policy is "error": the plugin then returns
 * that status from open() at once (the context holds the message). */

typedef struct lp_item_desc {
	uint32_t size;       /* sizeof(lp_item_desc) as the plugin was built */
	const char *split;   /* "train", "test", ... (splits appear in the order first named) */
	const char *path;    /* a file the core decodes, or NULL: pixels come from read() */
	const char *name;    /* the item's name in the archive and in messages; NULL: the path
			      * relative to the dataset root, or "<split>/<index>" */
	const char *origin;  /* where the plugin found it, for messages ("TrainImages.txt:12");
			      * may be NULL */
	int32_t label;       /* class index, 0 .. classes - 1 */
	int width, height;   /* pixel items: their size (files: 0, the decoder finds it) */
	int channels;        /* pixel items: 1 (grey) or 3 (RGB) */
	uint64_t key;        /* the plugin's own handle, passed back to read() and write() */
} lp_item_desc;

typedef struct lp_dataset_vtable {
	uint32_t size; /* sizeof(lp_dataset_vtable) as the plugin was built */
	/* Read parameters into state; declare classes, then items. Required. */
	int (*open)(lp_ctx *ctx, void *state, const lp_params *params, lp_dataset *ds);
	/* Render pixel item `key` into dst: height * width * channels bytes, row-major, channels
	 * interleaved. Called from the loader's worker threads at once, each with its own ctx: it
	 * must only read the state open() built. Required when any item has no path. */
	int (*read)(lp_ctx *ctx, void *state, uint64_t key, uint8_t *dst);
	/* Write what the plugin knows beyond the items (synthetic: the planted defects' ground
	 * truth) into group `group` of the archive ("/dataset/train"), for the n items of `split`
	 * in the archive's order, given by their keys. Optional. */
	int (*write)(lp_ctx *ctx, void *state, lp_archive *a, const char *group, const char *split,
		     size_t n, const uint64_t *keys);
	/* Free what open() made. Optional. */
	void (*close)(lp_ctx *ctx, void *state);
} lp_dataset_vtable;

/* ---- analyses (ABI 2) ------------------------------------------------------------------
 * An analysis reads a run's archive through the host's readers (labels, probabilities,
 * features, statistics) and writes its results through the host's writers, only under
 * io->group. The core gives it a fresh group each run and puts it in place of the old
 * results when run() succeeds; a failed run leaves the archive as it was. */

typedef struct lp_analysis_io {
	uint32_t size;        /* sizeof(lp_analysis_io) as the core was built */
	lp_archive *archive;  /* the run: read anything, write under group only */
	const char *group;    /* where the results go */
	const char *name;     /* the analysis' name: "/analyses/<name>" once done */
} lp_analysis_io;

typedef struct lp_analysis_vtable {
	uint32_t size; /* sizeof(lp_analysis_vtable) as the plugin was built */
	/* Read parameters into state. Optional. */
	int (*init)(lp_ctx *ctx, void *state, const lp_params *params);
	/* Read the inputs, write the results under io->group. Required. */
	int (*run)(lp_ctx *ctx, void *state, const lp_analysis_io *io);
	/* Free what init/run made. Optional. */
	void (*destroy)(lp_ctx *ctx, void *state);
} lp_analysis_vtable;

/* The descriptor a plugin returns from lp_plugin_init. */
typedef struct lp_plugin {
	uint32_t abi_version;        /* LP_ABI_VERSION the plugin was built against */
	uint32_t size;               /* sizeof(lp_plugin) as the plugin was built */
	uint32_t kind;               /* lp_plugin_kind */
	const char *name;            /* must equal the file stem */
	const char *version;         /* semantic version of the plugin */
	const char *summary;         /* one line */
	const lp_param_spec *params; /* { 0 }-terminated; may be NULL for none */
	size_t state_size;           /* bytes of per-instance state the core allocates */
	const void *vtable;          /* lp_layer_vtable for LP_KIND_LAYER, lp_dataset_vtable for
				      * LP_KIND_DATASET, lp_analysis_vtable for LP_KIND_ANALYSIS */
	/* ABI 2 */
	uint32_t param_size;         /* sizeof(lp_param_spec) as built (0: ABI 1's) */
	uint32_t weight_decl_size;   /* sizeof(lp_weight_decl) as built (0: ABI 1's) */
} lp_plugin;

/* The first fields of every descriptor, as this header has them. */
#define LP_PLUGIN_HEADER                                                                  \
	.abi_version = LP_ABI_VERSION, .size = sizeof(lp_plugin),                         \
	.param_size = sizeof(lp_param_spec), .weight_decl_size = sizeof(lp_weight_decl)

/* The one exported function, for a plugin whose host table is `static const lp_host *host`
 * (or the variable named, with _HOST) and whose descriptor is desc: refuses a host older than
 * this header, or a smaller table. */
#define LP_PLUGIN_DEFINE_HOST(desc, var)                                                  \
	LP_EXPORT const lp_plugin *lp_plugin_init(const lp_host *h)                       \
	{                                                                                 \
		if (h->abi_version < LP_ABI_VERSION || h->size < sizeof(*h))              \
			return NULL;                                                      \
		var = h;                                                                  \
		return &(desc);                                                           \
	}
#define LP_PLUGIN_DEFINE(desc) LP_PLUGIN_DEFINE_HOST(desc, host)

/* The table the core hands in. Append-only; starts with abi_version and size. */
typedef struct lp_host {
	uint32_t abi_version;
	uint32_t size;
	/* errors and logging */
	int (*error)(lp_ctx *ctx, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
	void (*log)(lp_ctx *ctx, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
	/* parameters (by declared name; the core has validated types already) */
	double (*param_number)(const lp_params *p, const char *name);
	int64_t (*param_int)(const lp_params *p, const char *name);
	int (*param_bool)(const lp_params *p, const char *name);
	const char *(*param_string)(const lp_params *p, const char *name);
	/* tensors */
	int (*tensor_new)(lp_ctx *ctx, int dtype, int rank, const int64_t *dims, lp_tensor **out);
	void (*tensor_free)(lp_tensor *t);
	int (*tensor_rank)(const lp_tensor *t);
	const int64_t *(*tensor_dims)(const lp_tensor *t);
	int (*tensor_dtype)(const lp_tensor *t);
	int64_t (*tensor_numel)(const lp_tensor *t);
	const char *(*tensor_name)(const lp_tensor *t);
	int (*tensor_write)(lp_ctx *ctx, lp_tensor *t, const void *src, size_t bytes);
	int (*tensor_read)(lp_ctx *ctx, const lp_tensor *t, void *dst, size_t bytes);
	/* kernels and dispatch */
	int (*kernel_new)(lp_ctx *ctx, const lp_kernel_desc *desc, lp_kernel **out);
	void (*kernel_free)(lp_kernel *k);
	int (*dispatch)(lp_cmd *cmd, lp_kernel *k, const uint32_t groups[3], const void *push,
			uint32_t push_size, const lp_binding *bindings, uint32_t n_bindings);
	/* largest range one binding may cover, and the offset alignment a split must keep */
	uint64_t (*max_binding_bytes)(lp_ctx *ctx);
	uint64_t (*binding_align)(lp_ctx *ctx);
	/* archive (paths are absolute inside the file, parents are created) */
	int (*archive_write)(lp_archive *a, const char *path, int dtype, int rank,
			     const int64_t *dims, const char *const *axes, const void *data);
	int (*archive_write_strings)(lp_archive *a, const char *path, size_t n,
				     const char *const *strings, const char *axis);
	int (*archive_attr_string)(lp_archive *a, const char *obj, const char *name,
				   const char *value);
	int (*archive_attr_number)(lp_archive *a, const char *obj, const char *name, double value);
	int (*archive_attr_int)(lp_archive *a, const char *obj, const char *name, int64_t value);
	/* seeded RNG of the context */
	uint64_t (*rng_next)(lp_ctx *ctx);
	/* datasets, during open(): declare a class (its label is the order of declaration), an
	 * item, or a problem the plugin found itself (split may be NULL, name is the file or
	 * directory at fault). Nonzero means stop: on_bad is "error" or the input is unusable. */
	int (*dataset_class)(lp_dataset *ds, const char *name);
	int (*dataset_item)(lp_dataset *ds, const lp_item_desc *item);
	int (*dataset_bad)(lp_dataset *ds, const char *split, const char *name, const char *reason);
	/* IDX files (gzip or raw): *data is malloc'd, freed with host->free; dims has room for 4 */
	int (*idx_read)(lp_ctx *ctx, const char *path, uint64_t max_bytes, int *rank, int64_t *dims,
			uint8_t **data, size_t *bytes);
	void (*free)(void *p);
	/* ABI 2: reading an archive (analyses). kind: 0 none, 1 group, 2 dataset; dtype 0 is a
	 * string dataset; read_strings' *out and attr_get's *out are freed with host->free. */
	int (*archive_exists)(lp_archive *a, const char *path, int *kind);
	int (*archive_info)(lp_archive *a, const char *path, int *dtype, int *rank,
			    int64_t *dims);
	int (*archive_read)(lp_archive *a, const char *path, int dtype, void *dst, size_t bytes);
	int (*archive_read_rows)(lp_archive *a, const char *path, int dtype, int64_t row0,
				 int64_t nrows, void *dst, size_t bytes);
	int (*archive_read_strings)(lp_archive *a, const char *path, size_t *n, char ***out);
	int (*archive_attr_get)(lp_archive *a, const char *obj, const char *name, char **out);
	int (*archive_list)(lp_archive *a, const char *group,
			    void (*fn)(void *user, const char *name, int kind), void *user);
	/* ABI 2 (appended): the run's images, for analyses that look at pixels (from the dataset
	 * /dataset records, or the root `loupe analyze --images` names). Rows rows[0..n-1] of
	 * split resampled (area, the whole image) to size x size RGB into out[n * size*size*3];
	 * digest, if not NULL, gets 16 bytes per row: equal digests, the same decoded pixels.
	 * n = 0 only checks that the images can be had (an error says why not). */
	int (*analysis_images)(lp_ctx *ctx, const lp_analysis_io *io, const char *split,
			       const int64_t *rows, size_t n, int size, uint8_t *out,
			       uint8_t *digest);
	/* ABI 2 (appended): the context's last error message (after a call that failed) */
	const char *(*errmsg)(lp_ctx *ctx);
} lp_host;

typedef const lp_plugin *(*lp_plugin_init_fn)(const lp_host *host);

#ifdef __cplusplus
}
#endif
#endif
