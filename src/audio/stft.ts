// Short-time Fourier analysis and overlap-add resynthesis on fft.js, shared by the phase vocoder
// (pvoc.ts), the spectral-envelope warp (envelope.ts) and the VTLP warp (vtlp.ts).
//
// Conventions (used by every kernel here):
// - Frames are zero-phase: frame j is centred on an input sample c and its FFT buffer holds the
//   sample at offset m from c (m in [-N/2, N/2)) at index (m mod N), so a spectrum's phase is
//   the phase at the frame centre and a sinusoid's main lobe has one phase across its bins.
// - The window is the periodic Hann w(m) = 0.5 + 0.5 cos(2 pi m / N), used for analysis and
//   synthesis; its square sums to 3/2 at a hop of N/4 (weighted overlap-add, Griffin & Lim,
//   "Signal estimation from modified short-time Fourier transform", IEEE TASSP 32(2), 1984).
// - Two real frames share one complex FFT ("two real FFTs for the price of one", Press et al.,
//   "Numerical Recipes", 3rd ed., sec. 12.3.1): forward as a + i b, inverse as A + i B.

import FFT from "fft.js";

const plans = new Map<number, FFT>();

/** A cached fft.js plan for a power-of-two size (twiddle tables are built once per size). */
export function fftPlan(size: number): FFT {
  let plan = plans.get(size);
  if (!plan) {
    if (size < 4 || (size & (size - 1)) !== 0) throw new RangeError(`FFT size must be a power of two >= 4, got ${size}`);
    plan = new FFT(size);
    plans.set(size, plan);
  }
  return plan;
}

/** The power-of-two frame length closest (in log terms) to `frameS` seconds at `sampleRate`. */
export function frameLengthFor(sampleRate: number, frameS: number): number {
  return 1 << Math.max(4, Math.round(Math.log2(sampleRate * frameS)));
}

/** Zero-phase periodic Hann window: element m + N/2 holds w(m), m in [-N/2, N/2). */
export function hannWindow(length: number): Float64Array {
  const w = new Float64Array(length);
  for (let i = 0; i < length; i++) w[i] = 0.5 + 0.5 * Math.cos((2 * Math.PI * (i - length / 2)) / length);
  return w;
}

/** dw/dm of hannWindow, per sample (for instantaneous frequency by reassignment). */
export function hannDerivative(length: number): Float64Array {
  const d = new Float64Array(length);
  for (let i = 0; i < length; i++) d[i] = (-Math.PI / length) * Math.sin((2 * Math.PI * (i - length / 2)) / length);
  return d;
}

/** Sum over frames of w^2 at any instant for a hop of N/4 (periodic Hann). */
export const HANN_SQUARED_SUM_QUARTER_HOP = 1.5;

/**
 * Fills the interleaved complex buffer `buf` (2N values) with the zero-phase frame of `x` centred
 * on sample `center`: real part x * windowA, imaginary part x * windowB (or 0 when windowB is
 * null). Samples outside [0, x.length) are zero.
 */
export function fillFrame(buf: Float64Array, x: Float32Array, center: number, windowA: Float64Array, windowB: Float64Array | null): void {
  const n = windowA.length;
  const half = n >> 1;
  const start = center - half;
  const from = Math.max(0, -start);
  const to = Math.min(n, x.length - start);
  buf.fill(0);
  for (let i = from; i < to; i++) {
    const v = x[start + i];
    // window index i is offset m = i - half; buffer index (m mod N) = (i + half) mod N.
    const k = 2 * ((i + half) & (n - 1));
    buf[k] = v * windowA[i];
    if (windowB) buf[k + 1] = v * windowB[i];
  }
}

/**
 * Splits the FFT Z of a + i b (a, b real) into the half spectra A[k], B[k], k = 0..N/2, written
 * interleaved into `a` and `b` (each 2 (N/2 + 1) values): A = (Z[k] + conj Z[N-k]) / 2,
 * B = (Z[k] - conj Z[N-k]) / 2i.
 */
export function splitPair(z: Float64Array, n: number, a: Float64Array, b: Float64Array | null): void {
  const half = n >> 1;
  for (let k = 0; k <= half; k++) {
    const kk = (n - k) & (n - 1);
    const zr = z[2 * k];
    const zi = z[2 * k + 1];
    const cr = z[2 * kk];
    const ci = -z[2 * kk + 1];
    a[2 * k] = 0.5 * (zr + cr);
    a[2 * k + 1] = 0.5 * (zi + ci);
    if (b) {
      b[2 * k] = 0.5 * (zi - ci);
      b[2 * k + 1] = -0.5 * (zr - cr);
    }
  }
}

/**
 * Builds the full spectrum A + i B of two real signals from their half spectra (k = 0..N/2,
 * interleaved) into `z` (2N values), ready for one inverse FFT whose real part is a and
 * imaginary part b. `b` may be null (treated as zero).
 */
export function joinPair(a: Float64Array, b: Float64Array | null, n: number, z: Float64Array): void {
  const half = n >> 1;
  for (let k = 0; k <= half; k++) {
    const ar = a[2 * k];
    const ai = k === 0 || k === half ? 0 : a[2 * k + 1];
    const br = b ? b[2 * k] : 0;
    const bi = b && k !== 0 && k !== half ? b[2 * k + 1] : 0;
    // Z[k] = A[k] + i B[k]
    z[2 * k] = ar - bi;
    z[2 * k + 1] = ai + br;
    if (k !== 0 && k !== half) {
      // Z[N-k] = conj A[k] + i conj B[k]
      const kk = n - k;
      z[2 * kk] = ar + bi;
      z[2 * kk + 1] = -ai + br;
    }
  }
}

/**
 * Adds the zero-phase real frame held in part `part` (0 = real, 1 = imaginary) of the interleaved
 * complex buffer `z` to `out` around sample `center`, multiplied by `window` and `gain`.
 */
export function overlapAddFrame(out: Float32Array | Float64Array, z: Float64Array, part: 0 | 1, center: number, window: Float64Array, gain: number): void {
  const n = window.length;
  const half = n >> 1;
  const start = center - half;
  const from = Math.max(0, -start);
  const to = Math.min(n, out.length - start);
  for (let i = from; i < to; i++) out[start + i] += gain * window[i] * z[2 * ((i + half) & (n - 1)) + part];
}
