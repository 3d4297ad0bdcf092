/* cmd_compare.c — `loupe compare A.h5 B.h5`: what differs between two runs — provenance
 * (script, seed, dataset fingerprint, annotations applied, plugins, versions), final metrics,
 * and the before/after table of /compare/annotations where a run has one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "loupe/archive.h"

const char loupe_usage_compare[] =
	"usage: loupe compare A.h5 B.h5\n"
	"\n"
	"Prints what differs between two run archives: the script (the first differing lines),\n"
	"the seed, the dataset (plugin, parameters, fingerprint), the plugins and their sha256,\n"
	"loupe's version and the device, then the final metrics and prediction accuracies side by\n"
	"side, and a run's /compare/annotations (experiments/reannotate_retrain.lua: test accuracy\n"
	"before and after a review's decisions). A field one archive lacks shows as (none); an\n"
	"archive that cannot be read (damaged, truncated) is an error naming the file and the\n"
	"object.\n"
	"Exit status: 0 when the provenance is the same, 1 when it differs, 2 on error.\n";

struct run {
	lp_ctx *ctx;
	const char *path;
	lp_archive *a;
	int failed; /* a read went wrong: reported once per object, then exit status 2 */
};

/* rc from a read: LP_OK and LP_ERR_NOTFOUND (absent: shown as "(none)") pass; anything else is
 * a damaged archive, said on stderr with the file and object the message names. Returns !rc. */
static int ok(struct run *r, int rc)
{
	if (rc && rc != LP_ERR_NOTFOUND) {
		fprintf(stderr, "loupe compare: %s\n", lp_ctx_errmsg(r->ctx));
		r->failed = 1;
	}
	return rc == LP_OK;
}

/* what kind of object path is in r (0: none, 1: group, 2: dataset) */
static int kind_of(struct run *r, const char *path)
{
	int kind = 0;
	return ok(r, lp_archive_exists(r->a, path, &kind)) ? kind : 0;
}

static char *attr(struct run *r, const char *obj, const char *name)
{
	char *v = NULL;
	if (!kind_of(r, obj) || !ok(r, lp_archive_attr_get(r->a, obj, name, &v)))
		return NULL;
	return v;
}

static int differ(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

static int compare_attr(struct run *r, const char *obj, const char *name, const char *label)
{
	char *a = attr(&r[0], obj, name), *b = attr(&r[1], obj, name);
	int d = differ(a, b);
	if (d)
		printf("  %-22s %s\n  %-22s %s\n", label, a ? a : "(none)", "", b ? b : "(none)");
	free(a);
	free(b);
	return d;
}

/* a one-element (or scalar) string dataset, e.g. /provenance/script */
static char *text(struct run *r, const char *path)
{
	size_t n = 0;
	char **s = NULL;
	if (kind_of(r, path) != 2 || !ok(r, lp_archive_read_strings(r->a, path, &n, &s)) || !n) {
		free(s);
		return NULL;
	}
	char *out = strdup(s[0]);
	free(s);
	return out;
}

static int compare_script(struct run *r)
{
	char *a = text(&r[0], "/provenance/script"), *b = text(&r[1], "/provenance/script");
	int d = differ(a, b);
	if (d && a && b) {
		/* the first differing line, with its number */
		int line = 1;
		const char *p = a, *q = b;
		while (*p && *q) {
			const char *pe = strchr(p, '\n'), *qe = strchr(q, '\n');
			size_t pl = pe ? (size_t)(pe - p) : strlen(p), ql = qe ? (size_t)(qe - q) : strlen(q);
			if (pl != ql || memcmp(p, q, pl) != 0) {
				printf("  script differs first at line %d:\n    A: %.*s\n    B: %.*s\n", line,
				       (int)pl, p, (int)ql, q);
				break;
			}
			p += pl + (pe ? 1 : 0);
			q += ql + (qe ? 1 : 0);
			line++;
		}
		if (!*p || !*q)
			printf("  script: one is the other plus more lines (from line %d)\n", line);
	} else if (d) {
		printf("  script: only %s has one\n", a ? "A" : "B");
	}
	free(a);
	free(b);
	return d;
}

static int compare_plugins(struct run *r)
{
	size_t n[2] = { 0, 0 };
	char **name[2] = { NULL, NULL }, **sha[2] = { NULL, NULL }, **ver[2] = { NULL, NULL };
	int d = 0;

	for (int k = 0; k < 2; k++) {
		size_t n1 = 0, n2 = 0;
		if (kind_of(&r[k], "/provenance/plugins") != 1 ||
		    !ok(&r[k], lp_archive_read_strings(r[k].a, "/provenance/plugins/name", &n[k],
						       &name[k])) ||
		    !ok(&r[k], lp_archive_read_strings(r[k].a, "/provenance/plugins/sha256", &n1,
						       &sha[k])) ||
		    !ok(&r[k], lp_archive_read_strings(r[k].a, "/provenance/plugins/version", &n2,
						       &ver[k])) ||
		    n1 != n[k] || n2 != n[k])
			n[k] = 0; /* the columns of one table: unequal lengths are a damaged file */
	}
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < n[k]; i++) {
			size_t j = 0;
			while (j < n[1 - k] && strcmp(name[k][i], name[1 - k][j]) != 0)
				j++;
			if (j == n[1 - k]) {
				printf("  plugin %-15s only in %s (%s)\n", name[k][i], k ? "B" : "A",
				       ver[k][i]);
				d = 1;
			} else if (k == 0 && strcmp(sha[0][i], sha[1][j]) != 0) {
				printf("  plugin %-15s %s %.12s  vs  %s %.12s\n", name[0][i], ver[0][i],
				       sha[0][i], ver[1][j], sha[1][j]);
				d = 1;
			}
		}
	for (int k = 0; k < 2; k++) {
		free(name[k]);
		free(sha[k]);
		free(ver[k]);
	}
	return d;
}

