/*
 * session.c — an archive's file: create, open, commit, discard, close.
 *
 * A writable archive is never written in place. HDF5 writes a private work file beside it,
 * PATH.tmp.PID; a commit closes that file, copies it to PATH.new.PID, fsyncs the copy, renames
 * it over PATH, fsyncs the directory and reopens the work file; close renames the work file
 * itself. So PATH is at every moment a whole file that HDF5 closed — the newest commit — whatever
 * kills the process (SIGKILL, OOM, power loss): HDF5 files that are killed while open are
 * unreadable, and flushing does not make the bytes written between flushes safe.
 *
 * PATH.lock (an flock naming its holder, loupe/lock.h) keeps a second writer out; a file another
 * process holds open (h5py, or a loupe reader) is refused before any byte of it changes; work
 * files a dead writer left behind are removed by the next writer. Readers open PATH itself: a
 * run still training shows them its last commit. Files opened for reading are first read whole
 * in a child process (validate.c), so a damaged file cannot crash the reader.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "h5int.h"

/* ---- the handle ------------------------------------------------------------------------- */

void lph5_free(lp_archive *a)
{
	if (a->file >= 0)
		H5Fclose(a->file);
	if (a->lcpl >= 0)
		H5Pclose(a->lcpl);
	if (a->str >= 0)
		H5Tclose(a->str);
	if (a->work)
		unlink(a->work); /* still here: never published (an error, or a discard) */
	lp_lock_release(a->lock);
	free(a->work);
	free(a->path);
	free(a);
}

int lph5_new(lp_ctx *ctx, const char *path, int writable, lp_archive **out)
{
	lp_archive *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (!a)
		return lp_error(ctx, LP_ERR_NOMEM, "archive: %s: out of memory", path);
	a->ctx = ctx;
	a->file = a->lcpl = a->str = -1;
	a->writable = writable;
	a->path = strdup(path);
	if (!a->path) {
		free(a);
		return lp_error(ctx, LP_ERR_NOMEM, "archive: %s: out of memory", path);
	}
	/* HDF5 must never print; the error stack is still recorded for our messages. */
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	a->lcpl = H5Pcreate(H5P_LINK_CREATE);
	if (a->lcpl < 0 || H5Pset_create_intermediate_group(a->lcpl, 1) < 0)
		goto out_fail;
	a->str = H5Tcopy(H5T_C_S1);
	if (a->str < 0 || H5Tset_size(a->str, H5T_VARIABLE) < 0 ||
	    H5Tset_cset(a->str, H5T_CSET_UTF8) < 0)
		goto out_fail;
	*out = a;
	return LP_OK;
out_fail:
	lph5_fail(ctx, path, "cannot set up property lists");
	lph5_free(a);
	return LP_ERR_HDF5;
}

/* "PATH" + ".tmp." + pid, malloc'd */
static char *sibling(const char *path, const char *suffix)
{
	size_t len = strlen(path) + strlen(suffix) + 24;
	char *s = malloc(len);

	if (s)
		snprintf(s, len, "%s%s%ld", path, suffix, (long)getpid());
	return s;
}

/* File access: the 1.10 format (superblock v3, checksummed object headers and chunk indexes:
 * damage in metadata is an error instead of garbage), readable by any HDF5 1.10 or newer.
 * HDF5's own flock is off for work files: nobody else opens them, and PATH.lock guards them. */
static hid_t make_fapl(lp_archive *a, int create, int lock)
{
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);

	if (fapl >= 0 && create &&
	    H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110) < 0)
		goto out_fail;
	if (fapl >= 0 && !lock && H5Pset_file_locking(fapl, 0, 1) < 0)
		goto out_fail;
	if (fapl >= 0)
		return fapl;
out_fail:
	lph5_fail(a->ctx, a->path, "cannot set up file access");
	if (fapl >= 0)
		H5Pclose(fapl);
	return -1;
}

/* ---- taking a path for writing ------------------------------------------------------------- */

static int held_elsewhere(lp_archive *a, int writers_only)
{
	char cmd[512];
	long pid;
	int writer;

	if (!lp_file_holder(a->path, &pid, &writer) || (writers_only && !writer))
		return LP_OK;
	lp_process_command(pid, cmd, sizeof cmd);
	return lp_error(a->ctx, LP_ERR_BUSY, "archive: %s: process %ld (%s) has it open%s; close "
			"it there first (the file was left as it is)", a->path, pid, cmd,
			writer ? " for writing" : "");
}

