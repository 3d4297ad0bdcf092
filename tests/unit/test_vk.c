/* test_vk.c — the Vulkan runtime: device choice and its errors, tensor round trips for every
 * dtype (mapped and staging paths), the pool under churn, kernels with push and specialization
 * constants, the limits a dispatch is checked against, and the on-disk pipeline cache. */
#include <dirent.h>
#include <unistd.h>

#include "test_util.h"

static const uint32_t affine_spv[] =
#include "tests/affine.spv.inc"
	;

typedef struct push {
	uint32_t n;
	float add;
} push;

static unsigned long long seed = 42;

static void device_choice(void)
{
	lp_ctx *ctx;
	lp_device_info d;

	setenv("LOUPE_DEVICE", "nope", 1);
	ctx = tu_ctx();
	CHECK(lp_device_open(ctx) == LP_ERR_NOTFOUND);
	CHECK_MSG(ctx, "LOUPE_DEVICE='nope'", "available: 0: ");
	lp_ctx_free(ctx);

	setenv("LOUPE_DEVICE", "0", 1);
	ctx = tu_ctx();
	CHECK_OK(ctx, lp_device_get_info(ctx, &d));
	char name[256];
	snprintf(name, sizeof name, "%.5s", d.name); /* a name substring picks the same device */
	lp_ctx_free(ctx);
	setenv("LOUPE_DEVICE", name, 1);
	ctx = tu_ctx();
	lp_device_info d2;
	CHECK_OK(ctx, lp_device_get_info(ctx, &d2));
	CHECK(strcmp(d.name, d2.name) == 0 && d2.index == d.index);
	lp_ctx_free(ctx);
	unsetenv("LOUPE_DEVICE");
}

static void round_trips(lp_ctx *ctx)
{
	const int dtypes[] = { LP_F32, LP_I32, LP_I64, LP_U8 };
	int64_t dims[3] = { 3, 5, 7 };

	for (int k = 0; k < 4; k++) {
		size_t bytes = 105 * lp_dtype_size(dtypes[k]);
		unsigned char *in = malloc(bytes), *out = calloc(1, bytes);
		for (size_t i = 0; i < bytes; i++)
			in[i] = (unsigned char)(i * 7 + k);
		lp_tensor *t = NULL;
		CHECK_OK(ctx, lp_tensor_new(ctx, dtypes[k], 3, dims, &t));
		CHECK(t && lp_tensor_bytes(t) == bytes && lp_tensor_numel(t) == 105);
		CHECK_OK(ctx, lp_tensor_write(ctx, t, in, bytes));
		CHECK_OK(ctx, lp_tensor_read(ctx, t, out, bytes));
		CHECK(memcmp(in, out, bytes) == 0);
		CHECK(lp_tensor_read(ctx, t, out, bytes - 1) == LP_ERR_SHAPE);
		CHECK_MSG(ctx, "tensor: read", "bytes given, the tensor holds");
		lp_tensor_free(t);
		free(in);
		free(out);
	}
	lp_tensor *t = NULL;
	int64_t bad[1] = { -1 };
	CHECK(lp_tensor_new(ctx, LP_F32, 1, bad, &t) == LP_ERR_SHAPE && !t);
	CHECK(lp_tensor_new(ctx, 99, 1, dims, &t) == LP_ERR_ARG && !t);
	int64_t empty[2] = { 0, 4 };
	CHECK_OK(ctx, lp_tensor_new(ctx, LP_F32, 2, empty, &t));
	lp_tensor_free(t);
}

