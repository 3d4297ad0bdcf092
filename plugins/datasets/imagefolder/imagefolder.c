/* imagefolder.c — any tree <root>/<class>/<file>.{jpg,jpeg,png}: classes are the directories,
 * sorted. The split comes from a split file (lines "<split> <class>/<file>", e.g.
 * "train cat/001.jpg") or, without one, is drawn per class from split_seed: a fraction
 * test_fraction of each class's files (rounded) goes to "test", the rest to "train". */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "folder.h"

static const lp_host *host;

struct state {
	int unused;
};

static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int add(lp_dataset *ds, const char *root, const char *split, const char *rel,
	       long label, const char *origin)
{
	char path[8192];

	snprintf(path, sizeof path, "%s/%s", root, rel);
	lp_item_desc d = { .size = sizeof d, .split = split, .path = path, .name = rel,
			   .origin = origin, .label = (int32_t)label };
	return host->dataset_item(ds, &d);
}

static int from_split_file(lp_ctx *ctx, lp_dataset *ds, const char *root, const char *file,
			   const lpf_list *classes)
{
	char line[4096], origin[4200], reason[4400];
	int lineno = 0, rc = 0;
	char *s;
	FILE *f = fopen(file, "r");

	if (!f)
		return host->error(ctx, LP_ERR_IO, "imagefolder: split file %s: %s", file,
				   strerror(errno));
	while (!rc && (s = lpf_getline(f, line, sizeof line, &lineno))) {
		if (!*s || *s == '#')
			continue;
		snprintf(origin, sizeof origin, "%s:%d", file, lineno);
		char *sp = s + strcspn(s, " \t");
		if (!*sp) {
			snprintf(reason, sizeof reason, "line is not \"<split> <class>/<file>\" (%s)",
				 origin);
			rc = host->dataset_bad(ds, NULL, s, reason);
			continue;
		}
		*sp++ = 0;
		while (*sp == ' ' || *sp == '\t')
			sp++;
		char *slash = strchr(sp, '/');
		long label = -1;
		if (slash) {
			*slash = 0;
			label = lpf_find(classes, sp);
			*slash = '/';
		}
		if (label < 0) {
			snprintf(reason, sizeof reason, "no class directory for it under root (%s)",
				 origin);
			rc = host->dataset_bad(ds, s, sp, reason);
			continue;
		}
		rc = add(ds, root, s, sp, label, origin);
	}
	fclose(f);
	return rc;
}

