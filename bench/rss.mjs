// Peak memory of `augment run` against corpus size: generates corpora of several sizes (default 2
// and 20 hours) cheaply (a few dozen distinct speech-like WAVs, the rest symlinks to them under
// their own names, so every item is its own utterance), runs the quickstart chain on each and
// measures the process's peak RSS (worker threads included) three ways: /usr/bin/time -v, the
// VmHWM of /proc/<pid>/status polled during the run (with the RSS timeline, to show it is flat),
// and summary.json's peak_rss_mb. Also the heap the plan takes per planned item (--expose-gc).
//
//   node bench/rss.mjs [--hours 2,20] [--workers 2] [--batch 16] [--copies 1] [--dir /tmp/augment-rss] [--keep]
//
// Results: bench/results/rss-<date>.json. Build first (npm run build).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { encodeWav } from "../dist/audio/wav.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const CLI = path.join(root, "dist/cli/main.js");
const SR = 16000;

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}
const hoursList = String(arg("hours", "2,20")).split(",").map(Number);
const workers = Number(arg("workers", 2));
const batch = Number(arg("batch", 16));
const copies = Number(arg("copies", 1));
const work = arg("dir", "/tmp/augment-rss");
const keep = process.argv.includes("--keep");

/** Distinct base utterances: harmonic complexes with syllable-rate modulation and a little noise, 2–10 s. */
function makeBases(dir, count) {
  mkdirSync(dir, { recursive: true });
  let seed = 4242;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
  const bases = [];
  for (let k = 0; k < count; k++) {
    const durS = 2 + 8 * rnd();
    const n = Math.round(durS * SR);
    const f0 = 90 + 150 * rnd();
    const pcm = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      const t = i / SR;
      const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * (3 + (k % 3)) * t);
      let v = 0;
      for (let h = 1; h <= 8; h++) v += Math.sin(2 * Math.PI * f0 * h * t) / h;
      pcm[i] = Math.round(6000 * env * v + 300 * (rnd() - 0.5));
    }
    const file = path.join(dir, `b${String(k).padStart(3, "0")}.wav`);
    if (!existsSync(file)) writeFileSync(file, encodeWav(pcm, SR));
    bases.push({ file, durS: n / SR });
  }
  return bases;
}

/** A NeMo manifest of `hours` of audio: item i is a symlink to base i mod count, under its own name. */
function makeCorpus(dir, hours, bases) {
  const manifest = path.join(dir, "manifest.json");
  if (existsSync(manifest)) return JSON.parse(readFileSync(path.join(dir, "corpus.json"), "utf8"));
  mkdirSync(path.join(dir, "audio"), { recursive: true });
  const lines = [];
  let total = 0;
  for (let i = 0; total < hours * 3600; i++) {
    const b = bases[i % bases.length];
    const name = `u${String(i).padStart(7, "0")}.wav`;
    const link = path.join(dir, "audio", name);
    if (!existsSync(link)) symlinkSync(b.file, link);
    lines.push(JSON.stringify({ audio_filepath: `audio/${name}`, duration: b.durS, text: `utterance ${i}`, speaker: `spk${i % 97}`, lang: "en" }));
    total += b.durS;
  }
  writeFileSync(manifest, lines.join("\n") + "\n");
  const info = { items: lines.length, hours: total / 3600 };
  writeFileSync(path.join(dir, "corpus.json"), JSON.stringify(info));
  return info;
}

function recipe(dir, out) {
  const file = path.join(dir, "r.yaml");
  writeFileSync(
    file,
    `seed: 1\ninputs: [{format: nemo, path: ${dir}/manifest.json}]\n` +
      `noise_banks: [{name: demo, path: ${root}/noise-banks/default}]\nrir_banks: [{name: rooms, path: ${root}/rirs/demo}]\n` +
      `copies: ${copies}\nengine: {batch_items: ${batch}}\nchain:\n  - speed: {factors: [0.9, 1.0, 1.1]}\n  - reverb: {bank: rooms, p: 0.5}\n` +
      `  - noise: {bank: demo, snr_db: [0, 20], p: 0.8}\n  - gain: {db: [-6, 6]}\noutput: {path: ${out}, shard_max_mb: 256}\n`,
  );
  return file;
}

