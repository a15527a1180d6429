// clip on the GPU (twin: src/ops/clip.ts) with the ceiling in dB re the peak: peak pass, then
// the clipper with a count of samples over the ceiling. `percentile` needs a quantile of |x|
// (a sort) and runs on the CPU.
import { SOFT_KNEE } from "../../audio/clipping.js";
import type { ClipParams } from "../../ops/clip.js";
import { roundTo } from "../../ops/params.js";
import type { Measured } from "../../ops/types.js";
import { defineFinalize, defineMap } from "../kernels/elementwise.js";
import type { GpuOp } from "./types.js";

const CLIP_PEAK = defineMap("clip peak", { write: false, accs: ["max"], body: "acc.x = max(acc.x, abs(x));" });

// The ceiling as a double-float (S(1) + S(3)): the CPU compares |x| with the f64 ceiling, and a
// sample between the f32 and the f64 value would otherwise be counted (and clipped) differently.
const CLIP_CEILING = defineFinalize("clip ceiling", { accs: ["max"], epilogue: "let c = mulDouble(r.x, P(0), P(2), zero); S(0) = r.x; S(1) = c.x; S(3) = c.y;" });

const CLIP = defineMap("clip", {
  write: true,
  accs: ["sum"],
  body: `
    let c = S(1);
    let m = abs(x);
    // |x| above the f64 ceiling c + S(3): above c, or equal to it when the rest is negative.
    let over = m > c || (m == c && S(3) < 0.0);
    if (over) { acc.x += 1.0; }
    if (P(1) > 0.5) {
      let knee = ${SOFT_KNEE} * c;
      let span = c - knee;
      if (m > knee && span > 0.0) { x = sign(x) * (knee + span * tanh((m - knee) / span)); }
    } else if (over) {
      x = sign(x) * c;
    }`,
});

const CLIP_COUNT = defineFinalize("clip count", { accs: ["sum"], epilogue: "S(2) = r.x;" });

export const clipGpu: GpuOp<ClipParams> = {
  name: "clip",
  cpuReason: (p) => (p.level_db === undefined ? "clip by percentile (a quantile of |x|) runs on the CPU" : undefined),
  // [peak, ceiling (hi), samples over the ceiling, ceiling (lo)]
  slots: 4,
  record(prog, steps) {
    const rows = steps.map((s) => {
      const ratio = 10 ** (s.params.level_db! / 20);
      return { off: s.off, len: s.len, slot: s.slot, f: [Math.fround(ratio), s.params.mode === "soft" ? 1 : 0, ratio - Math.fround(ratio)] };
    });
    prog.mapReduce(CLIP_PEAK, rows);
    prog.finalize(CLIP_CEILING, rows);
    prog.mapReduce(CLIP, rows);
    prog.finalize(CLIP_COUNT, rows);
  },
  measured(p, s, step): Measured {
    const peak = s[0];
    if (peak === 0) return { skipped: "silent" };
    // The ceiling in f64 from the exact peak, as the CPU op computes it.
    const ceiling = peak * 10 ** (p.level_db! / 20);
    return { ceiling: roundTo(ceiling, 6), ceiling_db_re_peak: roundTo(20 * Math.log10(ceiling / peak), 2), clipped_percent: roundTo((100 * s[2]) / step.len, 3) };
  },
};
