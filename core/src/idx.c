/* idx.c — IDX files (MNIST's format), gzip or raw told apart by content, from a file or from
 * memory. One reader serves both: a source hands out input in chunks (all of it at once for
 * memory, 64 KiB at a time for a file) and zlib's inflate turns gzip members into bytes. It
 * follows zlib's gzread: concatenated members read as one stream, bytes after the last member
 * that do not start another are ignored, and a stream cut short simply ends (the size check
 * then names the shortfall). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZLIB_CONST
#include <zlib.h>

#include "core.h"
#include "loupe/idx.h"

#define IDX_CHUNK (64u << 10)

enum { SRC_UNKNOWN, SRC_RAW, SRC_GZIP };

typedef struct idx_src {
	const unsigned char *in; /* input not consumed yet */
	size_t avail;
	FILE *f;            /* NULL: all the input is in `in` from the start */
	unsigned char *buf; /* IDX_CHUNK bytes when reading a file */
	int eof;            /* nothing beyond `avail` */
	int how;            /* SRC_* */
	int zinit, member_done;
	z_stream z;
	char why[160]; /* why a read failed */
} idx_src;

void lp_idx_free(lp_idx *idx)
{
	if (!idx)
		return;
	free(idx->data);
	memset(idx, 0, sizeof(*idx));
}

