/* cmd_dataset.c — `loupe dataset NAME key=value ...`: what a dataset holds, class by class and
 * split by split; optionally scan it (decode every image) and write its part of an archive. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "loupe/archive.h"
#include "loupe/dataset.h"

const char loupe_usage_dataset[] =
	"usage: loupe dataset NAME [key=value ...] [--scan] [--write OUT.h5] [--on-bad skip|error]\n"
	"                          [--threads N] [--max-pixels N]\n"
	"\n"
	"Opens dataset plugin NAME with the given parameters (see `loupe plugins`) and prints its\n"
	"classes and how many items each split holds per class. Values are read as the plugin\n"
	"declares them: root=data/indoor67 size=64 flip_rate=0.1 merge=false.\n"
	"  --scan           decode every item once: image sizes, statistics, the files that do not\n"
	"                   decode (skipped and listed with --on-bad skip, else the first stops)\n"
	"  --write OUT.h5   scan, then write /dataset and /provenance/dataset to a new archive\n"
	"  --on-bad POLICY  skip: record bad items and go on; error (default): stop at the first\n"
	"  --threads N      decoding threads (default: one per CPU)\n"
	"  --max-pixels N   refuse images with more pixels (checked from the header; default 64M)\n"
	"Exit status: 0, 1 when the dataset cannot be read, 2 for bad arguments.\n";

struct progress {
	const char *split;
	int tty;
	int64_t last;
};

static void on_progress(void *user, int64_t done, int64_t total)
{
	struct progress *p = user;

	if (!p->tty || (done != total && done - p->last < total / 100 + 1))
		return;
	p->last = done;
	fprintf(stderr, "\rscanning %s: %" PRId64 "/%" PRId64 "%s", p->split, done, total,
		done == total ? "\n" : "");
}

/* key=value -> lp_kv, typed as the plugin declares the key (unknown keys stay strings, and
 * the core's validation names them). Numbers must be whole numbers of the declared type. */
int loupe_parse_kv(const char *cmd, const lp_plugin *p, char *arg, lp_kv *kv)
{
	char *eq = strchr(arg, '=');
	char *end;

	if (!eq || eq == arg) {
		fprintf(stderr, "loupe %s: '%s' is not key=value\n", cmd, arg);
		return 2;
	}
	*eq = 0;
	kv->key = arg;
	const char *v = eq + 1;
	int type = LP_PARAM_STRING;
	for (int i = 0; p->params && p->params[i].name; i++)
		if (strcmp(p->params[i].name, arg) == 0)
			type = p->params[i].type;
	kv->value.type = type;
	switch (type) {
	case LP_PARAM_INT:
		kv->value.integer = strtoll(v, &end, 10);
		if (!*v || *end)
			goto bad;
		break;
	case LP_PARAM_NUMBER:
		kv->value.number = strtod(v, &end);
		if (!*v || *end)
			goto bad;
		break;
	case LP_PARAM_BOOL:
		if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
			kv->value.boolean = 1;
		else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
			kv->value.boolean = 0;
		else
			goto bad;
		break;
	default:
		kv->value.string = v;
	}
	return 0;
bad:
	fprintf(stderr, "loupe %s: %s: parameter '%s' (%s) cannot be '%s'\n", cmd, p->name,
		arg, lp_param_type_name(type), v);
	return 2;
}

static void print_summary(lp_dataset *ds)
{
	const char *const *cls;
	size_t nc = lp_dataset_classes(ds, &cls), ns = lp_dataset_split_count(ds);
	int64_t *counts = calloc(nc * (ns ? ns : 1), sizeof(int64_t));
	char fp[65];

	if (!counts)
		return;
	printf("dataset %s: %zu classes, %zu splits\n", lp_dataset_name(ds), nc, ns);
	printf("%-36s", "class");
	for (size_t k = 0; k < ns; k++) {
		lp_split *s = lp_dataset_split_at(ds, k);
		lp_split_class_counts(s, counts + k * nc);
		printf(" %10s", lp_split_name(s));
	}
	printf("\n");
	for (size_t c = 0; c < nc; c++) {
		printf("%3zu %-32s", c, cls[c]);
		for (size_t k = 0; k < ns; k++)
			printf(" %10" PRId64, counts[k * nc + c]);
		printf("\n");
	}
	printf("%-36s", "total");
	for (size_t k = 0; k < ns; k++)
		printf(" %10" PRId64, lp_split_count(lp_dataset_split_at(ds, k)));
	printf("\n");
	free(counts);
	const lp_skipped *sk;
	size_t nsk = lp_dataset_skipped(ds, &sk);
	if (nsk) {
		printf("skipped %zu:\n", nsk);
		for (size_t i = 0; i < nsk; i++)
			printf("  %s%s%s: %s\n", sk[i].split, *sk[i].split ? " " : "", sk[i].name,
			       sk[i].reason);
	}
	if (lp_dataset_fingerprint(ds, fp) == LP_OK)
		printf("fingerprint %s\n", fp);
	if (ns && !lp_split_scanned(lp_dataset_split_at(ds, 0)))
		printf("(listed, not decoded: --scan decodes every image and finds the bad ones)\n");
}

