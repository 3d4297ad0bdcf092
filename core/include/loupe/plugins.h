/*
 * plugins.h — the core's side of plugins: finding and loading them, validating parameters,
 * and running layer instances. (The ABI a plugin is written against is plugin.h.)
 *
 *   const lp_plugin *p;
 *   lp_kv kv[] = { { "slope", { .type = LP_PARAM_NUMBER, .number = 0.1 } } };
 *   lp_layer *relu;
 *   if (lp_plugin_find(ctx, "relu", LP_KIND_LAYER, &p) ||
 *       lp_layer_new(ctx, p, kv, 1, &relu)) fail(lp_ctx_errmsg(ctx));
 *   lp_cmd *cmd; lp_cmd_begin(ctx, &cmd);
 *   lp_layer_forward(relu, cmd, x, y);
 *   lp_cmd_submit(cmd);
 *   lp_layer_free(relu);
 *
 * Search path, in order: the build's plugin directory, each directory of LOUPE_PLUGIN_PATH
 * (colon-separated), then directories set with lp_plugin_set_user_path (Lua: loupe.plugin_path).
 * A plugin is loaded once per context and unloaded by lp_ctx_free; descriptors are borrowed.
 * The loader refuses, with a message naming both sides: a directory or file that is group- or
 * world-writable, a file that is not ELF, a missing lp_plugin_init, a NULL descriptor, an ABI
 * mismatch, a short descriptor or vtable, a name that differs from the file stem, a NULL
 * required slot, and a malformed parameter spec.
 */
#ifndef LOUPE_PLUGINS_H
#define LOUPE_PLUGINS_H

#include "loupe/loupe.h"
#include "loupe/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lp_value {
	int type; /* lp_param_type of what the caller supplied */
	double number;
	int64_t integer;
	int boolean;
	const char *string;
} lp_value;

typedef struct lp_kv {
	const char *key;
	lp_value value;
} lp_kv;

typedef struct lp_layer lp_layer;

/* Directories searched, in order (borrowed until the next call that changes the path). */
size_t lp_plugin_dirs(lp_ctx *ctx, const char *const **out);
/* Colon-separated extra directories searched last (replaces the previous ones). */
int lp_plugin_set_user_path(lp_ctx *ctx, const char *path);
/* Load and validate one file. */
int lp_plugin_load(lp_ctx *ctx, const char *path, const lp_plugin **out);
/* Find `<name>.so` on the search path and load it; kind 0 accepts any kind. */
int lp_plugin_find(lp_ctx *ctx, const char *name, int kind, const lp_plugin **out);
/* Every *.so on the search path: fn gets the descriptor, or NULL and the loader's message. */
int lp_plugin_scan(lp_ctx *ctx, void (*fn)(void *user, const char *path, const lp_plugin *p,
					     const char *error), void *user);
const char *lp_plugin_kind_name(int kind);
const char *lp_param_type_name(int type);

/* Validate key/value pairs against p's declared spec and fill defaults. Errors name the key and
 * the plugin: unknown key (with a suggestion), missing required key, wrong type. */
int lp_params_new(lp_ctx *ctx, const lp_plugin *p, const lp_kv *kv, size_t n, lp_params **out);
void lp_params_free(lp_params *params);

/* Layer instances. */
int lp_layer_new(lp_ctx *ctx, const lp_plugin *p, const lp_kv *kv, size_t n, lp_layer **out);
void lp_layer_free(lp_layer *l);
const lp_plugin *lp_layer_plugin(const lp_layer *l);
int lp_layer_shape(lp_layer *l, int rank, const int64_t *in, int *out_rank, int64_t *out);
int lp_layer_forward(lp_layer *l, lp_cmd *cmd, const lp_layer_io *io);
int lp_layer_backward(lp_layer *l, lp_cmd *cmd, const lp_layer_io *io);
/* Weights the layer declares for an input shape (*n = 0 for none). */
int lp_layer_weights(lp_layer *l, int rank, const int64_t *in, lp_weight_decl *out, uint32_t *n);
/* CPU twins; LP_ERR_NOTFOUND when the plugin has none. */
int lp_layer_forward_ref(lp_layer *l, const lp_ref_io *io);
int lp_layer_backward_ref(lp_layer *l, const lp_ref_io *io);

#ifdef __cplusplus
}
#endif
#endif
