#version 450
// conv2d: the weights of the data gradient of a stride-1 convolution as a forward one,
// wt[g*cg + c, o, u, v] = w[g*kg + o, c, ks-1-u, ks-1-v] (in and out channels swapped within
// each group, taps rotated by 180 degrees), so forward.comp computes dx from dy. One invocation
// per (c, o) pair moves its KS*KS taps: integer division is slow on lavapipe, so it is done
// once per pair, not per element.
#extension GL_EXT_control_flow_attributes : require
#include "loupe.glsl"
#include "conv2d.glsl"

layout(constant_id = 1) const uint KS = 3; // kernel size (= pc.ks)

layout(std430, binding = 0) readonly buffer W { float w[]; };
layout(std430, binding = 1) writeonly buffer WT { float wt[]; };

void main()
{
	const uint kk = KS * KS;
	LP_FOR_EACH(i, pc.c * pc.kg) {
		const uint o = i % pc.kg, gc = i / pc.kg, g = gc / pc.cg, c = gc % pc.cg;
		const uint src = ((g * pc.kg + o) * pc.cg + c) * kk, dst = i * kk;
		[[unroll]] for (uint t = 0; t < kk; t++)
			wt[dst + t] = w[src + kk - 1 - t];
	}
}
