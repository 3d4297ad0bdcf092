#version 450
// linear backward, data gradient, over one range of W and one range of the batch:
//   dx[n, k] (+)= sum_r dy[n, o0 + r] w[r, k]
// The first terms write, later dispatches (the rest of this range of W, then the next ranges)
// continue the sum, so dx is the sum over all output features in order, whatever the cut.
#include "linear/linear.glsl"

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) buffer DX { float dx[]; };

void main()
{
	uint n0, k0;
	if (!linear_tile(pc.n, pc.f, n0, k0))
		return;
	precise float acc[TA * TB];
	uint ni[TA], ki[TB];
	for (uint i = 0; i < TA; i++)
		ni[i] = min(n0 + i, pc.n - 1);
	for (uint j = 0; j < TB; j++)
		ki[j] = min(k0 + j, pc.f - 1);
	for (uint i = 0; i < TA; i++)
		for (uint j = 0; j < TB; j++)
			acc[i * TB + j] = pc.accumulate != 0 ? dx[ni[i] * pc.f + ki[j]] : 0.0;
	for (uint i = 0; i < TA; i++)
		ni[i] = ni[i] * pc.nout + pc.o0;
	for (uint r = pc.k0, end = pc.k0 + pc.klen; r < end; r++) {
		float dv[TA], wv[TB];
		for (uint i = 0; i < TA; i++)
			dv[i] = dy[ni[i] + r];
		for (uint j = 0; j < TB; j++)
			wv[j] = w[r * pc.f + ki[j]];
		for (uint i = 0; i < TA; i++)
			for (uint j = 0; j < TB; j++)
				acc[i * TB + j] += dv[i] * wv[j];
	}
	for (uint i = 0; i < TA; i++)
		for (uint j = 0; j < TB; j++)
			if (n0 + i < pc.n && k0 + j < pc.f)
				dx[(n0 + i) * pc.f + k0 + j] = acc[i * TB + j];
}
