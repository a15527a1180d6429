// reverb on the GPU (twin: src/ops/reverb.ts → convolveAligned + RMS normalisation): the batched
// overlap-save FFT convolution of src/gpu/kernels/fftconv.ts. Its rows sit at a common stride, so
// the group's rows are gathered into a padded batch, each RIR's spectrum is taken once per batch
// (rows sharing a RIR share it), and the outputs are copied back into their rows. RMS
// normalisation is two energy passes around it and a per-row gain, as the CPU op.
import type { ReverbParams } from "../../ops/reverb.js";
import { roundTo } from "../../ops/params.js";
import type { Measured, ResourceRef } from "../../ops/types.js";
import { defineFinalize, defineMap } from "../kernels/elementwise.js";
import { FFT_MAX_SIZE } from "../kernels/fft.js";
import { GpuFftConvolver, planFftConvolution } from "../kernels/fftconv.js";
import type { GpuOp } from "./types.js";

const ref = (p: ReverbParams): ResourceRef => (p.room ? { kind: "rir", bank: "", id: p.rir, room: p.room } : { kind: "rir", bank: p.bank!, id: p.rir });

const ENERGY = defineMap("reverb energy", { write: false, accs: ["sum"], body: "acc.x += x * x;" });
const INPUT_ENERGY = defineFinalize("reverb input energy", { accs: ["sum"], epilogue: "S(0) = r.x;" });
// g = rms(x) / rms(y) when both are non-zero (the lengths are equal, so the means cancel).
const GAIN = defineFinalize("reverb gain", { accs: ["sum"], epilogue: "S(1) = r.x; S(2) = 1.0; if (S(0) > 0.0 && r.x > 0.0) { S(2) = sqrt(S(0) / r.x); }" });
const SCALE = defineMap("reverb scale", { write: true, accs: [], body: "x = x * S(2);" });

export const reverbGpu: GpuOp<ReverbParams> = {
  name: "reverb",
  cpuReason(p, ctx) {
    const taps = ctx.resource(ref(p)).audio.length;
    return 2 * taps > FFT_MAX_SIZE ? `a RIR of ${taps} taps is longer than the GPU transform takes` : undefined;
  },
  // [input energy, output energy, gain]
  slots: 3,
  record(prog, steps, ctx) {
    const rows = steps.map((s) => ({ off: s.off, len: s.len, slot: s.slot }));
    const norm = rows.filter((_, k) => steps[k].params.normalize === "rms");
    prog.mapReduce(ENERGY, norm);
    prog.finalize(INPUT_ENERGY, norm);

    // One spectrum per distinct RIR in the group.
    const rirIndex = new Map<string, number>();
    const rirs: Float32Array[] = [];
    const rowParams = new Uint32Array(2 * steps.length);
    steps.forEach((s, r) => {
      const key = JSON.stringify(ref(s.params));
      let i = rirIndex.get(key);
      if (i === undefined) {
        i = rirs.length;
        rirIndex.set(key, i);
        rirs.push(ctx.resource(ref(s.params)).audio);
      }
      rowParams[2 * r] = ctx.resource(ref(s.params)).rir!.delay;
      rowParams[2 * r + 1] = i;
    });
    const stride = Math.max(1, ...steps.map((s) => s.len));
    const rirStride = Math.max(1, ...rirs.map((h) => h.length));
    const plan = planFftConvolution(stride, rirStride);
    const packedRirs = new Float32Array(rirs.length * rirStride);
    rirs.forEach((h, i) => packedRirs.set(h, i * rirStride));
    const conv = prog.kernels.get("fftconv", () => new GpuFftConvolver(prog.kernels.device));
    const rirBuf = prog.buffer("rirs", packedRirs);
    const rirLengths = prog.buffer("rir lengths", Uint32Array.from(rirs, (h) => h.length));
    const spectra = prog.buffer("spectra", rirs.length * GpuFftConvolver.spectrumBytes(plan));
    const params = prog.buffer("reverb rows", rowParams);
    const lengths = prog.buffer("reverb lengths", Uint32Array.from(steps, (s) => s.len));
    const input = prog.buffer("reverb input", steps.length * stride * 4);
    const output = prog.buffer("reverb output", steps.length * stride * 4);
    prog.encoder((enc, b) => {
      steps.forEach((s, r) => enc.copyBufferToBuffer(b.data, s.off * 4, b.extra[input], r * stride * 4, s.len * 4));
      conv.encodeSpectra(enc, { plan, rirs: b.extra[rirBuf], rirStride, rirLengths: b.extra[rirLengths], count: rirs.length, spectra: b.extra[spectra] });
      conv.encodeConvolve(enc, { plan, signals: b.extra[input], lengths: b.extra[lengths], rowParams: b.extra[params], rows: steps.length, spectra: b.extra[spectra], output: b.extra[output] });
      steps.forEach((s, r) => enc.copyBufferToBuffer(b.extra[output], r * stride * 4, b.data, s.off * 4, s.len * 4));
    });

    prog.mapReduce(ENERGY, norm);
    prog.finalize(GAIN, norm);
    prog.mapReduce(SCALE, norm);
  },
  measured(p, s, step, ctx): Measured {
    const { audio, rir } = ctx.resource(ref(p));
    // The scale in f64 from the two energies, as the CPU op computes it (rms(x) / rms(y)).
    const scaleDb = p.normalize === "rms" && s[0] > 0 && s[1] > 0 ? 20 * Math.log10(Math.sqrt(s[0] / step.len) / Math.sqrt(s[1] / step.len)) : 0;
    return { direct_delay_samples: rir!.delay, rir_samples: audio.length, scale_db: roundTo(scaleDb, 3), ...rir!.acoustics };
  },
};
