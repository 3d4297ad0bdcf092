/* lua_net.c — loupe.Net: a sequential net of layer plugins, trained on the device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/net.h"
#include "lpl.h"

#define LPL_NET "loupe.Net"

lp_net *lpl_check_net(lua_State *L, int idx)
{
	lp_net **box = luaL_checkudata(L, idx, LPL_NET);
	if (!*box)
		luaL_error(L, "net: used after free");
	return *box;
}

#define check_net lpl_check_net

/* loupe.net { input = { 3, 32, 32 } } */
static int l_net(lua_State *L)
{
	int64_t dims[LP_MAX_RANK];
	lp_ctx *ctx = lpl_ctx(L);

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, 1)) {
		if (lua_type(L, -2) != LUA_TSTRING || strcmp(lua_tostring(L, -2), "input") != 0)
			return luaL_error(L, "loupe.net: unknown option '%s'",
					  lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?");
		lua_pop(L, 1);
	}
	lua_getfield(L, 1, "input");
	int rank = lpl_check_shape(L, lua_gettop(L), dims, "loupe.net: input");
	lp_net **box = lua_newuserdatauv(L, sizeof(*box), 0);
	*box = NULL;
	luaL_setmetatable(L, LPL_NET);
	if (lp_net_new(ctx, rank, dims, box))
		return lpl_fail(L, ctx);
	return 1;
}

/* net:add(name, layer_type, { params }) */
static int m_add(lua_State *L)
{
	lp_net *net = check_net(L, 1);
	const char *name = luaL_checkstring(L, 2), *type = luaL_checkstring(L, 3);
	lp_ctx *ctx = lpl_ctx(L);
	const lp_plugin *p;
	lp_kv kv[64];

	lua_settop(L, 4);
	lpl_sync_plugin_path(L);
	if (lp_plugin_find(ctx, type, LP_KIND_LAYER, &p))
		return lpl_fail(L, ctx);
	size_t n = lpl_read_params(L, 4, p->name, kv, sizeof kv / sizeof kv[0]);
	if (lp_net_add(net, name, p, kv, n))
		return lpl_fail(L, ctx);
	lua_settop(L, 1);
	return 1;
}

static int m_init(lua_State *L)
{
	if (lp_net_init(check_net(L, 1)))
		return lpl_fail(L, lpl_ctx(L));
	lua_settop(L, 1);
	return 1;
}

static void push_dims(lua_State *L, int rank, const int64_t *d)
{
	lua_createtable(L, rank, 0);
	for (int i = 0; i < rank; i++) {
		lua_pushinteger(L, d[i]);
		lua_rawseti(L, -2, i + 1);
	}
}

