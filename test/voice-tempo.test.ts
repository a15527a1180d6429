// Tempo (time-scale modification without pitch change): duration, f0, the time map, and the
// measurements behind choosing WSOLA over the phase vocoder.
import FFT from "fft.js";
import { describe, expect, it } from "vitest";
import { phaseVocoder } from "../src/audio/pvoc.js";
import { tempoStretch, wsola } from "../src/audio/wsola.js";
import { tempoOp } from "../src/ops/tempo.js";
import { rngFor } from "../src/plan/rng.js";
import { applyOp, cents, clicks, harmonicComplex, measureF0, SR, synthVowel } from "./helpers/voice.js";

const log = (...parts: unknown[]) => console.log("[voice-tempo]", ...parts);

describe("tempo op", () => {
  it("factor r: output duration within 1% of n/r and a steady harmonic complex keeps f0 within 5 cents", () => {
    const n = 2 * SR;
    for (const f0 of [110, 220]) {
      const x = harmonicComplex(n, f0);
      const f0In = measureF0(x, SR, 2000, n - 2000);
      for (const r of [0.8, 0.9, 1.1, 1.25]) {
        const y = applyOp(tempoOp, x, { op: "tempo", factor: r }).audio;
        const durationError = Math.abs(y.length / (n / r) - 1);
        const f0Out = measureF0(y, SR, 2000, y.length - 2000);
        log(`f0 ${f0} Hz, r ${r}: length ${y.length} vs n/r ${(n / r).toFixed(1)} (${(100 * durationError).toFixed(3)}%), f0 ${f0Out.toFixed(3)} Hz (${cents(f0Out / f0In).toFixed(3)} cents)`);
        expect(durationError).toBeLessThan(0.01);
        expect(Math.abs(cents(f0Out / f0In))).toBeLessThan(5);
      }
    }
  });

  it("maps word times by 1/r, matching durationFactor, and samples factors from the range", () => {
    const p = { op: "tempo" as const, factor: 1.25 };
    expect(tempoOp.mapTime!(p)(2.5)).toBeCloseTo(2, 12);
    expect(tempoOp.durationFactor!(p)).toBeCloseTo(0.8, 12);
    const draws = Array.from({ length: 50 }, (_, i) => tempoOp.sample({ factor: [0.9, 1.1], p: 1 }, rngFor(3, `u#${i}`, 0), { sampleRate: SR, durationS: 1, banks: { noise: new Map(), rir: new Map() }, copy: 0 }).factor);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0.9);
    expect(Math.max(...draws)).toBeLessThanOrEqual(1.1);
    expect(Math.max(...draws) - Math.min(...draws)).toBeGreaterThan(0.1);
  });

  it("a click at input time t lands at t/r within the 8 ms search tolerance", () => {
    const times = Array.from({ length: 12 }, (_, i) => 0.1 + i * 0.23);
    const x = clicks(3 * SR, times);
    for (const r of [0.85, 1.2]) {
      const y = tempoStretch(x, SR, r);
      let worst = 0;
      for (const t of times) worst = Math.max(worst, Math.abs(peakTime(y, t / r, 0.03) - t / r));
      log(`clicks, r ${r}: worst |error| ${(1000 * worst).toFixed(2)} ms`);
      expect(worst).toBeLessThan(0.0085);
    }
  });
});

/** Time (s) of the largest |sample| within +-windowS of `aroundS`. */
function peakTime(y: Float32Array, aroundS: number, windowS: number): number {
  const c = Math.round(aroundS * SR);
  const w = Math.round(windowS * SR);
  let best = c;
  for (let k = Math.max(0, c - w); k <= Math.min(y.length - 1, c + w); k++) if (Math.abs(y[k]) > Math.abs(y[best])) best = k;
  return best / SR;
}

// ---------------------------------------------------------------------------------------------
// WSOLA or phase vocoder: the measurements behind the choice (numbers printed for the report).

type Tsm = (x: Float32Array, r: number) => Float32Array;
const ALGORITHMS: Record<string, Tsm> = {
  wsola: (x, r) => wsola(x, { sampleRate: SR, outLength: Math.round(x.length / r), inputPosition: (u) => u * r }),
  pvoc: (x, r) => phaseVocoder(x, { sampleRate: SR, outLength: Math.round(x.length / r), inputPosition: (u) => u * r }),
};

/** Energy further than 4 Hz from every harmonic of f0, relative to the energy near them, dB (1 s Hann window mid-signal). */
function offHarmonicDb(y: Float32Array, f0: number): number {
  const size = 1 << 15;
  const start = Math.floor((y.length - size) / 2);
  const fft = new FFT(size);
  const frame = new Float64Array(size);
  for (let i = 0; i < size; i++) frame[i] = y[start + i] * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size));
  const out = fft.createComplexArray() as number[];
  fft.realTransform(out, frame);
  let on = 0;
  let off = 0;
  for (let k = 1; k < size / 2; k++) {
    const hz = (k * SR) / size;
    const p = out[2 * k] ** 2 + out[2 * k + 1] ** 2;
    if (Math.abs(hz / f0 - Math.round(hz / f0)) * f0 < 4) on += p;
    else off += p;
  }
  return 10 * Math.log10(off / on);
}

/** Mean fraction of each click's energy (within +-30 ms of t/r) that lies within +-1 ms of its peak. */
function clickCompactness(y: Float32Array, times: number[], r: number): number {
  let sum = 0;
  for (const t of times) {
    const peak = Math.round(peakTime(y, t / r, 0.03) * SR);
    const c = Math.round((t / r) * SR);
    let near = 0;
    let all = 0;
    for (let k = c - 480; k <= c + 480; k++) {
      const v = (y[k] ?? 0) ** 2;
      all += v;
      if (Math.abs(k - peak) <= 16) near += v;
    }
    sum += near / all;
  }
  return sum / times.length;
}