/* Allocate, free every other one, allocate again: every live tensor keeps its own bytes. */
static void pool_churn(lp_ctx *ctx)
{
	enum { N = 96 };
	lp_tensor *t[N] = { 0 };
	int64_t len[N];

	for (int round = 0; round < 2; round++) {
		for (int i = round; i < N; i += 1 + round) {
			lp_tensor_free(t[i]);
			len[i] = 1 + (int64_t)((tu_rand(&seed) + 1.0f) * 300000.0f) % 500000;
			CHECK_OK(ctx, lp_tensor_new(ctx, LP_I32, 1, &len[i], &t[i]));
			int32_t *h = malloc((size_t)len[i] * 4);
			for (int64_t j = 0; j < len[i]; j++)
				h[j] = (int32_t)(i * 1000003 + j);
			if (t[i])
				CHECK_OK(ctx, lp_tensor_write(ctx, t[i], h, (size_t)len[i] * 4));
			free(h);
		}
	}
	int bad = 0;
	for (int i = 0; i < N; i++) {
		int32_t *h = malloc((size_t)len[i] * 4);
		if (t[i] && lp_tensor_read(ctx, t[i], h, (size_t)len[i] * 4) == LP_OK)
			for (int64_t j = 0; j < len[i]; j++)
				bad += h[j] != (int32_t)(i * 1000003 + j);
		free(h);
		lp_tensor_free(t[i]);
	}
	CHECK(bad == 0);
}

static lp_kernel *affine(lp_ctx *ctx, float mul)
{
	uint32_t spec[2] = { 64, 0 };
	lp_kernel *k = NULL;

	memcpy(&spec[1], &mul, 4);
	lp_kernel_desc d = { sizeof d, "test.affine", affine_spv, sizeof affine_spv, 2,
			     sizeof(push), 2, spec };
	CHECK_OK(ctx, lp_kernel_new(ctx, &d, &k));
	return k;
}

