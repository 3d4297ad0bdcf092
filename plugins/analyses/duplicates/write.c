/* write.c — the duplicates analysis' results: per split, each item's hash and match; the
 * findings, one per copy, most important first: copies whose labels differ, then test images
 * that are training images, then copies within a split (duplicates.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duplicates.h"

#define host an_host

static int write_split(lp_ctx *ctx, struct dup_run *r, size_t s)
{
	const struct dup_split *sp = &r->splits[s];
	lp_archive *a = r->io->archive;
	const size_t n = (size_t)sp->n;
	int64_t *hash = malloc(8 * (n + 1)), *item = malloc(8 * (n + 1));
	int32_t *split = malloc(4 * (n + 1)), *kind = malloc(4 * (n + 1));
	float *diff = malloc(4 * (n + 1));
	int64_t dims[1] = { (int64_t)n };
	const char *ax[] = { "item" };
	char path[400];
	int rc = LP_OK;

	if (!hash || !item || !split || !kind || !diff)
		rc = host->error(ctx, LP_ERR_NOMEM, "duplicates: out of memory");
	for (size_t i = 0; !rc && i < n; i++) {
		const struct dup_item *it = &r->items[sp->first + (int64_t)i];
		const struct dup_split *o = it->match >= 0 ? dup_split_of(r, it->match) : NULL;
		hash[i] = (int64_t)it->hash;
		split[i] = o ? (int32_t)(o - r->splits) : -1;
		item[i] = o ? it->match - o->first : -1;
		kind[i] = it->kind;
		diff[i] = o ? it->diff : -1.0f;
	}
#define COL(col, type, data)                                                            \
	if (!rc) {                                                                      \
		snprintf(path, sizeof path, "%s/%s/%s", r->io->group, sp->name, col);    \
		rc = host->archive_write(a, path, type, 1, dims, ax, data);             \
	}
	COL("phash", LP_I64, hash);
	COL("match_split", LP_I32, split);
	COL("match_item", LP_I64, item);
	COL("match_kind", LP_I32, kind);
	COL("match_diff", LP_F32, diff);
#undef COL
	free(hash);
	free(item);
	free(split);
	free(kind);
	free(diff);
	return rc;
}

/* "test item 12" or "test item 12 ('bar/x.jpg')" when the name says more */
static void who(const struct dup_split *sp, int64_t row, char *out, size_t size)
{
	char plain[300];
	snprintf(plain, sizeof plain, "%s/%" PRId64, sp->name, row);
	if (sp->names && strcmp(sp->names[row], plain) != 0)
		snprintf(out, size, "%s item %" PRId64 " ('%s')", sp->name, row, sp->names[row]);
	else
		snprintf(out, size, "%s item %" PRId64, sp->name, row);
}

static int finding(struct dup_run *r, int64_t g, lp_findings *f)
{
	const struct dup_item *it = &r->items[g];
	const struct dup_split *a = dup_split_of(r, g), *b = dup_split_of(r, it->match);
	int64_t ra = g - a->first, rb = it->match - b->first;
	int32_t la = a->labels[ra], lb = b->labels[rb];
	double d = r->s->max_diff > 0 ? it->diff / r->s->max_diff : 0;
	char wa[400], wb[400], text[1400];
	const char *what = it->kind == DUP_EXACT ? "an exact copy" : "a near copy";
	const char *kind;
	double base;

	who(a, ra, wa, sizeof wa);
	who(b, rb, wb, sizeof wb);
	if (la != lb) {
		kind = "duplicate_label_conflict";
		base = 3;
		snprintf(text, sizeof text, "%s, labelled '%s', is %s of %s, labelled '%s': one of "
			 "the two labels is wrong.", wa, r->classes[la], what, wb, r->classes[lb]);
	} else {
		kind = it->kind == DUP_EXACT ? "exact_duplicate" : "near_duplicate";
		base = a != b ? 2 : 1;
		snprintf(text, sizeof text, "%s ('%s') is %s of %s%s.", wa, r->classes[la], what, wb,
			 a != b ? ": the same picture is in two splits" : "");
	}
	lp_finding row = { .kind = kind, .split = a->name, .item = ra, .cls = la,
			   .other_class = lb, .other_split = b->name, .other_item = rb,
			   .score = (float)(base - (d < 1 ? d : 1) * 0.5), .text = text };
	return lp_findings_add(f, &row);
}

static int attrs(struct dup_run *r, const char *skipped)
{
	lp_archive *a = r->io->archive;
	const char *g = r->io->group;
	const char **names = malloc(sizeof(char *) * (r->nsplits + 1));
	char path[400];
	int rc;

	if (!names)
		return LP_ERR_NOMEM;
	for (size_t i = 0; i < r->nsplits; i++)
		names[i] = r->splits[i].name;
	snprintf(path, sizeof path, "%s/splits", g);
	rc = host->archive_write_strings(a, path, r->nsplits, names, "split");
	free(names);
	if (!rc)
		rc = host->archive_attr_int(a, g, "items", r->n);
	if (!rc)
		rc = host->archive_attr_int(a, g, "exact", r->exact);
	if (!rc)
		rc = host->archive_attr_int(a, g, "near", r->near);
	if (!rc && skipped)
		rc = host->archive_attr_string(a, g, "skipped", skipped);
	return rc;
}

int dup_write(lp_ctx *ctx, struct dup_run *r)
{
	lp_findings f;
	int rc = attrs(r, NULL);

	lp_findings_init(&f);
	for (size_t s = 0; s < r->nsplits && !rc; s++)
		rc = write_split(ctx, r, s);
	for (int64_t g = 0; g < r->n && !rc; g++)
		if (r->items[g].kind != DUP_NONE)
			rc = finding(r, g, &f);
	if (!rc)
		rc = lp_findings_write(&f, r->io->archive, r->io->group);
	lp_findings_free(&f);
	return rc;
}

int dup_write_skipped(lp_ctx *ctx, struct dup_run *r, const char *why)
{
	char msg[1200];
	lp_findings f;
	int rc;

	snprintf(msg, sizeof msg, "no images to read: %s", why);
	host->log(ctx, LP_LOG_WARN, "duplicates: %s; nothing compared", msg);
	if ((rc = attrs(r, msg)))
		return rc;
	lp_findings_init(&f);
	rc = lp_findings_write(&f, r->io->archive, r->io->group);
	lp_findings_free(&f);
	return rc;
}
