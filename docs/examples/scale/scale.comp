#version 450
// scale: y = factor * x
#include "loupe.glsl"

layout(push_constant) uniform Push { uint n; float factor; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };

void main()
{
	LP_FOR_EACH(i, pc.n) {
		y[i] = pc.factor * x[i];
	}
}
