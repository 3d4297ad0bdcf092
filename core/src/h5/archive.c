/*
 * archive.c — the run archive's objects: groups, datasets, attributes, written and read
 * (schema: docs/ARCHIVE.md; files, commits and locks are session.c's).
 *
 * Every negative HDF5 return becomes LP_ERR_HDF5 with a message "archive: FILE: what OBJECT:
 * HDF5's innermost reason", recorded before any cleanup call (each HDF5 API call clears the
 * error stack on entry).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "h5int.h"

#define BIG_BYTES ((uint64_t)4 << 20)   /* numeric datasets above this are deflated */
#define CHUNK_BYTES ((uint64_t)1 << 20) /* target chunk size */

/* ---- errors ---------------------------------------------------------------------------- */

static herr_t first_desc(unsigned n, const H5E_error2_t *err, void *data)
{
	char *buf = data;

	(void)n;
	if (!buf[0] && err->desc && err->desc[0])
		snprintf(buf, 256, "%s", err->desc);
	return 0;
}

void lph5_reason(char *buf, size_t size)
{
	char desc[256] = "";

	/* Upward: the first record is the innermost, the most specific reason. */
	H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_desc, desc);
	snprintf(buf, size, "%s", desc);
}

int lph5_fail(lp_ctx *ctx, const char *file, const char *fmt, ...)
{
	char what[1024], desc[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	lph5_reason(desc, sizeof desc);
	/* HDF5 locks a file while a writer has it open (a run still training), for opening and
	 * for creating it anew alike: say that instead of quoting errno 11. */
	if (strstr(desc, "unable to lock file"))
		return lp_error(ctx, LP_ERR_IO, "archive: %s: %s: another process has it open for "
				"writing (a run still going?); wait for it to finish, or read one "
				"of its checkpoints, which are complete files", file, what);
	if (desc[0])
		return lp_error(ctx, LP_ERR_HDF5, "archive: %s: %s: %s", file, what, desc);
	return lp_error(ctx, LP_ERR_HDF5, "archive: %s: %s", file, what);
}

int lph5_nomem(lp_archive *a, const char *obj)
{
	return lp_error(a->ctx, LP_ERR_NOMEM, "archive: %s: out of memory for %s", a->path, obj);
}

int lph5_check_path(lp_archive *a, const char *path, int write)
{
	if (!path || path[0] != '/')
		return lp_error(a->ctx, LP_ERR_ARG, "archive: %s: path must be absolute: '%s'",
				a->path, path ? path : "(null)");
	if (write && !a->writable)
		return lp_error(a->ctx, LP_ERR_ARG, "archive: %s: opened read-only, cannot write %s",
				a->path, path);
	return LP_OK;
}

/* ---- lookup ---------------------------------------------------------------------------- */

static int link_kind(lp_archive *a, const char *path, int *kind)
{
	htri_t e = H5Lexists(a->file, path, H5P_DEFAULT);
	hid_t o;
	H5I_type_t t;

	if (e < 0)
		return lph5_fail(a->ctx, a->path, "cannot look up %s", path);
	*kind = KIND_NONE;
	if (e == 0)
		return LP_OK;
	*kind = KIND_OTHER; /* unless it opens: a dangling soft or external link */
	o = H5Oopen(a->file, path, H5P_DEFAULT);
	if (o < 0)
		return LP_OK;
	t = H5Iget_type(o);
	*kind = t == H5I_GROUP ? KIND_GROUP : t == H5I_DATASET ? KIND_DATASET : KIND_OTHER;
	H5Oclose(o);
	return LP_OK;
}

/* What is at an absolute path. Each component is checked from the root down, because
 * H5Lexists fails when an intermediate link is missing or is not a group. */
static int obj_kind(lp_archive *a, const char *path, int *kind)
{
	size_t len = strlen(path), i;
	char *buf = malloc(len + 1);
	int ret = LP_OK;

	*kind = KIND_GROUP; /* "/" */
	if (!buf)
		return lph5_nomem(a, path);
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		char c = buf[i];

		if ((c != '/' && c != '\0') || buf[i - 1] == '/')
			continue;
		buf[i] = '\0';
		ret = link_kind(a, buf, kind);
		buf[i] = c;
		if (ret || *kind != KIND_GROUP)
			break;
	}
	/* stopped before the last component: nothing there, or a non-group in the way */
	if (!ret && i < len && strspn(path + i, "/") != len - i)
		*kind = *kind == KIND_NONE ? KIND_NONE : KIND_BLOCKED;
	free(buf);
	return ret;
}

static int in_the_way(lp_archive *a, const char *path, int kind, const char *want)
{
	if (kind == KIND_BLOCKED)
		return lp_error(a->ctx, LP_ERR_ARG, "archive: %s: cannot create %s %s: a parent "
				"is not a group", a->path, want, path);
	return lp_error(a->ctx, LP_ERR_ARG, "archive: %s: %s exists and is not a %s", a->path,
			path, want);
}

