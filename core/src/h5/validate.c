/*
 * validate.c — read a file whole in a child process before trusting it with this one.
 *
 * libhdf5 does not survive every damaged file: a scrambled global heap makes it dereference
 * garbage while reading a variable-length string, and no checksum covers that heap. So before
 * an archive or a checkpoint is opened, a forked child opens it and walks it the way the
 * readers will — every group, every dataset's type, shape, axis labels and data (numbers in
 * slabs of 64 MiB, strings whole), every attribute — through the same functions of archive.c,
 * telling the parent over a pipe which object it is on. The child exits; if it died instead (a
 * signal, or an ASan report), ran out of time, or HDF5 reported the file broken (a checksum, a
 * signature), the file is refused with a message naming it and the object at fault. Other errors
 * (a type loupe does not read, a filter this HDF5 lacks: not damage) are left to the reader, which
 * meets them again with the same message naming file and object. A file already checked, unchanged
 * since (device, inode, size, modification time), is not read again. LOUPE_ARCHIVE_CHECK=0 turns
 * the check off.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "h5int.h"

#define SLAB_BYTES ((size_t)64 << 20)
#define MAX_DEPTH 64

/* ---- the child: walk everything ------------------------------------------------------------ */

typedef struct walk {
	lp_archive *a;
	int fd;
	int depth;
	int warned;
	const char *obj; /* for attribute callbacks */
} walk;

static void say(walk *w, char tag, const char *text)
{
	char line[1200];
	int n = snprintf(line, sizeof line, "%c %s\n", tag, text);

	if (n > (int)sizeof line - 1)
		n = (int)sizeof line - 1, line[n - 1] = '\n';
	if (write(w->fd, line, (size_t)n) < 0)
		_exit(3);
}

/* A filter this HDF5 lacks (a file from elsewhere): the data cannot be read here, yet the
 * file is not damaged; HDF5 says "... not registered" or names a plugin it cannot load. */
static int missing_filter(const char *msg)
{
	return strstr(msg, "not registered") || strstr(msg, "plugin") ||
	       strstr(msg, "filter is not available");
}

/* An error that is not a crash. HDF5 failing on the file (a checksum, a signature, an address
 * past the end) is damage: the file is refused, since the state HDF5 is left in after such an
 * error is not one to trust with the parent (seen: a bad fractal heap, then a crash in free on
 * the next read). Our own refusals (a type we do not read, a missing attribute) and missing
 * filters are not damage: the reader meets them again with the same message; note the first. */
static void noted(walk *w, int rc)
{
	const char *msg = lp_ctx_errmsg(w->a->ctx);

	if (!rc || rc == LP_ERR_FORMAT || rc == LP_ERR_ARG || rc == LP_ERR_NOTFOUND)
		return;
	if (rc == LP_ERR_HDF5 && !missing_filter(msg)) {
		say(w, 'E', msg);
		_exit(0);
	}
	if (!w->warned) {
		w->warned = 1;
		say(w, 'W', msg);
	}
}

static void on_axis(void *user, int i, const char *label)
{
	(void)user, (void)i, (void)label;
}

static void on_attr(void *user, const char *name)
{
	walk *w = user;
	char *v = NULL;

	noted(w, lp_archive_attr_get(w->a, w->obj, name, &v));
	free(v);
}

