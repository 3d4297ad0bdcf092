/* fashion_mnist.c — Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) from its IDX files, gzip or raw:
 * 28x28 greyscale, 10 classes, 60000 train and 10000 test items. Debian's dataset-fashion-mnist
 * installs the files in /usr/share/datasets/fashion-mnist, the default root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loupe/plugin.h"

static const lp_host *host;

struct part {
	uint8_t *images, *labels;
	int64_t n;
};

struct state {
	struct part part[2]; /* train, test */
	int64_t limit;
};

static const char *const classes[10] = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
					 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" };
static const char *const split_name[2] = { "train", "test" };
static const char *const prefix[2] = { "train", "t10k" };

/* <root>/<prefix>-<what>-idx<r>-ubyte, with .gz or without */
static int find_file(lp_ctx *ctx, const char *root, int split, const char *what, int rank,
		     char *out, size_t n)
{
	snprintf(out, n, "%s/%s-%s-idx%d-ubyte.gz", root, prefix[split], what, rank);
	if (access(out, R_OK) == 0)
		return 0;
	snprintf(out, n, "%s/%s-%s-idx%d-ubyte", root, prefix[split], what, rank);
	if (access(out, R_OK) == 0)
		return 0;
	return host->error(ctx, LP_ERR_IO, "fashion_mnist: %s/%s-%s-idx%d-ubyte(.gz) "
			   "not found (root = \"%s\"; Debian's dataset-fashion-mnist installs "
			   "the files in /usr/share/datasets/fashion-mnist)", root, prefix[split],
			   what, rank, root);
}

static int load_part(lp_ctx *ctx, struct state *st, const char *root, int k)
{
	char ip[4096], lpth[4096];
	int rank;
	int64_t idims[4], ldims[4];
	size_t bytes;
	struct part *p = &st->part[k];

	if (find_file(ctx, root, k, "images", 3, ip, sizeof ip) ||
	    find_file(ctx, root, k, "labels", 1, lpth, sizeof lpth))
		return LP_ERR_IO;
	if (host->idx_read(ctx, ip, 0, &rank, idims, &p->images, &bytes))
		return LP_ERR_FORMAT;
	if (rank != 3 || idims[1] != 28 || idims[2] != 28)
		return host->error(ctx, LP_ERR_FORMAT, "fashion_mnist: %s holds %d-D data of %lldx%lld; "
				   "expected N x 28 x 28", ip, rank, (long long)idims[1],
				   (long long)idims[2]);
	if (host->idx_read(ctx, lpth, 0, &rank, ldims, &p->labels, &bytes))
		return LP_ERR_FORMAT;
	if (rank != 1)
		return host->error(ctx, LP_ERR_FORMAT, "fashion_mnist: %s holds %d-D data; expected labels "
				   "(1-D)", lpth, rank);
	if (ldims[0] != idims[0])
		return host->error(ctx, LP_ERR_FORMAT, "fashion_mnist: %s has %lld labels but %s has %lld "
				   "images", lpth, (long long)ldims[0], ip, (long long)idims[0]);
	for (int64_t i = 0; i < ldims[0]; i++)
		if (p->labels[i] > 9)
			return host->error(ctx, LP_ERR_FORMAT, "fashion_mnist: %s: label %d of item %lld is "
					   "not a class (0..9)", lpth, p->labels[i], (long long)i);
	p->n = idims[0];
	return 0;
}

static int fm_open(lp_ctx *ctx, void *state, const lp_params *params, lp_dataset *ds)
{
	struct state *st = state;
	const char *root = host->param_string(params, "root");
	int64_t limit = host->param_int(params, "limit");
	int rc;

	if (limit < 0)
		return host->error(ctx, LP_ERR_ARG, "fashion_mnist: limit = %lld; it must be >= 0 (0: all)",
				   (long long)limit);
	for (int c = 0; c < 10; c++)
		if ((rc = host->dataset_class(ds, classes[c])))
			return rc;
	for (int k = 0; k < 2; k++) {
		if ((rc = load_part(ctx, st, root, k)))
			return rc;
		int64_t n = limit && limit < st->part[k].n ? limit : st->part[k].n;
		for (int64_t i = 0; i < n; i++) {
			char name[64];
			snprintf(name, sizeof name, "%s/%05lld", split_name[k], (long long)i);
			lp_item_desc d = { .size = sizeof d, .split = split_name[k], .name = name,
					   .label = st->part[k].labels[i], .width = 28,
					   .height = 28, .channels = 1,
					   .key = ((uint64_t)k << 32) | (uint64_t)i };
			if ((rc = host->dataset_item(ds, &d)))
				return rc;
		}
	}
	return 0;
}

static int fm_read(lp_ctx *ctx, void *state, uint64_t key, uint8_t *dst)
{
	const struct state *st = state;
	unsigned k = (unsigned)(key >> 32);
	int64_t i = (int64_t)(key & 0xffffffffu);

	if (k > 1 || i >= st->part[k].n)
		return host->error(ctx, LP_ERR_ARG, "fashion_mnist: no item with key %llx",
				   (unsigned long long)key);
	memcpy(dst, st->part[k].images + (size_t)i * 784, 784);
	return 0;
}

static void fm_close(lp_ctx *ctx, void *state)
{
	struct state *st = state;

	(void)ctx;
	for (int k = 0; k < 2; k++) {
		host->free(st->part[k].images);
		host->free(st->part[k].labels);
	}
}

static const lp_param_spec params[] = {
	{ "root", LP_PARAM_STRING, "/usr/share/datasets/fashion-mnist",
	  "directory of the four IDX files (.gz or raw)" },
	{ "limit", LP_PARAM_INT, "0", "use only the first N items of each split (0: all)" },
	{ 0 },
};

static const lp_dataset_vtable vt = {
	.size = sizeof vt, .open = fm_open, .read = fm_read, .close = fm_close,
};

static const lp_plugin desc = {
	LP_PLUGIN_HEADER,
	.kind = LP_KIND_DATASET,
	.name = "fashion_mnist",
	.version = "1.0.0",
	.summary = "Fashion-MNIST from IDX files: 28x28 grey, 10 classes, 60k/10k",
	.params = params,
	.state_size = sizeof(struct state),
	.vtable = &vt,
};

LP_PLUGIN_DEFINE(desc)
