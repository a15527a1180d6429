// The elementwise SIMD kernels (src/audio/simd.ts) give the same bits as the plain-JS loops they
// replace: each public function is run with the kernels on and off over inputs that probe the
// edges (rounding ties of the int16 conversion, values past full scale, -0, subnormals, NaN/Inf,
// lengths that leave a JS tail, lengths over one kernel chunk) and the results compared exactly.
import { afterEach, describe, expect, it } from "vitest";
import { floatToInt16, floatToInt16Level } from "../src/audio/decode.js";
import { encodeFlac } from "../src/audio/flac.js";
import { setFlacKernels } from "../src/audio/flac-kernels.js";
import { energy, peakAbs } from "../src/audio/measure.js";
import { setSimdKernels, simdKernelsActive } from "../src/audio/simd.js";
import { encodeWav, parseWav } from "../src/audio/wav.js";
import { gainOp } from "../src/ops/gain.js";
import { noiseOp } from "../src/ops/noise.js";
import type { ApplyContext } from "../src/ops/types.js";

const log = (...parts: unknown[]) => console.log("[dsp-simd]", ...parts);

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Noise at a level, with edge values sprinkled in: exact ties k + 0.5 (in units of 2^-15), near-ties, ±full scale and beyond, -0, subnormals. */
function probe(n: number, seed: number, level = 0.3, extremes = true): Float32Array {
  const rnd = lcg(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = level * (2 * rnd() - 1);
  if (extremes) {
    const specials = [
      0.5 / 32768, 1.5 / 32768, 2.5 / 32768, -0.5 / 32768, -1.5 / 32768, -2.5 / 32768, 32766.5 / 32768, -32767.5 / 32768,
      Math.fround(0.49999997 / 32768), Math.fround(-0.49999997 / 32768), 1, -1, 1.5, -1.5, 32767.5 / 32768, -32768.5 / 32768,
      -0, 1e-40, -1e-40, 3e38, -3e38,
    ];
    for (let k = 0; k < n / 7; k++) x[Math.floor(rnd() * n)] = specials[k % specials.length];
  }
  return x;
}

function both<T>(f: () => T): [T, T] {
  setSimdKernels(true);
  const a = f();
  setSimdKernels(false);
  const b = f();
  setSimdKernels(true);
  return [a, b];
}

const lengths = [0, 1, 7, 255, 256, 257, 1001, 4096 + 5, 40_000, 70_001];

describe("SIMD kernels match the JS loops bit for bit", () => {
  afterEach(() => {
    setSimdKernels(true);
    setFlacKernels(true);
  });

  it("the kernels run here", () => {
    expect(simdKernelsActive()).toBe(true);
  });

  it("floatToInt16Level: samples, peak, mean square", () => {
    for (const n of lengths) {
      const x = probe(n, n + 1);
      const [a, b] = both(() => {
        const r = floatToInt16Level(x);
        return { pcm: r.pcm.slice(), peak: r.peak, meanSquare: r.meanSquare, finite: r.finite };
      });
      expect(Buffer.from(a.pcm.buffer).equals(Buffer.from(b.pcm.buffer))).toBe(true);
      expect(Buffer.from(a.pcm.buffer).equals(Buffer.from(floatToInt16(x).buffer))).toBe(true);
      expect([a.peak, a.meanSquare, a.finite]).toEqual([b.peak, b.meanSquare, b.finite]);
    }
    // Non-finite samples: the same samples out and the same verdict.
    const bad = probe(5000, 9);
    bad[1234] = NaN;
    bad[2345] = Infinity;
    bad[3456] = -Infinity;
    const [a, b] = both(() => {
      const r = floatToInt16Level(bad);
      return { pcm: r.pcm.slice(), finite: r.finite };
    });
    expect(Buffer.from(a.pcm.buffer).equals(Buffer.from(b.pcm.buffer))).toBe(true);
    expect(a.finite).toBe(false);
    expect(b.finite).toBe(false);
    expect([a.pcm[1234], a.pcm[2345], a.pcm[3456]]).toEqual([0, 32767, -32768]);
  });

  it("energy over ranges (both accumulators in order)", () => {
    for (const n of lengths) {
      const x = probe(n, 3 * n + 1, 0.3, false);
      for (const [from, to] of [[0, n], [1, n], [3, n - 2], [7, Math.floor(n / 2)]]) {
        const [a, b] = both(() => energy(x, from, to));
        expect(Object.is(a, b)).toBe(true);
      }
    }
  });

  it("gain: output samples and the limit decision", () => {
    for (const n of lengths) {
      const x = probe(n, 5 * n + 1, 0.3, false);
      for (const db of [-6.021, 0.5, 3.7, 20]) {
        const [a, b] = both(() => gainOp.apply(x, { op: "gain", db, avoid_clipping: true }, undefined as unknown as ApplyContext));
        expect(Buffer.from(a.audio.buffer).equals(Buffer.from(b.audio.buffer))).toBe(true);
        expect(a.measured).toEqual(b.measured);
      }
    }
  });

  it("noise mix: output samples and achieved SNR, with and without clipping", () => {
    const rate = 16000;
    const noise = probe(3 * rate + 17, 77, 0.5, false);
    const ctx: ApplyContext = { sampleRate: rate, resource: () => noise, memo: (_k, f) => f() };
    for (const n of [300, 1001, 40_000, 70_001]) {
      const x = probe(n, 11 * n + 1, 0.4, false);
      for (const snr_db of [-5, 0, 7.5, 30]) {
        const params = { op: "noise" as const, bank: "b", noise: "n", category: "c", offset_s: 0.1234, snr_db, snr_reference: "clip" as const, crossfade_ms: 50 };
        const [a, b] = both(() => noiseOp.apply(x, params, ctx) as { audio: Float32Array; measured: unknown });
        expect(Buffer.from(a.audio.buffer).equals(Buffer.from(b.audio.buffer))).toBe(true);
        expect(a.measured).toEqual(b.measured);
      }
    }
  });

  it("mono 16-bit WAV decoding and its peak", () => {
    for (const n of lengths.filter((n) => n > 0)) {
      const pcm = floatToInt16(probe(n, 13 * n + 1, 1.2));
      const wav = encodeWav(pcm, 16000);
      const [a, b] = both(() => parseWav(wav));
      expect(Buffer.from(a.channels[0].buffer).equals(Buffer.from(b.channels[0].buffer))).toBe(true);
      expect(a.peak).toBe(peakAbs(a.channels[0]));
      expect(b.peak).toBe(a.peak);
    }
    log("checked lengths", lengths.join(", "));
  });

  it("FLAC encoder: the same bytes with its SIMD kernels (autocorrelation, LPC residual) as without", () => {
    const rnd = lcg(99);
    const signals: Array<[string, Int16Array]> = [];
    const speech = floatToInt16(probe(3 * 4096 + 1234, 5, 0.2, false).map((v, i) => v * Math.sin(i / 300) + 0.3 * Math.sin(i / 7)));
    signals.push(["tonal + noise, odd length", speech]);
    signals.push(["white noise full scale", Int16Array.from({ length: 9000 }, () => Math.floor(rnd() * 65536) - 32768)]);
    signals.push(["wasted bits (x4)", Int16Array.from(speech.subarray(0, 8193), (v) => (v >> 2) << 2)]);
    signals.push(["constant then silence", Int16Array.from({ length: 5000 }, (_, i) => (i < 4096 ? 1234 : 0))]);
    signals.push(["short odd blocks", speech.subarray(0, 4096 + 33)]);
    signals.push(["tiny", speech.subarray(0, 17)]);
    signals.push(["clipped square", Int16Array.from({ length: 6000 }, (_, i) => (i % 50 < 25 ? 32767 : -32768))]);
    for (const [name, pcm] of signals) {
      setFlacKernels(true);
      const a = encodeFlac(pcm, 16000);
      setFlacKernels(false);
      const b = encodeFlac(pcm, 16000);
      expect(Buffer.from(a).equals(Buffer.from(b)), name).toBe(true);
    }
  });
});
