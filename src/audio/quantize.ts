// Bit-depth reduction: requantising full-scale float audio to a signed `bits`-bit grid, as a
// cheap converter or an old codec front end does.

/**
 * Rounds x to the nearest of the 2^bits levels k / 2^(bits-1), k in [-2^(bits-1), 2^(bits-1) - 1]
 * (two's-complement full scale, mid-tread), optionally with TPDF dither of +-1 LSB (the sum of two
 * uniforms from `uniform`, which the caller seeds at plan time). Values past full scale clamp.
 */
export function requantize(x: Float32Array, bits: number, uniform?: () => number): Float32Array {
  if (!Number.isInteger(bits) || bits < 1 || bits > 24) throw new RangeError(`bits must be an integer in [1, 24], got ${bits}`);
  const scale = 2 ** (bits - 1);
  const lo = -scale;
  const hi = scale - 1;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    let v = x[i] * scale;
    if (uniform) v += uniform() - uniform();
    let q = Math.round(v);
    q = q < lo ? lo : q > hi ? hi : q;
    out[i] = q / scale;
  }
  return out;
}
