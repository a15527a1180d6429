// gain on the GPU (twin: src/ops/gain.ts): one pass for the level and peak, a per-row decision
// (target level, clipping limit), one pass applying the gain. The measured applied gain is
// recomputed on the host in f64 from the exact peak, as the CPU op computes it.
import { CLIP_LEVEL } from "../../ops/noise.js";
import type { GainParams } from "../../ops/gain.js";
import { roundTo } from "../../ops/params.js";
import { defineFinalize, defineMap } from "../kernels/elementwise.js";
import { CLIP_WGSL, type GpuOp } from "./types.js";

const GAIN_LEVEL = defineMap("gain level", { write: false, accs: ["sum", "max"], body: "acc.x += x * x; acc.y = max(acc.y, abs(x));" });

const GAIN_DECIDE = defineFinalize("gain decide", {
  accs: ["sum", "max"],
  epilogue: `
    var g = P(0);
    if (P(1) > 0.5) { let ms = r.x / nf; if (ms > 0.0) { g = P(0) / sqrt(ms); } else { g = 1.0; } }
    S(1) = 0.0;
    if (P(2) > 0.5 && r.y * g > ${CLIP_WGSL}) { g = ${CLIP_WGSL} / r.y; S(1) = 1.0; }
    S(0) = g; S(2) = r.y; S(3) = r.x;`,
});

const GAIN_APPLY = defineMap("gain apply", { write: true, accs: [], body: "x = x * S(0);" });

export const gainGpu: GpuOp<GainParams> = {
  name: "gain",
  // [gain, limited, peak, sum of squares]
  slots: 4,
  record(prog, steps) {
    // P(0): the gain (db mode) or the target RMS as a linear level; P(1): 1 = target mode; P(2): avoid clipping.
    const rows = steps.map((s) => {
      const p = s.params;
      const target = p.target_dbfs !== undefined;
      return { off: s.off, len: s.len, slot: s.slot, f: [10 ** ((target ? p.target_dbfs! : (p.db ?? 0)) / 20), target ? 1 : 0, p.avoid_clipping ? 1 : 0] };
    });
    prog.mapReduce(GAIN_LEVEL, rows);
    prog.finalize(GAIN_DECIDE, rows);
    prog.mapReduce(GAIN_APPLY, rows);
  },
  measured(p, s, step) {
    const limited = s[1] === 1;
    let db = p.db ?? 0;
    if (p.target_dbfs !== undefined) db = s[3] > 0 ? p.target_dbfs - 10 * Math.log10(s[3] / step.len) : 0;
    const g = limited ? CLIP_LEVEL / s[2] : 10 ** (db / 20);
    return { applied_db: roundTo(20 * Math.log10(g), 3), limited };
  },
};
