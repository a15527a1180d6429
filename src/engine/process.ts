// Turns one PlannedItem into encoded audio + metadata: decode → ops in order → measure → encode.
// No randomness here: every choice was made by the planner.
import { floatToInt16Level } from "../audio/decode.js";
import { DecodeError } from "../audio/decoded.js";
import { encodeFlac } from "../audio/flac.js";
import { peakAbs } from "../audio/measure.js";
import { resample } from "../audio/resample.js";
import { encodeWav } from "../audio/wav.js";
import { simulateRoom } from "../rooms/simulate.js";
import type { RoomSpec } from "../rooms/types.js";
import { getOp } from "../ops/registry.js";
import type { ApplyContext, Measured, ResourceRef } from "../ops/types.js";
import type { ItemError, ItemMeta, PlannedItem, ProcessedItem, WordTime } from "../types.js";
import { BufferPool, ItemBuffers } from "./buffers.js";
import { AudioCache, firstNonFinite, loadBankAudio, loadSource, type SourceAudio } from "./load.js";

export interface EngineConfig {
  sampleRate: number;
  audio: "flac" | "wav";
  /** bank name → id → file (or a room to simulate), per kind. */
  banks: { noise: Record<string, Record<string, string | RoomSpec>>; rir: Record<string, Record<string, string | RoomSpec>> };
  /** Bound on cached bank audio per engine instance. */
  cacheMb: number;
  /** Where the catalog cached synthetic speech (src/tts/cache.ts); without it the engine synthesises. */
  ttsCacheDir?: string;
  /** Bank audio decoded once for every thread (shared.ts), by resource key `kind/bank/id`. */
  shared?: Record<string, Float32Array>;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

export class ItemProcessor {
  private readonly cache: AudioCache;
  constructor(private readonly cfg: EngineConfig) {
    this.cache = new AudioCache(cfg.cacheMb * 1024 * 1024);
  }

  private readonly memos = new Map<string, unknown>();
  /** Audio buffers reused across this engine's items (see buffers.ts). */
  private readonly pool = new BufferPool();

  private async resourcesFor(refs: ResourceRef[]): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const ref of refs) {
      const shared = ref.room ? undefined : this.cfg.shared?.[`${ref.kind}/${ref.bank}/${ref.id}`];
      if (shared) {
        out.set(`${ref.kind}/${ref.bank}/${ref.id}`, shared);
        continue;
      }
      const source = ref.room ?? this.cfg.banks[ref.kind][ref.bank]?.[ref.id];
      if (!source) throw new Error(`${ref.kind} "${ref.id}" not in bank "${ref.bank}"`);
      const key = `${ref.kind}/${ref.bank}/${ref.id}`;
      out.set(key, await this.cache.get(key, async () => (typeof source === "string" ? loadBankAudio(source, this.cfg.sampleRate) : this.simulate(source))));
    }
    return out;
  }

  /** A simulated RIR (first mic), at the engine's rate. */
  private simulate(room: RoomSpec): Float32Array {
    const h = simulateRoom(room)[0];
    return room.sample_rate === this.cfg.sampleRate ? h : resample(h, room.sample_rate, this.cfg.sampleRate);
  }

  private memo<T>(key: string, compute: () => T): T {
    if (!this.memos.has(key)) {
      // Bounded: these are small per-resource facts; a huge bank only re-computes after a reset.
      if (this.memos.size > 100_000) this.memos.clear();
      this.memos.set(key, compute());
    }
    return this.memos.get(key) as T;
  }

  /** Loads the resources ops declared (bank audio or simulated rooms), cached per engine. */
  async loadResources(refs: ResourceRef[]): Promise<Map<string, Float32Array>> {
    return this.resourcesFor(refs);
  }

  /** Decodes an item's source and rejects silence: the first stage of process(). */
  async decode(item: PlannedItem, buffers?: ItemBuffers): Promise<SourceAudio | ItemError> {
    const utt = item.utt;
    let src;
    try {
      src = await loadSource(utt.audio, utt.channel, this.cfg.sampleRate, buffers, this.cfg.ttsCacheDir);
    } catch (e: any) {
      return itemFail(item, "decode", e instanceof DecodeError ? e.message : `decode failed: ${e?.message ?? e}`);
    }
    if ((src.peak ?? peakAbs(src.samples)) === 0) return itemFail(item, "validate", "silent audio (every sample is zero)");
    return src;
  }

  /** Runs planned ops in order; returns the audio and each op's measured values, or the failure. */
  async applyOps(x: Float32Array, ops: PlannedItem["ops"], buffers?: ItemBuffers): Promise<{ audio: Float32Array; measured: Array<Measured | undefined> } | { failed: string }> {
    const measuredAll: Array<Measured | undefined> = [];
    for (const params of ops) {
      const op = getOp(params.op);
      try {
        const resources = await this.resourcesFor(op.resources?.(params) ?? []);
        const ctx: ApplyContext = {
          sampleRate: this.cfg.sampleRate,
          resource: (ref) => resources.get(`${ref.kind}/${ref.bank}/${ref.id}`)!,
          memo: (key, compute) => this.memo(key, compute),
          ...(buffers ? { buffer: (length: number) => buffers.f32(length) } : {}),
        };
        const out = await op.apply(x, params, ctx);
        // The op's input is dead once it has returned something else: its buffer serves the next op.
        if (buffers && out.audio.buffer !== x.buffer) buffers.releaseOne(x);
        x = out.audio;
        measuredAll.push(out.measured);
      } catch (e: any) {
        return { failed: `${params.op}: ${e?.message ?? e}` };
      }
    }
    return { audio: x, measured: measuredAll };
  }

  async process(item: PlannedItem): Promise<ProcessedItem | ItemError> {
    // Every array of the item comes from the pool and goes back to it once the item is encoded
    // (the encoded bytes are a fresh array: they leave the thread).
    const buffers = new ItemBuffers(this.pool);
    try {
      const src = await this.decode(item, buffers);
      if (isItemError(src)) return src;
      const r = await this.applyOps(src.samples, item.ops, buffers);
      if ("failed" in r) return itemFail(item, "augment", r.failed);
      return finishItem(this.cfg, item, src, { audio: r.audio }, r.measured, buffers);
    } finally {
      buffers.release();
    }
  }
}

