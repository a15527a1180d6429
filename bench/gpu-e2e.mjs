#!/usr/bin/env node
// GPU engine vs CPU engine, end to end: `augment run` on a generated corpus with the same recipe
// and `--device gpu` / `--device cpu`, reporting audio-hours written per wall-second, their ratio,
// and the GPU's busy share (time GPU work was in flight over the engine's wall time, from
// summary.json). Plain node from dist/ (run `npm run build` first); no python.
//
//   node bench/gpu-e2e.mjs [--hours 1] [--runs 2] [--chain gpu|mixed|light|heavy|io] [--input flac|wav]
//                          [--audio flac|wav] [--workers auto|N] [--batch-items 16] [--keep DIR]
//                          [--devices gpu,cpu] [--json FILE]
//
// chains: gpu = speed 0.9/1.0/1.1, reverb p=0.5, noise 0-20 dB p=0.8, gain, filter p=0.5, eq p=0.5
// (every op on the GPU); mixed = the same plus tempo p=0.3 (CPU, mid-chain); light = noise + gain.
// The first GPU run of a process compiles the shaders (also timed: "cold"); the figures are the
// median of --runs runs after it.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CLI = path.join(ROOT, "dist/cli/main.js");
if (!existsSync(CLI)) {
  console.error("dist/ is missing: run `npm run build` first");
  process.exit(2);
}
const { encodeWav } = await import(path.join(ROOT, "dist/audio/wav.js"));
const { encodeFlac } = await import(path.join(ROOT, "dist/audio/flac.js"));
const { floatToInt16 } = await import(path.join(ROOT, "dist/audio/decode.js"));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const HOURS = Number(arg("hours", "1"));
const RUNS = Number(arg("runs", "2"));
const CHAIN = arg("chain", "gpu");
const INPUT = arg("input", "flac");
const AUDIO = arg("audio", "flac");
const WORKERS = arg("workers", "auto");
const BATCH = Number(arg("batch-items", "16"));
const DEVICES = arg("devices", "gpu,cpu").split(",");
const SR = 16000;

function lcg(seed) {
  let s = seed >>> 0 || 1;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** A speech-like utterance: a harmonic complex on a wandering f0, syllable-rate envelope, breath noise. */
function utterance(n, rnd) {
  const x = new Float32Array(n);
  const f0 = 90 + 140 * rnd();
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / SR;
    phase += (2 * Math.PI * f0 * (1 + 0.08 * Math.sin(2 * Math.PI * 0.7 * t))) / SR;
    const env = Math.max(0, Math.sin(2 * Math.PI * 3.5 * t + 1)) ** 2;
    let v = 0;
    for (let h = 1; h <= 10; h++) v += Math.sin(h * phase) / h;
    x[i] = 0.12 * env * v + 0.003 * (rnd() - 0.5);
  }
  return x;
}

function write(file, x) {
  mkdirSync(path.dirname(file), { recursive: true });
  const pcm = floatToInt16(x);
  writeFileSync(file, file.endsWith(".flac") ? encodeFlac(pcm, SR) : encodeWav(pcm, SR));
}

function makeCorpus(dir) {
  const rnd = lcg(2026);
  const lines = [];
  let total = 0;
  for (let i = 0; total < HOURS * 3600; i++) {
    const seconds = 2 + 14 * rnd(); // LibriSpeech-like: 2-16 s
    const n = Math.round(seconds * SR);
    const rel = `audio/u${String(i).padStart(6, "0")}.${INPUT}`;
    write(path.join(dir, "corpus", rel), utterance(n, rnd));
    lines.push(JSON.stringify({ audio_filepath: rel, duration: n / SR, text: `utterance ${i}`, speaker: `spk${i % 40}`, lang: "en" }));
    total += seconds;
  }
  writeFileSync(path.join(dir, "corpus/manifest.json"), lines.join("\n") + "\n");
  for (let k = 0; k < 12; k++) {
    const x = new Float32Array(Math.round((5 + 10 * rnd()) * SR));
    let lp = 0;
    for (let i = 0; i < x.length; i++) {
      lp = 0.9 * lp + 0.1 * (rnd() - 0.5); // brownish
      x[i] = k % 2 ? 0.3 * (rnd() - 0.5) : 3 * lp;
    }
    write(path.join(dir, `noise/${k % 2 ? "white" : "brown"}/n${k}.wav`), x);
  }
  for (let k = 0; k < 16; k++) {
    const rt60 = 0.2 + 0.8 * rnd();
    const taps = Math.round(rt60 * SR);
    const h = new Float32Array(taps);
    const d = 20 + Math.floor(80 * rnd());
    for (let i = d; i < taps; i++) h[i] = (i === d ? 1 : 0) + 0.5 * (rnd() - 0.5) * Math.exp((-6.9 * (i - d)) / (rt60 * SR));
    write(path.join(dir, `rirs/r${k}.wav`), h);
  }
  return { items: lines.length, hours: total / 3600 };
}

