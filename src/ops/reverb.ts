// Reverberation by FFT convolution with a room impulse response: from a bank (real or simulated),
// or from a room simulated for this item (`simulate:`). The RIR's direct path is mapped to time
// zero, so the speech is not shifted and word times stay valid; output length = input length.
// Every RIR used is measured (Schroeder T20/T30, DRR, C50, direct-path delay) into provenance.
import { z } from "zod";
import { measureRir } from "../audio/acoustics.js";
import { convolveAligned } from "../audio/fftconv.js";
import { rms } from "../audio/measure.js";
import { scaleSimd } from "../audio/simd.js";
import { directPathIndex } from "../audio/rir.js";
import { hashString } from "../plan/rng.js";
import { sampleRoom, simulateSchema } from "../rooms/sample.js";
import type { RoomSpec } from "../rooms/types.js";
import { probability, roundTo } from "./params.js";
import type { Measured, OpDefinition, ResourceRef } from "./types.js";

export const reverbSchema = z
  .object({
    bank: z.string().optional().describe("Name of a RIR bank in `rir_banks` (real or simulated)."),
    simulate: simulateSchema
      .optional()
      .describe("Or simulate a new room for every item from these ranges (`count` is ignored): more variety, a few ms of CPU per item."),
    normalize: z
      .enum(["rms", "none"])
      .default("rms")
      .describe("`rms`: scale the reverberant signal back to the input's RMS; `none`: keep the RIR's own gain."),
    p: probability,
  })
  .strict()
  .refine((c) => (c.bank === undefined) !== (c.simulate === undefined), { message: "give `reverb` either `bank` or `simulate`" });

export type ReverbConfig = z.infer<typeof reverbSchema>;

export interface ReverbParams {
  op: "reverb";
  bank?: string;
  rir: string;
  normalize: "rms" | "none";
  room?: RoomSpec;
  [k: string]: unknown;
}

function ref(p: ReverbParams): ResourceRef {
  return p.room ? { kind: "rir", bank: "", id: p.rir, room: p.room } : { kind: "rir", bank: p.bank!, id: p.rir };
}

/** The RIR's measured acoustics, rounded for provenance (NaN when the decay range is too short). */
function acoustics(h: Float32Array, sampleRate: number): Measured {
  const m = measureRir(h, sampleRate);
  const r = (x: number, d: number) => (Number.isFinite(x) ? roundTo(x, d) : "n/a");
  return { rt60_t20_s: r(m.rt60_t20_s, 4), rt60_t30_s: r(m.rt60_t30_s, 4), drr_db: r(m.drr_db, 3), c50_db: r(m.c50_db, 3) };
}

export const reverbOp: OpDefinition<ReverbConfig, ReverbParams> = {
  name: "reverb",
  summary: "Convolve with a room impulse response (bank or simulated room), aligned to its direct path; the RIR's RT60/DRR/C50 are measured into provenance.",
  schema: reverbSchema,
  bankRefs: (c) => (c.bank !== undefined ? [{ kind: "rir", bank: c.bank, field: "bank" }] : []),
  sample(c, rng, ctx) {
    if (c.simulate) {
      const room = sampleRoom(rng, c.simulate, { sampleRate: ctx.sampleRate });
      return { op: "reverb", rir: `room-${(hashString(JSON.stringify(room)) >>> 0).toString(16).padStart(8, "0")}`, normalize: c.normalize, room };
    }
    const pool = ctx.banks.rir.get(c.bank!) ?? [];
    if (pool.length === 0) throw new Error(`RIR bank "${c.bank}" has no items`);
    const entry = rng.choice(pool);
    return { op: "reverb", bank: c.bank, rir: entry.id, normalize: c.normalize, ...(entry.room?.rt60_s !== undefined ? { target_rt60_s: entry.room.rt60_s } : {}) };
  },
  resources: (p) => [ref(p)],
  apply(x, p, ctx) {
    const r = ref(p);
    const h = ctx.resource(r);
    const delay = directPathIndex(h);
    const y = convolveAligned(x, h, delay, ctx.buffer?.(x.length));
    let scaleDb = 0;
    if (p.normalize === "rms") {
      const a = rms(x);
      const b = rms(y);
      if (b > 0 && a > 0) {
        const g = a / b;
        scaleInPlace(y, g);
        scaleDb = 20 * Math.log10(g);
      }
    }
    const measured = ctx.memo(`rir-acoustics/${r.bank}/${r.id}`, () => acoustics(h, ctx.sampleRate));
    return { audio: y, measured: { direct_delay_samples: delay, rir_samples: h.length, scale_db: roundTo(scaleDb, 3), ...measured } };
  },
};

const simdSums = new Float64Array(1);

/** y *= g (float32 results of float64 products), by the SIMD kernel where it runs. */
function scaleInPlace(y: Float32Array, g: number): void {
  const done = scaleSimd(y, g, y, simdSums) ?? 0;
  for (let i = done; i < y.length; i++) y[i] *= g;
}
