/*
 * annotations_fold.c — a driver for tests/e2e/annotations_check.py:
 *
 *   annotations_fold create RUN.h5        a new, empty run archive
 *   annotations_fold append JOURNAL       append the entries below (one a retried client key),
 *                                         printing "seq N" for each append
 *   annotations_fold open JOURNAL         open it (cutting a torn tail), print "entries N"
 *   annotations_fold fold RUN.h5 JOURNAL  lp_annotations_fold, print "added N"
 *
 * Exits 1 with the library's message on stderr when a call fails.
 */
#include <stdio.h>
#include <string.h>

#include "loupe/annotations.h"
#include "loupe/loupe.h"

static const lp_annotation_item a_items[2] = {
	{ "train", 17, "train/17", 2 }, { "train", 18, "bar/\xc3\xbcn\xc3\xaf.jpg", 0 } };
static const lp_annotation_item t3[1] = { { "test", 3, "test/3", 1 } };
static const lp_annotation_item t456[3] = {
	{ "test", 4, "test/4", 0 }, { "test", 5, "test/5", 1 }, { "test", 6, "test/6", 2 } };

static int append_all(lp_ctx *ctx, const char *path)
{
	lp_annotation e[7] = {
		{ .action = "relabel", .items = a_items, .n_items = 2, .cls = -1, .label = 5,
		  .note = "caf\xc3\xa9 \"q\"\n2nd line", .annotator = "ana", .ref = -1,
		  .client = "k1" },
		{ .action = "relabel", .items = a_items, .n_items = 2, .cls = -1, .label = 5,
		  .annotator = "ana", .ref = -1, .client = "k1" }, /* the retry */
		{ .action = "merge", .cls = 3, .label = 5, .annotator = "ana", .ref = -1 },
		{ .action = "tag", .items = t3, .n_items = 1, .cls = -1, .label = -1,
		  .tag = "blurry", .annotator = "ana", .ref = -1 },
		{ .action = "undo", .cls = -1, .label = -1, .annotator = "ana", .ref = 2 },
		{ .action = "also", .items = t3, .n_items = 1, .cls = -1, .label = 7,
		  .annotator = "bob", .ref = -1 },
		{ .action = "remove", .items = t456, .n_items = 3, .cls = -1, .label = -1,
		  .annotator = "bob", .ref = -1, .client = "k7" },
	};
	lp_journal *j;
	int ret = lp_journal_open(ctx, path, &j);

	for (size_t i = 0; !ret && i < 7; i++)
		if (!(ret = lp_journal_append(j, &e[i])))
			printf("seq %lld\n", (long long)e[i].seq);
	lp_journal_close(j);
	return ret;
}

int main(int argc, char **argv)
{
	lp_ctx *ctx;
	lp_archive *a;
	lp_journal *j;
	const lp_annotation *e;
	size_t n = 0;
	int ret;

	if (lp_ctx_new(&ctx) != LP_OK)
		return 1;
	if (argc == 3 && !strcmp(argv[1], "create")) {
		ret = lp_archive_create(ctx, argv[2], NULL, &a);
		if (!ret)
			ret = lp_archive_close(a);
	} else if (argc == 3 && !strcmp(argv[1], "append")) {
		ret = append_all(ctx, argv[2]);
	} else if (argc == 3 && !strcmp(argv[1], "open")) {
		ret = lp_journal_open(ctx, argv[2], &j);
		if (!ret)
			printf("entries %zu\n", lp_journal_entries(j, &e));
		lp_journal_close(j);
	} else if (argc == 4 && !strcmp(argv[1], "fold")) {
		ret = lp_annotations_fold(ctx, argv[2], argv[3], &n);
		if (!ret)
			printf("added %zu\n", n);
	} else {
		ret = -1;
		fprintf(stderr, "usage: annotations_fold create RUN | append JOURNAL | "
			"open JOURNAL | fold RUN JOURNAL\n");
	}
	if (ret > 0)
		fprintf(stderr, "annotations_fold: %s\n", lp_ctx_errmsg(ctx));
	lp_ctx_free(ctx);
	return ret ? 1 : 0;
}
