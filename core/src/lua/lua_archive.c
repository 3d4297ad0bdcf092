/* lua_archive.c — loupe.Archive: the run's HDF5 file from Lua. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/analyze.h"
#include "loupe/report.h"
#include "lpl.h"

static lp_archive *check_archive(lua_State *L, int idx)
{
	lp_archive **box = luaL_checkudata(L, idx, LPL_ARCHIVE);
	if (!*box)
		luaL_error(L, "archive: used after close");
	return *box;
}

static const char *opt_string(lua_State *L, int t, const char *k, const char *def)
{
	const char *s = def;
	if (lua_getfield(L, t, k) != LUA_TNIL)
		s = luaL_checkstring(L, -1);
	lua_pop(L, 1); /* strings held by the options table stay alive */
	return s;
}

/* The command line: what the host program recorded, else stock lua's arg[-1], arg[0..n]. */
static const char *command_line(lua_State *L)
{
	luaL_Buffer b;

	if (lua_getfield(L, LUA_REGISTRYINDEX, LPL_COMMAND) == LUA_TSTRING)
		return lua_tostring(L, -1);
	lua_pop(L, 1);
	luaL_buffinit(L, &b);
	if (lua_getglobal(L, "arg") == LUA_TTABLE) {
		lua_Integer lo = 0;
		for (; lua_geti(L, -1, lo - 1) != LUA_TNIL; lo--)
			lua_pop(L, 1);
		lua_pop(L, 1);
		for (lua_Integer i = lo; lua_geti(L, -1, i) != LUA_TNIL; i++) {
			if (i > lo)
				luaL_addchar(&b, ' ');
			luaL_addstring(&b, lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	luaL_pushresult(&b);
	return lua_tostring(L, -1);
}

/* loupe.archive(path, { script = arg[0], mode = "create" | "read" | "append" }) */
static int l_archive(lua_State *L)
{
	static const char *const keys[] = { "script", "mode", "git_rev", NULL };
	static const char *const modes[] = { "create", "read", "append", NULL };
	const char *path = luaL_checkstring(L, 1);
	lp_ctx *ctx = lpl_ctx(L);
	int mode = 0;

	lua_settop(L, 2);
	if (lua_isnil(L, 2)) {
		lua_newtable(L);
		lua_replace(L, 2);
	}
	luaL_checktype(L, 2, LUA_TTABLE);
	lpl_check_keys(L, 2, "loupe.archive", keys);
	if (lua_getfield(L, 2, "mode") != LUA_TNIL)
		mode = luaL_checkoption(L, -1, NULL, modes);
	lua_pop(L, 1);
	lua_getglobal(L, "arg");
	const char *script0 = lua_istable(L, -1) && lua_geti(L, -1, 0) == LUA_TSTRING
				      ? lua_tostring(L, -1) : NULL; /* stays on the stack */
	lp_provenance prov = { .command = command_line(L),
			       .script_path = opt_string(L, 2, "script", script0),
			       .seed = lp_ctx_get_seed(ctx),
			       .git_rev = opt_string(L, 2, "git_rev", NULL) };
	lp_archive **box = lua_newuserdatauv(L, sizeof(*box), 0);
	*box = NULL;
	luaL_setmetatable(L, LPL_ARCHIVE);
	int rc = mode == 0 ? lp_archive_create(ctx, path, &prov, box)
			   : lp_archive_open(ctx, path, mode == 2, box);
	if (rc)
		return lpl_fail(L, ctx);
	return 1;
}

static const char **read_axes(lua_State *L, int opts, const char **axes, int rank)
{
	if (!lua_istable(L, opts) || lua_getfield(L, opts, "axes") == LUA_TNIL) {
		if (lua_istable(L, opts))
			lua_pop(L, 1);
		return NULL;
	}
	luaL_checktype(L, -1, LUA_TTABLE);
	if (luaL_len(L, -1) != rank)
		luaL_error(L, "archive: %d axis names for a rank-%d dataset", (int)luaL_len(L, -1),
			   rank);
	for (int i = 0; i < rank; i++) {
		lua_geti(L, -1, i + 1);
		axes[i] = luaL_checkstring(L, -1);
		lua_pop(L, 1); /* held by the axes table, which stays on the stack */
	}
	return axes;
}

static void put(void *buf, int dtype, lua_Integer i, lua_State *L, int idx)
{
	int isnum;
	double v = lua_tonumberx(L, idx, &isnum);

	if (!isnum)
		luaL_error(L, "archive: data[%d] is not a number", (int)(i + 1));
	switch (dtype) {
	case LP_F32: ((float *)buf)[i] = (float)v; break;
	case LP_I32: ((int32_t *)buf)[i] = (int32_t)lua_tointeger(L, idx); break;
	case LP_I64: ((int64_t *)buf)[i] = (int64_t)lua_tointeger(L, idx); break;
	default: ((uint8_t *)buf)[i] = (uint8_t)lua_tointeger(L, idx); break;
	}
}

/* run:write(path, tensor | list, { axes = {...}, dtype = "float32", shape = {...} }) */
static int m_write(lua_State *L)
{
	static const char *const keys[] = { "axes", "dtype", "shape", NULL };
	lp_archive *a = check_archive(L, 1);
	const char *path = luaL_checkstring(L, 2);
	lp_ctx *ctx = lpl_ctx(L);
	int64_t dims[LP_MAX_RANK];
	const char *axes[LP_MAX_RANK];
	int rank, dtype = LP_F32;
	void *host;

	lpl_check_keys(L, 4, "archive:write", keys);
	if (luaL_testudata(L, 3, LPL_TENSOR)) {
		lp_tensor *t = lpl_check_tensor(L, 3);
		rank = lp_tensor_rank(t);
		dtype = lp_tensor_dtype(t);
		memcpy(dims, lp_tensor_dims(t), sizeof(int64_t) * (size_t)rank);
		host = lua_newuserdatauv(L, lp_tensor_bytes(t) + 1, 0);
		if (lp_tensor_read(ctx, t, host, lp_tensor_bytes(t)))
			return lpl_fail(L, ctx);
	} else {
		luaL_checktype(L, 3, LUA_TTABLE);
		lua_Integer n = luaL_len(L, 3), want = 1;
		if (lua_istable(L, 4) && lua_getfield(L, 4, "dtype") != LUA_TNIL)
			dtype = lpl_dtype_from_name(L, luaL_checkstring(L, -1), "archive:write");
		if (lua_istable(L, 4) && lua_getfield(L, 4, "shape") != LUA_TNIL) {
			rank = lpl_check_shape(L, lua_gettop(L), dims, "archive:write");
		} else {
			rank = 1;
			dims[0] = n;
		}
		for (int i = 0; i < rank; i++)
			want *= dims[i];
		if (want != n)
			return luaL_error(L, "archive:write %s: %d values for a shape of %d", path,
					  (int)n, (int)want);
		host = lua_newuserdatauv(L, (size_t)n * lp_dtype_size(dtype) + 1, 0);
		for (lua_Integer i = 0; i < n; i++) {
			lua_geti(L, 3, i + 1);
			put(host, dtype, i, L, -1);
			lua_pop(L, 1);
		}
	}
	const char **ax = read_axes(L, 4, axes, rank);
	if (lp_archive_write(a, path, dtype, rank, dims, ax, host))
		return lpl_fail(L, ctx);
	return 0;
}

/* run:write_strings(path, { "a", "b" }, { axis = "item" }) */
static int m_write_strings(lua_State *L)
{
	static const char *const keys[] = { "axis", NULL };
	lp_archive *a = check_archive(L, 1);
	const char *path = luaL_checkstring(L, 2);
	luaL_checktype(L, 3, LUA_TTABLE);
	lpl_check_keys(L, 4, "archive:write_strings", keys);
	lua_Integer n = luaL_len(L, 3);
	const char **s = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);

	for (lua_Integer i = 0; i < n; i++) {
		lua_geti(L, 3, i + 1);
		if (lua_type(L, -1) != LUA_TSTRING)
			return luaL_error(L, "archive:write_strings %s: item %d is not a string", path,
					  (int)(i + 1));
		s[i] = lua_tostring(L, -1);
		lua_pop(L, 1); /* held by the list */
	}
	const char *axis = lua_istable(L, 4) ? opt_string(L, 4, "axis", NULL) : NULL;
	if (lp_archive_write_strings(a, path, (size_t)n, s, axis))
		return lpl_fail(L, lpl_ctx(L));
	return 0;
}

/* run:attr(object, name, value)  — string, integer or number */
static int m_attr(lua_State *L)
{
	lp_archive *a = check_archive(L, 1);
	const char *obj = luaL_checkstring(L, 2), *name = luaL_checkstring(L, 3);
	int rc;

	if (lua_type(L, 4) == LUA_TSTRING)
		rc = lp_archive_attr_string(a, obj, name, lua_tostring(L, 4));
	else if (lua_isinteger(L, 4))
		rc = lp_archive_attr_int(a, obj, name, lua_tointeger(L, 4));
	else if (lua_type(L, 4) == LUA_TNUMBER)
		rc = lp_archive_attr_number(a, obj, name, lua_tonumber(L, 4));
	else
		return luaL_error(L, "archive:attr %s %s: value must be a string or a number", obj,
				  name);
	if (rc)
		return lpl_fail(L, lpl_ctx(L));
	return 0;
}

static int m_get_attr(lua_State *L)
{
	lp_archive *a = check_archive(L, 1);
	char *s;

	if (lp_archive_attr_get(a, luaL_checkstring(L, 2), luaL_checkstring(L, 3), &s))
		return lpl_fail(L, lpl_ctx(L));
	lua_pushstring(L, s);
	free(s);
	return 1;
}

static int m_group(lua_State *L)
{
	if (lp_archive_group(check_archive(L, 1), luaL_checkstring(L, 2)))
		return lpl_fail(L, lpl_ctx(L));
	return 0;
}

/* run:read(path) -> loupe.Tensor for numbers, a list for strings */
static int m_read(lua_State *L)
{
	lp_archive *a = check_archive(L, 1);
	const char *path = luaL_checkstring(L, 2);
	lp_ctx *ctx = lpl_ctx(L);
	int64_t dims[LP_MAX_RANK];
	int dtype, rank;

	if (lp_archive_info(a, path, &dtype, &rank, dims))
		return lpl_fail(L, ctx);
	if (dtype == 0) {
		char **s;
		size_t n;
		if (lp_archive_read_strings(a, path, &n, &s))
			return lpl_fail(L, ctx);
		lua_createtable(L, (int)n, 0);
		for (size_t i = 0; i < n; i++) {
			lua_pushstring(L, s[i]);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		free(s);
		return 1;
	}
	lp_tensor **box = lpl_new_tensor_box(L);
	if (lp_tensor_new(ctx, dtype, rank, dims, box))
		return lpl_fail(L, ctx);
	size_t bytes = lp_tensor_bytes(*box);
	void *host = lua_newuserdatauv(L, bytes + 1, 0);
	if (lp_archive_read(a, path, dtype, host, bytes) || lp_tensor_write(ctx, *box, host, bytes))
		return lpl_fail(L, ctx);
	lua_pop(L, 1);
	return 1;
}

static void on_child(void *user, const char *name, int kind)
{
	lua_State *L = user;
	lua_pushstring(L, kind == 1 ? "group" : kind == 2 ? "dataset" : "other");
	lua_setfield(L, -2, name);
}

/* run:list(group) -> { name = "group" | "dataset", ... } */
static int m_list(lua_State *L)
{
	lp_archive *a = check_archive(L, 1);
	lua_newtable(L);
	if (lp_archive_list(a, luaL_optstring(L, 2, "/"), on_child, L))
		return lpl_fail(L, lpl_ctx(L));
	return 1;
}

/* ---- loupe.analyze(run, { "confusion", ..., confusion = { top = 5 } }) -------------------- */

struct names {
	lua_State *L;
	int t;
	lua_Integer n;
};

static void push_name(void *user, const lp_plugin *p)
{
	struct names *s = user;
	lua_pushstring(s->L, p->name);
	lua_rawseti(s->L, s->t, ++s->n);
}

/* the analyses asked for (the array part; all of them when empty), as a list at the top */
static void analysis_names(lua_State *L, int opts)
{
	struct names s = { L, 0, 0 };

	lua_newtable(L);
	s.t = lua_gettop(L);
	for (lua_Integer i = 1; !lua_isnil(L, opts) && lua_rawgeti(L, opts, i) != LUA_TNIL; i++) {
		if (lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "loupe.analyze: entry %I of the list is a %s, not an analysis "
				   "name", i, luaL_typename(L, -1));
		lua_rawseti(L, s.t, ++s.n);
	}
	if (!lua_isnil(L, opts))
		lua_pop(L, 1);
	if (!s.n && lp_analysis_list(lpl_ctx(L), push_name, &s))
		lpl_fail(L, lpl_ctx(L));
}

/* a string key of opts must name one of the analyses asked for (its parameter table) */
static void check_param_tables(lua_State *L, int opts, int names)
{
	if (lua_isnil(L, opts))
		return;
	for (lua_pushnil(L); lua_next(L, opts); lua_pop(L, 1)) {
		if (lua_type(L, -2) != LUA_TSTRING)
			continue;
		const char *key = lua_tostring(L, -2);
		int found = 0;
		if (strcmp(key, "images") == 0 || strcmp(key, "threads") == 0)
			continue; /* options of the call (lpl_analyze) */
		for (lua_Integer i = 1; !found && lua_rawgeti(L, names, i) != LUA_TNIL; i++) {
			found = strcmp(lua_tostring(L, -1), key) == 0;
			lua_pop(L, 1);
		}
		if (!found)
			luaL_error(L, "loupe.analyze: '%s' is not one of the analyses asked for (its "
				   "parameters go in a table named after it)", key);
		if (!lua_istable(L, -1))
			luaL_error(L, "loupe.analyze: the parameters of %s must be a table, not a %s",
				   key, luaL_typename(L, -1));
	}
}

int lpl_analyze(lua_State *L)
{
	lp_archive *a = check_archive(L, 1);
	lp_ctx *ctx = lpl_ctx(L);
	lp_kv kv[64];
	lp_analyze_opts o = { 0 };

	lua_settop(L, 2);
	if (!lua_isnil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		if (lua_getfield(L, 2, "images") != LUA_TNIL && lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "loupe.analyze: option 'images' must be a directory (a string), "
				   "not a %s", luaL_typename(L, -1));
		o.images = lua_tostring(L, -1); /* stays on the table */
		lua_pop(L, 1);
		if (lua_getfield(L, 2, "threads") != LUA_TNIL &&
		    (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0 || lua_tointeger(L, -1) > 64))
			luaL_error(L, "loupe.analyze: option 'threads' must be an integer 0..64");
		o.threads = (int)lua_tointeger(L, -1);
		lua_pop(L, 1);
	}
	analysis_names(L, 2); /* 3 */
	check_param_tables(L, 2, 3);
	lua_newtable(L); /* 4: results */
	for (lua_Integer i = 1; lua_rawgeti(L, 3, i) != LUA_TNIL; i++) {
		const char *name = lua_tostring(L, -1);
		char obj[300], *count = NULL;
		size_t n = 0;

		lua_pushnil(L); /* its parameter table, kept on the stack while kv points into it */
		if (!lua_isnil(L, 2)) {
			lua_getfield(L, 2, name);
			lua_replace(L, -2);
		}
		if (lua_istable(L, -1))
			n = lpl_read_params(L, lua_gettop(L), name, kv, 64);
		if (lp_analyze_with(ctx, a, name, kv, n, &o))
			return lpl_fail(L, ctx);
		lua_pop(L, 1); /* the parameter table */
		snprintf(obj, sizeof obj, "/analyses/%s/findings", name);
		lua_createtable(L, 0, 2);
		if (lp_archive_attr_get(a, obj, "count", &count) == LP_OK) {
			lua_pushinteger(L, strtoll(count, NULL, 10));
			lua_setfield(L, -2, "findings");
		}
		free(count);
		lua_pushfstring(L, "/analyses/%s", name);
		lua_setfield(L, -2, "group");
		lua_setfield(L, 4, name);
		lua_pop(L, 1); /* the name */
	}
	lua_pop(L, 1);
	if (lp_archive_commit(a))
		return lpl_fail(L, ctx);
	return 1;
}

/* run:commit(): the file at the path now holds everything written so far */
static int m_commit(lua_State *L)
{
	if (lp_archive_commit(check_archive(L, 1)))
		return lpl_fail(L, lpl_ctx(L));
	return 0;
}

/* run:discard(): close, dropping what was written since the last commit */
static int m_discard(lua_State *L)
{
	lp_archive **box = luaL_checkudata(L, 1, LPL_ARCHIVE);
	lp_archive *a = *box;

	*box = NULL;
	lp_archive_discard(a);
	return 0;
}

static int m_close(lua_State *L)
{
	lp_archive **box = luaL_checkudata(L, 1, LPL_ARCHIVE);
	lp_archive *a = *box;

	*box = NULL;
	if (a && lp_archive_close(a))
		return lpl_fail(L, lpl_ctx(L));
	return 0;
}

/* Collected without close: close, but an error here has nowhere to go. */
static int m_gc(lua_State *L)
{
	lp_archive **box = luaL_checkudata(L, 1, LPL_ARCHIVE);
	lp_archive_close(*box);
	*box = NULL;
	return 0;
}

static int m_tostring(lua_State *L)
{
	lp_archive **box = luaL_checkudata(L, 1, LPL_ARCHIVE);
	if (*box)
		lua_pushfstring(L, "loupe.Archive %s", lp_archive_path(*box));
	else
		lua_pushstring(L, "loupe.Archive (closed)");
	return 1;
}

static int m_path(lua_State *L)
{
	lua_pushstring(L, lp_archive_path(check_archive(L, 1)));
	return 1;
}

void lpl_open_archive(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{ "__gc", m_gc }, { "__close", m_close }, { "__tostring", m_tostring },
		{ NULL, NULL },
	};
	static const luaL_Reg methods[] = {
		{ "write", m_write }, { "write_strings", m_write_strings }, { "attr", m_attr },
		{ "get_attr", m_get_attr }, { "group", m_group }, { "read", m_read },
		{ "list", m_list }, { "close", m_close }, { "path", m_path },
		{ "commit", m_commit }, { "discard", m_discard }, { NULL, NULL },
	};

	luaL_newmetatable(L, LPL_ARCHIVE);
	luaL_setfuncs(L, meta, 0);
	luaL_newlib(L, methods);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	lua_pushcfunction(L, l_archive);
	lua_setfield(L, -2, "archive");
}

/* ---- loupe.report(run, { path = "x.html", images = ROOT, top = 48, thumb = 112 }) ------- */

static int opt_int(lua_State *L, int t, const char *key, int lo, int hi)
{
	int v = 0;
	if (lua_getfield(L, t, key) != LUA_TNIL) {
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < lo || lua_tointeger(L, -1) > hi)
			luaL_error(L, "loupe.report: option '%s' must be an integer %d..%d", key, lo,
				   hi);
		v = (int)lua_tointeger(L, -1);
	}
	lua_pop(L, 1);
	return v;
}

/* the page's path (default: the archive's, .h5 replaced by .html) */
int lpl_report(lua_State *L)
{
	lp_archive *a = check_archive(L, 1);
	lp_report_opts o = { 0 };
	const char *path;

	lua_settop(L, 2);
	if (!lua_isnil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1)) {
			const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
			if (!k || (strcmp(k, "path") && strcmp(k, "images") && strcmp(k, "top") &&
				   strcmp(k, "thumb")))
				luaL_error(L, "loupe.report: unknown option '%s' (options: path, "
					   "images, top, thumb)", k ? k : luaL_typename(L, -2));
		}
		o.top = opt_int(L, 2, "top", 0, 100000);
		o.thumb = opt_int(L, 2, "thumb", 0, 512);
		lua_getfield(L, 2, "images");
		o.images = lua_tostring(L, -1); /* 3 */
		lua_getfield(L, 2, "path");     /* 4 */
	}
	lua_settop(L, 4);
	if (lua_isnil(L, 4)) {
		const char *in = lp_archive_path(a);
		size_t n = strlen(in);
		lua_pushfstring(L, "%s.html", lua_pushlstring(L, in, n > 3 && strcmp(in + n - 3,
								   ".h5") == 0 ? n - 3 : n));
		lua_replace(L, 4);
		lua_settop(L, 4);
	}
	path = luaL_checkstring(L, 4);
	if (lp_report_write(lpl_ctx(L), a, path, &o))
		return lpl_fail(L, lpl_ctx(L));
	lua_pushvalue(L, 4);
	return 1;
}
