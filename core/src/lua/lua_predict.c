/* lua_predict.c — loupe.Predictions: a net's outputs over a split, kept on the host.
 *
 *   local p = loupe.predict_loader(net, loader, { features = "relu7" })
 *   p.n, p.classes, p.dim, p.loss, p.top1, p.top5
 *   p:write(run, "/predictions/test"); p:probs(i) -> { ... }; p:label(i); p:item(i); p:top(i)
 *   loupe.merge_predictions({ p1, p2, ... }, n) -> rows placed by item index (k-fold)
 */
#include <stdlib.h>
#include <string.h>

#include "loupe/predict.h"
#include "lpl.h"

#define LPL_PREDICTIONS "loupe.Predictions"

static lp_predictions *check_pred(lua_State *L, int idx)
{
	return luaL_checkudata(L, idx, LPL_PREDICTIONS);
}

static lp_predictions *new_pred(lua_State *L)
{
	lp_predictions *p = lua_newuserdatauv(L, sizeof(*p), 0);
	memset(p, 0, sizeof(*p));
	luaL_setmetatable(L, LPL_PREDICTIONS);
	return p;
}

/* loupe.predict_loader(net, loader [, { features = layer }]): the loader's current epoch */
static int l_predict_loader(lua_State *L)
{
	static const char *const keys[] = { "features", NULL };
	lp_net *net = lpl_check_net(L, 1);
	lp_loader *ld = lpl_check_loader(L, 2);
	const char *feat = NULL;

	if (lua_istable(L, 3)) {
		lpl_check_keys(L, 3, "predict", keys);
		if (lua_getfield(L, 3, "features") != LUA_TNIL)
			feat = luaL_checkstring(L, -1);
		lua_pop(L, 1); /* the string stays alive in the options table */
	}
	lp_predictions *p = new_pred(L);
	if (lp_predict(net, ld, feat, p))
		return lpl_fail(L, lpl_ctx(L));
	return 1;
}

static int p_gc(lua_State *L)
{
	lp_predictions_free(check_pred(L, 1));
	return 0;
}

static int64_t row(lua_State *L, lp_predictions *p, int idx)
{
	lua_Integer i = luaL_checkinteger(L, idx);
	if (i < 1 || i > p->n)
		luaL_error(L, "predictions: row %d is out of range 1..%d", (int)i, (int)p->n);
	return (int64_t)i - 1;
}

static int p_probs(lua_State *L)
{
	lp_predictions *p = check_pred(L, 1);
	int64_t i = row(L, p, 2);
	lua_createtable(L, p->classes, 0);
	for (int c = 0; c < p->classes; c++) {
		lua_pushnumber(L, p->probs[i * p->classes + c]);
		lua_rawseti(L, -2, c + 1);
	}
	return 1;
}

static int p_top(lua_State *L)
{
	lp_predictions *p = check_pred(L, 1);
	int64_t i = row(L, p, 2);
	lua_createtable(L, LP_TOPK, 0);
	for (int k = 0, j = 1; k < LP_TOPK; k++)
		if (p->top5[i * LP_TOPK + k] >= 0) {
			lua_pushinteger(L, p->top5[i * LP_TOPK + k]);
			lua_rawseti(L, -2, j++);
		}
	return 1;
}

static int p_label(lua_State *L)
{
	lp_predictions *p = check_pred(L, 1);
	lua_pushinteger(L, p->labels[row(L, p, 2)]);
	return 1;
}

static int p_item(lua_State *L)
{
	lp_predictions *p = check_pred(L, 1);
	lua_pushinteger(L, (lua_Integer)p->items[row(L, p, 2)] + 1);
	return 1;
}

static int p_loss_of(lua_State *L)
{
	lp_predictions *p = check_pred(L, 1);
	lua_pushnumber(L, p->loss[row(L, p, 2)]);
	return 1;
}

static int p_write(lua_State *L)
{
	lp_predictions *p = check_pred(L, 1);
	lp_archive **a = luaL_checkudata(L, 2, LPL_ARCHIVE);
	const char *group = luaL_checkstring(L, 3);

	if (!*a)
		return luaL_error(L, "predictions:write: archive is closed");
	if (lp_predictions_write(p, *a, group))
		return lpl_fail(L, lpl_ctx(L));
	return 0;
}

static int p_index(lua_State *L)
{
	lp_predictions *p = check_pred(L, 1);
	const char *k = luaL_checkstring(L, 2);
	const struct { const char *k; double v; } f[] = {
		{ "n", (double)p->n }, { "classes", p->classes }, { "dim", (double)p->dim },
		{ "loss", p->mean_loss }, { "top1", p->top1 }, { "top5", p->top5_acc },
	};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		if (strcmp(k, f[i].k) == 0) {
			if (i < 3)
				lua_pushinteger(L, (lua_Integer)f[i].v);
			else
				lua_pushnumber(L, f[i].v);
			return 1;
		}
	luaL_getmetatable(L, LPL_PREDICTIONS);
	lua_getfield(L, -1, "methods");
	lua_getfield(L, -1, k);
	if (lua_isnil(L, -1))
		return luaL_error(L, "loupe.Predictions has no field '%s'", k);
	return 1;
}

