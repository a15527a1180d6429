// GPU kernel benchmark: achieved bandwidth and time per kernel, one JSON line per measurement.
//   npx tsc -p tsconfig.json && node bench/gpu-kernels.mjs [--quick] [--only copy,elementwise,fft,fftconv,resample,rooms]
// Times: GPU time from timestamp queries written around the measured passes (when the adapter has
// `timestamp-query`), and wall time of one submit holding `iters` repetitions up to
// onSubmittedWorkDone, per repetition; medians of `runs` runs after a warm-up (which compiles).
// Bandwidth = the kernel's compulsory traffic (read its inputs once, write its outputs once) over
// the GPU time (wall time without timestamps); `traffic_bytes` adds what its passes really move.
// The batched FFT convolution case (256 clips x 10 s at 16 kHz, 0.5 s RIRs) is the one to compare
// with bench/gpu-torch.py, which runs the same computation with torch.fft on CUDA.
import { performance } from "node:perf_hooks";
import { acquireGpu } from "../dist/gpu/device.js";
import { GpuFft, queueDone, setGpuWaitMs, storageBuffer, writeChunked } from "../dist/gpu/kernels/fft.js";
import { GpuFftConvolver, planFftConvolution } from "../dist/gpu/kernels/fftconv.js";
import { GpuResampler, speedRow } from "../dist/gpu/kernels/resample.js";
import { GpuImageSources, prepareRoomBatch } from "../dist/gpu/kernels/rooms.js";
import { prepareRoom, simulateRoomWithInfo } from "../dist/rooms/simulate.js";
import { GpuKernels, Program } from "../dist/gpu/program.js";
import { GPU_OPS } from "../dist/gpu/registry.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const onlyArg = args.indexOf("--only");
const only = onlyArg >= 0 ? new Set(args[onlyArg + 1].split(",")) : null;
const want = (name) => !only || only.has(name);
setGpuWaitMs(300_000);

