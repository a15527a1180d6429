// Additive noise from a bank at a sampled SNR. SNR is defined on RMS power: over the whole clip
// (default) or over the speech-active part found by an energy VAD. If the mixture would clip,
// the mixture (not the noise alone) is scaled down, so the recorded SNR is the achieved one.
import { z } from "zod";
import { activeRms, energyVad, rms } from "../audio/measure.js";
import { mixSimd } from "../audio/simd.js";
import { drawValue, probability, roundTo, valueOrRange, type ValueOrRange } from "./params.js";
import type { OpDefinition, OpOutput } from "./types.js";

/** Largest peak a mix may have: one LSB below int16 full scale, so quantisation never clips. */
export const CLIP_LEVEL = 32767 / 32768;

export const noiseSchema = z
  .object({
    bank: z.string().describe("Name of a noise bank in `noise_banks`."),
    snr_db: valueOrRange("Signal-to-noise ratio in dB.", { min: -20, max: 80 }),
    categories: z
      .array(z.string())
      .optional()
      .describe("Only draw noises from these categories (sub-folders of the bank). Default: all."),
    snr_reference: z
      .enum(["clip", "speech"])
      .default("clip")
      .describe("Speech power for the SNR: `clip` = RMS of the whole clip; `speech` = RMS of the speech-active part (energy VAD)."),
    crossfade_ms: z
      .number()
      .min(0)
      .max(1000)
      .default(50)
      .describe("Crossfade when a noise shorter than the speech is looped."),
    p: probability,
  })
  .strict();

export type NoiseConfig = z.infer<typeof noiseSchema>;

export interface NoiseParams {
  op: "noise";
  bank: string;
  noise: string;
  category: string;
  offset_s: number;
  snr_db: number;
  snr_reference: "clip" | "speech";
  crossfade_ms: number;
  [k: string]: unknown;
}

/**
 * `length` samples of `noise` starting at `offset`, looping with an equal-power crossfade of
 * `fade` samples at each seam when the noise is too short. Read-only: when no loop is needed this
 * is a view of `noise`. `alloc` supplies the array otherwise (every element is written).
 */
export function loopNoise(noise: Float32Array, offset: number, length: number, fade: number, alloc?: (length: number) => Float32Array): Float32Array {
  const L = noise.length;
  if (L === 0) return new Float32Array(length);
  offset = ((offset % L) + L) % L;
  // No copy when the noise is long enough: a view, which callers only read.
  if (offset + length <= L) return noise.subarray(offset, offset + length);
  const out = alloc?.(length) ?? new Float32Array(length);
  fade = Math.max(0, Math.min(fade, Math.floor(L / 4)));
  // First piece: from offset to the end of the noise.
  let written = Math.min(L - offset, length);
  out.set(noise.subarray(offset, offset + written));
  // Each further copy starts `fade` samples before the previous one ends.
  while (written < length) {
    const start = Math.max(0, written - fade);
    const overlap = written - start;
    for (let i = 0; i < overlap; i++) {
      const a = (i + 0.5) / overlap;
      const fadeIn = Math.sin((a * Math.PI) / 2);
      const fadeOut = Math.cos((a * Math.PI) / 2);
      out[start + i] = out[start + i] * fadeOut + noise[i] * fadeIn;
    }
    const take = Math.min(L - overlap, length - written);
    out.set(noise.subarray(overlap, overlap + take), written);
    written += take;
  }
  return out;
}

