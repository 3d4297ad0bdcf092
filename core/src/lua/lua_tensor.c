/* lua_tensor.c — loupe.Tensor: device tensors from Lua, and the seeded random fills. */
#include <stdlib.h>
#include <string.h>

#include "lpl.h"

static const char *const dtype_names[] = { "float32", "int32", "int64", "uint8", NULL };
static const int dtype_ids[] = { LP_F32, LP_I32, LP_I64, LP_U8 };

int lpl_dtype_from_name(lua_State *L, const char *name, const char *what)
{
	for (int i = 0; dtype_names[i]; i++)
		if (strcmp(name, dtype_names[i]) == 0)
			return dtype_ids[i];
	return luaL_error(L, "%s: unknown dtype '%s' (float32, int32, int64, uint8)", what, name);
}

lp_tensor **lpl_new_tensor_box(lua_State *L)
{
	lp_tensor **box = lua_newuserdatauv(L, sizeof(*box), 0);
	*box = NULL;
	luaL_setmetatable(L, LPL_TENSOR);
	return box;
}

lp_tensor *lpl_check_tensor(lua_State *L, int idx)
{
	lp_tensor **box = luaL_checkudata(L, idx, LPL_TENSOR);
	if (!*box)
		luaL_error(L, "tensor: used after free");
	return *box;
}

int lpl_check_shape(lua_State *L, int idx, int64_t *dims, const char *what)
{
	if (!lua_istable(L, idx))
		return luaL_error(L, "%s: 'shape' must be a list of sizes", what);
	lua_Integer n = luaL_len(L, idx);
	if (n > LP_MAX_RANK)
		return luaL_error(L, "%s: rank %d exceeds %d", what, (int)n, LP_MAX_RANK);
	for (lua_Integer i = 1; i <= n; i++) {
		int isint;
		lua_geti(L, idx, i);
		lua_Integer d = lua_tointegerx(L, -1, &isint);
		lua_pop(L, 1);
		if (!isint || d < 0)
			return luaL_error(L, "%s: shape[%d] must be a non-negative integer", what,
					  (int)i);
		dims[i - 1] = d;
	}
	return (int)n;
}

/* Options table reader: fields must be known, so a typo is an error, not a default. */
void lpl_check_keys(lua_State *L, int idx, const char *what, const char *const *known)
{
	if (!lua_istable(L, idx))
		return;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		int ok = 0;
		for (int i = 0; k && known[i]; i++)
			ok |= strcmp(k, known[i]) == 0;
		if (!ok)
			luaL_error(L, "%s: unknown option '%s'", what, k ? k : "(non-string key)");
		lua_pop(L, 1);
	}
}

static void put(void *buf, int dtype, int64_t i, double v)
{
	switch (dtype) {
	case LP_F32: ((float *)buf)[i] = (float)v; break;
	case LP_I32: ((int32_t *)buf)[i] = (int32_t)v; break;
	case LP_I64: ((int64_t *)buf)[i] = (int64_t)v; break;
	default: ((uint8_t *)buf)[i] = (uint8_t)v; break;
	}
}

static void push_elem(lua_State *L, const void *buf, int dtype, int64_t i)
{
	switch (dtype) {
	case LP_F32: lua_pushnumber(L, ((const float *)buf)[i]); break;
	case LP_I32: lua_pushinteger(L, ((const int32_t *)buf)[i]); break;
	case LP_I64: lua_pushinteger(L, ((const int64_t *)buf)[i]); break;
	default: lua_pushinteger(L, ((const uint8_t *)buf)[i]); break;
	}
}

/* Create a tensor of the given shape and fill it from fill(i) on the host. */
typedef double (*fill_fn)(lua_State *L, lp_ctx *ctx, int64_t i, void *user);

