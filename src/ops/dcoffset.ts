// DC offset: a constant added to every sample, as a converter with a bias does. Samples pushed
// past full scale clip when written as 16-bit; the op records how many would.
import { z } from "zod";
import { drawValue, probability, roundTo, valueOrRange, type ValueOrRange } from "./params.js";
import type { OpDefinition } from "./types.js";

export const dcoffsetSchema = z
  .object({
    offset: valueOrRange("Offset in full-scale units (1.0 = full scale).", { min: -0.5, max: 0.5 }).default([-0.05, 0.05]),
    p: probability,
  })
  .strict();

export type DcoffsetConfig = z.infer<typeof dcoffsetSchema>;

export interface DcoffsetParams {
  op: "dcoffset";
  offset: number;
  [k: string]: unknown;
}

export const dcoffsetOp: OpDefinition<DcoffsetConfig, DcoffsetParams> = {
  name: "dcoffset",
  summary: "Add a constant DC offset.",
  schema: dcoffsetSchema,
  sample(c, rng) {
    return { op: "dcoffset", offset: roundTo(drawValue(c.offset as ValueOrRange, rng), 5) };
  },
  apply(x, p) {
    const out = new Float32Array(x.length);
    let over = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i] + p.offset;
      out[i] = v;
      if (v >= 1 || v < -1) over++;
    }
    return { audio: out, measured: { samples_past_full_scale: over } };
  },
};
