// The `simulate:` block of a RIR bank and its plan-time sampler: one call draws one room (size,
// absorption for a target RT60, source and mic positions, tail seed) from the planner's Rng and
// returns a complete RoomSpec. No audio, no I/O; every number the simulation reads is in the spec.
import { z } from "zod";
import { hashString, rngFor, type Rng } from "../plan/rng.js";
import { autoLengthS, autoTransitionS, eyringAbsorption, eyringRt60, wallAreas } from "./theory.js";
import { DEFAULT_BANDS_HZ, DEFAULT_C_M_S, DEFAULT_HIGHPASS_HZ, type DirectivityPattern, type MicDirectivity, type RoomSpec, type Vec3 } from "./types.js";

/**
 * Mean absorption the sampler allows. Below 0.01 no real room exists (even bare concrete and glass
 * average ~0.02); above 0.99 a room is anechoic and its RT60 unmeasurable. A target RT60 that needs
 * a mean α outside these in every room of the range is refused.
 */
export const ALPHA_MIN = 0.01;
export const ALPHA_MAX = 0.99;
/** Rooms drawn before giving up, and placements tried per room. */
export const MAX_ROOM_TRIES = 200;
export const MAX_PLACEMENT_TRIES = 200;

const PATTERNS = ["omni", "subcardioid", "cardioid", "hypercardioid", "figure8"] as const satisfies readonly DirectivityPattern[];

/** A [min, max] range with a default; the description goes on last so the rendered reference sees it. */
function range(description: string, min: number, max: number, fallback: [number, number]) {
  const num = z.number().min(min).max(max);
  return z
    .tuple([num, num])
    .refine((v) => v[0] <= v[1], { message: "range must be [min, max] with min <= max" })
    .default(fallback)
    .describe(`${description} [min, max], drawn uniformly.`);
}

const length3 = z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]);
const offset3 = z.tuple([z.number(), z.number(), z.number()]);

