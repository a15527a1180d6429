// Kaldi/sox-style speed perturbation: resampling, so tempo and pitch change together and the
// duration becomes n/f. Word times scale by 1/f.
import { z } from "zod";
import { speedPerturb } from "../audio/resample.js";
import { probability, roundTo } from "./params.js";
import type { OpDefinition } from "./types.js";

const factor = z.number().min(0.5).max(2);

export const speedSchema = z
  .object({
    factors: z.array(factor).min(1).optional().describe("Pick one of these factors uniformly (Kaldi uses [0.9, 1.0, 1.1])."),
    range: z
      .tuple([factor, factor])
      .refine((r) => r[0] <= r[1], "range must be [min, max] with min <= max")
      .optional()
      .describe("Or draw the factor uniformly from [min, max] (quantised to 1e-4)."),
    speaker_prefix: z
      .boolean()
      .default(false)
      .describe("Prefix the speaker id with `sp<factor>-` (dot written as `_`), as Kaldi does, so perturbed copies count as new speakers."),
    p: probability,
  })
  .strict()
  .refine((c) => (c.factors === undefined) !== (c.range === undefined), { message: "give exactly one of `factors` or `range`" });

export type SpeedConfig = z.infer<typeof speedSchema>;

export interface SpeedParams {
  op: "speed";
  factor: number;
  [k: string]: unknown;
}

export const speedOp: OpDefinition<SpeedConfig, SpeedParams> = {
  name: "speed",
  summary: "Speed perturbation by band-limited resampling (tempo and pitch change by the factor).",
  schema: speedSchema,
  sample(c, rng) {
    const f = c.factors ? rng.choice(c.factors) : rng.uniform(c.range![0], c.range![1]);
    return { op: "speed", factor: roundTo(f, 4) };
  },
  durationFactor: (p) => 1 / p.factor,
  mapTime: (p) => (t) => t / p.factor,
  speakerPrefix: (c, p) => (c.speaker_prefix && p.factor !== 1 ? `sp${String(p.factor).replace(".", "_")}` : undefined),
  apply(x, p) {
    if (p.factor === 1) return { audio: x };
    return { audio: speedPerturb(x, p.factor), measured: { samples_in: x.length } };
  },
};
