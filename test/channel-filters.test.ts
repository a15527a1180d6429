// Biquad channel filters: the telephone band-pass's attenuation at 100 Hz and 6 kHz as its design
// specifies (closed form, scipy's butter, and tones through the op); RBJ cookbook sections equal
// sox's (an independent implementation of the same cookbook); filters keep length and timing.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { biquadFilter, biquadResponseDb, butterworth, butterworthAttenuationDb, rbjBiquad, type Biquad } from "../src/audio/biquad.js";
import { xcorrLag } from "../src/audio/xcorr.js";
import { eqOp, type EqParams } from "../src/ops/eq.js";
import { filterOp, type FilterParams } from "../src/ops/filter.js";
import { telephoneOp, telephoneSections, type TelephoneParams } from "../src/ops/telephone.js";
import type { ApplyContext } from "../src/ops/types.js";
import { noiseSignal } from "./helpers/fixtures.js";
import { pythonJson } from "./helpers/python.js";

const SR = 16000;
const ctx: ApplyContext = { sampleRate: SR, resource: () => new Float32Array(0) };

function tone(hz: number, seconds = 2, sr = SR): Float32Array {
  return Float32Array.from({ length: Math.round(seconds * sr) }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * i) / sr));
}

/**
 * Steady-state gain of y over x in dB: RMS over the second half short of the last 400 samples, past
 * the start-up transient and before the end, where an op that removed its delay shows the filter's
 * response to the input stopping.
 */
function gainDb(x: Float32Array, y: Float32Array): number {
  let ex = 0;
  let ey = 0;
  for (let i = x.length >> 1; i < x.length - 400; i++) {
    ex += x[i] * x[i];
    ey += y[i] * y[i];
  }
  return 10 * Math.log10(ey / ex);
}

const TELEPHONE: TelephoneParams = { op: "telephone", low_hz: 300, high_hz: 3400, low_order: 4, high_order: 8 };

describe("telephone band-pass (HP 300 Hz order 4 + LP 3400 Hz order 8, Butterworth)", () => {
  const spec = (f: number) => butterworthAttenuationDb("highpass", 4, 300, f, SR) + butterworthAttenuationDb("lowpass", 8, 3400, f, SR);

  it("attenuates 100 Hz and 6 kHz as the design specifies: closed form = scipy butter() = tones through the op", () => {
    const freqs = [100, 200, 300, 1000, 3400, 4000, 6000];
    const scipy = pythonJson<number[]>(
      `import json, sys, numpy as np
from scipy import signal
sos = np.vstack([signal.butter(4, 300, 'highpass', fs=16000, output='sos'), signal.butter(8, 3400, 'lowpass', fs=16000, output='sos')])
f = [float(v) for v in sys.argv[1:]]
w, h = signal.sosfreqz(sos, worN=f, fs=16000)
print(json.dumps([float(-20*np.log10(abs(v))) for v in h]))`,
      freqs.map(String),
    );
    const rows: string[] = [];
    const checks: Array<() => void> = [];
    for (const [k, f] of freqs.entries()) {
      const x = tone(f);
      const y = telephoneOp.apply(x, TELEPHONE, ctx) as { audio: Float32Array };
      const measured = -gainDb(x, y.audio);
      const response = -biquadResponseDb(telephoneSections(TELEPHONE, SR), f, SR);
      rows.push(`${String(f).padStart(5)} Hz: spec ${spec(f).toFixed(2)} dB, scipy ${scipy[k].toFixed(2)} dB, cascade ${response.toFixed(2)} dB, tone through the op ${measured.toFixed(2)} dB`);
      checks.push(() => {
        expect(response).toBeCloseTo(spec(f), 6);
        expect(Math.abs(scipy[k] - spec(f))).toBeLessThan(0.01);
        expect(Math.abs(measured - spec(f))).toBeLessThan(0.05);
      });
    }
    console.log(`telephone band-pass attenuation at 16 kHz:\n${rows.join("\n")}`);
    for (const check of checks) check();
    expect(spec(100)).toBeGreaterThan(38);
    expect(spec(6000)).toBeGreaterThan(77);
    expect(spec(1000)).toBeLessThan(0.01);
  });

  it("keeps length and timing (its group delay at 1 kHz is removed)", () => {
    const x = noiseSignal(32000, 5);
    const y = telephoneOp.apply(x, TELEPHONE, ctx) as { audio: Float32Array; measured: Record<string, number> };
    expect(y.audio.length).toBe(x.length);
    // Compare within the band: the input band-passed without delay removal would peak at the delay.
    const band = telephoneSections(TELEPHONE, SR);
    const delayed = biquadFilter(x, band);
    expect(xcorrLag(delayed, y.audio, 200).lag).toBe(-y.measured.delay_samples);
    expect(y.measured.delay_samples).toBeGreaterThan(0);
    console.log(`telephone band-pass group delay removed: ${y.measured.delay_samples} samples`);
  });
});

