// Image-source room simulation on WebGPU, many rooms and mics per dispatch: the image-source part
// of src/rooms/simulate.ts (imageSources) in parallel, as gpuRIR does; the band split, the seeded
// late tail and the high-pass stay on the CPU (finishRoom), so the RIRs follow the same recipe.
//
// Gather by output time: a workgroup owns TAPS consecutive taps of one (room, mic) and visits only
// the images that can reach them: arrivals in [t0 - 40, t0 + TAPS + 40) samples, a spherical shell.
// The per-axis image lists (built on the CPU by the same axisImages, sorted by |offset|) make the
// shell cheap to walk: for each (x, y) image pair within the shell's outer radius the z images in
// the shell are one contiguous run of the z list, found by binary search. Each image's 81-tap
// windowed sinc (the CPU's table, phase rounded to 1/256 sample) is added into workgroup memory.
//
// Exactness. f32 cannot place an arrival 300 m away to the 1e-5 sample the phase rounding needs,
// so distances and delays are computed in double-f32 arithmetic (offsets uploaded as hi + lo pairs,
// error-free sums and products: Dekker's split done by masking mantissa bits, so a compiler fusing
// a * b + c into an fma cannot break it; one Newton step for the square root); the image's phase and
// whole-sample delay then match the CPU's Float64 ones except at exact ties. The sums are 64-bit
// fixed point (two u32 atomics with carry, quantum 2^-40 of the direct path's amplitude): integer
// adds commute, so the result is the same bits whatever order threads run in, and no f32
// accumulation error builds up over the thousands of images a late tap sums. What remains is the
// f32 rounding of each image's gain and sinc tap (~1e-7 relative).

import { PRUNE_RELATIVE, SINC_PHASES, SINC_TAPS, axisImages, finishRoom, ismWindowStartS, prepareRoom, sincTableFor } from "../../rooms/simulate.js";
import type { IsmResult, PreparedRoom, SimulationInfo } from "../../rooms/simulate.js";
import type { RoomSpec } from "../../rooms/types.js";
import { storageBuffer, submitAndRead, uploadBuffer } from "./fft.js";

/** Taps per workgroup (its accumulators: TAPS * bands * 8 bytes of workgroup memory). */
export const ROOM_TAPS = 256;
/** Threads per workgroup. */
export const ROOM_WORKGROUP = 256;
/** Most octave bands a room may have on the GPU. */
export const ROOM_MAX_BANDS = 8;
/** f32 words per axis image: offset hi, offset lo, order (u32 bits), gain per band. */
const AXIS_WORDS = 3 + ROOM_MAX_BANDS;
/** u32 words per (room, mic) row; see rowWords. */
const ROW_WORDS = 25;
const SINC_HALF = (SINC_TAPS - 1) / 2;

/** Double-f32 helpers (exported for tests of their exactness on a given compiler). */
export const DOUBLE_F32_WGSL = /* wgsl */ `
// ---- double-f32 arithmetic (hi + lo, |lo| <= ulp(hi) / 2). Optimisers rewrite float algebra
// ((a + b) - a -> b, sqrt(a) * sqrt(a) -> a, reassociation: Mesa's does), which erases the
// rounding-error terms these functions exist to compute. Every rounded result they reuse passes
// through fence(): its bits XOR a zero read at run time, opaque to any optimiser, exact in value.
var<private> ZERO: u32;
fn fence(x: f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) ^ ZERO); }
fn quickTwoSum(a: f32, b: f32) -> vec2f { let s = fence(a + b); return vec2f(s, b - fence(s - a)); }
fn twoSum(a: f32, b: f32) -> vec2f { let s = fence(a + b); let bb = fence(s - a); return vec2f(s, (a - fence(s - bb)) + (b - bb)); }
/** a = hi + lo with hi holding the top 12 significant bits: products of halves are exact in f32. */
fn split(a: f32) -> vec2f { let hi = bitcast<f32>(bitcast<u32>(a) & 0xfffff000u); return vec2f(hi, fence(a - hi)); }
fn twoProd(a: f32, b: f32) -> vec2f {
  let p = fence(a * b);
  let sa = split(a);
  let sb = split(b);
  return vec2f(p, ((fence(sa.x * sb.x) - p) + fence(sa.x * sb.y) + fence(sa.y * sb.x)) + fence(sa.y * sb.y));
}
fn dfAdd(a: vec2f, b: vec2f) -> vec2f { let s = twoSum(a.x, b.x); return quickTwoSum(s.x, s.y + a.y + b.y); }
fn dfMul(a: vec2f, b: vec2f) -> vec2f { let p = twoProd(a.x, b.x); return quickTwoSum(p.x, p.y + (a.x * b.y + a.y * b.x)); }
/**
 * One Newton step from the f32 root. The residual a - r^2 is formed from r's halves (rh^2, 2 rh rl,
 * rl^2: exact products, exact differences by Sterbenz), never from r * r, which an optimiser may
 * rewrite as a (sqrt(a) * sqrt(a) -> a) and so erase the residual.
 */
fn dfSqrt(a: vec2f) -> vec2f {
  if (a.x <= 0.0) { return vec2f(0.0); }
  let r = fence(sqrt(a.x));
  let h = split(r);
  let residual = (((a.x - fence(h.x * h.x)) - fence(2.0 * h.x * h.y)) - fence(h.y * h.y)) + a.y;
  return quickTwoSum(r, residual / (2.0 * r));
}
fn dfLess(a: vec2f, b: vec2f) -> bool { return a.x < b.x || (a.x == b.x && a.y < b.y); }
`;

