/* lua_layer.c — loupe.Layer: a layer plugin instance, run on the device or on its CPU twin. */
#include <stdlib.h>
#include <string.h>

#include "lpl.h"

static lp_layer *check_layer(lua_State *L, int idx)
{
	lp_layer **box = luaL_checkudata(L, idx, LPL_LAYER);
	if (!*box)
		luaL_error(L, "layer: used after free");
	return *box;
}

/* Turn a Lua parameter table into key/value pairs; the core validates them against the spec. */
size_t lpl_read_params(lua_State *L, int idx, const char *plugin, lp_kv *kv, size_t cap)
{
	size_t n = 0;

	if (lua_isnoneornil(L, idx))
		return 0;
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		if (lua_type(L, -2) != LUA_TSTRING)
			luaL_error(L, "%s: parameter names must be strings", plugin);
		if (n == cap)
			luaL_error(L, "%s: too many parameters", plugin);
		kv[n].key = lua_tostring(L, -2);
		lp_value *v = &kv[n].value;
		memset(v, 0, sizeof(*v));
		switch (lua_type(L, -1)) {
		case LUA_TNUMBER:
			if (lua_isinteger(L, -1)) {
				v->type = LP_PARAM_INT;
				v->integer = lua_tointeger(L, -1);
				v->number = (double)v->integer;
			} else {
				v->type = LP_PARAM_NUMBER;
				v->number = lua_tonumber(L, -1);
			}
			break;
		case LUA_TBOOLEAN:
			v->type = LP_PARAM_BOOL;
			v->boolean = lua_toboolean(L, -1);
			break;
		case LUA_TSTRING:
			v->type = LP_PARAM_STRING;
			v->string = lua_tostring(L, -1); /* kept alive by the table */
			break;
		default:
			luaL_error(L, "%s: parameter '%s' has unsupported type %s", plugin, kv[n].key,
				   luaL_typename(L, -1));
		}
		n++;
		lua_pop(L, 1);
	}
	return n;
}

/* loupe.layer(name, { params }) */
static int l_layer(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	lp_ctx *ctx = lpl_ctx(L);
	const lp_plugin *p;
	lp_kv kv[64];

	lua_settop(L, 2); /* the parameter table (or nil) stays at 2, the box goes to 3 */
	lpl_sync_plugin_path(L);
	lp_layer **box = lua_newuserdatauv(L, sizeof(*box), 0);
	*box = NULL;
	luaL_setmetatable(L, LPL_LAYER);
	if (lp_plugin_find(ctx, name, LP_KIND_LAYER, &p))
		return lpl_fail(L, ctx);
	size_t n = lpl_read_params(L, 2, p->name, kv, sizeof kv / sizeof kv[0]);
	if (lp_layer_new(ctx, p, kv, n, box))
		return lpl_fail(L, ctx);
	return 1;
}

/* A layer used on its own has nowhere to keep weights: those belong in a loupe.net. */
static void check_weightless(lua_State *L, lp_layer *l, const lp_tensor *x)
{
	lp_weight_decl w[LP_MAX_WEIGHTS];
	uint32_t nw;

	if (lp_layer_weights(l, lp_tensor_rank(x), lp_tensor_dims(x), w, &nw))
		lpl_fail(L, lpl_ctx(L));
	if (nw)
		luaL_error(L, "layer %s has weights; use it inside a loupe.net",
			   lp_layer_plugin(l)->name);
}

static lp_tensor **new_like(lua_State *L, lp_ctx *ctx, lp_layer *l, const lp_tensor *x, int out)
{
	int64_t dims[LP_MAX_RANK];
	int rank = lp_tensor_rank(x);
	lp_tensor **box = lpl_new_tensor_box(L);

	if (out && lp_layer_shape(l, lp_tensor_rank(x), lp_tensor_dims(x), &rank, dims))
		lpl_fail(L, ctx);
	if (!out)
		memcpy(dims, lp_tensor_dims(x), sizeof(int64_t) * (size_t)rank);
	if (lp_tensor_new(ctx, LP_F32, rank, dims, box))
		lpl_fail(L, ctx);
	return box;
}

/* Record one layer call into a fresh command and submit it. */
static int run(lua_State *L, lp_layer *l, lp_layer_io *io, int backward)
{
	lp_ctx *ctx = lpl_ctx(L);
	lp_cmd *cmd;

	if (lp_cmd_begin(ctx, &cmd))
		return lpl_fail(L, ctx);
	int rc = backward ? lp_layer_backward(l, cmd, io) : lp_layer_forward(l, cmd, io);
	if (rc) {
		lp_cmd_free(cmd);
		return lpl_fail(L, ctx);
	}
	if (lp_cmd_submit(cmd))
		return lpl_fail(L, ctx);
	return 1;
}

/* layer:forward(x) -> y */
static int m_forward(lua_State *L)
{
	lp_layer *l = check_layer(L, 1);
	lp_tensor *x = lpl_check_tensor(L, 2);
	check_weightless(L, l, x);
	lp_tensor **y = new_like(L, lpl_ctx(L), l, x, 1);
	lp_layer_io io = { .size = sizeof io, .x = x, .y = *y };

	return run(L, l, &io, 0);
}

