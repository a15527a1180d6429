// A CPU engine worker thread: receives batches of planned items, returns encoded items.
import { parentPort, workerData } from "node:worker_threads";
import type { PlannedItem } from "../../types.js";
import { ItemProcessor, isItemError, type EngineConfig } from "../process.js";

const processor = new ItemProcessor(workerData as EngineConfig);

parentPort!.on("message", async (msg: { id: number; items: PlannedItem[] }) => {
  // Items run concurrently: CPU ops are synchronous, so this only interleaves at ops that await
  // (codecs), which lets such ops gather a whole batch into one external process.
  const results = await Promise.all(
    msg.items.map(async (item) => {
      try {
        return await processor.process(item);
      } catch (e: any) {
        // A bug in an op must cost one item, not the run.
        return { id: item.outId, source: item.utt.audio.path, stage: "augment" as const, reason: `internal error: ${e?.message ?? e}` };
      }
    }),
  );
  const transfer: ArrayBuffer[] = [];
  for (const r of results) if (!isItemError(r)) transfer.push(r.audio.buffer as ArrayBuffer);
  parentPort!.postMessage({ id: msg.id, results }, transfer);
});
