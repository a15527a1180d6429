// Tempo perturbation: time-scale modification without pitch change, by WSOLA (src/audio/wsola.ts).
// Chosen over a phase vocoder with identity phase locking (src/audio/pvoc.ts) by measurement
// (`node bench/voice.mjs --quality`, bench/README-voice.md; re-checked on synthetic signals by
// test/voice-tempo.test.ts), over r = 0.8, 0.9, 1.1, 1.25 on three espeak-ng voices:
//   log-mel distance to the time-mapped input (+-12 ms): WSOLA 0.74-0.79 dB, phase vocoder
//     1.02-1.74 dB (sox tempo 1.03-1.14 dB);
//   energy between the harmonics of a stretched 75/90/130 Hz complex: WSOLA -60 dB, phase
//     vocoder -17 to -31 dB (sox -38 to -45 dB);
//   clicks (plosive bursts) kept compact, energy within +-1 ms of the peak: WSOLA 0.995, phase
//     vocoder 0.850 (sox 0.898);
//   speed per core: WSOLA ~1000-1400x realtime, phase vocoder ~280-340x.
// WSOLA's cost is a small timing jitter (a frame moves by at most the 8 ms search tolerance;
// measured worst click displacement 1.9 ms), within a label's resolution. Duration becomes
// round(n / factor); word times scale by 1 / factor.
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
