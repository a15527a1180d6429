// Linear convolution by FFT, in a small WebAssembly SIMD kernel assembled at load time (the
// machinery of wasm.ts, shared with the resampler), with fft.js as the plain-JS fallback.
//
// Blocks: overlap-save (Oppenheim & Schafer, "Discrete-Time Signal Processing", 3rd ed.,
// sec. 8.7.3) with a power-of-two transform size N picked per call by a cost model: each block
// takes N input samples and keeps the last N - m + 1 outputs of their circular convolution with
// the m-tap filter. Only the requested outputs are computed, so convolveAligned skips the
// reverberant tail (and the input that only feeds it).
//
// Two real blocks ride in one complex FFT: with z = a + i b, Z H is the spectrum of
// (a * h) + i (b * h) because h is real and convolution is linear, so one forward and one inverse
// complex FFT convolve two blocks (Press et al., "Numerical Recipes", 3rd ed., sec. 12.3.1). The
// filter spectrum H (scaled by 1/N) is taken once per filter and transform size and cached.
//
// The transform (Float32, split re/im in 4-lane vectors): with N = 4 M, vector v of the work
// buffer holds samples 4v .. 4v + 3, so lane c holds the decimated sequence x[4v + c] and
//   X[k1 + M k2] = sum_c w4^(c k2) w_N^(c k1) G_c[k1],   G_c = M-point DFT of lane c
// (the first step of a radix-4 decimation in time). The four M-point DFTs run side by side, one
// per lane, as in-place radix-4 decimation-in-frequency stages (plus one radix-2 stage when
// log2 M is odd) whose every operation is lane-wise; they leave G in digit-reversed order, which
// is never undone: the filter spectrum is stored in the same order, and the inverse stages
// (decimation in time, conjugate twiddles) take that order back to natural. Only the step across
// lanes needs shuffles: a fused middle pass transposes 4 x 4 lanes, applies the w_N twiddles, the
// 4-point DFT, the product with H, the inverse 4-point DFT and the conjugate twiddles, and
// transposes back. All operations are IEEE single precision (no FMA, no relaxed SIMD), so results
// are the same bytes on every engine; the block size depends only on the operand lengths, never
// on the cache state. Float32 rounding leaves 2.2e-7 to 2.8e-7 relative L2 error against the
// exact convolution (measured for N = 2^6 to 2^20; scipy's float32 fftconvolve: 2.5e-7 to 2.9e-7).
//
// Speed (bench/dsp.mjs, Node 20, x86-64): a pair of blocks costs about 0.45-0.6 ns per N log2 N;
// 10 s * 0.5 s at 16 kHz takes ~1.5 ms, against ~7 ms for scipy's float32 fftconvolve and
// ~9.5 ms for this file's previous fft.js overlap-add.

import FFT from "fft.js";
import { F32, I32, V128, assembleModule, instantiate, w, type WasmFunction } from "./wasm.js";

/** A one-tap filter (an exact scaling), or up to this many products in all, take the direct sum:
 * above that the kernel wins (measured: 60 x 60 costs 7.7 us direct, 3.0 us by FFT; 160000 x 2,
 * 1.3 ms and 0.6 ms). */
const DIRECT_MAX_TAPS = 1;
const DIRECT_MAX_PRODUCTS = 1024;

// ---------------------------------------------------------------------------------------------
// Kernel assembly.

type Code = number[];
interface Cpx {
  r: number;
  i: number;
}

/** Local slots after the params, declared in runs. */
class Locals {
  readonly runs: Array<[number, number]> = [];
  constructor(private next: number) {}
  private take(count: number, type: number): number[] {
    this.runs.push([count, type]);
    const first = this.next;
    this.next += count;
    return Array.from({ length: count }, (_, k) => first + k);
  }
  i32(count: number): number[] {
    return this.take(count, I32);
  }
  v128(count: number): number[] {
    return this.take(count, V128);
  }
  cpx(count: number): Cpx[] {
    const slots = this.take(2 * count, V128);
    return Array.from({ length: count }, (_, k) => ({ r: slots[2 * k], i: slots[2 * k + 1] }));
  }
}

// Combinators by concat rather than spreads: the assembler runs once, as cold code, where spreads
// of many small arrays are slow.
const G = (local: number): Code => w.get(local);
const add = (a: Code, b: Code): Code => a.concat(b, w.f32x4Add);
const sub = (a: Code, b: Code): Code => a.concat(b, w.f32x4Sub);
const mul = (a: Code, b: Code): Code => a.concat(b, w.f32x4Mul);
const put = (local: number, value: Code): Code => value.concat(w.set(local));
const load = (addr: number, offset: number): Code => G(addr).concat(w.v128Load(offset));
const splat = (addr: number, offset: number): Code => G(addr).concat(w.v128Load32Splat(offset));
const store = (addr: number, offset: number, value: Code): Code => G(addr).concat(value, w.v128Store(offset));
const iadd = (a: Code, b: Code): Code => a.concat(b, w.i32Add);
const bump = (local: number, by: Code): Code => put(local, iadd(G(local), by));
/** do { body } while (G(ptr) < G(end)), unsigned. */
const doWhile = (body: Code, ptr: number, end: number): Code => [...w.loop, ...body, ...G(ptr), ...G(end), ...w.i32LtU, ...w.brIf(0), ...w.end];

