/*
 * annotations.h — a person's decisions about a run's items: the journal they are written to
 * first, /annotations in the archive they are folded into, and the state they add up to.
 *
 *   lp_journal *j;
 *   if (lp_journal_open(ctx, "runs/x.h5.journal", &j)) fail(lp_ctx_errmsg(ctx));
 *   lp_annotation e = { .action = "relabel", .label = 4, .annotator = "ana" };
 *   lp_annotation_item it = { .split = "train", .item = 17, .name = "train/17", .cls = 2 };
 *   e.items = &it; e.n_items = 1;
 *   lp_journal_append(j, &e);            // e.seq and e.time set; on disk (fsync) on return
 *   lp_journal_close(j);
 *
 *   lp_annotations_fold(ctx, "runs/x.h5", "runs/x.h5.journal", &added);  // into /annotations
 *   lp_review_state *st;
 *   lp_annotations_load(ctx, archive, NULL, &st);   // what the decisions add up to
 *   const lp_item_decision *d = lp_review_state_item(st, "train", 17);
 *
 * The journal (docs/REVIEW.md) is JSON lines, one entry per line, appended and fsync'd before
 * lp_journal_append returns: an acknowledged decision survives SIGKILL and power loss. A torn
 * last line (a crash mid-write) was never acknowledged; opening drops it. Entries are numbered
 * by seq (1, 2, ...); an entry with a client key already in the journal is not written twice
 * (lp_journal_append returns the earlier seq), so a client that retries after a crash cannot
 * duplicate a decision. One process appends at a time (an flock on the journal).
 *
 * Folding appends the entries whose seq is above the largest in /annotations to the archive's
 * extendible /annotations datasets (one row per item of an entry; class-level entries and
 * undo/redo one row with item -1) and commits; rows already there are never rewritten. Folding
 * twice adds nothing. The journal stays: it is the record; the archive holds a copy.
 *
 * Nothing here exits or prints; errors name the file and line (journal) or object (archive).
 */
#ifndef LOUPE_ANNOTATIONS_H
#define LOUPE_ANNOTATIONS_H

#include "loupe/archive.h"

