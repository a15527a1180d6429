// Level measurements and the energy VAD on signals with known answers.
import { describe, expect, it } from "vitest";
import { activeRms, energy, energyVad, peakAbs, rms, rmsDbfs, snrDb } from "../src/audio/measure.js";

const log = (...parts: unknown[]) => console.log("[dsp-measure]", ...parts);

function sine(n: number, hz: number, rate: number, amplitude: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / rate);
  return x;
}

describe("levels", () => {
  it("rms, rmsDbfs, peakAbs, energy of a full-scale sine and a square wave", () => {
    const x = sine(16000, 1000, 16000, 1);
    expect(rms(x)).toBeCloseTo(Math.SQRT1_2, 6);
    expect(rmsDbfs(x)).toBeCloseTo(-3.0103, 3);
    expect(peakAbs(x)).toBeCloseTo(1, 6);
    expect(energy(x)).toBeCloseTo(8000, 2);
    const square = new Float32Array(1000).map((_, i) => (i % 2 === 0 ? 0.5 : -0.5));
    expect(rmsDbfs(square)).toBeCloseTo(20 * Math.log10(0.5), 9);
    expect(rms(square, 10, 20)).toBeCloseTo(0.5, 9);
    expect(energy(square, 0, 3)).toBeCloseTo(0.75, 9);
  });

  it("silence and empty input", () => {
    expect(rmsDbfs(new Float32Array(100))).toBe(-Infinity);
    expect(rmsDbfs(new Float32Array(0))).toBe(-Infinity);
    expect(rms(new Float32Array(0))).toBe(0);
    expect(rms(new Float32Array(10), 5, 5)).toBe(0);
    expect(peakAbs(new Float32Array(0))).toBe(0);
  });

  it("snrDb is 10 log10 of the energy ratio", () => {
    const signal = sine(16000, 440, 16000, 0.5);
    const noise = sine(16000, 3000, 16000, 0.05);
    expect(snrDb(signal, noise)).toBeCloseTo(20, 3);
    expect(snrDb(signal, new Float32Array(16000))).toBe(Infinity);
    expect(snrDb(new Float32Array(10), noise)).toBe(-Infinity);
    expect(snrDb(new Float32Array(10), new Float32Array(10))).toBeNaN();
  });
});

describe("energyVad", () => {
  const rate = 16000;
  // Tone bursts of different levels, separated by silence longer than the hangover; edges placed
  // off the frame and 1 ms grids.
  const bursts = [
    { startS: 0.3037, endS: 0.8011, amplitude: 0.5 },
    { startS: 1.2503, endS: 1.5529, amplitude: 0.1 },
    { startS: 2.0071, endS: 2.6493, amplitude: 0.3 },
  ];
  const x = new Float32Array(3 * rate);
  for (const b of bursts) {
    for (let i = Math.round(b.startS * rate); i < Math.round(b.endS * rate); i++) {
      x[i] = b.amplitude * Math.sin((2 * Math.PI * 700 * i) / rate);
    }
  }

  it("finds tone bursts separated by silence within 20 ms", () => {
    const mask = energyVad(x, rate);
    expect(mask.length).toBe(x.length);
    const found: Array<[number, number]> = [];
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] && (i === 0 || !mask[i - 1])) found.push([i, i]);
      if (mask[i] && (i === mask.length - 1 || !mask[i + 1])) found[found.length - 1][1] = i + 1;
    }
    expect(found.length).toBe(bursts.length);
    let worstMs = 0;
    found.forEach(([start, end], k) => {
      worstMs = Math.max(worstMs, (Math.abs(start / rate - bursts[k].startS) * 1000), Math.abs(end / rate - bursts[k].endS) * 1000);
    });
    log(`bursts found: ${found.map(([s, e]) => `${(s / rate).toFixed(4)}-${(e / rate).toFixed(4)} s`).join(", ")}; worst edge error ${worstMs.toFixed(2)} ms`);
    expect(worstMs).toBeLessThan(20);
  });

  it("activeRms equals the RMS of the bursts", () => {
    const mask = energyVad(x, rate);
    let sum = 0;
    let count = 0;
    for (const b of bursts) {
      for (let i = Math.round(b.startS * rate); i < Math.round(b.endS * rate); i++) {
        sum += x[i] * x[i];
        count++;
      }
    }
    const burstRms = Math.sqrt(sum / count);
    const measured = activeRms(x, mask);
    const errDb = 20 * Math.log10(measured / burstRms);
    log(`activeRms ${measured.toFixed(6)} vs bursts' RMS ${burstRms.toFixed(6)} (${errDb.toFixed(4)} dB); whole-clip RMS ${rms(x).toFixed(6)}`);
    expect(Math.abs(errDb)).toBeLessThan(0.1);
  });

  it("bridges gaps shorter than the hangover, not longer ones", () => {
    const y = new Float32Array(2 * rate);
    const fill = (fromS: number, toS: number) => {
      for (let i = Math.round(fromS * rate); i < Math.round(toS * rate); i++) y[i] = 0.3 * Math.sin(i * 0.3);
    };
    fill(0.2, 0.5);
    fill(0.6, 0.9); // 100 ms gap: bridged
    fill(1.3, 1.6); // 400 ms gap: kept
    const mask = energyVad(y, rate);
    expect(mask[Math.round(0.55 * rate)]).toBe(1);
    expect(mask[Math.round(1.1 * rate)]).toBe(0);
    expect(mask[Math.round(0.1 * rate)]).toBe(0);
    expect(mask[Math.round(1.8 * rate)]).toBe(0);
    expect(energyVad(y, rate, { hangoverMs: 50 })[Math.round(0.55 * rate)]).toBe(0);
  });

  it("ignores frames below the absolute floor; silence gives an empty mask and activeRms falls back", () => {
    const quiet = sine(rate, 500, rate, 0.0005); // about -69 dBFS, under the -60 dBFS floor
    expect(energyVad(quiet, rate).every((v) => v === 0)).toBe(true);
    expect(activeRms(quiet, energyVad(quiet, rate))).toBeCloseTo(rms(quiet), 9);
    const silent = new Float32Array(rate);
    expect(energyVad(silent, rate).every((v) => v === 0)).toBe(true);
    expect(activeRms(silent, energyVad(silent, rate))).toBe(0);
    expect(energyVad(new Float32Array(0), rate).length).toBe(0);
  });

  it("a frame far below the loudest is inactive (threshold relative to the loudest frame)", () => {
    const y = new Float32Array(2 * rate);
    for (let i = 0; i < rate; i++) y[i] = 0.5 * Math.sin(i * 0.2);
    for (let i = rate; i < 2 * rate; i++) y[i] = 0.001 * Math.sin(i * 0.2); // 54 dB below the loud part (-63 dBFS)
    const mask = energyVad(y, rate, { floorDbfs: -90 });
    expect(mask[Math.round(0.5 * rate)]).toBe(1);
    expect(mask[Math.round(1.5 * rate)]).toBe(0);
    expect(energyVad(y, rate, { floorDbfs: -90, thresholdDb: 60 })[Math.round(1.5 * rate)]).toBe(1);
  });
});