/* layer:backward(x, y, dy) -> dx  (y may be nil for layers that do not need it) */
static int m_backward(lua_State *L)
{
	lp_layer *l = check_layer(L, 1);
	lp_tensor *x = lpl_check_tensor(L, 2);
	lp_tensor *y = lua_isnil(L, 3) ? NULL : lpl_check_tensor(L, 3);
	lp_tensor *dy = lpl_check_tensor(L, 4);
	check_weightless(L, l, x);
	lp_tensor **dx = new_like(L, lpl_ctx(L), l, x, 0);
	lp_layer_io io = { .size = sizeof io, .x = x, .y = y, .dy = dy, .dx = *dx };

	return run(L, l, &io, 1);
}

static float *read_f32(lua_State *L, lp_ctx *ctx, const lp_tensor *t)
{
	if (lp_tensor_dtype(t) != LP_F32)
		luaL_error(L, "layer: CPU reference needs float32 tensors");
	size_t bytes = lp_tensor_bytes(t);
	float *host = lua_newuserdatauv(L, bytes ? bytes : 1, 0);
	if (lp_tensor_read(ctx, t, host, bytes))
		lpl_fail(L, ctx);
	return host;
}

/* layer:forward_ref(x) / layer:backward_ref(x, y, dy): the plugin's CPU twin, as tensors. */
static int m_ref(lua_State *L, int backward)
{
	lp_layer *l = check_layer(L, 1);
	lp_ctx *ctx = lpl_ctx(L);
	lp_tensor *x = lpl_check_tensor(L, 2);
	lp_tensor *y = backward && !lua_isnil(L, 3) ? lpl_check_tensor(L, 3) : NULL;
	lp_tensor *dy = backward ? lpl_check_tensor(L, 4) : NULL;
	check_weightless(L, l, x);
	float *hx = read_f32(L, ctx, x), *hy = y ? read_f32(L, ctx, y) : NULL;
	float *hdy = dy ? read_f32(L, ctx, dy) : NULL;
	lp_tensor **out = new_like(L, ctx, l, x, !backward);
	size_t bytes = lp_tensor_bytes(*out);
	float *ho = lua_newuserdatauv(L, bytes ? bytes : 1, 0);
	lp_ref_io io = { .size = sizeof io, .rank = lp_tensor_rank(x), .in_dims = lp_tensor_dims(x),
			 .out_rank = lp_tensor_rank(*out), .out_dims = lp_tensor_dims(*out),
			 .x = hx, .y = backward ? (float *)hy : ho, .dy = hdy, .dx = backward ? ho : NULL };
	int rc = backward ? lp_layer_backward_ref(l, &io) : lp_layer_forward_ref(l, &io);

	if (rc || lp_tensor_write(ctx, *out, ho, bytes))
		return lpl_fail(L, ctx);
	lua_pop(L, 1);
	return 1;
}

static int m_forward_ref(lua_State *L) { return m_ref(L, 0); }
static int m_backward_ref(lua_State *L) { return m_ref(L, 1); }

static int m_gc(lua_State *L)
{
	lp_layer **box = luaL_checkudata(L, 1, LPL_LAYER);
	lp_layer_free(*box);
	*box = NULL;
	return 0;
}

static int m_tostring(lua_State *L)
{
	lp_layer **box = luaL_checkudata(L, 1, LPL_LAYER);
	if (!*box)
		lua_pushstring(L, "loupe.Layer (freed)");
	else
		lua_pushfstring(L, "loupe.Layer %s %s", lp_layer_plugin(*box)->name,
				lp_layer_plugin(*box)->version);
	return 1;
}

static int m_index(lua_State *L)
{
	lp_layer *l = check_layer(L, 1);
	const char *k = luaL_checkstring(L, 2);

	if (strcmp(k, "name") == 0)
		lua_pushstring(L, lp_layer_plugin(l)->name);
	else if (strcmp(k, "version") == 0)
		lua_pushstring(L, lp_layer_plugin(l)->version);
	else if (luaL_getmetafield(L, 1, "methods") == LUA_TTABLE)
		lua_getfield(L, -1, k);
	else
		lua_pushnil(L);
	return 1;
}

void lpl_open_layer(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{ "__gc", m_gc }, { "__close", m_gc }, { "__tostring", m_tostring },
		{ "__index", m_index }, { NULL, NULL },
	};
	static const luaL_Reg methods[] = {
		{ "forward", m_forward }, { "backward", m_backward }, { "forward_ref", m_forward_ref },
		{ "backward_ref", m_backward_ref }, { "free", m_gc }, { NULL, NULL },
	};

	luaL_newmetatable(L, LPL_LAYER);
	luaL_setfuncs(L, meta, 0);
	luaL_newlib(L, methods);
	lua_setfield(L, -2, "methods");
	lua_pop(L, 1);
	lua_pushvalue(L, -1);
	lua_pushcclosure(L, l_layer, 1); /* upvalue: the module, for loupe.plugin_path */
	lua_setfield(L, -2, "layer");
}
