// speed on the GPU (twin: src/ops/speed.ts → speedPerturb): the polyphase resampler of
// src/gpu/kernels/resample.ts (same filter tables as the CPU, designed on the host). Its rows sit
// at a common stride, so the group's rows are gathered into a padded batch, resampled, and copied
// back into their own rows (buffer copies on the device).
import type { SpeedParams } from "../../ops/speed.js";
import { GpuResampler, speedRow } from "../kernels/resample.js";
import type { GpuOp } from "./types.js";

export const speedGpu: GpuOp<SpeedParams> = {
  name: "speed",
  outLength: (n, p) => (p.factor === 1 ? n : speedRow(n, p.factor).outLength),
  slots: 0,
  record(prog, steps) {
    const live = steps.filter((s) => s.params.factor !== 1);
    if (live.length === 0) return;
    const resampler = prog.kernels.get("resample", () => new GpuResampler(prog.kernels.device));
    const inStride = Math.max(1, ...live.map((s) => s.len));
    const outStride = Math.max(1, ...live.map((s) => s.outLen));
    const rowParams = prog.buffer("speed rows", resampler.rowParams(live.map((s) => speedRow(s.len, s.params.factor))));
    const lengths = prog.buffer("speed lengths", Uint32Array.from(live, (s) => s.len));
    const input = prog.buffer("speed input", live.length * inStride * 4);
    const output = prog.buffer("speed output", live.length * outStride * 4);
    prog.encoder((enc, b) => {
      live.forEach((s, r) => enc.copyBufferToBuffer(b.data, s.off * 4, b.extra[input], r * inStride * 4, s.len * 4));
      resampler.encode(enc, { input: b.extra[input], inStride, lengths: b.extra[lengths], rowParams: b.extra[rowParams], rows: live.length, output: b.extra[output], outStride });
      live.forEach((s, r) => s.outLen > 0 && enc.copyBufferToBuffer(b.extra[output], r * outStride * 4, b.data, s.off * 4, s.outLen * 4));
    });
  },
  measured: (p, _s, step) => (p.factor === 1 ? undefined : { samples_in: step.len }),
};
