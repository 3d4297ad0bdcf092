/*
 * append.c — 1-D tables that grow: lp_archive_append, lp_archive_append_strings.
 *
 *   lp_archive_append(a, "/annotations/seq", LP_I64, n, seqs, "annotation");
 *   lp_archive_append_strings(a, "/annotations/action", n, actions, "annotation");
 *
 * The first append creates a chunked dataset with maximum shape (unlimited,) labelled with the
 * axis name (dimension label and "axes" attribute, as lp_archive_write does); later appends
 * extend it (H5Dset_extent) and write the new rows alone (a hyperslab), so rows already there
 * are never rewritten. Numeric chunks carry a Fletcher-32 checksum like every numeric dataset;
 * strings are UTF-8, variable length, NULL stored as "". A dataset at the path that is not
 * 1-D, not extendible or of another element type is LP_ERR_FORMAT naming it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h5int.h"

#define CHUNK_TARGET 65536 /* bytes per numeric chunk: annotation tables grow a row at a time */
#define STRING_CHUNK 1024  /* rows per chunk of variable-length strings (heap references) */

static int check_args(lp_archive *a, const char *path, size_t n, const void *data)
{
	int ret = lph5_check_path(a, path, 1);
	if (!ret && n && !data)
		return lp_error(a->ctx, LP_ERR_ARG, "archive: %s: %s: no rows to append", a->path,
				path);
	return ret;
}

/* The dataset's type is ftype (numeric) or a variable-length string (ftype < 0). */
static int type_matches(hid_t d, hid_t ftype)
{
	hid_t t = H5Dget_type(d);
	int ok;

	if (t < 0)
		return 0;
	if (ftype >= 0)
		ok = H5Tequal(t, ftype) > 0;
	else
		ok = H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) > 0 &&
		     H5Tget_cset(t) == H5T_CSET_UTF8;
	H5Tclose(t);
	return ok;
}

/* Open an existing table and check that it can take the rows; *rows = its length. */
static int open_table(lp_archive *a, const char *path, hid_t ftype, const char *want, hid_t *out,
		      hsize_t *rows)
{
	hsize_t dims[2] = { 0, 0 }, max[2] = { 0, 0 };
	hid_t d = H5Dopen2(a->file, path, H5P_DEFAULT), space, dcpl;
	int rank = -1, chunked = 0;

	if (d < 0)
		return lph5_fail(a->ctx, a->path, "cannot open dataset %s", path);
	space = H5Dget_space(d);
	if (space >= 0) {
		rank = H5Sget_simple_extent_ndims(space);
		if (rank == 1 && H5Sget_simple_extent_dims(space, dims, max) < 0)
			rank = -1;
		H5Sclose(space);
	}
	dcpl = H5Dget_create_plist(d);
	if (dcpl >= 0) {
		chunked = H5Pget_layout(dcpl) == H5D_CHUNKED;
		H5Pclose(dcpl);
	}
	if (rank != 1 || !chunked || max[0] != H5S_UNLIMITED || !type_matches(d, ftype)) {
		H5Dclose(d);
		return lp_error(a->ctx, LP_ERR_FORMAT, "archive: %s: cannot append to %s: it "
				"is not an extendible 1-D %s dataset", a->path, path, want);
	}
	*out = d;
	*rows = dims[0];
	return LP_OK;
}

/* A new empty table with its axis named (dimension label and "axes" attribute). */
static int create_table(lp_archive *a, const char *path, hid_t ftype, size_t elem,
			const char *axis, hid_t *out)
{
	hsize_t zero = 0, max = H5S_UNLIMITED;
	hsize_t chunk = ftype >= 0 ? CHUNK_TARGET / elem : STRING_CHUNK;
	hid_t space = H5Screate_simple(1, &zero, &max), dcpl = H5Pcreate(H5P_DATASET_CREATE);
	int ret = LP_OK;

	*out = -1;
	if (space < 0 || dcpl < 0 || H5Pset_chunk(dcpl, 1, &chunk) < 0 ||
	    (ftype >= 0 && H5Pset_fletcher32(dcpl) < 0)) {
		ret = lph5_fail(a->ctx, a->path, "cannot set up the extendible dataset %s", path);
		goto out_close;
	}
	*out = H5Dcreate2(a->file, path, ftype >= 0 ? ftype : a->str, space, a->lcpl, dcpl,
			  H5P_DEFAULT);
	if (*out < 0)
		ret = lph5_fail(a->ctx, a->path, "cannot create dataset %s", path);
	else
		ret = lph5_set_axes(a, path, *out, 1, &axis); /* NULL or "": dim_0 */
out_close:
	if (dcpl >= 0)
		H5Pclose(dcpl);
	if (space >= 0)
		H5Sclose(space);
	if (ret && *out >= 0) {
		H5Dclose(*out);
		*out = -1;
	}
	return ret;
}