/* Open the object at path, or fail naming it: LP_ERR_NOTFOUND when nothing is there. */
static int open_obj(lp_archive *a, const char *path, int want, hid_t *out)
{
	int kind = KIND_NONE, ret = lph5_check_path(a, path, 0);

	if (!ret)
		ret = obj_kind(a, path, &kind);
	if (ret)
		return ret;
	if (kind == KIND_NONE || kind == KIND_BLOCKED)
		return lp_error(a->ctx, LP_ERR_NOTFOUND, "archive: %s: no %s %s", a->path,
				want == KIND_DATASET ? "dataset" : want == KIND_GROUP ? "group" : "object",
				path);
	if (want != KIND_NONE && kind != want)
		return lp_error(a->ctx, LP_ERR_ARG, "archive: %s: %s is not a %s", a->path, path,
				want == KIND_DATASET ? "dataset" : "group");
	*out = H5Oopen(a->file, path, H5P_DEFAULT);
	if (*out < 0)
		return lph5_fail(a->ctx, a->path, "cannot open %s", path);
	return LP_OK;
}

static int get_meta(lp_archive *a, hid_t id, int is_attr, const char *obj, meta *m)
{
	hid_t type = is_attr ? H5Aget_type(id) : H5Dget_type(id), space;
	hssize_t n;
	int ret = LP_OK;

	memset(m, 0, sizeof(*m));
	if (type < 0)
		return lph5_fail(a->ctx, a->path, "cannot get the type of %s", obj);
	m->cls = H5Tget_class(type);
	m->size = H5Tget_size(type);
	if (m->cls == H5T_INTEGER)
		m->is_signed = H5Tget_sign(type) == H5T_SGN_2;
	if (m->cls == H5T_STRING) {
		m->is_vlen = H5Tis_variable_str(type) > 0;
		m->cset = H5Tget_cset(type);
	}
	if (m->cls == H5T_NO_CLASS || m->size == 0 || (m->cls == H5T_STRING && m->cset < 0)) {
		ret = lph5_fail(a->ctx, a->path, "cannot read the type of %s", obj);
		goto out_type;
	}
	space = is_attr ? H5Aget_space(id) : H5Dget_space(id);
	if (space < 0) {
		ret = lph5_fail(a->ctx, a->path, "cannot get the shape of %s", obj);
		goto out_type;
	}
	m->rank = H5Sget_simple_extent_ndims(space);
	n = H5Sget_simple_extent_npoints(space);
	if (m->rank < 0 || n < 0 || (m->rank <= LP_MAX_RANK &&
				     H5Sget_simple_extent_dims(space, m->dims, NULL) < 0))
		ret = lph5_fail(a->ctx, a->path, "cannot read the shape of %s", obj);
	else if (m->rank > LP_MAX_RANK)
		ret = lp_error(a->ctx, LP_ERR_FORMAT, "archive: %s: %s has rank %d, above %d",
			       a->path, obj, m->rank, LP_MAX_RANK);
	m->n = (hsize_t)n;
	H5Sclose(space);
out_type:
	H5Tclose(type);
	return ret;
}

static int meta_dtype(const meta *m)
{
	if (m->cls == H5T_FLOAT)
		return LP_F32;
	if (m->cls != H5T_INTEGER)
		return 0;
	if (m->size == 1 && !m->is_signed)
		return LP_U8;
	if (m->size < 4 || (m->size == 4 && m->is_signed))
		return LP_I32;
	return LP_I64;
}

/* Open a dataset and read its type and shape; on error nothing stays open. */
static int open_dset(lp_archive *a, const char *path, hid_t *d, meta *m)
{
	int ret = open_obj(a, path, KIND_DATASET, d);

	if (!ret && (ret = get_meta(a, *d, 0, path, m)))
		H5Oclose(*d);
	return ret;
}

/* File type, memory type and element size of a loupe dtype; -1 if unknown. */
int lph5_dtype_map(int dtype, hid_t *ftype, hid_t *mtype, size_t *size)
{
	switch (dtype) {
	case LP_F32: *ftype = H5T_IEEE_F32LE; *mtype = H5T_NATIVE_FLOAT; *size = 4; return 0;
	case LP_I32: *ftype = H5T_STD_I32LE; *mtype = H5T_NATIVE_INT32; *size = 4; return 0;
	case LP_I64: *ftype = H5T_STD_I64LE; *mtype = H5T_NATIVE_INT64; *size = 8; return 0;
	case LP_U8: *ftype = H5T_STD_U8LE; *mtype = H5T_NATIVE_UINT8; *size = 1; return 0;
	default: return -1;
	}
}

/* ---- writing ---------------------------------------------------------------------------- */

