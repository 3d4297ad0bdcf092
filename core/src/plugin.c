/* plugin.c — find, load and validate plugin shared objects (dlopen). */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "loupe/plugins.h"

#ifndef LOUPE_BUILD_PLUGIN_DIR
#define LOUPE_BUILD_PLUGIN_DIR ""
#endif

typedef struct loaded {
	char *path; /* realpath */
	void *handle;
	lp_plugin *desc; /* the core's copy, at this header's size (see normalise) */
	char sha256[65];
} loaded;

struct lp_plugin_set {
	loaded *items;
	lp_plugin_record *records;
	size_t n, cap;
	char **dirs;
	size_t ndirs;
	char *user_path;
};

static void free_desc(lp_plugin *d);

static struct lp_plugin_set *set_of(lp_ctx *ctx)
{
	if (!ctx->plugins)
		ctx->plugins = calloc(1, sizeof(*ctx->plugins));
	return ctx->plugins;
}

static void free_dirs(struct lp_plugin_set *s)
{
	for (size_t i = 0; i < s->ndirs; i++)
		free(s->dirs[i]);
	free(s->dirs);
	s->dirs = NULL;
	s->ndirs = 0;
}

void lpi_plugins_free(lp_ctx *ctx)
{
	struct lp_plugin_set *s = ctx->plugins;

	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		dlclose(s->items[i].handle);
		free(s->items[i].path);
		free_desc(s->items[i].desc);
	}
	free(s->items);
	free(s->records);
	free_dirs(s);
	free(s->user_path);
	free(s);
	ctx->plugins = NULL;
}

static int add_list(struct lp_plugin_set *s, const char *list)
{
	char *copy, *save = NULL;

	if (!list || !*list)
		return 0;
	if (!(copy = strdup(list)))
		return -1;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char **dirs = realloc(s->dirs, (s->ndirs + 1) * sizeof(*dirs));
		if (!dirs || !(dirs[s->ndirs] = strdup(d))) {
			if (dirs)
				s->dirs = dirs;
			free(copy);
			return -1;
		}
		s->dirs = dirs;
		s->ndirs++;
	}
	free(copy);
	return 0;
}

size_t lp_plugin_dirs(lp_ctx *ctx, const char *const **out)
{
	struct lp_plugin_set *s = set_of(ctx);

	*out = NULL;
	if (!s)
		return 0;
	free_dirs(s);
	if (add_list(s, LOUPE_BUILD_PLUGIN_DIR) || add_list(s, getenv("LOUPE_PLUGIN_PATH")) ||
	    add_list(s, s->user_path))
		return 0;
	*out = (const char *const *)s->dirs;
	return s->ndirs;
}

int lp_plugin_set_user_path(lp_ctx *ctx, const char *path)
{
	struct lp_plugin_set *s = set_of(ctx);
	char *copy = path ? strdup(path) : NULL;

	if (!s || (path && !copy))
		return lp_error(ctx, LP_ERR_NOMEM, "plugin: out of memory");
	free(s->user_path);
	s->user_path = copy;
	return LP_OK;
}

/* Anyone who can write the directory or the file could plant code that we would run. */
static int check_perms(lp_ctx *ctx, const char *path)
{
	char dir[PATH_MAX];
	struct stat st;
	const char *slash = strrchr(path, '/');

	snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
	if (!dir[0])
		snprintf(dir, sizeof dir, "/");
	if (stat(dir, &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)))
		return lp_error(ctx, LP_ERR_PLUGIN, "plugin: refusing %s: its directory %s is "
				"group- or world-writable (mode %03o); run chmod go-w %s", path, dir,
				(unsigned)(st.st_mode & 0777), dir);
	if (stat(path, &st) != 0)
		return lp_error(ctx, LP_ERR_IO, "plugin: cannot open %s: %s", path, strerror(errno));
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return lp_error(ctx, LP_ERR_PLUGIN, "plugin: refusing %s: the file is group- or "
				"world-writable (mode %03o)", path, (unsigned)(st.st_mode & 0777));
	return LP_OK;
}

