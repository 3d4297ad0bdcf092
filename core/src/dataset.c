/* dataset.c — dataset instances: the items a plugin declares, checked, and the on_bad policy. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data.h"
#include "loupe/image.h"

#define SLOT(vt, f) \
	((vt)->size >= offsetof(lp_dataset_vtable, f) + sizeof((vt)->f) ? (vt)->f : NULL)

static char *dup_str(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Length of the valid UTF-8 prefix of s (== strlen when all of it is valid). */
static size_t utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *start = p;

	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2
			: (*p & 0xf8) == 0xf0 ? 3 : -1;
		if (n < 0 || (n == 1 && *p < 0xc2) || (n == 3 && *p > 0xf4))
			break;
		int ok = 1;
		for (int k = 1; k <= n; k++)
			if ((p[k] & 0xc0) != 0x80)
				ok = 0;
		if (!ok)
			break;
		p += 1 + n;
	}
	return (size_t)(p - start);
}

/* s with every byte of an invalid UTF-8 sequence written as \xNN (malloc'd). */
static char *utf8_escape(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(4 * n + 1), *o = out;

	if (!out)
		return NULL;
	while (*s) {
		size_t ok = utf8_valid(s);
		memcpy(o, s, ok);
		o += ok;
		s += ok;
		if (*s) {
			o += sprintf(o, "\\x%02X", (unsigned char)*s);
			s++;
		}
	}
	*o = 0;
	return out;
}

static void free_split(lp_split *s)
{
	if (!s)
		return;
	for (int64_t i = 0; i < s->n; i++) {
		free(s->items[i].name);
		free(s->items[i].path);
	}
	free(s->items);
	free(s->stats);
	free(s->name);
	free(s);
}

void lp_dataset_free(lp_dataset *ds)
{
	if (!ds)
		return;
	if (ds->opened && SLOT(ds->vt, close))
		ds->vt->close(ds->ctx, ds->state);
	for (size_t i = 0; i < ds->nsplits; i++)
		free_split(ds->splits[i]);
	free(ds->splits);
	for (size_t i = 0; i < ds->nclasses; i++)
		free(ds->classes[i]);
	free(ds->classes);
	for (size_t i = 0; i < ds->nskipped; i++) {
		free((char *)ds->skipped[i].split);
		free((char *)ds->skipped[i].name);
		free((char *)ds->skipped[i].reason);
	}
	free(ds->skipped);
	free(ds->seen);
	free(ds->params_text);
	lp_params_free(ds->params);
	free(ds->state);
	free(ds);
}

int lpi_dataset_bad(lp_dataset *ds, const char *split, const char *name, const char *reason)
{
	char *esc = utf8_escape(name ? name : "");

	if (!esc)
		return lp_error(ds->ctx, LP_ERR_NOMEM, "dataset %s: out of memory", ds->plugin->name);
	if (ds->opts.on_bad != LP_ON_BAD_SKIP) {
		lp_error(ds->ctx, LP_ERR_FORMAT, "dataset %s: %s%s%s: %s (on_bad = \"error\"; "
			 "on_bad = \"skip\" would skip it and record why)", ds->plugin->name,
			 split && *split ? split : "", split && *split ? " item " : "", esc, reason);
		free(esc);
		return LP_ERR_FORMAT;
	}
	if (ds->nskipped == ds->capskipped) {
		size_t cap = ds->capskipped ? 2 * ds->capskipped : 16;
		lp_skipped *p = realloc(ds->skipped, cap * sizeof(*p));
		if (!p) {
			free(esc);
			return lp_error(ds->ctx, LP_ERR_NOMEM, "dataset %s: out of memory",
					ds->plugin->name);
		}
		ds->skipped = p;
		ds->capskipped = cap;
	}
	lp_skipped *k = &ds->skipped[ds->nskipped];
	k->split = dup_str(split ? split : "");
	k->name = esc;
	k->reason = dup_str(reason);
	if (!k->split || !k->reason) {
		free((char *)k->split);
		free((char *)k->reason);
		free(esc);
		return lp_error(ds->ctx, LP_ERR_NOMEM, "dataset %s: out of memory", ds->plugin->name);
	}
	ds->nskipped++;
	return LP_OK;
}

int lpi_dataset_host_bad(lp_dataset *ds, const char *split, const char *name, const char *reason)
{
	return lpi_dataset_bad(ds, split, name, reason ? reason : "bad input");
}

