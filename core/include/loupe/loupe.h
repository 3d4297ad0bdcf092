/*
 * loupe.h — the core's public C API: context, status codes, tensors, commands.
 *
 *   lp_ctx *ctx;
 *   if (lp_ctx_new(&ctx) != LP_OK) ...;           // no device yet: it opens lazily
 *   lp_tensor *x;
 *   int64_t dims[2] = { 4, 8 };
 *   if (lp_tensor_new(ctx, LP_F32, 2, dims, &x)) fprintf(stderr, "%s\n", lp_ctx_errmsg(ctx));
 *   lp_tensor_write(ctx, x, host, sizeof host);
 *   lp_tensor_free(x);
 *   lp_ctx_free(ctx);
 *
 * Errors: every fallible function returns an lp_status (LP_OK = 0) and leaves a message in the
 * context (lp_ctx_errmsg) that starts with the subsystem and names the file, key or layer at
 * fault. Nothing here prints, exits or aborts. Ownership: whoever calls _new/_open frees with
 * _free/_close; _free(NULL) is a no-op.
 */
#ifndef LOUPE_H
#define LOUPE_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "loupe/types.h"

typedef void (*lp_log_fn)(void *user, int level, const char *msg);

/* Context: error buffer, log sink, RNG, plugin registry and (lazily) the Vulkan device. */
int lp_ctx_new(lp_ctx **out);
void lp_ctx_free(lp_ctx *ctx);
const char *lp_ctx_errmsg(const lp_ctx *ctx);
/* Record an error (printf-style) and return `code`; used as `return lp_error(ctx, ...)`. */
int lp_error(lp_ctx *ctx, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int lp_verror(lp_ctx *ctx, int code, const char *fmt, va_list ap);
/* Prefix the current message with "prefix: " (adds context while an error travels up). */
int lp_error_wrap(lp_ctx *ctx, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void lp_ctx_set_log(lp_ctx *ctx, lp_log_fn fn, void *user);
void lp_log(lp_ctx *ctx, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *lp_status_name(int code);

/* Seeded RNG (splitmix64 streams); seed 0 is a valid seed. */
void lp_ctx_seed(lp_ctx *ctx, uint64_t seed);
uint64_t lp_ctx_get_seed(const lp_ctx *ctx);
uint64_t lp_rng_next(lp_ctx *ctx);
double lp_rng_uniform(lp_ctx *ctx);  /* [0, 1) */
double lp_rng_normal(lp_ctx *ctx);   /* N(0, 1) */
/* The RNG's whole state as text (seed, position, the spare normal), for checkpoints. */
#define LP_RNG_STATE_LEN 96
void lp_rng_state(const lp_ctx *ctx, char out[LP_RNG_STATE_LEN]);
int lp_rng_set_state(lp_ctx *ctx, const char *state);

/* Device: opened on first use (LOUPE_DEVICE picks; LOUPE_VALIDATION=1 enables Khronos layer). */
typedef struct lp_device_info {
	char name[256];
	char driver[256];     /* driver name + info, e.g. "llvmpipe: Mesa 22.3.6 (LLVM 15.0.6)" */
	char type[16];        /* "discrete", "integrated", "virtual", "cpu", "other" */
	uint32_t index;
	uint32_t api_version; /* VK_MAKE_API_VERSION */
	uint32_t vendor_id, device_id;
	uint64_t max_storage_buffer_range;
	uint64_t max_buffer_size;       /* 0 if the device does not say */
	uint64_t max_alloc_size;
	uint64_t device_local_bytes;
	uint32_t max_push_constants;
	uint32_t max_workgroup_invocations;
	uint32_t max_workgroup_size[3];
	uint32_t max_workgroup_count[3];
	uint32_t max_shared_memory;
	uint32_t subgroup_size;
	uint64_t min_storage_offset_align;
	int timestamps;                 /* compute queue supports timestamps */
	float timestamp_period_ns;
} lp_device_info;

int lp_device_open(lp_ctx *ctx);  /* idempotent */
int lp_device_get_info(lp_ctx *ctx, lp_device_info *out);
/* Enumerate devices without opening one: calls fn for each; returns status. */
int lp_device_list(lp_ctx *ctx, void (*fn)(void *user, const lp_device_info *d), void *user);
/* Close the device now (saving the pipeline cache); tensors and kernels must be freed first.
 * The validation count survives, so callers can close and then ask. */
void lp_device_close(lp_ctx *ctx);
/* Messages the validation layer reported in this context so far (0 when it is off). */
uint64_t lp_device_validation_count(const lp_ctx *ctx);

/* Tensors: device memory with a shape, a dtype and a name used in messages. */
int lp_tensor_new(lp_ctx *ctx, int dtype, int rank, const int64_t *dims, lp_tensor **out);
void lp_tensor_free(lp_tensor *t);
int lp_tensor_rank(const lp_tensor *t);
const int64_t *lp_tensor_dims(const lp_tensor *t);
int lp_tensor_dtype(const lp_tensor *t);
int64_t lp_tensor_numel(const lp_tensor *t);
uint64_t lp_tensor_bytes(const lp_tensor *t);
void lp_tensor_set_name(lp_tensor *t, const char *name);
const char *lp_tensor_name(const lp_tensor *t);
/* Copy host <-> device; `bytes` must equal lp_tensor_bytes. */
int lp_tensor_write(lp_ctx *ctx, lp_tensor *t, const void *src, size_t bytes);
int lp_tensor_read(lp_ctx *ctx, const lp_tensor *t, void *dst, size_t bytes);
size_t lp_dtype_size(int dtype);
const char *lp_dtype_name(int dtype);

int lp_kernel_new(lp_ctx *ctx, const lp_kernel_desc *desc, lp_kernel **out);
void lp_kernel_free(lp_kernel *k);

/* Command recording: many dispatches, barriers between them, one submit. */
int lp_cmd_begin(lp_ctx *ctx, lp_cmd **out);
int lp_cmd_dispatch(lp_cmd *cmd, lp_kernel *k, const uint32_t groups[3], const void *push,
		    uint32_t push_size, const lp_binding *bindings, uint32_t n_bindings);
/* Name what the next dispatches belong to ("conv1"); profile entries read "conv1/<kernel>".
 * The string is borrowed and must outlive the submit; NULL clears it. */
void lp_cmd_set_label(lp_cmd *cmd, const char *label);
/* Submit, wait, and free the command (also on error). */
int lp_cmd_submit(lp_cmd *cmd);
void lp_cmd_free(lp_cmd *cmd);

/* Per-dispatch timings of the last submit when LOUPE_PROFILE=1 (or lp_ctx_set_profile). */
typedef struct lp_profile_entry {
	const char *kernel; /* "<label>/<kernel name>" or the kernel name */
	double ms;
	uint32_t groups[3];
} lp_profile_entry;
void lp_ctx_set_profile(lp_ctx *ctx, int on);
size_t lp_profile_get(const lp_ctx *ctx, const lp_profile_entry **out);

#ifdef __cplusplus
}
#endif
#endif
