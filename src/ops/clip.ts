// Clipping, hard or soft (src/audio/clipping.ts), with the ceiling set either in dB relative to
// the clip's own peak or as the percentage of samples that end up above it. Records the ceiling
// and the fraction of samples that were over it.
import { z } from "zod";
import { clipThresholdForFraction, fractionAbove, hardClip, softClip } from "../audio/clipping.js";
import { peakAbs } from "../audio/measure.js";
import { drawValue, probability, roundTo, valueOrRange, type ValueOrRange } from "./params.js";
import type { OpDefinition, OpOutput } from "./types.js";

export const clipSchema = z
  .object({
    mode: z.union([z.enum(["hard", "soft"]), z.array(z.enum(["hard", "soft"])).min(1)]).default("hard").describe("`hard` (flat top) or `soft` (tanh knee from half the ceiling), or a list to draw from."),
    level_db: valueOrRange("Ceiling in dB relative to the clip's peak (e.g. -6: the ceiling is half the peak).", { min: -40, max: 0 }).optional(),
    percentile: valueOrRange("Or: percentage of samples above the ceiling (the ceiling is that quantile of |x|).", { min: 0.001, max: 50 }).optional(),
    p: probability,
  })
  .strict()
  .refine((c) => (c.level_db === undefined) !== (c.percentile === undefined), { message: "give exactly one of `level_db` or `percentile`" });

export type ClipConfig = z.infer<typeof clipSchema>;

export interface ClipParams {
  op: "clip";
  mode: "hard" | "soft";
  level_db?: number;
  percentile?: number;
  [k: string]: unknown;
}

export const clipOp: OpDefinition<ClipConfig, ClipParams> = {
  name: "clip",
  summary: "Hard or soft clipping at a ceiling set in dB below the peak or by the percentage of samples clipped.",
  schema: clipSchema,
  sample(c, rng) {
    const mode = Array.isArray(c.mode) ? rng.choice(c.mode) : c.mode;
    if (c.level_db !== undefined) return { op: "clip", mode, level_db: roundTo(drawValue(c.level_db as ValueOrRange, rng), 2) };
    return { op: "clip", mode, percentile: roundTo(drawValue(c.percentile as ValueOrRange, rng), 3) };
  },
  apply(x, p): OpOutput {
    const peak = peakAbs(x);
    if (peak === 0) return { audio: x, measured: { skipped: "silent" } };
    const ceiling = p.level_db !== undefined ? peak * 10 ** (p.level_db / 20) : clipThresholdForFraction(x, p.percentile! / 100);
    const y = p.mode === "soft" ? softClip(x, ceiling) : hardClip(x, ceiling);
    return {
      audio: y,
      measured: {
        ceiling: roundTo(ceiling, 6),
        ceiling_db_re_peak: roundTo(20 * Math.log10(ceiling / peak), 2),
        clipped_percent: roundTo(100 * fractionAbove(x, ceiling), 3),
      },
    };
  },
};
