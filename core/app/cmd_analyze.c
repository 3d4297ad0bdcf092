/* cmd_analyze.c — `loupe analyze RUN.h5 [NAME ...] [key=value ...]`: run analysis plugins on
 * a run archive; each replaces /analyses/<name>; if any fails, the file stays as it was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "loupe/analyze.h"

const char loupe_usage_analyze[] =
	"usage: loupe analyze RUN.h5 [NAME ...] [key=value ...] [--images ROOT] [--threads N]\n"
	"       loupe analyze --list\n"
	"\n"
	"Runs analysis plugins on a run archive (all of them when no NAME is given) and writes each\n"
	"one's results to /analyses/<NAME>, replacing an earlier run of it; its findings table is\n"
	"/analyses/<NAME>/findings (docs/ARCHIVE.md). A key=value goes to every named analysis\n"
	"that declares the key; one that none declares is an error. The archive needs\n"
	"/dataset/classes and /predictions/<split>/probs — written by loupe.predict, or by any\n"
	"framework (docs/ARCHIVE.md, 'Analysing predictions made elsewhere'); duplicates needs\n"
	"no predictions, only the images.\n"
	"Analyses that look at pixels (duplicates) read the dataset the archive records (/dataset\n"
	"attributes plugin, params), or with --images ROOT the files ROOT/<name> for the names in\n"
	"/dataset/<split>/names; --threads N decodes on N threads (default: one per CPU).\n"
	"If an analysis fails, nothing is written: the file keeps what it had.\n"
	"Exit status: 0 done, 1 an analysis failed, 2 bad arguments or archive.\n";

#define MAX_NAMES 64
#define MAX_KV 64

struct chosen {
	const lp_plugin *p[MAX_NAMES];
	size_t n;
};

static void add_plugin(void *user, const lp_plugin *p)
{
	struct chosen *c = user;
	if (c->n < MAX_NAMES)
		c->p[c->n++] = p;
}

static void print_one(void *user, const lp_plugin *p)
{
	(void)user;
	printf("%-16s %-8s %s\n", p->name, p->version, p->summary);
	for (size_t i = 0; p->params && p->params[i].name; i++)
		printf("    %s (%s, default %s): %s\n", p->params[i].name,
		       lp_param_type_name(p->params[i].type),
		       p->params[i].def ? p->params[i].def : "required", p->params[i].help);
}

static int declares(const lp_plugin *p, const char *key)
{
	for (size_t i = 0; p->params && p->params[i].name; i++)
		if (strcmp(p->params[i].name, key) == 0)
			return 1;
	return 0;
}

/* The key=value arguments for plugin p (typed as it declares them). */
static int kv_for(const lp_plugin *p, char **args, size_t nargs, lp_kv *kv, size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < nargs; i++) {
		char key[128];
		snprintf(key, sizeof key, "%.*s", (int)(strchr(args[i], '=') - args[i]), args[i]);
		if (!declares(p, key))
			continue;
		static char buf[MAX_KV][512]; /* loupe_parse_kv splits at '=': a copy per use */
		snprintf(buf[*n], sizeof buf[0], "%s", args[i]);
		if (loupe_parse_kv("analyze", p, buf[*n], &kv[*n]))
			return 2;
		(*n)++;
	}
	return 0;
}

/* a key that no chosen analysis declares: the first plugin's message, with its suggestion */
static int check_keys(lp_ctx *ctx, const struct chosen *c, char **args, size_t nargs)
{
	for (size_t i = 0; i < nargs; i++) {
		char key[128];
		int found = 0;
		snprintf(key, sizeof key, "%.*s", (int)(strchr(args[i], '=') - args[i]), args[i]);
		for (size_t j = 0; j < c->n && !found; j++)
			found = declares(c->p[j], key);
		if (found)
			continue;
		lp_kv kv = { key, { .type = LP_PARAM_STRING, .string = "" } };
		lp_params *ps = NULL;
		if (c->n == 1 && lp_params_new(ctx, c->p[0], &kv, 1, &ps) != LP_OK)
			fprintf(stderr, "loupe analyze: %s\n", lp_ctx_errmsg(ctx));
		else
			fprintf(stderr, "loupe analyze: no analysis chosen declares parameter '%s' "
				"(see loupe analyze --list)\n", key);
		lp_params_free(ps);
		return 2;
	}
	return 0;
}

