// Batched FFT convolution for reverberation on WebGPU: every row of a batch with its own room
// impulse response, output aligned like convolveAligned (src/audio/fftconv.ts): row r's output
// sample t is (x_r * h_r)[t + delay_r] for t < length_r, zero from length_r to the stride.
//
// Overlap-save (Oppenheim & Schafer, 3rd ed., sec. 8.7.3) with one transform size N for the batch
// (from the stride and the longest RIR, by the cost model in planFftConvolution): block j of a row
// reads its input from delay + j hop - (m - 1), m the longest RIR, and keeps the hop = N - m + 1
// outputs [j hop, (j + 1) hop). Two real blocks of one row ride in one complex transform
// (z = a + i b: Z H is the spectrum of (a * h) + i (b * h) since h is real; Numerical Recipes 3rd
// ed., sec. 12.3.1), as in the CPU kernel.
//
// Transforms of one tile (N <= 2048 by default) take one pass: load two blocks, DFT, times H, DFT back, store.
// Larger ones take three passes over global memory, the four-step split of fft.ts with the
// product fused into the middle: (A) the N2 strided DFTs of length N1 straight from the signal,
// times w_N; (B) per k1, the contiguous DFT of length N2, times H, conjugate, the DFT again;
// (C) times w_N, the strided DFTs again, straight to the output. The spectrum stays in the
// transposed order [k1][k2] the forward passes leave it in, and H is stored in the same order, so
// no pass reorders anything. The inverse is conj(DFT(conj(.))), so every stage is a forward one.
//
// H is the DFT of the RIR zero-padded to N, scaled by 1/N, computed on the GPU by encodeSpectra
// (passes A and B without the product); rows may share a spectrum (rowParams' spectrum index).

import {
  DEFAULT_RADIX,
  DEFAULT_TILE,
  FFT_MAX_SIZE,
  PassCache,
  TILE_MAX,
  generatePass,
  splitSize,
  storageBuffer,
  submitAndRead,
  uploadBuffer,
  fourStepTwiddleWgsl,
  type FftOptions,
  type PassIo,
} from "./fft.js";

/** The transform layout of one batched convolution; depends only on the stride and the longest RIR. */
export interface ConvPlan {
  /** Floats per row of the signal and output batches. */
  stride: number;
  /** Longest RIR (taps) the plan takes; longer RIRs are cut to it. */
  maxRirLength: number;
  /** Transform size N (power of two). */
  size: number;
  /** Outputs per block: size - maxRirLength + 1. */
  hop: number;
  /** Blocks per row, ceil(stride / hop), and complex transforms per row, ceil(blocks / 2). */
  blocks: number;
  pairs: number;
  /** Four-step split (N1 strided, N2 contiguous), or null for one-tile transforms. */
  split: { N1: number; N2: number } | null;
  /** Points per workgroup tile the plan was made for (the convolver's must be the same). */
  tile: number;
}

/** Global-memory passes per transform of size N: one for a tile, three beyond. */
function passesFor(N: number, tileMax: number): number {
  return N <= tileMax ? 1 : 3;
}

/**
 * The transform size for rows of `stride` floats and RIRs of up to `maxRirLength` taps: the power
 * of two minimising (transforms per row) x N x (passes), from the smallest that fits the RIR to the
 * one that takes a whole row in one block; ties go to the smaller N (less scratch, smaller spectra).
 */
