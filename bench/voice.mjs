// Throughput of the voice-perturbation kernels (tempo, pitch, vtlp, and for reference formant,
// prosody, accent) against Debian sox `tempo` / `pitch`, timed in the same run, per core.
//
//   npx tsc -p tsconfig.json && node bench/voice.mjs [--seconds 60] [--runs 7] [--espeak] [--quality [--scan]]
//
// Input: `--seconds` of 16 kHz speech-like audio (a vowel source-filter model with moving f0 and
// formants, syllable envelope, aspiration and fricative bursts, generated here), or with
// `--espeak` sentences rendered by espeak-ng (if installed) and resampled to 16 kHz by sox.
// Every figure is the median of `--runs` runs after 2 warm-up runs; runs of ours and of sox are
// interleaved so both see the same machine load. "x realtime per core" = seconds of audio per
// CPU second: ours from process.cpuUsage() around the kernel (single-threaded JS, no I/O); sox
// from /usr/bin/time's user + sys for `sox in.wav -n <effect>` minus the same for
// `sox in.wav -n` (start-up and WAV reading), so both count only the effect; sox reads the input
// repeated 10 times so its time spans many 10 ms clock ticks. Wall-clock figures are printed too.
//
// `--quality` adds the tempo-algorithm comparison behind src/ops/tempo.ts (WSOLA, phase vocoder,
// sox tempo): log-mel distance to the time-mapped input with a +-12 ms tolerance, energy between
// the harmonics of a stretched harmonic complex, click compactness; `--scan` adds the same
// measures for WSOLA frame lengths and search tolerances.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] && !args[i + 1].startsWith("--") ? Number(args[i + 1]) : fallback;
};
const SECONDS = opt("seconds", 60);
const RUNS = opt("runs", 7);
const WARMUP = 2;
const SR = 16000;

const dist = new URL("../dist/audio/", import.meta.url);
if (!existsSync(new URL("wsola.js", dist))) {
  console.error("dist/audio/wsola.js is missing: run `npx tsc -p tsconfig.json` first");
  process.exit(1);
}
const load = (file) => import(new URL(file, dist).href);
const { tempoStretch, wsola } = await load("wsola.js");
const { pitchShift } = await load("pitch.js");
const { vtlp } = await load("vtlp.js");
const { warpEnvelope } = await load("envelope.js");
const { prosody } = await load("prosody.js");
const { phaseVocoder } = await load("pvoc.js");
const FFT = (await import("fft.js")).default;

const hasSox = spawnSync("sox", ["--version"]).status === 0;
const hasTime = existsSync("/usr/bin/time");
const tmp = mkdtempSync(path.join(tmpdir(), "augment-voice-bench-"));

// --- input ------------------------------------------------------------------------------------
function lcg(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Speech-like: pulse train (f0 contour) + aspiration through moving formants, syllable envelope, fricative bursts. */
function speechLike(seconds, seed = 1) {
  const n = Math.round(seconds * SR);
  const rnd = lcg(seed);
  const src = new Float64Array(n);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / SR;
    phase += (115 + 30 * Math.sin(2 * Math.PI * 0.31 * t) + 10 * Math.sin(2 * Math.PI * 2.3 * t)) / SR;
    if (phase >= 1) {
      phase -= 1;
      src[i] += 1;
    }
    src[i] += 0.03 * (2 * rnd() - 1);
  }
  let y = src;
  const formants = [
    (t) => [550 + 250 * Math.sin(2 * Math.PI * 1.7 * t), 80],
    (t) => [1500 + 500 * Math.sin(2 * Math.PI * 1.1 * t + 1), 110],
    (t) => [2550 + 200 * Math.sin(2 * Math.PI * 0.6 * t), 150],
    () => [3500, 220],
  ];
  for (const f of formants) {
    const out = new Float64Array(n);
    let y1 = 0;
    let y2 = 0;
    for (let i = 0; i < n; i++) {
      const [hz, bw] = f(i / SR);
      const r = Math.exp((-Math.PI * bw) / SR);
      const v = (1 - r) * y[i] + 2 * r * Math.cos((2 * Math.PI * hz) / SR) * y1 - r * r * y2;
      out[i] = v;
      y2 = y1;
      y1 = v;
    }
    y = out;
  }
  const x = new Float32Array(n);
  let peak = 0;
  for (let i = 0; i < n; i++) {
    const t = i / SR;
    const syllable = Math.max(0, Math.sin(2 * Math.PI * 2.1 * t)) ** 0.6;
    // A 60 ms fricative burst every 0.95 s: high-passed noise.
    const burst = t % 0.95 < 0.06 ? 0.15 * (2 * rnd() - 1) * (1 - Math.cos((2 * Math.PI * (t % 0.95)) / 0.06)) : 0;
    x[i] = y[i] * (0.1 + 0.9 * syllable) + burst;
    peak = Math.max(peak, Math.abs(x[i]));
  }
  for (let i = 0; i < n; i++) x[i] *= 0.5 / peak;
  return x;
}

