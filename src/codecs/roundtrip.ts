// A codec round trip at the op's rate, aligned and length-preserving:
//
//   x (op rate) → resample to the codec rate → append silence (the tail) → encode → decode
//     → resample to the op rate → drop the codec's delay → the first x.length samples
//
// The resampler (src/audio/resample.ts) has no delay, so the delay is the codec's own (encoder
// look-ahead and priming, decoder overlap, container trimming). It is measured, not assumed, in
// two steps:
//  1. Once per delay class, a fixed probe signal (two synthetic voices) makes the same round trip,
//     and the lag of the cross-correlation peak between probe in and probe out, over
//     ±MAX_DELAY_S, is the class delay. A class is a codec and rate (and for Opus its bandwidth,
//     application and frame size): the delay of every other codec was measured to be the same at
//     every bit rate and quality (CODECS[…].delayReference; the table is in
//     bench/README-codecs.md). In a run, the codec op's beforeEngine hook times every class the
//     plan drew, once, in the main thread before the engine's threads start, and hands the
//     delays to them as worker_threads environment data (measureDelays): before, each engine
//     thread timed each class itself. A class not timed there (library use, tests) is timed on
//     first use in the thread and cached.
//  2. Per clip, the lag is refined by cross-correlating the clip's own input and output within
//     ±REFINE_S of the class delay (±3 samples at 16 kHz). A codec that does not keep the
//     waveform exactly (CELP, Opus) puts its best-matching lag a sample or two apart for different
//     content and modes (measured on the demo speech: AMR-NB 79-80, Opus 69-71 samples at 16 kHz);
//     the refinement lines each clip up with its own input. Silence (no correlation) keeps the
//     class delay. The window is narrow, so a clip can never be moved by more than 0.2 ms.
// Output sample i is decoded sample i + delay: the output is aligned with the input to the sample
// and has its length. The tail is the class delay + TAIL_MARGIN_S, so the end of a clip is never
// cut (the margin covers the refinement and the last codec frame); were it ever short, the op
// records how many samples it had to fill with zeros. It used to be a fixed 0.4 s (longer than the
// largest delay, MP3 at 8 kHz, 0.138 s): on 2-10 s clips that was 7% more audio to encode, now
// 0.6-3% (Opus, 16 kHz: 34 ms). The probe, whose delay is not known yet, keeps CODEC_TAIL_S.
import { getEnvironmentData, setEnvironmentData } from "node:worker_threads";
import { g711Decode, g711Encode } from "../audio/g711.js";
import { resample } from "../audio/resample.js";
import { xcorrLag } from "../audio/xcorr.js";
import { sharedBatcher, type FfmpegBatcher } from "./batcher.js";
import { CODECS, settingKey, type CodecSetting } from "./table.js";

/** Silence appended to the delay probe (whose delay is not known yet): longer than MAX_DELAY_S. */
export const CODEC_TAIL_S = 0.4;
/** Silence appended to a clip beyond its class delay (covers the refinement and a final partial frame). */
export const TAIL_MARGIN_S = 0.03;
/** Largest delay searched for, seconds either way. */
export const MAX_DELAY_S = 0.35;
/**
 * Length of each of the two voices of the delay probe, seconds. Measured with 0.4, 0.6 and 1.2 s:
 * the same class delays to a sample except Opus narrowband (70 or 71, the clips' own 70-71), so
 * 0.6 s (a 1.4 s probe, per class and thread) is enough for the per-clip refinement to start from.
 */
export const PROBE_VOICE_S = 0.6;
/** Half-width of the per-clip refinement around the class delay, seconds. */
export const REFINE_S = 0.0002;
/** Below this correlation the probe did not survive the codec well enough to time it. */
export const MIN_PROBE_CORRELATION = 0.3;

export interface RawRoundTrip {
  /** Decoded audio at the op's rate, delay not removed, longer than the input. */
  audio: Float32Array;
  /** Bytes of the encoded stream (container included). */
  encodedBytes: number;
  /** The encoded stream itself (for tests). */
  encoded: Uint8Array;
  /** Seconds of audio the encoder saw (clip + tail). */
  encodedS: number;
}

