// dcoffset on the GPU (twin: src/ops/dcoffset.ts): add, and count samples past full scale.
import type { DcoffsetParams } from "../../ops/dcoffset.js";
import { defineFinalize, defineMap } from "../kernels/elementwise.js";
import type { GpuOp } from "./types.js";

const DCOFFSET = defineMap("dcoffset", { write: true, accs: ["sum"], body: "x = x + P(0); if (x >= 1.0 || x < -1.0) { acc.x += 1.0; }" });

const DCOFFSET_COUNT = defineFinalize("dcoffset count", { accs: ["sum"], epilogue: "S(0) = r.x;" });

export const dcoffsetGpu: GpuOp<DcoffsetParams> = {
  name: "dcoffset",
  slots: 1,
  record(prog, steps) {
    const rows = steps.map((s) => ({ off: s.off, len: s.len, slot: s.slot, f: [s.params.offset] }));
    prog.mapReduce(DCOFFSET, rows);
    prog.finalize(DCOFFSET_COUNT, rows);
  },
  measured: (_p, s) => ({ samples_past_full_scale: s[0] }),
};
