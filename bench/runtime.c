/* runtime.c — the Vulkan runtime's fixed costs and the relu layer's throughput, as JSON.
 *
 *   build/bench/bench_runtime [MiB]      (default 64 MiB; LP_NUM_THREADS defaults to 1)
 *
 * Reports: one submit + fence wait with one tiny dispatch (µs), the same with 100 dispatches
 * recorded into one command (µs per dispatch), relu forward over MiB of floats on the device
 * (GB/s of traffic, read + write), and the peer measured in the same run: the same relu as a
 * plain C loop on one CPU thread. The ratio device/cpu is the figure to compare. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loupe/plugins.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int fail(lp_ctx *ctx)
{
	fprintf(stderr, "bench_runtime: %s\n", lp_ctx_errmsg(ctx));
	return 1;
}

/* Median of `reps` timings of one submit holding `k` relu dispatches over tensors x -> y. */
static double time_submits(lp_ctx *ctx, lp_layer *l, const lp_tensor *x, lp_tensor *y, int k,
			   int reps)
{
	double t[64];
	for (int r = 0; r < reps; r++) {
		lp_cmd *cmd;
		lp_layer_io io = { .size = sizeof io, .x = x, .y = y };
		double t0 = now();
		if (lp_cmd_begin(ctx, &cmd))
			return -1;
		for (int i = 0; i < k; i++)
			if (lp_layer_forward(l, cmd, &io)) {
				lp_cmd_free(cmd);
				return -1;
			}
		if (lp_cmd_submit(cmd))
			return -1;
		t[r] = now() - t0;
	}
	for (int i = 1; i < reps; i++) /* insertion sort: tiny */
		for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
			double s = t[j];
			t[j] = t[j - 1];
			t[j - 1] = s;
		}
	return t[reps / 2];
}

int main(int argc, char **argv)
{
	int64_t mib = argc > 1 ? atoll(argv[1]) : 64, n = mib << 18, one = 1;
	lp_ctx *ctx;
	const lp_plugin *p;
	lp_layer *l;
	lp_tensor *x, *y, *x1, *y1;
	lp_device_info d;

	setenv("LP_NUM_THREADS", "1", 0);
	if (lp_ctx_new(&ctx) || lp_device_get_info(ctx, &d) ||
	    lp_plugin_find(ctx, "relu", LP_KIND_LAYER, &p) || lp_layer_new(ctx, p, NULL, 0, &l) ||
	    lp_tensor_new(ctx, LP_F32, 1, &n, &x) || lp_tensor_new(ctx, LP_F32, 1, &n, &y) ||
	    lp_tensor_new(ctx, LP_F32, 1, &one, &x1) || lp_tensor_new(ctx, LP_F32, 1, &one, &y1))
		return fail(ctx);
	float *h = malloc((size_t)n * 4), *o = malloc((size_t)n * 4);
	for (int64_t i = 0; i < n; i++)
		h[i] = (float)((i * 2654435761u) % 2001) - 1000.0f;
	float tiny = 1.0f;
	if (lp_tensor_write(ctx, x, h, (size_t)n * 4) || lp_tensor_write(ctx, x1, &tiny, 4))
		return fail(ctx);

	time_submits(ctx, l, x1, y1, 1, 3); /* JIT-compile the pipeline first */
	double submit = time_submits(ctx, l, x1, y1, 1, 31);
	double hundred = time_submits(ctx, l, x1, y1, 100, 9);
	double dev = time_submits(ctx, l, x, y, 1, 7);
	double t[7];
	for (int r = 0; r < 7; r++) {
		double t0 = now();
		for (int64_t i = 0; i < n; i++)
			o[i] = h[i] > 0.0f ? h[i] : 0.0f;
		t[r] = now() - t0;
	}
	double cpu = t[0];
	for (int r = 1; r < 7; r++)
		cpu = t[r] < cpu ? t[r] : cpu;
	if (submit < 0 || hundred < 0 || dev < 0)
		return fail(ctx);
	double bytes = 8.0 * (double)n;
	printf("{\n  \"bench\": \"runtime\",\n  \"device\": \"%s\",\n  \"driver\": \"%s\",\n"
	       "  \"lp_num_threads\": \"%s\",\n  \"submit_one_dispatch_us\": %.1f,\n"
	       "  \"dispatch_in_batch_of_100_us\": %.2f,\n  \"relu_mib\": %lld,\n"
	       "  \"relu_device_gbps\": %.2f,\n  \"relu_cpu_loop_gbps\": %.2f,\n"
	       "  \"ratio_device_over_cpu_loop\": %.3f,\n  \"cpu_loop_check\": %g\n}\n",
	       d.name, d.driver, getenv("LP_NUM_THREADS"), submit * 1e6, hundred * 1e6 / 100,
	       (long long)mib, bytes / dev * 1e-9, bytes / cpu * 1e-9, cpu / dev, (double)o[n / 3]);
	free(h);
	free(o);
	lp_tensor_free(x), lp_tensor_free(y), lp_tensor_free(x1), lp_tensor_free(y1);
	lp_layer_free(l);
	lp_ctx_free(ctx);
	return 0;
}
