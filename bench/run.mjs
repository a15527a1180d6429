// `npm run bench`: end-to-end `augment run` throughput on a generated corpus (≥ 1 hour), for 1 and
// 2 workers, against a numpy/scipy peer (bench/peer.py) doing the same planned chain, measured in
// the same run. Medians of BENCH_RUNS runs (default 3). Results: bench/results/e2e-<date>.{json,md}.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { encodeWav } from "../dist/audio/wav.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const data = path.join(here, "data");
const hours = Number(process.env.BENCH_HOURS ?? 1);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const workerCounts = (process.env.BENCH_WORKERS ?? "1,2").split(",").map(Number);
const PY = process.env.AUGMENT_TEST_PYTHON ?? "/usr/bin/python3";
const SR = 16000;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** A deterministic speech-like corpus: harmonic complexes with syllable-rate modulation + a little noise. */
function makeCorpus(dir, totalS) {
  const manifest = path.join(dir, "manifest.json");
  if (existsSync(manifest)) return manifest;
  mkdirSync(path.join(dir, "audio"), { recursive: true });
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
  const lines = [];
  let t = 0;
  for (let k = 0; t < totalS; k++) {
    const durS = 2 + 8 * rnd();
    const n = Math.round(durS * SR);
    const f0 = 90 + 150 * rnd();
    const pcm = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      const tt = i / SR;
      const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * (3 + (k % 3)) * tt);
      let v = 0;
      for (let h = 1; h <= 10; h++) v += Math.sin(2 * Math.PI * f0 * h * tt * (1 + 0.02 * Math.sin(tt))) / h;
      pcm[i] = Math.round(32767 * Math.max(-1, Math.min(1, 0.15 * env * v + 0.01 * (rnd() - 0.5))));
    }
    const id = `spk${k % 40}-utt${String(k).padStart(5, "0")}`;
    writeFileSync(path.join(dir, "audio", `${id}.wav`), encodeWav(pcm, SR));
    lines.push(JSON.stringify({ audio_filepath: `audio/${id}.wav`, duration: n / SR, text: `utterance ${k}`, speaker: `spk${k % 40}`, lang: "en" }));
    t += n / SR;
  }
  writeFileSync(manifest, lines.join("\n") + "\n");
  return manifest;
}

function timeCmd(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", cmd, ...args], { encoding: "utf8", maxBuffer: 1 << 26, ...opts });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  const rssKb = Number(r.stderr.trim().split("\n").pop());
  return { wallS, rssMb: rssKb / 1024, stdout: r.stdout };
}

const corpusDir = path.join(data, `corpus-${hours}h`);
const manifest = makeCorpus(corpusDir, hours * 3600);
const recipe = path.join(data, "recipe.yaml");
writeFileSync(
  recipe,
  `seed: 2026
sample_rate: ${SR}
inputs: [{format: nemo, path: ${manifest}}]
noise_banks: [{name: demo, path: ${path.join(root, "noise-banks/default")}}]
rir_banks: [{name: rooms, path: ${path.join(root, "rirs/demo")}}]
copies: 1
chain:
  - speed: {factors: [0.9, 1.0, 1.1]}
  - reverb: {bank: rooms, p: 0.5}
  - noise: {bank: demo, snr_db: [0, 20], p: 0.8}
  - gain: {db: [-6, 6]}
output: {path: ${path.join(data, "out")}, audio: flac}
`,
);
const cliPath = path.join(root, "dist/cli/main.js");
const planFile = path.join(data, "plan.jsonl");
execFileSync(process.execPath, [cliPath, "plan", recipe, "--out", planFile], { stdio: "ignore" });

const results = { date: new Date().toISOString(), hours, runs, cpus: (await import("node:os")).availableParallelism(), node: process.version, augment: {}, peer: {} };
for (const w of workerCounts) {
  const walls = [];
  const rss = [];
  let audioS = 0;
  for (let r = 0; r < runs; r++) {
    const out = path.join(data, `out-augment-w${w}`);
    rmSync(out, { recursive: true, force: true });
    const t = timeCmd(process.execPath, [cliPath, "run", recipe, "--workers", String(w), "--out", out, "--quiet"]);
    const summary = JSON.parse(readFileSync(path.join(out, "summary.json"), "utf8"));
    audioS = summary.hours.output * 3600;
    walls.push(t.wallS);
    rss.push(t.rssMb);
  }
  const peerWalls = [];
  const peerRss = [];
  for (let r = 0; r < runs; r++) {
    const out = path.join(data, `out-peer-w${w}`);
    rmSync(out, { recursive: true, force: true });
    const t = timeCmd(PY, [path.join(here, "peer.py"), planFile, out, String(w), path.join(root, "noise-banks/default"), path.join(root, "rirs/demo")], {
      env: { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" },
    });
    peerWalls.push(t.wallS);
    peerRss.push(t.rssMb);
  }
  const a = median(walls);
  const p = median(peerWalls);
  results.augment[w] = { wall_s: walls, median_wall_s: a, audio_h_per_wall_s: audioS / 3600 / a, x_realtime: audioS / a, peak_rss_mb: Math.max(...rss) };
  results.peer[w] = { wall_s: peerWalls, median_wall_s: p, audio_h_per_wall_s: audioS / 3600 / p, x_realtime: audioS / p, peak_rss_mb: Math.max(...peerRss) };
  results.augment[w].ratio_vs_peer = p / a;
  console.log(
    `workers=${w}: augment ${a.toFixed(1)} s (${(audioS / a).toFixed(0)}x realtime, ${(audioS / 3600 / a).toFixed(4)} audio-h/s, peak RSS ${Math.max(...rss).toFixed(0)} MB) | numpy/scipy peer ${p.toFixed(1)} s (${(audioS / p).toFixed(0)}x realtime) | augment/peer speed ratio ${(p / a).toFixed(2)}`,
  );
}
// Inline room simulation (a new room per reverberated item) against the bank recipe, all threads:
// how much of the run simulation costs (issue: inline simulation must not be the bottleneck).
{
  const inline = path.join(data, "recipe-inline-rooms.yaml");
  writeFileSync(inline, readFileSync(recipe, "utf8").replace("  - reverb: {bank: rooms, p: 0.5}", "  - reverb: {simulate: {rt60_s: [0.2, 1.2]}, p: 0.5}"));
  const w = Math.max(...workerCounts);
  const walls = [];
  for (let r = 0; r < runs; r++) {
    const out = path.join(data, "out-inline-rooms");
    rmSync(out, { recursive: true, force: true });
    walls.push(timeCmd(process.execPath, [cliPath, "run", inline, "--workers", String(w), "--out", out, "--quiet"]).wallS);
  }
  const bankWall = results.augment[w].median_wall_s;
  const inlineWall = median(walls);
  results.inline_rooms = { workers: w, wall_s: walls, median_wall_s: inlineWall, bank_median_wall_s: bankWall, extra_share: (inlineWall - bankWall) / inlineWall };
  console.log(`inline room simulation (reverb p=0.5, ${w} workers): ${inlineWall.toFixed(1)} s vs ${bankWall.toFixed(1)} s with a bank: simulation ≈ ${(100 * Math.max(0, inlineWall - bankWall) / inlineWall).toFixed(0)}% of the run`);
}
mkdirSync(path.join(here, "results"), { recursive: true });
const stamp = results.date.slice(0, 10);
writeFileSync(path.join(here, "results", `e2e-${stamp}.json`), JSON.stringify(results, null, 2) + "\n");
console.log(`results: bench/results/e2e-${stamp}.json`);
