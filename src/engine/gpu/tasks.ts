// Task kinds the CPU workers run for the GPU engine: the CPU does what the GPU cannot (decode,
// ops without a GPU kernel, FLAC/WAV encoding), the GPU engine does the chain in between. Every
// task reuses ItemProcessor's stages, so a row handled on the CPU is exactly what the CPU engine does.
import { measureRir } from "../../audio/acoustics.js";
import { directPathIndex } from "../../audio/rir.js";
import { roundTo } from "../../ops/params.js";
import type { Measured, ResourceRef } from "../../ops/types.js";
import type { ItemError, PlannedItem, PlannedOp, ProcessedItem } from "../../types.js";
import { finishItem, isItemError, type EngineConfig, type FinalAudio, type ItemProcessor } from "../process.js";

/** A decoded source: samples at the engine's rate and what the file was. */
export interface DecodedSource {
  samples: Float32Array;
  fileSampleRate: number;
  fileChannels: number;
}

/** A loaded resource; RIRs come with their direct-path index and measured acoustics (as reverb records them). */
export interface LoadedResource {
  audio: Float32Array;
  rir?: { delay: number; acoustics: Measured };
}

export interface FinishJob {
  item: PlannedItem;
  src: { fileSampleRate: number; fileChannels: number; length: number };
  out: FinalAudio;
  measured: Array<Measured | undefined>;
}

export type Task =
  | { kind: "decode"; items: PlannedItem[] }
  | { kind: "resources"; refs: ResourceRef[] }
  | { kind: "ops"; jobs: Array<{ audio: Float32Array; ops: PlannedOp[] }> }
  | { kind: "finish"; jobs: FinishJob[] };

export type TaskResult<K extends Task["kind"]> = K extends "decode"
  ? Array<DecodedSource | ItemError>
  : K extends "resources"
    ? Array<LoadedResource | { error: string }>
    : K extends "ops"
      ? Array<{ audio: Float32Array; measured: Array<Measured | undefined> } | { failed: string }>
      : Array<ProcessedItem | ItemError>;

/** Runs one task; returns its results and the buffers to transfer back (not copy). */
export async function handleTask(processor: ItemProcessor, cfg: EngineConfig, task: Task): Promise<{ results: unknown[]; transfer: ArrayBuffer[] }> {
  const transfer: ArrayBuffer[] = [];
  const give = (a: Float32Array | Uint8Array) => {
    if (!transfer.includes(a.buffer as ArrayBuffer)) transfer.push(a.buffer as ArrayBuffer);
  };
  switch (task.kind) {
    case "decode": {
      const results = await Promise.all(
        task.items.map(async (item) => {
          const src = await processor.decode(item).catch((e: any) => ({ id: item.outId, source: item.utt.audio.path, stage: "decode" as const, reason: `internal error: ${e?.message ?? e}` }));
          if (isItemError(src)) return src;
          give(src.samples);
          return { samples: src.samples, fileSampleRate: src.fileSampleRate, fileChannels: src.fileChannels };
        }),
      );
      return { results, transfer };
    }
    case "resources": {
      const results: Array<LoadedResource | { error: string }> = [];
      for (const ref of task.refs) {
        try {
          // A copy: the processor's cache keeps its own (a transfer would empty it).
          const audio = (await processor.loadResources([ref])).values().next().value!.slice();
          results.push(ref.kind === "rir" ? { audio, rir: rirFacts(audio, cfg.sampleRate) } : { audio });
          give(audio);
        } catch (e: any) {
          results.push({ error: e?.message ?? String(e) });
        }
      }
      return { results, transfer };
    }
    case "ops": {
      const results = await Promise.all(task.jobs.map((j) => processor.applyOps(j.audio, j.ops).catch((e: any) => ({ failed: `internal error: ${e?.message ?? e}` }))));
      for (const r of results) if ("audio" in r) give(r.audio);
      return { results, transfer };
    }
    case "finish": {
      const results = task.jobs.map((j) => {
        try {
          return finishItem(cfg, j.item, j.src, j.out, j.measured);
        } catch (e: any) {
          return { id: j.item.outId, source: j.item.utt.audio.path, stage: "encode" as const, reason: `internal error: ${e?.message ?? e}` };
        }
      });
      for (const r of results) if (!isItemError(r)) give(r.audio);
      return { results, transfer };
    }
  }
}

/** What reverb records about a RIR (src/ops/reverb.ts): the same measurement and rounding. */
export function rirFacts(h: Float32Array, sampleRate: number): { delay: number; acoustics: Measured } {
  const m = measureRir(h, sampleRate);
  const r = (x: number, d: number) => (Number.isFinite(x) ? roundTo(x, d) : "n/a");
  return { delay: directPathIndex(h), acoustics: { rt60_t20_s: r(m.rt60_t20_s, 4), rt60_t30_s: r(m.rt60_t30_s, 4), drr_db: r(m.drr_db, 3), c50_db: r(m.c50_db, 3) } };
}
