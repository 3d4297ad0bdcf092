/*
 * state.c — what a run's review decisions add up to (loupe/annotations.h).
 *
 *   lp_review_state *st;
 *   if (lp_review_state_new(ctx, entries, n, &st)) return fail(ctx);
 *   const lp_item_decision *d = lp_review_state_item(st, "train", 17);
 *   lp_review_state_apply(st, &e);     // after lp_journal_append(j, &e)
 *   lp_review_state_free(st);
 *
 * The state keeps a copy of every entry and, per item (a hash map on split + item), the entries
 * that name it. A new entry is applied on top of the item's decision; undo or redo of entry X
 * flips whether X counts and replays the entries of X's items that still count, in seq order,
 * so the result is always "every counting entry applied in seq order". Merges are replayed
 * from the merge/unmerge entries likewise. Tag use counts follow the items' tags. An undo or
 * redo that names no earlier entry of the state, or another undo/redo, changes nothing.
 * Decisions returned are borrowed until the next apply or free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "entries.h"

#define PAGE 1024 /* items per page: pages never move, so decisions stay where they are */

struct item {
	size_t split; /* into st->splits */
	int64_t item;
	lp_item_decision d;
	int32_t *also;
	const char **tags;
	size_t cap_also, cap_tags;
	size_t *hist; /* the entries naming this item, in seq order */
	size_t nhist, cap_hist;
};

struct tag {
	char *name;
	size_t count; /* items that have it */
};

struct stack {
	int64_t *v;
	size_t n, cap;
};

struct lp_review_state {
	lp_ctx *ctx;
	lp_annotation *e; /* copies (entries.h) */
	unsigned char *off; /* per entry: 1 when undone */
	size_t n, cap;
	char **splits;
	size_t nsplits;
	struct item **pages;
	size_t nitems;
	size_t *slots; /* open addressing: item index + 1, 0 = empty */
	size_t capslots;
	struct tag *tags;
	size_t ntags;
	const char **order; /* tags in use, most used first */
	size_t norder;
	size_t *classes; /* the merge/unmerge entries */
	size_t nclasses;
	int32_t *from, *into;
	size_t nmerges;
	struct stack undo, redo;
};

static const lp_item_decision none = { LP_DECISION_NONE, -1, -2, 0, NULL, 0, NULL, 0 };

/* ---- growing arrays -------------------------------------------------------------------------- */

/* Make room for one more element of size elem in *v (n used, *cap allocated). */
static int grow(void *v, size_t *cap, size_t n, size_t elem)
{
	void *old, *q;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 8;
	memcpy(&old, v, sizeof old); /* v points at a pointer of some type: no aliasing games */
	if (!(q = realloc(old, c * elem)))
		return -1;
	memcpy(v, &q, sizeof q);
	*cap = c;
	return 0;
}

static int push(struct stack *s, int64_t seq)
{
	if (grow(&s->v, &s->cap, s->n, sizeof(*s->v)))
		return -1;
	s->v[s->n++] = seq;
	return 0;
}

/* Remove seq from s (searched from the top). */
static void pull(struct stack *s, int64_t seq)
{
	for (size_t i = s->n; i-- > 0;)
		if (s->v[i] == seq) {
			memmove(s->v + i, s->v + i + 1, (s->n - i - 1) * sizeof(*s->v));
			s->n--;
			return;
		}
}

/* ---- items ----------------------------------------------------------------------------------- */

static struct item *item_at(const lp_review_state *st, size_t i)
{
	return &st->pages[i / PAGE][i % PAGE];
}

static size_t item_hash(size_t split, int64_t item)
{
	uint64_t h = ((uint64_t)item ^ ((uint64_t)split << 56)) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h ^ (h >> 29));
}

static long split_find(const lp_review_state *st, const char *split)
{
	for (size_t i = 0; split && i < st->nsplits; i++)
		if (strcmp(st->splits[i], split) == 0)
			return (long)i;
	return -1;
}

/* The slot of (split, item): holding it, or the empty one where it would go. */
static size_t slot_of(const lp_review_state *st, size_t split, int64_t item)
{
	size_t mask = st->capslots - 1, i = item_hash(split, item) & mask;

	for (; st->slots[i]; i = (i + 1) & mask) {
		const struct item *it = item_at(st, st->slots[i] - 1);

		if (it->split == split && it->item == item)
			break;
	}
	return i;
}

