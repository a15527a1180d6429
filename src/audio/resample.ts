// Band-limited sample-rate conversion and Kaldi/sox-style speed perturbation.
//
// Design: a rational resampler L/M (up by L, low-pass, down by M) computed in polyphase form,
// so only the kept outputs are computed and each costs one dot product of about 110 / min(1, L/M)
// taps (Crochiere & Rabiner, "Multirate Digital Signal Processing", 1983, ch. 4). The low-pass is
// a Kaiser-windowed sinc (Kaiser, "Nonrecursive digital filter design using the I0-sinh window
// function", 1974), with beta and length from Kaiser's empirical formulas as given in
// Oppenheim & Schafer, "Discrete-Time Signal Processing", 3rd ed., eqs. 7.62-7.63.
//
// The filter is a continuous, even function of time measured in input samples, centred on each
// output's exact input time, so there is no group delay to compensate: output m is the
// band-limited value of the input at time m * fromRate / toRate. Outside [0, n) the input is zero.
//
// When L is small the table holds each of the L phases exactly. When L is large (a speed factor
// such as 1.0537 gives L = 10000) the table holds P + 1 phases per input sample
// (P = RESAMPLER_DESIGN.interpPhases = 512) and each output interpolates linearly between the two
// nearest phases: the scheme of J. O. Smith's resample (CCRMA, "Digital Audio Resampling Home
// Page", 2002). Linear interpolation of the impulse response multiplies its spectrum by
// sinc^2(F/P) and leaves images of the passband at multiples of P weighted about
// (f/P)^2 <= (0.5/512)^2, i.e. near -120 dB, under the -84 dB stopband. Measured (tests): the
// interpolated path rejects aliases and images by >= 85 dB and leaves spurious components of a
// passband tone at <= -99 dB, the same as the exact tables (whose spurs are stopband leakage).
//
// The dot products run in a small WebAssembly SIMD kernel (f32x4) assembled at load time below;
// a plain-JS kernel with Float64 accumulation is the reference and the fallback. The SIMD kernel
// accumulates in Float32: over ~120 taps that adds an error near -130 dB relative to the signal,
// far under the 84 dB design floor (the tests bound the two kernels' difference).

import FFT from "fft.js";
import { F32, F64, I32, V128, name, section, uleb, vector, w } from "./wasm.js";

/** Filter specification, as fractions of the lower of the two Nyquist frequencies. */
export const RESAMPLER_DESIGN = {
  /** Passband edge: flat up to this fraction of the lower Nyquist. */
  passbandEdge: 0.9,
  /** Stopband edge: full rejection from this fraction of the lower Nyquist on. */
  stopbandEdge: 1.0,
  /** Attenuation fed to Kaiser's formulas: above the 80 dB goal because the formulas are approximate. */
  designAttenuationDb: 84,
  /** Largest L (after gcd reduction) that gets an exact table of L phases. */
  exactPhaseLimit: 1024,
  /** Phases per input sample in the interpolated table used above exactPhaseLimit. */
  interpPhases: 512,
} as const;

/**
 * What the design guarantees, as re-measured by test/dsp-resample.test.ts (filter response by
 * resamplerResponse, and end to end with tones). Measured: passband deviation 0.0006 dB up to
 * 0.9 x lower Nyquist; stopband rejection 84.0-84.7 dB from the lower Nyquist on, for 48k->16k,
 * 16k->8k, 22050->16k, 8k->16k, 17600->16k, 16k->14400 and the interpolated-table pairs.
 */
export const RESAMPLER_GUARANTEE = {
  passbandRippleDb: 0.001,
  stopbandAttenuationDb: 83.5,
} as const;

/** Speed factors are quantised to this step before being turned into an integer rate ratio. */
export const SPEED_QUANTUM = 1e-4;

const KAISER_BETA = kaiserBeta(RESAMPLER_DESIGN.designAttenuationDb);

/** Kaiser's beta for a stopband attenuation of `attenuationDb` (Oppenheim & Schafer eq. 7.62). */
function kaiserBeta(attenuationDb: number): number {
  if (attenuationDb > 50) return 0.1102 * (attenuationDb - 8.7);
  if (attenuationDb >= 21) return 0.5842 * (attenuationDb - 21) ** 0.4 + 0.07886 * (attenuationDb - 21);
  return 0;
}

