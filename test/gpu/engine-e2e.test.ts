// The GPU engine end to end through the built CLI: the same recipe with --device gpu (lavapipe in
// CI) and --device cpu must give the same items (ids, labels, durations, provenance to its
// rounding) and the same decoded audio within 1e-4 relative L2 per item. The chain mixes GPU ops
// (speed, reverb: the FFT and resampler kernels; noise, gain, filter, eq) with a CPU-only op in
// the middle (tempo), so rows leave the GPU and come back.
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, tempDir } from "../helpers/fixtures.js";
import { compareRuns, testGpu, writeEngineCorpus } from "./engine-helpers.js";

const { gpu, reason } = await testGpu();
gpu?.runtime.destroy();

const CHAIN = `  - speed: {factors: [0.9, 1.0, 1.1]}
  - reverb: {bank: rb, p: 0.6}
  - noise: {bank: nb, snr_db: [0, 20], p: 0.8}
  - gain: {db: [-6, 6]}
  - filter: {type: highpass, cutoff_hz: [50, 300], p: 0.7}
  - tempo: {factor: [0.9, 1.1], p: 0.4}
  - eq: {bands: [{freq_hz: [200, 2000], gain_db: [-6, 6]}], p: 0.5}`;

describe.skipIf(!gpu)(`GPU engine end to end${gpu ? "" : ` (skipped: ${reason})`}`, () => {
  let dir: string;
  let gpuRun: ReturnType<typeof cli>;
  beforeAll(() => {
    dir = tempDir("augment-gpu-e2e-");
    writeEngineCorpus(dir, CHAIN);
    const cpuRun = cli(["run", "recipe.yaml", "--out", "out-cpu", "--device", "cpu", "--quiet"], dir);
    expect(cpuRun.code, cpuRun.stderr).toBe(0);
    gpuRun = cli(["run", "recipe.yaml", "--out", "out-gpu", "--device", "gpu"], dir);
    expect(gpuRun.code, gpuRun.stderr).toBe(0);
  }, 1_200_000);

  it("writes the same items as the CPU engine, audio within 1e-4", async () => {
    const r = await compareRuns(path.join(dir, "out-gpu"), path.join(dir, "out-cpu"));
    expect(r.problems).toEqual([]);
    expect(r.items).toBe(12);
    console.log(`GPU vs CPU engine: ${r.items} items, worst relative L2 ${r.worstRelL2.toExponential(2)} (int16 output)`);
    expect(r.worstRelL2).toBeLessThanOrEqual(1e-4);
  });

  it("says it ran on the GPU (stderr and summary.json), which ops ran on the CPU, and nothing redone", () => {
    expect(gpuRun.stderr).toMatch(/^engine: gpu \(/m);
    const s = JSON.parse(readFileSync(path.join(dir, "out-gpu/summary.json"), "utf8"));
    expect(s.engine.device).toBe("gpu");
    expect(s.engine.gpu.batches).toBeGreaterThan(0);
    expect(s.engine.gpu.items).toBe(12);
    expect(s.engine.gpu.cpu_redone_batches).toBe(0);
    expect(Object.keys(s.engine.gpu.cpu_ops)).toEqual(["tempo: no GPU kernel"]);
    expect(s.engine.gpu.busy_share).toBeGreaterThan(0);
    expect(s.engine.gpu.busy_share).toBeLessThanOrEqual(1);
    const c = JSON.parse(readFileSync(path.join(dir, "out-cpu/summary.json"), "utf8"));
    expect(c.engine.device).toBe("cpu");
  });

  it("device auto takes a hardware adapter only, and says which device it chose", () => {
    const r = cli(["run", "recipe.yaml", "--out", "out-auto", "--device", "auto", "--limit", "2"], dir);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(readFileSync(path.join(dir, "out-auto/summary.json"), "utf8"));
    if (gpu!.handle.software) {
      expect(r.stderr).toMatch(/^engine: cpu \(device auto: no hardware GPU: only a software adapter/m);
      expect(s.engine).toMatchObject({ device: "cpu", requested: "auto" });
      expect(s.engine.reason).toMatch(/software adapter/);
    } else {
      expect(r.stderr).toMatch(/^engine: gpu \(/m);
      expect(s.engine).toMatchObject({ device: "gpu", requested: "auto" });
    }
  });
});
