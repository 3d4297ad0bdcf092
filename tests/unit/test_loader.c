/* test_loader.c — the plugin loader refuses every broken fixture with a message that names the
 * file and both sides of the mismatch, and accepts the good one. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loupe/plugins.h"
#include "test_util.h"

#define F(c) FIXTURE_DIR "/" #c "/fixture_" #c ".so"

static void refused(lp_ctx *ctx, const char *path, int code, const char *const *needles)
{
	const lp_plugin *p = (const lp_plugin *)1;
	int rc = lp_plugin_load(ctx, path, &p);

	if (rc != code || p != NULL || !tu_has_all(lp_ctx_errmsg(ctx), needles)) {
		fprintf(stderr, "FAIL %s: got %s \"%s\", wanted %s and:", path, lp_status_name(rc),
			lp_ctx_errmsg(ctx), lp_status_name(code));
		for (; *needles; needles++)
			fprintf(stderr, " [%s]", *needles);
		fprintf(stderr, "\n");
		tu_failures++;
	}
}

#define REFUSED(path, code, ...)                                                             \
	do {                                                                                 \
		const char *const n_[] = { __VA_ARGS__, NULL };                              \
		refused(ctx, path, code, n_);                                                \
	} while (0)

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	ssize_t n;

	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	close(in);
	close(out);
}

/* A layer built against ABI 1's header (tests/plugins/fixture_abi1.c) loads, declares its
 * weight, takes its parameters and computes y = scale * x + w with today's core. */
static void abi1(lp_ctx *ctx)
{
	const lp_plugin *p = NULL;
	lp_layer *l = NULL;
	lp_kv kv[] = { { "scale", { .type = LP_PARAM_NUMBER, .number = 3.0 } } };
	lp_weight_decl decl[LP_MAX_WEIGHTS];
	uint32_t nw = 0;
	int64_t in[2] = { 2, 4 };
	float x[8], y[8] = { 0 }, w[4] = { 0.5f, 1.5f, -1.0f, 0.0f };
	const float *wp[1] = { w };

	CHECK_OK(ctx, lp_plugin_load(ctx, FIXTURE_DIR "/abi1/fixture_abi1.so", &p));
	if (!p)
		return;
	CHECK(p->abi_version == 1 && p->kind == LP_KIND_LAYER && p->params[1].name &&
	      strcmp(p->params[1].name, "offset") == 0 && !p->params[2].name);
	CHECK_OK(ctx, lp_layer_new(ctx, p, kv, 1, &l));
	if (!l)
		return;
	CHECK_OK(ctx, lp_layer_weights(l, 2, in, decl, &nw));
	CHECK(nw == 1 && strcmp(decl[0].name, "w") == 0 && decl[0].rank == 1 &&
	      decl[0].dims[0] == 4 && decl[0].init == LP_INIT_CONSTANT && decl[0].a == 0.5);
	for (int i = 0; i < 8; i++)
		x[i] = (float)i - 3.0f;
	lp_ref_io io = { .size = sizeof io, .rank = 2, .out_rank = 2, .in_dims = in,
			 .out_dims = in, .x = x, .y = y, .w = wp, .nw = 1 };
	CHECK_OK(ctx, lp_layer_forward_ref(l, &io));
	for (int i = 0; i < 8; i++)
		CHECK(y[i] == 3.0f * x[i] + w[i % 4]);
	lp_layer_free(l);
}

/* A plugin that reads a parameter it never declared gets an error naming it, not a zero. */
static void undeclared(lp_ctx *ctx)
{
	const lp_plugin *p = NULL;
	lp_layer *l = NULL;
	lp_kv kv[] = { { "k", { .type = LP_PARAM_INT, .integer = 1 } } };

	CHECK_OK(ctx, lp_plugin_load(ctx, F(undeclared), &p));
	if (!p)
		return;
	CHECK(lp_layer_new(ctx, p, kv, 1, &l) == LP_ERR_PLUGIN && l == NULL);
	CHECK_MSG(ctx, "fixture_undeclared", "'kk'", "does not declare");
}

