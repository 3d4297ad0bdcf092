#version 450
// maxpool backward without a stored argmax, one invocation per input row: it alone writes that
// row of dx. It zeroes the row, then visits the windows that overlap the row, window rows
// ascending and windows left to right, recomputes each one's argmax from x, and where the
// argmax lies in its row adds the window's dy there: the order in which the CPU twin's scatter
// (dx[argmax] += dy, windows in row-major order) adds them, so the sums are the same.
#include "loupe.glsl"
#include "maxpool/window.glsl"

layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) buffer DX { float dx[]; };

void main()
{
	LP_FOR_EACH(r, pc.n * pc.c * pc.h) {
		uint row = r % pc.h, plane = r / pc.h;
		uint src = pc.base[0] + plane * pc.h * pc.w;
		uint grad = pc.base[1] + plane * pc.oh * pc.ow;
		uint out_row = pc.base[2] + r * pc.w;
		// window rows o with o * s <= row < o * s + k, clipped to the output
		uint o0 = row + 1u > pc.k ? (row + 1u - pc.k + pc.s - 1u) / pc.s : 0u;
		uint o1 = min(row / pc.s, pc.oh - 1u);

		for (uint j = 0u; j < pc.w; j++)
			dx[out_row + j] = 0.0;
		for (uint oy = o0; oy <= o1; oy++)
			for (uint ox = 0u; ox < pc.ow; ox++) {
				uint ai, aj;
				window_max(src, oy, ox, ai, aj);
				if (oy * pc.s + ai == row)
					dx[out_row + ox * pc.s + aj] += dy[grad + oy * pc.ow + ox];
			}
	}
}
