/*
 * lpvk.h — internals of the Vulkan runtime. Only files in core/src/vk include volk.h.
 */
#ifndef LOUPE_LPVK_H
#define LOUPE_LPVK_H

#include "../core.h"

typedef struct lpvk_device lpvk_device;
typedef struct lpvk_buf lpvk_buf;

/* device.c */
int lpvk_device_open(lp_ctx *ctx, lpvk_device **out);
void lpvk_device_close(lpvk_device *dev);
const lp_device_info *lpvk_device_info(const lpvk_device *dev);

/* Open the context's device, or return the one already open. */
int lpvk_get(lp_ctx *ctx, lpvk_device **out);

/* buffer.c: buffers sub-allocated from a per-device memory pool; `what` is borrowed and names
 * the buffer in messages for its whole life. */
int lpvk_buf_new(lp_ctx *ctx, lpvk_device *dev, uint64_t bytes, const char *what, lpvk_buf **out);
void lpvk_buf_free(lpvk_buf *b);
uint64_t lpvk_buf_size(const lpvk_buf *b);
int lpvk_buf_write(lp_ctx *ctx, lpvk_buf *b, const void *src, uint64_t bytes);
int lpvk_buf_read(lp_ctx *ctx, const lpvk_buf *b, void *dst, uint64_t bytes);

#endif
