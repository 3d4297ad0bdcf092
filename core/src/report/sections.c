/* sections.c — one section of the report per analysis: what it is (plugin, parameters, time),
 * its findings in words (the first `top`, the rest counted, a count per kind), and a contact
 * sheet of the items those findings name: one picture per item, two for a finding with a
 * partner (a duplicate and its original). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/loupe.h"
#include "report_int.h"
#include "thumbs.h"

struct findings {
	size_t n;
	char **kind, **split, **other_split, **text;
	int64_t *item, *other_item;
	int32_t *cls, *other_class;
	float *score;
};

static void findings_free(struct findings *f)
{
	free(f->kind);
	free(f->split);
	free(f->other_split);
	free(f->text);
	free(f->item);
	free(f->other_item);
	free(f->cls);
	free(f->other_class);
	free(f->score);
}

static int strings(lpr *r, const char *g, const char *col, size_t n, char ***out)
{
	char path[400];
	size_t m = 0;
	snprintf(path, sizeof path, "/analyses/%s/findings/%s", g, col);
	int rc = lp_archive_read_strings(r->a, path, &m, out);
	if (!rc && m != n)
		rc = lp_error(r->ctx, LP_ERR_FORMAT, "%s: %s has %zu rows, kind has %zu",
			      lp_archive_path(r->a), path, m, n);
	return rc;
}

static int numbers(lpr *r, const char *g, const char *col, int dtype, size_t size, size_t n,
		   void **out)
{
	char path[400];
	snprintf(path, sizeof path, "/analyses/%s/findings/%s", g, col);
	if (!(*out = malloc(size * (n + 1))))
		return lp_error(r->ctx, LP_ERR_NOMEM, "report: out of memory");
	return lp_archive_read(r->a, path, dtype, *out, size * n);
}

static int findings_read(lpr *r, const char *g, struct findings *f)
{
	char path[400];
	int rc;

	memset(f, 0, sizeof(*f));
	snprintf(path, sizeof path, "/analyses/%s/findings/kind", g);
	int kind = 0;
	if (lp_archive_exists(r->a, path, &kind) != LP_OK || kind != LP_NODE_DATASET)
		return LP_OK; /* no findings table: an empty section */
	if ((rc = lp_archive_read_strings(r->a, path, &f->n, &f->kind)) ||
	    (rc = strings(r, g, "split", f->n, &f->split)) ||
	    (rc = strings(r, g, "other_split", f->n, &f->other_split)) ||
	    (rc = strings(r, g, "text", f->n, &f->text)) ||
	    (rc = numbers(r, g, "item", LP_I64, 8, f->n, (void **)&f->item)) ||
	    (rc = numbers(r, g, "other_item", LP_I64, 8, f->n, (void **)&f->other_item)) ||
	    (rc = numbers(r, g, "class", LP_I32, 4, f->n, (void **)&f->cls)) ||
	    (rc = numbers(r, g, "other_class", LP_I32, 4, f->n, (void **)&f->other_class)) ||
	    (rc = numbers(r, g, "score", LP_F32, 4, f->n, (void **)&f->score)))
		return lp_error_wrap(r->ctx, rc, "report: the findings of %s", g);
	return LP_OK;
}

/* the split a findings row names, less a "_crossval" suffix */
static struct lpr_split *split_of(lpr *r, const char *name)
{
	char s[300];
	size_t n = strlen(name);
	snprintf(s, sizeof s, "%.*s", (int)(n > 9 && strcmp(name + n - 9, "_crossval") == 0 ?
					    n - 9 : n), name);
	return lpr_split_find(r, s);
}

/* one picture of the sheet */
struct pic {
	struct lpr_split *s;
	int64_t row;
	char *url;
};

static void fetch(lpr *r, struct pic *p, size_t n)
{
	int64_t *rows = malloc(sizeof(int64_t) * (n + 1));
	char **urls = malloc(sizeof(char *) * (n + 1));
	size_t *at = malloc(sizeof(size_t) * (n + 1));

	for (size_t i = 0; rows && urls && at && r->ri && i < n; i++) {
		if (!p[i].s || p[i].url)
			continue;
		size_t m = 0; /* every picture of this split not fetched yet, in one batch */
		for (size_t j = i; j < n; j++)
			if (p[j].s == p[i].s && !p[j].url && p[j].row >= 0 && p[j].row < p[j].s->n) {
				rows[m] = p[j].row;
				at[m++] = j;
			}
		char why[600] = "";
		if (!m) { /* rows out of range: no picture */
			p[i].url = strdup("");
			continue;
		}
		if (lpr_thumbs(r->ctx, r->ri, p[i].s->name, rows, m, r->o.thumb, urls, why,
				     sizeof why))
			break;
		if (why[0] && !r->images_why[0])
			snprintf(r->images_why, sizeof r->images_why, "%s", why);
		for (size_t k = 0; k < m; k++)
			p[at[k]].url = urls[k] ? urls[k] : strdup("");
	}
	free(rows);
	free(urls);
	free(at);
}

