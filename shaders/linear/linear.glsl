// linear.glsl — what the four linear kernels share: the push constants (mirrored by `push` in
// plugins/layers/linear/linear.c), the tile sizes and the tile an invocation owns.
//
// Layouts (row-major): x [n, f], w [out, f] (only the rows [o0, o0 + rows) of one range are
// bound, from their first element), y and dy [n, out] (the rows of one batch range), dx [n, f].
// Every output is ONE sequential float sum in index order, `precise` so that no compiler fuses
// the multiply and add: the CPU twin sums in the same order, so the two agree to the bit. A
// dispatch adds the terms [k0, k0 + klen) of its sum; with accumulate = 1 it continues from the
// partial stored in the output, so cutting a sum into dispatches never changes a result.
// (The cut is needed: llvmpipe ends any invocation after 65535 loop iterations in all, silently,
// so each invocation owns one tile, and the C side keeps klen well below that.)
#include "loupe.glsl"

layout(constant_id = 1) const uint TA = 4; // first-dimension outputs per invocation
layout(constant_id = 2) const uint TB = 4; // second-dimension outputs per invocation

layout(push_constant) uniform Push {
	uint n;          // batch rows in this range
	uint f;          // input features
	uint nout;       // output features: the row stride of y and dy
	uint o0;         // first output feature (row of W) of this range
	uint rows;       // output features in this range
	uint k0, klen;   // the terms of the sum this dispatch adds
	uint accumulate; // 0: the sum starts at 0; 1: it continues from the stored output
	uint bias;       // forward: add b[o0 + r] (after the last terms)
} pc;

// The tile of an [a, b] output this invocation owns, b fastest: false past the last tile. The
// dispatch's y dimension carries on where x stops (65535 workgroups).
bool linear_tile(uint a, uint b, out uint ia, out uint ib)
{
	uint t = gl_WorkGroupID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x +
		 gl_GlobalInvocationID.x;
	uint nb = (b + TB - 1) / TB;
	ia = (t / nb) * TA;
	ib = (t % nb) * TB;
	return t < nb * ((a + TA - 1) / TA);
}