/* net:layers() -> { { name, type, shape, params, macs, weights = { {name, shape} } } } */
static int m_layers(lua_State *L)
{
	lp_net *net = check_net(L, 1);
	size_t n = lp_net_count(net);

	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lp_net_layer_info info;
		lp_net_layer(net, i, &info);
		lua_createtable(L, 0, 6);
		lua_pushstring(L, info.name);
		lua_setfield(L, -2, "name");
		lua_pushstring(L, info.type);
		lua_setfield(L, -2, "type");
		push_dims(L, info.out_rank, info.out_dims);
		lua_setfield(L, -2, "shape");
		lua_pushinteger(L, (lua_Integer)info.params);
		lua_setfield(L, -2, "params");
		lua_pushinteger(L, (lua_Integer)info.macs);
		lua_setfield(L, -2, "macs");
		lua_createtable(L, (int)info.nw, 0);
		for (uint32_t k = 0; k < info.nw; k++) {
			lua_createtable(L, 0, 2);
			lua_pushstring(L, info.w[k].name);
			lua_setfield(L, -2, "name");
			push_dims(L, info.w[k].rank, info.w[k].dims);
			lua_setfield(L, -2, "shape");
			lua_rawseti(L, -2, k + 1);
		}
		lua_setfield(L, -2, "weights");
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

static double opt_number(lua_State *L, int t, const char *k, double def)
{
	lua_getfield(L, t, k);
	double v = luaL_optnumber(L, -1, def);
	lua_pop(L, 1);
	return v;
}

/* net:train_step(x, labels, { lr, momentum, weight_decay, update = true, dropout = true })
 * -> mean loss, correct */
static int m_train_step(lua_State *L)
{
	static const char *const keys[] = { "lr", "momentum", "weight_decay", "update", "dropout",
					    NULL };
	lp_net *net = check_net(L, 1);
	lp_tensor *x = lpl_check_tensor(L, 2), *labels = lpl_check_tensor(L, 3);
	lp_net_step_opts o = { 0.01, 0.9, 5e-4, 1, 1 };
	lp_net_step_result r;

	if (!lua_isnoneornil(L, 4)) {
		luaL_checktype(L, 4, LUA_TTABLE);
		lpl_check_keys(L, 4, "net:train_step", keys);
		o.lr = opt_number(L, 4, "lr", o.lr);
		o.momentum = opt_number(L, 4, "momentum", o.momentum);
		o.weight_decay = opt_number(L, 4, "weight_decay", o.weight_decay);
		if (lua_getfield(L, 4, "update") != LUA_TNIL)
			o.update = lua_toboolean(L, -1);
		if (lua_getfield(L, 4, "dropout") != LUA_TNIL)
			o.training = lua_toboolean(L, -1);
	}
	if (lp_net_train_step(net, x, labels, &o, &r))
		return lpl_fail(L, lpl_ctx(L));
	lua_pushnumber(L, r.loss);
	lua_pushinteger(L, r.correct);
	return 2;
}

static int push_copy(lua_State *L, const lp_tensor *src)
{
	lp_ctx *ctx = lpl_ctx(L);
	lp_tensor **box = lpl_new_tensor_box(L);
	size_t bytes = lp_tensor_bytes(src);
	void *h = lua_newuserdatauv(L, bytes + 1, 0);

	if (lp_tensor_new(ctx, lp_tensor_dtype(src), lp_tensor_rank(src), lp_tensor_dims(src), box) ||
	    lp_tensor_read(ctx, src, h, bytes) || lp_tensor_write(ctx, *box, h, bytes))
		return lpl_fail(L, ctx);
	lp_tensor_set_name(*box, lp_tensor_name(src));
	lua_pop(L, 1);
	return 1;
}

/* net:predict(x [, labels]) -> probs [N, C], logits [N, C], loss [N] or nil */
static int m_predict(lua_State *L)
{
	lp_net *net = check_net(L, 1);
	lp_tensor *x = lpl_check_tensor(L, 2);
	lp_tensor *labels = lua_isnoneornil(L, 3) ? NULL : lpl_check_tensor(L, 3);
	const lp_tensor *logits, *probs, *loss;

	if (lp_net_predict(net, x, labels, &logits, &probs, &loss))
		return lpl_fail(L, lpl_ctx(L));
	push_copy(L, probs);
	push_copy(L, logits);
	if (loss)
		push_copy(L, loss);
	else
		lua_pushnil(L);
	return 3;
}

static int param(lua_State *L, int kind)
{
	lp_tensor *t;

	if (lp_net_param(check_net(L, 1), luaL_checkstring(L, 2), kind, &t))
		return lpl_fail(L, lpl_ctx(L));
	return push_copy(L, t);
}

static int m_param(lua_State *L) { return param(L, 0); }
static int m_grad(lua_State *L) { return param(L, 1); }
static int m_momentum(lua_State *L) { return param(L, 2); }

/* net:set_param(name, tensor) */
static int m_set_param(lua_State *L)
{
	lp_ctx *ctx = lpl_ctx(L);
	lp_tensor *t, *src = lpl_check_tensor(L, 3);

	if (lp_net_param(check_net(L, 1), luaL_checkstring(L, 2), 0, &t))
		return lpl_fail(L, ctx);
	if (lp_tensor_bytes(t) != lp_tensor_bytes(src) || lp_tensor_dtype(src) != LP_F32)
		return luaL_error(L, "net:set_param %s: %s has another size or dtype",
				  lua_tostring(L, 2), lp_tensor_name(src));
	size_t bytes = lp_tensor_bytes(t);
	void *h = lua_newuserdatauv(L, bytes + 1, 0);
	if (lp_tensor_read(ctx, src, h, bytes) || lp_tensor_write(ctx, t, h, bytes))
		return lpl_fail(L, ctx);
	return 0;
}

/* net:activation(layer [, "grad"]) -> copy of the layer's output (or its gradient) from the
 * last batch */
static int m_activation(lua_State *L)
{
	static const char *const kinds[] = { "value", "grad", NULL };
	const lp_tensor *t;
	int kind = luaL_checkoption(L, 3, "value", kinds);

	if (lp_net_activation(check_net(L, 1), luaL_checkstring(L, 2), kind, &t))
		return lpl_fail(L, lpl_ctx(L));
	return push_copy(L, t);
}

static int m_params(lua_State *L)
{
	lp_net *net = check_net(L, 1);
	size_t n = lp_net_param_count(net);

	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_pushstring(L, lp_net_param_name(net, i));
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

/* net:save(path [, { key = value, ... }]): the values (strings or numbers) become attributes
 * of "/" in the same atomic write */
static int m_save(lua_State *L)
{
	lp_net *net = check_net(L, 1);
	const char *path = luaL_checkstring(L, 2);
	const char *kv[128];
	size_t n = 0;

	if (!lua_isnoneornil(L, 3)) {
		luaL_checktype(L, 3, LUA_TTABLE);
		lua_pushnil(L);
		while (lua_next(L, 3)) {
			if (n == 64)
				return luaL_error(L, "net:save: at most 64 attributes");
			if (lua_type(L, -2) != LUA_TSTRING || !lua_isstring(L, -1))
				return luaL_error(L, "net:save: attributes are name = string or number");
			lua_pushvalue(L, -2);
			kv[2 * n] = lua_tostring(L, -1);
			lua_pop(L, 1);
			kv[2 * n + 1] = luaL_tolstring(L, -1, NULL);
			lua_insert(L, 4); /* keep the converted string alive below the iteration */
			n++;
			lua_pop(L, 1);
		}
	}
	if (lp_net_save_meta(net, path, n, kv))
		return lpl_fail(L, lpl_ctx(L));
	return 0;
}

/* net:load(path, { momentum = true }) */
static int m_load(lua_State *L)
{
	static const char *const keys[] = { "momentum", "skip", NULL };
	int momentum = 1;
	const char *skip[64];
	size_t nskip = 0;

	if (lua_istable(L, 3)) {
		lpl_check_keys(L, 3, "net:load", keys);
		if (lua_getfield(L, 3, "momentum") != LUA_TNIL)
			momentum = lua_toboolean(L, -1);
		if (lua_getfield(L, 3, "skip") != LUA_TNIL) {
			luaL_checktype(L, -1, LUA_TTABLE);
			for (lua_Integer i = 1; i <= luaL_len(L, -1) && nskip < 64; i++) {
				lua_geti(L, -1, i);
				skip[nskip++] = luaL_checkstring(L, -1);
				lua_pop(L, 1); /* held by the list */
			}
		}
	}
	if (lp_net_load_except(check_net(L, 1), luaL_checkstring(L, 2), momentum, skip, nskip))
		return lpl_fail(L, lpl_ctx(L));
	return 0;
}

/* net:input() -> { C, H, W }; net:seed() -> the seed it was made with */
static int m_input(lua_State *L)
{
	const int64_t *d;
	int rank = lp_net_input(check_net(L, 1), &d);
	lua_createtable(L, rank, 0);
	for (int i = 0; i < rank; i++) {
		lua_pushinteger(L, (lua_Integer)d[i]);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

static int m_seed(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)lp_net_get_seed(check_net(L, 1)));
	return 1;
}

static int m_step(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)lp_net_get_step(check_net(L, 1)));
	return 1;
}