const CHAINS = {
  light: ["  - noise: {bank: nb, snr_db: [0, 20]}", "  - gain: {db: [-6, 6]}"],
  gpu: [
    "  - speed: {factors: [0.9, 1.0, 1.1]}",
    "  - reverb: {bank: rb, p: 0.5}",
    "  - noise: {bank: nb, snr_db: [0, 20], p: 0.8}",
    "  - gain: {db: [-6, 6]}",
    "  - filter: {type: highpass, cutoff_hz: [50, 200], p: 0.5}",
    "  - eq: {bands: [{freq_hz: [300, 3000], gain_db: [-6, 6], q: [0.7, 2]}], p: 0.5}",
  ],
};
// heavy: every row takes every op (two noise layers, a 0.2-1 s RIR, three EQ bands): the DSP
// share of a CPU run is largest. io: one gain, the floor a run pays for decode, encode and writing
// whatever the device; cpu(chain) / cpu(io) bounds what moving the chain off the CPU can gain.
CHAINS.heavy = [
  "  - speed: {factors: [0.9, 1.1]}",
  "  - reverb: {bank: rb}",
  "  - noise: {bank: nb, snr_db: [5, 20]}",
  "  - noise: {bank: nb, snr_db: [10, 25], p: 0.5}",
  "  - filter: {type: highpass, cutoff_hz: [50, 200]}",
  "  - eq: {bands: [{freq_hz: [200, 600], gain_db: [-6, 6], q: [0.7, 2]}, {freq_hz: [800, 2000], gain_db: [-6, 6], q: [0.7, 2]}, {freq_hz: [2500, 6000], gain_db: [-6, 6], q: [0.7, 2]}]}",
  "  - gain: {db: [-6, 6]}",
];
CHAINS.io = ["  - gain: {db: [-6, 6]}"];
CHAINS.mixed = [...CHAINS.gpu.slice(0, 4), "  - tempo: {factor: [0.9, 1.1], p: 0.3}", ...CHAINS.gpu.slice(4)];
if (!CHAINS[CHAIN]) throw new Error(`--chain ${CHAIN}: one of ${Object.keys(CHAINS).join(", ")}`);

function recipe(dir) {
  const file = path.join(dir, "recipe.yaml");
  writeFileSync(
    file,
    `seed: 1
sample_rate: ${SR}
inputs: [{format: nemo, path: corpus/manifest.json}]
noise_banks: [{name: nb, path: noise}]
rir_banks: [{name: rb, path: rirs}]
chain:
${CHAINS[CHAIN].join("\n")}
output: {path: out, audio: ${AUDIO}}
engine: {workers: ${WORKERS}, batch_items: ${BATCH}}
`,
  );
  return file;
}

function run(dir, device, label) {
  const out = path.join(dir, `out-${label}`);
  rmSync(out, { recursive: true, force: true });
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, "run", "recipe.yaml", "--out", out, "--device", device, "--force"], { cwd: dir, encoding: "utf8", maxBuffer: 1 << 26 });
  const wallS = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`augment run --device ${device} failed (${r.status}):\n${r.stderr}`);
  const s = JSON.parse(readFileSync(path.join(out, "summary.json"), "utf8"));
  const engineLine = (r.stderr.match(/^engine: .*$/m) ?? [""])[0];
  return {
    device,
    label,
    process_wall_s: round(wallS, 2),
    run_wall_s: round(s.wall_s, 2),
    output_hours: round(s.hours.output, 4),
    audio_hours_per_wall_s: round(s.hours.output / wallS, 4),
    audio_hours_per_run_wall_s: round(s.audio_hours_per_wall_s, 4),
    peak_rss_mb: s.peak_rss_mb,
    engine: s.engine,
    engine_line: engineLine,
  };
}

