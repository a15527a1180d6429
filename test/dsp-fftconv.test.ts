// fftConvolve against the direct sum; convolveAligned keeps speech where it was.
import { describe, expect, it } from "vitest";
import { convolveAligned, directConvolve, fftConvolve } from "../src/audio/fftconv.js";

const log = (...parts: unknown[]) => console.log("[dsp-fftconv]", ...parts);

/** Deterministic uniform noise in [-0.5, 0.5). */
function noise(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2 ** 32 - 0.5;
  }
  return x;
}

function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < b.length; i++) {
    err += (a[i] - b[i]) ** 2;
    ref += b[i] ** 2;
  }
  return ref === 0 ? Math.sqrt(err) : Math.sqrt(err / ref);
}

/** A room-like impulse response: direct path at `delay`, then an exponentially decaying noise tail. */
function roomImpulse(rate: number, delay: number, rt60S: number, lengthS: number): Float32Array {
  const h = noise(Math.round(rate * lengthS), 99);
  const decayPerSample = Math.log(1000) / (rt60S * rate); // -60 dB amplitude over rt60S
  for (let i = 0; i < h.length; i++) {
    h[i] = i < delay + 20 ? 0 : 0.3 * h[i] * Math.exp(-decayPerSample * (i - delay));
  }
  h[delay] = 1;
  return h;
}

describe("fftConvolve", () => {
  const sizes: Array<[number, number]> = [
    [1, 1], [1, 300], [300, 1], [5, 9], [1000, 1], [1000, 9], [1000, 49], [49, 1000], [1000, 1000],
    [1024, 1024], [4097, 777], [12345, 65], [10000, 3000], [3000, 10000], [30000, 2049], [48000, 8000],
    [100003, 4801],
  ];
  for (const [n, m] of sizes) {
    it(`matches the direct sum for n=${n}, m=${m}`, () => {
      const x = noise(n, n * 7 + 1);
      const h = noise(m, m * 13 + 5);
      const fast = fftConvolve(x, h);
      const direct = directConvolve(x, h);
      expect(fast.length).toBe(n + m - 1);
      expect(direct.length).toBe(n + m - 1);
      const err = relativeL2(fast, direct);
      if (n * m > 1e5) log(`n=${n} m=${m}: rel. L2 vs direct ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-5);
    });
  }

  it("gives an empty result for an empty operand", () => {
    expect(fftConvolve(new Float32Array(0), new Float32Array(5)).length).toBe(0);
    expect(fftConvolve(new Float32Array(5), new Float32Array(0)).length).toBe(0);
  });

  it("does not serve a stale cached spectrum when the filter changes in place", () => {
    const x = noise(20000, 1);
    const h = noise(3000, 2);
    const first = fftConvolve(x, h);
    expect(relativeL2(first, directConvolve(x, h))).toBeLessThan(1e-5);
    h[10] += 0.5;
    const second = fftConvolve(x, h);
    expect(relativeL2(second, directConvolve(x, h))).toBeLessThan(1e-5);
  });
});

describe("convolveAligned", () => {
  it("with a delayed, scaled impulse returns g * x, unshifted", () => {
    for (const [m, delay] of [[1, 0], [40, 17], [8000, 640], [8000, 0]] as const) {
      const gain = 0.7;
      const h = new Float32Array(m);
      h[delay] = gain;
      const x = noise(48000, 5);
      const y = convolveAligned(x, h, delay);
      expect(y.length).toBe(x.length);
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(y[i] - gain * x[i]));
      expect(worst).toBeLessThan(1e-6);
    }
  });

  it("equals the slice [d, d + n) of the full convolution", () => {
    const x = noise(30000, 8);
    const h = noise(5000, 9);
    const full = directConvolve(x, h);
    for (const delay of [0, 1, 123, 4999, 7000]) {
      const y = convolveAligned(x, h, delay);
      const expected = new Float32Array(x.length);
      for (let i = 0; i < x.length; i++) expected[i] = i + delay < full.length ? full[i + delay] : 0;
      expect(relativeL2(y, expected)).toBeLessThan(1e-5);
    }
  });

  it("with a realistic decaying RIR, the input/output cross-correlation peaks at lag 0", () => {
    const rate = 16000;
    const delay = 40; // 2.5 ms to the direct path
    const h = roomImpulse(rate, delay, 0.6, 0.5);
    const x = noise(rate * 3, 21);
    const y = convolveAligned(x, h, delay);
    let bestLag = 0;
    let best = -Infinity;
    for (let lag = -200; lag <= 200; lag++) {
      let c = 0;
      for (let i = 1000; i < x.length - 1000; i++) c += x[i] * y[i + lag];
      if (c > best) {
        best = c;
        bestLag = lag;
      }
    }
    log(`RIR (direct path at ${delay} samples, RT60 0.6 s): cross-correlation peak at lag ${bestLag}`);
    expect(bestLag).toBe(0);
  });

  it("rejects a negative or fractional delay", () => {
    expect(() => convolveAligned(new Float32Array(4), new Float32Array(4), -1)).toThrow(/delaySamples/);
    expect(() => convolveAligned(new Float32Array(4), new Float32Array(4), 1.5)).toThrow(/delaySamples/);
  });
});
