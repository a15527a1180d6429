// Log-magnitude spectrogram images for reports: 25 ms Hann frames, 10 ms hop, dB mapped over an
// 80 dB range below the loudest bin to a perceptually ordered colour ramp (dark → light).
import { createImage, type Rgb, type RgbImage } from "./png.js";
import { fftPlan } from "./stft.js";

// Control points of a viridis-like ramp (monotonic lightness, readable in grayscale).
const RAMP: Rgb[] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

function colour(v: number): Rgb {
  const t = Math.min(1, Math.max(0, v)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(t));
  const f = t - i;
  const a = RAMP[i];
  const b = RAMP[i + 1];
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

/** Spectrogram of `x` as an image `height` pixels tall (0 Hz at the bottom), one column per hop. */
export function spectrogramImage(x: Float32Array, sampleRate: number, opts: { height?: number; rangeDb?: number; maxWidth?: number } = {}): RgbImage {
  const frame = Math.round(0.025 * sampleRate);
  const n = 1 << Math.ceil(Math.log2(frame));
  let hop = Math.round(0.01 * sampleRate);
  const maxWidth = opts.maxWidth ?? 1200;
  const frames0 = Math.max(1, Math.ceil(x.length / hop));
  if (frames0 > maxWidth) hop = Math.ceil(x.length / maxWidth);
  const frames = Math.max(1, Math.ceil(x.length / hop));
  const bins = n / 2;
  const fft = fftPlan(n);
  const input = new Float64Array(n);
  const out = fft.createComplexArray() as number[];
  const window = new Float64Array(frame);
  for (let i = 0; i < frame; i++) window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / frame);
  const db = new Float32Array(frames * bins);
  let top = -Infinity;
  for (let f = 0; f < frames; f++) {
    input.fill(0);
    const start = f * hop - Math.floor(frame / 2);
    for (let i = 0; i < frame; i++) {
      const j = start + i;
      if (j >= 0 && j < x.length) input[i] = x[j] * window[i];
    }
    fft.realTransform(out, input as unknown as number[]);
    for (let k = 0; k < bins; k++) {
      const p = out[2 * k] ** 2 + out[2 * k + 1] ** 2;
      const v = 10 * Math.log10(p + 1e-20);
      db[f * bins + k] = v;
      if (v > top) top = v;
    }
  }
  const height = opts.height ?? 160;
  const range = opts.rangeDb ?? 80;
  const img = createImage(frames, height);
  for (let y = 0; y < height; y++) {
    // Row y (from the top) shows the bins of its frequency band; take the max so harmonics show.
    const k0 = Math.floor(((height - 1 - y) / height) * bins);
    const k1 = Math.max(k0 + 1, Math.floor(((height - y) / height) * bins));
    for (let f = 0; f < frames; f++) {
      let v = -Infinity;
      for (let k = k0; k < k1; k++) v = Math.max(v, db[f * bins + k]);
      img.data.set(colour((v - (top - range)) / range), 3 * (y * frames + f));
    }
  }
  return img;
}
