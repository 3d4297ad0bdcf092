#version 450
// lrn forward (nn.LocalResponseNorm): y_c = x_c / s_c^beta. One invocation per pixel of an
// image, channels in order (see norm.glsl).
#include "loupe.glsl"
#include "lrn/norm.glsl"

layout(std430, binding = 1) writeonly buffer Y { float y[]; };

void main()
{
	LP_FOR_EACH(r, pc.n * pc.hw) {
		uint at = r / pc.hw * pc.c * pc.hw + r % pc.hw;
		uint col = pc.base[0] + at, out_col = pc.base[1] + at;

		sq_init(col);
		for (int ch = 0; ch < int(pc.c); ch++) {
			uint e = uint(ch) * pc.hw;
			y[out_col + e] = x[col + e] / pow(sq_norm(), pc.beta);
			sq_advance(col, ch);
		}
	}
}