export function planFftConvolution(stride: number, maxRirLength: number, tileMax = DEFAULT_TILE): ConvPlan {
  if (!(tileMax >= 16 && tileMax <= TILE_MAX) || 2 ** Math.round(Math.log2(tileMax)) !== tileMax) throw new RangeError(`tile must be a power of two in 16..${TILE_MAX}, got ${tileMax}`);
  if (!Number.isSafeInteger(stride) || stride < 1) throw new RangeError(`stride must be a positive integer, got ${stride}`);
  const m = Math.max(1, maxRirLength);
  const smallest = Math.max(16, 2 ** Math.ceil(Math.log2(m + 1)));
  const maxSize = Math.min(FFT_MAX_SIZE, tileMax * tileMax);
  if (smallest > maxSize) throw new RangeError(`RIRs of ${m} taps exceed the largest transform (${maxSize})`);
  const largest = Math.min(maxSize, Math.max(smallest, 2 ** Math.ceil(Math.log2(stride + m - 1))));
  let best: ConvPlan | null = null;
  let bestCost = Infinity;
  for (let N = smallest; N <= largest; N *= 2) {
    const hop = N - m + 1;
    const blocks = Math.ceil(stride / hop);
    const pairs = Math.ceil(blocks / 2);
    const cost = pairs * N * passesFor(N, tileMax);
    if (cost < bestCost) {
      bestCost = cost;
      best = { stride, maxRirLength: m, size: N, hop, blocks, pairs, split: splitSize(N, tileMax), tile: tileMax };
    }
  }
  return best!;
}

export interface SpectraEncodeArgs {
  plan: ConvPlan;
  /** count * rirStride f32: RIR i at offset i * rirStride. */
  rirs: GPUBuffer;
  rirStride: number;
  /** u32 per RIR: its length (taps); cut to plan.maxRirLength and rirStride. */
  rirLengths: GPUBuffer;
  count: number;
  /** Receives count * spectrumBytes(plan) bytes: spectrum i at i * plan.size complex points. */
  spectra: GPUBuffer;
}

export interface ConvolveEncodeArgs {
  plan: ConvPlan;
  /** rows * plan.stride f32: row r at offset r * plan.stride. */
  signals: GPUBuffer;
  /** u32 per row: valid samples (cut to the stride). */
  lengths: GPUBuffer;
  /** u32 pairs per row: (delaySamples, spectrum index into `spectra`). */
  rowParams: GPUBuffer;
  rows: number;
  /** From encodeSpectra with the same plan. */
  spectra: GPUBuffer;
  /** rows * plan.stride f32; must not be `signals`. Every float of every row is written. */
  output: GPUBuffer;
}

/**
 * Batched convolution with per-row RIRs. Usage: plan = planFftConvolution(stride, longest RIR);
 * encodeSpectra (once per set of RIRs: spectra can be kept and reused with the same plan); then
 * encodeConvolve per batch. Each encode only records work. Large transforms use an internal
 * scratch buffer of rows * plan.pairs * plan.size * 8 bytes (kept, grown, freed by destroy()).
 */
export class GpuFftConvolver {
  private cache: PassCache;
  private scratch: GPUBuffer | null = null;
  private retired: GPUBuffer[] = [];
  private radix: number;
  constructor(private device: GPUDevice, options: Pick<FftOptions, "radix"> = {}) {
    this.cache = new PassCache(device);
    this.radix = options.radix ?? DEFAULT_RADIX;
  }

  /** Bytes of one spectrum in the plan's layout. */
  static spectrumBytes(plan: ConvPlan): number {
    return plan.size * 8;
  }

  /** Bytes of scratch encodeConvolve needs for `rows` rows (0 for one-tile plans). */
  static scratchBytes(plan: ConvPlan, rows: number): number {
    return plan.split ? rows * plan.pairs * plan.size * 8 : 0;
  }

  private scratchFor(bytes: number): GPUBuffer {
    if (!this.scratch || this.scratch.size < bytes) {
      if (this.scratch) this.retired.push(this.scratch);
      this.scratch = storageBuffer(this.device, bytes, "fftconv scratch");
    }
    return this.scratch;
  }

