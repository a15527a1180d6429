// Element-wise kernels over a batch of rows, with per-row reductions, and the int16 conversion.
//
// Buffer layout, shared by every kernel here and by iir.ts (one bind group layout):
//   binding 0  recs  u32[]   a dispatch's block: HEADER words, then one REC-word record per row:
//                            [off, len, aux, slot, p0, p1, p2, p3] (p* are f32 bit patterns)
//   binding 1  data  f32[]   the audio; row r is data[off, off + len) (rows packed, any stride)
//   binding 2  aux   f32[]   per-row side input (a noise segment, filter coefficients) at `aux`
//   binding 3  scal  f32[]   per-row scalars: an op step's values live at scal[slot + k]
//   binding 4  part  vec4[]  partial reductions, part[rowIndex * maxChunks + chunk]
// A map-reduce pass runs WG threads per CHUNK samples (workgroups: chunks x rows) and may
// rewrite x and accumulate up to four sums or maxima per row; a finalize pass (one workgroup per
// row) reduces the partials and runs a per-row epilogue that writes scalars (a gain, a measured
// SNR). An op is a few such passes; a scalar an epilogue writes is read by the next pass, so
// decisions that depend on the audio (SNR gain, clipping limits) never leave the GPU.
//
// Float32 throughout (WGSL has no f64): sums run per thread over CHUNK / WG samples, then as a
// tree, so their relative error stays near 1e-7 where the CPU sums in f64.

/** Threads per workgroup of the element-wise passes. */
export const WG = 256;
/** Samples per workgroup of a map-reduce pass (8192 reached 64-76% of a copy's bandwidth on the H200; 2048 50-76%). */
export const CHUNK = 8192;
/** Loads in flight per thread in the map-reduce and int16 passes. */
export const UNROLL = 4;
/** Words before the first record in a meta block: [count, maxChunks, combine mask, opcode]. */
export const HEADER = 4;
/** Words per row record. */
export const REC = 8;
/** Threads per workgroup of a finalize pass. */
const FIN_WG = 64;

export type Combine = "sum" | "max";

export interface MapReduceSpec {
  /**
   * WGSL run for each sample: `x` (var f32) is the sample, `a` the aux sample when `aux`, `i`
   * its index, `n` the row length (u32), P(k) a per-row parameter, S(k) a per-row scalar;
   * accumulate into `acc` (vec4<f32>), e.g. `acc.x += x * x;`.
   */
  body: string;
  /** Write `x` back (in place). */
  write: boolean;
  aux?: boolean;
  /** Combine of acc.x .. acc.w (unused lanes may be left out). */
  accs: Combine[];
}

export interface FinalizeSpec {
  accs: Combine[];
  /** WGSL run once per row: `r` (vec4) reduced, `nf` the length as f32, P(k), S(k) (assign to write), `zero` for opq/mulDouble. */
  epilogue: string;
}

/** A registered pass: its opcode in the shared pipeline and its lanes' combine mask. */
export interface PassRef {
  kind: "map" | "finalize";
  label: string;
  opcode: number;
  mask: number;
}

// Every op's passes are bodies of ONE map-reduce pipeline and ONE finalize pipeline, selected by
// an opcode in the dispatch header (uniform per dispatch, so the switch costs nothing), because
// each distinct pipeline is compiled on first use: ~0.1 s on a hardware driver but seconds on
// lavapipe, which made one pipeline per pass (about 25) the bulk of a test run.
const maps: Array<{ label: string; spec: MapReduceSpec }> = [];
const finals: Array<{ label: string; spec: FinalizeSpec }> = [];
let frozen = false;

const maskOf = (accs: Combine[]) => accs.reduce((m, c, k) => (c === "max" ? m | (1 << k) : m), 0);

/** Registers a map-reduce body (at module load: the pipeline is generated from all of them). */
export function defineMap(label: string, spec: MapReduceSpec): PassRef {
  // Scalars are read once per workgroup before the loop (mapReduceWgsl): a map pass may not write them.
  if (/\bS\(\d+\)\s*=[^=]/.test(spec.body)) throw new Error(`GPU pass "${label}": a map body may not assign S(k); do it in a finalize epilogue`);
  if (frozen) throw new Error(`GPU pass "${label}" defined after the element-wise pipelines were built`);
  maps.push({ label, spec });
  return { kind: "map", label, opcode: maps.length - 1, mask: maskOf(spec.accs) };
}

