#version 450
// softmax_xent backward: dx_{n,c} = dy_n (softmax(x_n)_c - [c == label_n]), the softmax
// recomputed from x. One invocation per row. A label outside [0, C) gives a zero gradient row.
#include "loupe.glsl"
#include "softmax_xent/rows.glsl"

layout(std430, binding = 2) readonly buffer DY { float dy[]; };
layout(std430, binding = 3) writeonly buffer DX { float dx[]; };

void main()
{
	LP_FOR_EACH(r, pc.n) {
		uint row = pc.base[0] + r * pc.c, out_row = pc.base[3] + r * pc.c;
		int l = labels[pc.base[1] + r];
		float g = dy[pc.base[2] + r], m, sum;

		if (l < 0 || l >= int(pc.c)) {
			for (uint j = 0u; j < pc.c; j++)
				dx[out_row + j] = 0.0;
			continue;
		}
		row_stats(row, m, sum);
		for (uint j = 0u; j < pc.c; j++)
			dx[out_row + j] =
				g * (exp(x[row + j] - m) / sum - (j == uint(l) ? 1.0 : 0.0));
	}
}