const loadCpx = (z: Cpx, addr: number, offset: number): Code => put(z.r, load(addr, offset)).concat(put(z.i, load(addr, offset + 16)));
const storeCpx = (addr: number, offset: number, re: Code, im: Code): Code => store(addr, offset, re).concat(store(addr, offset + 16, im));
/** (y * t) as [re, im]; with `conj`, y * conj(t). */
const cmul = (y: Cpx, t: Cpx, conj = false): [Code, Code] =>
  conj
    ? [add(mul(G(y.r), G(t.r)), mul(G(y.i), G(t.i))), sub(mul(G(y.i), G(t.r)), mul(G(y.r), G(t.i)))]
    : [sub(mul(G(y.r), G(t.r)), mul(G(y.i), G(t.i))), add(mul(G(y.r), G(t.i)), mul(G(y.i), G(t.r)))];
/** z = z * t in place, through `tmp` (a v128 local). */
const cmulInPlace = (z: Cpx, t: Cpx, tmp: number, conj = false): Code => {
  const [re, im] = cmul(z, t, conj);
  return [...put(tmp, re), ...put(z.i, im), ...put(z.r, G(tmp))];
};

/**
 * In-place 4-point DFT of complex vectors x0..x3 (lane-wise), through b0, b1. Forward: y_k =
 * sum_s x_s (-i)^(s k); inverse: (+i)^(s k), unscaled.
 */
function dft4InPlace(x: Cpx[], b0: Cpx, b1: Cpx, inverse: boolean): Code {
  const [x0, x1, x2, x3] = x;
  // b0 = x0 + x2, b1 = x0 - x2, x0 <- x1 + x3, x2 <- d = x1 - x3; then (-i) d = (d.i, -d.r).
  const plusR = (s: number) => (s > 0 ? add : sub);
  const fwd = inverse ? -1 : 1;
  return [
    ...put(b0.r, add(G(x0.r), G(x2.r))), ...put(b0.i, add(G(x0.i), G(x2.i))),
    ...put(b1.r, sub(G(x0.r), G(x2.r))), ...put(b1.i, sub(G(x0.i), G(x2.i))),
    ...put(x0.r, add(G(x1.r), G(x3.r))), ...put(x0.i, add(G(x1.i), G(x3.i))),
    ...put(x2.r, sub(G(x1.r), G(x3.r))), ...put(x2.i, sub(G(x1.i), G(x3.i))),
    // forward: y1 = (b1.r + d.i, b1.i - d.r), y3 = (b1.r - d.i, b1.i + d.r); inverse: swapped.
    ...put(x1.r, plusR(fwd)(G(b1.r), G(x2.i))), ...put(x1.i, plusR(-fwd)(G(b1.i), G(x2.r))),
    ...put(x3.r, plusR(-fwd)(G(b1.r), G(x2.i))), ...put(x3.i, plusR(fwd)(G(b1.i), G(x2.r))),
    ...put(x2.r, sub(G(b0.r), G(x0.r))), ...put(x2.i, sub(G(b0.i), G(x0.i))),
    ...put(x0.r, add(G(b0.r), G(x0.r))), ...put(x0.i, add(G(b0.i), G(x0.i))),
  ];
}

/** 4 x 4 transpose of f32x4 locals src -> dst (dst may be src), through tmp. */
function transpose(src: number[], dst: number[], tmp: number[]): Code {
  const shuf = (a: number, b: number, lanes: number[]) => [...G(a), ...G(b), ...w.f32x4Shuffle(lanes)];
  return [
    ...put(tmp[0], shuf(src[0], src[1], [0, 4, 1, 5])), ...put(tmp[1], shuf(src[0], src[1], [2, 6, 3, 7])),
    ...put(tmp[2], shuf(src[2], src[3], [0, 4, 1, 5])), ...put(tmp[3], shuf(src[2], src[3], [2, 6, 3, 7])),
    ...put(dst[0], shuf(tmp[0], tmp[2], [0, 1, 4, 5])), ...put(dst[1], shuf(tmp[0], tmp[2], [2, 3, 6, 7])),
    ...put(dst[2], shuf(tmp[1], tmp[3], [0, 1, 4, 5])), ...put(dst[3], shuf(tmp[1], tmp[3], [2, 3, 6, 7])),
  ];
}

// Work buffer layout: complex vector v at byte 32 v, its 4 real parts at +0, imaginary at +16.

/**
 * radix4(work, end, quarter, tw, stride): one radix-4 stage of span L = 4 quarter / 32 vectors
 * over [work, end). Forward (decimation in frequency): butterfly, then output q of butterfly j
 * times w_L^(q j). Inverse (decimation in time): input q times conj(w_L^(q j)), then the
 * +i butterfly. w_L^t is read (splat) from tw + t * stride, a table of (re, im) f32 pairs.
 */
