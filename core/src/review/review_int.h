/*
 * review_int.h — what the review server's files share (private to core/src/review/):
 *   model.c   the run as the page sees it: classes, items, predictions, findings
 *   thumb.c   thumbnails made from the dataset's images, cached by content hash
 *   api.c     the JSON API (cJSON): state, class, item, decisions, undo, blind
 *   server.c  libmicrohttpd, the security checks, routing, static assets
 */
#ifndef LOUPE_REVIEW_INT_H
#define LOUPE_REVIEW_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "loupe/annotations.h"
#include "loupe/review.h"
#include "loupe/run_images.h"

#define LPV_TOP 5

typedef struct lpv_item {
	int split;          /* index into m->splits */
	int64_t row;        /* the archive row of /dataset/<split>/names */
	int32_t label;      /* given */
	float score;        /* how suspect: label_issues' score, else 1 - p(given) */
	int ntop;           /* 0 without predictions */
	int32_t top[LPV_TOP];
	float topp[LPV_TOP];
	int suspect;        /* LPV_SUS_* of the first finding, 0 none */
	int32_t finding;    /* first finding about it (index into m->findings), -1 none */
	char hash[17];      /* content hash of its thumbnail URL */
} lpv_item;

enum { LPV_SUS_NONE, LPV_SUS_LABEL, LPV_SUS_AMBIGUOUS, LPV_SUS_DUPLICATE, LPV_SUS_OVERLAP };

typedef struct lpv_finding {
	char *kind, *text;
	float score;
	int32_t next;       /* the next finding about the same item, -1 */
} lpv_finding;

typedef struct lpv_merge {
	int32_t a, b;
	float score;
	char *text;
} lpv_merge;

typedef struct lpv_model {
	int K;
	char **classes;             /* one block */
	int n_splits;
	char *splits[8];
	char **names[8];            /* per split, one block each */
	int64_t rows[8];
	size_t *first;              /* per split: index of its row 0 in items */
	lpv_item *items;
	size_t n;
	lpv_finding *findings;
	size_t n_findings;
	lpv_merge *merges;
	size_t n_merges;
	size_t *by_hash;            /* item indices sorted by hash */
	size_t *blind;              /* blind mode: item indices in the order shown */
	size_t n_blind;
} lpv_model;

int lpv_model_load(lp_ctx *ctx, lp_archive *a, const lp_review_opts *o, lpv_model *m);
void lpv_model_free(lpv_model *m);
/* the item with that thumbnail hash, or -1 */
int64_t lpv_model_by_hash(const lpv_model *m, const char *hash);
const char *lpv_suspect_name(int s);
/* the index of a split in m->splits, or -1 */
int lpv_split_index(const lpv_model *m, const char *split);

typedef struct lpv_counters {
	uint64_t requests, no_token, bad_token, bad_host, bad_origin, bad_method, bad_path,
		not_found, too_large, bad_request, thumbs_made, thumbs_served, decisions;
} lpv_counters;

struct lp_review {
	lp_ctx *ctx;
	char *run, *journal_path, *annotator, *images_root;
	char url[160], token[33], notice[512];
	char origin[3][96];          /* the Host values accepted (and origins http://HOST) */
	int n_origin, blind, port;
	lpv_model m;
	lp_journal *journal;
	lp_review_state *state;
	int64_t last_seq;
	pthread_mutex_t lock;        /* ctx, journal, state */
	pthread_mutex_t thumb_lock;  /* images, cache */
	lp_run_images *images;
	uint8_t **jpeg_data[2];
	size_t *jpeg_n[2];
	lpv_counters c;
	void *daemon;
};

/* thumb.c: the JPEG of item i at size 160 (which 0) or 512 (1); *data borrowed from the
 * cache; -1 with why if it cannot be made */
int lpv_thumb(lp_review *r, size_t i, int which, const uint8_t **data, size_t *n, char *why,
	      size_t size);
void lpv_thumbs_free(lp_review *r);

struct cJSON;
/* api.c: JSON helpers shared with decide.c and blind.c */
int lpv_reply(struct cJSON *j, char **out, int status); /* prints and deletes j */
int lpv_fail(char **out, int status, const char *msg);  /* {"error": msg} */
struct cJSON *lpv_decision_json(const lp_review *r, size_t i);
void lpv_thumb_url(const lp_review *r, size_t i, int big, char *buf, size_t n);
/* decide.c */
int lpv_post_decision(lp_review *r, const struct cJSON *body, char **out);
int lpv_post_undo(lp_review *r, int redo, const struct cJSON *body, char **out);
/* blind.c */
int lpv_get_blind(lp_review *r, char **out);
int lpv_get_blind_summary(lp_review *r, int end, char **out);

/* server.c: serve on host:port (0: a free one; r->port gets it), stop serving */
int lpv_serve(lp_review *r, const char *host, int port);
void lpv_unserve(lp_review *r);

/* api.c: answer an API request: *body malloc'd JSON, returns the HTTP status */
int lpv_api(lp_review *r, const char *method, const char *url, int end, const char *body,
	    size_t body_n, char **out);

#endif
