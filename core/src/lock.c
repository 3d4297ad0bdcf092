/* lock.c — locks between processes, who holds a file, and crash-safe copies (loupe/lock.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "loupe/lock.h"

struct lp_lock {
	int fd;
	char *path;
};

void lp_process_command(long pid, char *buf, size_t size)
{
	char path[64];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
	snprintf(buf, size, "?");
	f = fopen(path, "rb");
	if (!f)
		return;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\0' || buf[i] == '\n')
			buf[i] = ' ';
	buf[n] = '\0';
	if (!n)
		snprintf(buf, size, "?");
}

/* The lock file's text: "pid PID\nsince TIME\ncommand COMMAND\n". */
static void write_holder(int fd)
{
	char cmd[512], since[32] = "?", text[700];
	time_t now = time(NULL);
	struct tm tm;
	int len;

	lp_process_command((long)getpid(), cmd, sizeof cmd);
	if (gmtime_r(&now, &tm))
		strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
	len = snprintf(text, sizeof text, "pid %ld\nsince %s\ncommand %s\n", (long)getpid(), since,
		       cmd);
	/* the lock holds without its note; only a refusal's message would be poorer */
	if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len)
		errno = 0;
}

static void read_field(const char *text, const char *key, char *out, size_t size)
{
	const char *p = strstr(text, key);

	snprintf(out, size, "?");
	if (p && (p == text || p[-1] == '\n')) {
		p += strlen(key);
		snprintf(out, size, "%.*s", (int)strcspn(p, "\n"), p);
	}
}

static int busy(lp_ctx *ctx, const char *path, int fd)
{
	char text[1024] = "", pid[32], since[40], cmd[600];
	ssize_t n;

	/* the holder writes its name right after taking the lock: give it a moment */
	for (int i = 0; i < 20; i++) {
		n = pread(fd, text, sizeof text - 1, 0);
		text[n > 0 ? n : 0] = '\0';
		if (strstr(text, "command "))
			break;
		usleep(5000);
	}
	read_field(text, "pid ", pid, sizeof pid);
	read_field(text, "since ", since, sizeof since);
	read_field(text, "command ", cmd, sizeof cmd);
	return lp_error(ctx, LP_ERR_BUSY, "process %s (%s) holds %s since %s", pid, cmd, path,
			since);
}

int lp_lock_acquire(lp_ctx *ctx, const char *path, lp_lock **out)
{
	struct stat a, b;
	lp_lock *l;
	int fd = -1;

	*out = NULL;
	for (int attempt = 0; attempt < 16; attempt++) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return lp_error(ctx, LP_ERR_IO, "cannot create lock file %s: %s", path,
					strerror(errno));
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			int e = errno, rc;

			rc = e == EWOULDBLOCK ? busy(ctx, path, fd)
					      : lp_error(ctx, LP_ERR_IO, "cannot lock %s: %s", path,
							 strerror(e));
			close(fd);
			return rc;
		}
		/* A holder that was releasing may have unlinked the file we locked: the lock
		 * counts only if it is still the file at path. */
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		return lp_error(ctx, LP_ERR_IO, "cannot lock %s: it keeps being replaced", path);
	l = calloc(1, sizeof(*l));
	if (!l || !(l->path = strdup(path))) {
		free(l);
		close(fd);
		return lp_error(ctx, LP_ERR_NOMEM, "out of memory for lock %s", path);
	}
	l->fd = fd;
	write_holder(fd);
	*out = l;
	return LP_OK;
}

void lp_lock_release(lp_lock *l)
{
	if (!l)
		return;
	unlink(l->path); /* first, while still holding it: nobody locks a file about to vanish */
	close(l->fd);
	free(l->path);
	free(l);
}

/* /proc/locks: "1: FLOCK  ADVISORY  WRITE 6562 fe:00:10952772 0 EOF" (waiters carry "->"). */
int lp_file_holder(const char *path, long *pid, int *writer)
{
	char line[512], kind[16], adv[16], mode[16];
	unsigned maj, min;
	unsigned long ino;
	long p;
	struct stat st;
	FILE *f;
	int found = 0;

	*pid = 0;
	*writer = 0;
	if (stat(path, &st) != 0)
		return 0;
	f = fopen("/proc/locks", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		const char *s = strchr(line, ':');

		if (!s || strstr(line, "->"))
			continue;
		if (sscanf(s + 1, "%15s %15s %15s %ld %x:%x:%lu", kind, adv, mode, &p, &maj, &min,
			   &ino) != 7)
			continue;
		if (ino != (unsigned long)st.st_ino || maj != major(st.st_dev) ||
		    min != minor(st.st_dev) || p == (long)getpid())
			continue;
		if (!found || (strcmp(mode, "WRITE") == 0 && !*writer)) {
			*pid = p;
			*writer = strcmp(mode, "WRITE") == 0;
		}
		found = 1;
	}
	fclose(f);
	return found;
}

int lp_file_sync(lp_ctx *ctx, const char *path, int dir)
{
	char buf[4096];
	const char *target = path;
	int fd, ok;

	if (dir) {
		const char *slash = strrchr(path, '/');

		if (!slash)
			target = ".";
		else if (slash == path)
			target = "/";
		else {
			snprintf(buf, sizeof buf, "%.*s", (int)(slash - path), path);
			target = buf;
		}
	}
	fd = open(target, O_RDONLY | O_CLOEXEC);
	ok = fd >= 0 && fsync(fd) == 0;
	if (fd >= 0)
		close(fd);
	return ok ? LP_OK : lp_error(ctx, LP_ERR_IO, "fsync %s: %s", target, strerror(errno));
}

static int copy_fd(int in, int out)
{
	char buf[1 << 16];
	ssize_t n;

	for (;;) {
		n = copy_file_range(in, NULL, out, NULL, (size_t)1 << 30, 0);
		if (n == 0)
			return 0;
		if (n < 0)
			break;
	}
	if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
		return -1;
	/* no in-kernel copy here: plain reads and writes from where it stopped */
	while ((n = read(in, buf, sizeof buf)) > 0)
		for (ssize_t done = 0, w; done < n; done += w)
			if ((w = write(out, buf + done, (size_t)(n - done))) < 0)
				return -1;
	return n < 0 ? -1 : 0;
}

int lp_file_copy(lp_ctx *ctx, const char *src, const char *dst)
{
	struct stat st;
	int in, out, rc = LP_OK;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) != 0) {
		rc = lp_error(ctx, LP_ERR_IO, "cannot read %s: %s", src, strerror(errno));
		goto out_in;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777);
	if (out < 0) {
		rc = lp_error(ctx, LP_ERR_IO, "cannot create %s: %s", dst, strerror(errno));
		goto out_in;
	}
	if (copy_fd(in, out) != 0 || fsync(out) != 0)
		rc = lp_error(ctx, LP_ERR_IO, "cannot copy %s to %s: %s", src, dst, strerror(errno));
	if (close(out) != 0 && !rc)
		rc = lp_error(ctx, LP_ERR_IO, "cannot write %s: %s", dst, strerror(errno));
	if (rc)
		unlink(dst);
out_in:
	if (in >= 0)
		close(in);
	return rc;
}
