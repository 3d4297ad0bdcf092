/*
 * review.c — lp_review_start / lp_review_stop (loupe/review.h): the journal folded into the
 * run, the run read (model.c), the journal taken over (one server per run), the state
 * replayed from the archive's /annotations and the journal, the images opened for the
 * thumbnails, a fresh token, and the server started (server.c).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loupe/archive.h"
#include "review_int.h"

static int new_token(lp_review *r)
{
	unsigned char b[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t got = fd >= 0 ? read(fd, b, sizeof b) : -1;
	if (fd >= 0)
		close(fd);
	if (got != (ssize_t)sizeof b)
		return lp_error(r->ctx, LP_ERR_IO, "review: cannot read /dev/urandom for a token");
	for (int i = 0; i < 16; i++)
		snprintf(r->token + 2 * i, 3, "%02x", b[i]);
	return 0;
}

/* fold what an earlier session left; a run still being written is said, not an error */
static int fold_first(lp_review *r)
{
	size_t added = 0;
	int rc = lp_annotations_fold(r->ctx, r->run, r->journal_path, &added);
	if (rc == LP_ERR_BUSY) {
		snprintf(r->notice, sizeof r->notice,
			 "%s is being written by another process (%s): you see its last commit; "
			 "decisions go to %s and into the archive when review starts after it",
			 r->run, lp_ctx_errmsg(r->ctx), r->journal_path);
		return 0;
	}
	return rc;
}

/* the decisions so far (the archive's /annotations and the journal) and the images */
static int load_state(lp_review *r, lp_archive *a)
{
	const lp_annotation *e;
	size_t n = lp_journal_entries(r->journal, &e);

	if (lp_annotations_load(r->ctx, a, r->journal_path, &r->state))
		return -1;
	if (lp_run_images_open(r->ctx, a, r->images_root, &r->images)) {
		r->images = NULL;
		snprintf(r->notice + strlen(r->notice), sizeof r->notice - strlen(r->notice),
			 "%sno images: %s", *r->notice ? "; " : "", lp_ctx_errmsg(r->ctx));
	}
	r->last_seq = n ? e[n - 1].seq : 0;
	return 0;
}

/* the run, read once (each open reads the whole file in a child first): model and state */
static int load(lp_review *r, const lp_review_opts *o)
{
	lp_archive *a;
	if (lp_archive_open(r->ctx, r->run, 0, &a))
		return -1;
	int rc = lpv_model_load(r->ctx, a, o, &r->m) ||
		 lp_journal_open(r->ctx, r->journal_path, &r->journal) || load_state(r, a);
	lp_archive_close(a);
	return rc ? -1 : 0;
}

static void origins(lp_review *r, const char *host)
{
	snprintf(r->origin[0], sizeof r->origin[0], "127.0.0.1:%d", r->port);
	snprintf(r->origin[1], sizeof r->origin[1], "localhost:%d", r->port);
	snprintf(r->origin[2], sizeof r->origin[2], "[::1]:%d", r->port);
	r->n_origin = 3;
	if (strcmp(host, "127.0.0.1") != 0) /* --host ADDR: that name too, instead of [::1] */
		snprintf(r->origin[2], sizeof r->origin[2], "%s:%d", host, r->port);
	snprintf(r->url, sizeof r->url, "http://%s:%d/?token=%s", host, r->port, r->token);
}

static int start(lp_review *r, const lp_review_opts *o)
{
	const char *host = o->host ? o->host : "127.0.0.1";
	if (new_token(r) || fold_first(r) || load(r, o))
		return -1;
	if (lpv_serve(r, host, o->port))
		return -1;
	origins(r, host);
	return 0;
}

int lp_review_start(lp_ctx *ctx, const lp_review_opts *o, lp_review **out)
{
	lp_review *r = calloc(1, sizeof *r);
	const char *who = o->annotator ? o->annotator : getenv("USER");
	size_t n = strlen(o->run);

	*out = NULL;
	if (!r)
		return lp_error(ctx, LP_ERR_NOMEM, "review: out of memory");
	r->ctx = ctx;
	r->blind = o->blind;
	r->run = strdup(o->run);
	r->annotator = strdup(who ? who : "");
	r->images_root = o->images ? strdup(o->images) : NULL;
	r->journal_path = malloc(n + 9);
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->thumb_lock, NULL);
	if (!r->run || !r->annotator || !r->journal_path) {
		lp_review_stop(r, NULL);
		return lp_error(ctx, LP_ERR_NOMEM, "review: out of memory");
	}
	snprintf(r->journal_path, n + 9, "%s.journal", o->run);
	if (start(r, o)) {
		lp_review_stop(r, NULL);
		return LP_ERR_IO;
	}
	*out = r;
	return 0;
}

const char *lp_review_url(const lp_review *r)
{
	return r->url;
}

const char *lp_review_notice(const lp_review *r)
{
	return r->notice;
}

int lp_review_stop(lp_review *r, size_t *added)
{
	int rc = 0;
	if (added)
		*added = 0;
	if (!r)
		return 0;
	lpv_unserve(r);
	if (r->journal) {
		lp_journal_close(r->journal);
		rc = lp_annotations_fold(r->ctx, r->run, r->journal_path, added);
	}
	lp_review_state_free(r->state);
	lp_run_images_free(r->images);
	lpv_thumbs_free(r);
	lpv_model_free(&r->m);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->thumb_lock);
	free(r->run);
	free(r->annotator);
	free(r->images_root);
	free(r->journal_path);
	free(r);
	return rc;
}
