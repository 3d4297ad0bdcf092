#version 450
// dropout, forward (in = x, out = y) and backward (in = dy, out = dx) alike, over one range:
//   out[i] = in[i] * (keep(i) ? scale : 0),   scale = 1 / (1 - p)
// keep(i) = first word of Philox4x32-10(counter = (i lo, i hi, step lo, step hi),
// key = (seed lo, seed hi)) >= thr, thr = ceil(p * 2^32): u = word / 2^32 >= p. The mask is
// recomputed, never stored; i is the element's index in the whole tensor, so a split into
// ranges (base = the range's first element) draws the same mask. train = 0: out = in.
#include "loupe.glsl"
#include "dropout/philox.glsl"

layout(push_constant) uniform Push {
	uint n;
	uint base_lo, base_hi;
	uint seed_lo, seed_hi;
	uint step_lo, step_hi;
	uint thr;
	float scale;
	uint train;
} pc;
layout(std430, binding = 0) readonly buffer IN { float src[]; };
layout(std430, binding = 1) writeonly buffer OUT { float dst[]; };

void main()
{
	LP_FOR_EACH(i, pc.n) {
		if (pc.train == 0) {
			dst[i] = src[i];
			continue;
		}
		uint lo = pc.base_lo + i, hi = pc.base_hi + (lo < pc.base_lo ? 1u : 0u);
		uvec4 r = philox4x32_10(uvec4(lo, hi, pc.step_lo, pc.step_hi),
					uvec2(pc.seed_lo, pc.seed_hi));
		dst[i] = src[i] * (r.x >= pc.thr ? pc.scale : 0.0);
	}
}
