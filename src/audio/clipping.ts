// Clipping as overdriven converters and amplifiers do it: hard (the sample stops at the ceiling)
// and soft (a tanh knee: linear up to half the ceiling, then bending smoothly into it).

/**
 * The ceiling that leaves `fraction` of the samples with |x| above it: the (1 - fraction) quantile
 * of |x| (by sorting; ties make the achieved fraction at most the asked one).
 */
export function clipThresholdForFraction(x: Float32Array, fraction: number): number {
  if (x.length === 0) return 0;
  const mags = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) mags[i] = Math.abs(x[i]);
  mags.sort();
  const k = Math.floor((1 - fraction) * x.length);
  return mags[Math.min(x.length - 1, Math.max(0, k))];
}

/** y = clamp(x, -ceiling, ceiling). */
export function hardClip(x: Float32Array, ceiling: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] > ceiling ? ceiling : x[i] < -ceiling ? -ceiling : x[i];
  return out;
}

/** Knee of the soft clipper, as a fraction of the ceiling. */
export const SOFT_KNEE = 0.5;

/**
 * Soft clipping: identity below SOFT_KNEE x ceiling, above it
 *   y = k + (c - k) tanh((|x| - k) / (c - k)),  k = SOFT_KNEE c
 * which has slope 1 at the knee (no corner) and approaches the ceiling c without reaching it.
 */
export function softClip(x: Float32Array, ceiling: number): Float32Array {
  const out = new Float32Array(x.length);
  const knee = SOFT_KNEE * ceiling;
  const span = ceiling - knee;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const a = Math.abs(v);
    out[i] = a <= knee || span <= 0 ? v : Math.sign(v) * (knee + span * Math.tanh((a - knee) / span));
  }
  return out;
}

/** Fraction of samples with |x| strictly above `level`. */
export function fractionAbove(x: Float32Array, level: number): number {
  let n = 0;
  for (let i = 0; i < x.length; i++) if (Math.abs(x[i]) > level) n++;
  return x.length ? n / x.length : 0;
}