/** Modified Bessel function I0 by its power series sum ((x/2)^k / k!)^2; ~30 terms for x < 10. */
function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

// The Kaiser window w = I0(beta sqrt(1 - r^2)) / I0(beta), r = tau / halfWidth, tabulated once over
// r^2 in [0, 1] (where it is smooth) so designing a table costs no Bessel series per tap. Linear
// interpolation on 8192 points errs by <= step^2/8 max|w''| ~ 1e-8 of the peak: far below -84 dB.
const WINDOW_POINTS = 8192;
const WINDOW_TABLE = (() => {
  const table = new Float64Array(WINDOW_POINTS + 2);
  const i0Beta = besselI0(KAISER_BETA);
  for (let i = 0; i < table.length; i++) {
    table[i] = besselI0(KAISER_BETA * Math.sqrt(1 - Math.min(1, i / WINDOW_POINTS))) / i0Beta;
  }
  return table;
})();

/** The continuous low-pass prototype for a rate ratio, in units of input samples. */
interface Prototype {
  /** -6 dB cutoff, cycles per input sample. */
  cutoff: number;
  /** The window spans (-halfWidth, halfWidth) input samples. */
  halfWidth: number;
}

function prototypeFor(up: number, down: number): Prototype {
  // The lower Nyquist in cycles per input sample is 0.5 * min(1, toRate / fromRate) = 0.5 * min(1, L/M).
  const lowerNyquist = 0.5 * Math.min(1, up / down);
  const { passbandEdge, stopbandEdge, designAttenuationDb } = RESAMPLER_DESIGN;
  const cutoff = ((passbandEdge + stopbandEdge) / 2) * lowerNyquist;
  const transition = (stopbandEdge - passbandEdge) * lowerNyquist;
  // Kaiser's length formula (O&S eq. 7.63): N - 1 = (A - 7.95) / (2.285 * 2 pi * transition).
  const span = (designAttenuationDb - 7.95) / (2.285 * 2 * Math.PI * transition);
  return { cutoff, halfWidth: span / 2 };
}

/**
 * A polyphase table: row `phase` holds the taps for an output whose input time is
 * j + phase / phases; tap k multiplies input sample j - lead + k. Rows are `taps` long (a multiple
 * of 8, zero-padded, for the SIMD loop) and stored phase-major in one Float32Array.
 */
interface PolyphaseTable {
  phases: number;
  rows: number;
  taps: number;
  lead: number;
  interpolated: boolean;
  coeffs: Float32Array;
}

function buildTable(up: number, down: number, interpolated: boolean): PolyphaseTable {
  const { cutoff, halfWidth } = prototypeFor(up, down);
  const phases = interpolated ? RESAMPLER_DESIGN.interpPhases : up;
  // The interpolated table also keeps the phase at offset 1.0, so row q + 1 always exists.
  const rows = interpolated ? phases + 1 : phases;
  const lead = Math.ceil(halfWidth);
  // For offsets delta in [0, 1], nonzero taps k satisfy |delta + lead - k| < halfWidth.
  const taps = (lead + Math.floor(halfWidth) + 2 + 7) & ~7;
  const coeffs = new Float32Array(rows * taps);
  const row = new Float64Array(taps);
  const omega = 2 * Math.PI * cutoff;
  const cosStep = Math.cos(omega);
  const sinStep = Math.sin(omega);
  const invHalfWidth2 = 1 / (halfWidth * halfWidth);
  for (let phase = 0; phase < rows; phase++) {
    const tau0 = phase / phases + lead;
    // sin(omega * tau) along the row, tau falling by 1 per tap, by rotation (error ~ taps * 1e-16)
    // instead of one Math.sin per tap: design time matters when every item has its own factor.
    let sin = Math.sin(omega * tau0);
    let cos = Math.cos(omega * tau0);
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      const tau = tau0 - k;
      const r2 = tau * tau * invHalfWidth2;
      let v = 0;
      if (r2 < 1) {
        const pos = r2 * WINDOW_POINTS;
        const i = pos | 0;
        const window = WINDOW_TABLE[i] + (pos - i) * (WINDOW_TABLE[i + 1] - WINDOW_TABLE[i]);
        // 2 fc sinc(2 fc tau) = sin(omega tau) / (pi tau); the constant is removed by the row norm.
        v = (Math.abs(tau) < 1e-9 ? omega : sin / tau) * window;
      }
      row[k] = v;
      sum += v;
      const nextSin = sin * cosStep - cos * sinStep;
      cos = cos * cosStep + sin * sinStep;
      sin = nextSin;
    }
    // Each phase is scaled to a DC gain of exactly 1, so a constant input gives a constant output
    // (no phase-dependent gain, which would modulate at the phase rate and be heard as imaging).
    const norm = 1 / sum;
    const base = phase * taps;
    for (let k = 0; k < taps; k++) coeffs[base + k] = row[k] * norm;
  }
  return { phases, rows, taps, lead, interpolated, coeffs };
}

