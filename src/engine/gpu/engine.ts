// The GPU engine: CPU worker threads decode and encode (FLAC/WAV), the GPU runs the chain for
// whole batches of rows (src/engine/gpu/batch.ts), and ops without a GPU kernel run in the workers
// for the rows that have them, mid-chain.
//
// Flow of one engine batch (run.ts keeps a bounded number of them in flight):
//   decode (workers) → bank resources for GPU ops (cached here; loaded by a worker when missing)
//   → GPU queue: ready batches are merged into one GPU batch (several engine batches of
//     batch_items each make one large one), at most `maxRows` rows / `maxBytes` of audio, one at a
//     time on the device → finish (workers: int16 PCM from the GPU → FLAC/WAV + metadata).
// A GPU failure (a wait past the watchdog, a lost device, a validation error) fails that GPU
// batch only: its engine batches are redone on the CPU from the start, so nothing is lost and
// the output is what the CPU engine writes; the run summary lists it. After a hang or a lost
// device the GPU is not used again in the run.
import { getOp } from "../../ops/registry.js";
import type { ResourceRef } from "../../ops/types.js";
import type { ItemError, PlannedItem, ProcessedItem } from "../../types.js";
import type { GpuHandle } from "../../gpu/device.js";
import { GpuKernels } from "../../gpu/program.js";
import { gpuOp } from "../../gpu/registry.js";
import { GpuFault, GpuRuntime } from "../../gpu/runtime.js";
import type { GpuOpContext } from "../../gpu/ops/types.js";
import type { BatchResult, Engine, TaskEngine } from "../cpu/pool.js";
import { isItemError, type EngineConfig } from "../process.js";
import { maxBindingBytes, runBatch, type RowInput, type RowOutput } from "./batch.js";
import type { DecodedSource, FinishJob, LoadedResource } from "./tasks.js";

export interface GpuEngineOptions {
  /** Seconds any single GPU wait may take (default: 60 on hardware, 600 on a software adapter, which compiles shaders on first use). */
  watchdogS?: number;
  /** Test hook: `fail:N` or `hang:N` makes the N-th GPU batch (1-based) fail or hang. */
  fault?: string;
  /** Most rows in one GPU batch. */
  maxRows?: number;
}

/** What the run summary records about the engine. */
export interface EngineReport {
  device: "cpu" | "gpu";
  requested?: string;
  adapter?: string;
  reason?: string;
  gpu?: {
    batches: number;
    items: number;
    cpu_redone_batches: number;
    cpu_redone_items: number;
    /** Items of batches that went straight to the CPU because the GPU had been given up. */
    cpu_items_after_failure: number;
    faults: string[];
    /** Rows × ops that ran on the CPU inside GPU batches, by reason. */
    cpu_ops: Record<string, number>;
    busy_s: number;
    wall_s: number;
    busy_share: number;
    self_test_max_rel_error?: number;
  };
  notes?: string[];
}

interface Pending {
  rows: RowInput[];
  resolve: (r: RowOutput[]) => void;
  reject: (e: unknown) => void;
}

const key = (ref: ResourceRef) => `${ref.kind}/${ref.bank}/${ref.id}`;

export class GpuEngine implements Engine {
  readonly workers: number;
  readonly runtime: GpuRuntime;
  readonly kernels: GpuKernels;
  private readonly resources = new Map<string, LoadedResource>();
  private resourceBytes = 0;
  /** Resources in use by batches not yet through the GPU (never evicted), with their counts. */
  private readonly pins = new Map<string, number>();
  private readonly queue: Pending[] = [];
  private running = false;
  private disabled: string | null = null;
  private readonly started = performance.now();
  private gpuBatchCount = 0;
  private readonly stats = { batches: 0, items: 0, redoneBatches: 0, redoneItems: 0, cpuOnlyItems: 0, faults: [] as string[], cpuOps: new Map<string, number>() };
  private readonly fault: { kind: "fail" | "hang"; batch: number } | null;
  private readonly maxRows: number;
  selfTestError?: number;

  constructor(
    private readonly cfg: EngineConfig,
    private readonly pool: TaskEngine,
    handle: GpuHandle,
    opts: GpuEngineOptions = {},
  ) {
    this.workers = pool.workers;
    this.runtime = new GpuRuntime(handle, { watchdogS: opts.watchdogS ?? (handle.software ? 600 : 60) });
    this.kernels = new GpuKernels(handle.device);
    const m = /^(fail|hang):(\d+)$/.exec(opts.fault ?? "");
    this.fault = m ? { kind: m[1] as "fail" | "hang", batch: Number(m[2]) } : null;
    this.maxRows = opts.maxRows ?? 1024;
  }