function radix4Stage(inverse: boolean): WasmFunction {
  const [WORK, END, Q, TW, S] = [0, 1, 2, 3, 4];
  const L = new Locals(5);
  const [g, p, pe, q4, stride2, stride3] = L.i32(6);
  const ptr = [p, ...L.i32(3)];
  const tw = [0, ...L.i32(3)];
  const a = L.cpx(4);
  const [b0, b1, y, t] = L.cpx(4);
  const inner: Code = [
    ...put(ptr[1], iadd(G(p), G(Q))), ...put(ptr[2], iadd(G(ptr[1]), G(Q))), ...put(ptr[3], iadd(G(ptr[2]), G(Q))),
  ];
  // Operands are loaded as they are needed, so few vectors are live at once (x64 has 16).
  const sumDiff = (sum: Cpx, diff: Cpx, u: Cpx, v: Cpx): Code => [
    ...put(sum.r, add(G(u.r), G(v.r))), ...put(sum.i, add(G(u.i), G(v.i))),
    ...put(diff.r, sub(G(u.r), G(v.r))), ...put(diff.i, sub(G(u.i), G(v.i))),
  ];
  const [x0, x1] = [a[0], a[1]];
  const [s2, d2] = [a[2], a[3]];
  if (!inverse) {
    // b0 = x0 + x2, b1 = x0 - x2; s2 = x1 + x3, d2 = x1 - x3; outputs b0 + s2, b1 - i d2,
    // b0 - s2, b1 + i d2, the last three times their twiddles.
    inner.push(
      ...loadCpx(x0, p, 0), ...loadCpx(x1, ptr[2], 0), ...sumDiff(b0, b1, x0, x1),
      ...loadCpx(x0, ptr[1], 0), ...loadCpx(x1, ptr[3], 0), ...sumDiff(s2, d2, x0, x1),
      ...storeCpx(p, 0, add(G(b0.r), G(s2.r)), add(G(b0.i), G(s2.i))),
    );
    const twiddleStore = (k: number, re: Code, im: Code): Code => [
      ...put(y.r, re), ...put(y.i, im), ...put(t.r, splat(tw[k], 0)), ...put(t.i, splat(tw[k], 4)),
      ...storeCpx(ptr[k], 0, ...cmul(y, t)),
    ];
    inner.push(
      ...twiddleStore(2, sub(G(b0.r), G(s2.r)), sub(G(b0.i), G(s2.i))),
      ...twiddleStore(1, add(G(b1.r), G(d2.i)), sub(G(b1.i), G(d2.r))),
      ...twiddleStore(3, sub(G(b1.r), G(d2.i)), add(G(b1.i), G(d2.r))),
    );
  } else {
    // x_k = input k times conj(w^(k j)); s2 = x1 + x3, d2 = x1 - x3, b0 = x0 + x2, b1 = x0 - x2;
    // outputs b0 + s2, b1 + i d2, b0 - s2, b1 - i d2.
    const twiddled = (z: Cpx, k: number): Code => {
      const [re, im] = cmul(y, t, true);
      return [...loadCpx(y, ptr[k], 0), ...put(t.r, splat(tw[k], 0)), ...put(t.i, splat(tw[k], 4)), ...put(z.r, re), ...put(z.i, im)];
    };
    inner.push(
      ...twiddled(x0, 1), ...twiddled(x1, 3), ...sumDiff(s2, d2, x0, x1),
      ...loadCpx(x0, p, 0), ...twiddled(x1, 2), ...sumDiff(b0, b1, x0, x1),
      ...storeCpx(p, 0, add(G(b0.r), G(s2.r)), add(G(b0.i), G(s2.i))),
      ...storeCpx(ptr[2], 0, sub(G(b0.r), G(s2.r)), sub(G(b0.i), G(s2.i))),
      ...storeCpx(ptr[1], 0, sub(G(b1.r), G(d2.i)), add(G(b1.i), G(d2.r))),
      ...storeCpx(ptr[3], 0, add(G(b1.r), G(d2.i)), sub(G(b1.i), G(d2.r))),
    );
  }
  inner.push(...bump(tw[1], G(S)), ...bump(tw[2], G(stride2)), ...bump(tw[3], G(stride3)), ...bump(p, w.i32(32)));
  const body: Code = [
    ...put(q4, iadd(iadd(G(Q), G(Q)), iadd(G(Q), G(Q)))), ...put(stride2, iadd(G(S), G(S))), ...put(stride3, iadd(G(stride2), G(S))),
    ...put(g, G(WORK)),
    ...doWhile([
      ...put(p, G(g)), ...put(pe, iadd(G(g), G(Q))), ...put(tw[1], G(TW)), ...put(tw[2], G(TW)), ...put(tw[3], G(TW)),
      ...doWhile(inner, p, pe),
      ...bump(g, G(q4)),
    ], g, END),
  ];
  return { name: inverse ? "dit4" : "dif4", params: [I32, I32, I32, I32, I32], locals: L.runs, body };
}

/** The last forward (first inverse) radix-4 stage, span 4: no twiddles. (work, end). */
function radix4Plain(inverse: boolean): WasmFunction {
  const L = new Locals(2);
  const [p] = L.i32(1);
  const x = L.cpx(4);
  const [b0, b1] = L.cpx(2);
  const inner: Code = [];
  for (let k = 0; k < 4; k++) inner.push(...loadCpx(x[k], p, 32 * k));
  inner.push(...dft4InPlace(x, b0, b1, inverse));
  for (let k = 0; k < 4; k++) inner.push(...storeCpx(p, 32 * k, G(x[k].r), G(x[k].i)));
  inner.push(...bump(p, w.i32(128)));
  return { name: inverse ? "dit4n" : "dif4n", params: [I32, I32], locals: L.runs, body: [...put(p, G(0)), ...doWhile(inner, p, 1)] };
}

/** Radix-2 stage of span 2 (its own inverse up to a factor 2). (work, end). */
function radix2Plain(): WasmFunction {
  const L = new Locals(2);
  const [p] = L.i32(1);
  const [x0, x1] = L.cpx(2);
  const inner: Code = [
    ...loadCpx(x0, p, 0), ...loadCpx(x1, p, 32),
    ...storeCpx(p, 0, add(G(x0.r), G(x1.r)), add(G(x0.i), G(x1.i))),
    ...storeCpx(p, 32, sub(G(x0.r), G(x1.r)), sub(G(x0.i), G(x1.i))),
    ...bump(p, w.i32(64)),
  ];
  return { name: "r2", params: [I32, I32], locals: L.runs, body: [...put(p, G(0)), ...doWhile(inner, p, 1)] };
}

/**
 * The step across lanes, per group of 4 vectors (16 points): transpose, twiddles w_N^(c k1) for
 * lanes c = 1..3 (tw: 3 complex vectors = 96 bytes per group), forward 4-point DFT; then either
 *   middle(work, end, tw, h): times H (4 complex vectors = 128 bytes per group), inverse 4-point
 *     DFT, conjugate twiddles, transpose back, in place; or
 *   spectrum(work, end, tw, h, scale: f32): the spectrum times `scale`, stored at h in H's layout.
 */
