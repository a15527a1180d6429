// The GPU image-source kernel against simulateRoomWithInfo (src/rooms/simulate.ts, the CPU twin):
// broadband and per-band absorption, mic arrays, directivity, an order limit, the late tail (its
// level is matched to the image-source window, so the image counts must agree too), several rooms
// in one dispatch; and the double-f32 helpers' exactness on this device's compiler.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireGpu, type GpuHandle } from "../../src/gpu/device.js";
import { setGpuWaitMs, storageBuffer, submitAndRead, uploadBuffer } from "../../src/gpu/kernels/fft.js";
import { DOUBLE_F32_WGSL, gpuSimulateRooms } from "../../src/gpu/kernels/rooms.js";
import { simulateRoomWithInfo } from "../../src/rooms/simulate.js";
import type { RoomSpec } from "../../src/rooms/types.js";

const log = (...parts: unknown[]) => console.log("[kernels-rooms]", ...parts);

const acquired = await acquireGpu({ allowSoftware: true });
if (!acquired.gpu) console.warn(`[kernels-rooms] skipped: no WebGPU device (${acquired.reason})`);
if (acquired.gpu?.software) setGpuWaitMs(240_000);

function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < b.length; i++) {
    err += (a[i] - b[i]) ** 2;
    ref += b[i] ** 2;
  }
  return ref === 0 ? Math.sqrt(err) : Math.sqrt(err / ref);
}

const base: RoomSpec = {
  dims_m: [5, 4, 3],
  absorption: 0.3,
  source_m: [1.2, 1.5, 1.6],
  mics_m: [[3.7, 2.6, 1.1]],
  sample_rate: 16000,
  c_m_s: 343,
  transition_s: null,
  length_s: 0.1,
  highpass_hz: 0,
  seed: 1,
};

describe.skipIf(!acquired.gpu)("GPU image sources", () => {
  let gpu: GpuHandle;
  beforeAll(() => {
    gpu = acquired.gpu!;
  });
  afterAll(() => undefined);

  it("double-f32 distance and delay keep ~1e-14 on this compiler (optimisers must not fold the error terms)", async () => {
    const { device } = gpu;
    // Offsets with non-zero low parts; d2, sqrt and the product by samples-per-metre in double-f32.
    const cases = [[-2.5, 3.9, -2.7], [17.3, -41.1, 5.3], [123.4, 77.7, -301.9], [0.1, 0.2, 0.3]];
    const spm = 16000 / 343;
    const df = (x: number) => [Math.fround(x), Math.fround(x - Math.fround(x))];
    const input = new Float32Array(cases.flatMap((c) => [...c.flatMap(df), ...df(spm)]));
    const code = `${DOUBLE_F32_WGSL}
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@group(0) @binding(2) var<storage, read> z: array<u32>;
@compute @workgroup_size(1) fn main(@builtin(workgroup_id) w: vec3u) {
  ZERO = z[0];
  let i = w.x;
  let X = vec2f(a[8u * i], a[8u * i + 1u]); let Y = vec2f(a[8u * i + 2u], a[8u * i + 3u]);
  let Z = vec2f(a[8u * i + 4u], a[8u * i + 5u]); let S = vec2f(a[8u * i + 6u], a[8u * i + 7u]);
  let dl = dfMul(dfSqrt(dfAdd(dfAdd(dfMul(X, X), dfMul(Y, Y)), dfMul(Z, Z))), S);
  o[2u * i] = dl.x; o[2u * i + 1u] = dl.y;
}`;
    const pipeline = device.createComputePipeline({ layout: "auto", compute: { module: device.createShaderModule({ code }), entryPoint: "main" } });
    const a = uploadBuffer(device, input);
    const z = uploadBuffer(device, new Uint32Array(4));
    const o = storageBuffer(device, cases.length * 8);
    try {
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [a, o, z].map((buffer, binding) => ({ binding, resource: { buffer } })) }));
      pass.dispatchWorkgroups(cases.length);
      pass.end();
      const out = new Float32Array(await submitAndRead(device, encoder, o, cases.length * 8));
      cases.forEach(([x, y, zz], i) => {
        const want = Math.sqrt(x * x + y * y + zz * zz) * spm;
        const err = Math.abs(out[2 * i] + out[2 * i + 1] - want) / want;
        log(`delay ${want.toFixed(3)} samples: double-f32 rel error ${err.toExponential(2)}`);
        expect(err).toBeLessThan(1e-12);
      });
    } finally {
      for (const b of [a, z, o]) b.destroy();
    }
  });

  it("matches simulateRoomWithInfo: RIRs, image counts, tail levels, for six rooms in one dispatch", async () => {
    const specs: RoomSpec[] = [
      base,
      // Per-band absorption, a two-mic array, the high-pass.
      { ...base, length_s: 0.2, absorption: { bands_hz: [125, 250, 500, 1000, 2000, 4000], values: [0.1, 0.15, 0.2, 0.3, 0.35, 0.4] }, mics_m: [[3.7, 2.6, 1.1], [3.8, 2.6, 1.1]], highpass_hz: 100 },
      // The late tail (levels matched to the images in the window) and a cardioid.
      { ...base, dims_m: [7, 5.5, 3.1], length_s: 0.4, transition_s: 0.08, seed: 7, directivity: { pattern: "cardioid", azimuth_deg: 30, elevation_deg: 10 } },
      // An order limit, another rate, a figure-8 (negative gains).
      { ...base, sample_rate: 8000, max_order: 3, length_s: 0.15, directivity: { pattern: "figure8", azimuth_deg: 200, elevation_deg: -20 } },
      // Per-wall absorption, 48 kHz, an ISM cut by max_time_s, a length not a multiple of the block.
      { ...base, dims_m: [3.3, 2.9, 2.5], mics_m: [[2.5, 2.1, 1.2]], absorption: [0.05, 0.6, 0.2, 0.3, 0.1, 0.5], sample_rate: 48000, length_s: 0.0513, max_time_s: 0.03, highpass_hz: 50 },
      // A mic close to the source (a large direct path: the fixed-point scale follows it).
      { ...base, mics_m: [[1.21, 1.5, 1.6]], length_s: 0.05 },
    ];
    const got = await gpuSimulateRooms(gpu.device, specs);
    let worst = 0;
    specs.forEach((spec, i) => {
      const want = simulateRoomWithInfo(spec);
      expect(got[i].info.images).toEqual(want.info.images);
      expect(got[i].info.directSamples.map((d) => Math.round(d * 1e6))).toEqual(want.info.directSamples.map((d) => Math.round(d * 1e6)));
      want.rirs.forEach((w, mic) => {
        const g = got[i].rirs[mic];
        expect(g.length).toBe(w.length);
        expect(g.every(Number.isFinite)).toBe(true);
        const tail = want.info.tail[mic];
        if (tail) {
          expect(got[i].info.tail[mic]!.fromImages).toBe(tail.fromImages);
          got[i].info.tail[mic]!.level.forEach((l, b) => expect(Math.abs(l - tail.level[b])).toBeLessThanOrEqual(1e-5 * tail.level[b]));
        }
        const err = relativeL2(g, w);
        worst = Math.max(worst, err);
        log(`room ${i} mic ${mic}: ${w.length} taps, ${want.info.images[mic]} images, rel L2 ${err.toExponential(2)}`);
      });
    });
    expect(worst).toBeLessThan(1e-4);
  });
});
