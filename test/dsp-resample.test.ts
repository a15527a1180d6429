// Measured properties of the resampler: exact lengths, zero delay, passband ripple, stopband and
// image rejection, speed perturbation frequencies and lengths, SIMD kernel vs the JS reference.
import { afterEach, describe, expect, it } from "vitest";
import {
  RESAMPLER_DESIGN,
  RESAMPLER_GUARANTEE,
  resample,
  resampleKernel,
  resamplerResponse,
  setResampleKernel,
  speedPerturb,
} from "../src/audio/resample.js";

const log = (...parts: unknown[]) => console.log("[dsp-resample]", ...parts);

function tone(hz: number, rate: number, seconds: number, amplitude = 0.5, phase = 0.3): Float32Array {
  const n = Math.round(rate * seconds);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / rate + phase);
  return x;
}

function besselI0(x: number): number {
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 300 && term > sum * 1e-17; k++) {
    term *= (x * x) / 4 / (k * k);
    sum += term;
  }
  return sum;
}

/**
 * Amplitude of the component at `hz` in y[start, end), by a Kaiser-windowed (beta 20, sidelobes
 * far below -150 dB) DFT at that one frequency, normalised so a sine of amplitude A reads A.
 */
function amplitudeAt(y: Float32Array, hz: number, rate: number, start: number, end: number): number {
  const length = end - start;
  const i0Beta = besselI0(20);
  let re = 0;
  let im = 0;
  let weight = 0;
  for (let i = 0; i < length; i++) {
    const r = (2 * i) / (length - 1) - 1;
    const w = besselI0(20 * Math.sqrt(Math.max(0, 1 - r * r))) / i0Beta;
    const angle = (2 * Math.PI * hz * (start + i)) / rate;
    re += w * y[start + i] * Math.cos(angle);
    im -= w * y[start + i] * Math.sin(angle);
    weight += w;
  }
  return (2 * Math.hypot(re, im)) / weight;
}

/** RMS of y[start, end), as the amplitude of the sine it would be. */
function sineAmplitude(y: Float32Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += y[i] * y[i];
  return Math.sqrt((2 * sum) / (end - start));
}

/** Frequency from upward zero crossings (linearly interpolated) over y[start, end). */
function zeroCrossingHz(y: Float32Array, rate: number, start: number, end: number): number {
  let first = -1;
  let last = -1;
  let count = 0;
  for (let i = start; i + 1 < end; i++) {
    if (y[i] < 0 && y[i + 1] >= 0) {
      const t = i + y[i] / (y[i] - y[i + 1]);
      if (first < 0) first = t;
      last = t;
      count++;
    }
  }
  return ((count - 1) * rate) / (last - first);
}

const db = (ratio: number) => 20 * Math.log10(ratio);

const PAIRS: Array<[number, number]> = [
  [48000, 16000],
  [16000, 8000],
  [22050, 16000],
  [8000, 16000],
];

afterEach(() => setResampleKernel("simd"));

