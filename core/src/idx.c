/* idx.c — IDX files (MNIST's format), through zlib so .gz and raw files read alike. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "core.h"
#include "loupe/idx.h"

void lp_idx_free(lp_idx *idx)
{
	if (!idx)
		return;
	free(idx->data);
	memset(idx, 0, sizeof(*idx));
}

/* Read exactly n bytes; *got says how many came. */
static int read_all(gzFile f, void *buf, size_t n, size_t *got)
{
	*got = 0;
	while (*got < n) {
		unsigned want = n - *got > (1u << 30) ? 1u << 30 : (unsigned)(n - *got);
		int r = gzread(f, (char *)buf + *got, want);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		*got += (size_t)r;
	}
	return 0;
}

static int parse_header(lp_ctx *ctx, const char *path, gzFile f, uint64_t max, lp_idx *out)
{
	unsigned char h[4], d[4];
	size_t got;

	if (read_all(f, h, 4, &got) || got != 4)
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
		if (read_all(f, d, 4, &got) || got != 4)
			return lp_error(ctx, LP_ERR_FORMAT, "idx: %s: header ends inside the sizes", path);
		out->dims[i] = (int64_t)((uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
					 (uint32_t)d[2] << 8 | d[3]);
		total *= (uint64_t)out->dims[i];
		if (total > max)
			return lp_error(ctx, LP_ERR_LIMIT, "idx: %s: sizes promise more than %llu bytes",
					path, (unsigned long long)max);
	}
	out->bytes = (size_t)total;
	return LP_OK;
}

int lp_idx_read(lp_ctx *ctx, const char *path, uint64_t max_bytes, lp_idx *out)
{
	uint64_t max = max_bytes ? max_bytes : LP_IDX_MAX_BYTES;
	gzFile f;
	size_t got;
	unsigned char extra;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!(f = gzopen(path, "rb")))
		return lp_error(ctx, LP_ERR_IO, "idx: cannot open %s: %s", path,
				errno ? strerror(errno) : "out of memory");
	if ((rc = parse_header(ctx, path, f, max, out)))
		goto out_close;
	if (!(out->data = malloc(out->bytes ? out->bytes : 1))) {
		rc = lp_error(ctx, LP_ERR_NOMEM, "idx: %s: out of memory for %zu bytes", path,
			      out->bytes);
		goto out_close;
	}
	if (read_all(f, out->data, out->bytes, &got)) {
		int zerr;
		rc = lp_error(ctx, LP_ERR_FORMAT, "idx: %s: %s", path, gzerror(f, &zerr));
	} else if (got != out->bytes) {
		rc = lp_error(ctx, LP_ERR_FORMAT, "idx: %s: the sizes promise %zu bytes of data but "
			      "the file holds %zu", path, out->bytes, got);
	} else if (gzread(f, &extra, 1) != 0) {
		rc = lp_error(ctx, LP_ERR_FORMAT, "idx: %s: bytes left over after the %zu the sizes "
			      "promise", path, out->bytes);
	}
out_close:
	gzclose(f);
	if (rc)
		lp_idx_free(out);
	return rc;
}
