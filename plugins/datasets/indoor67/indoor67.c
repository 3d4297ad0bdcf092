/* indoor67.c — MIT Indoor67 (Quattoni & Torralba, CVPR 2009) in its own layout:
 *
 *   <root>/Images/<class>/<file>.jpg       67 class directories, 15620 images
 *   <root>/TrainImages.txt                 the official split: 80 per class, lines class/file
 *   <root>/TestImages.txt                  20 per class
 *
 * Classes are the directories under Images/, sorted. Items are what the split files list
 * (images in no list are not used, as in the paper). The files are decoded by the core, by
 * content: the collection holds files whose extension lies, greyscale and CMYK JPEGs. */
#include <stdio.h>
#include <string.h>

#include "folder.h"

static const lp_host *host;

struct state {
	int unused;
};

static int read_list(lp_ctx *ctx, lp_dataset *ds, const char *root, const char *file,
		     const char *split, const lpf_list *classes)
{
	char path[4096], line[4096], item[8192], origin[4200], reason[4400];
	int lineno = 0, rc = 0;
	char *s;

	snprintf(path, sizeof path, "%s/%s", root, file);
	FILE *f = fopen(path, "r");
	if (!f)
		return host->error(ctx, LP_ERR_IO, "indoor67: %s: %s (MIT Indoor67 comes with "
				   "TrainImages.txt and TestImages.txt next to Images/; see "
				   "README.md, \"MIT Indoor67\")", path, strerror(errno));
	while (!rc && (s = lpf_getline(f, line, sizeof line, &lineno))) {
		if (!*s)
			continue;
		snprintf(origin, sizeof origin, "%s:%d", file, lineno);
		char *slash = strchr(s, '/');
		if (!slash || slash == s || !slash[1]) {
			snprintf(reason, sizeof reason, "line is not class/file (%s)", origin);
			rc = host->dataset_bad(ds, split, s, reason);
			continue;
		}
		*slash = 0;
		long label = lpf_find(classes, s);
		*slash = '/';
		if (label < 0) {
			snprintf(reason, sizeof reason, "its class has no usable directory under "
				 "Images/ (%s)", origin);
			rc = host->dataset_bad(ds, split, s, reason);
			continue;
		}
		snprintf(item, sizeof item, "%s/Images/%s", root, s);
		lp_item_desc d = { .size = sizeof d, .split = split, .path = item, .name = s,
				   .origin = origin, .label = (int32_t)label };
		rc = host->dataset_item(ds, &d);
	}
	if (!rc && ferror(f))
		rc = host->error(ctx, LP_ERR_IO, "indoor67: %s: read error", path);
	fclose(f);
	return rc;
}

static int in_open(lp_ctx *ctx, void *state, const lp_params *params, lp_dataset *ds)
{
	const char *root = host->param_string(params, "root");
	const char *lists[2] = { host->param_string(params, "train_list"),
				 host->param_string(params, "test_list") };
	static const char *const splits[2] = { "train", "test" };
	char images[4096], dir[8192], reason[256];
	lpf_list all = { 0 }, classes = { 0 };
	int err, rc = 0;

	(void)state;
	snprintf(images, sizeof images, "%s/Images", root);
	if (lpf_list_dir(images, 1, &all, &err))
		return host->error(ctx, err == ENOMEM ? LP_ERR_NOMEM : LP_ERR_IO, "indoor67: %s: %s "
				   "(root = \"%s\" should hold Images/<class>/ and the split files; "
				   "see README.md, \"MIT Indoor67\")", images, strerror(err), root);
	/* a class is a directory with at least one file, and a name that is UTF-8 */
	for (size_t i = 0; !rc && i < all.n; i++) {
		lpf_list files = { 0 };
		snprintf(dir, sizeof dir, "Images/%s/", all.v[i]);
		if (!lpf_utf8_ok(all.v[i])) {
			rc = host->dataset_bad(ds, NULL, dir, "class directory name is not valid "
					       "UTF-8");
			continue;
		}
		snprintf(dir, sizeof dir, "%s/%s", images, all.v[i]);
		if (lpf_list_dir(dir, 0, &files, &err)) {
			snprintf(reason, sizeof reason, "cannot list: %s", strerror(err));
			snprintf(dir, sizeof dir, "Images/%s/", all.v[i]);
			rc = host->dataset_bad(ds, NULL, dir, reason);
		} else if (!files.n) {
			snprintf(dir, sizeof dir, "Images/%s/", all.v[i]);
			rc = host->dataset_bad(ds, NULL, dir, "class directory is empty");
		} else if (lpf_list_add(&classes, all.v[i])) {
			rc = host->error(ctx, LP_ERR_NOMEM, "indoor67: out of memory");
		}
		lpf_list_free(&files);
	}
	for (size_t i = 0; !rc && i < classes.n; i++)
		rc = host->dataset_class(ds, classes.v[i]);
	for (int k = 0; !rc && k < 2; k++)
		rc = read_list(ctx, ds, root, lists[k], splits[k], &classes);
	lpf_list_free(&all);
	lpf_list_free(&classes);
	return rc;
}

static const lp_param_spec params[] = {
	{ "root", LP_PARAM_STRING, "data/indoor67",
	  "directory holding Images/, TrainImages.txt and TestImages.txt" },
	{ "train_list", LP_PARAM_STRING, "TrainImages.txt", "training split file, under root" },
	{ "test_list", LP_PARAM_STRING, "TestImages.txt", "test split file, under root" },
	{ 0 },
};

static const lp_dataset_vtable vt = { .size = sizeof vt, .open = in_open };

static const lp_plugin desc = {
	LP_PLUGIN_HEADER,
	.kind = LP_KIND_DATASET,
	.name = "indoor67",
	.version = "1.0.0",
	.summary = "MIT Indoor67: Images/<class>/ with the official TrainImages/TestImages split",
	.params = params,
	.state_size = sizeof(struct state),
	.vtable = &vt,
};

LP_PLUGIN_DEFINE(desc)