static void walk_data(walk *w, const char *path)
{
	int64_t dims[LP_MAX_RANK], row = 1;
	int dtype = 0, rank = 0, rc;

	rc = lp_archive_info(w->a, path, &dtype, &rank, dims);
	noted(w, rc);
	if (rc)
		return;
	noted(w, lp_archive_axes(w->a, path, on_axis, NULL));
	if (dtype == 0 && rank <= 1) {
		char **s = NULL;
		size_t n = 0;

		noted(w, lp_archive_read_strings(w->a, path, &n, &s));
		free(s);
		return;
	}
	if (dtype == 0)
		return;
	for (int i = 1; i < rank; i++)
		row *= dims[i];
	size_t esz = lp_dtype_size(dtype), per = rank ? (size_t)row * esz : esz;
	int64_t total = rank ? dims[0] : 1, step = per ? (int64_t)(SLAB_BYTES / per) : total;
	void *buf;

	if (step < 1)
		step = 1;
	if (step > total)
		step = total;
	buf = malloc(step && per ? (size_t)step * per : 1);
	if (!buf)
		return;
	if (rank == 0)
		noted(w, lp_archive_read(w->a, path, dtype, buf, esz));
	for (int64_t r = 0; rank && per && r < total; r += step) {
		int64_t n = total - r < step ? total - r : step;

		rc = lp_archive_read_rows(w->a, path, dtype, r, n, buf, (size_t)n * per);
		noted(w, rc);
		if (rc)
			break;
	}
	free(buf);
}

static void walk_node(walk *w, const char *path, int kind);

static void on_child(void *user, const char *name, int kind)
{
	walk *w = user;
	const char *parent = w->obj;
	size_t len = strlen(parent) + strlen(name) + 2;
	char *path = malloc(len);

	if (!path)
		return;
	snprintf(path, len, "%s%s%s", parent, strcmp(parent, "/") ? "/" : "", name);
	walk_node(w, path, kind);
	w->obj = parent;
	free(path);
}

static void walk_node(walk *w, const char *path, int kind)
{
	say(w, 'P', path);
	if (kind == LP_NODE_DATASET)
		walk_data(w, path);
	w->obj = path;
	noted(w, lp_archive_attr_list(w->a, path, on_attr, w));
	if (kind != LP_NODE_GROUP)
		return;
	if (++w->depth > MAX_DEPTH) {
		say(w, 'E', "groups nest deeper than 64 (a loop of links?)");
		_exit(0);
	}
	w->obj = path;
	noted(w, lp_archive_list(w->a, path, on_child, w));
	w->depth--;
}

static void child(const char *path, int fd, unsigned seconds)
{
	lp_archive *a;
	lp_ctx *ctx;
	walk w = { .fd = fd };
	int null = open("/dev/null", O_WRONLY);

	/* a crash's report (ASan's included) is the parent's to give, in one line */
	if (null >= 0) {
		dup2(null, 1);
		dup2(null, 2);
	}
	signal(SIGALRM, SIG_DFL);
	alarm(seconds);
	if (lp_ctx_new(&ctx))
		_exit(2);
	say(&w, 'P', "(the superblock)");
	if (lph5_open_raw(ctx, path, &a)) {
		say(&w, 'W', lp_ctx_errmsg(ctx));
		say(&w, 'K', "");
		_exit(0);
	}
	w.a = a;
	walk_node(&w, "/", LP_NODE_GROUP);
	say(&w, 'K', "");
	_exit(0); /* no atexit handlers: nothing of the parent's (HDF5's close) runs twice */
}

/* ---- the parent ------------------------------------------------------------------------------- */

typedef struct report {
	char last[1024];  /* the object being read */
	char warn[1024];  /* the first error met */
	char fatal[1024]; /* 'E': refuse */
	int ok;
} report;

static void take_line(report *r, char *line)
{
	char tag = line[0];
	const char *text = line[1] == ' ' ? line + 2 : "";

	if (tag == 'P')
		snprintf(r->last, sizeof r->last, "%s", text);
	else if (tag == 'W' && !r->warn[0])
		snprintf(r->warn, sizeof r->warn, "%s", text);
	else if (tag == 'E')
		snprintf(r->fatal, sizeof r->fatal, "%s", text);
	else if (tag == 'K')
		r->ok = 1;
}

static void read_report(int fd, report *r)
{
	char buf[4096], line[1200];
	size_t len = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (len < sizeof line - 1)
					line[len++] = buf[i];
				continue;
			}
			line[len] = '\0';
			take_line(r, line);
			len = 0;
		}
}

