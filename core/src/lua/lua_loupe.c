/* lua_loupe.c — the `loupe` module: context, seed, device info, plugins. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lpl.h"
#include "loupe/lock.h"

#ifndef LOUPE_LUA_DIR
#define LOUPE_LUA_DIR ""
#endif

#define OWNED_CTX "loupe.ctx.owned"

static void log_stderr(void *user, int level, const char *msg)
{
	(void)user;
	const char *q = getenv("LOUPE_QUIET");
	if (level >= LP_LOG_INFO && !(q && *q && strcmp(q, "0") != 0))
		fprintf(stderr, "loupe: %s\n", msg);
}

static int ctx_gc(lua_State *L)
{
	lp_ctx **box = luaL_checkudata(L, 1, OWNED_CTX);
	lp_ctx_free(*box);
	*box = NULL;
	return 0;
}

lp_ctx *lpl_ctx(lua_State *L)
{
	lp_ctx *ctx;

	if (lua_getfield(L, LUA_REGISTRYINDEX, LPL_BORROWED_CTX) == LUA_TLIGHTUSERDATA) {
		ctx = lua_touserdata(L, -1);
		lua_pop(L, 1);
		return ctx;
	}
	lua_pop(L, 1);
	if (lua_getfield(L, LUA_REGISTRYINDEX, OWNED_CTX) == LUA_TUSERDATA) {
		ctx = *(lp_ctx **)lua_touserdata(L, -1);
		lua_pop(L, 1);
		return ctx;
	}
	lua_pop(L, 1);
	lp_ctx **box = lua_newuserdatauv(L, sizeof(*box), 0);
	*box = NULL;
	if (luaL_newmetatable(L, OWNED_CTX)) {
		lua_pushcfunction(L, ctx_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	if (lp_ctx_new(box) != LP_OK)
		luaL_error(L, "loupe: out of memory");
	lp_ctx_set_log(*box, log_stderr, NULL);
	lua_setfield(L, LUA_REGISTRYINDEX, OWNED_CTX);
	return *box;
}

int lpl_fail(lua_State *L, lp_ctx *ctx)
{
	return luaL_error(L, "%s", lp_ctx_errmsg(ctx));
}

static int l_seed(lua_State *L)
{
	int ok = 0;
	lua_Integer s = lua_type(L, 1) == LUA_TNUMBER ? lua_tointegerx(L, 1, &ok) : 0;

	if (!ok || s < 0)
		return luaL_error(L, "loupe.seed: the seed must be an integer 0 .. 2^63-1, not %s",
				  luaL_tolstring(L, 1, NULL));
	lp_ctx_seed(lpl_ctx(L), (uint64_t)s);
	return 0;
}

static int l_get_seed(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)lp_ctx_get_seed(lpl_ctx(L)));
	return 1;
}

static void set_int(lua_State *L, const char *k, uint64_t v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

static int l_device(lua_State *L)
{
	lp_ctx *ctx = lpl_ctx(L);
	lp_device_info d;

	if (lp_device_get_info(ctx, &d))
		return lpl_fail(L, ctx);
	lua_createtable(L, 0, 16);
	lua_pushstring(L, d.name);
	lua_setfield(L, -2, "name");
	lua_pushstring(L, d.driver);
	lua_setfield(L, -2, "driver");
	lua_pushstring(L, d.type);
	lua_setfield(L, -2, "type");
	set_int(L, "index", d.index);
	set_int(L, "max_storage_buffer_range", d.max_storage_buffer_range);
	set_int(L, "max_alloc_size", d.max_alloc_size);
	set_int(L, "max_push_constants", d.max_push_constants);
	set_int(L, "max_workgroup_invocations", d.max_workgroup_invocations);
	set_int(L, "max_shared_memory", d.max_shared_memory);
	set_int(L, "subgroup_size", d.subgroup_size);
	return 1;
}

/* Keep the C search path in step with the Lua field loupe.plugin_path (string or list). */
int lpl_sync_plugin_path(lua_State *L)
{
	lp_ctx *ctx = lpl_ctx(L);
	int t;

	lua_getfield(L, lua_upvalueindex(1), "plugin_path");
	t = lua_gettop(L);
	if (lua_istable(L, t)) {
		lua_Integer n = luaL_len(L, t);
		luaL_checkstack(L, (int)(2 * n + 1), "loupe.plugin_path");
		lua_pushliteral(L, "");
		for (lua_Integer i = 1; i <= n; i++) {
			if (i > 1)
				lua_pushliteral(L, ":");
			if (lua_geti(L, t, i) != LUA_TSTRING)
				return luaL_error(L, "loupe.plugin_path[%d] is not a string", (int)i);
		}
		lua_concat(L, lua_gettop(L) - t);
		lua_replace(L, t);
	} else if (!lua_isnil(L, t) && lua_type(L, t) != LUA_TSTRING) {
		return luaL_error(L, "loupe.plugin_path must be a string or a list of strings");
	}
	if (lp_plugin_set_user_path(ctx, lua_tostring(L, t)))
		return lpl_fail(L, ctx);
	lua_pop(L, 1);
	return 0;
}

