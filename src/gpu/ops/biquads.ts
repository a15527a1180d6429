// filter, eq, telephone and micresponse on the GPU: each is a biquad cascade with its group delay
// removed (filterAligned in src/audio/biquad.ts). The host designs the cascade in f64 exactly as
// the CPU op does (the same design functions and reference frequencies), the kernel
// (src/gpu/kernels/iir.ts) runs it per row.
import { biquadGroupDelay, butterworth, rbjBiquad, type Biquad } from "../../audio/biquad.js";
import { micResponseSections } from "../../audio/micresponses.js";
import type { EqParams } from "../../ops/eq.js";
import type { FilterParams } from "../../ops/filter.js";
import type { MicresponseParams } from "../../ops/micresponse.js";
import { telephoneSections, type TelephoneParams } from "../../ops/telephone.js";
import type { Measured } from "../../ops/types.js";
import type { PlannedOp } from "../../types.js";
import { MAX_SECTIONS, packSections } from "../kernels/iir.js";
import type { GpuOp } from "./types.js";

/** A cascade and the frequency whose group delay is removed; or why the op leaves the audio as is. */
type Design = { sections: Biquad[]; refHz: number } | { skipped: string };

function filterDesign(p: FilterParams, sr: number): Design {
  const limit = 0.49 * sr;
  if (p.type === "bandpass") {
    const sections = [...butterworth("highpass", p.order, Math.min(p.low_hz!, limit), sr)];
    if (p.high_hz! < limit) sections.push(...butterworth("lowpass", p.order, p.high_hz!, sr));
    return { sections, refHz: Math.sqrt(p.low_hz! * Math.min(p.high_hz!, limit)) };
  }
  if (p.type === "lowpass") {
    if (p.cutoff_hz! >= limit) return { skipped: `cutoff at or above 0.49 x ${sr} Hz` };
    return { sections: butterworth("lowpass", p.order, p.cutoff_hz!, sr), refHz: Math.min(1000, p.cutoff_hz! / 2) };
  }
  return { sections: butterworth("highpass", p.order, Math.min(p.cutoff_hz!, limit), sr), refHz: Math.min(Math.max(1000, 2 * p.cutoff_hz!), 0.45 * sr) };
}

const eqDesign = (p: EqParams, sr: number): Design => ({
  sections: p.bands.filter((b) => b.freq_hz < 0.45 * sr).map((b) => rbjBiquad(b.type, b.freq_hz, b.q, sr, b.gain_db)),
  refHz: Math.min(1000, 0.25 * sr),
});

const telephoneDesign = (p: TelephoneParams, sr: number): Design => ({ sections: telephoneSections(p, sr), refHz: Math.sqrt(p.low_hz * Math.min(p.high_hz, 0.45 * sr)) });

const micDesign = (p: MicresponseParams, sr: number): Design => ({ sections: micResponseSections(p.curve, sr), refHz: Math.min(1000, 0.25 * sr) });

function cascadeOp<P extends PlannedOp>(name: string, design: (p: P, sr: number) => Design): GpuOp<P> {
  // Designs are cached per params within a batch: the aux, the record and the measured value all need it.
  const cache = new WeakMap<object, { design: Design; delay: number }>();
  const get = (p: P, sr: number) => {
    let c = cache.get(p);
    if (!c) {
      const d = design(p, sr);
      c = { design: d, delay: "skipped" in d ? 0 : Math.max(0, Math.round(biquadGroupDelay(d.sections, d.refHz, sr))) };
      cache.set(p, c);
    }
    return c;
  };
  return {
    name,
    cpuReason: (p, ctx) => {
      const d = get(p, ctx.sampleRate).design;
      return "sections" in d && d.sections.length > MAX_SECTIONS ? `more than ${MAX_SECTIONS} biquad sections` : undefined;
    },
    slots: 0,
    aux(p, _n, ctx) {
      const d = get(p, ctx.sampleRate).design;
      return "skipped" in d ? undefined : packSections(d.sections);
    },
    record(prog, steps, ctx) {
      const rows = steps
        .filter((s) => !("skipped" in get(s.params, ctx.sampleRate).design))
        .map((s) => {
          const { design, delay } = get(s.params, ctx.sampleRate);
          return { off: s.off, len: s.len, aux: s.aux, u: [(design as { sections: Biquad[] }).sections.length, delay] };
        });
      prog.iir(rows);
    },
    measured(p, _s, _step, ctx): Measured {
      const { design, delay } = get(p, ctx.sampleRate);
      return "skipped" in design ? { skipped: design.skipped } : { delay_samples: delay };
    },
  };
}

export const filterGpu = cascadeOp<FilterParams>("filter", filterDesign);
export const eqGpu = cascadeOp<EqParams>("eq", eqDesign);
export const telephoneGpu = cascadeOp<TelephoneParams>("telephone", telephoneDesign);
export const micresponseGpu = cascadeOp<MicresponseParams>("micresponse", micDesign);
