/* heap.h — a bounded min-heap of (value, item): keeps the `cap` largest values pushed, for the
 * analyses' "the m items with the largest margin" selections in one pass (O(log m) a push). */
#ifndef LOUPE_HEAP_H
#define LOUPE_HEAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct lp_heap {
	float *value;
	int64_t *item;
	size_t n, cap;
} lp_heap;

/* 0, or -1 out of memory */
static inline int lp_heap_init(lp_heap *h, size_t cap)
{
	h->n = 0;
	h->cap = cap;
	h->value = cap ? malloc(sizeof(float) * cap) : NULL;
	h->item = cap ? malloc(sizeof(int64_t) * cap) : NULL;
	return cap && (!h->value || !h->item) ? -1 : 0;
}

static inline void lp_heap_free(lp_heap *h)
{
	free(h->value);
	free(h->item);
	h->value = NULL, h->item = NULL, h->n = h->cap = 0;
}

static inline void lp_heap_sift(lp_heap *h, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && h->value[l] < h->value[m])
			m = l;
		if (r < h->n && h->value[r] < h->value[m])
			m = r;
		if (m == i)
			return;
		float v = h->value[i];
		int64_t it = h->item[i];
		h->value[i] = h->value[m], h->item[i] = h->item[m];
		h->value[m] = v, h->item[m] = it;
		i = m;
	}
}

/* ties keep the earlier item (a later equal value does not displace it) */
static inline void lp_heap_push(lp_heap *h, float v, int64_t item)
{
	if (!h->cap)
		return;
	if (h->n < h->cap) {
		size_t i = h->n++;
		h->value[i] = v, h->item[i] = item;
		while (i > 0 && h->value[(i - 1) / 2] > h->value[i]) {
			size_t p = (i - 1) / 2;
			float tv = h->value[p];
			int64_t ti = h->item[p];
			h->value[p] = h->value[i], h->item[p] = h->item[i];
			h->value[i] = tv, h->item[i] = ti;
			i = p;
		}
		return;
	}
	if (v > h->value[0]) {
		h->value[0] = v, h->item[0] = item;
		lp_heap_sift(h, 0);
	}
}

#endif
