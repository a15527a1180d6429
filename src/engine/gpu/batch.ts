// Runs the op chains of a batch of rows on the GPU, step by step.
//
// Rows are independent and their chains differ (ops skipped by `p`, different params), so at
// step s every row takes its own s-th op and rows are grouped by op: one group's passes cover all
// its rows whatever their params. An op without a GPU implementation (or params it cannot run,
// see cpuReason) splits a row's chain: the GPU part before it runs in one phase, the row's audio
// comes back, the CPU runs the op (and any CPU ops right after it) in the worker pool, and the
// row joins the next phase. Each phase is one upload (audio, side inputs, dispatch records), one
// command buffer and one readback; rows that finish are converted to int16 on the GPU and only
// the PCM and a few scalars per row come back. A chain whose ops all run on the GPU is one phase.
import type { Measured } from "../../ops/types.js";
import type { PlannedOp } from "../../types.js";
import { Program, type BatchBuffers, type GpuKernels, type RowRecord } from "../../gpu/program.js";
import { gpuOp } from "../../gpu/registry.js";
import type { GpuOpContext, GpuStep } from "../../gpu/ops/types.js";
import type { GpuRuntime, ReadPiece, UploadPiece } from "../../gpu/runtime.js";

export interface RowInput {
  audio: Float32Array;
  ops: PlannedOp[];
}

export type Level = { peak: number; meanSquare: number; finite: boolean };

export type RowOutput =
  /** Finished on the GPU: int16 PCM and its level. */
  | { pcm: Int16Array; level: Level; firstNonFinite?: number; measured: Array<Measured | undefined> }
  /** Finished on the host (the chain ended with a CPU op, or had no GPU op). */
  | { audio: Float32Array; measured: Array<Measured | undefined> }
  | { failed: string };

export type CpuRunner = (jobs: Array<{ audio: Float32Array; ops: PlannedOp[] }>) => Promise<Array<{ audio: Float32Array; measured: Array<Measured | undefined> } | { failed: string }>>;

export interface BatchOptions {
  runtime: GpuRuntime;
  kernels: GpuKernels;
  ctx: GpuOpContext;
  /** Runs CPU-only ops (the worker pool). */
  cpu: CpuRunner;
  /** Fill outputs and scratch with NaN / a marker before the kernels run (tests: unwritten samples show). */
  poison?: boolean;
  /** Counts rows × ops that ran on the CPU, by reason (for the run summary). */
  cpuOps?: Map<string, number>;
  /** Read finished rows back as float (no int16 conversion): for measuring the ops' error. */
  floatOutput?: boolean;
  /** Test hook: the data buffer after the last phase, to check that padding was not written. */
  onDataImage?: (image: Float32Array, rows: Array<{ off: number; cap: number; len: number }>) => void;
}

/** Bytes a batch may hold in one storage binding (the adapter's limit, at most 1 GiB). */
export function maxBindingBytes(device: GPUDevice): number {
  return Math.min(device.limits.maxStorageBufferBindingSize, 1 << 30);
}

interface RowState {
  ops: PlannedOp[];
  ptr: number;
  audio: Float32Array | null;
  len: number;
  measured: Array<Measured | undefined>;
  out?: RowOutput;
}

const PAD = 64;
const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;
const POISON_WORD = 0x80018001;

export function gpuCapable(params: PlannedOp, ctx: GpuOpContext): boolean {
  const op = gpuOp(params.op);
  return !!op && !op.cpuReason?.(params, ctx);
}

/** Why params run on the CPU (for the summary), or undefined. */
export function cpuReasonFor(params: PlannedOp, ctx: GpuOpContext): string | undefined {
  const op = gpuOp(params.op);
  if (!op) return `${params.op}: no GPU kernel`;
  const r = op.cpuReason?.(params, ctx);
  return r ? `${params.op}: ${r}` : undefined;
}

