/* kernel.c — compute pipelines from embedded SPIR-V, with push and specialization constants. */
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

#define SPIRV_MAGIC 0x07230203u

void lp_kernel_free(lp_kernel *k)
{
	if (!k)
		return;
	VkDevice d = k->dev->device;
	if (k->pipeline)
		vkDestroyPipeline(d, k->pipeline, NULL);
	if (k->layout)
		vkDestroyPipelineLayout(d, k->layout, NULL);
	if (k->set_layout)
		vkDestroyDescriptorSetLayout(d, k->set_layout, NULL);
	free(k->name);
	free(k);
}

static int check_desc(lp_ctx *ctx, const lpvk_device *dev, const lp_kernel_desc *d)
{
	const char *name = d && d->name ? d->name : "(unnamed)";

	if (!d || d->size < sizeof(*d))
		return lp_error(ctx, LP_ERR_ABI, "vk: kernel %s: descriptor size %u < %zu", name,
				d ? d->size : 0, sizeof(*d));
	if (!d->spirv || d->spirv_bytes < 20 || d->spirv_bytes % 4 || d->spirv[0] != SPIRV_MAGIC)
		return lp_error(ctx, LP_ERR_FORMAT, "vk: kernel %s: not SPIR-V (%zu bytes)", name,
				d->spirv_bytes);
	if (d->n_bindings > LPVK_MAX_BINDINGS)
		return lp_error(ctx, LP_ERR_LIMIT, "vk: kernel %s: %u bindings > %d", name,
				d->n_bindings, LPVK_MAX_BINDINGS);
	if (d->push_size % 4 || d->push_size > dev->info.max_push_constants)
		return lp_error(ctx, LP_ERR_LIMIT, "vk: kernel %s: push constants of %u bytes "
				"(must be a multiple of 4 and <= %u on %s)", name, d->push_size,
				dev->info.max_push_constants, dev->info.name);
	if (d->n_spec > LPVK_MAX_SPEC || (d->n_spec && !d->spec))
		return lp_error(ctx, LP_ERR_ARG, "vk: kernel %s: %u specialization constants", name,
				d->n_spec);
	return LP_OK;
}

static int make_layouts(lp_kernel *k, uint32_t push_size)
{
	VkDescriptorSetLayoutBinding b[LPVK_MAX_BINDINGS];
	VkResult r;

	for (uint32_t i = 0; i < k->n_bindings; i++)
		b[i] = (VkDescriptorSetLayoutBinding){ .binding = i,
			.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1,
			.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT };
	VkDescriptorSetLayoutCreateInfo sl = { .sType =
		VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
		.bindingCount = k->n_bindings, .pBindings = b };
	r = vkCreateDescriptorSetLayout(k->dev->device, &sl, NULL, &k->set_layout);
	if (r != VK_SUCCESS)
		return lpvk_check(k->dev->ctx, r, "vkCreateDescriptorSetLayout");
	VkPushConstantRange pr = { VK_SHADER_STAGE_COMPUTE_BIT, 0, push_size };
	VkPipelineLayoutCreateInfo pl = { .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
		.setLayoutCount = 1, .pSetLayouts = &k->set_layout,
		.pushConstantRangeCount = push_size ? 1 : 0, .pPushConstantRanges = &pr };
	r = vkCreatePipelineLayout(k->dev->device, &pl, NULL, &k->layout);
	return lpvk_check(k->dev->ctx, r, "vkCreatePipelineLayout");
}

static int make_pipeline(lp_kernel *k, const lp_kernel_desc *d)
{
	VkSpecializationMapEntry map[LPVK_MAX_SPEC];
	VkShaderModule mod;
	VkResult r;

	VkShaderModuleCreateInfo mi = { .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
					.codeSize = d->spirv_bytes, .pCode = d->spirv };
	r = vkCreateShaderModule(k->dev->device, &mi, NULL, &mod);
	if (r != VK_SUCCESS)
		return lpvk_check(k->dev->ctx, r, "vkCreateShaderModule");
	for (uint32_t i = 0; i < d->n_spec; i++)
		map[i] = (VkSpecializationMapEntry){ i, i * 4, 4 };
	VkSpecializationInfo si = { d->n_spec, map, d->n_spec * 4u, d->spec };
	VkComputePipelineCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
		.stage = { .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
			   .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = mod, .pName = "main",
			   .pSpecializationInfo = d->n_spec ? &si : NULL },
		.layout = k->layout };
	r = vkCreateComputePipelines(k->dev->device, k->dev->pipeline_cache, 1, &ci, NULL,
				     &k->pipeline);
	vkDestroyShaderModule(k->dev->device, mod, NULL);
	return lpvk_check(k->dev->ctx, r, "vkCreateComputePipelines");
}

int lp_kernel_new(lp_ctx *ctx, const lp_kernel_desc *d, lp_kernel **out)
{
	lpvk_device *dev;
	lp_kernel *k;
	int rc;

	*out = NULL;
	if ((rc = lpvk_get(ctx, &dev)) || (rc = check_desc(ctx, dev, d)))
		return rc;
	if (!(k = calloc(1, sizeof(*k))) || !(k->name = strdup(d->name ? d->name : "kernel"))) {
		free(k);
		return lp_error(ctx, LP_ERR_NOMEM, "vk: out of memory");
	}
	k->dev = dev;
	k->n_bindings = d->n_bindings;
	k->push_size = d->push_size;
	if ((rc = make_layouts(k, d->push_size)) || (rc = make_pipeline(k, d))) {
		lp_kernel_free(k);
		return lp_error_wrap(ctx, rc, "vk: kernel %s", d->name ? d->name : "(unnamed)");
	}
	*out = k;
	return LP_OK;
}