int lpi_dataset_class(lp_dataset *ds, const char *name)
{
	if (!name || !*name)
		return lp_error(ds->ctx, LP_ERR_PLUGIN, "dataset %s: class %zu has no name",
				ds->plugin->name, ds->nclasses);
	if (utf8_valid(name) != strlen(name)) {
		char *esc = utf8_escape(name);
		int rc = lp_error(ds->ctx, LP_ERR_FORMAT, "dataset %s: class name '%s' is not "
				  "valid UTF-8; rename the directory", ds->plugin->name,
				  esc ? esc : "?");
		free(esc);
		return rc;
	}
	for (size_t i = 0; i < ds->nclasses; i++)
		if (strcmp(ds->classes[i], name) == 0)
			return lp_error(ds->ctx, LP_ERR_PLUGIN, "dataset %s: class '%s' declared "
					"twice", ds->plugin->name, name);
	for (size_t i = 0; i < ds->nsplits; i++)
		if (ds->splits[i]->n)
			return lp_error(ds->ctx, LP_ERR_PLUGIN, "dataset %s: class '%s' declared "
					"after the first item; declare every class first",
					ds->plugin->name, name);
	if (ds->nclasses == ds->capclasses) {
		size_t cap = ds->capclasses ? 2 * ds->capclasses : 16;
		char **p = realloc(ds->classes, cap * sizeof(*p));
		if (!p)
			return lp_error(ds->ctx, LP_ERR_NOMEM, "dataset: out of memory");
		ds->classes = p;
		ds->capclasses = cap;
	}
	if (!(ds->classes[ds->nclasses] = strdup(name)))
		return lp_error(ds->ctx, LP_ERR_NOMEM, "dataset: out of memory");
	ds->nclasses++;
	return LP_OK;
}

