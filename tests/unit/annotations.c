/*
 * annotations.c (test_annotations) — the review journal, the state its entries add up to, and
 * folding into /annotations, against expectations written out by hand here:
 *
 * - an appended entry is the JSON line docs/REVIEW.md shows, byte for byte; reopening reads
 *   back what was given; seq counts 1, 2, ...; a client key already there is not written again;
 * - a torn last line (no newline, or garbled) is cut at open and the next append follows the
 *   last whole line; a bad line elsewhere is LP_ERR_FORMAT naming path:line, and the file is
 *   left as it was; invalid entries are refused by append, nothing written;
 * - a second open from a forked child is LP_ERR_BUSY naming the parent's process;
 * - replay: keep/relabel on several items, also (no repeats), tag/untag, clear, answer,
 *   merge/unmerge, undo/redo with the undo and redo tops, the last seq that counts per item,
 *   tags by use, all given incrementally and at once; the hash of a history with undos equals
 *   the hash of the entries that count, and changes when a decision does; 100k items;
 * - lp_archive_append refuses a dataset of another type or one that cannot grow;
 * - folding writes one row per item (item -1 for class-level and undo/redo), folding again adds
 *   nothing, later entries are appended, and reading back gives the journal's entries.
 *
 * Exits 0 when all checks pass; prints "FAIL: ..." lines and exits 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loupe/annotations.h"
#include "loupe/loupe.h"

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	failures++;
}

#define CHECK(cond, ...) do { if (!(cond)) fail(__VA_ARGS__); } while (0)
#define OK(call) do { int rc_ = (call); \
	if (rc_ != LP_OK) fail("%s:%d: %s -> %d: %s", __FILE__, __LINE__, #call, rc_, \
			      lp_ctx_errmsg(ctx)); } while (0)

static lp_ctx *ctx;
static char dir[256];

static void path_in(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	*len = 0;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc((size_t)n + 1, 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = buf ? (size_t)n : 0;
	return buf;
}

static void spit(const char *path, const char *text, int append)
{
	FILE *f = fopen(path, append ? "ab" : "wb");

	if (!f || fputs(text, f) < 0)
		fail("cannot write %s", path);
	if (f)
		fclose(f);
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* ---- entries used throughout ----------------------------------------------------------------- */

static const lp_annotation_item it_a[2] = { { "train", 17, "train/17", 2 },
					    { "train", 18, "bar/img_0001.jpg", 0 } };
static const lp_annotation_item it_b[1] = { { "test", 3, "test/3", 1 } };

static lp_annotation entry(const char *action, const lp_annotation_item *items, size_t n)
{
	lp_annotation e = { .action = action, .items = items, .n_items = n, .cls = -1,
			    .label = -1, .annotator = "ana", .ref = -1 };

	return e;
}

static int same_entry(const lp_annotation *a, const lp_annotation *b)
{
	int ok = a->seq == b->seq && a->time == b->time && !strcmp(a->action, b->action) &&
		 a->n_items == b->n_items && a->cls == b->cls && a->label == b->label &&
		 !strcmp(a->tag ? a->tag : "", b->tag ? b->tag : "") &&
		 !strcmp(a->note ? a->note : "", b->note ? b->note : "") &&
		 !strcmp(a->annotator ? a->annotator : "", b->annotator ? b->annotator : "") &&
		 a->ref == b->ref;

	for (size_t i = 0; ok && i < a->n_items; i++)
		ok = !strcmp(a->items[i].split, b->items[i].split) &&
		     a->items[i].item == b->items[i].item &&
		     !strcmp(a->items[i].name, b->items[i].name) &&
		     a->items[i].cls == b->items[i].cls;
	return ok;
}

/* ---- the journal ----------------------------------------------------------------------------- */