export const simulateSchema = z
  .object({
    count: z.number().int().min(1).max(1_000_000).default(100).describe("Number of simulated RIRs (one room and one source–mic placement each)."),
    rt60_s: range("Target reverberation time RT60 in seconds (mean absorption by Eyring's formula).", 0.05, 20, [0.2, 1.2]),
    room_m: z
      .object({
        min: length3.describe("Smallest room [x, y, z] in metres."),
        max: length3.describe("Largest room [x, y, z] in metres."),
      })
      .strict()
      .default({ min: [3, 3, 2.4], max: [10, 8, 4] })
      .describe("Shoebox room size: each dimension drawn uniformly between min and max (z is the height)."),
    distance_m: range("Source to mic (array centre) distance in metres.", 0.01, 1000, [0.5, 4]),
    min_wall_distance_m: z
      .number()
      .min(0)
      .default(0.5)
      .describe("Smallest distance from the source and from every mic to any wall, the floor and the ceiling."),
    source_height_m: range("Source (mouth) height above the floor in metres.", 0, 100, [1.2, 1.9]),
    mic_height_m: range("Mic (array centre) height above the floor in metres.", 0, 100, [0.7, 1.6]),
    mics: z
      .array(offset3)
      .min(1)
      .max(64)
      .optional()
      .describe("Mic array: offsets [dx, dy, dz] in metres from the array centre, turned by a random azimuth about the vertical. Absent: one mic at the centre."),
    directivity: z
      .object({
        pattern: z.enum(PATTERNS).describe("Polar pattern of every mic."),
        aim: z
          .enum(["source", "random"])
          .default("source")
          .describe("`source`: each mic's axis points at the source; `random`: a uniform horizontal azimuth per room."),
      })
      .strict()
      .optional()
      .describe("Mic directivity. Absent: omnidirectional."),
    absorption: z
      .object({
        wall_spread: z
          .number()
          .min(0)
          .max(0.9)
          .default(0)
          .describe("Per-wall variation: each wall's α is the mean times 1 ± this (uniform), rescaled so the area-weighted mean keeps the target RT60."),
        bands_hz: z
          .array(z.number().positive())
          .min(1)
          .max(12)
          .optional()
          .describe(`Octave-band centres for frequency-dependent absorption (default ${DEFAULT_BANDS_HZ.join(", ")}).`),
        band_profile: z
          .array(z.number().positive())
          .min(1)
          .max(12)
          .optional()
          .describe("α per band relative to the mid frequencies: normalised so the mean of the 500 Hz and 1 kHz bands (all bands if neither is listed) is 1; the target RT60 holds there. Absent: the same α at every frequency."),
      })
      .strict()
      .default({ wall_spread: 0 })
      .describe("How the mean absorption is spread over walls and frequencies."),
    sample_rate: z.number().int().min(8000).max(192000).optional().describe("Sample rate of the RIRs in Hz. Default: the recipe's `sample_rate`."),
    c_m_s: z.number().min(300).max(400).default(DEFAULT_C_M_S).describe("Speed of sound in m/s."),
    max_order: z.number().int().min(0).max(1000).optional().describe("Highest image-source reflection order (absent: limited by time only)."),
    max_time_s: z.number().positive().max(30).optional().describe("Image sources arriving after this many seconds are left out."),
    transition_s: z
      .union([z.literal("auto"), z.number().positive().max(30), z.null()])
      .default("auto")
      .describe("When the statistical late tail replaces image sources: `auto` (enough images for a stable level, and by the -15 dB point of the decay), seconds, or null for image sources only."),
    length_s: z
      .union([z.literal("auto"), z.number().positive().max(30)])
      .default("auto")
      .describe("RIR length: `auto` = 1.2 × the longest band's RT60 (the decay reaches -72 dB), or seconds."),
    highpass_hz: z.number().min(0).max(1000).default(DEFAULT_HIGHPASS_HZ).describe("Allen–Berkley DC-removing high-pass cutoff in Hz (0 = off)."),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: "custom", path, message });
    const { min, max } = cfg.room_m;
    for (let i = 0; i < 3; i++) {
      if (min[i] > max[i]) issue(["room_m"], `room_m.min[${i}] ${min[i]} is larger than room_m.max[${i}] ${max[i]}`);
    }
    if (min.some((x, i) => x > max[i])) return;
    const c = cfg.c_m_s;
    const profile = bandProfile(cfg.absorption.bands_hz, cfg.absorption.band_profile);
    if (profile.error) issue(["absorption"], profile.error);
    const maxRelative = profile.relative ? Math.max(...profile.relative) : 1;
    const minRelative = profile.relative ? Math.min(...profile.relative) : 1;
    // Eyring's RT60 falls with α and grows with V/S, which grows with every dimension: the extremes
    // are the smallest room at the largest α and the largest room at the smallest α.
    const shortest = eyringRt60(min, ALPHA_MAX / maxRelative, c);
    const longest = eyringRt60(max, ALPHA_MIN / minRelative, c);
    const [rtLo, rtHi] = cfg.rt60_s;
    if (rtLo < shortest) {
      issue(["rt60_s"], `RT60 ${rtLo} s is unreachable: the smallest room (${fmtDims(min)}) with mean absorption ${fmt(ALPHA_MAX / maxRelative)} already rings for ${fmt(shortest)} s (Eyring); raise rt60_s[0] or allow smaller rooms`);
    }
    if (rtHi > longest) {
      issue(["rt60_s"], `RT60 ${rtHi} s is unreachable: the largest room (${fmtDims(max)}) with mean absorption ${fmt(ALPHA_MIN / minRelative)} decays in ${fmt(longest)} s (Eyring); lower rt60_s[1] or allow larger rooms`);
    }
    const m = cfg.min_wall_distance_m;
    const offsets = cfg.mics ?? [[0, 0, 0]];
    const arrayRadius = Math.max(...offsets.map((o) => Math.hypot(o[0], o[1])));
    const arrayDown = Math.max(0, ...offsets.map((o) => -o[2]));
    const arrayUp = Math.max(0, ...offsets.map((o) => o[2]));
    for (let i = 0; i < 2; i++) {
      if (2 * m >= max[i]) issue(["min_wall_distance_m"], `min_wall_distance_m ${m} leaves no room for a source even in the largest room (${fmtDims(max)})`);
      else if (2 * (m + arrayRadius) >= max[i]) issue(["mics"], `the mic array (radius ${fmt(arrayRadius)} m) with min_wall_distance_m ${m} does not fit in the largest room (${fmtDims(max)})`);
    }
    const srcZ = clampRange(cfg.source_height_m, m, max[2] - m);
    const micZ = clampRange(cfg.mic_height_m, m + arrayDown, max[2] - m - arrayUp);
    if (!srcZ) issue(["source_height_m"], `source_height_m [${cfg.source_height_m.join(", ")}] is not ${m} m below the ceiling of the tallest room (${max[2]} m) and ${m} m above the floor`);
    if (!micZ) issue(["mic_height_m"], `mic_height_m [${cfg.mic_height_m.join(", ")}] (with the array's vertical extent) is not ${m} m from the floor and the ceiling of the tallest room (${max[2]} m)`);
    if (srcZ && micZ) {
      const dzMin = Math.max(0, srcZ[0] - micZ[1], micZ[0] - srcZ[1]);
      const dzMax = Math.max(srcZ[1] - micZ[0], micZ[1] - srcZ[0]);
      const [dLo, dHi] = cfg.distance_m;
      const farthest = Math.hypot(max[0] - 2 * m, max[1] - 2 * m, dzMax);
      if (dLo > farthest) {
        issue(["distance_m"], `distance_m ${dLo} m cannot fit: in the largest room (${fmtDims(max)}) points ${m} m from the walls at those heights are at most ${fmt(farthest)} m apart`);
      }
      if (dHi < dzMin) {
        issue(["distance_m"], `distance_m ${dHi} m is shorter than the smallest height difference between source_height_m and mic_height_m (${fmt(dzMin)} m)`);
      }
    }
    if (typeof cfg.transition_s === "number" && cfg.max_time_s !== undefined && cfg.max_time_s < cfg.transition_s) {
      issue(["max_time_s"], `max_time_s ${cfg.max_time_s} is before transition_s ${cfg.transition_s}: the tail would start after a gap`);
    }
  });

