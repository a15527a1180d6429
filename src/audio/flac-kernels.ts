// WebAssembly SIMD twins of the FLAC encoder's two heaviest loops (flac.ts): the windowed
// autocorrelation and the LPC residual with its partition sums. Each gives the same bits as the JS
// loop it replaces, so the encoded bytes do not change (test/flac.test.ts compares them):
//  - autocorrelation: the JS loop takes two samples a step and adds, per lag k,
//    u·p[k] + v·p[k-1] to its sum. Here the nine sums sit in five f64x2 registers (lags 0-1, 2-3,
//    4-5, 6-7, 8), the history of windowed samples in five more, and each step does per register
//    exactly that float64 multiply-add-add: the same operations in the same order per lag.
//  - LPC residual: int32 arithmetic that wraps as the JS `Math.imul … | 0` does, four samples a
//    step (i32x4); partition sums in 64-bit integers, exact as the JS float64 sums are.
// The block is copied into the kernel's memory once per subframe.
import { I32, V128, assembleModule, instantiate, uleb, type WasmFunction } from "./wasm.js";
import { op } from "./simd.js";

type Code = number[];
const I64 = 0x7e;
const simd = (code: number, ...imm: number[]): Code => [0xfd, ...uleb(code), ...imm];
const v = {
  load32Zero: (offset = 0): Code => simd(0x5c, 0, ...uleb(offset)),
  load16x4: (offset: number): Code => simd(0x03, 0, ...uleb(offset)),
  i32x4Splat: simd(0x11),
  i32x4Lane: (lane: number): Code => simd(0x1b, lane),
  i64x2Lane: (lane: number): Code => simd(0x1d, lane),
  or: simd(0x50),
  xor: simd(0x51),
  i32x4Shl: simd(0xab),
  i32x4ShrS: simd(0xac),
  i32x4Add: simd(0xae),
  i32x4Sub: simd(0xb1),
  i32x4Mul: simd(0xb5),
  i64x2ExtendLowU: simd(0xc9),
  i64x2ExtendHighU: simd(0xca),
  i64x2Add: simd(0xce),
  f64x2ConvertLowI32: simd(0xfe),
};
const s = {
  i32Load16: (offset: number): Code => [0x2e, 1, ...uleb(offset)],
  i32Load: (offset: number): Code => [0x28, 2, ...uleb(offset)],
  i32DivU: [0x6e],
  i32GtU: [0x4b],
  i32Store: (offset: number): Code => [0x36, 2, ...uleb(offset)],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32Shl: [0x74],
  i32ShrS: [0x75],
  i32Xor: [0x73],
  i32GeU: [0x4f],
  i64Add: [0x7c],
  i64ExtendI32U: [0xad],
  f64ConvertI64U: [0xba],
  i64Zero: [0x42, 0],
  br: (depth: number): Code => [0x0c, depth],
};

/** f64 lanes (a of the first operand, b of the second when ≥ 2) as i8x16.shuffle bytes. */
const f64Lanes = (a: number, b: number): number[] => [...Array.from({ length: 8 }, (_, i) => 8 * a + i), ...Array.from({ length: 8 }, (_, i) => 8 * b + i)];

// Memory layout (one 64 KiB page, never grown, so views of it stay valid).
export const FLAC_MAX_BLOCK = 4096;
const QLP = 0; // 8 x i32
const AUTOC = 64; // 5 x f64x2: lags 0..9 (9 unused)
const ORS = AUTOC + 80; // 4 x i32: OR of samples (lanes 0, 1), OR of sample ^ first (lanes 0, 1 of the next vector)
const SUMS = 256; // 256 x f64: finest partition sums
const WIN = SUMS + 8 * 256; // (FLAC_MAX_BLOCK + 2) x f64
/** Zero samples kept before X: the LPC taps past the order read them (times a zero coefficient). */
const X_HISTORY = 8;
const X = WIN + 8 * (FLAC_MAX_BLOCK + 2) + 2 * X_HISTORY; // int16 samples of the block (+ 1 for an odd count)
const RES = X + 2 * (FLAC_MAX_BLOCK + 8) + 16; // int32 folded residual
const END = RES + 4 * FLAC_MAX_BLOCK;

