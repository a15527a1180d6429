// A CPU engine worker thread: receives batches of planned items, returns encoded items.
import { parentPort, workerData } from "node:worker_threads";
import type { PlannedItem } from "../../types.js";
import { ItemProcessor, isItemError, type EngineConfig } from "../process.js";

const processor = new ItemProcessor(workerData as EngineConfig);

parentPort!.on("message", async (msg: { id: number; items: PlannedItem[] }) => {
  const results = [];
  const transfer: ArrayBuffer[] = [];
  for (const item of msg.items) {
    let r;
    try {
      r = await processor.process(item);
    } catch (e: any) {
      // A bug in an op must cost one item, not the run.
      r = { id: item.outId, source: item.utt.audio.path, stage: "augment" as const, reason: `internal error: ${e?.message ?? e}` };
    }
    if (!isItemError(r)) transfer.push(r.audio.buffer as ArrayBuffer);
    results.push(r);
  }
  parentPort!.postMessage({ id: msg.id, results }, transfer);
});