static int check_elf(lp_ctx *ctx, const char *path)
{
	unsigned char magic[4] = { 0 };
	FILE *f = fopen(path, "rb");

	if (!f)
		return lp_error(ctx, LP_ERR_IO, "plugin: cannot open %s: %s", path, strerror(errno));
	size_t n = fread(magic, 1, 4, f);
	fclose(f);
	if (n != 4 || memcmp(magic, "\x7f" "ELF", 4) != 0)
		return lp_error(ctx, LP_ERR_PLUGIN, "plugin: %s is not a shared object (no ELF "
				"header; expected a .so built against loupe/plugin.h)", path);
	return LP_OK;
}

static void file_stem(const char *path, char *stem, size_t size)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (snprintf(stem, size, "%s", base) >= (int)size)
		stem[size - 1] = 0;
	char *dot = strstr(stem, ".so");
	if (dot && dot[3] == 0)
		*dot = 0;
}

extern int lpi_check_params(lp_ctx *ctx, const char *path, const lp_plugin *p);

#define VT_MIN(T, last) (offsetof(T, last) + sizeof(((T *)0)->last))
/* ABI 1's descriptor ended at vtable; its param spec and weight declaration are today's. */
#define DESC_V1_SIZE VT_MIN(lp_plugin, vtable)
#define PARAM_V1_SIZE sizeof(lp_param_spec)
#define WEIGHT_V1_SIZE sizeof(lp_weight_decl)

static int check_layer_vtable(lp_ctx *ctx, const char *path, const void *v)
{
	const lp_layer_vtable *vt = v;
	const char *missing = !vt->init ? "init" : !vt->shape ? "shape"
			      : !vt->forward ? "forward" : !vt->backward ? "backward" : NULL;

	if (missing)
		return lp_error(ctx, LP_ERR_PLUGIN, "plugin: %s: required layer vtable slot '%s' is "
				"NULL", path, missing);
	return LP_OK;
}

static int check_dataset_vtable(lp_ctx *ctx, const char *path, const void *v)
{
	const lp_dataset_vtable *vt = v;

	if (!vt->open)
		return lp_error(ctx, LP_ERR_PLUGIN, "plugin: %s: required dataset vtable slot "
				"'open' is NULL", path);
	return LP_OK;
}

static int check_analysis_vtable(lp_ctx *ctx, const char *path, const void *v)
{
	const lp_analysis_vtable *vt = v;

	if (!vt->run)
		return lp_error(ctx, LP_ERR_PLUGIN, "plugin: %s: required analysis vtable slot "
				"'run' is NULL", path);
	return LP_OK;
}

/* The kinds this loupe loads: each vtable's smallest accepted size (up to its last required or
 * first-release slot), its full size here, and the check of its required slots. */
static const struct kind {
	int kind;
	const char *name;
	size_t min_vt, full_vt;
	int (*check)(lp_ctx *ctx, const char *path, const void *vt);
} kinds[] = {
	{ LP_KIND_LAYER, "layer", VT_MIN(lp_layer_vtable, destroy), sizeof(lp_layer_vtable),
	  check_layer_vtable },
	{ LP_KIND_DATASET, "dataset", VT_MIN(lp_dataset_vtable, close),
	  sizeof(lp_dataset_vtable), check_dataset_vtable },
	{ LP_KIND_ANALYSIS, "analysis", VT_MIN(lp_analysis_vtable, run),
	  sizeof(lp_analysis_vtable), check_analysis_vtable },
};

static const struct kind *kind_of(uint32_t kind)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if ((uint32_t)kinds[i].kind == kind)
			return &kinds[i];
	return NULL;
}

const char *lp_plugin_kind_name(int kind)
{
	const struct kind *k = kind_of((uint32_t)kind);
	return k ? k->name : "unknown";
}

static void free_desc(lp_plugin *d)
{
	if (!d)
		return;
	free((void *)d->vtable);
	free((void *)d->params);
	free(d);
}