const WGSL = /* wgsl */ `
// Scalars only, so the layout is ROW_WORDS packed words (a vec2f member would be 8-aligned).
struct Row {
  xs: u32, xn: u32, ys: u32, yn: u32, zs: u32, zn: u32,
  n: u32, bands: u32, maxOrder: u32, outOffset: u32,
  maxDist2Hi: f32, maxDist2Lo: f32, spmHi: f32, spmLo: f32, prune: f32,
  winFromHi: f32, winFromLo: f32, winToHi: f32, winToLo: f32,
  patternA: f32, ux: f32, uy: f32, uz: f32, scale: f32, zero: u32,
}
@group(0) @binding(0) var<storage, read> rows: array<Row>;
@group(0) @binding(1) var<storage, read> axes: array<f32>;
@group(0) @binding(2) var<storage, read> blocks: array<vec2u>;
@group(0) @binding(3) var<storage, read> sinc: array<f32>;
@group(0) @binding(4) var<storage, read_write> acc: array<u32>;
@group(0) @binding(5) var<storage, read_write> counts: array<atomic<u32>>;

var<workgroup> accLo: array<atomic<u32>, ${ROOM_TAPS * ROOM_MAX_BANDS}>;
var<workgroup> accHi: array<atomic<u32>, ${ROOM_TAPS * ROOM_MAX_BANDS}>;
var<workgroup> imagesHere: atomic<u32>;
var<workgroup> windowHere: atomic<u32>;

${DOUBLE_F32_WGSL}
fn axisOffset(i: u32) -> vec2f { return vec2f(axes[i * ${AXIS_WORDS}u], axes[i * ${AXIS_WORDS}u + 1u]); }
fn axisOrder(i: u32) -> u32 { return bitcast<u32>(axes[i * ${AXIS_WORDS}u + 2u]); }
fn axisGain(i: u32, b: u32) -> f32 { return axes[i * ${AXIS_WORDS}u + 3u + b]; }

/** First index in [start, start + count) whose |offset| >= v (the lists are sorted by |offset|). */
fn lowerBound(start: u32, count: u32, v: f32) -> u32 {
  var lo = 0u;
  var hi = count;
  loop {
    if (lo >= hi) { break; }
    let mid = (lo + hi) / 2u;
    if (abs(axes[(start + mid) * ${AXIS_WORDS}u]) < v) { lo = mid + 1u; } else { hi = mid; }
  }
  return lo;
}

/** Adds v (any sign) as a 64-bit fixed-point number, exactly, to slot i. */
fn addFixed(i: u32, v: f32) {
  let a = abs(v);
  let hiF = floor(a * ${2 ** -32});
  var lo = u32(round(a - hiF * ${2 ** 32}.0));
  var hi = u32(hiF);
  if (v < 0.0) {
    hi = ~hi + select(0u, 1u, lo == 0u);
    lo = ~lo + 1u;
  }
  let old = atomicAdd(&accLo[i], lo);
  atomicAdd(&accHi[i], hi + select(0u, 1u, old + lo < old));
}

@compute @workgroup_size(${ROOM_WORKGROUP})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let blk = blocks[wid.x + wid.y * nwg.x];
  // Padding blocks (which complete a 2-D dispatch) do nothing; no early return: barriers follow.
  let valid = blk.y != 0xffffffffu;
  let R = rows[select(0u, blk.x, valid)];
  let t0 = select(0u, blk.y, valid);
  ZERO = R.zero;
  let bands = R.bands;
  let spm = vec2f(R.spmHi, R.spmLo);
  let maxDist2 = vec2f(R.maxDist2Hi, R.maxDist2Lo);
  let winFrom = vec2f(R.winFromHi, R.winFromLo);
  let winTo = vec2f(R.winToHi, R.winToLo);
  let lastBlock = t0 + ${ROOM_TAPS}u >= R.n;
  // Arrivals that reach taps [t0, t0 + TAPS): delays in [t0 - 40, t0 + TAPS + 40), one sample spare.
  let d0 = max(0.0, (f32(t0) - ${SINC_HALF + 1}.0) / spm.x);
  let d1 = (f32(t0) + ${ROOM_TAPS + SINC_HALF + 1}.0) / spm.x;
  let nx = lowerBound(R.xs, R.xn, d1);
  let ny = lowerBound(R.ys, R.yn, d1);
  let pairs = select(0u, nx * ny, valid);
  for (var p = lid; p < pairs; p += ${ROOM_WORKGROUP}u) {
    let ix = R.xs + p / ny;
    let iy = R.ys + p % ny;
    let oxy = axisOrder(ix) + axisOrder(iy);
    if (oxy > R.maxOrder) { continue; }
    let dx = axisOffset(ix);
    let dy = axisOffset(iy);
    let dxy2 = dfAdd(dfMul(dx, dx), dfMul(dy, dy));
    if (dxy2.x >= d1 * d1) { continue; }
    let zFrom = lowerBound(R.zs, R.zn, sqrt(max(0.0, d0 * d0 - dxy2.x)) * 0.9999);
    let zTo = lowerBound(R.zs, R.zn, sqrt(d1 * d1 - dxy2.x) * 1.0001);
    for (var k = zFrom; k < zTo; k++) {
      let iz = R.zs + k;
      if (oxy + axisOrder(iz) > R.maxOrder) { continue; }
      let dz = axisOffset(iz);
      let d2 = dfAdd(dxy2, dfMul(dz, dz));
      if (!dfLess(d2, maxDist2)) { continue; }
      let dist = dfSqrt(d2);
      let delay = dfMul(dist, spm);
      var whole = floor(delay.x);
      var frac = (delay.x - whole) + delay.y;
      if (frac < 0.0) { whole -= 1.0; frac += 1.0; }
      if (frac >= 1.0) { whole += 1.0; frac -= 1.0; }
      let start = i32(whole) - ${SINC_HALF};
      // Taps this workgroup owns, and whether it owns the image's count (by its whole delay).
      let k0 = max(0, i32(t0) - start);
      let k1 = min(min(${SINC_TAPS}, i32(t0 + ${ROOM_TAPS}u) - start), i32(R.n) - start);
      let owns = u32(whole) >= t0 && (u32(whole) < t0 + ${ROOM_TAPS}u || lastBlock);
      if (k0 >= k1 && !owns) { continue; }
      var amp = 1.0 / (${4 * Math.PI} * dist.x);
      if (R.patternA != 1.0) {
        amp *= R.patternA + (1.0 - R.patternA) * (dx.x * R.ux + dy.x * R.uy + dz.x * R.uz) / dist.x;
      }
      var g: array<f32, ${ROOM_MAX_BANDS}>;
      var peak = 0.0;
      for (var b = 0u; b < bands; b++) {
        g[b] = amp * axisGain(ix, b) * axisGain(iy, b) * axisGain(iz, b);
        peak = max(peak, abs(g[b]));
      }
      if (peak < R.prune) { continue; }
      if (owns) {
        atomicAdd(&imagesHere, 1u);
        if (!dfLess(dist, winFrom) && dfLess(dist, winTo)) { atomicAdd(&windowHere, 1u); }
      }
      let phase = u32(floor(frac * ${SINC_PHASES}.0 + 0.5));
      let rowAt = phase * ${SINC_TAPS}u;
      for (var t = k0; t < k1; t++) {
        let s = sinc[rowAt + u32(t)];
        let slot = u32(start + t) - t0;
        for (var b = 0u; b < bands; b++) { addFixed(slot * bands + b, g[b] * s * R.scale); }
      }
    }
  }
  workgroupBarrier();
  let here = select(0u, ${ROOM_TAPS}u * bands, valid);
  for (var i = lid; i < here; i += ${ROOM_WORKGROUP}u) {
    if (t0 + i / bands < R.n) {
      let o = 2u * (R.outOffset + t0 * bands + i);
      acc[o] = atomicLoad(&accLo[i]);
      acc[o + 1u] = atomicLoad(&accHi[i]);
    }
  }
  if (lid == 0u && valid) {
    atomicAdd(&counts[2u * blk.x], atomicLoad(&imagesHere));
    atomicAdd(&counts[2u * blk.x + 1u], atomicLoad(&windowHere));
  }
}
`;

