// Bank audio decoded once, in the main thread, for every engine thread: each thread would
// otherwise decode (and compile the decoder for) the same noise and RIR files itself, a fixed cost
// per thread of a few hundred ms that a short run notices. The samples go to the threads in
// SharedArrayBuffers (no copy). Only when the files the plan uses fit a small budget; a large bank
// is left to each thread's bounded cache, as before.
import { getOp } from "../ops/registry.js";
import type { PlannedItem } from "../types.js";
import { loadBankAudio } from "./load.js";
import type { EngineConfig } from "./process.js";

/** Most decoded bank audio shared up front (bytes of float32 at the engine's rate). */
export const SHARED_BANK_BYTES = 64 * 1024 * 1024;

/**
 * Decodes the bank files the items use into shared memory, as `cfg.shared` (key: the engine's
 * resource key, `kind/bank/id`). Leaves cfg alone when they would take more than `budgetBytes`
 * (by their catalogued durations) or a file fails to load (the item reports it then, as usual).
 */
export async function shareBankAudio(cfg: EngineConfig, items: PlannedItem[], durationS: (kind: "noise" | "rir", bank: string, id: string) => number | undefined, budgetBytes = SHARED_BANK_BYTES): Promise<void> {
  const files = new Map<string, string>();
  let bytes = 0;
  for (const item of items) {
    for (const params of item.ops) {
      for (const ref of getOp(params.op).resources?.(params) ?? []) {
        if (ref.room) continue; // simulated, not decoded
        const key = `${ref.kind}/${ref.bank}/${ref.id}`;
        if (files.has(key)) continue;
        const file = cfg.banks[ref.kind][ref.bank]?.[ref.id];
        if (typeof file !== "string") continue;
        const d = durationS(ref.kind, ref.bank, ref.id);
        if (d === undefined) return;
        bytes += Math.ceil(d * cfg.sampleRate + 1) * 4;
        if (bytes > budgetBytes) return;
        files.set(key, file);
      }
    }
  }
  if (files.size === 0) return;
  const shared: Record<string, Float32Array> = {};
  for (const [key, file] of files) {
    let audio: Float32Array;
    try {
      audio = await loadBankAudio(file, cfg.sampleRate);
    } catch {
      continue; // the threads load it themselves and report the error per item
    }
    const copy = new Float32Array(new SharedArrayBuffer(audio.byteLength));
    copy.set(audio);
    shared[key] = copy;
  }
  cfg.shared = shared;
}