/* The descriptor as the plugin built it, checked for what can be read of it at all. */
static int check_header(lp_ctx *ctx, const char *path, const lp_plugin *p)
{
	if (!p)
		return lp_error(ctx, LP_ERR_PLUGIN, "plugin: %s: lp_plugin_init returned NULL (the "
				"plugin refused this host, which speaks ABI %u)", path, LP_ABI_VERSION);
	if (p->abi_version < LP_ABI_MIN_VERSION || p->abi_version > LP_ABI_VERSION)
		return lp_error(ctx, LP_ERR_ABI, "plugin: %s was built for plugin ABI %u; this "
				"loupe loads ABI %u to %u (rebuild the plugin)", path, p->abi_version,
				LP_ABI_MIN_VERSION, LP_ABI_VERSION);
	if (p->size < DESC_V1_SIZE)
		return lp_error(ctx, LP_ERR_ABI, "plugin: %s: descriptor is %u bytes; ABI %u needs "
				"at least %zu", path, p->size, p->abi_version, DESC_V1_SIZE);
	const struct kind *k = kind_of(p->kind);
	if (!k)
		return lp_error(ctx, LP_ERR_PLUGIN, "plugin: %s: kind %u is not one loupe %s loads "
				"(layer, dataset, analysis)", path, p->kind, LOUPE_VERSION);
	if (!p->vtable)
		return lp_error(ctx, LP_ERR_PLUGIN, "plugin: %s: required descriptor slot 'vtable' "
				"is NULL", path);
	uint32_t vsize = *(const uint32_t *)p->vtable;
	if (vsize < k->min_vt)
		return lp_error(ctx, LP_ERR_ABI, "plugin: %s: %s vtable is %u bytes; this loupe "
				"needs at least %zu", path, k->name, vsize, k->min_vt);
	return LP_OK;
}

/* The core's copy of a checked descriptor: this header's layout, zero beyond what the plugin
 * had, its params and vtable copied the same way; the plugin's own element sizes honoured. */
static int normalise(lp_ctx *ctx, const char *path, const lp_plugin *p, lp_plugin **out)
{
	const struct kind *k = kind_of(p->kind);
	lp_plugin *d = calloc(1, sizeof(*d));
	uint32_t vsize = *(const uint32_t *)p->vtable;
	size_t n = 0, stride;
	void *vt;

	*out = NULL;
	if (!d)
		return lp_error(ctx, LP_ERR_NOMEM, "plugin: out of memory");
	memcpy(d, p, p->size < sizeof(*d) ? p->size : sizeof(*d));
	d->size = sizeof(*d);
	stride = d->param_size ? d->param_size : PARAM_V1_SIZE;
	if (!d->weight_decl_size)
		d->weight_decl_size = WEIGHT_V1_SIZE;
	if (stride < PARAM_V1_SIZE || d->weight_decl_size < WEIGHT_V1_SIZE) {
		int rc = lp_error(ctx, LP_ERR_ABI, "plugin: %s: element sizes %u (parameter) and "
				  "%u (weight) are smaller than ABI 1's %zu and %zu", path,
				  d->param_size, d->weight_decl_size, PARAM_V1_SIZE, WEIGHT_V1_SIZE);
		free(d);
		return rc;
	}
	const char *ps = (const char *)p->params;
	while (ps && ((const lp_param_spec *)(ps + n * stride))->name && n < 4096)
		n++;
	lp_param_spec *params = calloc(n + 1, sizeof(*params));
	vt = calloc(1, k->full_vt);
	d->params = params;
	d->vtable = vt;
	if (!params || !vt) {
		free_desc(d);
		return lp_error(ctx, LP_ERR_NOMEM, "plugin: out of memory");
	}
	for (size_t i = 0; i < n; i++)
		memcpy(&params[i], ps + i * stride, sizeof(*params) < stride ? sizeof(*params) : stride);
	d->param_size = sizeof(*params);
	memcpy(vt, p->vtable, vsize < k->full_vt ? vsize : k->full_vt);
	*out = d;
	return LP_OK;
}

