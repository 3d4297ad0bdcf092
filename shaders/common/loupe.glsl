// loupe.glsl — shared by every kernel: workgroup size as specialization constant 0 and a
// grid-stride loop over a 1-D range, so a dispatch capped at the device's workgroup count still
// covers any n.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;

#define LP_FOR_EACH(i, n)                                                        \
	for (uint i = gl_GlobalInvocationID.x; i < (n);                          \
	     i += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
