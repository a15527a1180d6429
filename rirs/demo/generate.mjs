#!/usr/bin/env node
// Generates augment's bundled demo room impulse responses: rirs/demo/<id>.flac, metadata.jsonl
// and README.md. They are simple synthetic placeholders until the image-source room simulator
// exists: a fractional-delay direct path, a few discrete early reflections and an exponentially
// decaying Gaussian tail with a chosen RT60 and direct-to-reverberant ratio (DRR).
//
//   node rirs/demo/generate.mjs [--out DIR]
//
// Every sample is a pure function of the ROOMS table and a counter-based hash (no Math.random),
// so a re-run gives byte-identical files; test/bundled-data.test.ts checks that with --out.
// FLAC output uses the project's encoder, so build first: npx tsc -p tsconfig.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const SEED = "augment/rirs/demo/v1";
const SAMPLE_RATE = 16000;
const PEAK_DBFS = -1;
/** Half-width of the window around the direct-path peak counted as "direct" in the DRR. */
const DRR_DIRECT_HALF_WINDOW_S = 0.0025;
/** Half-length in taps of the Blackman-windowed sinc used for fractional delays. */
const SINC_HALF_TAPS = 16;

// Delays in samples are deliberately fractional; DRR falls as the room gets more reverberant,
// as it does for a talker 1-3 m away in rooms of growing size.
const ROOMS = [
  { id: "rir-rt020", rt60S: 0.2, directDelaySamples: 37.4, drrDb: 9, label: "small, damped room (car, booth)" },
  { id: "rir-rt030", rt60S: 0.3, directDelaySamples: 49.7, drrDb: 6, label: "furnished office" },
  { id: "rir-rt040", rt60S: 0.4, directDelaySamples: 62.3, drrDb: 4, label: "living room" },
  { id: "rir-rt050", rt60S: 0.5, directDelaySamples: 76.5, drrDb: 2, label: "meeting room" },
  { id: "rir-rt060", rt60S: 0.6, directDelaySamples: 89.2, drrDb: 0, label: "classroom" },
  { id: "rir-rt075", rt60S: 0.75, directDelaySamples: 107.6, drrDb: -2, label: "large, hard room" },
  { id: "rir-rt090", rt60S: 0.9, directDelaySamples: 126.3, drrDb: -4, label: "hall, far talker" },
];

// ---------------------------------------------------------------------------------------------
// Deterministic randomness (same construction as noise-banks/generate.mjs)

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