/* escaped, with a line break allowed after each _ - / (class names in narrow captions) */
static void breakable(lpr_buf *b, const char *s)
{
	char piece[256];
	while (*s) {
		size_t n = strcspn(s, "_-/");
		n += s[n] != 0;
		n = n < sizeof piece - 1 ? n : sizeof piece - 1;
		memcpy(piece, s, n);
		piece[n] = 0;
		lpr_escape(b, piece);
		if (strchr("_-/", piece[n - 1]))
			lpr_puts(b, "<wbr>");
		s += n;
	}
}

static void caption_item(lpr *r, const struct pic *p)
{
	lpr_buf *b = &r->b;
	if (!p->s)
		return;
	lpr_escape(b, p->s->name);
	lpr_printf(b, " %" PRId64 "<br>given: ", p->row);
	breakable(b, p->s->labels ? lpr_class(r, p->s->labels[p->row]) : "?");
	if (p->s->predicted) {
		lpr_puts(b, "<br>predicted: ");
		breakable(b, lpr_class(r, p->s->predicted[p->row]));
		lpr_printf(b, " (%.2f)", p->s->confidence[p->row]);
	}
}

static int put_img(lpr *r, const struct pic *p)
{
	if (p->url && p->url[0]) {
		lpr_printf(&r->b, "<img class='thumb' width='%d' height='%d' alt='' src='",
			   r->o.thumb, r->o.thumb);
		lpr_puts(&r->b, p->url); /* base64 and a fixed prefix: nothing to escape */
		lpr_puts(&r->b, "'>");
		r->images++;
		return 1;
	}
	lpr_printf(&r->b, "<div class='noimg' style='width:%dpx;height:%dpx'>no image</div>",
		   r->o.thumb, r->o.thumb);
	r->missing++;
	return 0;
}

static void sheet(lpr *r, const struct findings *f, size_t shown)
{
	size_t n = 0, cards = 0;
	struct pic *p = calloc(2 * shown + 1, sizeof(*p));
	if (!p)
		return;
	for (size_t i = 0; i < shown; i++) {
		if (f->item[i] < 0)
			continue;
		cards++;
		p[n++] = (struct pic){ split_of(r, f->split[i]), f->item[i], NULL };
		if (f->other_item[i] >= 0)
			p[n++] = (struct pic){ split_of(r, f->other_split[i]), f->other_item[i], NULL };
	}
	if (cards) {
		fetch(r, p, n);
		int expected = 0;
		for (size_t i = 0; i < n; i++)
			expected += p[i].url && p[i].url[0];
		lpr_printf(&r->b, "<div class='sheet' data-expected='%d' data-analysis='", expected);
		lpr_escape(&r->b, r->section);
		lpr_puts(&r->b, "'>\n");
		for (size_t i = 0, k = 0; i < shown; i++) {
			if (f->item[i] < 0)
				continue;
			int pair = f->other_item[i] >= 0;
			lpr_printf(&r->b, "<figure class='card%s'><div class='imgs'>", pair ? " pair" : "");
			put_img(r, &p[k]);
			if (pair)
				put_img(r, &p[k + 1]);
			lpr_puts(&r->b, "</div><figcaption><b>");
			breakable(&r->b, f->kind[i]);
			lpr_printf(&r->b, "</b><br>score %.3g<br>", f->score[i]);
			caption_item(r, &p[k]);
			if (pair) {
				lpr_puts(&r->b, "<br>&mdash; and ");
				caption_item(r, &p[k + 1]);
			}
			lpr_puts(&r->b, "</figcaption></figure>\n");
			k += 1 + (size_t)pair;
		}
		lpr_puts(&r->b, "</div>\n");
		if (!r->ri)
			lpr_printf(&r->b, "<p class='bad'>No images: %s</p>\n", r->images_why);
	}
	for (size_t i = 0; i < n; i++)
		free(p[i].url);
	free(p);
}

static void kinds(lpr *r, const struct findings *f)
{
	const char *seen[32];
	size_t count[32], m = 0;

	for (size_t i = 0; i < f->n; i++) {
		size_t j = 0;
		while (j < m && strcmp(seen[j], f->kind[i]))
			j++;
		if (j == m && m < 32) {
			seen[m] = f->kind[i];
			count[m++] = 0;
		}
		if (j < m)
			count[j]++;
	}
	for (size_t j = 0; j < m; j++) {
		lpr_printf(&r->b, "%s%zu ", j ? ", " : " (", count[j]);
		lpr_escape(&r->b, seen[j]);
	}
	lpr_puts(&r->b, m ? ")" : "");
}

