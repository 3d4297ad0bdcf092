/* cmd.c — record many dispatches into one command buffer, submit once, read timestamps.
 *
 * Barriers: a global compute->compute memory barrier before every dispatch but the first (each
 * dispatch may read what the previous one wrote), and a compute->host barrier at the end so
 * lp_tensor_read sees the results. Descriptor sets come from pools owned by the command and
 * freed with it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

#define SETS_PER_POOL 128
#define MAX_TIMED 4096

struct lp_cmd {
	lpvk_device *dev;
	VkCommandBuffer cb;
	VkDescriptorPool *pools;
	size_t npools;
	uint32_t sets_left;
	uint32_t ndispatch;
	VkQueryPool queries;
	const char *label; /* borrowed: set by lp_cmd_set_label, must outlive the submit */
	struct timed {
		const char *label;
		const char *kernel;
		uint32_t groups[3];
	} *timed;
	uint32_t ntimed;
};

int lpvk_oneshot_begin(lpvk_device *dev, VkCommandBuffer *cb)
{
	VkCommandBufferAllocateInfo ai = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
		.commandPool = dev->cmd_pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
		.commandBufferCount = 1 };
	VkCommandBufferBeginInfo bi = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
		.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT };
	int rc = lpvk_check(dev->ctx, vkAllocateCommandBuffers(dev->device, &ai, cb),
			    "vkAllocateCommandBuffers");

	if (rc)
		return rc;
	if ((rc = lpvk_check(dev->ctx, vkBeginCommandBuffer(*cb, &bi), "vkBeginCommandBuffer")))
		vkFreeCommandBuffers(dev->device, dev->cmd_pool, 1, cb);
	return rc;
}

int lpvk_oneshot_end(lpvk_device *dev, VkCommandBuffer cb)
{
	VkFence fence = VK_NULL_HANDLE;
	VkFenceCreateInfo fi = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
	VkSubmitInfo si = { .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1,
			    .pCommandBuffers = &cb };
	lp_ctx *ctx = dev->ctx;
	int rc;

	(void)((rc = lpvk_check(ctx, vkEndCommandBuffer(cb), "vkEndCommandBuffer")) ||
	       (rc = lpvk_check(ctx, vkCreateFence(dev->device, &fi, NULL, &fence),
				"vkCreateFence")) ||
	       (rc = lpvk_check(ctx, vkQueueSubmit(dev->queue, 1, &si, fence), "vkQueueSubmit")) ||
	       (rc = lpvk_check(ctx, vkWaitForFences(dev->device, 1, &fence, VK_TRUE, UINT64_MAX),
				"vkWaitForFences")));
	if (fence)
		vkDestroyFence(dev->device, fence, NULL);
	vkFreeCommandBuffers(dev->device, dev->cmd_pool, 1, &cb);
	return rc;
}

void lp_cmd_free(lp_cmd *cmd)
{
	if (!cmd)
		return;
	VkDevice d = cmd->dev->device;
	if (cmd->cb)
		vkFreeCommandBuffers(d, cmd->dev->cmd_pool, 1, &cmd->cb);
	for (size_t i = 0; i < cmd->npools; i++)
		vkDestroyDescriptorPool(d, cmd->pools[i], NULL);
	if (cmd->queries)
		vkDestroyQueryPool(d, cmd->queries, NULL);
	free(cmd->pools);
	free(cmd->timed);
	free(cmd);
}

static int start_profile(lp_cmd *cmd)
{
	lpvk_device *dev = cmd->dev;
	VkQueryPoolCreateInfo qi = { .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
				     .queryType = VK_QUERY_TYPE_TIMESTAMP, .queryCount = 2 * MAX_TIMED };
	int rc;

	if (!dev->info.timestamps) {
		lp_log(dev->ctx, LP_LOG_WARN, "profile: %s has no compute timestamps",
		       dev->info.name);
		return LP_OK;
	}
	if ((rc = lpvk_check(dev->ctx, vkCreateQueryPool(dev->device, &qi, NULL, &cmd->queries),
			     "vkCreateQueryPool")))
		return rc;
	if (!(cmd->timed = calloc(MAX_TIMED, sizeof(*cmd->timed))))
		return lp_error(dev->ctx, LP_ERR_NOMEM, "profile: out of memory");
	vkCmdResetQueryPool(cmd->cb, cmd->queries, 0, 2 * MAX_TIMED);
	return LP_OK;
}

int lp_cmd_begin(lp_ctx *ctx, lp_cmd **out)
{
	lpvk_device *dev;
	lp_cmd *cmd;
	int rc;

	*out = NULL;
	if ((rc = lpvk_get(ctx, &dev)))
		return rc;
	if (!(cmd = calloc(1, sizeof(*cmd))))
		return lp_error(ctx, LP_ERR_NOMEM, "vk: out of memory");
	cmd->dev = dev;
	if ((rc = lpvk_oneshot_begin(dev, &cmd->cb))) {
		free(cmd);
		return rc;
	}
	if (ctx->profile && (rc = start_profile(cmd))) {
		lp_cmd_free(cmd);
		return rc;
	}
	*out = cmd;
	return LP_OK;
}

