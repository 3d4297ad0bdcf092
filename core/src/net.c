/* net.c — a sequential net of layer plugins: shapes, weights, one-submit training steps. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "loupe/net.h"

static const uint32_t sgd_spv[] =
#include "core/sgd.spv.inc"
	;

typedef struct sgd_push {
	uint32_t n;
	float lr, momentum, wd;
} sgd_push;
_Static_assert(sizeof(sgd_push) <= 128, "push constants");

typedef struct netlayer {
	char name[64];
	const lp_plugin *p;
	lp_layer *layer;
	int out_rank;                 /* per item */
	int64_t out_dims[LP_MAX_RANK];
	lp_weight_decl w[LP_MAX_WEIGHTS];
	uint32_t nw;
	lp_tensor *wt[LP_MAX_WEIGHTS], *gt[LP_MAX_WEIGHTS], *mt[LP_MAX_WEIGHTS];
	char *pname[LP_MAX_WEIGHTS];  /* "<layer>.<weight>" */
	lp_tensor *act, *dact;        /* [batch, out...] */
	uint64_t macs;
} netlayer;

struct lp_net {
	lp_ctx *ctx;
	int in_rank;
	int64_t in_dims[LP_MAX_RANK];
	netlayer *L;
	size_t n, cap;
	lp_layer *loss;
	lp_kernel *sgd;
	int64_t batch;
	lp_tensor *loss_t, *dloss_t, *probs_t, *nolabels;
	uint64_t seed, step;
	int inited;
};

static int64_t numel(int rank, const int64_t *d)
{
	int64_t n = 1;
	for (int i = 0; i < rank; i++)
		n *= d[i];
	return n;
}

static void free_batch(lp_net *net)
{
	for (size_t i = 0; i < net->n; i++) {
		lp_tensor_free(net->L[i].act);
		lp_tensor_free(net->L[i].dact);
		net->L[i].act = net->L[i].dact = NULL;
	}
	lp_tensor_free(net->loss_t);
	lp_tensor_free(net->dloss_t);
	lp_tensor_free(net->probs_t);
	lp_tensor_free(net->nolabels);
	net->loss_t = net->dloss_t = net->probs_t = net->nolabels = NULL;
	net->batch = 0;
}

void lp_net_free(lp_net *net)
{
	if (!net)
		return;
	free_batch(net);
	for (size_t i = 0; i < net->n; i++) {
		netlayer *l = &net->L[i];
		for (uint32_t k = 0; k < l->nw; k++) {
			lp_tensor_free(l->wt[k]);
			lp_tensor_free(l->gt[k]);
			lp_tensor_free(l->mt[k]);
			free(l->pname[k]);
		}
		lp_layer_free(l->layer);
	}
	lp_layer_free(net->loss);
	lp_kernel_free(net->sgd);
	free(net->L);
	free(net);
}

int lp_net_new(lp_ctx *ctx, int rank, const int64_t *item_shape, lp_net **out)
{
	lp_net *net;

	*out = NULL;
	if (rank < 1 || rank >= LP_MAX_RANK)
		return lp_error(ctx, LP_ERR_SHAPE, "net: input rank %d (1..%d per item)", rank,
				LP_MAX_RANK - 1);
	for (int i = 0; i < rank; i++)
		if (item_shape[i] < 1)
			return lp_error(ctx, LP_ERR_SHAPE, "net: input dimension %d is %lld", i,
					(long long)item_shape[i]);
	if (!(net = calloc(1, sizeof(*net))))
		return lp_error(ctx, LP_ERR_NOMEM, "net: out of memory");
	net->ctx = ctx;
	net->in_rank = rank;
	memcpy(net->in_dims, item_shape, (size_t)rank * sizeof(*item_shape));
	*out = net;
	return LP_OK;
}