// Tables are cached per (L, M). An upsampling table depends only on L (its cutoff is the input
// Nyquist) and the interpolated upsampling table on nothing, so all speed factors below 1 share
// one. A small LRU bounded by coefficient count keeps a corpus with thousands of distinct random
// speed factors from growing memory without bound (a new table takes ~0.3-1 ms to design).
const TABLE_CACHE_MAX_COEFFS = 8 * 1024 * 1024;
const TABLE_CACHE_MAX_ENTRIES = 64;
const tableCache = new Map<string, PolyphaseTable>();
let tableCacheCoeffs = 0;

function tableFor(up: number, down: number): PolyphaseTable {
  const interpolated = up > RESAMPLER_DESIGN.exactPhaseLimit;
  const upsampling = up >= down;
  const key = interpolated ? (upsampling ? "i" : `i:${up}:${down}`) : upsampling ? `e:${up}` : `e:${up}:${down}`;
  const hit = tableCache.get(key);
  if (hit) {
    tableCache.delete(key);
    tableCache.set(key, hit);
    return hit;
  }
  const table = buildTable(up, down, interpolated);
  tableCache.set(key, table);
  tableCacheCoeffs += table.coeffs.length;
  for (const [oldKey, old] of tableCache) {
    if (tableCacheCoeffs <= TABLE_CACHE_MAX_COEFFS && tableCache.size <= TABLE_CACHE_MAX_ENTRIES) break;
    if (oldKey === key) continue;
    tableCache.delete(oldKey);
    tableCacheCoeffs -= old.coeffs.length;
  }
  return table;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

// ---------------------------------------------------------------------------------------------
// Kernels. Both compute, for m = 0..count-1, output m from a window `win` of the input whose
// index 0 is input sample j0 - lead, where output m0 + m has input time j0 + m*down/up + r0/up.

/** Plain-JS kernel, Float64 accumulation: the reference for the SIMD one, and the fallback. */
function runScalar(
  table: PolyphaseTable,
  win: Float32Array,
  y: Float32Array,
  count: number,
  up: number,
  down: number,
  r0: number,
): void {
  const { taps, coeffs } = table;
  const stepWhole = Math.floor(down / up);
  const stepRem = down % up;
  const phaseScale = table.phases / up;
  let j = 0;
  let r = r0;
  for (let m = 0; m < count; m++) {
    if (!table.interpolated) {
      const c = r * taps;
      // Four accumulators break the add dependency chain (taps is a multiple of 8).
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let k = 0; k < taps; k += 4) {
        a0 += coeffs[c + k] * win[j + k];
        a1 += coeffs[c + k + 1] * win[j + k + 1];
        a2 += coeffs[c + k + 2] * win[j + k + 2];
        a3 += coeffs[c + k + 3] * win[j + k + 3];
      }
      y[m] = a0 + a1 + (a2 + a3);
    } else {
      const pos = r * phaseScale;
      const q = Math.floor(pos);
      const frac = pos - q;
      const c0 = q * taps;
      const c1 = c0 + taps;
      let a0 = 0;
      let a1 = 0;
      let b0 = 0;
      let b1 = 0;
      for (let k = 0; k < taps; k += 2) {
        const v0 = win[j + k];
        const v1 = win[j + k + 1];
        a0 += coeffs[c0 + k] * v0;
        a1 += coeffs[c0 + k + 1] * v1;
        b0 += coeffs[c1 + k] * v0;
        b1 += coeffs[c1 + k + 1] * v1;
      }
      const lo = a0 + a1;
      y[m] = lo + frac * (b0 + b1 - lo);
    }
    j += stepWhole;
    r += stepRem;
    if (r >= up) {
      r -= up;
      j++;
    }
  }
}