/** Runs sox with an effect on x (float32 raw), returns its output. */
function sox(x: Float32Array, effect: string[]): Float32Array {
  const fmt = ["-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1", "-r", String(SR)];
  const r = spawnSync("sox", ["-D", ...fmt, "-", ...fmt, "-", ...effect], { input: Buffer.from(x.buffer), maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`sox failed: ${r.stderr}`);
  return new Float32Array(r.stdout.buffer.slice(r.stdout.byteOffset, r.stdout.byteOffset + r.stdout.length));
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe("RBJ cookbook sections", () => {
  const x = noiseSignal(16000, 9, 0.25);
  const cases: Array<[string, Biquad[], string[]]> = [
    ["peaking +6 dB at 1 kHz, Q 1", [rbjBiquad("peaking", 1000, 1, SR, 6)], ["equalizer", "1000", "1q", "6"]],
    ["peaking -9 dB at 2.5 kHz, Q 3", [rbjBiquad("peaking", 2500, 3, SR, -9)], ["equalizer", "2500", "3q", "-9"]],
    ["low-pass 3 kHz, Q 0.707", [rbjBiquad("lowpass", 3000, Math.SQRT1_2, SR)], ["lowpass", "-2", "3000", `${Math.SQRT1_2}q`]],
    ["high-pass 300 Hz, Q 0.707", [rbjBiquad("highpass", 300, Math.SQRT1_2, SR)], ["highpass", "-2", "300", `${Math.SQRT1_2}q`]],
    ["low shelf +5 dB at 200 Hz, Q 0.707", [rbjBiquad("lowshelf", 200, Math.SQRT1_2, SR, 5)], ["bass", "5", "200", `${Math.SQRT1_2}q`]],
    ["high shelf -4 dB at 5 kHz, Q 0.707", [rbjBiquad("highshelf", 5000, Math.SQRT1_2, SR, -4)], ["treble", "-4", "5000", `${Math.SQRT1_2}q`]],
  ];
  for (const [name, sections, effect] of cases) {
    it(`${name} filters as sox's ${effect[0]} does`, () => {
      const ours = biquadFilter(x, sections);
      const theirs = sox(x, effect);
      expect(theirs.length).toBe(x.length);
      // sox computes in double and writes float32: the same to float32 rounding.
      expect(maxDiff(ours, theirs)).toBeLessThan(2e-6);
    });
  }

  it("a Butterworth cascade is -3.01 dB at its corner and matches the closed form everywhere", () => {
    for (const order of [2, 4, 6, 8]) {
      const lp = butterworth("lowpass", order, 2000, SR);
      expect(biquadResponseDb(lp, 2000, SR)).toBeCloseTo(-10 * Math.log10(2), 6);
      for (const f of [100, 1000, 3000, 5000, 7500]) expect(-biquadResponseDb(lp, f, SR)).toBeCloseTo(butterworthAttenuationDb("lowpass", order, 2000, f, SR), 6);
    }
  });
});

describe("filter and eq ops", () => {
  it("filter: low-, high- and band-pass attenuate as their Butterworth design says, keep length", () => {
    const cases: Array<[FilterParams, number, number]> = [
      [{ op: "filter", type: "lowpass", order: 4, cutoff_hz: 1000 }, 2000, butterworthAttenuationDb("lowpass", 4, 1000, 2000, SR)],
      [{ op: "filter", type: "highpass", order: 6, cutoff_hz: 500 }, 250, butterworthAttenuationDb("highpass", 6, 500, 250, SR)],
      [{ op: "filter", type: "bandpass", order: 2, low_hz: 500, high_hz: 2000 }, 4000, butterworthAttenuationDb("lowpass", 2, 2000, 4000, SR) + butterworthAttenuationDb("highpass", 2, 500, 4000, SR)],
    ];
    for (const [p, f, expected] of cases) {
      const x = tone(f);
      const y = filterOp.apply(x, p, ctx) as { audio: Float32Array };
      expect(y.audio.length).toBe(x.length);
      expect(Math.abs(-gainDb(x, y.audio) - expected)).toBeLessThan(0.05);
    }
  });

  it("eq: a peaking band's gain at its centre is its gain_db", () => {
    const p: EqParams = { op: "eq", bands: [{ type: "peaking", freq_hz: 1500, gain_db: 7.5, q: 2 }] };
    const x = tone(1500);
    const y = eqOp.apply(x, p, ctx) as { audio: Float32Array };
    expect(gainDb(x, y.audio)).toBeCloseTo(7.5, 2);
    expect(y.audio.length).toBe(x.length);
  });
});
