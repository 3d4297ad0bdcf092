// norm.glsl — what lrn's forward and backward share: the push constants (mirrored by `push` in
// lrn.c), the window size as specialization constant 1, the input binding, and the window of
// squares that one invocation slides down its column of channels.
//
// One invocation handles one pixel of one image, all channels in order, so every invocation of
// a dispatch walks the channels in step. sq[] holds x_j^2 for the size channels
// [lead - size/2, lead + (size-1)/2] around a lead channel, zero outside [0, C): its sum in
// index order is the twin's clipped sum in channel order (adding zeros changes nothing) and
// PyTorch's zero-padded average pool times size. The arrays are sized by the specialization
// constant, so the compiler keeps them in registers and unrolls the loops over them.
layout(push_constant) uniform Push {
	uint n;                 // images in this dispatch
	uint c, hw;             // channels, elements per channel plane
	uint size;              // channels in a window (= WIN)
	float alpha, beta, k;
	uint base[4];           // element offset of the first image inside each binding, in order
} pc;

layout(constant_id = 1) const uint WIN = 5u;

layout(std430, binding = 0) readonly buffer X { float x[]; };

float sq[WIN];

// x_j^2 in column `col` (the element offset of channel 0), or 0 outside [0, C).
float square_at(uint col, int j)
{
	float v = j >= 0 && j < int(pc.c) ? x[col + uint(j) * pc.hw] : 0.0;
	return v * v;
}

// Fill sq for lead channel 0: channels [-(size/2), (size-1)/2].
void sq_init(uint col)
{
	for (uint i = 0u; i < WIN; i++)
		sq[i] = square_at(col, int(i) - int(WIN / 2u));
}

// s = k + alpha * (sum of sq) / size for the current lead channel.
float sq_norm()
{
	float sum = 0.0;
	for (uint i = 0u; i < WIN; i++)
		sum += sq[i];
	return pc.k + pc.alpha * (sum / float(WIN));
}

// Move the lead channel from `lead` to lead + 1.
void sq_advance(uint col, int lead)
{
	for (uint i = 0u; i + 1u < WIN; i++)
		sq[i] = sq[i + 1u];
	sq[WIN - 1u] = square_at(col, lead + 1 + int((WIN - 1u) / 2u));
}