/** A double-f32 pair [hi, lo] for x. */
function df(x: number): [number, number] {
  const hi = Math.fround(x);
  return [hi, Math.fround(x - hi)];
}

/** Everything the kernel needs for a batch of rooms, as host arrays. */
export interface RoomBatch {
  rooms: PreparedRoom[];
  /** Per (room, mic) row, in room then mic order. */
  rows: Array<{ room: number; mic: number; n: number; bands: number; scale: number; outOffset: number; directSamples: number }>;
  rowWords: Uint32Array;
  axes: Float32Array;
  /** (row, first tap) per workgroup. */
  blocks: Uint32Array;
  /** Accumulator slots in all (taps x bands over every row); the output holds two u32 per slot. */
  slots: number;
}

/** Builds a batch's inputs on the CPU: per (room, mic) the axis image lists and constants. */
export function prepareRoomBatch(rooms: PreparedRoom[]): RoomBatch {
  const rows: RoomBatch["rows"] = [];
  const rowWords: number[] = [];
  const axes: number[] = [];
  const blocks: number[] = [];
  let slots = 0;
  const words = new ArrayBuffer(ROW_WORDS * 4);
  const asU32 = new Uint32Array(words);
  const asF32 = new Float32Array(words);
  rooms.forEach((room, roomIndex) => {
    const bands = room.beta[0].length;
    if (bands > ROOM_MAX_BANDS) throw new RangeError(`the GPU room kernel takes at most ${ROOM_MAX_BANDS} bands, got ${bands}`);
    const { dims, source, cMs, maxOrder, beta, lengthSamples: n, sampleRate: fs } = room;
    const maxDist = room.ismEndS * cMs;
    const windowStartS = ismWindowStartS(room);
    room.mics.forEach((m, mic) => {
      const lists = [0, 1, 2].map((a) => axisImages(dims[a], source[a], m[a], beta[2 * a], beta[2 * a + 1], maxDist, maxOrder));
      const starts = lists.map((list) => {
        const start = axes.length / AXIS_WORDS;
        for (let i = 0; i < list.count; i++) {
          const entry = new Array<number>(AXIS_WORDS).fill(0);
          const [hi, lo] = df(list.offset[i]);
          entry[0] = hi;
          entry[1] = lo;
          entry[2] = new Float32Array(new Uint32Array([list.order[i]]).buffer)[0];
          for (let b = 0; b < bands; b++) entry[3 + b] = list.gain[i * bands + b];
          axes.push(...entry);
        }
        return start;
      });
      const direct = Math.hypot(m[0] - source[0], m[1] - source[1], m[2] - source[2]);
      const a0 = 1 / (4 * Math.PI * direct);
      // Quantum 2^-40 of the direct path's amplitude; sums up to 2^23 times it fit in 64 bits.
      const scale = 2 ** (40 - Math.floor(Math.log2(a0)));
      const { a: patternA, axis } = room.patterns[mic];
      asU32.set([starts[0], lists[0].count, starts[1], lists[1].count, starts[2], lists[2].count, n, bands, maxOrder === Infinity ? 0xffffffff : maxOrder, slots]);
      const windowFrom = windowStartS * cMs;
      const windowTo = room.transitionS !== null ? room.transitionS * cMs : -1;
      asF32.set([...df(maxDist * maxDist), ...df(fs / cMs), PRUNE_RELATIVE / (4 * Math.PI * direct)], 10);
      asF32.set([...df(Number.isFinite(windowFrom) ? windowFrom : 3e38), ...df(windowTo), patternA, axis[0], axis[1], axis[2], scale, 0], 15);
      const row = rows.length;
      rowWords.push(...asU32);
      rows.push({ room: roomIndex, mic, n, bands, scale, outOffset: slots, directSamples: direct * (fs / cMs) });
      for (let t0 = 0; t0 < n; t0 += ROOM_TAPS) blocks.push(row, t0);
      slots += n * bands;
    });
  });
  return { rooms, rows, rowWords: Uint32Array.from(rowWords), axes: Float32Array.from(axes), blocks: Uint32Array.from(blocks), slots };
}

