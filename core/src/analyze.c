/* analyze.c — run an analysis plugin on a run archive: parameters, state, a temporary group
 * that replaces /analyses/<name> only when the plugin succeeds (loupe/analyze.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "loupe/analyze.h"
#include "loupe/run_images.h"

/* what the core hands a plugin, and what it keeps behind it (the host's analysis_images finds
 * it from the io pointer) */
struct full_io {
	lp_analysis_io io;
	const char *root;     /* lp_analyze_opts.images */
	int threads;
	lp_run_images *ri;    /* opened on first use */
};

int lpi_analysis_images(lp_ctx *ctx, const lp_analysis_io *io, const char *split,
			const int64_t *rows, size_t n, int size, uint8_t *out, uint8_t *digest)
{
	struct full_io *f = (struct full_io *)(uintptr_t)io;

	int rc;

	if (!f->ri && (rc = lp_run_images_open(ctx, io->archive, f->root, &f->ri)))
		return rc;
	return n ? lp_run_images_read(f->ri, split, rows, n, size, LP_FIT_SQUASH, out, digest,
				      f->threads) : LP_OK;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The attributes every analysis group carries, on the temporary group before the swap. */
static int stamp(lp_archive *run, const char *group, const lp_plugin *p, const lp_kv *kv,
		 size_t n, double seconds)
{
	char *params = lpi_kv_text(kv, n);
	int rc = params ? LP_OK : LP_ERR_NOMEM;

	if (!rc)
		rc = lp_archive_attr_string(run, group, "plugin", p->name);
	if (!rc)
		rc = lp_archive_attr_string(run, group, "version", p->version);
	if (!rc)
		rc = lp_archive_attr_string(run, group, "params", params);
	if (!rc)
		rc = lp_archive_attr_number(run, group, "seconds", seconds);
	free(params);
	return rc;
}

static int run_plugin(lp_ctx *ctx, lp_archive *run, const lp_plugin *p, const lp_params *params,
		      const char *tmp, void *state, const lp_analyze_opts *o)
{
	const lp_analysis_vtable *vt = p->vtable;
	struct full_io f = { .io = { .size = sizeof f.io, .archive = run, .group = tmp,
				     .name = p->name },
			     .root = o ? o->images : NULL, .threads = o ? o->threads : 0 };
	const lp_analysis_io *io = &f.io;
	int rc = LP_OK;

	if (vt->init && !(rc = vt->init(ctx, state, params)))
		rc = lpi_params_check_reads(ctx, params);
	if (!rc)
		rc = vt->run(ctx, state, io);
	if (!rc)
		rc = lpi_params_check_reads(ctx, params);
	if (!rc && f.ri) /* the inputs it read: where the pictures came from */
		rc = lp_archive_attr_string(run, tmp, "images", lp_run_images_source(f.ri));
	if (vt->destroy)
		vt->destroy(ctx, state);
	lp_run_images_free(f.ri);
	return rc;
}

int lp_analyze(lp_ctx *ctx, lp_archive *run, const char *name, const lp_kv *kv, size_t n)
{
	return lp_analyze_with(ctx, run, name, kv, n, NULL);
}

int lp_analyze_with(lp_ctx *ctx, lp_archive *run, const char *name, const lp_kv *kv, size_t n,
		    const lp_analyze_opts *o)
{
	const lp_plugin *p;
	lp_params *params = NULL;
	char tmp[300], final[300];
	void *state = NULL;
	double t0 = now();
	int rc;

	if ((rc = lp_plugin_find(ctx, name, LP_KIND_ANALYSIS, &p)) ||
	    (rc = lp_params_new(ctx, p, kv, n, &params)))
		return rc;
	snprintf(tmp, sizeof tmp, "/analyses/.%s.tmp", p->name);
	snprintf(final, sizeof final, "/analyses/%s", p->name);
	if (!(state = calloc(1, p->state_size ? p->state_size : 1))) {
		lp_params_free(params);
		return lp_error(ctx, LP_ERR_NOMEM, "analysis %s: out of memory", p->name);
	}
	rc = lp_archive_remove(run, tmp);
	if (!rc)
		rc = lp_archive_group(run, tmp);
	if (!rc && (rc = run_plugin(ctx, run, p, params, tmp, state, o)) &&
	    !strstr(lp_ctx_errmsg(ctx), p->name))
		lp_error_wrap(ctx, rc, "analysis %s", p->name);
	if (!rc)
		rc = stamp(run, tmp, p, kv, n, now() - t0);
	if (!rc)
		rc = lp_archive_move(run, tmp, final);
	if (rc) { /* the message stays, naming the archive; the temporary group goes */
		char keep[1024];
		const char *path = lp_archive_path(run);
		snprintf(keep, sizeof keep, "%s", lp_ctx_errmsg(ctx));
		lp_archive_remove(run, tmp);
		if (strstr(keep, path))
			lp_error(ctx, rc, "%s", keep);
		else
			lp_error(ctx, rc, "%s: %s", path, keep);
	}
	free(state);
	lp_params_free(params);
	return rc;
}

struct listing {
	const lp_plugin **found;
	size_t n, cap;
};

static void collect(void *user, const char *path, const lp_plugin *p, const char *error)
{
	struct listing *l = user;
	(void)path;
	(void)error;
	if (!p || p->kind != LP_KIND_ANALYSIS)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->found[i]->name, p->name) == 0)
			return; /* an earlier directory's wins, as in lp_plugin_find */
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		const lp_plugin **f = realloc(l->found, cap * sizeof(*f));
		if (!f)
			return;
		l->found = f;
		l->cap = cap;
	}
	l->found[l->n++] = p;
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(const lp_plugin *const *)a)->name, (*(const lp_plugin *const *)b)->name);
}

int lp_analysis_list(lp_ctx *ctx, void (*fn)(void *user, const lp_plugin *p), void *user)
{
	struct listing l = { NULL, 0, 0 };
	int rc = lp_plugin_scan(ctx, collect, &l);

	if (l.n)
		qsort(l.found, l.n, sizeof(*l.found), by_name);
	for (size_t i = 0; !rc && i < l.n; i++)
		fn(user, l.found[i]);
	free(l.found);
	return rc;
}