static int choose(lp_ctx *ctx, char **names, size_t nnames, struct chosen *c)
{
	c->n = 0;
	if (!nnames)
		return lp_analysis_list(ctx, add_plugin, c) ? 2 : c->n ? 0 : 2;
	for (size_t i = 0; i < nnames && c->n < MAX_NAMES; i++)
		if (lp_plugin_find(ctx, names[i], LP_KIND_ANALYSIS, &c->p[c->n++])) {
			fprintf(stderr, "loupe analyze: %s\n", lp_ctx_errmsg(ctx));
			return 2;
		}
	return 0;
}

static int run_all(lp_ctx *ctx, lp_archive *a, const struct chosen *c, char **args,
		   size_t nargs, const lp_analyze_opts *o)
{
	for (size_t j = 0; j < c->n; j++) {
		lp_kv kv[MAX_KV];
		size_t n;
		char obj[300], *count = NULL, *secs = NULL;
		if (kv_for(c->p[j], args, nargs, kv, &n))
			return 2;
		fprintf(stderr, "analysis %s ...\n", c->p[j]->name);
		if (lp_analyze_with(ctx, a, c->p[j]->name, kv, n, o)) {
			fprintf(stderr, "loupe analyze: %s\n", lp_ctx_errmsg(ctx));
			return 1;
		}
		snprintf(obj, sizeof obj, "/analyses/%s/findings", c->p[j]->name);
		lp_archive_attr_get(a, obj, "count", &count);
		snprintf(obj, sizeof obj, "/analyses/%s", c->p[j]->name);
		lp_archive_attr_get(a, obj, "seconds", &secs);
		printf("%-16s %s findings, %.3g s -> %s\n", c->p[j]->name, count ? count : "?",
		       secs ? atof(secs) : 0.0, obj);
		free(count);
		free(secs);
	}
	return 0;
}

int loupe_cmd_analyze(lp_ctx *ctx, int argc, char **argv)
{
	char *names[MAX_NAMES], *args[MAX_KV];
	size_t nnames = 0, nargs = 0;
	struct chosen c;
	lp_archive *a = NULL;
	lp_analyze_opts o = { 0 };
	int rc;

	if (argc == 1 && strcmp(argv[0], "--list") == 0)
		return lp_analysis_list(ctx, print_one, NULL) ? 2 : 0;
	if (argc < 1 || argv[0][0] == '-') {
		fprintf(stderr, "loupe analyze: needs a run archive\n%s", loupe_usage_analyze);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		int kv = strchr(argv[i], '=') != NULL;
		if ((strcmp(argv[i], "--images") == 0 || strcmp(argv[i], "--threads") == 0) &&
		    i + 1 < argc) {
			char *end;
			if (argv[i][2] == 'i')
				o.images = argv[++i];
			else if ((o.threads = (int)strtol(argv[++i], &end, 10)) < 0 ||
				 o.threads > 64 || *end || !*argv[i]) {
				fprintf(stderr, "loupe analyze: --threads %s is not 0..64\n", argv[i]);
				return 2;
			}
			continue;
		}
		if (argv[i][0] == '-' || (kv && argv[i][0] == '=') ||
		    (kv ? nargs >= MAX_KV : nnames >= MAX_NAMES)) {
			fprintf(stderr, "loupe analyze: unexpected argument '%s'\n%s", argv[i],
				loupe_usage_analyze);
			return 2;
		}
		if (kv)
			args[nargs++] = argv[i];
		else
			names[nnames++] = argv[i];
	}
	if ((rc = choose(ctx, names, nnames, &c)) || (rc = check_keys(ctx, &c, args, nargs)))
		return rc;
	if (lp_archive_open(ctx, argv[0], 1, &a)) {
		fprintf(stderr, "loupe analyze: %s\n", lp_ctx_errmsg(ctx));
		return 2;
	}
	if ((rc = run_all(ctx, a, &c, args, nargs, &o))) {
		lp_archive_discard(a); /* the file keeps what it had */
		fprintf(stderr, "loupe analyze: %s was left as it was\n", argv[0]);
		return rc;
	}
	if (lp_archive_close(a)) {
		fprintf(stderr, "loupe analyze: %s\n", lp_ctx_errmsg(ctx));
		return 2;
	}
	return 0;
}
