/* loader.c — the loader's pixel work on one thread, images/s, against Pillow in the same run.
 *
 *   build/bench/bench_loader [--images N] [--passes P] [--reps R] [--json-only] [--no-pillow]
 *
 * Per image, both sides: read the file, decode the JPEG to RGB, scale the short side to 256
 * (bilinear, antialiased), take a random 227 x 227 crop, flip with p 1/2, brightness, contrast
 * and saturation jitter of 0.2, and make float32 CHW normalised with ImageNet's mean and std.
 * loupe: lp_image_load + lp_augment_image (window and resample in one pass). Pillow (Debian's
 * python3-pil through /usr/bin/python3, one process, BLAS/OpenMP threads 1): Image.open + load,
 * resize + crop + transpose, ImageEnhance, numpy — bench/loader/loader_pillow.py.
 *
 * The files are made here, with libjpeg (quality 90, 4:2:0): photo-like scenes (lit walls and
 * floors, hard-edged objects with their own gradients, textures, sensor noise) of MIT
 * Indoor67's usual sizes around 500 x 375, landscape and portrait, in a temporary directory
 * removed at the end. Two configs: with the colour jitter and without it. Repetitions alternate
 * loupe and Pillow (ABAB...) so that a noisy CPU hurts both alike; each figure is the median over
 * the repetitions. ratio_vs_pillow > 1 means loupe is faster (wall clock; the same on CPU
 * time, which other load on the machine disturbs less). A benchmark, never a test. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jpeglib.h>

#include "loupe/image.h"
#include "loupe/loader.h"

#define OUT_SIDE 227
#define RESIZE   256
#define QUALITY  90
#define MAX_REPS 64

static const char usage[] =
	"usage: bench_loader [options]   (JSON on stdout)\n"
	"  --images N     distinct JPEG files (default 200)\n"
	"  --passes P     passes over the files per repetition (default 2)\n"
	"  --reps R       repetitions per side and config, alternating loupe/Pillow (default 5)\n"
	"  --threads 1    threads per side (only 1 is measured)\n"
	"  --no-pillow    loupe alone\n"
	"  --python PATH  the Python with Pillow and numpy (default /usr/bin/python3)\n"
	"  --script PATH  the Pillow peer (default: bench/loader/loader_pillow.py in the sources)\n"
	"  --json-only    no progress on stderr\n";

static int quiet;

static double clock_s(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static void note(const char *fmt, const char *a)
{
	if (!quiet)
		fprintf(stderr, fmt, a);
}

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t z = a * 0x9e3779b97f4a7c15ull + b + 0x632be59bd9b4e019ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double uni(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15ull;
	return (double)(mix(*s, 0) >> 11) * (1.0 / 9007199254740992.0);
}

static double median(const double *v, int n)
{
	double t[MAX_REPS];
	memcpy(t, v, sizeof(double) * (size_t)n);
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
			double s = t[j];
			t[j] = t[j - 1];
			t[j - 1] = s;
		}
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

/* ---- the files ------------------------------------------------------------------------- */

/* lattice value noise, bilinear between hashed corners: one octave of texture */
static float lattice(uint64_t seed, int x, int y, int cell)
{
	int cx = x / cell, cy = y / cell;
	float fx = (float)(x % cell) / (float)cell, fy = (float)(y % cell) / (float)cell;
	float v[4];
	for (int k = 0; k < 4; k++) {
		uint64_t corner = (uint64_t)(cx + (k & 1)) * 100003u + (uint64_t)(cy + (k >> 1));
		v[k] = (float)(mix(seed, corner) >> 40) / (float)(1 << 24) - 0.5f;
	}
	return (v[0] * (1 - fx) + v[1] * fx) * (1 - fy) + (v[2] * (1 - fx) + v[3] * fx) * fy;
}

/* An indoor-looking scene: a wall and a floor under a light gradient, 12..40 objects
 * (rectangles and ellipses) with their own shading and texture, then sensor noise. */
