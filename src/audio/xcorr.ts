// Cross-correlation lag between a signal and a delayed, distorted copy of it: how codec delay is
// measured (src/codecs/roundtrip.ts) and how its compensation is checked (the tests).
import { fftConvolve } from "./fftconv.js";

export interface LagEstimate {
  /** y[i + lag] best matches x[i]: positive = y lags behind x, in samples. */
  lag: number;
  /** Correlation coefficient at that lag, sum x[i] y[i+lag] / sqrt(Ex Ey), in [-1, 1]. */
  peak: number;
  /** The next-best local maximum at least 2 samples away, as a fraction of the peak (how unambiguous the peak is). */
  runnerUp: number;
}

/**
 * The lag in [-maxLag, maxLag] that maximises the cross-correlation r[L] = sum_i x[i] y[i + L]
 * (computed by FFT convolution of y with x reversed). Ties go to the smallest |lag|.
 */
export function xcorrLag(x: Float32Array, y: Float32Array, maxLag: number): LagEstimate {
  if (x.length === 0 || y.length === 0) return { lag: 0, peak: 0, runnerUp: 0 };
  const rev = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) rev[i] = x[x.length - 1 - i];
  // (y * rev)[x.length - 1 + L] = sum_i y[i + L] x[i].
  const r = fftConvolve(y, rev);
  const zero = x.length - 1;
  const lo = Math.max(-maxLag, -zero);
  const hi = Math.min(maxLag, r.length - 1 - zero);
  let best = lo;
  for (let L = lo; L <= hi; L++) {
    const v = r[zero + L];
    const b = r[zero + best];
    if (v > b || (v === b && Math.abs(L) < Math.abs(best))) best = L;
  }
  let second = -Infinity;
  for (let L = lo + 1; L < hi; L++) {
    if (Math.abs(L - best) < 2) continue;
    const v = r[zero + L];
    if (v >= r[zero + L - 1] && v >= r[zero + L + 1] && v > second) second = v;
  }
  let ex = 0;
  let ey = 0;
  for (let i = 0; i < x.length; i++) ex += x[i] * x[i];
  for (let i = 0; i < y.length; i++) ey += y[i] * y[i];
  const norm = Math.sqrt(ex * ey) || 1;
  const peakRaw = r[zero + best];
  return { lag: best, peak: peakRaw / norm, runnerUp: peakRaw > 0 && second > -Infinity ? second / peakRaw : 0 };
}
