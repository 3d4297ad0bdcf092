#version 450
// relu backward: dx = dy where x > 0, slope * dy elsewhere (the subgradient at 0 is slope).
#include "loupe.glsl"

layout(push_constant) uniform Push { uint n; float slope; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) writeonly buffer DX { float dx[]; };

void main()
{
	LP_FOR_EACH(i, pc.n) {
		dx[i] = x[i] > 0.0 ? dy[i] : pc.slope * dy[i];
	}
}
