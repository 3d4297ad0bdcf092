/* html.c — see html.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"

static int room(lpr_buf *b, size_t more)
{
	if (b->nomem)
		return 0;
	if (b->n + more + 1 <= b->cap)
		return 1;
	size_t cap = b->cap ? b->cap : 1 << 16;
	while (cap < b->n + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->nomem = 1;
		return 0;
	}
	b->p = p;
	b->cap = cap;
	return 1;
}

void lpr_write(lpr_buf *b, const void *data, size_t n)
{
	if (!room(b, n))
		return;
	memcpy(b->p + b->n, data, n);
	b->n += n;
	b->p[b->n] = 0;
}

void lpr_puts(lpr_buf *b, const char *s)
{
	lpr_write(b, s, strlen(s));
}

void lpr_printf(lpr_buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[512];
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof small) {
		lpr_write(b, small, (size_t)n);
		return;
	}
	if (!room(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)n;
}

/* the length of a valid UTF-8 sequence at s (1..4), or 0 */
static int utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	int n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
		(c & 0xf8) == 0xf0 ? 4 : 0;
	if (!n || (n == 2 && c < 0xc2) || (n == 4 && c > 0xf4))
		return 0;
	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (n == 3 && ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0)))
		return 0; /* overlong, surrogate */
	if (n == 4 && ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90)))
		return 0;
	return n;
}

void lpr_escape(lpr_buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		const unsigned char *run = s;
		while (*s && *s >= 0x20 && *s < 0x80 && !strchr("&<>\"'", *s))
			s++;
		lpr_write(b, run, (size_t)(s - run));
		if (!*s)
			break;
		switch (*s) {
		case '&': lpr_puts(b, "&amp;"); s++; continue;
		case '<': lpr_puts(b, "&lt;"); s++; continue;
		case '>': lpr_puts(b, "&gt;"); s++; continue;
		case '"': lpr_puts(b, "&quot;"); s++; continue;
		case '\'': lpr_puts(b, "&#x27;"); s++; continue;
		default: break;
		}
		if (*s < 0x20) {
			lpr_write(b, *s == '\t' || *s == '\n' || *s == '\r' ? (const char *)s : " ", 1);
			s++;
			continue;
		}
		int n = utf8_len(s);
		if (n) {
			lpr_write(b, s, (size_t)n);
			s += n;
		} else {
			lpr_puts(b, "\xef\xbf\xbd"); /* U+FFFD for a byte that is not UTF-8 */
			s++;
		}
	}
}

void lpr_base64(lpr_buf *b, const uint8_t *d, size_t n)
{
	static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	if (!room(b, (n + 2) / 3 * 4))
		return;
	char *o = b->p + b->n;
	size_t i = 0;
	for (; i + 3 <= n; i += 3, o += 4) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
		o[0] = A[v >> 18];
		o[1] = A[(v >> 12) & 63];
		o[2] = A[(v >> 6) & 63];
		o[3] = A[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0);
		o[0] = A[v >> 18];
		o[1] = A[(v >> 12) & 63];
		o[2] = i + 1 < n ? A[(v >> 6) & 63] : '=';
		o[3] = '=';
		o += 4;
	}
	b->n = (size_t)(o - b->p);
	b->p[b->n] = 0;
}

void lpr_free(lpr_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}