/* loupe.merge_predictions({ p1, p2, ... }, n): one row per item 1..n, each from the part that
 * holds it (every item exactly once) — k-fold out-of-sample predictions */
static int l_merge(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_Integer n = luaL_checkinteger(L, 2), parts = luaL_len(L, 1);
	lp_predictions *m = new_pred(L);

	if (n < 1 || parts < 1)
		return luaL_error(L, "merge_predictions: nothing to merge");
	lua_geti(L, 1, 1);
	lp_predictions *f = check_pred(L, -1);
	lua_pop(L, 1);
	m->n = n;
	m->classes = f->classes;
	m->dim = f->dim;
	m->probs = calloc((size_t)(n * m->classes), sizeof(float));
	m->loss = calloc((size_t)n, sizeof(float));
	m->labels = calloc((size_t)n, sizeof(int32_t));
	m->items = calloc((size_t)n, sizeof(int64_t));
	m->top5 = calloc((size_t)(n * LP_TOPK), sizeof(int32_t));
	m->features = m->dim ? calloc((size_t)(n * m->dim), sizeof(float)) : NULL;
	char *seen = calloc((size_t)n, 1);
	if (!m->probs || !m->loss || !m->labels || !m->items || !m->top5 || !seen ||
	    (m->dim && !m->features)) {
		free(seen);
		return luaL_error(L, "merge_predictions: out of memory");
	}
	double lsum = 0, hit1 = 0, hit5 = 0;
	for (lua_Integer k = 1; k <= parts; k++) {
		lua_geti(L, 1, k);
		lp_predictions *p = check_pred(L, -1);
		lua_pop(L, 1);
		if (p->classes != m->classes || p->dim != m->dim) {
			free(seen);
			return luaL_error(L, "merge_predictions: part %d has %d classes and %d "
					  "features; part 1 has %d and %d", (int)k, p->classes,
					  (int)p->dim, m->classes, (int)m->dim);
		}
		for (int64_t r = 0; r < p->n; r++) {
			int64_t it = p->items[r];
			if (it < 0 || it >= n || seen[it]) {
				free(seen);
				return luaL_error(L, "merge_predictions: item %d is %s", (int)it + 1,
						  it < 0 || it >= n ? "out of range" : "in two parts");
			}
			seen[it] = 1;
			memcpy(m->probs + it * m->classes, p->probs + r * p->classes,
			       sizeof(float) * (size_t)m->classes);
			memcpy(m->top5 + it * LP_TOPK, p->top5 + r * LP_TOPK, sizeof(int32_t) * LP_TOPK);
			if (m->dim)
				memcpy(m->features + it * m->dim, p->features + r * p->dim,
				       sizeof(float) * (size_t)m->dim);
			m->loss[it] = p->loss[r];
			m->labels[it] = p->labels[r];
			m->items[it] = it;
			lsum += p->loss[r];
			for (int j = 0; j < LP_TOPK; j++)
				if (p->top5[r * LP_TOPK + j] == p->labels[r]) {
					hit5++;
					hit1 += j == 0;
				}
		}
	}
	for (int64_t i = 0; i < n; i++)
		if (!seen[i]) {
			free(seen);
			return luaL_error(L, "merge_predictions: item %d is in no part", (int)i + 1);
		}
	free(seen);
	m->mean_loss = lsum / (double)n;
	m->top1 = hit1 / (double)n;
	m->top5_acc = hit5 / (double)n;
	return 1;
}

void lpl_open_predict(lua_State *L)
{
	static const luaL_Reg meta[] = { { "__gc", p_gc }, { "__close", p_gc },
					 { "__index", p_index }, { NULL, NULL } };
	static const luaL_Reg methods[] = {
		{ "probs", p_probs }, { "top", p_top }, { "label", p_label }, { "item", p_item },
		{ "item_loss", p_loss_of }, { "write", p_write }, { "free", p_gc }, { NULL, NULL } };
	static const luaL_Reg fns[] = { { "predict_loader", l_predict_loader },
					{ "merge_predictions", l_merge }, { NULL, NULL } };

	luaL_newmetatable(L, LPL_PREDICTIONS);
	luaL_setfuncs(L, meta, 0);
	lua_newtable(L);
	luaL_setfuncs(L, methods, 0);
	lua_setfield(L, -2, "methods");
	lua_pop(L, 1);
	luaL_setfuncs(L, fns, 0);
}