struct cols {
	char names[32][64];
	int n;
};

static void add_col(void *user, const char *name, int kind)
{
	struct cols *c = user;
	if (kind == 2 && c->n < 32)
		snprintf(c->names[c->n++], sizeof c->names[0], "%s", name);
}

static int last_value(struct run *r, const char *path, double *v)
{
	int dtype, rank;
	int64_t dims[8];
	float f;
	if (kind_of(r, path) != 2 || !ok(r, lp_archive_info(r->a, path, &dtype, &rank, dims)) ||
	    rank != 1 || dims[0] < 1 || !dtype)
		return -1;
	/* the last row only: a damaged header may claim any length */
	if (!ok(r, lp_archive_read_rows(r->a, path, LP_F32, dims[0] - 1, 1, &f, sizeof f)))
		return -1;
	*v = f;
	return 0;
}

static void metrics(struct run *r)
{
	struct cols c = { .n = 0 };

	if (kind_of(&r[0], "/metrics") != 1 ||
	    !ok(&r[0], lp_archive_list(r[0].a, "/metrics", add_col, &c)))
		return;
	printf("final metrics %28s %14s\n", "A", "B");
	for (int i = 0; i < c.n; i++) {
		char path[128];
		double a = NAN, b = NAN;
		snprintf(path, sizeof path, "/metrics/%s", c.names[i]);
		last_value(&r[0], path, &a);
		last_value(&r[1], path, &b);
		char ta[32] = "-", tb[32] = "-";
		if (!isnan(a))
			snprintf(ta, sizeof ta, "%.6g", a);
		if (!isnan(b))
			snprintf(tb, sizeof tb, "%.6g", b);
		printf("  %-26s %14s %14s%s\n", c.names[i], ta, tb,
		       a == b || (isnan(a) && isnan(b)) ? "" : "  *");
	}
}

static void add_group(void *user, const char *name, int kind)
{
	struct cols *c = user;
	if (kind == 1 && c->n < 32)
		snprintf(c->names[c->n++], sizeof c->names[0], "%s", name);
}

static void predictions(struct run *r)
{
	struct cols g = { .n = 0 };

	if (kind_of(&r[0], "/predictions") != 1 ||
	    !ok(&r[0], lp_archive_list(r[0].a, "/predictions", add_group, &g)))
		return;
	for (int i = 0; i < g.n; i++) {
		static const char *const keys[] = { "top1", "top5", "loss" };
		char obj[128];
		snprintf(obj, sizeof obj, "/predictions/%s", g.names[i]);
		for (int k = 0; k < 3; k++) {
			char *a = attr(&r[0], obj, keys[k]), *b = attr(&r[1], obj, keys[k]);
			char label[128];
			snprintf(label, sizeof label, "%s %s", g.names[i], keys[k]);
			printf("  %-26s %14.6g %14.6g%s\n", label, a ? atof(a) : NAN, b ? atof(b) : NAN,
			       differ(a, b) ? "  *" : "");
			free(a);
			free(b);
		}
	}
}

