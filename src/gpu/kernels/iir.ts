// Biquad cascades per row (filter, eq, telephone, micresponse): the GPU twin of biquadFilter +
// filterAligned (src/audio/biquad.ts). An IIR filter is sequential in time, so each row is one
// thread running the whole cascade per sample with every section's state in registers: one read
// and one write per sample, in place. The cascade's delay d is removed as the CPU does: the row
// is continued by d zeros and output i is cascade output i + d (written d samples behind the
// read position, so in place is safe).
//
// Rows of a batch run side by side (64 threads per workgroup). A chunked scan formulation (run
// chunks from rest, carry the 2S-dimensional state across chunks, re-run) would occupy more of a
// large GPU for few rows; with hundreds of rows per batch the per-row form was enough (see
// bench/gpu-e2e.mjs), and it keeps the twin's order of operations.
//
// Numerics: the CPU filters in f64. In f32, coefficient rounding and state round-off move poles
// near z = 1 (low corners at high rates) too far for a 1e-4 relative error: measured 2e-3 for an
// EQ band at 100 Hz and 1e-3 for a 20 Hz high-pass at 48 kHz. So the recursion runs in
// double-float arithmetic (a value is the unevaluated sum hi + lo of two f32, ~48 bits; Dekker
// 1971, with the error-free TwoSum and TwoProd of Hida, Li and Bailey's QD library): coefficients
// are split into hi + lo on the host, samples in and out are f32. About ten times the arithmetic
// of plain f32. Measured against the CPU ops (test/gpu/elementwise-iir.test.ts): relative L2
// error ≤ 1.6e-9 at 8-48 kHz, most rows bit-identical.
import type { Biquad } from "../../audio/biquad.js";
import { HEADER, REC, expand } from "./elementwise.js";

/** Most sections in one cascade (eq allows 16 bands; Butterworth order 8 band-pass is 8). */
export const MAX_SECTIONS = 32;
const IIR_WG = 64;

/** Header word 2 of an IIR dispatch: the kernel's `zero` (read at run time, so no compiler can fold it). */
export const IIR_ZERO = 0;

/**
 * Records: [off, len, coefOffset (in aux), slot, sections (u32), delay (u32), 0, 0]; aux holds
 * 10 f32 per section: b0, b1, b2, a1, a2, each as hi, lo.
 */
export function iirWgsl(): string {
  return expand(`
@group(0) @binding(0) var<storage, read> recs: array<u32>;
@group(0) @binding(1) var<storage, read_write> data: array<f32>;
@group(0) @binding(2) var<storage, read> aux: array<f32>;
@group(0) @binding(3) var<storage, read_write> scal: array<f32>;
@group(0) @binding(4) var<storage, read_write> part: array<vec4<f32>>;
const MAXS: u32 = ${MAX_SECTIONS}u;
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
@compute @workgroup_size(${IIR_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  zero = recs[2];
  if (r >= recs[0]) { return; }
  let rec = ${HEADER}u + r * ${REC}u;
  let off = recs[rec];
  let n = recs[rec + 1u];
  let co = recs[rec + 2u];
  let ns = min(recs[rec + 4u], MAXS);
  let d = recs[rec + 5u];
  var b0: array<vec2<f32>, ${MAX_SECTIONS}>;
  var b1: array<vec2<f32>, ${MAX_SECTIONS}>;
  var b2: array<vec2<f32>, ${MAX_SECTIONS}>;
  var a1: array<vec2<f32>, ${MAX_SECTIONS}>;
  var a2: array<vec2<f32>, ${MAX_SECTIONS}>;
  var z1: array<vec2<f32>, ${MAX_SECTIONS}>;
  var z2: array<vec2<f32>, ${MAX_SECTIONS}>;
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
  for (var i = 0u; i < n + d; i = i + 1u) {
    var v = vec2<f32>(0.0);
    if (i < n) { v.x = data[off + i]; }
    for (var s = 0u; s < ns; s = s + 1u) {
      // Transposed direct form II, as biquadFilter.
      let y = dfAdd(dfMul(b0[s], v), z1[s]);
      z1[s] = dfAdd(dfSub(dfMul(b1[s], v), dfMul(a1[s], y)), z2[s]);
      z2[s] = dfSub(dfMul(b2[s], v), dfMul(a2[s], y));
      v = y;
    }
    // hi is the sum rounded to f32 (quickTwoSum), as the CPU's f64 → f32 store.
    if (i >= d) { data[off + i - d] = v.x; }
  }
}`);
}

export const IIR_WORKGROUP = IIR_WG;

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
