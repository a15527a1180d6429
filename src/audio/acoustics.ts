// Room-acoustic parameters of an impulse response (ISO 3382-1:2009 definitions): reverberation time
// from Schroeder's backward-integrated energy decay curve (M. R. Schroeder, "New method of
// measuring reverberation time", JASA 37, 1965) with T20 / T30 / EDT line fits, the direct-to-
// reverberant ratio and clarity C50.
//
// Noise: a measured RIR ends in a noise floor, and integrating the noise makes the EDC bend and
// overstate RT60. The integration is truncated where the decay meets the noise (the crosspoint found
// by Lundeby's iteration: A. Lundeby, T. E. Vigran, H. Bietz, M. Vorländer, "Uncertainties of
// measurements in room acoustics", Acustica 81, 1995) and the energy the decay would have had past
// it is added back from the fitted slope (their "compensation" C). A noise-free simulated RIR
// gives a crosspoint near its end and a compensation for the truncated tail.
import { directPathIndex } from "./rir.js";

export interface RirMeasurement {
  /** RT60 from the EDC fit over -5…-25 dB, × 3; NaN when the EDC does not reach -25 dB before the crosspoint. */
  rt60_t20_s: number;
  /** RT60 from the fit over -5…-35 dB, × 2; NaN when -35 dB is not reached. */
  rt60_t30_s: number;
  /** Early decay time: fit over 0…-10 dB from the direct path, × 6; NaN when -10 dB is not reached. */
  edt_s: number;
  /** Direct-to-reverberant ratio (dB): energy within ±2.5 ms of the direct path over the rest. */
  drr_db: number;
  /** Clarity (dB): energy up to 50 ms after the direct path over the energy after. */
  c50_db: number;
  /** Index of the direct path (first local maximum reaching half the peak; src/audio/rir.ts). */
  direct_delay_samples: number;
  /** The EDC in dB re total energy, one value every `edc_step_samples` samples; NaN past the crosspoint. */
  edc_db: Float32Array;
  edc_step_samples: number;
  /** Where the decay meets the noise floor (samples); the IR's length when no floor is found. */
  crosspoint_samples: number;
  /**
   * Fitted decay level at the direct path minus the noise level, dB (Lundeby); NaN when no decay
   * line was found. T20 needs 35 dB and T30 45 dB (ISO 3382-1: noise 10 dB under the range's bottom),
   * else they are NaN.
   */
  dynamic_range_db: number;
  /** RMS deviation (dB) of the EDC from its T20 / T30 line over the fit range; NaN with the fit. */
  t20_residual_db: number;
  t30_residual_db: number;
}

/** Points of the decimated EDC returned for plotting (at most). */
export const EDC_POINTS = 2000;

interface Line {
  slope: number;
  intercept: number;
  residualRms: number;
}

