// WSOLA time-scale modification (waveform-similarity overlap-add): Verhelst & Roelands, "An
// overlap-add technique based on waveform similarity (WSOLA) for high quality time-scale
// modification of speech", ICASSP 1993; the formulation of Driedger & Müller, "A review of
// time-scale modification of music signals", Applied Sciences 6(2), 2016, sec. 3.
//
// Output frame m is centred at m * hop (hop = N/2, Hann windows summing to 1). Its input centre
// is the time map's position for that instant moved by delta in [-tolerance, tolerance], chosen
// so the frame best continues the previous one: delta maximises the normalised cross-correlation,
// over the half frame that overlaps the previous frame, between the input that naturally follows
// the previous frame (its centre + hop) and the candidate. The search runs coarse on an 8x box-decimated copy (every 8th lag over the whole
// range), then on a 2x copy (every 2nd lag within 6 samples), then at full rate (3 to 5 lags), like
// sox's tempo "quick seek" with finer final steps; a parabola through the last three scores
// gives a fractional lag. Every output instant therefore comes from within `tolerance` of where the
// map puts it (plus, inside a frame, |1 - slope| x half a frame), which bounds the label error.

export interface WsolaOptions {
  sampleRate: number;
  /** Output length in samples. */
  outLength: number;
  /** Input position (samples, may be fractional) heard at output sample `outSample`. */
  inputPosition(outSample: number): number;
  /** Frame length in seconds (default WSOLA_FRAME_S). */
  frameS?: number;
  /** Largest shift of a frame from its mapped position, seconds (default WSOLA_TOLERANCE_S). */
  toleranceS?: number;
}

/**
 * Defaults chosen by measurement (`node bench/voice.mjs --quality --scan`, bench/README-voice.md;
 * tempo r = 0.8-1.25 on three espeak-ng voices): with an 8 ms search, frames of 20-50 ms gave
 * log-mel distances to the time-mapped input rising with the frame (0.71-0.77 dB at 20 ms,
 * 0.74-0.78 at 25, 0.77-0.82 at 30, 0.81-0.92 at 50; two runs) and -60 dB between the harmonics of
 * stretched 75/90/130 Hz complexes throughout. At 25 ms a 6 ms search is too short for a 75 Hz
 * voice (a period is 13 ms: -12 dB) and a 12 ms one can lock onto the wrong period (-42 dB);
 * 8 ms also keeps the label-time bound tight. 25 ms rather than 20 because the compared half
 * frame (12.5 ms) should span a whole period of an 80 Hz voice. Speed is within 10% over 20-30 ms.
 */
export const WSOLA_FRAME_S = 0.025;
export const WSOLA_TOLERANCE_S = 0.008;

/** Decimation of the coarse and middle search levels. */
const COARSE = 8;
const MIDDLE = 2;
/** Lags the middle level searches each side of the coarse best (the coarse grid step is 8). */
const MIDDLE_SPAN = 6;
/** Largest full-rate distance from the middle level's best (one more than its step needs, for the parabola). */
const FINE_SPAN = 2;