static void paint(uint8_t *rgb, int w, int h, uint64_t seed)
{
	uint64_t s = seed;
	float *px = malloc(sizeof(float) * 4 * (size_t)w * (size_t)h); /* r, g, b, texture amp */
	float c0[3], c1[3];
	for (int c = 0; c < 3; c++) {
		c0[c] = (float)(60 + 160 * uni(&s));
		c1[c] = (float)(30 + 120 * uni(&s));
	}
	int horizon = (int)(h * (0.45 + 0.3 * uni(&s)));
	double lx = uni(&s) * w, ly = -0.3 * h * uni(&s), fall = 0.6 + 0.8 * uni(&s);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			float *p = px + 4 * ((size_t)y * w + x);
			double d = hypot(x - lx, y - ly) / hypot(w, h);
			float light = (float)(1.15 - fall * d * 0.8);
			const float *c = y < horizon ? c0 : c1;
			for (int k = 0; k < 3; k++)
				p[k] = c[k] * light;
			p[3] = y < horizon ? 8 : 24;
		}
	int objects = 30 + (int)(60 * uni(&s));
	for (int o = 0; o < objects; o++) {
		double big = uni(&s) * uni(&s); /* mostly small things, a few large */
		int bw = 4 + (int)(big * w * 0.6), bh = 4 + (int)(uni(&s) * uni(&s) * h * 0.6);
		int x0 = (int)(uni(&s) * (w - 4)), y0 = (int)(uni(&s) * (h - 4));
		int ellipse = uni(&s) < 0.35;
		float col[3], grad[2], amp = (float)(6 + 40 * uni(&s) * uni(&s));
		double grey = 40 + 170 * uni(&s), sat = 140 * uni(&s);
		for (int k = 0; k < 3; k++)
			col[k] = (float)(grey + sat * (uni(&s) - 0.5));
		grad[0] = (float)((uni(&s) - 0.5) * 120 / bw);
		grad[1] = (float)((uni(&s) - 0.5) * 120 / bh);
		for (int y = y0; y < y0 + bh && y < h; y++)
			for (int x = x0; x < x0 + bw && x < w; x++) {
				if (ellipse) {
					double u = (x - x0 - bw / 2.0) / (bw / 2.0);
					double v = (y - y0 - bh / 2.0) / (bh / 2.0);
					if (u * u + v * v > 1)
						continue;
				}
				float *p = px + 4 * ((size_t)y * w + x);
				float g = grad[0] * (float)(x - x0) + grad[1] * (float)(y - y0);
				for (int k = 0; k < 3; k++)
					p[k] = col[k] + g;
				p[3] = amp;
			}
	}
	uint64_t t1 = mix(seed, 1), t2 = mix(seed, 2), t3 = mix(seed, 3);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			float *p = px + 4 * ((size_t)y * w + x);
			float tex = p[3] * (lattice(t1, x, y, 24) + 0.8f * lattice(t2, x, y, 6) +
					    1.2f * lattice(t3, x, y, 2));
			for (int k = 0; k < 3; k++) {
				float v = p[k] + tex + (float)(7 * (uni(&s) + uni(&s) - 1));
				v = v < 0 ? 0 : v > 255 ? 255 : v;
				rgb[((size_t)y * w + x) * 3 + k] = (uint8_t)(v + 0.5f);
			}
		}
	free(px);
}

static int write_jpeg(const char *path, const uint8_t *rgb, int w, int h)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	c.err = jpeg_std_error(&err); /* our own data: libjpeg's exit on error is fine here */
	jpeg_create_compress(&c);
	jpeg_stdio_dest(&c, f);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c); /* 4:2:0, as cameras and Pillow's quality < 95 write */
	jpeg_set_quality(&c, QUALITY, TRUE);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * (size_t)w * 3);
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	return fclose(f);
}

/* MIT Indoor67's usual sizes: mostly 500 wide landscape, some portrait */
static const int sizes[][2] = { { 500, 375 }, { 500, 333 }, { 375, 500 }, { 500, 375 },
				{ 480, 360 }, { 512, 384 }, { 333, 500 }, { 500, 400 } };

static void file_path(char *buf, size_t n, const char *dir, int i)
{
	snprintf(buf, n, "%s/img%05d.jpg", dir, i);
}

static int make_files(const char *dir, int n, double *mean_bytes, double *bpp)
{
	uint8_t *rgb = malloc(512 * 512 * 3);
	double bytes = 0, pixels = 0;
	char path[4096];
	for (int i = 0; i < n && rgb; i++) {
		int w = sizes[i % 8][0], h = sizes[i % 8][1];
		paint(rgb, w, h, mix(0x10ade, (uint64_t)i));
		file_path(path, sizeof path, dir, i);
		if (write_jpeg(path, rgb, w, h))
			goto fail;
		FILE *f = fopen(path, "rb");
		if (!f || fseek(f, 0, SEEK_END)) {
			if (f)
				fclose(f);
			goto fail;
		}
		bytes += (double)ftell(f);
		pixels += (double)w * h;
		fclose(f);
	}
	*mean_bytes = bytes / n;
	*bpp = 8 * bytes / pixels;
	free(rgb);
	return rgb ? 0 : -1;
fail:
	fprintf(stderr, "bench_loader: cannot write %s: %s\n", path, strerror(errno));
	free(rgb);
	return -1;
}

