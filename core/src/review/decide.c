/*
 * decide.c — the API's state changes: POST /api/decision, /api/undo, /api/redo.
 *
 * A request becomes one journal entry (lp_journal_append: written and fsync'd on return), is
 * applied to the review state, and only then answered, with the decisions of the items it
 * touched. A request whose `client` key the journal already has is answered as it was the
 * first time and not applied twice (a retry after a lost answer or a restart). Called under
 * r->lock (server.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "review_int.h"

static int num(const cJSON *body, const char *key, int def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
	return cJSON_IsNumber(v) ? (int)v->valuedouble : def;
}

static const char *str(const cJSON *body, const char *key, size_t max)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
	return cJSON_IsString(v) && strlen(v->valuestring) <= max ? v->valuestring : NULL;
}

/* the model item of a request's id (blind mode: a position in the blind order), or -1 */
static long long item_of(const lp_review *r, double id)
{
	size_t lim = r->blind ? r->m.n_blind : r->m.n;
	if (!(id >= 0 && id < (double)lim) || id != (double)(long long)id)
		return -1;
	return r->blind ? (long long)r->m.blind[(size_t)id] : (long long)id;
}

/* the id the page knows item i by */
static double id_of(const lp_review *r, size_t i)
{
	if (!r->blind)
		return (double)i;
	for (size_t k = 0; k < r->m.n_blind; k++)
		if (r->m.blind[k] == i)
			return (double)k;
	return -1;
}

static int check_action(const lp_review *r, const char *action, char *why, size_t n)
{
	static const char *const item_actions[] = { "keep", "relabel", "also", "remove",
						    "unsure", "tag", "untag", "clear" };
	if (!action)
		return snprintf(why, n, "no action"), -1;
	if (r->blind)
		return strcmp(action, "answer") == 0 ? 0 :
		       (snprintf(why, n, "blind mode takes only answers, not '%s'", action), -1);
	for (size_t k = 0; k < sizeof item_actions / sizeof *item_actions; k++)
		if (strcmp(action, item_actions[k]) == 0)
			return 0;
	if (strcmp(action, "merge") == 0 || strcmp(action, "unmerge") == 0)
		return 0;
	return snprintf(why, n, "unknown action '%.40s'", action), -1;
}

/* the request's items as annotation items: *out malloc'd */
static int items_of(const lp_review *r, const cJSON *body, lp_annotation_item **out,
		    size_t *n, char *why, size_t wn)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(body, "items"), *v;
	size_t cnt = cJSON_IsArray(a) ? (size_t)cJSON_GetArraySize(a) : 0;

	*n = 0;
	*out = calloc(cnt + 1, sizeof **out);
	if (!*out)
		return snprintf(why, wn, "out of memory"), -1;
	if (cnt > r->m.n)
		return snprintf(why, wn, "%zu items, the run has %zu", cnt, r->m.n), -1;
	cJSON_ArrayForEach(v, a) {
		long long i = cJSON_IsNumber(v) ? item_of(r, v->valuedouble) : -1;
		if (i < 0)
			return snprintf(why, wn, "item %zu of the request is not an item id", *n), -1;
		const lpv_item *it = &r->m.items[i];
		(*out)[(*n)++] = (lp_annotation_item){ r->m.splits[it->split], it->row,
						       r->m.names[it->split][it->row], it->label };
	}
	return 0;
}

static int check_fields(const lp_review *r, const lp_annotation *e, char *why, size_t n)
{
	const char *a = e->action;
	int K = r->m.K;
	int merge = strcmp(a, "merge") == 0 || strcmp(a, "unmerge") == 0;

	if (merge && e->n_items)
		return snprintf(why, n, "%s takes a class and a label, no items", a), -1;
	if (!merge && !e->n_items)
		return snprintf(why, n, "%s needs items", a), -1;
	if ((strcmp(a, "relabel") == 0 || strcmp(a, "also") == 0 || merge) &&
	    (e->label < 0 || e->label >= K))
		return snprintf(why, n, "%s: label %d is not a class (0..%d)", a, e->label, K - 1), -1;
	if (strcmp(a, "answer") == 0 && (e->label < -1 || e->label >= K))
		return snprintf(why, n, "answer: label %d is not a class (or -1)", e->label), -1;
	if (merge && (e->cls < 0 || e->cls >= K || e->cls == e->label))
		return snprintf(why, n, "%s: class %d into %d", a, e->cls, e->label), -1;
	if ((strcmp(a, "tag") == 0 || strcmp(a, "untag") == 0) && (!e->tag || !*e->tag))
		return snprintf(why, n, "%s needs a tag (text, at most 200 bytes)", a), -1;
	return 0;
}

