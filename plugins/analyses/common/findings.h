/* findings.h — what every analysis plugin shares (compiled into each; plugins link nothing of
 * the core, so this goes through the host table, which the plugin keeps in `an_host`):
 *   - lp_inputs: the class names and the prediction groups of a run archive, checked;
 *   - lp_findings: the findings table every analysis writes at <group>/findings/, the same
 *     columns for all of them (docs/ARCHIVE.md, /analyses), most important first. */
#ifndef LOUPE_FINDINGS_H
#define LOUPE_FINDINGS_H

#include "loupe/plugin.h"

extern const lp_host *an_host;

typedef struct lp_inputs {
	char **classes; /* /dataset/classes (freed with an_host->free) */
	size_t nclasses;
	char **splits;  /* the groups under /predictions, sorted */
	size_t nsplits;
} lp_inputs;

/* The child groups of group (name order, as the archive lists them): *names[*n], each
 * malloc'd (lp_names_free). who: the analysis, for messages. */
int lp_list_groups(lp_ctx *ctx, lp_archive *a, const char *who, const char *group,
		   char ***names, size_t *n);
void lp_names_free(char **names, size_t n);

/* who: the analysis' name, for messages. An archive without /dataset/classes or without
 * predictions is an error that says what to run first. */
int lp_inputs_read(lp_ctx *ctx, lp_archive *a, const char *who, lp_inputs *in);
void lp_inputs_free(lp_inputs *in);

/* One row of probabilities checked: finite, >= 0, summing to 1 within 1e-3; the error names
 * the dataset, row and class. */
int lp_check_probs(lp_ctx *ctx, const char *who, const char *path, int64_t row, const float *p,
		   int64_t k);
/* The labels at path (int, [n]) into labels, each checked to be a class 0 .. k-1. */
int lp_read_labels(lp_ctx *ctx, lp_archive *a, const char *who, const char *path, int64_t n,
		   int64_t k, int32_t *labels);
/* Where the labels of prediction group g are: /predictions/g/labels if written, else
 * /dataset/<split>/labels, with split = g less a "_crossval" suffix. */
void lp_labels_path(lp_archive *a, const char *g, char *path, size_t size);

/* Prediction groups: g_crossval (out-of-sample, loupe.crossval_predict) supersedes g; the
 * split of a group is its name less "_crossval". */
int lp_group_superseded(const lp_inputs *in, const char *g);
void lp_group_split(const char *g, char *split, size_t size);
/* Probabilities of a training split that are not out-of-sample: the model learnt those
 * labels, wrong ones included */
int lp_group_in_sample(const char *g);

typedef struct lp_finding {
	const char *kind;        /* "label_issue", "confused_pair", ... (copied) */
	const char *split;       /* copied */
	int64_t item;            /* 0-based row of the split, -1 for a class-level finding */
	int32_t cls, other_class; /* other_class -1 if none */
	const char *other_split; /* NULL: none (copied) */
	int64_t other_item;      /* -1 if none */
	float score;             /* higher = more important; rows are written by falling score */
	const char *text;        /* one sentence, classes by name (copied) */
	int64_t key;             /* the plugin's own, for lp_findings_has (not written) */
} lp_finding;

typedef struct lp_findings {
	lp_finding *rows;
	size_t n, cap;
} lp_findings;

void lp_findings_init(lp_findings *f);
int lp_findings_add(lp_findings *f, const lp_finding *row);
/* whether a row of split with this key was added */
int lp_findings_has(const lp_findings *f, const char *split, int64_t key);
int lp_findings_write(lp_findings *f, lp_archive *a, const char *group);
void lp_findings_free(lp_findings *f);

/* The run() every analysis has: the inputs, fn for each prediction group (all of them, or with
 * all = 0 only those no g_crossval supersedes), then the findings table under io->group. */
typedef int (*lp_group_fn)(lp_ctx *ctx, void *state, const lp_analysis_io *io,
			   const lp_inputs *in, const char *group, lp_findings *f);
int lp_run_groups(lp_ctx *ctx, void *state, const lp_analysis_io *io, const char *who, int all,
		  lp_group_fn fn);

#endif