static int rehash(lp_review_state *st)
{
	size_t cap = st->capslots ? st->capslots * 2 : 1024, old = st->capslots;
	size_t *was = st->slots;

	if (!(st->slots = calloc(cap, sizeof(*st->slots)))) {
		st->slots = was;
		return -1;
	}
	st->capslots = cap;
	for (size_t i = 0; i < old; i++)
		if (was[i]) {
			const struct item *it = item_at(st, was[i] - 1);

			st->slots[slot_of(st, it->split, it->item)] = was[i];
		}
	free(was);
	return 0;
}

static int add_split(lp_review_state *st, const char *split, size_t *out)
{
	long s = split_find(st, split);
	char **v, *copy;

	if (s >= 0)
		return *out = (size_t)s, 0;
	if (!(copy = strdup(split)) || !(v = realloc(st->splits, (st->nsplits + 1) * sizeof(*v)))) {
		free(copy);
		return -1;
	}
	st->splits = v;
	v[st->nsplits] = copy;
	*out = st->nsplits++;
	return 0;
}

/* The item (split, item), added (undecided) if new. */
static int item_get(lp_review_state *st, const char *split, int64_t item, struct item **out)
{
	size_t sp, slot;
	struct item *it;

	if (add_split(st, split, &sp) || (2 * (st->nitems + 1) > st->capslots && rehash(st)))
		return -1;
	slot = slot_of(st, sp, item);
	if (st->slots[slot])
		return *out = item_at(st, st->slots[slot] - 1), 0;
	if (st->nitems % PAGE == 0) {
		struct item **p = realloc(st->pages, (st->nitems / PAGE + 1) * sizeof(*p));

		if (!p)
			return -1;
		st->pages = p;
		if (!(p[st->nitems / PAGE] = calloc(PAGE, sizeof(struct item))))
			return -1;
	}
	it = item_at(st, st->nitems);
	it->split = sp;
	it->item = item;
	it->d = none;
	st->slots[slot] = ++st->nitems;
	return *out = it, 0;
}

/* ---- one entry on one item ------------------------------------------------------------------- */

static struct tag *tag_get(lp_review_state *st, const char *name)
{
	struct tag *t;

	for (size_t i = 0; i < st->ntags; i++)
		if (strcmp(st->tags[i].name, name) == 0)
			return &st->tags[i];
	if (!(t = realloc(st->tags, (st->ntags + 1) * sizeof(*t))))
		return NULL;
	st->tags = t;
	t += st->ntags;
	if (!(t->name = strdup(name)))
		return NULL;
	t->count = 0;
	st->ntags++;
	return t;
}

static size_t tag_count(const lp_review_state *st, const char *name)
{
	for (size_t i = 0; i < st->ntags; i++)
		if (st->tags[i].name == name)
			return st->tags[i].count;
	return 0;
}

static void drop_tags(lp_review_state *st, struct item *it)
{
	for (size_t i = 0; i < it->d.n_tags; i++)
		for (size_t k = 0; k < st->ntags; k++)
			if (st->tags[k].name == it->tags[i])
				st->tags[k].count--;
	it->d.n_tags = 0;
}

static int set_tag(lp_review_state *st, struct item *it, const char *name, int on)
{
	struct tag *t = tag_get(st, name);
	size_t i;

	if (!t)
		return -1;
	for (i = 0; i < it->d.n_tags && it->tags[i] != t->name; i++)
		;
	if (on && i == it->d.n_tags) {
		if (grow(&it->tags, &it->cap_tags, it->d.n_tags, sizeof(*it->tags)))
			return -1;
		it->tags[it->d.n_tags++] = t->name;
		t->count++;
	} else if (!on && i < it->d.n_tags) {
		memmove(it->tags + i, it->tags + i + 1, (it->d.n_tags - i - 1) * sizeof(*it->tags));
		it->d.n_tags--;
		t->count--;
	}
	return 0;
}