export async function runBatch(inputs: RowInput[], opts: BatchOptions): Promise<RowOutput[]> {
  const rows: RowState[] = inputs.map((r) => ({ ops: r.ops, ptr: 0, audio: r.audio, len: r.audio.length, measured: [] }));
  for (;;) {
    // CPU runs of ops for rows on the host.
    const cpuRows = rows.filter((r) => !r.out && r.ptr < r.ops.length && !gpuCapable(r.ops[r.ptr], opts.ctx));
    if (cpuRows.length) {
      const jobs = cpuRows.map((r) => {
        let stop = r.ptr;
        while (stop < r.ops.length && !gpuCapable(r.ops[stop], opts.ctx)) {
          const why = cpuReasonFor(r.ops[stop], opts.ctx)!;
          opts.cpuOps?.set(why, (opts.cpuOps.get(why) ?? 0) + 1);
          stop++;
        }
        return { audio: r.audio!, ops: r.ops.slice(r.ptr, stop) };
      });
      const results = await opts.cpu(jobs);
      cpuRows.forEach((r, k) => {
        const res = results[k];
        if ("failed" in res) {
          r.out = res;
          return;
        }
        r.audio = res.audio;
        r.len = res.audio.length;
        r.measured.push(...res.measured);
        r.ptr += jobs[k].ops.length;
      });
    }
    for (const r of rows) if (!r.out && r.ptr >= r.ops.length && r.audio) r.out = { audio: r.audio, measured: r.measured };
    const phaseRows = rows.filter((r) => !r.out);
    if (phaseRows.length === 0) break;
    await phase(phaseRows, opts);
  }
  return rows.map((r) => r.out!);
}

