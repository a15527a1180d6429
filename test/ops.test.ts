// The op kernels, on signals with known answers.
import { describe, expect, it } from "vitest";
import { activeRms, energyVad, peakAbs, rms, rmsDbfs } from "../src/audio/measure.js";
import { gainOp } from "../src/ops/gain.js";
import { CLIP_LEVEL, loopNoise, noiseOp, type NoiseParams } from "../src/ops/noise.js";
import { reverbOp } from "../src/ops/reverb.js";
import { speedOp } from "../src/ops/speed.js";
import type { ApplyContext } from "../src/ops/types.js";
import { lcg, noiseSignal, speechLike } from "./helpers/fixtures.js";

const SR = 16000;

function ctxWith(noise: Float32Array): ApplyContext {
  const memos = new Map<string, unknown>();
  return { sampleRate: SR, resource: () => noise, memo: <T>(k: string, f: () => T) => (memos.has(k) ? (memos.get(k) as T) : (memos.set(k, f()), memos.get(k) as T)) };
}

function params(over: Partial<NoiseParams>): NoiseParams {
  return { op: "noise", bank: "b", noise: "n", category: "c", offset_s: 0, snr_db: 10, snr_reference: "clip", crossfade_ms: 50, ...over };
}

/** Least-squares split of y into a·x + b·n; returns the SNR of the two parts in dB. */
function splitSnr(y: Float32Array, x: Float32Array, n: Float32Array, mask?: Uint8Array): number {
  let xx = 0, nn = 0, xn = 0, xy = 0, ny = 0;
  for (let i = 0; i < y.length; i++) {
    xx += x[i] * x[i];
    nn += n[i] * n[i];
    xn += x[i] * n[i];
    xy += x[i] * y[i];
    ny += n[i] * y[i];
  }
  const det = xx * nn - xn * xn;
  const a = (xy * nn - ny * xn) / det;
  const b = (ny * xx - xy * xn) / det;
  const speech = Float32Array.from(x, (v) => a * v);
  const noise = Float32Array.from(n, (v) => b * v);
  const ps = mask ? activeRms(speech, mask) ** 2 : rms(speech) ** 2;
  return 10 * Math.log10(ps / rms(noise) ** 2);
}

describe("noise", () => {
  it("mixes at the planned SNR (clip reference) and records it", () => {
    const x = speechLike(3 * SR, SR);
    const noise = noiseSignal(10 * SR, 4, 0.2);
    for (const snr of [-5, 0, 7.5, 30]) {
      const out = noiseOp.apply(x, params({ snr_db: snr, offset_s: 1.25 }), ctxWith(noise));
      const seg = noise.subarray(Math.round(1.25 * SR), Math.round(1.25 * SR) + x.length);
      expect(Math.abs(splitSnr(out.audio, x, seg) - snr)).toBeLessThan(0.01);
      expect(Math.abs((out.measured!.snr_db as number) - snr)).toBeLessThan(0.01);
    }
  });

  it("with snr_reference: speech, uses the speech-active power (pauses don't dilute it)", () => {
    const speech = speechLike(SR, SR);
    const x = new Float32Array(4 * SR); // 1 s speech, 2 s silence, 1 s speech
    x.set(speech, 0);
    x.set(speech, 3 * SR);
    const noise = noiseSignal(10 * SR, 5, 0.2);
    const out = noiseOp.apply(x, params({ snr_db: 5, snr_reference: "speech" }), ctxWith(noise));
    const mask = energyVad(x, SR);
    const seg = noise.subarray(0, x.length);
    expect(Math.abs(splitSnr(out.audio, x, seg, mask) - 5)).toBeLessThan(0.01);
    // The clip-RMS SNR of the same mix is lower by about 10·log10(2) (half the clip is silence).
    expect(splitSnr(out.audio, x, seg)).toBeLessThan(5 - 2.5);
  });

  it("scales the mixture, not the noise, when it would clip; the achieved SNR is still the planned one", () => {
    const x = Float32Array.from(speechLike(2 * SR, SR), (v) => v * 4); // peaks near full scale
    const noise = noiseSignal(4 * SR, 6, 0.9);
    const out = noiseOp.apply(x, params({ snr_db: 0 }), ctxWith(noise));
    expect(peakAbs(out.audio)).toBeLessThanOrEqual(CLIP_LEVEL + 1e-7);
    expect(out.measured!.mix_scale_db as number).toBeLessThan(0);
    expect(Math.abs(splitSnr(out.audio, x, noise.subarray(0, x.length)) - 0)).toBeLessThan(0.01);
  });

  it("loops a short noise with a crossfade: no gap, no jump at the seam", () => {
    const rnd = lcg(9);
    const short = Float32Array.from({ length: 1000 }, () => 0.5 * (rnd() * 2 - 1));
    const out = loopNoise(short, 300, 5000, 80);
    expect(out.length).toBe(5000);
    // Power stays about constant across seams (equal-power fade of uncorrelated noise).
    for (let s = 0; s + 500 <= 5000; s += 500) expect(Math.abs(rmsDbfs(out.subarray(s, s + 500)) - rmsDbfs(short))).toBeLessThan(1.5);
    // Before the first seam (which fades over the last 80 samples of the first piece) it is the noise itself.
    expect(Array.from(out.subarray(0, 620))).toEqual(Array.from(short.subarray(300, 920)));
  });
});

