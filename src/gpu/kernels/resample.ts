// Batched polyphase resampling on WebGPU, for `speed` and rate conversion: the CPU resampler's
// filter (src/audio/resample.ts, polyphaseTableFor: Kaiser-windowed sinc, exact L-phase tables or
// the 512-phase interpolated one) designed on the CPU once and uploaded, one thread per output.
//
// Row r has its own ratio L/M: output m is the filtered input at time m M / L input samples,
//   j = floor(m M / L), phase = m M mod L,
//   y[m] = sum_k table[phase][k] x[j - lead + k],
// with x zero outside [0, length_r), as the CPU's runScalar. The interpolated table (L > 1024)
// blends rows q = floor(phase P / L) and q + 1 by frac = (phase P mod L) / L, P = 512. m M is
// formed as (m div L) M L + (m mod L) M, so only (m mod L) M must fit in 32 bits: the host checks
// L M < 2^32. Outputs from the row's output length to the output stride are written as zeros.
// Accumulation is in f32 over ~120-260 taps (the CPU's SIMD kernel is f32 too): rel. error ~1e-7.
// A workgroup's 256 consecutive outputs read one short span of the input: it is staged in
// workgroup memory once, and the taps (rows a multiple of 8 long, so 16-byte aligned) are read as
// vec4s; outputs whose taps overrun the staged span (ratios beyond ~10) read global memory.

import { SPEED_QUANTUM, polyphaseTableFor } from "../../audio/resample.js";
import { storageBuffer, submitAndRead, uploadBuffer } from "./fft.js";

type Table = ReturnType<typeof polyphaseTableFor>;

/** Threads per workgroup: one output sample each. */
export const RESAMPLE_WORKGROUP = 256;
/** u32 words of a row's parameters (see rowWords). */
export const RESAMPLE_ROW_WORDS = 8;

