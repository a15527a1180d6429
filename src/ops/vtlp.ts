// Vocal-tract length perturbation (Jaitly & Hinton 2013): the piecewise-linear frequency warp
// with factor alpha and boundary frequency F_hi, applied to the audio by a phase vocoder that
// moves every spectral peak to its warped frequency (src/audio/vtlp.ts). Below the knee
// F_hi min(alpha, 1) / alpha every component moves by exactly alpha; length and timing are kept.
import { z } from "zod";
import type { Rng } from "../plan/rng.js";
import { VTLP_BOUNDARY_FRACTION, vtlp, vtlpKneeHz } from "../audio/vtlp.js";
import { drawValue, probability, roundTo, valueOrRange, type ValueOrRange } from "./params.js";
import type { OpDefinition } from "./types.js";

export const vtlpSchema = z
  .object({
    alpha: valueOrRange("Warp factor alpha (frequencies below the knee move by alpha). The paper draws from [0.9, 1.1].", { min: 0.7, max: 1.4 }).default([0.9, 1.1]),
    boundary_hz: z
      .number()
      .positive()
      .nullable()
      .default(null)
      .describe("Boundary frequency F_hi of the warp in Hz; null = 0.6 x the Nyquist (4800 Hz at 16 kHz, the paper's value)."),
    p: probability,
  })
  .strict();

export type VtlpConfig = z.infer<typeof vtlpSchema>;

export interface VtlpParams {
  op: "vtlp";
  alpha: number;
  boundary_hz: number;
  [k: string]: unknown;
}

/**
 * Draws the warp factor and resolves the boundary (null = the paper's 0.6 × Nyquist), refusing a
 * knee at or above the Nyquist. Shared by `vtlp` and the `accent` preset.
 */
export function drawVtlpWarp(op: string, alphaRange: ValueOrRange, boundary: number | null, rng: Rng, sampleRate: number): { alpha: number; boundaryHz: number } {
  const nyquistHz = sampleRate / 2;
  const boundaryHz = boundary ?? VTLP_BOUNDARY_FRACTION * nyquistHz;
  const alpha = roundTo(drawValue(alphaRange, rng), 4);
  if (!(vtlpKneeHz(alpha, boundaryHz) < nyquistHz) || !(boundaryHz * Math.min(alpha, 1) < nyquistHz)) {
    throw new RangeError(`${op}: boundary_hz ${boundaryHz} with alpha ${alpha} puts the warp's knee at or above the Nyquist (${nyquistHz} Hz)`);
  }
  return { alpha, boundaryHz: roundTo(boundaryHz, 3) };
}

export const vtlpOp: OpDefinition<VtlpConfig, VtlpParams> = {
  name: "vtlp",
  summary: "Vocal-tract length perturbation: Jaitly & Hinton's piecewise-linear frequency warp by alpha on an STFT (phase vocoder) resynthesis.",
  schema: vtlpSchema,
  sample(c, rng, ctx) {
    const { alpha, boundaryHz } = drawVtlpWarp("vtlp", c.alpha as ValueOrRange, c.boundary_hz, rng, ctx.sampleRate);
    return { op: "vtlp", alpha, boundary_hz: boundaryHz };
  },
  apply(x, p, ctx) {
    if (p.alpha === 1) return { audio: x };
    return { audio: vtlp(x, ctx.sampleRate, p.alpha, p.boundary_hz) };
  },
};
