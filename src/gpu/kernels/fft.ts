// Batched complex FFT on WebGPU: Stockham autosort (natural order in, natural order out; Govindaraju
// et al., "High Performance Discrete Fourier Transforms on Graphics Processors", SC 2008), radix 8
// (or 4 or 16) with one smaller stage for the leftover bits, generated as unrolled WGSL per size.
//
// A pass computes C independent DFTs of length L (C * L = one tile, 2048 points by default) in
// one workgroup of W = C * L / E threads, each thread holding E = radix points in registers. Stages
// exchange points through workgroup memory; the first stage reads its inputs straight from global
// memory and the last writes straight to it (both coalesced: each stage may map its butterflies to
// threads column-major or element-major, whichever makes neighbouring threads touch neighbouring
// addresses), so a pass costs one read and one write of global memory.
//
// Sizes beyond one tile take two passes (the "four-step" decomposition, Bailey 1990): with
// N = N1 N2, n = N2 n1 + n2 and k = k1 + N1 k2,
//   X[k1 + N1 k2] = sum_n2 w_N2^(n2 k2) [ w_N^(n2 k1) sum_n1 x[N2 n1 + n2] w_N1^(n1 k1) ],
// pass 1 doing the N2 strided DFTs of length N1 (times the w_N twiddle), pass 2 the N1 contiguous
// DFTs of length N2. Up to tile^2 points (2^22 with the default 2048-point tiles).
//
// Twiddles come from tables computed in Float64 and rounded once (the GPU's sin/cos are far less
// accurate than the 1e-7 the transform keeps); the four-step twiddle w_N^a is the product of two
// tables of sqrt(N) entries, w_N^(a mod 2^s) w_N^(a - a mod 2^s), so no table exceeds 2^10-2^12 points.
//
// This module also holds the pass generator the FFT convolution (fftconv.ts) builds on, and the
// small host helpers (upload, readback, waits with a timeout) the host-level functions share.

/** Default radix, and points per thread (every radix used divides it): 8 compiles in half the time of 16. */
export const DEFAULT_RADIX = 8;
/** Largest tile (points per workgroup) the generator takes; 8 bytes each in workgroup memory. */
export const TILE_MAX = 4096;
/**
 * Default tile: 2048 points (16 KiB of workgroup memory, 256 threads at radix 8). On an H200
 * (bench/gpu-kernels.mjs, 256 x 160 000 samples, 8 000-tap RIRs) the three-pass convolution took
 * 0.60 ms with it; 0.72-0.90 ms with 1024- or 4096-point tiles or radix 4 or 16.
 */
export const DEFAULT_TILE = 2048;

/** Tuning of the generated passes (for benchmarks; the defaults are what the engine uses). */
export interface FftOptions {
  /** Largest radix and points per thread: 4, 8 or 16. */
  radix?: number;
  /** Points per workgroup tile, a power of two up to TILE_MAX. */
  tile?: number;
}
/** Every GPU wait in the host helpers gives up after this long (a hung device fails, never wedges). */
let gpuWaitMs = 30_000;

/**
 * Sets the bound on GPU waits. Software adapters (lavapipe) compile a new pipeline at its first
 * dispatch, for seconds to a minute on a busy machine: tests raise the bound there.
 */
export function setGpuWaitMs(ms: number): void {
  gpuWaitMs = ms;
}

// ---------------------------------------------------------------------------------------------
// Host helpers.

