// Parametric EQ: peaking and shelving bands (RBJ cookbook biquads, src/audio/biquad.ts), each with
// its centre drawn log-uniformly, gain and Q uniformly. Bands at or above 0.45 x the sample rate
// are left out. The group delay at 1 kHz is removed (a few samples at most for typical bands).
import { z } from "zod";
import { filterAligned, rbjBiquad } from "../audio/biquad.js";
import { drawLog } from "./filter.js";
import { drawValue, probability, roundTo, valueOrRange, type ValueOrRange } from "./params.js";
import type { OpDefinition } from "./types.js";

const bandSchema = z
  .object({
    type: z.enum(["peaking", "lowshelf", "highshelf"]).default("peaking").describe("Band kind."),
    freq_hz: valueOrRange("Centre (peaking) or corner (shelf) in Hz, drawn log-uniformly.", { min: 20, max: 96000 }),
    gain_db: valueOrRange("Gain at the centre / of the shelf, dB.", { min: -30, max: 30 }),
    q: valueOrRange("Q (shelves: the cookbook's Q; 0.707 is the steepest monotonic shelf).", { min: 0.1, max: 20 }).default(1),
  })
  .strict();

export const eqSchema = z
  .object({
    bands: z.array(bandSchema).min(1).max(16).describe("EQ bands, applied in order: `{type, freq_hz, gain_db, q}`."),
    p: probability,
  })
  .strict();

export type EqConfig = z.infer<typeof eqSchema>;

export interface EqBand {
  type: "peaking" | "lowshelf" | "highshelf";
  freq_hz: number;
  gain_db: number;
  q: number;
}

export interface EqParams {
  op: "eq";
  bands: EqBand[];
  [k: string]: unknown;
}

export const eqOp: OpDefinition<EqConfig, EqParams> = {
  name: "eq",
  summary: "Parametric EQ: peaking and shelf biquads (RBJ cookbook) with sampled frequency, gain and Q.",
  schema: eqSchema,
  sample(c, rng) {
    return {
      op: "eq",
      bands: c.bands.map((b) => ({
        type: b.type,
        freq_hz: roundTo(drawLog(b.freq_hz as ValueOrRange, rng), 1),
        gain_db: roundTo(drawValue(b.gain_db as ValueOrRange, rng), 2),
        q: roundTo(drawValue(b.q as ValueOrRange, rng), 3),
      })),
    };
  },
  apply(x, p, ctx) {
    const sr = ctx.sampleRate;
    const sections = p.bands.filter((b) => b.freq_hz < 0.45 * sr).map((b) => rbjBiquad(b.type, b.freq_hz, b.q, sr, b.gain_db));
    const r = filterAligned(x, sections, sr, Math.min(1000, 0.25 * sr));
    return { audio: r.audio, measured: { delay_samples: r.delaySamples } };
  },
};