static lp_split *get_split(lp_dataset *ds, const char *name, int create)
{
	for (size_t i = 0; i < ds->nsplits; i++)
		if (strcmp(ds->splits[i]->name, name) == 0)
			return ds->splits[i];
	if (!create)
		return NULL;
	lp_split **p = realloc(ds->splits, (ds->nsplits + 1) * sizeof(*p));
	if (!p)
		return NULL;
	ds->splits = p;
	lp_split *s = calloc(1, sizeof(*s));
	if (!s || !(s->name = strdup(name))) {
		free(s);
		return NULL;
	}
	s->ds = ds;
	ds->splits[ds->nsplits++] = s;
	return s;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

/* Remember `path`; if it was seen before, return the earlier entry's index + 1. */
static int seen_add(lp_dataset *ds, const char *path, const char *split, const char *origin,
		    size_t *earlier)
{
	if (2 * (ds->nseen + 1) > ds->capseen) {
		size_t cap = ds->capseen ? 2 * ds->capseen : 1024;
		void *p = calloc(cap, sizeof(*ds->seen));
		if (!p)
			return -1;
		struct lpi_seen *old = ds->seen;
		size_t oldcap = ds->capseen;
		ds->seen = p;
		ds->capseen = cap;
		for (size_t i = 0; i < oldcap; i++) {
			const char *q = old[i].path;
			if (!q)
				continue;
			size_t h = hash_str(q) & (cap - 1);
			while (ds->seen[h].path)
				h = (h + 1) & (cap - 1);
			ds->seen[h] = old[i];
		}
		free(old);
	}
	size_t h = hash_str(path) & (ds->capseen - 1);
	while (ds->seen[h].path) {
		if (strcmp(ds->seen[h].path, path) == 0) {
			*earlier = h;
			return 1;
		}
		h = (h + 1) & (ds->capseen - 1);
	}
	ds->seen[h].path = path;
	ds->seen[h].split = split;
	ds->seen[h].origin = origin;
	ds->nseen++;
	return 0;
}

int lpi_dataset_item(lp_dataset *ds, const lp_item_desc *d)
{
	lp_ctx *ctx = ds->ctx;
	const char *dn = ds->plugin->name;
	char reason[1024], where[512] = "";

	if (!d || d->size < offsetof(lp_item_desc, key) + sizeof(d->key))
		return lp_error(ctx, LP_ERR_ABI, "dataset %s: item descriptor is %u bytes; this "
				"loupe needs %zu", dn, d ? d->size : 0, sizeof(lp_item_desc));
	if (!d->split || !*d->split)
		return lp_error(ctx, LP_ERR_PLUGIN, "dataset %s: an item has no split", dn);
	if (d->label < 0 || (size_t)d->label >= ds->nclasses)
		return lp_error(ctx, LP_ERR_PLUGIN, "dataset %s: item %s has label %d; classes are "
				"0..%zu", dn, d->name ? d->name : d->path ? d->path : "?",
				(int)d->label, ds->nclasses ? ds->nclasses - 1 : 0);
	lp_split *s = get_split(ds, d->split, 1);
	if (!s)
		return lp_error(ctx, LP_ERR_NOMEM, "dataset %s: out of memory", dn);
	if (d->origin)
		snprintf(where, sizeof where, " (listed at %s)", d->origin);

	char defname[64];
	const char *name = d->name;
	if (!name && d->path)
		name = d->path;
	if (!name) {
		snprintf(defname, sizeof defname, "%s/%" PRId64, d->split, s->n);
		name = defname;
	}
	if (utf8_valid(name) != strlen(name) || (d->path && utf8_valid(d->path) !=
						 strlen(d->path))) {
		snprintf(reason, sizeof reason, "file name is not valid UTF-8 (invalid bytes shown "
			 "as \\xNN)%s", where);
		return lpi_dataset_bad(ds, d->split, d->path ? d->path : name, reason);
	}

	uint64_t bytes;
	if (d->path) {
		struct stat st;
		uint64_t maxb = ds->opts.max_bytes ? ds->opts.max_bytes : LP_IMAGE_MAX_BYTES;
		if (stat(d->path, &st) != 0) {
			snprintf(reason, sizeof reason, "%s%s", strerror(errno), where);
			return lpi_dataset_bad(ds, d->split, name, reason);
		}
		if (!S_ISREG(st.st_mode)) {
			snprintf(reason, sizeof reason, "not a regular file%s", where);
			return lpi_dataset_bad(ds, d->split, name, reason);
		}
		if (st.st_size == 0) {
			snprintf(reason, sizeof reason, "empty file (0 bytes)%s", where);
			return lpi_dataset_bad(ds, d->split, name, reason);
		}
		if ((uint64_t)st.st_size > maxb) {
			snprintf(reason, sizeof reason, "file is %" PRIu64 " bytes, over the limit "
				 "of %" PRIu64 "%s", (uint64_t)st.st_size, maxb, where);
			return lpi_dataset_bad(ds, d->split, name, reason);
		}
		bytes = (uint64_t)st.st_size;
		size_t earlier;
		int dup = seen_add(ds, d->path, s->name, d->origin, &earlier);
		if (dup < 0)
			return lp_error(ctx, LP_ERR_NOMEM, "dataset %s: out of memory", dn);
		if (dup) {
			const char *eo = ds->seen[earlier].origin;
			snprintf(reason, sizeof reason, "listed twice: already an item of %s%s%s%s",
				 ds->seen[earlier].split, eo ? " (at " : "", eo ? eo : "",
				 eo ? ")" : "");
			if (d->origin)
				snprintf(reason + strlen(reason), sizeof reason - strlen(reason),
					 "; again at %s", d->origin);
			return lpi_dataset_bad(ds, d->split, name, reason);
		}
	} else {
		uint64_t maxp = ds->opts.max_pixels ? ds->opts.max_pixels : LP_IMAGE_MAX_PIXELS;
		if (!SLOT(ds->vt, read))
			return lp_error(ctx, LP_ERR_PLUGIN, "dataset %s: item %s has no path and the "
					"plugin has no read()", dn, name);
		if (d->width <= 0 || d->height <= 0 || (d->channels != 1 && d->channels != 3) ||
		    (uint64_t)d->width * (uint64_t)d->height > maxp)
			return lp_error(ctx, LP_ERR_PLUGIN, "dataset %s: item %s is %dx%dx%d; pixel "
					"items need 1 or 3 channels and at most %" PRIu64 " pixels",
					dn, name, d->width, d->height, d->channels, maxp);
		bytes = (uint64_t)d->width * (uint64_t)d->height * (uint64_t)d->channels;
	}

	if (s->n == s->cap) {
		int64_t cap = s->cap ? 2 * s->cap : 256;
		struct lp_item *p = realloc(s->items, (size_t)cap * sizeof(*p));
		if (!p)
			return lp_error(ctx, LP_ERR_NOMEM, "dataset %s: out of memory", dn);
		s->items = p;
		s->cap = cap;
	}
	struct lp_item *it = &s->items[s->n];
	memset(it, 0, sizeof(*it));
	it->name = strdup(name);
	it->path = dup_str(d->path);
	if (!it->name || (d->path && !it->path)) {
		free(it->name);
		free(it->path);
		return lp_error(ctx, LP_ERR_NOMEM, "dataset %s: out of memory", dn);
	}
	if (d->path) {
		/* the set keeps pointing at the item's own copy, which lives as long as the split */
		size_t h = hash_str(d->path) & (ds->capseen - 1);
		while (strcmp(ds->seen[h].path, d->path) != 0)
			h = (h + 1) & (ds->capseen - 1);
		ds->seen[h].path = it->path;
		ds->seen[h].split = s->name;
		ds->seen[h].origin = NULL; /* the plugin's string may not outlive this call */
	}
	it->label = d->label;
	it->width = d->path ? 0 : d->width;
	it->height = d->path ? 0 : d->height;
	it->channels = d->path ? 3 : d->channels;
	it->bytes = bytes;
	it->key = d->key;
	s->n++;
	return LP_OK;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp((*(const lp_kv *const *)a)->key, (*(const lp_kv *const *)b)->key);
}

/* "key=value, ..." sorted by key: the same text whatever order the caller's table had (a Lua
 * table's iteration order changes from run to run) */
char *lpi_kv_text(const lp_kv *kvs, size_t n)
{
	size_t cap = 64;
	char *out = NULL;
	const lp_kv **sorted = malloc(sizeof(*sorted) * (n ? n : 1));

	if (!sorted)
		return NULL;
	for (size_t i = 0; i < n; i++)
		sorted[i] = &kvs[i];
	qsort(sorted, n, sizeof(*sorted), kv_cmp);

	for (size_t i = 0; i < n; i++)
		cap += strlen(sorted[i]->key) + 40 +
		       (sorted[i]->value.type == LP_PARAM_STRING && sorted[i]->value.string
			? strlen(sorted[i]->value.string) : 0);
	if (!(out = malloc(cap))) {
		free(sorted);
		return NULL;
	}
	out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		const lp_value *v = &sorted[i]->value;
		size_t l = strlen(out);
		char *o = out + l;
		size_t room = cap - l;
		const char *sep = i ? ", " : "";
		switch (v->type) {
		case LP_PARAM_NUMBER: { /* the shortest text that reads back as the same number */
			char num[40];
			int prec = 15;
			do
				snprintf(num, sizeof num, "%.*g", prec, v->number);
			while (strtod(num, NULL) != v->number && ++prec <= 17);
			snprintf(o, room, "%s%s=%s", sep, sorted[i]->key, num);
			break;
		}
		case LP_PARAM_INT:
			snprintf(o, room, "%s%s=%" PRId64, sep, sorted[i]->key, v->integer);
			break;
		case LP_PARAM_BOOL:
			snprintf(o, room, "%s%s=%s", sep, sorted[i]->key, v->boolean ? "true" : "false");
			break;
		default:
			snprintf(o, room, "%s%s=\"%s\"", sep, sorted[i]->key,
				 v->string ? v->string : "");
		}
	}
	free(sorted);
	return out;
}