/** Registers a finalize epilogue. */
export function defineFinalize(label: string, spec: FinalizeSpec): PassRef {
  if (frozen) throw new Error(`GPU pass "${label}" defined after the element-wise pipelines were built`);
  finals.push({ label, spec });
  return { kind: "finalize", label, opcode: finals.length - 1, mask: maskOf(spec.accs) };
}

const PRELUDE = /* wgsl */ `
@group(0) @binding(0) var<storage, read> recs: array<u32>;
@group(0) @binding(1) var<storage, read_write> data: array<f32>;
@group(0) @binding(2) var<storage, read> aux: array<f32>;
@group(0) @binding(3) var<storage, read_write> scal: array<f32>;
@group(0) @binding(4) var<storage, read_write> part: array<vec4<f32>>;
const HEADER: u32 = ${HEADER}u;
const REC: u32 = ${REC}u;
fn recOf(r: u32) -> u32 { return HEADER + r * REC; }
// An f32 through an xor with a zero the compiler cannot see (the opcode's top bit, always 0):
// keeps float simplifications from folding an error term to 0 (see iir.ts).
fn opq(x: f32, zero: u32) -> f32 { return bitcast<f32>(bitcast<u32>(x) ^ zero); }
// a * (bh + bl) as a double-float (hi, lo): Dekker's exact product of a and bh (Veltkamp splits),
// plus a * bl. For decisions the CPU makes in f64, e.g. which samples lie above a ceiling.
fn mulDouble(a: f32, bh: f32, bl: f32, zero: u32) -> vec2<f32> {
  let p = opq(a * bh, zero);
  let ca = opq(4097.0 * a, zero);
  let ah = opq(ca - opq(ca - a, zero), zero);
  let al = a - ah;
  let cb = opq(4097.0 * bh, zero);
  let bhh = opq(cb - opq(cb - bh, zero), zero);
  let bhl = bh - bhh;
  let e = ((((ah * bhh - p) + ah * bhl) + al * bhh) + al * bhl) + a * bl;
  let s = opq(p + e, zero);
  return vec2<f32>(s, e - opq(s - p, zero));
}
// Lane k of the mask set: max, else sum. The identity of both is 0 (every max is of magnitudes).
fn combine(a: vec4<f32>, b: vec4<f32>, mask: u32) -> vec4<f32> {
  let m = vec4<bool>((mask & 1u) != 0u, (mask & 2u) != 0u, (mask & 4u) != 0u, (mask & 8u) != 0u);
  return select(a + b, max(a, b), m);
}
`;

const TREE = (wg: number) => `
  red[lid] = acc;
  workgroupBarrier();
  for (var s: u32 = ${wg / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = combine(red[lid], red[lid + s], mask); }
    workgroupBarrier();
  }`;

export function mapReduceWgsl(): string {
  // One loop per op inside the (uniform) switch, rather than a switch per sample: the row's
  // scalars and parameters are loaded once before the loop (S(k) → sv_k, P(k) → pv_k), since a
  // compiler cannot hoist loads from a read_write binding past the loop's writes to `data`.
  const cases = maps
    .map(({ label, spec }, k) => {
      const used = (re: RegExp) => [...new Set([...spec.body.matchAll(re)].map((m) => Number(m[1])))];
      const sIdx = used(/\bS\((\d+)\)/g);
      const pIdx = used(/\bP\((\d+)\)/g);
      const body = spec.body.replace(/\bS\((\d+)\)/g, (_, j) => `sv_${j}`).replace(/\bP\((\d+)\)/g, (_, j) => `pv_${j}`);
      return `
      case ${k}u: { // ${label}
        ${sIdx.map((j) => `let sv_${j} = scal[slot + ${j}u];`).join(" ")}
        ${pIdx.map((j) => `let pv_${j} = bitcast<f32>(recs[rec + ${4 + j}u]);`).join(" ")}
        // UNROLL loads issued before any is used; samples still taken in index order.
        for (var i0 = start + lid; i0 < end; i0 = i0 + ${UNROLL * WG}u) {
          var xs: array<f32, ${UNROLL}>;
          for (var u = 0u; u < ${UNROLL}u; u = u + 1u) {
            let i = i0 + u * ${WG}u;
            if (i < end) { xs[u] = data[off + i]; }
          }
          for (var u = 0u; u < ${UNROLL}u; u = u + 1u) {
            let i = i0 + u * ${WG}u;
            if (i < end) {
              var x = xs[u];
              ${spec.aux ? "let a = aux[auxOff + i];" : ""}
              ${body}
              ${spec.write ? "data[off + i] = x;" : ""}
            }
          }
        }
      }`;
    })
    .join("");
  return expand(`${PRELUDE}
var<workgroup> red: array<vec4<f32>, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let mask = recs[2];
  let opcode = recs[3];
  let zero = opcode >> 31u;
  let rec = recOf(wg.y);
  let off = recs[rec];
  let n = recs[rec + 1u];
  let auxOff = recs[rec + 2u];
  let slot = recs[rec + 3u];
  let start = wg.x * ${CHUNK}u;
  let end = min(start + ${CHUNK}u, n);
  var acc = vec4<f32>(0.0);
  switch opcode {${cases}
    default: {}
  }
  ${TREE(WG)}
  if (lid == 0u && start < n) { part[wg.y * recs[1] + wg.x] = red[0]; }
}`);
}
/**
 * Snippet macros: P(k) reads the row record's k-th parameter, S(k) is the row's k-th scalar
 * (readable and assignable). They need `rec` and `slot`, which every kernel here defines.
 */