static int if_open(lp_ctx *ctx, void *state, const lp_params *params, lp_dataset *ds)
{
	const char *root = host->param_string(params, "root");
	const char *split_file = host->param_string(params, "split_file");
	const char *exts = host->param_string(params, "extensions");
	double frac = host->param_number(params, "test_fraction");
	uint64_t seed = (uint64_t)host->param_int(params, "split_seed");
	lpf_list all = { 0 }, classes = { 0 };
	lpf_list *files = NULL;
	char dir[8192], rel[8192];
	int err, rc = 0;

	(void)state;
	if (!(frac >= 0 && frac < 1))
		return host->error(ctx, LP_ERR_ARG, "imagefolder: test_fraction = %g; it must be in "
				   "[0, 1)", frac);
	if (lpf_list_dir(root, 1, &all, &err))
		return host->error(ctx, LP_ERR_IO, "imagefolder: root %s: %s (it should hold one "
				   "directory per class)", root, strerror(err));
	files = calloc(all.n ? all.n : 1, sizeof(*files));
	if (!files)
		rc = host->error(ctx, LP_ERR_NOMEM, "imagefolder: out of memory");
	/* a class is a UTF-8-named directory with at least one image file */
	for (size_t i = 0; !rc && i < all.n; i++) {
		lpf_list names = { 0 };
		snprintf(rel, sizeof rel, "%s/", all.v[i]);
		if (!lpf_utf8_ok(all.v[i])) {
			rc = host->dataset_bad(ds, NULL, rel, "class directory name is not valid "
					       "UTF-8");
			continue;
		}
		snprintf(dir, sizeof dir, "%s/%s", root, all.v[i]);
		if (lpf_list_dir(dir, 0, &names, &err)) {
			rc = host->dataset_bad(ds, NULL, rel, strerror(err));
			continue;
		}
		lpf_list *mine = &files[classes.n];
		for (size_t k = 0; !rc && k < names.n; k++)
			if (lpf_has_ext(names.v[k], exts) && lpf_list_add(mine, names.v[k]))
				rc = host->error(ctx, LP_ERR_NOMEM, "imagefolder: out of memory");
		lpf_list_free(&names);
		if (rc)
			break;
		if (!mine->n) {
			char why[512];
			snprintf(why, sizeof why, "class directory has no image files (%s)", exts);
			rc = host->dataset_bad(ds, NULL, rel, why);
			continue;
		}
		if (lpf_list_add(&classes, all.v[i]))
			rc = host->error(ctx, LP_ERR_NOMEM, "imagefolder: out of memory");
	}
	for (size_t i = 0; !rc && i < classes.n; i++)
		rc = host->dataset_class(ds, classes.v[i]);
	if (!rc && *split_file) {
		rc = from_split_file(ctx, ds, root, split_file, &classes);
	} else {
		/* per class: a seeded shuffle, the first round(n * frac) files go to test; train
		 * items are declared first, class by class, then test */
		for (int pass = 0; !rc && pass < 2; pass++)
			for (size_t c = 0; !rc && c < classes.n; c++) {
				size_t n = files[c].n, ntest = (size_t)(n * frac + 0.5);
				size_t *perm = malloc(sizeof(size_t) * n);
				char *is_test = calloc(n, 1);
				if (!perm || !is_test) {
					free(perm);
					free(is_test);
					rc = host->error(ctx, LP_ERR_NOMEM, "imagefolder: out of memory");
					break;
				}
				for (size_t k = 0; k < n; k++)
					perm[k] = k;
				uint64_t st = mix(seed ^ mix(c + 1));
				for (size_t k = n; k > 1; k--) {
					st = mix(st);
					size_t j = (size_t)(st % k), t = perm[k - 1];
					perm[k - 1] = perm[j];
					perm[j] = t;
				}
				for (size_t k = 0; k < ntest; k++)
					is_test[perm[k]] = 1;
				for (size_t k = 0; !rc && k < n; k++)
					if (is_test[k] == pass) {
						snprintf(rel, sizeof rel, "%s/%s", classes.v[c],
							 files[c].v[k]);
						rc = add(ds, root, pass ? "test" : "train", rel, (long)c,
							 NULL);
					}
				free(perm);
				free(is_test);
			}
	}
	for (size_t i = 0; files && i < all.n; i++)
		lpf_list_free(&files[i]);
	free(files);
	lpf_list_free(&all);
	lpf_list_free(&classes);
	return rc;
}

static const lp_param_spec params[] = {
	{ "root", LP_PARAM_STRING, NULL, "directory with one subdirectory of images per class" },
	{ "split_file", LP_PARAM_STRING, "",
	  "file of lines \"<split> <class>/<file>\"; empty: a seeded stratified split" },
	{ "test_fraction", LP_PARAM_NUMBER, "0.2", "share of each class that goes to test" },
	{ "split_seed", LP_PARAM_INT, "1", "seed of the stratified split" },
	{ "extensions", LP_PARAM_STRING, "jpg,jpeg,png",
	  "file name extensions taken as images (the content decides the format)" },
	{ 0 },
};

static const lp_dataset_vtable vt = { .size = sizeof vt, .open = if_open };

static const lp_plugin desc = {
	LP_PLUGIN_HEADER,
	.kind = LP_KIND_DATASET,
	.name = "imagefolder",
	.version = "1.0.0",
	.summary = "<root>/<class>/*.{jpg,png}, with a split file or a seeded stratified split",
	.params = params,
	.state_size = sizeof(struct state),
	.vtable = &vt,
};

LP_PLUGIN_DEFINE(desc)
