// Shared by the GPU engine tests: a device (any adapter, lavapipe included) or the reason there is
// none, the CPU twin of a chain, and readers for what a run writes.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { decodeAudio } from "../../src/audio/decode.js";
import { acquireGpu, type GpuHandle } from "../../src/gpu/device.js";
import { GpuKernels } from "../../src/gpu/program.js";
import { GpuRuntime } from "../../src/gpu/runtime.js";
import { getOp } from "../../src/ops/registry.js";
import type { ApplyContext, Measured } from "../../src/ops/types.js";
import type { PlannedOp } from "../../src/types.js";
import { noiseSignal, speechLike, writeNemoCorpus, writeWav } from "../helpers/fixtures.js";

export interface TestGpu {
  handle: GpuHandle;
  runtime: GpuRuntime;
  kernels: GpuKernels;
}

/** The device for a test file, or why there is none (the file's tests are then skipped, saying so). */
export async function testGpu(): Promise<{ gpu?: TestGpu; reason?: string }> {
  const { gpu, reason } = await acquireGpu({ allowSoftware: true });
  if (!gpu) {
    console.warn(`GPU tests skipped: ${reason}`);
    return { reason };
  }
  // Software adapters compile each pipeline on first use (seconds on lavapipe): a generous watchdog.
  return { gpu: { handle: gpu, runtime: new GpuRuntime(gpu, { watchdogS: 900 }), kernels: new GpuKernels(gpu.device) } };
}

/** Fresh random inputs every run; the seed is printed so a failure can be replayed (GPU_TEST_SEED). */
export function testSeed(): number {
  const seed = Number(process.env.GPU_TEST_SEED) || (Date.now() % 1_000_000) + 1;
  console.log(`random seed ${seed} (set GPU_TEST_SEED to replay)`);
  return seed;
}

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** A speech-like row: a wandering tone with noise, random level. */
export function randomSignal(n: number, rnd: () => number, amp = 0.05 + 0.4 * rnd()): Float32Array {
  const x = new Float32Array(n);
  let phase = rnd() * 6;
  const f = 0.02 + 0.2 * rnd();
  for (let i = 0; i < n; i++) {
    phase += f * (1 + 0.3 * Math.sin(i / 700));
    x[i] = amp * (0.7 * Math.sin(phase) + 0.3 * (rnd() - 0.5));
  }
  return x;
}

/** The chain on the CPU: the ops' own apply(), in order. */
export async function cpuChain(x: Float32Array, ops: PlannedOp[], ctx: ApplyContext): Promise<{ audio: Float32Array; measured: Array<Measured | undefined> }> {
  const measured: Array<Measured | undefined> = [];
  for (const p of ops) {
    const r = await getOp(p.op).apply(x, p, ctx);
    x = r.audio;
    measured.push(r.measured);
  }
  return { audio: x, measured };
}

export function relL2(y: ArrayLike<number>, x: ArrayLike<number>): number {
  let e = 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    e += (y[i] - x[i]) ** 2;
    s += x[i] ** 2;
  }
  return s > 0 ? Math.sqrt(e / s) : Math.sqrt(e);
}

/**
 * Measured values: the same keys and strings; numbers equal to the last digit they are rounded
 * to (the GPU sums in f32, the CPU in f64, so a value at a rounding boundary may land one unit over).
 */
export function measuredClose(gpu: Measured | undefined, cpu: Measured | undefined): string | null {
  const a = cpu ?? {};
  const b = gpu ?? {};
  const keys = Object.keys(a);
  if (keys.join() !== Object.keys(b).join()) return `keys ${Object.keys(b)} vs ${keys}`;
  for (const k of keys) {
    const u = a[k];
    const v = b[k];
    if (typeof u === "number" && typeof v === "number") {
      const decimals = (String(u).split(".")[1] ?? "").length;
      const unit = decimals ? 10 ** -decimals : 1;
      if (!(Math.abs(u - v) <= Math.max(unit, 1e-6 * Math.abs(u)) * 1.01)) return `${k}: GPU ${v}, CPU ${u}`;
    } else if (u !== v) return `${k}: GPU ${v}, CPU ${u}`;
  }
  return null;
}

/** Members of every tar shard in a folder, by name. */
export function readShardMembers(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".tar")).sort()) {
    const buf = readFileSync(path.join(dir, f));
    for (let o = 0; o + 512 <= buf.length; ) {
      const name = buf.subarray(o, o + 100).toString("latin1").replace(/\0.*$/s, "");
      if (!name) break;
      const size = parseInt(buf.subarray(o + 124, o + 136).toString("latin1").replace(/\0.*$/s, "").trim(), 8);
      out.set(name, buf.subarray(o + 512, o + 512 + size));
      o += 512 + Math.ceil(size / 512) * 512;
    }
  }
  return out;
}