static int is_gzip(const unsigned char *p, size_t n)
{
	return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/* Buffer at least `want` bytes of input unless it ends first; -1 on a read error. */
static int src_fill(idx_src *s, size_t want)
{
	while (s->avail < want && !s->eof) {
		if (!s->f) {
			s->eof = 1;
			break;
		}
		if (s->avail)
			memmove(s->buf, s->in, s->avail);
		s->in = s->buf;
		size_t r = fread(s->buf + s->avail, 1, IDX_CHUNK - s->avail, s->f);
		if (ferror(s->f)) {
			snprintf(s->why, sizeof s->why, "read error: %s", strerror(errno));
			return -1;
		}
		s->avail += r;
		if (r == 0)
			s->eof = 1;
	}
	return 0;
}

/* Read up to n bytes of IDX content; *got says how many came (fewer only at the end). */
static int src_read(idx_src *s, void *dst, size_t n, size_t *got)
{
	unsigned char *out = dst;

	*got = 0;
	if (s->how == SRC_UNKNOWN) {
		if (src_fill(s, 2))
			return -1;
		s->how = is_gzip(s->in, s->avail) ? SRC_GZIP : SRC_RAW;
		if (s->how == SRC_GZIP) {
			if (inflateInit2(&s->z, 15 + 16) != Z_OK) { /* 16: gzip wrapper only */
				snprintf(s->why, sizeof s->why, "out of memory for zlib");
				return -1;
			}
			s->zinit = 1;
		}
	}
	while (*got < n) {
		if (s->how == SRC_RAW) {
			if (!s->avail && src_fill(s, 1))
				return -1;
			if (!s->avail)
				break;
			size_t k = n - *got < s->avail ? n - *got : s->avail;
			memcpy(out + *got, s->in, k);
			s->in += k;
			s->avail -= k;
			*got += k;
			continue;
		}
		if (s->member_done) {
			if (src_fill(s, 2))
				return -1;
			if (!is_gzip(s->in, s->avail)) { /* the end, or trailing bytes: ignored */
				s->avail = 0;
				s->eof = 1;
				break;
			}
			inflateReset(&s->z);
			s->member_done = 0;
		}
		if (!s->avail && src_fill(s, 1))
			return -1;
		if (!s->avail)
			break; /* cut short: what came is all there is */
		uInt in = s->avail > UINT_MAX ? UINT_MAX : (uInt)s->avail;
		uInt room = n - *got > UINT_MAX ? UINT_MAX : (uInt)(n - *got);
		s->z.next_in = s->in;
		s->z.avail_in = in;
		s->z.next_out = out + *got;
		s->z.avail_out = room;
		int r = inflate(&s->z, Z_NO_FLUSH);
		s->in += in - s->z.avail_in;
		s->avail -= in - s->z.avail_in;
		*got += room - s->z.avail_out;
		if (r == Z_STREAM_END) {
			s->member_done = 1;
		} else if (r == Z_MEM_ERROR) {
			snprintf(s->why, sizeof s->why, "out of memory for zlib");
			return -1;
		} else if (r != Z_OK) {
			snprintf(s->why, sizeof s->why, "%s", s->z.msg ? s->z.msg :
				 "compressed data error");
			return -1;
		}
	}
	return 0;
}

static int parse_header(lp_ctx *ctx, const char *path, idx_src *s, uint64_t max, lp_idx *out)
{
	unsigned char h[4], d[4];
	size_t got;

	if (src_read(s, h, 4, &got))
		return lp_error(ctx, LP_ERR_FORMAT, "idx: %s: %s", path, s->why);
	if (got != 4)
		return lp_error(ctx, LP_ERR_FORMAT, "idx: %s: shorter than an IDX header", path);
	if (h[0] != 0 || h[1] != 0)
		return lp_error(ctx, LP_ERR_FORMAT, "idx: %s: wrong magic number %02x%02x%02x%02x "
				"(an IDX file starts with 00 00)", path, h[0], h[1], h[2], h[3]);
	if (h[2] != 0x08)
		return lp_error(ctx, LP_ERR_FORMAT, "idx: %s: element type 0x%02x; only unsigned "
				"bytes (0x08) are supported", path, h[2]);
	if (h[3] < 1 || h[3] > 4)
		return lp_error(ctx, LP_ERR_FORMAT, "idx: %s: rank %u outside 1..4", path, h[3]);
	out->rank = h[3];
	uint64_t total = 1;
	for (int i = 0; i < out->rank; i++) {
		if (src_read(s, d, 4, &got))
			return lp_error(ctx, LP_ERR_FORMAT, "idx: %s: %s", path, s->why);
		if (got != 4)
			return lp_error(ctx, LP_ERR_FORMAT, "idx: %s: header ends inside the sizes", path);
		out->dims[i] = (int64_t)((uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
					 (uint32_t)d[2] << 8 | d[3]);
		/* checked before multiplying, so a caller's large max cannot wrap it around */
		if (out->dims[i] && total > max / (uint64_t)out->dims[i])
			return lp_error(ctx, LP_ERR_LIMIT, "idx: %s: sizes promise more than %llu bytes",
					path, (unsigned long long)max);
		total *= (uint64_t)out->dims[i];
	}
	out->bytes = (size_t)total;
	return LP_OK;
}

static int decode(lp_ctx *ctx, idx_src *s, const char *path, uint64_t max_bytes, lp_idx *out)
{
	uint64_t max = max_bytes ? max_bytes : LP_IDX_MAX_BYTES;
	unsigned char extra;
	size_t got;
	int rc;

	if ((rc = parse_header(ctx, path, s, max, out)))
		goto out;
	if (!(out->data = malloc(out->bytes ? out->bytes : 1))) {
		rc = lp_error(ctx, LP_ERR_NOMEM, "idx: %s: out of memory for %zu bytes", path,
			      out->bytes);
		goto out;
	}
	if (src_read(s, out->data, out->bytes, &got))
		rc = lp_error(ctx, LP_ERR_FORMAT, "idx: %s: %s", path, s->why);
	else if (got != out->bytes)
		rc = lp_error(ctx, LP_ERR_FORMAT, "idx: %s: the sizes promise %zu bytes of data but "
			      "the file holds %zu", path, out->bytes, got);
	else if (src_read(s, &extra, 1, &got))
		rc = lp_error(ctx, LP_ERR_FORMAT, "idx: %s: %s", path, s->why);
	else if (got)
		rc = lp_error(ctx, LP_ERR_FORMAT, "idx: %s: bytes left over after the %zu the sizes "
			      "promise", path, out->bytes);
out:
	if (s->zinit)
		inflateEnd(&s->z);
	if (rc)
		lp_idx_free(out);
	return rc;
}

int lp_idx_decode(lp_ctx *ctx, const void *data, size_t n, const char *name, uint64_t max_bytes,
		  lp_idx *out)
{
	idx_src s = { .in = data, .avail = n };

	memset(out, 0, sizeof(*out));
	if (!name)
		name = "<memory>";
	if (!data)
		s.avail = 0;
	return decode(ctx, &s, name, max_bytes, out);
}

int lp_idx_read(lp_ctx *ctx, const char *path, uint64_t max_bytes, lp_idx *out)
{
	idx_src s = { 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	if (!(s.f = fopen(path, "rb")))
		return lp_error(ctx, LP_ERR_IO, "idx: cannot open %s: %s", path, strerror(errno));
	if (!(s.buf = malloc(IDX_CHUNK))) {
		fclose(s.f);
		return lp_error(ctx, LP_ERR_NOMEM, "idx: %s: out of memory", path);
	}
	rc = decode(ctx, &s, path, max_bytes, out);
	free(s.buf);
	fclose(s.f);
	return rc;
}