/** Counter-based generator: draw i of stream `name` is hash(hash(i ^ k1) ^ k2). */
function makeRng(name) {
  const k1 = hash32(fnv1a32(`${SEED}/${name}`));
  const k2 = hash32((k1 ^ 0x9e3779b9) >>> 0);
  let counter = 0;
  let spareNormal = null;
  const uniform = () => (hash32((hash32((counter++ ^ k1) >>> 0) ^ k2) >>> 0) + 0.5) / 4294967296;
  return {
    uniform,
    range: (lo, hi) => lo + (hi - lo) * uniform(),
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

// ---------------------------------------------------------------------------------------------
// Synthesis

/** Adds gain·δ(n − delaySamples) band-limited: a Blackman-windowed sinc centred on the delay. */
function addFractionalImpulse(out, delaySamples, gain) {
  const centre = Math.floor(delaySamples);
  for (let n = centre - SINC_HALF_TAPS + 1; n <= centre + SINC_HALF_TAPS; n++) {
    if (n < 0 || n >= out.length) continue;
    const x = n - delaySamples;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    const phase = (Math.PI * x) / SINC_HALF_TAPS; // window spans |x| ≤ SINC_HALF_TAPS
    const window = Math.abs(x) >= SINC_HALF_TAPS ? 0 : 0.42 + 0.5 * Math.cos(phase) + 0.08 * Math.cos(2 * phase);
    out[n] += gain * sinc * window;
  }
}

function energyInsideOutside(signal, lo, hi) {
  let inside = 0, outside = 0;
  for (let n = 0; n < signal.length; n++) {
    const e = signal[n] * signal[n];
    if (n >= lo && n <= hi) inside += e;
    else outside += e;
  }
  return [inside, outside];
}

/**
 * The direct path (deterministic) plus a reverberant part (early reflections and a decaying
 * noise tail, at unit level), then the reverberant gain that gives the wanted DRR, found by
 * bisection because part of the tail falls inside the direct window.
 */
function synthesiseRir(room) {
  const rng = makeRng(room.id);
  const length = Math.round((room.rt60S + 0.1) * SAMPLE_RATE);
  const direct = new Float64Array(length);
  addFractionalImpulse(direct, room.directDelaySamples, 1);
  // Amplitude envelope exp(−6.9·t/RT60): the energy falls 60 dB in RT60.
  const envelope = (delaySamples) => Math.exp((-6.9 * (delaySamples - room.directDelaySamples)) / SAMPLE_RATE / room.rt60S);

  // Early reflections arrive 4 ms to 4 + (12 + 25·RT60) ms after the direct sound (later in
  // bigger rooms), one in each fifth of that span. The diffuse tail builds up over the same span
  // (sin² onset), and each reflection gets exactly the tail energy that the build-up removed
  // from its fifth, so the expected energy decay stays exponential from the direct sound on and
  // the Schroeder T20 matches the design RT60 even in the smallest room.
  const reflectionCount = 5;
  const spanMs = 12 + 25 * room.rt60S;
  const boundaryMs = (r) => (r === 0 ? 0 : 4 + (spanMs * r) / reflectionCount);
  const buildUpSamples = (boundaryMs(reflectionCount) * SAMPLE_RATE) / 1000;
  const buildUp = (n) => {
    const p = (n - room.directDelaySamples) / buildUpSamples;
    return p <= 0 ? 0 : p >= 1 ? 1 : Math.sin((Math.PI / 2) * p) ** 2;
  };

  const reverberant = new Float64Array(length);
  for (let n = Math.ceil(room.directDelaySamples); n < length; n++) reverberant[n] = rng.normal() * envelope(n) * buildUp(n);

  for (let r = 0; r < reflectionCount; r++) {
    const from = room.directDelaySamples + (boundaryMs(r) * SAMPLE_RATE) / 1000;
    const to = room.directDelaySamples + (boundaryMs(r + 1) * SAMPLE_RATE) / 1000;
    let deficitEnergy = 0;
    for (let n = Math.ceil(from); n < to; n++) deficitEnergy += envelope(n) ** 2 * (1 - buildUp(n) ** 2);
    const delayMs = 4 + (spanMs * (r + rng.range(0.1, 0.9))) / reflectionCount;
    addFractionalImpulse(reverberant, room.directDelaySamples + (delayMs * SAMPLE_RATE) / 1000, Math.sqrt(deficitEnergy));
  }

  const peak = Math.round(room.directDelaySamples);
  const halfWindow = Math.round(DRR_DIRECT_HALF_WINDOW_S * SAMPLE_RATE);
  const mix = (reverberantGain) => direct.map((v, n) => v + reverberantGain * reverberant[n]);
  const drrDbOf = (signal) => {
    const [inside, outside] = energyInsideOutside(signal, peak - halfWindow, peak + halfWindow);
    return 10 * Math.log10(inside / outside);
  };
  let lo = 0, hi = 100;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (drrDbOf(mix(mid)) > room.drrDb) lo = mid;
    else hi = mid;
  }
  return mix((lo + hi) / 2);
}

// ---------------------------------------------------------------------------------------------
// Measurement (of the quantised samples that are written; test/bundled-data.test.ts repeats it
// independently with numpy)

function toInt16PeakNormalised(signal) {
  let peak = 0;
  for (const v of signal) peak = Math.max(peak, Math.abs(v));
  const gain = (10 ** (PEAK_DBFS / 20) * 32768) / peak;
  return Int16Array.from(signal, (v) => Math.max(-32768, Math.min(32767, Math.round(v * gain))));
}

function argmaxAbs(pcm) {
  let best = 0;
  for (let n = 1; n < pcm.length; n++) if (Math.abs(pcm[n]) > Math.abs(pcm[best])) best = n;
  return best;
}

/** DRR in dB: energy within ±2.5 ms of the direct-path peak sample against all the rest. */
function measureDrrDb(pcm) {
  const peak = argmaxAbs(pcm);
  const halfWindow = Math.round(DRR_DIRECT_HALF_WINDOW_S * SAMPLE_RATE);
  const [inside, outside] = energyInsideOutside(pcm, peak - halfWindow, peak + halfWindow);
  return 10 * Math.log10(inside / outside);
}

/**
 * RT60 from Schroeder backward integration (ISO 3382-1 T20): the energy decay curve
 * EDC(n) = Σ_{m≥n} h²(m) in dB re its start, a least-squares line fitted from the first sample
 * at or below −5 dB to the first at or below −25 dB, extrapolated to −60 dB.
 */
function measureRt60T20S(pcm) {
  const edc = new Float64Array(pcm.length);
  let sum = 0;
  for (let n = pcm.length - 1; n >= 0; n--) edc[n] = sum += pcm[n] * pcm[n];
  const edcDb = Array.from(edc, (e) => 10 * Math.log10(e / edc[0]));
  const start = edcDb.findIndex((v) => v <= -5);
  const end = edcDb.findIndex((v) => v <= -25);
  let sx = 0, sy = 0, sxx = 0, sxy = 0;
  const count = end - start + 1;
  for (let n = start; n <= end; n++) {
    const t = n / SAMPLE_RATE;
    sx += t; sy += edcDb[n]; sxx += t * t; sxy += t * edcDb[n];
  }
  const slopeDbPerS = (count * sxy - sx * sy) / (count * sxx - sx * sx);
  return -60 / slopeDbPerS;
}

// ---------------------------------------------------------------------------------------------
// Output

/** The project's FLAC encoder (src/audio/flac.ts), from the build. */
async function loadFlacEncoder() {
  const flacModule = new URL("../../dist/audio/flac.js", import.meta.url);
  try {
    return (await import(flacModule.href)).encodeFlac;
  } catch (error) {
    throw new Error(`cannot load the FLAC encoder ${fileURLToPath(flacModule)} (${error.message}); ` +
      "build it first: npx tsc -p tsconfig.json");
  }
}

function parseArgs(argv) {
  const options = { out: HERE };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--out") options.out = resolve(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}; usage: generate.mjs [--out DIR]`);
  }
  return options;
}

