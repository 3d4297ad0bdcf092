/* report.c — `loupe report`'s page: the head, the run and its provenance, the training curves,
 * the confusion heatmap, then one section per analysis (sections.c); loupe/report.h. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "loupe/loupe.h"
#include "report_int.h"
#include "svg.h"

#define ROWS 4096

static const char css[] =
	"body{font:14px/1.45 'Liberation Sans',Arial,sans-serif;margin:0 auto;max-width:1200px;"
	"padding:0 16px 48px;color:#222}h1{font-size:22px;margin:18px 0 4px}"
	"h2{font-size:18px;border-bottom:1px solid #ccc;padding-bottom:2px;margin-top:30px}"
	"nav a{margin-right:12px}table.kv td{padding:1px 12px 1px 0;vertical-align:top}"
	"table.kv td:first-child{color:#666;white-space:nowrap}code,pre{font-size:12px}"
	"pre{background:#f6f6f6;padding:8px;overflow:auto;max-height:320px}"
	".meta{color:#666}.charts svg{margin-right:18px}ol.findings li{margin:2px 0}"
	".sheet{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}"
	".card{margin:0;width:min-content;font-size:11px;line-height:1.3;border:1px solid #ddd;"
	"padding:4px;background:#fafafa}.card.pair{display:flex;flex-direction:column}"
	".card .imgs{display:flex;gap:4px}.card img{display:block}"
	".card figcaption{width:100%;overflow-wrap:break-word}.bad{color:#b00}"
	".noimg{display:flex;align-items:center;justify-content:center;background:#eee;"
	"color:#999}\n";

char *lpr_attr(lpr *r, const char *obj, const char *name)
{
	char *v = NULL;
	if (lp_archive_attr_get(r->a, obj, name, &v)) {
		free(v);
		return NULL;
	}
	return v;
}

struct lpr_split *lpr_split_find(lpr *r, const char *name)
{
	for (size_t i = 0; i < r->nsplits; i++)
		if (strcmp(r->splits[i].name, name) == 0)
			return &r->splits[i];
	return NULL;
}

const char *lpr_class(const lpr *r, int64_t c)
{
	return c >= 0 && (size_t)c < r->k ? r->classes[c] : "?";
}

static int is_dataset(lpr *r, const char *path)
{
	int kind = 0;
	return lp_archive_exists(r->a, path, &kind) == LP_OK && kind == LP_NODE_DATASET;
}

/* argmax of /predictions/<g>/probs, g = <split>_crossval when there is one */
static void predictions(lpr *r, struct lpr_split *s)
{
	char path[300];
	int dtype, rank;
	int64_t dims[8];

	snprintf(path, sizeof path, "/predictions/%s_crossval/probs", s->name);
	if (!is_dataset(r, path))
		snprintf(path, sizeof path, "/predictions/%s/probs", s->name);
	if (!is_dataset(r, path) || lp_archive_info(r->a, path, &dtype, &rank, dims) ||
	    rank != 2 || dims[0] != s->n || dims[1] != (int64_t)r->k || !r->k)
		return;
	float *p = malloc(sizeof(float) * ROWS * r->k);
	s->predicted = malloc(sizeof(int32_t) * (size_t)(s->n + 1));
	s->confidence = malloc(sizeof(float) * (size_t)(s->n + 1));
	for (int64_t r0 = 0; p && s->predicted && s->confidence && r0 < s->n; r0 += ROWS) {
		int64_t m = s->n - r0 < ROWS ? s->n - r0 : ROWS;
		if (lp_archive_read_rows(r->a, path, LP_F32, r0, m, p, sizeof(float) * (size_t)m * r->k))
			break;
		for (int64_t i = 0; i < m; i++) {
			const float *q = p + (size_t)i * r->k;
			size_t best = 0;
			for (size_t c = 1; c < r->k; c++)
				best = q[c] > q[best] ? c : best;
			s->predicted[r0 + i] = (int32_t)best;
			s->confidence[r0 + i] = q[best];
		}
		if (r0 + m == s->n) {
			free(p);
			return;
		}
	}
	free(p); /* unreadable: captions go without predictions */
	free(s->predicted);
	free(s->confidence);
	s->predicted = NULL;
	s->confidence = NULL;
}