describe("resample", () => {
  it("runs the SIMD kernel in this runtime", () => {
    expect(resampleKernel()).toBe("simd");
  });

  it("returns exactly round(n * to / from) samples", () => {
    for (const [from, to] of [...PAIRS, [17600, 16000], [16000, 14400], [44100, 16000], [16000, 16001]] as const) {
      for (const n of [0, 1, 2, 3, 7, 100, 1001, 48001]) {
        expect(resample(new Float32Array(n).fill(0.1), from, to).length).toBe(Math.round((n * to) / from));
      }
    }
  });

  it("rejects non-integer or non-positive rates", () => {
    expect(() => resample(new Float32Array(4), 44100.5, 16000)).toThrow(/fromRate/);
    expect(() => resample(new Float32Array(4), 16000, 0)).toThrow(/toRate/);
  });

  it("has zero delay: output m is the input at time m * from / to", () => {
    for (const [from, to] of [...PAIRS, [17600, 16000], [16000, 14400], [16000, 16001], [16001, 16000]] as const) {
      const hz = 0.3 * (Math.min(from, to) / 2);
      const y = resample(tone(hz, from, 0.5), from, to);
      const ideal = tone(hz, to, 0.5);
      // Away from the edges (where the input is cut off), the difference from the ideal tone at
      // the output rate is the passband error alone; a one-sample delay would be about -10 dB.
      const edge = Math.round(0.02 * to);
      let err = 0;
      let ref = 0;
      for (let m = edge; m < y.length - edge; m++) {
        err += (y[m] - ideal[m]) ** 2;
        ref += ideal[m] ** 2;
      }
      const relDb = 10 * Math.log10(err / ref);
      log(`delay check ${from}->${to} at ${hz} Hz: error vs ideal ${relDb.toFixed(1)} dB`);
      expect(relDb).toBeLessThan(-70);
    }
  });

  it("keeps a constant input constant (each phase has unit DC gain)", () => {
    const y = resample(new Float32Array(22050).fill(0.25), 22050, 16000);
    for (let m = 200; m < y.length - 200; m++) expect(Math.abs(y[m] - 0.25)).toBeLessThan(1e-6);
  });

  for (const [from, to] of PAIRS) {
    it(`${from} -> ${to}: passband ripple < 0.1 dB up to 0.9 x lower Nyquist`, () => {
      const nyquist = Math.min(from, to) / 2;
      let worst = 0;
      for (let i = 0; i <= 24; i++) {
        const hz = 50 + ((0.9 * nyquist - 50) * i) / 24;
        const y = resample(tone(hz, from, 1), from, to);
        const edge = Math.round(0.05 * to);
        const gainDb = db(amplitudeAt(y, hz, to, edge, y.length - edge) / 0.5);
        worst = Math.max(worst, Math.abs(gainDb));
      }
      log(`${from}->${to}: measured passband ripple (max |gain|, 25 tones to ${0.9 * nyquist} Hz) = ${worst.toFixed(5)} dB`);
      expect(worst).toBeLessThan(0.1);
      expect(worst).toBeLessThan(RESAMPLER_GUARANTEE.passbandRippleDb);
    });

    it(`${from} -> ${to}: rejects what lies above the lower Nyquist by >= 80 dB`, () => {
      const lowerNyquist = Math.min(from, to) / 2;
      const edge = Math.round(0.05 * to);
      let worstDb = Infinity;
      if (to < from) {
        // Tones between the output Nyquist and the input Nyquist would alias into the output.
        for (let i = 0; i <= 16; i++) {
          const hz = lowerNyquist + ((from / 2 - lowerNyquist) * i) / 16 - (i === 16 ? 1 : 0);
          const y = resample(tone(hz, from, 0.5), from, to);
          worstDb = Math.min(worstDb, -db(sineAmplitude(y, edge, y.length - edge) / 0.5));
        }
        log(`${from}->${to}: measured stopband rejection (17 tones ${lowerNyquist}-${from / 2} Hz) = ${worstDb.toFixed(2)} dB`);
      } else {
        // Upsampling: an input tone at f leaves an image at from - f, above the input Nyquist.
        for (const hz of [100, 1000, 2000, 3000, 3500, 3600, 3800, 3900, 3950, 3990]) {
          const y = resample(tone(hz, from, 1), from, to);
          worstDb = Math.min(worstDb, -db(amplitudeAt(y, from - hz, to, edge, y.length - edge) / 0.5));
        }
        log(`${from}->${to}: measured image rejection (images 4010-7900 Hz) = ${worstDb.toFixed(2)} dB`);
      }
      expect(worstDb).toBeGreaterThanOrEqual(80);
    });
  }

  it("rejects a 9 kHz tone going 48k -> 16k by >= 80 dB", () => {
    const y = resample(tone(9000, 48000, 1), 48000, 16000);
    const rejection = -db(sineAmplitude(y, 800, y.length - 800) / 0.5);
    log(`48k->16k, 9 kHz tone: rejection ${rejection.toFixed(2)} dB`);
    expect(rejection).toBeGreaterThanOrEqual(80);
  });

  it("designed filter: resamplerResponse meets the guarantee for several pairs", () => {
    for (const [from, to] of [...PAIRS, [17600, 16000], [16000, 14400], [44100, 16000], [16000, 16001], [10537, 10000]] as const) {
      const r = resamplerResponse(from, to);
      log(
        `response ${from}->${to} (L/M ${r.up}/${r.down}${r.interpolated ? ", interpolated" : ""}, ${r.tapsPerOutput} taps):` +
          ` ripple ${r.passbandRippleDb.toExponential(2)} dB to ${r.passbandEdgeHz} Hz, stopband ${r.stopbandAttenuationDb.toFixed(2)} dB from ${r.stopbandEdgeHz} Hz`,
      );
      expect(r.passbandEdgeHz).toBeCloseTo(RESAMPLER_DESIGN.passbandEdge * (Math.min(from, to) / 2), 6);
      expect(r.passbandRippleDb).toBeLessThan(RESAMPLER_GUARANTEE.passbandRippleDb);
      expect(r.stopbandAttenuationDb).toBeGreaterThanOrEqual(RESAMPLER_GUARANTEE.stopbandAttenuationDb);
    }
  });

  it("SIMD and JS kernels agree (exact and interpolated tables, across chunk boundaries)", () => {
    let seed = 12345;
    const noise = new Float32Array(300_000).map(() => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32 - 0.5;
    });
    for (const [from, to] of [[48000, 16000], [22050, 16000], [8000, 16000], [16000, 16001], [16001, 16000]] as const) {
      setResampleKernel("simd");
      const a = resample(noise, from, to);
      setResampleKernel("js");
      const b = resample(noise, from, to);
      let err = 0;
      let ref = 0;
      for (let i = 0; i < a.length; i++) {
        err += (a[i] - b[i]) ** 2;
        ref += b[i] ** 2;
      }
      expect(Math.sqrt(err / ref)).toBeLessThan(1e-6);
    }
  });
});

