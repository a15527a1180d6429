// Phase vocoder with identity phase locking and peak shifting: one kernel for time-scale
// modification (any monotonic time map), frequency warping (VTLP, pitch contours) or both.
//
// Laroche & Dolson, "Improved phase vocoder time-scale modification of audio", IEEE TSAP 7(3),
// 1999 (peaks = local maxima of the magnitude; each peak's phase is propagated, the
// bins in its region of influence keep their analysis phase offsets to it: identity phase
// locking), and Laroche & Dolson, "New phase-vocoder techniques for real-time pitch shifting,
// chorusing, harmonizing and other exotic audio modifications", JAES 47(11), 1999 (a frequency
// change moves each peak's whole region, lobe shape intact, to the new frequency; the phase
// advances at the new frequency). The instantaneous frequency of a peak comes from the
// derivative-window reassignment operator, exact for a stationary sinusoid (Auger & Flandrin,
// "Improving the readability of time-frequency and time-scale representations by the
// reassignment method", IEEE TSP 43(5), 1995): omega = omega_k - Im(X_dw / X_w).
//
// Frames: periodic Hann, about 32 ms (512 at 16 kHz, 31 Hz bins: harmonics of f0 >= 80 Hz are
// resolved), synthesis hop N/4 (the 75% overlap phase locking needs), zero-phase (stft.ts).
// Output frame j is centred at j * hop; it is analysed at the input position the time map gives
// for that instant, so any monotonic map (constant tempo, a prosody contour) is followed exactly
// at frame rate.

import { fftPlan, fillFrame, frameLengthFor, hannDerivative, hannWindow, HANN_SQUARED_SUM_QUARTER_HOP, joinPair, overlapAddFrame, splitPair } from "./stft.js";

export interface PhaseVocoderOptions {
  sampleRate: number;
  /** Output length in samples. */
  outLength: number;
  /** Input position (samples, may be fractional) heard at output sample `outSample`. */
  inputPosition(outSample: number): number;
  /**
   * Where a component at `hz` in the input goes in the frame centred at output sample
   * `outSample`: monotonic increasing, in Hz. Undefined: frequencies are kept (pure TSM).
   */
  frequencyMap?(hz: number, outSample: number): number;
  /** Frame length in seconds, rounded to a power of two in samples (default 0.032). */
  frameS?: number;
}

export const PVOC_FRAME_S = 0.032;

