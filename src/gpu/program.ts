// A batch's GPU work, built on the host before any buffer exists: every dispatch's row records
// (one meta buffer), the per-row side inputs (one aux buffer), the scalar slots, and the encode
// steps that run once the buffers are made. So a whole chain is one upload (audio + aux + meta),
// one command buffer, one readback.
import { ElementwiseKernels, HEADER, LEVEL, REC, chunksFor, type PassRef } from "./kernels/elementwise.js";
import { IIR_WORKGROUP, IIR_ZERO, iirChunk, iirStateWords, iirWgsl, type IirStage } from "./kernels/iir.js";

/** One row of a dispatch. Offsets are in elements of their buffers. */
export interface RowRecord {
  off: number;
  len: number;
  aux?: number;
  slot?: number;
  /** Up to four f32 parameters (P(0)..P(3) in the kernels). */
  f?: number[];
  /** Or up to four u32 parameters in the same words. */
  u?: number[];
}

/** The buffers of one batch; `pcm` exists when some rows finish on the GPU. */
export interface BatchBuffers {
  meta: GPUBuffer;
  data: GPUBuffer;
  aux: GPUBuffer;
  scal: GPUBuffer;
  part: GPUBuffer;
  pcm: GPUBuffer | null;
  /** Buffers ops asked for with Program.buffer(), by index. */
  extra: GPUBuffer[];
}

type Step = { kind: "pass"; run: (pass: GPUComputePassEncoder, b: BatchBuffers) => void } | { kind: "encoder"; run: (enc: GPUCommandEncoder, b: BatchBuffers) => void };

/** Meta blocks start at multiples of this many bytes (minStorageBufferOffsetAlignment ≤ 256). */
const BLOCK_ALIGN = 256;

export class GpuKernels {
  readonly elementwise: ElementwiseKernels;
  readonly iir: Record<IirStage, GPUComputePipeline>;
  /** Group 1 of the IIR stages: the input copy and the states. */
  readonly iirLayout: GPUBindGroupLayout;
  /** Kernel families written elsewhere (src/gpu/kernels/*), made on first use by their GPU ops. */
  readonly extra = new Map<string, { destroy?(): void }>();
  constructor(readonly device: GPUDevice) {
    this.elementwise = new ElementwiseKernels(device);
    const storage = (binding: number, type: GPUBufferBindingType): GPUBindGroupLayoutEntry => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } });
    this.iirLayout = device.createBindGroupLayout({ label: "iir", entries: [storage(0, "read-only-storage"), storage(1, "storage")] });
    const layout = device.createPipelineLayout({ bindGroupLayouts: [this.elementwise.layout, this.iirLayout] });
    const make = (stage: IirStage) => device.createComputePipeline({ label: `iir ${stage}`, layout, compute: { module: device.createShaderModule({ label: `iir ${stage}`, code: iirWgsl(stage) }), entryPoint: "main" } });
    this.iir = { forced: make("forced"), carry: make("carry"), apply: make("apply") };
  }
  get<T extends { destroy?(): void }>(key: string, make: () => T): T {
    let k = this.extra.get(key) as T | undefined;
    if (!k) {
      k = make();
      this.extra.set(key, k);
    }
    return k;
  }
  destroy(): void {
    for (const k of this.extra.values()) k.destroy?.();
    this.extra.clear();
  }
}

export class Program {
  private meta = new Uint32Array(1024);
  private metaWords = 0;
  readonly auxPieces: Array<{ offset: number; data: Float32Array }> = [];
  auxFloats = 0;
  scalCount = 0;
  /** Largest partial-reduction area any dispatch needs, in vec4s. */
  partCount = 1;
  readonly steps: Step[] = [];
  /** Buffers for other kernel families (gathered rows, their parameters), made and uploaded with the batch. */
  readonly extras: Array<{ label: string; bytes: number; data?: ArrayBufferView }> = [];

  constructor(readonly kernels: GpuKernels) {}

