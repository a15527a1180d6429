// The batched FFT convolution against convolveAligned (src/audio/fftconv.ts, the CPU twin): rows
// of different, non-power-of-two lengths padded to one stride, each with its own RIR and delay;
// one-tile and three-pass transform sizes; batches of 1, 3 and 17; outputs poisoned with NaN.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convolveAligned } from "../../src/audio/fftconv.js";
import { directPathIndex } from "../../src/audio/rir.js";
import { acquireGpu, type GpuHandle } from "../../src/gpu/device.js";
import { setGpuWaitMs, storageBuffer, submitAndRead, uploadBuffer, writeChunked } from "../../src/gpu/kernels/fft.js";
import { GpuFftConvolver, gpuFftConvolveBatch, planFftConvolution } from "../../src/gpu/kernels/fftconv.js";

const log = (...parts: unknown[]) => console.log("[kernels-fftconv]", ...parts);

const acquired = await acquireGpu({ allowSoftware: true });
if (!acquired.gpu) console.warn(`[kernels-fftconv] skipped: no WebGPU device (${acquired.reason})`);
// A software adapter compiles each new pipeline for many seconds: the wait bound covers that.
if (acquired.gpu?.software) setGpuWaitMs(240_000);

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function noise(n: number, rnd: () => number, amp = 0.5): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * (2 * rnd() - 1);
  return x;
}