/* /compare/annotations of either run: the before/after accuracies and what the decisions did */
static void annotations(struct run *r)
{
	static const char *const keys[] = { "accuracy_before", "accuracy_after", "items",
					    "relabelled", "removed", "excluded", "merged", "source" };

	if (kind_of(&r[0], "/compare/annotations") != 1 &&
	    kind_of(&r[1], "/compare/annotations") != 1)
		return;
	printf("annotations (/compare/annotations: test, merged label set) %14s %14s\n", "A", "B");
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		char *a = attr(&r[0], "/compare/annotations", keys[k]);
		char *b = attr(&r[1], "/compare/annotations", keys[k]);
		char ta[32] = "(none)", tb[32] = "(none)";
		if (k < 2 && a)
			snprintf(ta, sizeof ta, "%.4f", atof(a));
		if (k < 2 && b)
			snprintf(tb, sizeof tb, "%.4f", atof(b));
		if (k < 2)
			printf("  %-26s %14s %14s\n", keys[k], ta, tb);
		else
			printf("  %-26s %14s %14s\n", keys[k], a ? (*a ? a : "none") : "(none)",
			       b ? (*b ? b : "none") : "(none)");
		free(a);
		free(b);
	}
	for (int k = 0; k < 2; k++) {
		char *a = attr(&r[k], "/compare/annotations", "accuracy_before");
		char *b = attr(&r[k], "/compare/annotations", "accuracy_after");
		if (a && b)
			printf("  %s: %+.1f points after the annotations\n", k ? "B" : "A",
			       100 * (atof(b) - atof(a)));
		free(a);
		free(b);
	}
}

int loupe_cmd_compare(lp_ctx *ctx, int argc, char **argv)
{
	struct run r[2] = { { ctx, NULL, NULL, 0 }, { ctx, NULL, NULL, 0 } };
	int rc = 2;

	if (argc != 2) {
		fprintf(stderr, "loupe compare: needs two archives\n%s", loupe_usage_compare);
		return 2;
	}
	for (int k = 0; k < 2; k++) {
		r[k].path = argv[k];
		if (lp_archive_open(ctx, argv[k], 0, &r[k].a)) {
			fprintf(stderr, "loupe compare: %s\n", lp_ctx_errmsg(ctx));
			goto out;
		}
	}
	printf("A: %s\nB: %s\n", r[0].path, r[1].path);
	int d = 0;
	printf("provenance (only what differs):\n");
	d |= compare_attr(r, "/", "seed", "seed");
	d |= compare_script(r);
	d |= compare_attr(r, "/provenance/dataset", "plugin", "dataset");
	d |= compare_attr(r, "/provenance/dataset", "params", "dataset params");
	d |= compare_attr(r, "/provenance/dataset", "fingerprint", "dataset fingerprint");
	d |= compare_attr(r, "/dataset", "annotations_hash", "annotations hash");
	d |= compare_attr(r, "/dataset", "annotations_source", "annotations from");
	d |= compare_plugins(r);
	d |= compare_attr(r, "/", "loupe_version", "loupe version");
	d |= compare_attr(r, "/", "device", "device");
	d |= compare_attr(r, "/", "driver", "driver");
	d |= compare_attr(r, "/", "git_rev", "git revision");
	compare_attr(r, "/", "command", "command");
	if (!d)
		printf("  none: same script, seed, dataset, plugins, loupe and device\n");
	metrics(r);
	predictions(r);
	annotations(r);
	rc = r[0].failed || r[1].failed ? 2 : d ? 1 : 0;
	if (rc == 2)
		fprintf(stderr, "loupe compare: an archive is damaged (above); what was printed is "
				"what could be read\n");
out:
	for (int k = 0; k < 2; k++)
		lp_archive_close(r[k].a);
	return rc;
}