  /** Places host data in the aux buffer; returns its offset (floats). */
  aux(data: Float32Array): number {
    const offset = this.auxFloats;
    this.auxPieces.push({ offset, data });
    // Each piece starts 16-byte aligned: cheap, and vec4 reads stay possible.
    this.auxFloats += (data.length + 3) & ~3;
    return offset;
  }

  /**
   * A buffer of `bytes` (scratch) or holding `data` (uploaded with the batch), usable as storage
   * and for copies; returns its index in BatchBuffers.extra.
   */
  buffer(label: string, init: number | ArrayBufferView): number {
    this.extras.push(typeof init === "number" ? { label, bytes: init } : { label, bytes: init.byteLength, data: init });
    return this.extras.length - 1;
  }

  /** `count` scalar slots; returns the first. */
  slots(count: number): number {
    const s = this.scalCount;
    this.scalCount += count;
    return s;
  }

  /** Writes one meta block; returns its byte offset and size. */
  private block(rows: RowRecord[], maxChunks: number, pass?: PassRef): { offset: number; size: number } {
    const start = Math.ceil((this.metaWords * 4) / BLOCK_ALIGN) * (BLOCK_ALIGN / 4);
    const words = HEADER + rows.length * REC;
    this.ensure(start + words);
    const m = this.meta;
    const f = new Float32Array(m.buffer);
    m.fill(0, start, start + words);
    m[start] = rows.length;
    m[start + 1] = maxChunks;
    m[start + 2] = pass?.mask ?? 0;
    m[start + 3] = pass?.opcode ?? 0;
    rows.forEach((r, k) => {
      const at = start + HEADER + k * REC;
      m[at] = r.off;
      m[at + 1] = r.len;
      m[at + 2] = r.aux ?? 0;
      m[at + 3] = r.slot ?? 0;
      r.f?.forEach((v, j) => (f[at + 4 + j] = v));
      r.u?.forEach((v, j) => (m[at + 4 + j] = v));
    });
    this.metaWords = start + words;
    return { offset: start * 4, size: words * 4 };
  }

  private ensure(words: number): void {
    if (words <= this.meta.length) return;
    const grown = new Uint32Array(Math.max(words, this.meta.length * 2));
    grown.set(this.meta);
    this.meta = grown;
  }

  get metaBytes(): Uint32Array {
    return this.meta.subarray(0, Math.max(4, this.metaWords));
  }

  private bindGroup(b: BatchBuffers, block: { offset: number; size: number }): GPUBindGroup {
    return this.kernels.device.createBindGroup({
      layout: this.kernels.elementwise.layout,
      entries: [
        { binding: 0, resource: { buffer: b.meta, offset: block.offset, size: block.size } },
        { binding: 1, resource: { buffer: b.data } },
        { binding: 2, resource: { buffer: b.aux } },
        { binding: 3, resource: { buffer: b.scal } },
        { binding: 4, resource: { buffer: b.part } },
      ],
    });
  }

