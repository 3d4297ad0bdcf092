#version 450
// conv2d gradient reduction: out[i] = sum over slices s = 0, 1, ... in order of
// part[base + s * stride + i] — the ordered pass that makes the sliced weight and bias
// gradients deterministic. Push constants mirrored by `reduce_push` in conv2d.c.
#include "loupe.glsl"

layout(push_constant) uniform Push {
	uint len, slices, stride, base;
} pc;

layout(std430, binding = 0) readonly buffer P { float part[]; };
layout(std430, binding = 1) writeonly buffer O { float outv[]; };

void main()
{
	LP_FOR_EACH(i, pc.len) {
		float acc = 0.0;
		for (uint s = 0; s < pc.slices; s++)
			acc += part[pc.base + s * pc.stride + i];
		outv[i] = acc;
	}
}