/** A room-like response: silence, a direct path at `delay`, then a decaying noise tail. */
function roomImpulse(length: number, delay: number, rnd: () => number): Float32Array {
  const h = new Float32Array(length);
  const decay = Math.log(1000) / (0.4 * length);
  for (let i = delay + 1; i < length; i++) h[i] = 0.3 * (2 * rnd() - 1) * Math.exp(-decay * (i - delay));
  h[Math.min(delay, length - 1)] = 1;
  return h;
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

describe.skipIf(!acquired.gpu)("GpuFftConvolver", () => {
  let gpu: GpuHandle;
  let conv: GpuFftConvolver;
  beforeAll(() => {
    gpu = acquired.gpu!;
    conv = new GpuFftConvolver(gpu.device);
  });
  afterAll(() => conv?.destroy());

  it("plans by cost: one tile for short RIRs, three passes for long ones", () => {
    expect(planFftConvolution(5000, 1000)).toMatchObject({ size: 2048, hop: 1049, blocks: 5, pairs: 3, split: null });
    expect(planFftConvolution(5000, 1000, 4096)).toMatchObject({ size: 4096, hop: 3097, blocks: 2, pairs: 1, split: null });
    expect(planFftConvolution(30000, 5000)).toMatchObject({ size: 16384, hop: 11385, blocks: 3, pairs: 2, split: { N1: 128, N2: 128 } });
    expect(planFftConvolution(160000, 8000)).toMatchObject({ size: 32768, pairs: 4 });
  });

  /**
   * Rows of lengths in [minLength, stride] (the longest exactly `stride`), RIRs of lengths in
   * [maxRir / 2, maxRir] (one exactly maxRir, so the plan is the same across batches), run through the
   * class with the output poisoned, padded to `pad` floats past the stride.
   */
  async function check(batch: number, stride: number, maxRir: number, seed: number): Promise<number> {
    const { device } = gpu;
    const rnd = lcg(seed);
    const lengths = Array.from({ length: batch }, (_, i) => (i === 0 ? stride : Math.max(1, Math.floor(stride * (0.3 + 0.7 * rnd())))));
    const rirLengths = Array.from({ length: batch }, (_, i) => (i === batch - 1 ? maxRir : Math.max(1, Math.floor(maxRir * (0.5 + 0.5 * rnd())))));
    const signals = lengths.map((n) => noise(n, rnd));
    const rirs = rirLengths.map((m) => roomImpulse(m, Math.floor(rnd() * Math.min(m, 300)), rnd));
    // Mostly the direct-path delay (what the reverb op passes), sometimes an arbitrary one.
    const delays = rirs.map((h, i) => (i % 4 === 3 ? Math.floor(rnd() * h.length) : directPathIndex(h)));
    const plan = planFftConvolution(stride, maxRir);
    const packed = new Float32Array(batch * stride);
    const packedRirs = new Float32Array(batch * maxRir);
    const rowParams = new Uint32Array(2 * batch);
    signals.forEach((s, i) => packed.set(s, i * stride));
    rirs.forEach((h, i) => packedRirs.set(h, i * maxRir));
    // Rows take spectra in reverse order: the spectrum index is honoured.
    rirs.forEach((_, i) => {
      rowParams[2 * i] = delays[i];
      rowParams[2 * i + 1] = batch - 1 - i;
    });
    const reversedRirLengths = Uint32Array.from([...rirLengths].reverse());
    const reversedRirs = new Float32Array(batch * maxRir);
    rirs.forEach((h, i) => reversedRirs.set(h, (batch - 1 - i) * maxRir));
    const buffers = [
      uploadBuffer(device, packed), uploadBuffer(device, reversedRirs), uploadBuffer(device, Uint32Array.from(lengths)),
      uploadBuffer(device, reversedRirLengths), uploadBuffer(device, rowParams),
      storageBuffer(device, batch * GpuFftConvolver.spectrumBytes(plan)), storageBuffer(device, packed.byteLength),
    ];
    const [signalBuf, rirBuf, lengthBuf, rirLengthBuf, rowParamBuf, spectra, output] = buffers;
    writeChunked(device, output, new Float32Array(packed.length).fill(NaN));
    writeChunked(device, spectra, new Float32Array(batch * plan.size * 2).fill(NaN));
    try {
      const encoder = device.createCommandEncoder();
      conv.encodeSpectra(encoder, { plan, rirs: rirBuf, rirStride: maxRir, rirLengths: rirLengthBuf, count: batch, spectra });
      conv.encodeConvolve(encoder, { plan, signals: signalBuf, lengths: lengthBuf, rowParams: rowParamBuf, rows: batch, spectra, output });
      const out = new Float32Array(await submitAndRead(device, encoder, output, packed.byteLength));
      let worst = 0;
      signals.forEach((x, i) => {
        const row = out.subarray(i * stride, (i + 1) * stride);
        // Past the row's length: exact zeros (the engine pads with them).
        for (let t = x.length; t < stride; t++) expect(row[t]).toBe(0);
        const want = convolveAligned(x, rirs[i], delays[i]);
        const got = row.subarray(0, x.length);
        expect(got.every(Number.isFinite)).toBe(true);
        worst = Math.max(worst, relativeL2(got, want));
      });
      log(`N ${plan.size} (${plan.split ? "three passes" : "one tile"}), ${batch} rows, stride ${stride}, RIRs <= ${maxRir}: worst rel L2 ${worst.toExponential(2)}`);
      return worst;
    } finally {
      for (const b of buffers) b.destroy();
    }
  }

  it("one-tile transforms (N = 2048): batches 1, 3, 17", async () => {
    expect(await check(1, 5000, 1000, 1)).toBeLessThan(1e-4);
    expect(await check(3, 5000, 1000, 2)).toBeLessThan(1e-4);
    expect(await check(17, 5000, 1000, 3)).toBeLessThan(1e-4);
  });

  it("three-pass transforms (N = 16384): batches 1, 3, 17", async () => {
    expect(await check(1, 30000, 5000, 4)).toBeLessThan(1e-4);
    expect(await check(3, 30000, 5000, 5)).toBeLessThan(1e-4);
    expect(await check(17, 30000, 5000, 6)).toBeLessThan(1e-4);
  });

  it("the host function matches convolveAligned, RIRs longer than signals included", async () => {
    const rnd = lcg(9);
    const signals = [noise(3001, rnd), noise(777, rnd), noise(5000, rnd)];
    const rirs = [roomImpulse(1000, 17, rnd), roomImpulse(900, 0, rnd), roomImpulse(1, 0, rnd)];
    const delays = [17, 0, 0];
    const got = await gpuFftConvolveBatch(gpu.device, signals, rirs, delays);
    const errs = got.map((g, i) => {
      expect(g.length).toBe(signals[i].length);
      return relativeL2(g, convolveAligned(signals[i], rirs[i], delays[i]));
    });
    log(`host function: rel L2 ${errs.map((e) => e.toExponential(2)).join(", ")}`);
    for (const e of errs) expect(e).toBeLessThan(1e-4);
  });
});
