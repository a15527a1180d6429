// Gain in dB, or to a target RMS level in dBFS. Gain never clips silently: by default it is
// limited so the peak stays below full scale, and the applied gain is recorded.
import { z } from "zod";
import { peakAbs, rmsDbfs } from "../audio/measure.js";
import { CLIP_LEVEL } from "./noise.js";
import { drawValue, probability, roundTo, valueOrRange, type ValueOrRange } from "./params.js";
import type { OpDefinition } from "./types.js";

export const gainSchema = z
  .object({
    db: valueOrRange("Gain in dB.", { min: -60, max: 60 }).optional(),
    target_dbfs: valueOrRange("Target RMS level in dBFS (instead of `db`).", { min: -80, max: 0 }).optional(),
    avoid_clipping: z
      .boolean()
      .default(true)
      .describe("Lower the gain when it would push the peak past full scale (recorded as `limited`)."),
    p: probability,
  })
  .strict()
  .refine((c) => (c.db === undefined) !== (c.target_dbfs === undefined), {
    message: "give exactly one of `db` or `target_dbfs`",
  });

export type GainConfig = z.infer<typeof gainSchema>;

export interface GainParams {
  op: "gain";
  db?: number;
  target_dbfs?: number;
  avoid_clipping: boolean;
  [k: string]: unknown;
}

export const gainOp: OpDefinition<GainConfig, GainParams> = {
  name: "gain",
  summary: "Change the level by a sampled dB amount or to a sampled RMS target in dBFS.",
  schema: gainSchema,
  sample(c, rng) {
    if (c.db !== undefined) return { op: "gain", db: roundTo(drawValue(c.db as ValueOrRange, rng), 3), avoid_clipping: c.avoid_clipping };
    return { op: "gain", target_dbfs: roundTo(drawValue(c.target_dbfs as ValueOrRange, rng), 3), avoid_clipping: c.avoid_clipping };
  },
  apply(x, p) {
    let db = p.db ?? 0;
    if (p.target_dbfs !== undefined) {
      const level = rmsDbfs(x);
      db = Number.isFinite(level) ? p.target_dbfs - level : 0;
    }
    let g = 10 ** (db / 20);
    const peak = peakAbs(x);
    let limited = false;
    if (p.avoid_clipping && peak * g > CLIP_LEVEL) {
      g = CLIP_LEVEL / peak;
      limited = true;
    }
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i] * g;
    return { audio: out, measured: { applied_db: roundTo(20 * Math.log10(g), 3), limited } };
  },
};
