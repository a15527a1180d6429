// `npm run bench`: end-to-end `augment run` throughput on a generated corpus (≥ 1 hour), for 1 and
// 2 worker threads, against a numpy/scipy peer (bench/peer.py) doing the same planned chain with
// the same number of processes, measured in the same run; then inline room simulation against a
// RIR bank. Results: bench/results/e2e-<date>.json and .md (and on stdout).
//
// Each configuration runs BENCH_RUNS times, augment and the peer taking turns (which goes first
// alternates), so slow drift of a shared machine's load hits both alike. The figures are medians:
// wall time (the goal: augment's throughput ≥ the peer's), CPU time (user + system of the whole
// process tree, by /usr/bin/time; steadier than wall on a loaded machine) and peak RSS. The load
// average is recorded before and after: on a machine with other load, read the ratios, not the
// absolute times.
//
// Environment: BENCH_HOURS (default 1), BENCH_RUNS (3), BENCH_WORKERS ("1,2"), BENCH_ROOMS (1: also
// the inline-rooms comparison; 0: skip it), AUGMENT_TEST_PYTHON (/usr/bin/python3).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const data = path.join(here, "data");
const dist = path.join(root, "dist");
if (!existsSync(path.join(dist, "cli/main.js"))) {
  console.error("dist/ is missing: run `npx tsc -p tsconfig.json` (or `npm run bench`, which builds first)");
  process.exit(1);
}
const { encodeWav } = await import(path.join(dist, "audio/wav.js"));

const hours = Number(process.env.BENCH_HOURS ?? 1);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const workerCounts = (process.env.BENCH_WORKERS ?? "1,2").split(",").map(Number);
const withRooms = (process.env.BENCH_ROOMS ?? "1") !== "0";
const PY = process.env.AUGMENT_TEST_PYTHON ?? "/usr/bin/python3";
const SR = 16000;
const cliPath = path.join(dist, "cli/main.js");

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const load = () => os.loadavg()[0];

