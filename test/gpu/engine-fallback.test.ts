// The GPU engine's watchdog and CPU fallback: a GPU batch that fails (AUGMENT_GPU_FAULT=fail:N)
// or hangs (hang:N, with a short AUGMENT_GPU_WATCHDOG_S) is redone on the CPU; the run completes
// with the same items as a CPU run and the summary says what happened.
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, tempDir } from "../helpers/fixtures.js";
import { compareRuns, testGpu, writeEngineCorpus } from "./engine-helpers.js";

const { gpu, reason } = await testGpu();
gpu?.runtime.destroy();

const CHAIN = `  - noise: {bank: nb, snr_db: [0, 20], p: 0.8}
  - gain: {db: [-6, 6]}
  - filter: {type: lowpass, cutoff_hz: [2000, 6000], p: 0.7}`;

describe.skipIf(!gpu)(`GPU engine fallback to the CPU${gpu ? "" : ` (skipped: ${reason})`}`, () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir("augment-gpu-fallback-");
    writeEngineCorpus(dir, CHAIN);
    const r = cli(["run", "recipe.yaml", "--out", "out-cpu", "--device", "cpu", "--quiet"], dir);
    expect(r.code, r.stderr).toBe(0);
  }, 600_000);

  it("a failed GPU batch is redone on the CPU, later batches stay on the GPU", async () => {
    const r = cli(["run", "recipe.yaml", "--out", "out-fail", "--device", "gpu", "--quiet"], dir, { AUGMENT_GPU_FAULT: "fail:2" });
    expect(r.code, r.stderr).toBe(0);
    const cmp = await compareRuns(path.join(dir, "out-fail"), path.join(dir, "out-cpu"));
    expect(cmp.problems).toEqual([]);
    expect(cmp.items).toBe(12);
    expect(cmp.worstRelL2).toBeLessThanOrEqual(1e-4);
    const s = JSON.parse(readFileSync(path.join(dir, "out-fail/summary.json"), "utf8"));
    expect(s.engine.gpu.cpu_redone_batches).toBeGreaterThan(0);
    expect(s.engine.gpu.faults).toEqual([expect.stringMatching(/^GPU batch 2 \(\d+ items\): injected GPU failure/)]);
    expect(s.engine.gpu.items + s.engine.gpu.cpu_redone_items).toBe(12);
    expect(s.notes.join("\n")).toMatch(/redone on the CPU after a GPU failure/);
  }, 600_000);

  it("a hung GPU wait trips the watchdog; the run finishes on the CPU", async () => {
    const r = cli(["run", "recipe.yaml", "--out", "out-hang", "--device", "gpu", "--quiet"], dir, { AUGMENT_GPU_FAULT: "hang:1", AUGMENT_GPU_WATCHDOG_S: "5" });
    expect(r.code, r.stderr).toBe(0);
    const cmp = await compareRuns(path.join(dir, "out-hang"), path.join(dir, "out-cpu"));
    expect(cmp.problems).toEqual([]);
    expect(cmp.items).toBe(12);
    // Every item was made by the CPU engine: the same bytes.
    expect(cmp.worstRelL2).toBe(0);
    const s = JSON.parse(readFileSync(path.join(dir, "out-hang/summary.json"), "utf8"));
    expect(s.engine.gpu.faults[0]).toMatch(/took longer than 5 s/);
    expect(s.engine.gpu.items).toBe(0);
    expect(s.engine.gpu.cpu_redone_items).toBeGreaterThan(0);
    expect(s.engine.gpu.cpu_redone_items + s.engine.gpu.cpu_items_after_failure).toBe(12);
    expect(s.notes.join("\n")).toMatch(/the GPU was not used for the rest of the run/);
  }, 600_000);
});