static void on_split(void *user, const char *name, int kind)
{
	lpr *r = user;
	char path[300];
	int dtype, rank;
	int64_t dims[8];

	snprintf(path, sizeof path, "/dataset/%s/labels", name);
	if (kind != LP_NODE_GROUP || !is_dataset(r, path) ||
	    lp_archive_info(r->a, path, &dtype, &rank, dims) || rank != 1)
		return;
	struct lpr_split *g = realloc(r->splits, (r->nsplits + 1) * sizeof(*g));
	if (!g)
		return;
	r->splits = g;
	g += r->nsplits;
	memset(g, 0, sizeof(*g));
	if (!(g->name = strdup(name)))
		return;
	r->nsplits++;
	g->n = dims[0];
	if ((g->labels = malloc(sizeof(int32_t) * (size_t)(g->n + 1))) &&
	    lp_archive_read(r->a, path, LP_I32, g->labels, sizeof(int32_t) * (size_t)g->n)) {
		free(g->labels);
		g->labels = NULL;
	}
	predictions(r, g);
}

static void row(lpr *r, const char *key, const char *value)
{
	if (!value || !*value)
		return;
	lpr_puts(&r->b, "<tr><td>");
	lpr_escape(&r->b, key);
	lpr_puts(&r->b, "</td><td>");
	lpr_escape(&r->b, value);
	lpr_puts(&r->b, "</td></tr>\n");
}

static void attr_row(lpr *r, const char *key, const char *obj, const char *name)
{
	char *v = lpr_attr(r, obj, name);
	row(r, key, v);
	free(v);
}

static void section_run(lpr *r)
{
	char buf[256];
	size_t n = 0;
	char **text = NULL;

	lpr_puts(&r->b, "<section id='run'><h2>Run</h2><table class='kv'>\n");
	attr_row(r, "created", "/", "created");
	attr_row(r, "command", "/", "command");
	attr_row(r, "loupe", "/", "loupe_version");
	attr_row(r, "device", "/", "device");
	attr_row(r, "seed", "/", "seed");
	attr_row(r, "source revision", "/", "git_rev");
	attr_row(r, "dataset plugin", "/dataset", "plugin");
	attr_row(r, "dataset parameters", "/dataset", "params");
	attr_row(r, "dataset fingerprint", "/dataset", "fingerprint");
	snprintf(buf, sizeof buf, "%zu", r->k);
	row(r, "classes", buf);
	for (size_t i = 0; i < r->nsplits; i++) {
		snprintf(buf, sizeof buf, "%" PRId64 " items%s", r->splits[i].n,
			 r->splits[i].predicted ? ", with predictions" : "");
		char key[300];
		snprintf(key, sizeof key, "split %s", r->splits[i].name);
		row(r, key, buf);
	}
	attr_row(r, "model", "/model", "name");
	row(r, "images", r->ri ? lp_run_images_source(r->ri) : r->images_why);
	lpr_puts(&r->b, "</table>\n");
	if (is_dataset(r, "/model/summary") &&
	    lp_archive_read_strings(r->a, "/model/summary", &n, &text) == LP_OK && n) {
		lpr_puts(&r->b, "<details><summary>the model's layers</summary><pre>");
		lpr_escape(&r->b, text[0]);
		lpr_puts(&r->b, "</pre></details>\n");
	}
	free(text);
	lpr_puts(&r->b, "</section>\n");
}

/* a 1-D float column of /metrics, or NULL */
static float *metric(lpr *r, const char *name, int64_t n)
{
	char path[300];
	int dtype, rank;
	int64_t dims[8];
	float *v;

	snprintf(path, sizeof path, "/metrics/%s", name);
	if (!is_dataset(r, path) || lp_archive_info(r->a, path, &dtype, &rank, dims) ||
	    rank != 1 || dims[0] != n || !(v = malloc(sizeof(float) * (size_t)(n + 1))))
		return NULL;
	if (lp_archive_read(r->a, path, LP_F32, v, sizeof(float) * (size_t)n)) {
		free(v);
		return NULL;
	}
	return v;
}

