/* main.c — the `loupe` command line: run, plugins, info. The only code that exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lualib.h>

#include "app.h"
#include "lua/lpl.h"

#ifndef LOUPE_LUA_DIR
#define LOUPE_LUA_DIR ""
#endif

static const char usage[] =
	"usage: loupe [--version] [--help] COMMAND [ARGS]\n"
	"\n"
	"Look at an image dataset through a CNN's eyes: train on Vulkan, relate predictions to\n"
	"the images, review them, and keep every result in one HDF5 archive.\n"
	"\n"
	"commands:\n"
	"  run SCRIPT.lua [ARGS...]  run an experiment script (it sees ARGS in `arg`)\n"
	"  plugins                   list the plugins found, with kind, version and parameters\n"
	"  dataset NAME [k=v ...]    a dataset's classes and counts per split; --scan, --write\n"
	"  compare A.h5 B.h5         what differs between two runs: provenance, final metrics\n"
	"  analyze RUN.h5 [NAME ...] run analyses (label issues, confusion, ...) into the archive\n"
	"  report RUN.h5 [-o OUT]    one self-contained HTML page: curves, heatmap, findings, images\n"
	"  review RUN.h5             go through the images in a browser and decide; --blind\n"
	"  info                      the Vulkan device, its limits, and the plugin directories\n"
	"\n"
	"`loupe COMMAND --help` describes each command.\n"
	"environment: LOUPE_DEVICE (index or name), LOUPE_PLUGIN_PATH (dir:dir), LOUPE_PROFILE=1,\n"
	"LOUPE_VALIDATION=1 (Khronos validation layer), LOUPE_CACHE_DIR (pipeline cache), NO_COLOR\n";

static const char usage_run[] =
	"usage: loupe run [--quiet] [--profile] SCRIPT.lua [ARGS...]\n"
	"\n"
	"Runs a Lua experiment script. `require \"loupe\"` gives the loupe module; the script sees\n"
	"its own path in arg[0] and ARGS in arg[1..]. A script error prints the message and a\n"
	"traceback with file:line and exits with status 1.\n"
	"  --quiet    no progress or log lines on stderr\n"
	"  --profile  per-dispatch GPU timings (same as LOUPE_PROFILE=1)\n";

static const char usage_plugins[] =
	"usage: loupe plugins\n"
	"\n"
	"Lists every plugin on the search path (the build's plugin directory, LOUPE_PLUGIN_PATH,\n"
	"then loupe.plugin_path set by a script) with kind, version, summary and its declared\n"
	"parameters; files the loader refuses are listed with the reason.\n";

static const char usage_info[] =
	"usage: loupe info\n"
	"\n"
	"Prints the Vulkan device loupe would use (LOUPE_DEVICE picks another), its driver and the\n"
	"limits that matter, every device present, and the plugin directories.\n";

static int quiet;

static void log_stderr(void *user, int level, const char *msg)
{
	(void)user;
	if (!quiet && level >= LP_LOG_INFO)
		fprintf(stderr, "loupe: %s\n", msg);
}

static int wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

/* Lua's message handler: the error plus a traceback with file:line. */
static int traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);

	if (!msg) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
			return 1;
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	}
	if (strcmp(msg, "interrupted") == 0) /* Ctrl-C, handled: loupe.train said what to do */
		return 1;
	luaL_traceback(L, L, msg, 1);
	return 1;
}

static void set_paths(lua_State *L)
{
	lua_getglobal(L, "package");
	lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", LOUPE_LUA_DIR, LOUPE_LUA_DIR);
	lua_getfield(L, -2, "path");
	lua_concat(L, 2);
	lua_setfield(L, -2, "path");
	lua_getfield(L, -1, "preload");
	lua_pushcfunction(L, luaopen_loupe);
	lua_setfield(L, -2, "loupe");
	lua_pop(L, 2);
}

