// Synthetic utterances in the catalog: each is synthesised once here, in parallel, so that the plan
// knows its exact duration (balancing to target hours needs it; an estimate from word counts is off
// by tens of percent between languages, voices and punctuation) and its word times. The audio goes
// to the cache (cache.ts) for the engine; only the duration and the word times stay in memory.
import type { InputSpec } from "../sources/schema.js";
import { synthError, ttsWords, type TtsSpec } from "../sources/tts.js";
import type { ItemError, Utterance } from "../types.js";
import { SourceError } from "../sources/common.js";
import { ttsCacheDir } from "./cache.js";
import { TtsUnavailableError } from "./espeak.js";
import { synthesizeAll } from "./pool.js";

export interface SynthesizedCatalog {
  /** The utterances in their order, without those the synthesizer could not speak. */
  utterances: Utterance[];
  errors: ItemError[];
  /** Where the engine finds the audio (null: caching off; the engine synthesises again). */
  cacheDir: string | null;
}

/** Fills in durationS and words of every synthetic utterance; lines that fail become catalog errors. */
export async function synthesizeCatalog(utterances: Utterance[], inputs: InputSpec[], opts: { threads: number; onProgress?: (done: number) => void }): Promise<SynthesizedCatalog> {
  const todo = utterances.filter((u) => u.audio.synth && u.durationS === null);
  if (todo.length === 0) return { utterances, errors: [], cacheDir: null };
  const cacheDir = ttsCacheDir();
  let outcomes;
  try {
    outcomes = await synthesizeAll(
      todo.map((u) => ({ spec: u.audio.synth! })),
      { threads: opts.threads, cacheDir, onProgress: opts.onProgress },
    );
  } catch (e) {
    // An engine that cannot start is the input's problem (exit 2), not one line's.
    if (e instanceof TtsUnavailableError) throw new SourceError(inputs[todo[0].input].path, e.message);
    throw e;
  }
  const failed = new Set<Utterance>();
  const errors: ItemError[] = [];
  todo.forEach((u, i) => {
    const o = outcomes[i];
    if ("error" in o) {
      failed.add(u);
      errors.push(synthError(u, o.error));
      return;
    }
    const spec = inputs[u.input] as TtsSpec;
    u.durationS = o.numSamples / o.sampleRate;
    u.words = ttsWords(o.tokens, spec.transcript, spec.language);
  });
  return { utterances: failed.size ? utterances.filter((u) => !failed.has(u)) : utterances, errors, cacheDir };
}