  encodeSpectra(encoder: GPUCommandEncoder, args: SpectraEncodeArgs): void {
    const { plan, count } = args;
    if (count === 0) return;
    const N = plan.size;
    const uniforms = [count, args.rirStride, Math.min(plan.maxRirLength, args.rirStride)];
    const buffers = { rirs: args.rirs, rirLengths: args.rirLengths, spectra: args.spectra };
    const pass = encoder.beginComputePass({ label: `fftconv spectra ${N}` });
    if (!plan.split) {
      const C = plan.tile / N;
      const src = generatePass({ L: N, C, radix: this.radix }, spectraTileIo(N, C));
      this.cache.dispatch(pass, src, `spectra ${N}`, Math.ceil(count / C), uniforms, { ...buffers, tw: this.cache.twiddles(N, N).buffer });
    } else {
      const { N1, N2 } = plan.split;
      const C1 = plan.tile / N1;
      const tw1 = this.cache.twiddles(N1, N);
      const srcA = generatePass({ L: N1, C: C1, radix: this.radix }, spectraColumnIo(N1, N2, C1, tw1));
      this.cache.dispatch(pass, srcA, `spectra ${N} A`, count * (N2 / C1), uniforms, { ...buffers, tw: tw1.buffer });
      const C2 = plan.tile / N2;
      const srcB = generatePass({ L: N2, C: C2, radix: this.radix }, spectraRowIo(N1, N2, C2));
      this.cache.dispatch(pass, srcB, `spectra ${N} B`, count * (N1 / C2), uniforms, { ...buffers, tw: this.cache.twiddles(N2, N2).buffer });
    }
    pass.end();
  }

  encodeConvolve(encoder: GPUCommandEncoder, args: ConvolveEncodeArgs): void {
    const { plan, rows } = args;
    if (args.signals === args.output) throw new RangeError("encodeConvolve: output must not be the signal buffer");
    if (rows === 0) return;
    const N = plan.size;
    const uniforms = [rows, plan.stride, plan.hop, plan.maxRirLength - 1, plan.pairs, plan.blocks];
    const transforms = rows * plan.pairs;
    const buffers: Record<string, GPUBuffer> = {
      signals: args.signals, lengths: args.lengths, rowp: args.rowParams, spectra: args.spectra, out: args.output,
    };
    const pass = encoder.beginComputePass({ label: `fftconv ${N}` });
    if (!plan.split) {
      const C = plan.tile / N;
      const src = generatePass({ L: N, C, fused: true, radix: this.radix }, convTileIo(N, C));
      this.cache.dispatch(pass, src, `fftconv ${N}`, Math.ceil(transforms / C), uniforms, { ...buffers, tw: this.cache.twiddles(N, N).buffer });
    } else {
      const { N1, N2 } = plan.split;
      buffers.scratch = this.scratchFor(GpuFftConvolver.scratchBytes(plan, rows));
      const C1 = plan.tile / N1;
      const C2 = plan.tile / N2;
      const tw1 = this.cache.twiddles(N1, N);
      const tw2 = this.cache.twiddles(N2, N2);
      const srcA = generatePass({ L: N1, C: C1, radix: this.radix }, convColumnInIo(N1, N2, C1, tw1));
      this.cache.dispatch(pass, srcA, `fftconv ${N} A`, transforms * (N2 / C1), uniforms, { ...buffers, tw: tw1.buffer });
      const srcB = generatePass({ L: N2, C: C2, fused: true, radix: this.radix }, convRowIo(N1, N2, C2));
      this.cache.dispatch(pass, srcB, `fftconv ${N} B`, transforms * (N1 / C2), uniforms, { ...buffers, tw: tw2.buffer });
      const srcC = generatePass({ L: N1, C: C1, radix: this.radix }, convColumnOutIo(N1, N2, C1, tw1));
      this.cache.dispatch(pass, srcC, `fftconv ${N} C`, transforms * (N2 / C1), uniforms, { ...buffers, tw: tw1.buffer });
    }
    pass.end();
  }