/* The shape entering layer i, per item. */
static void input_of(const lp_net *net, size_t i, int *rank, const int64_t **dims)
{
	*rank = i ? net->L[i - 1].out_rank : net->in_rank;
	*dims = i ? net->L[i - 1].out_dims : net->in_dims;
}

static void with_batch(int64_t n, int rank, const int64_t *item, int64_t *out)
{
	out[0] = n;
	memcpy(out + 1, item, (size_t)rank * sizeof(*item));
}

int lp_net_add(lp_net *net, const char *name, const lp_plugin *p, const lp_kv *kv, size_t n)
{
	lp_ctx *ctx = net->ctx;
	int64_t in[LP_MAX_RANK], outd[LP_MAX_RANK];
	const int64_t *item;
	int rank, orank, rc;

	if (net->inited)
		return lp_error(ctx, LP_ERR_ARG, "net: cannot add layer %s after init", name);
	for (size_t i = 0; i < net->n; i++)
		if (strcmp(net->L[i].name, name) == 0)
			return lp_error(ctx, LP_ERR_ARG, "net: two layers named '%s'", name);
	if (!*name || strlen(name) >= sizeof net->L[0].name || strchr(name, '/') ||
	    strchr(name, '.'))
		return lp_error(ctx, LP_ERR_ARG, "net: bad layer name '%s' (no '/' or '.')", name);
	if (net->n == net->cap) {
		size_t cap = net->cap ? 2 * net->cap : 16;
		netlayer *L = realloc(net->L, cap * sizeof(*L));
		if (!L)
			return lp_error(ctx, LP_ERR_NOMEM, "net: out of memory");
		net->L = L;
		net->cap = cap;
	}
	netlayer *l = &net->L[net->n];
	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof l->name, "%s", name);
	l->p = p;
	if ((rc = lp_layer_new(ctx, p, kv, n, &l->layer)))
		return lp_error_wrap(ctx, rc, "net: layer %s", name);
	input_of(net, net->n, &rank, &item);
	with_batch(1, rank, item, in);
	if ((rc = lp_layer_shape(l->layer, rank + 1, in, &orank, outd)) ||
	    (rc = lp_layer_weights(l->layer, rank + 1, in, l->w, &l->nw))) {
		lp_layer_free(l->layer);
		return lp_error_wrap(ctx, rc, "net: layer %s", name);
	}
	if (orank < 1 || outd[0] != 1) {
		lp_layer_free(l->layer);
		return lp_error(ctx, LP_ERR_SHAPE, "net: layer %s changes the batch dimension", name);
	}
	l->out_rank = orank - 1;
	memcpy(l->out_dims, outd + 1, (size_t)l->out_rank * sizeof(int64_t));
	/* multiply-adds per item: each output element reads weight[0].numel / out-channels */
	int64_t per = l->nw ? numel(l->w[0].rank, l->w[0].dims) / (l->w[0].dims[0] ? l->w[0].dims[0] : 1)
			    : 1;
	l->macs = (uint64_t)(numel(l->out_rank, l->out_dims) * per);
	net->n++;
	return LP_OK;
}

size_t lp_net_count(const lp_net *net)
{
	return net->n;
}

int lp_net_layer(const lp_net *net, size_t i, lp_net_layer_info *out)
{
	if (i >= net->n)
		return lp_error(net->ctx, LP_ERR_ARG, "net: no layer %zu", i);
	const netlayer *l = &net->L[i];
	uint64_t params = 0;
	for (uint32_t k = 0; k < l->nw; k++)
		params += (uint64_t)numel(l->w[k].rank, l->w[k].dims);
	*out = (lp_net_layer_info){ l->name, l->p->name, l->out_rank, l->out_dims, l->nw, l->w,
				    params, l->macs };
	return LP_OK;
}