/* ---- files already checked ------------------------------------------------------------------- */

typedef struct seen {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
} seen;

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static seen seen_files[32];
static unsigned seen_next;

static int same(const seen *s, const struct stat *st)
{
	return s->dev == st->st_dev && s->ino == st->st_ino && s->size == st->st_size &&
	       s->mtime.tv_sec == st->st_mtim.tv_sec && s->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static int was_checked(const struct stat *st, int add)
{
	int found = 0;

	pthread_mutex_lock(&seen_lock);
	for (unsigned i = 0; i < 32 && !found; i++)
		found = same(&seen_files[i], st);
	if (!found && add) {
		seen *s = &seen_files[seen_next++ % 32];

		s->dev = st->st_dev, s->ino = st->st_ino, s->size = st->st_size;
		s->mtime = st->st_mtim;
	}
	pthread_mutex_unlock(&seen_lock);
	return found;
}

static int verdict(lp_ctx *ctx, const char *path, const report *r, int status, unsigned secs)
{
	if (r->fatal[0]) {
		/* the child's message names the file already: "archive: PATH: what" */
		const char *what = r->fatal;
		size_t plen = strlen(path);

		if (strncmp(what, "archive: ", 9) == 0 && strncmp(what + 9, path, plen) == 0 &&
		    strncmp(what + 9 + plen, ": ", 2) == 0)
			what += 9 + plen + 2;
		return lp_error(ctx, LP_ERR_FORMAT, "archive: %s: damaged: %s (at %s)", path, what,
				r->last);
	}
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
		return lp_error(ctx, LP_ERR_FORMAT, "archive: %s: reading it took more than %u s "
				"(stopped at %s): damaged, or too big to check (LOUPE_ARCHIVE_CHECK=0 "
				"skips the check)", path, secs, r->last);
	if (!r->ok && WIFSIGNALED(status))
		return lp_error(ctx, LP_ERR_FORMAT, "archive: %s: damaged: reading %s crashed "
				"HDF5 (%s); the file cannot be read safely", path,
				r->last[0] ? r->last : "it", strsignal(WTERMSIG(status)));
	if (!r->ok)
		return lp_error(ctx, LP_ERR_FORMAT, "archive: %s: damaged: reading %s crashed HDF5 "
				"(exit %d); the file cannot be read safely", path,
				r->last[0] ? r->last : "it", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	if (r->warn[0])
		lp_log(ctx, LP_LOG_WARN, "%s", r->warn);
	return LP_OK;
}

int lph5_validate(lp_ctx *ctx, const char *path)
{
	const char *env = getenv("LOUPE_ARCHIVE_CHECK");
	report r = { .ok = 0 };
	struct stat st;
	unsigned secs;
	int fds[2], status = 0, rc;
	pid_t pid;

	if (env && strcmp(env, "0") == 0)
		return LP_OK;
	if (stat(path, &st) != 0)
		return lp_error(ctx, LP_ERR_IO, "archive: cannot open %s: %s", path, strerror(errno));
	if (was_checked(&st, 0))
		return LP_OK;
	/* generous: 60 s, and a second per 50 MB beyond */
	secs = 60 + (unsigned)(st.st_size / (50 << 20));
	if (pipe2(fds, O_CLOEXEC) != 0)
		return lp_error(ctx, LP_ERR_IO, "archive: %s: cannot check it: pipe: %s", path,
				strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return lp_error(ctx, LP_ERR_IO, "archive: %s: cannot check it: fork: %s", path,
				strerror(errno));
	}
	if (pid == 0) {
		close(fds[0]);
		child(path, fds[1], secs);
	}
	close(fds[1]);
	read_report(fds[0], &r);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	rc = verdict(ctx, path, &r, status, secs);
	if (!rc)
		was_checked(&st, 1);
	return rc;
}