/** Image-source kernel: one pipeline; encode records one dispatch over a batch's blocks. */
export class GpuImageSources {
  private pipeline: GPUComputePipeline;
  private sinc: GPUBuffer;
  constructor(private device: GPUDevice) {
    const module = device.createShaderModule({ label: "image sources", code: WGSL });
    this.pipeline = device.createComputePipeline({ label: "image sources", layout: "auto", compute: { module, entryPoint: "main" } });
    this.sinc = uploadBuffer(device, Float32Array.from(sincTableFor()), "sinc table");
  }

  /**
   * Records the dispatch. Buffers hold the batch's arrays (rowWords, axes, blocks); `acc`
   * receives 2 * batch.slots u32 (every slot written: the 64-bit sums, lo then hi); `counts`
   * (2 u32 per row: images, window images) must be zero before.
   */
  encode(encoder: GPUCommandEncoder, args: { batch: RoomBatch; rows: GPUBuffer; axes: GPUBuffer; blocks: GPUBuffer; acc: GPUBuffer; counts: GPUBuffer }): void {
    const groups = args.batch.blocks.length / 2;
    if (groups === 0) return;
    const x = Math.min(groups, 65535);
    const y = Math.ceil(groups / x);
    if (x * y !== groups) throw new RangeError(`${groups} blocks do not tile a ${x} x ${y} dispatch; the block table must be padded`);
    const buffers = [args.rows, args.axes, args.blocks, this.sinc, args.acc, args.counts];
    const pass = encoder.beginComputePass({ label: "image sources" });
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, this.device.createBindGroup({
      layout: this.pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    }));
    pass.dispatchWorkgroups(x, y);
    pass.end();
  }

  destroy(): void {
    this.sinc.destroy();
  }
}