function procStatus(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? 0);
    return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
  } catch {
    return null;
  }
}

/** Runs augment under /usr/bin/time -v, polling the node process's RSS once a second. */
async function measureRun(recipeFile, out) {
  rmSync(out, { recursive: true, force: true });
  const time = existsSync("/usr/bin/time");
  const args = [CLI, "run", recipeFile, "--quiet", "--workers", String(workers)];
  const child = time ? spawn("/usr/bin/time", ["-v", process.execPath, ...args], { stdio: ["ignore", "ignore", "pipe"] }) : spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const timeline = [];
  const t0 = Date.now();
  let hwm = 0;
  const nodePid = () => {
    if (!time) return child.pid;
    try {
      return Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/)[0]) || null;
    } catch {
      return null;
    }
  };
  const timer = setInterval(() => {
    const pid = nodePid();
    const st = pid && procStatus(pid);
    if (!st) return;
    hwm = Math.max(hwm, st.hwm);
    timeline.push([Math.round((Date.now() - t0) / 1000), Math.round(st.rss / 1024)]);
  }, 1000);
  const code = await new Promise((resolve) => child.on("close", resolve));
  clearInterval(timer);
  if (code !== 0) throw new Error(`augment run failed (${code}): ${stderr.slice(-2000)}`);
  const timeMaxKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? 0);
  const summary = JSON.parse(readFileSync(path.join(out, "summary.json"), "utf8"));
  return {
    wall_s: (Date.now() - t0) / 1000,
    peak_rss_mb_time: timeMaxKb ? Math.round(timeMaxKb / 1024) : null,
    peak_rss_mb_polled: Math.round(hwm / 1024),
    peak_rss_mb_summary: summary.peak_rss_mb,
    items_written: summary.items.written,
    output_hours: summary.hours.output,
    rss_timeline_mb: timeline,
  };
}

/** Heap of the plan: heapUsed after prepare() minus before, with full GCs, per planned item. */
function measurePlan(recipeFile) {
  const script = `
    const { loadRecipe } = await import(${JSON.stringify(path.join(root, "dist/recipe/load.js"))});
    const { prepare } = await import(${JSON.stringify(path.join(root, "dist/run/run.js"))});
    const recipe = loadRecipe(${JSON.stringify(recipeFile)});
    gc(); gc();
    const before = process.memoryUsage().heapUsed;
    const p = await prepare(recipe);
    gc(); gc();
    const after = process.memoryUsage().heapUsed;
    console.log(JSON.stringify({ items: p.plan.items.length, heap_mb: (after - before) / 1048576, bytes_per_item: Math.round((after - before) / p.plan.items.length) }));
    globalThis.keep = p;`;
  const r = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").pop());
}

mkdirSync(work, { recursive: true });
const bases = makeBases(path.join(work, "base"), 48);
const results = [];
for (const hours of hoursList) {
  const dir = path.join(work, `corpus-${hours}h`);
  const corpus = makeCorpus(dir, hours, bases);
  const out = path.join(work, `out-${hours}h`);
  const file = recipe(dir, out);
  const plan = measurePlan(file);
  const run = await measureRun(file, out);
  const row = { hours: Number(corpus.hours.toFixed(3)), source_items: corpus.items, workers, batch_items: batch, copies, plan, ...run };
  results.push(row);
  console.log(
    `${row.hours} h, ${corpus.items} items: peak RSS ${run.peak_rss_mb_time ?? "-"} MB (time -v), ${run.peak_rss_mb_polled} MB (VmHWM), ${run.peak_rss_mb_summary} MB (summary); ` +
      `plan ${plan.heap_mb.toFixed(1)} MB heap = ${plan.bytes_per_item} B/item; wall ${run.wall_s.toFixed(0)} s`,
  );
  if (!keep) rmSync(out, { recursive: true, force: true });
}
mkdirSync(path.join(here, "results"), { recursive: true });
const date = new Date().toISOString().slice(0, 10);
const file = path.join(here, "results", `rss-${date}.json`);
writeFileSync(file, JSON.stringify({ date, node: process.version, cpus: (await import("node:os")).availableParallelism(), results }, null, 1) + "\n");
console.log(`results: ${path.relative(root, file)}`);
