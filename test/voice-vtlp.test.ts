// VTLP and formant shift on a synthetic vowel (pulse train through formant resonators), formant
// peaks measured by LPC in numpy/scipy.
import { describe, expect, it } from "vitest";
import { vtlp, vtlpKneeHz, vtlpWarpHz } from "../src/audio/vtlp.js";
import { formantOp } from "../src/ops/formant.js";
import { vtlpOp } from "../src/ops/vtlp.js";
import { rngFor } from "../src/plan/rng.js";
import { applyOp, cents, harmonicComplex, lpcFormants, measureF0, SR, synthVowel } from "./helpers/voice.js";

const log = (...parts: unknown[]) => console.log("[voice-vtlp]", ...parts);
const sampleCtx = { sampleRate: SR, durationS: 1, banks: { noise: new Map(), rir: new Map() }, copy: 0 };

const FORMANTS: Array<[number, number]> = [
  [600, 70],
  [1400, 90],
  [2400, 120],
  [3400, 150],
];
const vowel = () => synthVowel(SR, { f0Hz: () => 100, formants: () => FORMANTS });
const trim = (y: Float32Array) => y.subarray(2000, y.length - 2000);

/** Frequency (Hz) of the largest spectral peak of y, parabolic interpolation on log magnitude. */
function peakHz(y: Float32Array): number {
  return measureF0(y, SR, 2000, y.length - 2000, 100, 7900, 1);
}

describe("vtlp", () => {
  it("moves the spectral peaks of a synthetic vowel by alpha within 3% below the boundary frequency", () => {
    const x = vowel();
    const alphas = [0.9, 0.95, 1.05, 1.1];
    const outs = alphas.map((alpha) => applyOp(vtlpOp, x, { op: "vtlp", alpha, boundary_hz: 4800 }).audio);
    for (const y of outs) expect(y.length).toBe(x.length);
    const [reference, ...measured] = lpcFormants([trim(x), ...outs.map(trim)]);
    expect(reference.length).toBe(4);
    alphas.forEach((alpha, i) => {
      const knee = vtlpKneeHz(alpha, 4800);
      const ratios = reference.map((f, k) => ({ f, r: measured[i][k] / f })).filter(({ f }) => f < knee);
      log(`alpha ${alpha} (knee ${knee.toFixed(0)} Hz): peaks ${measured[i].map((f) => f.toFixed(0)).join(", ")} Hz, ratio/alpha ${ratios.map(({ r }) => (r / alpha).toFixed(4)).join(", ")}`);
      expect(ratios.length).toBe(4);
      for (const { r } of ratios) expect(Math.abs(r / alpha - 1)).toBeLessThan(0.03);
    });
  });

  it("above the knee follows the piecewise-linear map (boundary configurable) and keeps the Nyquist", () => {
    // A tone above the knee of alpha 1.1 / boundary 3000 Hz lands where the map says.
    const n = SR;
    const tone = Float32Array.from({ length: n }, (_, i) => 0.4 * Math.sin((2 * Math.PI * 5000 * i) / SR));
    const y = vtlp(tone, SR, 1.1, 3000);
    const expected = vtlpWarpHz(5000, 1.1, 3000, SR / 2);
    const measured = peakHz(y);
    log(`5000 Hz tone, alpha 1.1, boundary 3000 Hz: expected ${expected.toFixed(1)} Hz, measured ${measured.toFixed(1)} Hz`);
    expect(Math.abs(measured / expected - 1)).toBeLessThan(0.005);
    // The map: continuous at the knee, Nyquist fixed, monotonic.
    for (const alpha of [0.9, 1.1]) {
      const knee = vtlpKneeHz(alpha, 4800);
      expect(vtlpWarpHz(knee + 1e-9, alpha, 4800, 8000)).toBeCloseTo(alpha * knee, 6);
      expect(vtlpWarpHz(8000, alpha, 4800, 8000)).toBeCloseTo(8000, 9);
      for (let f = 0; f < 8000; f += 250) expect(vtlpWarpHz(f + 250, alpha, 4800, 8000)).toBeGreaterThan(vtlpWarpHz(f, alpha, 4800, 8000));
    }
  });

  it("samples alpha in range, resolves the default boundary (0.6 x Nyquist) and rejects a knee past the Nyquist", () => {
    const p = vtlpOp.sample({ alpha: [0.9, 1.1], boundary_hz: null, p: 1 }, rngFor(1, "u#0", 0), sampleCtx);
    expect(p.alpha).toBeGreaterThanOrEqual(0.9);
    expect(p.alpha).toBeLessThanOrEqual(1.1);
    expect(p.boundary_hz).toBe(4800);
    expect(() => vtlpOp.sample({ alpha: 0.9, boundary_hz: 8500, p: 1 }, rngFor(1, "u#0", 0), sampleCtx)).toThrow(/Nyquist/);
  });
});

describe("formant", () => {
  it("moves the formants by the ratio within 3% and keeps f0 within 5 cents and the length", () => {
    const x = vowel();
    const ratios = [0.9, 1.1];
    const outs = ratios.map((ratio) => applyOp(formantOp, x, { op: "formant", ratio }).audio);
    const [reference, ...measured] = lpcFormants([trim(x), ...outs.map(trim)]);
    ratios.forEach((ratio, i) => {
      const r = reference.map((f, k) => measured[i][k] / f);
      log(`formant ratio ${ratio}: peaks ${measured[i].map((f) => f.toFixed(0)).join(", ")} Hz, ratio/target ${r.map((v) => (v / ratio).toFixed(4)).join(", ")}`);
      for (const v of r) expect(Math.abs(v / ratio - 1)).toBeLessThan(0.03);
      expect(outs[i].length).toBe(x.length);
      const f0 = measureF0(outs[i], SR, 2000, x.length - 2000, 85, 115);
      expect(Math.abs(cents(f0 / 100))).toBeLessThan(5);
    });
    const h = harmonicComplex(SR, 180);
    const f0In = measureF0(h, SR, 2000, SR - 2000);
    const f0Out = measureF0(applyOp(formantOp, h, { op: "formant", ratio: 1.15 }).audio, SR, 2000, SR - 2000);
    log(`harmonic complex 180 Hz through formant 1.15: f0 change ${cents(f0Out / f0In).toFixed(3)} cents`);
    expect(Math.abs(cents(f0Out / f0In))).toBeLessThan(5);
  });
});