function writeWav16(file, x) {
  const n = x.length;
  const b = Buffer.alloc(44 + 2 * n);
  b.write("RIFF", 0);
  b.writeUInt32LE(36 + 2 * n, 4);
  b.write("WAVEfmt ", 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(SR, 24);
  b.writeUInt32LE(SR * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write("data", 36);
  b.writeUInt32LE(2 * n, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(x[i] * 32767))), 44 + 2 * i);
  writeFileSync(file, b);
}

function readWav16(file) {
  const b = readFileSync(file);
  let off = 12;
  while (b.toString("ascii", off, off + 4) !== "data") off += 8 + b.readUInt32LE(off + 4);
  const n = Math.floor(Math.min(b.readUInt32LE(off + 4), b.length - off - 8) / 2);
  return Float32Array.from({ length: n }, (_, i) => b.readInt16LE(off + 8 + 2 * i) / 32768);
}

const ESPEAK_TEXT = [
  ["en-us", "The quick brown fox jumps over the lazy dog. She sells sea shells by the sea shore, and Peter Piper picked a peck of pickled peppers."],
  ["en-us+f3", "Twelve big boxes of chocolate arrived at the station yesterday afternoon, while it was still raining."],
  ["en-us -p 5", "Nobody knew where the old man had gone, but the dog waited by the door every evening."],
];

function espeakVoices() {
  if (spawnSync("espeak-ng", ["--version"]).status !== 0 || !hasSox) return null;
  return ESPEAK_TEXT.map(([voice, text], i) => {
    const [v, ...extra] = voice.split(" ");
    const raw = path.join(tmp, `espeak-${i}.wav`);
    const wav = path.join(tmp, `espeak-${i}-16k.wav`);
    spawnSync("espeak-ng", ["-v", v, ...extra, "-s", "155", "-w", raw, text]);
    spawnSync("sox", [raw, "-r", String(SR), wav]);
    return { name: voice, x: readWav16(wav) };
  });
}

let input;
let inputLabel;
const voices = args.includes("--espeak") || args.includes("--quality") ? espeakVoices() : null;
if (args.includes("--espeak") && voices) {
  const n = SECONDS * SR;
  input = new Float32Array(n);
  for (let at = 0, k = 0; at < n; k++) {
    const v = voices[k % voices.length].x;
    input.set(v.subarray(0, Math.min(v.length, n - at)), at);
    at += v.length;
  }
  inputLabel = `${SECONDS} s of espeak-ng speech (3 voices), 16 kHz`;
} else {
  input = speechLike(SECONDS);
  inputLabel = `${SECONDS} s of synthetic speech-like audio, 16 kHz`;
}
const inputWav = path.join(tmp, "input.wav");
writeWav16(inputWav, input);
// Both sides process the same 16-bit samples.
input = readWav16(inputWav);
// sox gets the input SOX_REPEAT times over, so its CPU time spans many of /usr/bin/time's 10 ms ticks.
const SOX_REPEAT = 10;
const soxWav = path.join(tmp, "input-x10.wav");
{
  const long = new Float32Array(input.length * SOX_REPEAT);
  for (let i = 0; i < SOX_REPEAT; i++) long.set(input, i * input.length);
  writeWav16(soxWav, long);
}

// --- timing -----------------------------------------------------------------------------------
function timeOurs(fn) {
  const a = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wallMs = performance.now() - t0;
  const d = process.cpuUsage(a);
  return { cpuMs: (d.user + d.system) / 1e3, wallMs };
}