/**
 * Assembles the module: memory "memory", and
 *   exact(y, x, c, count, tapsBytes, up, stepWhole, stepRem, r0)
 *   interp(y, x, c, count, tapsBytes, up, stepWhole, stepRem, r0, phaseScale: f64)
 * with byte pointers y (outputs), x (window), c (table), following runScalar step for step.
 */
function assembleKernels(): Uint8Array<ArrayBuffer> {
  const [Y, X, C, COUNT, TAPS_B, UP, STEP_W, STEP_R, R, SCALE] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  // Horizontal sum of a f32x4 local as f32.
  const hsum = (v: number) => [
    ...w.get(v), ...w.f32x4Lane(0), ...w.get(v), ...w.f32x4Lane(1), ...w.f32Add,
    ...w.get(v), ...w.f32x4Lane(2), ...w.get(v), ...w.f32x4Lane(3), ...w.f32Add, ...w.f32Add,
  ];
  // acc += load(row + off) * load(xb + off)
  const mac = (acc: number, row: number, xb: number, off: number) => [
    ...w.get(acc),
    ...w.get(row), ...w.v128Load(off),
    ...w.get(xb), ...w.v128Load(off),
    ...w.f32x4Mul, ...w.f32x4Add, ...w.set(acc),
  ];
  // The tap loop, 16 taps a step with the pointers `ptrs` advanced (fewer instructions per tap than
  // 8 with an index), then one 8-tap step when taps is an odd multiple of 8: `step8(off)` holds the
  // MACs of 8 taps at byte offset off. The accumulators see the taps in the same order either way.
  const tapLoop = (row: number, end: number, ptrs: number[], step8: (off: number) => number[]) => [
    ...w.get(row), ...w.get(TAPS_B), ...w.i32(-64), ...w.i32And, ...w.i32Add, ...w.set(end),
    ...w.get(row), ...w.get(end), ...w.i32LtU, ...w.if,
    ...w.loop,
    ...step8(0), ...step8(32),
    ...ptrs.flatMap((p) => [...w.get(p), ...w.i32(64), ...w.i32Add, ...w.set(p)]),
    ...w.get(row), ...w.get(end), ...w.i32LtU, ...w.brIf(0),
    ...w.end,
    ...w.end,
    ...w.get(TAPS_B), ...w.i32(32), ...w.i32And, ...w.if, ...step8(0), ...w.end,
  ];
  // Advance the input time by down/up: j += stepWhole; r += stepRem; if (r >= up) { r -= up; j++ }
  const advance = (j: number) => [
    ...w.get(j), ...w.get(STEP_W), ...w.i32Add, ...w.set(j),
    ...w.get(R), ...w.get(STEP_R), ...w.i32Add, ...w.tee(R), ...w.get(UP), ...w.i32GeU, ...w.if,
    ...w.get(R), ...w.get(UP), ...w.i32Sub, ...w.set(R),
    ...w.get(j), ...w.i32(1), ...w.i32Add, ...w.set(j), ...w.end,
  ];
  const storeOutput = (m: number, value: number[]) => [
    ...w.get(Y), ...w.get(m), ...w.i32(2), ...w.i32Shl, ...w.i32Add, ...value, ...w.f32Store,
  ];
  const loopHead = (m: number) => [...w.block, ...w.loop, ...w.get(m), ...w.get(COUNT), ...w.i32GeU, ...w.brIf(1)];
  const loopTail = (m: number) => [...w.get(m), ...w.i32(1), ...w.i32Add, ...w.set(m), ...w.br(0), ...w.end, ...w.end];

  // exact: locals after the 9 params: m j row xb k (i32), a0 a1 (v128). (Two outputs a step, each
  // with its own accumulators, measured slower here: V8 then spills vector locals.)
  const e = { m: 9, j: 10, row: 11, xb: 12, k: 13, a0: 14, a1: 15 };
  const exactBody = [
    ...vector([[5, I32], [2, V128]]),
    ...loopHead(e.m),
    ...w.get(C), ...w.get(R), ...w.get(TAPS_B), ...w.i32Mul, ...w.i32Add, ...w.set(e.row),
    ...w.get(X), ...w.get(e.j), ...w.i32(2), ...w.i32Shl, ...w.i32Add, ...w.set(e.xb),
    ...w.v128Zero, ...w.set(e.a0), ...w.v128Zero, ...w.set(e.a1),
    ...tapLoop(e.row, e.k, [e.row, e.xb], (off) => [...mac(e.a0, e.row, e.xb, off), ...mac(e.a1, e.row, e.xb, off + 16)]),
    ...w.get(e.a0), ...w.get(e.a1), ...w.f32x4Add, ...w.set(e.a0),
    ...storeOutput(e.m, hsum(e.a0)),
    ...advance(e.j),
    ...loopTail(e.m),
    ...w.end,
  ];

  // interp: locals after the 10 params: m j row0 row1 xb k q (i32), a0 a1 b0 b1 (v128),
  // lo (f32), pos frac (f64).
  const n = { m: 10, j: 11, row0: 12, row1: 13, xb: 14, k: 15, q: 16, a0: 17, a1: 18, b0: 19, b1: 20, lo: 21, pos: 22, frac: 23 };
  const interpBody = [
    ...vector([[7, I32], [4, V128], [1, F32], [2, F64]]),
    ...loopHead(n.m),
    // pos = r * phaseScale; q = floor(pos); frac = pos - q
    ...w.get(R), ...w.f64ConvertI32U, ...w.get(SCALE), ...w.f64Mul, ...w.set(n.pos),
    ...w.get(n.pos), ...w.i32TruncF64U, ...w.set(n.q),
    ...w.get(n.pos), ...w.get(n.q), ...w.f64ConvertI32U, ...w.f64Sub, ...w.set(n.frac),
    ...w.get(C), ...w.get(n.q), ...w.get(TAPS_B), ...w.i32Mul, ...w.i32Add, ...w.tee(n.row0),
    ...w.get(TAPS_B), ...w.i32Add, ...w.set(n.row1),
    ...w.get(X), ...w.get(n.j), ...w.i32(2), ...w.i32Shl, ...w.i32Add, ...w.set(n.xb),
    ...w.v128Zero, ...w.set(n.a0), ...w.v128Zero, ...w.set(n.a1),
    ...w.v128Zero, ...w.set(n.b0), ...w.v128Zero, ...w.set(n.b1),
    ...tapLoop(n.row0, n.k, [n.row0, n.row1, n.xb], (off) => [
      ...mac(n.a0, n.row0, n.xb, off),
      ...mac(n.b0, n.row1, n.xb, off),
      ...mac(n.a1, n.row0, n.xb, off + 16),
      ...mac(n.b1, n.row1, n.xb, off + 16),
    ]),
    ...w.get(n.a0), ...w.get(n.a1), ...w.f32x4Add, ...w.set(n.a0),
    ...w.get(n.b0), ...w.get(n.b1), ...w.f32x4Add, ...w.set(n.b0),
    ...hsum(n.a0), ...w.set(n.lo),
    // y = lo + frac * (hi - lo), in f64.
    ...storeOutput(n.m, [
      ...w.get(n.lo), ...w.f64PromoteF32,
      ...w.get(n.frac), ...hsum(n.b0), ...w.f64PromoteF32, ...w.get(n.lo), ...w.f64PromoteF32, ...w.f64Sub, ...w.f64Mul,
      ...w.f64Add, ...w.f32DemoteF64,
    ]),
    ...advance(n.j),
    ...loopTail(n.m),
    ...w.end,
  ];

  const i32Params = (count: number) => new Array<number[]>(count).fill([I32]);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector([
      [0x60, ...vector(i32Params(9)), 0],
      [0x60, ...vector([...i32Params(9), [F64]]), 0],
    ])),
    ...section(3, vector([[0], [1]])),
    ...section(5, vector([[0x00, 1]])),
    ...section(7, vector([[...name("memory"), 0x02, 0], [...name("exact"), 0x00, 0], [...name("interp"), 0x00, 1]])),
    ...section(10, vector([
      [...uleb(exactBody.length), ...exactBody],
      [...uleb(interpBody.length), ...interpBody],
    ])),
  ]);
}