typedef struct scan_state {
	lua_State *L;
	lua_Integer n;
} scan_state;

static void push_spec(lua_State *L, const lp_plugin *p)
{
	lua_newtable(L);
	for (int i = 0; p->params && p->params[i].name; i++) {
		const lp_param_spec *s = &p->params[i];
		lua_createtable(L, 0, 4);
		lua_pushstring(L, s->name);
		lua_setfield(L, -2, "name");
		lua_pushstring(L, lp_param_type_name(s->type));
		lua_setfield(L, -2, "type");
		if (s->def) {
			lua_pushstring(L, s->def);
			lua_setfield(L, -2, "default");
		}
		lua_pushboolean(L, s->def == NULL);
		lua_setfield(L, -2, "required");
		lua_pushstring(L, s->help);
		lua_setfield(L, -2, "help");
		lua_rawseti(L, -2, i + 1);
	}
}

static void on_plugin(void *user, const char *path, const lp_plugin *p, const char *error)
{
	scan_state *st = user;
	lua_State *L = st->L;

	lua_createtable(L, 0, 7);
	lua_pushstring(L, path);
	lua_setfield(L, -2, "path");
	if (p) {
		lua_pushstring(L, p->name);
		lua_setfield(L, -2, "name");
		lua_pushstring(L, lp_plugin_kind_name((int)p->kind));
		lua_setfield(L, -2, "kind");
		lua_pushstring(L, p->version);
		lua_setfield(L, -2, "version");
		lua_pushstring(L, p->summary);
		lua_setfield(L, -2, "summary");
		push_spec(L, p);
		lua_setfield(L, -2, "params");
	} else {
		lua_pushstring(L, error);
		lua_setfield(L, -2, "error");
	}
	lua_rawseti(L, -2, ++st->n);
}

/* loupe.plugins() -> list of { path, name, kind, version, summary, params } or { path, error } */
static int l_plugins(lua_State *L)
{
	scan_state st = { L, 0 };

	lpl_sync_plugin_path(L);
	lua_newtable(L);
	lp_plugin_scan(lpl_ctx(L), on_plugin, &st);
	return 1;
}

static int l_plugin_dirs(lua_State *L)
{
	const char *const *dirs;
	size_t n;

	lpl_sync_plugin_path(L);
	n = lp_plugin_dirs(lpl_ctx(L), &dirs);
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_pushstring(L, dirs[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

/* loupe.profile() -> list of { kernel, ms, groups } for the last submit (LOUPE_PROFILE=1). */
static int l_profile(lua_State *L)
{
	const lp_profile_entry *e;
	size_t n = lp_profile_get(lpl_ctx(L), &e);

	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_createtable(L, 0, 3);
		lua_pushstring(L, e[i].kernel);
		lua_setfield(L, -2, "kernel");
		lua_pushnumber(L, e[i].ms);
		lua_setfield(L, -2, "ms");
		lua_createtable(L, 3, 0);
		for (int j = 0; j < 3; j++) {
			lua_pushinteger(L, e[i].groups[j]);
			lua_rawseti(L, -2, j + 1);
		}
		lua_setfield(L, -2, "groups");
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

/* loupe.now() -> seconds on a monotonic clock (for timing in scripts and benchmarks) */
static int l_now(lua_State *L)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	lua_pushnumber(L, (double)t.tv_sec + 1e-9 * (double)t.tv_nsec);
	return 1;
}

static int l_set_profile(lua_State *L)
{
	lp_ctx_set_profile(lpl_ctx(L), lua_toboolean(L, 1));
	return 0;
}

/* SIGINT while training: the handler only sets a flag; loupe.train polls it at each step
 * boundary, checkpoints, closes the archive and stops. A second Ctrl-C kills as usual. */
static volatile sig_atomic_t interrupted;
static struct sigaction old_int;
static int catching;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
	sigaction(SIGINT, &old_int, NULL); /* the next one is not caught */
}

/* loupe.catch_interrupt(on): start (true) or stop (false) catching Ctrl-C */
static int l_catch_interrupt(lua_State *L)
{
	int on = lua_toboolean(L, 1);

	if (on && !catching) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_sigint;
		sigemptyset(&sa.sa_mask);
		interrupted = 0;
		if (sigaction(SIGINT, &sa, &old_int) == 0)
			catching = 1;
	} else if (!on && catching) {
		if (!interrupted)
			sigaction(SIGINT, &old_int, NULL);
		catching = 0;
	}
	return 0;
}

static int l_interrupted(lua_State *L)
{
	lua_pushboolean(L, interrupted != 0);
	return 1;
}

/* loupe.train, predict, evaluate, crossval_predict live in core/lua/loupe/train.lua, loaded
 * on first use (by then require "loupe" is done, so train.lua can require it). */
static int module_index(lua_State *L)
{
	static const char *const lazy[] = { "train", "predict", "evaluate", "crossval_predict",
					    NULL };
	const char *k = lua_tostring(L, 2);

	for (int i = 0; k && lazy[i]; i++)
		if (strcmp(k, lazy[i]) == 0) {
			lua_getglobal(L, "require");
			lua_pushstring(L, "loupe.train");
			lua_call(L, 1, 1);
			lua_getfield(L, -1, k);
			return 1;
		}
	return 0;
}

/* loupe.listdir(path) -> sorted names (no dot files), or nil, message */
static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int l_listdir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	DIR *d = opendir(path);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (!d) {
		lua_pushnil(L);
		lua_pushfstring(L, "%s: %s", path, strerror(errno));
		return 2;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			char **p = realloc(names, cap * sizeof(*p));
			if (!p)
				break;
			names = p;
		}
		if (!(names[n] = strdup(e->d_name)))
			break;
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_pushstring(L, names[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
		free(names[i]);
	}
	free(names);
	return 1;
}

/* loupe.mkdir(path): create it and its parents; fine if it exists as a directory */
static int l_mkdir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	char buf[4096];
	struct stat st;

	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(buf, 0777);
			*p = '/';
		}
	if (mkdir(buf, 0777) != 0) {
		int e = errno;
		if (e == EEXIST && stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
		return luaL_error(L, "mkdir %s: %s", path,
				  e == EEXIST ? "it exists and is not a directory" : strerror(e));
	}
	return 0;
}

