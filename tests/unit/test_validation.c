/* test_validation.c — the validation-layer hook itself: with LOUPE_VALIDATION=1, an invalid
 * Vulkan call made on purpose is counted, so a clean count elsewhere means something. */
#include "test_util.h"
#include "vk/vk_internal.h"

int main(void)
{
	setenv("LOUPE_VALIDATION", "1", 1);
	lp_ctx *ctx = tu_ctx();
	lpvk_device *dev = NULL;

	CHECK_OK(ctx, lpvk_get(ctx, &dev));
	if (dev) {
		CHECK(lp_device_validation_count(ctx) == 0);
		/* VUID-VkBufferCreateInfo-size-00912: size must be greater than 0 */
		VkBufferCreateInfo bi = { .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 0,
					  .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT };
		VkBuffer b = VK_NULL_HANDLE;
		if (vkCreateBuffer(dev->device, &bi, NULL, &b) == VK_SUCCESS && b)
			vkDestroyBuffer(dev->device, b, NULL);
		CHECK(lp_device_validation_count(ctx) > 0);
	}
	lp_device_close(ctx);
	lp_ctx_free(ctx);
	if (tu_failures)
		return 1;
	printf("test_validation: ok\n");
	return 0;
}
