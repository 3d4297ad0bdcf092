/* analyses.c — label_issues + overlap on a probability matrix in memory, one thread, as JSON.
 *
 *   build/bench/bench_analyses [--n N --k K] [--reps R] [--no-grid] [--no-numpy] [--seed S]
 *
 * The input (issue 11's speed criterion): N items, K classes, random labels; each row uniform
 * noise in [0, 1) with the label's entry raised by K / 10, then normalised (splitmix64,
 * seeded). Timed, R times: lp_joint_open_memory + lp_issues_compute (label_issues with its
 * defaults: prune_by_noise_rate, capped at the estimate) and the same + lp_overlap_compute
 * (top 10 pairs, 5 merges) — the functions the plugins run on an archive, here on a matrix in
 * memory; each analysis computes its own joint, as `loupe analyze` does. Not timed: drawing
 * the input. Reported per size: best and median seconds (wall clock, and the thread's CPU
 * seconds, which other jobs on a shared machine disturb less), the peak resident memory of the
 * process (getrusage ru_maxrss: the matrix, the labels, everything) over the matrix's bytes,
 * and the peers measured in the same run: one plain pass summing the matrix (the floor any
 * analysis that reads it once meets; `x_read` = our time / that pass) and, where it fits,
 * bench/analyses/analyses_numpy.py — the same thresholds, confident joint, calibration,
 * self-confidence ranking and pair ranking in plain numpy (/usr/bin/python3, one thread), on
 * an input drawn by the same recipe. Each size runs in a child process of its own, so that its
 * peak memory is its own.
 *
 * Sizes: N x K (default 1,000,000 x 1,000), MIT Indoor67's 15,620 x 67, and unless --no-grid
 * the growth: N = 1e4 .. 1e6 at K = 100 and K = 10 .. 1000 at N = 1e5, with the exponents b of
 * time ~ N^b and time ~ K^b fitted by least squares on the medians. The machine's load
 * (/proc/loadavg) is printed before and after. A benchmark, never a test. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "issues.h"
#include "pairs.h"

#define MAX_REPS 32

/* the host table the analyses' sources reach: only errors and logs are used here */
static char errmsg[1024];
static int stub_error(lp_ctx *ctx, int code, const char *fmt, ...)
{
	va_list ap;
	(void)ctx;
	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof errmsg, fmt, ap);
	va_end(ap);
	return code;
}
static void stub_log(lp_ctx *ctx, int level, const char *fmt, ...)
{
	(void)ctx, (void)level, (void)fmt;
}
static const lp_host stub = {.abi_version = LP_ABI_VERSION,
			     .size = sizeof(lp_host),
			     .error = stub_error,
			     .log = stub_log};
const lp_host *an_host = &stub;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* the criterion's input: labels uniform, rows uniform noise + K/10 at the label, normalised */
static void draw(float *p, int32_t *labels, int64_t n, int64_t k, uint64_t seed)
{
	uint64_t s = seed;
	for (int64_t i = 0; i < n; i++) {
		float *row = p + i * k;
		double sum = 0;
		labels[i] = (int32_t)(((splitmix(&s) >> 32) * (uint64_t)k) >> 32);
		for (int64_t c = 0; c < k; c++)
			sum += row[c] = (float)(splitmix(&s) >> 40) * 0x1p-24f;
		row[labels[i]] += (float)k / 10;
		sum += (double)k / 10;
		double inv = 1.0 / sum;
		for (int64_t c = 0; c < k; c++)
			row[c] = (float)(row[c] * inv);
	}
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[MAX_REPS];
	memcpy(s, v, sizeof(double) * (size_t)n);
	qsort(s, (size_t)n, sizeof(double), by_double);
	return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

static double best(const double *v, int n)
{
	double b = v[0];
	for (int i = 1; i < n; i++)
		b = v[i] < b ? v[i] : b;
	return b;
}

struct result {
	double li, ov; /* seconds */
	double cpu;    /* CPU seconds of both */
	int64_t flagged, estimated, pairs;
	double accuracy;
};

/* one timed run of both analyses, as the plugins run them (each its own joint) */
static int analyse(const float *p, const int32_t *labels, int64_t n, int64_t k, struct result *r)
{
	lp_joint j1 = {0}, j2 = {0};
	lp_issues it = {0};
	lp_overlap o = {0};
	lp_issues_opts opts = {LP_NOISE_RATE, 1, 0.15};
	float *noise = malloc(sizeof(float) * (size_t)k);

	double c0 = cpu_now(), t0 = now();
	int rc = noise ? lp_joint_open_memory(NULL, "label_issues", "probs", p, labels, n, k, &j1)
		       : LP_ERR_NOMEM;
	if (!rc)
		rc = lp_issues_compute(NULL, NULL, &j1, &opts, &it);
	if (!rc)
		lp_issues_class_noise(&j1, noise);
	double t1 = now();
	if (!rc)
		rc = lp_joint_open_memory(NULL, "overlap", "probs", p, labels, n, k, &j2);
	if (!rc)
		rc = lp_overlap_compute(NULL, NULL, &j2, 10, 5, &o);
	double t2 = now();
	r->li = t1 - t0, r->ov = t2 - t1, r->cpu = cpu_now() - c0;
	r->flagged = 0;
	for (int64_t i = 0; !rc && i < n; i++)
		r->flagged += it.flagged[i];
	r->estimated = it.estimated, r->pairs = o.npairs, r->accuracy = o.accuracy;
	lp_issues_free(&it);
	lp_overlap_free(&o);
	lp_joint_free(&j1);
	lp_joint_free(&j2);
	free(noise);
	return rc;
}

/* the bandwidth peer: one plain pass summing the matrix (8 float lanes, as a compiler does) */
static double read_once(const float *p, int64_t count, double *sum)
{
	float acc[8] = {0};
	double t0 = now();
	int64_t i = 0;
	for (; i + 8 <= count; i += 8)
		for (int l = 0; l < 8; l++)
			acc[l] += p[i + l];
	for (; i < count; i++)
		acc[0] += p[i];
	*sum = 0;
	for (int l = 0; l < 8; l++)
		*sum += acc[l];
	return now() - t0;
}

/* the numpy peer's JSON line, or an {"error": ...} object */
static void numpy_peer(int64_t n, int64_t k, uint64_t seed, int reps, char *out, size_t size)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
		 "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "
		 "%s/analyses/analyses_numpy.py %lld %lld %llu %d",
		 LOUPE_BENCH_DIR, (long long)n, (long long)k, (unsigned long long)seed, reps);
	FILE *f = popen(cmd, "r");
	out[0] = 0;
	if (f) {
		if (!fgets(out, (int)size, f))
			out[0] = 0;
		pclose(f);
	}
	out[strcspn(out, "\n")] = 0;
	if (out[0] != '{')
		snprintf(out, size, "{\"error\": \"%s did not answer (numpy for /usr/bin/python3?)\"}",
			 "analyses_numpy.py");
}