static void kernels(lp_ctx *ctx)
{
	enum { N = 1000 };
	int64_t dims[1] = { N };
	float x[N], y[N];
	lp_tensor *tx = NULL, *ty = NULL;
	lp_kernel *k2 = affine(ctx, 2.0f), *k3 = affine(ctx, -3.0f);
	lp_cmd *cmd = NULL;

	for (int i = 0; i < N; i++)
		x[i] = (float)i;
	CHECK_OK(ctx, lp_tensor_new(ctx, LP_F32, 1, dims, &tx));
	CHECK_OK(ctx, lp_tensor_new(ctx, LP_F32, 1, dims, &ty));
	CHECK_OK(ctx, lp_tensor_write(ctx, tx, x, sizeof x));
	lp_binding fwd[2] = { { tx, 0, 0 }, { ty, 0, 0 } }, back[2] = { { ty, 0, 0 }, { tx, 0, 0 } };
	push p = { N, 1.0f };
	uint32_t g[3] = { 4, 1, 1 }; /* fewer groups than needed: the grid-stride loop covers n */
	CHECK_OK(ctx, lp_cmd_begin(ctx, &cmd));
	CHECK_OK(ctx, lp_cmd_dispatch(cmd, k2, g, &p, sizeof p, fwd, 2)); /* y = 2x + 1 */
	CHECK_OK(ctx, lp_cmd_dispatch(cmd, k3, g, &p, sizeof p, back, 2)); /* x = -3y + 1 */
	CHECK_OK(ctx, lp_cmd_submit(cmd));
	CHECK_OK(ctx, lp_tensor_read(ctx, tx, y, sizeof y));
	int bad = 0;
	for (int i = 0; i < N; i++)
		bad += y[i] != -3.0f * (2.0f * (float)i + 1.0f) + 1.0f;
	CHECK(bad == 0);

	/* what a dispatch is checked against */
	CHECK_OK(ctx, lp_cmd_begin(ctx, &cmd));
	CHECK(lp_cmd_dispatch(cmd, k2, g, &p, 4, fwd, 2) == LP_ERR_ARG);
	CHECK_MSG(ctx, "test.affine", "4 push bytes", "declares 2 and 8");
	CHECK(lp_cmd_dispatch(cmd, k2, g, &p, sizeof p, fwd, 1) == LP_ERR_ARG);
	uint32_t zero[3] = { 0, 1, 1 };
	CHECK(lp_cmd_dispatch(cmd, k2, zero, &p, sizeof p, fwd, 2) == LP_ERR_LIMIT);
	lp_binding outside[2] = { { tx, 0, 8000 }, { ty, 0, 0 } };
	CHECK(lp_cmd_dispatch(cmd, k2, g, &p, sizeof p, outside, 2) == LP_ERR_ARG);
	CHECK_MSG(ctx, "outside the tensor's 4000 bytes");
	lp_binding misaligned[2] = { { tx, 4, 400 }, { ty, 0, 0 } };
	CHECK(lp_cmd_dispatch(cmd, k2, g, &p, sizeof p, misaligned, 2) == LP_ERR_ARG);
	CHECK_MSG(ctx, "minStorageBufferOffsetAlignment");
	lp_cmd_free(cmd);

	/* a tensor larger than one binding is refused whole, with the limit named */
	lp_device_info d;
	CHECK_OK(ctx, lp_device_get_info(ctx, &d));
	int64_t big[1] = { (int64_t)d.max_storage_buffer_range / 4 + 16 };
	lp_tensor *tb = NULL;
	if (big[0] * 4 < (int64_t)d.max_alloc_size) {
		CHECK_OK(ctx, lp_tensor_new(ctx, LP_F32, 1, big, &tb));
		lp_tensor_set_name(tb, "fc6.weight");
		lp_binding whole[2] = { { tb, 0, 0 }, { ty, 0, 0 } };
		CHECK_OK(ctx, lp_cmd_begin(ctx, &cmd));
		CHECK(lp_cmd_dispatch(cmd, k2, g, &p, sizeof p, whole, 2) == LP_ERR_LIMIT);
		CHECK_MSG(ctx, "fc6.weight", "maxStorageBufferRange", d.name);
		lp_cmd_free(cmd);
		lp_tensor_free(tb);
	}

	/* not SPIR-V */
	uint32_t junk[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	lp_kernel *kj = NULL;
	lp_kernel_desc dj = { sizeof dj, "test.junk", junk, sizeof junk, 1, 0, 0, NULL };
	CHECK(lp_kernel_new(ctx, &dj, &kj) == LP_ERR_FORMAT && !kj);
	CHECK_MSG(ctx, "test.junk", "not SPIR-V");
	lp_kernel_free(k2);
	lp_kernel_free(k3);
	lp_tensor_free(tx);
	lp_tensor_free(ty);
}

/* Files holding a valid VkPipelineCache header (lavapipe stores only the 32-byte header;
 * GPU drivers append their pipelines). */
static int cache_files(const char *dir, uint32_t vendor)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[1024];
	int n = 0;

	while (d && (e = readdir(d)))
		if (strncmp(e->d_name, "pipelines-", 10) == 0) {
			uint32_t h[3] = { 0 };
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			FILE *f = fopen(path, "rb");
			if (f && fread(h, 4, 3, f) == 3)
				n += h[0] >= 32 && h[1] == 1 /* HEADER_VERSION_ONE */ && h[2] == vendor;
			if (f)
				fclose(f);
		}
	if (d)
		closedir(d);
	return n;
}

static void pipeline_cache(void)
{
	char dir[] = "/tmp/loupe-cache-XXXXXX", sub[64];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(sub, sizeof sub, "%s/a/b", dir);
	setenv("LOUPE_CACHE_DIR", sub, 1);
	for (int round = 0; round < 2; round++) {
		lp_ctx *ctx = tu_ctx();
		lp_device_info d;
		CHECK_OK(ctx, lp_device_get_info(ctx, &d));
		lp_kernel_free(affine(ctx, 1.5f));
		lp_ctx_free(ctx);
		CHECK(cache_files(sub, d.vendor_id) == 1); /* written, then reloaded and rewritten */
	}
	unsetenv("LOUPE_CACHE_DIR");
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	device_choice();
	pipeline_cache();
	lp_ctx *ctx = tu_ctx();
	round_trips(ctx);
	pool_churn(ctx);
	kernels(ctx);
	return tu_finish(ctx, "test_vk");
}
