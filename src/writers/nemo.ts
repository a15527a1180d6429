// NeMo JSONL manifest lines (FORMATS.md §2). With tar shards, `audio_filepath` is the tar member
// name exactly and `shard_id` names the shard, as NeMo's tarred readers require; with plain files
// it is an absolute path (NeMo's docs ask for absolute paths).
import type { ItemMeta } from "../types.js";
import { syntheticFields } from "./synthetic.js";

export interface NemoEntry {
  audio_filepath: string;
  duration: number;
  text: string;
  lang?: string;
  speaker: string;
  sampling_rate: number;
  shard_id?: number;
  [k: string]: unknown;
}

export function nemoEntry(m: ItemMeta, audioRef: string, shard: number | undefined): NemoEntry {
  return {
    audio_filepath: audioRef,
    duration: m.duration,
    text: m.text,
    ...(m.language ? { lang: m.language } : {}),
    speaker: m.speaker,
    sampling_rate: m.sampling_rate,
    ...(m.split ? { split: m.split } : {}),
    source_id: m.source.id,
    copy: m.copy,
    // synthetic, voice, rate_wpm, pitch: only on synthetic speech (NeMo passes unknown keys through).
    ...syntheticFields(m),
    ...(shard !== undefined ? { shard_id: shard } : {}),
  };
}

export function nemoLines(entries: NemoEntry[]): string {
  return entries.map((e) => JSON.stringify(e) + "\n").join("");
}
