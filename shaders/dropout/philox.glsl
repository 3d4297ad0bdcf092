// philox.glsl — Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC'11; the Random123 generator that cuRAND and PyTorch's CUDA dropout also use): a
// counter-based generator, so element i's random word needs no state, only (key, counter).
// Mirrored bit for bit by philox() in plugins/layers/dropout/dropout.c.

uvec4 philox4x32_10(uvec4 c, uvec2 k)
{
	for (int r = 0; r < 10; r++) {
		uint hi0, lo0, hi1, lo1;
		if (r > 0)
			k += uvec2(0x9E3779B9u, 0xBB67AE85u);
		umulExtended(0xD2511F53u, c.x, hi0, lo0);
		umulExtended(0xCD9E8D57u, c.z, hi1, lo1);
		c = uvec4(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
	}
	return c;
}
