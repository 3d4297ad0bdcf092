/*
 * test_archive.c — the run archive round-trips what it is given: every dtype, a scalar, rank 3,
 * an empty dataset, UTF-8 strings, axis names and all three kinds of attribute, a dataset
 * replaced by one of another shape; read back from a fresh read-only handle and compared with
 * the values written here. Errors carry the status and name the file and the object, and HDF5
 * prints nothing on the way (stderr is captured around the error cases and must stay empty).
 *
 * Exits 0 when all checks pass; prints "FAIL: ..." lines and exits 1 otherwise.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loupe/archive.h"
#include "loupe/loupe.h"

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	/* stdout: stderr may be captured at the time */
	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	failures++;
}

#define CHECK(cond, ...) do { if (!(cond)) fail(__VA_ARGS__); } while (0)
#define OK(call) do { int rc_ = (call); \
	if (rc_ != LP_OK) fail("%s:%d: %s -> %d: %s", __FILE__, __LINE__, #call, rc_, \
			      lp_ctx_errmsg(ctx)); } while (0)

static lp_ctx *ctx;
static char dir[256], file[300];

static const char script[] = "-- experiment\nlocal x = loupe.tensor{ name = \"café\" }\n";
static const float f32[3][4] = { { -1.5f, 0, 0.25f, 1 }, { 2, 3.75f, -0.125f, 1e-3f },
				 { 1e30f, -1e-30f, 7, 8 } };
static const int32_t i32[2][3] = { { INT32_MIN, -1, 0 }, { 1, 123456, INT32_MAX } };
static const int64_t i64[2][2] = { { INT64_MIN, -((int64_t)1 << 40) }, { 0, INT64_MAX } };
static const uint8_t u8[6] = { 0, 1, 127, 128, 254, 255 };
static const char *const names[5] = { "café", "größe", "日本", "", "plain" };

/* ---- writing ---------------------------------------------------------------------------- */

static void write_all(void)
{
	lp_provenance prov = { .command = "test_archive --all", .script_path = "inline.lua",
			       .script_text = script, .seed = 42, .git_rev = "abc123" };
	const char *ax2[2] = { "row", "col" }, *ax3[3] = { "x", "y", "z" };
	const char *ax_half[2] = { "a", NULL }, *ax_empty[2] = { "item", "feature" };
	int64_t d1[1] = { 5 }, d2[2] = { 3, 4 }, d3[3] = { 2, 3, 4 }, d0[2] = { 0, 5 };
	int32_t first[5] = { 9, 9, 9, 9, 9 };
	float r3[24], scalar = 3.5f;
	lp_archive *a;
	int i;

	for (i = 0; i < 24; i++)
		r3[i] = (float)i * 0.5f - 6;
	if (lp_archive_create(ctx, file, &prov, &a) != LP_OK) {
		fail("create %s: %s", file, lp_ctx_errmsg(ctx));
		exit(1);
	}
	CHECK(strcmp(lp_archive_path(a), file) == 0, "lp_archive_path: %s", lp_archive_path(a));
	OK(lp_archive_write(a, "/data/f32", LP_F32, 2, d2, ax2, f32));
	OK(lp_archive_write(a, "/data/i32", LP_I32, 1, d1, NULL, first));
	d2[0] = 2, d2[1] = 3; /* replaced below by another shape */
	OK(lp_archive_write(a, "/data/i32", LP_I32, 2, d2, NULL, i32));
	d2[1] = 2;
	OK(lp_archive_write(a, "/data/i64", LP_I64, 2, d2, ax_half, i64));
	d1[0] = 6;
	OK(lp_archive_write(a, "/data/u8", LP_U8, 1, d1, NULL, u8));
	OK(lp_archive_write(a, "/data/scalar", LP_F32, 0, NULL, NULL, &scalar));
	OK(lp_archive_write(a, "/deep/nested/r3", LP_F32, 3, d3, ax3, r3));
	OK(lp_archive_write(a, "/data/empty", LP_I32, 2, d0, ax_empty, NULL));
	OK(lp_archive_write_strings(a, "/data/names", 5, names, "item"));
	OK(lp_archive_write_strings(a, "/data/none", 0, NULL, NULL));
	OK(lp_archive_group(a, "/empty_group"));
	OK(lp_archive_group(a, "/empty_group"));
	OK(lp_archive_attr_string(a, "/data", "note", "first"));
	OK(lp_archive_attr_string(a, "/data", "note", "naïve ✓"));
	OK(lp_archive_attr_number(a, "/data/f32", "scale", 0.1));
	OK(lp_archive_attr_int(a, "/", "answer", -7));
	OK(lp_archive_attr_int(a, "/deep/nested/r3", "count", INT64_MIN));
	OK(lp_archive_attr_string(a, "/data", "nothing", NULL));
	lp_ctx_seed(ctx, 4242); /* close records the context's seed */
	OK(lp_archive_close(a));
	CHECK(lp_archive_close(NULL) == LP_OK, "lp_archive_close(NULL)");
}