static const char line1[] =
	"{\"seq\":1,\"time\":1764770000.123,\"action\":\"relabel\",\"items\":["
	"{\"split\":\"train\",\"item\":17,\"name\":\"train/17\",\"class\":2},"
	"{\"split\":\"train\",\"item\":18,\"name\":\"bar/img_0001.jpg\",\"class\":0}],"
	"\"class\":-1,\"label\":5,\"tag\":\"\",\"note\":\"caf\xc3\xa9 \\\"q\\\"\","
	"\"annotator\":\"ana\",\"ref\":-1,\"client\":\"k3f9-41\"}\n";

static void journal_basic(const char *jpath)
{
	lp_annotation e1 = entry("relabel", it_a, 2), e2 = entry("tag", it_b, 1),
		      e3 = entry("undo", NULL, 0), again;
	const lp_annotation *got;
	lp_journal *j;
	size_t len;
	char *text;

	e1.time = 1764770000.123;
	e1.label = 5;
	e1.note = "caf\xc3\xa9 \"q\"";
	e1.client = "k3f9-41";
	e1.cls = 9; /* not a merge: stored as -1, as the header says */
	e2.tag = "blurry";
	e2.label = 3; /* a tag has no label: stored as -1 */
	e3.ref = 1;
	unlink(jpath);
	OK(lp_journal_open(ctx, jpath, &j));
	OK(lp_journal_append(j, &e1));
	OK(lp_journal_append(j, &e2));
	OK(lp_journal_append(j, &e3));
	CHECK(e1.seq == 1 && e2.seq == 2 && e3.seq == 3, "seqs %lld %lld %lld",
	      (long long)e1.seq, (long long)e2.seq, (long long)e3.seq);
	CHECK(e2.time > 1.7e9 && fabs(e2.time * 1000 - (double)llround(e2.time * 1000)) < 1e-3,
	      "time filled in to the millisecond: %.6f", e2.time);
	again = entry("keep", it_b, 1);
	again.client = "k3f9-41"; /* a retry of e1 */
	OK(lp_journal_append(j, &again));
	CHECK(again.seq == 1, "a retried client key gives seq %lld, not 1", (long long)again.seq);
	CHECK(lp_journal_entries(j, &got) == 3, "3 entries after a retry");
	lp_journal_close(j);
	text = slurp(jpath, &len);
	CHECK(text && strncmp(text, line1, strlen(line1)) == 0, "first line is\n%.*s\nnot\n%s",
	      (int)(text ? strcspn(text, "\n") : 0), text ? text : "", line1);
	CHECK(text && strstr(text, "\"action\":\"tag\",\"items\":[{\"split\":\"test\",\"item\":3,"
			     "\"name\":\"test/3\",\"class\":1}],\"class\":-1,\"label\":-1,"
			     "\"tag\":\"blurry\""), "the tag line: %s", text ? text : "");
	CHECK(text && strstr(text, "\"seq\":3,") && strstr(text, "\"action\":\"undo\",\"items\":[],"
			     "\"class\":-1,\"label\":-1,\"tag\":\"\",\"note\":\"\","
			     "\"annotator\":\"ana\",\"ref\":1,\"client\":null}\n"),
	      "the undo line: %s", text ? text : "");
	free(text);
	OK(lp_journal_open(ctx, jpath, &j));
	CHECK(lp_journal_entries(j, &got) == 3, "reopened: 3 entries");
	e1.cls = -1;
	e2.label = -1;
	CHECK(same_entry(&got[0], &e1) && same_entry(&got[1], &e2) && same_entry(&got[2], &e3),
	      "reopened entries differ from what was appended");
	again = entry("keep", it_b, 1);
	again.client = "k3f9-41";
	OK(lp_journal_append(j, &again));
	CHECK(again.seq == 1 && lp_journal_entries(j, &got) == 3,
	      "the client key is known after reopening");
	lp_journal_close(j);
}