  destroy(): void {
    this.cache.destroy();
    this.scratch?.destroy();
    for (const b of this.retired) b.destroy();
    this.scratch = null;
    this.retired = [];
  }
}

// ---------------------------------------------------------------------------------------------
// Pass bodies. Uniforms of the convolution passes: rows, stride, hop, lead (= maxRirLength - 1),
// pairs, blocks; of the spectra passes: count, rirStride, maxLen.

const CONV_UNIFORMS = ["rows", "stride", "hop", "lead", "pairs", "blocks"];
const SPECTRA_UNIFORMS = ["count", "rirStride", "maxLen"];

const SIGNAL_BINDINGS: Array<[string, string]> = [
  ["signals", "var<storage, read> signals: array<f32>"],
  ["lengths", "var<storage, read> lengths: array<u32>"],
  ["rowp", "var<storage, read> rowp: array<u32>"],
];

/** Per transform: its row, its length, where its first block starts in the row (may be negative). */
const BLOCK_OF = `
struct Block { row: u32, len: u32, start: i32, t0: u32 }
fn blockOf(tr: u32) -> Block {
  let row = tr / U.pairs;
  let p = tr % U.pairs;
  let len = min(lengths[row], U.stride);
  let start = i32(rowp[2u * row]) + i32(2u * p * U.hop) - i32(U.lead);
  return Block(row, len, start, 2u * p * U.hop);
}`;

/** Input point n of a transform: block a of the pair in the real part, block b in the imaginary. */
const BLOCK_INPUT = `
fn sig(b: Block, i: i32) -> f32 {
  if (i < 0 || u32(i) >= b.len) { return 0.0; }
  return signals[b.row * U.stride + u32(i)];
}
fn blockInput(b: Block, n: u32) -> vec2f { return vec2f(sig(b, b.start + i32(n)), sig(b, b.start + i32(U.hop + n))); }`;

/** Output point n after the conjugating second DFT (a = v.x, b = -v.y): kept if n >= lead, zero past the row's length. */
const BLOCK_OUTPUT = `
fn blockOutput(b: Block, n: u32, v: vec2f) {
  if (n < U.lead) { return; }
  let t = b.t0 + n - U.lead;
  let o = b.row * U.stride;
  if (t < U.stride) { out[o + t] = select(0.0, v.x, t < b.len); }
  let tb = t + U.hop;
  if (tb < U.stride) { out[o + tb] = select(0.0, -v.y, tb < b.len); }
}`;

/** conj(v H): the product, conjugated for the inverse-by-forward second DFT. */
const MUL_CONJ = `fn mulConj(v: vec2f, h: vec2f) -> vec2f { return vec2f(v.x * h.x - v.y * h.y, -(v.x * h.y + v.y * h.x)); }`;

/** One-tile convolution: C transforms per group, forward, times H, forward, out. */
function convTileIo(N: number, C: number): PassIo {
  return {
    bindings: [...SIGNAL_BINDINGS, ["spectra", "var<storage, read> spectra: array<vec2f>"], ["out", "var<storage, read_write> out: array<f32>"]],
    uniforms: CONV_UNIFORMS,
    loadOrder: "elem",
    storeOrder: "elem",
    body: `
var<private> tr0: u32;
${BLOCK_OF}
${BLOCK_INPUT}
${BLOCK_OUTPUT}
${MUL_CONJ}
fn setup(g: u32) -> bool { tr0 = g * ${C}u; return g < U.groups; }
fn ld(c: u32, e: u32) -> vec2f {
  let tr = tr0 + c;
  if (tr >= U.rows * U.pairs) { return vec2f(0.0); }
  return blockInput(blockOf(tr), e);
}
fn mulspec(c: u32, k: u32, v: vec2f) -> vec2f {
  let tr = min(tr0 + c, U.rows * U.pairs - 1u);
  return mulConj(v, spectra[rowp[2u * (tr / U.pairs) + 1u] * ${N}u + k]);
}
fn st(c: u32, e: u32, v: vec2f) {
  let tr = tr0 + c;
  if (tr < U.rows * U.pairs) { blockOutput(blockOf(tr), e, v); }
}
`,
  };
}

