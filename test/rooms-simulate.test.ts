// The shoebox simulator on cases with known answers: arrival times of the direct path and of
// first-order reflections, an independent image-source sum in numpy, determinism, validation,
// microphone arrays, directivity, per-band absorption and the high-pass.
import FFT from "fft.js";
import { describe, expect, it } from "vitest";
import { measureRir } from "../src/audio/acoustics.js";
import { prepareRoom, simulateRoom, simulateRoomWithInfo } from "../src/rooms/simulate.js";
import { eyringAbsorption } from "../src/rooms/theory.js";
import type { RoomSpec, Vec3 } from "../src/rooms/types.js";
import { pythonJson } from "./helpers/python.js";

const log = (...parts: unknown[]) => console.log("[rooms-simulate]", ...parts);

function baseSpec(over: Partial<RoomSpec> = {}): RoomSpec {
  return {
    dims_m: [5, 4, 3],
    absorption: 0.3,
    source_m: [1.2, 1.5, 1.6],
    mics_m: [[3.7, 2.6, 1.1]],
    sample_rate: 16000,
    c_m_s: 343,
    transition_s: null,
    length_s: 0.1,
    highpass_hz: 0,
    seed: 1,
    ...over,
  };
}

const dist = (a: readonly number[], b: readonly number[]) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

/** Index of the largest |h| within ±radius of `around`. */
function peakNear(h: Float32Array, around: number, radius: number): number {
  let best = -1;
  for (let i = Math.max(0, Math.floor(around - radius)); i <= Math.min(h.length - 1, Math.ceil(around + radius)); i++) {
    if (best < 0 || Math.abs(h[i]) > Math.abs(h[best])) best = i;
  }
  return best;
}

/** Amplitude of a band-limited pulse at fractional delay tau: h projected on the windowed sinc. */
function pulseAmplitude(h: Float32Array, tau: number): number {
  let num = 0;
  let den = 0;
  for (let k = Math.max(0, Math.ceil(tau - 20)); k <= Math.min(h.length - 1, Math.floor(tau + 20)); k++) {
    const x = k - tau;
    const s = (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x)) * 0.5 * (1 + Math.cos((Math.PI * x) / 41));
    num += h[k] * s;
    den += s * s;
  }
  return num / den;
}

/** Fractional peak position by parabolic interpolation of |h| around its local maximum. */
function refinedPeak(h: Float32Array, i: number): number {
  const a = Math.abs(h[i - 1]);
  const b = Math.abs(h[i]);
  const c = Math.abs(h[i + 1]);
  const denom = a - 2 * b + c;
  return denom === 0 ? i : i + (0.5 * (a - c)) / denom;
}