static int fill_init(lp_ctx *ctx, const lp_weight_decl *d, float *h, int64_t n)
{
	for (int64_t i = 0; i < n; i++) {
		switch (d->init) {
		case LP_INIT_CONSTANT: h[i] = (float)d->a; break;
		case LP_INIT_GAUSSIAN: h[i] = (float)(d->a + d->b * lp_rng_normal(ctx)); break;
		case LP_INIT_UNIFORM: h[i] = (float)(d->a + (d->b - d->a) * lp_rng_uniform(ctx)); break;
		case LP_INIT_HE: h[i] = (float)(sqrt(2.0 / (d->a > 0 ? d->a : 1)) * lp_rng_normal(ctx)); break;
		default:
			return lp_error(ctx, LP_ERR_PLUGIN, "net: weight %s has unknown init rule %d",
					d->name, d->init);
		}
	}
	return LP_OK;
}

static int new_named(lp_ctx *ctx, const lp_weight_decl *d, const char *name, const char *what,
		     lp_tensor **t)
{
	char full[128];
	int rc = lp_tensor_new(ctx, LP_F32, d->rank, d->dims, t);
	if (!rc) {
		snprintf(full, sizeof full, "%s%s", name, what);
		lp_tensor_set_name(*t, full);
	}
	return rc;
}

static int init_layer(lp_net *net, netlayer *l)
{
	lp_ctx *ctx = net->ctx;
	int rc = LP_OK;

	for (uint32_t k = 0; k < l->nw && !rc; k++) {
		const lp_weight_decl *d = &l->w[k];
		int64_t n = numel(d->rank, d->dims);
		char full[128];
		snprintf(full, sizeof full, "%s.%s", l->name, d->name);
		if (!(l->pname[k] = strdup(full)))
			return lp_error(ctx, LP_ERR_NOMEM, "net: out of memory");
		float *h = calloc((size_t)n + 1, sizeof(float));
		if (!h)
			return lp_error(ctx, LP_ERR_NOMEM, "net: out of memory for %s", full);
		if (!(rc = new_named(ctx, d, full, "", &l->wt[k])) &&
		    !(rc = new_named(ctx, d, full, ".grad", &l->gt[k])) &&
		    !(rc = new_named(ctx, d, full, ".momentum", &l->mt[k])) &&
		    !(rc = lp_tensor_write(ctx, l->mt[k], h, (size_t)n * 4)) &&
		    !(rc = lp_tensor_write(ctx, l->gt[k], h, (size_t)n * 4)) &&
		    !(rc = fill_init(ctx, d, h, n)))
			rc = lp_tensor_write(ctx, l->wt[k], h, (size_t)n * 4);
		free(h);
	}
	return rc;
}

int lp_net_init(lp_net *net)
{
	lp_ctx *ctx = net->ctx;
	const lp_plugin *p;
	int rc;

	if (net->inited)
		return LP_OK;
	if (!net->n)
		return lp_error(ctx, LP_ERR_ARG, "net: no layers");
	const netlayer *last = &net->L[net->n - 1];
	if (last->out_rank != 1)
		return lp_error(ctx, LP_ERR_SHAPE, "net: the last layer (%s) must output [N, classes], "
				"not rank %d per item", last->name, last->out_rank);
	if ((rc = lp_plugin_find(ctx, "softmax_xent", LP_KIND_LAYER, &p)) ||
	    (rc = lp_layer_new(ctx, p, NULL, 0, &net->loss)))
		return lp_error_wrap(ctx, rc, "net: loss");
	lp_kernel_desc kd = { sizeof kd, "net.sgd", sgd_spv, sizeof sgd_spv, 3, sizeof(sgd_push), 1,
			      (const uint32_t[]){ 256 } };
	if ((rc = lp_kernel_new(ctx, &kd, &net->sgd)))
		return rc;
	net->seed = lp_ctx_get_seed(ctx);
	for (size_t i = 0; i < net->n; i++)
		if ((rc = init_layer(net, &net->L[i])))
			return lp_error_wrap(ctx, rc, "net: layer %s", net->L[i].name);
	net->inited = 1;
	return LP_OK;
}