/** autoc(pairs, first): lags 0..8 of the windowed autocorrelation of X (see the file header) into AUTOC; ORs into ORS. */
function autocKernel(): WasmFunction {
  const [PAIRS, FIRST] = [0, 1];
  const [xp, wp, end] = [2, 3, 4];
  const [or, df, fv, a0, a1, a2, a3, a4, r0, r1, r2, r3, r4, u, vv, wv, t] = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21];
  const lagPair = (acc: number, lo: number, hi: number): Code => [
    ...op.get(acc),
    ...op.get(u), ...op.get(lo), ...op.get(hi), ...op.shuffle(f64Lanes(1, 2)), ...op.f64x2Mul,
    ...op.get(vv), ...op.get(lo), ...op.f64x2Mul, ...op.f64x2Add,
    ...op.f64x2Add, ...op.set(acc),
  ];
  const body: Code = [
    ...op.get(xp), ...v.load32Zero(0), ...op.extendLowI16, ...op.tee(t),
    ...op.get(or), ...v.or, ...op.set(or),
    ...op.get(t), ...op.get(fv), ...v.xor, ...op.get(df), ...v.or, ...op.set(df),
    ...op.get(t), ...v.f64x2ConvertLowI32, ...op.get(wp), ...op.load(0), ...op.f64x2Mul, ...op.tee(wv),
    ...op.get(wv), ...op.shuffle(f64Lanes(0, 2)), ...op.set(u),
    ...op.get(wv), ...op.get(wv), ...op.shuffle(f64Lanes(1, 3)), ...op.set(vv),
    ...op.get(wv), ...op.get(wv), ...op.shuffle(f64Lanes(1, 2)), ...op.set(r0),
    ...lagPair(a0, r0, r1), ...lagPair(a1, r1, r2), ...lagPair(a2, r2, r3), ...lagPair(a3, r3, r4), ...lagPair(a4, r4, r4),
    ...op.get(r3), ...op.set(r4), ...op.get(r2), ...op.set(r3), ...op.get(r1), ...op.set(r2), ...op.get(r0), ...op.set(r1),
    ...op.get(wp), ...op.i32(16), ...op.i32Add, ...op.set(wp),
  ];
  return {
    name: "autoc",
    params: [I32, I32],
    locals: [[3, I32], [17, V128]],
    body: [
      ...op.i32(X), ...op.set(xp), ...op.i32(WIN), ...op.set(wp),
      ...op.i32(X), ...op.get(PAIRS), ...op.i32(4), ...op.i32Mul, ...op.i32Add, ...op.set(end),
      ...op.get(FIRST), ...v.i32x4Splat, ...op.set(fv),
      ...op.loop, ...body, ...op.get(xp), ...op.i32(4), ...op.i32Add, ...op.tee(xp), ...op.get(end), ...op.i32LtU, ...op.brIf(0), ...op.end,
      ...[a0, a1, a2, a3, a4].flatMap((a, k) => [...op.i32(0), ...op.get(a), ...op.store(AUTOC + 16 * k)]),
      ...op.i32(0), ...op.get(or), ...op.store(ORS), ...op.i32(0), ...op.get(df), ...op.store(ORS + 16),
    ],
  };
}

/**
 * lpc(n, order, shift, partitions): folded residual of X[order, n) under the qlp coefficients at
 * QLP (zero past the order) into RES, and the sum of each of `partitions` equal partitions (the
 * first one order samples short) into SUMS as f64.
 */