describe("arrival times", () => {
  it("direct path arrives at distance / c within one sample (several rooms, 16 and 48 kHz, high-pass on)", () => {
    const cases: Array<{ dims: Vec3; src: Vec3; mic: Vec3; fs: number }> = [
      { dims: [5, 4, 3], src: [1.2, 1.5, 1.6], mic: [3.7, 2.6, 1.1], fs: 16000 },
      { dims: [3, 3, 2.4], src: [0.7, 0.9, 1.5], mic: [1.13, 1.21, 1.05], fs: 16000 },
      { dims: [10, 8, 4], src: [2.1, 6.3, 1.7], mic: [8.8, 1.9, 0.9], fs: 48000 },
      { dims: [6, 3.1, 2.7], src: [5.1, 0.6, 1.2], mic: [0.9, 2.4, 2.1], fs: 22050 },
    ];
    const errors: number[] = [];
    for (const c of cases) {
      const spec = baseSpec({ dims_m: c.dims, source_m: c.src, mics_m: [c.mic], sample_rate: c.fs, absorption: 0.4, highpass_hz: 100, length_s: 0.2 });
      const [h] = simulateRoom(spec);
      const expected = (dist(c.src, c.mic) / 343) * c.fs;
      const m = measureRir(h, c.fs);
      const refined = refinedPeak(h, m.direct_delay_samples);
      errors.push(refined - expected);
      expect(Math.abs(m.direct_delay_samples - expected)).toBeLessThanOrEqual(1);
      expect(Math.abs(refined - expected)).toBeLessThan(0.25);
    }
    log("direct path: refined peak minus d/c, samples:", errors.map((e) => e.toFixed(3)).join(", "));
  });

  it("the floor reflection arrives at the image-source distance within one sample", () => {
    // Only the floor reflects (α = 0 there, 1 elsewhere): the RIR is the direct path plus one image.
    const src: Vec3 = [1.3, 2.2, 1.7];
    const mic: Vec3 = [3.9, 1.4, 1.2];
    const spec = baseSpec({ source_m: src, mics_m: [mic], absorption: [1, 1, 1, 1, 0, 1], highpass_hz: 100 });
    const [h] = simulateRoom(spec);
    const image: Vec3 = [src[0], src[1], -src[2]];
    const expected = (dist(image, mic) / 343) * 16000;
    const at = peakNear(h, expected, 6);
    const refined = refinedPeak(h, at);
    log(`floor reflection: expected ${expected.toFixed(3)}, peak ${at}, refined ${refined.toFixed(3)}; amplitude × 4πr ${(pulseAmplitude(h, expected) * 4 * Math.PI * dist(image, mic)).toFixed(4)} (expected 1)`);
    expect(Math.abs(at - expected)).toBeLessThanOrEqual(1);
    expect(Math.abs(refined - expected)).toBeLessThan(0.25);
    // Amplitude: 1 / (4π r) with a fully reflecting floor.
    expect(pulseAmplitude(h, expected) * 4 * Math.PI * dist(image, mic)).toBeCloseTo(1, 1);
  });

  it("all six first-order reflections arrive at their image distances (max_order 1)", () => {
    const src: Vec3 = [1.2, 1.5, 1.6];
    const mic: Vec3 = [3.7, 2.6, 1.1];
    const dims: Vec3 = [5, 4, 3];
    const [h] = simulateRoom(baseSpec({ max_order: 1, absorption: 0.19 }));
    const images: Vec3[] = [
      [-src[0], src[1], src[2]],
      [2 * dims[0] - src[0], src[1], src[2]],
      [src[0], -src[1], src[2]],
      [src[0], 2 * dims[1] - src[1], src[2]],
      [src[0], src[1], -src[2]],
      [src[0], src[1], 2 * dims[2] - src[2]],
    ];
    const times = images.map((p) => (dist(p, mic) / 343) * 16000);
    times.forEach((t, k) => {
      // Only check reflections at least 4 samples from every other arrival (overlapping sincs shift peaks).
      const others = [...times.filter((_, j) => j !== k), (dist(src, mic) / 343) * 16000];
      if (others.some((o) => Math.abs(o - t) < 4)) return;
      const at = peakNear(h, t, 2);
      expect(Math.abs(refinedPeak(h, at) - t)).toBeLessThan(0.3);
      expect(pulseAmplitude(h, t) * 4 * Math.PI * dist(images[k], mic)).toBeCloseTo(Math.sqrt(1 - 0.19), 1);
    });
  });
});

describe("against an independent image-source sum (numpy)", () => {
  const REFERENCE_PY = String.raw`
import json, sys
import numpy as np
spec = json.loads(sys.argv[1])
L = np.array(spec["dims_m"], float); s = np.array(spec["source_m"], float); m = np.array(spec["mics_m"][0], float)
alpha = np.array(spec["absorption"], float)
beta = np.sqrt(1 - alpha)
fs = spec["sample_rate"]; c = spec["c_m_s"]; N = spec["max_order"]
n = int(np.ceil(spec["length_s"] * fs))
h = np.zeros(n)
rng = range(-N - 1, N + 2)
for nx in rng:
  for qx in (0, 1):
    for ny in rng:
      for qy in (0, 1):
        for nz in rng:
          for qz in (0, 1):
            k = [abs(nx - qx), abs(nx), abs(ny - qy), abs(ny), abs(nz - qz), abs(nz)]
            if sum(k) > N: continue
            img = np.array([(1 - 2*qx)*s[0] + 2*nx*L[0], (1 - 2*qy)*s[1] + 2*ny*L[1], (1 - 2*qz)*s[2] + 2*nz*L[2]])
            d = np.linalg.norm(img - m)
            amp = np.prod(beta ** np.array(k)) / (4 * np.pi * d)
            tau = d / c * fs
            t = np.arange(int(np.floor(tau)) - 40, int(np.floor(tau)) + 41)
            x = t - tau
            w = np.where(np.abs(x) < 41, 0.5 * (1 + np.cos(np.pi * x / 41)), 0.0)
            ok = (t >= 0) & (t < n)
            h[t[ok]] += amp * (w * np.sinc(x))[ok]
print(json.dumps(h.tolist()))
`;

  it("matches sample by sample, per-wall absorption, order 3, no tail, no high-pass", () => {
    const spec = baseSpec({ absorption: [0.1, 0.3, 0.2, 0.5, 0.05, 0.7], max_order: 3, length_s: 0.08 });
    const [h] = simulateRoom(spec);
    const ref = pythonJson<number[]>(REFERENCE_PY, [JSON.stringify(spec)]);
    expect(ref.length).toBe(h.length);
    let peak = 0;
    let worst = 0;
    for (let i = 0; i < h.length; i++) {
      peak = Math.max(peak, Math.abs(ref[i]));
      worst = Math.max(worst, Math.abs(h[i] - ref[i]));
    }
    log(`numpy reference: max |difference| ${(worst / peak).toExponential(2)} of the peak (phase table 1/256 sample)`);
    // The 256-phase table moves an arrival by at most 1/512 sample: < π/512 ≈ 0.6% of an image's amplitude.
    expect(worst / peak).toBeLessThan(0.01);
  });
});