/** The round trip without delay compensation, with `tailS` seconds of silence appended. */
export async function rawRoundTrip(x: Float32Array, sampleRate: number, s: CodecSetting, batcher: FfmpegBatcher = sharedBatcher(), tailS = CODEC_TAIL_S): Promise<RawRoundTrip> {
  const info = CODECS[s.codec];
  const atCodec = resample(x, sampleRate, s.sample_rate);
  const tail = Math.ceil(tailS * s.sample_rate);
  const padded = new Float32Array(atCodec.length + tail);
  padded.set(atCodec);
  let decoded: Float32Array;
  let encoded: Uint8Array;
  if (info.encoder === null) {
    encoded = g711Encode(padded, s.codec as "mulaw" | "alaw");
    decoded = g711Decode(encoded, s.codec as "mulaw" | "alaw");
  } else {
    const out = await batcher.transcode(s, padded);
    decoded = out.pcm;
    encoded = out.encoded;
  }
  return {
    audio: resample(decoded, info.decodeRate(s), sampleRate),
    encodedBytes: encoded.length,
    encoded,
    encodedS: padded.length / s.sample_rate,
  };
}

/**
 * One synthetic voice for the delay probe: Rosenberg glottal pulses (A. E. Rosenberg, "Effect of
 * glottal pulse shape on the quality of natural vowels", JASA 49, 1971: a raised-cosine opening
 * over 40% of the open phase, a quarter-cosine closing, open quotient 0.6), differentiated for lip
 * radiation, through five two-pole formant resonators that glide between the vowels
 * /a i u e o/ (Peterson & Barney formant values; F5 4.4-4.7 kHz), four vowels a second, with a
 * 50 ms fricative noise burst every 0.37 s and a 3.7 Hz syllable envelope. The pitch rises and
 * falls between f0Lo and f0Hi, so no period repeats. CELP codecs (AMR, Speex, Opus's SILK) are
 * built for exactly this signal; simpler probes (a harmonic sawtooth, flat-spectrum harmonics)
 * were timed 1-47 samples away from real speech by some codecs, this one within one sample of the
 * bundled demo speech for every codec and setting the op offers (see CODEC_DELAYS.md).
 */
function probeVoice(sampleRate: number, f0Lo: number, f0Hi: number, durationS: number, seed: number): Float32Array {
  const n = Math.round(durationS * sampleRate);
  const x = new Float32Array(n);
  const vowels = [
    [730, 1090, 2440, 3400, 4500],
    [270, 2290, 3010, 3700, 4700],
    [300, 870, 2240, 3300, 4400],
    [530, 1840, 2480, 3500, 4600],
    [570, 840, 2410, 3400, 4500],
  ];
  const bandwidths = [60, 90, 120, 180, 250];
  const state = bandwidths.map(() => [0, 0]);
  const openQuotient = 0.6;
  const rise = 0.4 * openQuotient;
  let phase = 0;
  let prevFlow = 0;
  let peak = 0;
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    const u = t / durationS;
    const f0 = f0Lo + (f0Hi - f0Lo) * (0.5 - 0.5 * Math.cos(2 * Math.PI * 1.3 * u)) + 0.1 * f0Lo * u;
    phase = (phase + f0 / sampleRate) % 1;
    let flow = 0;
    if (phase < rise) flow = 0.5 * (1 - Math.cos((Math.PI * phase) / rise));
    else if (phase < openQuotient) flow = Math.cos(((Math.PI / 2) * (phase - rise)) / (openQuotient - rise));
    const dFlow = flow - prevFlow;
    prevFlow = flow;
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const noise = seed / 4294967296 - 0.5;
    const pos = t * 4;
    const k = Math.floor(pos) % vowels.length;
    const next = (k + 1) % vowels.length;
    const glide = Math.min(1, Math.max(0, (pos - Math.floor(pos) - 0.6) / 0.4));
    let v = t % 0.37 < 0.05 ? noise * 0.3 : dFlow + noise * 0.002;
    for (let j = 0; j < 5; j++) {
      const f = vowels[k][j] * (1 - glide) + vowels[next][j] * glide;
      if (f >= 0.45 * sampleRate) continue;
      // Two-pole resonator at f with bandwidth B, unit gain at DC.
      const r = Math.exp((-Math.PI * bandwidths[j]) / sampleRate);
      const c = 2 * r * Math.cos((2 * Math.PI * f) / sampleRate);
      const y = (1 - c + r * r) * v + c * state[j][0] - r * r * state[j][1];
      state[j][1] = state[j][0];
      state[j][0] = y;
      v = y;
    }
    x[i] = v * (0.6 + 0.4 * Math.sin(2 * Math.PI * 3.7 * t));
    peak = Math.max(peak, Math.abs(x[i]));
  }
  for (let i = 0; i < n; i++) x[i] *= 0.5 / peak;
  return x;
}

