/* host.c — the lp_host table handed to every plugin: the core's functions, nothing else. */
#include <stdio.h>

#include <stdlib.h>

#include "data.h"
#include "loupe/archive.h"
#include "loupe/idx.h"
#include "vk/lpvk.h"

double lpi_param_number(const lp_params *p, const char *name);
int64_t lpi_param_int(const lp_params *p, const char *name);
int lpi_param_bool(const lp_params *p, const char *name);
const char *lpi_param_string(const lp_params *p, const char *name);

static void host_log(lp_ctx *ctx, int level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	lp_log(ctx, level, "%s", msg);
}

static uint64_t max_binding_bytes(lp_ctx *ctx)
{
	lp_device_info d;
	return lp_device_get_info(ctx, &d) == LP_OK ? d.max_storage_buffer_range : 0;
}

static uint64_t binding_align(lp_ctx *ctx)
{
	lp_device_info d;
	return lp_device_get_info(ctx, &d) == LP_OK && d.min_storage_offset_align
		       ? d.min_storage_offset_align : 256;
}

static int host_idx_read(lp_ctx *ctx, const char *path, uint64_t max_bytes, int *rank,
			 int64_t *dims, uint8_t **data, size_t *bytes)
{
	lp_idx idx = { 0 };
	int rc = lp_idx_read(ctx, path, max_bytes, &idx);

	*data = NULL;
	if (rc)
		return rc;
	*rank = idx.rank;
	for (int i = 0; i < 4; i++)
		dims[i] = i < idx.rank ? idx.dims[i] : 0;
	*data = idx.data;
	*bytes = idx.bytes;
	return LP_OK;
}

static void host_free(void *p)
{
	free(p);
}

static const char *host_errmsg(lp_ctx *ctx)
{
	return lp_ctx_errmsg(ctx);
}

static const lp_host host = {
	.abi_version = LP_ABI_VERSION,
	.size = sizeof(lp_host),
	.error = lp_error,
	.log = host_log,
	.param_number = lpi_param_number,
	.param_int = lpi_param_int,
	.param_bool = lpi_param_bool,
	.param_string = lpi_param_string,
	.tensor_new = lp_tensor_new,
	.tensor_free = lp_tensor_free,
	.tensor_rank = lp_tensor_rank,
	.tensor_dims = lp_tensor_dims,
	.tensor_dtype = lp_tensor_dtype,
	.tensor_numel = lp_tensor_numel,
	.tensor_name = lp_tensor_name,
	.tensor_write = lp_tensor_write,
	.tensor_read = lp_tensor_read,
	.kernel_new = lp_kernel_new,
	.kernel_free = lp_kernel_free,
	.dispatch = lp_cmd_dispatch,
	.max_binding_bytes = max_binding_bytes,
	.binding_align = binding_align,
	.archive_write = lp_archive_write,
	.archive_write_strings = lp_archive_write_strings,
	.archive_attr_string = lp_archive_attr_string,
	.archive_attr_number = lp_archive_attr_number,
	.archive_attr_int = lp_archive_attr_int,
	.rng_next = lp_rng_next,
	.dataset_class = lpi_dataset_class,
	.dataset_item = lpi_dataset_item,
	.dataset_bad = lpi_dataset_host_bad,
	.idx_read = host_idx_read,
	.free = host_free,
	.archive_exists = lp_archive_exists,
	.archive_info = lp_archive_info,
	.archive_read = lp_archive_read,
	.archive_read_rows = lp_archive_read_rows,
	.archive_read_strings = lp_archive_read_strings,
	.archive_attr_get = lp_archive_attr_get,
	.archive_list = lp_archive_list,
	.analysis_images = lpi_analysis_images,
	.errmsg = host_errmsg,
};

const lp_host *lpi_host(void)
{
	return &host;
}
