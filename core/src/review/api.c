/*
 * api.c — the review page's JSON API (docs/REVIEW.md, "HTTP"), built and parsed with cJSON:
 *
 *   char *json; int status = lpv_api(r, "GET", "/api/class/3", NULL, NULL, 0, &json);
 *
 * GET state, class/C, item/ID, examples/C, stats here; POST decision, undo, redo in decide.c,
 * blind mode in blind.c. Item ids are indices into the model's items; in blind mode they are
 * positions in the blind order, so an id tells nothing about the image. Called under r->lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "review_int.h"

static const char *const status_names[] = { "none", "keep", "relabel", "remove", "unsure" };

int lpv_reply(cJSON *j, char **out, int status)
{
	*out = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	return *out ? status : 500;
}

int lpv_fail(char **out, int status, const char *msg)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "error", msg);
	return lpv_reply(j, out, status);
}

static const lp_item_decision *decision_of(const lp_review *r, size_t i)
{
	const lpv_item *it = &r->m.items[i];
	return lp_review_state_item(r->state, r->m.splits[it->split], it->row);
}

cJSON *lpv_decision_json(const lp_review *r, size_t i)
{
	const lp_item_decision *d = decision_of(r, i);
	cJSON *j = cJSON_CreateObject();
	int s = d->status >= 0 && d->status <= LP_DECISION_UNSURE ? d->status : 0;

	cJSON_AddStringToObject(j, "status", status_names[s]);
	cJSON_AddNumberToObject(j, "label", d->label);
	cJSON *also = cJSON_AddArrayToObject(j, "also");
	for (size_t k = 0; k < d->n_also; k++)
		cJSON_AddItemToArray(also, cJSON_CreateNumber(d->also[k]));
	cJSON *tags = cJSON_AddArrayToObject(j, "tags");
	for (size_t k = 0; k < d->n_tags; k++)
		cJSON_AddItemToArray(tags, cJSON_CreateString(d->tags[k]));
	cJSON_AddNumberToObject(j, "seq", (double)d->seq);
	if (d->answer >= -1)
		cJSON_AddNumberToObject(j, "answer", d->answer);
	return j;
}

static int reviewed(const lp_item_decision *d)
{
	return d->status != LP_DECISION_NONE;
}

void lpv_thumb_url(const lp_review *r, size_t i, int big, char *buf, size_t n)
{
	snprintf(buf, n, "/t/%s-%d.jpg", r->m.items[i].hash, big ? 512 : 160);
}

static cJSON *top_json(const lpv_item *it, int n)
{
	cJSON *a = cJSON_CreateArray();
	for (int t = 0; t < it->ntop && t < n; t++) {
		cJSON *p = cJSON_CreateArray();
		cJSON_AddItemToArray(p, cJSON_CreateNumber(it->top[t]));
		cJSON_AddItemToArray(p, cJSON_CreateNumber(it->topp[t]));
		cJSON_AddItemToArray(a, p);
	}
	return a;
}

/* merged_into per class (-1), from the merges in force */
static void merged_into(const lp_review *r, int32_t *into)
{
	const int32_t *from, *to;
	size_t n = lp_review_state_merges(r->state, &from, &to);
	for (int c = 0; c < r->m.K; c++)
		into[c] = -1;
	for (size_t k = 0; k < n; k++)
		if (from[k] >= 0 && from[k] < r->m.K)
			into[from[k]] = to[k];
}