function middlePass(withFilter: boolean): WasmFunction {
  const [WORK, END, TW, H, SCALE] = [0, 1, 2, 3, 4];
  const L = new Locals(withFilter ? 4 : 5);
  const [p, t, hp] = L.i32(3);
  const x = L.cpx(4);
  const [b0, b1, c] = L.cpx(3);
  const tmp = L.v128(4);
  const [scale] = withFilter ? [0] : L.v128(1);
  const re = x.map((z) => z.r);
  const im = x.map((z) => z.i);
  const inner: Code = [];
  for (let k = 0; k < 4; k++) inner.push(...loadCpx(x[k], p, 32 * k));
  inner.push(...transpose(re, re, tmp), ...transpose(im, im, tmp));
  for (let k = 1; k < 4; k++) inner.push(...loadCpx(c, t, 32 * (k - 1)), ...cmulInPlace(x[k], c, tmp[0]));
  inner.push(...dft4InPlace(x, b0, b1, false));
  if (withFilter) {
    for (let k = 0; k < 4; k++) inner.push(...loadCpx(c, hp, 32 * k), ...cmulInPlace(x[k], c, tmp[0]));
    inner.push(...dft4InPlace(x, b0, b1, true));
    for (let k = 1; k < 4; k++) inner.push(...loadCpx(c, t, 32 * (k - 1)), ...cmulInPlace(x[k], c, tmp[0], true));
    inner.push(...transpose(re, re, tmp), ...transpose(im, im, tmp));
    for (let k = 0; k < 4; k++) inner.push(...storeCpx(p, 32 * k, G(x[k].r), G(x[k].i)));
  } else {
    for (let k = 0; k < 4; k++) inner.push(...storeCpx(hp, 32 * k, mul(G(x[k].r), G(scale)), mul(G(x[k].i), G(scale))));
  }
  inner.push(...bump(p, w.i32(128)), ...bump(t, w.i32(96)), ...bump(hp, w.i32(128)));
  const body: Code = [
    ...(withFilter ? [] : put(scale, [...G(SCALE), ...w.f32x4Splat])),
    ...put(p, G(WORK)), ...put(t, G(TW)), ...put(hp, G(H)),
    ...doWhile(inner, p, END),
  ];
  return { name: withFilter ? "middle" : "spectrum", params: withFilter ? [I32, I32, I32, I32] : [I32, I32, I32, I32, F32], locals: L.runs, body };
}

/**
 * pack(work, a, b, aEnd): work vector v <- (a[4v..4v+3], b[4v..4v+3]) (a, b: f32 arrays);
 * unpack(work, a, b, aEnd): the reverse.
 */
function packPass(unpack: boolean): WasmFunction {
  const [WORK, A, B, A_END] = [0, 1, 2, 3];
  const L = new Locals(4);
  const [p, q, r] = L.i32(3);
  const inner: Code = unpack
    ? [...store(q, 0, load(p, 0)), ...store(r, 0, load(p, 16))]
    : [...store(p, 0, load(q, 0)), ...store(p, 16, load(r, 0))];
  inner.push(...bump(p, w.i32(32)), ...bump(q, w.i32(16)), ...bump(r, w.i32(16)));
  return {
    name: unpack ? "unpack" : "pack",
    params: [I32, I32, I32, I32],
    locals: L.runs,
    body: [...put(p, G(WORK)), ...put(q, G(A)), ...put(r, G(B)), ...doWhile(inner, q, A_END)],
  };
}

interface Kernels {
  memory: WebAssembly.Memory;
  dif4: (work: number, end: number, quarter: number, tw: number, stride: number) => void;
  dit4: (work: number, end: number, quarter: number, tw: number, stride: number) => void;
  dif4n: (work: number, end: number) => void;
  dit4n: (work: number, end: number) => void;
  r2: (work: number, end: number) => void;
  middle: (work: number, end: number, tw: number, h: number) => void;
  spectrum: (work: number, end: number, tw: number, h: number, scale: number) => void;
  pack: (work: number, a: number, b: number, aEnd: number) => void;
  unpack: (work: number, a: number, b: number, aEnd: number) => void;
}

let kernels: Kernels | null | undefined;

function getKernels(): Kernels | null {
  if (kernels !== undefined) return kernels;
  const bytes = assembleModule([
    radix4Stage(false), radix4Stage(true), radix4Plain(false), radix4Plain(true), radix2Plain(),
    middlePass(true), middlePass(false), packPass(false), packPass(true),
  ]);
  const instance = instantiate(bytes);
  kernels = instance ? (instance.exports as unknown as Kernels) : null;
  return kernels;
}

// ---------------------------------------------------------------------------------------------
// Plans: per transform size, tables and buffers at fixed places in the kernel's memory.

type Stage = { radix: 4; quarter: number; stride: number } | { radix: 4; plain: true } | { radix: 2 };

interface WasmPlan {
  size: number;
  /** Work buffer [work, end): M = size / 4 complex vectors of 32 bytes. */
  work: number;
  end: number;
  /** Staging arrays for the two real blocks, `size` f32 each. */
  a: number;
  b: number;
  /** Middle-pass twiddles, per-lane stage twiddles, filter spectrum. */
  tw: number;
  stageTw: number;
  h: number;
  /** Forward stages in order; the inverse runs them backwards. */
  stages: Stage[];
  /** The cached spectrum now copied to h. */
  loaded: CachedSpectrum | null;
}

const wasmPlans = new Map<number, WasmPlan>();
let heapTop = 0;

