/* lua_dataset.c — loupe.Dataset, loupe.Split and loupe.Loader: datasets and batches from Lua.
 *
 * Item indices are 1-based in Lua (split:item(1) is the first); labels are class ids from 0,
 * as in the archive and the label tensors (ds.classes[label + 1] is the class name). */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loupe/dataset.h"
#include "loupe/loader.h"
#include "loupe/with_annotations.h"
#include "lpl.h"

#define LPL_DATASET "loupe.Dataset"
#define LPL_SPLIT "loupe.Split"
#define LPL_LOADER "loupe.Loader"
#define LPL_ANNOTATED "loupe.Annotated"

/* A split or loader holds its parent in user value 1, so the dataset outlives them. A dataset
 * holds in its user value 1 the annotations ds:with_annotations applied (an lp_annotated box),
 * which the loader, split:labels(), split:item(), split:counts() and ds:write() then follow. */
typedef struct split_box {
	lp_split *s;
} split_box;

typedef struct loader_box {
	lp_loader *ld;
	lp_split *s;
} loader_box;

static const lp_annotated *dataset_annotations(lua_State *L, int idx);
static const lp_annotated_split *split_annotations(lua_State *L, int idx, const lp_split *s);

static lp_dataset *check_dataset(lua_State *L, int idx)
{
	lp_dataset **box = luaL_checkudata(L, idx, LPL_DATASET);
	if (!*box)
		luaL_error(L, "dataset: used after free");
	return *box;
}

static lp_split *check_split(lua_State *L, int idx)
{
	split_box *b = luaL_checkudata(L, idx, LPL_SPLIT);
	return b->s;
}

/* loupe.dataset(name, { params..., on_bad = "skip"|"error", max_pixels = n }) */
static int l_dataset(lua_State *L)
{
	lp_ctx *ctx = lpl_ctx(L);
	const char *name = luaL_checkstring(L, 1);
	const lp_plugin *p;
	lp_kv kv[64], keep[64];
	lp_dataset_opts o = { .on_bad = LP_ON_BAD_ERROR };
	size_t n, m = 0;

	lpl_sync_plugin_path(L);
	if (lp_plugin_find(ctx, name, LP_KIND_DATASET, &p))
		return lpl_fail(L, ctx);
	n = lpl_read_params(L, 2, p->name, kv, sizeof kv / sizeof kv[0]);
	for (size_t i = 0; i < n; i++) {
		const lp_value *v = &kv[i].value;
		if (strcmp(kv[i].key, "on_bad") == 0) {
			if (v->type != LP_PARAM_STRING || (strcmp(v->string, "skip") != 0 &&
							   strcmp(v->string, "error") != 0))
				return luaL_error(L, "dataset %s: on_bad must be \"skip\" or \"error\"",
						  p->name);
			o.on_bad = strcmp(v->string, "skip") == 0 ? LP_ON_BAD_SKIP : LP_ON_BAD_ERROR;
		} else if (strcmp(kv[i].key, "max_pixels") == 0 ||
			   strcmp(kv[i].key, "max_bytes") == 0) {
			if (v->type != LP_PARAM_INT || v->integer < 1)
				return luaL_error(L, "dataset %s: %s must be a positive integer",
						  p->name, kv[i].key);
			*(strcmp(kv[i].key, "max_pixels") == 0 ? &o.max_pixels : &o.max_bytes) =
				(uint64_t)v->integer;
		} else {
			keep[m++] = kv[i];
		}
	}
	lp_dataset **box = lua_newuserdatauv(L, sizeof(*box), 1);
	*box = NULL;
	luaL_setmetatable(L, LPL_DATASET);
	if (lp_dataset_open(ctx, p, keep, m, &o, box))
		return lpl_fail(L, ctx);
	return 1;
}

static int ds_gc(lua_State *L)
{
	lp_dataset **box = luaL_checkudata(L, 1, LPL_DATASET);
	lua_pushnil(L); /* the annotations borrow the dataset's split names: they go first */
	lua_setiuservalue(L, 1, 1);
	lp_dataset_free(*box);
	*box = NULL;
	return 0;
}

static int ds_tostring(lua_State *L)
{
	lp_dataset **box = luaL_checkudata(L, 1, LPL_DATASET);
	if (!*box)
		lua_pushstring(L, "loupe.Dataset (freed)");
	else
		lua_pushfstring(L, "loupe.Dataset %s (%d classes, %d splits)",
				lp_dataset_name(*box), (int)lp_dataset_classes(*box, NULL),
				(int)lp_dataset_split_count(*box));
	return 1;
}

static void push_split(lua_State *L, int ds_idx, lp_split *s)
{
	split_box *b = lua_newuserdatauv(L, sizeof(*b), 1);
	b->s = s;
	luaL_setmetatable(L, LPL_SPLIT);
	lua_pushvalue(L, ds_idx);
	lua_setiuservalue(L, -2, 1);
}

