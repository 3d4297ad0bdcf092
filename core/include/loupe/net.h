/*
 * net.h — a sequential network of layer plugins, trained with SGD on the device.
 *
 *   int64_t in[3] = { 3, 32, 32 };
 *   lp_net *net;
 *   lp_net_new(ctx, 3, in, &net);
 *   lp_net_add(net, "conv1", conv2d_plugin, kv, nkv);   ... more layers ...
 *   lp_net_init(net);                       // weights from the context's seeded RNG
 *   lp_net_step_opts o = { .lr = 0.01, .momentum = 0.9, .weight_decay = 5e-4, .update = 1 };
 *   lp_net_step_result r;
 *   lp_net_train_step(net, x, labels, &o, &r);   // forward, loss, backward, SGD: one submit
 *
 * The net owns every weight, its gradient and its momentum, and the activations for the
 * current batch size. The loss is softmax cross-entropy (the softmax_xent plugin), averaged
 * over the batch. Same device + same seed ⇒ bit-identical weights after N steps: kernels are
 * deterministic and dropout masks come from (seed, layer, step).
 */
#ifndef LOUPE_NET_H
#define LOUPE_NET_H

#include "loupe/plugins.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lp_net lp_net;

typedef struct lp_net_step_opts {
	double lr, momentum, weight_decay;
	int update;   /* 0: compute loss and gradients only (no SGD) */
	int training; /* dropout on (1) or off (0) */
} lp_net_step_opts;

typedef struct lp_net_step_result {
	double loss;      /* mean over the batch */
	int64_t correct;  /* top-1 hits */
} lp_net_step_result;

/* What one layer looks like after lp_net_add (borrowed; valid until the net is freed). */
typedef struct lp_net_layer_info {
	const char *name, *type;
	int out_rank;
	const int64_t *out_dims; /* per item (no batch dimension) */
	uint32_t nw;
	const lp_weight_decl *w;
	uint64_t params;         /* elements in its weights */
	uint64_t macs;           /* multiply-adds per item in forward (estimate) */
} lp_net_layer_info;

int lp_net_new(lp_ctx *ctx, int rank, const int64_t *item_shape, lp_net **out);
void lp_net_free(lp_net *net);
/* Append a layer; shapes are checked now (an error names the layer). */
int lp_net_add(lp_net *net, const char *name, const lp_plugin *p, const lp_kv *kv, size_t n);
size_t lp_net_count(const lp_net *net);
int lp_net_layer(const lp_net *net, size_t i, lp_net_layer_info *out);
/* Allocate and initialise weights (declared rules, seeded RNG) and zero momentum. */
int lp_net_init(lp_net *net);
/* Inference (dropout off) on x [N, item...]: *logits is the last layer's output [N, classes],
 * *probs its softmax, *loss the per-item loss when labels are given (else NULL). All three are
 * borrowed from the net and valid until its next call. */
int lp_net_predict(lp_net *net, const lp_tensor *x, const lp_tensor *labels,
		   const lp_tensor **logits, const lp_tensor **probs, const lp_tensor **loss);
int lp_net_train_step(lp_net *net, const lp_tensor *x, const lp_tensor *labels,
		      const lp_net_step_opts *opts, lp_net_step_result *res);
uint64_t lp_net_get_step(const lp_net *net);
/* The item shape the net takes (its rank; dims borrowed), and the seed its dropout masks and
 * initial weights came from. */
int lp_net_input(const lp_net *net, const int64_t **dims);
uint64_t lp_net_get_seed(const lp_net *net);
void lp_net_set_step(lp_net *net, uint64_t step);

/* Parameters by full name "<layer>.<weight>" (borrowed tensors). kind 0: weight, 1: gradient,
 * 2: momentum. */
int lp_net_param(lp_net *net, const char *full_name, int kind, lp_tensor **out);
size_t lp_net_param_count(const lp_net *net);
const char *lp_net_param_name(const lp_net *net, size_t i);

/* The output of layer `name` from the last forward (kind 0) or the gradient of the loss with
 * respect to it from the last backward (kind 1): borrowed, [N, out...]. Features for the
 * analyses are the activations of the penultimate layer. */
int lp_net_activation(lp_net *net, const char *name, int kind, const lp_tensor **out);

/* Save weights and momentum (HDF5: /weights/<layer>/<name>, /momentum/<layer>/<name>, attr
 * step) to a temporary file, fsync, rename. Load checks every shape and names what differs. */
int lp_net_save(lp_net *net, const char *path);
/* The same, with n more string attributes on "/" (kv: key, value, key, value, ...): a
 * checkpoint's epoch, loader position and the net's definition go in the same atomic file. */
int lp_net_save_meta(lp_net *net, const char *path, size_t n, const char *const *kv);
int lp_net_load(lp_net *net, const char *path, int with_momentum);
/* The same, leaving the layers named in skip as they are (fine-tuning: a new last layer). */
int lp_net_load_except(lp_net *net, const char *path, int with_momentum,
		       const char *const *skip, size_t nskip);

#ifdef __cplusplus
}
#endif
#endif
