// Formant shift independent of pitch: each STFT frame's LPC spectral envelope E(f) is replaced
// by E(f / ratio) while the harmonics under it stay put (src/audio/envelope.ts). Length and word
// times are unchanged.
import { z } from "zod";
import { warpEnvelope } from "../audio/envelope.js";
import { drawValue, probability, roundTo, valueOrRange, type ValueOrRange } from "./params.js";
import type { OpDefinition } from "./types.js";

export const formantSchema = z
  .object({
    ratio: valueOrRange("Formant frequency ratio: > 1 moves formants up (shorter vocal tract), < 1 down; pitch is kept. Typical [0.9, 1.1].", {
      min: 0.7,
      max: 1.4,
    }),
    p: probability,
  })
  .strict();

export type FormantConfig = z.infer<typeof formantSchema>;

export interface FormantParams {
  op: "formant";
  ratio: number;
  [k: string]: unknown;
}

export const formantOp: OpDefinition<FormantConfig, FormantParams> = {
  name: "formant",
  summary: "Formant shift independent of pitch (LPC spectral-envelope warping on an STFT); length and word times unchanged.",
  schema: formantSchema,
  sample(c, rng) {
    return { op: "formant", ratio: roundTo(drawValue(c.ratio as ValueOrRange, rng), 4) };
  },
  apply(x, p, ctx) {
    if (p.ratio === 1) return { audio: x };
    return { audio: warpEnvelope(x, ctx.sampleRate, p.ratio) };
  },
};
