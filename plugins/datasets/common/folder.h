/*
 * folder.h — directory listing shared by the dataset plugins that read image trees (indoor67,
 * imagefolder). Header-only and static: each plugin compiles its own copy and still links
 * nothing but libc. Everything is sorted by byte order, so the items and their order do not
 * depend on the file system.
 */
#ifndef LOUPE_FOLDER_H
#define LOUPE_FOLDER_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "loupe/plugin.h"

typedef struct lpf_list {
	char **v;
	size_t n, cap;
} lpf_list;

static inline void lpf_list_free(lpf_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static inline int lpf_list_add(lpf_list *l, const char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(s)))
		return -1;
	l->n++;
	return 0;
}

static inline int lpf_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static inline void lpf_list_sort(lpf_list *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), lpf_cmp);
}

static inline int lpf_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Entries of dir (no dot files), sorted; want_dirs: 1 directories, 0 everything else. */
static inline int lpf_list_dir(const char *dir, int want_dirs, lpf_list *out, int *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];

	*err = 0;
	if (!d) {
		*err = errno;
		return -1;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (lpf_is_dir(path) != want_dirs)
			continue;
		if (lpf_list_add(out, e->d_name)) {
			closedir(d);
			*err = ENOMEM;
			return -1;
		}
	}
	closedir(d);
	lpf_list_sort(out);
	return 0;
}

/* Does the name end in one of the comma-separated extensions ("jpg,jpeg,png"), any case? */
static inline int lpf_has_ext(const char *name, const char *exts)
{
	const char *dot = strrchr(name, '.');
	if (!dot)
		return 0;
	dot++;
	size_t n = strlen(dot);
	for (const char *p = exts; *p;) {
		const char *c = strchr(p, ',');
		size_t k = c ? (size_t)(c - p) : strlen(p);
		if (k == n && strncasecmp(dot, p, k) == 0)
			return 1;
		p += k + (c ? 1 : 0);
	}
	return 0;
}

static inline int lpf_utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2
			: (*p & 0xf8) == 0xf0 ? 3 : -1;
		if (n < 0 || (n == 1 && *p < 0xc2))
			return 0;
		for (int k = 1; k <= n; k++)
			if ((p[k] & 0xc0) != 0x80)
				return 0;
		p += 1 + n;
	}
	return 1;
}

/* One line of a list file without its line end (\n or \r\n) and surrounding blanks. Returns
 * the line (in buf) or NULL at the end; *lineno counts lines. */
static char *lpf_getline(FILE *f, char *buf, size_t n, int *lineno)
{
	if (!fgets(buf, (int)n, f))
		return NULL;
	++*lineno;
	size_t l = strlen(buf);
	while (l && (buf[l - 1] == '\n' || buf[l - 1] == '\r' || buf[l - 1] == ' ' ||
		     buf[l - 1] == '\t'))
		buf[--l] = 0;
	char *s = buf;
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Index of `name` in the sorted list, or -1. */
static inline long lpf_find(const lpf_list *l, const char *name)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(l->v[mid], name);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

#endif
