// Prosody (time-varying tempo and pitch) and the accent preset: word times through the
// time-varying map land where the warped audio puts them (clicks at known times), the map is
// monotonic, bounded and consistent with the output length, pitch follows the contour, and
// everything is a deterministic function of (seed, item, op).
import { describe, expect, it } from "vitest";
import { contourValue, prosody, prosodyMaps, PROSODY_GRID_S } from "../src/audio/prosody.js";
import { accentOp, accentSchema } from "../src/ops/accent.js";
import { prosodyContour, prosodyOp, prosodySchema, type ProsodyParams } from "../src/ops/prosody.js";
import { rngFor } from "../src/plan/rng.js";
import { applyOp, cents, clicks, harmonicComplex, lpcFormants, measureF0, SR, synthVowel } from "./helpers/voice.js";

const log = (...parts: unknown[]) => console.log("[voice-prosody]", ...parts);
const banks = { noise: new Map(), rir: new Map() };
const sampleCtx = (durationS: number) => ({ sampleRate: SR, durationS, banks, copy: 0 });

/** Time (s) of the largest |sample| within +-windowS of `aroundS`. */
function peakTime(y: Float32Array, aroundS: number, windowS: number): number {
  const c = Math.round(aroundS * SR);
  const w = Math.round(windowS * SR);
  let best = Math.max(0, Math.min(y.length - 1, c));
  for (let k = Math.max(0, c - w); k <= Math.min(y.length - 1, c + w); k++) if (Math.abs(y[k]) > Math.abs(y[best])) best = k;
  return best / SR;
}

