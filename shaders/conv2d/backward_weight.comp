#version 450
// conv2d weight gradient, one slice of the batch: the sum over the slice's images n and output
// rows i (and all columns j) of dy[n,o,i,j] x[n, g*cg + c, i*stride - pad + u, j*stride - pad + v].
//
// One invocation owns TK output channels x the KS taps v of one (c,u). It walks the row in
// blocks of TJ output columns: loads the SPAN input values under them once, and the TJ dy
// values of its TK channels LANES at a time, one per lane (lane l holds channel l, l + LANES,
// ...), handed round with subgroupShuffle (all lanes run the same iterations; see
// forward.comp). Sums run in a fixed order; slice z of the dispatch writes at
// p_off + z * p_stride (straight into dw when there is one slice, else into partials that
// reduce.comp adds up in slice order): deterministic, no atomics.
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_KHR_shader_subgroup_vote : require
#extension GL_EXT_control_flow_attributes : require
#include "loupe.glsl"
#include "conv2d.glsl"

layout(constant_id = 1) const uint TK = 8; // output channels per invocation (a multiple of LANES)
layout(constant_id = 2) const uint TJ = 7; // output columns per step
layout(constant_id = 3) const uint KS = 3; // kernel size (= pc.ks)
layout(constant_id = 4) const uint S = 1;  // stride (= pc.stride)
const uint SPAN = (TJ - 1u) * S + KS;
const uint LANES = 8u;                     // lanes that share out dy values

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) writeonly buffer DW { float dw[]; };

void main()
{
	const uint g = gl_WorkGroupID.y / pc.cblocks;
	const uint co0 = g * pc.kg + (gl_WorkGroupID.y % pc.cblocks) * TK;
	const uint colast = g * pc.kg + pc.kg - 1;
	const uint kk = KS * KS, ohw = pc.oh * pc.ow, hw = pc.h * pc.w, total = pc.cg * KS;
	const uint slice = pc.s0 + gl_WorkGroupID.z;
	const uint n0 = slice / pc.bands * pc.ips, n1 = min(n0 + pc.ips, pc.n);
	const uint oy0 = slice % pc.bands * pc.band_rows, oy1 = min(oy0 + pc.band_rows, pc.oh);
	const bool shuffle = gl_SubgroupSize >= LANES;
	// the dy rows this lane loads for the shuffle: channels co0 + h * LANES + lane % LANES
	uint dylane[TK / LANES];
	[[unroll]] for (uint h = 0; h < TK / LANES; h++)
		dylane[h] = pc.y_off +
			    min(co0 + h * LANES + gl_SubgroupInvocationID % LANES, colast) * ohw;

	// the loop condition is uniform over the subgroup; subgroups wholly past the end stop
	for (uint at = gl_WorkGroupID.x * gl_WorkGroupSize.x;
	     subgroupAny(at + gl_LocalInvocationID.x < total);
	     at += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
		const uint i = at + gl_LocalInvocationID.x, ic = min(i, total - 1);
		const uint c = ic / KS, u = ic % KS;
		float acc[TK * KS];
		[[unroll]] for (uint j = 0; j < TK * KS; j++)
			acc[j] = 0.0;
		for (uint n = n0; n < n1; n++) {
			float img[TK * KS]; // per image first: shorter running sums
			[[unroll]] for (uint j = 0; j < TK * KS; j++)
				img[j] = 0.0;
			const uint xc = pc.x_off + (n * pc.c + g * pc.cg + c) * hw;
			const uint dyn = n * pc.k * ohw;
			for (uint oy = oy0; oy < oy1; oy++) {
				const int iy = int(oy * S + u) - int(pc.pad);
				const bool rowok = iy >= 0 && iy < int(pc.h);
				const uint xrow = xc + uint(clamp(iy, 0, int(pc.h) - 1)) * pc.w;
				const uint dyr = dyn + oy * pc.ow;
				for (uint j0 = 0; j0 < pc.ow; j0 += TJ) {
					const int ix0 = int(j0 * S) - int(pc.pad);
					float xv[SPAN];
					[[unroll]] for (uint s = 0; s < SPAN; s++) {
						const int ix = ix0 + int(s);
						const float v = x[xrow + uint(clamp(ix, 0, int(pc.w) - 1))];
						xv[s] = rowok && ix >= 0 && ix < int(pc.w) ? v : 0.0;
					}
					[[unroll]] for (uint jj = 0; jj < TJ; jj++) {
						const uint j = min(j0 + jj, pc.ow - 1);
						const bool colok = j0 + jj < pc.ow;
						float dl[TK / LANES];
						[[unroll]] for (uint h = 0; h < TK / LANES; h++)
							dl[h] = dy[dylane[h] + dyr + j];
						[[unroll]] for (uint q = 0; q < TK; q++) {
							float d;
							if (shuffle)
								d = subgroupShuffle(dl[q / LANES], q % LANES);
							else
								d = dy[pc.y_off + min(co0 + q, colast) * ohw + dyr + j];
							d = colok ? d : 0.0;
							[[unroll]] for (uint v = 0; v < KS; v++)
								img[q * KS + v] += d * xv[jj * S + v];
						}
					}
				}
			}
			[[unroll]] for (uint j = 0; j < TK * KS; j++)
				acc[j] += img[j];
		}
		if (i >= total)
			continue;
		const uint base = pc.p_off + gl_WorkGroupID.z * pc.p_stride + c * kk + u * KS;
		[[unroll]] for (uint q = 0; q < TK; q++) {
			const uint co = co0 + q;
			if (co > colast)
				break;
			[[unroll]] for (uint v = 0; v < KS; v++)
				dw[base + co * pc.cg * kk + v] = acc[q * KS + v];
		}
	}
}