static int ds_split(lua_State *L)
{
	lp_dataset *ds = check_dataset(L, 1);
	lp_split *s;

	if (lp_dataset_split_check(ds, luaL_checkstring(L, 2), &s))
		return lpl_fail(L, lp_dataset_ctx(ds));
	push_split(L, 1, s);
	return 1;
}

static int ds_splits(lua_State *L)
{
	lp_dataset *ds = check_dataset(L, 1);
	size_t n = lp_dataset_split_count(ds);

	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_pushstring(L, lp_split_name(lp_dataset_split_at(ds, i)));
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

static int ds_skipped(lua_State *L)
{
	lp_dataset *ds = check_dataset(L, 1);
	const lp_skipped *k;
	size_t n = lp_dataset_skipped(ds, &k);

	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_createtable(L, 0, 3);
		lua_pushstring(L, k[i].split);
		lua_setfield(L, -2, "split");
		lua_pushstring(L, k[i].name);
		lua_setfield(L, -2, "name");
		lua_pushstring(L, k[i].reason);
		lua_setfield(L, -2, "reason");
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

static int ds_fingerprint(lua_State *L)
{
	lp_dataset *ds = check_dataset(L, 1);
	char fp[65];

	if (lp_dataset_fingerprint(ds, fp))
		return lpl_fail(L, lp_dataset_ctx(ds));
	lua_pushstring(L, fp);
	return 1;
}

/* ds:write(archive): scans what is not scanned, then /dataset and /provenance/dataset */
static int ds_write(lua_State *L)
{
	lp_dataset *ds = check_dataset(L, 1);
	lp_archive **a = luaL_checkudata(L, 2, LPL_ARCHIVE);

	if (!*a)
		return luaL_error(L, "dataset:write: archive is closed");
	if (lp_dataset_write(ds, *a))
		return lpl_fail(L, lp_dataset_ctx(ds));
	const lp_annotated *an = dataset_annotations(L, 1);
	if (an && (lp_annotated_write(lp_dataset_ctx(ds), an, *a) || lp_archive_commit(*a)))
		return lpl_fail(L, lp_dataset_ctx(ds));
	return 0;
}

/* ---- annotations: ds:with_annotations(run [, opts]) ---- */

static int an_gc(lua_State *L)
{
	lp_annotated **box = luaL_checkudata(L, 1, LPL_ANNOTATED);
	lp_annotated_free(*box);
	*box = NULL;
	return 0;
}

/* the annotations the dataset at idx has applied, or NULL */
static const lp_annotated *dataset_annotations(lua_State *L, int idx)
{
	const lp_annotated *a = NULL;
	if (lua_getiuservalue(L, idx, 1) == LUA_TUSERDATA)
		a = *(lp_annotated **)luaL_checkudata(L, -1, LPL_ANNOTATED);
	lua_pop(L, 1); /* the dataset keeps it alive */
	return a;
}

/* the annotations of the split at idx (a loupe.Split), or NULL */
static const lp_annotated_split *split_annotations(lua_State *L, int idx, const lp_split *s)
{
	lua_getiuservalue(L, idx, 1);
	const lp_annotated *a = dataset_annotations(L, lua_gettop(L));
	lua_pop(L, 1);
	return lp_annotated_split_get(a, lp_split_name(s));
}

static int an_choice(lua_State *L, int t, const char *k, const char *a, const char *b)
{
	int v = 0;
	if (lua_istable(L, t) && lua_getfield(L, t, k) != LUA_TNIL) {
		const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
		if (!s || (strcmp(s, a) != 0 && strcmp(s, b) != 0))
			luaL_error(L, "dataset:with_annotations: option '%s' is \"%s\" or \"%s\", not "
				   "%s", k, a, b, s ? s : luaL_typename(L, -1));
		v = strcmp(s, b) == 0;
	}
	if (lua_istable(L, t))
		lua_pop(L, 1);
	return v;
}

static void push_count(lua_State *L, const char *k, int64_t v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

/* { relabelled, removed, excluded, missing, merged = { {from, into}, ... }, hash, source,
 *   splits = { [name] = { relabelled, removed, excluded, merged, items } } } */
static void push_changes(lua_State *L, const lp_annotated *a)
{
	lua_createtable(L, 0, 9);
	push_count(L, "relabelled", a->relabelled);
	push_count(L, "removed", a->removed);
	push_count(L, "excluded", a->excluded);
	push_count(L, "missing", a->missing);
	lua_createtable(L, (int)a->nmerges, 0);
	for (size_t i = 0; i < a->nmerges; i++) {
		lua_createtable(L, 0, 2);
		push_count(L, "from", a->from[i]);
		push_count(L, "into", a->into[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "merged");
	lua_pushstring(L, a->hash);
	lua_setfield(L, -2, "hash");
	lua_pushstring(L, a->source ? a->source : "");
	lua_setfield(L, -2, "source");
	lua_createtable(L, 0, (int)a->nsplits);
	for (size_t k = 0; k < a->nsplits; k++) {
		const lp_annotated_split *s = &a->splits[k];
		lua_createtable(L, 0, 5);
		push_count(L, "relabelled", s->relabelled);
		push_count(L, "removed", s->removed);
		push_count(L, "excluded", s->excluded);
		push_count(L, "merged", s->merged);
		push_count(L, "items", s->nitems);
		lua_setfield(L, -2, s->name);
	}
	lua_setfield(L, -2, "splits");
}

/* ds:with_annotations(run | path [, { also = "keep" | "exclude", missing = "error" | "skip" }])
 * -> the changes; the dataset's next uses (loaders, labels, ds:write) follow them */
static int ds_with_annotations(lua_State *L)
{
	static const char *const keys[] = { "also", "missing", NULL };
	lp_dataset *ds = check_dataset(L, 1);
	lp_ctx *ctx = lp_dataset_ctx(ds);
	lp_archive *run = NULL, *opened = NULL;
	lp_annotated_opts o = { 0 };

	lua_settop(L, 3);
	if (!lua_isnil(L, 3))
		luaL_checktype(L, 3, LUA_TTABLE);
	lpl_check_keys(L, 3, "dataset:with_annotations", keys);
	o.also = an_choice(L, 3, "also", "keep", "exclude") ? LP_ALSO_EXCLUDE : LP_ALSO_KEEP;
	o.missing = an_choice(L, 3, "missing", "error", "skip") ? LP_MISSING_SKIP
								 : LP_MISSING_ERROR;
	if (lua_type(L, 2) != LUA_TSTRING) {
		lp_archive **a = luaL_testudata(L, 2, LPL_ARCHIVE);
		if (!a)
			return luaL_error(L, "dataset:with_annotations: the first argument is a run "
					  "archive (loupe.archive) or its path, not a %s",
					  luaL_typename(L, 2));
		if (!*a)
			return luaL_error(L, "dataset:with_annotations: the archive is closed");
		run = *a;
	}
	lp_annotated **box = lua_newuserdatauv(L, sizeof(*box), 0);
	*box = NULL;
	luaL_setmetatable(L, LPL_ANNOTATED);
	if (!run && lp_archive_open(ctx, lua_tostring(L, 2), 0, &opened))
		return lpl_fail(L, ctx);
	int rc = lp_annotated_from_archive(ds, run ? run : opened, &o, box);
	if (rc)
		lua_pushstring(L, lp_ctx_errmsg(ctx)); /* before the close can touch the context */
	lp_archive_close(opened);
	if (rc)
		return lua_error(L);
	if ((*box)->missing)
		lp_log(ctx, LP_LOG_WARN, "dataset:with_annotations: %s: %" PRId64 " annotated item%s "
		       "not in the dataset %s, skipped (first: %s)", (*box)->source,
		       (*box)->missing, (*box)->missing == 1 ? " is" : "s are", lp_dataset_name(ds),
		       (*box)->first_missing);
	lua_pushvalue(L, -1);
	lua_setiuservalue(L, 1, 1); /* replaces any earlier annotations: they do not add up */
	push_changes(L, *box);
	return 1;
}

static int ds_index(lua_State *L)
{
	lp_dataset *ds = check_dataset(L, 1);
	const char *k = luaL_checkstring(L, 2);

	if (strcmp(k, "name") == 0) {
		lua_pushstring(L, lp_dataset_name(ds));
		return 1;
	}
	if (strcmp(k, "classes") == 0) {
		const char *const *c;
		size_t n = lp_dataset_classes(ds, &c);
		lua_createtable(L, (int)n, 0);
		for (size_t i = 0; i < n; i++) {
			lua_pushstring(L, c[i]);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		return 1;
	}
	luaL_getmetatable(L, LPL_DATASET);
	lua_getfield(L, -1, "methods");
	lua_getfield(L, -1, k);
	if (lua_isnil(L, -1))
		return luaL_error(L, "loupe.Dataset has no field '%s' (name, classes, split, splits, "
				  "skipped, fingerprint, write, with_annotations)", k);
	return 1;
}

/* ---- splits ---- */

static int sp_len(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)lp_split_count(check_split(L, 1)));
	return 1;
}

static int sp_tostring(lua_State *L)
{
	lp_split *s = check_split(L, 1);
	lua_pushfstring(L, "loupe.Split %s/%s (%d items)", lp_dataset_name(lp_split_dataset(s)),
			lp_split_name(s), (int)lp_split_count(s));
	return 1;
}

static int64_t check_index(lua_State *L, lp_split *s, int idx)
{
	lua_Integer i = luaL_checkinteger(L, idx);
	if (i < 1 || i > lp_split_count(s))
		luaL_error(L, "split %s: item %d is out of range 1..%d", lp_split_name(s), (int)i,
			   (int)lp_split_count(s));
	return (int64_t)i - 1;
}

/* split:item(i) -> { name, path, label, width, height, channels, bytes } (+ given_label and
 * removed after ds:with_annotations: label is then the one in effect) */
static int sp_item(lua_State *L)
{
	lp_split *s = check_split(L, 1);
	lp_item_info it;

	const lp_annotated_split *as = split_annotations(L, 1, s);
	int64_t i = check_index(L, s, 2);

	if (lp_split_item(s, i, &it))
		return lpl_fail(L, lp_dataset_ctx(lp_split_dataset(s)));
	lua_createtable(L, 0, 9);
	lua_pushstring(L, it.name);
	lua_setfield(L, -2, "name");
	if (it.path) {
		lua_pushstring(L, it.path);
		lua_setfield(L, -2, "path");
	}
	lua_pushinteger(L, as ? as->labels[i] : it.label);
	lua_setfield(L, -2, "label");
	if (as) { /* ds:with_annotations: the dataset's own label, and whether the item left */
		lua_pushinteger(L, it.label);
		lua_setfield(L, -2, "given_label");
		lua_pushboolean(L, !as->keep[i]);
		lua_setfield(L, -2, "removed");
	}
	lua_pushinteger(L, it.width);
	lua_setfield(L, -2, "width");
	lua_pushinteger(L, it.height);
	lua_setfield(L, -2, "height");
	lua_pushinteger(L, it.channels);
	lua_setfield(L, -2, "channels");
	lua_pushinteger(L, (lua_Integer)it.bytes);
	lua_setfield(L, -2, "bytes");
	return 1;
}

/* split:labels() -> { label of item 1, ... } (those in effect after ds:with_annotations) */
static int sp_labels(lua_State *L)
{
	lp_split *s = check_split(L, 1);
	const lp_annotated_split *as = split_annotations(L, 1, s);
	int64_t n = lp_split_count(s);
	lp_item_info it;

	lua_createtable(L, (int)n, 0);
	for (int64_t i = 0; i < n; i++) {
		lp_split_item(s, i, &it);
		lua_pushinteger(L, as ? as->labels[i] : it.label);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

/* split:counts() -> { [class name] = items } (after ds:with_annotations: of the items kept, by
 * the label in effect) */
static int sp_counts(lua_State *L)
{
	lp_split *s = check_split(L, 1);
	lp_dataset *ds = lp_split_dataset(s);
	const char *const *c;
	size_t n = lp_dataset_classes(ds, &c);
	int64_t *k = lua_newuserdatauv(L, sizeof(int64_t) * (n ? n : 1), 0);
	const lp_annotated_split *as = split_annotations(L, 1, s);

	lp_split_class_counts(s, k);
	if (as) { /* the items kept, by the label in effect */
		memset(k, 0, sizeof(int64_t) * n);
		for (int64_t i = 0; i < as->nitems; i++)
			k[as->labels[as->items[i]]]++;
	}
	lua_createtable(L, 0, (int)n);
	for (size_t i = 0; i < n; i++) {
		lua_pushinteger(L, (lua_Integer)k[i]);
		lua_setfield(L, -2, c[i]);
	}
	return 1;
}

/* split:items() -> { 1, 2, ... }: the items in the split (after ds:with_annotations: those not
 * removed or excluded) */
static int sp_items(lua_State *L)
{
	lp_split *s = check_split(L, 1);
	const lp_annotated_split *as = split_annotations(L, 1, s);
	int64_t n = as ? as->nitems : lp_split_count(s);

	lua_createtable(L, (int)n, 0);
	for (int64_t i = 0; i < n; i++) {
		lua_pushinteger(L, (lua_Integer)(as ? as->items[i] : i) + 1);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

/* split:pixels(i) -> bytes (row-major, channels interleaved), width, height, channels */
static int sp_pixels(lua_State *L)
{
	lp_split *s = check_split(L, 1);
	lp_ctx *ctx = lp_dataset_ctx(lp_split_dataset(s));
	int w, h, c;
	uint8_t *px;

	if (lp_split_pixels(ctx, s, check_index(L, s, 2), &w, &h, &c, &px))
		return lpl_fail(L, ctx);
	lua_pushlstring(L, (const char *)px, (size_t)w * (size_t)h * (size_t)c);
	free(px);
	lua_pushinteger(L, w);
	lua_pushinteger(L, h);
	lua_pushinteger(L, c);
	return 4;
}

struct scan_progress {
	const char *name;
	int on;
	int64_t last;
};

static void scan_progress(void *user, int64_t done, int64_t total)
{
	struct scan_progress *p = user;
	if (!p->on || (done != total && done - p->last < total / 50 + 1))
		return;
	p->last = done;
	fprintf(stderr, "\rscanning %s: %" PRId64 "/%" PRId64 "%s", p->name, done, total,
		done == total ? "\n" : "");
}

/* split:scan{ threads = n }: decode every item once (statistics, bad files) */
static int sp_scan(lua_State *L)
{
	static const char *const keys[] = { "threads", NULL };
	lp_split *s = check_split(L, 1);
	int threads = 0;

	lpl_check_keys(L, 2, "split:scan", keys);
	if (lua_istable(L, 2))
		threads = (int)lpl_opt_int(L, 2, "split:scan", "threads", 0, 0, 64);
	struct scan_progress pr = { lp_split_name(s), isatty(2) && !getenv("LOUPE_QUIET"), 0 };
	if (lp_split_scan(s, threads, scan_progress, &pr))
		return lpl_fail(L, lp_dataset_ctx(lp_split_dataset(s)));
	return 0;
}

/* split:stats(i) -> { brightness, luma_p05, luma_p50, luma_p95, colourfulness, edge_energy } */
static int sp_stats(lua_State *L)
{
	lp_split *s = check_split(L, 1);
	int64_t i = check_index(L, s, 2);
	const lp_item_stats *st = lp_split_stats(s, i);

	if (!st)
		return luaL_error(L, "split %s: not scanned yet (split:scan())", lp_split_name(s));
	lua_createtable(L, 0, 6);
	const struct { const char *k; float v; } f[] = {
		{ "brightness", st->brightness }, { "luma_p05", st->luma_p05 },
		{ "luma_p50", st->luma_p50 }, { "luma_p95", st->luma_p95 },
		{ "colourfulness", st->colourfulness }, { "edge_energy", st->edge_energy },
	};
	for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
		lua_pushnumber(L, f[k].v);
		lua_setfield(L, -2, f[k].k);
	}
	return 1;
}

static int sp_index(lua_State *L)
{
	lp_split *s = check_split(L, 1);
	const char *k = luaL_checkstring(L, 2);

	if (strcmp(k, "name") == 0) {
		lua_pushstring(L, lp_split_name(s));
		return 1;
	}
	if (strcmp(k, "dataset") == 0) {
		lua_getiuservalue(L, 1, 1);
		return 1;
	}
	if (strcmp(k, "classes") == 0) {
		lua_getiuservalue(L, 1, 1);
		lua_getfield(L, -1, "classes");
		return 1;
	}
	luaL_getmetatable(L, LPL_SPLIT);
	lua_getfield(L, -1, "methods");
	lua_getfield(L, -1, k);
	if (lua_isnil(L, -1))
		return luaL_error(L, "loupe.Split has no field '%s' (name, dataset, classes, item, "
				  "labels, items, counts, pixels, scan, stats)", k);
	return 1;
}

/* ---- loaders ---- */

#define W "loader"
#define INT_MAX32 2147483647

static double opt_num(lua_State *L, int t, const char *k, double def, double lo, double hi)
{
	return lpl_opt_num(L, t, W, k, def, lo, hi, 0);
}

static int opt_int(lua_State *L, int t, const char *k, int def, int lo, int hi)
{
	return (int)lpl_opt_int(L, t, W, k, def, lo, hi);
}

static int opt_bool(lua_State *L, int t, const char *k, int def)
{
	return lpl_opt_bool(L, t, W, k, def);
}

static int opt_choice(lua_State *L, int t, const char *k, const char *const *names, int def)
{
	int v = def;
	if (lua_getfield(L, t, k) != LUA_TNIL) {
		const char *s = lua_tostring(L, -1);
		for (v = 0; s && names[v] && strcmp(names[v], s) != 0; v++)
			;
		if (!s || !names[v]) {
			luaL_Buffer b;
			luaL_buffinit(L, &b);
			for (int i = 0; names[i]; i++) {
				luaL_addstring(&b, i ? ", " : "");
				luaL_addstring(&b, names[i]);
			}
			luaL_pushresult(&b);
			luaL_error(L, "loader: option '%s' is one of %s, not '%s'", k,
				   lua_tostring(L, -1), s ? s : luaL_typename(L, -2));
		}
	}
	lua_pop(L, 1);
	return v;
}

/* a number or a list of 1 or 3, each in lo .. hi (lo excluded when lo_open) */
static void opt_triple(lua_State *L, int t, const char *k, float *out, double lo, int lo_open)
{
	if (lua_getfield(L, t, k) != LUA_TNIL) {
		if (lua_type(L, -1) == LUA_TNUMBER) {
			out[0] = out[1] = out[2] = (float)lpl_check_num(L, -1, W, k, lo, HUGE_VAL,
									lo_open);
		} else if (lua_istable(L, -1) && (luaL_len(L, -1) == 3 || luaL_len(L, -1) == 1)) {
			lua_Integer n = luaL_len(L, -1);
			for (int i = 0; i < 3; i++) {
				lua_geti(L, -1, n == 3 ? i + 1 : 1);
				out[i] = (float)lpl_check_num(L, -1, W, k, lo, HUGE_VAL, lo_open);
				lua_pop(L, 1);
			}
		} else {
			luaL_error(L, "loader: option '%s' must be a number or a list of 1 or 3 "
				   "numbers", k);
		}
	}
	lua_pop(L, 1);
}

static void opt_scale(lua_State *L, int t, lp_augment *a)
{
	if (lua_getfield(L, t, "scale") != LUA_TNIL) {
		if (lua_type(L, -1) == LUA_TNUMBER) {
			a->scale_min = a->scale_max = lpl_check_num(L, -1, W, "scale", 0, 16, 1);
		} else if (lua_istable(L, -1) && luaL_len(L, -1) == 2) {
			lua_geti(L, -1, 1);
			lua_geti(L, -2, 2);
			a->scale_min = lpl_check_num(L, -2, W, "scale", 0, 16, 1);
			a->scale_max = lpl_check_num(L, -1, W, "scale", 0, 16, 1);
			lua_pop(L, 2);
			if (a->scale_min > a->scale_max)
				luaL_error(L, "loader: option 'scale' = { %f, %f }: min is above max",
					   a->scale_min, a->scale_max);
		} else {
			luaL_error(L, "loader: option 'scale' is a zoom factor or { min, max }, each "
				   "> 0 .. 16");
		}
	}
	lua_pop(L, 1);
}

/* The augmentation keys, read from table t into a (shared with loupe.augment users). The
 * ranges are lp_augment_check's; a given std or scale of 0 is refused here, where 0 inside
 * means "off". */
static void read_augment(lua_State *L, int t, lp_augment *a)
{
	static const char *const crops[] = { "center", "random", "none", NULL };
	static const char *const resamples[] = { "bilinear", "area", NULL };

	if (lua_getfield(L, t, "size") == LUA_TNIL)
		luaL_error(L, "loader: option 'size' (the output side in pixels, 1 .. 4096) is "
			   "required");
	lua_pop(L, 1);
	a->size = opt_int(L, t, "size", 0, 1, 4096);
	a->resize = opt_int(L, t, "resize", 0, 0, 16384);
	a->crop = opt_choice(L, t, "crop", crops, LP_CROP_CENTER);
	a->resample = opt_choice(L, t, "resample", resamples, LP_RESAMPLE_BILINEAR);
	a->flip = opt_bool(L, t, "flip", 0);
	a->brightness = opt_num(L, t, "brightness", 0, 0, 10);
	a->contrast = opt_num(L, t, "contrast", 0, 0, 10);
	a->saturation = opt_num(L, t, "saturation", 0, 0, 10);
	a->hue = opt_num(L, t, "hue", 0, 0, 0.5);
	if (lua_getfield(L, t, "channels") != LUA_TNIL) {
		a->channels = opt_int(L, t, "channels", 0, 1, 3);
		if (a->channels == 2)
			luaL_error(L, "loader: option 'channels' = 2: it is 1 or 3");
	}
	lua_pop(L, 1);
	opt_scale(L, t, a);
	a->mean[0] = a->mean[1] = a->mean[2] = 0;
	a->std[0] = a->std[1] = a->std[2] = 1;
	opt_triple(L, t, "mean", a->mean, -HUGE_VAL, 0);
	opt_triple(L, t, "std", a->std, 0, 1);
}

/* A list of integers, each lo .. hi, as given (1-based where the API is). */
static lua_Integer list_int(lua_State *L, const char *key, lua_Integer i, lua_Integer lo,
			    lua_Integer hi, const char *what)
{
	lua_Integer v;
	int ok;

	lua_geti(L, -1, i);
	v = lua_tointegerx(L, -1, &ok);
	if (lua_type(L, -1) != LUA_TNUMBER || !ok || v < lo || v > hi) {
		if (lua_type(L, -1) == LUA_TNUMBER)
			luaL_error(L, "loader: option '%s': entry %I = %s is not %s (%I .. %I)", key,
				   i, lua_tostring(L, -1), what, lo, hi);
		luaL_error(L, "loader: option '%s': entry %I is a %s, not %s (%I .. %I)", key, i,
			   luaL_typename(L, -1), what, lo, hi);
	}
	lua_pop(L, 1);
	return v;
}

/* options items (1-based item numbers) and labels (one class per item): each array stays on the
 * stack, alive until the loader has copied it */
static void read_lists(lua_State *L, lp_split *s, lp_loader_opts *o)
{
	int64_t *items = NULL;
	if (lua_getfield(L, 2, "items") != LUA_TNIL) {
		if (!lua_istable(L, -1))
			luaL_error(L, "loader: option 'items' must be a list of item "
					  "numbers (1-based), not a %s", luaL_typename(L, -1));
		lua_Integer n = luaL_len(L, -1);
		items = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)(n > 0 ? n : 1), 0);
		lua_insert(L, -2); /* keep the array alive under the list until the loader copies it */
		for (lua_Integer i = 1; i <= n; i++)
			items[i - 1] = (int64_t)list_int(L, "items", i, 1, lp_split_count(s),
							 "an item of the split") - 1;
		o->items = items;
		o->nitems = n;
	}
	lua_pop(L, 1);
	if (lua_getfield(L, 2, "labels") != LUA_TNIL) {
		if (!lua_istable(L, -1))
			luaL_error(L, "loader: option 'labels' must be a list of class "
					  "numbers (0-based), not a %s", luaL_typename(L, -1));
		lua_Integer n = luaL_len(L, -1);
		if (n != lp_split_count(s))
			luaL_error(L, "loader: option 'labels' has %d entries; split %s has %d "
					  "items", (int)n, lp_split_name(s), (int)lp_split_count(s));
		int32_t *lab = lua_newuserdatauv(L, sizeof(int32_t) * (size_t)(n > 0 ? n : 1), 0);
		lua_insert(L, -2);
		for (lua_Integer i = 1; i <= n; i++)
			lab[i - 1] = (int32_t)list_int(L, "labels", i, 0,
						       (lua_Integer)lp_dataset_classes(lp_split_dataset(s), NULL) - 1,
						       "a class (0-based)");
		o->labels = lab;
	}
	lua_pop(L, 1);
}

/* ds:with_annotations: the labels in effect unless `labels` is given, and no item that left the
 * split, whether `items` is given or not (the filtered list stays on the stack) */
static void annotated_lists(lua_State *L, lp_split *s, lp_loader_opts *o)
{
	const lp_annotated_split *as = split_annotations(L, 1, s);

	if (!as)
		return;
	if (!o->labels)
		o->labels = as->labels;
	if (as->nitems == as->n)
		return;
	if (!o->items) {
		o->items = as->items;
		o->nitems = as->nitems;
		return;
	}
	int64_t *kept = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)(o->nitems + 1), 0), m = 0;
	for (int64_t i = 0; i < o->nitems; i++)
		if (as->keep[o->items[i]])
			kept[m++] = o->items[i];
	o->items = kept;
	o->nitems = m;
}

/* loupe.loader(split, { batch, size, ... }) */
static int l_loader(lua_State *L)
{
	static const char *const keys[] = {
		"batch", "shuffle", "drop_last", "seed", "threads", "prefetch", "size", "resize",
		"crop", "resample", "flip", "brightness", "contrast", "saturation", "hue", "scale",
		"channels", "mean", "std", "items", "labels", "random_pixels", NULL };
	lp_split *s = check_split(L, 1);
	lp_ctx *ctx = lpl_ctx(L);
	lp_loader_opts o = lp_loader_defaults();

	luaL_checktype(L, 2, LUA_TTABLE);
	lpl_check_keys(L, 2, "loader", keys);
	o.batch = opt_int(L, 2, "batch", 32, 1, INT_MAX32);
	o.shuffle = opt_bool(L, 2, "shuffle", 0);
	o.drop_last = opt_bool(L, 2, "drop_last", 0);
	o.seed = (uint64_t)lpl_opt_int(L, 2, W, "seed", (lua_Integer)lp_ctx_get_seed(ctx), 0,
				       LUA_MAXINTEGER);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	o.threads = opt_int(L, 2, "threads", cpus < 1 ? 1 : cpus > 8 ? 8 : (int)cpus, 0, 64);
	o.prefetch = opt_int(L, 2, "prefetch", 2, 0, 64);
	read_augment(L, 2, &o.aug);
	read_lists(L, s, &o);
	annotated_lists(L, s, &o);
	o.random_pixels = opt_bool(L, 2, "random_pixels", 0);
	loader_box *b = lua_newuserdatauv(L, sizeof(*b), 2);
	b->ld = NULL;
	b->s = s;
	luaL_setmetatable(L, LPL_LOADER);
	lua_pushvalue(L, 1);
	lua_setiuservalue(L, -2, 1); /* the split (and through it the dataset) */
	lua_newtable(L);
	lua_setiuservalue(L, -2, 2); /* cached batch tensors by size */
	if (lp_loader_new(ctx, s, &o, &b->ld))
		return lpl_fail(L, ctx);
	return 1;
}

lp_loader *lpl_check_loader(lua_State *L, int idx)
{
	loader_box *b = luaL_checkudata(L, idx, LPL_LOADER);
	if (!b->ld)
		luaL_error(L, "loader: used after free");
	return b->ld;
}

static int ld_gc(lua_State *L)
{
	loader_box *b = luaL_checkudata(L, 1, LPL_LOADER);
	lp_loader_free(b->ld);
	b->ld = NULL;
	return 0;
}

static int ld_batches(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)lp_loader_batches(lpl_check_loader(L, 1)));
	return 1;
}

/* loader:start(epoch [, first_batch]) — epochs and batches count from 1 in Lua */
static int ld_start(lua_State *L)
{
	lp_loader *ld = lpl_check_loader(L, 1);
	lua_Integer e = luaL_checkinteger(L, 2), first = luaL_optinteger(L, 3, 1);

	if (e < 1 || first < 1)
		return luaL_error(L, "loader:start: epoch and first batch count from 1");
	if (lp_loader_start(ld, (uint64_t)(e - 1), (int64_t)(first - 1)))
		return lpl_fail(L, lpl_ctx(L));
	return 0;
}

/* A device tensor of the given shape kept in the loader's cache (user value 2), by key. */
static lp_tensor *cached_tensor(lua_State *L, const char *key, int dtype, int rank,
				const int64_t *dims)
{
	lp_ctx *ctx = lpl_ctx(L);

	lua_getiuservalue(L, 1, 2);
	if (lua_getfield(L, -1, key) == LUA_TUSERDATA) {
		lp_tensor **box = luaL_checkudata(L, -1, LPL_TENSOR);
		if (*box && lp_tensor_rank(*box) == rank &&
		    memcmp(lp_tensor_dims(*box), dims, sizeof(int64_t) * (size_t)rank) == 0) {
			lua_remove(L, -2);
			return *box;
		}
	}
	lua_pop(L, 1);
	lp_tensor **box = lpl_new_tensor_box(L);
	if (lp_tensor_new(ctx, dtype, rank, dims, box))
		lpl_fail(L, ctx);
	lua_pushvalue(L, -1);
	lua_setfield(L, -3, key);
	lua_remove(L, -2);
	return *box;
}

/* loader:next() -> n, x [n, C, H, W] (device), labels [n] (device), index { item, ... }; or
 * nil at the end of the epoch. The tensors are the loader's and are overwritten by the next
 * call. */
static int ld_next(lua_State *L)
{
	lp_loader *ld = lpl_check_loader(L, 1);
	lp_ctx *ctx = lpl_ctx(L);
	lp_batch b;

	if (lp_loader_next(ld, &b))
		return lpl_fail(L, ctx);
	if (b.n == 0) {
		lua_pushnil(L);
		return 1;
	}
	int64_t xd[4] = { b.n, b.channels, b.height, b.width }, ldim[1] = { b.n };
	lua_pushinteger(L, (lua_Integer)b.n);
	lp_tensor *x = cached_tensor(L, "x", LP_F32, 4, xd);
	if (lp_tensor_write(ctx, x, b.x, sizeof(float) * (size_t)(b.n * b.channels * b.height *
								   b.width)))
		return lpl_fail(L, ctx);
	lp_tensor *y = cached_tensor(L, "labels", LP_I32, 1, ldim);
	if (lp_tensor_write(ctx, y, b.labels, sizeof(int32_t) * (size_t)b.n))
		return lpl_fail(L, ctx);
	lua_createtable(L, (int)b.n, 0);
	for (int64_t i = 0; i < b.n; i++) {
		lua_pushinteger(L, (lua_Integer)b.index[i] + 1);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 4;
}

static void new_class(lua_State *L, const char *name, const luaL_Reg *meta,
		      const luaL_Reg *methods, lua_CFunction index)
{
	luaL_newmetatable(L, name);
	luaL_setfuncs(L, meta, 0);
	lua_newtable(L);
	luaL_setfuncs(L, methods, 0);
	lua_setfield(L, -2, "methods");
	if (index) {
		lua_pushcfunction(L, index);
	} else {
		lua_getfield(L, -1, "methods");
	}
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}

void lpl_open_dataset(lua_State *L)
{
	static const luaL_Reg ds_meta[] = {
		{ "__gc", ds_gc }, { "__close", ds_gc }, { "__tostring", ds_tostring },
		{ NULL, NULL } };
	static const luaL_Reg ds_methods[] = {
		{ "split", ds_split }, { "splits", ds_splits }, { "skipped", ds_skipped },
		{ "fingerprint", ds_fingerprint }, { "write", ds_write }, { "free", ds_gc },
		{ "with_annotations", ds_with_annotations }, { NULL, NULL } };
	static const luaL_Reg sp_meta[] = {
		{ "__len", sp_len }, { "__tostring", sp_tostring }, { NULL, NULL } };
	static const luaL_Reg sp_methods[] = {
		{ "item", sp_item }, { "labels", sp_labels }, { "items", sp_items },
		{ "counts", sp_counts },
		{ "pixels", sp_pixels }, { "scan", sp_scan }, { "stats", sp_stats },
		{ NULL, NULL } };
	static const luaL_Reg ld_meta[] = {
		{ "__gc", ld_gc }, { "__close", ld_gc }, { NULL, NULL } };
	static const luaL_Reg ld_methods[] = {
		{ "batches", ld_batches }, { "start", ld_start }, { "next", ld_next },
		{ "free", ld_gc }, { NULL, NULL } };
	static const luaL_Reg fns[] = {
		{ "dataset", l_dataset }, { "loader", l_loader }, { NULL, NULL } };

	new_class(L, LPL_DATASET, ds_meta, ds_methods, ds_index);
	new_class(L, LPL_SPLIT, sp_meta, sp_methods, sp_index);
	new_class(L, LPL_LOADER, ld_meta, ld_methods, NULL);
	luaL_newmetatable(L, LPL_ANNOTATED);
	lua_pushcfunction(L, an_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	lua_pushvalue(L, -1);
	luaL_setfuncs(L, fns, 1); /* upvalue: the module table (for plugin_path) */
}