/* where a quoted value of lpi_kv_text ends: the quote before ", key=" or the end (the text
 * does not escape quotes, so a value holding `", x=` reads wrongly; none of ours does) */
static const char *quoted_end(const char *q)
{
	for (const char *e = strchr(q, '"'); e; e = strchr(e + 1, '"')) {
		const char *k = e + 1;
		if (!*k)
			return e;
		if (k[0] != ',' || k[1] != ' ')
			continue;
		k += 2;
		while (*k == '_' || (*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
		       (*k >= '0' && *k <= '9'))
			k++;
		if (*k == '=')
			return e;
	}
	return NULL;
}

int lpi_kv_parse(lp_ctx *ctx, const lp_plugin *p, const char *text, lp_kv **kv, size_t *n)
{
	size_t len = strlen(text), max = 1;
	for (const char *c = text; *c; c++)
		max += *c == '=';
	lp_kv *out = malloc(max * sizeof(*out) + len + 1);
	char *buf = (char *)(out + max), *s = buf;

	*kv = NULL;
	*n = 0;
	if (!out)
		return lp_error(ctx, LP_ERR_NOMEM, "dataset %s: out of memory", p->name);
	memcpy(buf, text, len + 1);
	size_t k = 0;
	while (*s) {
		char *eq = strchr(s, '='), *v, *next;
		if (!eq || eq == s || k == max)
			goto bad;
		*eq = 0;
		v = eq + 1;
		if (*v == '"') {
			char *e = (char *)quoted_end(v + 1);
			if (!e)
				goto bad;
			*e = 0;
			next = e + 1;
			v++;
		} else {
			next = strstr(v, ", ");
			next = next ? next : v + strlen(v);
		}
		if (*next) {
			if (next[0] != ',' || next[1] != ' ')
				goto bad;
			*next = 0;
			next += 2;
		}
		int type = LP_PARAM_STRING;
		for (size_t i = 0; p->params && p->params[i].name; i++)
			if (strcmp(p->params[i].name, s) == 0)
				type = p->params[i].type;
		out[k].key = s;
		if (lpi_param_parse(type, v, &out[k].value))
			goto bad;
		k++;
		s = next;
	}
	*kv = out;
	*n = k;
	return LP_OK;
bad:
	free(out);
	return lp_error(ctx, LP_ERR_FORMAT, "dataset %s: cannot read the parameters \"%s\"",
			p->name, text);
}

int lp_dataset_open(lp_ctx *ctx, const lp_plugin *p, const lp_kv *kv, size_t n,
		    const lp_dataset_opts *opts, lp_dataset **out)
{
	lp_dataset *ds;
	int rc;

	*out = NULL;
	if (!p || p->kind != LP_KIND_DATASET)
		return lp_error(ctx, LP_ERR_ARG, "dataset: plugin %s is not a dataset plugin",
				p ? p->name : "(null)");
	if (!(ds = calloc(1, sizeof(*ds))) || !(ds->state = calloc(1, p->state_size ? p->state_size
								   : 1))) {
		free(ds);
		return lp_error(ctx, LP_ERR_NOMEM, "dataset %s: out of memory", p->name);
	}
	ds->ctx = ctx;
	ds->plugin = p;
	ds->vt = p->vtable;
	if (opts)
		ds->opts = *opts;
	if (ds->opts.on_bad != LP_ON_BAD_ERROR && ds->opts.on_bad != LP_ON_BAD_SKIP) {
		lp_dataset_free(ds);
		return lp_error(ctx, LP_ERR_ARG, "dataset %s: on_bad must be \"skip\" or \"error\"",
				p->name);
	}
	if (!(ds->params_text = lpi_kv_text(kv, n))) {
		lp_dataset_free(ds);
		return lp_error(ctx, LP_ERR_NOMEM, "dataset %s: out of memory", p->name);
	}
	if ((rc = lp_params_new(ctx, p, kv, n, &ds->params))) {
		lp_dataset_free(ds);
		return rc;
	}
	ds->opened = 1;
	rc = ds->vt->open(ctx, ds->state, ds->params, ds);
	if (!rc)
		rc = lpi_params_check_reads(ctx, ds->params);
	free(ds->seen);
	ds->seen = NULL;
	ds->capseen = ds->nseen = 0;
	if (rc) {
		if (!strstr(lp_ctx_errmsg(ctx), p->name))
			lp_error_wrap(ctx, rc, "dataset %s", p->name);
		lp_dataset_free(ds);
		return rc;
	}
	if (!ds->nclasses || !ds->nsplits) {
		rc = lp_error(ctx, LP_ERR_FORMAT, "dataset %s: no %s found (parameters: %s)",
			      p->name, ds->nclasses ? "items" : "classes",
			      ds->params_text[0] ? ds->params_text : "the defaults");
		lp_dataset_free(ds);
		return rc;
	}
	if (ds->nskipped)
		lp_log(ctx, LP_LOG_WARN, "dataset %s: skipped %zu bad item%s while listing (first: "
		       "%s: %s); all are recorded under /dataset/skipped", p->name, ds->nskipped,
		       ds->nskipped == 1 ? "" : "s", ds->skipped[0].name, ds->skipped[0].reason);
	*out = ds;
	return LP_OK;
}

const char *lp_dataset_name(const lp_dataset *ds)
{
	return ds->plugin->name;
}

lp_ctx *lp_dataset_ctx(const lp_dataset *ds)
{
	return ds->ctx;
}

size_t lp_dataset_classes(const lp_dataset *ds, const char *const **names)
{
	if (names)
		*names = (const char *const *)ds->classes;
	return ds->nclasses;
}

size_t lp_dataset_split_count(const lp_dataset *ds)
{
	return ds->nsplits;
}

lp_split *lp_dataset_split_at(lp_dataset *ds, size_t i)
{
	return i < ds->nsplits ? ds->splits[i] : NULL;
}

lp_split *lp_dataset_split(lp_dataset *ds, const char *name)
{
	return name ? get_split(ds, name, 0) : NULL;
}

int lp_dataset_split_check(lp_dataset *ds, const char *name, lp_split **out)
{
	char have[512] = "";

	if ((*out = lp_dataset_split(ds, name)))
		return LP_OK;
	for (size_t i = 0; i < ds->nsplits; i++)
		snprintf(have + strlen(have), sizeof have - strlen(have), "%s\"%s\"", i ? ", " : "",
			 ds->splits[i]->name);
	return lp_error(ds->ctx, LP_ERR_NOTFOUND, "dataset %s: no split \"%s\"; it has %s",
			ds->plugin->name, name ? name : "(null)", have);
}

size_t lp_dataset_skipped(const lp_dataset *ds, const lp_skipped **out)
{
	if (out)
		*out = ds->skipped;
	return ds->nskipped;
}

int lp_dataset_fingerprint(lp_dataset *ds, char hex[65])
{
	size_t cap = 256, len = 0;
	char *buf = NULL;
	uint8_t d[32];

	for (size_t k = 0; k < ds->nsplits; k++)
		for (int64_t i = 0; i < ds->splits[k]->n; i++)
			cap += strlen(ds->splits[k]->name) + strlen(ds->splits[k]->items[i].name) + 48;
	if (!(buf = malloc(cap)))
		return lp_error(ds->ctx, LP_ERR_NOMEM, "dataset %s: out of memory", ds->plugin->name);
	for (size_t k = 0; k < ds->nsplits; k++) {
		const lp_split *s = ds->splits[k];
		for (int64_t i = 0; i < s->n; i++)
			len += (size_t)snprintf(buf + len, cap - len, "%s\t%s\t%" PRIu64 "\t%d\n",
						s->name, s->items[i].name, s->items[i].bytes,
						(int)s->items[i].label);
	}
	lpi_sha256(buf, len, d);
	free(buf);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", d[i]);
	return LP_OK;
}

lp_dataset *lp_split_dataset(const lp_split *s)
{
	return s->ds;
}

const char *lp_split_name(const lp_split *s)
{
	return s->name;
}

int64_t lp_split_count(const lp_split *s)
{
	return s->n;
}

int lp_split_item(const lp_split *s, int64_t i, lp_item_info *out)
{
	if (i < 0 || i >= s->n)
		return lp_error(s->ds->ctx, LP_ERR_ARG, "dataset %s: split %s has %" PRId64 " items; "
				"no item %" PRId64, s->ds->plugin->name, s->name, s->n, i);
	const struct lp_item *it = &s->items[i];
	out->name = it->name;
	out->path = it->path;
	out->label = it->label;
	out->width = it->width;
	out->height = it->height;
	out->channels = it->channels;
	out->bytes = it->bytes;
	out->key = it->key;
	return LP_OK;
}

void lp_split_class_counts(const lp_split *s, int64_t *counts)
{
	memset(counts, 0, s->ds->nclasses * sizeof(*counts));
	for (int64_t i = 0; i < s->n; i++)
		counts[s->items[i].label]++;
}

int lp_split_pixels(lp_ctx *ctx, const lp_split *s, int64_t i, int *width, int *height,
		    int *channels, uint8_t **data)
{
	const lp_dataset *ds = s->ds;

	*data = NULL;
	if (i < 0 || i >= s->n)
		return lp_error(ctx, LP_ERR_ARG, "dataset %s: split %s has %" PRId64 " items; no "
				"item %" PRId64, ds->plugin->name, s->name, s->n, i);
	const struct lp_item *it = &s->items[i];
	if (it->path) {
		lp_image img = { 0 };
		lp_image_limits lim = { ds->opts.max_pixels, ds->opts.max_bytes };
		int rc = lp_image_load(ctx, it->path, &lim, &img);
		if (rc)
			return rc;
		*width = img.width;
		*height = img.height;
		*channels = 3;
		*data = img.rgb;
		return LP_OK;
	}
	size_t bytes = (size_t)it->width * (size_t)it->height * (size_t)it->channels;
	uint8_t *p = malloc(bytes);
	if (!p)
		return lp_error(ctx, LP_ERR_NOMEM, "dataset %s: out of memory for item %s",
				ds->plugin->name, it->name);
	int rc = ds->vt->read(ctx, ds->state, it->key, p);
	if (rc) {
		free(p);
		return lp_error_wrap(ctx, rc, "dataset %s: item %s", ds->plugin->name, it->name);
	}
	*width = it->width;
	*height = it->height;
	*channels = it->channels;
	*data = p;
	return LP_OK;
}