/* Work files a writer that died left behind: PATH.tmp.PID and PATH.new.PID. */
static void remove_stale(const char *path)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	size_t blen = strlen(base);
	char dir[4096], file[4096];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
	d = opendir(dir[0] ? dir : "/");
	if (!d)
		return;
	while ((e = readdir(d))) {
		const char *rest = e->d_name + blen;

		if (strncmp(e->d_name, base, blen) != 0 ||
		    (strncmp(rest, ".tmp.", 5) != 0 && strncmp(rest, ".new.", 5) != 0) ||
		    !rest[5] || strspn(rest + 5, "0123456789") != strlen(rest + 5))
			continue;
		snprintf(file, sizeof file, "%s/%s", dir[0] ? dir : "", e->d_name);
		unlink(file);
	}
	closedir(d);
}

/* The lock, no other process holding the file, no stale work files, a work file name. */
static int take_path(lp_archive *a)
{
	char *lock = NULL;
	int ret = LP_OK;

	a->work = sibling(a->path, ".tmp.");
	if (!a->work)
		return lph5_nomem(a, "the work file's name");
	if (a->flags & LP_ARCHIVE_NO_LOCK)
		return LP_OK;
	if (!(lock = malloc(strlen(a->path) + 6)))
		return lph5_nomem(a, "the lock file's name");
	sprintf(lock, "%s.lock", a->path);
	ret = lp_lock_acquire(a->ctx, lock, &a->lock);
	free(lock);
	if (ret == LP_ERR_BUSY)
		return lp_error_wrap(a->ctx, ret, "archive: %s: another run is writing it (wait for "
				     "it to finish, or write another file)", a->path);
	if (ret)
		return lp_error_wrap(a->ctx, ret, "archive: %s", a->path);
	ret = held_elsewhere(a, 0);
	if (!ret)
		remove_stale(a->path);
	return ret;
}

/* ---- provenance ----------------------------------------------------------------------------- */

static int read_text(lp_ctx *ctx, const char *path, char **out)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 0;
	ssize_t n;
	int ret = LP_OK;

	*out = NULL;
	if (!f)
		return lp_error(ctx, LP_ERR_IO, "archive: cannot read script %s: %s", path,
				strerror(errno));
	errno = 0;
	n = getdelim(out, &cap, '\0', f); /* to the first NUL, which ends the stored text too */
	if (n < 0 && (ferror(f) || errno)) {
		ret = lp_error(ctx, LP_ERR_IO, "archive: cannot read script %s: %s", path,
			       strerror(errno ? errno : EIO));
	} else if (n < 0) { /* empty file */
		free(*out);
		*out = strdup("");
		if (!*out)
			ret = lp_error(ctx, LP_ERR_NOMEM, "archive: cannot read script %s: %s", path,
				       strerror(ENOMEM));
	}
	if (ret) {
		free(*out);
		*out = NULL;
	}
	fclose(f);
	return ret;
}

static int load_script(lp_ctx *ctx, const lp_provenance *p, char **out)
{
	if (!p->script_text && p->script_path)
		return read_text(ctx, p->script_path, out);
	*out = strdup(p->script_text ? p->script_text : "");
	if (!*out)
		return lp_error(ctx, LP_ERR_NOMEM, "archive: out of memory for the script text");
	return LP_OK;
}

/* Root attributes and /provenance of a new archive. The device is not opened for it: it is
 * recorded once the run has used one (device_attrs). */
static int stamp(lp_archive *a, const lp_provenance *p, const char *script)
{
	char created[32] = "", host[256] = "";
	const char *const attrs[][2] = {
		{ "loupe_version", LOUPE_VERSION }, { "created", created },
		{ "command", p->command }, { "host", host }, { "device", "" }, { "driver", "" },
		{ "git_rev", p->git_rev }, /* git_rev last: optional */
	};
	time_t now = time(NULL);
	struct tm tm;
	int i, n = p->git_rev ? 7 : 6, ret;

	if (gmtime_r(&now, &tm))
		strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	ret = lp_archive_attr_int(a, "/", "format_version", LP_ARCHIVE_FORMAT_VERSION);
	for (i = 0; !ret && i < n; i++)
		ret = lp_archive_attr_string(a, "/", attrs[i][0], attrs[i][1]);
	if (!ret)
		ret = lp_archive_attr_int(a, "/", "seed", (int64_t)p->seed);
	if (!ret)
		ret = lph5_write_text(a, "/provenance/script", script);
	if (!ret)
		ret = lp_archive_attr_string(a, "/provenance", "script_path", p->script_path);
	return ret;
}