/* ---- reading ---------------------------------------------------------------------------- */

static void check_attr(lp_archive *a, const char *obj, const char *name, const char *want)
{
	char *got = NULL;
	int rc = lp_archive_attr_get(a, obj, name, &got);

	if (rc != LP_OK)
		fail("attr %s %s: %d: %s", obj, name, rc, lp_ctx_errmsg(ctx));
	else if (want && strcmp(got, want) != 0)
		fail("attr %s %s: got '%s', want '%s'", obj, name, got, want);
	free(got);
}

static void check_shape(lp_archive *a, const char *path, int dtype, int rank, const int64_t *dims)
{
	int64_t got[LP_MAX_RANK];
	int dt = -1, r = -1, i;

	OK(lp_archive_info(a, path, &dt, &r, got));
	CHECK(dt == dtype, "%s: dtype %d, want %d", path, dt, dtype);
	CHECK(r == rank, "%s: rank %d, want %d", path, r, rank);
	for (i = 0; r == rank && i < rank; i++)
		CHECK(got[i] == dims[i], "%s: dim %d is %lld, want %lld", path, i,
		      (long long)got[i], (long long)dims[i]);
}

static void check_data(lp_archive *a, const char *path, int dtype, const void *want,
		       size_t bytes)
{
	void *got = malloc(bytes ? bytes : 1);

	OK(lp_archive_read(a, path, dtype, got, bytes));
	CHECK(memcmp(got, want, bytes) == 0, "%s: values differ", path);
	free(got);
}

struct names_seen {
	int n;
	char text[LP_MAX_RANK * 2][64];
	int kind[LP_MAX_RANK * 2];
};

static void on_axis(void *user, int i, const char *label)
{
	struct names_seen *s = user;

	if (i != s->n)
		fail("axis callback index %d, want %d", i, s->n);
	if (s->n < LP_MAX_RANK * 2)
		snprintf(s->text[s->n++], sizeof(s->text[0]), "%s", label);
}

static void on_child(void *user, const char *name, int kind)
{
	struct names_seen *s = user;

	if (s->n < LP_MAX_RANK * 2) {
		s->kind[s->n] = kind;
		snprintf(s->text[s->n++], sizeof(s->text[0]), "%s", name);
	}
}

/* want: comma-separated names */
static void check_names(const char *what, const struct names_seen *s, const char *want)
{
	char got[512] = "";
	int i;

	for (i = 0; i < s->n; i++) {
		if (i)
			strcat(got, ",");
		strcat(got, s->text[i]);
	}
	CHECK(strcmp(got, want) == 0, "%s: got '%s', want '%s'", what, got, want);
}

static void check_axes(lp_archive *a, const char *path, const char *want)
{
	struct names_seen s = { 0 };

	OK(lp_archive_axes(a, path, on_axis, &s));
	check_names(path, &s, want);
}

