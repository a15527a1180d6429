// engine.device: cpu | gpu | auto. `auto` takes a hardware adapter and otherwise the CPU; `gpu`
// takes any adapter, software included (so tests can force lavapipe), and fails with one error if
// there is none. Either way a GPU engine must pass its self-test first. The GPU modules (and the
// optional `webgpu` package) are loaded only here, only when asked for.
import { createCpuEngine, type Engine } from "../cpu/pool.js";
import type { EngineConfig } from "../process.js";
import type { EngineReport } from "./engine.js";

export type Device = "auto" | "cpu" | "gpu";

export class DeviceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DeviceError";
  }
}

export interface EngineWithReport extends Engine {
  report(): EngineReport;
}

/**
 * The engine for a run, and one line saying which device it uses and why. Env (tests, diagnosis):
 * AUGMENT_GPU_WATCHDOG_S (seconds per GPU wait), AUGMENT_GPU_FAULT (`fail:N` / `hang:N`: the N-th
 * GPU batch fails or hangs, to exercise the CPU fallback).
 */
export async function createEngine(device: Device, cfg: EngineConfig, threads: number, log: (line: string) => void = () => undefined): Promise<EngineWithReport> {
  const cpu = (reason?: string): EngineWithReport => {
    const engine = createCpuEngine(cfg, threads);
    const report: EngineReport = { device: "cpu", ...(device !== "cpu" ? { requested: device } : {}), ...(reason ? { reason } : {}) };
    if (device !== "cpu") log(`engine: cpu (device ${device}: ${reason})`);
    return Object.assign(engine, { report: () => report });
  };
  if (device === "cpu") return cpu();
  const { acquireGpu } = await import("../../gpu/device.js");
  const { gpu, reason } = await acquireGpu({ allowSoftware: device === "gpu" });
  if (!gpu) {
    if (device === "gpu") throw new DeviceError(`engine.device gpu: ${reason}; use device auto or cpu to run on the CPU`);
    return cpu(`no hardware GPU: ${reason}`);
  }
  const { GpuEngine, describeAdapter } = await import("./engine.js");
  const { gpuSelfTest } = await import("./selftest.js");
  const watchdogS = Number(process.env.AUGMENT_GPU_WATCHDOG_S) || undefined;
  const engine = new GpuEngine(cfg, createCpuEngine(cfg, threads), gpu, { watchdogS, fault: process.env.AUGMENT_GPU_FAULT });
  const adapter = describeAdapter(gpu.info);
  // The self-test compiles every pipeline (seconds each on a software adapter): it gets a long
  // watchdog whatever the run's is.
  const watchdog = engine.runtime.watchdogS;
  engine.runtime.watchdogS = Math.max(watchdog, gpu.software ? 900 : 120);
  try {
    engine.selfTestError = await gpuSelfTest(engine, cfg.sampleRate);
    engine.runtime.watchdogS = watchdog;
  } catch (e: any) {
    await engine.close();
    const why = `GPU self-test failed on ${adapter}: ${e?.message ?? e}`;
    if (device === "gpu") throw new DeviceError(`${why}; use --device cpu`);
    return cpu(why);
  }
  log(`engine: gpu (${adapter}${gpu.software ? ", a software adapter" : ""}; self-test max error ${engine.selfTestError.toExponential(1)}) with ${threads} CPU threads for decode and encode`);
  const base = engine.report.bind(engine);
  const report = () => ({ ...base(), ...(device !== "gpu" ? { requested: device } : {}) });
  return Object.assign(engine, { report });
}
