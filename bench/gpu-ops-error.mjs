#!/usr/bin/env node
// Each GPU op against its CPU twin (the op's apply()), before encoding: the largest relative L2
// error over random rows (1 sample to 3 s, batches of many) and whether the measured values
// (provenance) are the same. Plain node from dist/ (`npm run build` first):
//   node bench/gpu-ops-error.mjs [--seed N]   (any adapter, lavapipe included)
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const load = (p) => import(path.join(ROOT, "dist", p));
const { acquireGpu } = await load("gpu/device.js");
const { GpuRuntime } = await load("gpu/runtime.js");
const { GpuKernels } = await load("gpu/program.js");
const { runBatch } = await load("engine/gpu/batch.js");
const { rirFacts } = await load("engine/gpu/tasks.js");
const { getOp } = await load("ops/registry.js");

const seedArg = process.argv.indexOf("--seed");
let seed = seedArg > 0 ? Number(process.argv[seedArg + 1]) : 1 + (Date.now() % 100000);
const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const { gpu, reason } = await acquireGpu({ allowSoftware: true });
if (!gpu) {
  console.error(`no GPU: ${reason}`);
  process.exit(2);
}
const runtime = new GpuRuntime(gpu, { watchdogS: 900 });
const kernels = new GpuKernels(gpu.device);
console.log(`adapter: ${gpu.info.vendor} ${gpu.info.device || gpu.info.description}; seed ${seed}`);

function signal(n, amp = 0.05 + 0.4 * rnd()) {
  const x = new Float32Array(n);
  let ph = rnd() * 6;
  const f = 0.02 + 0.2 * rnd();
  for (let i = 0; i < n; i++) {
    ph += f * (1 + 0.3 * Math.sin(i / 700));
    x[i] = amp * (0.7 * Math.sin(ph) + 0.3 * (rnd() - 0.5));
  }
  return x;
}
function rir(taps, d) {
  const h = new Float32Array(taps);
  for (let i = d; i < taps; i++) h[i] = (i === d ? 0.9 : 0) + 0.4 * (rnd() - 0.5) * Math.exp(-(i - d) / (taps / 6));
  return h;
}

const cases = {
  speed: () => ({ op: "speed", factor: [0.9, 1.1, 0.95, 1.05, 0.8123, 1.0537][Math.floor(rnd() * 6)] }),
  reverb: () => ({ op: "reverb", bank: "b", rir: ["r0", "r1", "r2"][Math.floor(rnd() * 3)], normalize: rnd() < 0.8 ? "rms" : "none" }),
  noise: () => ({ op: "noise", bank: "b", noise: "n", category: "", offset_s: Math.round(rnd() * 2e4) / 1e4, snr_db: Math.round((-5 + 30 * rnd()) * 1000) / 1000, snr_reference: "clip", crossfade_ms: 50 }),
  gain: () => (rnd() < 0.5 ? { op: "gain", db: Math.round((-20 + 40 * rnd()) * 1000) / 1000, avoid_clipping: true } : { op: "gain", target_dbfs: Math.round((-40 + 35 * rnd()) * 1000) / 1000, avoid_clipping: true }),
  dcoffset: () => ({ op: "dcoffset", offset: Math.round((-0.5 + rnd()) * 1e5) / 1e5 }),
  clip: () => ({ op: "clip", mode: rnd() < 0.5 ? "hard" : "soft", level_db: Math.round(-20 * rnd() * 100) / 100 }),
  bitdepth: () => ({ op: "bitdepth", bits: 2 + Math.floor(15 * rnd()) }),
  filter: () => ({ op: "filter", type: "highpass", order: 8, cutoff_hz: Math.round(20 + 400 * rnd()) }),
  telephone: () => ({ op: "telephone", low_hz: 300, high_hz: 3400, low_order: 4, high_order: 8 }),
  eq: () => ({ op: "eq", bands: [{ type: "peaking", freq_hz: Math.round(60 + 3000 * rnd()), gain_db: Math.round((-12 + 24 * rnd()) * 100) / 100, q: Math.round((0.5 + 8 * rnd()) * 1000) / 1000 }] }),
  micresponse: () => ({ op: "micresponse", curve: ["phone_handset", "laptop_builtin", "headset_boom", "smartphone_mems", "cheap_usb", "speakerphone"][Math.floor(rnd() * 6)] }),
};

const rows = [];
for (const [name, make] of Object.entries(cases)) for (const n of [1, 3, 1000, 4097, 16001, 48000]) rows.push({ name, audio: signal(n), ops: [make()] });
for (const sr of [16000]) {
  const noise = signal(3 * sr, 0.2);
  const rirs = { r0: rir(2000, 15), r1: rir(6000, 40), r2: rir(333, 0) };
  const res = (ref) => (ref.kind === "noise" ? { audio: noise } : { audio: rirs[ref.id], rir: rirFacts(rirs[ref.id], sr) });
  const t = performance.now();
  const out = await runBatch(rows.map((r) => ({ audio: r.audio.slice(), ops: r.ops })), { runtime, kernels, ctx: { sampleRate: sr, resource: res }, cpu: () => Promise.reject(new Error("GPU only")), floatOutput: true });
  console.log(`GPU batch of ${rows.length} rows: ${((performance.now() - t) / 1000).toFixed(2)} s (includes shader compilation on first use)`);
  const worst = {};
  const measuredSame = {};
  for (let k = 0; k < rows.length; k++) {
    const { name, ops } = rows[k];
    let x = rows[k].audio;
    const ms = [];
    for (const p of ops) {
      const r = await getOp(p.op).apply(x, p, { sampleRate: sr, resource: (ref) => res(ref).audio, memo: (_k, f) => f() });
      x = r.audio;
      ms.push(r.measured);
    }
    const y = out[k].audio;
    let e = 0;
    let s = 0;
    for (let i = 0; i < x.length; i++) {
      e += (y[i] - x[i]) ** 2;
      s += x[i] ** 2;
    }
    const rel = y.length !== x.length ? Infinity : s > 0 ? Math.sqrt(e / s) : Math.sqrt(e);
    worst[name] = Math.max(worst[name] ?? 0, rel);
    measuredSame[name] = (measuredSame[name] ?? true) && JSON.stringify(ms) === JSON.stringify(out[k].measured);
  }
  console.log(`\n| op | max rel. L2 (GPU vs CPU, ${sr} Hz) | measured identical |\n|---|---|---|`);
  for (const name of Object.keys(cases)) console.log(`| ${name} | ${worst[name].toExponential(2)} | ${measuredSame[name] ? "yes" : "no (last-digit rounding)"} |`);
}
runtime.destroy();
