// FLAC encoder benchmark: speed (× realtime on one core) and size against Debian's `flac -5`,
// and optionally against a baseline build of the encoder, timed interleaved in the same process.
// Build first: npx tsc -p tsconfig.json   Then: node bench/flac.mjs [--runs N] [--baseline FILE.js]
// Signals: espeak-ng speech (when espeak-ng and sox are installed), the same speech over a
// recording-like noise floor, a synthetic formant "speech" signal (always), and full-scale white noise.
// All at 16 kHz, mono, 16 bit. flac runs with --no-padding --no-seektable so that both files hold
// the same metadata apart from flac's VORBIS_COMMENT; the "frames" column compares audio bytes only.
//
// Speed is CPU time of this process (process.cpuUsage), so other load on a shared machine skews it
// less than wall time would: each run encodes a signal repeatedly for at least 0.25 s of CPU, the
// figure is the median over --runs runs (default 7), and with --baseline the two encoders take turns
// run by run, the first alternating. A baseline is any ES module exporting encodeFlac, e.g. an
// older flac.ts built on its own (from the repository root):
//   mkdir -p /tmp/flac-base && git show REV:src/audio/flac.ts > /tmp/flac-base/flac.ts &&
//   npx tsc --strict --target es2022 --module nodenext --moduleResolution nodenext --types node \
//     --typeRoots node_modules/@types --outDir /tmp/flac-base /tmp/flac-base/flac.ts
//   node bench/flac.mjs --baseline /tmp/flac-base/flac.js
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { encodeFlac } from "../dist/audio/flac.js";

