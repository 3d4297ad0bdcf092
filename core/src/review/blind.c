/*
 * blind.c — human against the model (`loupe review --blind`): the split's images in a seeded
 * random order, by position only; the person's answers are journal entries of action
 * `answer`. The summary (the person's and the model's agreement with the given labels, and
 * the images where person and model disagree) is given only when every image is answered, or
 * when the page asks to end (?end=1). Called under r->lock (server.c).
 */
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "review_int.h"

static int answer_of(const lp_review *r, size_t i)
{
	const lpv_item *it = &r->m.items[i];
	return lp_review_state_item(r->state, r->m.splits[it->split], it->row)->answer;
}

int lpv_get_blind(lp_review *r, char **out)
{
	char url[64];
	size_t answered = 0;
	cJSON *j = cJSON_CreateObject();
	cJSON *a = cJSON_AddArrayToObject(j, "items");

	for (size_t k = 0; k < r->m.n_blind; k++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", (double)k);
		lpv_thumb_url(r, r->m.blind[k], 1, url, sizeof url);
		cJSON_AddStringToObject(o, "thumb", url);
		cJSON_AddItemToArray(a, o);
		answered += answer_of(r, r->m.blind[k]) >= -1;
	}
	cJSON_AddNumberToObject(j, "answered", (double)answered);
	cJSON_AddNumberToObject(j, "total", (double)r->m.n_blind);
	return lpv_reply(j, out, 200);
}

int lpv_get_blind_summary(lp_review *r, int end, char **out)
{
	size_t answered = 0, person = 0, model = 0, judged = 0;
	char url[64];
	cJSON *j = cJSON_CreateObject();

	for (size_t k = 0; k < r->m.n_blind; k++)
		answered += answer_of(r, r->m.blind[k]) >= -1;
	int done = answered == r->m.n_blind || end;
	cJSON_AddBoolToObject(j, "done", done);
	cJSON_AddNumberToObject(j, "answered", (double)answered);
	cJSON_AddNumberToObject(j, "total", (double)r->m.n_blind);
	if (!done)
		return lpv_reply(j, out, 200);
	cJSON *d = cJSON_AddArrayToObject(j, "disagreements");
	for (size_t k = 0; k < r->m.n_blind; k++) {
		size_t i = r->m.blind[k];
		const lpv_item *it = &r->m.items[i];
		int ans = answer_of(r, i), pred = it->ntop ? it->top[0] : -1;
		if (ans < -1)
			continue;
		judged++;
		person += ans == it->label;
		model += pred == it->label;
		if (ans == pred)
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", (double)k);
		lpv_thumb_url(r, i, 0, url, sizeof url);
		cJSON_AddStringToObject(o, "thumb", url);
		cJSON_AddNumberToObject(o, "label", it->label);
		cJSON_AddNumberToObject(o, "person", ans);
		cJSON_AddNumberToObject(o, "model", pred);
		cJSON_AddItemToArray(d, o);
	}
	cJSON_AddNumberToObject(j, "n", (double)judged);
	cJSON_AddNumberToObject(j, "person", judged ? (double)person / judged : 0);
	cJSON_AddNumberToObject(j, "model", judged ? (double)model / judged : 0);
	cJSON_AddNullToObject(j, "labels"); /* the given labels are the reference here */
	return lpv_reply(j, out, 200);
}
