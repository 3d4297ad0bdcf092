/* kernel.h — the kernel object, shared by kernel.c (creation) and cmd.c (dispatch). */
#ifndef LOUPE_VK_KERNEL_H
#define LOUPE_VK_KERNEL_H

#include "vk_internal.h"

#define LPVK_MAX_BINDINGS 16
#define LPVK_MAX_SPEC 16

struct lp_kernel {
	lpvk_device *dev;
	char *name;
	uint32_t n_bindings, push_size;
	VkDescriptorSetLayout set_layout;
	VkPipelineLayout layout;
	VkPipeline pipeline;
};

#endif