  get ctx(): GpuOpContext {
    return {
      sampleRate: this.cfg.sampleRate,
      resource: (ref) => {
        const r = this.resources.get(key(ref));
        if (!r) throw new Error(`${ref.kind} "${ref.id}" was not loaded`);
        return r;
      },
    };
  }

  async process(items: PlannedItem[]): Promise<BatchResult> {
    if (this.disabled) {
      this.stats.cpuOnlyItems += items.length;
      return this.pool.process(items);
    }
    try {
      return await this.processOnGpu(items);
    } catch (e: any) {
      // The whole engine batch again, on the CPU: the CPU engine's own result for these items
      // (also for what is not a GPU fault, e.g. a bank file that cannot be read: the CPU engine
      // turns that into the item's error, as it would have without a GPU).
      this.stats.redoneBatches++;
      this.stats.redoneItems += items.length;
      // GPU batch failures were recorded once in runGroup (a GPU batch may hold several engine batches).
      if (!(e instanceof GpuFault)) this.recordFault(`GPU engine: ${e?.message ?? e}`);
      return this.pool.process(items);
    }
  }

  private async processOnGpu(items: PlannedItem[]): Promise<BatchResult> {
    const decoded = await this.decode(items);
    const results: Array<ProcessedItem | ItemError | null> = items.map((_, i) => (isItemError(decoded[i]) ? (decoded[i] as ItemError) : null));
    const live = items.map((it, i) => ({ it, i, src: decoded[i] as DecodedSource })).filter((r) => !results[r.i]);
    // Every op with a GPU kernel gets its resources here (cpuReason may look at them, e.g. a RIR's
    // length); they stay pinned in the cache until this batch has left the GPU.
    const refs = live.flatMap((r) => r.it.ops.filter((p) => gpuOp(p.op)).flatMap((p) => getResources(p)));
    const pinned = [...new Set(refs.map(key))];
    for (const k of pinned) this.pins.set(k, (this.pins.get(k) ?? 0) + 1);
    let outputs: RowOutput[];
    try {
      await this.loadResources(refs);
      outputs = live.length ? await this.onGpu(live.map((r) => ({ audio: r.src.samples, ops: r.it.ops }))) : [];
    } finally {
      for (const k of pinned) {
        const n = this.pins.get(k)! - 1;
        if (n) this.pins.set(k, n);
        else this.pins.delete(k);
      }
    }
    const jobs: Array<{ i: number; job: FinishJob }> = [];
    live.forEach((r, k) => {
      const out = outputs[k];
      const src = { fileSampleRate: r.src.fileSampleRate, fileChannels: r.src.fileChannels, length: r.src.samples.length };
      if ("failed" in out) results[r.i] = { id: r.it.outId, source: r.it.utt.audio.path, stage: "augment", reason: out.failed };
      else jobs.push({ i: r.i, job: { item: r.it, src, out: "pcm" in out ? { pcm: out.pcm, level: out.level, firstNonFinite: out.firstNonFinite } : { audio: out.audio }, measured: out.measured } });
    });
    const finished = await this.spread(jobs.map((j) => j.job), (chunk) => this.pool.task({ kind: "finish", jobs: chunk }, transferOf(chunk)));
    jobs.forEach((j, k) => (results[j.i] = finished[k]));
    return results as BatchResult;
  }

  /** Splits work over the workers in chunks, keeping order. */
  private async spread<T, R>(list: T[], run: (chunk: T[]) => Promise<R[]>): Promise<R[]> {
    if (list.length === 0) return [];
    const parts = Math.max(1, Math.min(list.length, this.workers || 1));
    const size = Math.ceil(list.length / parts);
    const chunks: T[][] = [];
    for (let i = 0; i < list.length; i += size) chunks.push(list.slice(i, i + size));
    return (await Promise.all(chunks.map(run))).flat();
  }

  private decode(items: PlannedItem[]): Promise<Array<DecodedSource | ItemError>> {
    return this.spread(items, (chunk) => this.pool.task({ kind: "decode", items: chunk }));
  }

  /** Bank audio for the batch's GPU ops: cached here (bounded), loaded by a worker when missing. */
  private async loadResources(refs: ResourceRef[]): Promise<void> {
    const missing = new Map<string, ResourceRef>();
    for (const ref of refs) if (!this.resources.has(key(ref))) missing.set(key(ref), ref);
    if (missing.size === 0) return;
    const list = [...missing.values()];
    const loaded = await this.spread(list, (chunk) => this.pool.task({ kind: "resources", refs: chunk }));
    // Bounded like the CPU engine's cache: the oldest entries go first (Map keeps insertion order).
    const limit = this.cfg.cacheMb * 1024 * 1024;
    list.forEach((ref, k) => {
      const r = loaded[k];
      if ("error" in r) throw new Error(`${ref.kind} "${ref.id}": ${r.error}`);
      // Two batches may have loaded the same resource at once.
      const old = this.resources.get(key(ref));
      if (old) this.resourceBytes -= old.audio.byteLength;
      this.resources.set(key(ref), r);
      this.resourceBytes += r.audio.byteLength;
    });
    for (const [k, v] of this.resources) {
      if (this.resourceBytes <= limit) break;
      if (this.pins.has(k)) continue;
      this.resources.delete(k);
      this.resourceBytes -= v.audio.byteLength;
    }
  }