/* loupe.rng_state() -> text; loupe.set_rng_state(text): the context RNG, for checkpoints */
static int l_rng_state(lua_State *L)
{
	char buf[LP_RNG_STATE_LEN];
	lp_rng_state(lpl_ctx(L), buf);
	lua_pushstring(L, buf);
	return 1;
}

static int l_set_rng_state(lua_State *L)
{
	if (lp_rng_set_state(lpl_ctx(L), luaL_checkstring(L, 1)))
		return lpl_fail(L, lpl_ctx(L));
	return 0;
}

/* loupe.lock(path) -> a held lock (loupe/lock.h): lock:release(), or the garbage collector. */
#define LPL_LOCK "loupe.Lock"

static int l_lock(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	lp_lock **box = lua_newuserdatauv(L, sizeof(*box), 0);

	*box = NULL;
	luaL_setmetatable(L, LPL_LOCK);
	if (lp_lock_acquire(lpl_ctx(L), path, box))
		return lpl_fail(L, lpl_ctx(L));
	return 1;
}

static int lock_release(lua_State *L)
{
	lp_lock **box = luaL_checkudata(L, 1, LPL_LOCK);

	lp_lock_release(*box);
	*box = NULL;
	return 0;
}

static void open_lock(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{ "__gc", lock_release }, { "__close", lock_release }, { NULL, NULL },
	};

	luaL_newmetatable(L, LPL_LOCK);
	luaL_setfuncs(L, meta, 0);
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, lock_release);
	lua_setfield(L, -2, "release");
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}

/* loupe.isatty(fd) -> whether the descriptor is a terminal (progress bars) */
static int l_isatty(lua_State *L)
{
	lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
	return 1;
}

int luaopen_loupe(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{ "seed", l_seed }, { "get_seed", l_get_seed }, { "device", l_device },
		{ "plugins", l_plugins }, { "plugin_dirs", l_plugin_dirs },
		{ "profile", l_profile }, { "set_profile", l_set_profile }, { "now", l_now },
		{ "catch_interrupt", l_catch_interrupt }, { "listdir", l_listdir }, { "isatty", l_isatty },
		{ "rng_state", l_rng_state }, { "set_rng_state", l_set_rng_state },
		{ "mkdir", l_mkdir }, { "interrupted", l_interrupted }, { "lock", l_lock },
		{ "analyze", lpl_analyze },
		{ "report", lpl_report },
		{ NULL, NULL },
	};

	lpl_ctx(L);
	luaL_newlibtable(L, fns);
	lua_pushvalue(L, -1);
	luaL_setfuncs(L, fns, 1); /* upvalue 1: the module table (for loupe.plugin_path) */
	lua_pushstring(L, LOUPE_VERSION);
	lua_setfield(L, -2, "version");
	lua_pushstring(L, LOUPE_LUA_DIR);
	lua_setfield(L, -2, "lua_dir");
	lpl_open_tensor(L);
	lpl_open_layer(L);
	lpl_open_archive(L);
	lpl_open_net(L);
	lpl_open_dataset(L);
	lpl_open_predict(L);
	open_lock(L);
	/* stock lua5.4 finds loupe's Lua half (models, train) without LUA_PATH */
	if (lua_getglobal(L, "package") == LUA_TTABLE) {
		lua_getfield(L, -1, "path");
		const char *path = lua_tostring(L, -1);
		if (path && !strstr(path, LOUPE_LUA_DIR "/?.lua")) {
			lua_pushfstring(L, "%s;%s/?.lua;%s/?/init.lua", path, LOUPE_LUA_DIR,
					LOUPE_LUA_DIR);
			lua_setfield(L, -3, "path");
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, module_index);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
	return 1;
}