static void add_items(const lp_review *r, cJSON *j, const lp_annotation *e)
{
	cJSON *a = cJSON_AddArrayToObject(j, "items");
	for (size_t k = 0; k < e->n_items; k++) {
		int s = lpv_split_index(&r->m, e->items[k].split);
		if (s < 0 || e->items[k].item < 0 || e->items[k].item >= r->m.rows[s])
			continue;
		size_t i = r->m.first[s] + (size_t)e->items[k].item;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", id_of(r, i));
		cJSON_AddItemToObject(o, "decision", lpv_decision_json(r, i));
		cJSON_AddItemToArray(a, o);
	}
}

/* append e, apply it unless the journal knew its client key; 0 or an HTTP status */
static int record(lp_review *r, lp_annotation *e, char **out)
{
	int64_t before = r->last_seq;
	int rc = lp_journal_append(r->journal, e);
	if (rc)
		return lpv_fail(out, rc == LP_ERR_IO || rc == LP_ERR_NOMEM ? 500 : 400,
				lp_ctx_errmsg(r->ctx));
	if (e->seq > before) {
		r->last_seq = e->seq;
		r->c.decisions++;
		if (lp_review_state_apply(r->state, e))
			return lpv_fail(out, 500, lp_ctx_errmsg(r->ctx));
	}
	return 0;
}

int lpv_post_decision(lp_review *r, const cJSON *body, char **out)
{
	char why[256];
	lp_annotation_item *items = NULL;
	size_t n = 0;
	lp_annotation e = { .action = str(body, "action", 16), .cls = num(body, "class", -1),
			    .label = num(body, "label", -1), .tag = str(body, "tag", 200),
			    .note = str(body, "note", 2000), .annotator = r->annotator,
			    .ref = -1, .client = str(body, "client", 128) };

	if (check_action(r, e.action, why, sizeof why) ||
	    items_of(r, body, &items, &n, why, sizeof why)) {
		free(items);
		return lpv_fail(out, 400, why);
	}
	e.items = items;
	e.n_items = n;
	if (strcmp(e.action, "merge") && strcmp(e.action, "unmerge"))
		e.cls = -1;
	int status = check_fields(r, &e, why, sizeof why) ? lpv_fail(out, 400, why)
							  : record(r, &e, out);
	if (!status) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "seq", (double)e.seq);
		add_items(r, j, &e);
		cJSON_AddNumberToObject(j, "undo", (double)lp_review_state_undo_top(r->state));
		cJSON_AddNumberToObject(j, "redo", (double)lp_review_state_redo_top(r->state));
		status = lpv_reply(j, out, 200);
	}
	free(items);
	return status;
}

static const lp_annotation *entry(const lp_review *r, int64_t seq)
{
	const lp_annotation *e;
	size_t n = lp_journal_entries(r->journal, &e);
	if (seq >= 1 && (size_t)seq <= n && e[seq - 1].seq == seq)
		return &e[seq - 1];
	for (size_t k = 0; k < n; k++)
		if (e[k].seq == seq)
			return &e[k];
	return NULL;
}

int lpv_post_undo(lp_review *r, int redo, const cJSON *body, char **out)
{
	int64_t top = redo ? lp_review_state_redo_top(r->state)
			   : lp_review_state_undo_top(r->state);
	lp_annotation e = { .action = redo ? "redo" : "undo", .cls = -1, .label = -1,
			    .annotator = r->annotator, .ref = top,
			    .client = str(body, "client", 128) };

	if (!top)
		return lpv_fail(out, 409, redo ? "nothing to redo" : "nothing to undo");
	int status = record(r, &e, out);
	if (status)
		return status;
	const lp_annotation *t = entry(r, e.ref);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "seq", (double)e.seq);
	cJSON_AddNumberToObject(j, "ref", (double)e.ref);
	cJSON_AddStringToObject(j, "action", t ? t->action : "");
	if (t)
		add_items(r, j, t);
	else
		cJSON_AddArrayToObject(j, "items");
	cJSON_AddBoolToObject(j, "classes_changed", t && t->n_items == 0);
	cJSON_AddNumberToObject(j, "undo", (double)lp_review_state_undo_top(r->state));
	cJSON_AddNumberToObject(j, "redo", (double)lp_review_state_redo_top(r->state));
	return lpv_reply(j, out, 200);
}