export function expand(code: string): string {
  return code.replace(/\bP\((\d+)\)/g, (_, k) => `bitcast<f32>(recs[rec + ${4 + Number(k)}u])`).replace(/\bS\((\d+)\)/g, (_, k) => `scal[slot + ${k}u]`);
}

export function finalizeWgsl(): string {
  const cases = finals.map(({ label, spec }, k) => `
      case ${k}u: { // ${label}
        ${spec.epilogue}
      }`).join("");
  return expand(`${PRELUDE}
var<workgroup> red: array<vec4<f32>, ${FIN_WG}>;
@compute @workgroup_size(${FIN_WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let mask = recs[2];
  let opcode = recs[3];
  let zero = opcode >> 31u;
  let rec = recOf(wg.x);
  let n = recs[rec + 1u];
  let slot = recs[rec + 3u];
  let chunks = (n + ${CHUNK - 1}u) / ${CHUNK}u;
  var acc = vec4<f32>(0.0);
  for (var c = lid; c < chunks; c = c + ${FIN_WG}u) { acc = combine(acc, part[wg.x * recs[1] + c], mask); }
  ${TREE(FIN_WG)}
  if (lid == 0u) {
    let r = red[0];
    let nf = f32(n);
    switch opcode {${cases}
      default: {}
    }
  }
}`);
}

/** True for NaN and ±Inf by the bit pattern (WGSL compilers may assume finite floats in comparisons). */
const NONFINITE = `fn nonfinite(v: f32) -> bool { return (bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u; }`;

/**
 * floatToInt16 (src/audio/decode.ts): floor(v * 32768 + 0.5) clamped to int16, NaN → 0. The
 * rounding is done exactly: v * 32768 is exact in f32, but adding 0.5 in f32 can round up
 * (0.49999997 + 0.5 == 1.0f), so the fraction is compared instead.
 */
export const TO_INT16 = /* wgsl */ `
${NONFINITE}
fn toInt16(v: f32) -> i32 {
  if ((bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u) { return 0; }
  let t = v * 32768.0;
  if (t >= 32767.0) { return 32767; }
  if (t <= -32768.0) { return -32768; }
  let f = floor(t);
  var q = i32(f);
  if (t - f >= 0.5) { q = q + 1; }
  return clamp(q, -32768, 32767);
}`;

/**
 * int16 conversion of whole rows into packed pairs (pcm u32[], low half first), with the level
 * the item records: acc = (sum of squares, peak, non-finite count). Records: p-words unused; the
 * output offset (in u32 words) is the record's `aux` word.
 */
