// Sample-rate drop and restore: the audio goes down to a lower rate (8 or 11.025 kHz, as a
// narrowband link or an old device records) and back up, losing everything above the low rate's
// band edge (0.9 x its Nyquist is kept flat, >= 80 dB rejection from its Nyquist on:
// src/audio/resample.ts). The resampler has no delay, so timing and length are kept.
import { z } from "zod";
import { resample } from "../audio/resample.js";
import { probability } from "./params.js";
import type { OpDefinition } from "./types.js";

const rate = z.number().int().min(2000).max(192000);

export const ratedropSchema = z
  .object({
    rate: z.union([rate, z.array(rate).min(1)]).default([8000, 11025]).describe("The low rate in Hz, or a list to draw from uniformly (a rate at or above the recipe's is a no-op)."),
    p: probability,
  })
  .strict();

export type RatedropConfig = z.infer<typeof ratedropSchema>;

export interface RatedropParams {
  op: "ratedrop";
  rate: number;
  [k: string]: unknown;
}

export const ratedropOp: OpDefinition<RatedropConfig, RatedropParams> = {
  name: "ratedrop",
  summary: "Resample down to a lower rate (8 / 11.025 kHz) and back up, keeping length and timing.",
  schema: ratedropSchema,
  sample(c, rng) {
    return { op: "ratedrop", rate: Array.isArray(c.rate) ? rng.choice(c.rate) : c.rate };
  },
  apply(x, p, ctx) {
    if (p.rate >= ctx.sampleRate) return { audio: x, measured: { skipped: "rate not below the recipe's" } };
    const back = resample(resample(x, ctx.sampleRate, p.rate), p.rate, ctx.sampleRate);
    const out = new Float32Array(x.length);
    out.set(back.subarray(0, Math.min(back.length, x.length)));
    return { audio: out };
  },
};
