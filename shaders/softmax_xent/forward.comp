#version 450
// softmax_xent forward: loss_n = logsumexp(x_n) - x_n[label_n], as (m - x_n[label]) + log(sum
// exp(x_n - m)) with m the row maximum, so logits of any magnitude stay finite; optionally the
// probabilities softmax(x_n). One invocation per row. A label outside [0, C) gives loss 0.
#include "loupe.glsl"
#include "softmax_xent/rows.glsl"

layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(std430, binding = 3) writeonly buffer P { float p[]; };

void main()
{
	LP_FOR_EACH(r, pc.n) {
		uint row = pc.base[0] + r * pc.c;
		int l = labels[pc.base[1] + r];
		float m, sum;

		row_stats(row, m, sum);
		bool ok = l >= 0 && l < int(pc.c);
		y[pc.base[2] + r] = ok ? (m - x[row + uint(l)]) + log(sum) : 0.0;
		if (pc.probs != 0u)
			for (uint j = 0u; j < pc.c; j++)
				p[pc.base[3] + r * pc.c + j] = exp(x[row + j] - m) / sum;
	}
}
