#version 450
// conv2d bias gradient, one slice of the batch (see backward_weight.comp): the sum of dy[n,o,i,j]
// over the slice's images and output rows, one invocation per output channel, in a fixed
// order, written at p_off + z * p_stride + o. Steps of TJ values keep the loop within the
// budget the slicing assumes.
#include "loupe.glsl"
#include "conv2d.glsl"

layout(constant_id = 1) const uint TJ = 4; // values per step

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) writeonly buffer DB { float db[]; };

void main()
{
	const uint ohw = pc.oh * pc.ow;
	const uint slice = pc.s0 + gl_WorkGroupID.z;
	const uint n0 = slice / pc.bands * pc.ips, n1 = min(n0 + pc.ips, pc.n);
	const uint oy0 = slice % pc.bands * pc.band_rows, oy1 = min(oy0 + pc.band_rows, pc.oh);
	const uint j0 = oy0 * pc.ow, j1 = oy1 * pc.ow;

	LP_FOR_EACH(o, pc.k) {
		float acc = 0.0;
		for (uint n = n0; n < n1; n++) {
			const uint base = pc.y_off + (n * pc.k + o) * ohw;
			float img = 0.0; // per image first: shorter running sums, smaller rounding error
			for (uint j = j0; j < j1; j += TJ)
				for (uint t = 0; t < TJ; t++) {
					const float v = dy[base + min(j + t, j1 - 1)];
					img += j + t < j1 ? v : 0.0;
				}
			acc += img;
		}
		db[pc.p_off + gl_WorkGroupID.z * pc.p_stride + o] = acc;
	}
}
