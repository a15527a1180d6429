// Speed perturbation: the resampler's measured passband ripple and stopband rejection at the
// speed factors, alias rejection end to end, agreement with Debian sox `speed 1.1`, and Kaldi's
// 3-way mode (`per_copy`).
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { resamplerResponse, SPEED_QUANTUM, speedPerturb } from "../src/audio/resample.js";
import { speedOp, speedSchema } from "../src/ops/speed.js";
import { rngFor } from "../src/plan/rng.js";
import { tempDir, writeWav } from "./helpers/fixtures.js";
import { pythonJson } from "./helpers/python.js";
import { logSpectralDistanceDb, SR, synthVowel } from "./helpers/voice.js";

const log = (...parts: unknown[]) => console.log("[voice-speed]", ...parts);

function besselI0(x: number): number {
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 300 && term > sum * 1e-17; k++) {
    term *= (x * x) / 4 / (k * k);
    sum += term;
  }
  return sum;
}

/** Amplitude of the component at `hz` by a Kaiser (beta 20, sidelobes < -150 dB) windowed DFT at that frequency; a sine of amplitude A reads A. */
function amplitudeAt(y: Float32Array, hz: number, start: number, end: number): number {
  const length = end - start;
  const i0Beta = besselI0(20);
  let re = 0;
  let im = 0;
  let weight = 0;
  for (let i = 0; i < length; i++) {
    const r = (2 * i) / (length - 1) - 1;
    const w = besselI0(20 * Math.sqrt(Math.max(0, 1 - r * r))) / i0Beta;
    const angle = (2 * Math.PI * hz * (start + i)) / SR;
    re += w * y[start + i] * Math.cos(angle);
    im -= w * y[start + i] * Math.sin(angle);
    weight += w;
  }
  return (2 * Math.hypot(re, im)) / weight;
}

describe("speed: resampler response at the speed factors", () => {
  it("passband ripple <= 0.001 dB and stopband rejection >= 80 dB (designed filters, resamplerResponse)", () => {
    const rows: string[] = [];
    for (const factor of [0.8, 0.9, 0.95, 1.05, 1.1, 1.2, 1.0537, 0.9173]) {
      const to = Math.round(1 / SPEED_QUANTUM);
      const r = resamplerResponse(Math.round(factor * to), to);
      rows.push(`${factor}: ripple ${r.passbandRippleDb.toExponential(2)} dB, stopband ${r.stopbandAttenuationDb.toFixed(2)} dB${r.interpolated ? " (interpolated table)" : ""}`);
      expect(r.passbandRippleDb).toBeLessThan(0.001);
      expect(r.stopbandAttenuationDb).toBeGreaterThan(80);
    }
    log(rows.join("; "));
  });

  it("end to end at 1.1: a passband tone keeps its level within 0.01 dB, an alias of a tone past the new Nyquist is >= 80 dB down", () => {
    const n = 2 * SR;
    const amplitude = 0.5;
    for (const [inHz, label] of [
      [3000, "passband"],
      [7600, "alias"],
    ] as const) {
      const x = Float32Array.from({ length: n }, (_, i) => amplitude * Math.sin((2 * Math.PI * inHz * i) / SR + 0.3));
      const y = speedPerturb(x, 1.1);
      if (label === "passband") {
        const level = 20 * Math.log10(amplitudeAt(y, inHz * 1.1, 2000, y.length - 2000) / amplitude);
        log(`3000 Hz -> 3300 Hz: level ${level.toFixed(5)} dB`);
        expect(Math.abs(level)).toBeLessThan(0.01);
      } else {
        // 7600 Hz played 1.1x faster is 8360 Hz, past the 8 kHz Nyquist; unfiltered it would alias to 7640 Hz.
        const alias = 20 * Math.log10(amplitudeAt(y, SR - inHz * 1.1, 2000, y.length - 2000) / amplitude);
        log(`7600 Hz -> (8360 Hz) alias at 7640 Hz: ${alias.toFixed(1)} dB`);
        expect(alias).toBeLessThan(-80);
      }
    }
  });
});

