#version 450
// linear backward, weight gradient, over one range of W and one range of the batch:
//   dw[r, k] (+)= sum_n dy[n, o0 + r] x[n, k]
// The first terms write (dW is overwritten, never accumulated across calls), later dispatches
// (the rest of this batch range, then the next ranges) continue the sum in batch order.
#include "linear/linear.glsl"

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer DW { float dw[]; };

void main()
{
	uint r0, k0;
	if (!linear_tile(pc.rows, pc.f, r0, k0))
		return;
	precise float acc[TA * TB];
	uint ri[TA], ki[TB];
	for (uint i = 0; i < TA; i++)
		ri[i] = min(r0 + i, pc.rows - 1);
	for (uint j = 0; j < TB; j++)
		ki[j] = min(k0 + j, pc.f - 1);
	for (uint i = 0; i < TA; i++)
		for (uint j = 0; j < TB; j++)
			acc[i * TB + j] = pc.accumulate != 0 ? dw[ri[i] * pc.f + ki[j]] : 0.0;
	for (uint n = pc.k0, end = pc.k0 + pc.klen; n < end; n++) {
		float dv[TA], xv[TB];
		for (uint i = 0; i < TA; i++)
			dv[i] = dy[n * pc.nout + pc.o0 + ri[i]];
		for (uint j = 0; j < TB; j++)
			xv[j] = x[n * pc.f + ki[j]];
		for (uint i = 0; i < TA; i++)
			for (uint j = 0; j < TB; j++)
				acc[i * TB + j] += dv[i] * xv[j];
	}
	for (uint i = 0; i < TA; i++)
		for (uint j = 0; j < TB; j++)
			if (r0 + i < pc.rows && k0 + j < pc.f)
				dw[(r0 + i) * pc.f + k0 + j] = acc[i * TB + j];
}