interface SimdKernels {
  memory: WebAssembly.Memory;
  exact: (...args: number[]) => void;
  interp: (...args: number[]) => void;
  /** The table whose coefficients are at offset 0 of memory now. */
  loaded: PolyphaseTable | null;
}

let simdKernels: SimdKernels | null | undefined;

function getSimdKernels(): SimdKernels | null {
  if (simdKernels !== undefined) return simdKernels;
  simdKernels = null;
  try {
    const bytes = assembleKernels();
    if (typeof WebAssembly === "object" && WebAssembly.validate(bytes)) {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
      const exports = instance.exports as unknown as Omit<SimdKernels, "loaded">;
      simdKernels = { memory: exports.memory, exact: exports.exact, interp: exports.interp, loaded: null };
    }
  } catch {
    simdKernels = null;
  }
  return simdKernels;
}

/** Outputs per kernel call; bounds the WebAssembly memory (it never shrinks) to ~tens of MB. */
const CHUNK_OUTPUTS = 1 << 16;

let useSimd = true;

/**
 * Chooses the kernel: SIMD WebAssembly (default, when the runtime supports it) or plain JS.
 * For tests and for runtimes without WebAssembly SIMD; results agree to ~1e-6 relative.
 */
export function setResampleKernel(kernel: "simd" | "js"): void {
  useSimd = kernel === "simd";
}

