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

int main(void)
{
	lp_ctx *ctx = tu_ctx();
	const lp_plugin *p;
	char tmp[] = "/tmp/loupe-loader-XXXXXX", path[512];

	CHECK_OK(ctx, lp_plugin_load(ctx, F(good), &p));
	CHECK(p && strcmp(p->name, "fixture_good") == 0 && strcmp(p->version, "0.0.1") == 0);

	REFUSED(F(abi), LP_ERR_ABI, "fixture_abi.so", "ABI 99", "ABI 1");
	REFUSED(F(short), LP_ERR_ABI, "fixture_short.so", "16 bytes", "needs");
	REFUSED(F(name), LP_ERR_PLUGIN, "fixture_name.so", "'someone_else'", "'fixture_name'");
	REFUSED(F(nosym), LP_ERR_PLUGIN, "fixture_nosym.so", "does not export lp_plugin_init");
	REFUSED(F(nullslot), LP_ERR_PLUGIN, "fixture_nullslot.so", "'forward' is NULL");
	REFUSED(F(nulldesc), LP_ERR_PLUGIN, "fixture_nulldesc.so", "returned NULL", "ABI 1");
	REFUSED(F(kind), LP_ERR_PLUGIN, "fixture_kind.so", "analysis", "not supported");
	REFUSED(F(badspec), LP_ERR_PLUGIN, "fixture_badspec.so", "'abc'", "'alpha'", "number");
	REFUSED(FIXTURE_DIR "/missing/nothing.so", LP_ERR_IO, "nothing.so", "No such file");

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