static void section_training(lpr *r)
{
	int dtype, rank;
	int64_t dims[8], n;

	if (!is_dataset(r, "/metrics/epoch") ||
	    lp_archive_info(r->a, "/metrics/epoch", &dtype, &rank, dims) || rank != 1 || !dims[0])
		return;
	n = dims[0];
	float *epoch = metric(r, "epoch", n), *tl = metric(r, "train_loss", n);
	float *vl = metric(r, "test_loss", n), *ta = metric(r, "train_acc", n);
	float *va = metric(r, "test_acc", n);
	lpr_puts(&r->b, "<section id='training'><h2>Training</h2><div class='charts'>\n");
	if (epoch && tl) {
		const float *y[2] = { tl, vl ? vl : tl };
		const char *names[2] = { "train", "test" };
		lpr_curve(&r->b, "loss by epoch", epoch, (int)n, y, names, vl ? 2 : 1);
	}
	if (epoch && ta) {
		const float *y[2] = { ta, va ? va : ta };
		const char *names[2] = { "train", "test" };
		lpr_curve(&r->b, "top-1 accuracy by epoch", epoch, (int)n, y, names, va ? 2 : 1);
	}
	lpr_puts(&r->b, "</div>");
	if (ta)
		lpr_printf(&r->b, "<p>After epoch %" PRId64 ": training accuracy %.4f%s", n,
			   ta[n - 1], va && isfinite(va[n - 1]) ? "" : ".</p>\n");
	if (ta && va && isfinite(va[n - 1]))
		lpr_printf(&r->b, ", test accuracy %.4f.</p>\n", va[n - 1]);
	lpr_puts(&r->b, "</section>\n");
	free(epoch);
	free(tl);
	free(vl);
	free(ta);
	free(va);
}

static void section_confusion(lpr *r)
{
	char path[300];
	const char *g = NULL;
	int dtype, rank;
	int64_t dims[8];
	static const char *const prefer[] = { "test", "test_crossval", "train_crossval", "train" };

	for (size_t i = 0; i < 4 && !g; i++) {
		snprintf(path, sizeof path, "/analyses/confusion/%s/matrix", prefer[i]);
		g = is_dataset(r, path) ? prefer[i] : NULL;
	}
	if (!g || lp_archive_info(r->a, path, &dtype, &rank, dims) || rank != 2 ||
	    dims[0] != (int64_t)r->k || dims[1] != (int64_t)r->k)
		return;
	int64_t *m = malloc(sizeof(int64_t) * r->k * r->k);
	if (m && !lp_archive_read(r->a, path, LP_I64, m, sizeof(int64_t) * r->k * r->k)) {
		lpr_puts(&r->b, "<section id='heatmap'><h2>Confusion: ");
		lpr_escape(&r->b, g);
		lpr_puts(&r->b, "</h2><p class='meta'>Rows: the label; columns: the prediction; "
			 "each cell shaded by its share of the row (hover for counts).</p>\n");
		lpr_heatmap(&r->b, m, (int64_t)r->k, r->classes);
		lpr_puts(&r->b, "</section>\n");
	}
	free(m);
}

