/*
 * h5int.h — what the files of core/src/h5/ share: the archive handle, HDF5's headers, errors.
 * The only header that includes hdf5.h; nothing outside core/src/h5/ includes it.
 */
#ifndef LOUPE_H5INT_H
#define LOUPE_H5INT_H

#include <stdint.h>

/* Debian configures HDF5 with the 1.8 API as the default (H5_USE_18_API_DEFAULT), and
 * H5version.h refuses that together with H5_NO_DEPRECATED_SYMBOLS. Read the version map once
 * without that default (its include guard keeps hdf5.h from reading it again), so the
 * deprecated calls stay hidden and every unnumbered name maps to its 1.10 version. */
#include <H5pubconf.h>
#if defined(H5_NO_DEPRECATED_SYMBOLS) && defined(H5_USE_18_API_DEFAULT)
#undef H5_USE_18_API_DEFAULT
#include <H5version.h>
#endif
#include <hdf5.h>
#include <hdf5_hl.h>

#include "loupe/archive.h"
#include "loupe/lock.h"

/* what a path names; BLOCKED: a parent component is a dataset (or other non-group) */
enum { KIND_NONE = LP_NODE_NONE, KIND_GROUP = LP_NODE_GROUP, KIND_DATASET = LP_NODE_DATASET,
       KIND_OTHER, KIND_BLOCKED };

struct lp_archive {
	lp_ctx *ctx;
	hid_t file;
	hid_t lcpl; /* link creation: create missing parent groups */
	hid_t str;  /* UTF-8 variable-length string */
	char *path; /* what the user named: every message says this */
	char *work; /* the file HDF5 writes (writable archives): published to path by commits */
	lp_lock *lock;
	int writable;
	int created; /* made by lp_archive_create: commits record plugins, seed and device */
	unsigned flags;
	int plugins_written, device_written;
	size_t plugins_recorded;
};

/* What a dataset's or attribute's type and dataspace say. */
typedef struct meta {
	H5T_class_t cls;
	size_t size;
	int is_signed, is_vlen;
	H5T_cset_t cset;
	int rank;
	hsize_t dims[LP_MAX_RANK];
	hsize_t n;
} meta;

/* archive.c */
/* Record an HDF5 failure; must run before the next HDF5 call, which clears the stack. */
int lph5_fail(lp_ctx *ctx, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int lph5_nomem(lp_archive *a, const char *obj);
int lph5_write_text(lp_archive *a, const char *path, const char *text);
/* archive.c, shared with append.c: an absolute path (and a writable archive when write);
 * file type, memory type and element size of a loupe dtype (-1 unknown); axis labels plus
 * the "axes" attribute (NULL or "" labels: dim_I) */
int lph5_check_path(lp_archive *a, const char *path, int write);
int lph5_dtype_map(int dtype, hid_t *ftype, hid_t *mtype, size_t *size);
int lph5_set_axes(lp_archive *a, const char *path, hid_t d, int rank, const char *const *axes);
/* The innermost message of HDF5's error stack ("" if none). */
void lph5_reason(char *buf, size_t size);

/* session.c */
int lph5_new(lp_ctx *ctx, const char *path, int writable, lp_archive **out);
void lph5_free(lp_archive *a);
/* Open a file as it is, without the damage check (validate.c's child reads through this). */
int lph5_open_raw(lp_ctx *ctx, const char *path, lp_archive **out);

/* validate.c: read every object of the file at path in a child process; LP_OK, or an error
 * naming the file and the object where reading failed or crashed. */
int lph5_validate(lp_ctx *ctx, const char *path);

#endif
