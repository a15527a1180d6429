// Start-up check of the GPU engine: a tiny batch through every GPU op on the device and through
// the CPU ops, compared. Catches a driver that computes wrongly (or a compiler that folds the
// IIR kernel's double-float arithmetic) before any item is written, and compiles every pipeline
// so the first real batch does not pay for it.
import { floatToInt16 } from "../../audio/decode.js";
import { getOp } from "../../ops/registry.js";
import type { ApplyContext, Measured, ResourceRef } from "../../ops/types.js";
import type { PlannedOp } from "../../types.js";
import { GPU_OPS } from "../../gpu/registry.js";
import type { GpuOpContext } from "../../gpu/ops/types.js";
import { runBatch } from "./batch.js";
import type { GpuEngine } from "./engine.js";
import { rirFacts, type LoadedResource } from "./tasks.js";

/** Largest relative L2 difference (int16 output, GPU vs CPU) the self-test accepts. */
export const SELF_TEST_TOLERANCE = 1e-4;

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function signal(n: number, seed: number, amp: number): Float32Array {
  const rnd = lcg(seed);
  const x = new Float32Array(n);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    phase += 0.05 + 0.03 * Math.sin(i / 500);
    x[i] = amp * (0.7 * Math.sin(phase) + 0.3 * (rnd() - 0.5));
  }
  return x;
}

/** One chain per GPU op (params as a planner would draw them), plus a mixed chain. */
function chains(sampleRate: number): PlannedOp[][] {
  const noise = { op: "noise", bank: "selftest", noise: "n", category: "", offset_s: 0.01, snr_db: 6, snr_reference: "clip", crossfade_ms: 5 };
  const all: PlannedOp[][] = [
    [noise],
    [{ op: "gain", db: 4.5, avoid_clipping: true }],
    [{ op: "gain", target_dbfs: -20, avoid_clipping: true }],
    [{ op: "dcoffset", offset: 0.02 }],
    [{ op: "clip", mode: "soft", level_db: -4 }],
    [{ op: "bitdepth", bits: 8 }],
    [{ op: "filter", type: "highpass", order: 8, cutoff_hz: Math.min(40, sampleRate / 100) }],
    [{ op: "telephone", low_hz: 300, high_hz: 3400, low_order: 4, high_order: 8 }],
    [{ op: "eq", bands: [{ type: "peaking", freq_hz: Math.min(150, sampleRate / 20), gain_db: 9, q: 4 }] }],
    [{ op: "micresponse", curve: "phone_handset" }],
    [{ op: "reverb", bank: "selftest", rir: "r", normalize: "rms" }],
    [{ op: "speed", factor: 1.1 }],
    [{ op: "speed", factor: 0.9 }, { op: "gain", db: 20, avoid_clipping: true }, noise, { op: "filter", type: "lowpass", order: 4, cutoff_hz: sampleRate / 4 }],
  ];
  return all.filter((c) => c.every((p) => GPU_OPS.has(p.op)));
}

/** Runs the self-test; returns the largest relative error, or throws with what disagreed. */
export async function gpuSelfTest(engine: GpuEngine, sampleRate: number): Promise<number> {
  const noise = signal(Math.round(0.05 * sampleRate), 99, 0.2);
  const rir = new Float32Array(Math.round(0.02 * sampleRate));
  const rnd = lcg(5);
  for (let i = 0; i < rir.length; i++) rir[i] = (i === 3 ? 1 : 0) + 0.3 * (rnd() - 0.5) * Math.exp(-i / (0.004 * sampleRate));
  const resources: Record<string, LoadedResource> = { noise: { audio: noise }, rir: { audio: rir, rir: rirFacts(rir, sampleRate) } };
  const gpuCtx: GpuOpContext = { sampleRate, resource: (ref: ResourceRef) => resources[ref.kind] };
  const cpuCtx: ApplyContext = { sampleRate, resource: (ref) => resources[ref.kind].audio, memo: (_k, compute) => compute() };
  const lengths = [1, 777, 2049, Math.round(0.11 * sampleRate)];
  const rows: Array<{ audio: Float32Array; ops: PlannedOp[] }> = [];
  chains(sampleRate).forEach((ops, c) => lengths.forEach((n, k) => rows.push({ audio: signal(n, 10 * c + k + 1, 0.25), ops })));
  const out = await runBatch(
    rows.map((r) => ({ audio: r.audio.slice(), ops: r.ops })),
    { runtime: engine.runtime, kernels: engine.kernels, ctx: gpuCtx, cpu: async () => Promise.reject(new Error("self-test rows run on the GPU only")) },
  );
  let worst = 0;
  for (let k = 0; k < rows.length; k++) {
    let x = rows[k].audio;
    const measured: Array<Measured | undefined> = [];
    for (const p of rows[k].ops) {
      const r = await getOp(p.op).apply(x, p, cpuCtx);
      x = r.audio;
      measured.push(r.measured);
    }
    const o = out[k];
    const name = rows[k].ops.map((p) => p.op).join("+");
    if (!("pcm" in o)) throw new Error(`self-test ${name}: no GPU output`);
    const ref = floatToInt16(x);
    if (ref.length !== o.pcm.length) throw new Error(`self-test ${name}: ${o.pcm.length} samples on the GPU, ${ref.length} on the CPU`);
    let e = 0;
    let s = 0;
    for (let i = 0; i < ref.length; i++) {
      e += (o.pcm[i] - ref[i]) ** 2;
      s += ref[i] ** 2;
    }
    // Very short rows hold a few samples: one LSB of rounding is not a disagreement.
    const rel = Math.sqrt(e / Math.max(s, 1));
    if (ref.length > 100) worst = Math.max(worst, rel);
    if (ref.length > 100 && !(rel <= SELF_TEST_TOLERANCE)) throw new Error(`self-test ${name} (${ref.length} samples): GPU and CPU differ by ${rel.toExponential(2)} (relative L2, more than ${SELF_TEST_TOLERANCE})`);
    const bad = differs(measured, o.measured);
    if (bad) throw new Error(`self-test ${name}: measured ${bad}`);
  }
  return worst;
}

/** Measured values: the same keys, numbers within their rounding (1e-3 relative or 0.01 absolute). */
function differs(a: Array<Measured | undefined>, b: Array<Measured | undefined>): string | null {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? {};
    const y = b[i] ?? {};
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
      const u = x[k];
      const v = y[k];
      if (typeof u === "number" && typeof v === "number") {
        if (Math.abs(u - v) > Math.max(0.01, 1e-3 * Math.abs(u))) return `${k}: ${v} on the GPU, ${u} on the CPU`;
      } else if (u !== v) return `${k}: ${v} on the GPU, ${u} on the CPU`;
    }
  }
  return null;
}
