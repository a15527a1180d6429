// measureRir on impulse responses with known answers: exponentially decaying noise of known RT60
// (with and without a noise floor), a direct path plus a tail of known energies (DRR, C50), decays
// too short for a fit range (NaN, not an exception), and numpy's Schroeder integral as a reference.
import { describe, expect, it } from "vitest";
import { measureRir } from "../src/audio/acoustics.js";
import { Rng } from "../src/plan/rng.js";
import { simulateRoom } from "../src/rooms/simulate.js";
import { eyringAbsorption } from "../src/rooms/theory.js";
import { pythonJson } from "./helpers/python.js";

const log = (...parts: unknown[]) => console.log("[rooms-measure]", ...parts);
const FS = 16000;

/** Direct impulse at `direct` samples, then Gaussian noise with energy decay 60 dB per rt60S, plus a constant noise floor. */
function syntheticRir(opts: { rt60S: number; lengthS: number; direct?: number; floorDb?: number; seed?: number; tailDb?: number }): Float32Array {
  const n = Math.round(opts.lengthS * FS);
  const direct = opts.direct ?? 80;
  const rng = new Rng(opts.seed ?? 5);
  const h = new Float32Array(n);
  const tail = 10 ** ((opts.tailDb ?? -20) / 20);
  const floor = opts.floorDb === undefined ? 0 : 10 ** (opts.floorDb / 20);
  const k = (3 * Math.LN10) / (opts.rt60S * FS); // amplitude decay per sample (energy: 6 ln 10 / RT60)
  for (let i = 0; i < n; i++) {
    let v = floor * rng.normal();
    if (i > direct) v += tail * Math.exp(-k * (i - direct)) * rng.normal();
    h[i] = v;
  }
  h[direct] += 1;
  return h;
}

describe("reverberation time", () => {
  it("reads T20 and T30 of exponentially decaying noise within 4% (one noise realisation)", () => {
    for (const rt60 of [0.25, 0.6, 1.2]) {
      const m = measureRir(syntheticRir({ rt60S: rt60, lengthS: 1.5 * rt60 }), FS);
      log(`synthetic RT60 ${rt60}: T20 ${m.rt60_t20_s.toFixed(4)}, T30 ${m.rt60_t30_s.toFixed(4)}, EDT ${m.edt_s.toFixed(4)}, T30 residual ${m.t30_residual_db.toFixed(3)} dB`);
      expect(Math.abs(m.rt60_t30_s - rt60) / rt60).toBeLessThan(0.04);
      expect(Math.abs(m.rt60_t20_s - rt60) / rt60).toBeLessThan(0.04);
      expect(m.t30_residual_db).toBeLessThan(0.3);
    }
  });

  it("truncates at the noise floor (Lundeby) where plain integration overstates RT60", () => {
    const rt60 = 0.5;
    const h = syntheticRir({ rt60S: rt60, lengthS: 2, floorDb: -70, tailDb: -20 }); // floor 50 dB under the tail's start
    const m = measureRir(h, FS);
    // Plain Schroeder integration over the whole response, for comparison.
    const e = Float64Array.from(h, (v) => v * v);
    const edc = new Float64Array(e.length);
    let acc = 0;
    for (let i = e.length - 1; i >= 0; i--) edc[i] = acc += e[i];
    const db = Array.from(edc, (v) => 10 * Math.log10(v / edc[0]));
    const i5 = db.findIndex((v) => v <= -5);
    const i35 = db.findIndex((v) => v <= -35);
    const naive = i35 > 0 ? (2 * (i35 - i5)) / FS : NaN;
    log(`noise floor -50 dB re tail: T30 ${m.rt60_t30_s.toFixed(4)} s (crosspoint ${(m.crosspoint_samples / FS).toFixed(3)} s); plain integration ${Number.isNaN(naive) ? "never reaches -35 dB" : naive.toFixed(4) + " s"}`);
    expect(Math.abs(m.rt60_t30_s - rt60) / rt60).toBeLessThan(0.04);
    expect(m.crosspoint_samples).toBeLessThan(h.length * 0.75);
    expect(Number.isNaN(naive) || naive > rt60 * 1.1).toBe(true);
  });

  it("gives NaN (not an exception) for a fit range the decay never reaches", () => {
    const h = syntheticRir({ rt60S: 0.5, lengthS: 1, floorDb: -48, tailDb: -20 }); // ~28 dB of decay above the floor
    const m = measureRir(h, FS);
    log(`28 dB dynamic range (measured ${m.dynamic_range_db.toFixed(1)} dB): T20 ${m.rt60_t20_s}, T30 ${m.rt60_t30_s}, EDT ${m.edt_s.toFixed(3)}`);
    expect(m.dynamic_range_db).toBeGreaterThan(24);
    expect(m.dynamic_range_db).toBeLessThan(32);
    expect(Number.isNaN(m.rt60_t30_s)).toBe(true);
    expect(Number.isNaN(m.rt60_t20_s)).toBe(true);
    expect(Number.isFinite(m.edt_s)).toBe(true);
    expect(Number.isFinite(m.drr_db)).toBe(true);
    const silent = measureRir(new Float32Array(1000), FS);
    expect(Number.isNaN(silent.rt60_t30_s) && Number.isNaN(silent.drr_db)).toBe(true);
    expect(() => measureRir(new Float32Array(5).fill(0.1), FS)).not.toThrow();
    expect(() => measureRir(new Float32Array(0), FS)).not.toThrow();
  });
});