static void journal_torn(const char *jpath)
{
	lp_annotation e = entry("keep", it_b, 1);
	const lp_annotation *got;
	long whole = file_size(jpath);
	lp_journal *j;

	spit(jpath, "{\"seq\":4,\"time\":1764770001,\"action\":\"ke", 1);
	OK(lp_journal_open(ctx, jpath, &j));
	CHECK(file_size(jpath) == whole, "torn tail without newline cut: %ld bytes, not %ld",
	      file_size(jpath), whole);
	CHECK(lp_journal_entries(j, &got) == 3, "torn tail is no entry");
	lp_journal_close(j);
	spit(jpath, "{\"seq\":4,\"ti\x01\xff\n", 1);
	OK(lp_journal_open(ctx, jpath, &j));
	CHECK(file_size(jpath) == whole, "garbled last line cut: %ld bytes, not %ld",
	      file_size(jpath), whole);
	OK(lp_journal_append(j, &e));
	CHECK(e.seq == 4, "after a cut, seq %lld", (long long)e.seq);
	lp_journal_close(j);
	OK(lp_journal_open(ctx, jpath, &j));
	CHECK(lp_journal_entries(j, &got) == 4 && got[3].seq == 4 &&
	      !strcmp(got[3].action, "keep"), "the entry after a cut reads back");
	lp_journal_close(j);
}

static void expect_bad(const char *jpath, const char *text, const char *want)
{
	char where[320];
	lp_annotation *e;
	lp_journal *j;
	size_t n;
	long size;
	int rc;

	spit(jpath, text, 0);
	size = file_size(jpath);
	snprintf(where, sizeof where, "%s:2:", jpath);
	rc = lp_journal_open(ctx, jpath, &j);
	CHECK(rc == LP_ERR_FORMAT && strstr(lp_ctx_errmsg(ctx), where) &&
	      strstr(lp_ctx_errmsg(ctx), want), "bad line 2 (%s): %d %s", want, rc,
	      lp_ctx_errmsg(ctx));
	CHECK(file_size(jpath) == size, "a refused journal is left as it was");
	rc = lp_journal_read(ctx, jpath, &e, &n);
	CHECK(rc == LP_ERR_FORMAT && strstr(lp_ctx_errmsg(ctx), where),
	      "lp_journal_read, bad line 2: %d %s", rc, lp_ctx_errmsg(ctx));
}

static void journal_bad(const char *jpath)
{
	const char *ok1 = "{\"seq\":1,\"action\":\"keep\",\"items\":[{\"split\":\"train\","
			  "\"item\":1,\"name\":\"a\",\"class\":0}]}\n";
	const char *ok3 = "{\"seq\":3,\"action\":\"undo\",\"items\":[],\"ref\":1}\n";
	char text[1024];
	lp_annotation e = entry("frobnicate", it_b, 1);
	lp_journal *j;
	long size;
	int rc;

	snprintf(text, sizeof text, "%s{\"seq\":2,\"action\":\"frobnicate\",\"items\":[]}\n%s",
		 ok1, ok3);
	expect_bad(jpath, text, "frobnicate");
	snprintf(text, sizeof text, "%snot json\n%s", ok1, ok3);
	expect_bad(jpath, text, "not a JSON entry");
	snprintf(text, sizeof text, "%s{\"seq\":1,\"action\":\"keep\",\"items\":[{\"split\":"
		 "\"train\",\"item\":2,\"name\":\"b\",\"class\":0}]}\n%s", ok1, ok3);
	expect_bad(jpath, text, "seq 1 after 1");
	snprintf(text, sizeof text, "%s{\"seq\":2,\"action\":\"relabel\",\"items\":[{\"split\":"
		 "\"train\",\"item\":2,\"name\":\"b\",\"class\":0}]}\n%s", ok1, ok3);
	expect_bad(jpath, text, "relabel needs a class");
	spit(jpath, ok1, 0);
	size = file_size(jpath);
	OK(lp_journal_open(ctx, jpath, &j));
	rc = lp_journal_append(j, &e);
	CHECK(rc == LP_ERR_ARG && strstr(lp_ctx_errmsg(ctx), "frobnicate"),
	      "append of an unknown action: %d %s", rc, lp_ctx_errmsg(ctx));
	e = entry("relabel", it_b, 1);
	rc = lp_journal_append(j, &e);
	CHECK(rc == LP_ERR_ARG, "append of relabel without a label: %d", rc);
	e = entry("keep", NULL, 0);
	rc = lp_journal_append(j, &e);
	CHECK(rc == LP_ERR_ARG, "append of keep without items: %d", rc);
	e = entry("undo", NULL, 0);
	e.ref = 2;
	rc = lp_journal_append(j, &e);
	CHECK(rc == LP_ERR_ARG, "append of an undo of a later entry: %d", rc);
	CHECK(file_size(jpath) == size, "refused appends wrote nothing");
	lp_journal_close(j);
}