const { values: options } = parseArgs({
  options: { runs: { type: "string", default: "7" }, baseline: { type: "string" } },
});
const RUNS = Number(options.runs);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs must be a positive integer, got ${options.runs}`);
const baseline = options.baseline ? (await import(path.resolve(options.baseline))).encodeFlac : null;

const SAMPLE_RATE = 16000;
const dir = mkdtempSync(path.join(tmpdir(), "augment-bench-flac-"));

function lcg(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function toInt16(x, peak) {
  let max = 0;
  for (const v of x) max = Math.max(max, Math.abs(v));
  const scale = max > 0 ? (peak * 32767) / max : 0;
  return Int16Array.from(x, (v) => Math.max(-32768, Math.min(32767, Math.round(v * scale))));
}

/** Source-filter speech stand-in: glottal pulses through three formant resonators, fricative noise, pauses. */
function formantSpeech(seconds, seed) {
  const rnd = lcg(seed);
  const n = Math.round(seconds * SAMPLE_RATE);
  const out = new Float64Array(n);
  const resonator = (f, bw) => {
    const r = Math.exp((-Math.PI * bw) / SAMPLE_RATE);
    return { a1: 2 * r * Math.cos((2 * Math.PI * f) / SAMPLE_RATE), a2: -r * r, y1: 0, y2: 0 };
  };
  const step = (res, x) => {
    const y = x + res.a1 * res.y1 + res.a2 * res.y2;
    res.y2 = res.y1;
    res.y1 = y;
    return y;
  };
  let i = 0;
  let phase = 0;
  while (i < n) {
    const kind = rnd();
    const length = Math.min(n - i, Math.round((0.08 + 0.17 * rnd()) * SAMPLE_RATE));
    const f0 = 95 + 120 * rnd();
    const formants = [resonator(300 + 500 * rnd(), 80), resonator(900 + 1400 * rnd(), 110), resonator(2400 + 600 * rnd(), 160)];
    const fricative = resonator(4000 + 2000 * rnd(), 900);
    const gain = 0.3 + 0.7 * rnd();
    for (let k = 0; k < length; k++, i++) {
      const envelope = gain * Math.min(1, k / 160, (length - k) / 240);
      let v = 0;
      if (kind < 0.6) {
        phase += (f0 * (1 + 0.03 * Math.sin(i / 900))) / SAMPLE_RATE;
        const pulse = phase >= 1 ? 1 : 0;
        if (pulse) phase -= 1;
        const excitation = pulse + 0.02 * (rnd() - 0.5);
        v = formants.reduce((sum, res) => sum + step(res, excitation), 0) * 0.05;
      } else if (kind < 0.8) {
        v = step(fricative, rnd() - 0.5) * 0.08;
      }
      out[i] = envelope * v;
    }
  }
  return out;
}

function addNoiseFloor(pcm, dbfs, seed) {
  const rnd = lcg(seed);
  const amplitude = 32768 * 10 ** (dbfs / 20) * Math.sqrt(3); // uniform noise with this RMS
  return Int16Array.from(pcm, (v) => Math.max(-32768, Math.min(32767, Math.round(v + amplitude * (2 * rnd() - 1)))));
}

function espeakSpeech() {
  const text =
    "Speech recognition systems need large amounts of transcribed audio. Augmentation adds noise, " +
    "reverberation and telephone channels, so that a model trained on clean read speech still " +
    "understands a caller in a busy street or a meeting room with a distant microphone. " +
    "Each output utterance keeps its transcript, its speaker and a record of every operation applied.";
  const raw = path.join(dir, "espeak.wav");
  const resampled = path.join(dir, "espeak16k.raw");
  if (spawnSync("espeak-ng", ["-w", raw, text]).status !== 0) return null;
  const sox = spawnSync("sox", [raw, "-r", String(SAMPLE_RATE), "-b", "16", "-e", "signed", "-t", "raw", resampled]);
  if (sox.status !== 0) return null;
  const bytes = readFileSync(resampled);
  return new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

function whiteNoise(seconds, seed) {
  const rnd = lcg(seed);
  return Int16Array.from({ length: Math.round(seconds * SAMPLE_RATE) }, () => Math.floor(rnd() * 65536) - 32768);
}

/** Bytes before the first frame: "fLaC" plus every metadata block. */
function metadataBytes(flac) {
  let at = 4;
  for (;;) {
    const last = flac[at] & 0x80;
    at += 4 + ((flac[at + 1] << 16) | (flac[at + 2] << 8) | flac[at + 3]);
    if (last) return at;
  }
}

function referenceFlac(pcm) {
  const raw = path.join(dir, "in.raw");
  const out = path.join(dir, "ref.flac");
  writeFileSync(raw, new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength));
  execFileSync("flac", [
    "-5", "-s", "-f", "--no-padding", "--no-seektable",
    "--force-raw-format", "--endian=little", "--sign=signed", "--channels=1", "--bps=16",
    `--sample-rate=${SAMPLE_RATE}`, raw, "-o", out,
  ]);
  return new Uint8Array(readFileSync(out));
}

function cpuSeconds() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** CPU seconds per encode of pcm, over at least 0.25 s of CPU. */
function timeOnce(encode, pcm) {
  const start = cpuSeconds();
  let runs = 0;
  let elapsed = 0;
  do {
    encode(pcm, SAMPLE_RATE);
    runs++;
    elapsed = cpuSeconds() - start;
  } while (elapsed < 0.25);
  return elapsed / runs;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Median CPU seconds per encode for each encoder, the encoders taking turns run by run. */
function timeEncoders(encoders, pcm) {
  for (const encode of encoders) for (let k = 0; k < 3; k++) encode(pcm, SAMPLE_RATE); // warm up the JIT
  const times = encoders.map(() => []);
  for (let run = 0; run < RUNS; run++) {
    const order = encoders.map((_, i) => i);
    if (run % 2) order.reverse();
    for (const i of order) times[i].push(timeOnce(encoders[i], pcm));
  }
  return times.map(median);
}

const signals = [];
const speech = espeakSpeech();
if (speech) {
  signals.push(["speech (espeak-ng)", speech]);
  signals.push(["speech + noise floor -60 dBFS", addNoiseFloor(speech, -60, 3)]);
} else {
  console.log("(espeak-ng or sox not found: skipping the espeak speech signals)");
}
const formant = toInt16(formantSpeech(20, 7), 0.5);
signals.push(["formant speech (synthetic)", formant]);
signals.push(["formant speech + noise floor -60 dBFS", addNoiseFloor(formant, -60, 4)]);
signals.push(["white noise, full scale", whiteNoise(20, 11)]);

const flacVersion = execFileSync("flac", ["--version"], { encoding: "utf8" }).trim();
console.log(
  `encodeFlac vs ${flacVersion} -5, ${SAMPLE_RATE} Hz mono 16-bit, node ${process.version}, one core, ` +
    `median of ${RUNS} runs (CPU time)${baseline ? `, baseline ${options.baseline}` : ""}`,
);
const header = ["signal".padEnd(40), "seconds", "×realtime", "Msamples/s"];
if (baseline) header.push("base ×rt", "speedup");
header.push("ours B");
if (baseline) header.push("base B", "vs base");
header.push("flac -5 B", "ratio", "frames ratio");
console.log(header.join("  "));
const totals = { seconds: 0, ours: 0, base: 0, oursBytes: 0, baseBytes: 0, refBytes: 0 };
for (const [name, pcm] of signals) {
  const seconds = pcm.length / SAMPLE_RATE;
  const [perRunS, basePerRunS] = timeEncoders(baseline ? [encodeFlac, baseline] : [encodeFlac], pcm);
  const ours = encodeFlac(pcm, SAMPLE_RATE);
  const ref = referenceFlac(pcm);
  const ratio = ours.length / ref.length;
  const framesRatio = (ours.length - metadataBytes(ours)) / (ref.length - metadataBytes(ref));
  const row = [
    name.padEnd(40),
    seconds.toFixed(1).padStart(7),
    (seconds / perRunS).toFixed(0).padStart(9),
    (pcm.length / perRunS / 1e6).toFixed(2).padStart(10),
  ];
  const baseBytes = baseline ? baseline(pcm, SAMPLE_RATE).length : 0;
  if (baseline) row.push((seconds / basePerRunS).toFixed(0).padStart(8), (basePerRunS / perRunS).toFixed(2).padStart(7));
  row.push(String(ours.length).padStart(6));
  if (baseline) row.push(String(baseBytes).padStart(6), (ours.length / baseBytes).toFixed(4).padStart(7));
  row.push(String(ref.length).padStart(9), ratio.toFixed(4).padStart(5), framesRatio.toFixed(4).padStart(12));
  console.log(row.join("  "));
  if (!name.startsWith("white noise")) {
    totals.seconds += seconds;
    totals.ours += perRunS;
    totals.base += basePerRunS ?? 0;
    totals.oursBytes += ours.length;
    totals.baseBytes += baseBytes;
    totals.refBytes += ref.length;
  }
}
const summary = [
  `speech-like signals together: ${(totals.seconds / totals.ours).toFixed(0)}× realtime`,
  `${totals.oursBytes} B (${(totals.oursBytes / totals.refBytes).toFixed(4)} of flac -5)`,
];
if (baseline) {
  summary.push(
    `baseline ${(totals.seconds / totals.base).toFixed(0)}× realtime, speedup ${(totals.base / totals.ours).toFixed(2)}`,
    `size vs baseline ${(totals.oursBytes / totals.baseBytes).toFixed(4)}`,
  );
}
console.log(summary.join(", "));
rmSync(dir, { recursive: true, force: true });