static void check_strings(lp_archive *a, const char *path, size_t n, const char *const *want)
{
	char **got = NULL;
	size_t m = 99, i;

	OK(lp_archive_read_strings(a, path, &m, &got));
	CHECK(m == n, "%s: %zu strings, want %zu", path, m, n);
	for (i = 0; got && i < m && i < n; i++)
		CHECK(strcmp(got[i], want[i]) == 0, "%s[%zu]: '%s', want '%s'", path, i, got[i],
		      want[i]);
	free(got);
}

static void check_root(lp_archive *a)
{
	const lp_plugin_record *recs = NULL;
	size_t n = lp_ctx_plugins(ctx, &recs), i;
	const char *col[16] = { 0 };
	const char *text[1] = { script };
	char *created = NULL;
	int64_t dims[1] = { (int64_t)n };

	check_attr(a, "/", "format_version", "1");
	check_attr(a, "/", "loupe_version", LOUPE_VERSION);
	check_attr(a, "/", "command", "test_archive --all");
	check_attr(a, "/", "seed", "4242");
	check_attr(a, "/", "git_rev", "abc123");
	check_attr(a, "/", "host", NULL);
	check_attr(a, "/", "device", NULL);
	check_attr(a, "/", "driver", NULL);
	OK(lp_archive_attr_get(a, "/", "created", &created));
	CHECK(created && strlen(created) == 20 && created[4] == '-' && created[10] == 'T' &&
	      created[19] == 'Z', "created: '%s' is not YYYY-MM-DDTHH:MM:SSZ", created);
	free(created);
	check_strings(a, "/provenance/script", 1, text);
	check_attr(a, "/provenance", "script_path", "inline.lua");
	check_shape(a, "/provenance/plugins/sha256", 0, 1, dims);
	if (n > 16)
		return;
	for (i = 0; i < n; i++)
		col[i] = recs[i].name;
	check_strings(a, "/provenance/plugins/name", n, col);
	for (i = 0; i < n; i++)
		col[i] = recs[i].sha256;
	check_strings(a, "/provenance/plugins/sha256", n, col);
	check_axes(a, "/provenance/plugins/path", "plugin");
}

static void check_values(lp_archive *a)
{
	int64_t d0[2] = { 0, 5 }, d2[2] = { 3, 4 }, d3[3] = { 2, 3, 4 }, d6[1] = { 6 };
	int64_t dn[1] = { 5 }, dz[1] = { 0 }, i64_from_u8[6];
	float r3[24];
	int i;

	for (i = 0; i < 24; i++)
		r3[i] = (float)i * 0.5f - 6;
	for (i = 0; i < 6; i++)
		i64_from_u8[i] = u8[i];
	check_shape(a, "/data/f32", LP_F32, 2, d2);
	check_data(a, "/data/f32", LP_F32, f32, sizeof(f32));
	d2[0] = 2, d2[1] = 3;
	check_shape(a, "/data/i32", LP_I32, 2, d2);
	check_data(a, "/data/i32", LP_I32, i32, sizeof(i32));
	d2[1] = 2;
	check_shape(a, "/data/i64", LP_I64, 2, d2);
	check_data(a, "/data/i64", LP_I64, i64, sizeof(i64));
	check_shape(a, "/data/u8", LP_U8, 1, d6);
	check_data(a, "/data/u8", LP_U8, u8, sizeof(u8));
	check_data(a, "/data/u8", LP_I64, i64_from_u8, sizeof(i64_from_u8)); /* converted */
	check_shape(a, "/data/scalar", LP_F32, 0, NULL);
	check_data(a, "/data/scalar", LP_F32, &(float){ 3.5f }, sizeof(float));
	check_shape(a, "/deep/nested/r3", LP_F32, 3, d3);
	check_data(a, "/deep/nested/r3", LP_F32, r3, sizeof(r3));
	check_shape(a, "/data/empty", LP_I32, 2, d0);
	check_data(a, "/data/empty", LP_I32, "", 0);
	check_shape(a, "/data/names", 0, 1, dn);
	check_strings(a, "/data/names", 5, names);
	check_shape(a, "/data/none", 0, 1, dz);
	check_strings(a, "/data/none", 0, NULL);

	check_axes(a, "/data/f32", "row,col");
	check_axes(a, "/data/i32", "dim_0,dim_1");
	check_axes(a, "/data/i64", "a,dim_1");
	check_axes(a, "/data/u8", "dim_0");
	check_axes(a, "/data/scalar", "");
	check_axes(a, "/deep/nested/r3", "x,y,z");
	check_axes(a, "/data/empty", "item,feature");
	check_axes(a, "/data/names", "item");
	check_attr(a, "/data/f32", "axes", "row,col");

	check_attr(a, "/data", "note", "naïve ✓");
	check_attr(a, "/data", "nothing", "");
	check_attr(a, "/data/f32", "scale", "0.10000000000000001");
	check_attr(a, "/", "answer", "-7");
	check_attr(a, "/deep/nested/r3", "count", "-9223372036854775808");
}

