// Elementwise kernels of the engine's hot path in WebAssembly SIMD, with the plain-JS loops they
// replace as the fallback and the reference. V8 runs such loops one sample at a time with a bounds
// check and a float32/float64 conversion per access (about 5-9 ns per sample for the int16
// conversion on a shared 2-vCPU EPYC, against 0.2 ns for a copy); here they take 4 or 8 samples a
// step, and the copies in and out of the kernel's memory cost little beside that.
//
// Every kernel gives the same bits as its JS twin (test/dsp-simd.test.ts checks this): float64
// arithmetic where the JS does float64 arithmetic (float32 inputs promoted, results demoted with
// IEEE round-to-nearest, as a Float32Array store does), and every sum accumulated in the JS order:
// the even/odd pair of accumulators of measure.energy is one f64x2 register, and the mix's single
// sums add one sample at a time. Peaks use pmax(peak, v), which is JS's `if (v > peak) peak = v`
// (a NaN sample leaves the peak alone).
//
// Opcodes: WebAssembly core 2.0 and the fixed-width SIMD proposal (binary opcode table); nothing
// relaxed, so the results are the same bytes on every conforming engine.
import { F64, I32, V128, assembleModule, instantiate, sleb, uleb, type WasmFunction } from "./wasm.js";

type Code = number[];

const simd = (op: number, ...imm: number[]): Code => [0xfd, ...uleb(op), ...imm];
export const op = {
  get: (i: number): Code => [0x20, ...uleb(i)],
  set: (i: number): Code => [0x21, ...uleb(i)],
  tee: (i: number): Code => [0x22, ...uleb(i)],
  i32: (v: number): Code => [0x41, ...sleb(v)],
  i32Add: [0x6a],
  i32Mul: [0x6c],
  i32LtU: [0x49],
  v128Zero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  f64Add: [0xa0],
  f64Load: (offset: number): Code => [0x2b, 3, ...uleb(offset)],
  f64Store: (offset: number): Code => [0x39, 3, ...uleb(offset)],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  brIf: (depth: number): Code => [0x0d, depth],
  load: (offset = 0): Code => simd(0x00, 0, ...uleb(offset)),
  store: (offset = 0): Code => simd(0x0b, 0, ...uleb(offset)),
  const: (bytes: number[]): Code => simd(0x0c, ...bytes),
  shuffle: (bytes: number[]): Code => simd(0x0d, ...bytes),
  f32x4Splat: simd(0x13),
  f64x2Splat: simd(0x14),
  f64x2Lane: (lane: number): Code => simd(0x21, lane),
  f32x4Eq: simd(0x41),
  demote: simd(0x5e),
  promote: simd(0x5f),
  f32x4Nearest: simd(0x6a),
  narrowI32: simd(0x85),
  extendLowI16: simd(0xa7),
  extendHighI16: simd(0xa8),
  i32x4Sub: simd(0xb1),
  f32x4Abs: simd(0xe0),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f32x4Pmax: simd(0xeb),
  f64x2Abs: simd(0xec),
  f64x2Add: simd(0xf0),
  f64x2Mul: simd(0xf2),
  f64x2Pmax: simd(0xf7),
  truncSat: simd(0xf8),
  convertI32: simd(0xfa),
};

const f32Bytes = (v: number): number[] => [...new Uint8Array(new Float32Array([v]).buffer)];
const splat4 = (v: number): Code => op.const([...f32Bytes(v), ...f32Bytes(v), ...f32Bytes(v), ...f32Bytes(v)]);
/** f32 lanes 2, 3 of a vector moved to lanes 0, 1 (for promote_low). */
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
/** Lanes 0, 1 of the first operand and 0, 1 of the second (two demoted pairs into one vector). */
const LOW_PAIRS = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

// Accumulators, carried between calls (and so between chunks) in memory at ACC.
const ACC = 0;
const E_AT = ACC; // f64x2: even, odd sums of squares
const P_AT = ACC + 16; // f32x4: peak |x| per lane
const PK_AT = ACC + 32; // f64x2: peak |x + g seg| per lane (mix)
const ES_AT = ACC + 48; // f64: sum of s² (mix)
const EN_AT = ACC + 56; // f64: sum of m² (mix)

/** Samples per kernel call: three regions of this many float32 fit in the kernel's memory. */
const CHUNK = 1 << 15;
const REGION_A = 64;
const REGION_B = REGION_A + 4 * CHUNK;
const REGION_C = REGION_B + 4 * CHUNK;
const PAGES = Math.ceil((REGION_C + 4 * CHUNK) / 65536);