describe("speedPerturb", () => {
  const rate = 16000;
  for (const factor of [0.9, 0.95, 1.1, 1.234, 0.8765]) {
    it(`factor ${factor}: length round(n/f) and a 1 kHz tone comes out at ${factor} kHz`, () => {
      const x = tone(1000, rate, 4);
      const y = speedPerturb(x, factor);
      expect(Math.abs(y.length - Math.round(x.length / factor))).toBeLessThanOrEqual(1);
      const edge = Math.round(0.05 * rate);
      const hz = zeroCrossingHz(y, rate, edge, y.length - edge);
      const relErr = Math.abs(hz / (1000 * factor) - 1);
      log(`speed ${factor}: ${y.length} samples (n/f = ${(x.length / factor).toFixed(2)}), tone at ${hz.toFixed(4)} Hz, rel. error ${relErr.toExponential(2)}`);
      expect(relErr).toBeLessThan(1e-3);
      // The level is kept (passband gain ~0 dB).
      expect(Math.abs(db(sineAmplitude(y, edge, y.length - edge) / 0.5))).toBeLessThan(0.01);
    });
  }

  it("interpolated-table factors reject aliases and images by >= 80 dB", () => {
    const edge = 1600;
    // 1.0537 = 10537/10000 (L = 10000): input above 8000/1.0537 = 7592 Hz would alias.
    let worst = Infinity;
    for (const hz of [7600, 7700, 7900, 7990]) {
      const y = speedPerturb(tone(hz, rate, 1), 1.0537);
      worst = Math.min(worst, -db(sineAmplitude(y, edge, y.length - edge) / 0.5));
    }
    // 0.8765 = 1753/2000 (L = 2000): an input tone at f leaves an image at (16000 - f) * 0.8765.
    for (const hz of [6900, 7000, 7500, 7990]) {
      const y = speedPerturb(tone(hz, rate, 1), 0.8765);
      worst = Math.min(worst, -db(amplitudeAt(y, (rate - hz) * 0.8765, rate, edge, y.length - edge) / 0.5));
    }
    log(`speed 1.0537 / 0.8765 (interpolated tables): worst alias/image rejection ${worst.toFixed(2)} dB`);
    expect(worst).toBeGreaterThanOrEqual(80);
  });

  it("interpolated and exact tables leave spurious components of a passband tone below -95 dB", () => {
    // Least-squares fit of the expected output tone; what is left is spurs (stopband leakage,
    // phase-interpolation images) and rounding.
    const residualDb = (y: Float32Array, hz: number, start: number, end: number) => {
      let ss = 0, cc = 0, sc = 0, ys = 0, yc = 0;
      for (let i = start; i < end; i++) {
        const s = Math.sin((2 * Math.PI * hz * i) / rate);
        const c = Math.cos((2 * Math.PI * hz * i) / rate);
        ss += s * s; cc += c * c; sc += s * c; ys += y[i] * s; yc += y[i] * c;
      }
      const det = ss * cc - sc * sc;
      const a = (ys * cc - yc * sc) / det;
      const b = (yc * ss - ys * sc) / det;
      let err = 0;
      let power = 0;
      for (let i = start; i < end; i++) {
        const fit = a * Math.sin((2 * Math.PI * hz * i) / rate) + b * Math.cos((2 * Math.PI * hz * i) / rate);
        err += (y[i] - fit) ** 2;
        power += fit * fit;
      }
      return 10 * Math.log10(err / power);
    };
    const worst: Record<string, number> = {};
    for (const factor of [1.0537, 0.8765, 1.1, 0.9]) {
      for (const hz of [1000, 3000, 6000]) {
        const y = speedPerturb(tone(hz, rate, 2), factor);
        const spur = residualDb(y, hz * factor, 1600, y.length - 1600);
        worst[factor] = Math.max(worst[factor] ?? -Infinity, spur);
      }
    }
    log(`worst spurious level (tones 1, 3, 6 kHz): ${Object.entries(worst).map(([f, v]) => `${f}: ${v.toFixed(1)} dB`).join(", ")} (1.0537, 0.8765 interpolated; 1.1, 0.9 exact)`);
    for (const v of Object.values(worst)) expect(v).toBeLessThan(-95);
  });

  it("factor 1 (after quantisation) returns a copy of the right length", () => {
    const x = tone(440, rate, 0.1);
    const y = speedPerturb(x, 1.00001);
    expect(y).not.toBe(x);
    expect(y.length).toBe(Math.round(x.length / 1.00001));
    expect(Array.from(y.subarray(0, 100))).toEqual(Array.from(x.subarray(0, 100)));
  });

  it("rejects non-positive factors", () => {
    expect(() => speedPerturb(new Float32Array(10), 0)).toThrow(/factor/);
    expect(() => speedPerturb(new Float32Array(10), Number.NaN)).toThrow(/factor/);
  });
});
