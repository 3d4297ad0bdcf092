#version 450
// lrn backward: with s_c = k + alpha/size * sum_{j in W(c)} x_j^2 and y_c = x_c s_c^-beta,
//   dx_c = dy_c s_c^-beta
//          - (2 alpha beta / size) x_c sum_{c' : c in W(c')} dy_c' x_c' s_c'^(-beta-1)
// where c in W(c') <=> c - (size-1)/2 <= c' <= c + size/2.
//
// One invocation per pixel of an image (see norm.glsl). A lead channel j runs size/2 ahead of
// the output channel c = j - size/2; t[] and q[] hold, for the channels [c - (size-1)/2, j],
// t = dy x s^(-beta-1) (zero outside [0, C)) and q = s^beta, so each s and power is computed
// once, and t is summed in channel order as the CPU twin sums it.
#include "loupe.glsl"
#include "lrn/norm.glsl"

layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) writeonly buffer DX { float dx[]; };

float t[WIN], q[WIN];

void main()
{
	float coef = 2.0 * pc.alpha * pc.beta / float(pc.size);
	int ahead = int(WIN / 2u), behind = int((WIN - 1u) / 2u);

	LP_FOR_EACH(r, pc.n * pc.hw) {
		uint at = r / pc.hw * pc.c * pc.hw + r % pc.hw;
		uint col = pc.base[0] + at, grad = pc.base[1] + at, out_col = pc.base[2] + at;

		for (uint i = 0u; i < WIN; i++) {
			t[i] = 0.0;
			q[i] = 1.0;
		}
		sq_init(col);
		for (int j = 0; j < int(pc.c) + ahead; j++) {
			for (uint i = 0u; i + 1u < WIN; i++) {
				t[i] = t[i + 1u];
				q[i] = q[i + 1u];
			}
			t[WIN - 1u] = 0.0;
			q[WIN - 1u] = 1.0;
			if (j < int(pc.c)) {
				uint e = uint(j) * pc.hw;
				float s = sq_norm(), p = pow(s, pc.beta);
				t[WIN - 1u] = dy[grad + e] * x[col + e] / (p * s);
				q[WIN - 1u] = p;
			}
			int ch = j - ahead;
			if (ch >= 0) {
				uint e = uint(ch) * pc.hw;
				float acc = 0.0;
				for (uint i = 0u; i < WIN; i++)
					acc += t[i];
				dx[out_col + e] =
					dy[grad + e] / q[behind] - coef * x[col + e] * acc;
			}
			sq_advance(col, j);
		}
	}
}
