/* fuzz_stubs.c — the two pieces of the core that ctx.c's lp_ctx_free calls but the harnesses
 * never need (a context that loaded no plugin and opened no device), so the fuzz build links
 * the real ctx.c, image.c and idx.c without Vulkan, HDF5 or the plugin loader. The prototypes
 * come from the core's own headers: if they change, this stops compiling. */
#include "core.h"
#include "vk/lpvk.h"

void lpi_plugins_free(lp_ctx *ctx)
{
	(void)ctx;
}

void lpvk_device_close(lpvk_device *dev)
{
	(void)dev;
}