describe("determinism", () => {
  const spec = baseSpec({ absorption: 0.12, transition_s: 0.06, length_s: 0.6, highpass_hz: 100, seed: 1234 });

  it("the same spec gives the same samples; another seed changes only the tail", () => {
    const a = simulateRoom(spec)[0];
    const b = simulateRoom(JSON.parse(JSON.stringify(spec)))[0];
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    const c = simulateRoom({ ...spec, seed: 1235 })[0];
    const nTr = Math.round(0.06 * 16000);
    // Before the transition (and the high-pass's memory of it) only images: identical.
    for (let i = 0; i < nTr; i++) expect(c[i]).toBe(a[i]);
    let differ = 0;
    for (let i = nTr; i < a.length; i++) if (a[i] !== c[i]) differ++;
    expect(differ).toBeGreaterThan(0.9 * (a.length - nTr));
  });

  it("a RIR does not depend on what was simulated before it (work arrays are reused between calls)", () => {
    const a = simulateRoom(spec)[0];
    // Larger and multi-mic, per-band rooms in between leave their data in the reused arrays.
    simulateRoom({ ...spec, dims_m: [9, 7, 3.5], mics_m: [[3, 3, 1.2], [3.1, 3, 1.2]], length_s: 1.3, transition_s: 0.08, seed: 77 });
    simulateRoom({ ...spec, absorption: { bands_hz: [250, 1000, 4000], values: [0.1, 0.2, 0.4] }, length_s: 0.9, seed: 78 });
    const b = simulateRoom(spec)[0];
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
  });
});

describe("validation", () => {
  it("refuses impossible rooms with messages that name the problem", () => {
    expect(() => simulateRoom(baseSpec({ dims_m: [4, 3, 2.5], mics_m: [[1, 1, 1], [2, 1, 1], [4.1, 1, 1]] }))).toThrow(
      /mic 2 at \[4\.1, 1, 1\] is outside the room 4 × 3 × 2\.5 m/,
    );
    expect(() => simulateRoom(baseSpec({ dims_m: [-4, 3, 2.5] }))).toThrow(/dims_m must be three positive lengths/);
    expect(() => simulateRoom(baseSpec({ source_m: [6, 1, 1] }))).toThrow(/source at \[6, 1, 1\] is outside the room 5 × 4 × 3 m/);
    expect(() => simulateRoom(baseSpec({ mics_m: [[1.2, 1.5, 1.6]] }))).toThrow(/mic 0 .* from the source/);
    expect(() => simulateRoom(baseSpec({ absorption: 1.2 }))).toThrow(/absorption must be a number in \[0, 1\]/);
    expect(() => simulateRoom(baseSpec({ absorption: [0.1, 0.2] }))).toThrow(/6 values/);
    expect(() => simulateRoom(baseSpec({ absorption: { bands_hz: [125, 250], values: [0.1, 0.2, 0.3] } }))).toThrow(/3 values for 2 bands/);
    expect(() => simulateRoom(baseSpec({ absorption: 0, transition_s: 0.05, length_s: 1 }))).toThrow(/needs some absorption/);
    expect(() => simulateRoom(baseSpec({ absorption: 0.01, transition_s: null, length_s: 3 }))).toThrow(/would need ~.* images/);
    expect(() => simulateRoom(baseSpec({ sample_rate: 0 }))).toThrow(/sample_rate/);
    expect(() => simulateRoom(baseSpec({ directivity: { pattern: "shotgun" as any, azimuth_deg: 0, elevation_deg: 0 } }))).toThrow(/pattern must be one of/);
    expect(() => simulateRoom(baseSpec({ transition_s: 0.1, max_time_s: 0.05, length_s: 0.5 }))).toThrow(/tail would start after a gap/);
    expect(() => prepareRoom(baseSpec({ seed: -1 }))).toThrow(/seed/);
  });
});

