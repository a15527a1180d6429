// Gain transitions within a clip: the level steps between segments (a talker turning away, a
// hand over the microphone, an AGC reacting), each step a ramp linear in dB. Everything is drawn
// at plan time: the number of transitions, where they fall (as fractions of the clip, so they do
// not depend on its exact length), each segment's gain and each ramp's length. If the result
// would pass full scale, the whole clip is scaled down (recorded as `limited_db`).
import { z } from "zod";
import { peakAbs } from "../audio/measure.js";
import { CLIP_LEVEL } from "./noise.js";
import { drawValue, probability, roundTo, valueOrRange, type ValueOrRange } from "./params.js";
import type { OpDefinition } from "./types.js";

export const gaintransitionSchema = z
  .object({
    transitions: valueOrRange("Number of level changes, integer 1-10 (a range draws an integer).", { min: 1, max: 10 }).default([1, 3]),
    gain_db: valueOrRange("Gain of each segment after the first (which stays at 0 dB), dB.", { min: -60, max: 20 }).default([-15, 6]),
    ramp_ms: valueOrRange("Length of each ramp, ms.", { min: 0, max: 5000 }).default([20, 500]),
    p: probability,
  })
  .strict();

export type GaintransitionConfig = z.infer<typeof gaintransitionSchema>;

export interface GainStep {
  /** Centre of the ramp, as a fraction of the clip's duration. */
  at: number;
  ramp_ms: number;
  /** Gain after the ramp, dB. */
  gain_db: number;
}

export interface GaintransitionParams {
  op: "gaintransition";
  steps: GainStep[];
  [k: string]: unknown;
}

/** Gain in dB at sample i (before any limiting). */
export function gainCurveDb(steps: readonly GainStep[], length: number, sampleRate: number): Float32Array {
  const g = new Float32Array(length);
  let level = 0;
  let from = 0;
  const ordered = [...steps].sort((a, b) => a.at - b.at);
  for (const s of ordered) {
    const centre = s.at * length;
    const half = (s.ramp_ms / 1000) * sampleRate * 0.5;
    const start = Math.max(from, Math.round(centre - half));
    const end = Math.min(length, Math.max(start, Math.round(centre + half)));
    g.fill(level, from, start);
    for (let i = start; i < end; i++) g[i] = level + ((s.gain_db - level) * (i - start + 0.5)) / (end - start);
    level = s.gain_db;
    from = end;
  }
  g.fill(level, from, length);
  return g;
}

export const gaintransitionOp: OpDefinition<GaintransitionConfig, GaintransitionParams> = {
  name: "gaintransition",
  summary: "Level changes inside a clip: segments at sampled gains joined by ramps linear in dB.",
  schema: gaintransitionSchema,
  sample(c, rng) {
    const t = c.transitions as ValueOrRange;
    const count = typeof t === "number" ? Math.round(t) : Math.ceil(t[0]) + rng.int(Math.floor(t[1]) - Math.ceil(t[0]) + 1);
    const ats = Array.from({ length: count }, () => roundTo(rng.uniform(0.1, 0.9), 4)).sort((a, b) => a - b);
    return {
      op: "gaintransition",
      steps: ats.map((at) => ({
        at,
        ramp_ms: roundTo(drawValue(c.ramp_ms as ValueOrRange, rng), 1),
        gain_db: roundTo(drawValue(c.gain_db as ValueOrRange, rng), 2),
      })),
    };
  },
  apply(x, p, ctx) {
    const curve = gainCurveDb(p.steps, x.length, ctx.sampleRate);
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i] * 10 ** (curve[i] / 20);
    const peak = peakAbs(out);
    let limitedDb = 0;
    if (peak > CLIP_LEVEL) {
      const s = CLIP_LEVEL / peak;
      for (let i = 0; i < out.length; i++) out[i] *= s;
      limitedDb = roundTo(20 * Math.log10(s), 3);
    }
    return { audio: out, measured: { limited_db: limitedDb } };
  },
};