function timeSox(effect) {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %U %S", "sox", soxWav, "-n", ...effect], { encoding: "utf8" });
  const last = r.stderr.trim().split("\n").pop().split(" ").map(Number);
  if (r.status !== 0 || last.length !== 3 || last.some((v) => !Number.isFinite(v))) throw new Error(`sox ${effect.join(" ")} failed: ${r.stderr}`);
  return { wallMs: last[0] * 1e3, cpuMs: (last[1] + last[2]) * 1e3 };
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

const cases = [
  { task: "tempo 1.1", ours: () => tempoStretch(input, SR, 1.1), sox: ["tempo", "1.1"] },
  { task: "tempo 0.9", ours: () => tempoStretch(input, SR, 0.9), sox: ["tempo", "0.9"] },
  { task: "pitch +2 st", ours: () => pitchShift(input, SR, 2), sox: ["pitch", "200"] },
  { task: "pitch -2 st", ours: () => pitchShift(input, SR, -2), sox: ["pitch", "-200"] },
  { task: "vtlp 1.1", ours: () => vtlp(input, SR, 1.1) },
  { task: "vtlp 0.9", ours: () => vtlp(input, SR, 0.9) },
  { task: "pitch +2 st, preserve_formants", ours: () => pitchShift(input, SR, 2, { preserveFormants: true }) },
  { task: "formant 1.1", ours: () => warpEnvelope(input, SR, 1.1) },
  {
    task: "prosody (tempo 0.85-1.15, +-2 st, every 0.8 s)",
    ours: () => {
      const points = Math.ceil(SECONDS / 0.8) + 1;
      const rnd = lcg(7);
      return prosody(input, SR, { stepS: 0.8, tempo: Array.from({ length: points }, () => 0.85 + 0.3 * rnd()), semitones: Array.from({ length: points }, () => -2 + 4 * rnd()) });
    },
  },
];

const canTimeSox = hasSox && hasTime;
const results = cases.map((c) => ({ ...c, oursRuns: [], soxRuns: [] }));
const baselineRuns = [];
for (let run = 0; run < WARMUP + RUNS; run++) {
  const warm = run >= WARMUP;
  if (canTimeSox) {
    const b = timeSox([]);
    if (warm) baselineRuns.push(b);
  }
  for (const r of results) {
    const t = timeOurs(r.ours);
    if (warm) r.oursRuns.push(t);
    if (r.sox && canTimeSox) {
      const s = timeSox(r.sox);
      if (warm) r.soxRuns.push(s);
    }
  }
}

const baseCpu = canTimeSox ? median(baselineRuns.map((b) => b.cpuMs)) : 0;
const baseWall = canTimeSox ? median(baselineRuns.map((b) => b.wallMs)) : 0;
const xrt = (ms) => (ms > 0 ? (SECONDS * 1000) / ms : Infinity);
const fmt = (v) => (Number.isFinite(v) ? v.toFixed(0) : "—");
console.log(`augment voice ops vs sox ${hasSox ? spawnSync("sox", ["--version"], { encoding: "utf8" }).stdout.trim().replace(/^sox:\s*/, "") : "(absent)"}, Node ${process.version}`);
console.log(`input: ${inputLabel}; median of ${RUNS} runs after ${WARMUP} warm-up; x realtime per core = audio s / CPU s`);
if (canTimeSox) console.log(`sox runs on the input repeated ${SOX_REPEAT}x (${SECONDS * SOX_REPEAT} s); its start-up + WAV read, subtracted: ${baseCpu.toFixed(0)} ms CPU, ${baseWall.toFixed(0)} ms wall; sox figures are per ${SECONDS} s`);
console.log("");
console.log(`| task | augment x RT/core | sox x RT/core | augment / sox | augment wall ms per ${SECONDS} s | sox wall ms per ${SECONDS} s (net) |`);
console.log("|---|---:|---:|---:|---:|---:|");
const rows = [];
for (const r of results) {
  const ours = median(r.oursRuns.map((t) => t.cpuMs));
  const oursWall = median(r.oursRuns.map((t) => t.wallMs));
  // Per SECONDS of audio, like ours.
  const sox = r.soxRuns.length ? Math.max(0.5, median(r.soxRuns.map((t) => t.cpuMs)) - baseCpu) / SOX_REPEAT : NaN;
  const soxWall = r.soxRuns.length ? (median(r.soxRuns.map((t) => t.wallMs)) - baseWall) / SOX_REPEAT : NaN;
  const ratio = Number.isFinite(sox) ? xrt(ours) / xrt(sox) : NaN;
  rows.push({ task: r.task, augmentCpuMs: ours, augmentWallMs: oursWall, augmentXrt: xrt(ours), soxCpuMs: sox, soxWallMs: soxWall, soxXrt: Number.isFinite(sox) ? xrt(sox) : null, ratio: Number.isFinite(ratio) ? ratio : null });
  console.log(`| ${r.task} | ${fmt(xrt(ours))} | ${Number.isFinite(sox) ? fmt(xrt(sox)) : "—"} | ${Number.isFinite(ratio) ? ratio.toFixed(2) : "—"} | ${oursWall.toFixed(1)} | ${Number.isFinite(soxWall) ? soxWall.toFixed(1) : "—"} |`);
}

// --- quality: tempo algorithm choice ----------------------------------------------------------
let quality = null;
if (args.includes("--quality")) {
  const hann = (n) => Float64Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
  const mel = (f) => 2595 * Math.log10(1 + f / 700);
  const imel = (m) => 700 * (10 ** (m / 2595) - 1);
  const edges = Array.from({ length: 42 }, (_, i) => imel(mel(50) + ((mel(7000) - mel(50)) * i) / 41));
  const bank = Array.from({ length: 40 }, (_, b) =>
    Float64Array.from({ length: 257 }, (_, k) => {
      const f = (k * SR) / 512;
      if (!(f > edges[b] && f < edges[b + 2])) return 0;
      return f <= edges[b + 1] ? (f - edges[b]) / (edges[b + 1] - edges[b]) : (edges[b + 2] - f) / (edges[b + 2] - edges[b + 1]);
    }),
  );
  const fft512 = new FFT(512);
  const w512 = hann(512);
  const frame = new Float64Array(512);
  const spec = fft512.createComplexArray();
  const melAt = (s, centre) => {
    const c = Math.round(centre);
    for (let i = 0; i < 512; i++) frame[i] = (s[c - 256 + i] ?? 0) * w512[i];
    fft512.realTransform(spec, frame);
    return bank.map((w) => {
      let e = 0;
      for (let k = 0; k <= 256; k++) if (w[k]) e += w[k] * (spec[2 * k] ** 2 + spec[2 * k + 1] ** 2);
      return 10 * Math.log10(e + 1e-9);
    });
  };
  // Log-mel distance (dB) of each output frame to the best input frame within +-12 ms of t * r.
  const melFidelity = (x, y, r) => {
    const ref = [];
    for (let c = 0; c <= x.length + 512; c += 32) ref.push(melAt(x, c));
    const rowsQ = [];
    let loud = -Infinity;
    for (let u = 512; u + 512 < y.length; u += 128) {
      const out = melAt(y, u);
      const centre = Math.round((u * r) / 32);
      let best = Infinity;
      for (let d = -6; d <= 6; d++) {
        const a = ref[centre + d];
        if (a) best = Math.min(best, Math.sqrt(a.reduce((acc, v, i) => acc + (v - out[i]) ** 2, 0) / 40));
      }
      const level = Math.max(...(ref[centre] ?? [-Infinity]));
      loud = Math.max(loud, level);
      rowsQ.push([best, level]);
    }
    const kept = rowsQ.filter(([, l]) => l > loud - 50);
    return kept.reduce((a, [d]) => a + d, 0) / kept.length;
  };
  const harmonic = (seconds, f0) => Float32Array.from({ length: seconds * SR }, (_, i) => {
    let v = 0;
    for (let h = 1; h <= 10; h++) v += Math.sin((2 * Math.PI * f0 * h * i) / SR + 0.3 * h * h) / h;
    return 0.2 * v;
  });
  const offHarmonic = (y, f0) => {
    const size = 1 << 15;
    const start = Math.floor((y.length - size) / 2);
    const f = new FFT(size);
    const w = hann(size);
    const buf = new Float64Array(size);
    for (let i = 0; i < size; i++) buf[i] = y[start + i] * w[i];
    const o = f.createComplexArray();
    f.realTransform(o, buf);
    let on = 0;
    let off = 0;
    for (let k = 1; k < size / 2; k++) {
      const hz = (k * SR) / size;
      const p = o[2 * k] ** 2 + o[2 * k + 1] ** 2;
      if (Math.abs(hz / f0 - Math.round(hz / f0)) * f0 < 4) on += p;
      else off += p;
    }
    return 10 * Math.log10(off / on);
  };
  const algorithms = {
    wsola: (x, r) => wsola(x, { sampleRate: SR, outLength: Math.round(x.length / r), inputPosition: (u) => u * r }),
    "phase vocoder": (x, r) => phaseVocoder(x, { sampleRate: SR, outLength: Math.round(x.length / r), inputPosition: (u) => u * r }),
  };
  if (hasSox) {
    algorithms["sox tempo"] = (x, r) => {
      const a = path.join(tmp, "q-in.wav");
      const b = path.join(tmp, "q-out.wav");
      writeWav16(a, x);
      spawnSync("sox", [a, b, "tempo", String(r)]);
      return readWav16(b);
    };
  }
  const signals = voices ?? [{ name: "synthetic", x: speechLike(8, 3) }];
  const rs = [0.8, 0.9, 1.1, 1.25];
  quality = {};
  console.log(`\nTempo quality (${voices ? "espeak-ng voices" : "synthetic speech"}; r = ${rs.join(", ")}):`);
  console.log(`| algorithm | log-mel distance, dB (${signals.map((s) => s.name).join(" / ")}) | worst off-harmonic energy, dB (75 / 90 / 130 Hz) | click compactness |`);
  console.log("|---|---|---|---:|");
  const times = Array.from({ length: 12 }, (_, i) => 0.1 + i * 0.23);
  const clickTrain = new Float32Array(3 * SR);
  for (const t of times) clickTrain[Math.round(t * SR)] = 0.9;
  for (const [name, tsm] of Object.entries(algorithms)) {
    const melDb = signals.map((s) => rs.reduce((a, r) => a + melFidelity(s.x, tsm(s.x, r), r), 0) / rs.length);
    const off = [75, 90, 130].map((f0) => Math.max(...[0.8, 1.25].map((r) => offHarmonic(tsm(harmonic(3, f0), r), f0))));
    let compact = 0;
    for (const r of [0.8, 1.25]) {
      const y = tsm(clickTrain, r);
      for (const t of times) {
        const c = Math.round((t / r) * SR);
        let peak = c;
        for (let k = c - 480; k <= c + 480; k++) if (Math.abs(y[k] ?? 0) > Math.abs(y[peak] ?? 0)) peak = k;
        let near = 0;
        let all = 0;
        for (let k = c - 480; k <= c + 480; k++) {
          const v = (y[k] ?? 0) ** 2;
          all += v;
          if (Math.abs(k - peak) <= 16) near += v;
        }
        compact += near / all / (2 * times.length);
      }
    }
    quality[name] = { melDb, offHarmonicDb: off, clickCompactness: compact };
    console.log(`| ${name} | ${melDb.map((v) => v.toFixed(2)).join(" / ")} | ${off.map((v) => v.toFixed(1)).join(" / ")} | ${compact.toFixed(3)} |`);
  }
  if (args.includes("--scan")) {
    // The WSOLA frame length and search tolerance behind WSOLA_FRAME_S / WSOLA_TOLERANCE_S.
    console.log(`\nWSOLA frame / tolerance scan (same measures):`);
    console.log("| frame ms | tolerance ms | log-mel distance, dB | worst off-harmonic energy, dB (75 / 90 / 130 Hz) |");
    console.log("|---:|---:|---|---|");
    quality.scan = [];
    const grid = [[20, 8], [25, 8], [30, 8], [40, 8], [50, 8], [25, 6], [25, 10], [25, 12]];
    for (const [frameMs, tolMs] of grid) {
      const tsm = (x, r) => wsola(x, { sampleRate: SR, outLength: Math.round(x.length / r), inputPosition: (u) => u * r, frameS: frameMs / 1000, toleranceS: tolMs / 1000 });
      const melDb = signals.map((sig) => rs.reduce((a, r) => a + melFidelity(sig.x, tsm(sig.x, r), r), 0) / rs.length);
      const off = [75, 90, 130].map((f0) => Math.max(...[0.8, 1.25].map((r) => offHarmonic(tsm(harmonic(3, f0), r), f0))));
      quality.scan.push({ frameMs, tolMs, melDb, offHarmonicDb: off });
      console.log(`| ${frameMs} | ${tolMs} | ${melDb.map((v) => v.toFixed(2)).join(" / ")} | ${off.map((v) => v.toFixed(1)).join(" / ")} |`);
    }
  }
}

const resultsDir = new URL("./results/", import.meta.url);
mkdirSync(resultsDir, { recursive: true });
const out = new URL(`voice-${new Date().toISOString().slice(0, 10)}.json`, resultsDir);
writeFileSync(out, JSON.stringify({ input: inputLabel, runs: RUNS, node: process.version, soxBaselineCpuMs: baseCpu, rows, quality }, null, 2) + "\n");
console.log(`\nwrote ${path.relative(process.cwd(), out.pathname)}`);