static int make(lua_State *L, int dtype, int rank, const int64_t *dims, fill_fn fill, void *user)
{
	lp_ctx *ctx = lpl_ctx(L);
	lp_tensor **box = lpl_new_tensor_box(L);
	void *host;

	if (lp_tensor_new(ctx, dtype, rank, dims, box))
		return lpl_fail(L, ctx);
	size_t bytes = lp_tensor_bytes(*box);
	host = lua_newuserdatauv(L, bytes ? bytes : 1, 0); /* collected with the stack */
	for (int64_t i = 0, n = lp_tensor_numel(*box); i < n; i++)
		put(host, dtype, i, fill(L, ctx, i, user));
	if (lp_tensor_write(ctx, *box, host, bytes))
		return lpl_fail(L, ctx);
	lua_pop(L, 1);
	return 1;
}

static double fill_data(lua_State *L, lp_ctx *ctx, int64_t i, void *user)
{
	int idx = *(int *)user, isnum;
	(void)ctx;
	if (!idx)
		return 0;
	lua_geti(L, idx, i + 1);
	double v = lua_tonumberx(L, -1, &isnum);
	if (!isnum)
		luaL_error(L, "tensor: data[%d] is not a number", (int)(i + 1));
	lua_pop(L, 1);
	return v;
}

/* loupe.tensor{ shape = {2, 3}, data = {...} (flat, row-major), dtype = "float32" } */
static int l_tensor(lua_State *L)
{
	static const char *const keys[] = { "shape", "data", "dtype", NULL };
	int64_t dims[LP_MAX_RANK];
	int dtype = LP_F32, data = 0;

	luaL_checktype(L, 1, LUA_TTABLE);
	lpl_check_keys(L, 1, "loupe.tensor", keys);
	if (lua_getfield(L, 1, "dtype") != LUA_TNIL)
		dtype = lpl_dtype_from_name(L, luaL_checkstring(L, -1), "loupe.tensor");
	lua_getfield(L, 1, "data");
	lua_getfield(L, 1, "shape");
	if (lua_isnil(L, -1) && lua_istable(L, -2)) { /* a flat list alone: 1-D */
		lua_pop(L, 1);
		lua_createtable(L, 1, 0);
		lua_pushinteger(L, luaL_len(L, -2));
		lua_rawseti(L, -2, 1);
	}
	int rank = lpl_check_shape(L, lua_gettop(L), dims, "loupe.tensor");
	if (lua_istable(L, -2)) {
		int64_t n = 1;
		for (int i = 0; i < rank; i++)
			n *= dims[i];
		if (luaL_len(L, -2) != n)
			return luaL_error(L, "loupe.tensor: data has %d values, shape needs %d",
					  (int)luaL_len(L, -2), (int)n);
		data = lua_gettop(L) - 1;
	}
	return make(L, dtype, rank, dims, fill_data, &data);
}

typedef struct random_opts {
	int normal;
	double a, b; /* normal: mean, std; uniform: low, high */
} random_opts;

static double fill_random(lua_State *L, lp_ctx *ctx, int64_t i, void *user)
{
	random_opts *o = user;
	(void)L;
	(void)i;
	return o->normal ? o->a + o->b * lp_rng_normal(ctx) : o->a + (o->b - o->a) * lp_rng_uniform(ctx);
}

static int random_tensor(lua_State *L, int normal)
{
	static const char *const keys[] = { "shape", "mean", "std", "low", "high", NULL };
	const char *what = normal ? "loupe.randn" : "loupe.rand";
	random_opts o = { normal, 0, 1 };
	int64_t dims[LP_MAX_RANK];

	luaL_checktype(L, 1, LUA_TTABLE);
	lpl_check_keys(L, 1, what, keys);
	lua_getfield(L, 1, normal ? "mean" : "low");
	o.a = luaL_optnumber(L, -1, 0.0);
	lua_getfield(L, 1, normal ? "std" : "high");
	o.b = luaL_optnumber(L, -1, 1.0);
	lua_getfield(L, 1, "shape");
	int rank = lpl_check_shape(L, lua_gettop(L), dims, what);
	return make(L, LP_F32, rank, dims, fill_random, &o);
}

