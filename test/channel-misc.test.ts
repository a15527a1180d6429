// The other channel ops, each against a known answer: sample-rate drop and restore, bit-depth
// reduction, hard and soft clipping (by dB and by percentile), DC offset, gain transitions, and the
// bundled device responses against their documented table.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SOFT_KNEE } from "../src/audio/clipping.js";
import { peakAbs } from "../src/audio/measure.js";
import { MIC_RESPONSE_NAMES } from "../src/audio/micresponses.js";
import { xcorrLag } from "../src/audio/xcorr.js";
import { bitdepthOp, type BitdepthParams } from "../src/ops/bitdepth.js";
import { clipOp, type ClipParams } from "../src/ops/clip.js";
import { dcoffsetOp } from "../src/ops/dcoffset.js";
import { gainCurveDb, gaintransitionOp, type GaintransitionParams } from "../src/ops/gaintransition.js";
import { micresponseOp } from "../src/ops/micresponse.js";
import { ratedropOp } from "../src/ops/ratedrop.js";
import type { ApplyContext, OpOutput } from "../src/ops/types.js";
import { noiseSignal, ROOT } from "./helpers/fixtures.js";
import { demoSpeech } from "./helpers/speech.js";
import { bandEnergy, powerSpectrum } from "./helpers/spectrum.js";

const SR = 16000;
const ctx: ApplyContext = { sampleRate: SR, resource: () => new Float32Array(0) };
const run = (out: OpOutput | Promise<OpOutput>) => out as OpOutput;

function tone(hz: number, amplitude = 0.5, seconds = 2): Float32Array {
  return Float32Array.from({ length: Math.round(seconds * SR) }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / SR));
}

function gainDb(x: Float32Array, y: Float32Array): number {
  let ex = 0;
  let ey = 0;
  for (let i = x.length >> 1; i < x.length - 400; i++) {
    ex += x[i] * x[i];
    ey += y[i] * y[i];
  }
  return 10 * Math.log10(ey / ex);
}

describe("ratedrop", () => {
  it("8 kHz and 11.025 kHz: nothing above the low rate's Nyquist survives, the band below is kept, timing and length too", () => {
    const x = noiseSignal(4 * SR, 21, 0.3);
    const inPs = powerSpectrum(x);
    for (const rate of [8000, 11025]) {
      const y = run(ratedropOp.apply(x, { op: "ratedrop", rate }, ctx)).audio;
      expect(y.length).toBe(x.length);
      const ps = powerSpectrum(y);
      const nyq = rate / 2;
      const above = 10 * Math.log10(bandEnergy(ps, SR, nyq + 50, SR / 2) / bandEnergy(inPs, SR, nyq + 50, SR / 2));
      const kept = 10 * Math.log10(bandEnergy(ps, SR, 100, 0.85 * nyq) / bandEnergy(inPs, SR, 100, 0.85 * nyq));
      console.log(`ratedrop ${rate}: energy above ${nyq} Hz ${above.toFixed(1)} dB re input, 0.1-${(0.85 * nyq).toFixed(0)} Hz ${kept.toFixed(3)} dB`);
      expect(above).toBeLessThan(-60);
      expect(Math.abs(kept)).toBeLessThan(0.05);
      expect(xcorrLag(x, y, 50).lag).toBe(0);
    }
    // A rate at or above the recipe's is a no-op.
    expect(run(ratedropOp.apply(x, { op: "ratedrop", rate: 16000 }, ctx)).audio).toBe(x);
  });
});

describe("bitdepth", () => {
  it("a sine at the grid's full scale requantised to b bits has SQNR 6.02 b + 1.76 dB (±0.5 dB), values on the grid", () => {
    const rows: string[] = [];
    for (const bits of [6, 8, 12, 16]) {
      const scale = 2 ** (bits - 1);
      // The largest sine that does not clip on a two's-complement grid: amplitude (2^(b-1) - 1) / 2^(b-1).
      const amplitude = (scale - 1) / scale;
      const x = Float32Array.from({ length: 64000 }, (_, i) => amplitude * Math.sin((2 * Math.PI * 1001 * i) / SR + 0.1));
      const out = run(bitdepthOp.apply(x, { op: "bitdepth", bits }, ctx));
      const sqnr = out.measured!.sqnr_db as number;
      const theory = 6.02 * bits + 1.76 + 20 * Math.log10(amplitude);
      rows.push(`${bits} bits: SQNR ${sqnr} dB (6.02 b + 1.76 + 20 log10 A = ${theory.toFixed(2)})`);
      expect(Math.abs(sqnr - theory)).toBeLessThan(0.5);
      for (let i = 0; i < 1000; i++) expect(Number.isInteger(out.audio[i] * scale)).toBe(true);
    }
    console.log(rows.join("\n"));
  });

  it("dither comes from the plan-time seed: same seed same bytes, other seed other bytes", () => {
    const x = noiseSignal(8000, 4, 0.1);
    const p: BitdepthParams = { op: "bitdepth", bits: 8, dither_seed: 42 };
    const a = run(bitdepthOp.apply(x, p, ctx)).audio;
    const b = run(bitdepthOp.apply(x, { ...p }, ctx)).audio;
    const c = run(bitdepthOp.apply(x, { ...p, dither_seed: 43 }, ctx)).audio;
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
  });
});