describe("gain", () => {
  it("applies dB, reaches a target RMS, and limits instead of clipping", () => {
    const x = speechLike(SR, SR);
    const a = gainOp.apply(x, { op: "gain", db: -6, avoid_clipping: true }, ctxWith(new Float32Array(1)));
    expect(rmsDbfs(a.audio) - rmsDbfs(x)).toBeCloseTo(-6, 4);
    const b = gainOp.apply(x, { op: "gain", target_dbfs: -30, avoid_clipping: true }, ctxWith(new Float32Array(1)));
    expect(rmsDbfs(b.audio)).toBeCloseTo(-30, 4);
    const c = gainOp.apply(x, { op: "gain", db: 40, avoid_clipping: true }, ctxWith(new Float32Array(1)));
    expect(c.measured!.limited).toBe(true);
    expect(peakAbs(c.audio)).toBeLessThanOrEqual(CLIP_LEVEL + 1e-7);
    expect(c.measured!.applied_db as number).toBeCloseTo(20 * Math.log10(CLIP_LEVEL / peakAbs(x)), 3);
  });
});

describe("speed and reverb", () => {
  it("speed maps times by 1/f and changes length to round(n/f)", () => {
    const x = speechLike(16001, SR);
    const p = { op: "speed" as const, factor: 1.1 };
    expect(speedOp.apply(x, p, ctxWith(new Float32Array(1))).audio.length).toBe(Math.round(16001 / 1.1));
    expect(speedOp.mapTime!(p)(1.1)).toBeCloseTo(1, 12);
    expect(speedOp.durationFactor!(p)).toBeCloseTo(1 / 1.1, 12);
  });

  it("reverb keeps the input length and RMS (normalize: rms)", () => {
    const x = speechLike(2 * SR, SR);
    const rnd = lcg(3);
    const h = Float32Array.from({ length: 4000 }, (_, i) => (i === 100 ? 1 : i > 100 ? 0.3 * (rnd() * 2 - 1) * Math.exp(-i / 800) : 0));
    const out = reverbOp.apply(x, { op: "reverb", bank: "r", rir: "a", normalize: "rms" }, ctxWith(h));
    expect(out.audio.length).toBe(x.length);
    expect(rmsDbfs(out.audio)).toBeCloseTo(rmsDbfs(x), 4);
    expect(out.measured!.direct_delay_samples).toBe(100);
  });
});