// Fractional-delay filters: FD_PHASES delays in [0, 1) sample, FD_TAPS taps each (Kaiser-windowed
// sinc, beta 4; T. I. Laakso et al., "Splitting the unit delay", IEEE SP Magazine 13(1), 1996),
// each scaled to unit DC gain. At the worst delay (half a sample) the gain is within 0.25 dB up to
// 0.35 x the sample rate (5.6 kHz at 16 kHz) and -1.9 dB at 0.4 x; 8 taps keep the read at a
// quarter of the kernel's cost (16 taps were flat to 0.4 x but cost 30% more in all). Tap t of phase p multiplies sample base - FD_TAPS/2 + 1 + t for a
// delay of base + p / FD_PHASES.
const FD_TAPS = 8;
const FD_PHASES = 64;
const FD_TABLE = (() => {
  const table = new Float32Array((FD_PHASES + 1) * FD_TAPS);
  const beta = 4;
  const i0 = (v: number) => {
    let term = 1;
    let sum = 1;
    for (let k = 1; k < 50 && term > sum * 1e-16; k++) {
      term *= (v * v) / 4 / (k * k);
      sum += term;
    }
    return sum;
  };
  const half = FD_TAPS / 2;
  for (let p = 0; p <= FD_PHASES; p++) {
    const delay = p / FD_PHASES;
    let sum = 0;
    const row = new Float64Array(FD_TAPS);
    for (let t = 0; t < FD_TAPS; t++) {
      const tau = t - half + 1 - delay; // sample offset from the wanted instant
      const r = tau / half;
      const win = Math.abs(r) < 1 ? i0(beta * Math.sqrt(1 - r * r)) / i0(beta) : 0;
      const sinc = Math.abs(tau) < 1e-12 ? 1 : Math.sin(Math.PI * tau) / (Math.PI * tau);
      row[t] = sinc * win;
      sum += row[t];
    }
    for (let t = 0; t < FD_TAPS; t++) table[p * FD_TAPS + t] = row[t] / sum;
  }
  return table;
})();

/** Sum of a[ai + i] * b[bi + i] for i < length. */
function dot(a: Float32Array, ai: number, b: Float32Array, bi: number, length: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < length; i += 4) {
    s0 += a[ai + i] * b[bi + i];
    s1 += a[ai + i + 1] * b[bi + i + 1];
    s2 += a[ai + i + 2] * b[bi + i + 2];
    s3 += a[ai + i + 3] * b[bi + i + 3];
  }
  for (; i < length; i++) s0 += a[ai + i] * b[bi + i];
  return s0 + s1 + (s2 + s3);
}

/** Box-filtered, decimated copy: the mean of each `factor` samples. */
function decimate(x: Float32Array, factor: number): Float32Array {
  const signal = new Float32Array(Math.floor(x.length / factor));
  const scale = 1 / factor;
  for (let i = 0; i < signal.length; i++) {
    let acc = 0;
    for (let k = 0, b = i * factor; k < factor; k++) acc += x[b + k];
    signal[i] = acc * scale;
  }
  return signal;
}

/**
 * Best start within `span` of `centre` and inside [lo, hi] for a frame that should continue the
 * input at `natural`, comparing `length` samples of the `factor`-decimated signal. Candidates lie
 * on the grid natural + factor * k, so template and candidate are read at whole decimated indices
 * with the same sub-sample offset; the answer is a full-rate position.
 */
function searchLevel(
  signal: Float32Array,
  factor: number,
  natural: number,
  centre: number,
  span: number,
  lo: number,
  hi: number,
  length: number,
): number {
  const t = Math.floor(natural / factor);
  const first = Math.max(lo, centre - span);
  const last = Math.min(hi, centre + span);
  // Smallest grid index whose position natural + factor * k is >= first.
  const kFirst = Math.ceil((first - natural) / factor);
  let best = -1;
  let bestScore = -Infinity;
  // Candidates are consecutive decimated indices, so their energies slide: one full sum, then
  // one sample in and one out per candidate.
  let e = 0;
  for (let i = 0, c = t + kFirst; i < length; i++) e += signal[c + i] * signal[c + i];
  for (let k = kFirst, pos = natural + k * factor; pos <= last; k++, pos += factor) {
    const c = t + k;
    if (k > kFirst) e += signal[c + length - 1] * signal[c + length - 1] - signal[c - 1] * signal[c - 1];
    const d = dot(signal, t, signal, c, length);
    const score = e > 0 ? d / Math.sqrt(e) : 0;
    if (score > bestScore || (score === bestScore && Math.abs(pos - centre) < Math.abs(best - centre))) {
      bestScore = score;
      best = pos;
    }
  }
  return best < 0 ? Math.min(hi, Math.max(lo, centre)) : best;
}