describe("arrays and directivity", () => {
  it("a mic array gives one RIR per mic with its own direct path, and a diffuse tail coherence", () => {
    const mics: Vec3[] = [
      [3.0, 2.0, 1.2],
      [3.05, 2.0, 1.2],
      [3.5, 2.0, 1.2],
    ];
    const spec = baseSpec({ mics_m: mics, absorption: eyringAbsorption([5, 4, 3], 0.8, 343), transition_s: 0.08, length_s: 1, highpass_hz: 100 });
    const rirs = simulateRoom(spec);
    expect(rirs.length).toBe(3);
    rirs.forEach((h, i) => {
      const expected = (dist(spec.source_m, mics[i]) / 343) * 16000;
      expect(Math.abs(measureRir(h, 16000).direct_delay_samples - expected)).toBeLessThanOrEqual(1);
    });
    // Magnitude-squared coherence of the tails in 250–500 Hz: high for 5 cm (sinc(kd) ≈ 0.9-0.97),
    // low for 50 cm (sinc(kd) oscillates around 0).
    const from = Math.round(0.2 * 16000);
    const msc = (a: Float32Array, b: Float32Array) => {
      const size = 512;
      const fft = new FFT(size);
      let sab = [0, 0];
      let saa = 0;
      let sbb = 0;
      for (let start = from; start + size <= a.length; start += size / 2) {
        const xa = new Array(size).fill(0).map((_, i) => a[start + i] * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size)));
        const xb = new Array(size).fill(0).map((_, i) => b[start + i] * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size)));
        const fa = fft.createComplexArray();
        const fb = fft.createComplexArray();
        fft.realTransform(fa, xa);
        fft.realTransform(fb, xb);
        for (let bin = 8; bin <= 16; bin++) {
          const [ar, ai, br, bi] = [fa[2 * bin], fa[2 * bin + 1], fb[2 * bin], fb[2 * bin + 1]];
          sab = [sab[0] + ar * br + ai * bi, sab[1] + ai * br - ar * bi];
          saa += ar * ar + ai * ai;
          sbb += br * br + bi * bi;
        }
      }
      return (sab[0] ** 2 + sab[1] ** 2) / (saa * sbb);
    };
    const near = msc(rirs[0], rirs[1]);
    const far = msc(rirs[0], rirs[2]);
    log(`tail coherence 250–500 Hz: 5 cm apart ${near.toFixed(3)}, 50 cm apart ${far.toFixed(3)}`);
    expect(near).toBeGreaterThan(0.8);
    expect(far).toBeLessThan(0.3);
  });

  it("a cardioid facing away nulls the direct path; a figure-8 sideways nulls it too; facing the source keeps it", () => {
    const src: Vec3 = [1, 2, 1.5];
    const mic: Vec3 = [3, 2, 1.5]; // source along -x from the mic
    const spec = (pattern: "cardioid" | "figure8" | "omni", azimuth: number) =>
      baseSpec({ source_m: src, mics_m: [mic], max_order: 0, directivity: { pattern, azimuth_deg: azimuth, elevation_deg: 0 } });
    const t = Math.round((2 / 343) * 16000);
    const facing = simulateRoom(spec("cardioid", 180))[0][t];
    const away = simulateRoom(spec("cardioid", 0))[0][t];
    const side = simulateRoom(spec("figure8", 90))[0][t];
    const omni = simulateRoom(spec("omni", 0))[0][t];
    expect(facing).toBeCloseTo(omni, 6);
    expect(Math.abs(away)).toBeLessThan(1e-9);
    expect(Math.abs(side)).toBeLessThan(1e-9);
    // Figure-8 facing away: full amplitude, inverted.
    expect(simulateRoom(spec("figure8", 0))[0][t]).toBeCloseTo(-omni, 6);
  });
});