static int alloc_set(lp_cmd *cmd, lp_kernel *k, VkDescriptorSet *set)
{
	lpvk_device *dev = cmd->dev;

	if (!cmd->sets_left) {
		VkDescriptorPoolSize ps = { VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
					    SETS_PER_POOL * LPVK_MAX_BINDINGS };
		VkDescriptorPoolCreateInfo pi = { .sType =
			VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = SETS_PER_POOL,
			.poolSizeCount = 1, .pPoolSizes = &ps };
		VkDescriptorPool *p = realloc(cmd->pools, (cmd->npools + 1) * sizeof(*p));
		if (!p)
			return lp_error(dev->ctx, LP_ERR_NOMEM, "vk: out of memory");
		cmd->pools = p;
		int rc = lpvk_check(dev->ctx, vkCreateDescriptorPool(dev->device, &pi, NULL,
				    &cmd->pools[cmd->npools]), "vkCreateDescriptorPool");
		if (rc)
			return rc;
		cmd->npools++;
		cmd->sets_left = SETS_PER_POOL;
	}
	VkDescriptorSetAllocateInfo ai = { .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
		.descriptorPool = cmd->pools[cmd->npools - 1], .descriptorSetCount = 1,
		.pSetLayouts = &k->set_layout };
	cmd->sets_left--;
	return lpvk_check(dev->ctx, vkAllocateDescriptorSets(dev->device, &ai, set),
			  "vkAllocateDescriptorSets");
}

/* Check one binding against the tensor and the device's limits; fill the buffer info. */
static int check_binding(lp_cmd *cmd, lp_kernel *k, uint32_t i, const lp_binding *b,
			 VkDescriptorBufferInfo *info)
{
	lp_ctx *ctx = cmd->dev->ctx;
	const lp_device_info *d = &cmd->dev->info;

	if (!b->tensor)
		return lp_error(ctx, LP_ERR_ARG, "vk: %s: binding %u has no tensor", k->name, i);
	struct lpvk_buf *buf = lp_tensor_buf(b->tensor);
	uint64_t size = lpvk_buf_size(buf), off = b->offset;
	uint64_t bytes = b->bytes ? b->bytes : size - (off < size ? off : size);
	const char *tn = lp_tensor_name(b->tensor);

	if (lpvk_buf_device(buf) != cmd->dev)
		return lp_error(ctx, LP_ERR_ARG, "vk: %s: tensor %s belongs to another device",
				k->name, tn);
	if (off > size || bytes > size - off || (bytes == 0 && size != 0))
		return lp_error(ctx, LP_ERR_ARG, "vk: %s: binding %u (%s) range [%llu, +%llu) is "
				"outside the tensor's %llu bytes", k->name, i, tn,
				(unsigned long long)off, (unsigned long long)bytes,
				(unsigned long long)size);
	if (bytes > d->max_storage_buffer_range)
		return lp_error(ctx, LP_ERR_LIMIT, "vk: %s: binding %u (%s) covers %llu bytes, more "
				"than maxStorageBufferRange (%llu) on %s; split it into ranges",
				k->name, i, tn, (unsigned long long)bytes,
				(unsigned long long)d->max_storage_buffer_range, d->name);
	if (d->min_storage_offset_align && off % d->min_storage_offset_align)
		return lp_error(ctx, LP_ERR_ARG, "vk: %s: binding %u (%s) offset %llu is not a "
				"multiple of minStorageBufferOffsetAlignment (%llu)", k->name, i, tn,
				(unsigned long long)off,
				(unsigned long long)d->min_storage_offset_align);
	*info = (VkDescriptorBufferInfo){ lpvk_buf_handle(buf), off, bytes ? bytes : VK_WHOLE_SIZE };
	return LP_OK;
}

static void barrier(VkCommandBuffer cb, VkPipelineStageFlags dst_stage, VkAccessFlags dst)
{
	VkMemoryBarrier mb = { .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
			       .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT, .dstAccessMask = dst };
	vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, dst_stage, 0, 1, &mb, 0,
			     NULL, 0, NULL);
}

