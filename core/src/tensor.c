/* tensor.c — shaped, typed device memory with a name for messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk/lpvk.h"

struct lp_tensor {
	lpvk_buf *buf;
	int dtype, rank;
	int64_t dims[LP_MAX_RANK];
	int64_t numel;
	char name[64];
};

size_t lp_dtype_size(int dtype)
{
	switch (dtype) {
	case LP_F32: case LP_I32: return 4;
	case LP_I64: return 8;
	case LP_U8: return 1;
	default: return 0;
	}
}

const char *lp_dtype_name(int dtype)
{
	switch (dtype) {
	case LP_F32: return "float32";
	case LP_I32: return "int32";
	case LP_I64: return "int64";
	case LP_U8: return "uint8";
	default: return "unknown";
	}
}

int lp_tensor_new(lp_ctx *ctx, int dtype, int rank, const int64_t *dims, lp_tensor **out)
{
	lpvk_device *dev;
	lp_tensor *t;
	int64_t numel = 1;
	int rc;

	*out = NULL;
	if (!lp_dtype_size(dtype))
		return lp_error(ctx, LP_ERR_ARG, "tensor: unknown dtype %d", dtype);
	if (rank < 0 || rank > LP_MAX_RANK)
		return lp_error(ctx, LP_ERR_SHAPE, "tensor: rank %d outside 0..%d", rank,
				LP_MAX_RANK);
	for (int i = 0; i < rank; i++) {
		if (dims[i] < 0)
			return lp_error(ctx, LP_ERR_SHAPE, "tensor: dimension %d is %lld", i,
					(long long)dims[i]);
		if (dims[i] && numel > INT64_MAX / 8 / dims[i])
			return lp_error(ctx, LP_ERR_LIMIT, "tensor: shape too large");
		numel *= dims[i];
	}
	if ((rc = lpvk_get(ctx, &dev)))
		return rc;
	if (!(t = calloc(1, sizeof(*t))))
		return lp_error(ctx, LP_ERR_NOMEM, "tensor: out of memory");
	t->dtype = dtype;
	t->rank = rank;
	t->numel = numel;
	memcpy(t->dims, dims, (size_t)rank * sizeof(*dims));
	snprintf(t->name, sizeof t->name, "tensor");
	if ((rc = lpvk_buf_new(ctx, dev, (uint64_t)numel * lp_dtype_size(dtype), t->name,
			       &t->buf))) {
		free(t);
		return rc;
	}
	*out = t;
	return LP_OK;
}

void lp_tensor_free(lp_tensor *t)
{
	if (!t)
		return;
	lpvk_buf_free(t->buf);
	free(t);
}

int lp_tensor_rank(const lp_tensor *t) { return t->rank; }
const int64_t *lp_tensor_dims(const lp_tensor *t) { return t->dims; }
int lp_tensor_dtype(const lp_tensor *t) { return t->dtype; }
int64_t lp_tensor_numel(const lp_tensor *t) { return t->numel; }
uint64_t lp_tensor_bytes(const lp_tensor *t) { return (uint64_t)t->numel * lp_dtype_size(t->dtype); }
const char *lp_tensor_name(const lp_tensor *t) { return t->name; }
struct lpvk_buf *lp_tensor_buf(const lp_tensor *t) { return t->buf; }

void lp_tensor_set_name(lp_tensor *t, const char *name)
{
	snprintf(t->name, sizeof t->name, "%s", name ? name : "tensor");
}

static int check_bytes(lp_ctx *ctx, const lp_tensor *t, size_t bytes, const char *op)
{
	if (bytes != lp_tensor_bytes(t))
		return lp_error(ctx, LP_ERR_SHAPE, "tensor: %s %s: %zu bytes given, the tensor holds "
				"%llu", op, t->name, bytes, (unsigned long long)lp_tensor_bytes(t));
	return LP_OK;
}

int lp_tensor_write(lp_ctx *ctx, lp_tensor *t, const void *src, size_t bytes)
{
	int rc = check_bytes(ctx, t, bytes, "write");
	return rc ? rc : lpvk_buf_write(ctx, t->buf, src, bytes);
}

int lp_tensor_read(lp_ctx *ctx, const lp_tensor *t, void *dst, size_t bytes)
{
	int rc = check_bytes(ctx, t, bytes, "read");
	return rc ? rc : lpvk_buf_read(ctx, t->buf, dst, bytes);
}