function lpcKernel(): WasmFunction {
  const [N, ORDER, SHIFT, PARTS] = [0, 1, 2, 3];
  const [i, p, end, size, xp, rp, pred] = [4, 5, 6, 7, 8, 9, 10];
  const [tail] = [11]; // i64
  const [acc, sum, r] = [12, 13, 14]; // v128
  const c = [15, 16, 17, 18, 19, 20, 21, 22]; // v128: splat(qlp[k])
  const q = [23, 24, 25, 26, 27, 28, 29, 30]; // i32: qlp[k]
  // Four outputs: acc = Σ c_k · x[i - 1 - k .. i + 2 - k] (wrapping i32), then fold.
  const vectorStep: Code = [
    ...op.get(xp), ...v.load16x4(2 * (X_HISTORY - 1)), ...op.get(c[0]), ...v.i32x4Mul, ...op.set(acc),
    ...c.slice(1).flatMap((ck, k) => [...op.get(acc), ...op.get(xp), ...v.load16x4(2 * (X_HISTORY - 2 - k)), ...op.get(ck), ...v.i32x4Mul, ...v.i32x4Add, ...op.set(acc)]),
    ...op.get(xp), ...v.load16x4(2 * X_HISTORY), ...op.get(acc), ...op.get(SHIFT), ...v.i32x4ShrS, ...v.i32x4Sub, ...op.tee(r),
    ...op.i32(1), ...v.i32x4Shl, ...op.get(r), ...op.i32(31), ...v.i32x4ShrS, ...v.xor, ...op.tee(r),
    ...op.get(rp), ...op.get(r), ...op.store(0),
    ...v.i64x2ExtendLowU, ...op.get(sum), ...v.i64x2Add, ...op.get(r), ...v.i64x2ExtendHighU, ...v.i64x2Add, ...op.set(sum),
    ...op.get(xp), ...op.i32(8), ...op.i32Add, ...op.set(xp),
    ...op.get(rp), ...op.i32(16), ...op.i32Add, ...op.set(rp),
    ...op.get(i), ...op.i32(4), ...op.i32Add, ...op.set(i),
  ];
  // One output, the same arithmetic on scalars.
  const scalarStep: Code = [
    ...op.get(q[0]), ...op.get(xp), ...s.i32Load16(2 * (X_HISTORY - 1)), ...s.i32Mul,
    ...q.slice(1).flatMap((qk, k) => [...op.get(qk), ...op.get(xp), ...s.i32Load16(2 * (X_HISTORY - 2 - k)), ...s.i32Mul, ...op.i32Add]),
    ...op.set(pred),
    ...op.get(xp), ...s.i32Load16(2 * X_HISTORY), ...op.get(pred), ...op.get(SHIFT), ...s.i32ShrS, ...s.i32Sub, ...op.tee(pred),
    ...op.i32(1), ...s.i32Shl, ...op.get(pred), ...op.i32(31), ...s.i32ShrS, ...s.i32Xor, ...op.tee(pred),
    ...op.get(rp), ...op.get(pred), ...s.i32Store(0),
    ...s.i64ExtendI32U, ...op.get(tail), ...s.i64Add, ...op.set(tail),
    ...op.get(xp), ...op.i32(2), ...op.i32Add, ...op.set(xp),
    ...op.get(rp), ...op.i32(4), ...op.i32Add, ...op.set(rp),
    ...op.get(i), ...op.i32(1), ...op.i32Add, ...op.set(i),
  ];
  // The vector step reads x[i + 3 - 8 .. i + 3] and the first tap's samples start at x[i - 1]:
  // the loads are relative to xp = X + 2 (i - X_HISTORY), with X_HISTORY = 8 zero samples before X.
  const partition: Code = [
    ...op.get(p), ...op.i32(1), ...op.i32Add, ...op.get(size), ...s.i32Mul, ...op.set(end),
    ...op.v128Zero, ...op.set(sum), ...s.i64Zero, ...op.set(tail),
    ...op.block, ...op.loop,
    ...op.get(i), ...op.i32(4), ...op.i32Add, ...op.get(end), ...s.i32GtU, ...op.brIf(1),
    ...vectorStep, ...s.br(0),
    ...op.end, ...op.end,
    ...op.block, ...op.loop,
    ...op.get(i), ...op.get(end), ...s.i32GeU, ...op.brIf(1),
    ...scalarStep, ...s.br(0),
    ...op.end, ...op.end,
    ...op.get(p), ...op.i32(3), ...s.i32Shl,
    ...op.get(sum), ...v.i64x2Lane(0), ...op.get(sum), ...v.i64x2Lane(1), ...s.i64Add, ...op.get(tail), ...s.i64Add, ...s.f64ConvertI64U,
    ...op.f64Store(SUMS),
    ...op.get(p), ...op.i32(1), ...op.i32Add, ...op.set(p),
  ];
  return {
    name: "lpc",
    params: [I32, I32, I32, I32],
    locals: [[7, I32], [1, I64], [11, V128], [8, I32]],
    body: [
      ...q.flatMap((qk, k) => [...op.i32(0), ...s.i32Load(QLP + 4 * k), ...op.tee(qk), ...v.i32x4Splat, ...op.set(c[k])]),
      ...op.get(N), ...op.get(PARTS), ...s.i32DivU, ...op.set(size),
      ...op.get(ORDER), ...op.set(i),
      ...op.i32(X - 2 * X_HISTORY), ...op.get(ORDER), ...op.i32(1), ...s.i32Shl, ...op.i32Add, ...op.set(xp),
      ...op.i32(RES), ...op.set(rp),
      ...op.i32(0), ...op.set(p),
      ...op.loop, ...partition, ...op.get(p), ...op.get(PARTS), ...op.i32LtU, ...op.brIf(0), ...op.end,
    ],
  };
}

