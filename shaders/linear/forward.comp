#version 450
// linear forward over one range of W and one range of the batch:
//   y[n, o0 + r] = sum_k x[n, k] w[r, k]  (+ b[o0 + r])
// Each invocation computes a TA x TB tile (batch rows x outputs), reusing every loaded value
// TB or TA times.
#include "linear/linear.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };
layout(std430, binding = 3) buffer Y { float y[]; };

void main()
{
	uint n0, r0;
	if (!linear_tile(pc.n, pc.rows, n0, r0))
		return;
	precise float acc[TA * TB];
	uint xi[TA], wi[TB];
	for (uint i = 0; i < TA; i++)
		xi[i] = min(n0 + i, pc.n - 1);
	for (uint j = 0; j < TB; j++)
		wi[j] = min(r0 + j, pc.rows - 1);
	for (uint i = 0; i < TA; i++)
		for (uint j = 0; j < TB; j++)
			acc[i * TB + j] = pc.accumulate != 0
				? y[xi[i] * pc.nout + pc.o0 + wi[j]] : 0.0;
	for (uint i = 0; i < TA; i++)
		xi[i] *= pc.f;
	for (uint j = 0; j < TB; j++)
		wi[j] *= pc.f;
	for (uint k = pc.k0, end = pc.k0 + pc.klen; k < end; k++) {
		float xv[TA], wv[TB];
		for (uint i = 0; i < TA; i++)
			xv[i] = x[xi[i] + k];
		for (uint j = 0; j < TB; j++)
			wv[j] = w[wi[j] + k];
		for (uint i = 0; i < TA; i++)
			for (uint j = 0; j < TB; j++)
				acc[i * TB + j] += xv[i] * wv[j];
	}
	for (uint i = 0; i < TA; i++)
		for (uint j = 0; j < TB; j++) {
			uint o = pc.o0 + r0 + j;
			if (n0 + i >= pc.n || r0 + j >= pc.rows)
				continue;
			precise float v = acc[i * TB + j];
			if (pc.bias != 0)
				v += b[o];
			y[(n0 + i) * pc.nout + o] = v;
		}
}
