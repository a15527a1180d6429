// Fixtures and measurements for the voice-perturbation tests: signals with known answers (a
// harmonic complex of known f0, a pulse-train vowel of known formants, clicks at known times)
// and the measures the tests state (f0 by interpolated FFT peaks, LPC formants by numpy/scipy,
// log-spectral and log-mel distances).
import FFT from "fft.js";
import type { OpDefinition, OpOutput } from "../../src/ops/types.js";
import type { PlannedOp } from "../../src/types.js";
import { pythonJson } from "./python.js";

export const SR = 16000;

/** A steady harmonic complex: `harmonics` partials of f0 with amplitude 1/h and spread phases. */
export function harmonicComplex(n: number, f0Hz: number, sampleRate = SR, harmonics = 10, amplitude = 0.2): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let h = 1; h <= harmonics; h++) v += Math.sin((2 * Math.PI * f0Hz * h * i) / sampleRate + 0.3 * h * h) / h;
    x[i] = amplitude * v;
  }
  return x;
}

export interface VowelSpec {
  /** f0 in Hz as a function of time (s). */
  f0Hz: (tS: number) => number;
  /** [frequency Hz, bandwidth Hz] of each formant as a function of time (s). */
  formants: (tS: number) => Array<[number, number]>;
  /** Amplitude envelope as a function of time (s). */
  envelope?: (tS: number) => number;
  /** Aspiration: white noise added to the source, relative to a pulse. */
  noise?: number;
  seed?: number;
}

/**
 * A vowel by the source-filter model: a unit pulse train at f0 (plus optional noise) through a
 * cascade of two-pole resonators (Klatt, "Software for a cascade/parallel formant synthesizer",
 * JASA 67(3), 1980), normalised to a 0.5 peak.
 */
export function synthVowel(n: number, spec: VowelSpec, sampleRate = SR): Float32Array {
  let s = (spec.seed ?? 1) >>> 0 || 1;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  let y = new Float64Array(n);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    phase += spec.f0Hz(i / sampleRate) / sampleRate;
    if (phase >= 1) {
      phase -= 1;
      y[i] += 1;
    }
    if (spec.noise) y[i] += spec.noise * (2 * rnd() - 1);
  }
  const count = spec.formants(0).length;
  for (let f = 0; f < count; f++) {
    const out = new Float64Array(n);
    let y1 = 0;
    let y2 = 0;
    for (let i = 0; i < n; i++) {
      const [hz, bw] = spec.formants(i / sampleRate)[f];
      const r = Math.exp((-Math.PI * bw) / sampleRate);
      const theta = (2 * Math.PI * hz) / sampleRate;
      const v = (1 - r) * y[i] + 2 * r * Math.cos(theta) * y1 - r * r * y2;
      out[i] = v;
      y2 = y1;
      y1 = v;
    }
    y = out;
  }
  const x = new Float32Array(n);
  let peak = 0;
  for (let i = 0; i < n; i++) {
    x[i] = y[i] * (spec.envelope ? spec.envelope(i / sampleRate) : 1);
    peak = Math.max(peak, Math.abs(x[i]));
  }
  for (let i = 0; i < n; i++) x[i] *= 0.5 / peak;
  return x;
}

/** Clicks (a +0.9, -0.5 sample pair) at the given times. */
export function clicks(n: number, timesS: number[], sampleRate = SR): Float32Array {
  const x = new Float32Array(n);
  for (const t of timesS) {
    const i = Math.round(t * sampleRate);
    x[i] = 0.9;
    x[i + 1] = -0.5;
  }
  return x;
}

function hann(n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
}

/**
 * f0 of a steady harmonic signal over x[start, end): Hann window, FFT zero-padded to >= 2^18,
 * the fundamental located as the largest peak in [minHz, maxHz], then the first `harmonics`
 * peaks each refined by a parabola through the log magnitudes of three bins; f0 is the
 * amplitude-weighted mean of f_h / h. Resolution well under 0.1 cent at 100 Hz.
 */
export function measureF0(x: Float32Array, sampleRate = SR, start = 0, end = x.length, minHz = 50, maxHz = 500, harmonics = 5): number {
  const length = end - start;
  const size = Math.max(1 << 18, 1 << Math.ceil(Math.log2(length * 4)));
  const fft = new FFT(size);
  const input = new Float64Array(size);
  const w = hann(length);
  for (let i = 0; i < length; i++) input[i] = x[start + i] * w[i];
  const out = fft.createComplexArray() as number[];
  fft.realTransform(out, input);
  const mag = (k: number) => Math.hypot(out[2 * k], out[2 * k + 1]);
  const binHz = sampleRate / size;
  const peakNear = (lo: number, hi: number) => {
    let best = Math.max(1, Math.round(lo / binHz));
    for (let k = best; k <= Math.round(hi / binHz); k++) if (mag(k) > mag(best)) best = k;
    const a = Math.log(mag(best - 1) + 1e-30);
    const b = Math.log(mag(best) + 1e-30);
    const c = Math.log(mag(best + 1) + 1e-30);
    const delta = (0.5 * (a - c)) / (a - 2 * b + c);
    return { hz: (best + delta) * binHz, amplitude: mag(best) };
  };
  const first = peakNear(minHz, maxHz);
  let sum = 0;
  let weight = 0;
  for (let h = 1; h <= harmonics; h++) {
    const p = h === 1 ? first : peakNear(first.hz * h * 0.97, first.hz * h * 1.03);
    sum += (p.hz / h) * p.amplitude;
    weight += p.amplitude;
  }
  return sum / weight;
}