int lp_cmd_dispatch(lp_cmd *cmd, lp_kernel *k, const uint32_t groups[3], const void *push,
		    uint32_t push_size, const lp_binding *bindings, uint32_t n_bindings)
{
	lp_ctx *ctx = cmd->dev->ctx;
	const lp_device_info *d = &cmd->dev->info;
	VkDescriptorBufferInfo infos[LPVK_MAX_BINDINGS];
	VkWriteDescriptorSet w[LPVK_MAX_BINDINGS];
	VkDescriptorSet set;
	int rc;

	if (n_bindings != k->n_bindings || push_size != k->push_size)
		return lp_error(ctx, LP_ERR_ARG, "vk: %s: dispatched with %u bindings and %u push "
				"bytes; the kernel declares %u and %u", k->name, n_bindings,
				push_size, k->n_bindings, k->push_size);
	for (int i = 0; i < 3; i++)
		if (groups[i] == 0 || groups[i] > d->max_workgroup_count[i])
			return lp_error(ctx, LP_ERR_LIMIT, "vk: %s: %u workgroups in dimension %d "
					"(allowed 1..%u on %s)", k->name, groups[i], i,
					d->max_workgroup_count[i], d->name);
	for (uint32_t i = 0; i < n_bindings; i++) {
		if ((rc = check_binding(cmd, k, i, &bindings[i], &infos[i])))
			return rc;
		w[i] = (VkWriteDescriptorSet){ .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
			.dstBinding = i, .descriptorCount = 1,
			.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &infos[i] };
	}
	if ((rc = alloc_set(cmd, k, &set)))
		return rc;
	for (uint32_t i = 0; i < n_bindings; i++)
		w[i].dstSet = set;
	vkUpdateDescriptorSets(cmd->dev->device, n_bindings, w, 0, NULL);
	if (cmd->ndispatch)
		barrier(cmd->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
			VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
	vkCmdBindPipeline(cmd->cb, VK_PIPELINE_BIND_POINT_COMPUTE, k->pipeline);
	vkCmdBindDescriptorSets(cmd->cb, VK_PIPELINE_BIND_POINT_COMPUTE, k->layout, 0, 1, &set, 0,
				NULL);
	if (push_size)
		vkCmdPushConstants(cmd->cb, k->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_size,
				   push);
	int timed = cmd->queries && cmd->ntimed < MAX_TIMED;
	if (timed)
		vkCmdWriteTimestamp(cmd->cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, cmd->queries,
				    2 * cmd->ntimed);
	vkCmdDispatch(cmd->cb, groups[0], groups[1], groups[2]);
	if (timed) {
		vkCmdWriteTimestamp(cmd->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, cmd->queries,
				    2 * cmd->ntimed + 1);
		cmd->timed[cmd->ntimed].kernel = k->name;
		cmd->timed[cmd->ntimed].label = cmd->label;
		memcpy(cmd->timed[cmd->ntimed].groups, groups, sizeof(uint32_t[3]));
		cmd->ntimed++;
	}
	cmd->ndispatch++;
	return LP_OK;
}

void lp_cmd_set_label(lp_cmd *cmd, const char *label)
{
	cmd->label = label;
}

static int read_profile(lp_cmd *cmd)
{
	lpvk_device *dev = cmd->dev;
	uint64_t *ts;
	int rc;

	lpi_profile_reset(dev->ctx);
	if (!cmd->ntimed)
		return LP_OK;
	if (!(ts = calloc(2 * cmd->ntimed, sizeof(*ts))))
		return lp_error(dev->ctx, LP_ERR_NOMEM, "profile: out of memory");
	rc = lpvk_check(dev->ctx, vkGetQueryPoolResults(dev->device, cmd->queries, 0,
			2 * cmd->ntimed, 2 * cmd->ntimed * sizeof(*ts), ts, sizeof(*ts),
			VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT), "vkGetQueryPoolResults");
	for (uint32_t i = 0; !rc && i < cmd->ntimed; i++) {
		double ms = (double)(ts[2 * i + 1] - ts[2 * i]) * dev->info.timestamp_period_ns * 1e-6;
		char name[160];
		snprintf(name, sizeof name, "%s%s%s", cmd->timed[i].label ? cmd->timed[i].label : "",
			 cmd->timed[i].label ? "/" : "", cmd->timed[i].kernel);
		rc = lpi_profile_add(dev->ctx, name, ms, cmd->timed[i].groups);
		if (!rc)
			lp_log(dev->ctx, LP_LOG_INFO, "profile: %-32s %10.3f ms  groups %ux%ux%u", name,
			       ms, cmd->timed[i].groups[0], cmd->timed[i].groups[1],
			       cmd->timed[i].groups[2]);
	}
	free(ts);
	return rc;
}

int lp_cmd_submit(lp_cmd *cmd)
{
	int rc;

	if (!cmd)
		return LP_ERR_ARG;
	barrier(cmd->cb, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
	VkCommandBuffer cb = cmd->cb;
	cmd->cb = VK_NULL_HANDLE; /* lpvk_oneshot_end frees it */
	rc = lpvk_oneshot_end(cmd->dev, cb);
	if (!rc && cmd->dev->guard)
		rc = lpvk_guard_check(cmd->dev, cmd->label ? cmd->label : "the last submit");
	if (!rc && cmd->queries)
		rc = read_profile(cmd);
	lp_cmd_free(cmd);
	return rc;
}