describe("clip", () => {
  it("by percentile: the asked share of speech samples ends up at the ceiling (hard) or bent into it (soft)", async () => {
    const x = (await demoSpeech(SR))[2].audio;
    for (const percentile of [0.1, 1, 5]) {
      for (const mode of ["hard", "soft"] as const) {
        const out = run(clipOp.apply(x, { op: "clip", mode, percentile } as ClipParams, ctx));
        const ceiling = out.measured!.ceiling as number;
        expect(Math.abs((out.measured!.clipped_percent as number) - percentile)).toBeLessThan(0.01 + percentile * 0.01);
        expect(peakAbs(out.audio)).toBeLessThanOrEqual(ceiling + 1e-6);
        if (mode === "hard") {
          let atCeiling = 0;
          // (measured.ceiling is rounded to 1e-6)
          for (const v of out.audio) if (Math.abs(v) >= ceiling - 1e-6) atCeiling++;
          expect(Math.abs((100 * atCeiling) / x.length - percentile)).toBeLessThan(0.01 + percentile * 0.02);
        } else {
          // Identity below the knee.
          for (let i = 0; i < x.length; i++) if (Math.abs(x[i]) <= SOFT_KNEE * ceiling) expect(out.audio[i]).toBe(x[i]);
        }
      }
    }
  });

  it("by dB: the ceiling is that far below the peak", () => {
    const x = tone(440, 0.8);
    const out = run(clipOp.apply(x, { op: "clip", mode: "hard", level_db: -6 }, ctx));
    expect(out.measured!.ceiling_db_re_peak).toBeCloseTo(-6, 2);
    expect(peakAbs(out.audio)).toBeCloseTo(peakAbs(x) * 10 ** (-6 / 20), 5);
    // A soft clip is smooth: no step between neighbouring samples beyond the sine's own.
    const soft = run(clipOp.apply(x, { op: "clip", mode: "soft", level_db: -6 }, ctx)).audio;
    let maxStep = 0;
    for (let i = 1; i < soft.length; i++) maxStep = Math.max(maxStep, Math.abs(soft[i] - soft[i - 1]));
    expect(maxStep).toBeLessThanOrEqual(0.8 * 2 * Math.sin((Math.PI * 440) / SR) + 1e-6);
  });
});

describe("dcoffset", () => {
  it("adds exactly the offset", () => {
    const x = noiseSignal(16000, 8, 0.2);
    const out = run(dcoffsetOp.apply(x, { op: "dcoffset", offset: 0.03 }, ctx)).audio;
    let d = 0;
    for (let i = 0; i < x.length; i++) d += out[i] - x[i];
    expect(d / x.length).toBeCloseTo(0.03, 6);
  });
});

describe("gaintransition", () => {
  it("each segment sits at its planned gain, ramps are linear in dB, length kept", () => {
    const x = new Float32Array(4 * SR).fill(0.1);
    const p: GaintransitionParams = {
      op: "gaintransition",
      steps: [
        { at: 0.25, ramp_ms: 100, gain_db: -12 },
        { at: 0.6, ramp_ms: 400, gain_db: 4 },
      ],
    };
    const out = run(gaintransitionOp.apply(x, p, ctx));
    const y = out.audio;
    expect(y.length).toBe(x.length);
    const db = (i: number) => 20 * Math.log10(y[i] / 0.1);
    expect(db(Math.round(0.1 * x.length))).toBeCloseTo(0, 5);
    expect(db(Math.round(0.4 * x.length))).toBeCloseTo(-12, 4);
    expect(db(Math.round(0.9 * x.length))).toBeCloseTo(4, 4);
    // Midway through the second ramp: halfway in dB.
    expect(db(Math.round(0.6 * x.length))).toBeCloseTo(-4, 1);
    expect(out.measured!.limited_db).toBe(0);
    const curve = gainCurveDb(p.steps, x.length, SR);
    let monotonic = true;
    for (let i = Math.round(0.25 * x.length); i < x.length; i++) if (curve[i] < curve[i - 1] - 1e-9 && i > 0.3 * x.length) monotonic = false;
    expect(monotonic).toBe(true);
  });

  it("scales the whole clip down when a segment would pass full scale", () => {
    const x = new Float32Array(SR).fill(0.5);
    const out = run(gaintransitionOp.apply(x, { op: "gaintransition", steps: [{ at: 0.5, ramp_ms: 10, gain_db: 12 }] }, ctx));
    expect(peakAbs(out.audio)).toBeLessThanOrEqual(32767 / 32768);
    expect(out.measured!.limited_db as number).toBeLessThan(-5);
  });
});

describe("micresponse", () => {
  it("tones through each bundled curve match data/mic-responses/responses.csv within 0.1 dB", () => {
    const csv = readFileSync(path.join(ROOT, "data/mic-responses/responses.csv"), "utf8").trim().split("\n");
    const header = csv[0].split(",");
    expect(header.slice(1)).toEqual([...MIC_RESPONSE_NAMES]);
    let worst = 0;
    for (const line of csv.slice(1)) {
      const [hz, ...dbs] = line.split(",").map(Number);
      if (hz < 90) continue; // a 2 s tone below 90 Hz has too few periods past the high-pass transient
      const x = tone(hz, 0.3);
      for (const [j, name] of MIC_RESPONSE_NAMES.entries()) {
        if (dbs[j] < -60) continue; // past the float32 tone's precision for a 0.1 dB check
        const y = run(micresponseOp.apply(x, { op: "micresponse", curve: name }, ctx)).audio;
        const err = Math.abs(gainDb(x, y) - dbs[j]);
        worst = Math.max(worst, err);
        expect(err, `${name} at ${hz} Hz`).toBeLessThan(0.1);
      }
    }
    console.log(`mic responses: worst deviation from responses.csv ${worst.toFixed(4)} dB`);
  });
});