function allocate(k: Kernels, bytes: number): number {
  const at = heapTop;
  heapTop += (bytes + 63) & ~63;
  const have = k.memory.buffer.byteLength;
  if (heapTop > have) k.memory.grow(Math.ceil((heapTop - have) / 65536));
  return at;
}

/**
 * The largest transform the kernel gets: a filter of 2^20 taps or more goes to fft.js. A plan
 * takes 32 bytes per point of the kernel's memory (1 MiB at 2^15), kept for the process's life
 * (WebAssembly memory never shrinks), so this also bounds that memory (all sizes: 64 MiB).
 */
const WASM_MAX_SIZE = 1 << 20;

function wasmPlanFor(k: Kernels, size: number): WasmPlan {
  let plan = wasmPlans.get(size);
  if (plan) return plan;
  const vectors = size / 4;
  const stages: Stage[] = [];
  let span = vectors;
  for (; span >= 4; span /= 4) {
    stages.push(span === 4 ? { radix: 4, plain: true } : { radix: 4, quarter: (span / 4) * 32, stride: 8 * (vectors / span) });
  }
  if (span === 2) stages.push({ radix: 2 });
  const work = allocate(k, 8 * size);
  const a = allocate(k, 4 * size);
  const b = allocate(k, 4 * size);
  const tw = allocate(k, 6 * size);
  const stageTw = allocate(k, 2 * size);
  const h = allocate(k, 8 * size);
  plan = { size, work, end: work + 8 * size, a, b, tw, stageTw, h, stages, loaded: null };
  // w_N^j = cos(2 pi j / N) - i sin(2 pi j / N) for j < N, from a quarter wave by symmetry.
  const quarter = size / 4;
  const cos = new Float64Array(size);
  const sin = new Float64Array(size);
  for (let j = 0; j < quarter; j++) {
    const c = Math.cos((2 * Math.PI * j) / size);
    const s = Math.sin((2 * Math.PI * j) / size);
    cos[j] = c;
    sin[j] = s;
    cos[j + quarter] = -s;
    sin[j + quarter] = c;
    cos[j + 2 * quarter] = -c;
    sin[j + 2 * quarter] = -s;
    cos[j + 3 * quarter] = s;
    sin[j + 3 * quarter] = -c;
  }
  const mem = new Float32Array(k.memory.buffer);
  // Per-lane stage twiddles w_M^t = w_N^(4 t), t < M, as (re, im) pairs.
  for (let t = 0, at = stageTw / 4; t < vectors; t++, at += 2) {
    mem[at] = cos[4 * t];
    mem[at + 1] = -sin[4 * t];
  }
  // Which k1 each position holds after the forward stages: the digit reversal of the position in
  // the stages' mixed radix (a stage of radix r puts digit q of k1, weighted by the radices
  // before it, at offset q * span / r), built from the last stage back.
  let reversal = new Int32Array(1);
  for (let i = stages.length - 1; i >= 0; i--) {
    const r = stages[i].radix;
    const next = new Int32Array(reversal.length * r);
    for (let q = 0; q < r; q++) {
      for (let rest = 0; rest < reversal.length; rest++) next[q * reversal.length + rest] = q + r * reversal[rest];
    }
    reversal = next;
  }
  // Middle twiddles: group g, lane c = 1..3, position 4 g + l (after the transpose, lane l) holds
  // G_c[k1]; its twiddle is w_N^(c k1).
  for (let pos = 0; pos < vectors; pos++) {
    const k1 = reversal[pos];
    const base = tw / 4 + 24 * (pos >> 2) + (pos & 3);
    for (let c = 1, j = k1; c < 4; c++, j = (j + k1) % size) {
      mem[base + 8 * (c - 1)] = cos[j];
      mem[base + 8 * (c - 1) + 4] = -sin[j];
    }
  }
  wasmPlans.set(size, plan);
  return plan;
}

function forwardStages(k: Kernels, plan: WasmPlan): void {
  for (const s of plan.stages) {
    if (s.radix === 2) k.r2(plan.work, plan.end);
    else if ("plain" in s) k.dif4n(plan.work, plan.end);
    else k.dif4(plan.work, plan.end, s.quarter, plan.stageTw, s.stride);
  }
}

function inverseStages(k: Kernels, plan: WasmPlan): void {
  for (let i = plan.stages.length - 1; i >= 0; i--) {
    const s = plan.stages[i];
    if (s.radix === 2) k.r2(plan.work, plan.end);
    else if ("plain" in s) k.dit4n(plan.work, plan.end);
    else k.dit4(plan.work, plan.end, s.quarter, plan.stageTw, s.stride);
  }
}

// ---------------------------------------------------------------------------------------------
// Filter spectra, cached.

interface CachedSpectrum {
  filter: Float32Array;
  /** A copy of the filter when its spectrum was taken: the cache is only trusted on equal contents. */
  copy: Float32Array;
  size: number;
  kind: "wasm" | "js";
  spectrum: Float32Array | Float64Array;
}

// Recent filter spectra, so convolving many clips with one RIR takes its FFT once. Keyed by
// identity and confirmed by comparing contents (O(m), small next to the O(N log N) it saves), so
// a filter array that is modified in place is never served a stale spectrum. Bounded in count and
// bytes (a spectrum takes 8 bytes per point: 256 KiB for a 0.5 s RIR at 16 kHz on 10 s clips);
// one RIR may have a few entries, as clip lengths pick different sizes.
const SPECTRUM_CACHE_ENTRIES = 32;
const SPECTRUM_CACHE_BYTES = 24 << 20;
const spectrumCache: CachedSpectrum[] = [];

