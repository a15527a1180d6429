// Low-, high- and band-pass filtering with Butterworth cascades (src/audio/biquad.ts, RBJ cookbook
// sections), e.g. a band-limited device or line. Corners are drawn log-uniformly from their
// ranges (equal odds per octave). The cascade's group delay at a reference frequency in the
// passband (low-pass: half the corner, at most 1 kHz; high-pass: twice the corner, at least
// 1 kHz; band-pass: the geometric centre) is removed so speech keeps its timing.
import { z } from "zod";
import { butterworth, filterAligned } from "../audio/biquad.js";
import type { Rng } from "../plan/rng.js";
import { probability, roundTo, valueOrRange, type ValueOrRange } from "./params.js";
import { evenOrder } from "./telephone.js";
import type { OpDefinition, OpOutput } from "./types.js";

/** Log-uniform draw from a positive value or range. */
export function drawLog(v: ValueOrRange, rng: Rng): number {
  return typeof v === "number" ? v : Math.exp(rng.uniform(Math.log(v[0]), Math.log(v[1])));
}

const hz = (d: string) => valueOrRange(d, { min: 20, max: 96000 });

export const filterSchema = z
  .object({
    type: z.enum(["lowpass", "highpass", "bandpass"]).describe("Filter kind."),
    cutoff_hz: hz("Corner (-3 dB) of a low- or high-pass, Hz (log-uniform in a range).").optional(),
    low_hz: hz("Lower corner of a band-pass, Hz.").optional(),
    high_hz: hz("Upper corner of a band-pass, Hz.").optional(),
    order: z.union([evenOrder, z.array(evenOrder).min(1)]).default(4).describe("Butterworth order (each edge), or a list to draw from."),
    p: probability,
  })
  .strict()
  .refine((c) => (c.type === "bandpass" ? c.low_hz !== undefined && c.high_hz !== undefined && c.cutoff_hz === undefined : c.cutoff_hz !== undefined && c.low_hz === undefined && c.high_hz === undefined), {
    message: "lowpass/highpass take `cutoff_hz`; bandpass takes `low_hz` and `high_hz`",
  });

export type FilterConfig = z.infer<typeof filterSchema>;

export interface FilterParams {
  op: "filter";
  type: "lowpass" | "highpass" | "bandpass";
  order: number;
  cutoff_hz?: number;
  low_hz?: number;
  high_hz?: number;
  [k: string]: unknown;
}

export const filterOp: OpDefinition<FilterConfig, FilterParams> = {
  name: "filter",
  summary: "Butterworth low-, high- or band-pass (biquad cascade), delay-compensated.",
  schema: filterSchema,
  sample(c, rng) {
    const order = Array.isArray(c.order) ? rng.choice(c.order) : c.order;
    if (c.type === "bandpass") {
      let lo = drawLog(c.low_hz as ValueOrRange, rng);
      let hi = drawLog(c.high_hz as ValueOrRange, rng);
      if (lo > hi) [lo, hi] = [hi, lo];
      return { op: "filter", type: c.type, order, low_hz: roundTo(lo, 1), high_hz: roundTo(hi, 1) };
    }
    return { op: "filter", type: c.type, order, cutoff_hz: roundTo(drawLog(c.cutoff_hz as ValueOrRange, rng), 1) };
  },
  apply(x, p, ctx): OpOutput {
    const sr = ctx.sampleRate;
    const limit = 0.49 * sr;
    let sections;
    let ref: number;
    if (p.type === "bandpass") {
      sections = [...butterworth("highpass", p.order, Math.min(p.low_hz!, limit), sr)];
      if (p.high_hz! < limit) sections.push(...butterworth("lowpass", p.order, p.high_hz!, sr));
      ref = Math.sqrt(p.low_hz! * Math.min(p.high_hz!, limit));
    } else if (p.type === "lowpass") {
      if (p.cutoff_hz! >= limit) return { audio: x, measured: { skipped: `cutoff at or above 0.49 x ${sr} Hz` } };
      sections = butterworth("lowpass", p.order, p.cutoff_hz!, sr);
      ref = Math.min(1000, p.cutoff_hz! / 2);
    } else {
      sections = butterworth("highpass", p.order, Math.min(p.cutoff_hz!, limit), sr);
      ref = Math.min(Math.max(1000, 2 * p.cutoff_hz!), 0.45 * sr);
    }
    const r = filterAligned(x, sections, sr, ref);
    return { audio: r.audio, measured: { delay_samples: r.delaySamples } };
  },
};