/** 40 triangular mel bands over 50-7000 Hz on 512-point power spectra. */
function melBank(): Float64Array[] {
  const mel = (f: number) => 2595 * Math.log10(1 + f / 700);
  const hz = (m: number) => 700 * (10 ** (m / 2595) - 1);
  const edges = Array.from({ length: 42 }, (_, i) => hz(mel(50) + ((mel(7000) - mel(50)) * i) / 41));
  return Array.from({ length: 40 }, (_, b) => {
    const w = new Float64Array(257);
    for (let k = 0; k <= 256; k++) {
      const f = (k * SR) / 512;
      if (f > edges[b] && f < edges[b + 2]) w[k] = f <= edges[b + 1] ? (f - edges[b]) / (edges[b + 1] - edges[b]) : (edges[b + 2] - f) / (edges[b + 2] - edges[b + 1]);
    }
    return w;
  });
}

/**
 * Spectral fidelity of a time-scaled signal: for each output frame (hop 128) the smallest RMS
 * log-mel difference (dB) to an input frame centred within +-12 ms (2 ms grid) of where the time
 * map puts it, averaged over frames within 50 dB of the loudest. The +-12 ms tolerance keeps a method's allowed
 * timing jitter (WSOLA's search) from counting as spectral error; the phase vocoder gets the same.
 */
function melFidelityDb(x: Float32Array, y: Float32Array, r: number): number {
  const bank = melBank();
  const fft = new FFT(512);
  const frame = new Float64Array(512);
  const spectrum = fft.createComplexArray() as number[];
  const melAt = (s: Float32Array, centre: number) => {
    const c = Math.round(centre);
    for (let i = 0; i < 512; i++) frame[i] = (s[c - 256 + i] ?? 0) * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / 512));
    fft.realTransform(spectrum, frame);
    return bank.map((w) => {
      let e = 0;
      for (let k = 0; k <= 256; k++) if (w[k] !== 0) e += w[k] * (spectrum[2 * k] ** 2 + spectrum[2 * k + 1] ** 2);
      return 10 * Math.log10(e + 1e-9);
    });
  };
  // Input frames on a 32-sample grid, computed once.
  const grid = 32;
  const reference: number[][] = [];
  for (let c = 0; c <= x.length + 512; c += grid) reference.push(melAt(x, c));
  const rows: Array<[number, number]> = [];
  let loudest = -Infinity;
  for (let u = 512; u + 512 < y.length; u += 128) {
    const out = melAt(y, u);
    const centre = Math.round((u * r) / grid);
    let best = Infinity;
    for (let d = -6; d <= 6; d++) {
      const ref = reference[centre + d];
      if (!ref) continue;
      best = Math.min(best, Math.sqrt(ref.reduce((acc, v, i) => acc + (v - out[i]) ** 2, 0) / ref.length));
    }
    const level = Math.max(...(reference[centre] ?? [-Infinity]));
    loudest = Math.max(loudest, level);
    rows.push([best, level]);
  }
  const kept = rows.filter(([, level]) => level > loudest - 50);
  return kept.reduce((acc, [d]) => acc + d, 0) / kept.length;
}

describe("tempo algorithm choice (WSOLA vs phase vocoder with identity phase locking)", () => {
  it("WSOLA measures better on harmonicity, transients and spectral fidelity", () => {
    const speechLike = synthVowel(3 * SR, {
      f0Hz: (t) => 120 + 25 * Math.sin(2 * Math.PI * 0.7 * t) + 8 * Math.sin(2 * Math.PI * 3.1 * t),
      formants: (t) => [
        [600 + 250 * Math.sin(2 * Math.PI * 1.3 * t), 90],
        [1400 + 500 * Math.sin(2 * Math.PI * 0.9 * t + 1), 110],
        [2600 + 200 * Math.sin(2 * Math.PI * 0.5 * t), 160],
        [3500, 220],
      ],
      envelope: (t) => 0.15 + 0.85 * Math.max(0, Math.sin(2 * Math.PI * 2.2 * t)) ** 0.7,
      noise: 0.02,
      seed: 3,
    });
    const times = Array.from({ length: 12 }, (_, i) => 0.1 + i * 0.23);
    const clickTrain = clicks(3 * SR, times);
    const results: Record<string, { offHarmonicDb: number; compactness: number; melDb: number }> = {};
    for (const [name, tsm] of Object.entries(ALGORITHMS)) {
      let off = -Infinity;
      let compact = 0;
      let mel = 0;
      const rs = [0.8, 1.25];
      for (const r of rs) {
        for (const f0 of [75, 110]) off = Math.max(off, offHarmonicDb(tsm(harmonicComplex(3 * SR, f0), r), f0));
        compact += clickCompactness(tsm(clickTrain, r), times, r) / rs.length;
        mel += melFidelityDb(speechLike, tsm(speechLike, r), r) / rs.length;
      }
      results[name] = { offHarmonicDb: off, compactness: compact, melDb: mel };
      log(`${name}: worst off-harmonic energy ${off.toFixed(1)} dB, click compactness ${compact.toFixed(3)}, log-mel distance ${mel.toFixed(2)} dB (r 0.8 and 1.25)`);
    }
    expect(results.wsola.offHarmonicDb).toBeLessThan(results.pvoc.offHarmonicDb);
    expect(results.wsola.offHarmonicDb).toBeLessThan(-35);
    expect(results.wsola.compactness).toBeGreaterThan(results.pvoc.compactness);
    expect(results.wsola.melDb).toBeLessThan(results.pvoc.melDb);
  });
});