#ifdef __cplusplus
extern "C" {
#endif

/* actions (the journal's and /annotations' `action` strings):
 *   keep      the given label is right
 *   relabel   the right label is `label`
 *   also      the item shows class `label` too (repeatable: one class per entry)
 *   remove    not a valid sample of any class
 *   unsure    looked at, no decision
 *   tag       add tag `tag` to the items;  untag: remove it
 *   clear     forget the item's status (keep/relabel/remove/unsure), its also-classes and tags
 *   merge     class `cls` (no items) is merged into class `label`;  unmerge: undo a merge
 *   answer    blind mode: the person says the item shows class `label` (-1: cannot tell)
 *   undo      entry `ref` no longer counts;  redo: entry `ref` counts again
 */
#define LP_ANNOTATION_ACTIONS \
	"keep", "relabel", "also", "remove", "unsure", "tag", "untag", "clear", "merge", \
	"unmerge", "answer", "undo", "redo"

typedef struct lp_annotation_item {
	const char *split;  /* "train", "test", ... */
	int64_t item;       /* the archive row of /dataset/<split>/names */
	const char *name;   /* that row's name (matches the item if rows move) */
	int32_t cls;        /* its given label (/dataset/<split>/labels) */
} lp_annotation_item;

typedef struct lp_annotation {
	int64_t seq;        /* set by lp_journal_append */
	double time;        /* unix seconds; set by lp_journal_append when 0 */
	const char *action; /* one of LP_ANNOTATION_ACTIONS */
	const lp_annotation_item *items;
	size_t n_items;     /* 0 for merge, unmerge, undo, redo */
	int32_t cls;        /* merge / unmerge: the class merged; else -1 */
	int32_t label;      /* relabel, also, merge, answer: the class; else -1 */
	const char *tag;    /* tag / untag; else NULL or "" */
	const char *note;   /* free text, may be NULL */
	const char *annotator;
	int64_t ref;        /* undo / redo: the seq it is about; else -1 */
	const char *client; /* the client's key for this request (idempotence), may be NULL */
} lp_annotation;

/* ---- the journal ---- */

typedef struct lp_journal lp_journal;

/* Open (creating) the journal at path and read it: LP_ERR_BUSY when another process has it
 * open for appending; LP_ERR_FORMAT naming path:line for a line that is not a valid entry
 * (but a torn last line, which is cut off). */
int lp_journal_open(lp_ctx *ctx, const char *path, lp_journal **out);
void lp_journal_close(lp_journal *j);
/* Append e (seq and time filled in), written and fsync'd on return. If e->client is an
 * earlier entry's client key, nothing is written and e->seq is that entry's. */
int lp_journal_append(lp_journal *j, lp_annotation *e);
/* The entries read at open plus those appended since, in seq order (borrowed, valid until the
 * next append or close). */
size_t lp_journal_entries(const lp_journal *j, const lp_annotation **out);
/* Read a journal file without taking it over (for folding and for tests): *out malloc'd,
 * free with lp_annotations_free. */
int lp_journal_read(lp_ctx *ctx, const char *path, lp_annotation **out, size_t *n);
void lp_annotations_free(lp_annotation *e, size_t n);

/* ---- the archive ---- */

/* Append the journal's entries with seq above /annotations' largest to the archive at
 * run_path (opened writable, committed, closed); *added = rows appended. LP_ERR_BUSY when
 * another process writes the archive (a run still training): nothing changes. */
int lp_annotations_fold(lp_ctx *ctx, const char *run_path, const char *journal_path,
			size_t *added);
/* The entries in the archive's /annotations (rows regrouped into entries by seq), plus those
 * of journal_path above them when it is not NULL: *out malloc'd (lp_annotations_free). An
 * archive without /annotations gives 0 entries. */
int lp_annotations_read(lp_ctx *ctx, lp_archive *run, const char *journal_path,
			lp_annotation **out, size_t *n);

/* ---- what the decisions add up to ---- */

enum {
	LP_DECISION_NONE = 0,
	LP_DECISION_KEEP,
	LP_DECISION_RELABEL,
	LP_DECISION_REMOVE,
	LP_DECISION_UNSURE,
};

typedef struct lp_item_decision {
	int status;          /* LP_DECISION_* (the last of keep/relabel/remove/unsure/clear) */
	int32_t label;       /* RELABEL: the class; else -1 */
	int32_t answer;      /* blind mode's last answer (-1: cannot tell), -2: none */
	size_t n_also;
	const int32_t *also; /* the also-shown classes, in the order first added, no repeats */
	size_t n_tags;
	const char *const *tags; /* in the order first added, no repeats */
	int64_t seq;         /* the last entry that counts for this item; 0 if none */
} lp_item_decision;

typedef struct lp_review_state lp_review_state;

/* Replay entries e[0..n-1] (seq order): an entry counts unless undone (undo ref X makes X not
 * count, redo ref X makes it count again); counting entries apply in seq order. Also keeps the
 * undo and redo stacks: a new entry (not undo/redo) pushes onto undo and empties redo; undo
 * pops undo onto redo; redo pops redo onto undo. */
int lp_review_state_new(lp_ctx *ctx, const lp_annotation *e, size_t n, lp_review_state **out);
/* Apply one more entry (after lp_journal_append) */
int lp_review_state_apply(lp_review_state *st, const lp_annotation *e);
void lp_review_state_free(lp_review_state *st);
/* lp_annotations_read (run's /annotations, plus journal_path's entries above them when not
 * NULL) and lp_review_state_new of what it read. */
int lp_annotations_load(lp_ctx *ctx, lp_archive *run, const char *journal_path,
			lp_review_state **out);
/* The item's decision; never NULL (an item nobody decided on: status NONE, answer -2). */
const lp_item_decision *lp_review_state_item(const lp_review_state *st, const char *split,
					      int64_t item);
/* merges in force: *from[i] merged into *into[i]; returns the count */
size_t lp_review_state_merges(const lp_review_state *st, const int32_t **from,
			      const int32_t **into);
/* the seq that undo would undo next (0: nothing), and the one redo would redo */
int64_t lp_review_state_undo_top(const lp_review_state *st);
int64_t lp_review_state_redo_top(const lp_review_state *st);
/* every tag in use, most used first */
size_t lp_review_state_tags(const lp_review_state *st, const char *const **out);
/* a hash (hex sha256, 64 chars + NUL) of the entries that count, for provenance */
void lp_review_state_hash(const lp_review_state *st, char out[65]);

#ifdef __cplusplus
}
#endif
#endif