static int check_input(lp_net *net, const lp_tensor *x, const lp_tensor *labels)
{
	lp_ctx *ctx = net->ctx;
	const int64_t *d = lp_tensor_dims(x);

	if (!net->inited)
		return lp_error(ctx, LP_ERR_ARG, "net: call init first");
	if (lp_tensor_dtype(x) != LP_F32 || lp_tensor_rank(x) != net->in_rank + 1 ||
	    memcmp(d + 1, net->in_dims, (size_t)net->in_rank * sizeof(int64_t)) != 0 || d[0] < 1)
		return lp_error(ctx, LP_ERR_SHAPE, "net: input %s does not match the net's input "
				"shape [N, %lld, ...] float32", lp_tensor_name(x),
				(long long)net->in_dims[0]);
	if (labels && (lp_tensor_dtype(labels) != LP_I32 || lp_tensor_rank(labels) != 1 ||
		       lp_tensor_dims(labels)[0] != d[0]))
		return lp_error(ctx, LP_ERR_SHAPE, "net: labels must be int32 [%lld]",
				(long long)d[0]);
	return LP_OK;
}

/* Activations, gradients and loss buffers for a batch of n (kept until n changes). */
static int ensure_batch(lp_net *net, int64_t n)
{
	lp_ctx *ctx = net->ctx;
	int64_t d[LP_MAX_RANK];
	int rc;

	if (net->batch == n)
		return LP_OK;
	free_batch(net);
	for (size_t i = 0; i < net->n; i++) {
		netlayer *l = &net->L[i];
		with_batch(n, l->out_rank, l->out_dims, d);
		if ((rc = lp_tensor_new(ctx, LP_F32, l->out_rank + 1, d, &l->act)) ||
		    (rc = lp_tensor_new(ctx, LP_F32, l->out_rank + 1, d, &l->dact)))
			return rc;
		lp_tensor_set_name(l->act, l->name);
	}
	const netlayer *last = &net->L[net->n - 1];
	int64_t pd[2] = { n, last->out_dims[0] };
	float *inv = malloc((size_t)n * sizeof(float));
	int32_t *zeros = calloc((size_t)n, sizeof(int32_t));
	if (!inv || !zeros) {
		free(inv), free(zeros);
		return lp_error(ctx, LP_ERR_NOMEM, "net: out of memory");
	}
	for (int64_t i = 0; i < n; i++)
		inv[i] = 1.0f / (float)n; /* d(mean loss)/d(item loss) */
	if (!(rc = lp_tensor_new(ctx, LP_F32, 1, &n, &net->loss_t)) &&
	    !(rc = lp_tensor_new(ctx, LP_F32, 1, &n, &net->dloss_t)) &&
	    !(rc = lp_tensor_new(ctx, LP_F32, 2, pd, &net->probs_t)) &&
	    !(rc = lp_tensor_new(ctx, LP_I32, 1, &n, &net->nolabels)) &&
	    !(rc = lp_tensor_write(ctx, net->dloss_t, inv, (size_t)n * 4)))
		rc = lp_tensor_write(ctx, net->nolabels, zeros, (size_t)n * 4);
	free(inv);
	free(zeros);
	if (!rc)
		net->batch = n;
	return rc;
}