int main(void)
{
	lp_ctx *ctx = tu_ctx();
	const lp_plugin *p;
	char tmp[] = "/tmp/loupe-loader-XXXXXX", path[512];

	CHECK_OK(ctx, lp_plugin_load(ctx, F(good), &p));
	CHECK(p && strcmp(p->name, "fixture_good") == 0 && strcmp(p->version, "0.0.1") == 0);

	REFUSED(F(abi), LP_ERR_ABI, "fixture_abi.so", "ABI 99", "ABI 1 to 2");
	REFUSED(F(short), LP_ERR_ABI, "fixture_short.so", "16 bytes", "needs");
	REFUSED(F(name), LP_ERR_PLUGIN, "fixture_name.so", "'someone_else'", "'fixture_name'");
	REFUSED(F(nosym), LP_ERR_PLUGIN, "fixture_nosym.so", "does not export lp_plugin_init");
	REFUSED(F(nullslot), LP_ERR_PLUGIN, "fixture_nullslot.so", "'forward' is NULL");
	REFUSED(F(nulldesc), LP_ERR_PLUGIN, "fixture_nulldesc.so", "returned NULL", "ABI 2");
	REFUSED(F(kind), LP_ERR_PLUGIN, "fixture_kind.so", "kind 99", "layer, dataset, analysis");
	REFUSED(F(badspec), LP_ERR_PLUGIN, "fixture_badspec.so", "'abc'", "'alpha'", "number");
	REFUSED(FIXTURE_DIR "/missing/nothing.so", LP_ERR_IO, "nothing.so", "No such file");

	abi1(ctx);
	undeclared(ctx);

	CHECK(mkdtemp(tmp) != NULL);
	/* a text file named .so */
	snprintf(path, sizeof path, "%s/notelf.so", tmp);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("this is not a shared object\n", f);
		fclose(f);
	}
	REFUSED(path, LP_ERR_PLUGIN, "notelf.so", "not a shared object", "ELF");
	unlink(path);

	/* a good plugin in a group-writable directory, then a world-writable file */
	snprintf(path, sizeof path, "%s/fixture_good.so", tmp);
	copy_file(F(good), path);
	chmod(tmp, 0775);
	REFUSED(path, LP_ERR_PLUGIN, tmp, "group- or world-writable", "775");
	chmod(tmp, 0755);
	chmod(path, 0757);
	REFUSED(path, LP_ERR_PLUGIN, "fixture_good.so", "file is group- or world-writable");
	chmod(path, 0755);
	CHECK_OK(ctx, lp_plugin_load(ctx, path, &p));
	unlink(path);
	rmdir(tmp);

	/* search path: LOUPE_PLUGIN_PATH after the build's directory, then the user path */
	const char *const *dirs;
	setenv("LOUPE_PLUGIN_PATH", FIXTURE_DIR "/good:" FIXTURE_DIR "/abi", 1);
	CHECK_OK(ctx, lp_plugin_set_user_path(ctx, FIXTURE_DIR "/kind"));
	size_t n = lp_plugin_dirs(ctx, &dirs);
	CHECK(n == 4);
	if (n == 4) {
		CHECK(strcmp(dirs[0], LOUPE_BUILD_PLUGIN_DIR) == 0);
		CHECK(strcmp(dirs[1], FIXTURE_DIR "/good") == 0);
		CHECK(strcmp(dirs[3], FIXTURE_DIR "/kind") == 0);
	}
	CHECK_OK(ctx, lp_plugin_find(ctx, "fixture_good", LP_KIND_LAYER, &p));
	CHECK_OK(ctx, lp_plugin_find(ctx, "relu", LP_KIND_LAYER, &p));
	CHECK(lp_plugin_find(ctx, "fixture_abi", 0, &p) == LP_ERR_ABI);
	CHECK(lp_plugin_find(ctx, "no_such_plugin", 0, &p) == LP_ERR_NOTFOUND);
	CHECK_MSG(ctx, "no_such_plugin", FIXTURE_DIR "/good");
	unsetenv("LOUPE_PLUGIN_PATH");
	return tu_finish(ctx, "test_loader");
}
