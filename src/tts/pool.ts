// Synthesis of many utterances at catalog time, spread over worker threads (one espeak-ng engine
// each). Every result depends only on its spec (see espeak.ts), so the thread count never changes
// a sample. Audio goes to the cache folder; only sizes and token times come back.
import { Worker } from "node:worker_threads";
import { writeCached } from "./cache.js";
import { TtsUnavailableError } from "./espeak.js";
import { synthesize, synthKey, type SynthSpec, type SynthToken } from "./synth.js";

export type SynthOutcome = { numSamples: number; sampleRate: number; tokens: SynthToken[] } | { error: string };

export interface SynthJob {
  spec: SynthSpec;
}

/** Synthesises one spec and stores its audio. A text's failure is an outcome; only a missing engine throws. */
export async function synthesizeJob(spec: SynthSpec, cacheDir: string | null): Promise<SynthOutcome> {
  try {
    const r = await synthesize(spec);
    if (cacheDir) await writeCached(cacheDir, synthKey(spec), r.pcm);
    return { numSamples: r.pcm.length, sampleRate: r.sampleRate, tokens: r.tokens };
  } catch (e: any) {
    if (e instanceof TtsUnavailableError) throw e;
    return { error: e?.message ?? String(e) };
  }
}

/** Jobs per message to a thread: large enough to amortise messaging, small enough to balance. */
const CHUNK = 8;

/**
 * Outcomes in job order. `threads` 0 runs in this thread; otherwise up to `threads` workers (never
 * more than there are chunks). Identical specs are synthesised once. An engine that cannot start
 * (package missing) rejects the whole call.
 */
export async function synthesizeAll(
  jobs: SynthJob[],
  opts: { threads: number; cacheDir: string | null; onProgress?: (done: number) => void },
): Promise<SynthOutcome[]> {
  const keys = jobs.map((j) => synthKey(j.spec));
  const unique = new Map<string, SynthSpec>();
  keys.forEach((k, i) => unique.has(k) || unique.set(k, jobs[i].spec));
  const specs = [...unique.entries()];
  const byKey = new Map<string, SynthOutcome>();
  let done = 0;
  const workers = Math.min(opts.threads, Math.ceil(specs.length / CHUNK));
  if (workers <= 0) {
    for (const [k, spec] of specs) {
      byKey.set(k, await synthesizeJob(spec, opts.cacheDir));
      opts.onProgress?.(++done);
    }
  } else {
    const chunks: Array<Array<[string, SynthSpec]>> = [];
    for (let i = 0; i < specs.length; i += CHUNK) chunks.push(specs.slice(i, i + CHUNK));
    const url = new URL("./worker.js", import.meta.url);
    const pool = Array.from({ length: workers }, () => new Worker(url, { workerData: { cacheDir: opts.cacheDir } }));
    try {
      let next = 0;
      await Promise.all(
        pool.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              const send = () => {
                if (next >= chunks.length) return resolve();
                const chunk = chunks[next++];
                w.once("message", (msg: { outcomes?: SynthOutcome[]; fatal?: string }) => {
                  if (msg.fatal) return reject(new TtsUnavailableError(msg.fatal));
                  chunk.forEach(([k], i) => byKey.set(k, msg.outcomes![i]));
                  done += chunk.length;
                  opts.onProgress?.(done);
                  send();
                });
                w.postMessage(chunk.map(([, spec]) => spec));
              };
              w.once("error", reject);
              send();
            }),
        ),
      );
    } finally {
      await Promise.all(pool.map((w) => w.terminate()));
    }
  }
  return keys.map((k) => byKey.get(k)!);
}