/* /provenance/plugins/{name,version,path,sha256}: one string column per field. */
static int record_plugins(lp_archive *a)
{
	static const char *const cols[4] = { "name", "version", "path", "sha256" };
	const lp_plugin_record *recs = NULL;
	size_t n = lp_ctx_plugins(a->ctx, &recs), i;
	const char **col;
	char path[64];
	int ret, k;

	if (a->plugins_written && n == a->plugins_recorded)
		return LP_OK;
	col = calloc(n ? n : 1, sizeof(*col));
	if (!col)
		return lph5_nomem(a, "/provenance/plugins");
	ret = lp_archive_group(a, "/provenance/plugins");
	for (k = 0; k < 4 && !ret; k++) {
		for (i = 0; i < n; i++)
			col[i] = k == 0 ? recs[i].name : k == 1 ? recs[i].version
				: k == 2 ? recs[i].path : recs[i].sha256;
		snprintf(path, sizeof(path), "/provenance/plugins/%s", cols[k]);
		ret = lp_archive_write_strings(a, path, n, col, "plugin");
	}
	free(col);
	if (!ret) {
		a->plugins_written = 1;
		a->plugins_recorded = n;
	}
	return ret;
}

/* What the run that made the archive has done so far: plugins, seed, device. Only that run:
 * a later writer (analyze, review, resume) must not replace its provenance with its own. */
static int record_run(lp_archive *a)
{
	lp_device_info dev;
	int ret;

	if (!a->created)
		return LP_OK;
	ret = record_plugins(a);
	if (!ret)
		ret = lp_archive_attr_int(a, "/", "seed", (int64_t)lp_ctx_get_seed(a->ctx));
	if (!ret && !a->device_written && lpi_device_info_if_open(a->ctx, &dev)) {
		dev.name[sizeof(dev.name) - 1] = dev.driver[sizeof(dev.driver) - 1] = '\0';
		ret = lp_archive_attr_string(a, "/", "device", dev.name);
		if (!ret)
			ret = lp_archive_attr_string(a, "/", "driver", dev.driver);
		a->device_written = !ret;
	}
	return ret;
}

/* ---- create, open ---------------------------------------------------------------------------- */

