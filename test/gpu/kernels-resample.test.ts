// The batched polyphase resampler against resample() and speedPerturb() (src/audio/resample.ts):
// exact output lengths, rel. L2 error, rows of different lengths and ratios in one batch (exact
// and interpolated tables, up and down, equal rates), batches of 1, 3 and 17, outputs poisoned.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resample, speedPerturb } from "../../src/audio/resample.js";
import { acquireGpu, type GpuHandle } from "../../src/gpu/device.js";
import { setGpuWaitMs, storageBuffer, submitAndRead, uploadBuffer, writeChunked } from "../../src/gpu/kernels/fft.js";
import { GpuResampler, gpuResampleBatch, gpuSpeedPerturbBatch, rateRow, speedRow, type ResampleRow } from "../../src/gpu/kernels/resample.js";

const log = (...parts: unknown[]) => console.log("[kernels-resample]", ...parts);

const acquired = await acquireGpu({ allowSoftware: true });
if (!acquired.gpu) console.warn(`[kernels-resample] skipped: no WebGPU device (${acquired.reason})`);
if (acquired.gpu?.software) setGpuWaitMs(240_000);

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Band-limited-ish test signal: a few tones plus noise. */
function signal(n: number, rnd: () => number): Float32Array {
  const x = new Float32Array(n);
  const f = [0.01 + 0.05 * rnd(), 0.1 + 0.2 * rnd(), 0.3 + 0.15 * rnd()];
  for (let i = 0; i < n; i++) x[i] = 0.3 * Math.sin(2 * Math.PI * f[0] * i) + 0.2 * Math.sin(2 * Math.PI * f[1] * i) + 0.1 * Math.sin(2 * Math.PI * f[2] * i) + 0.05 * (2 * rnd() - 1);
  return x;
}

function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < b.length; i++) {
    err += (a[i] - b[i]) ** 2;
    ref += b[i] ** 2;
  }
  return ref === 0 ? Math.sqrt(err) : Math.sqrt(err / ref);
}

describe.skipIf(!acquired.gpu)("GpuResampler", () => {
  let gpu: GpuHandle;
  let resampler: GpuResampler;
  beforeAll(() => {
    gpu = acquired.gpu!;
    resampler = new GpuResampler(gpu.device);
  });
  afterAll(() => resampler?.destroy());

  it("rows mirror the CPU's ratio and length rules", () => {
    expect(speedRow(16000, 1.1)).toEqual({ up: 10, down: 11, outLength: 14545 });
    expect(speedRow(16000, 0.9)).toEqual({ up: 10, down: 9, outLength: 17778 });
    expect(speedRow(1000, 1.0537)).toEqual({ up: 10000, down: 10537, outLength: 949 });
    expect(speedRow(1000, 1)).toEqual({ up: 1, down: 1, outLength: 1000 });
    expect(rateRow(44100, 44100, 16000)).toEqual({ up: 160, down: 441, outLength: 16000 });
  });

  /** Runs `rows` through the class with the output poisoned and a stride past the longest output. */
  async function run(signals: Float32Array[], rows: ResampleRow[]): Promise<Float32Array[]> {
    const { device } = gpu;
    const inStride = Math.max(...signals.map((s) => s.length)) + 5;
    const outStride = Math.max(...rows.map((r) => r.outLength)) + 7;
    const packed = new Float32Array(signals.length * inStride).fill(NaN);
    signals.forEach((s, i) => packed.set(s, i * inStride));
    const words = resampler.rowParams(rows);
    const buffers = [
      uploadBuffer(device, packed), uploadBuffer(device, Uint32Array.from(signals, (s) => s.length)), uploadBuffer(device, words),
      storageBuffer(device, signals.length * outStride * 4),
    ];
    const [input, lengths, params, output] = buffers;
    writeChunked(device, output, new Float32Array(signals.length * outStride).fill(NaN));
    try {
      const encoder = device.createCommandEncoder();
      resampler.encode(encoder, { input, inStride, lengths, rowParams: params, rows: signals.length, output, outStride });
      const out = new Float32Array(await submitAndRead(device, encoder, output, signals.length * outStride * 4));
      return rows.map((r, i) => {
        const row = out.subarray(i * outStride, (i + 1) * outStride);
        // Past the output length: exact zeros up to the stride; the input's NaN padding never read.
        for (let t = r.outLength; t < outStride; t++) expect(row[t]).toBe(0);
        return row.slice(0, r.outLength);
      });
    } finally {
      for (const b of buffers) b.destroy();
    }
  }

  const FACTORS = [0.9, 1.1, 1.0, 0.95, 1.05, 1.0537, 0.8123, 1.25];

  for (const batch of [1, 3, 17]) {
    it(`speed perturbation, ${batch} rows of mixed factors and lengths`, async () => {
      const rnd = lcg(batch);
      const signals = Array.from({ length: batch }, (_, i) => signal(i === 0 ? 4000 : 500 + Math.floor(rnd() * 3500), rnd));
      const factors = signals.map((_, i) => FACTORS[(i * 5 + batch) % FACTORS.length]);
      const rows = signals.map((s, i) => speedRow(s.length, factors[i]));
      const got = await run(signals, rows);
      let worst = 0;
      got.forEach((g, i) => {
        const want = speedPerturb(signals[i], factors[i]);
        expect(g.length).toBe(want.length);
        expect(g.every(Number.isFinite)).toBe(true);
        worst = Math.max(worst, relativeL2(g, want));
      });
      log(`speed, ${batch} rows (factors ${[...new Set(factors)].join(", ")}): worst rel L2 ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-4);
    });
  }

  // 48k -> 1k: a workgroup's taps overrun the staged input window, so the global-memory path runs.
  it("rate conversion 48k->16k, 16k->8k, 22050->16k, 8k->16k, 44.1k->48k, 48k->1k in one batch; the host functions", async () => {
    const rnd = lcg(77);
    const pairs: Array<[number, number]> = [[48000, 16000], [16000, 8000], [22050, 16000], [8000, 16000], [44100, 48000], [16000, 16000], [48000, 1000]];
    const signals = pairs.map(([from]) => signal(from === 48000 ? 20000 : 1000 + Math.floor(rnd() * 2000), rnd));
    const rows = signals.map((s, i) => rateRow(s.length, pairs[i][0], pairs[i][1]));
    const got = await gpuResampleBatch(gpu.device, signals, rows);
    const errs = got.map((g, i) => {
      const want = resample(signals[i], pairs[i][0], pairs[i][1]);
      expect(g.length).toBe(want.length);
      return relativeL2(g, want);
    });
    log(`rates ${pairs.map((p) => p.join("->")).join(", ")}: rel L2 ${errs.map((e) => e.toExponential(2)).join(", ")}`);
    for (const e of errs) expect(e).toBeLessThan(1e-4);
    const speed = await gpuSpeedPerturbBatch(gpu.device, [signals[0]], [1.1]);
    expect(relativeL2(speed[0], speedPerturb(signals[0], 1.1))).toBeLessThan(1e-4);
  });
});