static void check_tree(lp_archive *a)
{
	static const struct { const char *path; int kind; } want[] = {
		{ "/", 1 }, { "/data", 1 }, { "/data/", 1 }, { "/data/f32", 2 },
		{ "/deep/nested", 1 }, { "/empty_group", 1 }, { "/provenance/script", 2 },
		{ "/nope", 0 }, { "/nope/deeper/still", 0 }, { "/data/f32/below", 0 },
		{ "/data/f32x", 0 },
	};
	struct names_seen s = { 0 };
	size_t i;
	int kind;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		kind = -1;
		OK(lp_archive_exists(a, want[i].path, &kind));
		CHECK(kind == want[i].kind, "exists %s: kind %d, want %d", want[i].path, kind,
		      want[i].kind);
	}
	OK(lp_archive_list(a, "/", on_child, &s));
	check_names("list /", &s, "data,deep,empty_group,provenance");
	for (i = 0; i < (size_t)s.n; i++)
		CHECK(s.kind[i] == 1, "list /: %s has kind %d, want 1", s.text[i], s.kind[i]);
	memset(&s, 0, sizeof(s));
	OK(lp_archive_list(a, "/data", on_child, &s));
	check_names("list /data", &s, "empty,f32,i32,i64,names,none,scalar,u8");
	for (i = 0; i < (size_t)s.n; i++)
		CHECK(s.kind[i] == 2, "list /data: %s has kind %d, want 2", s.text[i], s.kind[i]);
	memset(&s, 0, sizeof(s));
	OK(lp_archive_list(a, "/empty_group", on_child, &s));
	CHECK(s.n == 0, "list /empty_group: %d children", s.n);
}

/* ---- errors ----------------------------------------------------------------------------- */

/* The call failed with `code` and its message contains each of the (up to two) strings. */
static void check_error(const char *what, int rc, int code, const char *s1, const char *s2)
{
	const char *msg = lp_ctx_errmsg(ctx) ? lp_ctx_errmsg(ctx) : "";

	CHECK(rc == code, "%s: status %d, want %d (%s)", what, rc, code, msg);
	CHECK(strncmp(msg, "archive:", 8) == 0, "%s: message '%s' does not start with "
	      "'archive:'", what, msg);
	CHECK(!s1 || strstr(msg, s1), "%s: message '%s' does not name '%s'", what, msg, s1);
	CHECK(!s2 || strstr(msg, s2), "%s: message '%s' does not name '%s'", what, msg, s2);
}