static uint64_t layer_seed(const lp_net *net, size_t i)
{
	uint64_t z = net->seed + 0x9e3779b97f4a7c15ull * (i + 1);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static lp_layer_io layer_io(lp_net *net, size_t i, const lp_tensor *x, int training)
{
	netlayer *l = &net->L[i];
	return (lp_layer_io){ .size = sizeof(lp_layer_io), .x = i ? net->L[i - 1].act : x,
			      .y = l->act, .dy = l->dact, .dx = i ? net->L[i - 1].dact : NULL,
			      .w = l->wt, .dw = l->gt, .nw = l->nw, .seed = layer_seed(net, i),
			      .step = net->step, .training = training };
}

static int record_forward(lp_net *net, lp_cmd *cmd, const lp_tensor *x, const lp_tensor *labels,
			  int training)
{
	int rc;

	for (size_t i = 0; i < net->n; i++) {
		lp_layer_io io = layer_io(net, i, x, training);
		lp_cmd_set_label(cmd, net->L[i].name);
		if ((rc = lp_layer_forward(net->L[i].layer, cmd, &io)))
			return lp_error_wrap(net->ctx, rc, "net: forward %s", net->L[i].name);
	}
	lp_cmd_set_label(cmd, "loss");
	lp_layer_io lio = { .size = sizeof lio, .x = net->L[net->n - 1].act, .y = net->loss_t,
			    .labels = labels ? labels : net->nolabels, .aux = net->probs_t,
			    .dy = net->dloss_t, .dx = net->L[net->n - 1].dact, .training = training };
	if ((rc = lp_layer_forward(net->loss, cmd, &lio)))
		return lp_error_wrap(net->ctx, rc, "net: loss");
	return LP_OK;
}

static int record_backward(lp_net *net, lp_cmd *cmd, const lp_tensor *x, const lp_tensor *labels,
			   int training)
{
	lp_cmd_set_label(cmd, "loss");
	lp_layer_io lio = { .size = sizeof lio, .x = net->L[net->n - 1].act, .y = net->loss_t,
			    .labels = labels, .dy = net->dloss_t, .dx = net->L[net->n - 1].dact,
			    .training = training };
	int rc = lp_layer_backward(net->loss, cmd, &lio);

	if (rc)
		return lp_error_wrap(net->ctx, rc, "net: loss backward");
	for (size_t i = net->n; i-- > 0;) {
		lp_layer_io io = layer_io(net, i, x, training);
		lp_cmd_set_label(cmd, net->L[i].name);
		if ((rc = lp_layer_backward(net->L[i].layer, cmd, &io)))
			return lp_error_wrap(net->ctx, rc, "net: backward %s", net->L[i].name);
	}
	return LP_OK;
}

/* SGD over every weight, in ranges that fit one binding (fc6 does not). */
static int record_sgd(lp_net *net, lp_cmd *cmd, const lp_net_step_opts *o)
{
	lp_device_info d;
	int rc = lp_device_get_info(net->ctx, &d);
	uint64_t align = d.min_storage_offset_align ? d.min_storage_offset_align : 16;
	uint64_t chunk = d.max_storage_buffer_range / align * align / 4;

	if (chunk > (1u << 30))
		chunk = 1u << 30;
	lp_cmd_set_label(cmd, "sgd");
	for (size_t i = 0; i < net->n && !rc; i++) {
		netlayer *l = &net->L[i];
		for (uint32_t k = 0; k < l->nw && !rc; k++) {
			uint64_t n = (uint64_t)lp_tensor_numel(l->wt[k]);
			for (uint64_t off = 0; off < n && !rc; off += chunk) {
				uint64_t len = n - off < chunk ? n - off : chunk;
				uint64_t g = (len + 255) / 256;
				sgd_push pc = { (uint32_t)len, (float)o->lr, (float)o->momentum,
						(float)o->weight_decay };
				lp_binding b[3] = { { l->wt[k], off * 4, len * 4 },
						    { l->gt[k], off * 4, len * 4 },
						    { l->mt[k], off * 4, len * 4 } };
				uint32_t groups[3] = { g < 65535 ? (uint32_t)g : 65535, 1, 1 };
				rc = lp_cmd_dispatch(cmd, net->sgd, groups, &pc, sizeof pc, b, 3);
			}
		}
	}
	return rc;
}

/* Mean loss and top-1 hits from the loss and probability buffers. */
static int summarize(lp_net *net, const lp_tensor *labels, lp_net_step_result *res)
{
	lp_ctx *ctx = net->ctx;
	int64_t n = net->batch, c = net->L[net->n - 1].out_dims[0];
	float *loss = malloc((size_t)n * 4), *probs = malloc((size_t)(n * c) * 4);
	int32_t *lab = malloc((size_t)n * 4);
	int rc = LP_ERR_NOMEM;

	if (loss && probs && lab && !(rc = lp_tensor_read(ctx, net->loss_t, loss, (size_t)n * 4)) &&
	    !(rc = lp_tensor_read(ctx, net->probs_t, probs, (size_t)(n * c) * 4)) &&
	    !(rc = lp_tensor_read(ctx, labels, lab, (size_t)n * 4))) {
		double sum = 0;
		res->correct = 0;
		for (int64_t i = 0; i < n; i++) {
			int64_t best = 0;
			for (int64_t j = 1; j < c; j++)
				best = probs[i * c + j] > probs[i * c + best] ? j : best;
			res->correct += best == lab[i];
			sum += loss[i];
		}
		res->loss = sum / (double)n;
	} else if (rc == LP_ERR_NOMEM) {
		lp_error(ctx, rc, "net: out of memory");
	}
	free(loss), free(probs), free(lab);
	return rc;
}

int lp_net_train_step(lp_net *net, const lp_tensor *x, const lp_tensor *labels,
		      const lp_net_step_opts *o, lp_net_step_result *res)
{
	lp_cmd *cmd;
	int rc;

	if (!labels)
		return lp_error(net->ctx, LP_ERR_ARG, "net: training needs labels");
	if ((rc = check_input(net, x, labels)) || (rc = ensure_batch(net, lp_tensor_dims(x)[0])) ||
	    (rc = lp_cmd_begin(net->ctx, &cmd)))
		return rc;
	if ((rc = record_forward(net, cmd, x, labels, o->training)) ||
	    (rc = record_backward(net, cmd, x, labels, o->training)) ||
	    (o->update && (rc = record_sgd(net, cmd, o)))) {
		lp_cmd_free(cmd);
		return rc;
	}
	if ((rc = lp_cmd_submit(cmd)))
		return rc;
	if (o->update)
		net->step++;
	return res ? summarize(net, labels, res) : LP_OK;
}

int lp_net_predict(lp_net *net, const lp_tensor *x, const lp_tensor *labels,
		   const lp_tensor **logits, const lp_tensor **probs, const lp_tensor **loss)
{
	lp_cmd *cmd;
	int rc;

	if ((rc = check_input(net, x, labels)) || (rc = ensure_batch(net, lp_tensor_dims(x)[0])) ||
	    (rc = lp_cmd_begin(net->ctx, &cmd)))
		return rc;
	if ((rc = record_forward(net, cmd, x, labels, 0))) {
		lp_cmd_free(cmd);
		return rc;
	}
	if ((rc = lp_cmd_submit(cmd)))
		return rc;
	if (logits)
		*logits = net->L[net->n - 1].act;
	if (probs)
		*probs = net->probs_t;
	if (loss)
		*loss = labels ? net->loss_t : NULL;
	return LP_OK;
}

int lp_net_input(const lp_net *net, const int64_t **dims)
{
	*dims = net->in_dims;
	return net->in_rank;
}

uint64_t lp_net_get_seed(const lp_net *net)
{
	return net->seed;
}

uint64_t lp_net_get_step(const lp_net *net)
{
	return net->step;
}

void lp_net_set_step(lp_net *net, uint64_t step)
{
	net->step = step;
}

size_t lp_net_param_count(const lp_net *net)
{
	size_t n = 0;
	for (size_t i = 0; i < net->n; i++)
		n += net->L[i].nw;
	return n;
}

const char *lp_net_param_name(const lp_net *net, size_t idx)
{
	for (size_t i = 0; i < net->n; i++) {
		if (idx < net->L[i].nw)
			return net->L[i].pname[idx];
		idx -= net->L[i].nw;
	}
	return NULL;
}

int lp_net_param(lp_net *net, const char *full, int kind, lp_tensor **out)
{
	*out = NULL;
	if (!net->inited)
		return lp_error(net->ctx, LP_ERR_ARG, "net: call init first");
	for (size_t i = 0; i < net->n; i++)
		for (uint32_t k = 0; k < net->L[i].nw; k++)
			if (strcmp(net->L[i].pname[k], full) == 0) {
				netlayer *l = &net->L[i];
				*out = kind == 0 ? l->wt[k] : kind == 1 ? l->gt[k] : l->mt[k];
				return LP_OK;
			}
	return lp_error(net->ctx, LP_ERR_NOTFOUND, "net: no parameter '%s'", full);
}

static const char *const *weight_axes(int rank)
{
	static const char *const a4[] = { "out", "in", "kh", "kw" }, *const a2[] = { "out", "in" },
				 *const a1[] = { "out" };
	return rank == 4 ? a4 : rank == 2 ? a2 : rank == 1 ? a1 : NULL;
}

static int save_tensor(lp_net *net, lp_archive *a, const char *group, const netlayer *l,
		       uint32_t k, const lp_tensor *t)
{
	char path[256];
	size_t bytes = lp_tensor_bytes(t);
	float *h = malloc(bytes ? bytes : 1);
	int rc;

	if (!h)
		return lp_error(net->ctx, LP_ERR_NOMEM, "net: out of memory");
	snprintf(path, sizeof path, "/%s/%s/%s", group, l->name, l->w[k].name);
	if (!(rc = lp_tensor_read(net->ctx, t, h, bytes)))
		rc = lp_archive_write(a, path, LP_F32, l->w[k].rank, l->w[k].dims,
				      weight_axes(l->w[k].rank), h);
	free(h);
	return rc;
}

int lp_net_save(lp_net *net, const char *path)
{
	return lp_net_save_meta(net, path, 0, NULL);
}

/* The archive writes a checkpoint under PATH.tmp.PID and renames it to path only once it is
 * whole and fsync'd (LP_ARCHIVE_NO_LOCK: the checkpoint directory's lock covers it). */
int lp_net_save_meta(lp_net *net, const char *path, size_t n, const char *const *kv)
{
	lp_ctx *ctx = net->ctx;
	lp_archive *a;
	int rc;

	if (!net->inited)
		return lp_error(ctx, LP_ERR_ARG, "net: call init first");
	lp_provenance prov = { .command = "checkpoint", .script_text = "", .seed = net->seed,
			       .flags = LP_ARCHIVE_NO_LOCK };
	if ((rc = lp_archive_create(ctx, path, &prov, &a)))
		return rc;
	rc = lp_archive_attr_int(a, "/", "step", (int64_t)net->step);
	for (size_t i = 0; i < n && !rc; i++)
		rc = lp_archive_attr_string(a, "/", kv[2 * i], kv[2 * i + 1]);
	for (size_t i = 0; i < net->n && !rc; i++)
		for (uint32_t k = 0; k < net->L[i].nw && !rc; k++)
			if (!(rc = save_tensor(net, a, "weights", &net->L[i], k, net->L[i].wt[k])))
				rc = save_tensor(net, a, "momentum", &net->L[i], k, net->L[i].mt[k]);
	if (rc) {
		lp_archive_discard(a);
		return rc;
	}
	return lp_archive_close(a);
}

/* Weights that are not finite never train: refuse them here, naming the file, instead of
 * letting the first step blame the learning rate. */
static int check_finite(lp_net *net, lp_archive *a, const char *path, const float *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(h[i]))
			return lp_error(net->ctx, LP_ERR_FORMAT, "net: %s in %s holds %s at element "
					"%zu: the file is damaged, or was saved from a run that "
					"diverged", path, lp_archive_path(a),
					isnan(h[i]) ? "NaN" : "an infinity", i);
	return LP_OK;
}