/**
 * The probe that times a codec: a low voice (f0 95-150 Hz) and a high one (170-260 Hz),
 * PROBE_VOICE_S each with 0.2 s of silence between. Deterministic (a fixed LCG for the noise, not the planner's
 * generator: it is a measuring signal, not a draw).
 */
export function delayProbe(sampleRate: number): Float32Array {
  // Built once per rate (~50 ms of synthesis): every class at this rate is timed with it.
  let probe = probes.get(sampleRate);
  if (!probe) {
    probe = buildProbe(sampleRate);
    probes.set(sampleRate, probe);
  }
  return probe;
}

const probes = new Map<number, Float32Array>();

function buildProbe(sampleRate: number): Float32Array {
  const low = probeVoice(sampleRate, 95, 150, PROBE_VOICE_S, 7);
  const high = probeVoice(sampleRate, 170, 260, PROBE_VOICE_S, 99);
  const gap = Math.round(0.2 * sampleRate);
  const x = new Float32Array(low.length + gap + high.length);
  x.set(low);
  x.set(high, low.length + gap);
  return x;
}

export interface DelayMeasurement {
  /** Samples at the op's rate; decoded[i + delay] lines up with input[i]. */
  samples: number;
  /** Correlation coefficient of probe in and out at that lag. */
  correlation: number;
}

const delays = new Map<string, Promise<DelayMeasurement>>();

/** worker_threads environment data: class key → DelayMeasurement, from the main thread's preflight. */
const ENV_DELAYS = "augment:codec-delays";

function delayKey(s: CodecSetting, sampleRate: number): string {
  return `${settingKey(CODECS[s.codec].delayReference(s))} @${sampleRate}`;
}

/**
 * The class delay of setting `s` at `sampleRate` (the delay of CODECS[codec].delayReference(s)):
 * from the preflight's measurements when it made them, else measured once per class and rate in
 * this thread, and cached.
 */
export function codecDelay(s: CodecSetting, sampleRate: number, batcher: FfmpegBatcher = sharedBatcher()): Promise<DelayMeasurement> {
  const ref = CODECS[s.codec].delayReference(s);
  const key = delayKey(s, sampleRate);
  let p = delays.get(key);
  if (!p) {
    const known = (getEnvironmentData(ENV_DELAYS) as Record<string, DelayMeasurement> | undefined)?.[key];
    if (known) {
      p = Promise.resolve(known);
      delays.set(key, p);
      return p;
    }
    p = (async () => {
      const probe = delayProbe(sampleRate);
      const out = await rawRoundTrip(probe, sampleRate, ref, batcher);
      const est = xcorrLag(probe, out.audio, Math.round(MAX_DELAY_S * sampleRate));
      if (!(est.peak >= MIN_PROBE_CORRELATION)) {
        throw new Error(`cannot time ${settingKey(ref)}: the delay probe came back with correlation ${est.peak.toFixed(2)} (< ${MIN_PROBE_CORRELATION})`);
      }
      return { samples: est.lag, correlation: est.peak };
    })();
    // A failed measurement is not cached: the next clip tries again (the failure was its error).
    p.catch(() => delays.delete(key));
    delays.set(key, p);
  }
  return p;
}

/**
 * Measures the class delays of `settings` at `sampleRate` (one flush: every probe in one process
 * pair) and publishes them to the worker threads started after this call (the codec op's
 * beforeEngine).
 */
export async function measureDelays(settings: CodecSetting[], sampleRate: number, batcher: FfmpegBatcher = sharedBatcher()): Promise<Map<string, DelayMeasurement>> {
  const keys = new Map<string, CodecSetting>();
  for (const s of settings) keys.set(delayKey(s, sampleRate), s);
  const measured = new Map<string, DelayMeasurement>();
  await Promise.all([...keys].map(async ([key, s]) => measured.set(key, await codecDelay(s, sampleRate, batcher))));
  const published = { ...((getEnvironmentData(ENV_DELAYS) as Record<string, DelayMeasurement> | undefined) ?? {}), ...Object.fromEntries(measured) };
  setEnvironmentData(ENV_DELAYS, published);
  return measured;
}

/**
 * The lag in [center - halfWidth, center + halfWidth] maximising sum_i x[i] y[i + lag] (direct
 * sums; ties and an all-zero correlation keep the lag nearest `center`). One pass over the part of
 * x every lag covers, with the ends per lag: each sum adds the same terms in the same order as a
 * loop per lag (so the same value to the bit), reading x and y once instead of 2*halfWidth+1 times.
 */