/* Scalar attribute, replacing one of the same name. */
static int put_attr(lp_archive *a, hid_t obj, const char *path, const char *name, hid_t ftype,
		    hid_t mtype, const void *buf)
{
	htri_t e = H5Aexists(obj, name);
	hid_t space, attr;
	int ret = LP_OK;

	if (e < 0 || (e > 0 && H5Adelete(obj, name) < 0))
		return lph5_fail(a->ctx, a->path, "cannot replace attribute %s of %s", name, path);
	space = H5Screate(H5S_SCALAR);
	if (space < 0)
		return lph5_fail(a->ctx, a->path, "cannot make a scalar space for %s", path);
	attr = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
	if (attr < 0) {
		ret = lph5_fail(a->ctx, a->path, "cannot create attribute %s of %s", name, path);
		goto out_space;
	}
	if (H5Awrite(attr, mtype, buf) < 0)
		ret = lph5_fail(a->ctx, a->path, "cannot write attribute %s of %s", name, path);
	H5Aclose(attr);
out_space:
	H5Sclose(space);
	return ret;
}

static int attr_put(lp_archive *a, const char *obj, const char *name, hid_t ftype, hid_t mtype,
		    const void *buf)
{
	hid_t o = -1;
	int ret = lph5_check_path(a, obj, 1);

	if (!ret && (!name || !name[0]))
		ret = lp_error(a->ctx, LP_ERR_ARG, "archive: %s: empty attribute name on %s",
			       a->path, obj);
	if (!ret)
		ret = open_obj(a, obj, KIND_NONE, &o);
	if (ret)
		return ret;
	ret = put_attr(a, o, obj, name, ftype, mtype, buf);
	H5Oclose(o);
	return ret;
}

int lp_archive_attr_string(lp_archive *a, const char *obj, const char *name, const char *value)
{
	const char *v = value ? value : "";

	return attr_put(a, obj, name, a->str, a->str, &v);
}

