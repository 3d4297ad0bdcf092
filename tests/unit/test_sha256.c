/* test_sha256.c — SHA-256 against the FIPS 180-2 example vectors and, for a file, against the
 * coreutils sha256sum of the same bytes. */
#include "core.h"
#include <unistd.h>

#include "test_util.h"

static void hex(const uint8_t d[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

int main(void)
{
	uint8_t d[32];
	char h[65], want[65] = "";
	static char million[1000000];

	lpi_sha256("", 0, d);
	hex(d, h);
	CHECK(strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
	lpi_sha256("abc", 3, d);
	hex(d, h);
	CHECK(strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	lpi_sha256(two, strlen(two), d);
	hex(d, h);
	CHECK(strcmp(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);
	memset(million, 'a', sizeof million);
	lpi_sha256(million, sizeof million, d);
	hex(d, h);
	CHECK(strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);

	lp_ctx *ctx = tu_ctx();
	char path[] = "/tmp/loupe-sha-XXXXXX", cmd[128];
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	for (int i = 0; i < 70001; i++)
		million[i] = (char)(i * 31 + i / 7);
	CHECK(write(fd, million, 70001) == 70001);
	close(fd);
	CHECK_OK(ctx, lpi_sha256_file(ctx, path, h));
	snprintf(cmd, sizeof cmd, "sha256sum %s", path);
	FILE *p = popen(cmd, "r");
	CHECK(p && fscanf(p, "%64s", want) == 1);
	if (p)
		pclose(p);
	CHECK(strcmp(h, want) == 0);
	unlink(path);
	CHECK(lpi_sha256_file(ctx, path, h) == LP_ERR_IO);
	CHECK_MSG(ctx, path);
	lp_ctx_free(ctx);
	if (tu_failures)
		return 1;
	printf("test_sha256: ok\n");
	return 0;
}
