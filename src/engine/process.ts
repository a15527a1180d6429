// Turns one PlannedItem into encoded audio + metadata: decode → ops in order → measure → encode.
// No randomness here: every choice was made by the planner.
import { floatToInt16 } from "../audio/decode.js";
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
import { AudioCache, firstNonFinite, loadBankAudio, loadSource } from "./load.js";

export interface EngineConfig {
  sampleRate: number;
  audio: "flac" | "wav";
  /** bank name → id → file (or a room to simulate), per kind. */
  banks: { noise: Record<string, Record<string, string | RoomSpec>>; rir: Record<string, Record<string, string | RoomSpec>> };
  /** Bound on cached bank audio per engine instance. */
  cacheMb: number;
}

/** Peak, mean square and finiteness in one pass (the output level recorded per item). */
function signalStats(x: Float32Array): { peak: number; meanSquare: number; finite: boolean } {
  let peak = 0;
  let e0 = 0;
  let e1 = 0;
  let i = 0;
  for (; i + 1 < x.length; i += 2) {
    const a = x[i];
    const b = x[i + 1];
    e0 += a * a;
    e1 += b * b;
    const m = Math.max(Math.abs(a), Math.abs(b));
    if (m > peak) peak = m;
  }
  if (i < x.length) {
    e0 += x[i] * x[i];
    peak = Math.max(peak, Math.abs(x[i]));
  }
  const energy = e0 + e1;
  // A NaN or ±Inf anywhere makes the energy non-finite.
  return { peak, meanSquare: energy / x.length, finite: Number.isFinite(energy) };
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

  private async loadResources(refs: ResourceRef[]): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const ref of refs) {
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

  async process(item: PlannedItem): Promise<ProcessedItem | ItemError> {
    const utt = item.utt;
    const fail = (stage: ItemError["stage"], reason: string): ItemError => ({ id: item.outId, source: utt.audio.path, stage, reason });
    let src;
    try {
      src = await loadSource(utt.audio, utt.channel, this.cfg.sampleRate);
    } catch (e: any) {
      return fail("decode", e instanceof DecodeError ? e.message : `decode failed: ${e?.message ?? e}`);
    }
    let x = src.samples;
    const inputDurationS = x.length / this.cfg.sampleRate;
    if (peakAbs(x) === 0) return fail("validate", "silent audio (every sample is zero)");

    const provenance: ItemMeta["ops"] = [];
    let words: WordTime[] | undefined = utt.words?.map((w) => ({ ...w }));
    for (const params of item.ops) {
      const op = getOp(params.op);
      let measured: Measured | undefined;
      try {
        const resources = await this.loadResources(op.resources?.(params) ?? []);
        const ctx: ApplyContext = {
          sampleRate: this.cfg.sampleRate,
          resource: (ref) => resources.get(`${ref.kind}/${ref.bank}/${ref.id}`)!,
          memo: (key, compute) => this.memo(key, compute),
        };
        const out = await op.apply(x, params, ctx);
        x = out.audio;
        measured = out.measured;
      } catch (e: any) {
        return fail("augment", `${params.op}: ${e?.message ?? e}`);
      }
      const map = op.mapTime?.(params);
      if (map && words) words = words.map((w) => ({ word: w.word, startS: map(w.startS), endS: map(w.endS) }));
      provenance.push(measured ? { ...params, measured } : { ...params });
    }
    if (x.length === 0) return fail("augment", "ops produced zero-length audio");
    const level = signalStats(x);
    if (!level.finite) return fail("augment", `non-finite sample after ops at ${firstNonFinite(x)}`);

    const pcm = floatToInt16(x);
    let audio: Uint8Array;
    try {
      audio = this.cfg.audio === "flac" ? encodeFlac(pcm, this.cfg.sampleRate) : encodeWav(pcm, this.cfg.sampleRate);
    } catch (e: any) {
      return fail("encode", e?.message ?? String(e));
    }
    const durationS = pcm.length / this.cfg.sampleRate;
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
      sampling_rate: this.cfg.sampleRate,
      source: {
        id: utt.sourceId,
        audio: utt.audio.path,
        input: utt.input,
        duration: round6(inputDurationS),
        sampling_rate: src.fileSampleRate,
        channels: src.fileChannels,
        channel: utt.channel,
        ...(utt.audio.offsetS !== undefined ? { offset_s: utt.audio.offsetS } : {}),
      },
      copy: item.copy,
      ...(words ? { words } : {}),
      ...(utt.fields && Object.keys(utt.fields).length ? { fields: utt.fields } : {}),
      ops: provenance,
      peak_dbfs: Math.round(20 * Math.log10(Math.max(level.peak, 1e-10)) * 1000) / 1000,
      rms_dbfs: Math.round(10 * Math.log10(Math.max(level.meanSquare, 1e-20)) * 1000) / 1000,
    };
    return { index: item.index, outId: item.outId, audio, audioExt: this.cfg.audio, meta, inputDurationS };
  }
}

export function isItemError(r: ProcessedItem | ItemError): r is ItemError {
  return (r as ItemError).reason !== undefined;
}
