/*
 * human.c — the report's "human against the model" section: the answers a person gave in
 * `loupe review --blind` (/annotations, action `answer`, replayed with undo/redo), their
 * agreement with the given labels beside the model's, against the planted truth too where the
 * dataset has it (/dataset/<split>/truth/true_label), and the images where person and model
 * disagree, with both answers in the caption.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/annotations.h"
#include "report_int.h"
#include "thumbs.h"

#define SHOWN 48

struct tally {
	int64_t n, person, model, truth_n, person_truth, model_truth, labels_truth, disagree;
	int64_t shown[SHOWN];
	size_t nshown;
};

static void count(const struct lpr_split *s, const lp_review_state *st,
		  const int32_t *truth, struct tally *t)
{
	for (int64_t i = 0; i < s->n; i++) {
		int ans = lp_review_state_item(st, s->name, i)->answer;
		if (ans < -1)
			continue;
		int label = s->labels ? s->labels[i] : -1;
		int pred = s->predicted ? s->predicted[i] : -1;
		t->n++;
		t->person += ans == label;
		t->model += pred == label;
		if (truth) {
			t->truth_n++;
			t->person_truth += ans == truth[i];
			t->model_truth += pred == truth[i];
			t->labels_truth += label == truth[i];
		}
		t->disagree += ans != pred;
		if (ans != pred && t->nshown < SHOWN)
			t->shown[t->nshown++] = i;
	}
}

static void sheet(lpr *r, const struct lpr_split *s, const lp_review_state *st,
		  const struct tally *t)
{
	char *urls[SHOWN] = { 0 }, why[256] = "";
	if (r->ri)
		lpr_thumbs(r->ctx, r->ri, s->name, t->shown, t->nshown, r->o.thumb ? r->o.thumb : 112,
			   urls, why, sizeof why);
	lpr_printf(&r->b, "<div class='sheet' data-expected='%zu'>", r->ri ? t->nshown : 0);
	for (size_t k = 0; k < t->nshown; k++) {
		int64_t i = t->shown[k];
		int ans = lp_review_state_item(st, s->name, i)->answer;
		lpr_puts(&r->b, "<figure>");
		if (urls[k])
			lpr_printf(&r->b, "<img class='thumb' alt='' src='%s'>", urls[k]);
		lpr_puts(&r->b, "<figcaption>given ");
		lpr_escape(&r->b, lpr_class(r, s->labels ? s->labels[i] : -1));
		lpr_puts(&r->b, "<br>person ");
		lpr_escape(&r->b, ans < 0 ? "cannot tell" : lpr_class(r, ans));
		lpr_puts(&r->b, "<br>model ");
		lpr_escape(&r->b, lpr_class(r, s->predicted ? s->predicted[i] : -1));
		lpr_puts(&r->b, "</figcaption></figure>");
		free(urls[k]);
	}
	lpr_puts(&r->b, "</div>\n");
	if (!r->ri && t->nshown)
		lpr_puts(&r->b, "<p class='meta'>No images at hand for the sheet.</p>\n");
}

static void split_section(lpr *r, const struct lpr_split *s, const lp_review_state *st)
{
	char path[256];
	int32_t *truth = NULL;
	struct tally t = { 0 };
	int kind = 0;

	snprintf(path, sizeof path, "/dataset/%s/truth/true_label", s->name);
	if (lp_archive_exists(r->a, path, &kind) == LP_OK && kind == LP_NODE_DATASET) {
		truth = malloc((size_t)s->n * sizeof *truth + 1);
		if (truth && lp_archive_read(r->a, path, LP_I32, truth, (size_t)s->n * sizeof *truth)) {
			free(truth);
			truth = NULL;
		}
	}
	count(s, st, truth, &t);
	if (t.n) {
		lpr_printf(&r->b, "<p id='human-%s'>", s->name);
		lpr_printf(&r->b, "%s: %lld images answered. Agreement with the given labels: the "
			   "person %.3f, the model %.3f.", s->name, (long long)t.n,
			   (double)t.person / t.n, (double)t.model / t.n);
		if (t.truth_n)
			lpr_printf(&r->b, " Against the planted truth: the person %.3f, the model "
				   "%.3f, the given labels %.3f.", (double)t.person_truth / t.truth_n,
				   (double)t.model_truth / t.truth_n,
				   (double)t.labels_truth / t.truth_n);
		lpr_printf(&r->b, " Person and model disagree on %lld (the first %zu shown).</p>\n",
			   (long long)t.disagree, t.nshown);
		sheet(r, s, st, &t);
	}
	free(truth);
}

int lpr_human_section(lpr *r)
{
	lp_annotation *e = NULL;
	size_t n = 0, answers = 0;
	lp_review_state *st = NULL;
	int kind = 0;

	if (lp_archive_exists(r->a, "/annotations", &kind) || kind != LP_NODE_GROUP)
		return LP_OK;
	if (lp_annotations_read(r->ctx, r->a, NULL, &e, &n))
		return LP_OK; /* said nowhere else: the section is left out */
	for (size_t i = 0; i < n; i++)
		answers += strcmp(e[i].action, "answer") == 0;
	if (answers && !lp_review_state_new(r->ctx, e, n, &st)) {
		lpr_puts(&r->b, "<section id='human'><h2>Human against the model</h2>"
			 "<p class='meta'>Answers from <code>loupe review --blind</code>: the person "
			 "saw each image without label or prediction and picked a class.</p>\n");
		for (size_t k = 0; k < r->nsplits; k++)
			split_section(r, &r->splits[k], st);
		lpr_puts(&r->b, "</section>\n");
		lp_review_state_free(st);
	}
	lp_annotations_free(e, n);
	return LP_OK;
}