// A device with timestamp queries if the adapter has them (acquireGpu asks for no optional
// feature); else the shared acquirer's. The `GPU` instance must stay reachable (see device.ts).
const keepAlive = [];
async function openDevice() {
  try {
    const mod = await import("webgpu");
    Object.assign(globalThis, mod.globals);
    const gpu = mod.create([]);
    keepAlive.push(gpu);
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (adapter?.features.has("timestamp-query")) {
      const l = adapter.limits;
      const device = await adapter.requestDevice({
        requiredFeatures: ["timestamp-query"],
        requiredLimits: {
          maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
          maxBufferSize: l.maxBufferSize,
          maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
          maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
          maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
          maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
        },
      });
      const info = adapter.info ?? {};
      return { device, timestamps: true, info: `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.trim() };
    }
  } catch (e) {
    console.error(`timestamp device failed (${e?.message ?? e}); using acquireGpu`);
  }
  const { gpu, reason } = await acquireGpu({ allowSoftware: true });
  if (!gpu) throw new Error(`no GPU: ${reason}`);
  return { device: gpu.device, timestamps: false, info: `${gpu.info.vendor} ${gpu.info.device} ${gpu.info.description}`.trim() };
}

const { device, timestamps, info } = await openDevice();
device.addEventListener?.("uncapturederror", (e) => console.error("GPU error:", e.error?.message));
const emit = (obj) => console.log(JSON.stringify({ device: info, ...obj }));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let querySet = null;
let resolveBuf = null;
let readBuf = null;
if (timestamps) {
  querySet = device.createQuerySet({ type: "timestamp", count: 2 });
  resolveBuf = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  readBuf = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
}

/** Median ms per repetition of `record(encoder)`: { gpu_ms (or null), wall_ms }. */
async function time(record, { iters, runs }) {
  const once = async (reps) => {
    const encoder = device.createCommandEncoder();
    if (timestamps) encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 0 } }).end();
    for (let i = 0; i < reps; i++) record(encoder);
    if (timestamps) {
      encoder.beginComputePass({ timestampWrites: { querySet, endOfPassWriteIndex: 1 } }).end();
      encoder.resolveQuerySet(querySet, 0, 2, resolveBuf, 0);
      encoder.copyBufferToBuffer(resolveBuf, 0, readBuf, 0, 16);
    }
    const t0 = performance.now();
    device.queue.submit([encoder.finish()]);
    await queueDone(device, "bench");
    const wall = performance.now() - t0;
    let gpu = null;
    if (timestamps) {
      await readBuf.mapAsync(GPUMapMode.READ);
      const [a, b] = new BigUint64Array(readBuf.getMappedRange().slice(0));
      readBuf.unmap();
      gpu = Number(b - a) / 1e6;
    }
    return { gpu, wall };
  };
  await once(1); // compiles pipelines, faults pages in
  const gpus = [];
  const walls = [];
  for (let r = 0; r < runs; r++) {
    const { gpu, wall } = await once(iters);
    if (gpu !== null) gpus.push(gpu / iters);
    walls.push(wall / iters);
  }
  return { gpu_ms: gpus.length ? median(gpus) : null, wall_ms: median(walls) };
}

function report(kernel, t, bytes, extra = {}) {
  const ms = t.gpu_ms ?? t.wall_ms;
  emit({ kernel, ...extra, gpu_ms: t.gpu_ms === null ? null : +t.gpu_ms.toFixed(4), wall_ms: +t.wall_ms.toFixed(4), bytes, gbps: +(bytes / ms / 1e6).toFixed(1) });
}

function noise(n, seed, amp = 0.5) {
  let s = seed >>> 0 || 1;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = amp * ((s / 2 ** 32) * 2 - 1);
  }
  return x;
}

const runs = quick ? 3 : 7;

// ---- device copy: the reference bandwidth.
if (want("copy")) {
  const bytes = quick ? 16 << 20 : 256 << 20;
  const a = storageBuffer(device, bytes);
  const b = storageBuffer(device, bytes);
  const t = await time((enc) => enc.copyBufferToBuffer(a, 0, b, 0, bytes), { iters: quick ? 2 : 20, runs });
  report("copyBufferToBuffer", t, 2 * bytes, { buffer_mib: bytes >> 20 });
  // The same copy by a compute shader (vec4 per thread): what a kernel can stream.
  const module = device.createShaderModule({ code: `
@group(0) @binding(0) var<storage, read> src: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) n: vec3u) {
  let i = id.x + id.y * n.x * 256u;
  if (i < arrayLength(&dst)) { dst[i] = src[i]; }
}` });
  const pipeline = device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
  const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [a, b].map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const groups = bytes / 16 / 256;
  const tk = await time((enc) => {
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(Math.min(groups, 32768), Math.ceil(groups / 32768));
    pass.end();
  }, { iters: quick ? 2 : 20, runs });
  report("copyKernel", tk, 2 * bytes, { buffer_mib: bytes >> 20 });
  a.destroy();
  b.destroy();
}

// ---- element-wise stages as the engine records them (src/gpu/ops/*): 64 rows x 2^20 samples.
// Bandwidth counts each pass's compulsory traffic: a read-only pass reads the row (and its aux
// row), a writing pass also writes it; pcm16 reads f32 and writes int16. Compare with copyKernel.
if (want("elementwise")) {
  const rows = quick ? 8 : 64;
  const len = quick ? 1 << 16 : 1 << 20;
  const kernels = new GpuKernels(device);
  const ctx = { sampleRate: 16000, resource: () => ({ audio: noise(len, 9) }) };
  const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const cases = [
    // name, op steps' params, passes' traffic in units of one row of f32 (reads + writes)
    { name: "gain (level+apply)", op: "gain", params: { op: "gain", db: -3, avoid_clipping: true }, units: 1 + 2, aux: false },
    { name: "noise (energies, peak, mix)", op: "noise", params: { op: "noise", bank: "b", noise: "n", category: "", offset_s: 0, snr_db: 10, snr_reference: "clip", crossfade_ms: 20 }, units: 2 + 2 + 3, aux: true },
    { name: "dcoffset", op: "dcoffset", params: { op: "dcoffset", offset: 0.01 }, units: 2, aux: false },
    { name: "clip soft", op: "clip", params: { op: "clip", mode: "soft", level_db: -6 }, units: 1 + 2, aux: false },
    // Recursive: a chunked scan (src/gpu/kernels/iir.ts) in double-float arithmetic, compute-bound.
    { name: "biquads (eq, 2 bands, chunked scan)", op: "eq", params: { op: "eq", bands: [{ type: "peaking", freq_hz: 1000, gain_db: 4, q: 1 }, { type: "peaking", freq_hz: 3000, gain_db: -3, q: 0.8 }] }, units: 2, aux: false },
  ];
  for (const c of cases) {
    const op = GPU_OPS.get(c.op);
    const params = c.params;
    const prog = new Program(kernels);
    const steps = Array.from({ length: rows }, (_, r) => ({ params, len, outLen: len, off: r * len, slot: prog.slots(op.slots), aux: 0 }));
    if (op.aux) for (const s of steps) s.aux = prog.aux(op.aux(params, len, ctx));
    op.record(prog, steps, ctx);
    const passes = prog.steps.length;
    const bufs = {
      data: storageBuffer(device, rows * len * 4),
      aux: device.createBuffer({ size: Math.max(16, prog.auxFloats * 4), usage: STORAGE }),
      meta: device.createBuffer({ size: prog.metaBytes.byteLength, usage: STORAGE }),
      scal: device.createBuffer({ size: Math.max(16, prog.scalCount * 4), usage: STORAGE }),
      part: device.createBuffer({ size: prog.partCount * 16, usage: STORAGE }),
      pcm: null,
      extra: [],
    };
    for (let r = 0; r < rows; r += 8) writeChunked(device, bufs.data, noise(Math.min(8, rows - r) * len, r + 1, 0.3), r * len * 4);
    writeChunked(device, bufs.meta, prog.metaBytes);
    for (const e of prog.extras) {
      const b = device.createBuffer({ size: Math.max(16, Math.ceil(e.bytes / 4) * 4), usage: STORAGE });
      if (e.data) writeChunked(device, b, e.data);
      bufs.extra.push(b);
    }
    for (const a of prog.auxPieces) writeChunked(device, bufs.aux, a.data, a.offset * 4);
    const t = await time((enc) => prog.encode(enc, bufs), { iters: quick ? 2 : 10, runs });
    // Traffic from the recorded passes: each map-reduce reads the row (+ aux), a writing one writes it.
    const bytes = c.units * rows * len * 4;
    report(`elementwise.${c.op}`, t, bytes, { case: c.name, rows, samples: len, passes, audio_hours_per_s: +((rows * len) / 16000 / 3600 / ((t.gpu_ms ?? t.wall_ms) / 1000)).toFixed(0) });
    for (const b of [bufs.data, bufs.aux, bufs.meta, bufs.scal, bufs.part, ...bufs.extra]) b.destroy();
  }
  // f32 -> int16 with level statistics (what every row ends with before readback).
  {
    const prog = new Program(kernels);
    const recs = Array.from({ length: rows }, (_, r) => ({ off: r * len, len, aux: (r * len) / 2, slot: prog.slots(3) }));
    prog.pcm16(recs);
    const bufs = {
      data: storageBuffer(device, rows * len * 4),
      aux: device.createBuffer({ size: 16, usage: STORAGE }),
      meta: device.createBuffer({ size: prog.metaBytes.byteLength, usage: STORAGE }),
      scal: device.createBuffer({ size: Math.max(16, prog.scalCount * 4), usage: STORAGE }),
      part: device.createBuffer({ size: prog.partCount * 16, usage: STORAGE }),
      pcm: device.createBuffer({ size: rows * len * 2, usage: STORAGE }),
      extra: [],
    };
    for (let r = 0; r < rows; r += 8) writeChunked(device, bufs.data, noise(Math.min(8, rows - r) * len, r + 1, 0.3), r * len * 4);
    writeChunked(device, bufs.meta, prog.metaBytes);
    const t = await time((enc) => prog.encode(enc, bufs), { iters: quick ? 2 : 10, runs });
    report("elementwise.pcm16", t, rows * len * 6, { case: "f32 -> int16 + level", rows, samples: len, passes: prog.steps.length });
    for (const b of [bufs.data, bufs.aux, bufs.meta, bufs.scal, bufs.part, bufs.pcm]) b.destroy();
  }
  kernels.destroy();
}

// ---- batched complex FFT, 2^24 points per batch (2^20 in --quick).
if (want("fft")) {
  const points = quick ? 1 << 20 : 1 << 24;
  const sizes = quick ? [1 << 10, 1 << 16] : [1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20];
  const input = storageBuffer(device, points * 8);
  const output = storageBuffer(device, points * 8);
  writeChunked(device, input, noise(2 * points, 1));
  for (const [radix, tile] of quick ? [[8, 2048]] : [[8, 2048], [16, 2048], [8, 4096], [16, 4096], [8, 1024]]) {
    const fft = new GpuFft(device, { radix, tile });
    for (const size of sizes) {
      const rows = points / size;
      const t = await time((enc) => fft.encode(enc, { input, output, rows, size }), { iters: quick ? 2 : 10, runs });
      const passes = size <= tile ? 1 : 2;
      report("fft", t, 16 * points, { size, rows, radix, tile, passes, traffic_bytes: 16 * points * passes });
    }
    fft.destroy();
  }
  input.destroy();
  output.destroy();
}

// ---- batched FFT convolution: 256 clips x 160 000 samples, 8 000-tap RIRs (the torch comparison).
if (want("fftconv")) {
  const rows = quick ? 8 : 256;
  const stride = quick ? 32000 : 160000;
  const taps = quick ? 2000 : 8000;
  const signals = storageBuffer(device, rows * stride * 4);
  const output = storageBuffer(device, rows * stride * 4);
  const rirs = storageBuffer(device, rows * taps * 4);
  for (let r = 0; r < rows; r += 16) writeChunked(device, signals, noise(Math.min(16, rows - r) * stride, r + 1), r * stride * 4);
  const h = noise(rows * taps, 7);
  for (let r = 0; r < rows; r++) for (let i = 0; i < taps; i++) h[r * taps + i] *= Math.exp(-i / (taps / 6));
  writeChunked(device, rirs, h);
  const lengths = storageBuffer(device, rows * 4);
  writeChunked(device, lengths, new Uint32Array(rows).fill(stride));
  const rirLengths = storageBuffer(device, rows * 4);
  writeChunked(device, rirLengths, new Uint32Array(rows).fill(taps));
  const rowParams = storageBuffer(device, rows * 8);
  writeChunked(device, rowParams, Uint32Array.from({ length: 2 * rows }, (_, i) => (i % 2 ? i >> 1 : 40)));
  const audioHours = (rows * stride) / 16000 / 3600;
  // The default (radix 8, 2048-point tiles) first and again last, to see drift between runs.
  const variants = quick
    ? [{ radix: 8, tile: 2048 }]
    : [{ radix: 8, tile: 2048 }, { radix: 16, tile: 2048 }, { radix: 8, tile: 1024 }, { radix: 16, tile: 1024 }, { radix: 4, tile: 1024 }, { radix: 8, tile: 4096 }, { radix: 16, tile: 4096 }, { radix: 8, tile: 2048 }];
  for (const { radix, tile } of variants) {
    const plan = planFftConvolution(stride, taps, tile);
    const conv = new GpuFftConvolver(device, { radix });
    const spectra = storageBuffer(device, rows * GpuFftConvolver.spectrumBytes(plan));
    const base = { rows, samples: stride, rir_taps: taps, size: plan.size, pairs: plan.pairs, radix, tile };
    const ts = await time((enc) => conv.encodeSpectra(enc, { plan, rirs, rirStride: taps, rirLengths, count: rows, spectra }), { iters: quick ? 2 : 10, runs });
    report("fftconv.spectra", ts, rows * taps * 4 + rows * plan.size * 8, base);
    const tc = await time((enc) => conv.encodeConvolve(enc, { plan, signals, lengths, rowParams, rows, spectra, output }), { iters: quick ? 2 : 10, runs });
    const traffic = rows * plan.pairs * plan.size * 8 * (plan.split ? 7 : 2) + 2 * rows * stride * 4;
    report("fftconv.convolve", tc, 2 * rows * stride * 4, { ...base, traffic_bytes: traffic, audio_hours_per_s: +(audioHours / ((tc.gpu_ms ?? tc.wall_ms) / 1000)).toFixed(0) });
    const tf = await time((enc) => {
      conv.encodeSpectra(enc, { plan, rirs, rirStride: taps, rirLengths, count: rows, spectra });
      conv.encodeConvolve(enc, { plan, signals, lengths, rowParams, rows, spectra, output });
    }, { iters: quick ? 2 : 10, runs });
    report("fftconv.total", tf, 2 * rows * stride * 4 + rows * taps * 4, { ...base, audio_hours_per_s: +(audioHours / ((tf.gpu_ms ?? tf.wall_ms) / 1000)).toFixed(0) });
    spectra.destroy();
    conv.destroy();
  }
  for (const b of [signals, output, rirs, lengths, rirLengths, rowParams]) b.destroy();
}

// ---- polyphase resampling: speed 1.1 on 256 x 160 000 samples.
if (want("resample")) {
  const rows = quick ? 8 : 256;
  const n = quick ? 32000 : 160000;
  const resampler = new GpuResampler(device);
  for (const factor of [1.1, 0.9, 1.0537]) {
    const row = speedRow(n, factor);
    const words = resampler.rowParams(new Array(rows).fill(row));
    const input = storageBuffer(device, rows * n * 4);
    writeChunked(device, input, noise(rows * n, 3));
    const output = storageBuffer(device, rows * row.outLength * 4);
    const lengths = storageBuffer(device, rows * 4);
    writeChunked(device, lengths, new Uint32Array(rows).fill(n));
    const params = storageBuffer(device, words.byteLength);
    writeChunked(device, params, words);
    const t = await time((enc) => resampler.encode(enc, { input, inStride: n, lengths, rowParams: params, rows, output, outStride: row.outLength }), { iters: quick ? 2 : 20, runs });
    report("resample.speed", t, rows * (n + row.outLength) * 4, { rows, samples: n, factor, up: row.up, down: row.down });
    for (const b of [input, output, lengths, params]) b.destroy();
  }
  resampler.destroy();
}

// ---- image sources: a batch of rooms, against the CPU simulator on the same specs.
if (want("rooms")) {
  const count = quick ? 2 : 16;
  const specs = Array.from({ length: count }, (_, i) => ({
    dims_m: [4 + (i % 5), 3 + (i % 4) * 0.7, 2.5 + (i % 3) * 0.3],
    absorption: i % 2 ? 0.25 : { bands_hz: [125, 250, 500, 1000, 2000, 4000], values: [0.1, 0.15, 0.2, 0.3, 0.35, 0.4] },
    source_m: [1.1, 1.3, 1.5],
    mics_m: [[2.9, 2.2, 1.2]],
    sample_rate: 16000,
    c_m_s: 343,
    transition_s: null,
    length_s: quick ? 0.05 : 0.2,
    highpass_hz: 0,
    seed: i,
  }));
  const rooms = specs.map((s) => prepareRoom(s));
  const batch = prepareRoomBatch(rooms);
  const kernel = new GpuImageSources(device);
  const bufs = {
    rows: storageBuffer(device, batch.rowWords.byteLength),
    axes: storageBuffer(device, batch.axes.byteLength),
    blocks: storageBuffer(device, batch.blocks.byteLength),
    acc: storageBuffer(device, batch.slots * 8),
    counts: storageBuffer(device, batch.rows.length * 8),
  };
  writeChunked(device, bufs.rows, batch.rowWords);
  writeChunked(device, bufs.axes, batch.axes);
  writeChunked(device, bufs.blocks, batch.blocks);
  const t = await time((enc) => kernel.encode(enc, { batch, ...bufs }), { iters: quick ? 1 : 3, runs: quick ? 2 : 5 });
  const t0 = performance.now();
  let images = 0;
  for (const spec of specs) images += simulateRoomWithInfo(spec).info.images.reduce((a, b) => a + b, 0);
  const cpuMs = performance.now() - t0;
  const ms = t.gpu_ms ?? t.wall_ms;
  report("rooms.image_sources", t, batch.slots * 8, { rooms: count, length_s: specs[0].length_s, images, gpu_images_per_s: +(images / (ms / 1000)).toExponential(3), cpu_simulate_ms: +cpuMs.toFixed(1) });
  for (const b of Object.values(bufs)) b.destroy();
  kernel.destroy();
}

device.destroy?.();
process.exit(0);