export const cents = (ratio: number) => 1200 * Math.log2(ratio);

// LPC formant frequencies by numpy/scipy (independent of the code under test): autocorrelation
// summed over 50 ms Hamming frames, order `order` normal equations (scipy solve_toeplitz), roots
// of A(z) with bandwidth < 500 Hz, sorted.
const LPC_FORMANTS = `
import sys, json, numpy as np
from scipy.linalg import solve_toeplitz
out = []
for d in json.load(sys.stdin):
    x = np.asarray(d["x"], dtype=np.float64); sr = d["sr"]; order = d["order"]
    N = int(0.05 * sr); w = np.hamming(N); R = np.zeros(order + 1)
    for s in range(0, len(x) - N, N // 2):
        f = x[s:s+N] * w
        R += np.correlate(f, f, "full")[N-1:N+order]
    a = solve_toeplitz(R[:order], -R[1:order+1])
    roots = np.roots(np.concatenate([[1.0], a]))
    roots = roots[np.imag(roots) > 0]
    fr = np.angle(roots) * sr / (2 * np.pi); bw = -np.log(np.abs(roots)) * sr / np.pi
    out.append(sorted(float(f) for f, b in zip(fr, bw) if 90 < f < d["fmax"] and b < 500))
print(json.dumps(out))
`;

/** LPC formant frequencies (Hz) of each signal, measured in Python; one list per signal. */
export function lpcFormants(signals: Float32Array[], sampleRate = SR, order = 18, fmaxHz = 5000): number[][] {
  const input = JSON.stringify(signals.map((x) => ({ x: Array.from(x, (v) => Math.round(v * 1e6) / 1e6), sr: sampleRate, order, fmax: fmaxHz })));
  return pythonJson<number[][]>(LPC_FORMANTS, [], input);
}

/** Power spectrogram: Hann frames of `size`, hop size / 4, bins 0..size/2. */
export function powerSpectrogram(x: Float32Array, size = 512): Float64Array[] {
  const fft = new FFT(size);
  const w = hann(size);
  const frame = new Float64Array(size);
  const out = fft.createComplexArray() as number[];
  const frames: Float64Array[] = [];
  for (let s = 0; s + size <= x.length; s += size / 4) {
    for (let i = 0; i < size; i++) frame[i] = x[s + i] * w[i];
    fft.realTransform(out, frame);
    const p = new Float64Array(size / 2 + 1);
    for (let k = 0; k <= size / 2; k++) p[k] = out[2 * k] ** 2 + out[2 * k + 1] ** 2;
    frames.push(p);
  }
  return frames;
}

/**
 * Log-spectral distance in dB between two equally timed signals: per frame (512-point Hann, hop
 * 128) the RMS over bins in [loHz, hiHz] of 10 log10(Pa / Pb), averaged over frames whose energy
 * in the band is within 40 dB of the loudest.
 */
export function logSpectralDistanceDb(a: Float32Array, b: Float32Array, sampleRate = SR, loHz = 50, hiHz = 7000): number {
  const A = powerSpectrogram(a);
  const B = powerSpectrogram(b);
  const frames = Math.min(A.length, B.length);
  const k0 = Math.ceil((loHz * 512) / sampleRate);
  const k1 = Math.floor((hiHz * 512) / sampleRate);
  const energy = B.slice(0, frames).map((p) => p.slice(k0, k1 + 1).reduce((s, v) => s + v, 0));
  const max = Math.max(...energy);
  let total = 0;
  let count = 0;
  for (let j = 0; j < frames; j++) {
    if (energy[j] < max * 1e-4) continue;
    let s = 0;
    for (let k = k0; k <= k1; k++) s += (10 * Math.log10((A[j][k] + 1e-12) / (B[j][k] + 1e-12))) ** 2;
    total += Math.sqrt(s / (k1 - k0 + 1));
    count++;
  }
  return total / count;
}

/** Runs an op's kernel (the voice ops are synchronous) with an ApplyContext at `sampleRate`. */
export function applyOp<P extends PlannedOp>(op: OpDefinition<any, P>, x: Float32Array, params: P, sampleRate = SR): OpOutput {
  const out = op.apply(x, params, { sampleRate, resource: () => new Float32Array(0), memo: (_key, compute) => compute() });
  if (out instanceof Promise) throw new Error(`${op.name}.apply returned a promise`);
  return out;
}