function cachedSpectrum(filter: Float32Array, size: number, kind: "wasm" | "js"): CachedSpectrum | null {
  for (let i = 0; i < spectrumCache.length; i++) {
    const entry = spectrumCache[i];
    if (entry.filter !== filter || entry.size !== size || entry.kind !== kind) continue;
    spectrumCache.splice(i, 1);
    // Bit patterns, not values: -0 and 0 (or two NaNs) may give different bytes downstream.
    let same = entry.copy.length === filter.length;
    const was = new Uint32Array(entry.copy.buffer, entry.copy.byteOffset, entry.copy.length);
    const now = new Uint32Array(filter.buffer, filter.byteOffset, filter.length);
    for (let k = 0; same && k < now.length; k++) same = was[k] === now[k];
    if (!same) return null;
    spectrumCache.unshift(entry);
    return entry;
  }
  return null;
}

function remember(entry: CachedSpectrum): void {
  spectrumCache.unshift(entry);
  let bytes = 0;
  for (let i = 0; i < spectrumCache.length; i++) {
    bytes += spectrumCache[i].spectrum.byteLength;
    if (i > 0 && (i >= SPECTRUM_CACHE_ENTRIES || bytes > SPECTRUM_CACHE_BYTES)) {
      for (const old of spectrumCache.splice(i)) recycle(old);
      break;
    }
  }
}

// Arrays of evicted entries, for the next ones: with a new RIR per item (inline rooms) every call
// makes an entry, and fresh arrays for them (a spectrum is 8 bytes per point) cost page faults and
// garbage collections. Spectra by length; filter copies as views of reused buffers.
const spareSpectra = new Map<number, Float32Array[]>();
const spareCopies: Float32Array[] = [];

function recycle(entry: CachedSpectrum): void {
  if (entry.kind !== "wasm") return;
  const spectrum = entry.spectrum as Float32Array;
  let list = spareSpectra.get(spectrum.length);
  if (!list) spareSpectra.set(spectrum.length, (list = []));
  if (list.length < 4) list.push(spectrum);
  if (spareCopies.length < 4) spareCopies.push(new Float32Array(entry.copy.buffer));
}

function spareSpectrum(length: number): Float32Array {
  return spareSpectra.get(length)?.pop() ?? new Float32Array(length);
}

function copyOf(filter: Float32Array): Float32Array {
  const at = spareCopies.findIndex((c) => c.length >= filter.length);
  const buffer = at >= 0 ? spareCopies.splice(at, 1)[0] : new Float32Array(filter.length);
  const copy = buffer.subarray(0, filter.length);
  copy.set(filter);
  return copy;
}

/** Puts the spectrum of `filter` (zero-padded to plan.size, scaled by 1/size) at plan.h. */
function loadSpectrum(k: Kernels, plan: WasmPlan, filter: Float32Array): void {
  const { size } = plan;
  const hit = cachedSpectrum(filter, size, "wasm");
  if (hit) {
    if (plan.loaded !== hit) {
      new Float32Array(k.memory.buffer, plan.h, 2 * size).set(hit.spectrum);
      plan.loaded = hit;
    }
    return;
  }
  const mem = new Float32Array(k.memory.buffer);
  mem.fill(0, plan.a / 4, plan.a / 4 + size);
  mem.set(filter, plan.a / 4);
  mem.fill(0, plan.b / 4, plan.b / 4 + size);
  k.pack(plan.work, plan.a, plan.b, plan.a + 4 * size);
  forwardStages(k, plan);
  k.spectrum(plan.work, plan.end, plan.tw, plan.h, 1 / size);
  const spectrum = spareSpectrum(2 * size);
  spectrum.set(new Float32Array(k.memory.buffer, plan.h, 2 * size));
  const entry: CachedSpectrum = { filter, copy: copyOf(filter), size, kind: "wasm", spectrum };
  remember(entry);
  plan.loaded = entry;
}

// ---------------------------------------------------------------------------------------------
// Block size.

// Time of one pair of blocks (filling, pack, forward, middle, inverse, unpack, copy-out) on the
// kernel, in microseconds, by log2 N: medians on Node 20, x86-64 (AMD EPYC, 2 vCPUs), about
// 0.45-0.6 ns per N log2 N. Only the ranking matters, so other machines fare similarly.
const PAIR_US: Record<number, number> = {
  6: 0.56, 7: 0.89, 8: 1.4, 9: 2.8, 10: 5.2, 11: 11, 12: 22, 13: 50, 14: 100, 15: 234, 16: 503, 17: 1180,
  18: 2410, 19: 5800, 20: 13300,
};

/**
 * The overlap-save transform size for `length` outputs of a `taps`-tap filter: the power of two
 * minimising the estimated time, from the smallest that fits the filter to the one that takes all
 * outputs in one block. Depends on the two lengths only (so results never depend on the cache).
 */
function chooseBlockSize(length: number, taps: number): number {
  let best = 0;
  let bestCost = Infinity;
  const smallest = Math.max(64, 1 << Math.ceil(Math.log2(taps + 1)));
  const largest = Math.min(WASM_MAX_SIZE, Math.max(smallest, 1 << Math.ceil(Math.log2(length + taps - 1))));
  for (let size = smallest; size <= largest; size *= 2) {
    const hop = size - taps + 1;
    const pairs = Math.ceil(Math.ceil(length / hop) / 2);
    const cost = pairs * PAIR_US[Math.round(Math.log2(size))];
    if (cost < bestCost) {
      bestCost = cost;
      best = size;
    }
  }
  return best;
}

/** Fills mem[base, base + size) with signal[from, from + size), zero outside the signal. */
function fillWindow(mem: Float32Array, base: number, signal: Float32Array, from: number, size: number): void {
  const lo = Math.max(0, from);
  const hi = Math.min(signal.length, from + size);
  if (hi <= lo) {
    mem.fill(0, base, base + size);
    return;
  }
  if (lo > from) mem.fill(0, base, base + lo - from);
  mem.set(signal.subarray(lo, hi), base + lo - from);
  if (hi < from + size) mem.fill(0, base + hi - from, base + size);
}

