/*
 * entries.h — what journal.c, annotations.c and state.c share about annotation entries
 * (private to core/src/review/).
 *
 * An entry owned by this code (lp_journal_read, lp_annotations_read, a journal, a state) keeps
 * its items and every string in one malloc'd block that e->items points at (never NULL), so
 * freeing an entry is free((void *)e->items). tag, note and annotator are never NULL ("" when
 * missing); client is NULL when there is none.
 */
#ifndef LOUPE_REVIEW_ENTRIES_H
#define LOUPE_REVIEW_ENTRIES_H

#include <stddef.h>

#include "loupe/annotations.h"

/* Actions by kind: on items, or class-level / undo / redo (no items). */
enum { LPRV_ITEMS = 1, LPRV_CLASS, LPRV_UNDO };

/* The kind of an action name, 0 if it is none of LP_ANNOTATION_ACTIONS. */
int lprv_action_kind(const char *action);
/* Deep copy of src into *dst (one block, above); -1 out of memory. */
int lprv_entry_copy(const lp_annotation *src, lp_annotation *dst);
/* Whether e is a valid entry; if not, why (into why) and -1. seq must be set. */
int lprv_entry_check(const lp_annotation *e, char *why, size_t size);
/* Free the entries' blocks (not the array). */
void lprv_entries_clear(lp_annotation *e, size_t n);

#endif
