/* device.c — Vulkan instance, device choice, validation messages, pipeline cache. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vk_internal.h"

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

const char *lpvk_result_name(VkResult r)
{
	switch (r) {
#define R(x) case x: return #x;
	R(VK_SUCCESS) R(VK_NOT_READY) R(VK_TIMEOUT) R(VK_INCOMPLETE)
	R(VK_ERROR_OUT_OF_HOST_MEMORY) R(VK_ERROR_OUT_OF_DEVICE_MEMORY)
	R(VK_ERROR_INITIALIZATION_FAILED) R(VK_ERROR_DEVICE_LOST) R(VK_ERROR_MEMORY_MAP_FAILED)
	R(VK_ERROR_LAYER_NOT_PRESENT) R(VK_ERROR_EXTENSION_NOT_PRESENT)
	R(VK_ERROR_FEATURE_NOT_PRESENT) R(VK_ERROR_INCOMPATIBLE_DRIVER)
	R(VK_ERROR_TOO_MANY_OBJECTS) R(VK_ERROR_FORMAT_NOT_SUPPORTED)
	R(VK_ERROR_FRAGMENTED_POOL) R(VK_ERROR_OUT_OF_POOL_MEMORY) R(VK_ERROR_INVALID_SHADER_NV)
	R(VK_ERROR_UNKNOWN)
#undef R
	default: return "VK_RESULT_UNKNOWN";
	}
}

int lpvk_check(lp_ctx *ctx, VkResult r, const char *what)
{
	if (r == VK_SUCCESS)
		return LP_OK;
	int code = (r == VK_ERROR_OUT_OF_HOST_MEMORY || r == VK_ERROR_OUT_OF_DEVICE_MEMORY)
			   ? LP_ERR_NOMEM : LP_ERR_VULKAN;
	return lp_error(ctx, code, "vk: %s failed: %s (%d)", what, lpvk_result_name(r), (int)r);
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT sev,
		VkDebugUtilsMessageTypeFlagsEXT type, const VkDebugUtilsMessengerCallbackDataEXT *data,
		void *user)
{
	lpvk_device *dev = user;

	(void)type;
	dev->ctx->vk_messages++;
	lp_log(dev->ctx, LP_LOG_WARN, "vk validation %s: %s",
	       sev & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning",
	       data && data->pMessage ? data->pMessage : "(no message)");
	return VK_FALSE;
}

static int env_on(const char *name)
{
	const char *v = getenv(name);
	return v && *v && strcmp(v, "0") != 0;
}

static int has_layer(const char *name)
{
	uint32_t n = 0;
	VkLayerProperties *p;
	int found = 0;

	if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || !n)
		return 0;
	p = calloc(n, sizeof(*p));
	if (p && vkEnumerateInstanceLayerProperties(&n, p) == VK_SUCCESS)
		for (uint32_t i = 0; i < n; i++)
			found |= strcmp(p[i].layerName, name) == 0;
	free(p);
	return found;
}

static int create_instance(lp_ctx *ctx, lpvk_device *dev, int validate)
{
	static int volk_ready;
	VkResult r;

	if (!volk_ready) {
		if (volkInitialize() != VK_SUCCESS)
			return lp_error(ctx, LP_ERR_VULKAN, "vk: no Vulkan loader (libvulkan.so.1) "
					"found; install libvulkan1 and mesa-vulkan-drivers");
		volk_ready = 1;
	}
	if (validate && !has_layer(VALIDATION_LAYER))
		return lp_error(ctx, LP_ERR_VULKAN, "vk: LOUPE_VALIDATION is set but %s is not "
				"installed (apt-get install vulkan-validationlayers)", VALIDATION_LAYER);
	const char *layers[] = { VALIDATION_LAYER };
	const char *exts[] = { VK_EXT_DEBUG_UTILS_EXTENSION_NAME };
	VkApplicationInfo app = {
		.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "loupe",
		.applicationVersion = 1, .pEngineName = "loupe", .apiVersion = VK_API_VERSION_1_2,
	};
	VkDebugUtilsMessengerCreateInfoEXT mci = {
		.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
		.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
				   VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
		.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
			       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
			       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
		.pfnUserCallback = on_message, .pUserData = dev,
	};
	VkInstanceCreateInfo ici = {
		.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app,
		.pNext = validate ? &mci : NULL,
		.enabledLayerCount = validate ? 1 : 0, .ppEnabledLayerNames = layers,
		.enabledExtensionCount = validate ? 1 : 0, .ppEnabledExtensionNames = exts,
	};
	r = vkCreateInstance(&ici, NULL, &dev->instance);
	if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
		return lp_error(ctx, LP_ERR_VULKAN, "vk: no Vulkan driver found; install "
				"mesa-vulkan-drivers (lavapipe, a CPU driver) or your GPU's driver");
	if (r != VK_SUCCESS)
		return lpvk_check(ctx, r, "vkCreateInstance");
	volkLoadInstance(dev->instance);
	if (validate) {
		r = vkCreateDebugUtilsMessengerEXT(dev->instance, &mci, NULL, &dev->messenger);
		if (r != VK_SUCCESS)
			return lpvk_check(ctx, r, "vkCreateDebugUtilsMessengerEXT");
	}
	return LP_OK;
}

static const char *type_name(VkPhysicalDeviceType t)
{
	switch (t) {
	case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
	case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
	case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
	case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
	default: return "other";
	}
}

static int compute_family(VkPhysicalDevice pd, uint32_t *family, uint32_t *ts_bits)
{
	uint32_t n = 0;
	VkQueueFamilyProperties q[16];

	vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
	if (n > 16)
		n = 16;
	vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
	for (uint32_t i = 0; i < n; i++)
		if (q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
			*family = i;
			*ts_bits = q[i].timestampValidBits;
			return 1;
		}
	return 0;
}

static void describe(VkPhysicalDevice pd, uint32_t index, lp_device_info *d)
{
	VkPhysicalDeviceDriverProperties drv = { .sType =
		VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES };
	VkPhysicalDeviceSubgroupProperties sub = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES, .pNext = &drv };
	VkPhysicalDeviceMaintenance3Properties m3 = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES, .pNext = &sub };
	VkPhysicalDeviceProperties2 p2 = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &m3 };
	VkPhysicalDeviceMemoryProperties mem;
	uint32_t fam = 0, ts = 0;

	vkGetPhysicalDeviceProperties2(pd, &p2);
	vkGetPhysicalDeviceMemoryProperties(pd, &mem);
	const VkPhysicalDeviceLimits *l = &p2.properties.limits;
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof d->name, "%s", p2.properties.deviceName);
	if (p2.properties.apiVersion >= VK_API_VERSION_1_2)
		snprintf(d->driver, sizeof d->driver, "%s: %s", drv.driverName, drv.driverInfo);
	else
		snprintf(d->driver, sizeof d->driver, "driver version %u",
			 p2.properties.driverVersion);
	snprintf(d->type, sizeof d->type, "%s", type_name(p2.properties.deviceType));
	d->index = index;
	d->api_version = p2.properties.apiVersion;
	d->vendor_id = p2.properties.vendorID;
	d->device_id = p2.properties.deviceID;
	d->max_storage_buffer_range = l->maxStorageBufferRange;
	d->max_alloc_size = m3.maxMemoryAllocationSize;
	d->max_push_constants = l->maxPushConstantsSize;
	d->max_workgroup_invocations = l->maxComputeWorkGroupInvocations;
	memcpy(d->max_workgroup_size, l->maxComputeWorkGroupSize, sizeof d->max_workgroup_size);
	memcpy(d->max_workgroup_count, l->maxComputeWorkGroupCount, sizeof d->max_workgroup_count);
	d->max_shared_memory = l->maxComputeSharedMemorySize;
	d->subgroup_size = sub.subgroupSize;
	d->min_storage_offset_align = l->minStorageBufferOffsetAlignment;
	d->timestamps = compute_family(pd, &fam, &ts) && ts > 0 &&
			(l->timestampComputeAndGraphics || ts);
	d->timestamp_period_ns = l->timestampPeriod;
	for (uint32_t i = 0; i < mem.memoryHeapCount; i++)
		if (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
			d->device_local_bytes += mem.memoryHeaps[i].size;
}

static int list_physical(lp_ctx *ctx, VkInstance inst, VkPhysicalDevice **out, uint32_t *n)
{
	VkResult r = vkEnumeratePhysicalDevices(inst, n, NULL);

	if (r != VK_SUCCESS)
		return lpvk_check(ctx, r, "vkEnumeratePhysicalDevices");
	if (*n == 0)
		return lp_error(ctx, LP_ERR_VULKAN, "vk: no Vulkan device found; install "
				"mesa-vulkan-drivers (lavapipe, a CPU driver) or your GPU's driver");
	*out = calloc(*n, sizeof(**out));
	if (!*out)
		return lp_error(ctx, LP_ERR_NOMEM, "vk: out of memory");
	r = vkEnumeratePhysicalDevices(inst, n, *out);
	if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
		free(*out);
		*out = NULL;
		return lpvk_check(ctx, r, "vkEnumeratePhysicalDevices");
	}
	return LP_OK;
}

/* LOUPE_DEVICE = index or case-insensitive name substring; default: first discrete GPU, else
 * the first device. */