/** Samples [start, start + length) of signal * filter into `out`, by overlap-save on the kernel. */
function overlapSave(k: Kernels, signal: Float32Array, filter: Float32Array, start: number, length: number, size: number, out: Float32Array): void {
  const taps = filter.length;
  const hop = size - taps + 1;
  const plan = wasmPlanFor(k, size);
  loadSpectrum(k, plan, filter);
  const mem = new Float32Array(k.memory.buffer);
  const a = plan.a / 4;
  const b = plan.b / 4;
  const blocks = Math.ceil(length / hop);
  // Block j covers outputs [start + j hop, start + (j + 1) hop) from inputs
  // [start + j hop - taps + 1, start + j hop - taps + 1 + size); blocks j, j + 1 make a pair.
  for (let j = 0; j < blocks; j += 2) {
    const firstOut = j * hop;
    fillWindow(mem, a, signal, start + firstOut - taps + 1, size);
    if (j + 1 < blocks) fillWindow(mem, b, signal, start + firstOut + hop - taps + 1, size);
    else mem.fill(0, b, b + size);
    k.pack(plan.work, plan.a, plan.b, plan.a + 4 * size);
    forwardStages(k, plan);
    k.middle(plan.work, plan.end, plan.tw, plan.h);
    inverseStages(k, plan);
    k.unpack(plan.work, plan.a, plan.b, plan.a + 4 * size);
    out.set(mem.subarray(a + taps - 1, a + taps - 1 + Math.min(hop, length - firstOut)), firstOut);
    if (j + 1 < blocks) out.set(mem.subarray(b + taps - 1, b + taps - 1 + Math.min(hop, length - firstOut - hop)), firstOut + hop);
  }
}

// ---------------------------------------------------------------------------------------------
// Fallback: overlap-add on fft.js's radix-4 complex FFT, Float64 (for runtimes without
// WebAssembly SIMD, and as a second implementation for the tests).

interface FftPlan {
  size: number;
  fft: FFT;
  /** Complex work buffers (interleaved re, im), 2 * size each. */
  time: Float64Array;
  freq: Float64Array;
}

const jsPlans = new Map<number, FftPlan>();

function jsPlanFor(size: number): FftPlan {
  let plan = jsPlans.get(size);
  if (!plan) {
    plan = { size, fft: new FFT(size), time: new Float64Array(2 * size), freq: new Float64Array(2 * size) };
    jsPlans.set(size, plan);
  }
  return plan;
}

function jsFilterSpectrum(filter: Float32Array, plan: FftPlan): Float64Array {
  const size = plan.size;
  const hit = cachedSpectrum(filter, size, "js");
  if (hit) return hit.spectrum as Float64Array;
  const real = new Float64Array(size);
  for (let k = 0; k < filter.length; k++) real[k] = filter[k] / size;
  const spectrum = new Float64Array(2 * size);
  plan.fft.realTransform(spectrum, real);
  plan.fft.completeSpectrum(spectrum);
  remember({ filter, copy: filter.slice(), size, kind: "js", spectrum });
  return spectrum;
}

// Cost of one fft.js complex transform in ns per N log2 N, by log2 N, and of the per-pair passes
// (filling, spectrum product, add-back) in ns per point: rounded from timings on Node 20, x86-64.
const JS_FFT_COST_NS: Record<number, number> = {
  6: 2.1, 7: 2.1, 8: 2.0, 9: 2.1, 10: 1.2, 11: 1.33, 12: 1.2, 13: 1.3, 14: 1.3, 15: 1.35, 16: 1.35,
  17: 1.8, 18: 2.0, 19: 2.2, 20: 2.4,
};
const JS_PAIR_OVERHEAD_NS = 12;

/** The overlap-add size for fft.js: as chooseBlockSize, with fft.js's costs and input blocks. */
function chooseJsBlockSize(signalLength: number, taps: number): number {
  let best = 0;
  let bestCost = Infinity;
  const smallest = Math.max(64, 1 << Math.ceil(Math.log2(taps + 1)));
  const largest = Math.max(smallest, 1 << Math.ceil(Math.log2(Math.ceil(signalLength / 2) + taps - 1)));
  for (let size = smallest; size <= largest; size *= 2) {
    const log2 = Math.round(Math.log2(size));
    const transform = size * log2 * (JS_FFT_COST_NS[log2] ?? 2.5);
    const hop = size - taps + 1;
    const pairs = Math.ceil(Math.ceil(signalLength / hop) / 2);
    const cost = pairs * (2 * transform + JS_PAIR_OVERHEAD_NS * size) + transform;
    if (cost < bestCost) {
      bestCost = cost;
      best = size;
    }
  }
  return best;
}

