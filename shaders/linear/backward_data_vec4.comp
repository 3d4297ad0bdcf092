#version 450
// linear backward, data gradient, as backward_data.comp, for f % 4 == 0: w and dx are read and
// written four features at a time (TB, a multiple of 4, counts features), each component its
// own sum in the same order (12.6 against 5.7 GFLOP/s per thread on lavapipe).
#include "linear/linear.glsl"

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer W { vec4 w[]; };
layout(std430, binding = 2) buffer DX { vec4 dx[]; };

const uint TB4 = TB / 4;

void main()
{
	uint n0, k0;
	if (!linear_tile(pc.n, pc.f, n0, k0))
		return;
	uint f4 = pc.f / 4, q0 = k0 / 4;
	precise vec4 acc[TA * TB4];
	uint ni[TA], qi[TB4];
	for (uint i = 0; i < TA; i++)
		ni[i] = min(n0 + i, pc.n - 1);
	for (uint j = 0; j < TB4; j++)
		qi[j] = min(q0 + j, f4 - 1);
	for (uint i = 0; i < TA; i++)
		for (uint j = 0; j < TB4; j++)
			acc[i * TB4 + j] = pc.accumulate != 0 ? dx[ni[i] * f4 + qi[j]] : vec4(0.0);
	for (uint i = 0; i < TA; i++)
		ni[i] = ni[i] * pc.nout + pc.o0;
	for (uint r = pc.k0, end = pc.k0 + pc.klen; r < end; r++) {
		float dv[TA];
		vec4 wv[TB4];
		for (uint i = 0; i < TA; i++)
			dv[i] = dy[ni[i] + r];
		for (uint j = 0; j < TB4; j++)
			wv[j] = w[r * f4 + qi[j]];
		for (uint i = 0; i < TA; i++)
			for (uint j = 0; j < TB4; j++)
				acc[i * TB4 + j] += dv[i] * wv[j];
	}
	for (uint i = 0; i < TA; i++)
		for (uint j = 0; j < TB4; j++)
			if (n0 + i < pc.n && q0 + j < f4)
				dx[(n0 + i) * f4 + q0 + j] = acc[i * TB4 + j];
}