static int run_script(lp_ctx *ctx, int argc, char **argv, const char *cmdline)
{
	lua_State *L = luaL_newstate();
	int status;

	if (!L) {
		fprintf(stderr, "loupe: cannot create a Lua state (out of memory)\n");
		return 1;
	}
	luaL_openlibs(L);
	lua_pushlightuserdata(L, ctx);
	lua_setfield(L, LUA_REGISTRYINDEX, LPL_BORROWED_CTX);
	lua_pushstring(L, cmdline);
	lua_setfield(L, LUA_REGISTRYINDEX, LPL_COMMAND);
	set_paths(L);
	lua_createtable(L, argc, 1);
	for (int i = 0; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i);
	}
	lua_setglobal(L, "arg");
	lua_pushcfunction(L, traceback);
	status = luaL_loadfile(L, argv[0]);
	if (status == LUA_OK) {
		for (int i = 1; i < argc; i++)
			lua_pushstring(L, argv[i]);
		status = lua_pcall(L, argc - 1, 0, 1);
	}
	int interrupted = status != LUA_OK && lua_tostring(L, -1) &&
			  strcmp(lua_tostring(L, -1), "interrupted") == 0;
	if (status != LUA_OK)
		fprintf(stderr, "loupe: %s\n", lua_tostring(L, -1));
	lua_close(L); /* collects tensors, layers and archives (closing them) */
	return status == LUA_OK ? 0 : interrupted ? 130 : 1;
}

static int cmd_run(lp_ctx *ctx, int argc, char **argv)
{
	int i = 0;
	char cmdline[8192] = "loupe run";
	size_t len = strlen(cmdline);

	for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (strcmp(argv[i], "--quiet") == 0)
			quiet = 1;
		else if (strcmp(argv[i], "--profile") == 0)
			lp_ctx_set_profile(ctx, 1);
		else {
			fprintf(stderr, "loupe run: unknown option %s\n%s", argv[i], usage_run);
			return 2;
		}
	}
	if (i == argc) {
		fprintf(stderr, "loupe run: missing SCRIPT.lua\n%s", usage_run);
		return 2;
	}
	if (quiet)
		setenv("LOUPE_QUIET", "1", 1);
	for (int j = 0; j < argc && len < sizeof cmdline; j++)
		len += snprintf(cmdline + len, sizeof cmdline - len, " %s", argv[j]);
	return run_script(ctx, argc - i, argv + i, cmdline);
}

static void print_plugin(void *user, const char *path, const lp_plugin *p, const char *error)
{
	int *refused = user;

	if (!p) {
		fprintf(stderr, "refused %s\n    %s\n", path, error);
		++*refused;
		return;
	}
	printf("%-12s %-9s %-8s %s\n", p->name, lp_plugin_kind_name((int)p->kind), p->version,
	       p->summary);
	printf("    %s\n", path);
	for (int i = 0; p->params && p->params[i].name; i++) {
		const lp_param_spec *s = &p->params[i];
		printf("    %-12s %-8s %-14s %s\n", s->name, lp_param_type_name(s->type),
		       s->def ? s->def : "(required)", s->help);
	}
}

static int cmd_plugins(lp_ctx *ctx)
{
	int refused = 0;

	lp_plugin_scan(ctx, print_plugin, &refused);
	if (refused)
		fprintf(stderr, "loupe plugins: %d file(s) refused\n", refused);
	return 0;
}

static void print_device(void *user, const lp_device_info *d)
{
	(void)user;
	printf("  %u: %s (%s) %s\n", d->index, d->name, d->type, d->driver);
}

static int cmd_info(lp_ctx *ctx)
{
	lp_device_info d;
	const char *const *dirs;

	if (lp_device_get_info(ctx, &d)) {
		fprintf(stderr, "loupe info: %s\n", lp_ctx_errmsg(ctx));
		return 1;
	}
	printf("loupe %s\n", LOUPE_VERSION);
	printf("device %u: %s (%s)\n", d.index, d.name, d.type);
	printf("driver: %s\n", d.driver);
	printf("vulkan: %u.%u.%u\n", d.api_version >> 22, (d.api_version >> 12) & 0x3ff,
	       d.api_version & 0xfff);
	printf("limits:\n");
	printf("  maxStorageBufferRange        %llu bytes (%.1f MiB)\n",
	       (unsigned long long)d.max_storage_buffer_range,
	       (double)d.max_storage_buffer_range / (1 << 20));
	printf("  maxMemoryAllocationSize      %llu bytes\n", (unsigned long long)d.max_alloc_size);
	printf("  device-local memory          %llu bytes\n",
	       (unsigned long long)d.device_local_bytes);
	printf("  maxPushConstantsSize         %u\n", d.max_push_constants);
	printf("  maxComputeWorkGroupInvocations %u\n", d.max_workgroup_invocations);
	printf("  maxComputeWorkGroupSize      %u x %u x %u\n", d.max_workgroup_size[0],
	       d.max_workgroup_size[1], d.max_workgroup_size[2]);
	printf("  maxComputeWorkGroupCount     %u x %u x %u\n", d.max_workgroup_count[0],
	       d.max_workgroup_count[1], d.max_workgroup_count[2]);
	printf("  maxComputeSharedMemorySize   %u\n", d.max_shared_memory);
	printf("  subgroupSize                 %u\n", d.subgroup_size);
	printf("  minStorageBufferOffsetAlignment %llu\n",
	       (unsigned long long)d.min_storage_offset_align);
	printf("  timestamps                   %s\n", d.timestamps ? "yes" : "no");
	printf("devices:\n");
	lp_device_list(ctx, print_device, NULL);
	size_t n = lp_plugin_dirs(ctx, &dirs);
	printf("plugin directories:\n");
	for (size_t i = 0; i < n; i++)
		printf("  %s\n", dirs[i]);
	return 0;
}