static void dims_text(char *out, size_t size, int rank, const int64_t *d)
{
	size_t len = 0;
	for (int i = 0; i < rank && len < size; i++)
		len += (size_t)snprintf(out + len, size - len, i ? "x%lld" : "%lld", (long long)d[i]);
}

/* net:summary() -> a table of layers, output shapes, parameters and FLOPs per item, as text */
static int m_summary(lua_State *L)
{
	lp_net *net = check_net(L, 1);
	luaL_Buffer b;
	char line[256], shape[96];
	uint64_t params = 0, macs = 0;

	luaL_buffinit(L, &b);
	snprintf(line, sizeof line, "%-8s %-13s %-16s %12s %14s\n", "layer", "type", "output",
		 "params", "MFLOP/item");
	luaL_addstring(&b, line);
	for (size_t i = 0; i < lp_net_count(net); i++) {
		lp_net_layer_info in;
		lp_net_layer(net, i, &in);
		dims_text(shape, sizeof shape, in.out_rank, in.out_dims);
		snprintf(line, sizeof line, "%-8s %-13s %-16s %12llu %14.2f\n", in.name, in.type,
			 shape, (unsigned long long)in.params, 2e-6 * (double)in.macs);
		luaL_addstring(&b, line);
		params += in.params;
		macs += in.macs;
	}
	snprintf(line, sizeof line, "total: %llu parameters (%.1f MB float32), %.1f MFLOP per item "
		 "forward\n", (unsigned long long)params, 4e-6 * (double)params, 2e-6 * (double)macs);
	luaL_addstring(&b, line);
	luaL_pushresult(&b);
	return 1;
}

static int m_gc(lua_State *L)
{
	lp_net **box = luaL_checkudata(L, 1, LPL_NET);
	lp_net_free(*box);
	*box = NULL;
	return 0;
}

static int m_tostring(lua_State *L)
{
	lp_net **box = luaL_checkudata(L, 1, LPL_NET);
	if (*box)
		lua_pushfstring(L, "loupe.Net (%d layers)", (int)lp_net_count(*box));
	else
		lua_pushstring(L, "loupe.Net (freed)");
	return 1;
}

void lpl_open_net(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{ "__gc", m_gc }, { "__close", m_gc }, { "__tostring", m_tostring }, { NULL, NULL },
	};
	static const luaL_Reg methods[] = {
		{ "init", m_init }, { "layers", m_layers }, { "train_step", m_train_step },
		{ "predict", m_predict }, { "param", m_param }, { "grad", m_grad },
		{ "momentum", m_momentum }, { "set_param", m_set_param }, { "params", m_params },
		{ "save", m_save }, { "load", m_load }, { "step", m_step },
		{ "input", m_input }, { "seed", m_seed }, { "free", m_gc },
		{ "summary", m_summary }, { "activation", m_activation },
		{ NULL, NULL },
	};

	luaL_newmetatable(L, LPL_NET);
	luaL_setfuncs(L, meta, 0);
	luaL_newlib(L, methods);
	lua_pushvalue(L, -3); /* the module, upvalue of add (for loupe.plugin_path) */
	lua_pushcclosure(L, m_add, 1);
	lua_setfield(L, -2, "add");
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	lua_pushcfunction(L, l_net);
	lua_setfield(L, -2, "net");
}