/* per class: count, suspects, reviewed, the class its items are most often taken for */
static void class_counts(const lp_review *r, int64_t *cnt, int64_t *sus, int64_t *rev,
			 int32_t *confused)
{
	int K = r->m.K;
	int64_t *conf = calloc((size_t)K * K + 1, sizeof *conf);
	for (size_t i = 0; i < r->m.n; i++) {
		const lpv_item *it = &r->m.items[i];
		if (it->label < 0 || it->label >= K)
			continue;
		cnt[it->label]++;
		sus[it->label] += it->suspect != 0;
		rev[it->label] += reviewed(decision_of(r, i));
		if (conf && it->ntop && it->top[0] != it->label)
			conf[(size_t)it->label * K + it->top[0]]++;
	}
	for (int c = 0; c < K; c++) {
		confused[c] = -1;
		for (int o = 0; conf && o < K; o++)
			if (conf[(size_t)c * K + o] > 0 &&
			    (confused[c] < 0 || conf[(size_t)c * K + o] > conf[(size_t)c * K + confused[c]]))
				confused[c] = o;
	}
	free(conf);
}

static void add_classes(const lp_review *r, cJSON *j)
{
	int K = r->m.K;
	int64_t *cnt = calloc((size_t)K * 3 + 1, sizeof *cnt);
	int32_t *conf = calloc((size_t)K * 2 + 1, sizeof *conf);
	cJSON *a = cJSON_AddArrayToObject(j, "classes");
	int64_t total = 0, done = 0;

	if (!cnt || !conf)
		goto out;
	class_counts(r, cnt, cnt + K, cnt + 2 * K, conf);
	merged_into(r, conf + K);
	for (int c = 0; c < K; c++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", c);
		cJSON_AddStringToObject(o, "name", r->m.classes[c]);
		if (!r->blind) {
			cJSON_AddNumberToObject(o, "count", (double)cnt[c]);
			cJSON_AddNumberToObject(o, "suspects", (double)cnt[K + c]);
			cJSON_AddNumberToObject(o, "reviewed", (double)cnt[2 * K + c]);
			cJSON_AddNumberToObject(o, "merged_into", conf[K + c]);
			cJSON_AddNumberToObject(o, "confused_with", conf[c]);
		}
		cJSON_AddItemToArray(a, o);
		total += cnt[c];
		done += cnt[2 * K + c];
	}
out:
	if (!r->blind) {
		cJSON *p = cJSON_AddObjectToObject(j, "progress");
		cJSON_AddNumberToObject(p, "reviewed", (double)done);
		cJSON_AddNumberToObject(p, "total", (double)total);
	}
	free(cnt);
	free(conf);
}

static int get_state(lp_review *r, char **out)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "run", r->run);
	cJSON_AddStringToObject(j, "mode", r->blind ? "blind" : "review");
	cJSON_AddStringToObject(j, "annotator", r->annotator);
	cJSON_AddBoolToObject(j, "readonly", 0);
	cJSON_AddStringToObject(j, "notice", r->notice);
	add_classes(r, j);
	cJSON *mg = cJSON_AddArrayToObject(j, "merges_suggested");
	for (size_t k = 0; !r->blind && k < r->m.n_merges; k++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "a", r->m.merges[k].a);
		cJSON_AddNumberToObject(o, "b", r->m.merges[k].b);
		cJSON_AddNumberToObject(o, "score", r->m.merges[k].score);
		cJSON_AddStringToObject(o, "text", r->m.merges[k].text);
		cJSON_AddItemToArray(mg, o);
	}
	const char *const *tags;
	size_t nt = lp_review_state_tags(r->state, &tags);
	cJSON *t = cJSON_AddArrayToObject(j, "tags");
	for (size_t k = 0; k < nt; k++)
		cJSON_AddItemToArray(t, cJSON_CreateString(tags[k]));
	cJSON_AddNumberToObject(j, "undo", (double)lp_review_state_undo_top(r->state));
	cJSON_AddNumberToObject(j, "redo", (double)lp_review_state_redo_top(r->state));
	cJSON_AddNumberToObject(j, "seq", (double)r->last_seq);
	return lpv_reply(j, out, 200);
}

/* the items of class c (given label), most suspicious first: *ids malloc'd */
static size_t class_items(const lp_review *r, int c, size_t **ids);