/* With LOUPE_VALIDATION=1 any message from the validation layer fails the command. */
static int finish(lp_ctx *ctx, int rc)
{
	lp_device_close(ctx); /* leaked Vulkan objects are reported here */
	uint64_t n = lp_device_validation_count(ctx);
	lp_ctx_free(ctx);
	if (n) {
		fprintf(stderr, "loupe: the Vulkan validation layer reported %llu message(s)\n",
			(unsigned long long)n);
		return rc ? rc : 3;
	}
	return rc;
}

int main(int argc, char **argv)
{
	lp_ctx *ctx;

	if (argc < 2 || (argv[1][0] == '-' && wants_help(2, argv))) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("loupe %s\n", LOUPE_VERSION);
		return 0;
	}
	const char *cmd = argv[1];
	const char *help = strcmp(cmd, "run") == 0       ? usage_run
			   : strcmp(cmd, "plugins") == 0 ? usage_plugins
			   : strcmp(cmd, "info") == 0    ? usage_info
			   : strcmp(cmd, "dataset") == 0 ? loupe_usage_dataset
			   : strcmp(cmd, "compare") == 0 ? loupe_usage_compare
			   : strcmp(cmd, "analyze") == 0 ? loupe_usage_analyze
			   : strcmp(cmd, "report") == 0  ? loupe_usage_report
			   : strcmp(cmd, "review") == 0  ? loupe_usage_review
							 : NULL;
	if (!help) {
		fprintf(stderr, "loupe: unknown command '%s'\n\n%s", cmd, usage);
		return 2;
	}
	/* `run` passes everything after the script to it; --help only counts before it */
	int opts = argc - 2;
	if (strcmp(cmd, "run") == 0)
		for (opts = 0; opts < argc - 2 && argv[2 + opts][0] == '-'; opts++)
			;
	if (wants_help(opts, argv + 2)) {
		fputs(help, stdout);
		return 0;
	}
	if (strcmp(cmd, "run") != 0 && strcmp(cmd, "dataset") != 0 && strcmp(cmd, "compare") != 0 &&
	    strcmp(cmd, "analyze") != 0 && strcmp(cmd, "report") != 0 && strcmp(cmd, "review") != 0 && argc > 2) {
		fprintf(stderr, "loupe %s: unexpected argument '%s'\n%s", cmd, argv[2], help);
		return 2;
	}
	if (lp_ctx_new(&ctx) != LP_OK) {
		fprintf(stderr, "loupe: out of memory\n");
		return 1;
	}
	lp_ctx_set_log(ctx, log_stderr, NULL);
	if (strcmp(cmd, "run") == 0)
		return finish(ctx, cmd_run(ctx, argc - 2, argv + 2));
	if (strcmp(cmd, "plugins") == 0)
		return finish(ctx, cmd_plugins(ctx));
	if (strcmp(cmd, "compare") == 0)
		return finish(ctx, loupe_cmd_compare(ctx, argc - 2, argv + 2));
	if (strcmp(cmd, "analyze") == 0)
		return finish(ctx, loupe_cmd_analyze(ctx, argc - 2, argv + 2));
	if (strcmp(cmd, "report") == 0)
		return finish(ctx, loupe_cmd_report(ctx, argc - 2, argv + 2));
	if (strcmp(cmd, "review") == 0)
		return finish(ctx, loupe_cmd_review(ctx, argc - 2, argv + 2));
	if (strcmp(cmd, "dataset") == 0) {
		char cmdline[4096] = "loupe";
		size_t len = strlen(cmdline);
		for (int j = 1; j < argc && len < sizeof cmdline; j++)
			len += snprintf(cmdline + len, sizeof cmdline - len, " %s", argv[j]);
		return finish(ctx, loupe_cmd_dataset(ctx, argc - 2, argv + 2, cmdline));
	}
	return finish(ctx, cmd_info(ctx));
}