const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

const keep = arg("keep");
const dir = keep ?? mkdtempSync(path.join(tmpdir(), "augment-gpu-bench-"));
mkdirSync(dir, { recursive: true });
const t0 = performance.now();
const corpus = existsSync(path.join(dir, "corpus/manifest.json")) && keep ? { items: readFileSync(path.join(dir, "corpus/manifest.json"), "utf8").split("\n").filter(Boolean).length, hours: HOURS } : makeCorpus(dir);
recipe(dir);
console.log(`corpus: ${corpus.items} utterances, ${corpus.hours.toFixed(2)} h (${INPUT}), generated in ${((performance.now() - t0) / 1000).toFixed(1)} s in ${dir}`);
console.log(`chain: ${CHAIN}; output ${AUDIO}; workers ${WORKERS}; batch_items ${BATCH}; ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"})`);

const results = [];
for (const device of DEVICES) {
  // A first run that also compiles the GPU's shaders (and warms the page cache for both devices).
  const cold = run(dir, device, `${device}-cold`);
  console.log(`${device} cold: ${cold.process_wall_s} s, ${cold.audio_hours_per_wall_s} audio-h/s  ${cold.engine_line}`);
  results.push(cold);
  for (let k = 0; k < RUNS; k++) {
    const r = run(dir, device, `${device}-${k + 1}`);
    console.log(`${device} run ${k + 1}: ${r.process_wall_s} s, ${r.audio_hours_per_wall_s} audio-h/s${r.engine.gpu ? `, GPU busy ${(100 * r.engine.gpu.busy_share).toFixed(1)}%` : ""}`);
    results.push(r);
  }
}

const warm = (device) => results.filter((r) => r.device === device && !r.label.endsWith("cold"));
const table = DEVICES.map((device) => {
  const rs = warm(device);
  const gpuRuns = rs.filter((r) => r.engine.gpu);
  return {
    device: rs[0]?.engine.device ?? device,
    asked: device,
    wall_s: median(rs.map((r) => r.process_wall_s)),
    audio_hours_per_wall_s: median(rs.map((r) => r.audio_hours_per_wall_s)),
    gpu_busy_share: gpuRuns.length ? median(gpuRuns.map((r) => r.engine.gpu.busy_share)) : null,
    gpu_idle_share: gpuRuns.length ? round(1 - median(gpuRuns.map((r) => r.engine.gpu.busy_share)), 3) : null,
    cpu_redone_items: gpuRuns.length ? Math.max(...gpuRuns.map((r) => r.engine.gpu.cpu_redone_items)) : null,
    adapter: rs[0]?.engine.adapter ?? null,
  };
});
console.log("\n| engine | wall (median) | audio-h / wall-s | GPU busy | GPU idle |\n|---|---|---|---|---|");
for (const t of table) console.log(`| ${t.asked}${t.device !== t.asked ? ` (ran on ${t.device})` : ""} | ${t.wall_s} s | ${t.audio_hours_per_wall_s} | ${t.gpu_busy_share === null ? "-" : (100 * t.gpu_busy_share).toFixed(1) + " %"} | ${t.gpu_idle_share === null ? "-" : (100 * t.gpu_idle_share).toFixed(1) + " %"} |`);
const g = table.find((t) => t.asked === "gpu");
const c = table.find((t) => t.asked === "cpu");
const ratio = g && c ? round(g.audio_hours_per_wall_s / c.audio_hours_per_wall_s, 3) : null;
if (ratio !== null) console.log(`\nGPU / CPU throughput: ${ratio}x`);

const report = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpu_model: cpus()[0]?.model ?? null,
  gpu: g?.adapter ?? null,
  corpus: { ...corpus, input: INPUT },
  chain: CHAIN,
  audio: AUDIO,
  workers: WORKERS,
  batch_items: BATCH,
  table,
  gpu_over_cpu: ratio,
  runs: results,
};
const jsonFile = arg("json", path.join(ROOT, "bench/results", `gpu-e2e-${report.date.slice(0, 10)}.json`));
mkdirSync(path.dirname(jsonFile), { recursive: true });
writeFileSync(jsonFile, JSON.stringify(report, null, 1) + "\n");
console.log(`results: ${jsonFile}`);
if (!keep) rmSync(dir, { recursive: true, force: true });