static int choose(lp_ctx *ctx, VkPhysicalDevice *pds, uint32_t n, uint32_t *pick)
{
	const char *want = getenv("LOUPE_DEVICE");
	lp_device_info d;
	uint32_t fam, ts;

	if (want && *want) {
		char *end;
		unsigned long idx = strtoul(want, &end, 10);
		for (uint32_t i = 0; i < n; i++) {
			describe(pds[i], i, &d);
			if ((*end == 0 && idx == i) || (*end != 0 && strcasestr(d.name, want))) {
				*pick = i;
				goto found;
			}
		}
		char list[2048] = "";
		size_t len = 0;
		for (uint32_t i = 0; i < n && len < sizeof list; i++) {
			describe(pds[i], i, &d);
			len += snprintf(list + len, sizeof list - len, "%s%u: %s (%s)",
					i ? "; " : "", i, d.name, d.type);
		}
		return lp_error(ctx, LP_ERR_NOTFOUND, "vk: LOUPE_DEVICE='%s' matches no device; "
				"available: %s", want, list);
	}
	*pick = 0;
	for (uint32_t i = 0; i < n; i++) {
		describe(pds[i], i, &d);
		if (strcmp(d.type, "discrete") == 0 && compute_family(pds[i], &fam, &ts)) {
			*pick = i;
			break;
		}
	}
found:
	if (!compute_family(pds[*pick], &fam, &ts)) {
		describe(pds[*pick], *pick, &d);
		return lp_error(ctx, LP_ERR_VULKAN, "vk: device %u (%s) has no compute queue",
				*pick, d.name);
	}
	return LP_OK;
}