export type SimulateInput = z.input<typeof simulateSchema>;
export type SimulateConfig = z.infer<typeof simulateSchema>;

function fmt(x: number): string {
  return String(Math.round(x * 1000) / 1000);
}

function fmtDims(d: readonly number[]): string {
  return `${d.map(fmt).join(" × ")} m`;
}

function clampRange(r: readonly [number, number], lo: number, hi: number): [number, number] | null {
  const a = Math.max(r[0], lo);
  const b = Math.min(r[1], hi);
  return a <= b ? [a, b] : null;
}

/** The band profile normalised to 1 at mid frequencies, or null for frequency-independent absorption. */
function bandProfile(bandsHz: number[] | undefined, profile: number[] | undefined): { bandsHz?: number[]; relative?: number[]; error?: string } {
  if (!profile) return bandsHz ? { error: "absorption.bands_hz needs absorption.band_profile (one relative α per band)" } : {};
  const bands = bandsHz ?? DEFAULT_BANDS_HZ;
  if (profile.length !== bands.length) return { error: `absorption.band_profile has ${profile.length} values for ${bands.length} bands (${bands.join(", ")} Hz)` };
  if (bands.some((f, i) => i > 0 && f <= bands[i - 1])) return { error: "absorption.bands_hz must be increasing" };
  const mid = bands.map((f, i) => (f === 500 || f === 1000 ? profile[i] : NaN)).filter((x) => !Number.isNaN(x));
  const reference = (mid.length ? mid : profile).reduce((a, b) => a + b, 0) / (mid.length || profile.length);
  return { bandsHz: [...bands], relative: profile.map((p) => p / reference) };
}

/**
 * The mean absorption that gives `rt60S` in a room of `dims` by Eyring's formula, refused with a
 * RangeError when it falls outside [ALPHA_MIN, ALPHA_MAX] ("RT60 0.03 s is unreachable in a
 * 10 × 8 × 4 m room: it needs mean absorption 0.999 (at most 0.99)"). For explicit rooms (the CLI).
 */
export function absorptionForRt60(dims: [number, number, number], rt60S: number, cMs = DEFAULT_C_M_S): number {
  if (!(rt60S > 0) || !Number.isFinite(rt60S)) throw new RangeError(`RT60 must be a positive number of seconds, got ${rt60S}`);
  if (!dims.every((l) => l > 0 && Number.isFinite(l))) throw new RangeError(`room dimensions must be positive, got ${JSON.stringify(dims)}`);
  const alpha = eyringAbsorption(dims, rt60S, cMs);
  if (alpha > ALPHA_MAX) {
    throw new RangeError(`RT60 ${rt60S} s is unreachable in a ${fmtDims(dims)} room: it needs mean absorption ${fmt(alpha)} (at most ${ALPHA_MAX}); the shortest is ${fmt(eyringRt60(dims, ALPHA_MAX, cMs))} s`);
  }
  if (alpha < ALPHA_MIN) {
    throw new RangeError(`RT60 ${rt60S} s is unreachable in a ${fmtDims(dims)} room: it needs mean absorption ${alpha.toPrecision(2)} (at least ${ALPHA_MIN}); the longest is ${fmt(eyringRt60(dims, ALPHA_MIN, cMs))} s`);
  }
  return alpha;
}

