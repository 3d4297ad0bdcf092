/*
 * journal.c — the review journal: JSON lines, appended and fsync'd (loupe/annotations.h).
 *
 *   lp_journal *j;
 *   if (lp_journal_open(ctx, "runs/x.h5.journal", &j)) return fail(ctx);  // LP_ERR_BUSY: taken
 *   lp_journal_append(j, &e);        // on disk when it returns; e.seq set
 *   lp_journal_close(j);
 *
 * One line per entry, written with one pwrite at the end of the last whole entry and fsync'd
 * before append returns; a failed write or fsync is cut off again, so a later append never
 * lands behind half a line. The journal is held with flock(LOCK_EX | LOCK_NB) on its own fd
 * for as long as it is open: a second writer gets LP_ERR_BUSY naming the holder. Opening cuts
 * a torn last line (no '\n', or not JSON): it was never acknowledged. Every other line must be
 * a valid entry with a seq above the one before, else LP_ERR_FORMAT naming path:line.
 * The entry helpers of entries.h (copy, check) live here too.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "entries.h"
#include "loupe/lock.h"

#define MAX_EXACT 9007199254740992.0 /* 2^53: integers a JSON number holds exactly */

struct keyslot {
	const char *key; /* into an entry's block; NULL: empty slot */
	size_t entry;
};

/* Entries read or appended; the client-key set indexes them. */
struct list {
	lp_annotation *e;
	size_t n, cap;
	struct keyslot *keys;
	size_t nkeys, capkeys; /* capkeys: a power of two, at most half full */
};

struct lp_journal {
	lp_ctx *ctx;
	char *path;
	int fd;
	off_t size; /* bytes of whole entries: where the next line goes */
	struct list l;
};

/* ---- entries (entries.h) --------------------------------------------------------------------- */

int lprv_action_kind(const char *action)
{
	static const char *const names[] = { LP_ANNOTATION_ACTIONS };

	for (size_t i = 0; action && i < sizeof names / sizeof names[0]; i++)
		if (strcmp(action, names[i]) == 0)
			return !strcmp(action, "merge") || !strcmp(action, "unmerge") ? LPRV_CLASS
			       : !strcmp(action, "undo") || !strcmp(action, "redo") ? LPRV_UNDO
										: LPRV_ITEMS;
	return 0;
}

/* Say why an entry is refused (into why) and return -1. */
static int refuse(char *why, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return -1;
}