describe("prosody", () => {
  it("word times mapped by the op's time map land within 10 ms of where the warped audio puts the clicks", () => {
    const durationS = 4;
    const times = Array.from({ length: 27 }, (_, i) => 0.1 + i * 0.143);
    const x = clicks(durationS * SR, times);
    const config = prosodySchema.parse({ tempo: [0.85, 1.15], semitones: [-2, 2], step_s: 0.6 });
    let worst = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const params = prosodyOp.sample(config, rngFor(seed, "spk-clicks#0", 0), sampleCtx(durationS));
      const y = applyOp(prosodyOp, x, params).audio;
      const map = prosodyOp.mapTime!(params);
      let seedWorst = 0;
      for (const t of times) seedWorst = Math.max(seedWorst, Math.abs(peakTime(y, map(t), 0.04) - map(t)));
      // The map is not a constant rate: local slopes differ across the utterance.
      const slopes = times.slice(1).map((t, i) => (map(t) - map(times[i])) / (t - times[i]));
      log(`seed ${seed}: worst |click - mapped word time| ${(1000 * seedWorst).toFixed(2)} ms, local rate ${Math.min(...slopes).toFixed(3)}-${Math.max(...slopes).toFixed(3)}`);
      expect(Math.max(...slopes) - Math.min(...slopes)).toBeGreaterThan(0.05);
      worst = Math.max(worst, seedWorst);
    }
    expect(worst).toBeLessThan(0.01);
  });

  it("the map is monotonic piecewise-linear, bounded by the tempo range, and agrees with the output length and durationFactor", () => {
    const config = prosodySchema.parse({ tempo: [0.8, 1.2], semitones: [-3, 3], step_s: 0.5 });
    const params = prosodyOp.sample(config, rngFor(9, "u#0", 2), sampleCtx(3));
    expect(params.tempo.length).toBe(7);
    for (const v of params.tempo) expect(v >= 0.8 && v <= 1.2).toBe(true);
    for (const v of params.semitones) expect(v >= -3 && v <= 3).toBe(true);
    const { time } = prosodyMaps(prosodyContour(params));
    for (let k = 1; k < time.inputS.length; k++) {
      const slope = (time.outputS[k] - time.outputS[k - 1]) / (time.inputS[k] - time.inputS[k - 1]);
      expect(slope).toBeGreaterThanOrEqual(1 / 1.2 - 1e-9);
      expect(slope).toBeLessThanOrEqual(1 / 0.8 + 1e-9);
      expect(time.inputS[k] - time.inputS[k - 1]).toBeCloseTo(PROSODY_GRID_S, 9);
    }
    // Raised-cosine contour stays within the control values' range.
    for (let t = 0; t <= 3; t += 0.01) {
      const v = contourValue(params.tempo, params.step_s, t);
      expect(v >= Math.min(...params.tempo) - 1e-12 && v <= Math.max(...params.tempo) + 1e-12).toBe(true);
    }
    const x = harmonicComplex(3 * SR, 150);
    const y = applyOp(prosodyOp, x, params).audio;
    expect(y.length).toBe(Math.round(time.forward(3) * SR));
    expect(Math.abs(y.length / x.length - prosodyOp.durationFactor!(params))).toBeLessThan(1 / x.length);
    expect(time.inverse(time.forward(1.234))).toBeCloseTo(1.234, 9);
  });

  it("moves pitch by the contour (constant +2 semitones: f0 within 5 cents) while tempo varies", () => {
    const x = harmonicComplex(3 * SR, 150);
    const params: ProsodyParams = { op: "prosody", step_s: 0.75, duration_s: 3, tempo: [1.1, 0.9, 1.15, 0.85, 1], semitones: [2, 2, 2, 2, 2], preserve_formants: false };
    const y = applyOp(prosodyOp, x, params).audio;
    const f0 = measureF0(y, SR, 2000, y.length - 2000);
    log(`constant +2 st contour, varying tempo: f0 150 -> ${f0.toFixed(3)} Hz, error ${(cents(f0 / 150) - 200).toFixed(3)} cents`);
    expect(Math.abs(cents(f0 / 150) - 200)).toBeLessThan(5);
    // A varying contour: f0 over a stretch where the contour is flat follows it.
    const rising: ProsodyParams = { ...params, tempo: [1, 1, 1, 1, 1], semitones: [-2, -2, 3, 3, 3] };
    const z = applyOp(prosodyOp, x, rising).audio;
    const late = measureF0(z, SR, Math.round(1.6 * SR), Math.round(2.9 * SR));
    const early = measureF0(z, SR, Math.round(0.05 * SR), Math.round(0.7 * SR));
    log(`contour -2 -> +3 st: early ${(cents(early / 150)).toFixed(2)} cents, late ${(cents(late / 150)).toFixed(2)} cents`);
    expect(Math.abs(cents(early / 150) + 200)).toBeLessThan(5);
    expect(Math.abs(cents(late / 150) - 300)).toBeLessThan(5);
  });

  it("is deterministic for a seed: same (seed, item, op) gives the same params and the same samples; another seed differs", () => {
    const config = prosodySchema.parse({});
    const a = prosodyOp.sample(config, rngFor(42, "spk1-u7#1", 3), sampleCtx(2.5));
    const b = prosodyOp.sample(config, rngFor(42, "spk1-u7#1", 3), sampleCtx(2.5));
    const c = prosodyOp.sample(config, rngFor(43, "spk1-u7#1", 3), sampleCtx(2.5));
    expect(b).toEqual(a);
    expect(c.tempo).not.toEqual(a.tempo);
    const x = synthVowel(Math.round(2.5 * SR), { f0Hz: (t) => 110 + 20 * t, formants: () => [[700, 80], [1200, 100], [2600, 150]] });
    const y1 = applyOp(prosodyOp, x, a).audio;
    const y2 = applyOp(prosodyOp, x, b).audio;
    expect(Buffer.from(y1.buffer).equals(Buffer.from(y2.buffer))).toBe(true);
    const accentConfig = accentSchema.parse({});
    const p1 = accentOp.sample(accentConfig, rngFor(42, "spk1-u7#1", 4), sampleCtx(2.5));
    const p2 = accentOp.sample(accentConfig, rngFor(42, "spk1-u7#1", 4), sampleCtx(2.5));
    expect(p2).toEqual(p1);
    const w1 = applyOp(accentOp, x, p1).audio;
    const w2 = applyOp(accentOp, x, p2).audio;
    expect(Buffer.from(w1.buffer).equals(Buffer.from(w2.buffer))).toBe(true);
  });
});

