/* buffer.c — device buffers sub-allocated from a pool of large memory blocks.
 *
 * Each block is one VkDeviceMemory (at least POOL_BLOCK bytes, at most the device's
 * maxMemoryAllocationSize) with a first-fit free list that coalesces on free. A buffer is one
 * VkBuffer bound at an offset in a block. Blocks live until the device closes, so a net that
 * frees and re-creates its tensors every step does not go back to the driver. */
#include <stdlib.h>
#include <string.h>

#include "vk_internal.h"

#define POOL_BLOCK (64ull << 20)

typedef struct range {
	uint64_t off, size;
} range;

typedef struct lpvk_block {
	struct lpvk_block *next;
	VkDeviceMemory memory;
	uint64_t size;
	void *mapped;
	range *free;
	size_t nfree, capfree;
} lpvk_block;

struct lpvk_buf {
	lpvk_device *dev;
	lpvk_block *block;
	VkBuffer buffer;
	uint64_t size, off, span;  /* span: bytes of the buffer (aligned) */
	uint64_t take_off, taken;  /* the range taken from the block (span + guards) */
	const char *name;          /* borrowed, for messages: the tensor's name */
	struct lpvk_buf *prev, *next; /* guarded buffers, checked after each submit */
};

#define GUARD_BYTE 0xa5

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return a ? (x + a - 1) / a * a : x;
}

static int block_take(lpvk_block *b, uint64_t size, uint64_t align, uint64_t *off)
{
	for (size_t i = 0; i < b->nfree; i++) {
		uint64_t start = align_up(b->free[i].off, align);
		uint64_t end = b->free[i].off + b->free[i].size;
		if (start + size > end)
			continue;
		/* keep the head (alignment gap) and the tail as free ranges */
		range head = { b->free[i].off, start - b->free[i].off };
		range tail = { start + size, end - start - size };
		if (head.size && tail.size) {
			if (b->nfree == b->capfree) {
				size_t cap = b->capfree ? 2 * b->capfree : 8;
				range *r = realloc(b->free, cap * sizeof(*r));
				if (!r)
					return 0;
				b->free = r;
				b->capfree = cap;
			}
			memmove(b->free + i + 2, b->free + i + 1, (b->nfree - i - 1) * sizeof(range));
			b->free[i] = head;
			b->free[i + 1] = tail;
			b->nfree++;
		} else if (head.size || tail.size) {
			b->free[i] = head.size ? head : tail;
		} else {
			memmove(b->free + i, b->free + i + 1, (b->nfree - i - 1) * sizeof(range));
			b->nfree--;
		}
		*off = start;
		return 1;
	}
	return 0;
}

static int block_give(lpvk_block *b, uint64_t off, uint64_t size)
{
	size_t i = 0;

	while (i < b->nfree && b->free[i].off < off)
		i++;
	if (i > 0 && b->free[i - 1].off + b->free[i - 1].size == off) {
		b->free[i - 1].size += size;
		if (i < b->nfree && off + size == b->free[i].off) {
			b->free[i - 1].size += b->free[i].size;
			memmove(b->free + i, b->free + i + 1, (b->nfree - i - 1) * sizeof(range));
			b->nfree--;
		}
		return 1;
	}
	if (i < b->nfree && off + size == b->free[i].off) {
		b->free[i].off = off;
		b->free[i].size += size;
		return 1;
	}
	if (b->nfree == b->capfree) {
		size_t cap = b->capfree ? 2 * b->capfree : 8;
		range *r = realloc(b->free, cap * sizeof(*r));
		if (!r)
			return 0;
		b->free = r;
		b->capfree = cap;
	}
	memmove(b->free + i + 1, b->free + i, (b->nfree - i) * sizeof(range));
	b->free[i] = (range){ off, size };
	b->nfree++;
	return 1;
}