/** Pass A: group = (transform, C columns n2); point n = n1 N2 + n2 from the signal; out [k1][n2] times w_N^(n2 k1). */
function convColumnInIo(N1: number, N2: number, C: number, tw: { loOffset: number; hiOffset: number; shift: number }): PassIo {
  const N = N1 * N2;
  const groupsPer = N2 / C;
  return {
    bindings: [...SIGNAL_BINDINGS, ["scratch", "var<storage, read_write> scratch: array<vec2f>"]],
    uniforms: CONV_UNIFORMS,
    loadOrder: "col",
    storeOrder: "col",
    body: `
var<private> blk: Block;
var<private> base: u32;
var<private> col0: u32;
${BLOCK_OF}
${BLOCK_INPUT}
${fourStepTwiddleWgsl(tw.loOffset, tw.hiOffset, tw.shift)}
fn setup(g: u32) -> bool {
  if (g >= U.groups) { return false; }
  let tr = g / ${groupsPer}u;
  col0 = (g % ${groupsPer}u) * ${C}u;
  base = tr * ${N}u;
  blk = blockOf(tr);
  return true;
}
fn ld(c: u32, e: u32) -> vec2f { return blockInput(blk, e * ${N2}u + col0 + c); }
fn st(c: u32, e: u32, v: vec2f) { scratch[base + e * ${N2}u + col0 + c] = cmul(v, tw4((col0 + c) * e)); }
`,
  };
}

/** Pass B: group = (transform, C rows k1): DFT over n2, times H[k1][k2], conjugate, DFT again, in place. */
function convRowIo(N1: number, N2: number, C: number): PassIo {
  const N = N1 * N2;
  const groupsPer = N1 / C;
  return {
    bindings: [
      ["rowp", "var<storage, read> rowp: array<u32>"],
      ["spectra", "var<storage, read> spectra: array<vec2f>"],
      ["scratch", "var<storage, read_write> scratch: array<vec2f>"],
    ],
    uniforms: CONV_UNIFORMS,
    loadOrder: "elem",
    storeOrder: "elem",
    body: `
var<private> base: u32;
var<private> hbase: u32;
var<private> k10: u32;
${MUL_CONJ}
fn setup(g: u32) -> bool {
  if (g >= U.groups) { return false; }
  let tr = g / ${groupsPer}u;
  k10 = (g % ${groupsPer}u) * ${C}u;
  base = tr * ${N}u;
  hbase = rowp[2u * (tr / U.pairs) + 1u] * ${N}u;
  return true;
}
fn ld(c: u32, e: u32) -> vec2f { return scratch[base + (k10 + c) * ${N2}u + e]; }
fn mulspec(c: u32, k: u32, v: vec2f) -> vec2f { return mulConj(v, spectra[hbase + (k10 + c) * ${N2}u + k]); }
fn st(c: u32, e: u32, v: vec2f) { scratch[base + (k10 + c) * ${N2}u + e] = v; }
`,
  };
}

