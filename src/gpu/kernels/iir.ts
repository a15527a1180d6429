// Biquad cascades per row (filter, eq, telephone, micresponse): the GPU twin of biquadFilter +
// filterAligned (src/audio/biquad.ts). The cascade's delay d is removed as the CPU does: the row
// is continued by d zeros and output i is cascade output i + d.
//
// An IIR filter is sequential in time, and one thread per row (the first version) ran at
// 0.6 GB/s on the H200: a GPU thread is slow and 64-256 rows fill little of it. So it is a
// chunked scan over the cascade's state (2S numbers for S sections; a linear system
// s' = A s + B x, y = C s + D x), three dispatches:
//   forced  one thread per chunk of L samples: run the cascade from rest over the chunk and keep
//           the final state f_k; plus 2S threads per row that run L samples of silence from
//           each unit state, whose final states are the columns of Φ = A^L.
//   carry   one workgroup per row, serial over chunks: s_0 = 0, s_{k+1} = Φ s_k + f_k (thread m
//           computes component m), each s_k stored for its chunk.
//   apply   one thread per chunk: run the cascade from s_k over the chunk, writing the outputs.
// The input is read from a copy of the rows (the writes, d samples behind, would otherwise race
// with the reads of the chunk before). L grows with the longest row so the carry stays ≤ 4096 steps.
//
// Numerics: the CPU filters in f64. In f32, coefficient rounding and state round-off move poles
// near z = 1 (low corners at high rates) too far for a 1e-4 relative error: measured 2e-3 for an
// EQ band at 100 Hz and 1e-3 for a 20 Hz high-pass at 48 kHz. So the recursion, Φ and the carry
// run in double-float arithmetic (a value is the unevaluated sum hi + lo of two f32, ~48 bits;
// Dekker 1971, with the error-free TwoSum and TwoProd of Hida, Li and Bailey's QD library):
// coefficients are split into hi + lo on the host, samples in and out are f32. Measured against
// the CPU ops: test/gpu/elementwise-iir.test.ts.
import type { Biquad } from "../../audio/biquad.js";
import { HEADER, REC, expand } from "./elementwise.js";

/** Most sections in one cascade (eq allows 16 bands; Butterworth order 8 band-pass is 8). */
export const MAX_SECTIONS = 32;
/** Threads per workgroup of every IIR dispatch (the carry needs 2 x MAX_SECTIONS). */
export const IIR_WORKGROUP = 2 * MAX_SECTIONS;

/** Header word 2 of an IIR dispatch: the kernel's `zero` (read at run time, so no compiler can fold it). */
export const IIR_ZERO = 0;

/** Samples per chunk for rows of at most `maxTotal` samples (length + delay). */
export function iirChunk(maxTotal: number): number {
  return Math.max(256, Math.ceil(maxTotal / 4096 / 64) * 64);
}

/** vec2 words of state a row needs: Φ (2S x 2S) then 2S per chunk. */
export function iirStateWords(sections: number, total: number, chunk: number): number {
  const w = 2 * sections;
  return w * w + w * Math.ceil(total / chunk);
}

export type IirStage = "forced" | "carry" | "apply";

/**
 * Records: [off, len, coefOffset (in aux), slot, sections, delay, stateOffset (vec2 words), 0];
 * aux holds 10 f32 per section: b0, b1, b2, a1, a2, each as hi, lo. Header word 3 is the chunk
 * length L. Group 1: the input copy (same offsets as data) and the states.
 */