/* Extend d from rows to rows + n and write the n new rows. */
static int write_rows(lp_archive *a, const char *path, hid_t d, hid_t mtype, hsize_t rows,
		      hsize_t n, const void *data)
{
	hsize_t total = rows + n;
	hid_t fs = -1, ms = -1;
	int ret = LP_OK;

	if (H5Dset_extent(d, &total) < 0)
		return lph5_fail(a->ctx, a->path, "cannot extend %s to %llu rows", path,
				 (unsigned long long)total);
	fs = H5Dget_space(d);
	ms = H5Screate_simple(1, &n, NULL);
	if (fs < 0 || ms < 0 ||
	    H5Sselect_hyperslab(fs, H5S_SELECT_SET, &rows, NULL, &n, NULL) < 0)
		ret = lph5_fail(a->ctx, a->path, "cannot select rows to append to %s", path);
	else if (H5Dwrite(d, mtype, ms, fs, H5P_DEFAULT, data) < 0)
		ret = lph5_fail(a->ctx, a->path, "cannot append %llu rows to %s",
				(unsigned long long)n, path);
	if (ms >= 0)
		H5Sclose(ms);
	if (fs >= 0)
		H5Sclose(fs);
	return ret;
}

/* ftype < 0: strings (the archive's UTF-8 type for file and memory). */
static int append(lp_archive *a, const char *path, hid_t ftype, hid_t mtype, size_t elem,
		  const char *want, size_t n, const void *data, const char *axis)
{
	hsize_t rows = 0;
	hid_t d = -1;
	int kind = LP_NODE_NONE, ret = lp_archive_exists(a, path, &kind);

	if (ret)
		return ret;
	if (kind == LP_NODE_GROUP)
		return lp_error(a->ctx, LP_ERR_FORMAT, "archive: %s: cannot append to %s: it is a "
				"group", a->path, path);
	if (kind == LP_NODE_DATASET)
		ret = open_table(a, path, ftype, want, &d, &rows);
	else
		ret = create_table(a, path, ftype, elem, axis, &d);
	if (ret)
		return ret;
	if (n)
		ret = write_rows(a, path, d, ftype >= 0 ? mtype : a->str, rows, n, data);
	H5Dclose(d);
	return ret;
}

int lp_archive_append(lp_archive *a, const char *path, int dtype, size_t n, const void *data,
		      const char *axis)
{
	static const char *const names[] = { "", "float32", "int32", "int64", "uint8" };
	hid_t ftype = -1, mtype = -1;
	size_t elem = 0;
	int ret = check_args(a, path, n, data);

	if (ret)
		return ret;
	if (lph5_dtype_map(dtype, &ftype, &mtype, &elem))
		return lp_error(a->ctx, LP_ERR_ARG, "archive: %s: %s: unknown dtype %d", a->path,
				path, dtype);
	return append(a, path, ftype, mtype, elem, names[dtype], n, data, axis);
}

int lp_archive_append_strings(lp_archive *a, const char *path, size_t n,
			      const char *const *strings, const char *axis)
{
	const char **v;
	int ret = check_args(a, path, n, strings);

	if (ret)
		return ret;
	v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return lph5_nomem(a, path);
	for (size_t i = 0; i < n; i++)
		v[i] = strings[i] ? strings[i] : "";
	ret = append(a, path, -1, -1, sizeof(char *), "variable-length UTF-8 string", n, v, axis);
	free(v);
	return ret;
}
