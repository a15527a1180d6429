// Biquad filters: design by the RBJ cookbook, Butterworth cascades, filtering, response and
// group delay. Pure functions over Float32Array; coefficients and state in Float64.
//
// Designs are Robert Bristow-Johnson's "Cookbook formulae for audio EQ biquad filter
// coefficients" (2005; published by the W3C as the "Audio EQ Cookbook", 2021): the bilinear
// transform of a second-order analog prototype, pre-warped so the response at f0 is the analog
// one. With w0 = 2 pi f0 / fs and alpha = sin(w0) / (2 Q):
//   LPF:  b = [(1 - cos w0)/2, 1 - cos w0, (1 - cos w0)/2],     a = [1 + alpha, -2 cos w0, 1 - alpha]
//   HPF:  b = [(1 + cos w0)/2, -(1 + cos w0), (1 + cos w0)/2],  a = as LPF
//   BPF (0 dB peak): b = [alpha, 0, -alpha],                    a = as LPF
//   peakingEQ (A = 10^(gain/40)): b = [1 + alpha A, -2 cos w0, 1 - alpha A], a = [1 + alpha/A, -2 cos w0, 1 - alpha/A]
//   lowShelf / highShelf: the cookbook's shelf formulas with its Q form of alpha.
// An order-N Butterworth low/high-pass (N even) is N/2 cookbook sections at the same f0 with
// Q_k = 1 / (2 cos((2k - 1) pi / (2N))), k = 1..N/2 (the pole pairs of the analog Butterworth
// prototype): since every section is pre-warped at f0, the cascade is exactly the bilinear
// transform of the analog Butterworth filter, whose magnitude is
//   |H(f)|^2 = 1 / (1 + (tan(pi f / fs) / tan(pi f0 / fs))^(2N))     (low-pass; high-pass inverts the ratio)
// so its attenuation at any frequency is known in closed form (butterworthAttenuationDb), which is
// how the telephone band-pass is specified and tested.

/** One second-order section, normalised so a0 = 1: y = b0 x + b1 x1 + b2 x2 - a1 y1 - a2 y2. */
export interface Biquad {
  b0: number;
  b1: number;
  b2: number;
  a1: number;
  a2: number;
}

export type BiquadType = "lowpass" | "highpass" | "bandpass" | "peaking" | "lowshelf" | "highshelf";

function checkFreq(f0: number, sampleRate: number): void {
  if (!(f0 > 0 && f0 < sampleRate / 2)) throw new RangeError(`filter frequency ${f0} Hz must be in (0, ${sampleRate / 2}) at ${sampleRate} Hz`);
}

function normalise(b0: number, b1: number, b2: number, a0: number, a1: number, a2: number): Biquad {
  return { b0: b0 / a0, b1: b1 / a0, b2: b2 / a0, a1: a1 / a0, a2: a2 / a0 };
}

/** One RBJ cookbook section. `gainDb` is used by peaking and shelves only. */
export function rbjBiquad(type: BiquadType, f0: number, q: number, sampleRate: number, gainDb = 0): Biquad {
  checkFreq(f0, sampleRate);
  if (!(q > 0)) throw new RangeError(`Q must be positive, got ${q}`);
  const w0 = (2 * Math.PI * f0) / sampleRate;
  const cw = Math.cos(w0);
  const alpha = Math.sin(w0) / (2 * q);
  const A = 10 ** (gainDb / 40);
  switch (type) {
    case "lowpass":
      return normalise((1 - cw) / 2, 1 - cw, (1 - cw) / 2, 1 + alpha, -2 * cw, 1 - alpha);
    case "highpass":
      return normalise((1 + cw) / 2, -(1 + cw), (1 + cw) / 2, 1 + alpha, -2 * cw, 1 - alpha);
    case "bandpass":
      return normalise(alpha, 0, -alpha, 1 + alpha, -2 * cw, 1 - alpha);
    case "peaking":
      return normalise(1 + alpha * A, -2 * cw, 1 - alpha * A, 1 + alpha / A, -2 * cw, 1 - alpha / A);
    case "lowshelf": {
      const s = 2 * Math.sqrt(A) * alpha;
      return normalise(A * (A + 1 - (A - 1) * cw + s), 2 * A * (A - 1 - (A + 1) * cw), A * (A + 1 - (A - 1) * cw - s), A + 1 + (A - 1) * cw + s, -2 * (A - 1 + (A + 1) * cw), A + 1 + (A - 1) * cw - s);
    }
    case "highshelf": {
      const s = 2 * Math.sqrt(A) * alpha;
      return normalise(A * (A + 1 + (A - 1) * cw + s), -2 * A * (A - 1 + (A + 1) * cw), A * (A + 1 + (A - 1) * cw - s), A + 1 - (A - 1) * cw + s, 2 * (A - 1 - (A + 1) * cw), A + 1 - (A - 1) * cw - s);
    }
  }
}

/** Q of the sections of an order-`order` Butterworth filter (order even). */
export function butterworthQs(order: number): number[] {
  if (!Number.isInteger(order) || order < 2 || order % 2) throw new RangeError(`Butterworth order must be an even integer >= 2, got ${order}`);
  const qs: number[] = [];
  for (let k = 1; k <= order / 2; k++) qs.push(1 / (2 * Math.cos(((2 * k - 1) * Math.PI) / (2 * order))));
  return qs;
}