export function iirWgsl(stage: IirStage): string {
  return expand(`
@group(0) @binding(0) var<storage, read> recs: array<u32>;
@group(0) @binding(1) var<storage, read_write> data: array<f32>;
@group(0) @binding(2) var<storage, read> aux: array<f32>;
@group(1) @binding(0) var<storage, read> src: array<f32>;
@group(1) @binding(1) var<storage, read_write> states: array<vec2<f32>>;
const MAXS: u32 = ${MAX_SECTIONS}u;
const HEADER: u32 = ${HEADER}u;
const REC: u32 = ${REC}u;
const WG: u32 = ${2 * MAX_SECTIONS}u;
// Double-float: x = (hi, lo) with |lo| <= ulp(hi) / 2. Shader compilers treat float arithmetic
// as real arithmetic unless told otherwise (Mesa's NIR folded the error term of TwoSum to 0 inside
// this loop, though not in a small test), and WGSL cannot mark an operation exact; so each
// rounded result that an error term is taken from passes through opq(): an xor of its bits with
// a zero read from the dispatch header, which no float simplification can see through.
var<private> zero: u32;
fn opq(x: f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) ^ zero); }
fn quickTwoSum(a: f32, b: f32) -> vec2<f32> { let s = opq(a + b); return vec2<f32>(s, b - opq(s - a)); }
fn twoSum(a: f32, b: f32) -> vec2<f32> { let s = opq(a + b); let v = opq(s - a); return vec2<f32>(s, (a - opq(s - v)) + (b - v)); }
fn dfAdd(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> { let s = twoSum(a.x, b.x); return quickTwoSum(s.x, s.y + a.y + b.y); }
fn dfSub(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> { return dfAdd(a, -b); }
// Veltkamp's split of an f32 into two 12-bit halves, so TwoProd needs no fma (a driver may lower
// fma to a rounded multiply and add).
fn split(a: f32) -> vec2<f32> { let c = opq(4097.0 * a); let t = opq(c - a); let hi = opq(c - t); return vec2<f32>(hi, a - hi); }
fn twoProd(a: f32, b: f32) -> vec2<f32> {
  let p = opq(a * b);
  let sa = split(a);
  let sb = split(b);
  // Each partial product of halves is exact.
  let e = (((sa.x * sb.x - p) + sa.x * sb.y) + sa.y * sb.x) + sa.y * sb.y;
  return vec2<f32>(p, e);
}
fn dfMul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let t = twoProd(a.x, b.x);
  return quickTwoSum(t.x, t.y + (a.x * b.y + a.y * b.x));
}

var<private> ns: u32;
var<private> b0: array<vec2<f32>, MAXS>;
var<private> b1: array<vec2<f32>, MAXS>;
var<private> b2: array<vec2<f32>, MAXS>;
var<private> a1: array<vec2<f32>, MAXS>;
var<private> a2: array<vec2<f32>, MAXS>;
var<private> z1: array<vec2<f32>, MAXS>;
var<private> z2: array<vec2<f32>, MAXS>;

fn loadCascade(rec: u32) {
  let co = recs[rec + 2u];
  ns = min(recs[rec + 4u], MAXS);
  for (var s = 0u; s < ns; s = s + 1u) {
    let c = co + 10u * s;
    b0[s] = vec2<f32>(aux[c], aux[c + 1u]);
    b1[s] = vec2<f32>(aux[c + 2u], aux[c + 3u]);
    b2[s] = vec2<f32>(aux[c + 4u], aux[c + 5u]);
    a1[s] = vec2<f32>(aux[c + 6u], aux[c + 7u]);
    a2[s] = vec2<f32>(aux[c + 8u], aux[c + 9u]);
    z1[s] = vec2<f32>(0.0);
    z2[s] = vec2<f32>(0.0);
  }
}

// One sample through the cascade: transposed direct form II per section, as biquadFilter.
fn cascade(x: vec2<f32>) -> vec2<f32> {
  var v = x;
  for (var s = 0u; s < ns; s = s + 1u) {
    let y = dfAdd(dfMul(b0[s], v), z1[s]);
    z1[s] = dfAdd(dfSub(dfMul(b1[s], v), dfMul(a1[s], y)), z2[s]);
    z2[s] = dfSub(dfMul(b2[s], v), dfMul(a2[s], y));
    v = y;
  }
  return v;
}

// State component m: z1 of section m / 2 (m even) or its z2.
fn getState(m: u32) -> vec2<f32> { if ((m & 1u) == 0u) { return z1[m >> 1u]; } return z2[m >> 1u]; }
fn setState(m: u32, v: vec2<f32>) { if ((m & 1u) == 0u) { z1[m >> 1u] = v; } else { z2[m >> 1u] = v; } }

// A row's record: its samples at data[off, off + n), the delay d removed, its states from base,
// chunks of L samples over total = n + d.
struct Row { rec: u32, off: u32, n: u32, d: u32, total: u32, base: u32, L: u32, chunks: u32 }
fn row(r: u32) -> Row {
  let rec = HEADER + r * REC;
  let n = recs[rec + 1u];
  let d = recs[rec + 5u];
  let L = recs[3];
  return Row(rec, recs[rec], n, d, n + d, recs[rec + 6u], L, (n + d + L - 1u) / L);
}

fn input(off: u32, n: u32, i: u32) -> vec2<f32> {
  if (i < n) { return vec2<f32>(src[off + i], 0.0); }
  return vec2<f32>(0.0);
}
${STAGES[stage]}`);
}

