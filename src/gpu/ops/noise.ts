// noise on the GPU (twin: src/ops/noise.ts). The looped, cross-faded noise segment is cut on the
// host by the CPU op's own loopNoise and uploaded with the batch; the rest runs as three passes
// per row group: (1) speech and noise energy → gain for the planned SNR, (2) peak of the mix →
// the mixture's scale if it would clip, (3) the mix, with the energies of both scaled components
// for the achieved SNR. `snr_reference: speech` (energy VAD) runs on the CPU for those rows.
import { CLIP_LEVEL, loopNoise, type NoiseParams } from "../../ops/noise.js";
import { roundTo } from "../../ops/params.js";
import type { Measured } from "../../ops/types.js";
import { defineFinalize, defineMap } from "../kernels/elementwise.js";
import { CLIP_WGSL, type GpuOp } from "./types.js";

const ref = (p: NoiseParams) => ({ kind: "noise" as const, bank: p.bank, id: p.noise });

const NOISE_ENERGIES = defineMap("noise energies", { aux: true, write: false, accs: ["sum", "sum"], body: "acc.x += x * x; acc.y += a * a;" });

const NOISE_GAIN = defineFinalize("noise gain", {
  accs: ["sum", "sum"],
  epilogue: `
    let ps = r.x / nf;
    let pn = r.y / nf;
    S(0) = 0.0;
    S(4) = 0.0;
    if (pn == 0.0) { S(4) = 1.0; } else if (ps == 0.0) { S(4) = 2.0; } else { S(0) = sqrt(ps / (pn * P(0))); }`,
});

const NOISE_PEAK = defineMap("noise peak", { aux: true, write: false, accs: ["max"], body: "acc.x = max(acc.x, abs(x + S(0) * a));" });

const NOISE_SCALE = defineFinalize("noise scale", { accs: ["max"], epilogue: `S(1) = 1.0; if (S(4) == 0.0 && r.x > ${CLIP_WGSL}) { S(1) = ${CLIP_WGSL} / r.x; }` });

const NOISE_MIX = defineMap("noise mix", { aux: true, write: true, accs: ["sum", "sum"], body: "let s = x * S(1); let m = a * (S(0) * S(1)); x = s + m; acc.x += s * s; acc.y += m * m;" });

const NOISE_SNR = defineFinalize("noise snr", { accs: ["sum", "sum"], epilogue: "S(2) = r.x; S(3) = r.y;" });

export const noiseGpu: GpuOp<NoiseParams> = {
  name: "noise",
  cpuReason: (p) => (p.snr_reference === "speech" ? "snr_reference: speech (energy VAD) runs on the CPU" : undefined),
  // [gain, mixture scale, speech energy, noise energy, 0 | 1 silent noise | 2 silent speech]
  slots: 5,
  aux(p, n, ctx) {
    const sr = ctx.sampleRate;
    return loopNoise(ctx.resource(ref(p)).audio, Math.round(p.offset_s * sr), n, Math.round((p.crossfade_ms / 1000) * sr));
  },
  record(prog, steps) {
    const rows = steps.map((s) => ({ off: s.off, len: s.len, aux: s.aux, slot: s.slot, f: [10 ** (s.params.snr_db / 10)] }));
    prog.mapReduce(NOISE_ENERGIES, rows);
    prog.finalize(NOISE_GAIN, rows);
    prog.mapReduce(NOISE_PEAK, rows);
    prog.finalize(NOISE_SCALE, rows);
    prog.mapReduce(NOISE_MIX, rows);
    prog.finalize(NOISE_SNR, rows);
  },
  measured(p, s, step, ctx): Measured {
    if (s[4] === 1) return { skipped: "silent noise" };
    if (s[4] === 2) return { skipped: "silent speech" };
    const sr = ctx.sampleRate;
    const noiseLength = ctx.resource(ref(p)).audio.length;
    return {
      snr_db: roundTo(10 * Math.log10(s[2] / step.len / (s[3] / step.len)), 4),
      noise_gain_db: roundTo(20 * Math.log10(s[0]), 3),
      mix_scale_db: roundTo(20 * Math.log10(s[1]), 3),
      looped: noiseLength < Math.round(p.offset_s * sr) + step.len,
    };
  },
};

export { CLIP_LEVEL };
