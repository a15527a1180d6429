// Prosody perturbation: a smooth, bounded, slowly time-varying tempo and pitch within one
// utterance, so rhythm and intonation vary. Everything is a pure function of a small contour
// (control values every `stepS` seconds of input), so the planner can draw the contour and the
// label code can map word times through exactly the map the audio follows.
//
// Contour -> maps. Between control points the tempo factor tau(t) and the pitch offset s(t)
// (semitones) follow a raised cosine (C1 at the knots, no overshoot: bounds on the control
// values bound the contour). On a grid of PROSODY_GRID_S of input time, each cell gets the values
// at its midpoint, giving three monotonic piecewise-linear maps with knots on that grid:
//   time    M: input -> output,        M' = 1 / tau
//   stretch W: input -> intermediate,  W' = rho / tau,  rho = 2^(s / 12)
//   play    V: intermediate -> output, V' = 1 / rho     (V(W(t)) = M(t) exactly, cell by cell)
// Audio: WSOLA follows W (time-scale only, pitch kept; wsola.ts), then the intermediate is read
// at positions V^-1(u), a time-varying playback rate rho (varispeed.ts) that scales pitch by rho
// and time by 1 / rho. The composition moves every instant as M does, up to WSOLA's search
// tolerance, and moves pitch by rho(t) (the sox "pitch = tempo + rate" construction, with both
// parts time-varying). The playback-rate change moves the formants with the pitch; intonation
// does not, so by default a last pass warps the spectral envelope back by 1 / rho(t) frame by
// frame (envelope.ts), and an extra constant formant ratio can ride on that same pass.

import { warpEnvelope } from "./envelope.js";
import { PiecewiseLinearMap } from "./timemap.js";
import { readAtPositions } from "./varispeed.js";
import { wsola } from "./wsola.js";

/** Control values of a prosody contour; index i is input time i * stepS. */
export interface ProsodyContour {
  stepS: number;
  /** Local tempo factor at each control point (> 1 faster, i.e. shorter). */
  tempo: number[];
  /** Local pitch offset at each control point, semitones. */
  semitones: number[];
}

/** Resolution of the piecewise-linear maps, seconds of input. */
export const PROSODY_GRID_S = 0.01;

export interface ProsodyMaps {
  time: PiecewiseLinearMap;
  stretch: PiecewiseLinearMap;
  play: PiecewiseLinearMap;
}

function checkContour(c: ProsodyContour): void {
  if (!(c.stepS > 0)) throw new RangeError(`prosody stepS must be > 0, got ${c.stepS}`);
  if (c.tempo.length < 1 || c.tempo.length !== c.semitones.length) throw new RangeError("prosody contour needs equal, non-empty tempo and semitones lists");
  for (const v of c.tempo) if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`prosody tempo values must be positive, got ${v}`);
  for (const v of c.semitones) if (!Number.isFinite(v)) throw new RangeError(`prosody semitones must be finite, got ${v}`);
}

/** Raised-cosine interpolation of control values spaced `stepS`; constant outside. */
export function contourValue(values: readonly number[], stepS: number, tS: number): number {
  const u = tS / stepS;
  if (u <= 0) return values[0];
  const i = Math.floor(u);
  if (i >= values.length - 1) return values[values.length - 1];
  const f = (1 - Math.cos(Math.PI * (u - i))) / 2;
  return values[i] + f * (values[i + 1] - values[i]);
}

/** The three maps of a contour (see the file header). */
export function prosodyMaps(c: ProsodyContour): ProsodyMaps {
  checkContour(c);
  const spanS = Math.max(PROSODY_GRID_S, (c.tempo.length - 1) * c.stepS);
  const cells = Math.ceil(spanS / PROSODY_GRID_S - 1e-9);
  const inputS = new Float64Array(cells + 1);
  const outputS = new Float64Array(cells + 1);
  const midS = new Float64Array(cells + 1);
  for (let k = 0; k < cells; k++) {
    const t = (k + 0.5) * PROSODY_GRID_S;
    const tau = contourValue(c.tempo, c.stepS, t);
    const rho = 2 ** (contourValue(c.semitones, c.stepS, t) / 12);
    inputS[k + 1] = (k + 1) * PROSODY_GRID_S;
    outputS[k + 1] = outputS[k] + PROSODY_GRID_S / tau;
    midS[k + 1] = midS[k] + (PROSODY_GRID_S * rho) / tau;
  }
  return {
    time: new PiecewiseLinearMap(inputS, outputS),
    stretch: new PiecewiseLinearMap(inputS, midS),
    play: new PiecewiseLinearMap(midS, outputS),
  };
}

/** Output length in samples for an input of `inputLength` samples. */
export function prosodyOutputLength(c: ProsodyContour, inputLength: number, sampleRate: number): number {
  return Math.round(prosodyMaps(c).time.forward(inputLength / sampleRate) * sampleRate);
}

export interface ProsodyOptions {
  /** Warp the envelope back by 1 / rho(t) so intonation moves f0, not formants (default true). */
  preserveFormants?: boolean;
  /** A constant formant shift applied in the same envelope pass (default 1). */
  formantRatio?: number;
}

/** Applies a prosody contour (see the file header). */
export function prosody(x: Float32Array, sampleRate: number, c: ProsodyContour, options: ProsodyOptions = {}): Float32Array {
  const maps = prosodyMaps(c);
  const inputS = x.length / sampleRate;
  const outLength = Math.round(maps.time.forward(inputS) * sampleRate);
  const midLength = Math.ceil(maps.stretch.forward(inputS) * sampleRate) + 1;
  const intermediate = wsola(x, { sampleRate, outLength: midLength, inputPosition: (w) => maps.stretch.inverse(w / sampleRate) * sampleRate });
  const positions = new Float64Array(outLength);
  // V^-1 on the output sample grid, walking the knots once (the map is monotonic).
  const { inputS: midKnots, outputS: outKnots } = maps.play;
  const last = outKnots.length - 2;
  for (let m = 0, i = 0; m < outLength; m++) {
    const u = m / sampleRate;
    while (i < last && outKnots[i + 1] <= u) i++;
    positions[m] = (midKnots[i] + ((u - outKnots[i]) * (midKnots[i + 1] - midKnots[i])) / (outKnots[i + 1] - outKnots[i])) * sampleRate;
  }
  const y = readAtPositions(intermediate, positions);
  const preserve = options.preserveFormants ?? true;
  const formantRatio = options.formantRatio ?? 1;
  const flat = c.semitones.every((v) => v === 0);
  if ((!preserve || flat) && formantRatio === 1) return y;
  return warpEnvelope(y, sampleRate, (centerSample) => {
    if (!preserve) return formantRatio;
    const tS = maps.time.inverse(centerSample / sampleRate);
    return formantRatio / 2 ** (contourValue(c.semitones, c.stepS, tS) / 12);
  });
}