/** Samples [start, start + length) of signal * filter into `out` by overlap-add on fft.js. */
function overlapAddJs(signal: Float32Array, filter: Float32Array, start: number, length: number, out: Float32Array): void {
  const taps = filter.length;
  const end = start + length;
  // Input past the last kept output contributes nothing to it.
  const usedLength = Math.min(signal.length, end);
  const size = chooseJsBlockSize(usedLength, taps);
  const hop = size - taps + 1;
  const plan = jsPlanFor(size);
  const spectrum = jsFilterSpectrum(filter, plan);
  const { fft, time, freq } = plan;
  // Block b holds input [b hop, (b+1) hop) and adds to output [b hop, b hop + size); skip blocks
  // whose outputs all fall before `start`.
  const firstBlock = Math.max(0, Math.floor((start - size + 1) / hop));
  const lastBlock = Math.ceil(usedLength / hop) - 1;
  for (let block = firstBlock; block <= lastBlock; block += 2) {
    const startA = block * hop;
    const startB = startA + hop;
    const lengthA = Math.min(hop, usedLength - startA);
    const lengthB = block + 1 <= lastBlock ? Math.min(hop, usedLength - startB) : 0;
    time.fill(0);
    for (let i = 0, t = 0; i < lengthA; i++, t += 2) time[t] = signal[startA + i];
    for (let i = 0, t = 1; i < lengthB; i++, t += 2) time[t] = signal[startB + i];
    fft.transform(freq, time);
    // freq = conj(freq * H / N), in place; then time = conj(ifft(Z H)) = (a * h) - i (b * h).
    for (let k = 0; k < 2 * size; k += 2) {
      const re = freq[k];
      const im = freq[k + 1];
      const hRe = spectrum[k];
      const hIm = spectrum[k + 1];
      freq[k] = re * hRe - im * hIm;
      freq[k + 1] = -(re * hIm + im * hRe);
    }
    fft.transform(time, freq);
    addBlock(out, time, 0, 1, startA, size, start, end);
    if (lengthB > 0) addBlock(out, time, 1, -1, startB, size, start, end);
  }
}

function addBlock(out: Float32Array, time: Float64Array, part: number, sign: number, blockStart: number, size: number, start: number, end: number): void {
  const from = Math.max(blockStart, start);
  const to = Math.min(blockStart + size, end);
  let k = 2 * (from - blockStart) + part;
  if (sign > 0) for (let t = from; t < to; t++, k += 2) out[t - start] += time[k];
  else for (let t = from; t < to; t++, k += 2) out[t - start] -= time[k];
}

// ---------------------------------------------------------------------------------------------

/** Samples [start, start + length) of signal * filter by the direct sum, Float64 accumulation. */
function directRange(signal: Float32Array, filter: Float32Array, start: number, length: number, out: Float32Array): void {
  const n = signal.length;
  const m = filter.length;
  const last = Math.min(start + length, n + m - 1);
  for (let t = start; t < last; t++) {
    const kFrom = Math.max(0, t - n + 1);
    const kTo = Math.min(m - 1, t);
    let acc = 0;
    for (let k = kFrom; k <= kTo; k++) acc += filter[k] * signal[t - k];
    out[t - start] = acc;
  }
}

let useWasm = true;

/**
 * Chooses the FFT kernel: WebAssembly SIMD, Float32 (default, where the runtime supports it) or
 * fft.js, Float64 (the fallback). For tests and benchmarks; both match the direct sum to ~1e-7.
 */
export function setFftConvolveKernel(kernel: "wasm" | "js"): void {
  useWasm = kernel === "wasm";
}

/** Which kernel the FFT path uses now. */
export function fftConvolveKernel(): "wasm" | "js" {
  return useWasm && getKernels() !== null ? "wasm" : "js";
}

function convolveRange(x: Float32Array, h: Float32Array, start: number, length: number, given?: Float32Array): Float32Array {
  const out = given ?? new Float32Array(length);
  if (x.length === 0 || h.length === 0 || length === 0) return out.fill(0);
  // Convolution commutes; the shorter operand plays the filter (sets the block size).
  const [signal, filter] = h.length > x.length ? [h, x] : [x, h];
  // Outputs past the end of the full convolution are zero.
  const needed = Math.min(length, signal.length + filter.length - 1 - start);
  if (needed <= 0) return out.fill(0);
  // A given array holds old samples: zero what the kernels below do not write.
  if (given) given.fill(0, needed);
  if (filter.length <= DIRECT_MAX_TAPS || signal.length * filter.length <= DIRECT_MAX_PRODUCTS) {
    directRange(signal, filter, start, needed, out);
    return out;
  }
  const k = useWasm ? getKernels() : null;
  if (k && filter.length < WASM_MAX_SIZE) {
    overlapSave(k, signal, filter, start, needed, chooseBlockSize(needed, filter.length), out);
  } else {
    if (given) given.fill(0, 0, needed); // overlap-add adds into its output
    overlapAddJs(signal, filter, start, needed, out);
  }
  return out;
}

/** Full linear convolution x * h, length n + m - 1 (empty if either is empty). */
export function fftConvolve(x: Float32Array, h: Float32Array): Float32Array {
  if (x.length === 0 || h.length === 0) return new Float32Array(0);
  return convolveRange(x, h, 0, x.length + h.length - 1);
}

/**
 * Samples [delaySamples, delaySamples + n) of x * h: n = x.length samples, so filtering by a room
 * impulse response whose direct path is at index `delaySamples` leaves the speech where it was and
 * its labels valid. The reverberant tail past the end of x is not computed. `out` (x.length
 * samples, any contents) receives the result when given.
 */
export function convolveAligned(x: Float32Array, h: Float32Array, delaySamples: number, out?: Float32Array): Float32Array {
  if (!Number.isSafeInteger(delaySamples) || delaySamples < 0) {
    throw new RangeError(`delaySamples must be a non-negative integer, got ${delaySamples}`);
  }
  if (out && out.length !== x.length) throw new RangeError(`out has ${out.length} samples, not ${x.length}`);
  return convolveRange(x, h, delaySamples, x.length, out);
}

/** Full linear convolution by the O(n m) sum with Float64 accumulation: the reference for tests. */
export function directConvolve(x: Float32Array, h: Float32Array): Float32Array {
  if (x.length === 0 || h.length === 0) return new Float32Array(0);
  const out = new Float32Array(x.length + h.length - 1);
  directRange(x, h, 0, out.length, out);
  return out;
}