/** Runs WSOLA (see the file header); returns `outLength` samples. */
export function wsola(x: Float32Array, o: WsolaOptions): Float32Array {
  // Frame length: a multiple of 2 * COARSE, so the compared half frame is whole at every level.
  const unit = 2 * COARSE;
  const frame = Math.max(2 * unit, Math.round((o.sampleRate * (o.frameS ?? WSOLA_FRAME_S)) / unit) * unit);
  const half = frame >> 1;
  const hop = half;
  const tolerance = Math.max(0, Math.round(o.sampleRate * (o.toleranceS ?? WSOLA_TOLERANCE_S)));
  const out = new Float32Array(o.outLength);
  if (o.outLength === 0) return out;

  // Zero-padded copy so frames near the ends need no bounds checks.
  const pad = Math.ceil((frame + tolerance + 2 * hop + 2 * FD_TAPS + 2 * COARSE) / COARSE) * COARSE;
  const padded = new Float32Array(x.length + 2 * pad);
  padded.set(x, pad);
  const middle = decimate(padded, MIDDLE);
  const coarse = decimate(middle, COARSE / MIDDLE);
  const lastStart = padded.length - frame - FD_TAPS - 2 * COARSE;

  const window = new Float32Array(frame);
  for (let i = 0; i < frame; i++) window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / frame);
  const fineScores = new Float64Array(2 * FINE_SPAN + 1);
  // The similarity is measured over the first half of the frame: the part that overlaps the
  // previous frame's second half, where the splice is (as sox's tempo compares only its overlap).
  // Measured against comparing whole frames: log-mel distance 0.63-0.72 dB instead of 0.67-0.77 on
  // espeak voices, the same -58 to -62 dB between harmonics, and 30% less time.
  const match = half;


  // Positions are fractional: the parabolic peak of the correlation refines the lag below a
  // sample and the frame is read through a short windowed-sinc fractional delay, so splices of a
  // periodic signal line up to a fraction of a sample instead of up to half a sample (which at
  // 1.3 kHz is 0.26 rad of phase error per splice and shows as roughness between harmonics).
  let prevPos = -1; // start (in padded, fractional) of the previous frame's input
  const frames = Math.ceil((o.outLength + half) / hop);
  for (let m = 0; m < frames; m++) {
    const center = m * hop;
    const nominalPos = Math.min(lastStart, Math.max(FD_TAPS, o.inputPosition(center) - half + pad));
    const nominal = Math.round(nominalPos);
    let pos = nominalPos;
    if (prevPos >= 0 && tolerance > 0) {
      const naturalPos = Math.min(lastStart, prevPos + hop);
      const natural = Math.floor(naturalPos);
      const lo = Math.max(FD_TAPS, nominal - tolerance);
      const hi = Math.min(lastStart, nominal + tolerance);
      // Coarse (every COARSE-th lag over the whole range), then middle (every MIDDLE-th lag within
      // MIDDLE_SPAN of the coarse best).
      const b1 = searchLevel(coarse, COARSE, natural, nominal, tolerance, lo, hi, match / COARSE);
      const b2 = searchLevel(middle, MIDDLE, natural, b1, MIDDLE_SPAN, lo, hi, match / MIDDLE);
      // Full rate: lags b2 - 1 .. b2 + 1, walking one lag further (up to FINE_SPAN) while the best
      // is at an edge, so the parabola always has a neighbour on each side.
      const sLo = Math.max(lo - 1, b2 - 1);
      const sHi = Math.min(hi + 1, b2 + 1);
      let first = sLo;
      let lastLag = sHi;
      let eFirst = 0;
      for (let i = 0; i < match; i++) eFirst += padded[sLo + i] * padded[sLo + i];
      let eLast = eFirst;
      const score = (lag: number, e: number) => {
        const d = dot(padded, natural, padded, lag, match);
        return e > 0 ? d / Math.sqrt(e) : 0;
      };
      fineScores.fill(-Infinity);
      const slot = (lag: number) => lag - b2 + FINE_SPAN;
      fineScores[slot(sLo)] = score(sLo, eFirst);
      for (let lag = sLo + 1; lag <= sHi; lag++) {
        eLast += padded[lag + match - 1] * padded[lag + match - 1] - padded[lag - 1] * padded[lag - 1];
        fineScores[slot(lag)] = score(lag, eLast);
      }
      let b3 = sLo;
      for (let lag = sLo + 1; lag <= sHi; lag++) if (fineScores[slot(lag)] > fineScores[slot(b3)]) b3 = lag;
      while (b3 === first && first > Math.max(lo - 1, b2 - FINE_SPAN)) {
        first--;
        eFirst += padded[first] * padded[first] - padded[first + match] * padded[first + match];
        fineScores[slot(first)] = score(first, eFirst);
        if (fineScores[slot(first)] > fineScores[slot(b3)]) b3 = first;
      }
      while (b3 === lastLag && lastLag < Math.min(hi + 1, b2 + FINE_SPAN)) {
        lastLag++;
        eLast += padded[lastLag + match - 1] * padded[lastLag + match - 1] - padded[lastLag - 1] * padded[lastLag - 1];
        fineScores[slot(lastLag)] = score(lastLag, eLast);
        if (fineScores[slot(lastLag)] > fineScores[slot(b3)]) b3 = lastLag;
      }
      if (b3 < lo) b3 = lo;
      if (b3 > hi) b3 = hi;
      let frac = 0;
      const i = slot(b3);
      // The natural continuation itself is an exact match (the input read on): no refinement.
      if (b3 !== natural && i > 0 && i < 2 * FINE_SPAN) {
        const a = fineScores[i - 1];
        const b = fineScores[i];
        const c = fineScores[i + 1];
        const curvature = a - 2 * b + c;
        if (b > 0 && a > -Infinity && c > -Infinity && curvature < 0) frac = Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / curvature));
      }
      pos = Math.min(hi, Math.max(lo, b3 + frac + (naturalPos - natural)));
    }
    prevPos = pos;
    // Overlap-add at output [center - half, center + half), the input read at fractional `pos`.
    const outStart = center - half;
    const from = Math.max(0, -outStart);
    const to = Math.min(frame, o.outLength - outStart);
    let base = Math.floor(pos);
    let phase = Math.round((pos - base) * FD_PHASES);
    if (phase === FD_PHASES) {
      base++;
      phase = 0;
    }
    if (phase === 0) {
      for (let i = from; i < to; i++) out[outStart + i] += window[i] * padded[base + i];
    } else {
      const t = phase * FD_TAPS;
      const h0 = FD_TABLE[t], h1 = FD_TABLE[t + 1], h2 = FD_TABLE[t + 2], h3 = FD_TABLE[t + 3];
      const h4 = FD_TABLE[t + 4], h5 = FD_TABLE[t + 5], h6 = FD_TABLE[t + 6], h7 = FD_TABLE[t + 7];
      const b = base - FD_TAPS / 2 + 1;
      for (let i = from; i < to; i++) {
        const s = b + i;
        const v =
          h0 * padded[s] + h1 * padded[s + 1] + h2 * padded[s + 2] + h3 * padded[s + 3] +
          h4 * padded[s + 4] + h5 * padded[s + 5] + h6 * padded[s + 6] + h7 * padded[s + 7];
        out[outStart + i] += window[i] * v;
      }
    }
  }
  return out;
}

/**
 * Constant tempo change by WSOLA: plays `factor` times faster (factor > 1 shortens), pitch kept.
 * Returns Math.round(n / factor) samples; input time t is heard at output time t / factor (within
 * the search tolerance, see the file header).
 */
export function tempoStretch(x: Float32Array, sampleRate: number, factor: number, options: { frameS?: number; toleranceS?: number } = {}): Float32Array {
  if (!Number.isFinite(factor) || factor <= 0) throw new RangeError(`tempo factor must be a positive number, got ${factor}`);
  const outLength = Math.round(x.length / factor);
  if (factor === 1) return x.slice();
  return wsola(x, { sampleRate, outLength, inputPosition: (u) => u * factor, ...options });
}
