/*
 * archive.h — one run, one HDF5 file (layout: docs/ARCHIVE.md).
 *
 *   lp_archive *a;
 *   lp_provenance p = { .command = "loupe run x.lua", .script_path = "x.lua", .seed = 1 };
 *   if (lp_archive_create(ctx, "runs/x.h5", &p, &a)) return fail(ctx);
 *   int64_t dims[2] = { n, c };
 *   const char *axes[2] = { "item", "class" };
 *   lp_archive_write(a, "/predictions/test/probs", LP_F32, 2, dims, axes, probs);
 *   lp_archive_commit(a);  // runs/x.h5 now holds all of the above, whatever happens next
 *   lp_archive_close(a);   // commits (with /provenance/plugins); returns a status
 *
 * Crash safety: the file at the path is only ever replaced whole (rename), by a commit or by
 * close; writes go to a work file beside it (PATH.tmp.PID). A process killed at any point
 * leaves PATH as of its last commit, which h5py opens. One writer at a time: PATH.lock names
 * the holder, and a second writer (or a path another process has open) is refused with
 * LP_ERR_BUSY before any byte changes. Opening for reading first reads the whole file in a
 * child process, so a damaged file is an error naming the file and object, never a crash.
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

/* lp_provenance.flags: the caller guards the file itself (a checkpoint, written under its
 * directory's lock): no PATH.lock, and nothing is published before close. */
#define LP_ARCHIVE_NO_LOCK 1u

/* What a new archive is stamped with. Strings may be NULL (written as ""). */
typedef struct lp_provenance {
	const char *command;     /* the command line, space-joined */
	const char *script_path; /* the experiment script; its full text goes to /provenance/script */
	const char *script_text; /* if non-NULL, used instead of reading script_path */
	uint64_t seed;
	const char *git_rev;
	unsigned flags;          /* LP_ARCHIVE_NO_LOCK */
} lp_provenance;

/* Create a run archive (replacing a file at path at the first commit, which create makes at
 * once) and write the root attributes and /provenance. Does not open the device: the device a
 * run used is recorded by the commits after it opened one. LP_ERR_BUSY: another run writes
 * path, or another process has it open. */
int lp_archive_create(lp_ctx *ctx, const char *path, const lp_provenance *prov, lp_archive **out);
/* Open an existing archive; writable = 0 for read-only. Both read the whole file once in a
 * child process first (a damaged file: LP_ERR_FORMAT naming file and object); a writable open
 * takes the lock like create and works on a copy until its first commit. */
int lp_archive_open(lp_ctx *ctx, const char *path, int writable, lp_archive **out);
/* Publish everything written so far: path becomes this state in one rename (fsync'd). For an
 * archive made by lp_archive_create, first record the plugins loaded in ctx (name, version,
 * path, sha256), the seed and the device; a later writable open (analyze, review) leaves the
 * run's provenance alone. A no-op on a read-only archive. */
int lp_archive_commit(lp_archive *a);
/* Commit and close. Returns the first error; the handle is freed whatever happens. NULL is a
 * no-op. */
int lp_archive_close(lp_archive *a);
/* Close, dropping what was written since the last commit (path stays as it was). */
int lp_archive_discard(lp_archive *a);
const char *lp_archive_path(const lp_archive *a);

int lp_archive_group(lp_archive *a, const char *path);
/* Remove what path names (a group with everything under it); nothing there is fine. */
int lp_archive_remove(lp_archive *a, const char *path);
/* Rename from to to, replacing what to named (parents of to are created). */
int lp_archive_move(lp_archive *a, const char *from, const char *to);
int lp_archive_write(lp_archive *a, const char *path, int dtype, int rank, const int64_t *dims,
		     const char *const *axes, const void *data);
int lp_archive_write_strings(lp_archive *a, const char *path, size_t n,
			     const char *const *strings, const char *axis);
/* Append n rows to the 1-D extendible (chunked, unlimited) dataset at path, creating it with
 * axis name `axis` when missing; rows already there are never rewritten. A dataset that exists
 * but is not extendible, of another type or rank, is LP_ERR_FORMAT naming it. */
int lp_archive_append(lp_archive *a, const char *path, int dtype, size_t n, const void *data,
		      const char *axis);
int lp_archive_append_strings(lp_archive *a, const char *path, size_t n,
			      const char *const *strings, const char *axis);
int lp_archive_attr_string(lp_archive *a, const char *obj, const char *name, const char *value);
int lp_archive_attr_number(lp_archive *a, const char *obj, const char *name, double value);
int lp_archive_attr_int(lp_archive *a, const char *obj, const char *name, int64_t value);

/* What a path names (lp_archive_exists, lp_archive_list). */
typedef enum lp_node_kind { LP_NODE_NONE, LP_NODE_GROUP, LP_NODE_DATASET } lp_node_kind;

/* Reading. *kind: an lp_node_kind. */
int lp_archive_exists(lp_archive *a, const char *path, int *kind);
/* Shape and element type of a dataset; *dtype is LP_F32/I32/I64/U8, or 0 for strings
 * (then dims[0] is the count). */
int lp_archive_info(lp_archive *a, const char *path, int *dtype, int *rank, int64_t *dims);
/* Read a numeric dataset converted to `dtype` into dst (bytes = numel * size of dtype). */
int lp_archive_read(lp_archive *a, const char *path, int dtype, void *dst, size_t bytes);
/* Rows [row0, row0 + nrows) along the first axis of a numeric dataset of rank >= 1, converted to
 * dtype; bytes = nrows * (elements per row) * size of dtype. */
int lp_archive_read_rows(lp_archive *a, const char *path, int dtype, int64_t row0, int64_t nrows,
			 void *dst, size_t bytes);
/* Read a 1-D string dataset; *out is one malloc'd block: free(*out) frees all. */
int lp_archive_read_strings(lp_archive *a, const char *path, size_t *n, char ***out);
/* Axis names of a dataset: calls fn(user, i, label) for each dimension. */
int lp_archive_axes(lp_archive *a, const char *path, void (*fn)(void *, int, const char *),
		    void *user);
/* Attribute as text (numbers formatted with %.17g); *out malloc'd, caller frees. */
int lp_archive_attr_get(lp_archive *a, const char *obj, const char *name, char **out);
/* Attribute names of an object, in name order: fn(user, name). */
int lp_archive_attr_list(lp_archive *a, const char *obj,
			 void (*fn)(void *user, const char *name), void *user);
/* Children of a group in name order: fn(user, name, kind). */
int lp_archive_list(lp_archive *a, const char *group,
		    void (*fn)(void *user, const char *name, int kind), void *user);

/* Plugins loaded so far in ctx (borrowed; valid until the next load or lp_ctx_free). */
size_t lp_ctx_plugins(lp_ctx *ctx, const lp_plugin_record **out);

#ifdef __cplusplus
}
#endif
#endif
