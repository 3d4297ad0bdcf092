/*
 * plugin_util.h — small static helpers that layer plugins share (header-only, so plugins still
 * link nothing of the core). Include after plugin.h; the functions take the host table.
 *
 *   uint64_t per[2] = { c * h * w, c * h * w }, chunk;
 *   if ((rc = lpu_batch_chunk(host, ctx, "lrn", "image", n, 2, per, &chunk))) return rc;
 *   for (first = 0; first < n; first += chunk) {
 *       lpu_bind_range(host, ctx, x, per[0], first, count, &b[0], &pc.base[0]); ...
 *   }
 *
 * Splitting work over the batch: a binding covers at most host->max_binding_bytes (128 MiB on
 * lavapipe) and starts at a multiple of host->binding_align. A range of whole items is bound
 * from the aligned offset at or below its first item, and the kernel skips `base` elements.
 */
#ifndef LOUPE_PLUGIN_UTIL_H
#define LOUPE_PLUGIN_UTIL_H

#include <stdio.h>

#include "loupe/plugin.h"

/* "[2, 3, 5]" into buf; returns buf. */
static inline const char *lpu_dims_str(char *buf, size_t size, int rank, const int64_t *d)
{
	size_t at = 0;

	buf[0] = 0;
	for (int i = 0; i < rank && at < size; i++)
		at += (size_t)snprintf(buf + at, size - at, "%s%lld", i ? ", " : "[",
				       (long long)d[i]);
	if (at < size)
		snprintf(buf + at, size - at, "]");
	return buf;
}

/* Items per dispatch such that each of the nt tensors' ranges of whole items (per[i] floats
 * each), bound from the aligned offset at or below the first item, fits one binding. An item
 * that does not fit alone is LP_ERR_LIMIT naming the layer and the `unit` ("image", "row"). */
static inline int lpu_batch_chunk(const lp_host *host, lp_ctx *ctx, const char *layer,
				  const char *unit, uint64_t items, uint32_t nt,
				  const uint64_t *per, uint64_t *out)
{
	uint64_t max = host->max_binding_bytes(ctx), align = host->binding_align(ctx);

	if (max > (1ull << 31)) /* element indices stay well inside uint32 */
		max = 1ull << 31;
	*out = items;
	for (uint32_t i = 0; i < nt; i++) {
		uint64_t bytes = per[i] * sizeof(float);
		if (bytes * items <= max)
			continue;
		uint64_t fit = max > align ? (max - align) / bytes : 0;
		if (fit == 0)
			return host->error(ctx, LP_ERR_LIMIT, "%s: one %s of %llu bytes does not fit "
					   "one storage binding (%llu bytes)", layer, unit,
					   (unsigned long long)bytes, (unsigned long long)max);
		if (fit < *out)
			*out = fit;
	}
	return LP_OK;
}

/* Bind items [first, first + count) of t (per floats each) from an aligned offset; *base is
 * the element offset of item `first` inside the binding. */
static inline void lpu_bind_range(const lp_host *host, lp_ctx *ctx, const lp_tensor *t,
				  uint64_t per, uint64_t first, uint64_t count, lp_binding *b,
				  uint32_t *base)
{
	uint64_t align = host->binding_align(ctx);
	uint64_t start = first * per * sizeof(float), off = align ? start / align * align : start;

	*b = (lp_binding){ t, off, start + count * per * sizeof(float) - off };
	*base = (uint32_t)((start - off) / sizeof(float));
}

/* t must exist, have `dtype` and exactly `dims`; errors name the layer, `what` and the shapes. */
static inline int lpu_check_tensor(const lp_host *host, lp_ctx *ctx, const char *layer,
				   const lp_tensor *t, int dtype, int rank, const int64_t *dims,
				   const char *what)
{
	char have[160], want[160];

	if (!t)
		return host->error(ctx, LP_ERR_ARG, "%s: missing tensor %s", layer, what);
	if (host->tensor_dtype(t) != dtype)
		return host->error(ctx, LP_ERR_ARG, "%s: %s (%s) must be %s", layer, what,
				   host->tensor_name(t), dtype == LP_I32 ? "int32" : "float32");
	const int64_t *d = host->tensor_dims(t);
	int same = host->tensor_rank(t) == rank;
	for (int i = 0; same && i < rank; i++)
		same = d[i] == dims[i];
	if (!same)
		return host->error(ctx, LP_ERR_SHAPE, "%s: %s (%s) is %s, expected %s", layer, what,
				   host->tensor_name(t),
				   lpu_dims_str(have, sizeof have, host->tensor_rank(t), d),
				   lpu_dims_str(want, sizeof want, rank, dims));
	return LP_OK;
}

/* Dispatch k over `items` in binding-sized ranges of whole items: per[i] is tensor i's floats
 * per item (at most 4 tensors), `work` the invocations per item, `workgroup` the kernel's
 * workgroup size. Before each dispatch the push constants' item count (*push_n) and element
 * offsets (push_base[i]) are set for the range. */
static inline int lpu_run_batched(const lp_host *host, lp_ctx *ctx, lp_cmd *cmd, lp_kernel *k,
				  const char *layer, const char *unit, void *push,
				  uint32_t push_size, uint32_t *push_n, uint32_t *push_base,
				  const lp_tensor *const *t, const uint64_t *per, uint32_t nt,
				  uint64_t items, uint64_t work, uint32_t workgroup)
{
	lp_binding b[4];
	uint64_t chunk;
	int rc = nt > 4 ? host->error(ctx, LP_ERR_ARG, "%s: %u tensors (at most 4)", layer, nt)
			: lpu_batch_chunk(host, ctx, layer, unit, items, nt, per, &chunk);

	for (uint64_t first = 0; !rc && first < items; first += chunk) {
		uint64_t count = items - first < chunk ? items - first : chunk;
		uint64_t groups = (count * work + workgroup - 1) / workgroup;
		uint32_t g[3] = { groups < 65535u ? (uint32_t)groups : 65535u, 1, 1 };
		for (uint32_t i = 0; i < nt; i++)
			lpu_bind_range(host, ctx, t[i], per[i], first, count, &b[i], &push_base[i]);
		*push_n = (uint32_t)count;
		rc = host->dispatch(cmd, k, g, push, push_size, b, nt);
	}
	return rc;
}

#endif
