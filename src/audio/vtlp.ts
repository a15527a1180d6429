// Vocal-tract length perturbation (VTLP) on the waveform: the piecewise-linear frequency warp of
// Jaitly & Hinton, "Vocal Tract Length Perturbation (VTLP) improves speech recognition", ICML
// 2013 workshop on deep learning for audio, speech and language, eq. 1 (there applied to the
// filterbank centre frequencies; here to the signal, by the phase vocoder's peak shifting,
// pvoc.ts, so the output is audio whose whole spectrum, envelope and harmonics alike, is warped):
//
//   f' = alpha f                                           for f <= F_hi min(alpha, 1) / alpha
//   f' = S/2 - (S/2 - F_hi min(alpha, 1)) / (S/2 - F_hi min(alpha, 1) / alpha) (S/2 - f)  above
//
// with S/2 the Nyquist frequency and F_hi the boundary frequency (4800 Hz at 16 kHz in the paper).
// Below the knee every component moves by exactly alpha; above it the map bends so that the
// Nyquist stays at the Nyquist and no band is lost or folded. Length and timing are unchanged.

import { phaseVocoder } from "./pvoc.js";

/** The paper's boundary frequency relative to the Nyquist (4800 Hz of 8000 Hz). */
export const VTLP_BOUNDARY_FRACTION = 0.6;

/** The knee of the warp: below it f' = alpha f exactly. */
export function vtlpKneeHz(alpha: number, boundaryHz: number): number {
  return (boundaryHz * Math.min(alpha, 1)) / alpha;
}

/** Jaitly & Hinton's piecewise-linear warp (file header), Hz -> Hz. */
export function vtlpWarpHz(hz: number, alpha: number, boundaryHz: number, nyquistHz: number): number {
  const knee = vtlpKneeHz(alpha, boundaryHz);
  if (hz <= knee) return alpha * hz;
  const top = boundaryHz * Math.min(alpha, 1);
  return nyquistHz - ((nyquistHz - top) / (nyquistHz - knee)) * (nyquistHz - hz);
}

function checkVtlp(alpha: number, boundaryHz: number, nyquistHz: number): void {
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new RangeError(`VTLP alpha must be a positive number, got ${alpha}`);
  if (!(boundaryHz > 0) || !(vtlpKneeHz(alpha, boundaryHz) < nyquistHz) || !(boundaryHz * Math.min(alpha, 1) < nyquistHz)) {
    throw new RangeError(`VTLP boundary ${boundaryHz} Hz must be positive and keep the knee below the Nyquist (${nyquistHz} Hz) for alpha ${alpha}`);
  }
}

/**
 * Warps the spectrum of `x` by VTLP factor `alpha` with boundary `boundaryHz` (default
 * VTLP_BOUNDARY_FRACTION x Nyquist). Same length and timing as the input.
 */
export function vtlp(x: Float32Array, sampleRate: number, alpha: number, boundaryHz = VTLP_BOUNDARY_FRACTION * (sampleRate / 2)): Float32Array {
  const nyquistHz = sampleRate / 2;
  checkVtlp(alpha, boundaryHz, nyquistHz);
  if (alpha === 1) return x.slice();
  return phaseVocoder(x, {
    sampleRate,
    outLength: x.length,
    inputPosition: (u) => u,
    frequencyMap: (hz) => vtlpWarpHz(hz, alpha, boundaryHz, nyquistHz),
  });
}