/** Which kernel resample() will use now. */
export function resampleKernel(): "simd" | "js" {
  return useSimd && getSimdKernels() !== null ? "simd" : "js";
}

/**
 * Runs the polyphase filter: output m is the filtered input at time m * down / up input samples.
 * `outLength` may run past the input's end; those outputs see zeros.
 */
function resampleRatio(x: Float32Array, up: number, down: number, outLength: number, out?: Float32Array): Float32Array {
  const y = out ?? new Float32Array(outLength);
  if (outLength === 0 || x.length === 0) return y.fill(0);
  const table = tableFor(up, down);
  const { taps, lead } = table;
  const simd = useSimd ? getSimdKernels() : null;
  for (let m0 = 0; m0 < outLength; m0 += CHUNK_OUTPUTS) {
    const count = Math.min(CHUNK_OUTPUTS, outLength - m0);
    // Exact integer arithmetic in doubles: m0 * down stays far below 2^53 for any real input.
    const j0 = Math.floor((m0 * down) / up);
    const r0 = m0 * down - j0 * up;
    const jLast = Math.floor(((m0 + count - 1) * down) / up);
    // The window holds input samples j0 - lead .. jLast - lead + taps - 1, zero outside [0, n).
    const winLength = jLast - j0 + taps;
    const first = j0 - lead;
    const srcStart = Math.max(0, first);
    const srcEnd = Math.min(x.length, first + winLength);
    if (simd) {
      const coeffBytes = table.coeffs.length * 4;
      const winOffset = coeffBytes;
      const yOffset = winOffset + winLength * 4 + 64;
      const needed = yOffset + count * 4 + 64;
      const memory = simd.memory;
      if (memory.buffer.byteLength < needed) memory.grow(Math.ceil((needed - memory.buffer.byteLength) / 65536));
      if (simd.loaded !== table) {
        new Float32Array(memory.buffer, 0, table.coeffs.length).set(table.coeffs);
        simd.loaded = table;
      }
      const win = new Float32Array(memory.buffer, winOffset, winLength);
      win.fill(0);
      if (srcEnd > srcStart) win.set(x.subarray(srcStart, srcEnd), srcStart - first);
      const stepWhole = Math.floor(down / up);
      const stepRem = down % up;
      if (table.interpolated) {
        simd.interp(yOffset, winOffset, 0, count, taps * 4, up, stepWhole, stepRem, r0, table.phases / up);
      } else {
        simd.exact(yOffset, winOffset, 0, count, taps * 4, up, stepWhole, stepRem, r0);
      }
      y.set(new Float32Array(memory.buffer, yOffset, count), m0);
    } else {
      const win = new Float32Array(winLength);
      if (srcEnd > srcStart) win.set(x.subarray(srcStart, srcEnd), srcStart - first);
      runScalar(table, win, y.subarray(m0, m0 + count), count, up, down, r0);
    }
  }
  return y;
}

