/* volk.c — the one translation unit that compiles Debian's volk (the Vulkan meta-loader). */
#include <volk.c>