export interface FlacKernels {
  /** Lags 0..8 into autoc and the OR checks of X[0, n) windowed by WIN (the caller loads both). */
  autocorrelate(n: number, first: number, autoc: Float64Array): { or: number; differs: number };
  /** The LPC residual of X (see lpcKernel) into `residual`, finest partition sums into sums[base, base + partitions). */
  lpcResidual(n: number, qlp: Int32Array, order: number, shift: number, partitions: number, sums: Float64Array, base: number): void;
  /** The block's samples (X) and the window (WIN), for the caller to fill. */
  readonly x: Int16Array;
  readonly window: Float64Array;
  /** The folded LPC residual, written by lpcResidual. */
  readonly residual: Int32Array;
  /** Block length whose window WIN holds now (0: none). */
  windowFor: number;
}

let kernels: FlacKernels | null | undefined;
let enabled = true;

/** Turns the kernels off (plain JS) or back on: for tests, which compare the two. */
export function setFlacKernels(on: boolean): void {
  enabled = on;
}

export function flacKernels(): FlacKernels | null {
  if (!enabled) return null;
  if (kernels !== undefined) return kernels;
  const instance = instantiate(assembleModule([autocKernel(), lpcKernel()], Math.ceil(END / 65536)));
  if (!instance) return (kernels = null);
  const ex = instance.exports as unknown as { memory: WebAssembly.Memory; autoc(pairs: number, first: number): void; lpc(n: number, order: number, shift: number, parts: number): void };
  const buffer = ex.memory.buffer;
  const f64 = new Float64Array(buffer);
  const i32 = new Int32Array(buffer);
  const found = { or: 0, differs: 0 };
  kernels = {
    x: new Int16Array(buffer, X, FLAC_MAX_BLOCK + 1),
    window: new Float64Array(buffer, WIN, FLAC_MAX_BLOCK + 1),
    residual: new Int32Array(buffer, RES, FLAC_MAX_BLOCK),
    windowFor: 0,
    autocorrelate(n, first, autoc) {
      ex.autoc((n + 1) >> 1, first);
      for (let k = 0; k < 9; k++) autoc[k] = f64[AUTOC / 8 + k];
      found.or = i32[ORS / 4] | i32[ORS / 4 + 1];
      found.differs = i32[ORS / 4 + 4] | i32[ORS / 4 + 5];
      return found;
    },
    lpcResidual(n, qlp, order, shift, partitions, sums, base) {
      i32.set(qlp.subarray(0, 8), QLP / 4);
      ex.lpc(n, order, shift, partitions);
      sums.set(f64.subarray(SUMS / 8, SUMS / 8 + partitions), base);
    },
  };
  return kernels;
}
