// Synthesis throughput of augment's in-process espeak-ng (the Emscripten build of
// @echogarden/espeak-ng-emscripten, as `format: tts` uses it) against Debian's native `espeak-ng`
// command on the same text, voice, rate and pitch: seconds of audio per wall second.
//
//   npx tsc -p tsconfig.json && node bench/tts.mjs [--runs 5] [--repeat 4] [--repeat-all 32] [--threads N] [--voice sw] [--text data/texts/sw.txt]
//
// The text is `--text` (one utterance a line) repeated `--repeat` times for one thread and
// `--repeat-all` times for all cores (more, so thread start-up is not most of it). Measured, each the median
// of `--runs` runs after one warm-up, runs of the two interleaved so both see the same load:
// - augment, 1 thread: src/tts/synth.ts `synthesize()` per line in this thread, exactly what the
//   catalog and the engine do (escaping, restoring the engine's memory snapshot, voice, events,
//   word times); the engine is started before timing (its start is timed apart).
// - the same engine without the per-utterance memory restore (not deterministic; shows its cost).
// - espeak-ng, 1 process: `espeak-ng -v V -s R -p P -f text.txt -w out.wav`, the whole text in one
//   process (the native binary at its best: no start-up per line).
// - all cores: augment's catalog pool (src/tts/pool.ts) with N threads (thread start-up and engine
//   start included: that is what a run pays), against N espeak-ng processes on N slices of the text.
// Audio seconds are counted from the samples produced (augment) and the WAV files (espeak-ng).
// Results go to bench/results/tts-<date>.json; paste the table into bench/README-tts.md.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import path from "node:path";

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const RUNS = Number(opt("runs", 5));
const REPEAT = Number(opt("repeat", 4));
const REPEAT_ALL = Number(opt("repeat-all", 8 * REPEAT));
const THREADS = Number(opt("threads", availableParallelism()));
const VOICE = opt("voice", "sw");
const RATE = 165;
const PITCH = 50;
const TEXT = opt("text", new URL("../data/texts/sw.txt", import.meta.url).pathname);
const ESPEAK = opt("espeak", "/usr/bin/espeak-ng");

const dist = new URL("../dist/tts/", import.meta.url);
if (!existsSync(new URL("synth.js", dist))) {
  console.error("dist/tts/synth.js is missing: run `npx tsc -p tsconfig.json` first");
  process.exit(1);
}
const { synthesize } = await import(new URL("synth.js", dist).href);
const { espeak, Espeak } = await import(new URL("espeak.js", dist).href);
const { synthesizeAll } = await import(new URL("pool.js", dist).href);
const { espeakInput } = await import(new URL("synth.js", dist).href);

const base = readFileSync(TEXT, "utf8").split("\n").map((l) => l.trim()).filter(Boolean);
const lines = Array.from({ length: REPEAT }, () => base).flat();
const linesAll = Array.from({ length: REPEAT_ALL }, () => base).flat();
const tmp = mkdtempSync(path.join(tmpdir(), "augment-tts-bench-"));
const hasNative = existsSync(ESPEAK);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spec = (text) => ({ engine: "espeak-ng", text, voice: VOICE, rate_wpm: RATE, pitch: PITCH });

/** Samples of a RIFF WAV file (espeak-ng writes 16-bit mono with a 44-byte header; the data chunk is found by name). */
function wavSeconds(file) {
  const b = readFileSync(file);
  let at = 12;
  let rate = 22050;
  while (at + 8 <= b.length) {
    const id = b.toString("ascii", at, at + 4);
    let size = b.readUInt32LE(at + 4);
    if (id === "fmt ") rate = b.readUInt32LE(at + 12);
    if (id === "data") {
      if (size === 0 || size === 0xffffffff || at + 8 + size > b.length) size = b.length - at - 8; // streamed WAV
      return size / 2 / rate;
    }
    at += 8 + size + (size & 1);
  }
  throw new Error(`no data chunk in ${file}`);
}

async function oursOneThread() {
  await espeak(); // started outside the timing
  const t0 = performance.now();
  let samples = 0;
  for (const l of lines) samples += (await synthesize(spec(l))).pcm.length;
  return { audioS: samples / 22050, wallS: (performance.now() - t0) / 1000 };
}

/** The package called directly, voice set once, no memory restore: the engine's raw speed. */
let raw;
async function rawOneThread() {
  raw ??= await (async () => {
    const mod = await import("@echogarden/espeak-ng-emscripten");
    const m = await mod.default({ print: () => {}, printErr: () => {} });
    const w = new m.eSpeakNGWorker();
    w.set_voice(VOICE);
    w.set_rate(RATE);
    w.set_pitch(PITCH);
    return w;
  })();
  const t0 = performance.now();
  let samples = 0;
  for (const l of lines) raw.synthesize(espeakInput(l).input, (s) => ((samples += s.length), false));
  return { audioS: samples / 22050, wallS: (performance.now() - t0) / 1000 };
}