function itemFail(item: PlannedItem, stage: ItemError["stage"], reason: string): ItemError {
  return { id: item.outId, source: item.utt.audio.path, stage, reason };
}

/** The item's output level, and its PCM: computed here from float audio, or given (the GPU engine converts on the device). */
export type FinalAudio = { audio: Float32Array } | { pcm: Int16Array; level: { peak: number; meanSquare: number; finite: boolean }; firstNonFinite?: number };

/**
 * The last stage of process(): checks the audio, converts to 16-bit, encodes, and builds the
 * item's metadata (labels mapped through the ops' time maps, provenance with measured values).
 */
export function finishItem(cfg: Pick<EngineConfig, "sampleRate" | "audio">, item: PlannedItem, src: Omit<SourceAudio, "samples"> & { samples?: Float32Array; length?: number }, out: FinalAudio, measured: Array<Measured | undefined>, buffers?: ItemBuffers): ProcessedItem | ItemError {
  const utt = item.utt;
  const inputDurationS = (src.length ?? src.samples!.length) / cfg.sampleRate;
  const provenance: ItemMeta["ops"] = item.ops.map((params, i) => (measured[i] ? { ...params, measured: measured[i] } : { ...params }));
  let words: WordTime[] | undefined = utt.words?.map((w) => ({ ...w }));
  for (const params of item.ops) {
    const map = getOp(params.op).mapTime?.(params);
    if (map && words) words = words.map((w) => ({ word: w.word, startS: map(w.startS), endS: map(w.endS) }));
  }
  let pcm: Int16Array;
  let level: { peak: number; meanSquare: number; finite: boolean };
  if ("audio" in out) {
    const x = out.audio;
    if (x.length === 0) return itemFail(item, "augment", "ops produced zero-length audio");
    // The level is measured while converting (one pass); a non-finite sample fails the item.
    const converted = floatToInt16Level(x, buffers?.i16(x.length));
    level = { peak: converted.peak, meanSquare: converted.meanSquare, finite: converted.finite };
    if (!level.finite) return itemFail(item, "augment", `non-finite sample after ops at ${firstNonFinite(x)}`);
    pcm = converted.pcm;
  } else {
    pcm = out.pcm;
    level = out.level;
    if (pcm.length === 0) return itemFail(item, "augment", "ops produced zero-length audio");
    if (!level.finite) return itemFail(item, "augment", `non-finite sample after ops at ${out.firstNonFinite ?? -1}`);
  }
  let audio: Uint8Array;
  try {
    audio = cfg.audio === "flac" ? encodeFlac(pcm, cfg.sampleRate) : encodeWav(pcm, cfg.sampleRate);
  } catch (e: any) {
    return itemFail(item, "encode", e?.message ?? String(e));
  }
  const durationS = pcm.length / cfg.sampleRate;
  if (words) words = words.map((w) => ({ word: w.word, startS: round6(Math.min(w.startS, durationS)), endS: round6(Math.min(w.endS, durationS)) }));
  const meta: ItemMeta = {
    id: item.outId,
    text: utt.text,
    ...(utt.language ? { language: utt.language } : {}),
    speaker: utt.speaker,
    ...(utt.gender ? { gender: utt.gender } : {}),
    ...(utt.split ? { split: utt.split } : {}),
    duration: durationS,
    num_samples: pcm.length,
    sampling_rate: cfg.sampleRate,
    source: {
      id: utt.sourceId,
      audio: utt.audio.path,
      input: utt.input,
      duration: round6(inputDurationS),
      sampling_rate: src.fileSampleRate,
      channels: src.fileChannels,
      channel: utt.channel,
      ...(utt.audio.offsetS !== undefined ? { offset_s: utt.audio.offsetS } : {}),
      ...(utt.audio.synth ? { synth: utt.audio.synth } : {}),
    },
    copy: item.copy,
    ...(words ? { words } : {}),
    ...(utt.fields && Object.keys(utt.fields).length ? { fields: utt.fields } : {}),
    ops: provenance,
    peak_dbfs: Math.round(20 * Math.log10(Math.max(level.peak, 1e-10)) * 1000) / 1000,
    rms_dbfs: Math.round(10 * Math.log10(Math.max(level.meanSquare, 1e-20)) * 1000) / 1000,
  };
  return { index: item.index, outId: item.outId, audio, audioExt: cfg.audio, meta, inputDurationS };
}

export function isItemError(r: object): r is ItemError {
  return (r as ItemError).reason !== undefined;
}
