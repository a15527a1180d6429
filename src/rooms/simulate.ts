// Shoebox room impulse responses: the image-source method (J. B. Allen and D. A. Berkley, "Image
// method for efficiently simulating small-room acoustics", JASA 65(4), 1979) up to a transition
// time, then a statistical late tail: Gaussian noise with the room's exponential decay (per octave
// band when absorption is), its level and spectrum matched, per octave band, to the image-source
// signal just before the transition. The
// hybrid is the one gpuRIR uses ("diffuse reverberation model" after Tdiff; Diaz-Guerra et al.,
// Multimed. Tools Appl. 80, 2021), which keeps long RT60s cheap: the ISM cost grows as t³, the tail's
// as t.
//
// Pure and deterministic: a RoomSpec gives the same samples on every run and machine. The only
// randomness, the tail's noise, comes from the project's counter-based Rng keyed by spec.seed and
// the mic index; everything else is arithmetic in Float64, rounded to Float32 once at the end.
import FFT from "fft.js";
import { Rng, hashWords } from "../plan/rng.js";
import {
  absorptionTable,
  bandGains,
  eyringRt60,
  imageCount,
  meanAbsorption,
  volume,
  type AbsorptionTable,
} from "./theory.js";
import {
  DEFAULT_BANDS_HZ,
  DEFAULT_C_M_S,
  DEFAULT_HIGHPASS_HZ,
  type DirectivityPattern,
  type MicDirectivity,
  type RoomSpec,
  type Vec3,
} from "./types.js";

// ---------------------------------------------------------------------------------------------
// Fractional delay: a Hann-windowed sinc of 81 taps (±40 samples, as pyroomacoustics), tabulated at
// 256 fractional phases so an image costs 81 multiply-adds and no trigonometry. Rounding the phase
// to 1/256 sample moves an arrival by at most 1/512 sample (0.12 µs at 16 kHz).

export const SINC_TAPS = 81;
const SINC_HALF = (SINC_TAPS - 1) / 2;
export const SINC_PHASES = 256;

let sincTable: Float64Array | null = null;

/** table[p * SINC_TAPS + k] = w(t) sinc(t), t = k - 40 - p / 256: tap k of a delay of (40 + p/256) samples past tap 0. */
export function sincTableFor(): Float64Array {
  if (sincTable) return sincTable;
  // One extra phase (p = 256, a whole-sample shift) so rounding never needs a carry.
  const table = new Float64Array((SINC_PHASES + 1) * SINC_TAPS);
  const halfWidth = SINC_HALF + 1; // the window reaches zero one tap beyond the last
  for (let p = 0; p <= SINC_PHASES; p++) {
    const frac = p / SINC_PHASES;
    for (let k = 0; k < SINC_TAPS; k++) {
      const t = k - SINC_HALF - frac;
      const sinc = t === 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t);
      const window = Math.abs(t) >= halfWidth ? 0 : 0.5 * (1 + Math.cos((Math.PI * t) / halfWidth));
      table[p * SINC_TAPS + k] = sinc * window;
    }
  }
  sincTable = table;
  return table;
}

// ---------------------------------------------------------------------------------------------
// Validation: every spec is checked before any work, with messages that name the field.

const PATTERN_A: Record<DirectivityPattern, number> = { omni: 1, subcardioid: 0.75, cardioid: 0.5, hypercardioid: 0.25, figure8: 0 };

/** Longest RIR accepted (s). */
export const MAX_LENGTH_S = 30;
/** Most image sources one RIR may need (a full ISM to 1 s in a 3 × 3 × 2.4 m room needs ~7e6). */
export const MAX_IMAGES = 5e7;
/** Images weaker than this fraction of the direct path's amplitude (-100 dB) are skipped. */
export const PRUNE_RELATIVE = 1e-5;

export interface PreparedRoom {
  dims: Vec3;
  source: Vec3;
  mics: Vec3[];
  /** Per mic: pattern constant a (1 = omni) and unit axis. */
  patterns: Array<{ a: number; axis: Vec3 }>;
  sampleRate: number;
  cMs: number;
  maxOrder: number;
  /** Images arriving at or after this time (s) are left out. */
  ismEndS: number;
  transitionS: number | null;
  lengthSamples: number;
  highpassHz: number;
  seed: number;
  absorption: AbsorptionTable;
  /** Pressure reflection coefficients β[wall][band] = sqrt(1 - α). */
  beta: number[][];
  /** Eyring RT60 per band (one value when absorption is broadband). */
  rt60Bands: number[];
}

function fmt(x: number): string {
  return String(Math.round(x * 1000) / 1000);
}

function fmtVec(v: readonly number[]): string {
  return `[${v.map(fmt).join(", ")}]`;
}

function isVec3(v: unknown): v is Vec3 {
  return Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === "number" && Number.isFinite(x));
}

function unitAxis(d: MicDirectivity): Vec3 {
  const az = (d.azimuth_deg * Math.PI) / 180;
  const el = (d.elevation_deg * Math.PI) / 180;
  return [Math.cos(el) * Math.cos(az), Math.cos(el) * Math.sin(az), Math.sin(el)];
}

