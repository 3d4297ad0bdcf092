/*
 * lpl.h — internals of the `loupe` Lua module (the only code that includes lua.h).
 */
#ifndef LOUPE_LPL_H
#define LOUPE_LPL_H

#include <lauxlib.h>
#include <lua.h>

#include "loupe/archive.h"
#include "loupe/loupe.h"
#include "loupe/plugins.h"

#define LPL_TENSOR "loupe.Tensor"
#define LPL_LAYER "loupe.Layer"
#define LPL_ARCHIVE "loupe.Archive"
/* Registry key: a light userdata lp_ctx * lent by the host program (the `loupe` executable);
 * without it the module makes and owns its own context. */
#define LPL_BORROWED_CTX "loupe.ctx.borrowed"
/* Registry key: the command line of the host program, for archive provenance. */
#define LPL_COMMAND "loupe.command"

/* The module's entry point, exported from loupe.so for stock lua5.4's require. */
__attribute__((visibility("default"))) int luaopen_loupe(lua_State *L);

lp_ctx *lpl_ctx(lua_State *L);
/* Raise the context's last error as a Lua error (never returns). */
int lpl_fail(lua_State *L, lp_ctx *ctx);

/* Keep the C plugin search path in step with loupe.plugin_path; needs upvalue 1 = module. */
int lpl_sync_plugin_path(lua_State *L);

/* lua_tensor.c */
void lpl_open_tensor(lua_State *L);
lp_tensor *lpl_check_tensor(lua_State *L, int idx);
/* Push a box first, then create: an error never leaks the tensor. */
lp_tensor **lpl_new_tensor_box(lua_State *L);
int lpl_dtype_from_name(lua_State *L, const char *name, const char *what);
/* Read a shape table {d1, d2, ...} at idx; returns the rank. */
int lpl_check_shape(lua_State *L, int idx, int64_t *dims, const char *what);

/* lua_layer.c */
void lpl_open_layer(lua_State *L);

/* lua_archive.c */
void lpl_open_archive(lua_State *L);
/* loupe.analyze(run, { names..., name = { params } }) -> { name = { findings, group } } */
int lpl_analyze(lua_State *L);
int lpl_report(lua_State *L);

/* lua_dataset.c */
void lpl_open_dataset(lua_State *L);
struct lp_loader;
struct lp_loader *lpl_check_loader(lua_State *L, int idx);

/* lua_predict.c */
void lpl_open_predict(lua_State *L);

/* lua_net.c */
void lpl_open_net(lua_State *L);
struct lp_net;
struct lp_net *lpl_check_net(lua_State *L, int idx);

/* lua_opts.c: numbers and flags from option table t (a string is never a number); raise
 * "<what>: option '<key>' ... (range)" when one is missing its type or range. */
lua_Integer lpl_opt_int(lua_State *L, int t, const char *what, const char *key, lua_Integer def,
			lua_Integer lo, lua_Integer hi);
double lpl_opt_num(lua_State *L, int t, const char *what, const char *key, double def, double lo,
		   double hi, int lo_open);
double lpl_check_num(lua_State *L, int idx, const char *what, const char *key, double lo,
		     double hi, int lo_open);
int lpl_opt_bool(lua_State *L, int t, const char *what, const char *key, int def);

/* Parameter table at idx -> key/value pairs (validated later against the plugin's spec). */
size_t lpl_read_params(lua_State *L, int idx, const char *plugin, lp_kv *kv, size_t cap);
/* An options table may hold only the listed keys: a typo is an error naming it. */
void lpl_check_keys(lua_State *L, int idx, const char *what, const char *const *known);

#endif