/** The kernel's sums as the CPU's acc arrays (Float64, interleaved bands), per row. */
function decodeAcc(batch: RoomBatch, raw: Uint32Array): Float64Array[] {
  return batch.rows.map((row) => {
    const out = new Float64Array(row.n * row.bands);
    for (let i = 0; i < out.length; i++) {
      const at = 2 * (row.outOffset + i);
      out[i] = ((raw[at + 1] | 0) * 4294967296 + raw[at]) / row.scale;
    }
    return out;
  });
}

/** The image-source stage of every mic of every room on the GPU: isms[room][mic], as imageSources() gives. */
export async function gpuImageSources(device: GPUDevice, rooms: PreparedRoom[]): Promise<IsmResult[][]> {
  const batch = prepareRoomBatch(rooms);
  // A 2-D dispatch needs the block count to tile it: pad with empty blocks (a row past every tap).
  const groups = batch.blocks.length / 2;
  if (groups > 65535) {
    const x = 65535;
    const padded = new Uint32Array(2 * x * Math.ceil(groups / x));
    padded.set(batch.blocks);
    for (let g = groups; g < padded.length / 2; g++) padded.set([0, 0xffffffff], 2 * g);
    batch.blocks = padded;
  }
  const kernel = new GpuImageSources(device);
  const owned: GPUBuffer[] = [];
  try {
    const rows = uploadBuffer(device, batch.rowWords, "room rows");
    const axes = uploadBuffer(device, batch.axes.length ? batch.axes : new Float32Array(4), "axis images");
    const blocks = uploadBuffer(device, batch.blocks, "room blocks");
    const acc = storageBuffer(device, Math.max(1, batch.slots) * 8, "room acc");
    const counts = storageBuffer(device, batch.rows.length * 8, "room counts");
    owned.push(rows, axes, blocks, acc, counts);
    const encoder = device.createCommandEncoder();
    kernel.encode(encoder, { batch, rows, axes, blocks, acc, counts });
    const countWords = batch.rows.length * 2;
    const raw = new Uint32Array(await submitAndRead(device, encoder, acc, batch.slots * 8));
    const countRaw = new Uint32Array(await submitAndRead(device, device.createCommandEncoder(), counts, countWords * 4));
    const accs = decodeAcc(batch, raw);
    const out: IsmResult[][] = rooms.map(() => []);
    batch.rows.forEach((row, i) => {
      out[row.room][row.mic] = { acc: accs[i], images: countRaw[2 * i], windowImages: countRaw[2 * i + 1], directSamples: row.directSamples };
    });
    return out;
  } finally {
    for (const b of owned) b.destroy();
    kernel.destroy();
  }
}

/** simulateRoomWithInfo for each spec, the image sources on the GPU (one dispatch for all rooms). */
export async function gpuSimulateRooms(device: GPUDevice, specs: RoomSpec[]): Promise<Array<{ rirs: Float32Array[]; info: SimulationInfo }>> {
  const rooms = specs.map((spec) => prepareRoom(spec));
  const isms = await gpuImageSources(device, rooms);
  return rooms.map((room, i) => finishRoom(room, isms[i]));
}