/**
 * Checks a spec and fills its defaults (c = 343 m/s, high-pass 100 Hz); throws RangeError with a
 * message naming the field and the room ("mic 2 at [4.1, 1, 1] is outside the room 4 × 3 × 2.5 m").
 */
export function prepareRoom(spec: RoomSpec): PreparedRoom {
  if (spec === null || typeof spec !== "object") throw new RangeError("room spec must be an object");
  const dims = spec.dims_m;
  if (!isVec3(dims) || dims.some((l) => !(l > 0))) {
    throw new RangeError(`dims_m must be three positive lengths in metres, got ${JSON.stringify(dims)}`);
  }
  const roomText = `${dims.map(fmt).join(" × ")} m`;
  const inside = (p: Vec3) => p.every((x, i) => x > 0 && x < dims[i]);
  if (!isVec3(spec.source_m)) throw new RangeError(`source_m must be [x, y, z] in metres, got ${JSON.stringify(spec.source_m)}`);
  if (!inside(spec.source_m)) throw new RangeError(`source at ${fmtVec(spec.source_m)} is outside the room ${roomText}`);
  if (!Array.isArray(spec.mics_m) || spec.mics_m.length === 0) throw new RangeError("mics_m must list at least one microphone position");
  spec.mics_m.forEach((m, i) => {
    if (!isVec3(m)) throw new RangeError(`mic ${i} must be [x, y, z] in metres, got ${JSON.stringify(m)}`);
    if (!inside(m)) throw new RangeError(`mic ${i} at ${fmtVec(m)} is outside the room ${roomText}`);
    const r = Math.hypot(m[0] - spec.source_m[0], m[1] - spec.source_m[1], m[2] - spec.source_m[2]);
    if (r < 1e-3) throw new RangeError(`mic ${i} at ${fmtVec(m)} is ${r.toFixed(4)} m from the source; the direct path needs at least 1 mm`);
  });
  const sampleRate = spec.sample_rate;
  if (!Number.isInteger(sampleRate) || sampleRate < 1000 || sampleRate > 768000) {
    throw new RangeError(`sample_rate must be an integer in 1000..768000 Hz, got ${sampleRate}`);
  }
  const cMs = spec.c_m_s ?? DEFAULT_C_M_S;
  if (!(cMs > 0) || !Number.isFinite(cMs)) throw new RangeError(`c_m_s must be a positive speed of sound in m/s, got ${cMs}`);
  const length = spec.length_s;
  if (!(length > 0) || length > MAX_LENGTH_S) throw new RangeError(`length_s must be in (0, ${MAX_LENGTH_S}] s, got ${length}`);
  const lengthSamples = Math.ceil(length * sampleRate - 1e-9);
  const maxOrder = spec.max_order ?? Infinity;
  if (maxOrder !== Infinity && !(Number.isInteger(maxOrder) && maxOrder >= 0)) {
    throw new RangeError(`max_order must be a non-negative integer, got ${maxOrder}`);
  }
  const maxTime = spec.max_time_s ?? Infinity;
  if (!(maxTime > 0)) throw new RangeError(`max_time_s must be positive, got ${maxTime}`);
  const transition = spec.transition_s ?? null;
  if (transition !== null && !(transition > 0 && Number.isFinite(transition))) {
    throw new RangeError(`transition_s must be a positive time in seconds (or null for no tail), got ${transition}`);
  }
  const tailOn = transition !== null && transition < length;
  if (tailOn && maxTime < transition) {
    throw new RangeError(`max_time_s ${maxTime} s is before transition_s ${transition} s: the tail would start after a gap`);
  }
  const highpassHz = spec.highpass_hz === undefined ? DEFAULT_HIGHPASS_HZ : (spec.highpass_hz ?? 0);
  if (!(highpassHz >= 0) || highpassHz >= sampleRate / 2) {
    throw new RangeError(`highpass_hz must be in [0, ${sampleRate / 2}) Hz, got ${highpassHz}`);
  }
  const seed = spec.seed;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed must be a 32-bit unsigned integer, got ${seed}`);

  const absorption = absorptionTable(spec.absorption);
  const means = meanAbsorption(dims, absorption);
  const rt60Bands = means.map((a) => eyringRt60(dims, a, cMs));
  if (tailOn) {
    means.forEach((a, b) => {
      if (!(a > 0)) {
        const band = absorption.bandsHz ? ` at ${absorption.bandsHz[b]} Hz` : "";
        throw new RangeError(`the late tail needs some absorption: mean α${band} is 0, so RT60 would be infinite`);
      }
    });
  }

  let patterns: Array<{ a: number; axis: Vec3 }>;
  const dir = spec.directivity;
  if (dir === undefined || dir === null) patterns = spec.mics_m.map(() => ({ a: 1, axis: [1, 0, 0] as Vec3 }));
  else {
    const list = Array.isArray(dir) ? dir : spec.mics_m.map(() => dir);
    if (list.length !== spec.mics_m.length) {
      throw new RangeError(`directivity lists ${list.length} patterns for ${spec.mics_m.length} mics`);
    }
    patterns = list.map((d, i) => {
      if (!d || !(d.pattern in PATTERN_A)) {
        throw new RangeError(`directivity of mic ${i}: pattern must be one of ${Object.keys(PATTERN_A).join(", ")}, got ${JSON.stringify(d?.pattern)}`);
      }
      if (!Number.isFinite(d.azimuth_deg) || !Number.isFinite(d.elevation_deg)) {
        throw new RangeError(`directivity of mic ${i}: azimuth_deg and elevation_deg must be finite degrees`);
      }
      return { a: PATTERN_A[d.pattern], axis: unitAxis(d) };
    });
  }

  const ismEndS = Math.min(tailOn ? transition! : Infinity, maxTime, (lengthSamples + SINC_HALF) / sampleRate);
  {
    // Images within reach: by time, and by order (|order| sums ≤ N fill an octahedron of ~(4/3)N³).
    const images = Math.min(imageCount(dims, ismEndS, cMs), maxOrder === Infinity ? Infinity : (4 / 3) * (maxOrder + 2) ** 3);
    if (images > MAX_IMAGES) {
      throw new RangeError(
        `the image-source part would need ~${images.toExponential(1)} images (room ${roomText}, ${fmt(ismEndS)} s); set transition_s, max_time_s or max_order`,
      );
    }
  }
  return {
    dims: [...dims] as Vec3,
    source: [...spec.source_m] as Vec3,
    mics: spec.mics_m.map((m) => [...m] as Vec3),
    patterns,
    sampleRate,
    cMs,
    maxOrder,
    ismEndS,
    transitionS: tailOn ? transition : null,
    lengthSamples,
    highpassHz,
    seed,
    absorption,
    beta: absorption.alpha.map((row) => row.map((a) => Math.sqrt(1 - a))),
    rt60Bands,
  };
}

// ---------------------------------------------------------------------------------------------
// Image sources. Along one axis of length L, with source coordinate s and mic coordinate m, the
// images sit at (1 - 2q) s + 2 n L (q ∈ {0, 1}, n ∈ Z) and reflect |n - q| times off the wall at
// 0 and |n| times off the wall at L (Allen & Berkley eq. 10). A 3-D image is a triple of axis
// images: its distance vector is the three axis offsets, its order the sum, its band gains the
// products. The per-axis lists are built once and sorted by |offset|, so the triple loop stops as
// soon as an offset alone is beyond reach.

export interface AxisImages {
  offset: Float64Array;
  order: Int32Array;
  /** gain[i * bands + b] */
  gain: Float64Array;
  count: number;
}

export function axisImages(length: number, s: number, m: number, betaLo: number[], betaHi: number[], maxDist: number, maxOrder: number): AxisImages {
  const bands = betaLo.length;
  let nMax = Math.ceil((maxDist + length) / (2 * length)) + 1;
  if (maxOrder !== Infinity) nMax = Math.min(nMax, Math.ceil(maxOrder / 2) + 1);
  const rows: Array<{ offset: number; order: number; gain: number[] }> = [];
  for (let n = -nMax; n <= nMax; n++) {
    for (let q = 0; q <= 1; q++) {
      const offset = (1 - 2 * q) * s + 2 * n * length - m;
      if (Math.abs(offset) > maxDist) continue;
      const lo = Math.abs(n - q);
      const hi = Math.abs(n);
      if (lo + hi > maxOrder) continue;
      const gain: number[] = [];
      for (let b = 0; b < bands; b++) gain.push(betaLo[b] ** lo * betaHi[b] ** hi);
      rows.push({ offset, order: lo + hi, gain });
    }
  }
  rows.sort((a, b) => Math.abs(a.offset) - Math.abs(b.offset) || a.offset - b.offset);
  const out: AxisImages = {
    offset: new Float64Array(rows.length),
    order: new Int32Array(rows.length),
    gain: new Float64Array(rows.length * bands),
    count: rows.length,
  };
  rows.forEach((r, i) => {
    out.offset[i] = r.offset;
    out.order[i] = r.order;
    for (let b = 0; b < bands; b++) out.gain[i * bands + b] = r.gain[b];
  });
  return out;
}

/** What the image-source stage of one mic produced (here, or by the GPU kernel src/gpu/kernels/rooms.ts). */
export interface IsmResult {
  /** Interleaved per-band impulse trains, acc[n * bands + b], n < lengthSamples. */
  acc: Float64Array;
  images: number;
  windowImages: number;
  directSamples: number;
}

function imageSources(room: PreparedRoom, mic: number, windowStartS: number): IsmResult {
  const { dims, source, sampleRate: fs, cMs, maxOrder, beta, lengthSamples: n } = room;
  const m = room.mics[mic];
  const { a: patternA, axis } = room.patterns[mic];
  const bands = beta[0].length;
  const maxDist = room.ismEndS * cMs;
  const maxDist2 = maxDist * maxDist;
  const ax = axisImages(dims[0], source[0], m[0], beta[0], beta[1], maxDist, maxOrder);
  const ay = axisImages(dims[1], source[1], m[1], beta[2], beta[3], maxDist, maxOrder);
  const az = axisImages(dims[2], source[2], m[2], beta[4], beta[5], maxDist, maxOrder);
  const table = sincTableFor();
  // A reused array per mic (finishRoom consumes it before the next simulation), zeroed here.
  const acc = scratch(SLOT_ISM + mic, n * bands).subarray(0, n * bands).fill(0);
  const gains = new Float64Array(bands);
  const samplesPerMetre = fs / cMs;
  const direct = Math.hypot(m[0] - source[0], m[1] - source[1], m[2] - source[2]);
  const pruneBelow = PRUNE_RELATIVE / (4 * Math.PI * direct);
  const windowFrom = windowStartS * cMs;
  const windowTo = room.transitionS !== null ? room.transitionS * cMs : -1;
  const directional = patternA !== 1;
  const [ux, uy, uz] = axis;
  let images = 0;
  let windowImages = 0;

  for (let ix = 0; ix < ax.count; ix++) {
    const dx = ax.offset[ix];
    const dx2 = dx * dx;
    if (dx2 > maxDist2) break;
    const ox = ax.order[ix];
    if (ox > maxOrder) continue;
    for (let iy = 0; iy < ay.count; iy++) {
      const dy = ay.offset[iy];
      const dxy2 = dx2 + dy * dy;
      if (dxy2 > maxDist2) break;
      const oxy = ox + ay.order[iy];
      if (oxy > maxOrder) continue;
      for (let iz = 0; iz < az.count; iz++) {
        const dz = az.offset[iz];
        const d2 = dxy2 + dz * dz;
        if (d2 >= maxDist2) break;
        if (oxy + az.order[iz] > maxOrder) continue;
        const dist = Math.sqrt(d2);
        let amp = 1 / (4 * Math.PI * dist);
        if (directional) amp *= patternA + ((1 - patternA) * (dx * ux + dy * uy + dz * uz)) / dist;
        let peak = 0;
        for (let b = 0; b < bands; b++) {
          const g = amp * ax.gain[ix * bands + b] * ay.gain[iy * bands + b] * az.gain[iz * bands + b];
          gains[b] = g;
          const mag = g < 0 ? -g : g;
          if (mag > peak) peak = mag;
        }
        if (peak < pruneBelow) continue;
        images++;
        if (dist >= windowFrom && dist < windowTo) windowImages++;
        const delay = dist * samplesPerMetre;
        let whole = Math.floor(delay);
        const phase = Math.round((delay - whole) * SINC_PHASES);
        const start = whole - SINC_HALF;
        const rowAt = phase * SINC_TAPS;
        const k0 = start < 0 ? -start : 0;
        const k1 = Math.min(SINC_TAPS, n - start);
        if (bands === 1) {
          const g = gains[0];
          for (let k = k0; k < k1; k++) acc[start + k] += g * table[rowAt + k];
        } else {
          for (let k = k0; k < k1; k++) {
            const t = table[rowAt + k];
            const at = (start + k) * bands;
            for (let b = 0; b < bands; b++) acc[at + b] += gains[b] * t;
          }
        }
      }
    }
  }
  return { acc, images, windowImages, directSamples: direct * samplesPerMetre };
}

// ---------------------------------------------------------------------------------------------
// The late tail.
//
// Level: the image-source RIR of a shoebox is not white: below the Schroeder frequency its energy
// sits in the room's modes, and the lattice of images adds a large low-frequency part that an
// incoherent sum of image energies misses by 4–7 dB. So the tail is matched to what the ISM signal
// actually holds: its energy per octave band in a window just before the transition (after the
// same high-pass the output gets), extrapolated to the transition along the band's decay. The tail
// then continues the ISM's level and spectral balance, and the EDC has no step at the junction.
// Decay: Eyring's, per band, from the spec's absorption (the diffuse-field decay; a shoebox ISM
// alone decays more slowly than Eyring and bends, because grazing image paths hit few walls).

// The tail's noise is drawn in the frequency domain (random phases, flat magnitude): a periodic
// white noise whose band filtering, done there by multiplication, is exact, with no wrap-around to
// keep clear of and no forward transform. One real inverse FFT per band group then gives it in time.

/** Fewer images than this in the matching window and the level comes from diffuse-field theory instead. */
const MIN_WINDOW_IMAGES = 16;

interface TailPlan {
  bandsHz: number[];
  /** Per band: energy per sample at the transition, and energy decay per sample. */
  level: number[];
  decayPerSample: number[];
  fromImages: boolean;
}

/** Window of the ISM whose energy sets the tail level: the last two thirds of [direct, transition). */
function matchingWindowStartS(room: PreparedRoom): number {
  let latestDirect = 0;
  for (const m of room.mics) latestDirect = Math.max(latestDirect, Math.hypot(m[0] - room.source[0], m[1] - room.source[1], m[2] - room.source[2]));
  const tDirect = latestDirect / room.cMs;
  return tDirect + Math.max(0, room.transitionS! - tDirect) / 3;
}

/** |H(e^{jω})|² of allenBerkleyHighpass. */
function highpassPowerGain(cutoffHz: number, sampleRate: number, frequencyHz: number): number {
  if (!(cutoffHz > 0)) return 1;
  const w = (2 * Math.PI * cutoffHz) / sampleRate;
  const r1 = Math.exp(-w);
  const b1 = 2 * r1 * Math.cos(w);
  const b2 = -r1 * r1;
  const om = (2 * Math.PI * frequencyHz) / sampleRate;
  const c1 = Math.cos(om);
  const s1 = Math.sin(om);
  const c2 = Math.cos(2 * om);
  const s2 = Math.sin(2 * om);
  // numerator 1 - (1 + r1) z^-1 + r1 z^-2, denominator 1 - b1 z^-1 - b2 z^-2, z^-1 = e^{-jω}
  const nr = 1 - (1 + r1) * c1 + r1 * c2;
  const ni = (1 + r1) * s1 - r1 * s2;
  const dr = 1 - b1 * c1 - b2 * c2;
  const di = b1 * s1 + b2 * s2;
  return (nr * nr + ni * ni) / (dr * dr + di * di);
}

/** Per band: Σ over bins of the split's gain² times the high-pass's power gain, and Σ gain²; kept per (bands, rate, size, cut-off). */
const bandPowerTables = new Map<string, { hpGain: Float64Array; maskPower: Float64Array }>();
function bandPowers(bandsHz: number[], fs: number, size: number, highpassHz: number, gains: Float64Array): { hpGain: Float64Array; maskPower: Float64Array } {
  const key = `${bandsHz.join(",")}|${fs}|${size}|${highpassHz}`;
  let t = bandPowerTables.get(key);
  if (!t) {
    const bands = bandsHz.length;
    t = { hpGain: new Float64Array(bands), maskPower: new Float64Array(bands) };
    for (let bin = 0; bin <= size / 2; bin++) {
      const hp = highpassPowerGain(highpassHz, fs, (bin * fs) / size);
      for (let b = 0; b < bands; b++) {
        const g2 = gains[bin * bands + b] * gains[bin * bands + b];
        t.hpGain[b] += g2 * hp;
        t.maskPower[b] += g2;
      }
    }
    if (bandPowerTables.size >= 64) bandPowerTables.delete(bandPowerTables.keys().next().value!);
    bandPowerTables.set(key, t);
  }
  return t;
}

/**
 * Band levels of the tail. The window's spectrum is averaged per band with the band split's
 * weights squared; for white noise of variance σ² over J samples the mean |X_k|² is J σ², which
 * turns the band average into an equivalent variance, referred to the transition along the band's
 * decay and divided by the high-pass's gain on that band (the tail goes through it afterwards).
 */
function planTail(room: PreparedRoom, ismHighpassed: Float64Array, windowImages: number, mic: number, windowStartS: number): TailPlan {
  const fs = room.sampleRate;
  const bandsHz = room.absorption.bandsHz ?? DEFAULT_BANDS_HZ;
  const rt60 = room.absorption.bandsHz ? room.rt60Bands : bandsHz.map(() => room.rt60Bands[0]);
  const decayPerSample = rt60.map((t) => (6 * Math.LN10) / (t * fs));
  const nTr = Math.min(room.lengthSamples, Math.round(room.transitionS! * fs));
  const nW0 = Math.max(0, Math.min(nTr - 1, Math.round(windowStartS * fs)));
  const j = nTr - nW0;
  const size = nextPow2(Math.max(j, Math.ceil(fs / 40)));
  const half = size / 2;
  const bands = bandsHz.length;
  const gains = gainTable(bandsHz, fs, size);
  const { hpGain, maskPower } = bandPowers(bandsHz, fs, size, room.highpassHz, gains);
  if (windowImages < MIN_WINDOW_IMAGES || j < 8) {
    const a = room.patterns[mic].a;
    const diffuseGain = a * a + ((1 - a) * (1 - a)) / 3;
    const level = decayPerSample.map((k) => ((diffuseGain * room.cMs) / (4 * Math.PI * volume(room.dims) * fs)) * Math.exp(-k * nTr));
    return { bandsHz, level, decayPerSample, fromImages: false };
  }
  const fft = fftOf(size);
  const x = scratch(4, size).fill(0, 0, size);
  for (let i = 0; i < j; i++) x[i] = ismHighpassed[nW0 + i];
  const spec = scratch(5, 2 * size);
  fft.realTransform(spec, x);
  const level = bandsHz.map((_, b) => {
    let weighted = 0;
    for (let bin = 0; bin <= half; bin++) {
      const g2 = gains[bin * bands + b] * gains[bin * bands + b];
      if (g2 === 0) continue;
      weighted += g2 * (spec[2 * bin] * spec[2 * bin] + spec[2 * bin + 1] * spec[2 * bin + 1]);
    }
    if (!(maskPower[b] > 0)) return 0;
    const variance = weighted / maskPower[b] / j;
    // The window's mean variance is P0 (1/j) Σ_{i=1..j} e^{k i}, P0 the value at the transition.
    const k = decayPerSample[b];
    const meanGrowth = (Math.exp(k) * Math.expm1(k * j)) / Math.expm1(k) / j;
    const hp = hpGain[b] / maskPower[b];
    return hp > 0 ? variance / meanGrowth / hp : 0;
  });
  return { bandsHz, level, decayPerSample, fromImages: true };
}

/**
 * The tail from sample nTr on, from the mic's noise spectrum (noiseSpectra: bins 0..size/2): split
 * into bands, each band scaled by sqrt(level), back to time and given its decay. When every band
 * decays alike the split collapses into one spectral shaping filter (one inverse FFT).
 */
function synthesizeTail(plan: TailPlan, spectrum: Float64Array, out: Float64Array, offset: number, length: number, fs: number): void {
  const size = spectrum.length - 2;
  const half = size / 2;
  const bands = plan.bandsHz.length;
  const gains = gainTable(plan.bandsHz, fs, size);
  const amplitude = plan.level.map((l) => Math.sqrt(l));
  const filtered = scratch(0, size + 2);
  const time = scratch(1, size);
  const sameDecay = plan.decayPerSample.every((k) => k === plan.decayPerSample[0]);
  const groups: number[][] = sameDecay ? [plan.bandsHz.map((_, b) => b)] : plan.bandsHz.map((_, b) => [b]);
  const weight = new Float64Array(bands);
  for (const group of groups) {
    weight.fill(0);
    for (const b of group) weight[b] = amplitude[b];
    for (let bin = 0, at = 0; bin <= half; bin++, at += bands) {
      let g = 0;
      for (let b = 0; b < bands; b++) g += gains[at + b] * weight[b];
      filtered[2 * bin] = g * spectrum[2 * bin];
      filtered[2 * bin + 1] = g * spectrum[2 * bin + 1];
    }
    realInverse(filtered, size, time);
    const step = Math.exp(-plan.decayPerSample[group[0]] / 2);
    let env = 1;
    for (let i = 0; i < length; i++, env *= step) out[offset + i] += env * time[i];
  }
}

/**
 * Float64 work arrays reused between simulations (a room makes several of tens of thousands of
 * samples; fresh ones cost page faults and garbage collections): slot k, at least `length` long,
 * contents undefined. Simulation is synchronous, so one set per thread serves every call.
 */
const scratchSlots: Float64Array[] = [];
/** Slots: 0-5 the tail's work arrays; SLOT_ISM + mic the image-source sums; SLOT_NOISE + mic the noise spectra. */
const SLOT_ISM = 8;
const SLOT_NOISE = 8 + 1024;
function scratch(slot: number, length: number): Float64Array {
  let a = scratchSlots[slot];
  if (!a || a.length < length) a = scratchSlots[slot] = new Float64Array(Math.max(length, 2 * (a?.length ?? 0)));
  return a;
}

/** cos, sin of 2π p / NOISE_PHASES: the noise's phases, from 12 random bits per bin. */
const NOISE_PHASES = 4096;
const phaseCos = Float64Array.from({ length: NOISE_PHASES }, (_, p) => Math.cos((2 * Math.PI * p) / NOISE_PHASES));
const phaseSin = Float64Array.from({ length: NOISE_PHASES }, (_, p) => Math.sin((2 * Math.PI * p) / NOISE_PHASES));

/**
 * The real signal x[0, size) whose spectrum X (bins 0..size/2, interleaved re, im; Hermitian) is
 * given, by one complex inverse FFT of size / 2: z[n] = x[2n] + j x[2n+1] is the inverse
 * transform of Z[k] = E[k] + j O[k], E[k] = X[k] + conj(X[M-k]), O[k] = (X[k] - conj(X[M-k])) e^{j2πk/N},
 * halved (M = size / 2).
 */
function realInverse(spectrum: Float64Array, size: number, out: Float64Array): void {
  const m = size / 2;
  const fft = fftOf(m);
  const { cos, sin } = twiddlesOf(size);
  const z = scratch(2, 2 * m);
  for (let k = 0; k < m; k++) {
    const ar = spectrum[2 * k];
    const ai = spectrum[2 * k + 1];
    const br = spectrum[2 * (m - k)];
    const bi = -spectrum[2 * (m - k) + 1];
    const dr = ar - br;
    const di = ai - bi;
    const or = dr * cos[k] - di * sin[k];
    const oi = dr * sin[k] + di * cos[k];
    z[2 * k] = ar + br - oi;
    z[2 * k + 1] = ai + bi + or;
  }
  const time = scratch(3, 2 * m);
  fft.inverseTransform(time, z);
  for (let n = 0; n < m; n++) {
    out[2 * n] = 0.5 * time[2 * n];
    out[2 * n + 1] = 0.5 * time[2 * n + 1];
  }
}

const twiddles = new Map<number, { cos: Float64Array; sin: Float64Array }>();
function twiddlesOf(size: number): { cos: Float64Array; sin: Float64Array } {
  let t = twiddles.get(size);
  if (!t) {
    const m = size / 2;
    t = { cos: new Float64Array(m), sin: new Float64Array(m) };
    for (let k = 0; k < m; k++) {
      t.cos[k] = Math.cos((2 * Math.PI * k) / size);
      t.sin[k] = Math.sin((2 * Math.PI * k) / size);
    }
    twiddles.set(size, t);
  }
  return t;
}

/**
 * bandGains on the bins 0..size/2 of a `size`-point transform at `fs`, as a flat table
 * [bin * bands + band]; the few tables in use are kept (per bands, rate and size).
 */
const gainTables = new Map<string, Float64Array>();
function gainTable(bandsHz: number[], fs: number, size: number): Float64Array {
  const key = `${bandsHz.join(",")}|${fs}|${size}`;
  let table = gainTables.get(key);
  if (!table) {
    const bands = bandsHz.length;
    table = new Float64Array((size / 2 + 1) * bands);
    for (let bin = 0; bin <= size / 2; bin++) table.set(bandGains(bandsHz, (bin * fs) / size), bin * bands);
    if (gainTables.size >= 16) gainTables.delete(gainTables.keys().next().value!);
    gainTables.set(key, table);
  }
  return table;
}

const fftPlans = new Map<number, FFT>();
function fftOf(size: number): FFT {
  let f = fftPlans.get(size);
  if (!f) {
    f = new FFT(size);
    fftPlans.set(size, f);
  }
  return f;
}

function nextPow2(n: number): number {
  let p = 2;
  while (p < n) p *= 2;
  return p;
}

/**
 * Spectra (bins 0..size/2, interleaved re, im) of unit-variance white noises for M mics, mixed per
 * frequency so their cross-spectra follow the spherically isotropic (diffuse) field coherence
 * sin(ω d / c) / (ω d / c) between mics d apart (Cook et al., JASA 27, 1955; the mixing as in Habets
 * & Gannot, "Generating sensor signals in isotropic noise fields", JASA 122, 2007, with a Cholesky
 * factor per bin). Each mic's noise is drawn in the frequency domain: magnitude sqrt(size) in every
 * bin (so the time signal has unit variance) and a uniform random phase (DC and Nyquist: a random
 * sign), from its own Rng stream keyed by (spec.seed, mic index). By the central limit theorem its
 * samples are Gaussian; its band energies are exact rather than random, which steadies the tail's
 * level. The coherence is the omni one for every pattern (directional mics have lower diffuse
 * coherence: an approximation).
 */
function noiseSpectra(room: PreparedRoom, size: number): Float64Array[] {
  const mics = room.mics.length;
  const half = size / 2;
  const amp = Math.sqrt(size);
  const spectra = room.mics.map((_, i) => {
    const rng = new Rng(hashWords(room.seed, 0x5441494c, i));
    const spec = scratch(SLOT_NOISE + i, size + 2).subarray(0, size + 2);
    spec[0] = rng.u32() & 1 ? amp : -amp;
    spec[1] = 0;
    // Two 12-bit phases from each 32-bit draw.
    let draw = 0;
    for (let bin = 1; bin < half; bin++) {
      let p: number;
      if (bin & 1) {
        draw = rng.u32();
        p = draw >>> 20;
      } else p = (draw >>> 4) & (NOISE_PHASES - 1);
      spec[2 * bin] = amp * phaseCos[p];
      spec[2 * bin + 1] = amp * phaseSin[p];
    }
    spec[size] = rng.u32() & 1 ? amp : -amp;
    spec[size + 1] = 0;
    return spec;
  });
  if (mics === 1) return spectra;
  const dist: number[][] = room.mics.map((p) => room.mics.map((q) => Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2])));
  const chol = new Float64Array(mics * mics);
  const mixedRe = new Float64Array(mics);
  const mixedIm = new Float64Array(mics);
  for (let bin = 0; bin <= half; bin++) {
    const omega = (2 * Math.PI * bin * room.sampleRate) / size;
    // Cholesky of Γ with a little diagonal loading (Γ is singular for coincident mics and at DC).
    for (let i = 0; i < mics; i++) {
      for (let j = 0; j <= i; j++) {
        const x = (omega * dist[i][j]) / room.cMs;
        let sum = i === j ? 1 + 1e-9 : x === 0 ? 1 : Math.sin(x) / x;
        for (let k = 0; k < j; k++) sum -= chol[i * mics + k] * chol[j * mics + k];
        if (i === j) chol[i * mics + i] = Math.sqrt(Math.max(sum, 1e-12));
        else chol[i * mics + j] = sum / chol[j * mics + j];
      }
    }
    for (let i = 0; i < mics; i++) {
      let re = 0;
      let im = 0;
      for (let j = 0; j <= i; j++) {
        re += chol[i * mics + j] * spectra[j][2 * bin];
        im += chol[i * mics + j] * spectra[j][2 * bin + 1];
      }
      mixedRe[i] = re;
      mixedIm[i] = im;
    }
    for (let i = 0; i < mics; i++) {
      spectra[i][2 * bin] = mixedRe[i];
      spectra[i][2 * bin + 1] = mixedIm[i];
    }
  }
  return spectra;
}

/**
 * Allen & Berkley's DC-removing high-pass (their appendix; the recursion as in Habets'
 * rir_generator): two poles at r e^{±jω}, zeros at 1 and r, r = e^{-ω}, ω = 2π fc / fs.
 */
export function allenBerkleyHighpass(x: Float64Array, cutoffHz: number, sampleRate: number): void {
  const w = (2 * Math.PI * cutoffHz) / sampleRate;
  const r1 = Math.exp(-w);
  const b1 = 2 * r1 * Math.cos(w);
  const b2 = -r1 * r1;
  const a1 = -(1 + r1);
  let y1 = 0;
  let y2 = 0;
  for (let i = 0; i < x.length; i++) {
    const y0 = b1 * y1 + b2 * y2 + x[i];
    x[i] = y0 + a1 * y1 + r1 * y2;
    y2 = y1;
    y1 = y0;
  }
}

/**
 * Sums per-band impulse trains through the complementary octave-band split (theory.ts bandGains),
 * zero-phase in the frequency domain. The transform is padded by 0.1 s so the split's short
 * two-sided ringing wraps into the padding, never onto the RIR.
 */
function combineBands(acc: Float64Array, bands: number, bandsHz: number[], n: number, fs: number): Float64Array {
  const size = nextPow2(n + Math.max(256, Math.ceil(0.1 * fs)));
  const fft = fftOf(size);
  const half = size / 2;
  const sum = new Float64Array(2 * size);
  const spec = new Float64Array(2 * size);
  const x = new Float64Array(size);
  const gains = gainTable(bandsHz, fs, size);
  for (let b = 0; b < bands; b++) {
    for (let i = 0; i < n; i++) x[i] = acc[i * bands + b];
    fft.realTransform(spec, x);
    for (let bin = 0; bin <= half; bin++) {
      const g = gains[bin * bands + b];
      if (g === 0) continue;
      sum[2 * bin] += g * spec[2 * bin];
      sum[2 * bin + 1] += g * spec[2 * bin + 1];
    }
  }
  fft.completeSpectrum(sum);
  const time = new Float64Array(2 * size);
  fft.inverseTransform(time, sum);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = time[2 * i];
  return out;
}

/** Facts about one simulation, for metadata and tests. */
export interface SimulationInfo {
  /** Image sources used, per mic (after pruning). */
  images: number[];
  /** Eyring RT60 per band (s); one value when absorption is broadband. */
  rt60Bands: number[];
  bandsHz: number[] | null;
  /** When the tail starts (s), or null. */
  transitionS: number | null;
  /** Per mic: the tail's bands, energy per sample at the transition per band, and whether it was matched to the images. */
  tail: Array<{ bandsHz: number[]; level: number[]; fromImages: boolean } | null>;
  /** Direct-path delay per mic, in samples (fractional). */
  directSamples: number[];
}

/** Simulates one room: one RIR per mic, plus facts about the simulation. */
export function simulateRoomWithInfo(spec: RoomSpec): { rirs: Float32Array[]; info: SimulationInfo } {
  const room = prepareRoom(spec);
  const windowStartS = ismWindowStartS(room);
  return finishRoom(room, room.mics.map((_, mic) => imageSources(room, mic, windowStartS)));
}

/** Start (s) of the window whose image count and energy set the tail (Infinity without a tail): imageSources' windowStartS. */
export function ismWindowStartS(room: PreparedRoom): number {
  return room.transitionS !== null ? matchingWindowStartS(room) : Infinity;
}

/**
 * Everything after the image sources, given their result per mic (in mic order): the band split,
 * the late tail (its seeded noise and level matching) and the high-pass. Shared by the CPU path
 * and the GPU image-source kernel.
 */
export function finishRoom(room: PreparedRoom, isms: IsmResult[]): { rirs: Float32Array[]; info: SimulationInfo } {
  const n = room.lengthSamples;
  const fs = room.sampleRate;
  const bands = room.beta[0].length;
  const bandsHz = room.absorption.bandsHz;
  const tailOn = room.transitionS !== null;
  const windowStartS = ismWindowStartS(room);
  const nTr = tailOn ? Math.min(n, Math.round(room.transitionS! * fs)) : n;
  const tailLength = n - nTr;
  const noise = tailOn && tailLength > 0 ? noiseSpectra(room, nextPow2(Math.max(4, tailLength))) : [];
  const info: SimulationInfo = { images: [], rt60Bands: room.rt60Bands, bandsHz, transitionS: room.transitionS, tail: [], directSamples: [] };

  const rirs = room.mics.map((_, mic) => {
    const ism = isms[mic];
    info.images.push(ism.images);
    info.directSamples.push(ism.directSamples);
    const out = bands === 1 ? ism.acc : combineBands(ism.acc, bands, bandsHz!, n, fs);
    if (tailOn && tailLength > 0) {
      const probe = out.slice(0, nTr);
      if (room.highpassHz > 0) allenBerkleyHighpass(probe, room.highpassHz, fs);
      const plan = planTail(room, probe, ism.windowImages, mic, windowStartS);
      info.tail.push({ bandsHz: plan.bandsHz, level: plan.level, fromImages: plan.fromImages });
      synthesizeTail(plan, noise[mic], out, nTr, tailLength, fs);
    } else info.tail.push(null);
    if (room.highpassHz > 0) allenBerkleyHighpass(out, room.highpassHz, fs);
    const rir = new Float32Array(n);
    rir.set(out.subarray(0, n));
    return rir;
  });
  return { rirs, info };
}

/**
 * Room impulse responses for one room, one Float32Array per mic (in spec.mics_m order), each
 * ceil(length_s × sample_rate) samples, in pressure units of a point source of unit strength
 * (the direct path's amplitude is 1 / (4π r), r in metres; no normalisation). The direct path
 * arrives at r / c: no global delay is added. Throws RangeError for an impossible spec.
 */
export function simulateRoom(spec: RoomSpec): Float32Array[] {
  return simulateRoomWithInfo(spec).rirs;
}
