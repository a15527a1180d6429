// Kaldi/sox-style speed perturbation: resampling, so tempo and pitch change together and the
// duration becomes n/f. Word times scale by 1/f.
//
// Kaldi's 3-way perturbation (utils/data/perturb_data_dir_speed_3way.sh: every utterance at 0.9,
// 1.0 and 1.1) is `copies: 3` with `speed: {factors: [0.9, 1.0, 1.1], per_copy: true}`: copy k
// takes factors[k % factors.length] instead of a random draw (with `speaker_prefix: true` the
// 0.9 and 1.1 copies become speakers `sp0_9-…` and `sp1_1-…`, as in Kaldi).
//
// Resampler response (speedPerturb, src/audio/resample.ts), measured with resamplerResponse() on
// the designed filters and re-checked by test/voice-speed.test.ts:
//   factor            0.8     0.9     0.95    1.05    1.1     1.2     1.0537*  0.9173*
//   passband ripple   5.8e-4  5.7e-4  5.7e-4  5.7e-4  5.8e-4  5.9e-4  5.6e-4   5.9e-4  dB
//   stopband          84.10   83.99   83.93   83.98   84.05   84.06   84.74    84.22   dB rejection
//   (* a factor whose reduced ratio has L > 1024 uses the interpolated phase table.)
// Passband: 0 to 0.9 x the lower Nyquist (for f > 1 the output's, 7.2 kHz at 16 kHz; for f < 1
// the input's, so input content to 7.2 kHz is kept and lands at f x 7.2 kHz). Stopband: from the
// lower Nyquist on, >= 83.9 dB, above the 80 dB goal; images and aliases therefore sit at least
// 84 dB under the signal. 112-136 taps per output sample.
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
    per_copy: z
      .boolean()
      .default(false)
      .describe("Copy k of each utterance takes `factors[k % len(factors)]` instead of a random draw: with `copies: 3` and `factors: [0.9, 1.0, 1.1]` this is Kaldi's 3-way speed perturbation."),
    speaker_prefix: z
      .boolean()
      .default(false)
      .describe("Prefix the speaker id with `sp<factor>-` (dot written as `_`), as Kaldi does, so perturbed copies count as new speakers."),
    p: probability,
  })
  .strict()
  .refine((c) => (c.factors === undefined) !== (c.range === undefined), { message: "give exactly one of `factors` or `range`" })
  .refine((c) => !c.per_copy || c.factors !== undefined, { message: "`per_copy: true` needs `factors` (copy k takes factors[k % len])", path: ["per_copy"] });

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
  sample(c, rng, ctx) {
    const f = c.factors ? (c.per_copy ? c.factors[ctx.copy % c.factors.length] : rng.choice(c.factors)) : rng.uniform(c.range![0], c.range![1]);
    return { op: "speed", factor: roundTo(f, 4) };
  },
  durationFactor: (p) => 1 / p.factor,
  mapTime: (p) => (t) => t / p.factor,
  speakerPrefix: (c, p) => (c.speaker_prefix && p.factor !== 1 ? `sp${String(p.factor).replace(".", "_")}` : undefined),
  apply(x, p, ctx) {
    if (p.factor === 1) return { audio: x };
    return { audio: speedPerturb(x, p.factor, ctx?.buffer?.bind(ctx)), measured: { samples_in: x.length } };
  },
};