/** A deterministic speech-like corpus: harmonic complexes with syllable-rate modulation + a little noise. */
function makeCorpus(dir, totalS) {
  const manifest = path.join(dir, "manifest.json");
  if (existsSync(manifest)) return manifest;
  mkdirSync(path.join(dir, "audio"), { recursive: true });
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296;
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

/** Runs a command under /usr/bin/time: wall (s), CPU = user + system of it and its children (s), peak RSS (MB). */
function timeCmd(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%U %S %M", cmd, ...args], { encoding: "utf8", maxBuffer: 1 << 26, ...opts });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  const [user, system, rssKb] = r.stderr.trim().split("\n").pop().split(" ").map(Number);
  return { wallS, cpuS: user + system, rssMb: rssKb / 1024, stdout: r.stdout };
}

const corpusDir = path.join(data, `corpus-${hours}h`);
const manifest = makeCorpus(corpusDir, hours * 3600);
const recipeText = `seed: 2026
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
`;
const recipe = path.join(data, "recipe.yaml");
writeFileSync(recipe, recipeText);
const planFile = path.join(data, "plan.jsonl");
execFileSync(process.execPath, [cliPath, "plan", recipe, "--out", planFile], { stdio: "ignore" });

let peerVersions = {};
try {
  peerVersions = JSON.parse(execFileSync(PY, [path.join(here, "peer.py"), "--versions"], { encoding: "utf8" }));
} catch {
  // an older peer.py without --versions: the versions are just not recorded
}
const results = {
  date: new Date().toISOString(),
  hours,
  runs,
  machine: { cpus: os.availableParallelism(), cpu: os.cpus()[0]?.model ?? "?", node: process.version, load_before: load() },
  peer_versions: peerVersions,
  augment: {},
  peer: {},
};
console.log(
  `augment vs numpy/scipy peer, ${hours} h corpus, ${runs} runs each (alternating), node ${process.version}, ${results.machine.cpu} × ${results.machine.cpus}, load ${load().toFixed(2)}`,
);

function augmentRun(recipeFile, w, out) {
  rmSync(out, { recursive: true, force: true });
  const t = timeCmd(process.execPath, [cliPath, "run", recipeFile, "--workers", String(w), "--out", out, "--quiet"]);
  const summary = JSON.parse(readFileSync(path.join(out, "summary.json"), "utf8"));
  return { ...t, audioS: summary.hours.output * 3600 };
}

function peerRun(w) {
  const out = path.join(data, `out-peer-w${w}`);
  rmSync(out, { recursive: true, force: true });
  return timeCmd(PY, [path.join(here, "peer.py"), planFile, out, String(w), path.join(root, "noise-banks/default"), path.join(root, "rirs/demo")], {
    env: { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" },
  });
}

const summarize = (xs, audioS) => {
  const wall = median(xs.map((x) => x.wallS));
  return {
    wall_s: xs.map((x) => round(x.wallS, 3)),
    cpu_s: xs.map((x) => round(x.cpuS, 3)),
    median_wall_s: round(wall, 3),
    median_cpu_s: round(median(xs.map((x) => x.cpuS)), 3),
    audio_h_per_wall_s: round(audioS / 3600 / wall, 5),
    x_realtime: round(audioS / wall, 1),
    peak_rss_mb: round(Math.max(...xs.map((x) => x.rssMb)), 1),
  };
};
function round(x, d) {
  return Math.round(x * 10 ** d) / 10 ** d;
}

for (const w of workerCounts) {
  const a = [];
  const p = [];
  let audioS = 0;
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? ["augment", "peer"] : ["peer", "augment"];
    for (const who of order) {
      if (who === "augment") {
        const t = augmentRun(recipe, w, path.join(data, `out-augment-w${w}`));
        audioS = t.audioS;
        a.push(t);
      } else p.push(peerRun(w));
    }
  }
  const ra = (results.augment[w] = summarize(a, audioS));
  const rp = (results.peer[w] = summarize(p, audioS));
  // Per-run pairs too: each augment run against the peer run next to it.
  const pairRatios = a.map((x, i) => p[i].wallS / x.wallS);
  ra.speed_ratio_vs_peer = round(rp.median_wall_s / ra.median_wall_s, 3);
  ra.paired_speed_ratio_median = round(median(pairRatios), 3);
  ra.cpu_ratio_vs_peer = round(rp.median_cpu_s / ra.median_cpu_s, 3);
  console.log(
    `workers=${w}: augment ${ra.median_wall_s.toFixed(2)} s wall, ${ra.median_cpu_s.toFixed(2)} CPU-s (${ra.x_realtime.toFixed(0)}x realtime, peak RSS ${ra.peak_rss_mb.toFixed(0)} MB) | ` +
      `peer ${rp.median_wall_s.toFixed(2)} s wall, ${rp.median_cpu_s.toFixed(2)} CPU-s (${rp.x_realtime.toFixed(0)}x realtime) | ` +
      `augment/peer speed ${ra.speed_ratio_vs_peer.toFixed(2)} (paired runs ${ra.paired_speed_ratio_median.toFixed(2)}), CPU efficiency ${ra.cpu_ratio_vs_peer.toFixed(2)}`,
  );
}

// Inline room simulation (a new room for every reverberated item) against the bank recipe, at the
// most threads: the run-time share of simulation, two ways. (1) The difference of the two runs'
// medians over the inline run's. (2) Directly: every room the inline plan holds simulated (and
// measured, as the reverb op does) in this process, one thread; that CPU time over the inline
// run's CPU time, and over its wall time × threads.
if (withRooms) {
  const w = Math.max(...workerCounts);
  const inline = path.join(data, "recipe-inline-rooms.yaml");
  writeFileSync(inline, recipeText.replace("  - reverb: {bank: rooms, p: 0.5}", "  - reverb: {simulate: {rt60_s: [0.2, 1.2]}, p: 0.5}"));
  const bank = [];
  const inl = [];
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? ["inline", "bank"] : ["bank", "inline"];
    for (const which of order) {
      if (which === "inline") inl.push(augmentRun(inline, w, path.join(data, "out-inline-rooms")));
      else bank.push(augmentRun(recipe, w, path.join(data, `out-augment-w${w}`)));
    }
  }
  const inlinePlan = path.join(data, "plan-inline-rooms.jsonl");
  execFileSync(process.execPath, [cliPath, "plan", inline, "--out", inlinePlan], { stdio: "ignore" });
  const rooms = readFileSync(inlinePlan, "utf8")
    .split("\n")
    .filter(Boolean)
    .flatMap((l) => JSON.parse(l).ops.filter((o) => o.op === "reverb" && o.room).map((o) => o.room));
  const { simulateRoom } = await import(path.join(dist, "rooms/simulate.js"));
  const { measureRir } = await import(path.join(dist, "audio/acoustics.js"));
  for (const room of rooms.slice(0, 8)) measureRir(simulateRoom(room)[0], room.sample_rate); // warm-up
  const c0 = process.cpuUsage();
  let simS = 0;
  for (const room of rooms) {
    const s0 = process.cpuUsage();
    const h = simulateRoom(room)[0];
    const s = process.cpuUsage(s0);
    simS += (s.user + s.system) / 1e6;
    measureRir(h, room.sample_rate);
  }
  const c = process.cpuUsage(c0);
  const simMeasureS = (c.user + c.system) / 1e6;
  const inlineWall = median(inl.map((x) => x.wallS));
  const bankWall = median(bank.map((x) => x.wallS));
  const inlineCpu = median(inl.map((x) => x.cpuS));
  results.inline_rooms = {
    workers: w,
    rooms: rooms.length,
    inline: summarize(inl, inl[0].audioS),
    bank: summarize(bank, bank[0].audioS),
    wall_share_by_difference: round(Math.max(0, inlineWall - bankWall) / inlineWall, 3),
    simulate_cpu_s: round(simS, 3),
    simulate_and_measure_cpu_s: round(simMeasureS, 3),
    rirs_per_cpu_s: round(rooms.length / simS, 1),
    cpu_share_of_inline_run: round(simMeasureS / inlineCpu, 3),
    wall_share_of_threads: round(simMeasureS / (inlineWall * w), 3),
  };
  const ir = results.inline_rooms;
  console.log(
    `inline rooms (reverb p=0.5, ${w} workers, ${rooms.length} rooms): ${inlineWall.toFixed(2)} s vs ${bankWall.toFixed(2)} s with a bank (difference ${(100 * ir.wall_share_by_difference).toFixed(0)}% of the run); ` +
      `simulating + measuring them: ${simMeasureS.toFixed(2)} CPU-s (${ir.rirs_per_cpu_s.toFixed(0)} RIRs per CPU-s simulated) = ${(100 * ir.cpu_share_of_inline_run).toFixed(0)}% of the inline run's CPU, ` +
      `${(100 * ir.wall_share_of_threads).toFixed(0)}% of its ${w} threads' wall time`,
  );
}