// The forced and apply stages: thread (c, row) works on chunk c of the row.
const CHUNK_PROLOGUE = `
@compute @workgroup_size(${2 * MAX_SECTIONS})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  zero = recs[2];
  let c = gid.x;
  if (gid.y >= recs[0]) { return; }
  let R = row(gid.y);`;

const STAGES: Record<IirStage, string> = {
  forced: /* wgsl */ `
${CHUNK_PROLOGUE}
  loadCascade(R.rec);
  let w = 2u * ns;
  if (c + 1u < R.chunks) {
    // From rest over chunk c; the last chunk's final state is not needed.
    let end = c * R.L + R.L;
    for (var i = c * R.L; i < end; i = i + 1u) { _ = cascade(input(R.off, R.n, i)); }
    for (var m = 0u; m < w; m = m + 1u) { states[R.base + w * w + c * w + m] = getState(m); }
  } else if (c >= R.chunks && c < R.chunks + w && R.chunks > 1u) {
    // Column j of Φ: L samples of silence from the unit state e_j.
    let j = c - R.chunks;
    setState(j, vec2<f32>(1.0, 0.0));
    for (var i = 0u; i < R.L; i = i + 1u) { _ = cascade(vec2<f32>(0.0)); }
    for (var m = 0u; m < w; m = m + 1u) { states[R.base + j * w + m] = getState(m); }
  }
}`,
  carry: /* wgsl */ `
var<workgroup> cur: array<vec2<f32>, WG>;
@compute @workgroup_size(${2 * MAX_SECTIONS})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) m: u32) {
  zero = recs[2];
  if (wg.x >= recs[0]) { return; }
  let R = row(wg.x);
  let base = R.base;
  let chunks = R.chunks;
  let w = 2u * min(recs[R.rec + 4u], MAXS);
  // Row m of Φ (Φ[m][j] = component m of column j), kept in registers for the whole scan.
  var phi: array<vec2<f32>, WG>;
  for (var j = 0u; j < w; j = j + 1u) {
    if (m < w && chunks > 1u) { phi[j] = states[base + j * w + m]; }
  }
  cur[m] = vec2<f32>(0.0);
  for (var k = 0u; k < chunks; k = k + 1u) {
    workgroupBarrier();
    var next = vec2<f32>(0.0);
    if (m < w) {
      let at = base + w * w + k * w + m;
      if (k + 1u < chunks) {
        next = states[at];
        for (var j = 0u; j < w; j = j + 1u) { next = dfAdd(next, dfMul(phi[j], cur[j])); }
      }
      states[at] = cur[m];
    }
    workgroupBarrier();
    cur[m] = next;
  }
}`,
  apply: /* wgsl */ `
${CHUNK_PROLOGUE}
  if (c >= R.chunks) { return; }
  loadCascade(R.rec);
  let w = 2u * ns;
  for (var m = 0u; m < w; m = m + 1u) { setState(m, states[R.base + w * w + c * w + m]); }
  let end = min(c * R.L + R.L, R.total);
  for (var i = c * R.L; i < end; i = i + 1u) {
    let y = cascade(input(R.off, R.n, i));
    // hi is the sum rounded to f32 (quickTwoSum), as the CPU's f64 → f32 store.
    if (i >= R.d) { data[R.off + i - R.d] = y.x; }
  }
}`,
};

/** The cascade as the aux words the kernel reads. */
export function packSections(sections: readonly Biquad[]): Float32Array {
  if (sections.length > MAX_SECTIONS) throw new RangeError(`${sections.length} biquad sections; the GPU kernel takes at most ${MAX_SECTIONS}`);
  const out = new Float32Array(Math.max(1, 10 * sections.length));
  sections.forEach((s, k) =>
    [s.b0, s.b1, s.b2, s.a1, s.a2].forEach((c, j) => {
      const hi = Math.fround(c);
      out[10 * k + 2 * j] = hi;
      out[10 * k + 2 * j + 1] = Math.fround(c - hi);
    }),
  );
  return out;
}