static int load_tensor(lp_net *net, lp_archive *a, const char *group, const netlayer *l,
		       uint32_t k, lp_tensor *t)
{
	char path[256];
	int64_t dims[LP_MAX_RANK];
	int dtype, rank, rc;
	const lp_weight_decl *d = &l->w[k];

	snprintf(path, sizeof path, "/%s/%s/%s", group, l->name, d->name);
	if ((rc = lp_archive_info(a, path, &dtype, &rank, dims)))
		return rc;
	if (rank != d->rank || memcmp(dims, d->dims, (size_t)rank * sizeof(int64_t)) != 0) {
		char have[128] = "", want[128] = "";
		for (int i = 0; i < rank; i++)
			snprintf(have + strlen(have), sizeof have - strlen(have), "%s%lld", i ? "," : "",
				 (long long)dims[i]);
		for (int i = 0; i < d->rank; i++)
			snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", i ? "," : "",
				 (long long)d->dims[i]);
		return lp_error(net->ctx, LP_ERR_SHAPE, "net: %s in %s has shape [%s]; the net "
				"needs [%s]", path, lp_archive_path(a), have, want);
	}
	size_t bytes = lp_tensor_bytes(t);
	float *h = malloc(bytes ? bytes : 1);
	if (!h)
		return lp_error(net->ctx, LP_ERR_NOMEM, "net: out of memory");
	if (!(rc = lp_archive_read(a, path, LP_F32, h, bytes)))
		rc = check_finite(net, a, path, h, bytes / sizeof(float));
	if (!rc)
		rc = lp_tensor_write(net->ctx, t, h, bytes);
	free(h);
	return rc;
}