static int block_new(lpvk_device *dev, uint64_t need, lpvk_block **out)
{
	lp_ctx *ctx = dev->ctx;
	uint64_t size = need > POOL_BLOCK ? need : POOL_BLOCK;
	lpvk_block *b;
	VkResult r;

	if (dev->info.max_alloc_size && size > dev->info.max_alloc_size)
		size = dev->info.max_alloc_size;
	if (size < need)
		return lp_error(ctx, LP_ERR_LIMIT, "vk: %llu bytes exceed the device's "
				"maxMemoryAllocationSize (%llu) on %s", (unsigned long long)need,
				(unsigned long long)dev->info.max_alloc_size, dev->info.name);
	if (!(b = calloc(1, sizeof(*b))))
		return lp_error(ctx, LP_ERR_NOMEM, "vk: out of memory");
	VkMemoryAllocateInfo ai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
				    .allocationSize = size, .memoryTypeIndex = dev->mem_type };
	r = vkAllocateMemory(dev->device, &ai, NULL, &b->memory);
	if (r != VK_SUCCESS && size > need) { /* the big block did not fit: try the exact size */
		ai.allocationSize = size = need;
		r = vkAllocateMemory(dev->device, &ai, NULL, &b->memory);
	}
	if (r != VK_SUCCESS) {
		free(b);
		lpvk_check(ctx, r, "vkAllocateMemory");
		return lp_error_wrap(ctx, ctx->err_code, "vk: allocating %llu bytes on %s",
				     (unsigned long long)size, dev->info.name);
	}
	if (dev->mem_mappable) {
		r = vkMapMemory(dev->device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->mapped);
		if (r != VK_SUCCESS) {
			vkFreeMemory(dev->device, b->memory, NULL);
			free(b);
			return lpvk_check(ctx, r, "vkMapMemory");
		}
	}
	b->size = size;
	if (!block_give(b, 0, size)) {
		vkFreeMemory(dev->device, b->memory, NULL);
		free(b);
		return lp_error(ctx, LP_ERR_NOMEM, "vk: out of memory");
	}
	b->next = dev->blocks;
	dev->blocks = b;
	*out = b;
	return LP_OK;
}

void lpvk_pool_release(lpvk_device *dev)
{
	lpvk_block *b = dev->blocks, *next;

	for (; b; b = next) {
		next = b->next;
		vkFreeMemory(dev->device, b->memory, NULL);
		free(b->free);
		free(b);
	}
	dev->blocks = NULL;
}

int lpvk_buf_new(lp_ctx *ctx, lpvk_device *dev, uint64_t bytes, const char *what, lpvk_buf **out)
{
	lpvk_buf *b = calloc(1, sizeof(*b));
	VkMemoryRequirements req;
	lpvk_block *blk;
	uint64_t off = 0;
	int rc;

	*out = NULL;
	if (!b)
		return lp_error(ctx, LP_ERR_NOMEM, "vk: out of memory");
	b->dev = dev;
	b->size = bytes;
	VkBufferCreateInfo bi = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
				  .size = bytes ? bytes : 4,
				  .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
					   VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
					   VK_BUFFER_USAGE_TRANSFER_DST_BIT,
				  .sharingMode = VK_SHARING_MODE_EXCLUSIVE };
	VkResult r = vkCreateBuffer(dev->device, &bi, NULL, &b->buffer);
	if (r != VK_SUCCESS) {
		free(b);
		lpvk_check(ctx, r, "vkCreateBuffer");
		return lp_error_wrap(ctx, ctx->err_code, "vk: %s (%llu bytes)", what,
				     (unsigned long long)bytes);
	}
	vkGetBufferMemoryRequirements(dev->device, b->buffer, &req);
	if (!(req.memoryTypeBits & (1u << dev->mem_type))) {
		rc = lp_error(ctx, LP_ERR_VULKAN, "vk: %s: buffer cannot live in memory type %u",
			      what, dev->mem_type);
		goto out_destroy;
	}
	b->span = align_up(req.size, req.alignment);
	/* LOUPE_GUARD=1: a guard zone on each side, filled with a pattern and checked after every
	 * submit, catches a kernel that writes outside its tensor */
	uint64_t guard = dev->guard ? align_up(4096, req.alignment) : 0;
	b->taken = b->span + 2 * guard;
	for (blk = dev->blocks; blk; blk = blk->next)
		if (block_take(blk, b->taken, req.alignment, &off))
			break;
	if (!blk) {
		if ((rc = block_new(dev, b->taken, &blk)))
			goto out_destroy;
		if (!block_take(blk, b->taken, req.alignment, &off)) {
			rc = lp_error(ctx, LP_ERR_NOMEM, "vk: pool block too small for %s", what);
			goto out_destroy;
		}
	}
	r = vkBindBufferMemory(dev->device, b->buffer, blk->memory, off + guard);
	if (r != VK_SUCCESS) {
		block_give(blk, off, b->taken);
		rc = lpvk_check(ctx, r, "vkBindBufferMemory");
		goto out_destroy;
	}
	b->block = blk;
	b->take_off = off;
	b->off = off + guard;
	b->name = what;
	if (guard && blk->mapped) {
		for (lpvk_buf *o = dev->guarded; o; o = o->next) /* the pool must never overlap */
			if (o->block == blk && o->take_off < off + b->taken && off < o->take_off + o->taken) {
				rc = lp_error(ctx, LP_ERR_VULKAN, "vk: pool: %s overlaps %s", what, o->name);
				block_give(blk, off, b->taken);
				goto out_destroy;
			}
		char *m = blk->mapped;
		memset(m + off, GUARD_BYTE, guard);
		memset(m + b->off + bytes, GUARD_BYTE, b->taken - guard - bytes);
		b->next = dev->guarded;
		if (b->next)
			b->next->prev = b;
		dev->guarded = b;
	}
	*out = b;
	return LP_OK;
