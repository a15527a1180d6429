// The CPU engine: a pool of worker_threads, or the main thread when workers = 0. Batches are
// independent; the caller bounds how many are in flight and consumes results in plan order.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { ItemError, PlannedItem, ProcessedItem } from "../../types.js";
import { ItemProcessor, type EngineConfig } from "../process.js";

export type BatchResult = Array<ProcessedItem | ItemError>;

export interface Engine {
  readonly workers: number;
  process(items: PlannedItem[]): Promise<BatchResult>;
  close(): Promise<void>;
}

export function resolveWorkers(workers: "auto" | number): number {
  return workers === "auto" ? Math.max(1, availableParallelism()) : workers;
}

class InlineEngine implements Engine {
  readonly workers = 0;
  private readonly processor: ItemProcessor;
  constructor(cfg: EngineConfig) {
    this.processor = new ItemProcessor(cfg);
  }
  async process(items: PlannedItem[]): Promise<BatchResult> {
    // Concurrently, as the worker threads do (see worker.ts).
    return Promise.all(
      items.map((it) =>
        this.processor.process(it).catch((e: any) => ({ id: it.outId, source: it.utt.audio.path, stage: "augment" as const, reason: `internal error: ${e?.message ?? e}` })),
      ),
    );
  }
  async close(): Promise<void> {}
}

interface Pending {
  id: number;
  items: PlannedItem[];
  resolve: (r: BatchResult) => void;
  reject: (e: Error) => void;
}

class WorkerPool implements Engine {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Pending>();
  private readonly queue: Pending[] = [];
  private nextId = 0;
  private closed = false;

  constructor(cfg: EngineConfig, readonly workers: number) {
    const url = new URL("./worker.js", import.meta.url);
    for (let i = 0; i < workers; i++) {
      const w = new Worker(url, { workerData: cfg });
      w.on("message", (msg: { id: number; results: BatchResult }) => {
        const job = this.busy.get(w);
        this.busy.delete(w);
        job?.resolve(msg.results);
        this.idle.push(w);
        this.pump();
      });
      w.on("error", (e) => {
        const job = this.busy.get(w);
        this.busy.delete(w);
        job?.reject(new Error(`engine worker crashed: ${e.message}`));
      });
      this.idle.push(w);
    }
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.busy.set(w, job);
      w.postMessage({ id: job.id, items: job.items });
    }
  }

  process(items: PlannedItem[]): Promise<BatchResult> {
    if (this.closed) return Promise.reject(new Error("engine closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, items, resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.idle, ...this.busy.keys()].map((w) => w.terminate()));
  }
}

export function createCpuEngine(cfg: EngineConfig, workers: number): Engine {
  return workers === 0 ? new InlineEngine(cfg) : new WorkerPool(cfg, workers);
}