static int page(lpr *r, const char *title)
{
	char **an = NULL;
	size_t nan = 0;
	int rc = LP_OK, kind = 0;

	lpr_puts(&r->b, "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
		 "<meta name='viewport' content='width=device-width'><link rel='icon' "
		 "href='data:,'><title>loupe report: ");
	lpr_escape(&r->b, title);
	lpr_printf(&r->b, "</title><style>%s</style></head><body>\n<h1>loupe report: ", css);
	lpr_escape(&r->b, title);
	lpr_puts(&r->b, "</h1>\n");
	if (lp_archive_exists(r->a, "/analyses", &kind) == LP_OK && kind == LP_NODE_GROUP &&
	    (rc = lpi_archive_groups(r->a, "/analyses", &an, &nan)))
		return rc;
	lpr_puts(&r->b, "<nav><a href='#run'>run</a><a href='#training'>training</a>"
		 "<a href='#heatmap'>heatmap</a>");
	if (lp_archive_exists(r->a, "/compare/annotations", &kind) == LP_OK && kind == LP_NODE_GROUP)
		lpr_puts(&r->b, "<a href='#annotations'>annotations</a>");
	for (size_t i = 0; i < nan; i++) {
		if (an[i][0] == '.')
			continue; /* an analysis' temporary group (analyze.c) */
		lpr_puts(&r->b, "<a href='#a-");
		lpr_escape(&r->b, an[i]);
		lpr_puts(&r->b, "'>");
		lpr_escape(&r->b, an[i]);
		lpr_puts(&r->b, "</a>");
	}
	lpr_puts(&r->b, "</nav>\n");
	section_run(r);
	section_training(r);
	section_confusion(r);
	rc = lpr_annotations_section(r);
	rc = rc ? rc : lpr_human_section(r);
	if (!nan)
		lpr_puts(&r->b, "<p>No analyses in this archive yet: run <code>loupe analyze "
			 "RUN.h5</code>.</p>\n");
	for (size_t i = 0; i < nan && !rc; i++)
		if (an[i][0] != '.')
			rc = lpr_analysis_section(r, an[i]);
	lpi_strings_free(an, nan);
	lpr_puts(&r->b, "</body></html>\n");
	return rc;
}

static int save(lpr *r, const char *path)
{
	char tmp[4096];
	FILE *f;

	if (r->b.nomem)
		return lp_error(r->ctx, LP_ERR_NOMEM, "report: out of memory writing the page");
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (!(f = fopen(tmp, "wb")))
		return lp_error(r->ctx, LP_ERR_IO, "report: cannot write %s", tmp);
	int bad = fwrite(r->b.p, 1, r->b.n, f) != r->b.n;
	bad |= fclose(f) != 0;
	if (bad || rename(tmp, path)) {
		unlink(tmp);
		return lp_error(r->ctx, LP_ERR_IO, "report: cannot write %s", path);
	}
	return LP_OK;
}

int lp_report_write(lp_ctx *ctx, lp_archive *run, const char *path, const lp_report_opts *o)
{
	lpr r = { .ctx = ctx, .a = run };
	const char *file = lp_archive_path(run), *base = strrchr(file, '/');
	int rc;

	if (o)
		r.o = *o;
	r.o.top = r.o.top > 0 ? r.o.top : 48;
	r.o.thumb = r.o.thumb > 0 ? r.o.thumb : 112;
	if (r.o.thumb < 16 || r.o.thumb > 512)
		return lp_error(ctx, LP_ERR_ARG, "report: thumbnail size %d is not 16..512",
				r.o.thumb);
	if (!is_dataset(&r, "/dataset/classes"))
		return lp_error(ctx, LP_ERR_NOTFOUND, "%s: no /dataset/classes: nothing to report "
				"(docs/ARCHIVE.md)", file);
	if ((rc = lp_archive_read_strings(run, "/dataset/classes", &r.k, &r.classes)))
		return rc;
	lp_archive_list(run, "/dataset", on_split, &r);
	if (lp_run_images_open(ctx, run, r.o.images, &r.ri))
		snprintf(r.images_why, sizeof r.images_why, "none: %s", lp_ctx_errmsg(ctx));
	rc = page(&r, base ? base + 1 : file);
	if (!rc)
		rc = save(&r, path);
	if (!rc && r.missing)
		lp_log(ctx, LP_LOG_WARN, "report: %" PRId64 " of %" PRId64 " images could not be "
		       "shown: %s", r.missing, r.missing + r.images, r.images_why);
	for (size_t i = 0; i < r.nsplits; i++) {
		free(r.splits[i].name);
		free(r.splits[i].labels);
		free(r.splits[i].predicted);
		free(r.splits[i].confidence);
	}
	free(r.splits);
	free(r.classes);
	lp_run_images_free(r.ri);
	lpr_free(&r.b);
	return rc;
}
