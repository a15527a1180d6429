// A CPU engine worker thread: receives batches of planned items, returns encoded items.
import { parentPort, workerData } from "node:worker_threads";
import type { PlannedItem } from "../../types.js";
import { handleTask, type Task } from "../gpu/tasks.js";
import { closeOpsThread } from "../../ops/registry.js";
import { ItemProcessor, isItemError, type EngineConfig } from "../process.js";

// A thread started ahead of its run (pool.ts, prestartCpuWorkers) has no workerData: its config
// comes as the first message, once the plan is made.
let config = workerData as EngineConfig | null;
let processor = config ? new ItemProcessor(config) : null;

parentPort!.on("message", async (msg: { id: number; items: PlannedItem[]; task?: Task; close?: boolean; config?: EngineConfig }) => {
  if (msg.config) {
    config = msg.config;
    processor = new ItemProcessor(config);
    return;
  }
  if (msg.close) {
    // The engine is closing (pool.ts): ops end their helper processes first, so they are reaped.
    await closeOpsThread();
    process.exit(0);
  }
  if (msg.task) {
    // A stage for the GPU engine (decode, CPU-only ops, encode).
    const r = await handleTask(processor!, config!, msg.task);
    parentPort!.postMessage({ id: msg.id, results: r.results }, r.transfer);
    return;
  }
  // Items run concurrently: CPU ops are synchronous, so this only interleaves at ops that await
  // (codecs), which lets such ops gather a whole batch into one external process.
  const results = await Promise.all(
    msg.items.map(async (item) => {
      try {
        return await processor!.process(item);
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