export function refineLag(x: Float32Array, y: Float32Array, center: number, halfWidth: number): number {
  const lo = center - halfWidth;
  const width = 2 * halfWidth + 1;
  const sums = new Float64Array(width);
  const bounds = (d: number) => [Math.max(0, -(lo + d)), Math.min(x.length, y.length - (lo + d))];
  // Where every lag is inside y.
  const allFrom = Math.max(0, -lo);
  const allTo = Math.min(x.length, y.length - (lo + width - 1));
  const headEnd: number[] = [];
  for (let d = 0; d < width; d++) {
    const [from, to] = bounds(d);
    const end = Math.min(to, Math.max(from, allFrom));
    let sum = 0;
    for (let i = from; i < end; i++) sum += x[i] * y[i + lo + d];
    sums[d] = sum;
    headEnd.push(end);
  }
  if (width === 7 && allTo > allFrom) {
    // ±3, the usual width at 16 kHz, unrolled.
    let s0 = sums[0], s1 = sums[1], s2 = sums[2], s3 = sums[3], s4 = sums[4], s5 = sums[5], s6 = sums[6];
    for (let i = allFrom; i < allTo; i++) {
      const xi = x[i];
      const j = i + lo;
      s0 += xi * y[j];
      s1 += xi * y[j + 1];
      s2 += xi * y[j + 2];
      s3 += xi * y[j + 3];
      s4 += xi * y[j + 4];
      s5 += xi * y[j + 5];
      s6 += xi * y[j + 6];
    }
    sums.set([s0, s1, s2, s3, s4, s5, s6]);
  } else {
    for (let i = allFrom; i < allTo; i++) {
      const xi = x[i];
      for (let d = 0; d < width; d++) sums[d] += xi * y[i + lo + d];
    }
  }
  for (let d = 0; d < width; d++) {
    const [, to] = bounds(d);
    let sum = sums[d];
    for (let i = Math.max(headEnd[d], allTo); i < to; i++) sum += x[i] * y[i + lo + d];
    sums[d] = sum;
  }
  let best = center;
  let bestValue = -Infinity;
  for (let k = 0; k <= 2 * halfWidth; k++) {
    // Order 0, -1, +1, -2, +2, …: the first of equal sums is the one nearest the centre.
    const d = k === 0 ? 0 : k % 2 ? -(k + 1) / 2 : k / 2;
    const v = sums[d + halfWidth];
    if (v > bestValue) {
      bestValue = v;
      best = center + d;
    }
  }
  return best;
}

export interface CodecResult {
  /** x.length samples at the op's rate, aligned with the input. */
  audio: Float32Array;
  /** Delay removed from this clip, samples at the op's rate (class delay + refinement). */
  delaySamples: number;
  /** The class delay from the probe. */
  classDelay: DelayMeasurement;
  encodedBytes: number;
  /** The encoded stream (for tests). */
  encoded: Uint8Array;
  /** Encoded bits per second of audio the encoder saw (container overhead included). */
  measuredBitrate: number;
  /** Samples past the decoded end that had to be filled with zeros (0 when the tail sufficed). */
  zeroFilled: number;
}

/** The aligned, length-preserving round trip (the codec op's kernel). */
export async function codecRoundTrip(x: Float32Array, sampleRate: number, s: CodecSetting, batcher: FfmpegBatcher = sharedBatcher()): Promise<CodecResult> {
  // The tail depends on the delay: a class not measured yet costs its first clips one more flush.
  const classDelay = await codecDelay(s, sampleRate, batcher);
  const raw = await rawRoundTrip(x, sampleRate, s, batcher, Math.max(0, classDelay.samples) / sampleRate + TAIL_MARGIN_S);
  const delay = refineLag(x, raw.audio, classDelay.samples, Math.max(1, Math.round(REFINE_S * sampleRate)));
  const out = new Float32Array(x.length);
  const from = Math.max(0, delay);
  const to = Math.min(raw.audio.length, delay + x.length);
  if (to > from) out.set(raw.audio.subarray(from, to), from - delay);
  const zeroFilled = x.length - Math.max(0, to - from);
  // A decoder that returns far less than it was given is broken, not delayed: an item error.
  if (zeroFilled > 0.1 * x.length) throw new Error(`${settingKey(s)}: the decoder returned ${raw.audio.length} samples for ${x.length} (+ tail)`);
  return {
    audio: out,
    delaySamples: delay,
    classDelay,
    encodedBytes: raw.encodedBytes,
    encoded: raw.encoded,
    measuredBitrate: Math.round((raw.encodedBytes * 8) / raw.encodedS),
    zeroFilled,
  };
}
