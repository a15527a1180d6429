// Statistical room acoustics for shoeboxes: absorption in one shape, Sabine and Eyring reverberation
// times and their inversions, and the default ISM/tail transition. Pure arithmetic, no audio.
//
// RT60 = 24 ln(10) V / (c A), A the equivalent absorption area (Kuttruff, "Room Acoustics", 5th ed.,
// sec. 5.1): Sabine A = S ᾱ, Eyring A = -S ln(1 - ᾱ), with ᾱ the area-weighted mean α. At c = 343
// m/s, 24 ln(10) / c = 0.1611 s/m, the textbook 0.161 V / A.
import { DEFAULT_BANDS_HZ, type Absorption, type Vec3 } from "./types.js";

/** Absorption as a 6-wall × B-band matrix; `bandsHz` is null for frequency-independent absorption (B = 1). */
export interface AbsorptionTable {
  bandsHz: number[] | null;
  /** alpha[wall][band], walls in WALL_NAMES order. */
  alpha: number[][];
}

function checkAlpha(a: unknown, where: string): number {
  if (typeof a !== "number" || !Number.isFinite(a) || a < 0 || a > 1) {
    throw new RangeError(`absorption${where ? ` ${where}` : ""} must be a number in [0, 1], got ${JSON.stringify(a)}`);
  }
  return a;
}

/** Normalises every accepted form of `absorption` (see types.ts); throws RangeError on a bad shape or value. */
export function absorptionTable(absorption: Absorption): AbsorptionTable {
  if (typeof absorption === "number") {
    const a = checkAlpha(absorption, "");
    return { bandsHz: null, alpha: Array.from({ length: 6 }, () => [a]) };
  }
  if (Array.isArray(absorption)) {
    if (absorption.length !== 6) {
      throw new RangeError(`absorption as a list needs 6 values (walls x0, x1, y0, y1, floor, ceiling), got ${absorption.length}`);
    }
    return { bandsHz: null, alpha: absorption.map((a, w) => [checkAlpha(a, `of wall ${w}`)]) };
  }
  if (absorption === null || typeof absorption !== "object") {
    throw new RangeError(`absorption must be a number, 6 numbers or {bands_hz, values}, got ${JSON.stringify(absorption)}`);
  }
  const bands = absorption.bands_hz ?? DEFAULT_BANDS_HZ;
  if (!Array.isArray(bands) || bands.length === 0 || bands.some((f, i) => !(f > 0) || !Number.isFinite(f) || (i > 0 && f <= bands[i - 1]))) {
    throw new RangeError(`absorption.bands_hz must be increasing positive frequencies, got ${JSON.stringify(bands)}`);
  }
  const values = absorption.values;
  if (!Array.isArray(values)) throw new RangeError("absorption.values must be a list (one α per band, or 6 rows of them)");
  let rows: unknown[][];
  if (values.every((v) => typeof v === "number")) rows = Array.from({ length: 6 }, () => values as number[]);
  else if (values.length === 6 && values.every((v) => Array.isArray(v))) rows = values as number[][];
  else throw new RangeError("absorption.values must be one α per band, or 6 rows (walls) of one α per band");
  const alpha = rows.map((row, w) => {
    if (row.length !== bands.length) {
      throw new RangeError(`absorption.values${values.length === 6 && Array.isArray(values[0]) ? `[${w}]` : ""} has ${row.length} values for ${bands.length} bands`);
    }
    return row.map((a, b) => checkAlpha(a, `of wall ${w} at ${bands[b]} Hz`));
  });
  return { bandsHz: [...bands], alpha };
}

/** Areas of the six walls, WALL_NAMES order. */
export function wallAreas(dims: Vec3): number[] {
  const [lx, ly, lz] = dims;
  return [ly * lz, ly * lz, lx * lz, lx * lz, lx * ly, lx * ly];
}

export function volume(dims: Vec3): number {
  return dims[0] * dims[1] * dims[2];
}

export function surface(dims: Vec3): number {
  return 2 * (dims[0] * dims[1] + dims[0] * dims[2] + dims[1] * dims[2]);
}

/** Area-weighted mean α per band. */
export function meanAbsorption(dims: Vec3, table: AbsorptionTable): number[] {
  const areas = wallAreas(dims);
  const s = surface(dims);
  const bands = table.alpha[0].length;
  const out: number[] = [];
  for (let b = 0; b < bands; b++) {
    let sum = 0;
    for (let w = 0; w < 6; w++) sum += areas[w] * table.alpha[w][b];
    out.push(sum / s);
  }
  return out;
}

const K60 = 24 * Math.LN10;

/** Eyring RT60 (s) for mean absorption ᾱ; Infinity at ᾱ = 0, 0 at ᾱ = 1. */
export function eyringRt60(dims: Vec3, meanAlpha: number, cMs: number): number {
  if (meanAlpha <= 0) return Infinity;
  if (meanAlpha >= 1) return 0;
  return (K60 * volume(dims)) / (cMs * surface(dims) * -Math.log1p(-meanAlpha));
}

/** Sabine RT60 (s) for mean absorption ᾱ. */
export function sabineRt60(dims: Vec3, meanAlpha: number, cMs: number): number {
  if (meanAlpha <= 0) return Infinity;
  return (K60 * volume(dims)) / (cMs * surface(dims) * meanAlpha);
}

