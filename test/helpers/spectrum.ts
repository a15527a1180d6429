// Band energies from an averaged periodogram (Hann-windowed frames, 50% overlap), for checking
// what band a codec or filter leaves.
import FFT from "fft.js";

/** Power per FFT bin (bin k = k * sampleRate / size Hz), averaged over frames. */
export function powerSpectrum(x: Float32Array, size = 1024): Float64Array {
  const fft = new FFT(size);
  const win = Float64Array.from({ length: size }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size));
  const input = new Array<number>(size).fill(0);
  const out = fft.createComplexArray() as number[];
  const acc = new Float64Array(size / 2 + 1);
  let frames = 0;
  for (let start = 0; start + size <= x.length; start += size / 2) {
    for (let i = 0; i < size; i++) input[i] = x[start + i] * win[i];
    fft.realTransform(out, input);
    for (let k = 0; k <= size / 2; k++) acc[k] += out[2 * k] ** 2 + out[2 * k + 1] ** 2;
    frames++;
  }
  for (let k = 0; k < acc.length; k++) acc[k] /= Math.max(1, frames);
  return acc;
}

/** Energy in [loHz, hiHz) from a power spectrum. */
export function bandEnergy(ps: Float64Array, sampleRate: number, loHz: number, hiHz: number): number {
  const size = (ps.length - 1) * 2;
  let e = 0;
  for (let k = 0; k < ps.length; k++) {
    const f = (k * sampleRate) / size;
    if (f >= loHz && f < hiHz) e += ps[k];
  }
  return e;
}

/** Energy above `splitHz` relative to the energy from 100 Hz to `splitHz`, in dB. */
export function energyAboveDb(x: Float32Array, sampleRate: number, splitHz: number): number {
  const ps = powerSpectrum(x);
  return 10 * Math.log10(bandEnergy(ps, sampleRate, splitHz, sampleRate / 2 + 1) / bandEnergy(ps, sampleRate, 100, splitHz));
}
