// Synthetic speech at engine time: the samples the catalog cached, or synthesised again in this
// thread (the same samples: synthesis depends only on the spec), resampled to the run's rate with
// the project's resampler, as any source is.
import { int16ToFloat } from "../audio/decode.js";
import { DecodeError } from "../audio/decoded.js";
import { resample } from "../audio/resample.js";
import type { SynthSpec } from "../types.js";
import { readCached } from "./cache.js";
import { ESPEAK_SAMPLE_RATE } from "./espeak.js";
import { synthesize, synthKey } from "./synth.js";

export async function loadSynthetic(spec: SynthSpec, sampleRate: number, cacheDir?: string): Promise<{ samples: Float32Array; fileSampleRate: number; fileChannels: number }> {
  let pcm = cacheDir ? await readCached(cacheDir, synthKey(spec)) : null;
  if (!pcm) {
    try {
      pcm = (await synthesize(spec)).pcm;
    } catch (e: any) {
      throw new DecodeError(`synthesis: ${e?.message ?? e}`);
    }
  }
  const x = int16ToFloat(pcm);
  return { samples: sampleRate === ESPEAK_SAMPLE_RATE ? x : resample(x, ESPEAK_SAMPLE_RATE, sampleRate), fileSampleRate: ESPEAK_SAMPLE_RATE, fileChannels: 1 };
}