describe("speed vs Debian sox", () => {
  it("speed 1.1 matches `sox in.wav out.wav speed 1.1`: log-spectral distance over 50-7000 Hz < 0.1 dB, waveform SNR > 40 dB", () => {
    const dir = tempDir("augment-voice-sox-");
    const f0 = (t: number) => 120 + 25 * Math.sin(2 * Math.PI * 0.7 * t);
    const x = synthVowel(3 * SR, {
      f0Hz: f0,
      formants: (t) => [
        [600 + 250 * Math.sin(2 * Math.PI * 1.3 * t), 90],
        [1400 + 500 * Math.sin(2 * Math.PI * 0.9 * t + 1), 110],
        [2600, 160],
        [3500, 220],
      ],
      envelope: (t) => 0.2 + 0.8 * Math.abs(Math.sin(2 * Math.PI * 2 * t)),
      noise: 0.05,
      seed: 7,
    });
    const input = path.join(dir, "in.wav");
    const output = path.join(dir, "sox.wav");
    writeWav(input, x, SR);
    const sox = spawnSync("sox", [input, "-b", "32", "-e", "floating-point", output, "speed", "1.1"], { encoding: "utf8" });
    expect(sox.status, sox.stderr).toBe(0);
    // Both sides start from the same 16-bit samples, read by soundfile.
    const files = pythonJson<{ input: number[]; sox: number[] }>(
      `
import sys, json, soundfile as sf
a, _ = sf.read(sys.argv[1], dtype="float32"); b, _ = sf.read(sys.argv[2], dtype="float32")
print(json.dumps({"input": a.tolist(), "sox": b.tolist()}))`,
      [input, output],
    );
    const ours = speedPerturb(Float32Array.from(files.input), 1.1);
    const theirs = Float32Array.from(files.sox);
    const lsd = logSpectralDistanceDb(ours, theirs.subarray(0, ours.length));
    let err = 0;
    let ref = 0;
    for (let i = 1000; i < Math.min(ours.length, theirs.length) - 1000; i++) {
      err += (ours[i] - theirs[i]) ** 2;
      ref += theirs[i] ** 2;
    }
    const snr = 10 * Math.log10(ref / err);
    log(`speed 1.1 vs sox: lengths ${ours.length} / ${theirs.length}, log-spectral distance (512-pt Hann STFT, hop 128, 50-7000 Hz) ${lsd.toFixed(4)} dB, waveform SNR ${snr.toFixed(1)} dB`);
    expect(Math.abs(ours.length - theirs.length)).toBeLessThanOrEqual(1);
    expect(lsd).toBeLessThan(0.1);
    expect(snr).toBeGreaterThan(40);
  });
});

describe("speed: Kaldi 3-way mode", () => {
  const banks = { noise: new Map(), rir: new Map() };
  it("per_copy: copy k takes factors[k % len], independent of the random stream", () => {
    const config = speedSchema.parse({ factors: [0.9, 1.0, 1.1], per_copy: true, speaker_prefix: true });
    const factors = Array.from({ length: 7 }, (_, copy) => speedOp.sample(config, rngFor(5, `spk-u#${copy}`, 0), { sampleRate: SR, durationS: 2, banks, copy }).factor);
    expect(factors).toEqual([0.9, 1, 1.1, 0.9, 1, 1.1, 0.9]);
    expect(speedOp.speakerPrefix!(config, { op: "speed", factor: 0.9 })).toBe("sp0_9");
    expect(speedOp.speakerPrefix!(config, { op: "speed", factor: 1 })).toBeUndefined();
    // Without per_copy the draw is random.
    const random = speedSchema.parse({ factors: [0.9, 1.0, 1.1] });
    const draws = Array.from({ length: 30 }, (_, copy) => speedOp.sample(random, rngFor(5, `spk-u#${copy}`, 0), { sampleRate: SR, durationS: 2, banks, copy: 0 }).factor);
    expect(new Set(draws).size).toBe(3);
  });

  it("per_copy needs `factors`", () => {
    const r = speedSchema.safeParse({ range: [0.9, 1.1], per_copy: true });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toMatch(/per_copy/);
  });
});