static int pick_memory(lpvk_device *dev)
{
	VkPhysicalDeviceMemoryProperties mem;
	const VkMemoryPropertyFlags hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
					 VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
	int64_t best = -1, staging = -1;
	int best_score = -1;

	vkGetPhysicalDeviceMemoryProperties(dev->phys, &mem);
	for (uint32_t i = 0; i < mem.memoryTypeCount; i++) {
		VkMemoryPropertyFlags f = mem.memoryTypes[i].propertyFlags;
		int score = ((f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) ? 2 : 0) +
			    ((f & hv) == hv ? 1 : 0);
		if (score > best_score) {
			best_score = score;
			best = i;
		}
		if ((f & hv) == hv && staging < 0)
			staging = i;
	}
	if (best < 0 || staging < 0)
		return lp_error(dev->ctx, LP_ERR_VULKAN, "vk: device %s has no usable memory type "
				"(need a host-visible, coherent one for transfers)", dev->info.name);
	dev->mem_type = (uint32_t)best;
	dev->mem_mappable = (mem.memoryTypes[best].propertyFlags & hv) == hv;
	dev->staging_type = (uint32_t)staging;
	dev->force_staging = env_on("LOUPE_FORCE_STAGING");
	dev->guard = env_on("LOUPE_GUARD") && dev->mem_mappable;
	return LP_OK;
}