static int is_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2
			: (*p & 0xf8) == 0xf0 ? 3 : -1;
		unsigned cp = n == 0 ? *p : n == 1 ? *p & 0x1fu : n == 2 ? *p & 0x0fu : *p & 0x07u;

		if (n < 0)
			return 0;
		for (int k = 1; k <= n; k++) {
			if ((p[k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[k] & 0x3fu);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += n + 1;
	}
	return 1;
}

static int check_items(const lp_annotation *e, char *why, size_t size)
{
	if (!e->n_items || !e->items)
		return refuse(why, size, "%s needs at least one item", e->action);
	for (size_t i = 0; i < e->n_items; i++) {
		const lp_annotation_item *it = &e->items[i];

		if (!it->split || !it->split[0])
			return refuse(why, size, "item %zu has no split", i);
		if (it->item < 0 || it->cls < -1)
			return refuse(why, size, "item %zu: bad item %lld or class %d", i,
					(long long)it->item, (int)it->cls);
		if (!is_utf8(it->split) || !is_utf8(it->name))
			return refuse(why, size, "item %zu: split or name is not UTF-8", i);
	}
	return 0;
}

int lprv_entry_check(const lp_annotation *e, char *why, size_t size)
{
	int kind = lprv_action_kind(e->action);
	const char *a = e->action;

	if (!kind)
		return refuse(why, size, "unknown action '%s'", a ? a : "(null)");
	if (e->seq < 1 || !isfinite(e->time) || e->time < 0)
		return refuse(why, size, "bad seq %lld or time %g", (long long)e->seq, e->time);
	if (!is_utf8(e->tag) || !is_utf8(e->note) || !is_utf8(e->annotator) || !is_utf8(e->client))
		return refuse(why, size, "%s: a string is not UTF-8", a);
	if (kind == LPRV_UNDO && (e->ref < 1 || e->ref >= e->seq))
		return refuse(why, size, "%s of entry %lld: not an earlier entry", a,
				(long long)e->ref);
	if (kind == LPRV_CLASS && (e->cls < 0 || e->label < -1 ||
				   (!strcmp(a, "merge") && (e->label < 0 || e->label == e->cls))))
		return refuse(why, size, "%s of class %d into %d: bad classes", a, (int)e->cls,
				(int)e->label);
	if (kind != LPRV_ITEMS)
		return e->n_items ? refuse(why, size, "%s takes no items", a) : 0;
	if ((!strcmp(a, "relabel") || !strcmp(a, "also")) && e->label < 0)
		return refuse(why, size, "%s needs a class (label %d)", a, (int)e->label);
	if (!strcmp(a, "answer") && e->label < -1)
		return refuse(why, size, "answer %d: not a class or -1", (int)e->label);
	if ((!strcmp(a, "tag") || !strcmp(a, "untag")) && (!e->tag || !e->tag[0]))
		return refuse(why, size, "%s needs a tag", a);
	return check_items(e, why, size);
}

static char *put(char **p, const char *s)
{
	size_t len = strlen(s ? s : "") + 1;
	char *at = memcpy(*p, s ? s : "", len);

	*p += len;
	return at;
}

/* Fields that do not apply to the action are stored as the header says (-1, ""), so the
 * journal, /annotations and the state hash agree whatever the caller left in them. */
int lprv_entry_copy(const lp_annotation *src, lp_annotation *dst)
{
	int kind = lprv_action_kind(src->action);
	const char *a = src->action ? src->action : "";
	int label = !strcmp(a, "relabel") || !strcmp(a, "also") || !strcmp(a, "answer") ||
		    kind == LPRV_CLASS, tag = !strcmp(a, "tag") || !strcmp(a, "untag");
	size_t bytes = src->n_items * sizeof(lp_annotation_item) + 1, i;
	const char *strs[5] = { a, tag ? src->tag : "", src->note, src->annotator, src->client };
	lp_annotation_item *items;
	char *p;

	for (i = 0; i < 5; i++)
		bytes += strlen(strs[i] ? strs[i] : "") + 1;
	for (i = 0; i < src->n_items; i++)
		bytes += strlen(src->items[i].split ? src->items[i].split : "") +
			 strlen(src->items[i].name ? src->items[i].name : "") + 2;
	if (!(items = malloc(bytes)))
		return -1;
	p = (char *)(items + src->n_items);
	*dst = *src;
	dst->items = items;
	dst->action = put(&p, strs[0]);
	dst->tag = put(&p, strs[1]);
	dst->note = put(&p, strs[2]);
	dst->annotator = put(&p, strs[3]);
	dst->client = src->client && src->client[0] ? put(&p, src->client) : NULL;
	for (i = 0; i < src->n_items; i++) {
		items[i] = src->items[i];
		items[i].split = put(&p, src->items[i].split);
		items[i].name = put(&p, src->items[i].name);
	}
	dst->cls = kind == LPRV_CLASS ? src->cls : -1;
	dst->label = label ? src->label : -1;
	dst->ref = kind == LPRV_UNDO ? src->ref : -1;
	return 0;
}

void lprv_entries_clear(lp_annotation *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++)
		free((void *)e[i].items);
}

void lp_annotations_free(lp_annotation *e, size_t n)
{
	lprv_entries_clear(e, n);
	free(e);
}

/* ---- the entry list and its client keys ------------------------------------------------------ */

static size_t key_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return (size_t)h;
}

/* The entry with client key `key`, or -1. */
static long key_find(const struct list *l, const char *key)
{
	size_t mask = l->capkeys - 1, i;

	if (!key || !key[0] || !l->capkeys)
		return -1;
	for (i = key_hash(key) & mask; l->keys[i].key; i = (i + 1) & mask)
		if (strcmp(l->keys[i].key, key) == 0)
			return (long)l->keys[i].entry;
	return -1;
}

static void key_put(struct list *l, const char *key, size_t entry)
{
	size_t mask = l->capkeys - 1, i = key_hash(key) & mask;

	while (l->keys[i].key)
		i = (i + 1) & mask;
	l->keys[i].key = key;
	l->keys[i].entry = entry;
	l->nkeys++;
}

