// The batched Stockham FFT against fft.js in Float64, on random complex rows: one-tile sizes and
// four-step sizes, batches of 1, 3 and 17 rows, forward and inverse, outputs poisoned with NaN.
import FFT from "fft.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireGpu, type GpuHandle } from "../../src/gpu/device.js";
import { GpuFft, gpuFftBatch, setGpuWaitMs, storageBuffer, submitAndRead, uploadBuffer, writeChunked } from "../../src/gpu/kernels/fft.js";

const log = (...parts: unknown[]) => console.log("[kernels-fft]", ...parts);

const acquired = await acquireGpu({ allowSoftware: true });
if (!acquired.gpu) console.warn(`[kernels-fft] skipped: no WebGPU device (${acquired.reason})`);
// A software adapter compiles each new pipeline for many seconds: the wait bound covers that.
if (acquired.gpu?.software) setGpuWaitMs(240_000);

/** Uniform noise in [-1, 1) from a small LCG (fixtures, not the product's RNG). */
function noise(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = (s / 2 ** 32) * 2 - 1;
  }
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

/** fft.js in Float64; inverse scaled by 1/N like the GPU's. */
function reference(row: Float32Array, inverse: boolean): Float64Array {
  const n = row.length / 2;
  const fft = new FFT(n);
  const out = new Float64Array(2 * n);
  const input = Float64Array.from(row);
  if (inverse) fft.inverseTransform(out, input);
  else fft.transform(out, input);
  return out;
}

describe.skipIf(!acquired.gpu)("GpuFft", () => {
  let gpu: GpuHandle;
  let fft: GpuFft;
  beforeAll(() => {
    gpu = acquired.gpu!;
    fft = new GpuFft(gpu.device);
  });
  afterAll(() => fft?.destroy());

  /** Runs the class on `rows` with its output buffer filled with NaN first. */
  async function run(rows: Float32Array[], inverse: boolean): Promise<Float32Array[]> {
    const { device } = gpu;
    const size = rows[0].length / 2;
    const packed = new Float32Array(rows.length * 2 * size);
    rows.forEach((r, i) => packed.set(r, i * 2 * size));
    const input = uploadBuffer(device, packed);
    const output = storageBuffer(device, packed.byteLength);
    writeChunked(device, output, new Float32Array(packed.length).fill(NaN));
    try {
      const encoder = device.createCommandEncoder();
      fft.encode(encoder, { input, output, rows: rows.length, size, inverse });
      const out = new Float32Array(await submitAndRead(device, encoder, output, packed.byteLength));
      return rows.map((_, i) => out.subarray(i * 2 * size, (i + 1) * 2 * size));
    } finally {
      input.destroy();
      output.destroy();
    }
  }

  // One pipeline per size (software adapters compile each for seconds): single-tile sizes with
  // 1, 3 and 4 Stockham stages (radix 8; 8 x 8 x 8 x 4 fills a 2048-point tile) and two four-step
  // sizes (64 x 128, 256 x 256); batches 1, 3, 17.
  const cases: Array<[number, number[]]> = [
    [8, [1, 3, 17]], [512, [1, 17]], [2048, [3]], [8192, [1, 3]], [65536, [1]],
  ];
  for (const [size, batches] of cases) {
    it(`size ${size}, batches ${batches.join(", ")}, forward and inverse`, async () => {
      for (const batch of batches) {
        const rows = Array.from({ length: batch }, (_, r) => noise(2 * size, size * 31 + r + 100 * batch));
        for (const inverse of [false, true]) {
          const got = await run(rows, inverse);
          let worst = 0;
          got.forEach((g, r) => {
            expect(g.every(Number.isFinite)).toBe(true);
            worst = Math.max(worst, relativeL2(g, reference(rows[r], inverse)));
          });
          log(`size ${size} x ${batch} ${inverse ? "inverse" : "forward"}: rel L2 ${worst.toExponential(2)}`);
          expect(worst).toBeLessThan(2e-6);
        }
      }
    });
  }

  it("round trip through the host function restores the rows", async () => {
    const rows = [noise(2 * 8192, 5), noise(2 * 8192, 6)];
    const back = await gpuFftBatch(gpu.device, await gpuFftBatch(gpu.device, rows), true);
    const err = Math.max(...back.map((b, i) => relativeL2(b, rows[i])));
    log(`round trip 8192 x 2: rel L2 ${err.toExponential(2)}`);
    expect(err).toBeLessThan(2e-6);
  });
});
