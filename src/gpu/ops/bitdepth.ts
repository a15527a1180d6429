// bitdepth on the GPU (twin: src/ops/bitdepth.ts + requantize in src/audio/quantize.ts), without
// dither: the dither's generator is sequential per item, so dithered rows run on the CPU.
// x * 2^(bits-1) is exact in f32 and the rounding (half up, as Math.round) is done exactly.
import type { BitdepthParams } from "../../ops/bitdepth.js";
import { roundTo } from "../../ops/params.js";
import { defineFinalize, defineMap } from "../kernels/elementwise.js";
import type { GpuOp } from "./types.js";

const BITDEPTH = defineMap("bitdepth", {
  write: true,
  accs: ["sum", "sum"],
  body: `
    let v = x * P(0);
    let f = floor(v);
    var q = f;
    if (v - f >= 0.5) { q = f + 1.0; }
    q = clamp(q, P(1), P(2));
    let y = q / P(0);
    let e = y - x;
    acc.x += x * x;
    acc.y += e * e;
    x = y;`,
});

const BITDEPTH_SQNR = defineFinalize("bitdepth sqnr", { accs: ["sum", "sum"], epilogue: "S(0) = r.x; S(1) = r.y;" });

export const bitdepthGpu: GpuOp<BitdepthParams> = {
  name: "bitdepth",
  cpuReason: (p) => (p.dither_seed !== undefined ? "bitdepth with dither (a sequential generator) runs on the CPU" : undefined),
  // [signal energy, quantisation noise energy]
  slots: 2,
  record(prog, steps) {
    const rows = steps.map((s) => {
      const scale = 2 ** (s.params.bits - 1);
      return { off: s.off, len: s.len, slot: s.slot, f: [scale, -scale, scale - 1] };
    });
    prog.mapReduce(BITDEPTH, rows);
    prog.finalize(BITDEPTH_SQNR, rows);
  },
  measured: (_p, s) => ({ sqnr_db: s[1] > 0 ? roundTo(10 * Math.log10(s[0] / s[1]), 2) : "inf" }),
};
