/* layer.c — instances of layer plugins: state, parameters, and calls through the vtable. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "loupe/plugins.h"

struct lp_layer {
	lp_ctx *ctx;
	const lp_plugin *plugin;
	const lp_layer_vtable *vt;
	lp_params *params;
	void *state;
	int inited;
};

/* A slot the plugin's (possibly older, shorter) vtable does not have reads as NULL. */
#define SLOT(vt, f) ((vt)->size >= offsetof(lp_layer_vtable, f) + sizeof((vt)->f) ? (vt)->f : NULL)

void lp_layer_free(lp_layer *l)
{
	if (!l)
		return;
	if (l->inited && SLOT(l->vt, destroy))
		l->vt->destroy(l->ctx, l->state);
	lp_params_free(l->params);
	free(l->state);
	free(l);
}

int lp_layer_new(lp_ctx *ctx, const lp_plugin *p, const lp_kv *kv, size_t n, lp_layer **out)
{
	lp_layer *l = calloc(1, sizeof(*l));
	int rc;

	*out = NULL;
	if (!l || !(l->state = calloc(1, p->state_size ? p->state_size : 1))) {
		free(l);
		return lp_error(ctx, LP_ERR_NOMEM, "%s: out of memory", p->name);
	}
	l->ctx = ctx;
	l->plugin = p;
	l->vt = p->vtable;
	if ((rc = lp_params_new(ctx, p, kv, n, &l->params)))
		goto out_free;
	if ((rc = l->vt->init(ctx, l->state, l->params)) ||
	    (rc = lpi_params_check_reads(ctx, l->params))) {
		lp_error_wrap(ctx, rc, "layer %s: init", p->name);
		goto out_free;
	}
	l->inited = 1;
	if (SLOT(l->vt, build) && (rc = l->vt->build(ctx, l->state))) {
		lp_error_wrap(ctx, rc, "layer %s: build", p->name);
		goto out_free;
	}
	*out = l;
	return LP_OK;
out_free:
	lp_layer_free(l);
	return rc;
}

const lp_plugin *lp_layer_plugin(const lp_layer *l)
{
	return l->plugin;
}

int lp_layer_shape(lp_layer *l, int rank, const int64_t *in, int *out_rank, int64_t *out)
{
	return l->vt->shape(l->ctx, l->state, rank, in, out_rank, out);
}

int lp_layer_forward(lp_layer *l, lp_cmd *cmd, const lp_layer_io *io)
{
	return l->vt->forward(l->ctx, l->state, cmd, io);
}

int lp_layer_backward(lp_layer *l, lp_cmd *cmd, const lp_layer_io *io)
{
	return l->vt->backward(l->ctx, l->state, cmd, io);
}

int lp_layer_weights(lp_layer *l, int rank, const int64_t *in, lp_weight_decl *out, uint32_t *n)
{
	*n = 0;
	if (!SLOT(l->vt, weights))
		return LP_OK;
	/* the plugin writes its own struct size per element (lp_plugin.weight_decl_size): a
	 * buffer of that stride, read back into ours */
	size_t stride = l->plugin->weight_decl_size, keep = stride < sizeof(*out) ? stride
									  : sizeof(*out);
	unsigned char *buf = stride == sizeof(*out) ? (unsigned char *)out
						    : calloc(LP_MAX_WEIGHTS, stride);
	if (!buf)
		return lp_error(l->ctx, LP_ERR_NOMEM, "layer %s: out of memory", l->plugin->name);
	int rc = l->vt->weights(l->ctx, l->state, rank, in, (lp_weight_decl *)(void *)buf, n);
	if (!rc && *n > LP_MAX_WEIGHTS)
		rc = lp_error(l->ctx, LP_ERR_PLUGIN, "layer %s declares %u weights (at most %d)",
			      l->plugin->name, *n, LP_MAX_WEIGHTS);
	if (buf != (unsigned char *)out) {
		memset(out, 0, LP_MAX_WEIGHTS * sizeof(*out));
		for (uint32_t i = 0; !rc && i < *n; i++)
			memcpy(&out[i], buf + i * stride, keep);
		free(buf);
	}
	return rc;
}

int lp_layer_forward_ref(lp_layer *l, const lp_ref_io *io)
{
	if (!SLOT(l->vt, forward_ref))
		return lp_error(l->ctx, LP_ERR_NOTFOUND, "layer %s has no CPU forward reference",
				l->plugin->name);
	return l->vt->forward_ref(l->ctx, l->state, io);
}

int lp_layer_backward_ref(lp_layer *l, const lp_ref_io *io)
{
	if (!SLOT(l->vt, backward_ref))
		return lp_error(l->ctx, LP_ERR_NOTFOUND, "layer %s has no CPU backward reference",
				l->plugin->name);
	return l->vt->backward_ref(l->ctx, l->state, io);
}