/** Pass C: group = (transform, C columns n2): times w_N^(n2 k1), DFT over k1, the kept outputs to the batch. */
function convColumnOutIo(N1: number, N2: number, C: number, tw: { loOffset: number; hiOffset: number; shift: number }): PassIo {
  const N = N1 * N2;
  const groupsPer = N2 / C;
  return {
    bindings: [
      ["lengths", "var<storage, read> lengths: array<u32>"],
      ["rowp", "var<storage, read> rowp: array<u32>"],
      ["scratch", "var<storage, read_write> scratch: array<vec2f>"],
      ["out", "var<storage, read_write> out: array<f32>"],
    ],
    uniforms: CONV_UNIFORMS,
    loadOrder: "col",
    storeOrder: "col",
    body: `
var<private> blk: Block;
var<private> base: u32;
var<private> col0: u32;
${BLOCK_OF}
${BLOCK_OUTPUT}
${fourStepTwiddleWgsl(tw.loOffset, tw.hiOffset, tw.shift)}
fn setup(g: u32) -> bool {
  if (g >= U.groups) { return false; }
  let tr = g / ${groupsPer}u;
  col0 = (g % ${groupsPer}u) * ${C}u;
  base = tr * ${N}u;
  blk = blockOf(tr);
  return true;
}
fn ld(c: u32, e: u32) -> vec2f { return cmul(scratch[base + e * ${N2}u + col0 + c], tw4((col0 + c) * e)); }
fn st(c: u32, e: u32, v: vec2f) { blockOutput(blk, e * ${N2}u + col0 + c, v); }
`,
  };
}

const RIR_BINDINGS: Array<[string, string]> = [
  ["rirs", "var<storage, read> rirs: array<f32>"],
  ["rirLengths", "var<storage, read> rirLengths: array<u32>"],
];

/** Tap n of RIR i, zero past its length (cut to maxLen). */
const RIR_TAP = `
fn tap(i: u32, n: u32) -> f32 {
  let len = min(rirLengths[i], U.maxLen);
  if (n >= len) { return 0.0; }
  return rirs[i * U.rirStride + n];
}`;

/** One-tile spectra: C RIRs per group, DFT, scaled by 1/N, natural order. */
function spectraTileIo(N: number, C: number): PassIo {
  return {
    bindings: [...RIR_BINDINGS, ["spectra", "var<storage, read_write> spectra: array<vec2f>"]],
    uniforms: SPECTRA_UNIFORMS,
    loadOrder: "elem",
    storeOrder: "elem",
    body: `
var<private> i0: u32;
${RIR_TAP}
fn setup(g: u32) -> bool { i0 = g * ${C}u; return g < U.groups; }
fn ld(c: u32, e: u32) -> vec2f { let i = i0 + c; if (i >= U.count) { return vec2f(0.0); } return vec2f(tap(i, e), 0.0); }
fn st(c: u32, e: u32, v: vec2f) { let i = i0 + c; if (i < U.count) { spectra[i * ${N}u + e] = v * ${1 / N}; } }
`,
  };
}

/** Spectra pass A: as the convolution's pass A, from the RIR with a zero imaginary part. */
function spectraColumnIo(N1: number, N2: number, C: number, tw: { loOffset: number; hiOffset: number; shift: number }): PassIo {
  const N = N1 * N2;
  const groupsPer = N2 / C;
  return {
    bindings: [...RIR_BINDINGS, ["spectra", "var<storage, read_write> spectra: array<vec2f>"]],
    uniforms: SPECTRA_UNIFORMS,
    loadOrder: "col",
    storeOrder: "col",
    body: `
var<private> idx: u32;
var<private> col0: u32;
${RIR_TAP}
${fourStepTwiddleWgsl(tw.loOffset, tw.hiOffset, tw.shift)}
fn setup(g: u32) -> bool { idx = g / ${groupsPer}u; col0 = (g % ${groupsPer}u) * ${C}u; return g < U.groups; }
fn ld(c: u32, e: u32) -> vec2f { return vec2f(tap(idx, e * ${N2}u + col0 + c), 0.0); }
fn st(c: u32, e: u32, v: vec2f) { spectra[idx * ${N}u + e * ${N2}u + col0 + c] = cmul(v, tw4((col0 + c) * e)); }
`,
  };
}