/** Every item a webdataset run wrote: decoded audio and its metadata. */
export async function readItems(dir: string): Promise<Map<string, { audio: Float32Array; meta: any; text: string }>> {
  const members = readShardMembers(dir);
  const items = new Map<string, { audio: Float32Array; meta: any; text: string }>();
  for (const [name, bytes] of members) {
    const m = /^(.*)\.(wav|flac)$/.exec(name);
    if (!m) continue;
    const decoded = await decodeAudio(new Uint8Array(bytes), name);
    items.set(m[1], { audio: decoded.channels[0], meta: JSON.parse(members.get(`${m[1]}.json`)!.toString("utf8")), text: members.get(`${m[1]}.txt`)!.toString("utf8") });
  }
  return items;
}

/**
 * A small corpus in `dir`: six utterances, a noise bank of two categories and two short RIRs, and
 * `recipe.yaml` with the given chain (WAV output, so the decoded audio is what the engine made).
 */
export function writeEngineCorpus(dir: string, chain: string, extra = ""): void {
  const SR = 16000;
  const rnd = rng(42);
  const items = Array.from({ length: 6 }, (_, i) => ({
    id: `spk${i % 2}-utt${i}`,
    speaker: `spk${i % 2}`,
    text: `utterance ${i}`,
    samples: speechLike(Math.round((0.6 + 0.2 * i) * SR), SR, 110 + 20 * i, i + 1),
    sampleRate: SR,
  }));
  writeNemoCorpus(path.join(dir, "corpus"), items);
  writeWav(path.join(dir, "noise/babble/n0.wav"), noiseSignal(SR, 3, 0.3), SR);
  writeWav(path.join(dir, "noise/hum/n1.wav"), noiseSignal(Math.round(0.4 * SR), 4, 0.2), SR);
  for (const [k, taps] of [1500, 2600].entries()) {
    const h = new Float32Array(taps);
    const d = 12 + 9 * k;
    for (let i = d; i < taps; i++) h[i] = (i === d ? 0.8 : 0) + 0.3 * (rnd() - 0.5) * Math.exp(-(i - d) / (taps / 6));
    writeWav(path.join(dir, `rirs/room${k}.wav`), h, SR);
  }
  writeFileSync(
    path.join(dir, "recipe.yaml"),
    `seed: 7
sample_rate: ${SR}
inputs: [{format: nemo, path: corpus/manifest.json}]
noise_banks: [{name: nb, path: noise}]
rir_banks: [{name: rb, path: rirs}]
copies: 2
chain:
${chain}
output: {path: out, audio: wav, shard_max_items: 5}
engine: {workers: 2, batch_items: 3}
${extra}`,
  );
}

/** Compares two runs item by item: ids, labels, durations, provenance (to its rounding), audio. */
export async function compareRuns(gpuDir: string, cpuDir: string): Promise<{ items: number; worstRelL2: number; problems: string[] }> {
  const a = await readItems(gpuDir);
  const b = await readItems(cpuDir);
  const problems: string[] = [];
  if ([...a.keys()].sort().join() !== [...b.keys()].sort().join()) problems.push(`item ids differ: ${[...a.keys()].sort()} vs ${[...b.keys()].sort()}`);
  let worst = 0;
  for (const [id, g] of a) {
    const c = b.get(id);
    if (!c) continue;
    if (g.text !== c.text) problems.push(`${id}: text`);
    for (const k of ["id", "text", "speaker", "duration", "num_samples", "sampling_rate", "source", "copy", "words"]) {
      if (JSON.stringify(g.meta[k]) !== JSON.stringify(c.meta[k])) problems.push(`${id}: ${k} ${JSON.stringify(g.meta[k])} vs ${JSON.stringify(c.meta[k])}`);
    }
    g.meta.ops.forEach((op: any, j: number) => {
      const { measured: gm, ...gp } = op;
      const { measured: cm, ...cp } = c.meta.ops[j] ?? {};
      if (JSON.stringify(gp) !== JSON.stringify(cp)) problems.push(`${id}: op ${j} params`);
      const d = measuredClose(gm, cm);
      if (d) problems.push(`${id}: op ${j} (${op.op}) ${d}`);
    });
    const lvl = measuredClose({ peak_dbfs: g.meta.peak_dbfs, rms_dbfs: g.meta.rms_dbfs }, { peak_dbfs: c.meta.peak_dbfs, rms_dbfs: c.meta.rms_dbfs });
    if (lvl) problems.push(`${id}: ${lvl}`);
    if (g.audio.length !== c.audio.length) problems.push(`${id}: ${g.audio.length} samples vs ${c.audio.length}`);
    else worst = Math.max(worst, relL2(g.audio, c.audio));
  }
  return { items: a.size, worstRelL2: worst, problems };
}
