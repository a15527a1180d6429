// Reverberation by FFT convolution with a RIR from a bank. The RIR's direct path is mapped to
// time zero, so the speech is not shifted and word times stay valid; output length = input length.
import { z } from "zod";
import { convolveAligned } from "../audio/fftconv.js";
import { directPathIndex } from "../audio/rir.js";
import { rms } from "../audio/measure.js";
import { probability, roundTo } from "./params.js";
import type { OpDefinition } from "./types.js";

export const reverbSchema = z
  .object({
    bank: z.string().describe("Name of a RIR bank in `rir_banks`."),
    normalize: z
      .enum(["rms", "none"])
      .default("rms")
      .describe("`rms`: scale the reverberant signal back to the input's RMS; `none`: keep the RIR's own gain."),
    p: probability,
  })
  .strict();

export type ReverbConfig = z.infer<typeof reverbSchema>;

export interface ReverbParams {
  op: "reverb";
  bank: string;
  rir: string;
  normalize: "rms" | "none";
  [k: string]: unknown;
}

export const reverbOp: OpDefinition<ReverbConfig, ReverbParams> = {
  name: "reverb",
  summary: "Convolve with a room impulse response from a bank, aligned to its direct path.",
  schema: reverbSchema,
  bankRefs: (c) => [{ kind: "rir", bank: c.bank, field: "bank" }],
  sample(c, rng, ctx) {
    const pool = ctx.banks.rir.get(c.bank) ?? [];
    if (pool.length === 0) throw new Error(`RIR bank "${c.bank}" has no items`);
    return { op: "reverb", bank: c.bank, rir: rng.choice(pool).id, normalize: c.normalize };
  },
  resources: (p) => [{ kind: "rir", bank: p.bank, id: p.rir }],
  apply(x, p, ctx) {
    const h = ctx.resource({ kind: "rir", bank: p.bank, id: p.rir });
    const delay = directPathIndex(h);
    const y = convolveAligned(x, h, delay);
    let scaleDb = 0;
    if (p.normalize === "rms") {
      const a = rms(x);
      const b = rms(y);
      if (b > 0 && a > 0) {
        const g = a / b;
        for (let i = 0; i < y.length; i++) y[i] *= g;
        scaleDb = 20 * Math.log10(g);
      }
    }
    return { audio: y, measured: { direct_delay_samples: delay, rir_samples: h.length, scale_db: roundTo(scaleDb, 3) } };
  },
};