/** Spectra pass B: per k1 the DFT over n2, scaled by 1/N, in place: H[k1 + N1 k2] at k1 N2 + k2. */
function spectraRowIo(N1: number, N2: number, C: number): PassIo {
  const N = N1 * N2;
  const groupsPer = N1 / C;
  return {
    bindings: [["spectra", "var<storage, read_write> spectra: array<vec2f>"]],
    uniforms: SPECTRA_UNIFORMS,
    loadOrder: "elem",
    storeOrder: "elem",
    body: `
var<private> base: u32;
fn setup(g: u32) -> bool { base = (g / ${groupsPer}u) * ${N}u + (g % ${groupsPer}u) * ${C * N2}u; return g < U.groups; }
fn ld(c: u32, e: u32) -> vec2f { return spectra[base + c * ${N2}u + e]; }
fn st(c: u32, e: u32, v: vec2f) { spectra[base + c * ${N2}u + e] = v * ${1 / N}; }
`,
  };
}

// ---------------------------------------------------------------------------------------------
// Host level.

/**
 * out[i] = convolveAligned(signals[i], rirs[i], delays[i]) (src/audio/fftconv.ts) for every i, on
 * the GPU in one batch: signals[i].length samples, sample t being (x * h)[t + delay]. `delays`
 * default to 0. For tests and benchmarks: uploads, runs, reads back, frees.
 */
export async function gpuFftConvolveBatch(device: GPUDevice, signals: Float32Array[], rirs: Float32Array[], delays?: number[], options: FftOptions = {}): Promise<Float32Array[]> {
  if (rirs.length !== signals.length) throw new RangeError(`${signals.length} signals but ${rirs.length} RIRs`);
  const rows = signals.length;
  if (rows === 0) return [];
  delays?.forEach((d) => {
    if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`delaySamples must be a non-negative integer, got ${d}`);
  });
  const stride = Math.max(1, ...signals.map((s) => s.length));
  const rirStride = Math.max(1, ...rirs.map((h) => h.length));
  const plan = planFftConvolution(stride, rirStride, options.tile);
  const packedSignals = new Float32Array(rows * stride);
  const packedRirs = new Float32Array(rows * rirStride);
  const lengths = new Uint32Array(rows);
  const rirLengths = new Uint32Array(rows);
  const rowParams = new Uint32Array(2 * rows);
  for (let i = 0; i < rows; i++) {
    packedSignals.set(signals[i], i * stride);
    packedRirs.set(rirs[i], i * rirStride);
    lengths[i] = signals[i].length;
    rirLengths[i] = rirs[i].length;
    rowParams[2 * i] = delays?.[i] ?? 0;
    rowParams[2 * i + 1] = i;
  }
  const conv = new GpuFftConvolver(device, options);
  const owned: GPUBuffer[] = [];
  const keep = (b: GPUBuffer) => (owned.push(b), b);
  try {
    const signalBuf = keep(uploadBuffer(device, packedSignals, "signals"));
    const rirBuf = keep(uploadBuffer(device, packedRirs, "rirs"));
    const lengthBuf = keep(uploadBuffer(device, lengths, "lengths"));
    const rirLengthBuf = keep(uploadBuffer(device, rirLengths, "rir lengths"));
    const rowParamBuf = keep(uploadBuffer(device, rowParams, "row params"));
    const spectra = keep(storageBuffer(device, rows * GpuFftConvolver.spectrumBytes(plan), "spectra"));
    const output = keep(storageBuffer(device, packedSignals.byteLength, "output"));
    const encoder = device.createCommandEncoder();
    conv.encodeSpectra(encoder, { plan, rirs: rirBuf, rirStride, rirLengths: rirLengthBuf, count: rows, spectra });
    conv.encodeConvolve(encoder, { plan, signals: signalBuf, lengths: lengthBuf, rowParams: rowParamBuf, rows, spectra, output });
    const out = new Float32Array(await submitAndRead(device, encoder, output, packedSignals.byteLength));
    return signals.map((s, i) => out.slice(i * stride, i * stride + s.length));
  } finally {
    for (const b of owned) b.destroy();
    conv.destroy();
  }
}
