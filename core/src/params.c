/* params.c — declared parameter specs: checking them at load, validating caller tables. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "loupe/plugins.h"

struct lp_params {
	const lp_plugin *plugin;
	size_t n;
	lp_value *v;     /* one per spec entry, in spec order */
	char **strings;  /* owned copies of string values */
	char undeclared[64]; /* the first name the plugin read without declaring it */
};

const char *lp_param_type_name(int type)
{
	switch (type) {
	case LP_PARAM_NUMBER: return "number";
	case LP_PARAM_INT: return "integer";
	case LP_PARAM_BOOL: return "boolean";
	case LP_PARAM_STRING: return "string";
	default: return "unknown";
	}
}

static size_t spec_count(const lp_plugin *p)
{
	size_t n = 0;

	while (p->params && p->params[n].name)
		n++;
	return n;
}

/* Parse a value written as text into v (strings borrowed); 0 on success. */
int lpi_param_parse(int type, const char *s, lp_value *v)
{
	char *end;

	v->type = type;
	errno = 0;
	switch (type) {
	case LP_PARAM_NUMBER:
		v->number = strtod(s, &end);
		return *s == 0 || *end != 0 || errno;
	case LP_PARAM_INT:
		v->integer = strtoll(s, &end, 10);
		v->number = (double)v->integer;
		return *s == 0 || *end != 0 || errno;
	case LP_PARAM_BOOL:
		v->boolean = strcmp(s, "true") == 0;
		return !v->boolean && strcmp(s, "false") != 0;
	case LP_PARAM_STRING:
		v->string = s;
		return 0;
	default:
		return 1;
	}
}

int lpi_check_params(lp_ctx *ctx, const char *path, const lp_plugin *p)
{
	size_t n = spec_count(p);
	lp_value v;

	for (size_t i = 0; i < n; i++) {
		const lp_param_spec *s = &p->params[i];
		if (!s->name[0] || !s->help)
			return lp_error(ctx, LP_ERR_PLUGIN, "plugin: %s: parameter %zu has an empty "
					"name or a NULL help text", path, i);
		if (s->type < LP_PARAM_NUMBER || s->type > LP_PARAM_STRING)
			return lp_error(ctx, LP_ERR_PLUGIN, "plugin: %s: parameter '%s' has unknown "
					"type %d", path, s->name, s->type);
		if (s->def && lpi_param_parse(s->type, s->def, &v))
			return lp_error(ctx, LP_ERR_PLUGIN, "plugin: %s: default '%s' of parameter "
					"'%s' is not a %s", path, s->def, s->name,
					lp_param_type_name(s->type));
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->params[j].name, s->name) == 0)
				return lp_error(ctx, LP_ERR_PLUGIN, "plugin: %s: parameter '%s' is "
						"declared twice", path, s->name);
	}
	return LP_OK;
}

size_t lpi_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (lb >= 63 || la >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static int unknown_key(lp_ctx *ctx, const lp_plugin *p, const char *key)
{
	size_t n = spec_count(p), best = 99, len = 0;
	const char *guess = NULL;
	char known[1024] = "";

	for (size_t i = 0; i < n; i++) {
		size_t d = lpi_edit_distance(key, p->params[i].name);
		if (d < best) {
			best = d;
			guess = p->params[i].name;
		}
		if (len < sizeof known)
			len += snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "",
					p->params[i].name);
	}
	if (guess && best <= 2)
		return lp_error(ctx, LP_ERR_ARG, "%s: unknown parameter '%s' (did you mean '%s'? "
				"parameters: %s)", p->name, key, guess, known);
	return lp_error(ctx, LP_ERR_ARG, "%s: unknown parameter '%s' (parameters: %s)", p->name,
			key, n ? known : "none");
}

static const char *article(int type)
{
	return type == LP_PARAM_INT ? "an" : "a";
}

/* Convert a supplied value to the declared type, or fail naming key and plugin. */
static int coerce(lp_ctx *ctx, const lp_plugin *p, const lp_param_spec *s, const lp_value *in,
		  lp_value *out)
{
	*out = *in;
	out->type = s->type;
	if (s->type == LP_PARAM_NUMBER && in->type == LP_PARAM_INT)
		out->number = (double)in->integer;
	else if (s->type == LP_PARAM_INT && in->type == LP_PARAM_NUMBER &&
		 in->number == floor(in->number) && fabs(in->number) < 9.0e15)
		out->integer = (int64_t)in->number;
	else if (s->type != in->type)
		return lp_error(ctx, LP_ERR_ARG, "%s: parameter '%s' must be %s %s, got %s %s",
				p->name, s->name, article(s->type), lp_param_type_name(s->type),
				article(in->type), lp_param_type_name(in->type));
	if (s->type == LP_PARAM_INT)
		out->number = (double)out->integer;
	return LP_OK;
}

