/* idx_dump.c FILE... — for each FILE print "FILE: d0 d1 ... sha256 first16hex" (decoded with
 * loupe), or "FILE: error: MESSAGE"; tests/e2e/idx_check.py computes the same with Python. */
#include <stdio.h>

#include "core.h"
#include "loupe/idx.h"

int main(int argc, char **argv)
{
	lp_ctx *ctx;

	if (lp_ctx_new(&ctx))
		return 2;
	for (int i = 1; i < argc; i++) {
		lp_idx idx;
		uint8_t h[32];
		if (lp_idx_read(ctx, argv[i], 0, &idx)) {
			printf("%s: error: %s\n", argv[i], lp_ctx_errmsg(ctx));
			continue;
		}
		printf("%s:", argv[i]);
		for (int d = 0; d < idx.rank; d++)
			printf(" %lld", (long long)idx.dims[d]);
		lpi_sha256(idx.data, idx.bytes, h);
		printf(" ");
		for (int k = 0; k < 32; k++)
			printf("%02x", h[k]);
		printf(" ");
		for (size_t k = 0; k < 16 && k < idx.bytes; k++)
			printf("%02x", idx.data[k]);
		printf("\n");
		lp_idx_free(&idx);
	}
	lp_ctx_free(ctx);
	return 0;
}
