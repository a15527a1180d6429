// Telephone band: a 300-3400 Hz band-pass (the ITU-T G.712 / G.711 channel band), as an
// order-4 Butterworth high-pass at 300 Hz followed by an order-8 Butterworth low-pass at 3400 Hz
// (src/audio/biquad.ts: RBJ cookbook sections, exact bilinear Butterworth). Specification, at a
// rate fs, from the closed form 10 log10(1 + (tan(pi f/fs) / tan(pi fc/fs))^(±2N)):
//   at 16 kHz: -3.01 dB at 300 and 3400 Hz; 100 Hz: 38.21 dB down; 6 kHz: 77.77 dB down;
//   200 Hz: 14.28 dB down; 4 kHz: 16.62 dB down; 1 kHz: within 0.01 dB of 0.
// test/channel-filters.test.ts measures those with tones and against scipy's butter().
// The band edges may be drawn from ranges; the filter's group delay at the band's geometric centre
// (about 1 kHz; 6 samples at 16 kHz for 300-3400) is removed so speech keeps its timing.
import { z } from "zod";
import { butterworth, filterAligned } from "../audio/biquad.js";
import { drawValue, probability, roundTo, valueOrRange, type ValueOrRange } from "./params.js";
import type { OpDefinition } from "./types.js";

export const evenOrder = z.literal([2, 4, 6, 8]);

export const telephoneSchema = z
  .object({
    low_hz: valueOrRange("High-pass corner (-3 dB), Hz.", { min: 50, max: 1000 }).default(300),
    high_hz: valueOrRange("Low-pass corner (-3 dB), Hz (left out when at or above 0.49 x the sample rate).", { min: 1000, max: 20000 }).default(3400),
    low_order: evenOrder.default(4).describe("Butterworth order of the high-pass."),
    high_order: evenOrder.default(8).describe("Butterworth order of the low-pass."),
    p: probability,
  })
  .strict();

export type TelephoneConfig = z.infer<typeof telephoneSchema>;

export interface TelephoneParams {
  op: "telephone";
  low_hz: number;
  high_hz: number;
  low_order: number;
  high_order: number;
  [k: string]: unknown;
}

/** The cascade of a telephone band at `sampleRate`. */
export function telephoneSections(p: Pick<TelephoneParams, "low_hz" | "high_hz" | "low_order" | "high_order">, sampleRate: number) {
  const sections = butterworth("highpass", p.low_order, p.low_hz, sampleRate);
  if (p.high_hz < 0.49 * sampleRate) sections.push(...butterworth("lowpass", p.high_order, p.high_hz, sampleRate));
  return sections;
}

export const telephoneOp: OpDefinition<TelephoneConfig, TelephoneParams> = {
  name: "telephone",
  summary: "Telephone band-pass (Butterworth high-pass 300 Hz order 4 + low-pass 3400 Hz order 8 by default), delay-compensated.",
  schema: telephoneSchema,
  sample(c, rng) {
    return {
      op: "telephone",
      low_hz: roundTo(drawValue(c.low_hz as ValueOrRange, rng), 1),
      high_hz: roundTo(drawValue(c.high_hz as ValueOrRange, rng), 1),
      low_order: c.low_order,
      high_order: c.high_order,
    };
  },
  apply(x, p, ctx) {
    const sections = telephoneSections(p, ctx.sampleRate);
    const ref = Math.sqrt(p.low_hz * Math.min(p.high_hz, 0.45 * ctx.sampleRate));
    const r = filterAligned(x, sections, ctx.sampleRate, ref);
    return { audio: r.audio, measured: { delay_samples: r.delaySamples } };
  },
};