  /** Queues rows for the GPU; batches that are ready together run as one GPU batch. */
  private onGpu(rows: RowInput[]): Promise<RowOutput[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length) {
        // Take ready batches up to the row and byte limits (at least one).
        const maxBytes = Math.min(maxBindingBytes(this.runtime.device), 512 << 20) / 2;
        const group: Pending[] = [];
        let rows = 0;
        let bytes = 0;
        while (this.queue.length) {
          const next = this.queue[0];
          const b = next.rows.reduce((n, r) => n + r.audio.byteLength, 0);
          if (group.length && (rows + next.rows.length > this.maxRows || bytes + b > maxBytes)) break;
          group.push(this.queue.shift()!);
          rows += next.rows.length;
          bytes += b;
        }
        await this.runGroup(group);
      }
    } finally {
      this.running = false;
    }
  }

  private async runGroup(group: Pending[]): Promise<void> {
    const all = group.flatMap((p) => p.rows);
    try {
      if (this.disabled) throw new GpuFault(`GPU not used after an earlier failure: ${this.disabled}`, true);
      const n = ++this.gpuBatchCount;
      if (this.fault && this.fault.batch === n) this.runtime.fault = this.fault.kind;
      const out = await runBatch(all, {
        runtime: this.runtime,
        kernels: this.kernels,
        ctx: this.ctx,
        cpuOps: this.stats.cpuOps,
        cpu: (jobs) => this.spread(jobs, (chunk) => this.pool.task({ kind: "ops", jobs: chunk }, [...new Set(chunk.map((j) => j.audio.buffer as ArrayBuffer))])),
      });
      this.stats.batches++;
      this.stats.items += all.length;
      let at = 0;
      for (const p of group) {
        p.resolve(out.slice(at, at + p.rows.length));
        at += p.rows.length;
      }
    } catch (e) {
      const fault = e instanceof GpuFault ? e : new GpuFault(`GPU batch: ${(e as Error)?.message ?? e}`, false);
      if (!fault.message.startsWith("GPU not used")) this.recordFault(`GPU batch ${this.gpuBatchCount} (${all.length} items): ${fault.message}`);
      if (fault.fatal && !this.disabled) this.disabled = fault.message;
      for (const p of group) p.reject(fault);
    }
  }

  private recordFault(message: string): void {
    if (this.stats.faults.length < 20) this.stats.faults.push(message);
  }

  report(): EngineReport {
    const wall = (performance.now() - this.started) / 1000;
    const s = this.stats;
    const notes: string[] = [];
    if (s.redoneBatches) notes.push(`GPU: ${s.redoneBatches} batch(es) (${s.redoneItems} items) were redone on the CPU after a GPU failure (${s.faults[0]})${this.disabled ? "; the GPU was not used for the rest of the run" : ""}`);
    return {
      device: "gpu",
      adapter: describeAdapter(this.runtime.info),
      gpu: {
        batches: s.batches,
        items: s.items,
        cpu_redone_batches: s.redoneBatches,
        cpu_redone_items: s.redoneItems,
        cpu_items_after_failure: s.cpuOnlyItems,
        faults: s.faults,
        cpu_ops: Object.fromEntries(s.cpuOps),
        busy_s: Math.round(this.runtime.busyS * 1000) / 1000,
        wall_s: Math.round(wall * 1000) / 1000,
        busy_share: wall > 0 ? Math.round((this.runtime.busyS / wall) * 1000) / 1000 : 0,
        ...(this.selfTestError !== undefined ? { self_test_max_rel_error: this.selfTestError } : {}),
      },
      ...(notes.length ? { notes } : {}),
    };
  }

  async close(): Promise<void> {
    await this.pool.close();
    this.kernels.destroy();
    this.runtime.destroy();
  }
}

function getResources(p: PlannedItem["ops"][number]): ResourceRef[] {
  return getOp(p.op).resources?.(p) ?? [];
}

function transferOf(jobs: FinishJob[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const j of jobs) out.push(("pcm" in j.out ? j.out.pcm.buffer : j.out.audio.buffer) as ArrayBuffer);
  // A buffer may be listed once only.
  return [...new Set(out)];
}

export function describeAdapter(info: GpuHandle["info"]): string {
  return [info.vendor, info.device || info.description, info.architecture].filter(Boolean).join(" / ");
}