export const noiseOp: OpDefinition<NoiseConfig, NoiseParams> = {
  name: "noise",
  summary: "Mix a noise from a bank at a sampled SNR (RMS over the clip or over active speech).",
  schema: noiseSchema,
  bankRefs: (c) => [{ kind: "noise", bank: c.bank, field: "bank" }],
  sample(c, rng, ctx) {
    let pool = ctx.banks.noise.get(c.bank) ?? [];
    if (c.categories) pool = pool.filter((e) => c.categories!.includes(e.category));
    if (pool.length === 0) throw new Error(`noise bank "${c.bank}" has no items${c.categories ? ` in categories ${c.categories.join(", ")}` : ""}`);
    const entry = rng.choice(pool);
    // A random offset that keeps the whole clip inside the noise when the noise is long enough.
    const room = entry.durationS > ctx.durationS ? entry.durationS - ctx.durationS : entry.durationS;
    return {
      op: "noise",
      bank: c.bank,
      noise: entry.id,
      category: entry.category,
      offset_s: roundTo(rng.uniform(0, room), 4),
      snr_db: roundTo(drawValue(c.snr_db as ValueOrRange, rng), 3),
      snr_reference: c.snr_reference,
      crossfade_ms: c.crossfade_ms,
    };
  },
  resources: (p) => [{ kind: "noise", bank: p.bank, id: p.noise }],
  apply(x, p, ctx): OpOutput {
    const sr = ctx.sampleRate;
    const n = x.length;
    const noise = ctx.resource({ kind: "noise", bank: p.bank, id: p.noise });
    const alloc = ctx.buffer?.bind(ctx);
    const seg = loopNoise(noise, Math.round(p.offset_s * sr), n, Math.round((p.crossfade_ms / 1000) * sr), alloc);
    const mask = p.snr_reference === "speech" ? energyVad(x, sr) : null;
    const ps = mask ? activeRms(x, mask) ** 2 : rms(x) ** 2;
    const pn = rms(seg) ** 2;
    if (pn === 0 || ps === 0) {
      return { audio: x, measured: { skipped: pn === 0 ? "silent noise" : "silent speech" } };
    }
    const g = Math.sqrt(ps / (pn * 10 ** (p.snr_db / 10)));
    const out = alloc?.(n) ?? new Float32Array(n);
    // Write the mix as if it did not clip, finding its peak on the way; if it clips, write it
    // again scaled (the mixture, not the noise): one pass over the audio in the usual case.
    let mix = mixInto(out, x, seg, g, 1, mask);
    const scale = mix.peak > CLIP_LEVEL ? CLIP_LEVEL / mix.peak : 1;
    if (scale !== 1) mix = mixInto(out, x, seg, g, scale, mask);
    // The achieved SNR, from the two components as they are in the output (float32-rounded).
    const speechPow = mask && mix.nActive > 0 ? mix.esActive / mix.nActive : mix.es / n;
    const achieved = 10 * Math.log10(speechPow / (mix.en / n));
    return {
      audio: out,
      measured: {
        snr_db: roundTo(achieved, 4),
        noise_gain_db: roundTo(20 * Math.log10(g), 3),
        mix_scale_db: roundTo(20 * Math.log10(scale), 3),
        looped: noise.length < Math.round(p.offset_s * sr) + n,
      },
    };
  },
};

const simdSums = new Float64Array(3);
const mixSums = { peak: 0, es: 0, en: 0, esActive: 0, nActive: 0 };

/**
 * out = fround(x·scale) + fround(seg·g·scale), with the sums the SNR is measured from, and the
 * peak of the unscaled mix x + g·seg (exact, in double). Returns a shared object.
 */
function mixInto(out: Float32Array, x: Float32Array, seg: Float32Array, g: number, scale: number, mask: Uint8Array | null): typeof mixSums {
  let peak = 0;
  let es = 0;
  let en = 0;
  if (!mask) {
    let i = 0;
    const done = mixSimd(x, seg, g, scale, out, simdSums); // all but the last few samples, same bits
    if (done !== null) {
      peak = simdSums[0];
      es = simdSums[1];
      en = simdSums[2];
      i = done;
    }
    for (; i < x.length; i++) {
      const xi = x[i];
      const ni = seg[i] * g;
      const v = Math.abs(xi + ni);
      if (v > peak) peak = v;
      const s = Math.fround(xi * scale);
      const m = Math.fround(ni * scale);
      out[i] = s + m;
      es += s * s;
      en += m * m;
    }
    mixSums.esActive = 0;
    mixSums.nActive = 0;
  } else {
    let esActive = 0;
    let nActive = 0;
    for (let i = 0; i < x.length; i++) {
      const xi = x[i];
      const ni = seg[i] * g;
      const v = Math.abs(xi + ni);
      if (v > peak) peak = v;
      const s = Math.fround(xi * scale);
      const m = Math.fround(ni * scale);
      out[i] = s + m;
      es += s * s;
      en += m * m;
      if (mask[i]) {
        esActive += s * s;
        nActive++;
      }
    }
    mixSums.esActive = esActive;
    mixSums.nActive = nActive;
  }
  mixSums.peak = peak;
  mixSums.es = es;
  mixSums.en = en;
  return mixSums;
}
