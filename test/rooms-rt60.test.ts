// Measured reverberation of simulated rooms against the target their absorption was chosen for
// (Eyring inversion): a grid of room shapes × target RT60s, and rooms drawn by the sampler; the
// EDC's straightness; and Sabine's proportionality (double the absorption, half the RT60).
import { describe, expect, it } from "vitest";
import { measureRir } from "../src/audio/acoustics.js";
import { roomRng, sampleRoom, simulateSchema } from "../src/rooms/sample.js";
import { simulateRoom } from "../src/rooms/simulate.js";
import { autoLengthS, autoTransitionS, eyringAbsorption } from "../src/rooms/theory.js";
import type { RoomSpec, Vec3 } from "../src/rooms/types.js";

const log = (...parts: unknown[]) => console.log("[rooms-rt60]", ...parts);

function quantiles(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number) => s[Math.round(p * (s.length - 1))];
  return `n=${s.length} min ${q(0).toFixed(2)} p05 ${q(0.05).toFixed(2)} p25 ${q(0.25).toFixed(2)} median ${q(0.5).toFixed(2)} p75 ${q(0.75).toFixed(2)} p95 ${q(0.95).toFixed(2)} max ${q(1).toFixed(2)}`;
}

function roomFor(dims: Vec3, rt60: number, k: number): RoomSpec {
  // Positions vary with k: source and mic at different fractions of the room, 0.5 m+ from walls.
  const f = [0.2 + 0.07 * (k % 5), 0.3 + 0.05 * (k % 7), 0.35 + 0.04 * (k % 4)];
  const g = [0.8 - 0.06 * (k % 4), 0.7 - 0.04 * (k % 6), 0.45];
  const at = (frac: number[]) => frac.map((x, i) => Math.min(dims[i] - 0.5, Math.max(0.5, x * dims[i]))) as Vec3;
  return {
    dims_m: dims,
    absorption: eyringAbsorption(dims, rt60, 343),
    source_m: at(f),
    mics_m: [at(g)],
    sample_rate: 16000,
    c_m_s: 343,
    transition_s: autoTransitionS(dims, rt60, 343),
    length_s: autoLengthS(rt60),
    seed: 1000 + k,
    rt60_s: rt60,
  };
}

describe("measured RT60 vs target", () => {
  const shapes: Vec3[] = [
    [3, 3, 2.4],
    [4, 3, 2.5],
    [6, 4, 3],
    [8, 3, 2.6],
    [5, 5, 5],
    [10, 8, 4],
    [12, 10, 4],
    [15, 4, 3],
    [7, 6.5, 3.2],
  ];
  const targets = [0.2, 0.3, 0.5, 0.7, 1.0, 1.2, 1.5];

  it("T30 within ±10% of the target for 0.2–1.5 s in rooms of varied shape (aim ±5%), EDC straight in dB", () => {
    const errors: number[] = [];
    const residuals: number[] = [];
    const worst: string[] = [];
    let k = 0;
    for (const dims of shapes) {
      for (const rt60 of targets) {
        const spec = roomFor(dims, rt60, k++);
        const m = measureRir(simulateRoom(spec)[0], 16000);
        const error = (100 * (m.rt60_t30_s - rt60)) / rt60;
        errors.push(error);
        residuals.push(m.t30_residual_db);
        if (Math.abs(error) > 3) worst.push(`${dims.join("×")} m @ ${rt60} s: ${error.toFixed(1)}%`);
      }
    }
    log(`T30 error %, ${shapes.length} shapes × ${targets.length} targets: ${quantiles(errors)}`);
    log(`|error| %: ${quantiles(errors.map(Math.abs))}`);
    log(`T30 fit residual (RMS dB): ${quantiles(residuals)}`);
    if (worst.length) log(`beyond ±3%: ${worst.join("; ")}`);
    expect(errors.every((e) => Math.abs(e) <= 10)).toBe(true);
    expect(errors.filter((e) => Math.abs(e) <= 5).length / errors.length).toBeGreaterThanOrEqual(0.95);
    expect(residuals.every((r) => r < 0.6)).toBe(true);
  });

  it("rooms drawn by the sampler (per-wall spread, default ranges, 0.2–1.5 s) land within ±10%", () => {
    const cfg = simulateSchema.parse({ rt60_s: [0.2, 1.5], absorption: { wall_spread: 0.5 } });
    const errors: number[] = [];
    for (let i = 0; i < 40; i++) {
      const spec = sampleRoom(roomRng(42, "rt60-test", i), cfg);
      const m = measureRir(simulateRoom(spec)[0], spec.sample_rate);
      errors.push((100 * (m.rt60_t30_s - spec.rt60_s!)) / spec.rt60_s!);
    }
    log(`sampled rooms, T30 error %: ${quantiles(errors)}`);
    expect(errors.every((e) => Math.abs(e) <= 10)).toBe(true);
  });

  it("doubling the absorption roughly halves RT60 (Sabine's proportionality)", () => {
    const dims: Vec3 = [7, 5, 3];
    const ratios: string[] = [];
    for (const alpha of [0.04, 0.08]) {
      const rt = (a: number) => {
        const spec: RoomSpec = { ...roomFor(dims, 1, 3), absorption: a, transition_s: autoTransitionS(dims, 1, 343), length_s: 3 };
        return measureRir(simulateRoom(spec)[0], 16000).rt60_t30_s;
      };
      const ratio = rt(alpha) / rt(2 * alpha);
      // Sabine: exactly 2; Eyring: ln(1 - 2α) / ln(1 - α), 2.04–2.09 here.
      ratios.push(`α ${alpha} → ${2 * alpha}: ${ratio.toFixed(3)} (Eyring ${(Math.log1p(-2 * alpha) / Math.log1p(-alpha)).toFixed(3)})`);
      expect(ratio).toBeGreaterThan(1.8);
      expect(ratio).toBeLessThan(2.2);
    }
    log(`RT60(α) / RT60(2α): ${ratios.join("; ")}`);
  });
});