/** The Rng for RIR `index` of a simulated bank: the planner and `augment rir simulate` draw rooms from the same keys. */
export function roomRng(seed: number, bankName: string, index: number): Rng {
  return rngFor(seed, `rir-bank:${bankName}`, index, hashString("rooms"));
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

export interface SampleOptions {
  /** Used when the config has no sample_rate (the recipe's rate). Default 16000. */
  sampleRate?: number;
}

/**
 * Draws one room. Rejection sampling, bounded: up to MAX_ROOM_TRIES rooms (size and RT60; a
 * room is redrawn when the RT60 needs a mean α outside [ALPHA_MIN, ALPHA_MAX]) and for each up to
 * MAX_PLACEMENT_TRIES placements (source anywhere `min_wall_distance_m` inside, mic array centre
 * at a drawn distance and azimuth from it). Throws an Error naming the constraint that failed
 * most when nothing fits. Dimensions and positions are rounded to 1 mm.
 *
 * Absorption by Eyring inversion, not Sabine: Sabine's RT60 = 0.161 V / (S ᾱ) assumes a nearly
 * diffuse, lightly damped room and overestimates RT60 as ᾱ grows (at ᾱ = 0.3 by 16%, at 0.5 by
 * 28%; for short RT60s in small rooms its inversion even asks for ᾱ > 1). Eyring's -S ln(1 - ᾱ)
 * follows the per-reflection energy loss that the image-source model applies literally (each
 * image's energy is multiplied by 1 - α per wall hit, about c t S / 4V hits by time t), so the
 * simulated decay, whose tail is Eyring's by construction, lands on the target (Kuttruff, "Room
 * Acoustics", 5th ed., sec. 5.1–5.3).
 */
export function sampleRoom(rng: Rng, cfg: SimulateConfig, opts: SampleOptions = {}): RoomSpec {
  const c = cfg.c_m_s;
  const m = cfg.min_wall_distance_m;
  const profile = bandProfile(cfg.absorption.bands_hz, cfg.absorption.band_profile);
  if (profile.error) throw new Error(profile.error);
  const maxRelative = profile.relative ? Math.max(...profile.relative) : 1;
  const offsets: Vec3[] = (cfg.mics ?? [[0, 0, 0]]) as Vec3[];
  const arrayDown = Math.max(0, ...offsets.map((o) => -o[2]));
  const arrayUp = Math.max(0, ...offsets.map((o) => o[2]));
  const failures = new Map<string, number>();
  const fail = (why: string) => failures.set(why, (failures.get(why) ?? 0) + 1);

  for (let roomTry = 0; roomTry < MAX_ROOM_TRIES; roomTry++) {
    const dims = [0, 1, 2].map((i) => round3(rng.uniform(cfg.room_m.min[i], cfg.room_m.max[i]))) as Vec3;
    const rt60 = round3(rng.uniform(cfg.rt60_s[0], cfg.rt60_s[1]));
    const meanAlpha = eyringAbsorption(dims, rt60, c);
    if (!(meanAlpha >= ALPHA_MIN && meanAlpha * maxRelative <= ALPHA_MAX)) {
      fail(`RT60 needs mean absorption outside [${ALPHA_MIN}, ${ALPHA_MAX}] for the room size`);
      continue;
    }
    const wallAlpha = spreadOverWalls(rng, dims, meanAlpha, cfg.absorption.wall_spread, ALPHA_MAX / maxRelative);
    if (!wallAlpha) {
      fail("absorption.wall_spread pushes a wall past the largest absorption");
      continue;
    }
    const srcZ = clampRange(cfg.source_height_m, m, dims[2] - m);
    const micZ = clampRange(cfg.mic_height_m, m + arrayDown, dims[2] - m - arrayUp);
    if (!srcZ || !micZ) {
      fail("source_height_m or mic_height_m does not fit the room height with min_wall_distance_m");
      continue;
    }
    if (2 * m >= dims[0] || 2 * m >= dims[1]) {
      fail("min_wall_distance_m leaves no floor space");
      continue;
    }
    for (let placeTry = 0; placeTry < MAX_PLACEMENT_TRIES; placeTry++) {
      const source: Vec3 = [round3(rng.uniform(m, dims[0] - m)), round3(rng.uniform(m, dims[1] - m)), round3(rng.uniform(srcZ[0], srcZ[1]))];
      const centreZ = rng.uniform(micZ[0], micZ[1]);
      const distance = rng.uniform(cfg.distance_m[0], cfg.distance_m[1]);
      const azimuth = rng.uniform(0, 2 * Math.PI);
      const rotation = rng.uniform(0, 2 * Math.PI);
      const dz = centreZ - source[2];
      if (Math.abs(dz) > distance) {
        fail("distance_m is shorter than the drawn height difference");
        continue;
      }
      const horizontal = Math.sqrt(distance * distance - dz * dz);
      const centre: Vec3 = [source[0] + horizontal * Math.cos(azimuth), source[1] + horizontal * Math.sin(azimuth), centreZ];
      const cos = Math.cos(rotation);
      const sin = Math.sin(rotation);
      const mics = offsets.map(
        (o) => [round3(centre[0] + o[0] * cos - o[1] * sin), round3(centre[1] + o[0] * sin + o[1] * cos), round3(centre[2] + o[2])] as Vec3,
      );
      if (!mics.every((p) => p.every((x, i) => x >= m && x <= dims[i] - m) && p.every((x, i) => x > 0 && x < dims[i]))) {
        fail("the mic position at the drawn distance falls within min_wall_distance_m of a wall");
        continue;
      }
      if (mics.some((p) => Math.hypot(p[0] - source[0], p[1] - source[1], p[2] - source[2]) < 1e-3)) {
        fail("a mic coincides with the source");
        continue;
      }
      let directivity: MicDirectivity[] | undefined;
      if (cfg.directivity && cfg.directivity.pattern !== "omni") {
        const pattern = cfg.directivity.pattern;
        if (cfg.directivity.aim === "random") {
          const az = round3(rng.uniform(0, 360));
          directivity = mics.map(() => ({ pattern, azimuth_deg: az, elevation_deg: 0 }));
        } else {
          directivity = mics.map((p) => {
            const d = [source[0] - p[0], source[1] - p[1], source[2] - p[2]];
            return {
              pattern,
              azimuth_deg: round3((Math.atan2(d[1], d[0]) * 180) / Math.PI),
              elevation_deg: round3((Math.atan2(d[2], Math.hypot(d[0], d[1])) * 180) / Math.PI),
            };
          });
        }
      }
      const absorption = profile.relative
        ? { bands_hz: profile.bandsHz!, values: wallAlpha.map((a) => profile.relative!.map((r) => Math.min(ALPHA_MAX, a * r))) }
        : wallAlpha.every((a) => a === wallAlpha[0])
          ? wallAlpha[0]
          : wallAlpha;
      const longestRt60 = profile.relative
        ? Math.max(...profile.relative.map((r) => eyringRt60(dims, Math.min(ALPHA_MAX, meanAlpha * r), c)))
        : rt60;
      const transition = cfg.transition_s === "auto" ? round3(autoTransitionS(dims, rt60, c)) : cfg.transition_s;
      const spec: RoomSpec = {
        dims_m: dims,
        absorption,
        source_m: source,
        mics_m: mics,
        ...(directivity ? { directivity } : {}),
        sample_rate: cfg.sample_rate ?? opts.sampleRate ?? 16000,
        c_m_s: c,
        ...(cfg.max_order !== undefined ? { max_order: cfg.max_order } : {}),
        ...(cfg.max_time_s !== undefined ? { max_time_s: cfg.max_time_s } : {}),
        transition_s: transition,
        length_s: cfg.length_s === "auto" ? round3(autoLengthS(longestRt60)) : cfg.length_s,
        highpass_hz: cfg.highpass_hz,
        seed: rng.u32(),
        rt60_s: rt60,
      };
      return spec;
    }
  }
  const reasons = [...failures.entries()].sort((a, b) => b[1] - a[1]).map(([why, n]) => `${why} (${n}×)`);
  throw new Error(`could not draw a room that satisfies the simulate settings in ${MAX_ROOM_TRIES} rooms × ${MAX_PLACEMENT_TRIES} placements: ${reasons.join("; ")}`);
}

/**
 * Per-wall α around a mean: weights 1 ± spread (uniform), rescaled so the area-weighted mean is
 * exactly `meanAlpha` (Eyring reads only the mean). Null when a wall would pass `cap`.
 */
function spreadOverWalls(rng: Rng, dims: Vec3, meanAlpha: number, spread: number, cap: number): number[] | null {
  if (spread === 0) return [0, 1, 2, 3, 4, 5].map(() => meanAlpha);
  const areas = wallAreas(dims);
  const weights = areas.map(() => 1 + spread * rng.uniform(-1, 1));
  const total = areas.reduce((a, b) => a + b, 0);
  const weighted = areas.reduce((s, a, i) => s + a * weights[i], 0);
  const alpha = weights.map((w) => (meanAlpha * w * total) / weighted);
  return alpha.every((a) => a <= cap) ? alpha : null;
}
