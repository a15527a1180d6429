// Spectral-envelope warping: moves formants by a ratio and leaves the harmonics (pitch) where
// they are. Each STFT frame (Hann, ~32 ms, hop N/4, zero-phase; stft.ts) is multiplied by
// G(f) = E(f / ratio) / E(f), E the frame's spectral envelope, so the envelope becomes E(f / ratio)
// (a peak at F moves to ratio x F) while the fine structure under it is kept.
//
// E is the all-pole (LPC) envelope |1 / A(f)| of the frame: autocorrelation from the power
// spectrum (Wiener-Khinchin), a Gaussian lag window of 40 Hz and 40 dB white-noise correction
// against over-sharp peaks on single harmonics, Levinson-Durbin recursion, order
// sampleRate / 1000 + 4 (two poles per kHz plus tilt: J. Makhoul, "Linear prediction: a tutorial
// review", Proc. IEEE 63(4), 1975; the lag window as in ITU-T G.729 sec. 3.2.1). The gain is
// limited to +-ENVELOPE_MAX_GAIN_DB so a deep valley of E cannot lift noise without bound.

import { fftPlan, fillFrame, frameLengthFor, hannWindow, HANN_SQUARED_SUM_QUARTER_HOP, joinPair, overlapAddFrame, splitPair } from "./stft.js";

export const ENVELOPE_FRAME_S = 0.032;
export const ENVELOPE_MAX_GAIN_DB = 30;
const LAG_WINDOW_HZ = 40;
const WHITE_NOISE_CORRECTION = 1.0001;

/** LPC order used for an envelope at `sampleRate`. */
export function lpcOrder(sampleRate: number): number {
  return Math.round(sampleRate / 1000) + 4;
}

/**
 * Levinson-Durbin: predictor a[0..order] (a[0] = 1) from autocorrelation r[0..order]; returns
 * false (and a = [1, 0, ...]) when r[0] is 0 or the recursion breaks down.
 */
export function levinson(r: Float64Array, order: number, a: Float64Array): boolean {
  a.fill(0);
  a[0] = 1;
  let err = r[0];
  if (!(err > 0)) return false;
  const tmp = new Float64Array(order + 1);
  for (let i = 1; i <= order; i++) {
    let acc = r[i];
    for (let j = 1; j < i; j++) acc += a[j] * r[i - j];
    const k = -acc / err;
    tmp.set(a);
    for (let j = 1; j < i; j++) a[j] = tmp[j] + k * tmp[i - j];
    a[i] = k;
    err *= 1 - k * k;
    if (!(err > 0)) {
      a.fill(0);
      a[0] = 1;
      return false;
    }
  }
  return true;
}

/**
 * Warps the spectral envelope of `x` by `ratio` (> 1 moves formants up), keeping pitch and
 * length. `ratio` may vary per frame: pass a function of the frame's centre sample.
 */
export function warpEnvelope(x: Float32Array, sampleRate: number, ratio: number | ((centerSample: number) => number)): Float32Array {
  const n = frameLengthFor(sampleRate, ENVELOPE_FRAME_S);
  const half = n >> 1;
  const bins = half + 1;
  const hop = n >> 2;
  const order = lpcOrder(sampleRate);
  const fft = fftPlan(n);
  const window = hannWindow(n);
  const time = new Float64Array(2 * n);
  const freq = new Float64Array(2 * n);
  const specs = [new Float64Array(2 * bins), new Float64Array(2 * bins)];
  const power = [new Float64Array(2 * bins), new Float64Array(2 * bins)];
  const r = new Float64Array(order + 1);
  const a = new Float64Array(order + 1);
  const poly = [new Float64Array(2 * bins), new Float64Array(2 * bins)];
  const invEnv = new Float64Array(bins);
  const lag = Float64Array.from({ length: order + 1 }, (_, i) => Math.exp(-0.5 * ((2 * Math.PI * LAG_WINDOW_HZ * i) / sampleRate) ** 2));
  const maxGain = 10 ** (ENVELOPE_MAX_GAIN_DB / 20);
  const acc = new Float64Array(x.length);
  const gain = 1 / HANN_SQUARED_SUM_QUARTER_HOP;
  const ratioAt = typeof ratio === "number" ? () => ratio : ratio;
  const firstFrame = -(half / hop) + 1;
  const lastFrame = Math.ceil((x.length + half) / hop) - 1;
  const frameA = new Float64Array(2 * n);

  for (let j = firstFrame; j <= lastFrame; j += 2) {
    const centers = [j * hop, (j + 1) * hop];
    const pair = j + 1 <= lastFrame ? 2 : 1;
    // Two frames in one complex FFT: frame j in the real part, frame j + 1 in the imaginary part.
    fillFrame(time, x, centers[0], window, null);
    if (pair === 2) {
      fillFrame(frameA, x, centers[1], window, null);
      for (let i = 0; i < 2 * n; i += 2) time[i + 1] = frameA[i];
    }
    fft.transform(freq, time);
    splitPair(freq, n, specs[0], specs[1]);
    // Power spectra -> autocorrelations (both real and even, so one inverse FFT serves two).
    for (let f = 0; f < 2; f++) {
      const s = specs[f];
      const p = power[f];
      for (let k = 0; k < bins; k++) {
        p[2 * k] = s[2 * k] * s[2 * k] + s[2 * k + 1] * s[2 * k + 1];
        p[2 * k + 1] = 0;
      }
    }
    joinPair(power[0], power[1], n, freq);
    fft.inverseTransform(time, freq);
    const valid = [false, false];
    const polyTime = frameA;
    polyTime.fill(0);
    for (let f = 0; f < pair; f++) {
      for (let i = 0; i <= order; i++) r[i] = time[2 * i + f] * lag[i];
      r[0] *= WHITE_NOISE_CORRECTION;
      valid[f] = levinson(r, order, a);
      for (let i = 0; i <= order; i++) polyTime[2 * i + f] = a[i];
    }
    // A(f) of both predictors in one FFT.
    fft.transform(freq, polyTime);
    splitPair(freq, n, poly[0], poly[1]);
    for (let f = 0; f < pair; f++) {
      if (!valid[f]) continue;
      const rho = ratioAt(centers[f]);
      if (rho === 1) continue;
      const A = poly[f];
      for (let k = 0; k < bins; k++) invEnv[k] = Math.sqrt(A[2 * k] * A[2 * k] + A[2 * k + 1] * A[2 * k + 1]);
      const s = specs[f];
      for (let k = 0; k < bins; k++) {
        // E(k / rho) / E(k) = |A(k)| / |A(k / rho)|
        const src = k / rho;
        let aw: number;
        if (src >= half) aw = invEnv[half];
        else {
          const i = Math.floor(src);
          aw = invEnv[i] + (src - i) * (invEnv[i + 1] - invEnv[i]);
        }
        const g = Math.min(maxGain, Math.max(1 / maxGain, invEnv[k] / aw));
        s[2 * k] *= g;
        s[2 * k + 1] *= g;
      }
    }
    joinPair(specs[0], pair === 2 ? specs[1] : null, n, freq);
    fft.inverseTransform(time, freq);
    overlapAddFrame(acc, time, 0, centers[0], window, gain);
    if (pair === 2) overlapAddFrame(acc, time, 1, centers[1], window, gain);
  }
  return Float32Array.from(acc);
}
