/* report_text.c — `report_text escape|base64`: stdin through the report's HTML escaping or
 * base64 to stdout, for tests/e2e/report_text_check.py to compare with Python's html.escape
 * and base64 (an independent reference). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/html.h"

int main(int argc, char **argv)
{
	lpr_buf in = { 0 }, out = { 0 };
	char chunk[65536];
	size_t n;

	if (argc != 2 || (strcmp(argv[1], "escape") && strcmp(argv[1], "base64"))) {
		fprintf(stderr, "usage: report_text escape|base64 < input\n");
		return 2;
	}
	while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
		lpr_write(&in, chunk, n);
	if (argv[1][0] == 'e')
		lpr_escape(&out, in.p ? in.p : "");
	else
		lpr_base64(&out, (const uint8_t *)in.p, in.n);
	if (in.nomem || out.nomem)
		return 1;
	fwrite(out.p ? out.p : "", 1, out.n, stdout);
	lpr_free(&in);
	lpr_free(&out);
	return 0;
}
