// Pitch perturbation: shift by a number of semitones without tempo change (WSOLA stretch by
// 2^(s/12), then band-limited resampling back to the original length; src/audio/pitch.ts), with
// optional formant preservation (the spectral envelope warped back by 2^(-s/12),
// src/audio/envelope.ts). Length and word times are unchanged.
import { z } from "zod";
import { pitchShift } from "../audio/pitch.js";
import { drawValue, probability, roundTo, valueOrRange, type ValueOrRange } from "./params.js";
import type { OpDefinition } from "./types.js";

export const pitchSchema = z
  .object({
    semitones: valueOrRange("Pitch shift in semitones (+12 = one octave up); tempo is kept. Typical [-3, 3].", { min: -12, max: 12 }),
    preserve_formants: z
      .boolean()
      .default(false)
      .describe("Keep the spectral envelope (formants) in place while the harmonics move, so the voice does not sound larger or smaller."),
    p: probability,
  })
  .strict();

export type PitchConfig = z.infer<typeof pitchSchema>;

export interface PitchParams {
  op: "pitch";
  semitones: number;
  preserve_formants: boolean;
  [k: string]: unknown;
}

export const pitchOp: OpDefinition<PitchConfig, PitchParams> = {
  name: "pitch",
  summary: "Pitch shift in semitones without tempo change, optionally preserving formants; length and word times unchanged.",
  schema: pitchSchema,
  sample(c, rng) {
    return { op: "pitch", semitones: roundTo(drawValue(c.semitones as ValueOrRange, rng), 3), preserve_formants: c.preserve_formants };
  },
  apply(x, p, ctx) {
    if (p.semitones === 0) return { audio: x };
    return { audio: pitchShift(x, ctx.sampleRate, p.semitones, { preserveFormants: p.preserve_formants }) };
  },
};