struct opts {
	int64_t n, k;
	int reps, grid, numpy;
	uint64_t seed;
};

/* Numpy needs the matrix plus its blocks' temporaries: run where that leaves room. */
static int numpy_fits(int64_t n, int64_t k)
{
	long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	return pages > 0 && (double)n * (double)k * 4 * 1.5 + 1e9 < (double)pages * (double)size;
}

/* one size, in this (child) process: its JSON object on stdout */
static int run_size(const struct opts *o, int64_t n, int64_t k, int reps, int numpy,
		    const char *end)
{
	size_t bytes = sizeof(float) * (size_t)(n * k);
	float *p = malloc(bytes);
	int32_t *labels = malloc(sizeof(int32_t) * (size_t)n);
	double t[MAX_REPS], li[MAX_REPS], ov[MAX_REPS], rd[MAX_REPS], cpu[MAX_REPS], sum = 0;
	struct result r = {0};

	if (!p || !labels) {
		printf("    {\"n\": %lld, \"k\": %lld, \"error\": \"out of memory\"}%s\n",
		       (long long)n, (long long)k, end);
		return 1;
	}
	draw(p, labels, n, k, o->seed);
	for (int i = 0; i < reps; i++) { /* alternate ours and the read, so load hurts both */
		rd[i] = read_once(p, n * k, &sum);
		if (analyse(p, labels, n, k, &r)) {
			printf("    {\"n\": %lld, \"k\": %lld, \"error\": \"%s\"}%s\n", (long long)n,
			       (long long)k, errmsg, end);
			return 1;
		}
		li[i] = r.li, ov[i] = r.ov, t[i] = r.li + r.ov, cpu[i] = r.cpu;
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double peak = (double)ru.ru_maxrss * 1024;
	printf("    {\"n\": %lld, \"k\": %lld, \"reps\": %d, \"best_s\": %.4f, \"median_s\": %.4f,\n"
	       "     \"label_issues_median_s\": %.4f, \"overlap_median_s\": %.4f,\n"
	       "     \"cpu_best_s\": %.4f, \"cpu_median_s\": %.4f,\n"
	       "     \"reps_s\": [",
	       (long long)n, (long long)k, reps, best(t, reps), median(t, reps),
	       median(li, reps), median(ov, reps), best(cpu, reps), median(cpu, reps));
	for (int i = 0; i < reps; i++)
		printf("%s%.4f", i ? ", " : "", t[i]);
	printf("],\n     \"read_once_best_s\": %.4f, \"read_GBps\": %.2f, \"x_read\": %.2f,\n"
	       "     \"matrix_bytes\": %zu, \"peak_rss_bytes\": %.0f, \"peak_over_matrix\": %.3f,\n"
	       "     \"flagged\": %lld, \"estimated\": %lld, \"pairs\": %lld, \"accuracy\": %.6f,"
	       " \"checksum\": %.3f",
	       best(rd, reps), (double)bytes / best(rd, reps) / 1e9, best(t, reps) / best(rd, reps),
	       bytes, peak, peak / (double)bytes, (long long)r.flagged, (long long)r.estimated,
	       (long long)r.pairs, r.accuracy, sum);
	free(p);
	free(labels);
	if (numpy && numpy_fits(n, k)) {
		char line[2048];
		numpy_peer(n, k, o->seed, reps < 3 ? reps : 3, line, sizeof line);
		double nb = 0;
		const char *at = strstr(line, "\"best_s\": ");
		if (at)
			nb = atof(at + 10);
		printf(",\n     \"numpy_peer\": %s", line);
		if (nb > 0)
			printf(",\n     \"numpy_over_ours\": %.2f", nb / best(t, reps));
	} else if (numpy) {
		printf(",\n     \"numpy_peer\": {\"skipped\": \"not enough free memory\"}");
	}
	printf("}%s\n", end);
	return 0;
}

/* run_size in a child process, its lines passed on; returns the median seconds it reported
 * (for the growth fits), -1 if none */
static double child(const struct opts *o, int64_t n, int64_t k, int reps, int numpy,
		    const char *end)
{
	int fd[2];
	double med = -1;

	fflush(stdout);
	if (pipe(fd))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(fd[0]);
		dup2(fd[1], 1);
		int rc = run_size(o, n, k, reps, numpy, end);
		fflush(stdout);
		_exit(rc);
	}
	close(fd[1]);
	FILE *f = fdopen(fd[0], "r");
	char line[4096];
	while (f && fgets(line, sizeof line, f)) {
		fputs(line, stdout);
		const char *at = strstr(line, "\"median_s\": ");
		if (at && med < 0)
			med = atof(at + 12);
	}
	if (f)
		fclose(f);
	waitpid(pid, NULL, 0);
	fflush(stdout);
	return med;
}

