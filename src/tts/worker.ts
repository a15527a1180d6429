// A catalog-synthesis thread (see pool.ts): specs in, outcomes out, audio to the cache folder.
import { parentPort, workerData } from "node:worker_threads";
import { synthesizeJob, type SynthOutcome } from "./pool.js";
import type { SynthSpec } from "./synth.js";

const { cacheDir } = workerData as { cacheDir: string | null };

parentPort!.on("message", async (specs: SynthSpec[]) => {
  const outcomes: SynthOutcome[] = [];
  try {
    for (const spec of specs) outcomes.push(await synthesizeJob(spec, cacheDir));
  } catch (e: any) {
    // Only a missing or broken engine gets here: it stops the whole synthesis, with its message.
    parentPort!.postMessage({ fatal: e?.message ?? String(e) });
    return;
  }
  parentPort!.postMessage({ outcomes });
});
