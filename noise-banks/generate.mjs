#!/usr/bin/env node
// Generates augment's bundled default noise bank (MUSAN-like layout, all synthetic, no speech):
//   noise-banks/default/<category>/<name>.flac, metadata.jsonl, README.md
//
//   node noise-banks/generate.mjs [--out DIR]
//
// Every sample is a pure function of the SOUNDS table and a counter-based hash (no Math.random),
// so a re-run gives byte-identical files; test/bundled-data.test.ts checks that with --out.
// FLAC output uses the project's encoder, so build first: npx tsc -p tsconfig.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const SEED = "augment/noise-banks/default/v1";
const SAMPLE_RATE = 16000;
const PEAK_DBFS = -3;

// ---------------------------------------------------------------------------------------------
// Deterministic randomness

/** lowbias32 (Chris Wellons, hash-prospector): a bijective 32-bit integer hash. */
function hash32(x) {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

function fnv1a32(text) {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

/**
 * Counter-based generator: draw i of stream `name` is hash(hash(i ^ k1) ^ k2) with keys from
 * (SEED, name), so each sound has its own stream and adding a sound never shifts another's draws.
 */
function makeRng(name) {
  const k1 = hash32(fnv1a32(`${SEED}/${name}`));
  const k2 = hash32((k1 ^ 0x9e3779b9) >>> 0);
  let counter = 0;
  let spareNormal = null;
  const u32 = () => hash32((hash32((counter++ ^ k1) >>> 0) ^ k2) >>> 0);
  const uniform = () => (u32() + 0.5) / 4294967296; // open interval (0, 1)
  return {
    uniform,
    range: (lo, hi) => lo + (hi - lo) * uniform(),
    int: (lo, hi) => lo + Math.floor(uniform() * (hi - lo + 1)), // inclusive
    sign: () => (u32() & 1 ? 1 : -1),
    /** Standard normal by Box-Muller (both values used, in order). */
    normal() {
      if (spareNormal !== null) {
        const z = spareNormal;
        spareNormal = null;
        return z;
      }
      const radius = Math.sqrt(-2 * Math.log(uniform()));
      const angle = 2 * Math.PI * uniform();
      spareNormal = radius * Math.sin(angle);
      return radius * Math.cos(angle);
    },
  };
}

function whiteNoise(rng, numSamples) {
  const out = new Float64Array(numSamples);
  for (let i = 0; i < numSamples; i++) out[i] = rng.normal();
  return out;
}

// ---------------------------------------------------------------------------------------------
// DSP helpers

/** In-place iterative radix-2 complex FFT; `inverse` also scales by 1/n. */
function fft(re, im, inverse = false) {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  const sign = inverse ? 1 : -1;
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const step = (sign * 2 * Math.PI) / size;
    for (let k = 0; k < half; k++) {
      const wr = Math.cos(step * k);
      const wi = Math.sin(step * k);
      for (let start = k; start < n; start += size) {
        const a = start;
        const b = start + half;
        const tr = wr * re[b] - wi * im[b];
        const ti = wr * im[b] + wi * re[b];
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
      }
    }
  }
  if (inverse) {
    for (let i = 0; i < n; i++) {
      re[i] /= n;
      im[i] /= n;
    }
  }
}

function nextPowerOfTwo(n) {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

/**
 * Gaussian noise with power spectral density ∝ f^powerExponent (0 white, -1 pink = -3 dB/oct,
 * -2 brown = -6 dB/oct, +1 blue = +3 dB/oct), shaped exactly in the frequency domain, with an
 * optional 2nd-order Butterworth-magnitude high-pass so brown/pink energy stays above
 * sub-audio frequencies. Synthesis is circular over a power-of-two length, so when numSamples is
 * that length the result loops without a seam.
 */
function shapedNoise(rng, numSamples, powerExponent, highpassHz = 0) {
  const n = nextPowerOfTwo(numSamples);
  const re = whiteNoise(rng, n);
  const im = new Float64Array(n);
  fft(re, im);
  for (let k = 0; k <= n / 2; k++) {
    const freqHz = (k * SAMPLE_RATE) / n;
    let gain = 0;
    if (k > 0) {
      gain = Math.exp(0.5 * powerExponent * Math.log(freqHz / 1000));
      if (highpassHz > 0) gain /= Math.sqrt(1 + (highpassHz / freqHz) ** 4);
    }
    re[k] *= gain;
    im[k] *= gain;
    if (k > 0 && k < n / 2) {
      re[n - k] *= gain;
      im[n - k] *= gain;
    }
  }
  fft(re, im, true);
  return re.slice(0, numSamples);
}

/** RBJ Audio-EQ-Cookbook biquad (direct form I), applied to a copy. */
function biquad(input, type, freqHz, q = Math.SQRT1_2) {
  const w0 = (2 * Math.PI * freqHz) / SAMPLE_RATE;
  const cosW0 = Math.cos(w0);
  const alpha = Math.sin(w0) / (2 * q);
  let b0, b1, b2;
  if (type === "lowpass") [b0, b1, b2] = [(1 - cosW0) / 2, 1 - cosW0, (1 - cosW0) / 2];
  else if (type === "highpass") [b0, b1, b2] = [(1 + cosW0) / 2, -(1 + cosW0), (1 + cosW0) / 2];
  else if (type === "bandpass") [b0, b1, b2] = [alpha, 0, -alpha]; // 0 dB peak gain
  else throw new Error(`biquad: unknown type ${type}`);
  const a0 = 1 + alpha;
  const a1 = -2 * cosW0;
  const a2 = 1 - alpha;
  const out = new Float64Array(input.length);
  let x1 = 0, x2 = 0, y1 = 0, y2 = 0;
  for (let i = 0; i < input.length; i++) {
    const x0 = input[i];
    const y0 = (b0 * x0 + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2) / a0;
    out[i] = y0;
    x2 = x1; x1 = x0; y2 = y1; y1 = y0;
  }
  return out;
}

/** One-pole smoother with time constant tauS (for envelopes and control tracks). */
function smooth(input, tauS) {
  const a = Math.exp(-1 / (tauS * SAMPLE_RATE));
  const out = new Float64Array(input.length);
  let y = input[0] ?? 0;
  for (let i = 0; i < input.length; i++) out[i] = y = a * y + (1 - a) * input[i];
  return out;
}

/** A slow random track in roughly [-1, 1]: white noise smoothed twice, scaled by its peak. */
function slowRandom(rng, numSamples, tauS) {
  const track = smooth(smooth(whiteNoise(rng, numSamples), tauS), tauS);
  let peak = 0;
  for (const v of track) peak = Math.max(peak, Math.abs(v));
  return track.map((v) => v / peak);
}

function rms(x) {
  let sum = 0;
  for (const v of x) sum += v * v;
  return Math.sqrt(sum / x.length);
}

/** out += gain * x, in place */
function addScaled(out, x, gain) {
  for (let i = 0; i < out.length; i++) out[i] += gain * x[i];
  return out;
}

function dbToGain(db) {
  return Math.exp((db / 20) * Math.LN10);
}

/**
 * Klatt (1980) digital resonator y = A x + B y1 + C y2 with unity gain at DC; frequency and
 * bandwidth may change every sample (babble formant tracks).
 */
function makeResonator() {
  let y1 = 0, y2 = 0;
  return (x, freqHz, bandwidthHz) => {
    const r = Math.exp((-Math.PI * bandwidthHz) / SAMPLE_RATE);
    const c = -r * r;
    const b = 2 * r * Math.cos((2 * Math.PI * freqHz) / SAMPLE_RATE);
    const y = (1 - b - c) * x + b * y1 + c * y2;
    y2 = y1;
    y1 = y;
    return y;
  };
}

// ---------------------------------------------------------------------------------------------
// Sounds

/** 50/60 Hz mains hum: harmonic series (odd harmonics stronger, as from rectifier buzz), a slow
 * level wobble and a pink noise floor 35 dB below the hum. */
function mainsHum(rng, numSamples, mainsHz) {
  const out = new Float64Array(numSamples);
  const maxHarmonic = Math.floor(1500 / mainsHz);
  const phases = [];
  const amplitudes = [];
  for (let h = 1; h <= maxHarmonic; h++) {
    phases.push(rng.range(0, 2 * Math.PI));
    amplitudes.push(h === 1 ? 1 : h % 2 ? 0.7 / h : 0.35 / h);
  }
  const wobbleHz = rng.range(0.2, 0.5);
  for (let i = 0; i < numSamples; i++) {
    const t = i / SAMPLE_RATE;
    let v = 0;
    for (let h = 1; h <= maxHarmonic; h++) {
      v += amplitudes[h - 1] * Math.sin(2 * Math.PI * h * mainsHz * t + phases[h - 1]);
    }
    out[i] = v * (1 + 0.05 * Math.sin(2 * Math.PI * wobbleHz * t));
  }
  const floor = shapedNoise(rng, numSamples, -1, 20);
  return addScaled(out, floor, (rms(out) / rms(floor)) * dbToGain(-35));
}

// Average adult male vowel formants F1-F3 in Hz (Peterson & Barney 1952).
const VOWEL_FORMANTS_HZ = [
  [270, 2290, 3010], [390, 1990, 2550], [530, 1840, 2480], [660, 1720, 2410], [730, 1090, 2440],
  [570, 840, 2410], [440, 1020, 2240], [300, 870, 2240], [640, 1190, 2390], [490, 1350, 1690],
];

/**
 * One babble "talker": a glottal pulse train (Rosenberg flow, differentiated for lip radiation)
 * with a random f0 contour (phrase declination, per-syllable accents, jitter) through four
 * cascaded Klatt formant resonators that glide between random vowel targets, plus occasional
 * fricative noise onsets. Syllables of 130-280 ms give 4-6 Hz amplitude modulation; phrases of
 * 4-11 syllables are separated by pauses. The syllables are random vowel sequences, so there is
 * nothing lexical to understand, and 6-8 of them overlap.
 */
function babbleTalker(rng, numSamples, talkerIndex) {
  const female = talkerIndex % 2 === 1;
  const formantScale = female ? rng.range(1.12, 1.22) : rng.range(0.95, 1.05);
  const baseF0Hz = female ? rng.range(175, 235) : rng.range(95, 135);
  const f0Track = new Float64Array(numSamples);
  const envTrack = new Float64Array(numSamples);
  const fricEnvTrack = new Float64Array(numSamples);
  const fricFreqTrack = new Float64Array(numSamples).fill(4000);
  const formantTracks = [0, 1, 2].map(() => new Float64Array(numSamples));

  // Lay out phrases from a random start before 0, so talkers are caught mid-phrase.
  let cursor = -Math.round(rng.range(0, 2.0) * SAMPLE_RATE);
  let vowel = VOWEL_FORMANTS_HZ[0];
  while (cursor < numSamples) {
    const syllableCount = rng.int(4, 11);
    const phraseLength = syllableCount * 0.2 * SAMPLE_RATE;
    const phraseStart = cursor;
    for (let s = 0; s < syllableCount; s++) {
      const length = Math.round(rng.range(0.13, 0.28) * SAMPLE_RATE);
      vowel = VOWEL_FORMANTS_HZ[rng.int(0, VOWEL_FORMANTS_HZ.length - 1)];
      const level = rng.range(0.55, 1.0);
      const accent = 1 + rng.range(-0.06, 0.1);
      const fricLength = rng.uniform() < 0.35 ? Math.round(rng.range(0.035, 0.07) * SAMPLE_RATE) : 0;
      const fricFreqHz = rng.range(2500, 6000);
      for (let j = 0; j < length; j++) {
        const i = cursor + j;
        if (i < 0 || i >= numSamples) continue;
        const progress = Math.min(1, (i - phraseStart) / phraseLength);
        f0Track[i] = baseF0Hz * (1.12 - 0.25 * progress) * accent;
        for (let f = 0; f < 3; f++) formantTracks[f][i] = vowel[f] * formantScale;
        if (j < fricLength) {
          fricEnvTrack[i] = Math.sin((Math.PI * j) / fricLength) * 0.5 * level;
          fricFreqTrack[i] = fricFreqHz;
        } else {
          const p = (j - fricLength) / (length - fricLength);
          envTrack[i] = level * Math.sqrt(Math.sin(Math.PI * p));
        }
      }
      cursor += length;
    }
    // Pause: formants and f0 hold their last values so tracks stay smooth.
    const pause = Math.round(rng.range(0.15, 0.7) * SAMPLE_RATE);
    for (let j = 0; j < pause; j++) {
      const i = cursor + j;
      if (i < 0 || i >= numSamples) continue;
      f0Track[i] = baseF0Hz * 0.9;
      for (let f = 0; f < 3; f++) formantTracks[f][i] = vowel[f] * formantScale;
    }
    cursor += pause;
  }

  const f0 = smooth(f0Track, 0.04);
  const env = smooth(envTrack, 0.008);
  const fricEnv = smooth(fricEnvTrack, 0.005);
  const formants = formantTracks.map((track) => smooth(track, 0.02));
  const bandwidthsHz = [80, 100, 140, 220];
  const resonators = [0, 1, 2, 3].map(() => makeResonator());
  const fricResonator = makeResonator();
  const voicedOut = new Float64Array(numSamples);
  const fricativeOut = new Float64Array(numSamples);
  let phase = 0;
  let jitter = 1;
  let previousFlow = 0;
  for (let i = 0; i < numSamples; i++) {
    phase += (f0[i] * jitter) / SAMPLE_RATE;
    if (phase >= 1) {
      phase -= 1;
      jitter = 1 + 0.01 * rng.normal();
    }
    // Rosenberg glottal flow: open quotient 0.6 (0.4 opening, 0.2 closing).
    const flow = phase < 0.4 ? 0.5 * (1 - Math.cos((Math.PI * phase) / 0.4))
      : phase < 0.6 ? Math.cos((Math.PI * (phase - 0.4)) / 0.4) : 0;
    let voiced = (flow - previousFlow) * 20 + 0.03 * flow * rng.normal();
    previousFlow = flow;
    voiced *= env[i];
    for (let f = 0; f < 4; f++) {
      const freqHz = f < 3 ? formants[f][i] : 3500 * formantScale;
      voiced = resonators[f](voiced, freqHz, bandwidthsHz[f]);
    }
    voicedOut[i] = voiced;
    fricativeOut[i] = fricResonator(rng.normal() * fricEnv[i], fricFreqTrack[i], 1500);
  }
  // The DC-normalised resonator passes low frequencies too; fricatives have none.
  return addScaled(voicedOut, biquad(fricativeOut, "highpass", 1800), 0.35);
}

function babble(rng, numSamples, talkerCount) {
  const out = new Float64Array(numSamples);
  for (let t = 0; t < talkerCount; t++) {
    const talker = babbleTalker(rng, numSamples, t);
    addScaled(out, talker, dbToGain(rng.range(-4, 2)) / rms(talker));
  }
  return biquad(out, "highpass", 60);
}

/** Fan / HVAC: low-passed turbulence noise with a slow level drift, some airflow hiss, and the
 * blade-pass tone (blades × shaft speed) with two harmonics. */
function fanHvac(rng, numSamples) {
  const turbulence = biquad(biquad(whiteNoise(rng, numSamples), "lowpass", 700), "lowpass", 700);
  const drift = slowRandom(rng, numSamples, 0.3);
  for (let i = 0; i < numSamples; i++) turbulence[i] *= 1 + 0.12 * drift[i];
  const hiss = biquad(whiteNoise(rng, numSamples), "highpass", 1500);
  const out = addScaled(turbulence, hiss, (0.12 * rms(turbulence)) / rms(hiss));
  const bladePassHz = 7 * rng.range(16, 19); // 7 blades at ~1000 rpm
  const toneLevel = 0.6 * rms(turbulence);
  const harmonicLevels = [1, 0.45, 0.2];
  for (let i = 0; i < numSamples; i++) {
    const t = i / SAMPLE_RATE;
    const wobble = 1 + 0.002 * Math.sin(2 * Math.PI * 0.23 * t);
    for (let h = 0; h < 3; h++) {
      out[i] += toneLevel * harmonicLevels[h] * Math.sin(2 * Math.PI * (h + 1) * bladePassHz * wobble * t);
    }
  }
  return out;
}

/** Rain: a dense Poisson train of heavy-tailed random clicks (about 1800/s, rate swelling with
 * slow gusts) through a high-pass and a broad 3 kHz band-pass, a few ringing large-drop
 * "plinks", and a soft pink bed. */
function rain(rng, numSamples) {
  const clicks = new Float64Array(numSamples);
  const gust = slowRandom(rng, numSamples, 0.4);
  for (let i = 0; i < numSamples; i++) {
    const clicksPerSample = (1800 * (1 + 0.35 * gust[i])) / SAMPLE_RATE;
    if (rng.uniform() < clicksPerSample) {
      clicks[i] = rng.sign() * Math.min(10, rng.uniform() ** (-1 / 2.2));
    }
  }
  const highpassed = biquad(clicks, "highpass", 500);
  const out = addScaled(biquad(highpassed, "bandpass", 3200, 0.6), biquad(highpassed, "lowpass", 7000), 0.35);
  const plinkCount = Math.round((6 * numSamples) / SAMPLE_RATE);
  const plinkLevel = 2.5 * rms(out);
  for (let p = 0; p < plinkCount; p++) {
    const start = rng.int(0, numSamples - 1);
    const freqHz = rng.range(1200, 3500);
    const decayS = rng.range(0.003, 0.008);
    const level = plinkLevel * rng.range(0.3, 1);
    for (let j = 0; start + j < numSamples && j < 10 * decayS * SAMPLE_RATE; j++) {
      const t = j / SAMPLE_RATE;
      // The bubble's pitch rises as it shrinks.
      out[start + j] += level * Math.exp(-t / decayS) * Math.sin(2 * Math.PI * freqHz * (t + 20 * t * t));
    }
  }
  const bed = shapedNoise(rng, numSamples, -1, 100);
  return addScaled(out, bed, (0.3 * rms(out)) / rms(bed));
}

/** One key transient: a noise burst ringing a key-cap resonance, plus a low thump. */
function addKeyClick(rng, out, start, level, resonanceHz, thumpHz) {
  const lengthSamples = Math.round(0.03 * SAMPLE_RATE);
  const decayS = rng.range(0.0015, 0.004);
  const burst = new Float64Array(lengthSamples);
  for (let j = 0; j < lengthSamples; j++) burst[j] = rng.normal() * Math.exp(-j / SAMPLE_RATE / decayS);
  const ring = biquad(burst, "bandpass", resonanceHz, 3);
  for (let j = 0; j < lengthSamples && start + j < out.length; j++) {
    const t = j / SAMPLE_RATE;
    const thump = 0.4 * Math.exp(-t / 0.006) * Math.sin(2 * Math.PI * thumpHz * t);
    out[start + j] += level * (ring[j] * 2 + thump);
  }
}

/** Keyboard typing: words of 2-8 keystrokes at 90-220 ms intervals, space bar between words,
 * occasional thinking pauses; each key gives a press click and a quieter release click. */
function keyboard(rng, numSamples) {
  const out = new Float64Array(numSamples);
  let cursorS = rng.range(0.05, 0.3);
  const durationS = numSamples / SAMPLE_RATE;
  while (cursorS < durationS - 0.05) {
    const keys = rng.int(2, 8);
    for (let k = 0; k <= keys && cursorS < durationS - 0.05; k++) {
      const isSpace = k === keys;
      const press = Math.round(cursorS * SAMPLE_RATE);
      const release = press + Math.round(rng.range(0.06, 0.11) * SAMPLE_RATE);
      const resonanceHz = isSpace ? rng.range(900, 1400) : rng.range(1800, 4500);
      const thumpHz = isSpace ? rng.range(110, 160) : rng.range(170, 300);
      const level = (isSpace ? 1.3 : 1) * rng.range(0.6, 1);
      addKeyClick(rng, out, press, level, resonanceHz, thumpHz);
      if (release < numSamples) addKeyClick(rng, out, release, 0.45 * level, resonanceHz * 1.1, thumpHz);
      cursorS += isSpace ? rng.range(0.15, 0.4) : rng.range(0.09, 0.22);
    }
    if (rng.uniform() < 0.3) cursorS += rng.range(0.5, 1.0);
  }
  const room = shapedNoise(rng, numSamples, -1, 50);
  return addScaled(out, room, (0.02 * rms(out)) / rms(room));
}

/** Traffic: low-passed brown rumble of distant traffic with slow swells, and vehicles passing
 * (Lorentzian level swell, broadband tyre noise, engine harmonics with a Doppler glide). */
function traffic(rng, numSamples) {
  const durationS = numSamples / SAMPLE_RATE;
  const rumble = biquad(shapedNoise(rng, numSamples, -2, 25), "lowpass", 400);
  const swell = slowRandom(rng, numSamples, 0.8);
  for (let i = 0; i < numSamples; i++) rumble[i] *= 1 + 0.3 * swell[i];
  const out = rumble;
  const baseLevel = rms(rumble);
  const vehicleCount = 3;
  for (let v = 0; v < vehicleCount; v++) {
    const passS = ((v + rng.range(0.2, 0.8)) * durationS) / vehicleCount;
    const widthS = rng.range(0.5, 1.2);
    const engineHz = rng.range(35, 80);
    const level = baseLevel * rng.range(1.5, 3);
    const tyres = biquad(biquad(whiteNoise(rng, numSamples), "bandpass", rng.range(600, 1100), 0.5), "lowpass", 2500);
    const tyreGain = 1 / rms(tyres);
    let enginePhase = 0;
    for (let i = 0; i < numSamples; i++) {
      const x = (i / SAMPLE_RATE - passS) / widthS;
      const envelope = 1 / (1 + x * x);
      // Doppler: pitch about 5% up while approaching, 5% down after passing.
      const dopplerHz = engineHz * (1 - 0.05 * Math.tanh(2 * x));
      enginePhase += (2 * Math.PI * dopplerHz) / SAMPLE_RATE;
      const engine = Math.sin(enginePhase) + 0.5 * Math.sin(2 * enginePhase) + 0.25 * Math.sin(3 * enginePhase);
      out[i] += level * envelope * (0.6 * tyreGain * tyres[i] + 0.5 * engine);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The bank

const LOOP_SAMPLES = 65536; // 4.096 s: power-of-two length, so the circular noises loop seamlessly

const SOUNDS = [
  { category: "noise", name: "white", numSamples: LOOP_SAMPLES, make: (rng, n) => shapedNoise(rng, n, 0),
    what: "White Gaussian noise (flat spectrum); loops seamlessly",
    how: "Gaussian samples (Box-Muller) with the DC bin removed" },
  { category: "noise", name: "pink", numSamples: LOOP_SAMPLES, make: (rng, n) => shapedNoise(rng, n, -1, 20),
    what: "Pink noise, PSD ∝ 1/f (−3 dB/oct); loops seamlessly",
    how: "White Gaussian noise shaped by f^−1/2 in the frequency domain (circular FFT), 20 Hz high-pass" },
  { category: "noise", name: "brown", numSamples: LOOP_SAMPLES, make: (rng, n) => shapedNoise(rng, n, -2, 20),
    what: "Brown (red) noise, PSD ∝ 1/f² (−6 dB/oct); loops seamlessly",
    how: "White Gaussian noise shaped by f^−1 in the frequency domain (circular FFT), 20 Hz high-pass" },
  { category: "noise", name: "blue", numSamples: LOOP_SAMPLES, make: (rng, n) => shapedNoise(rng, n, 1),
    what: "Blue noise, PSD ∝ f (+3 dB/oct); loops seamlessly",
    how: "White Gaussian noise shaped by f^+1/2 in the frequency domain (circular FFT)" },
  { category: "hum", name: "mains-50hz", numSamples: 5 * SAMPLE_RATE, make: (rng, n) => mainsHum(rng, n, 50),
    what: "50 Hz mains hum with harmonics up to 1.5 kHz and a faint noise floor",
    how: "Sum of 50 Hz harmonics (odd 0.7/h, even 0.35/h, random phases), 5% level wobble, pink floor at −35 dB" },
  { category: "hum", name: "mains-60hz", numSamples: 5 * SAMPLE_RATE, make: (rng, n) => mainsHum(rng, n, 60),
    what: "60 Hz mains hum with harmonics up to 1.5 kHz and a faint noise floor",
    how: "Sum of 60 Hz harmonics (odd 0.7/h, even 0.35/h, random phases), 5% level wobble, pink floor at −35 dB" },
  { category: "babble", name: "babble-6talkers", numSamples: 6 * SAMPLE_RATE, make: (rng, n) => babble(rng, n, 6),
    what: "Unintelligible babble of 6 synthetic talkers (3 low-, 3 high-pitched)",
    how: "Per talker: Rosenberg glottal pulses with random f0 contour → 4 Klatt formant resonators gliding between random vowel targets, fricative bursts, 4–6 Hz syllable envelope, pauses; summed at random levels (±3 dB)" },
  { category: "babble", name: "babble-8talkers", numSamples: 6 * SAMPLE_RATE, make: (rng, n) => babble(rng, n, 8),
    what: "Unintelligible babble of 8 synthetic talkers (4 low-, 4 high-pitched)",
    how: "As babble-6talkers, with 8 talkers and other random draws" },
  { category: "ambient", name: "fan-hvac", numSamples: 6 * SAMPLE_RATE, make: fanHvac,
    what: "Fan / HVAC: low rumbling airflow with a blade-pass tone",
    how: "White noise through two 700 Hz low-passes with slow level drift, 1.5 kHz+ hiss at −18 dB, blade-pass tone (~120 Hz) with 2 harmonics" },
  { category: "ambient", name: "rain", numSamples: 6 * SAMPLE_RATE, make: rain,
    what: "Rain-like patter",
    how: "Poisson train (~1800/s, gusting) of heavy-tailed random clicks → 500 Hz high-pass → 3.2 kHz band-pass + 7 kHz low-pass; ringing drop plinks; pink bed" },
  { category: "ambient", name: "keyboard", numSamples: 5 * SAMPLE_RATE, make: keyboard,
    what: "Keyboard typing clicks with pauses",
    how: "Press/release transients (noise burst through a 1.8–4.5 kHz key resonance + low thump) at typing rhythm, space bar, pauses; faint pink room tone" },
  { category: "ambient", name: "traffic", numSamples: 6 * SAMPLE_RATE, make: traffic,
    what: "Traffic-like rumble with slow swells and 3 passing vehicles",
    how: "Brown noise low-passed at 400 Hz with slow swells; vehicles: Lorentzian level swell, band-passed tyre noise, engine harmonics with ±5% Doppler glide" },
];

// ---------------------------------------------------------------------------------------------
// Measurement (of the quantised samples that are written)

function toInt16PeakNormalised(signal, peakDbfs) {
  let peak = 0;
  for (const v of signal) peak = Math.max(peak, Math.abs(v));
  const gain = (dbToGain(peakDbfs) * 32768) / peak;
  const pcm = new Int16Array(signal.length);
  for (let i = 0; i < signal.length; i++) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(signal[i] * gain)));
  return pcm;
}

function levelDbfs(value) {
  return (20 * Math.log(value)) / Math.LN10;
}

/** dBFS as 20·log10 of the sample RMS with full scale 32768 (a full-scale sine is −3.01 dBFS). */
function measureRmsDbfs(pcm) {
  let sum = 0;
  for (const v of pcm) sum += (v / 32768) ** 2;
  return levelDbfs(Math.sqrt(sum / pcm.length));
}

function measurePeakDbfs(pcm) {
  let peak = 0;
  for (const v of pcm) peak = Math.max(peak, Math.abs(v));
  return levelDbfs(peak / 32768);
}

const SLOPE_BANDS_HZ = Array.from({ length: 19 }, (_, i) => 100 * 2 ** (i / 3)); // 100 Hz … 6.4 kHz

/**
 * Spectral slope in dB/octave: Welch PSD (4096-point Hann, 50% overlap), averaged in third-octave
 * bands centred 100 Hz … 6.4 kHz, least-squares line of band level against log2(frequency).
 */
function measureSpectralSlopeDbPerOct(pcm) {
  const size = 4096;
  const window = Float64Array.from({ length: size }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size));
  const psd = new Float64Array(size / 2 + 1);
  for (let start = 0; start + size <= pcm.length; start += size / 2) {
    const re = new Float64Array(size);
    const im = new Float64Array(size);
    for (let i = 0; i < size; i++) re[i] = (pcm[start + i] / 32768) * window[i];
    fft(re, im);
    for (let k = 0; k <= size / 2; k++) psd[k] += re[k] * re[k] + im[k] * im[k];
  }
  const xs = [];
  const ys = [];
  for (const centreHz of SLOPE_BANDS_HZ) {
    const lo = Math.ceil((centreHz * 2 ** (-1 / 6) * size) / SAMPLE_RATE);
    const hi = Math.floor((centreHz * 2 ** (1 / 6) * size) / SAMPLE_RATE);
    let sum = 0;
    for (let k = lo; k <= hi; k++) sum += psd[k];
    xs.push(Math.log2(centreHz));
    ys.push(10 * Math.log10(sum / (hi - lo + 1)));
  }
  const meanX = xs.reduce((a, b) => a + b) / xs.length;
  const meanY = ys.reduce((a, b) => a + b) / ys.length;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - meanX) * (ys[i] - meanY);
    sxx += (xs[i] - meanX) ** 2;
  }
  return sxy / sxx;
}