function copyToLength(x: Float32Array, length: number, out?: Float32Array): Float32Array {
  const y = out ?? new Float32Array(length);
  y.set(length >= x.length ? x : x.subarray(0, length));
  if (out && length > x.length) y.fill(0, x.length);
  return y;
}

function checkRate(label: string, rate: number): void {
  if (!Number.isSafeInteger(rate) || rate <= 0) throw new RangeError(`${label} must be a positive integer, got ${rate}`);
}

/**
 * Band-limited resampling from `fromRate` to `toRate` (Hz, positive integers).
 *
 * Returns exactly Math.round(x.length * toRate / fromRate) samples; output m is the input at time
 * m * fromRate / toRate (no delay), with the input taken as zero outside its span. Passband flat
 * to 0.9 x the lower Nyquist, >= 80 dB rejection from the lower Nyquist on (RESAMPLER_GUARANTEE).
 */
export function resample(x: Float32Array, fromRate: number, toRate: number): Float32Array {
  checkRate("fromRate", fromRate);
  checkRate("toRate", toRate);
  const outLength = Math.round((x.length * toRate) / fromRate);
  if (fromRate === toRate) return copyToLength(x, outLength);
  const g = gcd(fromRate, toRate);
  return resampleRatio(x, toRate / g, fromRate / g, outLength);
}

/**
 * Speed perturbation as `sox speed f` / Kaldi's perturb_data_dir_speed.sh: the signal plays
 * `factor` times faster, pitch and tempo change together, and the result has Math.round(n / factor)
 * samples, output m being the input at time m * factor.
 *
 * It is resampling from rate round(R * f) to R, read back at R. With R = 1 / SPEED_QUANTUM = 10000
 * the factor is quantised to 1e-4 (from = round(10000 f), to = 10000, reduced by their gcd: 1.1
 * gives 11/10, 1.0537 gives 10537/10000). The quantisation changes the rate by at most 5e-5 / f
 * (under 0.001 semitone) and drifts the time map by at most 5e-5 / f of elapsed time (0.5 ms per
 * 10 s), well inside a label's resolution; the output length follows the unquantised factor so it
 * matches the op's duration map round(n / f). Factors whose reduced L exceeds 1024 use the
 * interpolated phase table (see the file header for its error). `out`, when given, supplies the
 * output array (of the length asked for; the engine's reused buffers).
 */
export function speedPerturb(x: Float32Array, factor: number, out?: (length: number) => Float32Array): Float32Array {
  if (!Number.isFinite(factor) || factor <= 0) throw new RangeError(`factor must be a positive number, got ${factor}`);
  const to = Math.round(1 / SPEED_QUANTUM);
  const from = Math.round(factor * to);
  if (from < 1) throw new RangeError(`factor ${factor} is below the quantum ${SPEED_QUANTUM}`);
  const outLength = Math.round(x.length / factor);
  const y = out?.(outLength);
  if (from === to) return copyToLength(x, outLength, y);
  const g = gcd(from, to);
  return resampleRatio(x, to / g, from / g, outLength, y);
}

/** What resamplerResponse measured, for one rate pair. */
export interface ResamplerResponse {
  fromRate: number;
  toRate: number;
  /** L and M after gcd reduction (toRate / g, fromRate / g). */
  up: number;
  down: number;
  /** Whether the interpolated phase table is used (L > exactPhaseLimit). */
  interpolated: boolean;
  /** Taps per output sample (multiply-adds; twice this for the interpolated table). */
  tapsPerOutput: number;
  passbandEdgeHz: number;
  stopbandEdgeHz: number;
  /** Largest |gain| deviation from 0 dB over [0, passbandEdgeHz]. */
  passbandRippleDb: number;
  /** Smallest rejection (positive dB) over [stopbandEdgeHz, half the table's fine rate]. */
  stopbandAttenuationDb: number;
}

