// Level measurements over Float32 audio, full scale = 1.0. Sums run in Float64 (JS numbers), so
// an hour at 16 kHz sums 5.8e7 squares with a relative error near 1e-9.
import { energySimd } from "./simd.js";

const simdSums = new Float64Array(2);

/** Sum of squares of x[start, end). */
export function energy(x: Float32Array, start = 0, end = x.length): number {
  const from = Math.max(0, start);
  const to = Math.min(x.length, end);
  let a0 = 0;
  let a1 = 0;
  let i = from;
  // The SIMD kernel sums all but the last few samples into the same two accumulators, in order.
  const done = energySimd(x, from, to, simdSums);
  if (done !== null) {
    a0 = simdSums[0];
    a1 = simdSums[1];
    i = from + done;
  }
  for (; i + 1 < to; i += 2) {
    a0 += x[i] * x[i];
    a1 += x[i + 1] * x[i + 1];
  }
  if (i < to) a0 += x[i] * x[i];
  return a0 + a1;
}

/** Root mean square of x[start, end) (clamped to the array); 0 for an empty range. */
export function rms(x: Float32Array, start = 0, end = x.length): number {
  const from = Math.max(0, start);
  const to = Math.min(x.length, end);
  if (to <= from) return 0;
  return Math.sqrt(energy(x, from, to) / (to - from));
}

/**
 * RMS level in dBFS, 20 log10(rms) with full scale 1.0 (a full-scale sine reads -3.01 dBFS, a
 * full-scale square wave 0). Digital silence (and an empty array) gives -Infinity, which compares
 * below any threshold and survives JSON only as null: callers that print it should say "silent".
 */
export function rmsDbfs(x: Float32Array): number {
  const level = rms(x);
  return level > 0 ? 20 * Math.log10(level) : -Infinity;
}

/** Largest |x[i]|; 0 for an empty array. */
export function peakAbs(x: Float32Array): number {
  let peak = 0;
  for (let i = 0; i < x.length; i++) {
    const v = Math.abs(x[i]);
    if (v > peak) peak = v;
  }
  return peak;
}

/**
 * Signal-to-noise ratio in dB, 10 log10(P_signal / P_noise) with P the mean square of each array:
 * the energy ratio when, as in a mixture, both are the same length. A silent noise gives +Infinity,
 * a silent signal -Infinity, both silent NaN (no ratio exists).
 */
export function snrDb(signal: Float32Array, noise: Float32Array): number {
  const ps = signal.length > 0 ? energy(signal) / signal.length : 0;
  const pn = noise.length > 0 ? energy(noise) / noise.length : 0;
  if (ps === 0 && pn === 0) return NaN;
  return 10 * Math.log10(ps / pn);
}

/** Options for energyVad; durations in ms, levels in dB. */
export interface EnergyVadOptions {
  /** Analysis frame length (default 25 ms). */
  frameMs?: number;
  /** Frame hop (default 10 ms). */
  hopMs?: number;
  /** A frame is active within this many dB of the loudest frame (default 40). */
  thresholdDb?: number;
  /** ...and above this absolute frame level, mean-square power in dBFS (default -60). */
  floorDbfs?: number;
  /** Inactive gaps shorter than this between active regions are filled (default 200 ms). */
  hangoverMs?: number;
}

/**
 * Per-sample activity mask (1 = active) from a frame-energy detector.
 *
 * Frames of frameMs every hopMs (the last one may be short); a frame is active when its
 * mean-square level is within thresholdDb of the loudest frame and above floorDbfs. A run of active
 * frames becomes one active stretch whose edges are then placed at 1 ms resolution: it starts at
 * the first 1 ms block of its first frame that clears the same level, and ends after the last such
 * block of its last frame (a 25 ms frame alone would smear a sharp onset by up to 25 ms). The
 * hangover follows ITU-T P.56 (200 ms), applied as a bridge: an inactive gap shorter than
 * hangoverMs between two active stretches becomes active (word-internal pauses, stop closures),
 * while the outer edges of speech stay where the energy puts them.
 * Silent or too quiet input gives an all-zero mask.
 */
export function energyVad(x: Float32Array, sampleRate: number, opts: EnergyVadOptions = {}): Uint8Array {
  const frameMs = opts.frameMs ?? 25;
  const hopMs = opts.hopMs ?? 10;
  const thresholdDb = opts.thresholdDb ?? 40;
  const floorDbfs = opts.floorDbfs ?? -60;
  const hangoverMs = opts.hangoverMs ?? 200;
  if (!(sampleRate > 0)) throw new RangeError(`sampleRate must be positive, got ${sampleRate}`);
  if (!(frameMs > 0) || !(hopMs > 0)) throw new RangeError("frameMs and hopMs must be positive");
  const n = x.length;
  const mask = new Uint8Array(n);
  if (n === 0) return mask;
  const frameLength = Math.max(1, Math.round((frameMs * sampleRate) / 1000));
  const hop = Math.max(1, Math.round((hopMs * sampleRate) / 1000));
  const block = Math.max(1, Math.round(sampleRate / 1000));
  const bridge = Math.round((hangoverMs * sampleRate) / 1000);
  const frames = n <= frameLength ? 1 : Math.ceil((n - frameLength) / hop) + 1;
  const power = new Float64Array(frames);
  let loudest = 0;
  for (let f = 0; f < frames; f++) {
    const start = f * hop;
    const end = Math.min(n, start + frameLength);
    power[f] = energy(x, start, end) / (end - start);
    if (power[f] > loudest) loudest = power[f];
  }
  if (loudest === 0) return mask;
  // Compare powers, not dB: the floor is max(floorDbfs, loudest - thresholdDb) as a power.
  const floor = Math.max(10 ** (floorDbfs / 10), loudest * 10 ** (-thresholdDb / 10));
  const isActive = (f: number) => power[f] > 0 && power[f] >= floor;
  const blockClears = (start: number, end: number) => energy(x, start, end) >= floor * (end - start);
  let lastEnd = -1;
  for (let f = 0; f < frames; f++) {
    if (!isActive(f)) continue;
    let g = f;
    while (g + 1 < frames && isActive(g + 1)) g++;
    const firstFrameEnd = Math.min(n, f * hop + frameLength);
    const lastFrameEnd = Math.min(n, g * hop + frameLength);
    let start = f * hop;
    while (start + block < firstFrameEnd && !blockClears(start, start + block)) start += block;
    let end = lastFrameEnd;
    while (end - block > g * hop && !blockClears(end - block, end)) end -= block;
    if (end <= start) end = Math.min(n, start + block);
    const from = lastEnd >= 0 && start - lastEnd < bridge ? lastEnd : start;
    mask.fill(1, from, end);
    lastEnd = end;
    f = g;
  }
  return mask;
}

/**
 * RMS over the samples where `mask` is nonzero: the active speech level that an SNR should be set
 * against. If nothing is active (silence, or a mask of zeros) it falls back to the RMS of the
 * whole clip, so a caller always gets a usable level (0 only for digital silence).
 */
export function activeRms(x: Float32Array, mask: Uint8Array): number {
  if (mask.length !== x.length) throw new RangeError(`mask length ${mask.length} differs from signal length ${x.length}`);
  let sum = 0;
  let count = 0;
  for (let i = 0; i < x.length; i++) {
    if (mask[i] !== 0) {
      sum += x[i] * x[i];
      count++;
    }
  }
  return count > 0 ? Math.sqrt(sum / count) : rms(x);
}
