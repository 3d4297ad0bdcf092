/* predict.c — a net over a loader's batches, predictions gathered on the host. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "loupe/predict.h"

void lp_predictions_free(lp_predictions *p)
{
	if (!p)
		return;
	free(p->probs);
	free(p->loss);
	free(p->labels);
	free(p->items);
	free(p->top5);
	free(p->features);
	memset(p, 0, sizeof(*p));
}

static int grow(lp_ctx *ctx, lp_predictions *p, int64_t n)
{
	void *a = realloc(p->probs, sizeof(float) * (size_t)(n * p->classes));
	if (a)
		p->probs = a;
	void *b = realloc(p->loss, sizeof(float) * (size_t)n);
	if (b)
		p->loss = b;
	void *c = realloc(p->labels, sizeof(int32_t) * (size_t)n);
	if (c)
		p->labels = c;
	void *d = realloc(p->items, sizeof(int64_t) * (size_t)n);
	if (d)
		p->items = d;
	void *e = realloc(p->top5, sizeof(int32_t) * (size_t)(n * LP_TOPK));
	if (e)
		p->top5 = e;
	void *f = p->dim ? realloc(p->features, sizeof(float) * (size_t)(n * p->dim)) : NULL;
	if (f)
		p->features = f;
	if (!a || !b || !c || !d || !e || (p->dim && !f))
		return lp_error(ctx, LP_ERR_NOMEM, "predict: out of memory for %" PRId64 " items", n);
	return LP_OK;
}

int lp_predict(lp_net *net, lp_loader *ld, const char *feature_layer, lp_predictions *out)
{
	lp_ctx *ctx = lp_dataset_ctx(lp_split_dataset(lp_loader_split(ld)));
	lp_tensor *x = NULL, *y = NULL;
	lp_batch b;
	int64_t cap = lp_loader_items(ld);
	int rc = LP_OK;

	memset(out, 0, sizeof(*out));
	/* the net's input must be what the loader makes */
	lp_net_layer_info first, last;
	if ((rc = lp_net_layer(net, 0, &first)) ||
	    (rc = lp_net_layer(net, lp_net_count(net) - 1, &last)))
		return rc;
	out->classes = (int)last.out_dims[0];
	for (;;) {
		if ((rc = lp_loader_next(ld, &b)))
			break;
		if (!b.n)
			break;
		int64_t xd[4] = { b.n, b.channels, b.height, b.width };
		if (!x || lp_tensor_dims(x)[0] != b.n) {
			lp_tensor_free(x);
			lp_tensor_free(y);
			x = y = NULL;
			if ((rc = lp_tensor_new(ctx, LP_F32, 4, xd, &x)) ||
			    (rc = lp_tensor_new(ctx, LP_I32, 1, xd, &y)))
				break;
		}
		const lp_tensor *probs, *loss, *feat = NULL;
		if ((rc = lp_tensor_write(ctx, x, b.x, sizeof(float) * (size_t)(b.n * b.channels *
										  b.height * b.width))) ||
		    (rc = lp_tensor_write(ctx, y, b.labels, sizeof(int32_t) * (size_t)b.n)))
			break;
		if ((rc = lp_net_predict(net, x, y, NULL, &probs, &loss))) {
			lp_error_wrap(ctx, rc, "predict: items of %dx%dx%d", b.channels, b.height,
				      b.width);
			break;
		}
		if (feature_layer && (rc = lp_net_activation(net, feature_layer, 0, &feat)))
			break;
		if (out->n == 0 && feat) {
			out->dim = lp_tensor_numel(feat) / b.n;
		}
		if ((rc = grow(ctx, out, out->n + b.n > cap ? out->n + b.n : cap)))
			break;
		int64_t o = out->n;
		if ((rc = lp_tensor_read(ctx, probs, out->probs + o * out->classes,
					 sizeof(float) * (size_t)(b.n * out->classes))) ||
		    (rc = lp_tensor_read(ctx, loss, out->loss + o, sizeof(float) * (size_t)b.n)) ||
		    (feat && (rc = lp_tensor_read(ctx, feat, out->features + o * out->dim,
						  sizeof(float) * (size_t)(b.n * out->dim)))))
			break;
		memcpy(out->labels + o, b.labels, sizeof(int32_t) * (size_t)b.n);
		memcpy(out->items + o, b.index, sizeof(int64_t) * (size_t)b.n);
		out->n += b.n;
	}
	lp_tensor_free(x);
	lp_tensor_free(y);
	if (rc) {
		lp_predictions_free(out);
		return rc;
	}
	/* top-5 by falling probability (ties: the lower class first), the summary figures */
	double lsum = 0;
	int64_t hit1 = 0, hit5 = 0;
	for (int64_t i = 0; i < out->n; i++) {
		const float *p = out->probs + i * out->classes;
		int32_t *t = out->top5 + i * LP_TOPK;
		for (int k = 0; k < LP_TOPK; k++) {
			int best = -1;
			for (int c = 0; c < out->classes; c++) {
				int used = 0;
				for (int j = 0; j < k; j++)
					used |= t[j] == c;
				if (!used && (best < 0 || p[c] > p[best]))
					best = c;
			}
			t[k] = best;
			if (best == out->labels[i]) {
				hit5++;
				hit1 += k == 0;
			}
		}
		lsum += out->loss[i];
	}
	if (out->n) {
		out->mean_loss = lsum / (double)out->n;
		out->top1 = (double)hit1 / (double)out->n;
		out->top5_acc = (double)hit5 / (double)out->n;
	}
	return LP_OK;
}

int lp_predictions_write(const lp_predictions *p, lp_archive *a, const char *group)
{
	char path[512];
	int rc;
	int64_t n = p->n;
	struct {
		const char *name;
		int dtype, rank;
		int64_t d1;
		const char *ax1;
		const void *data;
	} t[] = {
		{ "probs", LP_F32, 2, p->classes, "class", p->probs },
		{ "top5", LP_I32, 2, LP_TOPK, "rank", p->top5 },
		{ "loss", LP_F32, 1, 0, NULL, p->loss },
		{ "labels", LP_I32, 1, 0, NULL, p->labels },
		{ "items", LP_I64, 1, 0, NULL, p->items },
		{ "features", LP_F32, 2, p->dim, "feature", p->features },
	};

	if ((rc = lp_archive_group(a, group)))
		return rc;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		if (!t[i].data || !n)
			continue;
		int64_t dims[2] = { n, t[i].d1 };
		const char *axes[2] = { "item", t[i].ax1 };
		snprintf(path, sizeof path, "%s/%s", group, t[i].name);
		if ((rc = lp_archive_write(a, path, t[i].dtype, t[i].rank, dims, axes, t[i].data)))
			return rc;
	}
	if ((rc = lp_archive_attr_number(a, group, "loss", p->mean_loss)) ||
	    (rc = lp_archive_attr_number(a, group, "top1", p->top1)) ||
	    (rc = lp_archive_attr_number(a, group, "top5", p->top5_acc)) ||
	    (rc = lp_archive_attr_int(a, group, "count", n)))
		return rc;
	return lp_archive_commit(a);
}
