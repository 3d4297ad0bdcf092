#version 450
// conv2d data gradient: dx[n,c,r,s] = sum over the output positions (i,j) and taps (u,v) with
// i*stride - pad + u = r, j*stride - pad + v = s, and the output channels o of c's group, of
// dy[n,o,i,j] w[o,c,u,v]. A gather: one invocation owns TC input channels of one input pixel
// and sums in a fixed order (no atomics, one writer per element), reusing each loaded dy
// value across its TC channels. Sums run over output channels [r0, r0 + rn) of the group;
// later ranges add to dx (CONV_ACCUMULATE). Used for strides other than 1 and for padding
// >= kernel; a stride-1 data gradient runs as forward.comp on flipped weights (flip.comp).
#include "loupe.glsl"
#include "conv2d.glsl"

layout(constant_id = 1) const uint TC = 4; // input channels per invocation

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) buffer DX { float dx[]; };

void main()
{
	const uint g = gl_WorkGroupID.y / pc.cblocks;
	const uint c0 = (gl_WorkGroupID.y % pc.cblocks) * TC; // within the group
	const uint kk = pc.ks * pc.ks, ohw = pc.oh * pc.ow, hw = pc.h * pc.w;

	uint wcol[TC];
	for (uint t = 0; t < TC; t++)
		wcol[t] = min(c0 + t, pc.cg - 1) * kk;

	LP_FOR_EACH(i, pc.n * hw) {
		const uint n = i / hw, r = (i % hw) / pc.w, s = i % pc.w;
		const uint ar = r + pc.pad, as = s + pc.pad;
		float acc[TC];
		for (uint t = 0; t < TC; t++)
			acc[t] = 0.0;
		for (uint o = pc.r0; o < pc.r0 + pc.rn; o++) {
			const uint co = g * pc.kg + o;
			const uint dyc = pc.y_off + (n * pc.k + co) * ohw;
			const uint wo = co * pc.cg * kk;
			// taps u with (ar - u) % stride == 0 and 0 <= (ar - u) / stride < oh
			for (uint u = ar % pc.stride; u < pc.ks && u <= ar; u += pc.stride) {
				const uint oy = (ar - u) / pc.stride;
				if (oy >= pc.oh)
					continue;
				for (uint v = as % pc.stride; v < pc.ks && v <= as; v += pc.stride) {
					const uint ox = (as - v) / pc.stride;
					if (ox >= pc.ow)
						continue;
					const float d = dy[dyc + oy * pc.ow + ox];
					const uint wt = wo + u * pc.ks + v;
					for (uint t = 0; t < TC; t++)
						acc[t] += d * w[wt + wcol[t]];
				}
			}
		}
		const uint xo = pc.x_off + (n * pc.c + g * pc.cg + c0) * hw + i % hw;
		const bool add = (pc.flags & CONV_ACCUMULATE) != 0;
		for (uint t = 0; t < TC; t++)
			if (c0 + t < pc.cg)
				dx[xo + t * hw] = (add ? dx[xo + t * hw] : 0.0) + acc[t];
	}
}