/** One row's conversion: ratio up/down (reduced; up === down means a copy) and the output length. */
export interface ResampleRow {
  up: number;
  down: number;
  outLength: number;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** The ratio and length resample(x, fromRate, toRate) uses for an input of `length` samples. */
export function rateRow(length: number, fromRate: number, toRate: number): ResampleRow {
  for (const [label, rate] of [["fromRate", fromRate], ["toRate", toRate]] as const) {
    if (!Number.isSafeInteger(rate) || rate <= 0) throw new RangeError(`${label} must be a positive integer, got ${rate}`);
  }
  const outLength = Math.round((length * toRate) / fromRate);
  if (fromRate === toRate) return { up: 1, down: 1, outLength };
  const g = gcd(fromRate, toRate);
  return { up: toRate / g, down: fromRate / g, outLength };
}

/** The ratio and length speedPerturb(x, factor) uses for an input of `length` samples. */
export function speedRow(length: number, factor: number): ResampleRow {
  if (!Number.isFinite(factor) || factor <= 0) throw new RangeError(`factor must be a positive number, got ${factor}`);
  const to = Math.round(1 / SPEED_QUANTUM);
  const from = Math.round(factor * to);
  if (from < 1) throw new RangeError(`factor ${factor} is below the quantum ${SPEED_QUANTUM}`);
  const outLength = Math.round(length / factor);
  if (from === to) return { up: 1, down: 1, outLength };
  const g = gcd(from, to);
  return { up: to / g, down: from / g, outLength };
}

/** Input samples a workgroup stages in workgroup memory (its outputs' span of taps). */
const WINDOW = 4096;

const WGSL = /* wgsl */ `
struct Uniforms { rows: u32, inStride: u32, outStride: u32, groupsPerRow: u32, groupsX: u32 }
struct Row { offset: u32, taps: u32, lead: u32, up: u32, down: u32, phases: u32, flags: u32, outLength: u32 }
@group(0) @binding(0) var<uniform> U: Uniforms;
@group(0) @binding(1) var<storage, read> coeffs: array<vec4f>;
@group(0) @binding(2) var<storage, read> rowp: array<Row>;
@group(0) @binding(3) var<storage, read> lengths: array<u32>;
@group(0) @binding(4) var<storage, read> src: array<f32>;
@group(0) @binding(5) var<storage, read_write> dst: array<f32>;

// The input span this workgroup's outputs read: [winStart, winStart + WINDOW), zero outside the row.
var<workgroup> win: array<f32, ${WINDOW}>;
var<workgroup> spanShared: u32;

/** Input sample index (before the lead) of output m: floor(m down / up), and its phase. */
fn timeOf(m: u32, p: Row) -> vec2u {
  let q1 = m / p.up;
  let mr = (m - q1 * p.up) * p.down;
  return vec2u(q1 * p.down + mr / p.up, mr % p.up);
}

/** Row c (in vec4s) of the table dotted with taps [w, w + taps) of the staged window. */
fn dotWindow(c4: u32, w: u32, taps4: u32) -> f32 {
  var acc = vec4f(0.0);
  for (var k = 0u; k < taps4; k++) {
    let i = w + 4u * k;
    acc += coeffs[c4 + k] * vec4f(win[i], win[i + 1u], win[i + 2u], win[i + 3u]);
  }
  return (acc.x + acc.y) + (acc.z + acc.w);
}

/** The same from global memory, for outputs whose taps overrun the window (extreme ratios). */
fn dotGlobal(c4: u32, i0: i32, taps4: u32, base: u32, len: u32) -> f32 {
  var acc = vec4f(0.0);
  for (var k = 0u; k < taps4; k++) {
    var x = vec4f(0.0);
    for (var l = 0u; l < 4u; l++) {
      let i = i0 + i32(4u * k + l);
      if (i >= 0 && u32(i) < len) { x[l] = src[base + u32(i)]; }
    }
    acc += coeffs[c4 + k] * x;
  }
  return (acc.x + acc.y) + (acc.z + acc.w);
}

fn tapsDot(c: u32, i0: i32, winStart: i32, span: u32, p: Row, base: u32, len: u32) -> f32 {
  let w = i0 - winStart;
  if (w >= 0 && u32(w) + p.taps <= span) { return dotWindow(c / 4u, u32(w), p.taps / 4u); }
  return dotGlobal(c / 4u, i0, p.taps / 4u, base, len);
}

@compute @workgroup_size(${RESAMPLE_WORKGROUP})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let g = wid.x + wid.y * U.groupsX;
  let r = g / U.groupsPerRow;
  if (r >= U.rows) { return; }
  let m0 = (g % U.groupsPerRow) * ${RESAMPLE_WORKGROUP}u;
  let m = m0 + lid;
  let p = rowp[r];
  let len = min(lengths[r], U.inStride);
  let base = r * U.inStride;
  let resampling = (p.flags & 2u) == 0u && m0 < p.outLength;
  // Stage the inputs of outputs m0 .. mLast (the same for every thread of the group).
  let winStart = i32(timeOf(m0, p).x) - i32(p.lead);
  if (lid == 0u) {
    let mLast = min(m0 + ${RESAMPLE_WORKGROUP - 1}u, max(p.outLength, 1u) - 1u);
    spanShared = select(0u, min(${WINDOW}u, timeOf(mLast, p).x - timeOf(m0, p).x + p.taps), resampling);
  }
  let span = workgroupUniformLoad(&spanShared);
  for (var i = lid; i < span; i += ${RESAMPLE_WORKGROUP}u) {
    let x = winStart + i32(i);
    win[i] = select(0.0, src[base + u32(clamp(x, 0, i32(max(len, 1u)) - 1))], x >= 0 && u32(x) < len);
  }
  workgroupBarrier();
  if (m >= U.outStride) { return; }
  let o = r * U.outStride + m;
  if (m >= p.outLength) { dst[o] = 0.0; return; }
  if ((p.flags & 2u) != 0u) {
    // Equal rates: a copy, zero past the input.
    if (m < len) { dst[o] = src[base + m]; } else { dst[o] = 0.0; }
    return;
  }
  let t = timeOf(m, p);
  let i0 = i32(t.x) - i32(p.lead);
  if ((p.flags & 1u) == 0u) {
    dst[o] = tapsDot(p.offset + t.y * p.taps, i0, winStart, span, p, base, len);
  } else {
    let pos = t.y * p.phases;
    let q = pos / p.up;
    let frac = f32(pos % p.up) / f32(p.up);
    let lo = tapsDot(p.offset + q * p.taps, i0, winStart, span, p, base, len);
    let hi = tapsDot(p.offset + (q + 1u) * p.taps, i0, winStart, span, p, base, len);
    dst[o] = lo + frac * (hi - lo);
  }
}
`;

export interface ResampleEncodeArgs {
  /** rows * inStride f32. */
  input: GPUBuffer;
  inStride: number;
  /** u32 per row: input length (cut to inStride). */
  lengths: GPUBuffer;
  /** From rowParams() for these rows: RESAMPLE_ROW_WORDS u32 per row. */
  rowParams: GPUBuffer;
  rows: number;
  /** rows * outStride f32; every float written (zeros past each row's outLength). */
  output: GPUBuffer;
  outStride: number;
}

/**
 * Batched resampler. rowParams(rows) designs (CPU, cached) and uploads any tables the rows need
 * into the class's coefficient pool and returns the per-row words to upload; encode records one
 * dispatch. The pool only grows; buffers replaced by growth are kept until destroy() because
 * recorded work may still read them.
 */
export class GpuResampler {
  private pipeline: GPUComputePipeline;
  private tables = new Map<Table, number>();
  private pool = new Float32Array(0);
  private poolBuffer: GPUBuffer | null = null;
  private retired: GPUBuffer[] = [];
  private uniforms = new Map<string, GPUBuffer>();
  constructor(private device: GPUDevice) {
    const module = device.createShaderModule({ label: "resample", code: WGSL });
    this.pipeline = device.createComputePipeline({ label: "resample", layout: "auto", compute: { module, entryPoint: "main" } });
  }

