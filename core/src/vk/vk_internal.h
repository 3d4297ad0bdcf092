/*
 * vk_internal.h — Vulkan-typed internals shared by device.c, buffer.c, kernel.c and cmd.c.
 */
#ifndef LOUPE_VK_INTERNAL_H
#define LOUPE_VK_INTERNAL_H

#include <volk.h>

#include "lpvk.h"

struct lpvk_block;

struct lpvk_device {
	lp_ctx *ctx;
	VkInstance instance;
	VkDebugUtilsMessengerEXT messenger;
	VkPhysicalDevice phys;
	VkDevice device;
	VkQueue queue;
	uint32_t queue_family;
	VkCommandPool cmd_pool;
	VkPipelineCache pipeline_cache;
	char cache_path[1024];
	uint32_t mem_type;      /* memory type index for tensors */
	int mem_mappable;       /* that type is HOST_VISIBLE | HOST_COHERENT */
	int force_staging;      /* LOUPE_FORCE_STAGING=1: use staging copies even when mappable */
	uint32_t staging_type;  /* HOST_VISIBLE | HOST_COHERENT type for staging */
	lp_device_info info;
	struct lpvk_block *blocks;
	int guard;              /* LOUPE_GUARD=1: guard zones around every buffer */
	struct lpvk_buf *guarded;
};

const char *lpvk_result_name(VkResult r);
int lpvk_check(lp_ctx *ctx, VkResult r, const char *what);
/* One-shot command buffer: begin, caller records, end + submit + wait + free. */
int lpvk_oneshot_begin(lpvk_device *dev, VkCommandBuffer *cb);
int lpvk_oneshot_end(lpvk_device *dev, VkCommandBuffer cb);
VkBuffer lpvk_buf_handle(const lpvk_buf *b);
lpvk_device *lpvk_buf_device(const lpvk_buf *b);
/* buffer.c: after a submit, any guard zone overwritten is an error naming the tensor. */
int lpvk_guard_check(lpvk_device *dev, const char *after);
/* buffer.c: free every pool block (device close). */
void lpvk_pool_release(lpvk_device *dev);

#endif
