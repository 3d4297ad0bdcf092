/*
 * types.h — the plain types shared by the core API (loupe.h) and the plugin ABI (plugin.h):
 * status codes, dtypes, opaque handles, bindings and kernel descriptors. No functions.
 */
#ifndef LOUPE_TYPES_H
#define LOUPE_TYPES_H

#include <stddef.h>
#include <stdint.h>

#define LOUPE_VERSION "0.1.0"
#define LP_MAX_RANK 8

typedef enum lp_status {
	LP_OK = 0,
	LP_ERR_NOMEM,
	LP_ERR_ARG,
	LP_ERR_IO,
	LP_ERR_FORMAT,
	LP_ERR_SHAPE,
	LP_ERR_VULKAN,
	LP_ERR_HDF5,
	LP_ERR_PLUGIN,
	LP_ERR_ABI,
	LP_ERR_NOTFOUND,
	LP_ERR_LIMIT,
} lp_status;

typedef enum lp_dtype {
	LP_F32 = 1,
	LP_I32 = 2,
	LP_I64 = 3,
	LP_U8 = 4,
} lp_dtype;

typedef enum lp_log_level { LP_LOG_DEBUG, LP_LOG_INFO, LP_LOG_WARN } lp_log_level;

typedef struct lp_ctx lp_ctx;
typedef struct lp_tensor lp_tensor;
typedef struct lp_cmd lp_cmd;
typedef struct lp_kernel lp_kernel;
typedef struct lp_archive lp_archive;
typedef struct lp_params lp_params;
typedef struct lp_dataset lp_dataset;

/* A binding of a tensor range to a kernel slot; bytes = 0 means "to the end". */
typedef struct lp_binding {
	const lp_tensor *tensor;
	uint64_t offset;
	uint64_t bytes;
} lp_binding;

/* Kernel from embedded SPIR-V. Bindings 0..n_bindings-1 are storage buffers in set 0;
 * push constants are one range of push_size bytes; spec[i] is specialization constant id i. */
typedef struct lp_kernel_desc {
	uint32_t size;          /* sizeof(lp_kernel_desc) */
	const char *name;       /* "relu.forward": used in messages and profiles */
	const uint32_t *spirv;
	size_t spirv_bytes;
	uint32_t n_bindings;
	uint32_t push_size;
	uint32_t n_spec;
	const uint32_t *spec;
} lp_kernel_desc;

#endif