static void cache_path(lpvk_device *dev)
{
	VkPhysicalDeviceProperties p;
	const char *dir = getenv("LOUPE_CACHE_DIR"), *home = getenv("HOME");
	const char *xdg = getenv("XDG_CACHE_HOME");
	char base[768];

	dev->cache_path[0] = 0;
	if (dir && strcmp(dir, "") == 0)
		return; /* LOUPE_CACHE_DIR= (empty) turns the on-disk cache off */
	if (dir)
		snprintf(base, sizeof base, "%s", dir);
	else if (xdg && *xdg)
		snprintf(base, sizeof base, "%s/loupe", xdg);
	else if (home && *home)
		snprintf(base, sizeof base, "%s/.cache/loupe", home);
	else
		return;
	vkGetPhysicalDeviceProperties(dev->phys, &p);
	char uuid[2 * VK_UUID_SIZE + 1];
	for (unsigned i = 0; i < VK_UUID_SIZE; i++)
		snprintf(uuid + 2 * i, 3, "%02x", p.pipelineCacheUUID[i]);
	snprintf(dev->cache_path, sizeof dev->cache_path, "%s/pipelines-%04x-%04x-%s.bin", base,
		 p.vendorID, p.deviceID, uuid);
}

static int mkdirs(const char *path)
{
	char tmp[1024];

	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return 0;
}

static int create_pipeline_cache(lpvk_device *dev)
{
	void *data = NULL;
	size_t size = 0;
	FILE *f;

	cache_path(dev);
	if (dev->cache_path[0] && (f = fopen(dev->cache_path, "rb"))) {
		if (fseek(f, 0, SEEK_END) == 0) {
			long n = ftell(f);
			if (n > 32 && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)n)) &&
			    fread(data, 1, (size_t)n, f) == (size_t)n)
				size = (size_t)n;
		}
		fclose(f);
	}
	VkPipelineCacheCreateInfo ci = { .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
					 .initialDataSize = size, .pInitialData = size ? data : NULL };
	VkResult r = vkCreatePipelineCache(dev->device, &ci, NULL, &dev->pipeline_cache);
	if (r != VK_SUCCESS && size) { /* a stale or foreign file: start empty */
		ci.initialDataSize = 0;
		ci.pInitialData = NULL;
		r = vkCreatePipelineCache(dev->device, &ci, NULL, &dev->pipeline_cache);
	}
	free(data);
	return lpvk_check(dev->ctx, r, "vkCreatePipelineCache");
}

/* Best effort: a cache that cannot be saved costs start-up time, not correctness. */
static void save_pipeline_cache(lpvk_device *dev)
{
	size_t size = 0;
	void *data;
	char tmp[1100];

	if (!dev->cache_path[0] || !dev->pipeline_cache ||
	    vkGetPipelineCacheData(dev->device, dev->pipeline_cache, &size, NULL) != VK_SUCCESS ||
	    !size || !(data = malloc(size)))
		return;
	if (vkGetPipelineCacheData(dev->device, dev->pipeline_cache, &size, data) == VK_SUCCESS &&
	    mkdirs(dev->cache_path) == 0) {
		snprintf(tmp, sizeof tmp, "%s.%ld.tmp", dev->cache_path, (long)getpid());
		FILE *f = fopen(tmp, "wb");
		if (f) {
			int ok = fwrite(data, 1, size, f) == size;
			ok &= fclose(f) == 0;
			if (!ok || rename(tmp, dev->cache_path) != 0)
				unlink(tmp);
		}
	}
	free(data);
}

static int create_device(lpvk_device *dev)
{
	uint32_t ts;
	float prio = 1.0f;
	VkResult r;

	compute_family(dev->phys, &dev->queue_family, &ts);
	VkDeviceQueueCreateInfo q = { .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
				      .queueFamilyIndex = dev->queue_family, .queueCount = 1,
				      .pQueuePriorities = &prio };
	VkDeviceCreateInfo dci = { .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
				   .queueCreateInfoCount = 1, .pQueueCreateInfos = &q };
	r = vkCreateDevice(dev->phys, &dci, NULL, &dev->device);
	if (r != VK_SUCCESS)
		return lpvk_check(dev->ctx, r, "vkCreateDevice");
	vkGetDeviceQueue(dev->device, dev->queue_family, 0, &dev->queue);
	VkCommandPoolCreateInfo pci = { .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
					.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
					.queueFamilyIndex = dev->queue_family };
	r = vkCreateCommandPool(dev->device, &pci, NULL, &dev->cmd_pool);
	if (r != VK_SUCCESS)
		return lpvk_check(dev->ctx, r, "vkCreateCommandPool");
	return create_pipeline_cache(dev);
}