static int add_also(struct item *it, int32_t cls)
{
	for (size_t i = 0; i < it->d.n_also; i++)
		if (it->also[i] == cls)
			return 0;
	if (grow(&it->also, &it->cap_also, it->d.n_also, sizeof(*it->also)))
		return -1;
	it->also[it->d.n_also++] = cls;
	return 0;
}

static int apply_op(lp_review_state *st, struct item *it, const lp_annotation *e)
{
	static const char *const status[] = { "keep", "relabel", "remove", "unsure" };
	static const int code[] = { LP_DECISION_KEEP, LP_DECISION_RELABEL, LP_DECISION_REMOVE,
				    LP_DECISION_UNSURE };
	const char *a = e->action;
	int ret = 0;

	for (int i = 0; i < 4; i++)
		if (strcmp(a, status[i]) == 0) {
			it->d.status = code[i];
			it->d.label = code[i] == LP_DECISION_RELABEL ? e->label : -1;
		}
	if (strcmp(a, "also") == 0)
		ret = add_also(it, e->label);
	else if (strcmp(a, "tag") == 0 || strcmp(a, "untag") == 0)
		ret = set_tag(st, it, e->tag, a[0] == 't');
	else if (strcmp(a, "answer") == 0)
		it->d.answer = e->label;
	else if (strcmp(a, "clear") == 0) {
		drop_tags(st, it);
		it->d.status = LP_DECISION_NONE;
		it->d.label = -1;
		it->d.n_also = 0;
	}
	it->d.seq = e->seq;
	it->d.also = it->also;
	it->d.tags = it->tags;
	return ret;
}

/* The item's decision from scratch: its entries that count, in seq order. */
static int replay_item(lp_review_state *st, struct item *it)
{
	drop_tags(st, it);
	it->d = none;
	for (size_t i = 0; i < it->nhist; i++)
		if (!st->off[it->hist[i]] && apply_op(st, it, &st->e[it->hist[i]]))
			return -1;
	it->d.also = it->also;
	it->d.tags = it->tags;
	return 0;
}

static void replay_merges(lp_review_state *st)
{
	st->nmerges = 0;
	for (size_t i = 0; i < st->nclasses; i++) {
		const lp_annotation *e = &st->e[st->classes[i]];
		size_t k;

		if (st->off[st->classes[i]])
			continue;
		for (k = 0; k < st->nmerges && st->from[k] != e->cls; k++)
			;
		if (k < st->nmerges) { /* the class's earlier merge is replaced or undone */
			memmove(st->from + k, st->from + k + 1, (st->nmerges - k - 1) * 4);
			memmove(st->into + k, st->into + k + 1, (st->nmerges - k - 1) * 4);
			st->nmerges--;
		}
		if (strcmp(e->action, "merge") == 0) {
			st->from[st->nmerges] = e->cls;
			st->into[st->nmerges++] = e->label;
		}
	}
}

/* ---- entries --------------------------------------------------------------------------------- */