/* Every check a descriptor must pass; messages name what the plugin says and what we expect. */
static int check_desc(lp_ctx *ctx, const char *path, const lp_plugin *p)
{
	char stem[256];
	const struct { const char *name; const void *v; } req[] = {
		{ "name", p->name }, { "version", p->version }, { "summary", p->summary },
	};

	for (size_t i = 0; i < sizeof req / sizeof req[0]; i++)
		if (!req[i].v)
			return lp_error(ctx, LP_ERR_PLUGIN, "plugin: %s: required descriptor slot "
					"'%s' is NULL", path, req[i].name);
	file_stem(path, stem, sizeof stem);
	if (strcmp(stem, p->name) != 0)
		return lp_error(ctx, LP_ERR_PLUGIN, "plugin: %s declares the name '%s' but its file "
				"stem is '%s'; they must match", path, p->name, stem);
	if (p->state_size > (1u << 30))
		return lp_error(ctx, LP_ERR_PLUGIN, "plugin: %s: state_size %zu is absurd", path,
				p->state_size);
	int rc = kind_of(p->kind)->check(ctx, path, p->vtable);
	return rc ? rc : lpi_check_params(ctx, path, p);
}

/* Call the plugin's init with the newest host table; an ABI 1 plugin checked the host's
 * version for equality, so it is asked again with a copy that says 1 (same functions). */
static const lp_plugin *call_init(lp_plugin_init_fn init)
{
	static lp_host v1;
	const lp_plugin *p = init(lpi_host());

	if (!p) {
		v1 = *lpi_host();
		v1.abi_version = 1;
		p = init(&v1);
	}
	return p;
}

static int remember(lp_ctx *ctx, struct lp_plugin_set *s, const loaded *l)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		loaded *items = realloc(s->items, cap * sizeof(*items));
		if (!items)
			return lp_error(ctx, LP_ERR_NOMEM, "plugin: out of memory");
		s->items = items;
		lp_plugin_record *rec = realloc(s->records, cap * sizeof(*rec));
		if (!rec)
			return lp_error(ctx, LP_ERR_NOMEM, "plugin: out of memory");
		s->records = rec;
		s->cap = cap;
	}
	s->items[s->n++] = *l;
	for (size_t i = 0; i < s->n; i++) /* items may have moved: rebuild the borrowed records */
		s->records[i] = (lp_plugin_record){ s->items[i].desc->name, s->items[i].desc->version,
						    s->items[i].path, s->items[i].sha256 };
	return LP_OK;
}

int lp_plugin_load(lp_ctx *ctx, const char *path, const lp_plugin **out)
{
	struct lp_plugin_set *s = set_of(ctx);
	loaded l = { 0 };
	char real[PATH_MAX];
	int rc;

	*out = NULL;
	if (!s)
		return lp_error(ctx, LP_ERR_NOMEM, "plugin: out of memory");
	if (!realpath(path, real))
		return lp_error(ctx, LP_ERR_IO, "plugin: cannot open %s: %s", path, strerror(errno));
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->items[i].path, real) == 0) {
			*out = s->items[i].desc;
			return LP_OK;
		}
	if ((rc = check_perms(ctx, real)) || (rc = check_elf(ctx, real)) ||
	    (rc = lpi_sha256_file(ctx, real, l.sha256)))
		return rc;
	dlerror();
	if (!(l.handle = dlopen(real, RTLD_NOW | RTLD_LOCAL))) {
		const char *why = dlerror();
		return lp_error(ctx, LP_ERR_PLUGIN, "plugin: %s: dlopen failed: %s", real,
				why ? why : "unknown reason");
	}
	lp_plugin_init_fn init;
	*(void **)&init = dlsym(l.handle, LP_PLUGIN_SYMBOL);
	if (!init) {
		rc = lp_error(ctx, LP_ERR_PLUGIN, "plugin: %s does not export %s (is it a loupe "
			      "plugin?)", real, LP_PLUGIN_SYMBOL);
		goto out_close;
	}
	const lp_plugin *built = call_init(init);
	if ((rc = check_header(ctx, real, built)) || (rc = normalise(ctx, real, built, &l.desc)))
		goto out_close;
	if ((rc = check_desc(ctx, real, l.desc)))
		goto out_close;
	if (!(l.path = strdup(real))) {
		rc = lp_error(ctx, LP_ERR_NOMEM, "plugin: out of memory");
		goto out_close;
	}
	if ((rc = remember(ctx, s, &l))) {
		free(l.path);
		goto out_close;
	}
	*out = l.desc;
	return LP_OK;