/** `for (p = from; p < end; p += step) body`, with p and end i32 locals (the loop runs at least once: callers pass n > 0). */
function forEach(p: number, end: number, step: number, body: Code): Code {
  return [...op.loop, ...body, ...op.get(p), ...op.i32(step), ...op.i32Add, ...op.tee(p), ...op.get(end), ...op.i32LtU, ...op.brIf(0), ...op.end];
}

/** E += [a², b²] for the f64x2 on the stack. */
const addSquares = (e: number, tmp: number): Code => [...op.tee(tmp), ...op.get(tmp), ...op.f64x2Mul, ...op.get(e), ...op.f64x2Add, ...op.set(e)];

/** level16(src, dst, n): dst (int16) = floatToInt16(src); E, P updated. n a multiple of 8, > 0. */
function level16(): WasmFunction {
  const [SRC, DST, N] = [0, 1, 2];
  const [end, e, p, v, t, r] = [3, 4, 5, 6, 7, 8];
  // One f32x4 to int32x4: s = v·2^15 (exact), floor(s + 0.5) as nearest(s) + (s - nearest(s) == 0.5):
  // nearest rounds ties to even, and s - nearest(s) is exact (Sterbenz), so this is round half up
  // without the float32 rounding of s + 0.5. trunc_sat maps NaN to 0 (JS: NaN -> 0).
  const toInt32 = (vec: Code): Code => [
    ...vec, ...splat4(32768), ...op.f32x4Mul, ...op.tee(t), ...op.f32x4Nearest, ...op.tee(r), ...op.truncSat,
    ...op.get(t), ...op.get(r), ...op.f32x4Sub, ...splat4(0.5), ...op.f32x4Eq, ...op.i32x4Sub,
  ];
  const half = (offset: number): Code => [
    ...op.get(p), ...op.get(SRC), ...op.load(offset), ...op.tee(v), ...op.f32x4Abs, ...op.f32x4Pmax, ...op.set(p),
    ...op.get(v), ...op.promote, ...addSquares(e, r),
    ...op.get(v), ...op.get(v), ...op.shuffle(HIGH_HALF), ...op.promote, ...addSquares(e, r),
  ];
  const body: Code = [
    ...half(0), ...half(16),
    ...op.get(DST),
    ...toInt32([...op.get(SRC), ...op.load(0)]), ...toInt32([...op.get(SRC), ...op.load(16)]), ...op.narrowI32,
    ...op.store(0),
    ...op.get(DST), ...op.i32(16), ...op.i32Add, ...op.set(DST),
  ];
  return {
    name: "level16",
    params: [I32, I32, I32],
    locals: [[1, I32], [5, V128]],
    body: [
      ...op.get(SRC), ...op.get(N), ...op.i32(4), ...op.i32Mul, ...op.i32Add, ...op.set(end),
      ...op.i32(ACC), ...op.load(E_AT), ...op.set(e), ...op.i32(ACC), ...op.load(P_AT), ...op.set(p),
      ...forEach(SRC, end, 32, body),
      ...op.i32(ACC), ...op.get(e), ...op.store(E_AT), ...op.i32(ACC), ...op.get(p), ...op.store(P_AT),
    ],
  };
}

/** energy(src, n): E updated with src's squares. n a multiple of 4, > 0. */
function energyKernel(): WasmFunction {
  const [SRC, N] = [0, 1];
  const [end, e, v, t] = [2, 3, 4, 5];
  return {
    name: "energy",
    params: [I32, I32],
    locals: [[1, I32], [3, V128]],
    body: [
      ...op.get(SRC), ...op.get(N), ...op.i32(4), ...op.i32Mul, ...op.i32Add, ...op.set(end),
      ...op.i32(ACC), ...op.load(E_AT), ...op.set(e),
      ...forEach(SRC, end, 16, [
        ...op.get(SRC), ...op.load(0), ...op.tee(v), ...op.promote, ...addSquares(e, t),
        ...op.get(v), ...op.get(v), ...op.shuffle(HIGH_HALF), ...op.promote, ...addSquares(e, t),
      ]),
      ...op.i32(ACC), ...op.get(e), ...op.store(E_AT),
    ],
  };
}