/* The index of the entry with this seq, or -1 (entries are in seq order). */
static long entry_find(const lp_review_state *st, int64_t seq)
{
	size_t lo = 0, hi = st->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->e[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < st->n && st->e[lo].seq == seq ? (long)lo : -1;
}

static int reserve_entry(lp_review_state *st)
{
	size_t cap = st->cap ? st->cap * 2 : 64;
	lp_annotation *e;
	unsigned char *off;

	if (st->n < st->cap)
		return 0;
	if (!(e = realloc(st->e, cap * sizeof(*e))))
		return -1;
	st->e = e;
	if (!(off = realloc(st->off, cap)))
		return -1;
	st->off = off;
	st->cap = cap;
	return 0;
}

/* A merge or unmerge: the merges in force are replayed with it. */
static int add_class(lp_review_state *st, size_t idx)
{
	size_t n = st->nclasses + 1, *c = realloc(st->classes, n * sizeof(*c));
	int32_t *v;

	if (!c)
		return -1;
	st->classes = c;
	if (!(v = realloc(st->from, n * sizeof(*v))))
		return -1;
	st->from = v;
	if (!(v = realloc(st->into, n * sizeof(*v))))
		return -1;
	st->into = v;
	c[st->nclasses++] = idx;
	replay_merges(st);
	return 0;
}

/* Entry idx names its items: each item gets it in its history and on top of its decision. */
static int apply_items(lp_review_state *st, size_t idx)
{
	const lp_annotation *e = &st->e[idx];
	struct item *it;

	for (size_t i = 0; i < e->n_items; i++) {
		if (item_get(st, e->items[i].split, e->items[i].item, &it))
			return -1;
		if (it->nhist && it->hist[it->nhist - 1] == idx) /* named twice in one entry */
			continue;
		if (grow(&it->hist, &it->cap_hist, it->nhist, sizeof(*it->hist)))
			return -1;
		it->hist[it->nhist++] = idx;
		if (apply_op(st, it, e))
			return -1;
	}
	return 0;
}

/* undo / redo entry e: whether its target counts, the stacks, and what the target touched. */
static int apply_undo(lp_review_state *st, const lp_annotation *e)
{
	long t = entry_find(st, e->ref);
	int undo = strcmp(e->action, "undo") == 0;
	const lp_annotation *target;
	struct item *it;

	if (t < 0 || lprv_action_kind(st->e[t].action) == LPRV_UNDO)
		return 0;
	target = &st->e[t];
	st->off[t] = (unsigned char)undo;
	pull(&st->undo, target->seq); /* from both: an entry is on one stack at most */
	pull(&st->redo, target->seq);
	if (push(undo ? &st->redo : &st->undo, target->seq))
		return -1;
	if (lprv_action_kind(target->action) == LPRV_CLASS) {
		replay_merges(st);
		return 0;
	}
	for (size_t i = 0; i < target->n_items; i++)
		if (item_get(st, target->items[i].split, target->items[i].item, &it) ||
		    replay_item(st, it))
			return -1;
	return 0;
}

/* The entry copied in and applied; the tag order is left to the caller. */
static int apply_one(lp_review_state *st, const lp_annotation *e)
{
	char why[256];
	size_t idx = st->n;
	int kind, r;

	if (!e || lprv_entry_check(e, why, sizeof why))
		return lp_error(st->ctx, LP_ERR_ARG, "review: entry %lld: %s",
				e ? (long long)e->seq : 0LL, e ? why : "none");
	if (st->n && e->seq <= st->e[st->n - 1].seq)
		return lp_error(st->ctx, LP_ERR_ARG, "review: entry %lld comes after %lld: entries "
				"go in seq order", (long long)e->seq,
				(long long)st->e[st->n - 1].seq);
	if (reserve_entry(st) || lprv_entry_copy(e, &st->e[idx]))
		return lp_error(st->ctx, LP_ERR_NOMEM, "review: out of memory");
	st->off[idx] = 0;
	st->n++;
	kind = lprv_action_kind(e->action);
	if (kind == LPRV_UNDO)
		r = apply_undo(st, &st->e[idx]);
	else if (kind == LPRV_CLASS)
		r = add_class(st, idx);
	else
		r = apply_items(st, idx);
	if (!r && kind != LPRV_UNDO) { /* a new decision: undo reaches it, redo starts over */
		r = push(&st->undo, e->seq);
		st->redo.n = 0;
	}
	return r ? lp_error(st->ctx, LP_ERR_NOMEM, "review: out of memory") : LP_OK;
}

/* Tags in use, most used first (ties: the one first used first). */
static int sort_tags(lp_review_state *st)
{
	const char **v = realloc(st->order, (st->ntags ? st->ntags : 1) * sizeof(*v));
	size_t n = 0;

	if (!v)
		return lp_error(st->ctx, LP_ERR_NOMEM, "review: out of memory");
	st->order = v;
	for (size_t i = 0; i < st->ntags; i++) {
		size_t k = n;

		if (!st->tags[i].count)
			continue;
		/* insertion: stable, and tags are few */
		while (k > 0 && tag_count(st, v[k - 1]) < st->tags[i].count) {
			v[k] = v[k - 1];
			k--;
		}
		v[k] = st->tags[i].name;
		n++;
	}
	st->norder = n;
	return LP_OK;
}

int lp_review_state_apply(lp_review_state *st, const lp_annotation *e)
{
	int ret = apply_one(st, e);

	return ret ? ret : sort_tags(st);
}

int lp_review_state_new(lp_ctx *ctx, const lp_annotation *e, size_t n, lp_review_state **out)
{
	lp_review_state *st = calloc(1, sizeof(*st));
	int ret = LP_OK;

	*out = NULL;
	if (!st)
		return lp_error(ctx, LP_ERR_NOMEM, "review: out of memory");
	st->ctx = ctx;
	for (size_t i = 0; !ret && i < n; i++)
		ret = apply_one(st, &e[i]);
	if (!ret)
		ret = sort_tags(st);
	if (ret) {
		lp_review_state_free(st);
		return ret;
	}
	*out = st;
	return LP_OK;
}

void lp_review_state_free(lp_review_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nitems; i++) {
		struct item *it = item_at(st, i);

		free(it->also);
		free(it->tags);
		free(it->hist);
	}
	for (size_t i = 0; i < (st->nitems + PAGE - 1) / PAGE; i++)
		free(st->pages[i]);
	for (size_t i = 0; i < st->nsplits; i++)
		free(st->splits[i]);
	for (size_t i = 0; i < st->ntags; i++)
		free(st->tags[i].name);
	lprv_entries_clear(st->e, st->n);
	free(st->e);
	free(st->off);
	free(st->splits);
	free(st->pages);
	free(st->slots);
	free(st->tags);
	free(st->order);
	free(st->classes);
	free(st->from);
	free(st->into);
	free(st->undo.v);
	free(st->redo.v);
	free(st);
}

