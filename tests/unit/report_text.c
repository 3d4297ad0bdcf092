/* report_text.c — `report_text escape|base64`: records on stdin through the report's HTML
 * escaping or base64, to stdout, for tests/e2e/report_text_check.py to compare with Python's
 * html.escape and base64 (an independent reference). A record is a 4-byte little-endian length
 * and that many bytes, in and out: one process for every case. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/html.h"

static int record(FILE *in, lpr_buf *b)
{
	unsigned char len[4];
	if (fread(len, 1, 4, in) != 4)
		return 0;
	size_t n = (size_t)len[0] | (size_t)len[1] << 8 | (size_t)len[2] << 16 |
		   (size_t)len[3] << 24;
	b->n = 0;
	char *p = malloc(n + 1);
	if (!p || fread(p, 1, n, in) != n) {
		free(p);
		return -1;
	}
	lpr_write(b, p, n);
	lpr_write(b, "", 0); /* NUL-terminated even when empty */
	free(p);
	return 1;
}

int main(int argc, char **argv)
{
	lpr_buf in = { 0 }, out = { 0 };
	int r;

	if (argc != 2 || (strcmp(argv[1], "escape") && strcmp(argv[1], "base64"))) {
		fprintf(stderr, "usage: report_text escape|base64 < records\n");
		return 2;
	}
	while ((r = record(stdin, &in)) > 0) {
		out.n = 0;
		if (argv[1][0] == 'e')
			lpr_escape(&out, in.p ? in.p : "");
		else
			lpr_base64(&out, (const uint8_t *)in.p, in.n);
		if (in.nomem || out.nomem)
			return 1;
		unsigned char len[4] = { (unsigned char)out.n, (unsigned char)(out.n >> 8),
					 (unsigned char)(out.n >> 16), (unsigned char)(out.n >> 24) };
		fwrite(len, 1, 4, stdout);
		fwrite(out.p ? out.p : "", 1, out.n, stdout);
	}
	lpr_free(&in);
	lpr_free(&out);
	return r < 0;
}
