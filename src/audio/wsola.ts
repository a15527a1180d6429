// WSOLA time-scale modification (waveform-similarity overlap-add): Verhelst & Roelands, "An
// overlap-add technique based on waveform similarity (WSOLA) for high quality time-scale
// modification of speech", ICASSP 1993; the formulation of Driedger & Müller, "A review of
// time-scale modification of music signals", Applied Sciences 6(2), 2016, sec. 3.
//
// Output frame m is centred at m * hop (hop = N/2, Hann windows summing to 1). Its input centre
// is the time map's position for that instant moved by delta in [-tolerance, tolerance], chosen
// so the frame best continues the previous one: delta maximises the normalised cross-correlation
// between the input that naturally follows the previous frame (its centre + hop) and the
// candidate. The search runs coarse on a 4x box-decimated copy (every 4th lag), then at full rate
// within +-3 samples of the coarse best, the speed-up of sox's tempo "quick seek" idea with a
// finer final step. Every output instant therefore comes from within `tolerance` of where the
// map puts it (plus, inside a frame, |1 - slope| x half a frame), which bounds the label error.

export interface WsolaOptions {
  sampleRate: number;
  /** Output length in samples. */
  outLength: number;
  /** Input position (samples, may be fractional) heard at output sample `outSample`. */
  inputPosition(outSample: number): number;
  /** Frame length in seconds (default WSOLA_FRAME_S). */
  frameS?: number;
  /** Largest shift of a frame from its mapped position, seconds (default WSOLA_TOLERANCE_S). */
  toleranceS?: number;
}

/** Defaults chosen by the measurements in test/voice-tempo.test.ts (see bench/README-voice.md). */
export const WSOLA_FRAME_S = 0.04;
export const WSOLA_TOLERANCE_S = 0.008;

const DECIMATION = 4;

/** Runs WSOLA (see the file header); returns `outLength` samples. */
export function wsola(x: Float32Array, o: WsolaOptions): Float32Array {
  const frame = 2 * Math.max(8, Math.round((o.sampleRate * (o.frameS ?? WSOLA_FRAME_S)) / 2 / DECIMATION) * DECIMATION);
  const half = frame >> 1;
  const hop = half;
  const tolerance = Math.max(0, Math.round(o.sampleRate * (o.toleranceS ?? WSOLA_TOLERANCE_S)));
  const out = new Float32Array(o.outLength);
  if (o.outLength === 0) return out;

  // Zero-padded copy so frames near the ends need no bounds checks; pad is a multiple of 4.
  const pad = Math.ceil((frame + tolerance + 2 * hop + 8) / DECIMATION) * DECIMATION;
  const n = x.length;
  const padded = new Float32Array(n + 2 * pad);
  padded.set(x, pad);
  const total = padded.length;
  // Prefix sums of squares (full rate and decimated) give each candidate's energy in O(1).
  const energy = new Float64Array(total + 1);
  for (let i = 0; i < total; i++) energy[i + 1] = energy[i] + padded[i] * padded[i];
  const dec = new Float32Array(Math.floor(total / DECIMATION));
  for (let i = 0; i < dec.length; i++) {
    const b = i * DECIMATION;
    dec[i] = 0.25 * (padded[b] + padded[b + 1] + padded[b + 2] + padded[b + 3]);
  }
  const decEnergy = new Float64Array(dec.length + 1);
  for (let i = 0; i < dec.length; i++) decEnergy[i + 1] = decEnergy[i] + dec[i] * dec[i];

  const window = new Float32Array(frame);
  for (let i = 0; i < frame; i++) window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / frame);
  const decFrame = frame / DECIMATION;
  const lastStart = total - frame - 1;
  const clampStart = (s: number) => Math.min(lastStart, Math.max(0, s));

  let prevStart = -1; // start (in padded) of the previous frame's input
  const frames = Math.ceil((o.outLength + half) / hop);
  for (let m = 0; m < frames; m++) {
    const center = m * hop;
    const nominal = clampStart(Math.round(o.inputPosition(center)) - half + pad);
    let start = nominal;
    if (prevStart >= 0 && tolerance > 0) {
      const natural = clampStart(prevStart + hop);
      // Coarse search, decimated domain.
      const tStart = Math.floor(natural / DECIMATION);
      const lo = Math.max(0, nominal - tolerance);
      const hi = Math.min(lastStart, nominal + tolerance);
      let bestScore = -Infinity;
      let bestStart = nominal;
      for (let s = lo; s <= hi; s += DECIMATION) {
        const cStart = Math.floor(s / DECIMATION);
        if (cStart + decFrame > dec.length || tStart + decFrame > dec.length) continue;
        let dot = 0;
        for (let i = 0; i < decFrame; i++) dot += dec[tStart + i] * dec[cStart + i];
        const e = decEnergy[cStart + decFrame] - decEnergy[cStart];
        const score = e > 0 ? dot / Math.sqrt(e) : 0;
        if (score > bestScore) {
          bestScore = score;
          bestStart = s;
        }
      }
      // Fine search, full rate, around the coarse best.
      const fLo = Math.max(lo, bestStart - (DECIMATION - 1));
      const fHi = Math.min(hi, bestStart + (DECIMATION - 1));
      bestScore = -Infinity;
      for (let s = fLo; s <= fHi; s++) {
        let d0 = 0;
        let d1 = 0;
        for (let i = 0; i < frame; i += 2) {
          d0 += padded[natural + i] * padded[s + i];
          d1 += padded[natural + i + 1] * padded[s + i + 1];
        }
        const e = energy[s + frame] - energy[s];
        const score = e > 0 ? (d0 + d1) / Math.sqrt(e) : 0;
        if (score > bestScore || (score === bestScore && Math.abs(s - nominal) < Math.abs(start - nominal))) {
          bestScore = score;
          start = s;
        }
      }
    }
    prevStart = start;
    // Overlap-add at output [center - half, center + half).
    const outStart = center - half;
    const from = Math.max(0, -outStart);
    const to = Math.min(frame, o.outLength - outStart);
    for (let i = from; i < to; i++) out[outStart + i] += window[i] * padded[start + i];
  }
  return out;
}