int lp_archive_create(lp_ctx *ctx, const char *path, const lp_provenance *prov, lp_archive **out)
{
	static const lp_provenance none;
	lp_archive *a;
	char *script;
	hid_t fapl = -1;
	int ret;

	*out = NULL;
	if (!prov)
		prov = &none;
	if (!path || !path[0])
		return lp_error(ctx, LP_ERR_ARG, "archive: empty file path");
	ret = load_script(ctx, prov, &script);
	if (ret)
		return ret;
	ret = lph5_new(ctx, path, 1, &a);
	if (ret)
		goto out_free_script;
	a->flags = prov->flags;
	a->created = 1;
	ret = take_path(a);
	if (!ret && (fapl = make_fapl(a, 1, 0)) < 0)
		ret = LP_ERR_HDF5;
	if (!ret && (a->file = H5Fcreate(a->work, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0)
		ret = lph5_fail(ctx, path, "cannot create the file (as %s)", a->work);
	if (!ret)
		ret = stamp(a, prov, script);
	/* at once, so PATH is a readable archive from the start (a run killed in its first
	 * minute leaves its provenance, not nothing) */
	if (!ret && !(a->flags & LP_ARCHIVE_NO_LOCK))
		ret = lp_archive_commit(a);
	if (fapl >= 0)
		H5Pclose(fapl);
	if (ret)
		lph5_free(a);
	else
		*out = a;
out_free_script:
	free(script);
	return ret;
}

int lph5_open_raw(lp_ctx *ctx, const char *path, lp_archive **out)
{
	lp_archive *a;
	int ret = lph5_new(ctx, path, 0, &a);

	*out = NULL;
	if (ret)
		return ret;
	a->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	if (a->file < 0) {
		ret = lph5_fail(ctx, path, "cannot open the file for reading");
		lph5_free(a);
		return ret;
	}
	*out = a;
	return LP_OK;
}

/* A writable open works on a copy of PATH, published by commits like a new archive's. */
static int open_writable(lp_archive *a)
{
	hid_t fapl;
	int ret = take_path(a);

	if (!ret)
		ret = lph5_validate(a->ctx, a->path);
	if (!ret && (ret = lp_file_copy(a->ctx, a->path, a->work)))
		ret = lp_error_wrap(a->ctx, ret, "archive: %s", a->path);
	if (ret)
		return ret;
	fapl = make_fapl(a, 0, 0);
	if (fapl < 0)
		return LP_ERR_HDF5;
	a->file = H5Fopen(a->work, H5F_ACC_RDWR, fapl);
	H5Pclose(fapl);
	if (a->file < 0)
		return lph5_fail(a->ctx, a->path, "cannot open the file for writing");
	return LP_OK;
}

int lp_archive_open(lp_ctx *ctx, const char *path, int writable, lp_archive **out)
{
	struct stat st;
	lp_archive *a;
	int ret;

	*out = NULL;
	if (!path || !path[0])
		return lp_error(ctx, LP_ERR_ARG, "archive: empty file path");
	if (stat(path, &st) != 0)
		return lp_error(ctx, LP_ERR_IO, "archive: cannot open %s: %s", path, strerror(errno));
	if (!writable) {
		ret = lph5_validate(ctx, path);
		return ret ? ret : lph5_open_raw(ctx, path, out);
	}
	ret = lph5_new(ctx, path, 1, &a);
	if (ret)
		return ret;
	ret = open_writable(a);
	if (ret) {
		lph5_free(a);
		return ret;
	}
	*out = a;
	return LP_OK;
}

/* ---- commit, discard, close ------------------------------------------------------------------ */

/* Close the work file; then HDF5 has written all of it. */
static int close_work(lp_archive *a)
{
	int ret = record_run(a);

	if (H5Fclose(a->file) < 0 && !ret)
		ret = lph5_fail(a->ctx, a->path, "cannot close the file");
	a->file = -1;
	return ret;
}

static int reopen_work(lp_archive *a)
{
	hid_t fapl = make_fapl(a, 0, 0);

	if (fapl < 0)
		return LP_ERR_HDF5;
	a->file = H5Fopen(a->work, H5F_ACC_RDWR, fapl);
	H5Pclose(fapl);
	if (a->file < 0)
		return lph5_fail(a->ctx, a->path, "cannot reopen the file after a commit");
	return LP_OK;
}

/* src (a closed, fsync'd file) becomes PATH in one rename, and the directory is fsync'd. */
static int publish(lp_archive *a, const char *src)
{
	int ret = held_elsewhere(a, 1);

	if (ret)
		return ret;
	if (rename(src, a->path) != 0)
		return lp_error(a->ctx, LP_ERR_IO, "archive: %s: cannot rename %s to it: %s",
				a->path, src, strerror(errno));
	ret = lp_file_sync(a->ctx, a->path, 1);
	return ret ? lp_error_wrap(a->ctx, ret, "archive: %s", a->path) : LP_OK;
}

int lp_archive_commit(lp_archive *a)
{
	char *next;
	int ret, rr;

	if (!a->writable)
		return LP_OK;
	if (a->file < 0)
		return lp_error(a->ctx, LP_ERR_ARG, "archive: %s: the file is not open (an earlier "
				"commit failed)", a->path);
	if (a->flags & LP_ARCHIVE_NO_LOCK) /* published by close alone */
		return H5Fflush(a->file, H5F_SCOPE_GLOBAL) < 0
			       ? lph5_fail(a->ctx, a->path, "cannot flush the file") : LP_OK;
	if (!(next = sibling(a->path, ".new.")))
		return lph5_nomem(a, "the commit's file name");
	ret = close_work(a);
	if (!ret && (ret = lp_file_copy(a->ctx, a->work, next)))
		lp_error_wrap(a->ctx, ret, "archive: %s: cannot commit", a->path);
	if (!ret)
		ret = publish(a, next);
	if (ret)
		unlink(next);
	free(next);
	rr = reopen_work(a);
	return ret ? ret : rr;
}

/* Close without publishing what was written since the last commit. */
int lp_archive_discard(lp_archive *a)
{
	if (!a)
		return LP_OK;
	if (a->file >= 0)
		H5Fclose(a->file);
	a->file = -1;
	lph5_free(a); /* removes the work file */
	return LP_OK;
}

int lp_archive_close(lp_archive *a)
{
	int ret = LP_OK;

	if (!a)
		return LP_OK;
	if (!a->writable) {
		if (H5Fclose(a->file) < 0)
			ret = lph5_fail(a->ctx, a->path, "cannot close the file");
		a->file = -1;
		lph5_free(a);
		return ret;
	}
	if (a->file < 0)
		ret = lp_error(a->ctx, LP_ERR_ARG, "archive: %s: the file is not open (an earlier "
			       "commit failed); the last commit stays", a->path);
	if (!ret)
		ret = close_work(a);
	if (!ret)
		ret = lp_file_sync(a->ctx, a->work, 0);
	if (!ret && !(ret = publish(a, a->work))) {
		free(a->work);
		a->work = NULL; /* it is PATH now */
	}
	lph5_free(a);
	return ret;
}

const char *lp_archive_path(const lp_archive *a)
{
	return a ? a->path : NULL;
}