async function oursAllCores() {
  const t0 = performance.now();
  const outcomes = await synthesizeAll(linesAll.map((l) => ({ spec: spec(l) })), { threads: THREADS, cacheDir: null });
  const wallS = (performance.now() - t0) / 1000;
  return { audioS: outcomes.reduce((s, o) => s + ("error" in o ? 0 : o.numSamples / o.sampleRate), 0), wallS };
}

function runNative(textFile, wavFile) {
  return new Promise((resolve, reject) => {
    const p = spawn(ESPEAK, ["-v", VOICE, "-s", String(RATE), "-p", String(PITCH), "-f", textFile, "-w", wavFile], { stdio: "ignore" });
    p.on("error", reject);
    p.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`espeak-ng exited ${code}`))));
  });
}

mkdirSync(tmp, { recursive: true });
const whole = path.join(tmp, "all.txt");
writeFileSync(whole, lines.join("\n") + "\n");
const slices = Array.from({ length: THREADS }, (_, k) => {
  const f = path.join(tmp, `slice-${k}.txt`);
  writeFileSync(f, linesAll.filter((_, i) => i % THREADS === k).join("\n") + "\n");
  return f;
});

async function nativeOne() {
  const wav = path.join(tmp, "all.wav");
  const t0 = performance.now();
  await runNative(whole, wav);
  return { audioS: wavSeconds(wav), wallS: (performance.now() - t0) / 1000 };
}

async function nativeAll() {
  const t0 = performance.now();
  await Promise.all(slices.map((f, k) => runNative(f, path.join(tmp, `slice-${k}.wav`))));
  const wallS = (performance.now() - t0) / 1000;
  return { audioS: slices.reduce((s, _, k) => s + wavSeconds(path.join(tmp, `slice-${k}.wav`)), 0), wallS };
}

const t0 = performance.now();
await Espeak.create();
const startS = (performance.now() - t0) / 1000;

const cases = [
  ["augment (espeak-ng Emscripten build, in process), 1 thread", oursOneThread],
  ["  same engine, no per-utterance state reset (not deterministic)", rawOneThread],
  ...(hasNative ? [["Debian espeak-ng command, 1 process", nativeOne]] : []),
  [`augment catalog pool, ${THREADS} threads (thread + engine start-up included)`, oursAllCores],
  ...(hasNative ? [[`Debian espeak-ng command, ${THREADS} processes`, nativeAll]] : []),
];
const results = new Map(cases.map(([name]) => [name, []]));
for (let r = -1; r < RUNS; r++) {
  for (const [name, fn] of cases) {
    const m = await fn();
    if (r >= 0) results.get(name).push(m);
  }
}

const rows = cases.map(([name]) => {
  const ms = results.get(name);
  const x = median(ms.map((m) => m.audioS / m.wallS));
  return { name, audio_s: median(ms.map((m) => m.audioS)), wall_s: median(ms.map((m) => m.wallS)), x_realtime: x };
});
const ref1 = rows.find((r) => r.name.startsWith("Debian") && r.name.includes("1 process"));
const refN = rows.find((r) => r.name.startsWith("Debian") && !r.name.includes("1 process"));
const info = {
  date: new Date().toISOString().slice(0, 10),
  command: `node bench/tts.mjs ${args.join(" ")}`.trim(),
  node: process.version,
  cpu: cpus()[0]?.model ?? "unknown",
  cores: availableParallelism(),
  threads: THREADS,
  voice: VOICE,
  rate_wpm: RATE,
  pitch: PITCH,
  utterances: lines.length,
  utterances_all_cores: linesAll.length,
  runs: RUNS,
  engine_start_s: startS,
  native_version: hasNative ? spawnSync(ESPEAK, ["--version"], { encoding: "utf8" }).stdout.trim() : null,
  rows,
};
console.log(`${lines.length} utterances (${TEXT} x${REPEAT}; x${REPEAT_ALL} on all cores), voice ${VOICE}, ${RATE} wpm, pitch ${PITCH}; medians of ${RUNS} runs; engine start ${startS.toFixed(2)} s`);
console.log("| what | audio s | wall s | audio s per wall s | vs espeak-ng |");
console.log("|---|---|---|---|---|");
for (const r of rows) {
  const ref = r.name.includes("1 thread") || r.name.includes("state reset") || r.name.includes("1 process") ? ref1 : refN;
  console.log(`| ${r.name.trim()} | ${r.audio_s.toFixed(1)} | ${r.wall_s.toFixed(3)} | ${r.x_realtime.toFixed(1)} | ${ref ? (r.x_realtime / ref.x_realtime).toFixed(2) : "-"} |`);
}
const out = new URL(`results/tts-${info.date}.json`, import.meta.url);
mkdirSync(new URL("results/", import.meta.url), { recursive: true });
writeFileSync(out, JSON.stringify(info, null, 1) + "\n");
console.log(`results: ${out.pathname}`);