describe("accent preset", () => {
  it("records every sub-op parameter within its range", () => {
    const config = accentSchema.parse({});
    for (let i = 0; i < 20; i++) {
      const p = accentOp.sample(config, rngFor(7, `u#${i}`, 0), sampleCtx(2));
      expect(p.vtlp_alpha >= 0.9 && p.vtlp_alpha <= 1.1).toBe(true);
      expect(p.boundary_hz).toBe(4800);
      expect(p.formant_ratio >= 0.94 && p.formant_ratio <= 1.06).toBe(true);
      expect(p.semitones >= -2 && p.semitones <= 2).toBe(true);
      expect(p.prosody_tempo.every((v) => v >= 0.9 && v <= 1.1)).toBe(true);
      expect(p.prosody_semitones.every((v) => v >= -1.5 && v <= 1.5)).toBe(true);
      expect(p.prosody_tempo.length).toBe(4);
      expect(p.prosody_step_s).toBe(0.8);
    }
  });

  it("formants end at alpha x ratio and f0 at alpha x 2^(s/12); word times follow the prosody map", () => {
    const x = synthVowel(SR, { f0Hz: () => 100, formants: () => [[600, 70], [1400, 90], [2400, 120], [3400, 150]] });
    const p = accentOp.sample(
      accentSchema.parse({ vtlp_alpha: 1.06, formant_ratio: 1.04, semitones: 2, prosody_tempo: [1, 1], prosody_semitones: [0, 0] }),
      rngFor(1, "u#0", 0),
      sampleCtx(1),
    );
    const y = applyOp(accentOp, x, p).audio;
    expect(y.length).toBe(x.length);
    const trim = (s: Float32Array) => s.subarray(2000, s.length - 2000);
    const [reference, measured] = lpcFormants([trim(x), trim(y)]);
    const ratios = reference.map((f, k) => measured[k] / f);
    const f0Expected = 100 * 1.06 * 2 ** (2 / 12);
    const f0 = measureF0(y, SR, 2000, y.length - 2000, f0Expected * 0.9, f0Expected * 1.1);
    log(`accent alpha 1.06, ratio 1.04, +2 st: formant ratios ${ratios.map((r) => r.toFixed(3)).join(", ")} (target ${(1.06 * 1.04).toFixed(3)}), f0 ${f0.toFixed(2)} Hz (target ${f0Expected.toFixed(2)})`);
    for (const r of ratios) expect(Math.abs(r / (1.06 * 1.04) - 1)).toBeLessThan(0.05);
    expect(Math.abs(cents(f0 / f0Expected))).toBeLessThan(5);
    // Varying prosody: the accent's map is the prosody map of its recorded contour.
    const q = accentOp.sample(accentSchema.parse({}), rngFor(2, "u#0", 0), sampleCtx(2));
    const map = accentOp.mapTime!(q);
    const direct = prosodyMaps({ stepS: q.prosody_step_s, tempo: q.prosody_tempo, semitones: q.prosody_semitones }).time;
    for (const t of [0, 0.3, 1.1, 1.9]) expect(map(t)).toBeCloseTo(direct.forward(t), 12);
    const z = applyOp(accentOp, synthVowel(2 * SR, { f0Hz: () => 120, formants: () => [[700, 80], [1200, 100]] }), q).audio;
    expect(z.length).toBe(Math.round(direct.forward(2) * SR));
  });
});

describe("prosody kernel", () => {
  it("with a flat contour (tempo 1, 0 semitones) returns the input up to the band limit", () => {
    const x = harmonicComplex(SR, 200);
    const y = prosody(x, SR, { stepS: 1, tempo: [1, 1], semitones: [0, 0] });
    expect(y.length).toBe(x.length);
    let err = 0;
    let ref = 0;
    for (let i = 1000; i < x.length - 1000; i++) {
      err += (y[i] - x[i]) ** 2;
      ref += x[i] ** 2;
    }
    expect(10 * Math.log10(ref / err)).toBeGreaterThan(60);
  });
});