static int cmp_suspect(const void *x, const void *y, void *arg)
{
	const lpv_item *a = &((const lpv_model *)arg)->items[*(const size_t *)x];
	const lpv_item *b = &((const lpv_model *)arg)->items[*(const size_t *)y];
	if ((a->suspect != 0) != (b->suspect != 0))
		return a->suspect ? -1 : 1;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return *(const size_t *)x < *(const size_t *)y ? -1 : 1;
}

static size_t class_items(const lp_review *r, int c, size_t **ids)
{
	size_t n = 0;
	*ids = malloc((r->m.n + 1) * sizeof **ids);
	if (!*ids)
		return 0;
	for (size_t i = 0; i < r->m.n; i++)
		if (r->m.items[i].label == c)
			(*ids)[n++] = i;
	qsort_r(*ids, n, sizeof **ids, cmp_suspect, (void *)&r->m);
	return n;
}

static int get_class(lp_review *r, int c, char **out)
{
	size_t *ids, n = class_items(r, c, &ids);
	char url[64];
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "class", c);
	cJSON_AddStringToObject(j, "name", r->m.classes[c]);
	cJSON *a = cJSON_AddArrayToObject(j, "items");
	for (size_t k = 0; ids && k < n; k++) {
		const lpv_item *it = &r->m.items[ids[k]];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", (double)ids[k]);
		cJSON_AddNumberToObject(o, "label", it->label);
		cJSON_AddNumberToObject(o, "score", it->score);
		cJSON_AddItemToObject(o, "top", top_json(it, 3));
		cJSON_AddStringToObject(o, "suspect", lpv_suspect_name(it->suspect));
		cJSON_AddItemToObject(o, "decision", lpv_decision_json(r, ids[k]));
		lpv_thumb_url(r, ids[k], 0, url, sizeof url);
		cJSON_AddStringToObject(o, "thumb", url);
		cJSON_AddItemToArray(a, o);
	}
	free(ids);
	return lpv_reply(j, out, 200);
}

static int get_item(lp_review *r, size_t i, char **out)
{
	const lpv_item *it = &r->m.items[i];
	char url[64];
	size_t *ids, n = class_items(r, it->label, &ids), rank = 0;
	for (size_t k = 0; ids && k < n; k++)
		if (ids[k] == i)
			rank = k + 1;
	free(ids);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "id", (double)i);
	cJSON_AddStringToObject(j, "split", r->m.splits[it->split]);
	cJSON_AddNumberToObject(j, "item", (double)it->row);
	cJSON_AddStringToObject(j, "name", r->m.names[it->split][it->row]);
	cJSON_AddNumberToObject(j, "label", it->label);
	cJSON_AddNumberToObject(j, "score", it->score);
	cJSON_AddItemToObject(j, "top", top_json(it, LPV_TOP));
	cJSON *f = cJSON_AddArrayToObject(j, "findings");
	for (int32_t k = it->finding; k >= 0; k = r->m.findings[k].next) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "kind", r->m.findings[k].kind);
		cJSON_AddStringToObject(o, "text", r->m.findings[k].text);
		cJSON_AddNumberToObject(o, "score", r->m.findings[k].score);
		cJSON_AddItemToArray(f, o);
	}
	cJSON_AddItemToObject(j, "decision", lpv_decision_json(r, i));
	lpv_thumb_url(r, i, 0, url, sizeof url);
	cJSON_AddStringToObject(j, "thumb", url);
	lpv_thumb_url(r, i, 1, url, sizeof url);
	cJSON_AddStringToObject(j, "preview", url);
	cJSON_AddArrayToObject(j, "neighbours");
	cJSON_AddNumberToObject(j, "rank", (double)rank);
	cJSON_AddNumberToObject(j, "of", (double)n);
	return lpv_reply(j, out, 200);
}