/* Room for one more entry and one more key, so that adding one cannot fail. */
static int list_reserve(struct list *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		lp_annotation *e = realloc(l->e, cap * sizeof(*e));

		if (!e)
			return -1;
		l->e = e;
		l->cap = cap;
	}
	if (2 * (l->nkeys + 1) > l->capkeys) {
		size_t cap = l->capkeys ? l->capkeys * 2 : 64;
		struct keyslot *old = l->keys, *k = calloc(cap, sizeof(*k));
		size_t oldcap = l->capkeys;

		if (!k)
			return -1;
		l->keys = k;
		l->capkeys = cap;
		l->nkeys = 0;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].key)
				key_put(l, old[i].key, old[i].entry);
		free(old);
	}
	return 0;
}

/* Add a copied entry (after list_reserve); the first entry with a key keeps it. */
static void list_add(struct list *l, const lp_annotation *e)
{
	l->e[l->n] = *e;
	if (e->client && key_find(l, e->client) < 0)
		key_put(l, e->client, l->n);
	l->n++;
}

static void list_free(struct list *l)
{
	lprv_entries_clear(l->e, l->n);
	free(l->e);
	free(l->keys);
	memset(l, 0, sizeof(*l));
}

/* ---- parsing --------------------------------------------------------------------------------- */

/* An integer member (absent: dflt); -1 when it is not an integer in [lo, 2^53]. */
static int get_int(const cJSON *o, const char *name, int64_t dflt, int64_t lo, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	double d;

	*out = dflt;
	if (!v)
		return 0;
	d = v->valuedouble;
	if (!cJSON_IsNumber(v) || d != floor(d) || d < (double)lo || d > MAX_EXACT)
		return -1;
	*out = (int64_t)d;
	return 0;
}

/* A string member (absent or null: dflt); -1 when it is something else. */
static int get_str(const cJSON *o, const char *name, const char *dflt, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	*out = dflt;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return -1;
	*out = v->valuestring;
	return 0;
}

static int get_items(const cJSON *arr, lp_annotation_item *it, char *why, size_t size)
{
	const cJSON *o;
	size_t i = 0;
	int64_t item, cls;

	cJSON_ArrayForEach(o, arr) {
		if (!cJSON_IsObject(o) || get_str(o, "split", "", &it[i].split) ||
		    get_str(o, "name", "", &it[i].name) || get_int(o, "item", -1, 0, &item) ||
		    get_int(o, "class", -1, -1, &cls) || item < 0 || cls > INT32_MAX)
			return refuse(why, size, "items[%zu]: needs split, item, name, class", i);
		it[i].item = item;
		it[i].cls = (int32_t)cls;
		i++;
	}
	return 0;
}

/* The members of an entry object into e (strings borrowed from root); -1 with why. */
static int get_fields(const cJSON *root, lp_annotation *e, char *why, size_t size)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "time");
	int64_t seq, cls, label, ref;

	if (!cJSON_IsObject(root))
		return refuse(why, size, "not a JSON object");
	if (get_int(root, "seq", 0, 1, &seq) || seq < 1)
		return refuse(why, size, "no seq (a positive integer)");
	if (get_str(root, "action", NULL, &e->action) || !e->action)
		return refuse(why, size, "no action");
	if (t && !cJSON_IsNumber(t))
		return refuse(why, size, "time is not a number");
	if (get_int(root, "class", -1, INT32_MIN, &cls) || cls > INT32_MAX ||
	    get_int(root, "label", -1, INT32_MIN, &label) || label > INT32_MAX ||
	    get_int(root, "ref", -1, INT64_MIN, &ref))
		return refuse(why, size, "class, label or ref is not an integer");
	if (get_str(root, "tag", "", &e->tag) || get_str(root, "note", "", &e->note) ||
	    get_str(root, "annotator", "", &e->annotator) ||
	    get_str(root, "client", NULL, &e->client))
		return refuse(why, size, "tag, note, annotator or client is not a string");
	e->seq = seq;
	e->time = t ? t->valuedouble : 0;
	e->cls = (int32_t)cls;
	e->label = (int32_t)label;
	e->ref = ref;
	return 0;
}

enum { LINE_OK, LINE_NOT_JSON, LINE_BAD, LINE_NOMEM };

