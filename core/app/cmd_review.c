/* cmd_review.c — `loupe review RUN.h5 [--port N] [--host ADDR] [--open] [--blind] ...`: serve
 * the review page until SIGINT or SIGTERM, then fold the journal into the run (loupe/review.h;
 * docs/REVIEW.md). `--fold` only folds. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "loupe/annotations.h"
#include "loupe/review.h"

const char loupe_usage_review[] =
	"usage: loupe review RUN.h5 [--port N] [--host ADDR] [--open] [--blind [--split S]]\n"
	"                    [--annotator NAME] [--images ROOT] [--seed N] | --fold RUN.h5\n"
	"\n"
	"Serves the review page for a run on http://127.0.0.1 and prints its URL with a token:\n"
	"classes, a grid per class (most suspicious first), one image at a time, one key per\n"
	"decision (keep, relabel, also shows, remove, unsure, tag, undo, merge; `?` lists them).\n"
	"Each decision is appended to RUN.h5.journal and fsync'd before the page says saved; the\n"
	"journal is folded into the archive's /annotations at start and when review exits\n"
	"(Ctrl-C). Images and labels are never changed. docs/REVIEW.md has the pages and keys.\n"
	"  --port N         port (default: a free one)\n"
	"  --host ADDR      bind another IPv4 address than 127.0.0.1 (anyone who can reach it\n"
	"                   and has the token can decide: a warning is printed)\n"
	"  --open           open the page in a browser (xdg-open)\n"
	"  --blind          human against the model: the test images without label or\n"
	"                   prediction; the person picks a class; --split S another split\n"
	"  --annotator NAME recorded with each decision (default $USER)\n"
	"  --images ROOT    read images as ROOT/<name> instead of from the recorded dataset\n"
	"  --seed N         blind mode's order (default 1)\n"
	"  --fold           only fold RUN.h5.journal into the archive, then exit\n"
	"Exit status: 0 served and folded, 1 it could not serve or fold, 2 bad arguments.\n";

static int number(const char *flag, const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi) {
		fprintf(stderr, "loupe review: %s %s is not %lld..%lld\n", flag, s, lo, hi);
		return 2;
	}
	*out = v;
	return 0;
}

static int parse(int argc, char **argv, lp_review_opts *o, int *open_it, int *fold)
{
	long long v;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--open") == 0)
			*open_it = 1;
		else if (strcmp(a, "--blind") == 0)
			o->blind = 1;
		else if (strcmp(a, "--fold") == 0)
			*fold = 1;
		else if (strcmp(a, "--port") == 0 && next) {
			if (number(a, argv[++i], 0, 65535, &v))
				return 2;
			o->port = (int)v;
		} else if (strcmp(a, "--seed") == 0 && next) {
			if (number(a, argv[++i], 0, (1ll << 62), &v))
				return 2;
			o->seed = (uint64_t)v;
		} else if (strcmp(a, "--host") == 0 && next)
			o->host = argv[++i];
		else if (strcmp(a, "--split") == 0 && next)
			o->split = argv[++i];
		else if (strcmp(a, "--annotator") == 0 && next)
			o->annotator = argv[++i];
		else if (strcmp(a, "--images") == 0 && next)
			o->images = argv[++i];
		else if (a[0] != '-' && !o->run)
			o->run = a;
		else {
			fprintf(stderr, "loupe review: unexpected argument '%s'\n%s", a,
				loupe_usage_review);
			return 2;
		}
	}
	if (!o->run) {
		fprintf(stderr, "loupe review: needs a run archive\n%s", loupe_usage_review);
		return 2;
	}
	return 0;
}

static int fold_only(lp_ctx *ctx, const char *run)
{
	char journal[4096];
	size_t added = 0;
	snprintf(journal, sizeof journal, "%s.journal", run);
	if (lp_annotations_fold(ctx, run, journal, &added)) {
		fprintf(stderr, "loupe review: %s\n", lp_ctx_errmsg(ctx));
		return 1;
	}
	printf("loupe review: folded %zu row(s) of %s into %s\n", added, journal, run);
	return 0;
}

/* serve until SIGINT / SIGTERM (blocked here, taken with sigwait) */
static int serve(lp_ctx *ctx, const lp_review_opts *o, int open_it)
{
	sigset_t set;
	int sig = 0;
	lp_review *r;
	size_t added = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* before the server's threads start */
	if (lp_review_start(ctx, o, &r)) {
		fprintf(stderr, "loupe review: %s\n", lp_ctx_errmsg(ctx));
		return 1;
	}
	if (o->host && strcmp(o->host, "127.0.0.1") != 0)
		fprintf(stderr, "loupe review: warning: serving on %s: anyone who can reach it and "
			"has the token can change this run's annotations\n", o->host);
	if (*lp_review_notice(r))
		fprintf(stderr, "loupe review: %s\n", lp_review_notice(r));
	printf("loupe review: %s\n", lp_review_url(r));
	fflush(stdout);
	if (open_it) {
		char cmd[512];
		snprintf(cmd, sizeof cmd, "xdg-open '%s' >/dev/null 2>&1 &", lp_review_url(r));
		if (system(cmd) != 0)
			fprintf(stderr, "loupe review: could not start a browser (xdg-open)\n");
	}
	sigwait(&set, &sig);
	int rc = lp_review_stop(r, &added);
	if (rc)
		fprintf(stderr, "loupe review: decisions stay in %s.journal: %s\n", o->run,
			lp_ctx_errmsg(ctx));
	else
		fprintf(stderr, "loupe review: %zu row(s) folded into %s\n", added, o->run);
	return rc ? 1 : 0;
}

int loupe_cmd_review(lp_ctx *ctx, int argc, char **argv)
{
	lp_review_opts o = { 0 };
	int open_it = 0, fold = 0;
	int rc = parse(argc, argv, &o, &open_it, &fold);
	if (rc)
		return rc;
	return fold ? fold_only(ctx, o.run) : serve(ctx, &o, open_it);
}