/** An order-`order` Butterworth low- or high-pass at `cutoffHz` (-3.01 dB there) as biquads. */
export function butterworth(kind: "lowpass" | "highpass", order: number, cutoffHz: number, sampleRate: number): Biquad[] {
  return butterworthQs(order).map((q) => rbjBiquad(kind, cutoffHz, q, sampleRate));
}

/** Closed-form attenuation (dB, positive) of that Butterworth filter at `freqHz`. */
export function butterworthAttenuationDb(kind: "lowpass" | "highpass", order: number, cutoffHz: number, freqHz: number, sampleRate: number): number {
  const tf = Math.tan((Math.PI * freqHz) / sampleRate);
  const tc = Math.tan((Math.PI * cutoffHz) / sampleRate);
  const ratio = kind === "lowpass" ? tf / tc : tc / tf;
  return 10 * Math.log10(1 + ratio ** (2 * order));
}

/**
 * Runs x through the cascade (transposed direct form II per section, Float64 state), starting
 * from rest. Returns `x.length + extra` samples (the input continued by zeros), so a caller can
 * drop a known delay from the front and keep the length.
 */
export function biquadFilter(x: Float32Array, sections: readonly Biquad[], extra = 0): Float32Array {
  const n = x.length + extra;
  const out = new Float32Array(n);
  if (sections.length === 0) {
    out.set(x);
    return out;
  }
  const buf = new Float64Array(n);
  for (let i = 0; i < x.length; i++) buf[i] = x[i];
  for (const s of sections) {
    const { b0, b1, b2, a1, a2 } = s;
    let z1 = 0;
    let z2 = 0;
    for (let i = 0; i < n; i++) {
      const v = buf[i];
      const y = b0 * v + z1;
      z1 = b1 * v - a1 * y + z2;
      z2 = b2 * v - a2 * y;
      buf[i] = y;
    }
  }
  for (let i = 0; i < n; i++) out[i] = buf[i];
  return out;
}

/** Complex response of one section at normalised angular frequency w: [re, im] of numerator and denominator. */
function sectionParts(s: Biquad, w: number): [number, number, number, number] {
  const c1 = Math.cos(w);
  const s1 = Math.sin(w);
  const c2 = Math.cos(2 * w);
  const s2 = Math.sin(2 * w);
  // e^{-jw k} = cos(wk) - j sin(wk)
  return [s.b0 + s.b1 * c1 + s.b2 * c2, -(s.b1 * s1 + s.b2 * s2), 1 + s.a1 * c1 + s.a2 * c2, -(s.a1 * s1 + s.a2 * s2)];
}

/** Magnitude response of the cascade at `freqHz`, in dB. */
export function biquadResponseDb(sections: readonly Biquad[], freqHz: number, sampleRate: number): number {
  const w = (2 * Math.PI * freqHz) / sampleRate;
  let db = 0;
  for (const s of sections) {
    const [nr, ni, dr, di] = sectionParts(s, w);
    db += 10 * Math.log10((nr * nr + ni * ni) / (dr * dr + di * di));
  }
  return db;
}

/**
 * Group delay of the cascade at `freqHz`, in samples: -d(phase)/dw, per section
 * Re{ sum k b_k e^{-jwk} / sum b_k e^{-jwk} } - Re{ same for a } (the standard formula, e.g.
 * J. O. Smith, "Introduction to Digital Filters", 2007, "Group delay of a filter").
 */
export function biquadGroupDelay(sections: readonly Biquad[], freqHz: number, sampleRate: number): number {
  const w = (2 * Math.PI * freqHz) / sampleRate;
  const c1 = Math.cos(w);
  const s1 = Math.sin(w);
  const c2 = Math.cos(2 * w);
  const s2 = Math.sin(2 * w);
  const term = (p0: number, p1: number, p2: number) => {
    // P = sum p_k e^{-jwk}, K = sum k p_k e^{-jwk}; returns Re{K / P}.
    const pr = p0 + p1 * c1 + p2 * c2;
    const pi = -(p1 * s1 + p2 * s2);
    const kr = p1 * c1 + 2 * p2 * c2;
    const ki = -(p1 * s1 + 2 * p2 * s2);
    return (kr * pr + ki * pi) / (pr * pr + pi * pi);
  };
  let d = 0;
  for (const s of sections) d += term(s.b0, s.b1, s.b2) - term(1, s.a1, s.a2);
  return d;
}

/**
 * Filters x and removes the cascade's group delay at `refHz` (rounded to whole samples), keeping
 * the length: speech energy near refHz stays where it was, so word times need no change.
 * Returns the audio and the delay removed.
 */
export function filterAligned(x: Float32Array, sections: readonly Biquad[], sampleRate: number, refHz: number): { audio: Float32Array; delaySamples: number } {
  const d = Math.max(0, Math.round(biquadGroupDelay(sections, refHz, sampleRate)));
  const y = biquadFilter(x, sections, d);
  return { audio: d ? y.slice(d, d + x.length) : y, delaySamples: d };
}