/* One line into *out (a copy); LINE_BAD with why. */
static int parse_line(const char *line, size_t len, lp_annotation *out, char *why, size_t size)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(line, len, &end, 0);
	const cJSON *arr;
	lp_annotation e = { 0 };
	lp_annotation_item *items = NULL;
	int ret = LINE_BAD;

	/* one value and nothing after it but blanks (cJSON stops at the end of the value) */
	while (root && end < line + len && strchr(" \t\r", *end) && *end)
		end++;
	if (root && end != line + len) {
		cJSON_Delete(root);
		root = NULL;
	}
	if (!root)
		return LINE_NOT_JSON;
	arr = cJSON_GetObjectItemCaseSensitive(root, "items");
	if (get_fields(root, &e, why, size))
		goto out_root;
	if (arr && !cJSON_IsArray(arr)) {
		snprintf(why, size, "items is not an array");
		goto out_root;
	}
	e.n_items = arr ? (size_t)cJSON_GetArraySize(arr) : 0;
	items = calloc(e.n_items ? e.n_items : 1, sizeof(*items));
	if (!items) {
		ret = LINE_NOMEM;
		goto out_root;
	}
	e.items = items;
	if (get_items(arr, items, why, size) || lprv_entry_check(&e, why, size))
		goto out_items;
	ret = lprv_entry_copy(&e, out) ? LINE_NOMEM : LINE_OK;
out_items:
	free(items);
out_root:
	cJSON_Delete(root);
	return ret;
}

/* The lines of buf into l; *good = bytes up to the end of the last whole entry (a torn last
 * line is left out). */
static int parse_text(lp_ctx *ctx, const char *path, const char *buf, size_t len,
		      struct list *l, size_t *good)
{
	char why[256] = "";
	size_t at = 0, line = 0;

	*good = 0;
	while (at < len) {
		const char *nl = memchr(buf + at, '\n', len - at);
		size_t end = nl ? (size_t)(nl - buf) : len;
		lp_annotation e;
		int r;

		line++;
		if (!nl) /* no newline: a write cut short */
			break;
		r = parse_line(buf + at, end - at, &e, why, sizeof why);
		if (r == LINE_NOT_JSON && end + 1 == len) /* the last line, garbled: torn too */
			break;
		if (r == LINE_NOT_JSON)
			return lp_error(ctx, LP_ERR_FORMAT, "journal: %s:%zu: not a JSON entry",
					path, line);
		if (r == LINE_BAD)
			return lp_error(ctx, LP_ERR_FORMAT, "journal: %s:%zu: %s", path, line, why);
		if (r == LINE_NOMEM || list_reserve(l)) {
			if (r == LINE_OK)
				free((void *)e.items);
			return lp_error(ctx, LP_ERR_NOMEM, "journal: %s: out of memory", path);
		}
		if (l->n && e.seq <= l->e[l->n - 1].seq) {
			free((void *)e.items);
			return lp_error(ctx, LP_ERR_FORMAT, "journal: %s:%zu: seq %lld after %lld",
					path, line, (long long)e.seq,
					(long long)l->e[l->n - 1].seq);
		}
		list_add(l, &e);
		at = end + 1;
		*good = at;
	}
	return LP_OK;
}

/* ---- files ----------------------------------------------------------------------------------- */

static int read_all(lp_ctx *ctx, const char *path, int fd, char **buf, size_t *len)
{
	struct stat st;
	size_t got = 0;

	*buf = NULL;
	*len = 0;
	if (fstat(fd, &st) != 0)
		return lp_error(ctx, LP_ERR_IO, "journal: %s: %s", path, strerror(errno));
	if (!(*buf = malloc((size_t)st.st_size + 1)))
		return lp_error(ctx, LP_ERR_NOMEM, "journal: %s: out of memory", path);
	while (got < (size_t)st.st_size) {
		ssize_t r = pread(fd, *buf + got, (size_t)st.st_size - got, (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? errno : EIO;

			free(*buf);
			*buf = NULL;
			return lp_error(ctx, LP_ERR_IO, "journal: cannot read %s: %s", path,
					strerror(e));
		}
		got += (size_t)r;
	}
	*len = got;
	return LP_OK;
}

/* Read path into l; *good, *len: see parse_text, and the file's length. */
static int load(lp_ctx *ctx, const char *path, int fd, struct list *l, size_t *good,
		size_t *len)
{
	char *buf;
	int ret = read_all(ctx, path, fd, &buf, len);

	if (!ret)
		ret = parse_text(ctx, path, buf, *len, l, good);
	free(buf);
	if (ret)
		list_free(l);
	return ret;
}

int lp_journal_read(lp_ctx *ctx, const char *path, lp_annotation **out, size_t *n)
{
	struct list l = { 0 };
	size_t good, len;
	int fd, ret;

	*out = NULL;
	*n = 0;
	if (!path || !path[0])
		return lp_error(ctx, LP_ERR_ARG, "journal: empty path");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) /* nobody has decided anything yet */
		return LP_OK;
	if (fd < 0)
		return lp_error(ctx, LP_ERR_IO, "journal: cannot open %s: %s", path,
				strerror(errno));
	ret = load(ctx, path, fd, &l, &good, &len);
	close(fd);
	if (ret)
		return ret;
	free(l.keys);
	*out = l.e;
	*n = l.n;
	return LP_OK;
}

