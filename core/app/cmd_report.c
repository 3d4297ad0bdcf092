/* cmd_report.c — `loupe report RUN.h5 [-o OUT.html] [--images ROOT] [--top N] [--thumb PX]`:
 * one self-contained HTML page about a run archive (loupe/report.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "loupe/archive.h"
#include "loupe/report.h"

const char loupe_usage_report[] =
	"usage: loupe report RUN.h5 [-o OUT.html] [--images ROOT] [--top N] [--thumb PX]\n"
	"\n"
	"Writes one self-contained HTML page about a run archive (default: RUN.html next to it):\n"
	"the run and its provenance, training curves and the confusion heatmap, then a section per\n"
	"analysis (loupe analyze) with its findings and a contact sheet of the images involved,\n"
	"embedded. It needs no network and opens from a file:// URL in any browser.\n"
	"  -o OUT.html     where to write it\n"
	"  --images ROOT   read images as ROOT/<name> (an archive written elsewhere, or moved\n"
	"                  data) instead of from the dataset the archive records\n"
	"  --top N         findings shown per analysis, the rest counted (default 48)\n"
	"  --thumb PX      thumbnail side in pixels (default 112)\n"
	"Exit status: 0 written, 1 it could not be written, 2 bad arguments or archive.\n";

static int number(const char *flag, const char *s, int lo, int hi, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < lo || v > hi) {
		fprintf(stderr, "loupe report: %s %s is not %d..%d\n", flag, s, lo, hi);
		return 2;
	}
	*out = (int)v;
	return 0;
}

int loupe_cmd_report(lp_ctx *ctx, int argc, char **argv)
{
	const char *in = NULL, *out = NULL;
	lp_report_opts o = { 0 };
	lp_archive *a;
	char def[4096];

	for (int i = 0; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "-o") == 0 && v)
			out = argv[++i];
		else if (strcmp(argv[i], "--images") == 0 && v)
			o.images = argv[++i];
		else if (strcmp(argv[i], "--top") == 0 && v) {
			if (number("--top", argv[++i], 1, 100000, &o.top))
				return 2;
		} else if (strcmp(argv[i], "--thumb") == 0 && v) {
			if (number("--thumb", argv[++i], 16, 512, &o.thumb))
				return 2;
		} else if (argv[i][0] != '-' && !in)
			in = argv[i];
		else {
			fprintf(stderr, "loupe report: unexpected argument '%s'\n%s", argv[i],
				loupe_usage_report);
			return 2;
		}
	}
	if (!in) {
		fprintf(stderr, "loupe report: needs a run archive\n%s", loupe_usage_report);
		return 2;
	}
	if (!out) {
		size_t n = strlen(in);
		snprintf(def, sizeof def, "%.*s.html",
			 (int)(n > 3 && strcmp(in + n - 3, ".h5") == 0 ? n - 3 : n), in);
		out = def;
	}
	if (lp_archive_open(ctx, in, 0, &a)) {
		fprintf(stderr, "loupe report: %s\n", lp_ctx_errmsg(ctx));
		return 2;
	}
	int rc = lp_report_write(ctx, a, out, &o);
	if (rc)
		fprintf(stderr, "loupe report: %s\n", lp_ctx_errmsg(ctx));
	else
		printf("report: %s\n", out);
	lp_archive_close(a);
	return rc ? 1 : 0;
}