int lp_net_load(lp_net *net, const char *path, int with_momentum)
{
	return lp_net_load_except(net, path, with_momentum, NULL, 0);
}

int lp_net_load_except(lp_net *net, const char *path, int with_momentum,
		       const char *const *skip, size_t nskip)
{
	lp_archive *a;
	char *step = NULL;
	int rc;

	if (!net->inited && (rc = lp_net_init(net)))
		return rc;
	for (size_t j = 0; j < nskip; j++) {
		size_t i = 0;
		while (i < net->n && strcmp(net->L[i].name, skip[j]) != 0)
			i++;
		if (i == net->n)
			return lp_error(net->ctx, LP_ERR_NOTFOUND, "net: load %s: no layer '%s' to "
					"skip", path, skip[j]);
	}
	if ((rc = lp_archive_open(net->ctx, path, 0, &a)))
		return rc;
	for (size_t i = 0; i < net->n && !rc; i++) {
		int skipped = 0;
		for (size_t j = 0; j < nskip; j++)
			skipped |= strcmp(net->L[i].name, skip[j]) == 0;
		if (skipped) /* keeps its initial weights */
			continue;
		for (uint32_t k = 0; k < net->L[i].nw && !rc; k++) {
			rc = load_tensor(net, a, "weights", &net->L[i], k, net->L[i].wt[k]);
			if (!rc && with_momentum)
				rc = load_tensor(net, a, "momentum", &net->L[i], k, net->L[i].mt[k]);
		}
	}
	if (!rc && with_momentum && lp_archive_attr_get(a, "/", "step", &step) == LP_OK)
		net->step = strtoull(step, NULL, 10);
	free(step);
	int crc = lp_archive_close(a);
	return rc ? rc : crc;
}

int lp_net_activation(lp_net *net, const char *name, int kind, const lp_tensor **out)
{
	*out = NULL;
	for (size_t i = 0; i < net->n; i++)
		if (strcmp(net->L[i].name, name) == 0) {
			*out = kind ? net->L[i].dact : net->L[i].act;
			if (!*out)
				return lp_error(net->ctx, LP_ERR_ARG, "net: no batch has run yet");
			return LP_OK;
		}
	return lp_error(net->ctx, LP_ERR_NOTFOUND, "net: no layer '%s'", name);
}