/* Open (or create) and lock j->path. */
static int open_locked(lp_journal *j)
{
	int created = 0;
	long pid;
	int writer;
	char cmd[512];

	j->fd = open(j->path, O_RDWR | O_CLOEXEC);
	if (j->fd < 0 && errno == ENOENT) {
		j->fd = open(j->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		created = j->fd >= 0;
		if (j->fd < 0 && errno == EEXIST) /* created by someone else meanwhile */
			j->fd = open(j->path, O_RDWR | O_CLOEXEC);
	}
	if (j->fd < 0)
		return lp_error(j->ctx, LP_ERR_IO, "journal: cannot open %s: %s", j->path,
				strerror(errno));
	if (flock(j->fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK)
			return lp_error(j->ctx, LP_ERR_IO, "journal: cannot lock %s: %s", j->path,
					strerror(errno));
		if (!lp_file_holder(j->path, &pid, &writer))
			return lp_error(j->ctx, LP_ERR_BUSY, "journal: %s: another process has it "
					"open for appending", j->path);
		lp_process_command(pid, cmd, sizeof cmd);
		return lp_error(j->ctx, LP_ERR_BUSY, "journal: %s: process %ld (%s) has it open "
				"for appending; close it there first", j->path, pid, cmd);
	}
	if (created && lp_file_sync(j->ctx, j->path, 1))
		return lp_error_wrap(j->ctx, LP_ERR_IO, "journal: %s", j->path);
	return LP_OK;
}

int lp_journal_open(lp_ctx *ctx, const char *path, lp_journal **out)
{
	lp_journal *j;
	size_t good = 0, len = 0;
	int ret;

	*out = NULL;
	if (!path || !path[0])
		return lp_error(ctx, LP_ERR_ARG, "journal: empty path");
	if (!(j = calloc(1, sizeof(*j))) || !(j->path = strdup(path))) {
		free(j);
		return lp_error(ctx, LP_ERR_NOMEM, "journal: %s: out of memory", path);
	}
	j->ctx = ctx;
	j->fd = -1;
	ret = open_locked(j);
	if (!ret)
		ret = load(ctx, path, j->fd, &j->l, &good, &len);
	/* a torn tail was never acknowledged: cut it, so appends follow a whole line */
	if (!ret && good < len && (ftruncate(j->fd, (off_t)good) != 0 || fsync(j->fd) != 0))
		ret = lp_error(ctx, LP_ERR_IO, "journal: cannot cut the torn last line of %s: %s",
			       path, strerror(errno));
	if (ret) {
		lp_journal_close(j);
		return ret;
	}
	j->size = (off_t)good;
	*out = j;
	return LP_OK;
}

void lp_journal_close(lp_journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd); /* drops the flock */
	list_free(&j->l);
	free(j->path);
	free(j);
}

size_t lp_journal_entries(const lp_journal *j, const lp_annotation **out)
{
	*out = j->l.e;
	return j->l.n;
}

/* ---- appending ------------------------------------------------------------------------------- */

