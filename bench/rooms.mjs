// Room simulator throughput: RIRs per second on one CPU core at RT60 0.3, 0.6 and 1.0 s, 16 kHz.
//
//   npx tsc -p tsconfig.json && node bench/rooms.mjs [--runs 5] [--json out.json]
//
// Each figure is the median over RUNS timed runs (after one warm-up run) of a batch of BATCH RIRs,
// each with different source/mic positions, as RIRs per second of wall time and per second of
// this process's CPU time (steadier when other processes share the machine). Scenarios:
//   gpurir-room  3 × 4 × 2.5 m (the room of gpuRIR's examples/time_vs_T60.py), omni, broadband
//                absorption by Eyring for the RT60, hybrid ISM + tail (transition "auto"),
//                length 1.2 × RT60: the default of `simulate:`.
//   sampled      rooms drawn by sampleRoom from the default `simulate:` ranges (3 × 3 × 2.4 to
//                10 × 8 × 4 m, 0.5–4 m), RT60 fixed: what a bank costs.
//   bands        gpurir-room with 6 octave bands of absorption (125 Hz–4 kHz).
//   array4       gpurir-room with a 4-mic array (4 RIRs per room, counted as 4).
//   full-ism     gpurir-room, image sources only (no tail) to 1.2 × RT60: the exact ISM cost the
//                tail avoids (pyroomacoustics' and rir_generator's mode).
//   measure      measureRir on gpurir-room RIRs (Schroeder, Lundeby, T20/T30/EDT/DRR/C50).
//   inline       what `reverb: {simulate: …}` costs per reverberated item: a sampled room simulated
//                and measured (the op records RT60/DRR/C50), rate in items per second.
// With --baseline DIR (another build's dist/, e.g. of an older commit), the `sampled` scenario is
// also timed on that build, the two taking turns, and the speed-up printed.
import { existsSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const dist = new URL("../dist/", import.meta.url);
if (!existsSync(new URL("rooms/simulate.js", dist))) {
  console.error("dist/rooms/simulate.js is missing: run `npx tsc -p tsconfig.json` first");
  process.exit(1);
}
const { simulateRoom } = await import(new URL("rooms/simulate.js", dist).href);
const { roomRng, sampleRoom, simulateSchema } = await import(new URL("rooms/sample.js", dist).href);
const { autoLengthS, autoTransitionS, eyringAbsorption } = await import(new URL("rooms/theory.js", dist).href);
const { measureRir } = await import(new URL("audio/acoustics.js", dist).href);

const args = process.argv.slice(2);
const argValue = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const RUNS = Number(argValue("--runs", 5));
const baselineDir = argValue("--baseline", null);
const baseline = baselineDir ? (await import(new URL("rooms/simulate.js", new URL(`file://${path.resolve(baselineDir)}/`)).href)).simulateRoom : null;
const BATCH = 16;
const FS = 16000;
const RT60S = [0.3, 0.6, 1.0];
const ROOM = [3, 4, 2.5];

/** Deterministic positions 0.5 m inside the room (a plain LCG: no bearing on the results). */
function positions(count, seed) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const at = () => ROOM.map((l) => 0.5 + next() * (l - 1));
  return Array.from({ length: count }, () => {
    let src;
    let mic;
    do {
      src = at();
      mic = at();
    } while (Math.hypot(src[0] - mic[0], src[1] - mic[1], src[2] - mic[2]) < 0.5);
    return { src, mic };
  });
}

function roomSpecs(rt60, opts = {}) {
  const alpha = eyringAbsorption(ROOM, rt60, 343);
  return positions(BATCH, Math.round(rt60 * 1000)).map(({ src, mic }, k) => ({
    dims_m: ROOM,
    absorption: opts.bands ? { bands_hz: [125, 250, 500, 1000, 2000, 4000], values: [0.7, 0.85, 1, 1, 1.1, 1.2].map((r) => Math.min(0.99, alpha * r)) } : alpha,
    source_m: src,
    mics_m: opts.array ? [[-0.05, 0, 0], [0.05, 0, 0], [0, 0.05, 0], [0, -0.05, 0]].map((o) => mic.map((x, i) => x + o[i])) : [mic],
    sample_rate: FS,
    c_m_s: 343,
    transition_s: opts.fullIsm ? null : autoTransitionS(ROOM, rt60, 343),
    length_s: autoLengthS(rt60),
    seed: 1000 + k,
    rt60_s: rt60,
  }));
}

