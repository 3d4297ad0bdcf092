/*
 * archive.h — one run, one HDF5 file (layout: docs/ARCHIVE.md).
 *
 *   lp_archive *a;
 *   lp_provenance p = { .command = "loupe run x.lua", .script_path = "x.lua", .seed = 1 };
 *   if (lp_archive_create(ctx, "runs/x.h5", &p, &a)) return fail(ctx);
 *   int64_t dims[2] = { n, c };
 *   const char *axes[2] = { "item", "class" };
 *   lp_archive_write(a, "/predictions/test/probs", LP_F32, 2, dims, axes, probs);
 *   lp_archive_close(a);   // writes /provenance/plugins, flushes; returns a status
 *
 * Paths are absolute inside the file; missing parent groups are created. Writing an existing
 * dataset replaces it. Strings are UTF-8, variable length. Every numeric dataset gets axis names
 * (HDF5 dimension labels, h5py: dset.dims[i].label); axes == NULL names them dim_0, dim_1, ...
 * HDF5 never prints: its errors become loupe errors naming the file and the object.
 * Only core/src/h5/ includes hdf5.h.
 */
#ifndef LOUPE_ARCHIVE_H
#define LOUPE_ARCHIVE_H

#include "loupe/loupe.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP_ARCHIVE_FORMAT_VERSION 1

typedef struct lp_plugin_record {
	const char *name;
	const char *version;
	const char *path;
	const char *sha256; /* hex of the .so file */
} lp_plugin_record;

/* What a new archive is stamped with. Strings may be NULL (written as ""). */
typedef struct lp_provenance {
	const char *command;     /* the command line, space-joined */
	const char *script_path; /* the experiment script; its full text goes to /provenance/script */
	const char *script_text; /* if non-NULL, used instead of reading script_path */
	uint64_t seed;
	const char *git_rev;
} lp_provenance;

/* Create (truncate) a run archive and write the root attributes and /provenance. The device
 * attributes come from lp_device_get_info (opening the device if needed). */
int lp_archive_create(lp_ctx *ctx, const char *path, const lp_provenance *prov, lp_archive **out);
/* Open an existing archive; writable = 0 for read-only. */
int lp_archive_open(lp_ctx *ctx, const char *path, int writable, lp_archive **out);
/* Flush and close. For an archive made by lp_archive_create, first record the plugins loaded in
 * ctx (name, version, path, sha256) and the seed; a later writable reopen (review, resume) leaves
 * the run's provenance alone. Returns the first error; the handle is freed whatever happens.
 * NULL is a no-op. */
int lp_archive_close(lp_archive *a);
const char *lp_archive_path(const lp_archive *a);

int lp_archive_group(lp_archive *a, const char *path);
int lp_archive_write(lp_archive *a, const char *path, int dtype, int rank, const int64_t *dims,
		     const char *const *axes, const void *data);
int lp_archive_write_strings(lp_archive *a, const char *path, size_t n,
			     const char *const *strings, const char *axis);
int lp_archive_attr_string(lp_archive *a, const char *obj, const char *name, const char *value);
int lp_archive_attr_number(lp_archive *a, const char *obj, const char *name, double value);
int lp_archive_attr_int(lp_archive *a, const char *obj, const char *name, int64_t value);

/* Reading. kind: 0 none, 1 group, 2 dataset. */
int lp_archive_exists(lp_archive *a, const char *path, int *kind);
/* Shape and element type of a dataset; *dtype is LP_F32/I32/I64/U8, or 0 for strings
 * (then dims[0] is the count). */
int lp_archive_info(lp_archive *a, const char *path, int *dtype, int *rank, int64_t *dims);
/* Read a numeric dataset converted to `dtype` into dst (bytes = numel * size of dtype). */
int lp_archive_read(lp_archive *a, const char *path, int dtype, void *dst, size_t bytes);
/* Read a 1-D string dataset; *out is one malloc'd block: free(*out) frees all. */
int lp_archive_read_strings(lp_archive *a, const char *path, size_t *n, char ***out);
/* Axis names of a dataset: calls fn(user, i, label) for each dimension. */
int lp_archive_axes(lp_archive *a, const char *path, void (*fn)(void *, int, const char *),
		    void *user);
/* Attribute as text (numbers formatted with %.17g); *out malloc'd, caller frees. */
int lp_archive_attr_get(lp_archive *a, const char *obj, const char *name, char **out);
/* Children of a group in name order: fn(user, name, kind). */
int lp_archive_list(lp_archive *a, const char *group,
		    void (*fn)(void *user, const char *name, int kind), void *user);

/* Plugins loaded so far in ctx (borrowed; valid until the next load or lp_ctx_free). */
size_t lp_ctx_plugins(lp_ctx *ctx, const lp_plugin_record **out);

#ifdef __cplusplus
}
#endif
#endif