describe("energy ratios and delay", () => {
  it("DRR (±2.5 ms window) and C50 of a direct impulse plus tails of known energy", () => {
    const n = FS;
    const h = new Float32Array(n);
    const direct = 200;
    h[direct] = 1;
    // Early part: 0.25 energy spread from 10 ms to 40 ms; late part: 0.1 energy from 60 ms to 200 ms.
    const early = [direct + 160, direct + 640];
    const late = [direct + 960, direct + 3200];
    for (let i = early[0]; i < early[1]; i++) h[i] = Math.sqrt(0.25 / (early[1] - early[0])) * (i % 2 ? 1 : -1);
    for (let i = late[0]; i < late[1]; i++) h[i] = Math.sqrt(0.1 / (late[1] - late[0])) * (i % 2 ? 1 : -1);
    const m = measureRir(h, FS);
    expect(m.direct_delay_samples).toBe(direct);
    expect(m.drr_db).toBeCloseTo(10 * Math.log10(1 / 0.35), 1);
    expect(m.c50_db).toBeCloseTo(10 * Math.log10(1.25 / 0.1), 1);
  });
});

describe("against numpy", () => {
  const SCHROEDER_PY = String.raw`
import json, sys
import numpy as np
h = np.array(json.loads(sys.stdin.read()), float)
fs = 16000
edc = np.cumsum((h ** 2)[::-1])[::-1]
db = 10 * np.log10(edc / edc[0])
out = {}
for name, lo in (("t20", -25), ("t30", -35)):
  i0 = int(np.argmax(db <= -5)); i1 = int(np.argmax(db <= lo))
  t = np.arange(i0, i1 + 1) / fs
  slope = np.polyfit(t, db[i0:i1 + 1], 1)[0]
  out[name] = -60 / slope
print(json.dumps(out))
`;

  it("T20 and T30 of a simulated RIR match a plain numpy Schroeder fit within 1%", () => {
    const dims: [number, number, number] = [6, 4, 3];
    const [h] = simulateRoom({
      dims_m: dims,
      absorption: eyringAbsorption(dims, 0.7, 343),
      source_m: [1.5, 1.2, 1.6],
      mics_m: [[4.2, 2.9, 1.2]],
      sample_rate: FS,
      c_m_s: 343,
      transition_s: 0.09,
      length_s: 1.2,
      seed: 9,
    });
    const ours = measureRir(h, FS);
    const ref = pythonJson<{ t20: number; t30: number }>(SCHROEDER_PY, [], JSON.stringify(Array.from(h)));
    log(`simulated RIR: ours T20 ${ours.rt60_t20_s.toFixed(4)} T30 ${ours.rt60_t30_s.toFixed(4)}; numpy T20 ${ref.t20.toFixed(4)} T30 ${ref.t30.toFixed(4)}`);
    expect(Math.abs(ours.rt60_t20_s - ref.t20) / ref.t20).toBeLessThan(0.01);
    expect(Math.abs(ours.rt60_t30_s - ref.t30) / ref.t30).toBeLessThan(0.01);
  });
});
