#version 450
// SGD with momentum and weight decay, as torch.optim.SGD (dampening 0, no Nesterov):
//   d = g + wd * w;  v = momentum * v + d;  w = w - lr * v
// (v starts at zero, which equals PyTorch's first-step v = d.)
#include "loupe.glsl"

layout(push_constant) uniform Push { uint n; float lr, momentum, wd; } pc;
layout(std430, binding = 0) buffer W { float w[]; };
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) buffer V { float v[]; };

void main()
{
	LP_FOR_EACH(i, pc.n) {
		float d = g[i] + pc.wd * w[i];
		float m = pc.momentum * v[i] + d;
		v[i] = m;
		w[i] = w[i] - pc.lr * m;
	}
}
