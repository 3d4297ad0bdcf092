// conv2d.glsl — the push constants every conv2d kernel but reduce.comp shares, mirrored by
// `push` in plugins/layers/conv2d/conv2d.c. Tensors are NCHW float32; one dispatch sees `n`
// whole images of x / dx starting at element x_off of its binding, and of y / dy starting at
// y_off (a batch larger than one binding is split into several dispatches at aligned offsets).
//
// lavapipe stops every loop of an invocation once all of them together have run 65535
// iterations (gallivm's loop limiter), silently. So each invocation's work is bounded: the
// forward and data gradient sum over a range [r0, r0 + rn) of channels per dispatch (later
// ranges add to the output, CONV_ACCUMULATE), and the weight and bias gradients sum over one
// slice (ips images x band_rows output rows) per workgroup z, writing partial sums that
// reduce.comp adds up in slice order.
layout(push_constant) uniform Push {
	uint n, c, h, w;      // images in this dispatch; input channels, height, width
	uint k, oh, ow;       // output channels, height, width
	uint ks, stride, pad; // square kernel size, stride, zero padding
	uint cg, kg;          // input and output channels per group
	uint x_off, y_off;    // element offset of the first image in the x-side / y-side binding
	uint flags;           // CONV_BIAS, CONV_ACCUMULATE
	uint cblocks;         // channel tiles per group along the kernel's tiled channel axis
	uint r0, rn;          // forward / data gradient: the range of channels summed over
	uint s0;              // gradients: slice of workgroup z = 0, counted within the dispatch's images
	uint ips, band_rows, bands; // gradients: images and output rows per slice, row bands per image
	uint p_off, p_stride; // gradients: where slice s0's sums go in the output, and slice pitch
} pc;

#define CONV_BIAS 1u       // forward: add the bias
#define CONV_ACCUMULATE 2u // forward / data gradient: add to what the previous range wrote