/** `promise`, or a rejection naming `what` after `ms`. */
export function withTimeout<T>(promise: Promise<T>, what: string, ms = gpuWaitMs): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`GPU wait timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A storage buffer (also copy source and destination) of at least 4 bytes. */
export function storageBuffer(device: GPUDevice, bytes: number, label?: string): GPUBuffer {
  return device.createBuffer({
    label,
    size: Math.max(16, Math.ceil(bytes / 4) * 4),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
}

/** Writes `data` into `buffer` at `offset` bytes in chunks (one huge writeBuffer has hung Dawn on NVIDIA). */
export function writeChunked(device: GPUDevice, buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
  const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  const chunk = 8 << 20;
  for (let at = 0; at < bytes.length; at += chunk) {
    const piece = bytes.subarray(at, Math.min(bytes.length, at + chunk));
    device.queue.writeBuffer(buffer, offset + at, piece);
  }
}

/** A new storage buffer holding `data`. */
export function uploadBuffer(device: GPUDevice, data: Float32Array | Uint32Array | Int32Array, label?: string): GPUBuffer {
  const buffer = storageBuffer(device, data.byteLength, label);
  if (data.byteLength > 0) writeChunked(device, buffer, data);
  return buffer;
}

/** An immutable uniform buffer holding `words` (u32), padded to 16 bytes. */
export function uniformBuffer(device: GPUDevice, words: number[], label?: string): GPUBuffer {
  const size = Math.max(16, Math.ceil((words.length * 4) / 16) * 16);
  const buffer = device.createBuffer({ label, size, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
  new Uint32Array(buffer.getMappedRange()).set(words.map((x) => x >>> 0));
  buffer.unmap();
  return buffer;
}

/** Submits `encoder`, copies `bytes` of `source` into a fresh MAP_READ buffer and returns them. */
export async function submitAndRead(device: GPUDevice, encoder: GPUCommandEncoder, source: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
  const size = Math.max(16, Math.ceil(bytes / 4) * 4);
  const staging = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    encoder.copyBufferToBuffer(source, offset, staging, 0, size);
    device.queue.submit([encoder.finish()]);
    await withTimeout(staging.mapAsync(GPUMapMode.READ), "readback");
    return staging.getMappedRange().slice(0, bytes);
  } finally {
    staging.destroy();
  }
}

/** Resolves when the queue has finished what was submitted so far (or rejects after the timeout). */
export function queueDone(device: GPUDevice, what = "queue"): Promise<void> {
  return withTimeout(device.queue.onSubmittedWorkDone(), what);
}

/** Splits a workgroup count over x and y (each dimension is limited to 65535). */
export function dispatchSize(groups: number): [number, number] {
  if (groups <= 65535) return [Math.max(1, groups), 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y];
}

// ---------------------------------------------------------------------------------------------
// Twiddle tables.

/** w_n^k = exp(-2 pi i k / n) for k in [from, from + count), times `stride`, as interleaved f32. */
function twiddleRange(n: number, count: number, stride = 1): Float32Array {
  const out = new Float32Array(2 * count);
  for (let k = 0; k < count; k++) {
    // Reduce the angle exactly in integers first, so large k keep full accuracy.
    const j = (k * stride) % n;
    const a = (2 * Math.PI * j) / n;
    out[2 * k] = Math.cos(a);
    out[2 * k + 1] = -Math.sin(a);
  }
  return out;
}

/**
 * The twiddle table of a pass, one buffer: [w_L^k, k < L] then, for a four-step pass of total
 * size N, [w_N^k, k < 2^s] and [w_N^(k 2^s), k < N / 2^s] (see twiddleSplit).
 */
export function twiddleTable(L: number, N: number): { data: Float32Array; loOffset: number; hiOffset: number; shift: number } {
  const parts: Float32Array[] = [twiddleRange(L, L)];
  let loOffset = 0;
  let hiOffset = 0;
  let shift = 0;
  if (N > L) {
    shift = twiddleSplit(N);
    loOffset = L;
    hiOffset = L + (1 << shift);
    parts.push(twiddleRange(N, 1 << shift), twiddleRange(N, N >>> shift, 1 << shift));
  }
  const data = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { data, loOffset, hiOffset, shift };
}

/** s with w_N^a = lo[a mod 2^s] hi[a >> s]: half the bits each. */
export function twiddleSplit(N: number): number {
  return Math.ceil(Math.log2(N) / 2);
}

// ---------------------------------------------------------------------------------------------
// WGSL generation.

/** Radices of a length-L Stockham transform: maxRadix each, then one smaller for the leftover bits. */
export function radicesFor(L: number, maxRadix = DEFAULT_RADIX): number[] {
  const bits = Math.round(Math.log2(L));
  if (2 ** bits !== L || L < 2) throw new RangeError(`transform length must be a power of two >= 2, got ${L}`);
  const step = Math.round(Math.log2(maxRadix));
  const out: number[] = [];
  let left = bits;
  for (; left >= step; left -= step) out.push(maxRadix);
  if (left > 0) out.push(1 << left);
  return out;
}

function f32Literal(x: number): string {
  if (x === 0) return "0.0";
  const s = x.toPrecision(17);
  return s.includes(".") || s.includes("e") ? s : `${s}.0`;
}

/**
 * Unrolled in-place forward DFT (exp(-2 pi i k n / R)) of the registers `regs` (names of vec2f
 * variables): radix-2 decimation in time with constant twiddles.
 */
function dftCode(regs: string[], tag: string): string[] {
  const sign = -1;
  let temps = 0;
  const lines: string[] = [];
  const fresh = (expr: string) => {
    const name = `${tag}${temps++}`;
    lines.push(`let ${name} = ${expr};`);
    return name;
  };
  const rec = (xs: string[]): string[] => {
    const n = xs.length;
    if (n === 1) return xs;
    const even = rec(xs.filter((_, i) => i % 2 === 0));
    const odd = rec(xs.filter((_, i) => i % 2 === 1));
    const ys = new Array<string>(n);
    for (let k = 0; k < n / 2; k++) {
      let t: string;
      const o = odd[k];
      if (k === 0) t = o;
      else if (4 * k === n) t = sign < 0 ? fresh(`vec2f(${o}.y, -${o}.x)`) : fresh(`vec2f(-${o}.y, ${o}.x)`);
      else {
        const c = Math.cos((2 * Math.PI * k) / n);
        const s = sign * Math.sin((2 * Math.PI * k) / n);
        t = fresh(`vec2f(${o}.x * ${f32Literal(c)} - ${o}.y * ${f32Literal(s)}, ${o}.x * ${f32Literal(s)} + ${o}.y * ${f32Literal(c)})`);
      }
      ys[k] = fresh(`${even[k]} + ${t}`);
      ys[k + n / 2] = fresh(`${even[k]} - ${t}`);
    }
    return ys;
  };
  const out = rec(regs);
  // Assign back through the temporaries (the outputs may alias inputs).
  out.forEach((name, k) => {
    if (name !== regs[k]) lines.push(`${regs[k]} = ${name};`);
  });
  return lines;
}

/** How a stage maps butterflies to threads: neighbouring threads on neighbouring columns, or elements. */
export type Order = "col" | "elem";

/** One generated pass: WGSL plus its bindings, in binding order. */
export interface PassSource {
  code: string;
  workgroupSize: number;
  /** Names of the bindings, binding i = names[i]. */
  bindings: string[];
}

/**
 * What a pass does with memory: WGSL declarations for its bindings (after `U` and `tw`, which the
 * generator declares at bindings 0 and 1), `setup` (sets private context from the group index,
 * returns false for a group past the end), `ld(c, e) -> vec2f` and `st(c, e, v)` for column c of
 * the tile and element e of its DFT, and optionally `mulspec(c, k, v) -> vec2f` for a fused
 * forward-multiply-inverse pass.
 */
export interface PassIo {
  /** Extra bindings, declared in order from binding 2: [name, declaration without @group/@binding]. */
  bindings: Array<[string, string]>;
  /** Uniform struct fields after `groups: u32, groupsX: u32` (u32 each). */
  uniforms: string[];
  /** WGSL: private vars and functions setup(g: u32) -> bool, ld, st, (mulspec). */
  body: string;
  /** Global access order of ld and st (which mapping keeps them coalesced). */
  loadOrder: Order;
  storeOrder: Order;
}

export interface PassShape {
  /** DFT length. */
  L: number;
  /** DFTs per workgroup. */
  C: number;
  /** Forward DFT, then mulspec, then a second forward DFT, in one pass (see the file header). */
  fused?: boolean;
  /** Largest radix = points per thread (default DEFAULT_RADIX). */
  radix?: number;
}

/**
 * Generates a pass of forward DFTs. Each stage reads E points per thread (from `ld` for the first
 * stage, else from the tile), applies Stockham twiddles, a radix-R DFT, and writes (to `st` for the
 * last stage, else to the tile); barriers separate tile writes from reads. Every transform here is
 * forward: an inverse is conj(DFT(conj(x))), the conjugations done by ld, st or mulspec, so one
 * pipeline serves both directions (software adapters compile each pipeline for seconds).
 */
export function generatePass(shape: PassShape, io: PassIo): PassSource {
  const { L, C } = shape;
  const E = shape.radix ?? DEFAULT_RADIX;
  const tile = C * L;
  if (![4, 8, 16].includes(E) || tile % E !== 0 || tile > TILE_MAX) throw new RangeError(`bad tile ${C} x ${L} or radix ${E}`);
  const W = tile / E;
  const fwd = radicesFor(L, E);
  type Stage = { R: number; Ns: number };
  const stages: Stage[] = [];
  let ns = 1;
  for (const R of fwd) {
    stages.push({ R, Ns: ns });
    ns *= R;
  }
  const fusedAt = stages.length;
  if (shape.fused) {
    // The second transform runs the radices backwards, so its first stage has the first's last
    // radix and finds its inputs in the registers the first's last stage left them in.
    ns = 1;
    for (const R of [...fwd].reverse()) {
      stages.push({ R, Ns: ns });
      ns *= R;
    }
  }
  // The tile is column-major when columns are the coalesced dimension of global memory.
  const tileColFast = io.loadOrder === "col" || io.storeOrder === "col";
  const tileIndex = (c: string, e: string) => (tileColFast ? `(${e}) * ${C}u + (${c})` : `(${c}) * ${L}u + (${e})`);
  const lines: string[] = [];
  const regs = Array.from({ length: E }, (_, i) => `v[${i}]`);
  const ladder = (s: number): Order => {
    // First stage: ld's order; last stage: st's order; others: the tile's.
    const first = s === 0;
    const last = s === stages.length - 1;
    if (first) return io.loadOrder;
    if (last) return io.storeOrder;
    if (shape.fused && (s === fusedAt - 1 || s === fusedAt)) return "elem";
    return tileColFast ? "col" : "elem";
  };
  // Butterfly b of a stage of radix R -> (column c, index j < L / R).
  const mapping = (s: number, i: number, R: number) => {
    const per = L / R;
    const b = `(lid + ${i * W}u)`;
    return ladder(s) === "col" ? { c: `(${b} % ${C}u)`, j: `(${b} / ${C}u)` } : { c: `(${b} / ${per}u)`, j: `(${b} % ${per}u)` };
  };
  if (shape.fused && fusedAt > 0) {
    // The forward's last and the inverse's first stage must map butterflies alike (see ladder).
    if (ladder(fusedAt - 1) !== ladder(fusedAt)) throw new Error("fused stages disagree");
  }
  stages.forEach((st, s) => {
    const { R, Ns } = st;
    const per = L / R;
    const first = s === 0;
    const last = s === stages.length - 1;
    const fromRegs = shape.fused && s === fusedAt;
    lines.push(`// stage ${s}: radix ${R}, Ns ${Ns}`);
    if (!first && !fromRegs) lines.push("workgroupBarrier();");
    for (let i = 0; i < E / R; i++) {
      const { c, j } = mapping(s, i, R);
      lines.push(`{ let c = ${c}; let j = ${j};`);
      for (let r = 0; r < R; r++) {
        const reg = regs[i * R + r];
        if (fromRegs) continue;
        const e = `j + ${r * per}u`;
        lines.push(first ? `${reg} = ld(c, ${e});` : `${reg} = tile[${tileIndex("c", e)}];`);
      }
      lines.push("}");
    }
    if (!first && !fromRegs) lines.push("workgroupBarrier();");
    for (let i = 0; i < E / R; i++) {
      const { c, j } = mapping(s, i, R);
      lines.push(`{ let c = ${c}; let j = ${j};`);
      if (Ns > 1) {
        lines.push(`let jm = j & ${Ns - 1}u;`);
        for (let r = 1; r < R; r++) {
          const reg = regs[i * R + r];
          const k = `jm * ${r * (L / (Ns * R))}u`;
          lines.push(`${reg} = cmul(${reg}, tw[${k}]);`);
        }
      }
      lines.push(...dftCode(regs.slice(i * R, i * R + R), `t${s}_${i}_`));
      const dst = Ns === 1 ? `j * ${R}u` : `(j / ${Ns}u) * ${Ns * R}u + (j & ${Ns - 1}u)`;
      lines.push(`let d = ${dst};`);
      for (let r = 0; r < R; r++) {
        const reg = regs[i * R + r];
        const e = `d + ${r * Ns}u`;
        if (shape.fused && s === fusedAt - 1) lines.push(`${reg} = mulspec(c, ${e}, ${reg});`);
        else if (last) lines.push(`st(c, ${e}, ${reg});`);
        else lines.push(`tile[${tileIndex("c", e)}] = ${reg};`);
      }
      lines.push("}");
    }
  });
  const needsTile = stages.length > 1 && !(shape.fused && stages.length === 2);
  // A binding the shader never reads is dropped from the "auto" layout, so declare tw only when used.
  const usesTw = stages.some((st) => st.Ns > 1) || /\btw(4\s*\(|\[)/.test(io.body);
  const bindings = ["U", ...(usesTw ? ["tw"] : []), ...io.bindings.map(([name]) => name)];
  const code = `
struct Uniforms { groups: u32, groupsX: u32, ${io.uniforms.map((u) => `${u}: u32`).join(", ")}${io.uniforms.length ? "," : ""} }
${bindings.map((name, i) => `@group(0) @binding(${i}) ${name === "U" ? "var<uniform> U: Uniforms" : name === "tw" ? "var<storage, read> tw: array<vec2f>" : io.bindings.find(([n]) => n === name)![1]};`).join("\n")}
${needsTile ? `var<workgroup> tile: array<vec2f, ${tile}>;` : ""}
fn cmul(a: vec2f, b: vec2f) -> vec2f { return vec2f(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }
${io.body}
@compute @workgroup_size(${W})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let g = wid.x + wid.y * U.groupsX;
  if (!setup(g)) { return; }
  var v: array<vec2f, ${E}>;
${lines.map((l) => `  ${l}`).join("\n")}
}
`;
  return { code, workgroupSize: W, bindings };
}

// ---------------------------------------------------------------------------------------------
// Pipelines.

/** Compiles generated passes once per source text. */
export class PassCache {
  private pipelines = new Map<string, GPUComputePipeline>();
  private tables = new Map<string, GPUBuffer>();
  private uniforms = new Map<string, GPUBuffer>();
  constructor(private device: GPUDevice) {}

  pipeline(src: PassSource, label: string): GPUComputePipeline {
    let p = this.pipelines.get(src.code);
    if (!p) {
      const module = this.device.createShaderModule({ label, code: src.code });
      p = this.device.createComputePipeline({ label, layout: "auto", compute: { module, entryPoint: "main" } });
      this.pipelines.set(src.code, p);
    }
    return p;
  }

  /** The twiddle table for (L, N), uploaded once. */
  twiddles(L: number, N: number): { buffer: GPUBuffer; loOffset: number; hiOffset: number; shift: number } {
    const key = `${L}:${N}`;
    const t = twiddleTable(L, N);
    let buffer = this.tables.get(key);
    if (!buffer) {
      buffer = uploadBuffer(this.device, t.data, `twiddles ${key}`);
      this.tables.set(key, buffer);
    }
    return { buffer, loOffset: t.loOffset, hiOffset: t.hiOffset, shift: t.shift };
  }

  /** An immutable uniform buffer with these words (cached by content: never rewritten). */
  uniform(words: number[]): GPUBuffer {
    const key = words.join(",");
    let b = this.uniforms.get(key);
    if (!b) {
      b = uniformBuffer(this.device, words);
      this.uniforms.set(key, b);
    }
    return b;
  }

  /** Records one dispatch of `src` over `groups` workgroups. */
  dispatch(pass: GPUComputePassEncoder, src: PassSource, label: string, groups: number, uniforms: number[], buffers: Record<string, GPUBuffer>): void {
    const pipeline = this.pipeline(src, label);
    const [x, y] = dispatchSize(groups);
    const all: Record<string, GPUBuffer> = { ...buffers, U: this.uniform([groups, x, ...uniforms]) };
    const entries = src.bindings.map((name, binding) => {
      const buffer = all[name];
      if (!buffer) throw new Error(`${label}: no buffer for binding ${name}`);
      return { binding, resource: { buffer } };
    });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
    pass.dispatchWorkgroups(x, y);
  }

  destroy(): void {
    for (const b of this.tables.values()) b.destroy();
    for (const b of this.uniforms.values()) b.destroy();
    this.tables.clear();
    this.uniforms.clear();
    this.pipelines.clear();
  }
}

/** WGSL for the four-step twiddle w_N^a (a < N) from the two half tables; conj for the inverse. */
export function fourStepTwiddleWgsl(lo: number, hi: number, shift: number): string {
  return `fn tw4(a: u32) -> vec2f { return cmul(tw[${lo}u + (a & ${(1 << shift) - 1}u)], tw[${hi}u + (a >> ${shift}u)]); }`;
}

/** How a size splits into passes: one tile, or N1 (strided, first) x N2 (contiguous, second). */
export function splitSize(N: number, tileMax = DEFAULT_TILE): { N1: number; N2: number } | null {
  if (N <= tileMax) return null;
  const bits = Math.round(Math.log2(N));
  const b1 = Math.floor(bits / 2);
  const N1 = 2 ** b1;
  const N2 = N / N1;
  if (N2 > tileMax) throw new RangeError(`FFT size ${N} exceeds two passes of ${tileMax}-point tiles`);
  return { N1, N2 };
}

// ---------------------------------------------------------------------------------------------
// The batched complex FFT.

/** Largest size GpuFft accepts: two passes of default tiles (2^22). */
export const FFT_MAX_SIZE = DEFAULT_TILE * DEFAULT_TILE;

export interface FftEncodeArgs {
  /** rows * size complex points, interleaved (re, im) f32; row r at complex offset r * size. */
  input: GPUBuffer;
  /** Same layout; must not be `input`. */
  output: GPUBuffer;
  rows: number;
  /** Power of two, 2 .. FFT_MAX_SIZE. */
  size: number;
  /** Inverse transform, scaled by 1/size (as fft.js's inverseTransform). Default forward. */
  inverse?: boolean;
}

/**
 * Batched complex FFT: for each row, X[k] = sum_n x[n] exp(-2 pi i k n / N) (forward) or
 * x[n] = (1/N) sum_k X[k] exp(+2 pi i k n / N) (inverse), natural order in and out, out of place.
 * Sizes above one tile (4096) use an internal scratch buffer (rows * size * 8 bytes, kept and grown).
 */
export class GpuFft {
  private cache: PassCache;
  private scratch: GPUBuffer | null = null;
  private retired: GPUBuffer[] = [];
  private radix: number;
  private tile: number;
  constructor(private device: GPUDevice, options: FftOptions = {}) {
    this.cache = new PassCache(device);
    this.radix = options.radix ?? DEFAULT_RADIX;
    this.tile = options.tile ?? DEFAULT_TILE;
  }

  private scratchFor(bytes: number): GPUBuffer {
    if (!this.scratch || this.scratch.size < bytes) {
      // Work already recorded may still use the old buffer: keep it until destroy().
      if (this.scratch) this.retired.push(this.scratch);
      this.scratch = storageBuffer(this.device, bytes, "fft scratch");
    }
    return this.scratch;
  }

  encode(encoder: GPUCommandEncoder, args: FftEncodeArgs): void {
    const { input, output, rows, size: N } = args;
    if (input === output) throw new RangeError("GpuFft.encode: input and output must differ");
    const max = this.tile * this.tile;
    if (!(N >= 2 && N <= max) || 2 ** Math.round(Math.log2(N)) !== N) throw new RangeError(`FFT size must be a power of two in 2..${max}, got ${N}`);
    if (rows === 0) return;
    // The inverse is conj(DFT(conj(x))) / N: conjugated on the way in and out (uniform `inv`).
    const inv = args.inverse ? 1 : 0;
    const scale = Math.fround(args.inverse ? 1 / N : 1);
    const scaleBits = new Uint32Array(new Float32Array([scale]).buffer)[0];
    const pass = encoder.beginComputePass({ label: `fft ${N}` });
    const { radix, tile } = this;
    const split = splitSize(N, tile);
    if (!split) {
      const cols = Math.max(1, tile / N);
      const src = generatePass({ L: N, C: cols, radix }, rowsIo(N, cols));
      const tw = this.cache.twiddles(N, N);
      this.cache.dispatch(pass, src, `fft ${N}`, Math.ceil(rows / cols), [rows, inv, scaleBits], { tw: tw.buffer, src: input, dst: output });
    } else {
      const { N1, N2 } = split;
      const scratch = this.scratchFor(rows * N * 8);
      const C1 = tile / N1;
      const tw1 = this.cache.twiddles(N1, N);
      const src1 = generatePass({ L: N1, C: C1, radix }, columnIo(N1, N2, C1, tw1));
      this.cache.dispatch(pass, src1, `fft ${N} pass 1`, rows * (N2 / C1), [rows, inv, scaleBits], { tw: tw1.buffer, src: input, dst: scratch });
      const C2 = tile / N2;
      const tw2 = this.cache.twiddles(N2, N2);
      const src2 = generatePass({ L: N2, C: C2, radix }, naturalRowIo(N1, N2, C2));
      this.cache.dispatch(pass, src2, `fft ${N} pass 2`, rows * (N1 / C2), [rows, inv, scaleBits], { tw: tw2.buffer, src: scratch, dst: output });
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

/** Uniforms of the GpuFft passes: row count, inverse flag, output scale (f32 bits). */
const FFT_UNIFORMS = ["rows", "inv", "scaleBits"];
/** conj(v) when U.inv is set. */
const CONJ_IN = `fn dirIn(v: vec2f) -> vec2f { return select(v, vec2f(v.x, -v.y), U.inv != 0u); }`;
/** conj(v) * scale when U.inv is set. */
const CONJ_OUT = `fn dirOut(v: vec2f) -> vec2f { return select(v, vec2f(v.x, -v.y), U.inv != 0u) * bitcast<f32>(U.scaleBits); }`;

/** One tile per group of C rows: row = g C + c, element e at row * N + e. */
function rowsIo(N: number, C: number): PassIo {
  return {
    bindings: [
      ["src", "var<storage, read> src: array<vec2f>"],
      ["dst", "var<storage, read_write> dst: array<vec2f>"],
    ],
    uniforms: FFT_UNIFORMS,
    loadOrder: "elem",
    storeOrder: "elem",
    body: `
var<private> row0: u32;
${CONJ_IN}
${CONJ_OUT}
fn setup(g: u32) -> bool { row0 = g * ${C}u; return g < U.groups; }
fn ld(c: u32, e: u32) -> vec2f { let r = row0 + c; if (r >= U.rows) { return vec2f(0.0); } return dirIn(src[r * ${N}u + e]); }
fn st(c: u32, e: u32, v: vec2f) { let r = row0 + c; if (r < U.rows) { dst[r * ${N}u + e] = dirOut(v); } }
`,
  };
}

/** Four-step pass 1: group = (row, C columns n2); element n1 at n1 N2 + n2, out k1 at k1 N2 + n2 times w_N^(n2 k1). */
function columnIo(N1: number, N2: number, C: number, tw: { loOffset: number; hiOffset: number; shift: number }): PassIo {
  const N = N1 * N2;
  const groupsPerRow = N2 / C;
  return {
    bindings: [
      ["src", "var<storage, read> src: array<vec2f>"],
      ["dst", "var<storage, read_write> dst: array<vec2f>"],
    ],
    uniforms: FFT_UNIFORMS,
    loadOrder: "col",
    storeOrder: "col",
    body: `
var<private> base: u32;
var<private> col0: u32;
${CONJ_IN}
${fourStepTwiddleWgsl(tw.loOffset, tw.hiOffset, tw.shift)}
fn setup(g: u32) -> bool { base = (g / ${groupsPerRow}u) * ${N}u; col0 = (g % ${groupsPerRow}u) * ${C}u; return g < U.groups; }
fn ld(c: u32, e: u32) -> vec2f { return dirIn(src[base + e * ${N2}u + col0 + c]); }
fn st(c: u32, e: u32, v: vec2f) { dst[base + e * ${N2}u + col0 + c] = cmul(v, tw4((col0 + c) * e)); }
`,
  };
}

/** Four-step pass 2, natural order out: group = (row, C rows k1); element n2 at k1 N2 + n2, out k2 at k1 + N1 k2. */
function naturalRowIo(N1: number, N2: number, C: number): PassIo {
  const N = N1 * N2;
  const groupsPerRow = N1 / C;
  return {
    bindings: [
      ["src", "var<storage, read> src: array<vec2f>"],
      ["dst", "var<storage, read_write> dst: array<vec2f>"],
    ],
    uniforms: FFT_UNIFORMS,
    loadOrder: "elem",
    storeOrder: "col",
    body: `
var<private> base: u32;
var<private> k10: u32;
${CONJ_OUT}
fn setup(g: u32) -> bool { base = (g / ${groupsPerRow}u) * ${N}u; k10 = (g % ${groupsPerRow}u) * ${C}u; return g < U.groups; }
fn ld(c: u32, e: u32) -> vec2f { return src[base + (k10 + c) * ${N2}u + e]; }
fn st(c: u32, e: u32, v: vec2f) { dst[base + k10 + c + e * ${N1}u] = dirOut(v); }
`,
  };
}

// ---------------------------------------------------------------------------------------------
// Host level.

/**
 * Transforms each row (interleaved complex, 2 * size floats; all rows the same size, a power of
 * two) on the GPU and returns the results (forward, or inverse scaled by 1/size).
 */
export async function gpuFftBatch(device: GPUDevice, rows: Float32Array[], inverse = false, options: FftOptions = {}): Promise<Float32Array[]> {
  if (rows.length === 0) return [];
  const size = rows[0].length / 2;
  for (const r of rows) if (r.length !== 2 * size) throw new RangeError("gpuFftBatch: rows must all hold the same size");
  const packed = new Float32Array(rows.length * 2 * size);
  rows.forEach((r, i) => packed.set(r, i * 2 * size));
  const fft = new GpuFft(device, options);
  const input = uploadBuffer(device, packed, "fft input");
  const output = storageBuffer(device, packed.byteLength, "fft output");
  try {
    const encoder = device.createCommandEncoder();
    fft.encode(encoder, { input, output, rows: rows.length, size, inverse });
    const out = new Float32Array(await submitAndRead(device, encoder, output, packed.byteLength));
    return rows.map((_, i) => out.slice(i * 2 * size, (i + 1) * 2 * size));
  } finally {
    input.destroy();
    output.destroy();
    fft.destroy();
  }
}
