#version 450
// relu forward: y = x > 0 ? x : slope * x (slope 0 is the plain ReLU).
#include "loupe.glsl"

layout(push_constant) uniform Push { uint n; float slope; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };

void main()
{
	LP_FOR_EACH(i, pc.n) {
		float v = x[i];
		y[i] = v > 0.0 ? v : pc.slope * v;
	}
}
