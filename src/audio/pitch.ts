// Pitch shift without tempo change, as sox's `pitch` builds it: stretch the duration by
// rho = 2^(semitones / 12) with WSOLA (pitch kept, wsola.ts), then play rho times faster by
// band-limited resampling (speedPerturb, resample.ts): duration back to n, every frequency x rho.
// With `preserveFormants`, the spectral envelope is then warped by 1 / rho (envelope.ts), which
// puts the formants back where they were while the harmonics stay moved ("pitch without
// chipmunk", the envelope-preserving shift of Röbel & Rodet, "Efficient spectral envelope
// estimation and its application to pitch shifting and envelope preservation", DAFx 2005, with
// an LPC envelope).
//
// Timing: output sample m plays input time m / sampleRate (the identity map) up to WSOLA's
// search tolerance divided by rho; the output has exactly x.length samples.

import { warpEnvelope } from "./envelope.js";
import { speedPerturb } from "./resample.js";
import { wsola } from "./wsola.js";

/** Ratio of frequencies for a shift of `semitones` (equal temperament). */
export function semitoneRatio(semitones: number): number {
  return 2 ** (semitones / 12);
}

export function pitchShift(x: Float32Array, sampleRate: number, semitones: number, options: { preserveFormants?: boolean } = {}): Float32Array {
  if (!Number.isFinite(semitones)) throw new RangeError(`semitones must be finite, got ${semitones}`);
  if (semitones === 0) return x.slice();
  const rho = semitoneRatio(semitones);
  const stretched = wsola(x, { sampleRate, outLength: Math.round(x.length * rho), inputPosition: (u) => u / rho });
  const played = speedPerturb(stretched, rho);
  let y: Float32Array;
  if (played.length === x.length) y = played;
  else {
    y = new Float32Array(x.length);
    y.set(played.length > x.length ? played.subarray(0, x.length) : played);
  }
  return options.preserveFormants ? warpEnvelope(y, sampleRate, 1 / rho) : y;
}
