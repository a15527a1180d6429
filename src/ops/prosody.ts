// Prosody perturbation: tempo and pitch that vary slowly and smoothly within an utterance, so
// rhythm and intonation change (src/audio/prosody.ts). The sampler draws a bounded value of each
// at control points every `step_s` seconds of input; the contour between them, the time map and
// the audio are pure functions of those values, so `mapTime` maps word times through exactly the
// piecewise-linear map the audio follows.
import { z } from "zod";
import { prosody, prosodyMaps, type ProsodyContour } from "../audio/prosody.js";
import type { Rng } from "../plan/rng.js";
import { probability, roundTo } from "./params.js";
import type { OpDefinition } from "./types.js";

/** A `[min, max]` range with bounds. */
export function boundedRange(description: string, min: number, max: number, fallback: [number, number]) {
  const v = z.number().min(min).max(max);
  return z
    .tuple([v, v])
    .refine((r) => r[0] <= r[1], { message: "range must be [min, max] with min <= max" })
    .default(fallback)
    .describe(`${description} [min, max].`);
}

export const prosodySchema = z
  .object({
    tempo: boundedRange("Local tempo factor drawn at each control point (> 1 faster).", 0.5, 2, [0.85, 1.15]),
    semitones: boundedRange("Local pitch offset in semitones drawn at each control point.", -12, 12, [-2, 2]),
    step_s: z.number().min(0.1).max(10).default(0.8).describe("Seconds of input between control points; the contour is a raised cosine between them."),
    preserve_formants: z
      .boolean()
      .default(true)
      .describe("Warp the spectral envelope back so intonation moves f0 but not the formants."),
    p: probability,
  })
  .strict();

export type ProsodyConfig = z.infer<typeof prosodySchema>;

export interface ProsodyParams {
  op: "prosody";
  step_s: number;
  /** Input duration the contour was drawn for (s); the contour holds its last value after it. */
  duration_s: number;
  tempo: number[];
  semitones: number[];
  preserve_formants: boolean;
  [k: string]: unknown;
}

/** Draws a contour: max(1, ceil(duration / step)) + 1 control points, each value uniform in its range. */
export function drawContour(rng: Rng, durationS: number, stepS: number, tempo: [number, number], semitones: [number, number]): ProsodyContour {
  const points = Math.max(1, Math.ceil(durationS / stepS - 1e-9)) + 1;
  const t: number[] = [];
  const s: number[] = [];
  for (let i = 0; i < points; i++) {
    t.push(roundTo(rng.uniform(tempo[0], tempo[1]), 4));
    s.push(roundTo(rng.uniform(semitones[0], semitones[1]), 3));
  }
  return { stepS, tempo: t, semitones: s };
}

export function prosodyContour(p: { step_s: number; tempo: number[]; semitones: number[] }): ProsodyContour {
  return { stepS: p.step_s, tempo: p.tempo, semitones: p.semitones };
}

/** Output / input duration of a contour over `durationS` seconds of input. */
export function contourDurationFactor(c: ProsodyContour, durationS: number): number {
  const time = prosodyMaps(c).time;
  return durationS > 0 ? time.forward(durationS) / durationS : 1 / c.tempo[0];
}

export const prosodyOp: OpDefinition<ProsodyConfig, ProsodyParams> = {
  name: "prosody",
  summary: "Slowly time-varying tempo and pitch (smooth bounded random contour); word times follow its piecewise-linear time map.",
  schema: prosodySchema,
  sample(c, rng, ctx) {
    const contour = drawContour(rng, ctx.durationS, c.step_s, c.tempo, c.semitones);
    return {
      op: "prosody",
      step_s: c.step_s,
      duration_s: roundTo(ctx.durationS, 4),
      tempo: contour.tempo,
      semitones: contour.semitones,
      preserve_formants: c.preserve_formants,
    };
  },
  durationFactor: (p) => contourDurationFactor(prosodyContour(p), p.duration_s),
  mapTime: (p) => {
    const time = prosodyMaps(prosodyContour(p)).time;
    return (t) => time.forward(t);
  },
  apply(x, p, ctx) {
    const audio = prosody(x, ctx.sampleRate, prosodyContour(p), { preserveFormants: p.preserve_formants });
    return { audio, measured: { samples_in: x.length, duration_ratio: Math.round((audio.length / Math.max(1, x.length)) * 1e6) / 1e6 } };
  },
};