int loupe_cmd_dataset(lp_ctx *ctx, int argc, char **argv, const char *cmdline)
{
	const char *name = NULL, *out = NULL;
	lp_dataset_opts o = { .on_bad = LP_ON_BAD_ERROR };
	int scan = 0, threads = 0, rc = 1;
	lp_kv *kv = calloc((size_t)argc + 1, sizeof(*kv));
	size_t nkv = 0;
	const lp_plugin *p = NULL;
	lp_dataset *ds = NULL;

	if (!kv)
		return 1;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--scan") == 0) {
			scan = 1;
		} else if (strcmp(a, "--write") == 0 && i + 1 < argc) {
			out = argv[++i];
		} else if (strcmp(a, "--threads") == 0 && i + 1 < argc) {
			threads = atoi(argv[++i]);
			if (threads < 1 || threads > 64) {
				fprintf(stderr, "loupe dataset: --threads must be 1..64\n");
				rc = 2;
				goto done;
			}
		} else if (strcmp(a, "--max-pixels") == 0 && i + 1 < argc) {
			long long v = atoll(argv[++i]);
			if (v < 1) {
				fprintf(stderr, "loupe dataset: --max-pixels must be a positive count\n");
				rc = 2;
				goto done;
			}
			o.max_pixels = (uint64_t)v;
		} else if (strcmp(a, "--on-bad") == 0 && i + 1 < argc) {
			const char *v = argv[++i];
			if (strcmp(v, "skip") == 0)
				o.on_bad = LP_ON_BAD_SKIP;
			else if (strcmp(v, "error") == 0)
				o.on_bad = LP_ON_BAD_ERROR;
			else {
				fprintf(stderr, "loupe dataset: --on-bad is skip or error, not '%s'\n",
					v);
				rc = 2;
				goto done;
			}
		} else if (a[0] == '-') {
			fprintf(stderr, "loupe dataset: unknown option %s\n%s", a,
				loupe_usage_dataset);
			rc = 2;
			goto done;
		} else if (!name) {
			name = a;
			if (lp_plugin_find(ctx, name, LP_KIND_DATASET, &p)) {
				fprintf(stderr, "loupe dataset: %s\n", lp_ctx_errmsg(ctx));
				goto done;
			}
		} else if ((rc = loupe_parse_kv("dataset", p, argv[i], &kv[nkv++]))) {
			goto done;
		} else {
			rc = 1;
		}
	}
	if (!name) {
		fprintf(stderr, "loupe dataset: missing NAME\n%s", loupe_usage_dataset);
		rc = 2;
		goto done;
	}
	if (lp_dataset_open(ctx, p, kv, nkv, &o, &ds)) {
		fprintf(stderr, "loupe dataset: %s\n", lp_ctx_errmsg(ctx));
		goto done;
	}
	if (scan || out) {
		for (size_t k = 0; k < lp_dataset_split_count(ds); k++) {
			lp_split *s = lp_dataset_split_at(ds, k);
			struct progress pr = { lp_split_name(s), isatty(2) && !getenv("LOUPE_QUIET"),
					       0 };
			if (lp_split_scan(s, threads, on_progress, &pr)) {
				fprintf(stderr, "loupe dataset: %s\n", lp_ctx_errmsg(ctx));
				goto done;
			}
		}
	}
	print_summary(ds);
	if (out) {
		lp_archive *a;
		lp_provenance prov = { .command = cmdline, .seed = lp_ctx_get_seed(ctx) };
		if (lp_archive_create(ctx, out, &prov, &a)) {
			fprintf(stderr, "loupe dataset: %s\n", lp_ctx_errmsg(ctx));
			goto done;
		}
		int wrc = lp_dataset_write(ds, a);
		int crc = lp_archive_close(a);
		if (wrc || crc) {
			fprintf(stderr, "loupe dataset: %s\n", lp_ctx_errmsg(ctx));
			goto done;
		}
		printf("wrote %s\n", out);
	}
	rc = 0;
done:
	lp_dataset_free(ds);
	free(kv);
	return rc;
}
