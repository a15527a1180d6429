// fftConvolve against the direct sum, on both kernels (WebAssembly SIMD Float32 and the fft.js
// Float64 fallback); the spectrum cache; convolveAligned keeps speech where it was.
import { afterEach, describe, expect, it } from "vitest";
import { convolveAligned, directConvolve, fftConvolve, fftConvolveKernel, setFftConvolveKernel } from "../src/audio/fftconv.js";

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

const KERNELS = ["wasm", "js"] as const;

/** Bytes of a Float32Array, for exact comparison. */
function bytesOf(x: Float32Array): Buffer {
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
}

afterEach(() => setFftConvolveKernel("wasm"));

describe("fftConvolve", () => {
  it("runs on the WebAssembly SIMD kernel by default", () => {
    expect(fftConvolveKernel()).toBe("wasm");
  });

  // Chosen so the kernel sees every transform size from 2^6 to 2^15 (both with and without the
  // radix-2 stage), m > n, and lengths that are not powers of two.
  const sizes: Array<[number, number]> = [
    [1, 1], [1, 300], [300, 1], [5, 9], [33, 32], [40, 40], [1000, 1], [1000, 9], [1000, 49], [49, 1000],
    [1000, 1000], [1024, 1024], [4097, 777], [5000, 200], [12345, 65], [2500, 1500], [10000, 3000],
    [3000, 10000], [30000, 2049], [48000, 8000], [100003, 4801],
  ];
  for (const [n, m] of sizes) {
    it(`matches the direct sum for n=${n}, m=${m}`, () => {
      const x = noise(n, n * 7 + 1);
      const h = noise(m, m * 13 + 5);
      const direct = directConvolve(x, h);
      expect(direct.length).toBe(n + m - 1);
      for (const kernel of KERNELS) {
        setFftConvolveKernel(kernel);
        const fast = fftConvolve(x, h);
        expect(fast.length).toBe(n + m - 1);
        const err = relativeL2(fast, direct);
        if (n * m > 1e5) log(`${kernel}: n=${n} m=${m}: rel. L2 vs direct ${err.toExponential(2)}`);
        expect(err).toBeLessThan(1e-5);
      }
    });
  }

  // Transform sizes 2^15 to 2^17: the direct sum would take seconds, so the Float64 fft.js path
  // (checked against it above) is the reference.
  for (const [n, m] of [[160000, 8000], [320000, 16000], [400000, 70000]] as const) {
    it(`matches the Float64 path for n=${n}, m=${m}`, () => {
      const x = noise(n, 3);
      const h = noise(m, 4).map((v, i) => v * Math.exp(-i / (m / 5)));
      setFftConvolveKernel("js");
      const reference = fftConvolve(x, h);
      setFftConvolveKernel("wasm");
      const fast = fftConvolve(x, h);
      const err = relativeL2(fast, reference);
      log(`wasm vs fft.js: n=${n} m=${m}: rel. L2 ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-6);
    });
  }

  it("gives an empty result for an empty operand", () => {
    expect(fftConvolve(new Float32Array(0), new Float32Array(5)).length).toBe(0);
    expect(fftConvolve(new Float32Array(5), new Float32Array(0)).length).toBe(0);
  });

  it("does not serve a stale cached spectrum when the filter changes in place", () => {
    for (const kernel of KERNELS) {
      setFftConvolveKernel(kernel);
      const x = noise(20000, 1);
      const h = noise(3000, 2);
      const first = fftConvolve(x, h);
      expect(relativeL2(first, directConvolve(x, h))).toBeLessThan(1e-5);
      h[10] += 0.5;
      const second = fftConvolve(x, h);
      expect(relativeL2(second, directConvolve(x, h))).toBeLessThan(1e-5);
    }
  });

  it("gives the same bytes whether the filter spectrum is cached or not", () => {
    const x = noise(30000, 11);
    const h = noise(2000, 12);
    const first = fftConvolve(x, h); // spectrum taken
    const again = fftConvolve(x, h); // spectrum from the cache
    const copy = fftConvolve(x, h.slice()); // equal contents, another array: taken afresh
    expect(bytesOf(again).equals(bytesOf(first))).toBe(true);
    expect(bytesOf(copy).equals(bytesOf(first))).toBe(true);
    expect(relativeL2(first, directConvolve(x, h))).toBeLessThan(1e-5);
  });

  it("gives the same bytes for the same input whatever ran before", () => {
    // 5000 outputs of a 3000-tap filter take one block: the pair's other slot is empty and must
    // not keep data from earlier calls.
    const x = noise(5000, 31);
    const h = noise(3000, 32);
    const first = convolveAligned(x, h, 0);
    convolveAligned(noise(5000, 33), h, 0);
    convolveAligned(noise(5000, 34), noise(3000, 35), 0);
    expect(bytesOf(convolveAligned(x, h, 0)).equals(bytesOf(first))).toBe(true);
    expect(bytesOf(convolveAligned(x.slice(), h.slice(), 0)).equals(bytesOf(first))).toBe(true);
    expect(relativeL2(first, directConvolve(x, h).subarray(0, 5000))).toBeLessThan(1e-5);
  });

  it("keeps RIRs apart when several alternate, and after they fall out of the cache", () => {
    const x = noise(16000, 13);
    const rirs = Array.from({ length: 3 }, (_, k) => roomImpulse(16000, 20 + 10 * k, 0.3 + 0.2 * k, 0.25 + 0.1 * k));
    const firsts = rirs.map((h) => convolveAligned(x, h, 5));
    for (let round = 0; round < 2; round++) {
      for (let k = 0; k < rirs.length; k++) {
        const y = convolveAligned(x, rirs[k], 5);
        expect(bytesOf(y).equals(bytesOf(firsts[k]))).toBe(true);
      }
    }
    // Enough other filters (and sizes) to evict every entry, then the first RIRs again.
    for (let k = 0; k < 40; k++) fftConvolve(noise(5000 + 100 * k, k), noise(300 + 50 * k, k + 1));
    for (let k = 0; k < rirs.length; k++) {
      const y = convolveAligned(x, rirs[k], 5);
      expect(bytesOf(y).equals(bytesOf(firsts[k]))).toBe(true);
      const full = directConvolve(x, rirs[k]);
      expect(relativeL2(y, full.subarray(5, 5 + x.length))).toBeLessThan(1e-5);
    }
  });

  it("serves one RIR correctly at several clip lengths (several transform sizes)", () => {
    const h = roomImpulse(16000, 30, 0.5, 0.25);
    for (const seconds of [0.2, 1, 3, 10]) {
      const x = noise(Math.round(16000 * seconds), 17);
      const y = convolveAligned(x, h, 30);
      setFftConvolveKernel("js");
      const reference = convolveAligned(x, h, 30);
      setFftConvolveKernel("wasm");
      expect(relativeL2(y, reference)).toBeLessThan(1e-6);
    }
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

  it("with a clip shorter than the RIR, equals the slice of the full convolution (both kernels)", () => {
    const h = roomImpulse(16000, 50, 0.6, 0.8);
    for (const n of [700, 5000]) {
      const x = noise(n, 23);
      const full = directConvolve(x, h);
      for (const kernel of KERNELS) {
        setFftConvolveKernel(kernel);
        const y = convolveAligned(x, h, 50);
        expect(y.length).toBe(n);
        expect(relativeL2(y, full.subarray(50, 50 + n))).toBeLessThan(1e-5);
      }
    }
  });

  it("rejects a negative or fractional delay", () => {
    expect(() => convolveAligned(new Float32Array(4), new Float32Array(4), -1)).toThrow(/delaySamples/);
    expect(() => convolveAligned(new Float32Array(4), new Float32Array(4), 1.5)).toThrow(/delaySamples/);
  });
});