int lpr_analysis_section(lpr *r, const char *name)
{
	char obj[300];
	struct findings f;
	int rc;

	snprintf(obj, sizeof obj, "/analyses/%s", name);
	r->section = name;
	char *version = lpr_attr(r, obj, "version"), *params = lpr_attr(r, obj, "params");
	char *secs = lpr_attr(r, obj, "seconds"), *skipped = lpr_attr(r, obj, "skipped");
	if (!(rc = findings_read(r, name, &f))) {
		size_t shown = f.n < (size_t)r->o.top ? f.n : (size_t)r->o.top;
		lpr_puts(&r->b, "<section id='a-");
		lpr_escape(&r->b, name);
		lpr_puts(&r->b, "'><h2>");
		lpr_escape(&r->b, name);
		lpr_puts(&r->b, "</h2><p class='meta'>version ");
		lpr_escape(&r->b, version ? version : "?");
		lpr_puts(&r->b, params && *params ? "; parameters " : "");
		lpr_escape(&r->b, params ? params : "");
		lpr_printf(&r->b, "; %.3g s; %zu findings", secs ? atof(secs) : 0.0, f.n);
		kinds(r, &f);
		lpr_puts(&r->b, ".</p>\n");
		if (skipped) {
			lpr_puts(&r->b, "<p class='bad'>Not run: ");
			lpr_escape(&r->b, skipped);
			lpr_puts(&r->b, "</p>\n");
		}
		if (shown)
			lpr_puts(&r->b, "<ol class='findings'>\n");
		for (size_t i = 0; i < shown; i++) {
			if (i == 10 && shown > 12) /* the first ten in view, the rest a click away */
				lpr_printf(&r->b, "</ol><details><summary>%zu more</summary>"
					   "<ol class='findings' start='11'>\n", shown - 10);
			lpr_puts(&r->b, "<li>");
			lpr_escape(&r->b, f.text[i]);
			lpr_puts(&r->b, "</li>\n");
		}
		if (shown)
			lpr_puts(&r->b, shown > 12 ? "</ol></details>\n" : "</ol>\n");
		if (f.n > shown) {
			lpr_printf(&r->b, "<p>&hellip; and %zu more (all of them in the archive, "
				   "/analyses/", f.n - shown);
			lpr_escape(&r->b, name);
			lpr_puts(&r->b, "/findings).</p>\n");
		}
		sheet(r, &f, shown);
		lpr_puts(&r->b, "</section>\n");
	}
	findings_free(&f);
	free(version);
	free(params);
	free(secs);
	free(skipped);
	return rc;
}

/* ---- /compare/annotations: before and after a review's decisions ---------------------------
 * (experiments/reannotate_retrain.lua; docs/ARCHIVE.md) */

#define CMP "/compare/annotations"

/* a [k] column of /compare/annotations as doubles, or NULL */
static double *cmp_column(lpr *r, const char *name, size_t k)
{
	char path[300];
	int dtype, rank, kind = 0;
	int64_t dims[8];
	double *v;

	snprintf(path, sizeof path, CMP "/%s", name);
	if (lp_archive_exists(r->a, path, &kind) || kind != LP_NODE_DATASET ||
	    lp_archive_info(r->a, path, &dtype, &rank, dims) || rank != 1 ||
	    dims[0] != (int64_t)k || !(v = malloc(sizeof(double) * (k + 1))))
		return NULL;
	float *f = malloc(sizeof(float) * (k + 1));
	if (!f || lp_archive_read(r->a, path, LP_F32, f, sizeof(float) * k)) {
		free(f);
		free(v);
		return NULL;
	}
	for (size_t i = 0; i < k; i++)
		v[i] = f[i];
	free(f);
	return v;
}

static void cmp_classes(lpr *r)
{
	double *n = cmp_column(r, "support", r->k), *b = cmp_column(r, "class_accuracy_before", r->k);
	double *a = cmp_column(r, "class_accuracy_after", r->k);

	if (n && b && a) {
		lpr_puts(&r->b, "<table class='kv' id='annotations-classes'><tr><th>class</th>"
			 "<th>items</th><th>before</th><th>after</th><th>change</th></tr>\n");
		for (size_t c = 0; c < r->k; c++) {
			if (n[c] <= 0)
				continue; /* a class merged away: said above */
			lpr_puts(&r->b, "<tr><td>");
			lpr_escape(&r->b, lpr_class(r, (int64_t)c));
			lpr_printf(&r->b, "</td><td>%.0f</td><td>%.3f</td><td>%.3f</td><td>%+.3f</td>"
				   "</tr>\n", n[c], b[c], a[c], a[c] - b[c]);
		}
		lpr_puts(&r->b, "</table>\n");
	}
	free(n);
	free(b);
	free(a);
}

