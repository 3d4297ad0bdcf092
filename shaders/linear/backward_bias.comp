#version 450
// linear backward, bias gradient, over one range of the batch: db[o] (+)= sum_n dy[n, o],
// one output per invocation (tile sizes unused).
#include "linear/linear.glsl"

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) buffer DB { float db[]; };

void main()
{
	uint o = gl_WorkGroupID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x +
		 gl_GlobalInvocationID.x;
	if (o >= pc.nout)
		return;
	precise float acc = pc.accumulate != 0 ? db[o] : 0.0;
	for (uint n = pc.k0, end = pc.k0 + pc.klen; n < end; n++)
		acc += dy[n * pc.nout + o];
	db[o] = acc;
}