int lpvk_device_open(lp_ctx *ctx, lpvk_device **out)
{
	lpvk_device *dev = calloc(1, sizeof(*dev));
	VkPhysicalDevice *pds = NULL;
	uint32_t n = 0, pick = 0;
	int rc;

	*out = NULL;
	if (!dev)
		return lp_error(ctx, LP_ERR_NOMEM, "vk: out of memory");
	dev->ctx = ctx;
	if ((rc = create_instance(ctx, dev, env_on("LOUPE_VALIDATION"))) ||
	    (rc = list_physical(ctx, dev->instance, &pds, &n)) ||
	    (rc = choose(ctx, pds, n, &pick)))
		goto out_close;
	dev->phys = pds[pick];
	describe(dev->phys, pick, &dev->info);
	if ((rc = pick_memory(dev)) || (rc = create_device(dev)))
		goto out_close;
	free(pds);
	*out = dev;
	return LP_OK;
out_close:
	free(pds);
	lpvk_device_close(dev);
	return rc;
}

void lpvk_device_close(lpvk_device *dev)
{
	if (!dev)
		return;
	if (dev->device) {
		vkDeviceWaitIdle(dev->device);
		save_pipeline_cache(dev);
		lpvk_pool_release(dev);
		if (dev->pipeline_cache)
			vkDestroyPipelineCache(dev->device, dev->pipeline_cache, NULL);
		if (dev->cmd_pool)
			vkDestroyCommandPool(dev->device, dev->cmd_pool, NULL);
		vkDestroyDevice(dev->device, NULL);
	}
	if (dev->messenger)
		vkDestroyDebugUtilsMessengerEXT(dev->instance, dev->messenger, NULL);
	if (dev->instance)
		vkDestroyInstance(dev->instance, NULL);
	free(dev);
}

const lp_device_info *lpvk_device_info(const lpvk_device *dev)
{
	return &dev->info;
}

int lpvk_get(lp_ctx *ctx, lpvk_device **out)
{
	int rc = LP_OK;

	if (!ctx->dev)
		rc = lpvk_device_open(ctx, &ctx->dev);
	*out = ctx->dev;
	return rc;
}

int lp_device_open(lp_ctx *ctx)
{
	lpvk_device *dev;
	return lpvk_get(ctx, &dev);
}

int lp_device_get_info(lp_ctx *ctx, lp_device_info *out)
{
	lpvk_device *dev;
	int rc = lpvk_get(ctx, &dev);

	if (rc == LP_OK)
		*out = dev->info;
	return rc;
}

int lpi_device_info_if_open(lp_ctx *ctx, lp_device_info *out)
{
	if (!ctx->dev)
		return 0;
	*out = ctx->dev->info;
	return 1;
}

/* volk keeps one global table of instance functions: while a device is open, list through its
 * instance, so a temporary one never replaces the table under it. */
int lp_device_list(lp_ctx *ctx, void (*fn)(void *user, const lp_device_info *d), void *user)
{
	lpvk_device tmp = { .ctx = ctx };
	VkInstance inst = ctx->dev ? ctx->dev->instance : VK_NULL_HANDLE;
	VkPhysicalDevice *pds = NULL;
	uint32_t n = 0;
	int rc = LP_OK;

	if (!inst && (rc = create_instance(ctx, &tmp, 0)) == LP_OK)
		inst = tmp.instance;
	if (rc == LP_OK && (rc = list_physical(ctx, inst, &pds, &n)) == LP_OK)
		for (uint32_t i = 0; i < n; i++) {
			lp_device_info d;
			describe(pds[i], i, &d);
			fn(user, &d);
		}
	free(pds);
	if (tmp.instance)
		vkDestroyInstance(tmp.instance, NULL);
	return rc;
}

void lp_device_close(lp_ctx *ctx)
{
	lpvk_device_close(ctx->dev);
	ctx->dev = NULL;
}

uint64_t lp_device_validation_count(const lp_ctx *ctx)
{
	return ctx->vk_messages;
}