// ---------------------------------------------------------------------------------------------
// Output

/** The project's FLAC encoder (src/audio/flac.ts), from the build. */
async function loadFlacEncoder() {
  const flacModule = new URL("../dist/audio/flac.js", import.meta.url);
  try {
    return (await import(flacModule.href)).encodeFlac;
  } catch (error) {
    throw new Error(`cannot load the FLAC encoder ${fileURLToPath(flacModule)} (${error.message}); ` +
      "build it first: npx tsc -p tsconfig.json");
  }
}

function parseArgs(argv) {
  const options = { out: join(HERE, "default") };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--out") options.out = resolve(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}; usage: generate.mjs [--out DIR]`);
  }
  return options;
}

/** One decimal with an explicit sign, and no "-0.0". */
function signed(value) {
  const text = value.toFixed(1);
  return text === "-0.0" || text === "0.0" ? "0.0" : value > 0 ? `+${text}` : text;
}

function renderReadme(rows) {
  const table = rows.map((r) =>
    `| \`${r.path}\` | ${r.category} | ${r.what} | ${r.how} | ${r.duration.toFixed(3)} | ${r.rmsDbfs.toFixed(1)} | ${signed(r.slope)} |`);
  return `# Default noise bank

A small bank of synthetic, speech-free noises bundled with augment, so that
\`npx augment run recipes/quickstart.yaml\` works offline on a fresh clone. The layout follows
MUSAN (\`<category>/<name>.flac\`); \`metadata.jsonl\` lists every file.

Every file is made by [\`../generate.mjs\`](../generate.mjs) from a seeded counter-based hash
(lowbias32), never \`Math.random\`, so regenerating gives byte-identical files:

    npx tsc -p tsconfig.json          # builds the project's FLAC encoder (dist/audio/flac.js)
    node noise-banks/generate.mjs     # rewrites noise-banks/default/ (add --out DIR to write elsewhere)

All files are ${SAMPLE_RATE / 1000} kHz, mono, 16-bit, peak-normalised to ${PEAK_DBFS} dBFS. The babble is not
speech: it is random vowel sequences from a formant synthesiser, 6 or 8 talkers at once, with no
words in it. The four \`noise/\` files are 65536 samples long and were synthesised circularly, so
they loop without a seam.

Levels: RMS dBFS is 20·log10(RMS) of the samples with full scale 32768 (so a full-scale sine would
be −3.01 dBFS). Spectral slope: Welch PSD (4096-point Hann, 50% overlap) averaged in third-octave
bands centred 100 Hz … 6.4 kHz, least-squares fit of band level against log2(frequency); it is a
descriptive figure for the non-noise files, whose spectra are not straight lines. Both are
measured by the generator on the written samples and repeated in \`metadata.jsonl\`.

| file | category | what it is | how it is made | duration (s) | RMS (dBFS) | slope (dB/oct) |
|---|---|---|---|---|---|---|
${table.join("\n")}

Licence: generated from scratch by the script in this repository; no recordings are used.
Released under the project's licence (MIT).
`;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const encodeFlac = await loadFlacEncoder();
  const rows = [];
  for (const sound of SOUNDS) {
    const id = `${sound.category}-${sound.name}`;
    const signal = sound.make(makeRng(id), sound.numSamples);
    const pcm = toInt16PeakNormalised(signal, PEAK_DBFS);
    const path = `${sound.category}/${sound.name}.flac`;
    mkdirSync(join(options.out, sound.category), { recursive: true });
    writeFileSync(join(options.out, path), encodeFlac(pcm, SAMPLE_RATE));
    rows.push({
      id, path, category: sound.category, what: sound.what, how: sound.how,
      duration: pcm.length / SAMPLE_RATE, numSamples: pcm.length,
      rmsDbfs: measureRmsDbfs(pcm), peakDbfs: measurePeakDbfs(pcm), slope: measureSpectralSlopeDbPerOct(pcm),
    });
  }
  const round2 = (v) => Math.round(v * 100) / 100;
  const metadata = rows.map((r) => JSON.stringify({
    id: r.id, path: r.path, category: r.category, duration: r.duration, sample_rate: SAMPLE_RATE,
    description: r.what, num_samples: r.numSamples, rms_dbfs: round2(r.rmsDbfs), peak_dbfs: round2(r.peakDbfs),
    spectral_slope_db_per_oct: round2(r.slope),
  }));
  writeFileSync(join(options.out, "metadata.jsonl"), metadata.join("\n") + "\n");
  writeFileSync(join(options.out, "README.md"), renderReadme(rows));
  for (const r of rows) {
    console.log(`${r.path.padEnd(28)} ${r.duration.toFixed(3)} s  rms ${r.rmsDbfs.toFixed(2)} dBFS  slope ${r.slope.toFixed(2)} dB/oct`);
  }
}

main().catch((error) => {
  console.error(`noise-banks/generate.mjs: ${error.message}`);
  process.exit(1);
});