out_close:
	free_desc(l.desc);
	dlclose(l.handle);
	return rc;
}

/* "did you mean 'x'? " for the .so in dirs whose stem is nearest to name (at most 2 edits) */
static void nearest_name(const char *const *dirs, size_t n, const char *name, char *out,
			 size_t size)
{
	size_t best = 3;

	for (size_t i = 0; i < n; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;
		char stem[256];

		while (d && (e = readdir(d))) {
			size_t len = strlen(e->d_name), dist;
			if (len < 4 || strcmp(e->d_name + len - 3, ".so") != 0 || len - 3 >= sizeof stem)
				continue;
			snprintf(stem, sizeof stem, "%.*s", (int)(len - 3), e->d_name);
			if ((dist = lpi_edit_distance(name, stem)) < best) {
				best = dist;
				snprintf(out, size, "did you mean '%s'? ", stem);
			}
		}
		if (d)
			closedir(d);
	}
}

int lp_plugin_find(lp_ctx *ctx, const char *name, int kind, const lp_plugin **out)
{
	const char *const *dirs;
	size_t n = lp_plugin_dirs(ctx, &dirs);
	char path[PATH_MAX], searched[2048] = "";
	size_t len = 0;
	int rc;

	*out = NULL;
	if (!name || !*name || strchr(name, '/'))
		return lp_error(ctx, LP_ERR_ARG, "plugin: bad plugin name '%s'", name ? name : "");
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s.so", dirs[i], name);
		if (access(path, F_OK) == 0) {
			if ((rc = lp_plugin_load(ctx, path, out)))
				return rc;
			if (kind && (int)(*out)->kind != kind)
				return lp_error(ctx, LP_ERR_PLUGIN, "plugin: %s is a %s plugin, not a "
						"%s", path, lp_plugin_kind_name((int)(*out)->kind),
						lp_plugin_kind_name(kind));
			return LP_OK;
		}
		if (len < sizeof searched)
			len += snprintf(searched + len, sizeof searched - len, "%s%s", i ? ", " : "",
					dirs[i]);
	}
	char guess[300] = "";
	nearest_name(dirs, n, name, guess, sizeof guess);
	return lp_error(ctx, LP_ERR_NOTFOUND, "plugin: no %s plugin '%s' found (%ssearched: %s; "
			"see `loupe plugins`)", kind ? lp_plugin_kind_name(kind) : "", name, guess,
			n ? searched : "no directories");
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void scan_dir(lp_ctx *ctx, const char *dir,
		     void (*fn)(void *, const char *, const lp_plugin *, const char *), void *user)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, path[PATH_MAX];
	size_t n = 0;

	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 4 || strcmp(e->d_name + len - 3, ".so") != 0)
			continue;
		char **nn = realloc(names, (n + 1) * sizeof(*nn));
		if (!nn || !(nn[n] = strdup(e->d_name))) {
			names = nn ? nn : names;
			break;
		}
		names = nn;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		const lp_plugin *p;
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		int rc = lp_plugin_load(ctx, path, &p);
		fn(user, path, rc ? NULL : p, rc ? lp_ctx_errmsg(ctx) : NULL);
		free(names[i]);
	}
	free(names);
}

int lp_plugin_scan(lp_ctx *ctx, void (*fn)(void *user, const char *path, const lp_plugin *p,
					     const char *error), void *user)
{
	const char *const *dirs;
	size_t n = lp_plugin_dirs(ctx, &dirs);

	for (size_t i = 0; i < n; i++)
		scan_dir(ctx, dirs[i], fn, user);
	return LP_OK;
}

size_t lp_ctx_plugins(lp_ctx *ctx, const lp_plugin_record **out)
{
	*out = ctx->plugins ? ctx->plugins->records : NULL;
	return ctx->plugins ? ctx->plugins->n : 0;
}