/** scale(src, dst, n, g): dst = fround(src · g) (g a float64); P updated with |src|. n a multiple of 4, > 0. */
function scaleKernel(): WasmFunction {
  const [SRC, DST, N, G] = [0, 1, 2, 3];
  const [end, p, v, gv] = [4, 5, 6, 7];
  return {
    name: "scale",
    params: [I32, I32, I32, F64],
    locals: [[1, I32], [3, V128]],
    body: [
      ...op.get(SRC), ...op.get(N), ...op.i32(4), ...op.i32Mul, ...op.i32Add, ...op.set(end),
      ...op.get(G), ...op.f64x2Splat, ...op.set(gv),
      ...op.i32(ACC), ...op.load(P_AT), ...op.set(p),
      ...forEach(SRC, end, 16, [
        ...op.get(p), ...op.get(SRC), ...op.load(0), ...op.tee(v), ...op.f32x4Abs, ...op.f32x4Pmax, ...op.set(p),
        ...op.get(DST),
        ...op.get(v), ...op.promote, ...op.get(gv), ...op.f64x2Mul, ...op.demote,
        ...op.get(v), ...op.get(v), ...op.shuffle(HIGH_HALF), ...op.promote, ...op.get(gv), ...op.f64x2Mul, ...op.demote,
        ...op.shuffle(LOW_PAIRS), ...op.store(0),
        ...op.get(DST), ...op.i32(16), ...op.i32Add, ...op.set(DST),
      ]),
      ...op.i32(ACC), ...op.get(p), ...op.store(P_AT),
    ],
  };
}

/**
 * mix(x, seg, dst, n, g, scale): with n_i = seg_i·g, s_i = fround(x_i·scale), m_i = fround(n_i·scale):
 * dst_i = fround(s_i + m_i); PK updated with |x_i + n_i|; ES += s_i², EN += m_i², one sample at a
 * time. n a multiple of 4, > 0.
 */
function mixKernel(): WasmFunction {
  const [X, SEG, DST, N, G, SCALE] = [0, 1, 2, 3, 4, 5];
  const [end, es, en, vx, vs, gv, sv, pk, xd, nd, sd, md, lo] = [6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18];
  // Two samples (f32 lanes 0, 1 of `pick`) of each input: leaves fround(s + m) as f32x4 [o0, o1, 0, 0].
  const pair = (pick: (vec: number) => Code): Code => [
    ...pick(vx), ...op.promote, ...op.set(xd),
    ...pick(vs), ...op.promote, ...op.get(gv), ...op.f64x2Mul, ...op.set(nd),
    ...op.get(pk), ...op.get(xd), ...op.get(nd), ...op.f64x2Add, ...op.f64x2Abs, ...op.f64x2Pmax, ...op.set(pk),
    ...op.get(xd), ...op.get(sv), ...op.f64x2Mul, ...op.demote, ...op.promote, ...op.set(sd),
    ...op.get(nd), ...op.get(sv), ...op.f64x2Mul, ...op.demote, ...op.promote, ...op.set(md),
    // Sequential sums: es += s0², es += s1² (as the JS loop), same for en.
    ...op.get(sd), ...op.get(sd), ...op.f64x2Mul, ...op.tee(xd),
    ...op.f64x2Lane(0), ...op.get(es), ...op.f64Add, ...op.get(xd), ...op.f64x2Lane(1), ...op.f64Add, ...op.set(es),
    ...op.get(md), ...op.get(md), ...op.f64x2Mul, ...op.tee(xd),
    ...op.f64x2Lane(0), ...op.get(en), ...op.f64Add, ...op.get(xd), ...op.f64x2Lane(1), ...op.f64Add, ...op.set(en),
    ...op.get(sd), ...op.get(md), ...op.f64x2Add, ...op.demote,
  ];
  const low = (vec: number): Code => op.get(vec);
  const high = (vec: number): Code => [...op.get(vec), ...op.get(vec), ...op.shuffle(HIGH_HALF)];
  return {
    name: "mix",
    params: [I32, I32, I32, I32, F64, F64],
    locals: [[1, I32], [2, F64], [10, V128]],
    body: [
      ...op.get(X), ...op.get(N), ...op.i32(4), ...op.i32Mul, ...op.i32Add, ...op.set(end),
      ...op.get(G), ...op.f64x2Splat, ...op.set(gv), ...op.get(SCALE), ...op.f64x2Splat, ...op.set(sv),
      ...op.i32(ACC), ...op.load(PK_AT), ...op.set(pk),
      ...op.i32(ACC), ...op.f64Load(ES_AT), ...op.set(es), ...op.i32(ACC), ...op.f64Load(EN_AT), ...op.set(en),
      ...forEach(X, end, 16, [
        ...op.get(X), ...op.load(0), ...op.set(vx), ...op.get(SEG), ...op.load(0), ...op.set(vs),
        ...pair(low), ...op.set(lo),
        ...op.get(DST), ...op.get(lo), ...pair(high), ...op.shuffle(LOW_PAIRS), ...op.store(0),
        ...op.get(SEG), ...op.i32(16), ...op.i32Add, ...op.set(SEG),
        ...op.get(DST), ...op.i32(16), ...op.i32Add, ...op.set(DST),
      ]),
      ...op.i32(ACC), ...op.get(pk), ...op.store(PK_AT),
      ...op.i32(ACC), ...op.get(es), ...op.f64Store(ES_AT), ...op.i32(ACC), ...op.get(en), ...op.f64Store(EN_AT),
    ],
  };
}