static void journal_busy(const char *jpath)
{
	char want[64];
	lp_journal *j, *j2;
	int status = -1;
	pid_t pid;

	OK(lp_journal_open(ctx, jpath, &j));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int rc = lp_journal_open(ctx, jpath, &j2);

		snprintf(want, sizeof want, "process %ld ", (long)getppid());
		if (rc != LP_ERR_BUSY || !strstr(lp_ctx_errmsg(ctx), want) ||
		    !strstr(lp_ctx_errmsg(ctx), jpath)) {
			printf("FAIL: second open in a child: %d %s (want %s)\n", rc,
			       lp_ctx_errmsg(ctx), want);
			_exit(1);
		}
		_exit(0);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "the child's second open was not refused as busy");
	lp_journal_close(j);
	OK(lp_journal_open(ctx, jpath, &j)); /* free again once closed */
	lp_journal_close(j);
}

/* ---- the state ------------------------------------------------------------------------------- */

static const lp_annotation_item t1 = { "train", 1, "train/1", 0 },
				  t2 = { "train", 2, "train/2", 1 },
				  t3 = { "train", 3, "train/3", 1 },
				  s5 = { "test", 5, "test/5", 2 },
				  s6 = { "test", 6, "test/6", 2 };
static const lp_annotation_item t12[2] = { { "train", 1, "train/1", 0 },
					   { "train", 2, "train/2", 1 } };
static const lp_annotation_item t23[2] = { { "train", 2, "train/2", 1 },
					   { "train", 3, "train/3", 1 } };
static const lp_annotation_item s56[2] = { { "test", 5, "test/5", 2 },
					   { "test", 6, "test/6", 2 } };

/* The history the state tests replay; entry i has seq i + 1. */
static size_t history(lp_annotation *h)
{
	size_t n = 0;

#define ADD(act, items, ni, ...) \
	do { h[n] = entry(act, items, ni); h[n].seq = (int64_t)n + 1; h[n].time = 1e9 + (double)n; \
	     __VA_ARGS__; n++; } while (0)
	ADD("keep", &t1, 1, (void)0);                /* 1 */
	ADD("relabel", t23, 2, h[n].label = 4);      /* 2 */
	ADD("tag", t12, 2, h[n].tag = "blurry");     /* 3 */
	ADD("tag", &t2, 1, h[n].tag = "dup");        /* 4 */
	ADD("also", &t2, 1, h[n].label = 7);         /* 5 */
	ADD("also", &t2, 1, h[n].label = 7);         /* 6: no repeat */
	ADD("also", &t2, 1, h[n].label = 1);         /* 7 */
	ADD("merge", NULL, 0, h[n].cls = 3; h[n].label = 5);  /* 8 */
	ADD("undo", NULL, 0, h[n].ref = 2);          /* 9 */
	ADD("redo", NULL, 0, h[n].ref = 2);          /* 10 */
	ADD("undo", NULL, 0, h[n].ref = 7);          /* 11 */
	ADD("remove", &s5, 1, (void)0);              /* 12 */
	ADD("clear", &t2, 1, (void)0);               /* 13 */
	ADD("answer", &s5, 1, h[n].label = -1);      /* 14 */
	ADD("answer", &t1, 1, h[n].label = 3);       /* 15 */
	ADD("unmerge", NULL, 0, h[n].cls = 3);       /* 16 */
	ADD("merge", NULL, 0, h[n].cls = 2; h[n].label = 6);  /* 17 */
	ADD("undo", NULL, 0, h[n].ref = 17);         /* 18 */
	ADD("redo", NULL, 0, h[n].ref = 17);         /* 19 */
	ADD("tag", s56, 2, h[n].tag = "dark");       /* 20 */
	ADD("tag", &s6, 1, h[n].tag = "old");        /* 21 */
	ADD("untag", &s6, 1, h[n].tag = "old");      /* 22 */
#undef ADD
	return n;
}