describe("frequency-dependent absorption and the high-pass", () => {
  it("the same α in every band gives (nearly) the broadband RIR", () => {
    const common = { transition_s: 0.05, length_s: 0.5, highpass_hz: 100, seed: 3 };
    const broadband = simulateRoom(baseSpec({ ...common, absorption: 0.25 }))[0];
    const banded = simulateRoom(baseSpec({ ...common, absorption: { bands_hz: [125, 250, 500, 1000, 2000, 4000], values: [0.25, 0.25, 0.25, 0.25, 0.25, 0.25] } }))[0];
    // Images: the band split sums to one, so the early part matches to float precision.
    let diff = 0;
    let peak = 0;
    for (let i = 0; i < 700; i++) {
      diff = Math.max(diff, Math.abs(broadband[i] - banded[i]));
      peak = Math.max(peak, Math.abs(broadband[i]));
    }
    expect(diff / peak).toBeLessThan(1e-4);
    const a = measureRir(broadband, 16000);
    const b = measureRir(banded, 16000);
    expect(b.rt60_t30_s / a.rt60_t30_s).toBeGreaterThan(0.97);
    expect(b.rt60_t30_s / a.rt60_t30_s).toBeLessThan(1.03);
  });

  const OCTAVE_T20_PY = String.raw`
import json, sys
import numpy as np, scipy.signal as ss
h = np.array(json.loads(sys.stdin.read()), float)
fs = 16000
out = []
for fc in (125, 250, 500, 1000, 2000, 4000):
  sos = ss.butter(4, [fc / np.sqrt(2), min(fc * np.sqrt(2), 7900)], btype="band", fs=fs, output="sos")
  y = ss.sosfilt(sos, h)
  e = np.cumsum((y ** 2)[::-1])[::-1]; db = 10 * np.log10(e / e[0])
  i0 = int(np.argmax(db <= -5)); i1 = int(np.argmax(db <= -25))
  out.append(-60 / np.polyfit(np.arange(i0, i1 + 1) / fs, db[i0:i1 + 1], 1)[0])
print(json.dumps(out))
`;

  it("per-band absorption gives per-band decays (octave-band T20 by scipy Butterworth filters)", () => {
    const bands = [125, 250, 500, 1000, 2000, 4000];
    const octaveT20 = (values: number[]) => {
      const spec = baseSpec({ absorption: { bands_hz: bands, values }, transition_s: 0.06, length_s: 1.5, highpass_hz: 100 });
      const { rirs, info } = simulateRoomWithInfo(spec);
      return { eyring: info.rt60Bands, measured: pythonJson<number[]>(OCTAVE_T20_PY, [], JSON.stringify(Array.from(rirs[0]))) };
    };
    // A moderate profile (neighbouring bands within 1.3× in RT60): each octave from 250 Hz within 12%.
    const moderate = octaveT20([0.1, 0.1, 0.12, 0.15, 0.2, 0.25]);
    const steep = octaveT20([0.08, 0.08, 0.1, 0.15, 0.3, 0.4]);
    for (const [name, r] of [["moderate", moderate], ["steep", steep]] as const) {
      log(`${name} profile, octave T20 / Eyring: ${bands.map((f, b) => `${f} Hz ${r.measured[b].toFixed(3)}/${r.eyring[b].toFixed(3)}`).join(", ")}`);
    }
    for (let b = 1; b < bands.length; b++) expect(Math.abs(moderate.measured[b] - moderate.eyring[b]) / moderate.eyring[b]).toBeLessThan(0.12);
    // A steep one: octave filters' skirts let the slower neighbour in (≤ +25%), but the order holds.
    for (let b = 2; b < bands.length; b++) expect(steep.measured[b]).toBeLessThan(steep.measured[b - 1]);
    expect(steep.measured[5]).toBeLessThan(0.3 * steep.measured[1]);
  });

  it("the Allen–Berkley high-pass removes DC", () => {
    const spec = baseSpec({ absorption: 0.2, transition_s: 0.05, length_s: 0.6 });
    const sum = (h: Float32Array) => h.reduce((a, b) => a + b, 0);
    const off = simulateRoom({ ...spec, highpass_hz: 0 })[0];
    const on = simulateRoom({ ...spec, highpass_hz: 100 })[0];
    // Without it every image adds positive area; with it the area (DC gain) nearly vanishes.
    expect(Math.abs(sum(on))).toBeLessThan(0.02 * Math.abs(sum(off)));
  });
});