/* least-squares slope of log t against log x */
static double slope(const double *x, const double *t, int m)
{
	double sx = 0, st = 0, sxx = 0, sxt = 0;
	for (int i = 0; i < m; i++) {
		double a = log(x[i]), b = log(t[i]);
		sx += a, st += b, sxx += a * a, sxt += a * b;
	}
	return (m * sxt - sx * st) / (m * sxx - sx * sx);
}

static void load(const char *key)
{
	char buf[128] = "";
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (!fgets(buf, sizeof buf, f))
			buf[0] = 0;
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
	printf("  \"%s\": \"%s\",\n", key, buf);
}

static void grid(const struct opts *o)
{
	static const double ns[] = {1e4, 3e4, 1e5, 3e5, 1e6}, ks[] = {10, 30, 100, 300, 1000};
	double tn[5], tk[5];

	printf("  \"growth_n_at_k100\": [\n");
	for (int i = 0; i < 5; i++)
		tn[i] = child(o, (int64_t)ns[i], 100, 5, 0, i < 4 ? "," : "");
	printf("  ],\n  \"growth_k_at_n1e5\": [\n");
	for (int i = 0; i < 5; i++)
		tk[i] = child(o, 100000, (int64_t)ks[i], 5, 0, i < 4 ? "," : "");
	printf("  ],\n  \"exponent_n\": %.3f,\n  \"exponent_k\": %.3f,\n", slope(ns, tn, 5),
	       slope(ks, tk, 5));
}

static const char usage[] =
	"usage: bench_analyses [--n N --k K] [--reps R] [--no-grid] [--no-numpy] [--seed S]\n"
	"  (JSON on stdout; default 1000000 x 1000, R = 5, then 15620 x 67 and the growth grid)\n";

int main(int argc, char **argv)
{
	struct opts o = {1000000, 1000, 5, 1, 1, 11};

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--n") && v)
			o.n = atoll(v), i++;
		else if (!strcmp(a, "--k") && v)
			o.k = atoll(v), i++;
		else if (!strcmp(a, "--reps") && v)
			o.reps = atoi(v), i++;
		else if (!strcmp(a, "--seed") && v)
			o.seed = strtoull(v, NULL, 10), i++;
		else if (!strcmp(a, "--no-grid"))
			o.grid = 0;
		else if (!strcmp(a, "--no-numpy"))
			o.numpy = 0;
		else {
			fprintf(stderr, "bench_analyses: bad option %s\n%s", a, usage);
			return 2;
		}
	}
	if (o.n < 1 || o.k < 2 || o.reps < 1 || o.reps > MAX_REPS) {
		fprintf(stderr, "bench_analyses: need n >= 1, k >= 2, 1 <= reps <= %d\n%s",
			MAX_REPS, usage);
		return 2;
	}
	printf("{\n  \"bench\": \"analyses\",\n  \"threads\": 1,\n  \"seed\": %llu,\n",
	       (unsigned long long)o.seed);
	printf("  \"reference\": \"cleanlab 2.9 on 1000000 x 1000 (issue 11, not measured here): "
	       "31.6 s find_label_issues + 4.4 s find_overlapping_classes\",\n");
	load("load_before");
	printf("  \"sizes\": [\n");
	child(&o, o.n, o.k, o.reps, o.numpy, ",");
	child(&o, 15620, 67, o.reps * 4 < MAX_REPS ? o.reps * 4 : MAX_REPS, o.numpy, "");
	printf("  ],\n");
	if (o.grid)
		grid(&o);
	load("load_after");
	printf("  \"command\": \"build/bench/bench_analyses%s\"\n}\n", argc > 1 ? " ..." : "");
	return 0;
}
