// rows.glsl — what softmax_xent's forward and backward share: the push constants (mirrored by
// `push` in softmax_xent.c), the logits and labels, and the statistics of one row.
layout(push_constant) uniform Push {
	uint n;        // rows (items) in this dispatch
	uint c;        // classes
	uint probs;    // forward: 1 = also write softmax(x) to binding 3
	uint base[4];  // element offset of the first row inside each binding, in order
} pc;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer L { int labels[]; };

// The row's maximum m and sum_c exp(x_c - m), in class order.
void row_stats(uint row, out float m, out float sum)
{
	m = x[row];
	for (uint j = 1u; j < pc.c; j++)
		m = max(m, x[row + j]);
	sum = 0.0;
	for (uint j = 0u; j < pc.c; j++)
		sum += exp(x[row + j] - m);
}