/**
 * Measures the designed filter of a rate pair: the table's rows are interleaved back into the
 * single FIR they came from (at L x fromRate, or at interpPhases x fromRate for an interpolated
 * table, whose linear interpolation adds images near -120 dB, see the header) and its magnitude
 * response is read off a zero-padded FFT of 8x the FIR length. Costs up to a few hundred ms: for
 * tests and reports, not the hot path.
 */
export function resamplerResponse(fromRate: number, toRate: number): ResamplerResponse {
  checkRate("fromRate", fromRate);
  checkRate("toRate", toRate);
  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  const table = tableFor(up, down);
  const { phases, taps, lead, coeffs } = table;
  const fftSize = 1 << Math.ceil(Math.log2(taps * phases * 8));
  const fir = new Float64Array(fftSize);
  // Row `phase`, tap k sits at phase + (lead - k) * phases in 1/phases input samples; shift so the
  // earliest (k = taps - 1, phase 0) lands at index 0.
  const shift = (taps - 1 - lead) * phases;
  for (let phase = 0; phase < phases; phase++) {
    for (let k = 0; k < taps; k++) fir[phase + (lead - k) * phases + shift] = coeffs[phase * taps + k];
  }
  const fft = new FFT(fftSize);
  const spectrum = new Float64Array(2 * fftSize);
  fft.realTransform(spectrum, fir);
  // Each row sums to 1, so the FIR's DC gain is `phases`.
  const fineRate = fromRate * phases;
  const lowerNyquistHz = Math.min(fromRate, toRate) / 2;
  const passbandEdgeHz = RESAMPLER_DESIGN.passbandEdge * lowerNyquistHz;
  const stopbandEdgeHz = RESAMPLER_DESIGN.stopbandEdge * lowerNyquistHz;
  let passWorstDb = 0;
  let stopWorst = 0;
  for (let bin = 0; bin <= fftSize / 2; bin++) {
    const hz = (bin * fineRate) / fftSize;
    const magnitude = Math.hypot(spectrum[2 * bin], spectrum[2 * bin + 1]) / phases;
    if (hz <= passbandEdgeHz) passWorstDb = Math.max(passWorstDb, Math.abs(20 * Math.log10(magnitude)));
    else if (hz >= stopbandEdgeHz) stopWorst = Math.max(stopWorst, magnitude);
  }
  return {
    fromRate,
    toRate,
    up,
    down,
    interpolated: table.interpolated,
    tapsPerOutput: taps,
    passbandEdgeHz,
    stopbandEdgeHz,
    passbandRippleDb: passWorstDb,
    stopbandAttenuationDb: -20 * Math.log10(stopWorst),
  };
}

/**
 * The single FIR at L x fromRate that the exact polyphase table for (fromRate, toRate) implements:
 * odd length, middle tap at time 0, each phase's taps summing to 1 (so the total is L). For
 * comparison with scipy.signal.resample_poly(x, L, M, window=fir / L). Throws for pairs that use
 * the interpolated table.
 */
export function resamplerFilter(fromRate: number, toRate: number): Float64Array {
  checkRate("fromRate", fromRate);
  checkRate("toRate", toRate);
  const g = gcd(fromRate, toRate);
  const table = tableFor(toRate / g, fromRate / g);
  if (table.interpolated) throw new RangeError("resamplerFilter: this pair uses the interpolated table");
  const { phases, taps, lead, coeffs } = table;
  let half = 0;
  for (let phase = 0; phase < phases; phase++) {
    for (let k = 0; k < taps; k++) {
      if (coeffs[phase * taps + k] !== 0) half = Math.max(half, Math.abs(phase + (lead - k) * phases));
    }
  }
  const fir = new Float64Array(2 * half + 1);
  for (let phase = 0; phase < phases; phase++) {
    for (let k = 0; k < taps; k++) {
      const i = phase + (lead - k) * phases;
      if (Math.abs(i) <= half) fir[i + half] = coeffs[phase * taps + k];
    }
  }
  return fir;
}

/**
 * The polyphase table resample() and speedPerturb() use for the reduced ratio up/down (L/M): for
 * the GPU kernel (src/gpu/kernels/resample.ts), which uploads it. Shared with the cache: read only.
 */
export function polyphaseTableFor(up: number, down: number): Readonly<PolyphaseTable> {
  return tableFor(up, down);
}