static int l_randn(lua_State *L) { return random_tensor(L, 1); }
static int l_rand(lua_State *L) { return random_tensor(L, 0); }

static int t_gc(lua_State *L)
{
	lp_tensor **box = luaL_checkudata(L, 1, LPL_TENSOR);
	lp_tensor_free(*box);
	*box = NULL;
	return 0;
}

static int t_tostring(lua_State *L)
{
	lp_tensor **box = luaL_checkudata(L, 1, LPL_TENSOR);
	luaL_Buffer b;

	if (!*box) {
		lua_pushstring(L, "loupe.Tensor (freed)");
		return 1;
	}
	luaL_buffinit(L, &b);
	lua_pushfstring(L, "loupe.Tensor %s %s [", lp_tensor_name(*box),
			lp_dtype_name(lp_tensor_dtype(*box)));
	luaL_addvalue(&b);
	for (int i = 0; i < lp_tensor_rank(*box); i++) {
		lua_pushfstring(L, i ? ", %I" : "%I", (lua_Integer)lp_tensor_dims(*box)[i]);
		luaL_addvalue(&b);
	}
	luaL_addchar(&b, ']');
	luaL_pushresult(&b);
	return 1;
}

static int t_shape(lua_State *L)
{
	lp_tensor *t = lpl_check_tensor(L, 1);
	lua_createtable(L, lp_tensor_rank(t), 0);
	for (int i = 0; i < lp_tensor_rank(t); i++) {
		lua_pushinteger(L, lp_tensor_dims(t)[i]);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

static int t_numel(lua_State *L)
{
	lua_pushinteger(L, lp_tensor_numel(lpl_check_tensor(L, 1)));
	return 1;
}

static int t_dtype(lua_State *L)
{
	lua_pushstring(L, lp_dtype_name(lp_tensor_dtype(lpl_check_tensor(L, 1))));
	return 1;
}

/* t:totable() -> flat list of values, row-major */
static int t_totable(lua_State *L)
{
	lp_tensor *t = lpl_check_tensor(L, 1);
	lp_ctx *ctx = lpl_ctx(L);
	size_t bytes = lp_tensor_bytes(t);
	void *host = lua_newuserdatauv(L, bytes ? bytes : 1, 0);

	if (lp_tensor_read(ctx, t, host, bytes))
		return lpl_fail(L, ctx);
	int64_t n = lp_tensor_numel(t);
	lua_createtable(L, n < 1 << 24 ? (int)n : 0, 0);
	for (int64_t i = 0; i < n; i++) {
		push_elem(L, host, lp_tensor_dtype(t), i);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

static int t_set_name(lua_State *L)
{
	lp_tensor_set_name(lpl_check_tensor(L, 1), luaL_checkstring(L, 2));
	lua_settop(L, 1);
	return 1;
}

static int t_len(lua_State *L)
{
	return t_numel(L);
}

void lpl_open_tensor(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{ "__gc", t_gc }, { "__close", t_gc }, { "__tostring", t_tostring },
		{ "__len", t_len }, { NULL, NULL },
	};
	static const luaL_Reg methods[] = {
		{ "shape", t_shape }, { "numel", t_numel }, { "dtype", t_dtype },
		{ "totable", t_totable }, { "set_name", t_set_name }, { "free", t_gc },
		{ NULL, NULL },
	};
	static const luaL_Reg fns[] = {
		{ "tensor", l_tensor }, { "randn", l_randn }, { "rand", l_rand }, { NULL, NULL },
	};

	luaL_newmetatable(L, LPL_TENSOR);
	luaL_setfuncs(L, meta, 0);
	luaL_newlib(L, methods);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	luaL_setfuncs(L, fns, 0);
}