static void check_item(const lp_review_state *st, const lp_annotation_item *it, int status,
		       int label, int answer, const char *also, const char *tags, int64_t seq)
{
	const lp_item_decision *d = lp_review_state_item(st, it->split, it->item);
	char a[64] = "", t[128] = "";

	for (size_t i = 0; i < d->n_also; i++)
		snprintf(a + strlen(a), sizeof a - strlen(a), "%s%d", i ? "," : "",
			 (int)d->also[i]);
	for (size_t i = 0; i < d->n_tags; i++)
		snprintf(t + strlen(t), sizeof t - strlen(t), "%s%s", i ? "," : "", d->tags[i]);
	CHECK(d->status == status && d->label == label && d->answer == answer && !strcmp(a, also) &&
	      !strcmp(t, tags) && d->seq == seq,
	      "%s/%lld: status %d label %d answer %d also [%s] tags [%s] seq %lld; want %d %d %d "
	      "[%s] [%s] %lld", it->split, (long long)it->item, d->status, (int)d->label,
	      (int)d->answer, a, t, (long long)d->seq, status, label, answer, also, tags,
	      (long long)seq);
}

static void check_tops(const lp_review_state *st, int64_t undo, int64_t redo, int at)
{
	CHECK(lp_review_state_undo_top(st) == undo && lp_review_state_redo_top(st) == redo,
	      "after entry %d: undo top %lld redo top %lld, want %lld %lld", at,
	      (long long)lp_review_state_undo_top(st), (long long)lp_review_state_redo_top(st),
	      (long long)undo, (long long)redo);
}

static void check_final(const lp_review_state *st)
{
	static const lp_annotation_item v9 = { "valid", 9, "valid/9", 0 },
					t4 = { "train", 4, "", 0 };
	const int32_t *from, *into;
	const char *const *tags;
	size_t n;

	check_item(st, &t1, LP_DECISION_KEEP, -1, 3, "", "blurry", 15);
	check_item(st, &t2, LP_DECISION_NONE, -1, -2, "", "", 13);
	check_item(st, &t3, LP_DECISION_RELABEL, 4, -2, "", "", 2);
	check_item(st, &s5, LP_DECISION_REMOVE, -1, -1, "", "dark", 20);
	check_item(st, &s6, LP_DECISION_NONE, -1, -2, "", "dark", 22);
	check_item(st, &v9, LP_DECISION_NONE, -1, -2, "", "", 0);
	check_item(st, &t4, LP_DECISION_NONE, -1, -2, "", "", 0);
	n = lp_review_state_merges(st, &from, &into);
	CHECK(n == 1 && from[0] == 2 && into[0] == 6, "merges: %zu (%d -> %d)", n,
	      n ? (int)from[0] : -1, n ? (int)into[0] : -1);
	n = lp_review_state_tags(st, &tags);
	CHECK(n == 2 && !strcmp(tags[0], "dark") && !strcmp(tags[1], "blurry"),
	      "tags: %zu %s %s", n, n ? tags[0] : "", n > 1 ? tags[1] : "");
	check_tops(st, 22, 0, 22);
}

