/*
 * core.h — internals shared by the core's files (not installed, not for plugins).
 */
#ifndef LOUPE_CORE_H
#define LOUPE_CORE_H

#include "loupe/archive.h"
#include "loupe/loupe.h"
#include "loupe/plugin.h"

struct lpvk_device;
struct lpvk_buf;
struct lp_plugin_set;

struct lp_ctx {
	char err[4096];
	int err_code;
	lp_log_fn log;
	void *log_user;
	uint64_t seed, rng;
	int has_spare;
	double spare;
	int profile;
	lp_profile_entry *prof;
	size_t nprof, capprof;
	struct lpvk_device *dev;
	uint64_t vk_messages; /* validation layer reports */
	struct lp_plugin_set *plugins;
};

/* vk/device.c: the open device's description; 0 (and nothing opened) when none is open. */
int lpi_device_info_if_open(lp_ctx *ctx, lp_device_info *out);

/* tensor.c */
struct lpvk_buf *lp_tensor_buf(const lp_tensor *t);

/* ctx.c: profile entries are appended by cmd.c after a submit. */
void lpi_profile_reset(lp_ctx *ctx);
int lpi_profile_add(lp_ctx *ctx, const char *kernel, double ms, const uint32_t groups[3]);

/* plugin.c */
void lpi_plugins_free(lp_ctx *ctx);
const lp_host *lpi_host(void);
/* dataset.c: key=value pairs as sorted text ("a=1, b=\"x\""), malloc'd; NULL out of memory */
struct lp_kv;
char *lpi_kv_text(const struct lp_kv *kvs, size_t n);
/* dataset.c: the inverse, typed as plugin p declares each key: *kv[*n] and the strings they
 * point into are one malloc'd block (free(*kv)); an error names the text's fault */
int lpi_kv_parse(lp_ctx *ctx, const lp_plugin *p, const char *text, struct lp_kv **kv,
		 size_t *n);
/* params.c: a value written as text (a default, a stored parameter) into v; 0 on success */
struct lp_value;
int lpi_param_parse(int type, const char *s, struct lp_value *v);
/* params.c: Levenshtein distance of two short names (99 for names of 63 bytes or more) */
size_t lpi_edit_distance(const char *a, const char *b);
/* params.c: after a plugin's init/open, an error if it read a parameter it never declared */
int lpi_params_check_reads(lp_ctx *ctx, const lp_params *p);

/* h5/archive.c: the child groups of group, in name order, each malloc'd (lpi_strings_free) */
int lpi_archive_groups(lp_archive *a, const char *group, char ***names, size_t *n);
void lpi_strings_free(char **v, size_t n);
/* analyze.c: the host table's analysis_images */
int lpi_analysis_images(lp_ctx *ctx, const lp_analysis_io *io, const char *split,
			const int64_t *rows, size_t n, int size, uint8_t *out, uint8_t *digest);
/* sha256.c: hex digest (65 bytes with NUL) of a file. */
int lpi_sha256_file(lp_ctx *ctx, const char *path, char hex[65]);
void lpi_sha256(const void *data, size_t n, uint8_t out[32]);

#endif
