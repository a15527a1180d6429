// The CPU engine: a pool of worker_threads, or the main thread when workers = 0. Batches are
// independent; the caller bounds how many are in flight and consumes results in plan order.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { ItemError, PlannedItem, ProcessedItem } from "../../types.js";
import { handleTask, type Task, type TaskResult } from "../gpu/tasks.js";
import { closeOpsThread } from "../../ops/registry.js";
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

/** An engine that also runs the GPU engine's CPU tasks (decode, ops, encode: src/engine/gpu/tasks.ts). */
export interface TaskEngine extends Engine {
  task<K extends Task["kind"]>(task: Task & { kind: K }, transfer?: ArrayBuffer[]): Promise<TaskResult<K>>;
}

class InlineEngine implements TaskEngine {
  readonly workers = 0;
  private readonly processor: ItemProcessor;
  constructor(private readonly cfg: EngineConfig) {
    this.processor = new ItemProcessor(cfg);
  }
  async task<K extends Task["kind"]>(task: Task & { kind: K }): Promise<TaskResult<K>> {
    return (await handleTask(this.processor, this.cfg, task)).results as TaskResult<K>;
  }
  async process(items: PlannedItem[]): Promise<BatchResult> {
    // Concurrently, as the worker threads do (see worker.ts).
    return Promise.all(
      items.map((it) =>
        this.processor.process(it).catch((e: any) => ({ id: it.outId, source: it.utt.audio.path, stage: "augment" as const, reason: `internal error: ${e?.message ?? e}` })),
      ),
    );
  }
  async close(): Promise<void> {
    await closeOpsThread();
  }
}

interface Pending {
  id: number;
  /** `{items}` (a batch) or `{task}` (src/engine/gpu/tasks.ts). */
  msg: object;
  transfer?: ArrayBuffer[];
  resolve: (r: any) => void;
  reject: (e: Error) => void;
}

const WORKER_URL = new URL("./worker.js", import.meta.url);

/** Threads started before their config existed (prestartCpuWorkers), not yet taken by a pool. */
let prestarted: Array<{ worker: Worker; exited: boolean }> = [];

/**
 * Starts `count` engine threads now, to be taken by the next engine of that many threads: a
 * thread spends a few hundred ms loading its modules, which then overlaps the main thread's
 * reading of inputs and planning. Until taken they do not keep the process alive; threads left
 * from an earlier call are ended.
 */
export function prestartCpuWorkers(count: number): void {
  for (const p of prestarted) void p.worker.terminate();
  prestarted = [];
  for (let i = 0; i < count; i++) {
    const entry = { worker: new Worker(WORKER_URL, { workerData: null }), exited: false };
    entry.worker.unref();
    entry.worker.once("exit", () => (entry.exited = true));
    // A thread that fails while loading is simply not taken (takePrestarted skips it).
    entry.worker.on("error", () => undefined);
    prestarted.push(entry);
  }
}

/** The prestarted threads, if there are exactly `count` alive; otherwise none (and they are ended). */
function takePrestarted(count: number): Worker[] {
  const alive = prestarted.filter((p) => !p.exited);
  const taken = alive.length === count && count > 0 ? alive.map((p) => p.worker) : [];
  if (!taken.length) for (const p of alive) void p.worker.terminate();
  prestarted = [];
  for (const w of taken) w.ref();
  return taken;
}

class WorkerPool implements TaskEngine {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Pending>();
  private readonly queue: Pending[] = [];
  private nextId = 0;
  private closed = false;

  constructor(cfg: EngineConfig, readonly workers: number) {
    const ready = takePrestarted(workers);
    for (let i = 0; i < workers; i++) {
      let w = ready.pop();
      if (w) w.postMessage({ config: cfg });
      else w = new Worker(WORKER_URL, { workerData: cfg });
      w.on("message", (msg: { id: number; results: unknown }) => {
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
      w.postMessage({ id: job.id, ...job.msg }, job.transfer ?? []);
    }
  }

  process(items: PlannedItem[]): Promise<BatchResult> {
    return this.post({ items });
  }

  task<K extends Task["kind"]>(task: Task & { kind: K }, transfer?: ArrayBuffer[]): Promise<TaskResult<K>> {
    return this.post({ task }, transfer);
  }

  private post<T>(msg: object, transfer?: ArrayBuffer[]): Promise<T> {
    if (this.closed) return Promise.reject(new Error("engine closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, msg, transfer, resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    // Each thread first lets its ops end their helper processes (worker.ts), so those are reaped,
    // not orphaned (an orphan's CPU time is missing from this process's rusage); terminate() is
    // the fallback for a thread that does not finish in time.
    await Promise.all(
      [...this.idle, ...this.busy.keys()].map(
        (w) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => void w.terminate().then(() => resolve(), () => resolve()), 5000);
            w.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
            w.postMessage({ close: true });
          }),
      ),
    );
  }
}

export function createCpuEngine(cfg: EngineConfig, workers: number): TaskEngine {
  return workers === 0 ? new InlineEngine(cfg) : new WorkerPool(cfg, workers);
}
