// Tempo perturbation: time-scale modification without pitch change, by WSOLA (src/audio/wsola.ts).
// Chosen over a phase vocoder with identity phase locking (src/audio/pvoc.ts) by measurement
// (test/voice-tempo.test.ts, bench/README-voice.md): on speech WSOLA kept the log-mel spectrogram
// closer to the time-mapped input (0.66-0.75 dB against 1.06-2.32 dB), kept clicks and plosive
// bursts compact instead of smearing them over a frame, left less energy between the harmonics
// of a stretched harmonic complex (-44 to -62 dB against -4 to -31 dB) and runs about 5x faster.
// Its cost is a small timing jitter (a frame may move by up to the 8 ms search tolerance),
// within a label's resolution. Duration becomes n / factor; word times scale by 1 / factor.
import { z } from "zod";
import { tempoStretch } from "../audio/wsola.js";
import { drawValue, probability, roundTo, valueOrRange, type ValueOrRange } from "./params.js";
import type { OpDefinition } from "./types.js";

export const tempoSchema = z
  .object({
    factor: valueOrRange("Tempo factor: > 1 plays faster (shorter), < 1 slower; pitch is kept. Typical [0.9, 1.1].", { min: 0.5, max: 2 }),
    p: probability,
  })
  .strict();

export type TempoConfig = z.infer<typeof tempoSchema>;

export interface TempoParams {
  op: "tempo";
  factor: number;
  [k: string]: unknown;
}

export const tempoOp: OpDefinition<TempoConfig, TempoParams> = {
  name: "tempo",
  summary: "Tempo change without pitch change (WSOLA time-scale modification); durations and word times scale by 1/factor.",
  schema: tempoSchema,
  sample(c, rng) {
    return { op: "tempo", factor: roundTo(drawValue(c.factor as ValueOrRange, rng), 4) };
  },
  durationFactor: (p) => 1 / p.factor,
  mapTime: (p) => (t) => t / p.factor,
  apply(x, p, ctx) {
    if (p.factor === 1) return { audio: x };
    return { audio: tempoStretch(x, ctx.sampleRate, p.factor), measured: { samples_in: x.length } };
  },
};