/** The mean α that gives `rt60S` by Eyring's formula (may be outside (0, 1) only for rt60S <= 0). */
export function eyringAbsorption(dims: Vec3, rt60S: number, cMs: number): number {
  return -Math.expm1(-(K60 * volume(dims)) / (cMs * surface(dims) * rt60S));
}

/** The mean α that gives `rt60S` by Sabine's formula (above 1 for short RT60s in small rooms: Sabine's limit). */
export function sabineAbsorption(dims: Vec3, rt60S: number, cMs: number): number {
  return (K60 * volume(dims)) / (cMs * surface(dims) * rt60S);
}

/** Eyring RT60 per band of an absorption table (one value when it is frequency-independent). */
export function eyringRt60Bands(dims: Vec3, table: AbsorptionTable, cMs: number): number[] {
  return meanAbsorption(dims, table).map((a) => eyringRt60(dims, a, cMs));
}

/**
 * Expected number of image sources arriving within `tS` seconds: the images fill space with
 * density 1/V (eight per 2Lx × 2Ly × 2Lz cell), so N(t) = (4π/3)(c t)³ / V.
 */
export function imageCount(dims: Vec3, tS: number, cMs: number): number {
  return ((4 * Math.PI) / 3) * (cMs * tS) ** 3 / volume(dims);
}

/** Inverse of imageCount: the time by which `count` images have arrived. */
export function timeForImages(dims: Vec3, count: number, cMs: number): number {
  return Math.cbrt((3 * count * volume(dims)) / (4 * Math.PI)) / cMs;
}

/** Images the default transition waits for: enough for a tail level within ~0.5 dB (see autoTransitionS). */
export const TRANSITION_IMAGES = 2000;

/**
 * Default ISM → statistical-tail transition (s). The tail's level is matched to the image energy
 * in the last half of the ISM window, whose relative spread falls as 1/sqrt(images), so the ISM
 * runs until ~TRANSITION_IMAGES images have arrived (the "mixing time" by image density, cf.
 * Polack's t_mix ≈ sqrt(V) ms, which is far too early for a stable level estimate); and at most until
 * the decay has fallen 15 dB (RT60 / 4), so the -5…-35 dB range that T30 reads is mostly the tail
 * whose decay is set exactly; never before 5 ms after the latest direct path can arrive. Cost
 * then grows with the room's volume, not with RT60³ as a full ISM does (gpuRIR's Tdiff plays the
 * same role, there set by an attenuation, 13 dB in its examples).
 */
export function autoTransitionS(dims: Vec3, rt60S: number, cMs: number): number {
  const diagonal = Math.hypot(dims[0], dims[1], dims[2]);
  const floor = diagonal / cMs + 0.005;
  const byImages = timeForImages(dims, TRANSITION_IMAGES, cMs);
  const byDecay = Number.isFinite(rt60S) ? rt60S / 4 : Infinity;
  return Math.max(floor, Math.min(byImages, byDecay));
}

/** Default RIR length: 1.2 × the longest band RT60 (the decay reaches -72 dB), at least 0.1 s. */
export function autoLengthS(rt60S: number): number {
  return Math.max(0.1, 1.2 * rt60S);
}

/**
 * Crossover width between neighbouring bands, as a fraction of their spacing in log-frequency:
 * half an octave for octave bands, centred on the geometric mean of the two centres, so each band
 * is pure for ±1/4 octave around its centre (a full-octave cos² crossover lets a slowly decaying
 * band dominate its neighbour's octave late in the decay: +14–24% on octave-band T20 when adjacent
 * bands' RT60s differ by 2×; this split keeps it near standard octave filters' own leakage).
 */
export const CROSSOVER_FRACTION = 0.5;

/**
 * Amplitude-complementary band split: between centres b and b+1 the gains cross over as cos² /
 * sin² across the middle CROSSOVER_FRACTION of the log-frequency interval, and are 1 / 0 outside
 * it, so the gains sum to 1 at every frequency (a zero-phase, perfectly reconstructing split: a
 * room whose bands all absorb alike gives the same RIR as broadband absorption). The first band
 * extends to DC, the last to Nyquist. The idea of pyroomacoustics' OctaveBandsFactory (cosine
 * crossovers), with narrower crossovers.
 */
export function bandGains(bandsHz: number[], frequencyHz: number): number[] {
  const gains = new Array<number>(bandsHz.length).fill(0);
  const last = bandsHz.length - 1;
  if (frequencyHz <= bandsHz[0]) {
    gains[0] = 1;
    return gains;
  }
  if (frequencyHz >= bandsHz[last]) {
    gains[last] = 1;
    return gains;
  }
  let b = 0;
  while (frequencyHz > bandsHz[b + 1]) b++;
  // Position between centres b and b+1 in log-frequency, 0..1, then across the crossover, 0..1.
  const x = Math.log2(frequencyHz / bandsHz[b]) / Math.log2(bandsHz[b + 1] / bandsHz[b]);
  const y = Math.min(1, Math.max(0, (x - (1 - CROSSOVER_FRACTION) / 2) / CROSSOVER_FRACTION));
  const c = Math.cos((Math.PI / 2) * y);
  gains[b] = c * c;
  gains[b + 1] = 1 - c * c;
  return gains;
}