/** One upload, the GPU segments of every row, one readback. */
async function phase(rows: RowState[], opts: BatchOptions): Promise<void> {
  const { runtime, kernels, ctx } = opts;
  const prog = new Program(kernels);
  let dataFloats = 0;
  let pcmWords = 0;
  const plan = rows.map((r) => {
    const steps: GpuStep[] = [];
    let len = r.len;
    let cap = len;
    let stop = r.ptr;
    for (; stop < r.ops.length && gpuCapable(r.ops[stop], ctx); stop++) {
      const params = r.ops[stop];
      const op = gpuOp(params.op)!;
      const outLen = op.outLength?.(len, params, ctx) ?? len;
      steps.push({ params, len, outLen, off: 0, slot: 0, aux: 0 });
      len = outLen;
      cap = Math.max(cap, len);
    }
    const off = dataFloats;
    dataFloats += roundUp(Math.max(cap, 1), PAD);
    for (const s of steps) s.off = off;
    const finishes = stop === r.ops.length && !opts.floatOutput;
    const pcm = finishes ? { word: pcmWords, slot: 0 } : null;
    if (finishes) pcmWords += Math.ceil(len / 2);
    return { row: r, steps, off, cap: Math.max(cap, 1), finalLen: len, stop, pcm };
  });
  const bytes = dataFloats * 4;
  if (bytes > maxBindingBytes(runtime.device)) throw new RangeError(`batch of ${(bytes / 2 ** 20).toFixed(0)} MiB is over the GPU's binding limit`);

  // Slots and side inputs, then the passes, step by step, grouped by op.
  for (const p of plan) {
    for (const s of p.steps) {
      const op = gpuOp(s.params.op)!;
      s.slot = prog.slots(op.slots);
      const aux = op.aux?.(s.params, s.len, ctx);
      if (aux) s.aux = prog.aux(aux);
    }
  }
  const depth = Math.max(0, ...plan.map((p) => p.steps.length));
  for (let k = 0; k < depth; k++) {
    const groups = new Map<string, GpuStep[]>();
    for (const p of plan) {
      const s = p.steps[k];
      if (!s) continue;
      let g = groups.get(s.params.op);
      if (!g) groups.set(s.params.op, (g = []));
      g.push(s);
    }
    for (const [name, steps] of groups) gpuOp(name)!.record(prog, steps, ctx);
  }
  const pcmRows: RowRecord[] = [];
  for (const p of plan) {
    if (!p.pcm) continue;
    p.pcm.slot = prog.slots(3);
    pcmRows.push({ off: p.off, len: p.finalLen, aux: p.pcm.word, slot: p.pcm.slot });
  }
  prog.pcm16(pcmRows);

  const STORAGE = GPUBufferUsage.STORAGE;
  const bufs: BatchBuffers = { meta: null!, data: null!, aux: null!, scal: null!, part: null!, pcm: null, extra: [] };
  try {
    bufs.data = runtime.createBuffer("data", bytes, STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC);
    bufs.aux = runtime.createBuffer("aux", prog.auxFloats * 4, STORAGE | GPUBufferUsage.COPY_DST);
    bufs.meta = runtime.createBuffer("meta", prog.metaBytes.byteLength, STORAGE | GPUBufferUsage.COPY_DST);
    bufs.scal = runtime.createBuffer("scalars", Math.max(1, prog.scalCount) * 4, STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
    bufs.part = runtime.createBuffer("partials", prog.partCount * 16, STORAGE | GPUBufferUsage.COPY_DST);
    bufs.pcm = runtime.createBuffer("pcm", Math.max(1, pcmWords) * 4, STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);

    for (const e of prog.extras) bufs.extra.push(runtime.createBuffer(e.label, e.bytes, STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC));
    const uploads: UploadPiece[] = [];
    prog.extras.forEach((e, k) => e.data && uploads.push({ buffer: bufs.extra[k], offset: 0, data: e.data }));
    if (opts.poison) {
      const img = new Float32Array(dataFloats).fill(NaN);
      for (const p of plan) img.set(p.row.audio!, p.off);
      uploads.push({ buffer: bufs.data, offset: 0, data: img });
      uploads.push({ buffer: bufs.scal, offset: 0, data: new Float32Array(Math.max(1, prog.scalCount)).fill(NaN) });
      uploads.push({ buffer: bufs.part, offset: 0, data: new Float32Array(prog.partCount * 4).fill(NaN) });
      uploads.push({ buffer: bufs.pcm, offset: 0, data: new Uint32Array(Math.max(1, pcmWords)).fill(POISON_WORD) });
    } else {
      for (const p of plan) uploads.push({ buffer: bufs.data, offset: p.off * 4, data: p.row.audio! });
    }
    for (const a of prog.auxPieces) uploads.push({ buffer: bufs.aux, offset: a.offset * 4, data: a.data });
    uploads.push({ buffer: bufs.meta, offset: 0, data: prog.metaBytes });
    await runtime.upload(uploads);

    const enc = runtime.device.createCommandEncoder({ label: "chain" });
    prog.encode(enc, bufs);
    const pieces: ReadPiece[] = [
      { buffer: bufs.scal, offset: 0, size: prog.scalCount * 4 },
      { buffer: bufs.pcm, offset: 0, size: pcmWords * 4 },
    ];
    const floatRows = plan.filter((p) => !p.pcm);
    for (const p of floatRows) pieces.push({ buffer: bufs.data, offset: p.off * 4, size: p.finalLen * 4 });
    if (opts.onDataImage) pieces.push({ buffer: bufs.data, offset: 0, size: bytes });
    const back = await runtime.readback("chain", [enc.finish()], pieces);
    const scal = new Float32Array(back[0]);
    const pcmAll = new Int16Array(back[1]);
    if (opts.onDataImage) opts.onDataImage(new Float32Array(back[back.length - 1]), plan.map((p) => ({ off: p.off, cap: p.cap, len: p.finalLen })));

    // Rows with non-finite output: their float audio, for the index of the first bad sample.
    const badRows = plan.filter((p) => p.pcm && scal[p.pcm.slot + 2] !== 0);
    const badAudio = badRows.length ? await runtime.readback("non-finite rows", [], badRows.map((p) => ({ buffer: bufs.data, offset: p.off * 4, size: p.finalLen * 4 }))) : [];

    let f = 0;
    for (const p of plan) {
      const r = p.row;
      for (const s of p.steps) {
        const op = gpuOp(s.params.op)!;
        r.measured.push(op.measured(s.params, scal.subarray(s.slot, s.slot + op.slots), s, ctx));
      }
      r.ptr = p.stop;
      r.len = p.finalLen;
      if (p.pcm) {
        const pcm = pcmAll.slice(2 * p.pcm.word, 2 * p.pcm.word + p.finalLen);
        const [sumsq, peak, bad] = [scal[p.pcm.slot], scal[p.pcm.slot + 1], scal[p.pcm.slot + 2]];
        const k = badRows.indexOf(p);
        const firstBad = k >= 0 ? new Float32Array(badAudio[k]).findIndex((v) => !Number.isFinite(v)) : undefined;
        r.audio = null;
        r.out = { pcm, level: { peak, meanSquare: sumsq / Math.max(1, p.finalLen), finite: bad === 0 }, ...(firstBad !== undefined ? { firstNonFinite: firstBad } : {}), measured: r.measured };
      } else {
        r.audio = new Float32Array(back[2 + f++]);
        if (r.ptr >= r.ops.length) r.out = { audio: r.audio, measured: r.measured };
      }
    }
  } finally {
    runtime.release(bufs.data, bufs.aux, bufs.meta, bufs.scal, bufs.part, bufs.pcm, ...bufs.extra);
  }
}