/** pcm16(src, dst, n): dst = src (int16 LE) / 32768; P updated with |dst|. n a multiple of 8, > 0. */
function pcm16Kernel(): WasmFunction {
  const [SRC, DST, N] = [0, 1, 2];
  const [end, p, v, f] = [3, 4, 5, 6];
  const half = (extend: Code, offset: number): Code => [
    ...op.get(DST), ...op.get(v), ...extend, ...op.convertI32, ...splat4(1 / 32768), ...op.f32x4Mul, ...op.tee(f), ...op.store(offset),
    ...op.get(p), ...op.get(f), ...op.f32x4Abs, ...op.f32x4Pmax, ...op.set(p),
  ];
  return {
    name: "pcm16",
    params: [I32, I32, I32],
    locals: [[1, I32], [3, V128]],
    body: [
      ...op.get(SRC), ...op.get(N), ...op.i32(2), ...op.i32Mul, ...op.i32Add, ...op.set(end),
      ...op.i32(ACC), ...op.load(P_AT), ...op.set(p),
      ...forEach(SRC, end, 16, [
        ...op.get(SRC), ...op.load(0), ...op.set(v),
        ...half(op.extendLowI16, 0), ...half(op.extendHighI16, 16),
        ...op.get(DST), ...op.i32(32), ...op.i32Add, ...op.set(DST),
      ]),
      ...op.i32(ACC), ...op.get(p), ...op.store(P_AT),
    ],
  };
}

interface Kernels {
  memory: WebAssembly.Memory;
  level16(src: number, dst: number, n: number): void;
  energy(src: number, n: number): void;
  scale(src: number, dst: number, n: number, g: number): void;
  mix(x: number, seg: number, dst: number, n: number, g: number, scale: number): void;
  pcm16(src: number, dst: number, n: number): void;
  f32: Float32Array;
  f64: Float64Array;
  i16: Int16Array;
  u8: Uint8Array;
}

let kernels: Kernels | null | undefined;
let enabled = true;

function getKernels(): Kernels | null {
  if (!enabled) return null;
  if (kernels !== undefined) return kernels;
  const instance = instantiate(assembleModule([level16(), energyKernel(), scaleKernel(), mixKernel(), pcm16Kernel()], PAGES));
  if (!instance) return (kernels = null);
  const exports = instance.exports as unknown as Omit<Kernels, "f32" | "f64" | "i16" | "u8">;
  const buffer = exports.memory.buffer;
  kernels = { ...exports, f32: new Float32Array(buffer), f64: new Float64Array(buffer), i16: new Int16Array(buffer), u8: new Uint8Array(buffer) };
  return kernels;
}

/** Turns the kernels off (plain JS) or back on: for tests, which compare the two. */
export function setSimdKernels(on: boolean): void {
  enabled = on;
}

/** Whether the kernels run (false where the runtime lacks WebAssembly SIMD, or after setSimdKernels(false)). */
export function simdKernelsActive(): boolean {
  return getKernels() !== null;
}

/** Below this many samples the JS loops win (a call and two copies cost about a microsecond). */
const MIN_SAMPLES = 256;

function clearAcc(k: Kernels): void {
  k.f64.fill(0, ACC / 8, ACC / 8 + 8);
}

/** Largest of four pmax lanes, combined as the JS loop would (NaN lanes are never larger). */
function lanePeak(k: Kernels, at: number): number {
  let peak = 0;
  for (let l = 0; l < 4; l++) if (k.f32[at / 4 + l] > peak) peak = k.f32[at / 4 + l];
  return peak;
}

/**
 * The SIMD part of floatToInt16Level: converts x[0, m) into out and returns m (a multiple of 8),
 * leaving [e0, e1, peak] in `sums`; the caller finishes x[m, n) in JS. Null without the kernels.
 */