/* a few of the class's images, the model's surest first (they show what the class is) */
static int get_examples(lp_review *r, int c, char **out)
{
	cJSON *j = cJSON_CreateObject(), *a;
	char url[64];
	size_t pick[6], np = 0;

	cJSON_AddNumberToObject(j, "class", c);
	a = cJSON_AddArrayToObject(j, "thumbs");
	for (size_t i = 0; i < r->m.n; i++) {
		const lpv_item *it = &r->m.items[i];
		if (it->label != c || it->suspect ||
		    (r->blind && r->m.n_blind && it->split == r->m.items[r->m.blind[0]].split))
			continue; /* blind mode: never one of the images being asked about */
		if (np < 6) {
			pick[np++] = i;
			continue;
		}
		size_t worst = 0;
		for (size_t k = 1; k < np; k++)
			if (r->m.items[pick[k]].score > r->m.items[pick[worst]].score)
				worst = k;
		if (it->score < r->m.items[pick[worst]].score)
			pick[worst] = i;
	}
	for (size_t k = 0; k < np; k++) {
		lpv_thumb_url(r, pick[k], 0, url, sizeof url);
		cJSON_AddItemToArray(a, cJSON_CreateString(url));
	}
	return lpv_reply(j, out, 200);
}


static int get_stats(lp_review *r, char **out)
{
	cJSON *j = cJSON_CreateObject();
	const lpv_counters *c = &r->c;
#define N(f) cJSON_AddNumberToObject(j, #f, (double)c->f)
	N(requests), N(no_token), N(bad_token), N(bad_host), N(bad_origin), N(bad_method);
	N(bad_path), N(not_found), N(too_large), N(bad_request), N(thumbs_made);
	N(thumbs_served), N(decisions);
#undef N
	return lpv_reply(j, out, 200);
}

/* the number after prefix in url, in [0, limit), or -1 */
static long long id_after(const char *url, const char *prefix, size_t limit)
{
	size_t n = strlen(prefix);
	if (strncmp(url, prefix, n) != 0 || !url[n])
		return -1;
	char *end;
	long long v = strtoll(url + n, &end, 10);
	if (*end || v < 0 || (size_t)v >= limit || url[n] < '0' || url[n] > '9')
		return -1;
	return v;
}

static int api_get(lp_review *r, const char *url, int end, char **out)
{
	long long v;

	if (strcmp(url, "/api/state") == 0)
		return get_state(r, out);
	if (strcmp(url, "/api/stats") == 0)
		return get_stats(r, out);
	if (strcmp(url, "/api/blind") == 0)
		return r->blind ? lpv_get_blind(r, out) : lpv_fail(out, 404, "not in blind mode");
	if (strcmp(url, "/api/blind/summary") == 0)
		return r->blind ? lpv_get_blind_summary(r, end, out)
				: lpv_fail(out, 404, "not in blind mode");
	if ((v = id_after(url, "/api/examples/", (size_t)r->m.K)) >= 0)
		return get_examples(r, (int)v, out);
	if (r->blind) /* nothing that tells a label or a prediction */
		return lpv_fail(out, 404, "blind mode: only state, examples and blind");
	if ((v = id_after(url, "/api/class/", (size_t)r->m.K)) >= 0)
		return get_class(r, (int)v, out);
	if ((v = id_after(url, "/api/item/", r->m.n)) >= 0)
		return get_item(r, (size_t)v, out);
	return lpv_fail(out, 404, "no such API request");
}

int lpv_api(lp_review *r, const char *method, const char *url, int end, const char *body,
	    size_t body_n, char **out)
{
	if (strcmp(method, "GET") == 0)
		return api_get(r, url, end, out);
	cJSON *j = cJSON_ParseWithLength(body ? body : "", body_n);
	if (!j || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return lpv_fail(out, 400, "the body is not a JSON object");
	}
	int status;
	if (strcmp(url, "/api/decision") == 0)
		status = lpv_post_decision(r, j, out);
	else if (strcmp(url, "/api/undo") == 0 || strcmp(url, "/api/redo") == 0)
		status = lpv_post_undo(r, url[5] == 'r', j, out);
	else
		status = lpv_fail(out, 404, "no such API request");
	cJSON_Delete(j);
	return status;
}