/** Least-squares line through (i, y[i]) for i in [from, to]; null with fewer than 2 points. */
function fitLine(y: ArrayLike<number>, from: number, to: number, x?: ArrayLike<number>): Line | null {
  const count = to - from + 1;
  if (count < 2) return null;
  let sx = 0;
  let sy = 0;
  for (let i = from; i <= to; i++) {
    sx += x ? x[i] : i;
    sy += y[i];
  }
  const mx = sx / count;
  const my = sy / count;
  let sxx = 0;
  let sxy = 0;
  for (let i = from; i <= to; i++) {
    const dx = (x ? x[i] : i) - mx;
    sxx += dx * dx;
    sxy += dx * (y[i] - my);
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let sr = 0;
  for (let i = from; i <= to; i++) {
    const r = y[i] - (intercept + slope * (x ? x[i] : i));
    sr += r * r;
  }
  return { slope, intercept, residualRms: Math.sqrt(sr / count) };
}

interface Envelope {
  /** Centre of each block (samples). */
  t: Float64Array;
  /** Mean energy per sample of each block, dB (absolute). */
  db: Float64Array;
}

function blockEnvelope(energy: Float64Array, start: number, blockLength: number): Envelope {
  const blocks = Math.floor((energy.length - start) / blockLength);
  const t = new Float64Array(blocks);
  const db = new Float64Array(blocks);
  for (let b = 0; b < blocks; b++) {
    let sum = 0;
    const from = start + b * blockLength;
    for (let i = from; i < from + blockLength; i++) sum += energy[i];
    t[b] = from + blockLength / 2;
    db[b] = 10 * Math.log10(sum / blockLength + 1e-300);
  }
  return { t, db };
}

function meanDb(energy: Float64Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += energy[i];
  return 10 * Math.log10(sum / Math.max(1, to - from) + 1e-300);
}

interface Truncation {
  /** End of the integration (exclusive), samples. */
  crosspoint: number;
  /** Energy added for the decay past the crosspoint. */
  compensation: number;
  /** Slope of the late decay (dB per sample), 0 when none was fitted. */
  slopeDb: number;
  /** Level of the fitted decay at the onset minus the noise level (dB); NaN when no decay was fitted. */
  dynamicRangeDb: number;
}

/**
 * Lundeby's iteration (the paper's steps 1–9): envelope in blocks, noise from the tail, a line
 * from the peak down to 10 dB above the noise, crosspoint where the line meets the noise, then
 * refine with blocks of ~5 per 10 dB, noise measured from 10 dB of decay past the crosspoint (at
 * least the last 10%), and the late slope fitted over the 20 dB that end 7.5 dB above the noise.
 */
function lundeby(energy: Float64Array, onset: number, sampleRate: number): Truncation {
  const n = energy.length;
  const none: Truncation = { crosspoint: n, compensation: 0, slopeDb: 0, dynamicRangeDb: NaN };
  const tailFrom = Math.max(onset + 1, Math.floor(0.9 * n));
  if (n - onset < 16) return none;
  let noiseDb = meanDb(energy, tailFrom, n);
  let blockLength = Math.max(1, Math.round(0.01 * sampleRate));
  let env = blockEnvelope(energy, onset, blockLength);
  if (env.db.length < 3) return none;
  let peak = 0;
  for (let b = 1; b < env.db.length; b++) if (env.db[b] > env.db[peak]) peak = b;
  let last = peak;
  while (last + 1 < env.db.length && env.db[last + 1] > noiseDb + 10) last++;
  let line = fitLine(env.db, peak, last, env.t);
  if (!line || !(line.slope < 0)) return none;
  let crosspoint = (noiseDb - line.intercept) / line.slope;
  for (let iteration = 0; iteration < 5; iteration++) {
    const samplesPer10Db = 10 / -line.slope;
    blockLength = Math.max(1, Math.round(samplesPer10Db / 5));
    const noiseFrom = Math.min(Math.round(crosspoint + samplesPer10Db), tailFrom);
    noiseDb = meanDb(energy, Math.max(onset + 1, noiseFrom), n);
    env = blockEnvelope(energy, onset, blockLength);
    if (env.db.length < 3) break;
    const top = noiseDb + 27.5;
    const bottom = noiseDb + 7.5;
    let from = -1;
    let to = -1;
    for (let b = 0; b < env.db.length; b++) {
      if (from < 0 && env.db[b] <= top) from = b;
      if (env.db[b] >= bottom) to = b;
      else if (from >= 0 && b > from) break;
    }
    if (from < 0 || to - from < 1) break;
    const next = fitLine(env.db, from, to, env.t);
    if (!next || !(next.slope < 0)) break;
    line = next;
    const previous = crosspoint;
    crosspoint = (noiseDb - line.intercept) / line.slope;
    if (Math.abs(crosspoint - previous) < blockLength) break;
  }
  if (!Number.isFinite(crosspoint)) return none;
  const end = Math.max(onset + 1, Math.min(n, Math.round(crosspoint)));
  // Energy of the fitted decay past the crosspoint: Σ_{i ≥ end} 10^{(a + s i) / 10}.
  const levelAtEnd = 10 ** ((line.intercept + line.slope * end) / 10);
  const ratio = 10 ** (line.slope / 10);
  const compensation = levelAtEnd / (1 - ratio);
  return {
    crosspoint: end,
    compensation: Number.isFinite(compensation) ? compensation : 0,
    slopeDb: line.slope,
    dynamicRangeDb: line.intercept + line.slope * onset - noiseDb,
  };
}

/**
 * Work arrays reused between calls (with a new room per item, measureRir runs once per item, and
 * fresh arrays of the RIR's length cost garbage collections): slot k as a view of exactly `length`
 * elements; contents undefined, every element read is written first.
 */
const workSlots: Float64Array[] = [];
function work(slot: number, length: number): Float64Array {
  let a = workSlots[slot];
  if (!a || a.length < length) a = workSlots[slot] = new Float64Array(Math.max(length, 2 * (a?.length ?? 0)));
  return a.subarray(0, length);
}

/** First index in [from, to) where edcDb <= level, or -1. */
function firstBelow(edcDb: Float64Array, level: number, from: number, to: number): number {
  for (let i = from; i < to; i++) if (edcDb[i] <= level) return i;
  return -1;
}

/**
 * Measures a RIR (any gain, any delay). Fits read the EDC between its first crossings of the range
 * ends; a range the EDC never reaches before the crosspoint, or whose bottom is less than 10 dB
 * above the noise, gives NaN for that figure (and only that one): a short or noisy RIR still gets
 * its DRR, C50, EDT and direct delay.
 */
export function measureRir(h: Float32Array, sampleRate: number): RirMeasurement {
  const n = h.length;
  const direct = directPathIndex(h);
  const energy = work(0, n);
  for (let i = 0; i < n; i++) energy[i] = h[i] * h[i];
  const step = Math.max(1, Math.ceil(n / EDC_POINTS));
  const result: RirMeasurement = {
    rt60_t20_s: NaN,
    rt60_t30_s: NaN,
    edt_s: NaN,
    drr_db: NaN,
    c50_db: NaN,
    direct_delay_samples: direct,
    edc_db: new Float32Array(Math.ceil(n / step)).fill(NaN),
    edc_step_samples: step,
    crosspoint_samples: n,
    dynamic_range_db: NaN,
    t20_residual_db: NaN,
    t30_residual_db: NaN,
  };
  if (n === 0) return result;
  const { crosspoint, compensation, slopeDb, dynamicRangeDb } = lundeby(energy, direct, sampleRate);
  result.dynamic_range_db = dynamicRangeDb;
  result.crosspoint_samples = crosspoint;
  // Backward integration, Float64.
  const edc = work(1, crosspoint);
  let acc = compensation;
  for (let i = crosspoint - 1; i >= 0; i--) {
    acc += energy[i];
    edc[i] = acc;
  }
  const total = edc[0];
  if (!(total > 0)) return result;
  // The EDC in dB where the fits read it: the fits reach down to -35 dB, and the EDC only falls, so
  // past its first point at or under -35 dB after the direct path (the T30 fit's last point) only
  // the plotted points are needed. The log is most of measureRir's cost on a long RIR.
  const edcDb = work(2, crosspoint);
  let computed = crosspoint;
  for (let i = 0; i < crosspoint; i++) {
    edcDb[i] = 10 * Math.log10(edc[i] / total);
    if (i >= direct && edcDb[i] <= -35) {
      computed = i + 1;
      break;
    }
  }
  for (let j = 0; j * step < crosspoint; j++) result.edc_db[j] = j * step < computed ? edcDb[j * step] : 10 * Math.log10(edc[j * step] / total);

  const fit = (upperDb: number, lowerDb: number): Line | null => {
    // ISO 3382-1 (5.3.3): the noise must sit at least 10 dB under the bottom of the range.
    if (dynamicRangeDb < -lowerDb + 10) return null;
    const from = firstBelow(edcDb, upperDb, direct, crosspoint);
    if (from < 0) return null;
    const to = firstBelow(edcDb, lowerDb, from, crosspoint);
    if (to < 0) return null;
    return fitLine(edcDb, from, to);
  };
  const t20 = fit(-5, -25);
  if (t20 && t20.slope < 0) {
    result.rt60_t20_s = -60 / t20.slope / sampleRate;
    result.t20_residual_db = t20.residualRms;
  }
  const t30 = fit(-5, -35);
  if (t30 && t30.slope < 0) {
    result.rt60_t30_s = -60 / t30.slope / sampleRate;
    result.t30_residual_db = t30.residualRms;
  }
  const to10 = firstBelow(edcDb, -10, direct, crosspoint);
  if (to10 > direct) {
    const edt = fitLine(edcDb, direct, to10);
    if (edt && edt.slope < 0) result.edt_s = -60 / edt.slope / sampleRate;
  }

  const halfWindow = Math.round(0.0025 * sampleRate);
  const from = Math.max(0, direct - halfWindow);
  const to = Math.min(crosspoint, direct + halfWindow + 1);
  let directEnergy = 0;
  for (let i = from; i < to; i++) directEnergy += energy[i];
  result.drr_db = 10 * Math.log10(directEnergy / (total - directEnergy));
  const at50 = direct + Math.round(0.05 * sampleRate);
  // Past the crosspoint the late energy is the fitted decay's.
  const late = at50 < crosspoint ? edc[at50] : compensation * 10 ** ((slopeDb * (at50 - crosspoint)) / 10);
  result.c50_db = 10 * Math.log10((total - late) / late);
  return result;
}