  /** Per-row parameter words (RESAMPLE_ROW_WORDS each) for `rows`, uploading new tables first. */
  rowParams(rows: ResampleRow[]): Uint32Array {
    const words = new Uint32Array(rows.length * RESAMPLE_ROW_WORDS);
    let grew = false;
    rows.forEach((row, i) => {
      const { up, down, outLength } = row;
      if (!Number.isSafeInteger(up) || !Number.isSafeInteger(down) || up < 1 || down < 1) throw new RangeError(`bad ratio ${up}/${down}`);
      const w = words.subarray(i * RESAMPLE_ROW_WORDS, (i + 1) * RESAMPLE_ROW_WORDS);
      w[7] = outLength;
      if (up === down) {
        w[6] = 2;
        return;
      }
      if (gcd(up, down) !== 1) throw new RangeError(`ratio ${up}/${down} is not reduced`);
      if (up * down >= 2 ** 32) throw new RangeError(`ratio ${up}/${down}: L M must stay below 2^32 on the GPU`);
      const table = polyphaseTableFor(up, down);
      if (table.interpolated && up * table.phases >= 2 ** 32) throw new RangeError(`ratio ${up}/${down}: L P must stay below 2^32`);
      let offset = this.tables.get(table);
      if (offset === undefined) {
        offset = this.pool.length;
        const pool = new Float32Array(offset + table.coeffs.length);
        pool.set(this.pool);
        pool.set(table.coeffs, offset);
        this.pool = pool;
        this.tables.set(table, offset);
        grew = true;
      }
      w.set([offset, table.taps, table.lead, up, down, table.phases, table.interpolated ? 1 : 0], 0);
    });
    if (grew || !this.poolBuffer) {
      if (this.poolBuffer) this.retired.push(this.poolBuffer);
      this.poolBuffer = uploadBuffer(this.device, this.pool.length ? this.pool : new Float32Array(4), "resample tables");
    }
    return words;
  }

  encode(encoder: GPUCommandEncoder, args: ResampleEncodeArgs): void {
    const { rows, outStride } = args;
    if (rows === 0 || outStride === 0) return;
    if (!this.poolBuffer) throw new Error("GpuResampler.encode: call rowParams() first");
    const groupsPerRow = Math.ceil(outStride / RESAMPLE_WORKGROUP);
    const groups = rows * groupsPerRow;
    const x = Math.min(groups, 65535);
    const y = Math.ceil(groups / x);
    const words = [rows, args.inStride, outStride, groupsPerRow, x];
    const key = words.join(",");
    let uniform = this.uniforms.get(key);
    if (!uniform) {
      uniform = this.device.createBuffer({ size: 32, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
      new Uint32Array(uniform.getMappedRange()).set(words);
      uniform.unmap();
      this.uniforms.set(key, uniform);
    }
    const buffers = [uniform, this.poolBuffer, args.rowParams, args.lengths, args.input, args.output];
    const pass = encoder.beginComputePass({ label: "resample" });
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, this.device.createBindGroup({
      layout: this.pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    }));
    pass.dispatchWorkgroups(x, y);
    pass.end();
  }

  destroy(): void {
    this.poolBuffer?.destroy();
    for (const b of this.retired) b.destroy();
    for (const b of this.uniforms.values()) b.destroy();
    this.poolBuffer = null;
    this.retired = [];
    this.uniforms.clear();
    this.tables.clear();
  }
}

/** Runs rows through a fresh GpuResampler: out[i] has rows[i].outLength samples. */
export async function gpuResampleBatch(device: GPUDevice, signals: Float32Array[], rows: ResampleRow[]): Promise<Float32Array[]> {
  if (rows.length !== signals.length) throw new RangeError(`${signals.length} signals but ${rows.length} rows`);
  if (signals.length === 0) return [];
  const inStride = Math.max(1, ...signals.map((s) => s.length));
  const outStride = Math.max(1, ...rows.map((r) => r.outLength));
  const packed = new Float32Array(signals.length * inStride);
  signals.forEach((s, i) => packed.set(s, i * inStride));
  const resampler = new GpuResampler(device);
  const owned: GPUBuffer[] = [];
  try {
    const rowParams = resampler.rowParams(rows);
    const input = uploadBuffer(device, packed, "resample input");
    const lengths = uploadBuffer(device, Uint32Array.from(signals, (s) => s.length), "lengths");
    const params = uploadBuffer(device, rowParams, "resample rows");
    const output = storageBuffer(device, signals.length * outStride * 4, "resample output");
    owned.push(input, lengths, params, output);
    const encoder = device.createCommandEncoder();
    resampler.encode(encoder, { input, inStride, lengths, rowParams: params, rows: signals.length, output, outStride });
    const out = new Float32Array(await submitAndRead(device, encoder, output, signals.length * outStride * 4));
    return rows.map((r, i) => out.slice(i * outStride, i * outStride + r.outLength));
  } finally {
    for (const b of owned) b.destroy();
    resampler.destroy();
  }
}

/** speedPerturb(signals[i], factors[i]) for every i, on the GPU. */
export function gpuSpeedPerturbBatch(device: GPUDevice, signals: Float32Array[], factors: number[]): Promise<Float32Array[]> {
  return gpuResampleBatch(device, signals, signals.map((s, i) => speedRow(s.length, factors[i])));
}
