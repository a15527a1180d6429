// Device / microphone colouration from a bundled set of response curves (src/audio/micresponses.ts,
// tabulated in data/mic-responses/README.md). One curve is drawn per item; the cascade's group
// delay at 1 kHz is removed.
import { z } from "zod";
import { filterAligned } from "../audio/biquad.js";
import { MIC_RESPONSE_NAMES, micResponseSections } from "../audio/micresponses.js";
import { probability } from "./params.js";
import type { OpDefinition } from "./types.js";

export const micresponseSchema = z
  .object({
    curves: z
      .array(z.enum(MIC_RESPONSE_NAMES))
      .min(1)
      .default([...MIC_RESPONSE_NAMES])
      .describe(`Curves to draw from uniformly: ${MIC_RESPONSE_NAMES.join(", ")} (see data/mic-responses/README.md).`),
    p: probability,
  })
  .strict();

export type MicresponseConfig = z.infer<typeof micresponseSchema>;

export interface MicresponseParams {
  op: "micresponse";
  curve: string;
  [k: string]: unknown;
}

export const micresponseOp: OpDefinition<MicresponseConfig, MicresponseParams> = {
  name: "micresponse",
  summary: "Colour the audio with a bundled device/microphone frequency response (phone handset, laptop, headset, smartphone, USB mic, speakerphone).",
  schema: micresponseSchema,
  sample(c, rng) {
    return { op: "micresponse", curve: rng.choice(c.curves) };
  },
  apply(x, p, ctx) {
    const r = filterAligned(x, micResponseSections(p.curve, ctx.sampleRate), ctx.sampleRate, Math.min(1000, 0.25 * ctx.sampleRate));
    return { audio: r.audio, measured: { delay_samples: r.delaySamples } };
  },
};