results.machine.load_after = load();
if (results.machine.load_before > results.machine.cpus / 2 || results.machine.load_after > results.machine.cpus / 2) {
  console.log(`note: load average ${results.machine.load_before.toFixed(1)} → ${results.machine.load_after.toFixed(1)} on ${results.machine.cpus} CPUs: other work shared the machine, read the ratios`);
}
mkdirSync(path.join(here, "results"), { recursive: true });
const stamp = results.date.slice(0, 10);
writeFileSync(path.join(here, "results", `e2e-${stamp}.json`), JSON.stringify(results, null, 2) + "\n");
const md = [
  `# augment vs numpy/scipy peer, ${results.date}`,
  "",
  `${hours} h corpus, ${runs} runs per configuration (alternating), node ${process.version}, ${results.machine.cpu} × ${results.machine.cpus} CPUs, load ${results.machine.load_before.toFixed(1)} → ${results.machine.load_after.toFixed(1)}; peer: ${JSON.stringify(peerVersions)}`,
  "",
  "| threads | augment wall | augment CPU | augment x realtime | peak RSS | peer wall | peer CPU | peer x realtime | speed ratio (paired) | CPU efficiency |",
  "|---|---|---|---|---|---|---|---|---|---|",
  ...workerCounts.map((w) => {
    const a = results.augment[w];
    const p = results.peer[w];
    return `| ${w} | ${a.median_wall_s.toFixed(2)} s | ${a.median_cpu_s.toFixed(2)} s | ${a.x_realtime.toFixed(0)} | ${a.peak_rss_mb.toFixed(0)} MB | ${p.median_wall_s.toFixed(2)} s | ${p.median_cpu_s.toFixed(2)} s | ${p.x_realtime.toFixed(0)} | ${a.speed_ratio_vs_peer.toFixed(2)} (${a.paired_speed_ratio_median.toFixed(2)}) | ${a.cpu_ratio_vs_peer.toFixed(2)} |`;
  }),
  "",
  ...(results.inline_rooms
    ? [
        `Inline rooms, ${results.inline_rooms.workers} threads, ${results.inline_rooms.rooms} rooms: ${results.inline_rooms.inline.median_wall_s.toFixed(2)} s vs ${results.inline_rooms.bank.median_wall_s.toFixed(2)} s with a bank; ` +
          `simulation + measurement ${results.inline_rooms.simulate_and_measure_cpu_s.toFixed(2)} CPU-s = ${(100 * results.inline_rooms.cpu_share_of_inline_run).toFixed(0)}% of the run's CPU ` +
          `(${(100 * results.inline_rooms.wall_share_of_threads).toFixed(0)}% of thread time; by difference of runs ${(100 * results.inline_rooms.wall_share_by_difference).toFixed(0)}%); ${results.inline_rooms.rirs_per_cpu_s.toFixed(0)} RIRs per CPU-s.`,
      ]
    : []),
  "",
];
writeFileSync(path.join(here, "results", `e2e-${stamp}.md`), md.join("\n"));
console.log(`results: bench/results/e2e-${stamp}.json, .md`);