static void cmp_pairs(lpr *r)
{
	int dtype, rank, kind = 0;
	int64_t dims[8];

	if (lp_archive_exists(r->a, CMP "/pairs/label", &kind) || kind != LP_NODE_DATASET ||
	    lp_archive_info(r->a, CMP "/pairs/label", &dtype, &rank, dims) || rank != 1 || !dims[0])
		return;
	size_t n = (size_t)dims[0], shown = n < (size_t)r->o.top ? n : (size_t)r->o.top;
	int32_t *l = malloc(4 * (n + 1)), *p = malloc(4 * (n + 1));
	int64_t *b = malloc(8 * (n + 1)), *a = malloc(8 * (n + 1));
	if (l && p && b && a && !lp_archive_read(r->a, CMP "/pairs/label", LP_I32, l, 4 * n) &&
	    !lp_archive_read(r->a, CMP "/pairs/predicted", LP_I32, p, 4 * n) &&
	    !lp_archive_read(r->a, CMP "/pairs/before", LP_I64, b, 8 * n) &&
	    !lp_archive_read(r->a, CMP "/pairs/after", LP_I64, a, 8 * n)) {
		lpr_printf(&r->b, "<p>Confusions that moved (%zu; the largest moves first):</p>\n"
			   "<table class='kv' id='annotations-pairs'><tr><th>label</th>"
			   "<th>predicted</th><th>before</th><th>after</th></tr>\n", n);
		for (size_t i = 0; i < shown; i++) {
			lpr_puts(&r->b, "<tr><td>");
			lpr_escape(&r->b, lpr_class(r, l[i]));
			lpr_puts(&r->b, "</td><td>");
			lpr_escape(&r->b, lpr_class(r, p[i]));
			lpr_printf(&r->b, "</td><td>%" PRId64 "</td><td>%" PRId64 "</td></tr>\n", b[i],
				   a[i]);
		}
		lpr_puts(&r->b, "</table>\n");
	}
	free(l);
	free(p);
	free(b);
	free(a);
}

/* "a into b, ..." by class name, from the merged attribute's "from>into, ..." */
static void cmp_merged(lpr *r, const char *text)
{
	int from, into, used, any = 0;
	while (text && sscanf(text, " %d>%d%n", &from, &into, &used) == 2) {
		lpr_puts(&r->b, any++ ? ", " : "");
		lpr_escape(&r->b, lpr_class(r, from));
		lpr_puts(&r->b, " into ");
		lpr_escape(&r->b, lpr_class(r, into));
		text += used;
		text += *text == ',';
	}
	lpr_puts(&r->b, any ? "" : "none");
}

int lpr_annotations_section(lpr *r)
{
	static const char *const keys[] = { "source", "hash", "relabelled", "removed", "excluded",
					    "also", "merged", "items", "accuracy_before",
					    "accuracy_after" };
	char *v[10];
	int kind = 0;

	if (lp_archive_exists(r->a, CMP, &kind) || kind != LP_NODE_GROUP)
		return LP_OK;
	for (size_t i = 0; i < 10; i++)
		v[i] = lpr_attr(r, CMP, keys[i]);
	double before = v[8] ? atof(v[8]) : 0, after = v[9] ? atof(v[9]) : 0;
	lpr_puts(&r->b, "<section id='annotations'><h2>Before and after the annotations</h2>"
		 "<p class='meta'>Decisions from ");
	lpr_escape(&r->b, v[0] ? v[0] : "?");
	lpr_puts(&r->b, " (hash ");
	lpr_escape(&r->b, v[1] ? v[1] : "?");
	lpr_puts(&r->b, "): ");
	lpr_escape(&r->b, v[2] ? v[2] : "?");
	lpr_puts(&r->b, " relabelled, ");
	lpr_escape(&r->b, v[3] ? v[3] : "?");
	lpr_puts(&r->b, " removed, ");
	lpr_escape(&r->b, v[4] ? v[4] : "?");
	lpr_puts(&r->b, " also-shown items excluded (also = ");
	lpr_escape(&r->b, v[5] ? v[5] : "?");
	lpr_puts(&r->b, "); merged: ");
	cmp_merged(r, v[6]);
	lpr_puts(&r->b, ".</p>\n<p id='annotations-accuracy'>Test accuracy on the merged label set (");
	lpr_escape(&r->b, v[7] ? v[7] : "?");
	lpr_printf(&r->b, " items; both models' predictions mapped through the merges): before "
		   "%.4f, after %.4f (%+.1f points).</p>\n", before, after, 100 * (after - before));
	cmp_classes(r);
	cmp_pairs(r);
	lpr_puts(&r->b, "</section>\n");
	for (size_t i = 0; i < 10; i++)
		free(v[i]);
	return LP_OK;
}