/* Incrementally, with the state checked at the points where undo and redo matter. */
static void state_steps(const lp_annotation *h, size_t n, char hash[65])
{
	const int32_t *from, *into;
	const char *const *tags;
	lp_review_state *st;

	OK(lp_review_state_new(ctx, NULL, 0, &st));
	if (!st)
		return;
	check_tops(st, 0, 0, 0);
	for (size_t i = 0; i < n; i++) {
		OK(lp_review_state_apply(st, &h[i]));
		if (i + 1 == 4)
			CHECK(lp_review_state_tags(st, &tags) == 2 && !strcmp(tags[0], "blurry"),
			      "after 4: blurry (2 items) before dup (1)");
		if (i + 1 == 8)
			CHECK(lp_review_state_merges(st, &from, &into) == 1 && from[0] == 3 &&
			      into[0] == 5, "after 8: 3 merged into 5");
		if (i + 1 == 9) {
			check_tops(st, 8, 2, 9);
			check_item(st, &t2, LP_DECISION_NONE, -1, -2, "7,1", "blurry,dup", 7);
			check_item(st, &t3, LP_DECISION_NONE, -1, -2, "", "", 0);
		}
		if (i + 1 == 10) {
			check_tops(st, 2, 0, 10);
			check_item(st, &t3, LP_DECISION_RELABEL, 4, -2, "", "", 2);
		}
		if (i + 1 == 11) {
			check_tops(st, 2, 7, 11);
			check_item(st, &t2, LP_DECISION_RELABEL, 4, -2, "7", "blurry,dup", 6);
		}
		if (i + 1 == 12)
			check_tops(st, 12, 0, 12);
		if (i + 1 == 16)
			CHECK(lp_review_state_merges(st, &from, &into) == 0, "after 16: no merges");
		if (i + 1 == 18)
			CHECK(lp_review_state_merges(st, &from, &into) == 0 &&
			      lp_review_state_redo_top(st) == 17, "after 18: merge 17 undone");
	}
	check_final(st);
	lp_review_state_hash(st, hash);
	lp_review_state_free(st);
}

static void state_replay(void)
{
	lp_annotation h[32], counting[32], e;
	char h_steps[65], h_all[65], h_counting[65], h_other[65];
	lp_review_state *st;
	size_t n = history(h), nc = 0;
	int rc;

	state_steps(h, n, h_steps);
	OK(lp_review_state_new(ctx, h, n, &st));
	if (!st)
		return;
	check_final(st);
	lp_review_state_hash(st, h_all);
	e = entry("keep", &t1, 1);
	e.seq = 5; /* not after 22 */
	rc = lp_review_state_apply(st, &e);
	CHECK(rc == LP_ERR_ARG, "an entry out of seq order: %d", rc);
	lp_review_state_free(st);
	/* the same decisions without undo/redo and the entries they undid (7) */
	for (size_t i = 0; i < n; i++)
		if (strcmp(h[i].action, "undo") && strcmp(h[i].action, "redo") && h[i].seq != 7)
			counting[nc++] = h[i];
	OK(lp_review_state_new(ctx, counting, nc, &st));
	lp_review_state_hash(st, h_counting);
	lp_review_state_free(st);
	counting[0].label = -1;
	counting[0].action = "remove"; /* one decision differs */
	OK(lp_review_state_new(ctx, counting, nc, &st));
	lp_review_state_hash(st, h_other);
	lp_review_state_free(st);
	CHECK(strlen(h_all) == 64 && strspn(h_all, "0123456789abcdef") == 64, "hash %s", h_all);
	CHECK(!strcmp(h_all, h_steps), "hash at once %s, step by step %s", h_all, h_steps);
	CHECK(!strcmp(h_all, h_counting), "hash %s, of the counting entries alone %s", h_all,
	      h_counting);
	CHECK(strcmp(h_all, h_other) != 0, "hash unchanged by another decision");
}

