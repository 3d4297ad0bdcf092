/*
 * data.h — internals shared by dataset.c, scan.c, augment.c and loader.c.
 */
#ifndef LOUPE_DATA_H
#define LOUPE_DATA_H

#include "core.h"
#include "loupe/dataset.h"
#include "loupe/loader.h"

struct lp_item {
	char *name;
	char *path; /* NULL: pixel item */
	int32_t label;
	int width, height, channels;
	uint64_t bytes, key;
};

struct lp_split {
	lp_dataset *ds;
	char *name;
	struct lp_item *items;
	int64_t n, cap;
	int scanned;
	lp_item_stats *stats; /* [n] after the scan */
};

struct lp_dataset {
	lp_ctx *ctx;
	const lp_plugin *plugin;
	const lp_dataset_vtable *vt;
	lp_params *params;
	void *state;
	int opened;
	lp_dataset_opts opts;
	char *params_text;
	char **classes;
	size_t nclasses, capclasses;
	lp_split **splits;
	size_t nsplits;
	lp_skipped *skipped;
	size_t nskipped, capskipped;
	/* open-addressing set of file paths, to find an item listed twice (during open only) */
	struct lpi_seen { const char *path; const char *split; const char *origin; } *seen;
	size_t capseen, nseen;
};

/* dataset.c: record a bad item under skip, or set the error under error (returns nonzero). */
int lpi_dataset_bad(lp_dataset *ds, const char *split, const char *name, const char *reason);

/* dataset.c: the host table's dataset functions */
int lpi_dataset_class(lp_dataset *ds, const char *name);
int lpi_dataset_item(lp_dataset *ds, const lp_item_desc *item);
int lpi_dataset_host_bad(lp_dataset *ds, const char *split, const char *name, const char *reason);

/* pool.c: fn(user, i, worker ctx) for i in [0, n) on `threads` threads, each with its own
 * context (errors are per item: fn keeps what it needs). threads <= 0: one per CPU. */
int lpi_parallel_for(lp_ctx *ctx, int64_t n, int threads,
		     void (*fn)(void *user, int64_t i, lp_ctx *wctx), void *user,
		     lp_progress_fn progress, void *puser);
int lpi_cpu_count(void);

/* augment.c: a 64-bit mix of two words (counter-based random streams). */
uint64_t lpi_mix(uint64_t a, uint64_t b);

#endif