function renderReadme(rows) {
  const table = rows.map((r) =>
    `| \`${r.path}\` | ${r.label} | ${r.rt60S.toFixed(2)} | ${r.rt60MeasuredS.toFixed(3)} | ${r.directDelaySamples} (${(r.directDelaySamples / SAMPLE_RATE * 1000).toFixed(2)} ms) | ${r.drrDb.toFixed(2)} | ${r.duration.toFixed(2)} |`);
  return `# Demo room impulse responses

Seven synthetic room impulse responses (RIRs) bundled with augment so that the reverb op works
offline on a fresh clone. They are **placeholders** until the image-source room simulator
exists: each is a direct path, five discrete early reflections and a diffuse tail, not a
simulation of a particular room geometry.

Made by [\`generate.mjs\`](generate.mjs) from a seeded counter-based hash (lowbias32), never
\`Math.random\`, so regenerating gives byte-identical files:

    npx tsc -p tsconfig.json          # builds the project's FLAC encoder (dist/audio/flac.js)
    node rirs/demo/generate.mjs       # rewrites rirs/demo/ (add --out DIR to write elsewhere)

How each RIR is built (${SAMPLE_RATE / 1000} kHz, mono, 16-bit FLAC; length RT60 + 0.1 s):

- **Direct path** at a fractional delay of 2.3–7.9 ms (\`direct_delay_samples\`), as a
  ${2 * SINC_HALF_TAPS}-tap Blackman-windowed sinc. The largest sample is the direct path's, within
  one sample of \`direct_delay_samples\` (a float); the reverb op can compensate that delay to
  keep labels aligned.
- **Early reflections**: five windowed-sinc impulses 4 ms to (16 + 25·RT60) ms after the direct
  sound, each with the energy of 1–2 ms of the tail at its time, so they stand out as discrete
  spikes but follow the same exponential decay.
- **Diffuse tail**: Gaussian noise under an amplitude envelope exp(−6.9·t/RT60) (energy falls
  60 dB in RT60), starting at the direct sound and building up over 10 ms, scaled so the DRR hits
  its target.
- **Normalisation**: peak at ${PEAK_DBFS} dBFS. 16-bit quantisation puts the floor about 96 dB
  below full scale (the usual 16-bit figure; 1 LSB is −90.3 dBFS and the rounding noise RMS is
  about −101 dBFS), so the last part of each tail, more than ~90 dB below the peak, is rounded
  to zero. This does not touch the T20 range (−5 to −25 dB).

Measured on the written samples (the test repeats these measurements with numpy):

- \`drr_db\`: direct-to-reverberant ratio, energy within ±${DRR_DIRECT_HALF_WINDOW_S * 1000} ms of the direct-path
  peak sample against the energy of everything else.
- \`rt60_measured_s\`: Schroeder backward integration, least-squares fit of the energy decay curve
  from −5 to −25 dB (T20), extrapolated to −60 dB. \`rt60_s\` is the design value.

| file | meant to resemble | rt60_s | rt60_measured_s (T20) | direct delay (samples) | DRR (dB) | duration (s) |
|---|---|---|---|---|---|---|
${table.join("\n")}

The tail is spectrally white (the same RT60 at all frequencies), unlike real rooms, where high
frequencies decay faster. Use these for smoke tests and demos, not for training claims.

Licence: generated from scratch by the script in this repository; released under the project's
licence (MIT).
`;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const encodeFlac = await loadFlacEncoder();
  mkdirSync(options.out, { recursive: true });
  const rows = [];
  for (const room of ROOMS) {
    const pcm = toInt16PeakNormalised(synthesiseRir(room));
    const path = `${room.id}.flac`;
    writeFileSync(join(options.out, path), encodeFlac(pcm, SAMPLE_RATE));
    rows.push({
      ...room, path, duration: pcm.length / SAMPLE_RATE, numSamples: pcm.length,
      peakSample: argmaxAbs(pcm), rt60MeasuredS: measureRt60T20S(pcm), drrDb: measureDrrDb(pcm),
    });
  }
  const metadata = rows.map((r) => JSON.stringify({
    id: r.id, path: r.path, rt60_s: r.rt60S, rt60_measured_s: Math.round(r.rt60MeasuredS * 1000) / 1000,
    direct_delay_samples: r.directDelaySamples, drr_db: Math.round(r.drrDb * 100) / 100, sample_rate: SAMPLE_RATE,
    duration: r.duration, num_samples: r.numSamples,
  }));
  writeFileSync(join(options.out, "metadata.jsonl"), metadata.join("\n") + "\n");
  writeFileSync(join(options.out, "README.md"), renderReadme(rows));
  for (const r of rows) {
    console.log(`${r.path.padEnd(16)} rt60 ${r.rt60S.toFixed(2)} s, T20 ${r.rt60MeasuredS.toFixed(3)} s, ` +
      `peak at ${r.peakSample} (delay ${r.directDelaySamples}), DRR ${r.drrDb.toFixed(2)} dB (target ${ROOMS.find((x) => x.id === r.id).drrDb})`);
  }
}

main().catch((error) => {
  console.error(`rirs/demo/generate.mjs: ${error.message}`);
  process.exit(1);
});