static void remove_files(const char *dir, int n)
{
	char path[4096];
	for (int i = 0; i < n; i++) {
		file_path(path, sizeof path, dir, i);
		unlink(path);
	}
	rmdir(dir);
}

/* Ctrl-C or a kill still removes the files: paths are built without stdio, which a signal
 * handler may not use */
static char sig_dir[4000];
static int sig_n;

static void on_signal(int sig)
{
	char path[4096];
	size_t len = strlen(sig_dir);
	memcpy(path, sig_dir, len);
	memcpy(path + len, "/img00000.jpg", 14);
	for (int i = 0; i < sig_n; i++) {
		for (int k = 0, v = i; k < 5; k++, v /= 10)
			path[len + 8 - k] = (char)('0' + v % 10);
		unlink(path);
	}
	rmdir(sig_dir);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---- loupe ------------------------------------------------------------------------------ */

typedef struct result {
	double ips, cpu_ips, ms[4]; /* images/s (wall, CPU time); phases in ms per image */
} result;

static int loupe_rep(lp_ctx *ctx, const char *dir, int n, int passes, const lp_augment *aug,
		     uint64_t seed, float *out, result *r)
{
	char path[4096];
	double dec = 0, pix = 0, t_start = now(), c_start = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	for (int p = 0; p < passes; p++)
		for (int i = 0; i < n; i++) {
			lp_image img;
			file_path(path, sizeof path, dir, i);
			double t0 = now();
			if (lp_image_load(ctx, path, NULL, &img))
				return -1;
			double t1 = now();
			int rc = lp_augment_image(ctx, img.rgb, img.width, img.height, 3, aug,
						  mix(seed, (uint64_t)(p * n + i)), 3, out);
			double t2 = now();
			lp_image_free(&img);
			if (rc)
				return -1;
			dec += t1 - t0;
			pix += t2 - t1;
		}
	double total = now() - t_start, k = (double)n * passes;
	r->ips = k / total;
	r->cpu_ips = k / (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c_start);
	r->ms[0] = 1e3 * dec / k;
	r->ms[1] = 1e3 * pix / k;
	return 0;
}

/* ---- Pillow, a co-process answering one JSON line per "run" line ------------------------- */

typedef struct peer {
	pid_t pid;
	FILE *in, *out;
	char line[4096];
	char error[512];
} peer;

static int peer_start(peer *pp, const char *python, const char *script, const char *dir, int n)
{
	int to[2], from[2];
	char nbuf[32];
	if (pipe(to) || pipe(from))
		return -1;
	snprintf(nbuf, sizeof nbuf, "%d", n);
	pp->pid = fork();
	if (pp->pid < 0)
		return -1;
	if (pp->pid == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		close(to[0]), close(to[1]), close(from[0]), close(from[1]);
		setenv("OMP_NUM_THREADS", "1", 1);
		setenv("OPENBLAS_NUM_THREADS", "1", 1);
		setenv("MKL_NUM_THREADS", "1", 1);
		execl(python, python, script, "--serve", dir, nbuf, (char *)NULL);
		fprintf(stderr, "bench_loader: cannot run %s: %s\n", python, strerror(errno));
		_exit(127);
	}
	close(to[0]), close(from[1]);
	pp->in = fdopen(to[1], "w");
	pp->out = fdopen(from[0], "r");
	if (!pp->in || !pp->out || !fgets(pp->line, sizeof pp->line, pp->out) ||
	    !strstr(pp->line, "\"ready\"")) {
		snprintf(pp->error, sizeof pp->error, "%s %s did not start (Pillow and numpy "
			 "needed: apt-get install python3-pil python3-numpy)", python, script);
		return -1;
	}
	pp->line[strcspn(pp->line, "\n")] = 0;
	return 0;
}

static double json_num(const char *line, const char *key)
{
	char k[64];
	snprintf(k, sizeof k, "\"%s\":", key);
	const char *p = strstr(line, k);
	return p ? strtod(p + strlen(k), NULL) : -1;
}

static int peer_rep(peer *pp, int jitter, int passes, uint64_t seed, result *r)
{
	char reply[4096];
	fprintf(pp->in, "run %d %d %llu\n", jitter, passes, (unsigned long long)seed);
	fflush(pp->in);
	if (!fgets(reply, sizeof reply, pp->out) || !strstr(reply, "\"images_per_s\"")) {
		snprintf(pp->error, sizeof pp->error, "the Pillow peer stopped answering");
		return -1;
	}
	r->ips = json_num(reply, "images_per_s");
	r->cpu_ips = json_num(reply, "images_per_cpu_s");
	r->ms[0] = json_num(reply, "decode_ms");
	r->ms[1] = json_num(reply, "resize_crop_flip_ms");
	r->ms[2] = json_num(reply, "jitter_ms");
	r->ms[3] = json_num(reply, "to_float_ms");
	return 0;
}

static void peer_stop(peer *pp)
{
	if (pp->in)
		fclose(pp->in); /* EOF: the script ends */
	if (pp->out)
		fclose(pp->out);
	if (pp->pid > 0)
		waitpid(pp->pid, NULL, 0);
	pp->in = pp->out = NULL;
	pp->pid = 0;
}

/* ---- main ------------------------------------------------------------------------------- */

static void print_side(const char *name, const result *r, int reps, const char *const *phases,
		       int nphases, const char *end)
{
	double v[MAX_REPS] = { 0 };
	for (int i = 0; i < reps; i++)
		v[i] = r[i].ips;
	printf("      \"%s\": {\"images_per_s\": %.1f, \"reps_images_per_s\": [", name,
	       median(v, reps));
	for (int i = 0; i < reps; i++)
		printf("%s%.1f", i ? ", " : "", r[i].ips);
	for (int i = 0; i < reps; i++)
		v[i] = r[i].cpu_ips;
	printf("], \"images_per_cpu_s\": %.1f", median(v, reps));
	for (int k = 0; k < nphases; k++) {
		for (int i = 0; i < reps; i++)
			v[i] = r[i].ms[k];
		printf(", \"%s_ms\": %.3f", phases[k], median(v, reps));
	}
	printf("}%s\n", end);
}

int main(int argc, char **argv)
{
	int n = 200, passes = 2, reps = 5, threads = 1, pillow = 1;
	const char *python = "/usr/bin/python3";
	const char *script = LOUPE_BENCH_DIR "/loader/loader_pillow.py";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(a, "--no-pillow")) {
			pillow = 0;
		} else if (!strcmp(a, "--json-only")) {
			quiet = 1;
		} else if (v && !strcmp(a, "--images")) {
			n = atoi(v), i++;
		} else if (v && !strcmp(a, "--passes")) {
			passes = atoi(v), i++;
		} else if (v && !strcmp(a, "--reps")) {
			reps = atoi(v), i++;
		} else if (v && !strcmp(a, "--threads")) {
			threads = atoi(v), i++;
		} else if (v && !strcmp(a, "--python")) {
			python = v, i++;
		} else if (v && !strcmp(a, "--script")) {
			script = v, i++;
		} else {
			fprintf(stderr, "bench_loader: bad option %s\n%s", a, usage);
			return 2;
		}
	}
	if (n < 1 || n > 99999 || passes < 1 || reps < 1 || reps > MAX_REPS || threads != 1) {
		fprintf(stderr, "bench_loader: need 1 <= images <= 99999, passes >= 1, "
			"1 <= reps <= %d, threads = 1\n", MAX_REPS);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN); /* a dead peer is a reported error, not a kill */

	const char *tmp = getenv("TMPDIR");
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/loupe-bench-loader-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		fprintf(stderr, "bench_loader: mkdtemp %s: %s\n", dir, strerror(errno));
		return 1;
	}
	int status = 1;
	lp_ctx *ctx = NULL;
	float *out = malloc(sizeof(float) * 3 * OUT_SIDE * OUT_SIDE);
	peer pp = { 0 };
	result lr[2][MAX_REPS], pr[2][MAX_REPS];
	double mean_bytes, bpp;

	snprintf(sig_dir, sizeof sig_dir, "%s", dir);
	sig_n = n;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	note("bench_loader: writing %s files\n", dir);
	if (!out || make_files(dir, n, &mean_bytes, &bpp))
		goto out_files;
	if (lp_ctx_new(&ctx))
		goto out_files;
	if (pillow && peer_start(&pp, python, script, dir, n)) {
		note("bench_loader: %s; loupe alone\n", pp.error);
		peer_stop(&pp);
		pillow = 0;
	}

	for (int cfg = 0; cfg < 2; cfg++) {
		int jitter = cfg == 0;
		lp_augment aug = { .size = OUT_SIDE, .resize = RESIZE, .crop = LP_CROP_RANDOM,
				   .resample = LP_RESAMPLE_BILINEAR, .flip = 1,
				   .mean = { 0.485f, 0.456f, 0.406f },
				   .std = { 0.229f, 0.224f, 0.225f } };
		if (jitter)
			aug.brightness = aug.contrast = aug.saturation = 0.2;
		note("bench_loader: %s\n", jitter ? "with jitter" : "without jitter");
		/* rep -1 warms both up (page cache, allocators, Python's imports) */
		for (int rep = -1; rep < reps; rep++) {
			result warm, *l = rep < 0 ? &warm : &lr[cfg][rep];
			result *p = rep < 0 ? &warm : &pr[cfg][rep];
			uint64_t seed = mix((uint64_t)cfg, (uint64_t)(rep + 1));
			if (loupe_rep(ctx, dir, n, rep < 0 ? 1 : passes, &aug, seed, out, l)) {
				fprintf(stderr, "bench_loader: %s\n", lp_ctx_errmsg(ctx));
				goto out_peer;
			}
			if (pillow && peer_rep(&pp, jitter, rep < 0 ? 1 : passes, seed, p)) {
				fprintf(stderr, "bench_loader: %s\n", pp.error);
				goto out_peer;
			}
		}
	}

	static const char *const lph[] = { "decode", "augment" };
	static const char *const pph[] = { "decode", "resize_crop_flip", "jitter", "to_float" };
	printf("{\n  \"bench\": \"loader\",\n  \"threads_per_side\": 1,\n"
	       "  \"work\": \"read + decode JPEG, short side -> %d bilinear, random %dx%d crop, "
	       "flip, [jitter b/c/s 0.2], float32 CHW normalised\",\n"
	       "  \"files\": {\"count\": %d, \"quality\": %d, \"subsampling\": \"4:2:0\", "
	       "\"sizes\": \"500x375, 500x333, 375x500, 480x360, 512x384, 333x500, 500x400\", "
	       "\"mean_bytes\": %.0f, \"bits_per_pixel\": %.2f},\n"
	       "  \"passes\": %d,\n  \"reps\": %d,\n  \"order\": \"loupe, pillow alternating\",\n",
	       RESIZE, OUT_SIDE, OUT_SIDE, n, QUALITY, mean_bytes, bpp, passes, reps);
	if (pillow)
		printf("  \"pillow_peer\": %s,\n", pp.line);
	else
		printf("  \"pillow_peer\": {\"error\": \"%s\"},\n",
		       pp.error[0] ? pp.error : "not asked for (--no-pillow)");
	printf("  \"configs\": [\n");
	for (int cfg = 0; cfg < 2; cfg++) {
		printf("    {\n      \"config\": \"%s\",\n", cfg == 0 ? "jitter" : "no_jitter");
		print_side("loupe", lr[cfg], reps, lph, 2, pillow ? "," : "");
		if (pillow) {
			double a[MAX_REPS], b[MAX_REPS], c[MAX_REPS], d[MAX_REPS];
			for (int i = 0; i < reps; i++) {
				a[i] = lr[cfg][i].ips, b[i] = pr[cfg][i].ips;
				c[i] = lr[cfg][i].cpu_ips, d[i] = pr[cfg][i].cpu_ips;
			}
			print_side("pillow", pr[cfg], reps, pph, 4, ",");
			printf("      \"ratio_vs_pillow\": %.3f,\n",
			       median(a, reps) / median(b, reps));
			printf("      \"ratio_vs_pillow_cpu_time\": %.3f\n",
			       median(c, reps) / median(d, reps));
		}
		printf("    }%s\n", cfg == 0 ? "," : "");
	}
	printf("  ]\n}\n");
	status = 0;
out_peer:
	peer_stop(&pp);
	lp_ctx_free(ctx);
out_files:
	remove_files(dir, n);
	free(out);
	return status;
}