int lp_archive_attr_number(lp_archive *a, const char *obj, const char *name, double value)
{
	return attr_put(a, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

int lp_archive_attr_int(lp_archive *a, const char *obj, const char *name, int64_t value)
{
	return attr_put(a, obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

int lp_archive_group(lp_archive *a, const char *path)
{
	hid_t g;
	int kind = KIND_NONE, ret = lph5_check_path(a, path, 1);

	if (!ret)
		ret = obj_kind(a, path, &kind);
	if (ret || kind == KIND_GROUP)
		return ret;
	if (kind != KIND_NONE)
		return in_the_way(a, path, kind, "group");
	g = H5Gcreate2(a->file, path, a->lcpl, H5P_DEFAULT, H5P_DEFAULT);
	if (g < 0)
		return lph5_fail(a->ctx, a->path, "cannot create group %s", path);
	H5Gclose(g);
	return LP_OK;
}

int lp_archive_remove(lp_archive *a, const char *path)
{
	int kind = KIND_NONE, ret = lph5_check_path(a, path, 1);

	if (!ret)
		ret = obj_kind(a, path, &kind);
	if (ret || kind == KIND_NONE)
		return ret;
	if (strcmp(path, "/") == 0)
		return lp_error(a->ctx, LP_ERR_ARG, "archive: %s: the root cannot be removed", a->path);
	if (H5Ldelete(a->file, path, H5P_DEFAULT) < 0)
		return lph5_fail(a->ctx, a->path, "cannot remove %s", path);
	return LP_OK;
}

int lp_archive_move(lp_archive *a, const char *from, const char *to)
{
	int kind = KIND_NONE, ret = lph5_check_path(a, from, 1);

	if (!ret)
		ret = lph5_check_path(a, to, 1);
	if (!ret)
		ret = obj_kind(a, from, &kind);
	if (!ret && kind == KIND_NONE)
		ret = lp_error(a->ctx, LP_ERR_NOTFOUND, "archive: %s: nothing at %s to move", a->path,
			       from);
	if (!ret)
		ret = lp_archive_remove(a, to);
	if (!ret && H5Lmove(a->file, from, a->file, to, a->lcpl, H5P_DEFAULT) < 0)
		ret = lph5_fail(a->ctx, a->path, "cannot move %s to %s", from, to);
	return ret;
}

/* Every numeric dataset with elements is chunked (chunks of about CHUNK_BYTES) and carries a
 * Fletcher-32 checksum per chunk, which HDF5 (h5py too) verifies on every read: a flipped bit in
 * a tensor is an error, not a wrong number. Above BIG_BYTES they are also deflated (level 1).
 * Strings stay contiguous: HDF5 applies no filter to variable-length data. */
static hid_t make_dcpl(int rank, const hsize_t *dims, size_t elem, int numeric)
{
	hsize_t chunk[LP_MAX_RANK];
	uint64_t bytes = elem, total;
	hid_t dcpl;
	int i;

	for (i = 0; i < rank; i++)
		bytes *= chunk[i] = dims[i];
	if (!numeric || rank == 0 || bytes == 0) /* HDF5 checksums no variable-length data */
		return H5P_DEFAULT;
	total = bytes;
	for (i = 0; i < rank && bytes > CHUNK_BYTES; i++) {
		while (chunk[i] > 1 && bytes > CHUNK_BYTES) {
			bytes = bytes / chunk[i] * ((chunk[i] + 1) / 2);
			chunk[i] = (chunk[i] + 1) / 2;
		}
	}
	dcpl = H5Pcreate(H5P_DATASET_CREATE);
	if (dcpl < 0 || H5Pset_chunk(dcpl, rank, chunk) < 0)
		goto out_fail;
	/* deflate first, so the checksum covers the bytes on disk and zlib never sees bad ones */
	if (total > BIG_BYTES && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0 &&
	    H5Pset_deflate(dcpl, 1) < 0)
		goto out_fail;
	if (H5Pset_fletcher32(dcpl) < 0)
		goto out_fail;
	return dcpl;
out_fail:
	if (dcpl >= 0)
		H5Pclose(dcpl);
	return -1;
}

/* A new dataset at path, replacing a dataset already there; elem: see make_dcpl. */
static int create_dset(lp_archive *a, const char *path, hid_t type, int rank, const hsize_t *dims,
		       size_t elem, int numeric, hid_t *out)
{
	hid_t space, dcpl;
	int kind = KIND_NONE, ret = lph5_check_path(a, path, 1);

	if (!ret)
		ret = obj_kind(a, path, &kind);
	if (ret)
		return ret;
	if (kind != KIND_NONE && kind != KIND_DATASET)
		return in_the_way(a, path, kind, "dataset");
	if (kind == KIND_DATASET && H5Ldelete(a->file, path, H5P_DEFAULT) < 0)
		return lph5_fail(a->ctx, a->path, "cannot replace dataset %s", path);
	space = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
	if (space < 0)
		return lph5_fail(a->ctx, a->path, "cannot make the dataspace of %s", path);
	dcpl = make_dcpl(rank, dims, elem, numeric);
	if (dcpl < 0) {
		ret = lph5_fail(a->ctx, a->path, "cannot set up chunking for %s", path);
		goto out_space;
	}
	*out = H5Dcreate2(a->file, path, type, space, a->lcpl, dcpl, H5P_DEFAULT);
	if (*out < 0)
		ret = lph5_fail(a->ctx, a->path, "cannot create dataset %s", path);
	if (dcpl != H5P_DEFAULT)
		H5Pclose(dcpl);
out_space:
	H5Sclose(space);
	return ret;
}

/* Dimension labels (h5py: dset.dims[i].label) plus an "axes" attribute, comma-joined. */
int lph5_set_axes(lp_archive *a, const char *path, hid_t d, int rank, const char *const *axes)
{
	char dflt[LP_MAX_RANK][16];
	const char *label[LP_MAX_RANK];
	size_t len = 1;
	char *joined;
	int i, ret;

	if (rank == 0)
		return LP_OK;
	for (i = 0; i < rank; i++) {
		snprintf(dflt[i], sizeof(dflt[i]), "dim_%d", i);
		label[i] = axes && axes[i] && axes[i][0] ? axes[i] : dflt[i];
		len += strlen(label[i]) + 1;
		if (H5DSset_label(d, (unsigned)i, label[i]) < 0)
			return lph5_fail(a->ctx, a->path, "cannot label axis %d of %s", i, path);
	}
	joined = malloc(len);
	if (!joined)
		return lph5_nomem(a, path);
	joined[0] = '\0';
	for (i = 0; i < rank; i++) {
		if (i)
			strcat(joined, ",");
		strcat(joined, label[i]);
	}
	ret = put_attr(a, d, path, "axes", a->str, a->str, &joined);
	free(joined);
	return ret;
}

int lp_archive_write(lp_archive *a, const char *path, int dtype, int rank, const int64_t *dims,
		     const char *const *axes, const void *data)
{
	hsize_t hd[LP_MAX_RANK];
	hid_t ftype = -1, mtype = -1, d = -1;
	size_t elem = 0;
	uint64_t n = 1;
	int i, ret = lph5_check_path(a, path, 1);

	if (ret)
		return ret;
	if (lph5_dtype_map(dtype, &ftype, &mtype, &elem))
		return lp_error(a->ctx, LP_ERR_ARG, "archive: %s: %s: unknown dtype %d", a->path,
				path, dtype);
	if (rank < 0 || rank > LP_MAX_RANK || (rank && !dims))
		return lp_error(a->ctx, LP_ERR_ARG, "archive: %s: %s: rank %d is not 0..%d",
				a->path, path, rank, LP_MAX_RANK);
	for (i = 0; i < rank; i++) {
		if (dims[i] < 0 || (dims[i] && n > (SIZE_MAX / elem) / (uint64_t)dims[i]))
			return lp_error(a->ctx, LP_ERR_ARG, "archive: %s: %s: bad size %lld of axis %d",
					a->path, path, (long long)dims[i], i);
		hd[i] = (hsize_t)dims[i];
		n *= hd[i];
	}
	if (n && !data)
		return lp_error(a->ctx, LP_ERR_ARG, "archive: %s: %s: no data", a->path, path);
	ret = create_dset(a, path, ftype, rank, hd, elem, 1, &d);
	if (ret)
		return ret;
	if (n && H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
		ret = lph5_fail(a->ctx, a->path, "cannot write dataset %s", path);
	if (!ret)
		ret = lph5_set_axes(a, path, d, rank, axes);
	H5Dclose(d);
	return ret;
}

int lp_archive_write_strings(lp_archive *a, const char *path, size_t n,
			     const char *const *strings, const char *axis)
{
	const char *axes[1] = { axis };
	hsize_t dim = n;
	const char **v;
	hid_t d = -1;
	size_t i;
	int ret = lph5_check_path(a, path, 1);

	if (!ret && n && !strings)
		ret = lp_error(a->ctx, LP_ERR_ARG, "archive: %s: %s: no strings", a->path, path);
	if (ret)
		return ret;
	v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return lph5_nomem(a, path);
	for (i = 0; i < n; i++)
		v[i] = strings[i] ? strings[i] : "";
	ret = create_dset(a, path, a->str, 1, &dim, 16, 0, &d);
	if (ret)
		goto out_free;
	if (n && H5Dwrite(d, a->str, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0)
		ret = lph5_fail(a->ctx, a->path, "cannot write dataset %s", path);
	if (!ret)
		ret = lph5_set_axes(a, path, d, 1, axes);
	H5Dclose(d);
out_free:
	free(v);
	return ret;
}

/* A scalar string dataset (the script text). */
int lph5_write_text(lp_archive *a, const char *path, const char *text)
{
	hid_t d = -1;
	int ret = create_dset(a, path, a->str, 0, NULL, 16, 0, &d);

	if (ret)
		return ret;
	if (H5Dwrite(d, a->str, H5S_ALL, H5S_ALL, H5P_DEFAULT, &text) < 0)
		ret = lph5_fail(a->ctx, a->path, "cannot write dataset %s", path);
	H5Dclose(d);
	return ret;
}

/* ---- reading ---------------------------------------------------------------------------- */

int lp_archive_exists(lp_archive *a, const char *path, int *kind)
{
	int ret = lph5_check_path(a, path, 0);

	*kind = KIND_NONE;
	if (!ret)
		ret = obj_kind(a, path, kind);
	if (ret || *kind > KIND_DATASET)
		*kind = KIND_NONE;
	return ret;
}

int lp_archive_info(lp_archive *a, const char *path, int *dtype, int *rank, int64_t *dims)
{
	hid_t d = -1;
	meta m;
	int i, ret = open_dset(a, path, &d, &m);

	if (ret)
		return ret;
	H5Oclose(d);
	if (m.cls != H5T_STRING && !meta_dtype(&m))
		return lp_error(a->ctx, LP_ERR_FORMAT, "archive: %s: %s: element type is neither "
				"a number nor a string", a->path, path);
	if (dtype)
		*dtype = meta_dtype(&m);
	if (rank)
		*rank = m.rank;
	for (i = 0; dims && i < m.rank; i++)
		dims[i] = (int64_t)m.dims[i];
	return LP_OK;
}

/* The dataset at path, opened, with the memory type and element size of dtype. */
static int open_for_read(lp_archive *a, const char *path, int dtype, hid_t *d, meta *m,
			 hid_t *mtype, size_t *elem)
{
	hid_t ftype = -1;
	int ret = lph5_check_path(a, path, 0);

	if (!ret && lph5_dtype_map(dtype, &ftype, mtype, elem))
		ret = lp_error(a->ctx, LP_ERR_ARG, "archive: %s: %s: unknown dtype %d", a->path,
			       path, dtype);
	if (!ret)
		ret = open_dset(a, path, d, m);
	return ret;
}

int lp_archive_read(lp_archive *a, const char *path, int dtype, void *dst, size_t bytes)
{
	hid_t mtype = -1, d = -1;
	size_t elem = 0;
	meta m;
	int ret = open_for_read(a, path, dtype, &d, &m, &mtype, &elem);

	if (ret)
		return ret;
	if (!meta_dtype(&m))
		ret = lp_error(a->ctx, LP_ERR_FORMAT, "archive: %s: %s is not numeric", a->path,
			       path);
	if (!ret && (m.n > SIZE_MAX / elem || m.n * elem != bytes))
		ret = lp_error(a->ctx, LP_ERR_SHAPE, "archive: %s: %s holds %llu elements: "
			       "expected %llu bytes, given %zu", a->path, path,
			       (unsigned long long)m.n, (unsigned long long)(m.n * elem), bytes);
	if (!ret && m.n && H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0)
		ret = lph5_fail(a->ctx, a->path, "cannot read dataset %s", path);
	H5Oclose(d);
	return ret;
}

static int read_slab(lp_archive *a, const char *path, hid_t d, const meta *m, hid_t mtype,
		     int64_t row0, int64_t nrows, void *dst)
{
	hsize_t start[LP_MAX_RANK] = { 0 }, count[LP_MAX_RANK];
	hid_t fs, ms;
	int ret = LP_OK;

	memcpy(count, m->dims, sizeof(hsize_t) * (size_t)m->rank);
	start[0] = (hsize_t)row0;
	count[0] = (hsize_t)nrows;
	fs = H5Dget_space(d);
	if (fs < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0) {
		ret = lph5_fail(a->ctx, a->path, "cannot select rows of %s", path);
		goto out_fs;
	}
	ms = H5Screate_simple(m->rank, count, NULL);
	if (ms < 0)
		ret = lph5_fail(a->ctx, a->path, "cannot make a memory space for %s", path);
	else if (H5Dread(d, mtype, ms, fs, H5P_DEFAULT, dst) < 0)
		ret = lph5_fail(a->ctx, a->path, "cannot read rows %lld..%lld of %s",
				(long long)row0, (long long)(row0 + nrows - 1), path);
	if (ms >= 0)
		H5Sclose(ms);
out_fs:
	if (fs >= 0)
		H5Sclose(fs);
	return ret;
}

int lp_archive_read_rows(lp_archive *a, const char *path, int dtype, int64_t row0, int64_t nrows,
			 void *dst, size_t bytes)
{
	hid_t mtype = -1, d = -1;
	size_t elem = 0;
	uint64_t per_row = 1;
	meta m;
	int ret = open_for_read(a, path, dtype, &d, &m, &mtype, &elem);

	if (ret)
		return ret;
	for (int i = 1; i < m.rank; i++)
		per_row *= m.dims[i];
	if (!meta_dtype(&m) || m.rank < 1)
		ret = lp_error(a->ctx, LP_ERR_FORMAT, "archive: %s: %s is not a numeric table",
			       a->path, path);
	else if (row0 < 0 || nrows < 0 || (uint64_t)row0 + (uint64_t)nrows > m.dims[0])
		ret = lp_error(a->ctx, LP_ERR_ARG, "archive: %s: rows %lld..%lld of %s: it has %llu",
			       a->path, (long long)row0, (long long)(row0 + nrows - 1), path,
			       (unsigned long long)m.dims[0]);
	else if (per_row && (uint64_t)nrows > SIZE_MAX / elem / per_row)
		ret = lp_error(a->ctx, LP_ERR_ARG, "archive: %s: %s: too many rows asked", a->path,
			       path);
	else if ((uint64_t)nrows * per_row * elem != bytes)
		ret = lp_error(a->ctx, LP_ERR_SHAPE, "archive: %s: %lld rows of %s take %llu bytes, "
			       "given %zu", a->path, (long long)nrows, path,
			       (unsigned long long)((uint64_t)nrows * per_row * elem), bytes);
	if (!ret && nrows && per_row)
		ret = read_slab(a, path, d, &m, mtype, row0, nrows, dst);
	H5Oclose(d);
	return ret;
}

/* One malloc'd block: n pointers, then the characters they point at. */
static char **pack(char *const *src, size_t n)
{
	size_t total = n * sizeof(char *) + 1, i, len;
	char **block;
	char *p;

	for (i = 0; i < n; i++)
		total += strlen(src[i] ? src[i] : "") + 1;
	block = malloc(total);
	if (!block)
		return NULL;
	p = (char *)(block + n);
	for (i = 0; i < n; i++) {
		len = strlen(src[i] ? src[i] : "") + 1;
		block[i] = memcpy(p, src[i] ? src[i] : "", len);
		p += len;
	}
	return block;
}

/* Read string values (variable or fixed length) of a dataset or attribute into one block. */
static int read_strs(lp_archive *a, hid_t id, int is_attr, const char *obj, const meta *m,
		     char ***out)
{
	size_t n = (size_t)m->n, step = m->is_vlen ? sizeof(char *) : m->size + 1, i;
	hid_t mtype = H5Tcopy(H5T_C_S1);
	char *buf = NULL, **ptrs = NULL;
	herr_t e;
	int ret = LP_OK;

	*out = NULL;
	if (mtype < 0 || H5Tset_size(mtype, m->is_vlen ? H5T_VARIABLE : step) < 0 ||
	    H5Tset_cset(mtype, m->cset) < 0 || H5Tset_strpad(mtype, H5T_STR_NULLTERM) < 0) {
		ret = lph5_fail(a->ctx, a->path, "cannot make a string type for %s", obj);
		goto out_type;
	}
	buf = calloc(n ? n : 1, step);
	ptrs = calloc(n ? n : 1, sizeof(*ptrs));
	if (!buf || !ptrs) {
		ret = lph5_nomem(a, obj);
		goto out_type;
	}
	e = !n ? 0 : is_attr ? H5Aread(id, mtype, buf)
		: H5Dread(id, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
	if (e < 0) {
		ret = lph5_fail(a->ctx, a->path, "cannot read strings of %s", obj);
		goto out_type;
	}
	for (i = 0; i < n; i++)
		ptrs[i] = m->is_vlen ? ((char **)(void *)buf)[i] : buf + i * step;
	*out = pack(ptrs, n);
	if (!*out)
		ret = lph5_nomem(a, obj);
	/* what H5Dvlen_reclaim / H5Treclaim do for strings, without a dataspace that could fail */
	for (i = 0; m->is_vlen && i < n; i++)
		H5free_memory(ptrs[i]);
out_type:
	if (ret) {
		free(*out);
		*out = NULL;
	}
	free(ptrs);
	free(buf);
	if (mtype >= 0)
		H5Tclose(mtype);
	return ret;
}

int lp_archive_read_strings(lp_archive *a, const char *path, size_t *n, char ***out)
{
	hid_t d = -1;
	meta m;
	int ret;

	*n = 0;
	*out = NULL;
	ret = open_dset(a, path, &d, &m);
	if (ret)
		return ret;
	if (m.cls != H5T_STRING || m.rank > 1)
		ret = lp_error(a->ctx, LP_ERR_FORMAT, "archive: %s: %s is not a 1-D string dataset",
			       a->path, path);
	if (!ret)
		ret = read_strs(a, d, 0, path, &m, out);
	if (!ret)
		*n = (size_t)m.n;
	H5Oclose(d);
	return ret;
}

/* An attribute that holds one value, as text; LP_ERR_NOTFOUND if it is missing. */
static int attr_text(lp_archive *a, hid_t o, const char *obj, const char *name, char **out)
{
	char num[48], **strs;
	htri_t e = H5Aexists(o, name);
	hid_t at;
	meta m;
	int ret;

	*out = NULL;
	if (e < 0)
		return lph5_fail(a->ctx, a->path, "cannot look up attribute %s of %s", name, obj);
	if (e == 0)
		return lp_error(a->ctx, LP_ERR_NOTFOUND, "archive: %s: %s has no attribute %s",
				a->path, obj, name);
	at = H5Aopen(o, name, H5P_DEFAULT);
	if (at < 0)
		return lph5_fail(a->ctx, a->path, "cannot open attribute %s of %s", name, obj);
	ret = get_meta(a, at, 1, obj, &m);
	if (!ret && (m.n != 1 || (m.cls != H5T_STRING && !meta_dtype(&m))))
		ret = lp_error(a->ctx, LP_ERR_FORMAT, "archive: %s: attribute %s of %s is not a "
			       "single number or string", a->path, name, obj);
	if (ret)
		goto out_attr;
	if (m.cls == H5T_STRING) {
		ret = read_strs(a, at, 1, obj, &m, &strs);
		*out = ret ? NULL : strdup(strs[0]);
		free(strs);
		goto out_check;
	}
	if (m.cls == H5T_FLOAT) {
		double v;
		e = H5Aread(at, H5T_NATIVE_DOUBLE, &v);
		snprintf(num, sizeof(num), "%.17g", v);
	} else if (m.size == 8 && !m.is_signed) {
		unsigned long long v;
		e = H5Aread(at, H5T_NATIVE_ULLONG, &v);
		snprintf(num, sizeof(num), "%llu", v);
	} else {
		long long v;
		e = H5Aread(at, H5T_NATIVE_LLONG, &v);
		snprintf(num, sizeof(num), "%lld", v);
	}
	if (e < 0) {
		ret = lph5_fail(a->ctx, a->path, "cannot read attribute %s of %s", name, obj);
		goto out_attr;
	}
	*out = strdup(num);
out_check:
	if (!ret && !*out)
		ret = lph5_nomem(a, obj);
out_attr:
	H5Aclose(at);
	return ret;
}

int lp_archive_attr_get(lp_archive *a, const char *obj, const char *name, char **out)
{
	hid_t o = -1;
	int ret;

	*out = NULL;
	ret = open_obj(a, obj, KIND_NONE, &o);
	if (ret)
		return ret;
	if (!name || !name[0])
		ret = lp_error(a->ctx, LP_ERR_ARG, "archive: %s: empty attribute name on %s",
			       a->path, obj);
	else
		ret = attr_text(a, o, obj, name, out);
	H5Oclose(o);
	return ret;
}

int lp_archive_axes(lp_archive *a, const char *path, void (*fn)(void *, int, const char *),
		    void *user)
{
	char label[256], *list = NULL, *field[LP_MAX_RANK] = { 0 }, *p;
	hid_t d = -1;
	meta m;
	int i, ret = open_dset(a, path, &d, &m);

	if (ret)
		return ret;
	/* the "axes" attribute stands in for labels that are missing (other writers) */
	if (m.rank > 0 && attr_text(a, d, path, "axes", &list) == LP_OK)
		for (i = 0, p = list; p && i < m.rank; i++) {
			field[i] = p;
			p = strchr(p, ',');
			if (p)
				*p++ = '\0';
		}
	for (i = 0; !ret && i < m.rank; i++) {
		label[0] = '\0';
		if (H5DSget_label(d, (unsigned)i, label, sizeof(label)) < 0) {
			ret = lph5_fail(a->ctx, a->path, "cannot read the label of axis %d of %s", i,
				     path);
			break;
		}
		if (!label[0])
			snprintf(label, sizeof(label), "%s", field[i] ? field[i] : "");
		if (!label[0])
			snprintf(label, sizeof(label), "dim_%d", i);
		fn(user, i, label);
	}
	free(list);
	H5Oclose(d);
	return ret;
}

int lp_archive_attr_list(lp_archive *a, const char *obj,
			 void (*fn)(void *user, const char *name), void *user)
{
	char name[1024];
	H5O_info_t info;
	hid_t o = -1;
	int ret = open_obj(a, obj, KIND_NONE, &o);

	if (ret)
		return ret;
	if (H5Oget_info2(o, &info, H5O_INFO_NUM_ATTRS) < 0)
		ret = lph5_fail(a->ctx, a->path, "cannot count the attributes of %s", obj);
	for (hsize_t i = 0; !ret && i < info.num_attrs; i++) {
		ssize_t len = H5Aget_name_by_idx(o, ".", H5_INDEX_NAME, H5_ITER_INC, i, name,
						 sizeof name, H5P_DEFAULT);
		if (len < 0)
			ret = lph5_fail(a->ctx, a->path, "cannot list the attributes of %s", obj);
		else
			fn(user, name);
	}
	H5Oclose(o);
	return ret;
}

static int list_one(lp_archive *a, hid_t g, const char *group, hsize_t i,
		    void (*fn)(void *, const char *, int), void *user)
{
	ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, NULL, 0,
					 H5P_DEFAULT);
	int kind = KIND_NONE;
	char *name;
	hid_t o;

	if (len < 0)
		return lph5_fail(a->ctx, a->path, "cannot list group %s", group);
	name = malloc((size_t)len + 1);
	if (!name)
		return lph5_nomem(a, group);
	if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, (size_t)len + 1,
			       H5P_DEFAULT) < 0) {
		free(name);
		return lph5_fail(a->ctx, a->path, "cannot list group %s", group);
	}
	o = H5Oopen(g, name, H5P_DEFAULT);
	if (o >= 0) {
		H5I_type_t t = H5Iget_type(o);

		kind = t == H5I_GROUP ? KIND_GROUP : t == H5I_DATASET ? KIND_DATASET : KIND_NONE;
		H5Oclose(o);
	}
	fn(user, name, kind);
	free(name);
	return LP_OK;
}

int lp_archive_list(lp_archive *a, const char *group,
		    void (*fn)(void *user, const char *name, int kind), void *user)
{
	H5G_info_t gi;
	hid_t g = -1;
	hsize_t i;
	int ret = open_obj(a, group, KIND_GROUP, &g);

	if (ret)
		return ret;
	if (H5Gget_info(g, &gi) < 0)
		ret = lph5_fail(a->ctx, a->path, "cannot list group %s", group);
	for (i = 0; !ret && i < gi.nlinks; i++)
		ret = list_one(a, g, group, i, fn, user);
	H5Oclose(g);
	return ret;
}

struct groups {
	char **v;
	size_t n;
	int nomem;
};

static void on_group(void *user, const char *name, int kind)
{
	struct groups *g = user;
	char **v;
	if (kind != LP_NODE_GROUP || g->nomem)
		return;
	if (!(v = realloc(g->v, (g->n + 1) * sizeof(*v))) || !(v[g->n] = strdup(name))) {
		g->v = v ? v : g->v;
		g->nomem = 1;
		return;
	}
	g->v = v;
	g->n++;
}

int lpi_archive_groups(lp_archive *a, const char *group, char ***names, size_t *n)
{
	struct groups g = { NULL, 0, 0 };
	int ret = lp_archive_list(a, group, on_group, &g);

	if (!ret && g.nomem)
		ret = lp_error(a->ctx, LP_ERR_NOMEM, "%s: out of memory listing %s", a->path, group);
	if (ret) {
		lpi_strings_free(g.v, g.n);
		g.v = NULL;
		g.n = 0;
	}
	*names = g.v;
	*n = g.n;
	return ret;
}

void lpi_strings_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}