static char *entry_json(const lp_annotation *e)
{
	cJSON *o = cJSON_CreateObject(), *items = cJSON_CreateArray(), *it;
	char *text = NULL;
	int ok = o && items;

	ok = ok && cJSON_AddNumberToObject(o, "seq", (double)e->seq);
	ok = ok && cJSON_AddNumberToObject(o, "time", e->time);
	ok = ok && cJSON_AddStringToObject(o, "action", e->action);
	ok = ok && cJSON_AddItemToObject(o, "items", items);
	if (!ok)
		cJSON_Delete(items); /* not attached to o */
	for (size_t i = 0; ok && i < e->n_items; i++) {
		ok = (it = cJSON_CreateObject()) && cJSON_AddItemToArray(items, it);
		ok = ok && cJSON_AddStringToObject(it, "split", e->items[i].split);
		ok = ok && cJSON_AddNumberToObject(it, "item", (double)e->items[i].item);
		ok = ok && cJSON_AddStringToObject(it, "name", e->items[i].name);
		ok = ok && cJSON_AddNumberToObject(it, "class", e->items[i].cls);
	}
	ok = ok && cJSON_AddNumberToObject(o, "class", e->cls);
	ok = ok && cJSON_AddNumberToObject(o, "label", e->label);
	ok = ok && cJSON_AddStringToObject(o, "tag", e->tag);
	ok = ok && cJSON_AddStringToObject(o, "note", e->note);
	ok = ok && cJSON_AddStringToObject(o, "annotator", e->annotator);
	ok = ok && cJSON_AddNumberToObject(o, "ref", (double)e->ref);
	ok = ok && (e->client ? cJSON_AddStringToObject(o, "client", e->client)
			      : cJSON_AddNullToObject(o, "client")) != NULL;
	if (ok)
		text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

/* text + '\n' at j->size, fsync'd; on failure the file is cut back to j->size. */
static int write_line(lp_journal *j, const char *text)
{
	size_t len = strlen(text), done = 0;
	char *line = malloc(len + 1);
	int e = 0;

	if (!line)
		return lp_error(j->ctx, LP_ERR_NOMEM, "journal: %s: out of memory", j->path);
	memcpy(line, text, len);
	line[len++] = '\n';
	while (done < len && !e) {
		ssize_t w = pwrite(j->fd, line + done, len - done, j->size + (off_t)done);

		if (w > 0)
			done += (size_t)w;
		else if (w == 0 || errno != EINTR)
			e = w == 0 ? EIO : errno;
	}
	free(line);
	if (!e && fsync(j->fd) != 0)
		e = errno;
	if (!e) {
		j->size += (off_t)len;
		return LP_OK;
	}
	if (ftruncate(j->fd, j->size) != 0 || fsync(j->fd) != 0)
		errno = 0; /* the torn line is cut at the next open */
	return lp_error(j->ctx, LP_ERR_IO, "journal: cannot append to %s: %s", j->path,
			strerror(e));
}

/* Unix time in seconds, to the millisecond (what /annotations keeps of it). */
static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000) / 1000.0;
}

int lp_journal_append(lp_journal *j, lp_annotation *e)
{
	lp_annotation want, copy;
	char why[256], *text;
	long earlier;
	int ret;

	if (!e)
		return lp_error(j->ctx, LP_ERR_ARG, "journal: %s: no entry", j->path);
	if ((earlier = key_find(&j->l, e->client)) >= 0) { /* a retry: already written */
		e->seq = j->l.e[earlier].seq;
		e->time = j->l.e[earlier].time;
		return LP_OK;
	}
	want = *e;
	want.seq = j->l.n ? j->l.e[j->l.n - 1].seq + 1 : 1;
	if (want.time == 0)
		want.time = now_ms();
	if (lprv_entry_check(&want, why, sizeof why))
		return lp_error(j->ctx, LP_ERR_ARG, "journal: %s: entry %lld: %s", j->path,
				(long long)want.seq, why);
	if (list_reserve(&j->l) || lprv_entry_copy(&want, &copy))
		return lp_error(j->ctx, LP_ERR_NOMEM, "journal: %s: out of memory", j->path);
	text = entry_json(&copy);
	ret = text ? write_line(j, text)
		   : lp_error(j->ctx, LP_ERR_NOMEM, "journal: %s: out of memory", j->path);
	cJSON_free(text);
	if (ret) {
		free((void *)copy.items);
		return ret;
	}
	list_add(&j->l, &copy);
	e->seq = copy.seq;
	e->time = copy.time;
	return LP_OK;
}
