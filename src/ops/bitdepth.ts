// Bit-depth reduction: requantise to `bits` bits (src/audio/quantize.ts), optionally with TPDF
// dither whose generator is seeded at plan time. Records the achieved signal-to-quantisation-noise
// ratio.
import { z } from "zod";
import { requantize } from "../audio/quantize.js";
import { Rng } from "../plan/rng.js";
import { probability, roundTo, valueOrRange, type ValueOrRange } from "./params.js";
import type { OpDefinition } from "./types.js";

export const bitdepthSchema = z
  .object({
    bits: valueOrRange("Bits per sample, integer 2-16 (a range draws an integer).", { min: 2, max: 16 }).default([6, 12]),
    dither: z.boolean().default(false).describe("Add ±1 LSB TPDF dither before rounding (its noise is seeded at plan time)."),
    p: probability,
  })
  .strict();

export type BitdepthConfig = z.infer<typeof bitdepthSchema>;

export interface BitdepthParams {
  op: "bitdepth";
  bits: number;
  dither_seed?: number;
  [k: string]: unknown;
}

export const bitdepthOp: OpDefinition<BitdepthConfig, BitdepthParams> = {
  name: "bitdepth",
  summary: "Requantise to fewer bits (2-16), optionally with TPDF dither.",
  schema: bitdepthSchema,
  sample(c, rng) {
    const v = c.bits as ValueOrRange;
    const bits = typeof v === "number" ? Math.round(v) : Math.ceil(v[0]) + rng.int(Math.floor(v[1]) - Math.ceil(v[0]) + 1);
    return c.dither ? { op: "bitdepth", bits, dither_seed: rng.u32() } : { op: "bitdepth", bits };
  },
  apply(x, p) {
    let uniform: (() => number) | undefined;
    if (p.dither_seed !== undefined) {
      const rng = new Rng(p.dither_seed);
      uniform = () => rng.next();
    }
    const y = requantize(x, p.bits, uniform);
    let es = 0;
    let en = 0;
    for (let i = 0; i < x.length; i++) {
      es += x[i] * x[i];
      en += (y[i] - x[i]) ** 2;
    }
    return { audio: y, measured: { sqnr_db: en > 0 ? roundTo(10 * Math.log10(es / en), 2) : "inf" } };
  },
};
