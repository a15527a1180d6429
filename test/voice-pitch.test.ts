// Pitch shift without tempo change: f0 moves by s semitones, duration is kept, and with
// preserve_formants the formants stay (measured by LPC in numpy/scipy).
import { describe, expect, it } from "vitest";
import { semitoneRatio } from "../src/audio/pitch.js";
import { pitchOp } from "../src/ops/pitch.js";
import { applyOp, cents, harmonicComplex, lpcFormants, measureF0, SR, synthVowel } from "./helpers/voice.js";

const log = (...parts: unknown[]) => console.log("[voice-pitch]", ...parts);

const FORMANTS: Array<[number, number]> = [
  [600, 70],
  [1400, 90],
  [2400, 120],
  [3400, 150],
];

describe("pitch op", () => {
  it("a shift of s semitones moves the f0 of a harmonic complex by s within 5 cents and keeps duration within 1%", () => {
    const n = 2 * SR;
    const x = harmonicComplex(n, 150);
    const f0In = measureF0(x, SR, 2000, n - 2000);
    for (const s of [-7, -3, 2, 5]) {
      const y = applyOp(pitchOp, x, { op: "pitch", semitones: s, preserve_formants: false }).audio;
      const f0Out = measureF0(y, SR, 2000, n - 2000);
      const errorCents = cents(f0Out / f0In) - 100 * s;
      const durationError = Math.abs(y.length / n - 1);
      log(`s ${s}: f0 ${f0In.toFixed(3)} -> ${f0Out.toFixed(3)} Hz, error ${errorCents.toFixed(3)} cents, length ${y.length} (n ${n})`);
      expect(Math.abs(errorCents)).toBeLessThan(5);
      expect(durationError).toBeLessThan(0.01);
    }
  });

  it("moves the formants with the pitch by default; preserve_formants keeps them (LPC, numpy)", () => {
    const x = synthVowel(SR, { f0Hz: () => 100, formants: () => FORMANTS });
    const cases = [-4, 4].flatMap((s) => [
      { s, preserve: false, y: applyOp(pitchOp, x, { op: "pitch", semitones: s, preserve_formants: false }).audio },
      { s, preserve: true, y: applyOp(pitchOp, x, { op: "pitch", semitones: s, preserve_formants: true }).audio },
    ]);
    const trim = (y: Float32Array) => y.subarray(2000, y.length - 2000);
    const [reference, ...measured] = lpcFormants([trim(x), ...cases.map((c) => trim(c.y))]);
    expect(reference.length).toBe(4);
    cases.forEach((c, i) => {
      const rho = semitoneRatio(c.s);
      const ratios = measured[i].slice(0, 4).map((f, k) => f / reference[k]);
      log(`s ${c.s}, preserve_formants ${c.preserve}: formants ${measured[i].map((f) => f.toFixed(0)).join(", ")} Hz, ratios ${ratios.map((r) => r.toFixed(3)).join(", ")} (rho ${rho.toFixed(3)})`);
      for (const r of ratios) {
        if (c.preserve) expect(Math.abs(r - 1)).toBeLessThan(0.05);
        else expect(Math.abs(r / rho - 1)).toBeLessThan(0.03);
      }
      // f0 moves either way: harmonic spacing of the vowel, measured near the expected f0.
      const f0 = measureF0(c.y, SR, 2000, c.y.length - 2000, 100 * rho * 0.85, 100 * rho * 1.15);
      expect(Math.abs(cents(f0 / 100) - 100 * c.s)).toBeLessThan(5);
    });
  });

  it("draws semitones from the range and keeps timing (no mapTime, no duration change)", () => {
    expect(pitchOp.mapTime).toBeUndefined();
    expect(pitchOp.durationFactor).toBeUndefined();
    const x = harmonicComplex(12345, 200);
    expect(applyOp(pitchOp, x, { op: "pitch", semitones: 1.5, preserve_formants: true }).audio.length).toBe(12345);
  });
});