void lp_params_free(lp_params *params)
{
	if (!params)
		return;
	for (size_t i = 0; i < params->n; i++)
		free(params->strings[i]);
	free(params->strings);
	free(params->v);
	free(params);
}

int lp_params_new(lp_ctx *ctx, const lp_plugin *p, const lp_kv *kv, size_t n, lp_params **out)
{
	size_t ns = spec_count(p), i, j;
	lp_params *ps = calloc(1, sizeof(*ps));
	int rc = LP_OK;

	*out = NULL;
	if (!ps || !(ps->v = calloc(ns + 1, sizeof(*ps->v))) ||
	    !(ps->strings = calloc(ns + 1, sizeof(*ps->strings)))) {
		lp_params_free(ps);
		return lp_error(ctx, LP_ERR_NOMEM, "%s: out of memory", p->name);
	}
	ps->plugin = p;
	ps->n = ns;
	for (i = 0; i < n; i++) {
		for (j = 0; j < ns && strcmp(kv[i].key, p->params[j].name) != 0; j++)
			;
		if (j == ns) {
			rc = unknown_key(ctx, p, kv[i].key);
			goto out_free;
		}
		if ((rc = coerce(ctx, p, &p->params[j], &kv[i].value, &ps->v[j])))
			goto out_free;
		ps->v[j].type = -ps->v[j].type; /* mark as supplied */
	}
	for (j = 0; j < ns; j++) {
		const lp_param_spec *s = &p->params[j];
		if (ps->v[j].type < 0) {
			ps->v[j].type = -ps->v[j].type;
		} else if (!s->def) {
			rc = lp_error(ctx, LP_ERR_ARG, "%s: missing required parameter '%s' (%s: %s)",
				      p->name, s->name, lp_param_type_name(s->type), s->help);
			goto out_free;
		} else {
			lpi_param_parse(s->type, s->def, &ps->v[j]);
		}
		if (s->type == LP_PARAM_STRING) {
			const char *str = ps->v[j].string ? ps->v[j].string : "";
			if (!(ps->strings[j] = strdup(str))) {
				rc = lp_error(ctx, LP_ERR_NOMEM, "%s: out of memory", p->name);
				goto out_free;
			}
			ps->v[j].string = ps->strings[j];
		}
	}
	*out = ps;
	return LP_OK;
out_free:
	lp_params_free(ps);
	return rc;
}

static const lp_value *find(const lp_params *p, const char *name)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (strcmp(p->plugin->params[i].name, name) == 0)
			return &p->v[i];
	if (p && !p->undeclared[0]) /* the accessors cannot fail: remembered for the check */
		snprintf(((lp_params *)p)->undeclared, sizeof p->undeclared, "%s",
			 name && name[0] ? name : "(empty)");
	return NULL;
}

int lpi_params_check_reads(lp_ctx *ctx, const lp_params *p)
{
	if (!p || !p->undeclared[0])
		return LP_OK;
	return lp_error(ctx, LP_ERR_PLUGIN, "plugin %s read parameter '%s', which it does not "
			"declare (a bug in the plugin: add it to its params)", p->plugin->name,
			p->undeclared);
}

/* Host accessors: an undeclared name is a plugin bug; it reads as zero / false / "" and the
 * core fails the call that read it (lpi_params_check_reads). */
double lpi_param_number(const lp_params *p, const char *name)
{
	const lp_value *v = find(p, name);
	return v ? v->number : 0.0;
}

int64_t lpi_param_int(const lp_params *p, const char *name)
{
	const lp_value *v = find(p, name);
	return v ? v->integer : 0;
}

int lpi_param_bool(const lp_params *p, const char *name)
{
	const lp_value *v = find(p, name);
	return v ? v->boolean : 0;
}

const char *lpi_param_string(const lp_params *p, const char *name)
{
	const lp_value *v = find(p, name);
	return v && v->string ? v->string : "";
}
