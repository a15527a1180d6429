// Gain in dB, or to a target RMS level in dBFS. Gain never clips silently: by default it is
// limited so the peak stays below full scale, and the applied gain is recorded.
import { z } from "zod";
import { rmsDbfs } from "../audio/measure.js";
import { scaleSimd } from "../audio/simd.js";
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
  apply(x, p, ctx) {
    let db = p.db ?? 0;
    if (p.target_dbfs !== undefined) {
      const level = rmsDbfs(x);
      db = Number.isFinite(level) ? p.target_dbfs - level : 0;
    }
    let g = 10 ** (db / 20);
    const out = ctx?.buffer?.(x.length) ?? new Float32Array(x.length);
    // Scale and find the input's peak in one pass; only a gain that turns out to clip is redone.
    const peak = scaleInto(out, x, g);
    let limited = false;
    if (p.avoid_clipping && peak * g > CLIP_LEVEL) {
      g = CLIP_LEVEL / peak;
      limited = true;
      scaleInto(out, x, g);
    }
    return { audio: out, measured: { applied_db: roundTo(20 * Math.log10(g), 3), limited } };
  },
};

const simdSums = new Float64Array(1);

/** out = x·g; returns max |x| (as peakAbs). */
function scaleInto(out: Float32Array, x: Float32Array, g: number): number {
  let peak = 0;
  let i = 0;
  const done = scaleSimd(x, g, out, simdSums); // all but the last few samples, same bits
  if (done !== null) {
    peak = simdSums[0];
    i = done;
  }
  for (; i < x.length; i++) {
    const v = x[i];
    out[i] = v * g;
    const a = Math.abs(v);
    if (a > peak) peak = a;
  }
  return peak;
}
