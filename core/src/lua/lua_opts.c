/* lua_opts.c — reading numbers and flags out of option tables, the same way everywhere: a
 * number must be a Lua number (never a string that looks like one), finite, whole where an
 * integer is meant, and inside its range; every refusal names the option and the range. */
#include <math.h>
#include <stdio.h>

#include "lpl.h"

static void range_text(char *buf, size_t size, double lo, double hi, int lo_open, int integer)
{
	const char *kind = integer ? "an integer " : "";

	if (isinf(lo) && isinf(hi))
		snprintf(buf, size, "a finite number");
	else if (isinf(hi))
		snprintf(buf, size, "%s%s %.15g", kind, lo_open ? ">" : ">=", lo);
	else
		snprintf(buf, size, "%s%s%.15g .. %.15g", kind, lo_open ? "> " : "", lo, hi);
}

/* The number at the top of the stack, checked; raises naming what.key. */
static double checked(lua_State *L, const char *what, const char *key, double lo, double hi,
		      int lo_open, int integer)
{
	char range[96];
	double v;

	range_text(range, sizeof range, lo, hi, lo_open, integer);
	if (lua_type(L, -1) != LUA_TNUMBER)
		luaL_error(L, "%s: option '%s' must be %s, not a %s%s%s%s", what, key, range,
			   luaL_typename(L, -1), lua_type(L, -1) == LUA_TSTRING ? " (\"" : "",
			   lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "",
			   lua_type(L, -1) == LUA_TSTRING ? "\")" : "");
	v = lua_tonumber(L, -1);
	if (v != v || (integer && !lua_isinteger(L, -1) && floor(v) != v) || v < lo || v > hi ||
	    (lo_open && v == lo) || isinf(v) || (integer && fabs(v) >= 0x1p63)) {
		char num[40]; /* lua_pushfstring knows no %g */

		if (v != v)
			snprintf(num, sizeof num, "nan");
		else
			snprintf(num, sizeof num, "%.15g", v);
		luaL_error(L, "%s: option '%s' = %s is out of range (%s)", what, key, num, range);
	}
	return v;
}

lua_Integer lpl_opt_int(lua_State *L, int t, const char *what, const char *key, lua_Integer def,
			lua_Integer lo, lua_Integer hi)
{
	lua_Integer v = def;

	if (lua_getfield(L, t, key) != LUA_TNIL) {
		if (lua_isinteger(L, -1)) {
			v = lua_tointeger(L, -1);
			if (v < lo || v > hi) {
				char range[96];

				range_text(range, sizeof range, (double)lo, (double)hi, 0, 1);
				luaL_error(L, "%s: option '%s' = %I is out of range (%s)", what, key,
					   v, range);
			}
		} else {
			/* a float: whole and in range, so also below 2^63 */
			v = (lua_Integer)checked(L, what, key, (double)lo, (double)hi, 0, 1);
		}
	}
	lua_pop(L, 1);
	return v;
}

double lpl_opt_num(lua_State *L, int t, const char *what, const char *key, double def, double lo,
		   double hi, int lo_open)
{
	double v = def;

	if (lua_getfield(L, t, key) != LUA_TNIL)
		v = checked(L, what, key, lo, hi, lo_open, 0);
	lua_pop(L, 1);
	return v;
}

double lpl_check_num(lua_State *L, int idx, const char *what, const char *key, double lo,
		     double hi, int lo_open)
{
	double v;

	lua_pushvalue(L, idx);
	v = checked(L, what, key, lo, hi, lo_open, 0);
	lua_pop(L, 1);
	return v;
}

int lpl_opt_bool(lua_State *L, int t, const char *what, const char *key, int def)
{
	int v = def;

	if (lua_getfield(L, t, key) != LUA_TNIL) {
		if (!lua_isboolean(L, -1))
			luaL_error(L, "%s: option '%s' must be true or false, not a %s", what, key,
				   luaL_typename(L, -1));
		v = lua_toboolean(L, -1);
	}
	lua_pop(L, 1);
	return v;
}