function sampledSpecs(rt60) {
  const cfg = simulateSchema.parse({ rt60_s: [rt60, rt60] });
  return Array.from({ length: BATCH }, (_, i) => sampleRoom(roomRng(1, "bench", i), cfg, { sampleRate: FS }));
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * RIRs per second: median over runs of a batch, by wall time and by this process's CPU time (user +
 * system; on a shared machine the CPU figure is the steadier one). `work` returns the RIRs made.
 */
function rate(work, runs = RUNS) {
  work();
  const wall = [];
  const cpu = [];
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const n = work();
    const c = process.cpuUsage(c0);
    wall.push(n / ((performance.now() - t0) / 1000));
    cpu.push(n / ((c.user + c.system) / 1e6));
  }
  return { wall: median(wall), cpu: median(cpu) };
}

const results = [];
const row = (scenario, rt60, { wall, cpu }, note = "") => {
  const r1 = (x) => Math.round(x * 10) / 10;
  results.push({ scenario, rt60_s: rt60, rirs_per_s: r1(wall), rirs_per_cpu_s: r1(cpu), ms_per_rir: Math.round((1000 / wall) * 100) / 100, note });
  console.log(
    `${scenario.padEnd(12)} RT60 ${rt60.toFixed(1)} s  ${wall.toFixed(1).padStart(8)} RIRs/s (wall)  ${cpu.toFixed(1).padStart(8)} RIRs/CPU-s  ${(1000 / wall).toFixed(2).padStart(8)} ms/RIR ${note}`,
  );
};

console.log(
  `node ${process.version}, ${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} logical CPUs (one used), load ${os.loadavg()[0].toFixed(2)}, ${BATCH} RIRs per run, median of ${RUNS} runs`,
);
for (const rt60 of RT60S) {
  const specs = roomSpecs(rt60);
  row("gpurir-room", rt60, rate(() => specs.reduce((n, s) => n + simulateRoom(s).length, 0)));
  const sampled = sampledSpecs(rt60);
  row("sampled", rt60, rate(() => sampled.reduce((n, s) => n + simulateRoom(s).length, 0)));
  const bands = roomSpecs(rt60, { bands: true });
  row("bands", rt60, rate(() => bands.reduce((n, s) => n + simulateRoom(s).length, 0)));
  const array = roomSpecs(rt60, { array: true });
  row("array4", rt60, rate(() => array.reduce((n, s) => n + simulateRoom(s).length, 0)), "(per mic RIR)");
  // The full ISM grows as RT60³: fewer RIRs and runs so the bench stays short.
  const full = roomSpecs(rt60, { fullIsm: true }).slice(0, rt60 >= 1 ? 2 : 4);
  row("full-ism", rt60, rate(() => full.reduce((n, s) => n + simulateRoom(s).length, 0), Math.min(RUNS, 3)));
  const rirs = specs.map((s) => simulateRoom(s)[0]);
  row("measure", rt60, rate(() => rirs.reduce((n, h) => (measureRir(h, FS), n + 1), 0)), "(measureRir calls/s)");
  row("inline", rt60, rate(() => sampled.reduce((n, s) => (measureRir(simulateRoom(s)[0], FS), n + 1), 0)), "(items/s: simulate + measure)");
  if (baseline) {
    const ours = [];
    const theirs = [];
    for (let r = 0; r < RUNS; r++) {
      const pair = [() => ours.push(rate(() => sampled.reduce((n, s) => n + simulateRoom(s).length, 0), 1).cpu), () => theirs.push(rate(() => sampled.reduce((n, s) => n + baseline(s).length, 0), 1).cpu)];
      if (r % 2) pair.reverse();
      pair.forEach((f) => f());
    }
    const speedup = median(ours) / median(theirs);
    results.push({ scenario: "sampled-vs-baseline", rt60_s: rt60, rirs_per_cpu_s: Math.round(median(ours) * 10) / 10, baseline_rirs_per_cpu_s: Math.round(median(theirs) * 10) / 10, speedup: Math.round(speedup * 100) / 100 });
    console.log(`${"vs baseline".padEnd(12)} RT60 ${rt60.toFixed(1)} s  ${median(ours).toFixed(1).padStart(8)} vs ${median(theirs).toFixed(1)} RIRs/CPU-s (${baselineDir}): ${speedup.toFixed(2)}× (sampled rooms, runs alternating)`);
  }
}
const out = argValue("--json", null);
if (out) {
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, cpu: os.cpus()[0]?.model, load: os.loadavg(), runs: RUNS, batch: BATCH, results }, null, 2) + "\n");
  console.log(`wrote ${out}`);
}
