#version 450
// A test kernel for the runtime: y = MUL * x + add, with MUL a specialization constant
// (id 1) and add a push constant, so tests can tell both mechanisms work.
#include "loupe.glsl"

layout(constant_id = 1) const float MUL = 1.0;
layout(push_constant) uniform Push { uint n; float add; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };

void main()
{
	LP_FOR_EACH(i, pc.n) {
		y[i] = MUL * x[i] + pc.add;
	}
}
