/*
 * predict.h — a net's predictions over every item a loader yields, kept on the host: what
 * `/predictions/<split>` holds and what the analyses consume.
 *
 *   lp_predictions p = { 0 };
 *   lp_loader_start(ld, 0, 0);                  // an unshuffled loader: rows in item order
 *   if (lp_predict(net, ld, "relu7", &p)) fail(lp_ctx_errmsg(ctx));
 *   ... p.probs [n, classes], p.loss [n], p.top5 [n, 5], p.features [n, dim] ...
 *   lp_predictions_write(&p, archive, "/predictions/test");
 *   lp_predictions_free(&p);
 */
#ifndef LOUPE_PREDICT_H
#define LOUPE_PREDICT_H

#include "loupe/loader.h"
#include "loupe/net.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LP_TOPK 5

typedef struct lp_predictions {
	int64_t n;
	int classes;
	int64_t dim;       /* feature width (0: no features) */
	float *probs;      /* [n, classes] softmax */
	float *loss;       /* [n] cross-entropy of the item's label */
	int32_t *labels;   /* [n] the labels the loader gave */
	int64_t *items;    /* [n] item indices in the split */
	int32_t *top5;     /* [n, LP_TOPK] classes by falling probability (-1 past classes) */
	float *features;   /* [n, dim] activations of the chosen layer, or NULL */
	double mean_loss, top1, top5_acc;
} lp_predictions;

/* Run the net in inference mode (dropout off) over the loader's current epoch, from where it
 * stands to its end. feature_layer: a layer whose output becomes p.features (NULL: none). */
int lp_predict(lp_net *net, lp_loader *ld, const char *feature_layer, lp_predictions *out);
void lp_predictions_free(lp_predictions *p);
/* group/probs, top5, loss, labels, items (and features) with their axis names. */
int lp_predictions_write(const lp_predictions *p, lp_archive *a, const char *group);

#ifdef __cplusplus
}
#endif
#endif