static void state_large(void)
{
	enum { N = 100000 };
	lp_annotation_item *items = malloc(N * sizeof(*items));
	lp_annotation e[3];
	lp_review_state *st;
	int bad = 0;

	if (!items) {
		fail("out of memory");
		return;
	}
	for (int i = 0; i < N; i++)
		items[i] = (lp_annotation_item){ i % 2 ? "train" : "test", i / 2, "", 0 };
	e[0] = entry("relabel", items, N);
	e[0].seq = 1, e[0].label = 2;
	e[1] = entry("tag", items, N / 2);
	e[1].seq = 2, e[1].tag = "half";
	e[2] = entry("undo", NULL, 0);
	e[2].seq = 3, e[2].ref = 1;
	OK(lp_review_state_new(ctx, e, 3, &st));
	for (int i = 0; st && i < N; i++) {
		const lp_item_decision *d = lp_review_state_item(st, items[i].split, items[i].item);

		bad += d->status != LP_DECISION_NONE || d->n_tags != (size_t)(i < N / 2) ||
		       d->seq != (i < N / 2 ? 2 : 0);
	}
	CHECK(st && !bad, "100k items: %d decisions wrong", bad);
	lp_review_state_free(st);
	free(items);
}

/* ---- the archive ----------------------------------------------------------------------------- */

static void append_errors(const char *run)
{
	int64_t v[2] = { 1, 2 }, d1 = 2;
	const char *s[2] = { "a", NULL };
	lp_archive *a;
	int rc;

	unlink(run);
	OK(lp_archive_create(ctx, run, NULL, &a));
	if (!a)
		return;
	OK(lp_archive_append(a, "/t/i64", LP_I64, 2, v, "row"));
	OK(lp_archive_append(a, "/t/i64", LP_I64, 2, v, "row"));
	OK(lp_archive_append_strings(a, "/t/s", 2, s, "row"));
	OK(lp_archive_write(a, "/t/fixed", LP_I64, 1, &d1, NULL, v));
	rc = lp_archive_append(a, "/t/i64", LP_I32, 1, v, "row");
	CHECK(rc == LP_ERR_FORMAT && strstr(lp_ctx_errmsg(ctx), "/t/i64"),
	      "int32 rows onto int64: %d %s", rc, lp_ctx_errmsg(ctx));
	rc = lp_archive_append_strings(a, "/t/i64", 1, s, "row");
	CHECK(rc == LP_ERR_FORMAT, "strings onto int64: %d", rc);
	rc = lp_archive_append(a, "/t/s", LP_I64, 1, v, "row");
	CHECK(rc == LP_ERR_FORMAT, "int64 onto strings: %d", rc);
	rc = lp_archive_append(a, "/t/fixed", LP_I64, 1, v, "row");
	CHECK(rc == LP_ERR_FORMAT && strstr(lp_ctx_errmsg(ctx), "/t/fixed"),
	      "onto a dataset that cannot grow: %d %s", rc, lp_ctx_errmsg(ctx));
	rc = lp_archive_append(a, "/t", LP_I64, 1, v, "row");
	CHECK(rc == LP_ERR_FORMAT, "onto a group: %d", rc);
	OK(lp_archive_close(a));
	OK(lp_archive_open(ctx, run, 0, &a));
	if (a) {
		int64_t back[4] = { 0 };
		char **str = NULL;
		size_t n = 0;

		OK(lp_archive_read(a, "/t/i64", LP_I64, back, sizeof back));
		CHECK(back[0] == 1 && back[1] == 2 && back[2] == 1 && back[3] == 2,
		      "appended rows: %lld %lld %lld %lld", (long long)back[0], (long long)back[1],
		      (long long)back[2], (long long)back[3]);
		OK(lp_archive_read_strings(a, "/t/s", &n, &str));
		CHECK(n == 2 && str && !strcmp(str[0], "a") && !strcmp(str[1], ""), "strings back");
		free(str);
		OK(lp_archive_close(a));
	}
}

