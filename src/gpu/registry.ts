// The ops that have a GPU implementation (src/gpu/ops/*). An op not listed here, or whose
// cpuReason() says so for its params, runs on the CPU for that row, in the middle of the chain.
import { bitdepthGpu } from "./ops/bitdepth.js";
import { eqGpu, filterGpu, micresponseGpu, telephoneGpu } from "./ops/biquads.js";
import { clipGpu } from "./ops/clip.js";
import { dcoffsetGpu } from "./ops/dcoffset.js";
import { gainGpu } from "./ops/gain.js";
import { noiseGpu } from "./ops/noise.js";
import { reverbGpu } from "./ops/reverb.js";
import { speedGpu } from "./ops/speed.js";
import type { GpuOp } from "./ops/types.js";

export const GPU_OPS: ReadonlyMap<string, GpuOp> = new Map<string, GpuOp>(
  [speedGpu, reverbGpu, noiseGpu, gainGpu, dcoffsetGpu, clipGpu, bitdepthGpu, filterGpu, eqGpu, telephoneGpu, micresponseGpu].map((op) => [op.name, op as GpuOp]),
);

export function gpuOp(name: string): GpuOp | undefined {
  return GPU_OPS.get(name);
}
