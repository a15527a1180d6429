// Variable-rate band-limited interpolation: reads a signal at arbitrary, increasing fractional
// positions (a time-varying playback rate), for pitch contours.
//
// The kernel is J. O. Smith's bandlimited interpolation (CCRMA, "Digital Audio Resampling Home
// Page", 2002): a Kaiser-windowed sinc tabulated at TABLE_POINTS points per input sample and read
// with linear interpolation; where the read advances faster than one input sample per output
// sample (step s > 1) the kernel is stretched by s, lowering its cutoff to the output's Nyquist
// (anti-aliasing), per output sample. Design, as for the fixed-ratio resampler (resample.ts):
// flat to 0.9 x the (lower) Nyquist, >= 80 dB rejection from the Nyquist on; Kaiser's formulas
// (Oppenheim & Schafer, "Discrete-Time Signal Processing", 3rd ed., eqs. 7.62-7.63) give
// beta = 7.86 and 50 zero-crossing-spaced half-width samples. Each output's taps are scaled to a
// DC gain of exactly 1.

const PASSBAND = 0.9;
const ATTENUATION_DB = 80;
/** Cutoff, cycles per input sample, for step <= 1: midway through the transition band. */
const CUTOFF = (0.5 * (PASSBAND + 1)) / 2;
const TRANSITION = 0.5 * (1 - PASSBAND);
/** Half-width of the kernel in input samples (step <= 1). */
export const VARISPEED_HALF_WIDTH = Math.ceil((ATTENUATION_DB - 7.95) / (2.285 * 2 * Math.PI * TRANSITION) / 2);
const TABLE_POINTS = 128;
const BETA = 0.1102 * (ATTENUATION_DB - 8.7);

function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 200 && term > sum * 1e-17; k++) {
    term *= q / (k * k);
    sum += term;
  }
  return sum;
}

/** g(v) = sinc(2 fc v) * kaiser(v / halfWidth) at v = i / TABLE_POINTS, plus one zero past the end. */
const TABLE = (() => {
  const points = VARISPEED_HALF_WIDTH * TABLE_POINTS;
  const table = new Float32Array(points + 2);
  const i0Beta = besselI0(BETA);
  for (let i = 0; i <= points; i++) {
    const v = i / TABLE_POINTS;
    const r = v / VARISPEED_HALF_WIDTH;
    const window = r < 1 ? besselI0(BETA * Math.sqrt(1 - r * r)) / i0Beta : 0;
    const arg = 2 * Math.PI * CUTOFF * v;
    table[i] = (v === 0 ? 1 : Math.sin(arg) / arg) * window;
  }
  return table;
})();

/**
 * y[m] = x read at fractional position positions[m] (input samples, non-decreasing), band-limited
 * to the local rate: the step positions[m+1] - positions[m] sets the anti-aliasing cutoff. Input
 * outside [0, x.length) reads as zero.
 */
export function readAtPositions(x: Float32Array, positions: Float64Array): Float32Array {
  const count = positions.length;
  const y = new Float32Array(count);
  const n = x.length;
  for (let m = 0; m < count; m++) {
    const pos = positions[m];
    const next = m + 1 < count ? positions[m + 1] : 2 * pos - (m > 0 ? positions[m - 1] : pos - 1);
    const step = Math.max(1, next - pos);
    // Kernel in input samples: g((k - pos) / step); table index = |k - pos| / step * TABLE_POINTS,
    // which moves by `scale` per tap: walk left and right of pos without Math.abs.
    const scale = TABLE_POINTS / step;
    const reach = VARISPEED_HALF_WIDTH * step;
    const kLo = Math.ceil(pos - reach);
    const kHi = Math.floor(pos + reach);
    const kMid = Math.floor(pos);
    let acc = 0;
    let norm = 0;
    let t = (pos - kMid) * scale;
    for (let k = kMid; k >= kLo; k--, t += scale) {
      const i = t | 0;
      const g = TABLE[i] + (t - i) * (TABLE[i + 1] - TABLE[i]);
      norm += g;
      if (k >= 0 && k < n) acc += g * x[k];
    }
    t = (kMid + 1 - pos) * scale;
    for (let k = kMid + 1; k <= kHi; k++, t += scale) {
      const i = t | 0;
      const g = TABLE[i] + (t - i) * (TABLE[i + 1] - TABLE[i]);
      norm += g;
      if (k >= 0 && k < n) acc += g * x[k];
    }
    // Normalised by the whole kernel's sum (DC gain 1; input past the ends reads as zero).
    y[m] = norm !== 0 ? acc / norm : 0;
  }
  return y;
}
