/*
 * idx.h — reading IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or raw.
 *
 *   lp_idx images = { 0 };
 *   if (lp_idx_read(ctx, "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", 0,
 *                   &images)) fail(lp_ctx_errmsg(ctx));
 *   ... images.dims = { 60000, 28, 28 }, images.data (uint8, row-major) ...
 *   lp_idx_free(&images);
 *
 * lp_idx_decode does the same from memory. Only unsigned-byte data (type 0x08) is read. Every
 * inconsistency is an error naming the file: a wrong magic number, another element type, a rank
 * outside 1..4, fewer bytes than the counts promise, bytes left over after them, corrupt gzip
 * data, or a size above max_bytes (checked from the header, before allocating).
 */
#ifndef LOUPE_IDX_H
#define LOUPE_IDX_H

#include "loupe/loupe.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lp_idx {
	int rank;
	int64_t dims[4];
	uint8_t *data; /* owned: lp_idx_free */
	size_t bytes;
} lp_idx;

#define LP_IDX_MAX_BYTES (1ull << 31)

/* Read path (gzip or raw, told apart by content); max_bytes 0 means LP_IDX_MAX_BYTES. */
int lp_idx_read(lp_ctx *ctx, const char *path, uint64_t max_bytes, lp_idx *out);
/* The same from memory (a file inside an archive, a download); `name` is used in messages
 * (NULL: "<memory>"). Gzip members concatenated read as one; bytes after the last member
 * that do not start another are ignored, as zlib's gzread does. */
int lp_idx_decode(lp_ctx *ctx, const void *data, size_t n, const char *name, uint64_t max_bytes,
		  lp_idx *out);
void lp_idx_free(lp_idx *idx);

#ifdef __cplusplus
}
#endif
#endif