static void check_errors_readonly(lp_archive *a)
{
	float buf[12];
	char *text = NULL, **strs = NULL;
	size_t n;
	int kind, rc;

	rc = lp_archive_read(a, "data/f32", LP_F32, buf, sizeof(buf));
	check_error("relative path", rc, LP_ERR_ARG, "data/f32", file);
	rc = lp_archive_exists(a, "", &kind);
	check_error("empty path", rc, LP_ERR_ARG, file, NULL);
	rc = lp_archive_read(a, "/data/missing", LP_F32, buf, sizeof(buf));
	CHECK(rc != LP_OK, "reading a missing dataset succeeded");
	check_error("missing dataset", rc, rc, file, "/data/missing");
	rc = lp_archive_read(a, "/nope/deeper/x", LP_F32, buf, sizeof(buf));
	CHECK(rc != LP_OK, "reading under a missing group succeeded");
	check_error("missing group", rc, rc, file, "/nope/deeper/x");
	rc = lp_archive_read(a, "/data/f32", LP_F32, buf, sizeof(buf) - 4);
	check_error("wrong byte count", rc, LP_ERR_SHAPE, file, "/data/f32");
	CHECK(strstr(lp_ctx_errmsg(ctx), "48") && strstr(lp_ctx_errmsg(ctx), "44"),
	      "wrong byte count: message '%s' does not give 48 and 44", lp_ctx_errmsg(ctx));
	rc = lp_archive_read(a, "/data/f32", 99, buf, sizeof(buf));
	check_error("unknown dtype", rc, LP_ERR_ARG, "/data/f32", NULL);
	rc = lp_archive_read(a, "/data", LP_F32, buf, sizeof(buf));
	CHECK(rc != LP_OK, "reading a group as a dataset succeeded");
	check_error("group as dataset", rc, rc, file, "/data");
	rc = lp_archive_read_strings(a, "/data/f32", &n, &strs);
	check_error("numbers as strings", rc, LP_ERR_FORMAT, "/data/f32", NULL);
	rc = lp_archive_read(a, "/data/names", LP_F32, buf, sizeof(buf));
	check_error("strings as numbers", rc, LP_ERR_FORMAT, "/data/names", NULL);
	rc = lp_archive_attr_get(a, "/data", "missing_attr", &text);
	CHECK(rc != LP_OK, "reading a missing attribute succeeded");
	check_error("missing attribute", rc, rc, "/data", "missing_attr");
	rc = lp_archive_write(a, "/data/new", LP_F32, 0, NULL, NULL, buf);
	CHECK(rc != LP_OK, "writing to a read-only archive succeeded");
	check_error("read-only write", rc, rc, file, "/data/new");
	rc = lp_archive_attr_int(a, "/", "x", 1);
	CHECK(rc != LP_OK, "writing an attribute to a read-only archive succeeded");
}

static void check_errors_files(void)
{
	char missing[320], junk[320], nodir[320];
	lp_provenance prov = { .script_path = junk };
	lp_archive *a = NULL;
	int64_t dims[1] = { 2 };
	float v[2] = { 1, 2 };
	FILE *f;
	int rc;

	snprintf(missing, sizeof(missing), "%s/missing.h5", dir);
	snprintf(junk, sizeof(junk), "%s/junk.h5", dir);
	snprintf(nodir, sizeof(nodir), "%s/no/such/dir/run.h5", dir);
	rc = lp_archive_open(ctx, missing, 0, &a);
	check_error("open missing file", rc, LP_ERR_IO, missing, NULL);
	CHECK(a == NULL, "open missing file: handle not NULL");
	f = fopen(junk, "w");
	if (f) {
		fputs("not an HDF5 file\n", f);
		fclose(f);
	}
	rc = lp_archive_open(ctx, junk, 0, &a);
	check_error("open non-HDF5 file", rc, LP_ERR_HDF5, junk, NULL);
	rc = lp_archive_create(ctx, nodir, NULL, &a);
	check_error("create in a missing directory", rc, LP_ERR_IO, nodir, NULL);
	prov.script_path = missing;
	rc = lp_archive_create(ctx, junk, &prov, &a);
	check_error("missing script", rc, LP_ERR_IO, missing, NULL);

	/* writing errors: a group where a dataset goes, the reverse, bad arguments. A writable
	 * reopen must leave the run's provenance alone (the seed below is not recorded). */
	lp_ctx_seed(ctx, 99);
	if (lp_archive_open(ctx, file, 1, &a) != LP_OK) {
		fail("reopen writable: %s", lp_ctx_errmsg(ctx));
		return;
	}
	rc = lp_archive_write(a, "/data", LP_F32, 1, dims, NULL, v);
	check_error("dataset over a group", rc, LP_ERR_ARG, "/data", NULL);
	rc = lp_archive_group(a, "/data/f32");
	check_error("group over a dataset", rc, LP_ERR_ARG, "/data/f32", NULL);
	rc = lp_archive_write(a, "/data/f32/below", LP_F32, 1, dims, NULL, v);
	CHECK(rc != LP_OK, "dataset under a dataset succeeded");
	check_error("dataset under a dataset", rc, rc, file, "/data/f32/below");
	rc = lp_archive_write(a, "/data/x", 0, 1, dims, NULL, v);
	check_error("dtype 0", rc, LP_ERR_ARG, "/data/x", NULL);
	dims[0] = -1;
	rc = lp_archive_write(a, "/data/x", LP_F32, 1, dims, NULL, v);
	check_error("negative dim", rc, LP_ERR_ARG, "/data/x", NULL);
	rc = lp_archive_write(a, "/data/x", LP_F32, LP_MAX_RANK + 1, dims, NULL, v);
	check_error("rank too high", rc, LP_ERR_ARG, "/data/x", NULL);
	rc = lp_archive_attr_string(a, "relative", "x", "y");
	check_error("relative attribute object", rc, LP_ERR_ARG, "relative", NULL);
	rc = lp_archive_attr_int(a, "/no/object", "x", 1);
	CHECK(rc != LP_OK, "attribute on a missing object succeeded");
	check_error("attribute on missing object", rc, rc, "/no/object", NULL);
	OK(lp_archive_close(a));
}