const lp_item_decision *lp_review_state_item(const lp_review_state *st, const char *split,
					      int64_t item)
{
	long sp = split_find(st, split);
	size_t slot;

	if (sp < 0 || !st->capslots)
		return &none;
	slot = slot_of(st, (size_t)sp, item);
	return st->slots[slot] ? &item_at(st, st->slots[slot] - 1)->d : &none;
}

size_t lp_review_state_merges(const lp_review_state *st, const int32_t **from,
			      const int32_t **into)
{
	*from = st->from;
	*into = st->into;
	return st->nmerges;
}

int64_t lp_review_state_undo_top(const lp_review_state *st)
{
	return st->undo.n ? st->undo.v[st->undo.n - 1] : 0;
}

int64_t lp_review_state_redo_top(const lp_review_state *st)
{
	return st->redo.n ? st->redo.v[st->redo.n - 1] : 0;
}

size_t lp_review_state_tags(const lp_review_state *st, const char *const **out)
{
	*out = st->order;
	return st->norder;
}

/* One line per counting entry (undo and redo excepted: what they did shows in which entries
 * count), strings length-prefixed so that no two entry lists write the same text. time and
 * client are left out: /annotations keeps time to the millisecond and no client key, and the
 * hash must not change when the entries are read back from there. */
static void hash_entry(FILE *f, const lp_annotation *e)
{
	fprintf(f, "%lld %s %d %d %zu:%s %zu:%s %zu:%s %lld %zu\n", (long long)e->seq, e->action,
		(int)e->cls, (int)e->label, strlen(e->tag), e->tag, strlen(e->note), e->note,
		strlen(e->annotator), e->annotator, (long long)e->ref, e->n_items);
	for (size_t i = 0; i < e->n_items; i++)
		fprintf(f, "%zu:%s %lld %zu:%s %d\n", strlen(e->items[i].split), e->items[i].split,
			(long long)e->items[i].item, strlen(e->items[i].name), e->items[i].name,
			(int)e->items[i].cls);
}

void lp_review_state_hash(const lp_review_state *st, char out[65])
{
	char *text = NULL;
	size_t len = 0;
	uint8_t d[32];
	FILE *f = open_memstream(&text, &len);

	out[0] = '\0';
	if (!f)
		return;
	fprintf(f, "loupe annotations 1\n");
	for (size_t i = 0; i < st->n; i++)
		if (!st->off[i] && lprv_action_kind(st->e[i].action) != LPRV_UNDO)
			hash_entry(f, &st->e[i]);
	if (fclose(f) == 0 && text) {
		lpi_sha256(text, len, d);
		for (int i = 0; i < 32; i++)
			snprintf(out + 2 * i, 3, "%02x", d[i]);
	}
	free(text);
}
