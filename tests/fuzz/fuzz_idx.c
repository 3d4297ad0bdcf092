/* fuzz_idx.c — libFuzzer harness for lp_idx_decode (IDX, gzip or raw, from memory).
 *
 * Built and run by scripts/fuzz (clang, -fsanitize=fuzzer,address,undefined). A finding is a
 * crash, a sanitizer report, a leak, a timeout, or a broken contract checked here: on success a
 * rank of 1..4 and exactly the bytes the sizes promise, all readable; on failure no data and a
 * message that starts with "idx: " and names the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/idx.h"

#define NAME "<fuzz>"
#define MAX_BYTES (1u << 20) /* the sizes may promise at most 1 MiB: no fuzzer OOM */

static lp_ctx *ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what)
{
	fprintf(stderr, "fuzz_idx: contract broken: %s (%s)\n", what, lp_ctx_errmsg(ctx));
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (lp_ctx_new(&ctx)) {
		fprintf(stderr, "fuzz_idx: no context\n");
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lp_idx idx;

	memset(&idx, 0xa5, sizeof idx); /* the decoder must set every field */
	if (lp_idx_decode(ctx, data, size, NAME, MAX_BYTES, &idx) == LP_OK) {
		uint64_t total = 1;
		if (idx.rank < 1 || idx.rank > 4 || !idx.data)
			broken("success with a bad rank or no data");
		for (int i = 0; i < idx.rank; i++) {
			if (idx.dims[i] < 0 || idx.dims[i] > UINT32_MAX)
				broken("a dimension outside 0..2^32-1");
			total *= (uint64_t)idx.dims[i];
		}
		if (total != idx.bytes || total > MAX_BYTES)
			broken("bytes that are not the product of the sizes, or above the limit");
		/* read every byte, so ASan checks the buffer is as large as the size claims */
		unsigned sum = 0;
		for (size_t i = 0; i < idx.bytes; i++)
			sum += idx.data[i];
		volatile unsigned sink = sum;
		(void)sink;
		lp_idx_free(&idx);
	} else {
		const char *msg = lp_ctx_errmsg(ctx);
		if (idx.data || idx.bytes || idx.rank)
			broken("an error that leaves data behind");
		if (strncmp(msg, "idx: ", 5) != 0 || !strstr(msg, NAME))
			broken("an error message that does not name the input");
	}
	return 0;
}