/* Run the error cases with stderr sent to a file, which must stay empty. */
static void check_errors_quietly(void)
{
	char capture[320];
	lp_archive *a;
	struct stat st;
	int saved, fd;

	snprintf(capture, sizeof(capture), "%s/stderr.txt", dir);
	fflush(stderr);
	saved = dup(2);
	fd = open(capture, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (saved < 0 || fd < 0 || dup2(fd, 2) < 0) {
		fail("cannot capture stderr");
		return;
	}
	close(fd);
	if (lp_archive_open(ctx, file, 0, &a) == LP_OK) {
		check_errors_readonly(a);
		OK(lp_archive_close(a));
	} else {
		fail("reopen: %s", lp_ctx_errmsg(ctx));
	}
	check_errors_files();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	CHECK(stat(capture, &st) == 0 && st.st_size == 0,
	      "something printed to stderr during the error cases (see %s)", capture);
	if (!failures)
		unlink(capture);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	char junk[320];
	lp_archive *a;

	if (lp_ctx_new(&ctx) != LP_OK) {
		printf("FAIL: lp_ctx_new\n");
		return 1;
	}
	lp_ctx_seed(ctx, 42);
	snprintf(dir, sizeof(dir), "%s/loupe_test_archive_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		printf("FAIL: mkdtemp %s\n", dir);
		return 1;
	}
	snprintf(file, sizeof(file), "%s/run.h5", dir);
	write_all();
	if (lp_archive_open(ctx, file, 0, &a) != LP_OK) {
		fail("reopen %s: %s", file, lp_ctx_errmsg(ctx));
		return 1;
	}
	check_root(a);
	check_values(a);
	check_tree(a);
	OK(lp_archive_close(a));
	check_errors_quietly();
	if (lp_archive_open(ctx, file, 0, &a) == LP_OK) {
		check_attr(a, "/", "seed", "4242");
		check_attr(a, "/", "answer", "-7");
		OK(lp_archive_close(a));
	}
	if (failures) {
		printf("test_archive: %d failures; files kept in %s\n", failures, dir);
		lp_ctx_free(ctx);
		return 1;
	}
	snprintf(junk, sizeof(junk), "%s/junk.h5", dir);
	unlink(junk);
	unlink(file);
	rmdir(dir);
	lp_ctx_free(ctx);
	printf("test_archive: ok\n");
	return 0;
}