static size_t rows_of(const lp_annotation *e, size_t n)
{
	size_t rows = 0;

	for (size_t i = 0; i < n; i++)
		rows += e[i].n_items ? e[i].n_items : 1;
	return rows;
}

static void check_read_back(const char *run, const char *jpath, const char *with)
{
	lp_annotation *j = NULL, *back = NULL;
	size_t nj = 0, nb = 0, same = 0;
	lp_archive *a;

	OK(lp_journal_read(ctx, jpath, &j, &nj));
	OK(lp_archive_open(ctx, run, 0, &a));
	if (!a)
		return;
	OK(lp_annotations_read(ctx, a, with, &back, &nb));
	for (size_t i = 0; i < nb && i < nj; i++)
		same += same_entry(&back[i], &j[i]);
	CHECK(nb == nj && same == nj, "read back %zu entries (%zu as journaled), want %zu", nb,
	      same, nj);
	lp_annotations_free(back, nb);
	lp_annotations_free(j, nj);
	OK(lp_archive_close(a));
}

static void fold(const char *run, const char *jpath)
{
	lp_annotation h[32], *j = NULL;
	size_t n = history(h), nj = 0, added = 99;
	lp_journal *jr;

	unlink(run);
	unlink(jpath);
	{
		lp_archive *a;

		OK(lp_archive_create(ctx, run, NULL, &a));
		OK(lp_archive_close(a));
	}
	OK(lp_annotations_fold(ctx, run, jpath, &added)); /* no journal yet: nothing */
	CHECK(added == 0, "fold without a journal added %zu", added);
	OK(lp_journal_open(ctx, jpath, &jr));
	for (size_t i = 0; jr && i < 15; i++)
		OK(lp_journal_append(jr, &h[i]));
	OK(lp_annotations_fold(ctx, run, jpath, &added));
	CHECK(added == rows_of(h, 15), "first fold added %zu rows, want %zu", added,
	      rows_of(h, 15));
	check_read_back(run, jpath, NULL);
	OK(lp_annotations_fold(ctx, run, jpath, &added));
	CHECK(added == 0, "second fold added %zu rows", added);
	for (size_t i = 15; jr && i < n; i++)
		OK(lp_journal_append(jr, &h[i]));
	check_read_back(run, jpath, jpath); /* archive's 15 + the journal's 7 above them */
	OK(lp_annotations_fold(ctx, run, jpath, &added));
	CHECK(added == rows_of(h + 15, n - 15), "later fold added %zu rows, want %zu", added,
	      rows_of(h + 15, n - 15));
	check_read_back(run, jpath, NULL);
	lp_journal_close(jr);
	OK(lp_journal_read(ctx, jpath, &j, &nj));
	CHECK(nj == n, "journal holds %zu entries", nj);
	lp_annotations_free(j, nj);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	char jpath[300], run[300];

	if (lp_ctx_new(&ctx) != LP_OK) {
		printf("FAIL: lp_ctx_new\n");
		return 1;
	}
	snprintf(dir, sizeof dir, "%s/loupe_test_annotations_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		printf("FAIL: mkdtemp %s: %s\n", dir, strerror(errno));
		return 1;
	}
	path_in(jpath, sizeof jpath, "run.h5.journal");
	path_in(run, sizeof run, "run.h5");
	journal_basic(jpath);
	journal_torn(jpath);
	journal_busy(jpath);
	journal_bad(jpath);
	state_replay();
	state_large();
	append_errors(run);
	fold(run, jpath);
	if (failures) {
		printf("test_annotations: %d failures; files kept in %s\n", failures, dir);
		lp_ctx_free(ctx);
		return 1;
	}
	unlink(jpath);
	unlink(run);
	rmdir(dir);
	lp_ctx_free(ctx);
	printf("test_annotations: ok\n");
	return 0;
}
