// window.glsl — what maxpool's forward and backward share: the push constants (mirrored by
// `push` in maxpool.c), the input binding, and the argmax of one pooling window.
layout(push_constant) uniform Push {
	uint n;             // images in this dispatch
	uint c, h, w;       // input channels, height, width
	uint oh, ow;        // output height, width
	uint k, s;          // window size, stride
	uint base[4];       // element offset of the first image inside each binding, in order
} pc;

layout(std430, binding = 0) readonly buffer X { float x[]; };

// The window at output (oy, ox) of the plane starting at element `plane`: its maximum and the
// row and column inside the window of the first maximum in row-major order; a NaN wins (the
// last NaN), as in PyTorch.
float window_max(uint plane, uint oy, uint ox, out uint ai, out uint aj)
{
	uint at = plane + oy * pc.s * pc.w + ox * pc.s;
	float best = x[at];

	ai = 0u;
	aj = 0u;
	for (uint i = 0u; i < pc.k; i++)
		for (uint j = 0u; j < pc.k; j++) {
			float v = x[at + i * pc.w + j];
			if (v > best || isnan(v)) {
				best = v;
				ai = i;
				aj = j;
			}
		}
	return best;
}