/** Runs the phase vocoder (see the file header); returns `outLength` samples. */
export function phaseVocoder(x: Float32Array, o: PhaseVocoderOptions): Float32Array {
  const n = frameLengthFor(o.sampleRate, o.frameS ?? PVOC_FRAME_S);
  const half = n >> 1;
  const bins = half + 1;
  const hop = n >> 2;
  const fft = fftPlan(n);
  const window = hannWindow(n);
  const dWindow = hannDerivative(n);
  const time = new Float64Array(2 * n);
  const freq = new Float64Array(2 * n);
  const X = new Float64Array(2 * bins);
  const D = new Float64Array(2 * bins);
  const mag2 = new Float64Array(bins);
  const slots = [new Float64Array(2 * bins), new Float64Array(2 * bins)];
  const peaks = new Int32Array(bins);
  const shift = new Float64Array(bins);
  const outPeak = new Float64Array(bins);
  const rotRe = new Float64Array(bins);
  const rotIm = new Float64Array(bins);
  const acc = new Float64Array(o.outLength);
  const gain = 1 / HANN_SQUARED_SUM_QUARTER_HOP;
  const map = o.frequencyMap;

  let prev: Float64Array | null = null;
  let pendingCenter = 0;
  let pending = false;
  const firstFrame = -(half / hop) + 1;
  const lastFrame = Math.ceil((o.outLength + half) / hop) - 1;
  for (let j = firstFrame; j <= lastFrame; j++) {
    const center = j * hop;
    const Y = slots[(j - firstFrame) & 1];
    const position = Math.round(o.inputPosition(center));
    fillFrame(time, x, position, window, dWindow);
    fft.transform(freq, time);
    splitPair(freq, n, X, D);

    let maxMag2 = 0;
    for (let k = 0; k < bins; k++) {
      const m = X[2 * k] * X[2 * k] + X[2 * k + 1] * X[2 * k + 1];
      mag2[k] = m;
      if (m > maxMag2) maxMag2 = m;
    }
    if (maxMag2 === 0) {
      Y.fill(0);
    } else {
      // Peaks: local maxima above -140 dB re the frame max. Laroche & Dolson ask for larger than
      // two bins on each side; at 31 Hz bins that merges harmonics of f0 < 125 Hz (2.6-4 bins
      // apart), and a merged harmonic then runs at its neighbour's frequency (measured: VTLP of
      // an 80-100 Hz complex off by up to 13 cents), so one bin each side is used.
      const floor = maxMag2 * 1e-14;
      let count = 0;
      for (let k = 0; k < bins; k++) {
        const m = mag2[k];
        if (m <= floor) continue;
        if (k >= 1 && m <= mag2[k - 1]) continue;
        if (k + 1 < bins && m < mag2[k + 1]) continue;
        peaks[count++] = k;
      }
      if (count === 0) {
        let best = 0;
        for (let k = 1; k < bins; k++) if (mag2[k] > mag2[best]) best = k;
        peaks[count++] = best;
      }
      for (let r = 0; r < count; r++) {
        const p = peaks[r];
        const xr = X[2 * p];
        const xi = X[2 * p + 1];
        // Reassigned instantaneous frequency, rad/sample.
        const omega = (2 * Math.PI * p) / n - (D[2 * p + 1] * xr - D[2 * p] * xi) / mag2[p];
        let omegaOut = omega;
        if (map) {
          const hzIn = (omega * o.sampleRate) / (2 * Math.PI);
          if (hzIn > 0) omegaOut = (2 * Math.PI * map(hzIn, center)) / o.sampleRate;
        }
        shift[r] = ((omegaOut - omega) * n) / (2 * Math.PI);
        outPeak[r] = p + shift[r];
        // Phase: the output bin nearest the moved peak continues the previous frame's phase there,
        // advanced by one synthesis hop at the output frequency.
        const qi = Math.min(half, Math.max(0, Math.round(outPeak[r])));
        let sr = qi - shift[r];
        if (sr < 0 || sr > half) sr = p;
        const s0 = Math.min(half - 1, Math.floor(sr));
        const f = sr - s0;
        const ar = X[2 * s0] + f * (X[2 * s0 + 2] - X[2 * s0]);
        const ai = X[2 * s0 + 1] + f * (X[2 * s0 + 3] - X[2 * s0 + 1]);
        const aMag = Math.sqrt(ar * ar + ai * ai);
        let tr = 1;
        let ti = 0;
        const pr = prev ? prev[2 * qi] : 0;
        const pi = prev ? prev[2 * qi + 1] : 0;
        const pMag = Math.sqrt(pr * pr + pi * pi);
        if (aMag === 0) {
          rotRe[r] = 1;
          rotIm[r] = 0;
          continue;
        }
        if (pMag > 0) {
          const adv = hop * omegaOut;
          const c = Math.cos(adv);
          const s = Math.sin(adv);
          tr = (pr * c - pi * s) / pMag;
          ti = (pr * s + pi * c) / pMag;
        } else {
          tr = ar / aMag;
          ti = ai / aMag;
        }
        // rotation = target phasor * conj(analysis phasor)
        rotRe[r] = (tr * ar + ti * ai) / aMag;
        rotIm[r] = (ti * ar - tr * ai) / aMag;
      }
      // Regions of influence on the output axis: midway between neighbouring moved peaks.
      let k = 0;
      for (let r = 0; r < count; r++) {
        const end = r + 1 < count ? Math.min(bins, Math.max(k, Math.ceil((outPeak[r] + outPeak[r + 1]) / 2))) : bins;
        const d = shift[r];
        const cr = rotRe[r];
        const ci = rotIm[r];
        if (d === 0) {
          for (; k < end; k++) {
            const ar = X[2 * k];
            const ai = X[2 * k + 1];
            Y[2 * k] = cr * ar - ci * ai;
            Y[2 * k + 1] = cr * ai + ci * ar;
          }
        } else {
          for (; k < end; k++) {
            const s = k - d;
            if (s < 0 || s > half) {
              Y[2 * k] = 0;
              Y[2 * k + 1] = 0;
              continue;
            }
            const s0 = Math.min(half - 1, Math.floor(s));
            const f = s - s0;
            const ar = X[2 * s0] + f * (X[2 * s0 + 2] - X[2 * s0]);
            const ai = X[2 * s0 + 1] + f * (X[2 * s0 + 3] - X[2 * s0 + 1]);
            Y[2 * k] = cr * ar - ci * ai;
            Y[2 * k + 1] = cr * ai + ci * ar;
          }
        }
      }
    }
    prev = maxMag2 === 0 ? null : Y;
    if (!pending) {
      pending = true;
      pendingCenter = center;
      if (j === lastFrame) {
        joinPair(Y, null, n, freq);
        fft.inverseTransform(time, freq);
        overlapAddFrame(acc, time, 0, center, window, gain);
      }
      continue;
    }
    pending = false;
    const first = slots[(j - 1 - firstFrame) & 1];
    joinPair(first, Y, n, freq);
    fft.inverseTransform(time, freq);
    overlapAddFrame(acc, time, 0, pendingCenter, window, gain);
    overlapAddFrame(acc, time, 1, center, window, gain);
  }
  return Float32Array.from(acc);
}
