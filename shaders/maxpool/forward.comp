#version 450
// maxpool forward (nn.MaxPool2d, no padding, floor mode): y = the maximum of each k x k window,
// windows s apart. One invocation per output row.
#include "loupe.glsl"
#include "maxpool/window.glsl"

layout(std430, binding = 1) writeonly buffer Y { float y[]; };

void main()
{
	LP_FOR_EACH(r, pc.n * pc.c * pc.oh) {
		uint oy = r % pc.oh, plane = r / pc.oh;
		uint src = pc.base[0] + plane * pc.h * pc.w, out_row = pc.base[1] + r * pc.ow;

		for (uint ox = 0u; ox < pc.ow; ox++) {
			uint ai, aj;
			y[out_row + ox] = window_max(src, oy, ox, ai, aj);
		}
	}
}
