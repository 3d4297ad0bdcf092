/* html.h — the report's output buffer: text appended, HTML-escaped or base64-encoded. Every
 * write checks room; out of memory sets `nomem` and later writes do nothing, so a caller
 * checks once at the end (lpr_done). */
#ifndef LOUPE_REPORT_HTML_H
#define LOUPE_REPORT_HTML_H

#include <stddef.h>
#include <stdint.h>

typedef struct lpr_buf {
	char *p;
	size_t n, cap;
	int nomem;
} lpr_buf;

void lpr_puts(lpr_buf *b, const char *s);
void lpr_write(lpr_buf *b, const void *data, size_t n);
void lpr_printf(lpr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s with & < > " ' as entities (as Python's html.escape(s, quote=True)); bytes that are not
 * UTF-8 become U+FFFD, and control characters other than tab, newline, CR become spaces */
void lpr_escape(lpr_buf *b, const char *s);
/* RFC 4648 base64, with padding */
void lpr_base64(lpr_buf *b, const uint8_t *data, size_t n);
void lpr_free(lpr_buf *b);

#endif