out_destroy:
	vkDestroyBuffer(dev->device, b->buffer, NULL);
	free(b);
	return rc;
}

void lpvk_buf_free(lpvk_buf *b)
{
	if (!b)
		return;
	vkDestroyBuffer(b->dev->device, b->buffer, NULL);
	if (b->block)
		block_give(b->block, b->take_off, b->taken);
	if (b->prev)
		b->prev->next = b->next;
	else if (b->dev->guarded == b)
		b->dev->guarded = b->next;
	if (b->next)
		b->next->prev = b->prev;
	free(b);
}

static int guard_intact(const unsigned char *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (p[i] != GUARD_BYTE)
			return 0;
	return 1;
}

int lpvk_guard_check(lpvk_device *dev, const char *after)
{
	for (lpvk_buf *b = dev->guarded; b; b = b->next) {
		const unsigned char *m = b->block->mapped;
		uint64_t head = b->off - b->take_off, tail = b->take_off + b->taken - b->off - b->size;
		if (!guard_intact(m + b->take_off, head) || !guard_intact(m + b->off + b->size, tail))
			return lp_error(dev->ctx, LP_ERR_VULKAN, "vk: guard: a kernel in %s wrote outside "
					"tensor '%s' (%llu bytes)", after, b->name ? b->name : "?",
					(unsigned long long)b->size);
	}
	return LP_OK;
}

uint64_t lpvk_buf_size(const lpvk_buf *b)
{
	return b->size;
}

VkBuffer lpvk_buf_handle(const lpvk_buf *b)
{
	return b->buffer;
}

lpvk_device *lpvk_buf_device(const lpvk_buf *b)
{
	return b->dev;
}

/* Copy through a temporary host-visible buffer: the path for device-local memory. */
static int staged(lp_ctx *ctx, lpvk_buf *b, void *host, uint64_t bytes, int upload)
{
	lpvk_device *dev = b->dev;
	VkBuffer sb = VK_NULL_HANDLE;
	VkDeviceMemory sm = VK_NULL_HANDLE;
	VkMemoryRequirements req;
	VkCommandBuffer cb;
	void *p;
	int rc;
	VkBufferCreateInfo bi = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = bytes,
				  .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
					   VK_BUFFER_USAGE_TRANSFER_DST_BIT };

	if ((rc = lpvk_check(ctx, vkCreateBuffer(dev->device, &bi, NULL, &sb), "vkCreateBuffer")))
		return rc;
	vkGetBufferMemoryRequirements(dev->device, sb, &req);
	VkMemoryAllocateInfo ai = { .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
				    .allocationSize = req.size, .memoryTypeIndex = dev->staging_type };
	if ((rc = lpvk_check(ctx, vkAllocateMemory(dev->device, &ai, NULL, &sm),
			     "vkAllocateMemory (staging)")) ||
	    (rc = lpvk_check(ctx, vkBindBufferMemory(dev->device, sb, sm, 0), "vkBindBufferMemory")) ||
	    (rc = lpvk_check(ctx, vkMapMemory(dev->device, sm, 0, VK_WHOLE_SIZE, 0, &p), "vkMapMemory")))
		goto out_free;
	if (upload)
		memcpy(p, host, bytes);
	if ((rc = lpvk_oneshot_begin(dev, &cb)))
		goto out_free;
	VkBufferCopy region = { 0, 0, bytes };
	vkCmdCopyBuffer(cb, upload ? sb : b->buffer, upload ? b->buffer : sb, 1, &region);
	if ((rc = lpvk_oneshot_end(dev, cb)))
		goto out_free;
	if (!upload)
		memcpy(host, p, bytes);
out_free:
	vkDestroyBuffer(dev->device, sb, NULL);
	if (sm)
		vkFreeMemory(dev->device, sm, NULL);
	return rc;
}

int lpvk_buf_write(lp_ctx *ctx, lpvk_buf *b, const void *src, uint64_t bytes)
{
	if (!bytes)
		return LP_OK;
	if (b->block->mapped && !b->dev->force_staging) {
		memcpy((char *)b->block->mapped + b->off, src, bytes);
		return LP_OK;
	}
	return staged(ctx, b, (void *)src, bytes, 1);
}

int lpvk_buf_read(lp_ctx *ctx, const lpvk_buf *b, void *dst, uint64_t bytes)
{
	if (!bytes)
		return LP_OK;
	if (b->block->mapped && !b->dev->force_staging) {
		memcpy(dst, (const char *)b->block->mapped + b->off, bytes);
		return LP_OK;
	}
	return staged(ctx, (lpvk_buf *)b, dst, bytes, 0);
}