export function pcm16Wgsl(): string {
  return `${PRELUDE}
@group(1) @binding(0) var<storage, read_write> pcm: array<u32>;
var<workgroup> red: array<vec4<f32>, ${WG}>;
${TO_INT16}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let mask = ${maskOf(["sum", "max", "sum"])}u;
  let rec = recOf(wg.y);
  let off = recs[rec];
  let n = recs[rec + 1u];
  let out = recs[rec + 2u];
  let pairs = (n + 1u) / 2u;
  let start = wg.x * ${CHUNK / 2}u;
  let end = min(start + ${CHUNK / 2}u, pairs);
  var acc = vec4<f32>(0.0);
  for (var j0 = start + lid; j0 < end; j0 = j0 + ${UNROLL * WG}u) {
   var v0s: array<f32, ${UNROLL}>;
   var v1s: array<f32, ${UNROLL}>;
   for (var u = 0u; u < ${UNROLL}u; u = u + 1u) {
    let j = j0 + u * ${WG}u;
    let i = 2u * j;
    // Assigned on every path: a function-scope array in a loop body is not reliably zeroed per
    // iteration by every compiler (a stale odd tail sample was counted in the level on lavapipe).
    v0s[u] = 0.0;
    v1s[u] = 0.0;
    if (j < end) { v0s[u] = data[off + i]; }
    if (j < end && i + 1u < n) { v1s[u] = data[off + i + 1u]; }
   }
   for (var u = 0u; u < ${UNROLL}u; u = u + 1u) {
    let j = j0 + u * ${WG}u;
    if (j >= end) { break; }
    let v0 = v0s[u];
    let v1 = v1s[u];
    let q0 = u32(toInt16(v0)) & 0xffffu;
    let q1 = u32(toInt16(v1)) & 0xffffu;
    pcm[out + j] = q0 | (q1 << 16u);
    let bad = select(0.0, 1.0, nonfinite(v0)) + select(0.0, 1.0, nonfinite(v1));
    let m0 = select(abs(v0), 0.0, nonfinite(v0));
    let m1 = select(abs(v1), 0.0, nonfinite(v1));
    acc = vec4<f32>(acc.x + v0 * v0 + v1 * v1, max(acc.y, max(m0, m1)), acc.z + bad, 0.0);
   }
  }
  ${TREE(WG)}
  if (lid == 0u && 2u * start < n) { part[wg.y * recs[1] + wg.x] = red[0]; }
}`;
}

/** The level of rows converted by pcm16: [sum of squares, peak, non-finite count] into S(0..2). */
export const LEVEL = defineFinalize("level", { accs: ["sum", "max", "sum"], epilogue: "S(0) = r.x; S(1) = r.y; S(2) = r.z;" });

/** The pipelines, compiled once per device. */
export class ElementwiseKernels {
  readonly layout: GPUBindGroupLayout;
  readonly pcmLayout: GPUBindGroupLayout;
  private readonly pipelineLayout: GPUPipelineLayout;
  private readonly pcmPipelineLayout: GPUPipelineLayout;
  private readonly cache = new Map<string, GPUComputePipeline>();

  constructor(readonly device: GPUDevice) {
    const storage = (binding: number, type: GPUBufferBindingType): GPUBindGroupLayoutEntry => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } });
    this.layout = device.createBindGroupLayout({
      label: "elementwise",
      entries: [storage(0, "read-only-storage"), storage(1, "storage"), storage(2, "read-only-storage"), storage(3, "storage"), storage(4, "storage")],
    });
    this.pcmLayout = device.createBindGroupLayout({ label: "pcm16", entries: [storage(0, "storage")] });
    this.pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [this.layout] });
    this.pcmPipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [this.layout, this.pcmLayout] });
  }

  pipeline(label: string, code: () => string, withPcm = false): GPUComputePipeline {
    let p = this.cache.get(label);
    if (!p) {
      const module = this.device.createShaderModule({ label, code: code() });
      p = this.device.createComputePipeline({ label, layout: withPcm ? this.pcmPipelineLayout : this.pipelineLayout, compute: { module, entryPoint: "main" } });
      this.cache.set(label, p);
    }
    return p;
  }

  get mapReduce(): GPUComputePipeline {
    frozen = true;
    return this.pipeline("map-reduce", mapReduceWgsl);
  }

  get finalize(): GPUComputePipeline {
    frozen = true;
    return this.pipeline("finalize", finalizeWgsl);
  }

  get pcm16(): GPUComputePipeline {
    return this.pipeline("pcm16", pcm16Wgsl, true);
  }
}

/** Workgroups of a map-reduce pass over rows of at most `maxLen` samples. */
export function chunksFor(maxLen: number): number {
  return Math.max(1, Math.ceil(maxLen / CHUNK));
}