export function int16LevelSimd(x: Float32Array, out: Int16Array, sums: Float64Array): number | null {
  const k = x.length >= MIN_SAMPLES ? getKernels() : null;
  if (!k) return null;
  clearAcc(k);
  const m = x.length & ~7;
  for (let i = 0; i < m; i += CHUNK) {
    const c = Math.min(CHUNK, m - i);
    k.f32.set(x.subarray(i, i + c), REGION_A / 4);
    k.level16(REGION_A, REGION_C, c);
    out.set(k.i16.subarray(REGION_C / 2, REGION_C / 2 + c), i);
  }
  sums[0] = k.f64[E_AT / 8];
  sums[1] = k.f64[E_AT / 8 + 1];
  sums[2] = lanePeak(k, P_AT);
  return m;
}

/** measure.energy's two sums over x[from, from + m), m the largest multiple of 4 that fits; null without the kernels. */
export function energySimd(x: Float32Array, from: number, to: number, sums: Float64Array): number | null {
  const k = to - from >= MIN_SAMPLES ? getKernels() : null;
  if (!k) return null;
  clearAcc(k);
  const m = (to - from) & ~3;
  for (let i = 0; i < m; i += CHUNK) {
    const c = Math.min(CHUNK, m - i);
    k.f32.set(x.subarray(from + i, from + i + c), REGION_A / 4);
    k.energy(REGION_A, c);
  }
  sums[0] = k.f64[E_AT / 8];
  sums[1] = k.f64[E_AT / 8 + 1];
  return m;
}

/** out[0, m) = fround(x · g), m a multiple of 4; returns m and max |x[0, m)| in sums[0]; null without the kernels. */
export function scaleSimd(x: Float32Array, g: number, out: Float32Array, sums: Float64Array): number | null {
  const k = x.length >= MIN_SAMPLES ? getKernels() : null;
  if (!k) return null;
  clearAcc(k);
  const m = x.length & ~3;
  for (let i = 0; i < m; i += CHUNK) {
    const c = Math.min(CHUNK, m - i);
    k.f32.set(x.subarray(i, i + c), REGION_A / 4);
    k.scale(REGION_A, REGION_C, c, g);
    out.set(k.f32.subarray(REGION_C / 4, REGION_C / 4 + c), i);
  }
  sums[0] = lanePeak(k, P_AT);
  return m;
}

/**
 * The noise mix over [0, m), m a multiple of 4 (see mixKernel): returns m, with the peak of
 * |x + g·seg| in sums[0], Σs² in sums[1] and Σm² in sums[2]; null without the kernels.
 */
export function mixSimd(x: Float32Array, seg: Float32Array, g: number, scale: number, out: Float32Array, sums: Float64Array): number | null {
  const k = x.length >= MIN_SAMPLES ? getKernels() : null;
  if (!k) return null;
  clearAcc(k);
  const m = x.length & ~3;
  for (let i = 0; i < m; i += CHUNK) {
    const c = Math.min(CHUNK, m - i);
    k.f32.set(x.subarray(i, i + c), REGION_A / 4);
    k.f32.set(seg.subarray(i, i + c), REGION_B / 4);
    k.mix(REGION_A, REGION_B, REGION_C, c, g, scale);
    out.set(k.f32.subarray(REGION_C / 4, REGION_C / 4 + c), i);
  }
  const a = k.f64[PK_AT / 8];
  const b = k.f64[PK_AT / 8 + 1];
  sums[0] = b > a ? b : a;
  sums[1] = k.f64[ES_AT / 8];
  sums[2] = k.f64[EN_AT / 8];
  return m;
}

/**
 * 16-bit little-endian PCM bytes (count samples from `at`) to float32 in out[0, m), m a multiple
 * of 8; returns m with max |out[0, m)| in sums[0]; null without the kernels.
 */
export function pcm16Simd(bytes: Uint8Array, at: number, count: number, out: Float32Array, sums: Float64Array): number | null {
  const k = count >= MIN_SAMPLES ? getKernels() : null;
  if (!k) return null;
  clearAcc(k);
  const m = count & ~7;
  for (let i = 0; i < m; i += CHUNK) {
    const c = Math.min(CHUNK, m - i);
    k.u8.set(bytes.subarray(at + 2 * i, at + 2 * (i + c)), REGION_A);
    k.pcm16(REGION_A, REGION_C, c);
    out.set(k.f32.subarray(REGION_C / 4, REGION_C / 4 + c), i);
  }
  sums[0] = lanePeak(k, P_AT);
  return m;
}