  private dispatch(pipeline: GPUComputePipeline, rows: RowRecord[], maxChunks: number, grid: [number, number], pass?: PassRef, group1?: (b: BatchBuffers) => GPUBindGroup): void {
    if (rows.length === 0) return;
    if (grid[1] > 65535 || grid[0] > 65535) throw new RangeError(`dispatch of ${grid[0]} x ${grid[1]} workgroups is over the 65535 limit`);
    const block = this.block(rows, maxChunks, pass);
    this.partCount = Math.max(this.partCount, rows.length * maxChunks);
    this.steps.push({
      kind: "pass",
      run: (pass, b) => {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, this.bindGroup(b, block));
        if (group1) pass.setBindGroup(1, group1(b));
        pass.dispatchWorkgroups(grid[0], grid[1]);
      },
    });
  }

  /** A map-reduce pass (defineMap) over the rows; see elementwise.ts. */
  mapReduce(pass: PassRef, rows: RowRecord[]): void {
    const chunks = chunksFor(Math.max(0, ...rows.map((r) => r.len)));
    this.dispatch(this.kernels.elementwise.mapReduce, rows, chunks, [chunks, rows.length], pass);
  }

  /** A finalize pass (defineFinalize): reduces the previous map-reduce's partials for the same rows. */
  finalize(pass: PassRef, rows: RowRecord[]): void {
    const chunks = chunksFor(Math.max(0, ...rows.map((r) => r.len)));
    this.dispatch(this.kernels.elementwise.finalize, rows, chunks, [rows.length, 1], pass);
  }

  /** Biquad cascades, a chunked scan per row (records as iir.ts describes; `u` = [sections, delay]). */
  iir(rows: RowRecord[]): void {
    if (rows.length === 0) return;
    const totals = rows.map((r) => r.len + r.u![1]);
    const chunk = iirChunk(Math.max(...totals));
    let words = 0;
    const recs = rows.map((r, k) => {
      const rec = { ...r, u: [r.u![0], r.u![1], words] };
      words += iirStateWords(r.u![0], totals[k], chunk);
      return rec;
    });
    const lo = Math.min(...rows.map((r) => r.off));
    const hi = Math.max(...rows.map((r) => r.off + r.len));
    const copy = this.buffer("iir input", Math.max(4, hi * 4));
    const states = this.buffer("iir states", Math.max(16, words * 8));
    if (hi > lo) this.encoder((enc, b) => enc.copyBufferToBuffer(b.data, lo * 4, b.extra[copy], lo * 4, (hi - lo) * 4));
    const maxChunks = Math.ceil(Math.max(...totals) / chunk);
    const width = 2 * Math.max(...rows.map((r) => r.u![0]));
    // Header word 3 carries the chunk length (no opcode: the IIR stages are pipelines of their own).
    const header: PassRef = { kind: "map", label: "iir", opcode: chunk, mask: IIR_ZERO };
    const group1 = (b: BatchBuffers) =>
      this.kernels.device.createBindGroup({ layout: this.kernels.iirLayout, entries: [{ binding: 0, resource: { buffer: b.extra[copy] } }, { binding: 1, resource: { buffer: b.extra[states] } }] });
    const { forced, carry, apply } = this.kernels.iir;
    this.dispatch(forced, recs, 1, [Math.ceil((maxChunks + width) / IIR_WORKGROUP), rows.length], header, group1);
    this.dispatch(carry, recs, 1, [rows.length, 1], header, group1);
    this.dispatch(apply, recs, 1, [Math.ceil(maxChunks / IIR_WORKGROUP), rows.length], header, group1);
  }

  /** int16 conversion (row `aux` = output word offset) plus the level stats into slots [sumsq, peak, non-finite]. */
  pcm16(rows: RowRecord[]): void {
    const chunks = chunksFor(Math.max(0, ...rows.map((r) => r.len)));
    const pcmGroup = (b: BatchBuffers) => this.kernels.device.createBindGroup({ layout: this.kernels.elementwise.pcmLayout, entries: [{ binding: 0, resource: { buffer: b.pcm! } }] });
    this.dispatch(this.kernels.elementwise.pcm16, rows, chunks, [chunks, rows.length], undefined, pcmGroup);
    this.finalize(LEVEL, rows);
  }

  /** Raw encoder work (another kernel family, buffer copies) at this point of the sequence. */
  encoder(run: (enc: GPUCommandEncoder, b: BatchBuffers) => void): void {
    this.steps.push({ kind: "encoder", run });
  }

  /** Records every step into `enc`, consecutive dispatches sharing one compute pass. */
  encode(enc: GPUCommandEncoder, b: BatchBuffers): void {
    let pass: GPUComputePassEncoder | null = null;
    for (const s of this.steps) {
      if (s.kind === "pass") {
        pass ??= enc.beginComputePass();
        s.run(pass, b);
      } else {
        pass?.end();
        pass = null;
        s.run(enc, b);
      }
    }
    pass?.end();
  }
}
