#version 450
// conv2d forward, cross-correlation as PyTorch's nn.Conv2d:
//   y[n,o,i,j] = b[o] + sum_{c,u,v} w[o,c,u,v] x[n, g*cg + c, i*s - p + u, j*s - p + v];
// with the flipped, transposed weights of flip.comp it is also the data gradient of a
// stride-1 convolution.
//
// One invocation computes a register tile of TK output channels x TP consecutive output columns
// of one row. Per input row it loads the SPAN input values its TP columns need once and reuses
// each for all KS taps and TK channels. The TK weights of a tap are loaded LANES at a time, one
// per lane (lane l holds channel l, l + LANES, ...), and handed round with subgroupShuffle: on
// lavapipe every storage-buffer load is a loop over the lanes, a shuffle by a constant lane is
// one instruction. So all lanes of a subgroup run the same iterations (tiles past the end are
// computed on clamped indices and not stored), and out-of-range inputs are clamped loads
// replaced by zero rather than branches. Subgroups smaller than LANES load every weight.
// Sums run over input channels [r0, r0 + rn) of the group; later ranges add to y
// (CONV_ACCUMULATE). Measured on lavapipe (AlexNet conv3): TK 16 beats 8, and a partial
// column tile costs a whole one, so conv2d.c picks TP to cut rows evenly.
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_KHR_shader_subgroup_vote : require
#extension GL_EXT_control_flow_attributes : require
#include "loupe.glsl"
#include "conv2d.glsl"

layout(constant_id = 1) const uint TK = 16; // output channels per invocation (a multiple of LANES)
layout(constant_id = 2) const uint TP = 4; // output columns per invocation
layout(constant_id = 3) const uint KS = 3; // kernel size (= pc.ks)
layout(constant_id = 4) const uint S = 1;  // stride (= pc.stride)
const uint SPAN = (TP - 1u) * S + KS;      // input columns under TP output columns
const uint LANES = 8u;                     // lanes that share out weights

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };
layout(std430, binding = 3) buffer Y { float y[]; };

void main()
{
	const uint g = gl_WorkGroupID.y / pc.cblocks;
	const uint co0 = g * pc.kg + (gl_WorkGroupID.y % pc.cblocks) * TK;
	const uint colast = g * pc.kg + pc.kg - 1; // tail tiles clamp loads, skip stores
	const uint kk = KS * KS, wstride = pc.cg * kk;
	const uint owb = (pc.ow + TP - 1) / TP, total = pc.n * pc.oh * owb;
	const uint hw = pc.h * pc.w, ohw = pc.oh * pc.ow;
	const bool shuffle = gl_SubgroupSize >= LANES;
	// the weight rows this lane loads for the shuffle: channels co0 + h * LANES + lane % LANES
	uint wlane[TK / LANES];
	[[unroll]] for (uint h = 0; h < TK / LANES; h++)
		wlane[h] = min(co0 + h * LANES + gl_SubgroupInvocationID % LANES, colast) * wstride +
			   pc.r0 * kk;

	// the loop condition is uniform over the subgroup; subgroups wholly past the end stop
	for (uint at = gl_WorkGroupID.x * gl_WorkGroupSize.x;
	     subgroupAny(at + gl_LocalInvocationID.x < total);
	     at += gl_NumWorkGroups.x * gl_WorkGroupSize.x) {
		const uint i = at + gl_LocalInvocationID.x, ic = min(i, total - 1);
		const uint ox0 = (ic % owb) * TP, t = ic / owb, oy = t % pc.oh, n = t / pc.oh;
		const int iy0 = int(oy * S) - int(pc.pad), ix0 = int(ox0 * S) - int(pc.pad);
		float acc[TK * TP];
		[[unroll]] for (uint j = 0; j < TK * TP; j++)
			acc[j] = 0.0;
		uint xc = pc.x_off + (n * pc.c + g * pc.cg + pc.r0) * hw;
		uint wc = 0;
		for (uint ci = 0; ci < pc.rn; ci++, xc += hw, wc += kk) {
			for (uint ky = 0; ky < KS; ky++) {
				const int iy = iy0 + int(ky);
				const bool rowok = iy >= 0 && iy < int(pc.h);
				const uint xrow = xc + uint(clamp(iy, 0, int(pc.h) - 1)) * pc.w;
				float xv[SPAN];
				[[unroll]] for (uint s = 0; s < SPAN; s++) {
					const int ix = ix0 + int(s);
					const float v = x[xrow + uint(clamp(ix, 0, int(pc.w) - 1))];
					xv[s] = rowok && ix >= 0 && ix < int(pc.w) ? v : 0.0;
				}
				[[unroll]] for (uint kx = 0; kx < KS; kx++) {
					const uint tap = ky * KS + kx;
					float wl[TK / LANES];
					[[unroll]] for (uint h = 0; h < TK / LANES; h++)
						wl[h] = w[wlane[h] + wc + tap];
					[[unroll]] for (uint q = 0; q < TK; q++) {
						float wv;
						if (shuffle)
							wv = subgroupShuffle(wl[q / LANES], q % LANES);
						else
							wv = w[min(co0 + q, colast) * wstride +
							       (pc.r0 + ci) * kk + tap];
						[[unroll]] for (uint p = 0; p < TP; p++)
							acc[q * TP + p] += wv * xv[p * S + kx];
					}
				}
			}
		}
		if (i >= total)
			continue;
		[[unroll]] for (uint q = 0; q < TK; q++) {
			const uint co = co0 + q;
			if (co > colast)
				break;
			const uint yo = pc.y_off + (n * pc.k + co) * ohw + oy * pc.ow + ox0;
			const float bias = (pc.flags & CONV_BIAS) != 0 ? b[co] : 0.0;
			const bool add = (pc.flags & CONV_ACCUMULATE) != 0;
			[[unroll]] for (uint p = 0; p < TP; p++)
				if (ox0 + p < pc.ow)
					y[yo + p] = (add ? y[yo + p] : bias) + acc[q * TP + p];
		}
	}
}
