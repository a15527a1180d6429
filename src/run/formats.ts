// Which sink writes a format's shards, where a split's output goes, and which manifest writers
// read the item records afterwards. One table, so run.ts stays about running.
import path from "node:path";
import type { PlanShard } from "./state.js";
import { FilesSink } from "../writers/files.js";
import { HfAudioFolderMetadata, HfAudioFolderSink, hfSplitName } from "../writers/hf.js";
import { KaldiDataDir, KaldiWavSink } from "../writers/kaldi.js";
import { lhotseManifests } from "../writers/lhotse.js";
import { nemoManifest, type ManifestWriter } from "../writers/manifest.js";
import { NemoTarredSink, nemoTarredManifest } from "../writers/nemo-tarred.js";
import { HfParquetSink } from "../writers/parquet.js";
import { SharSink } from "../writers/shar.js";
import type { ShardSink } from "../writers/sink.js";
import { WebDatasetSink } from "../writers/webdataset.js";

export type OutputFormat = "webdataset" | "files" | "nemo_tarred" | "lhotse_shar" | "kaldi" | "hf_audiofolder" | "hf_parquet";

/** Formats whose shards are tar files that manifests refer to by member name. */
export function isTarred(format: string): boolean {
  return format === "webdataset" || format === "nemo_tarred" || format === "lhotse_shar";
}

/** Hugging Face layouts name their split folders/files themselves (train, validation, test). */
function splitsInside(format: string): boolean {
  return format === "hf_audiofolder" || format === "hf_parquet";
}

/** The folder a split's shards and manifests go to: a sub-folder when the plan has several splits. */
export function splitDir(outDir: string, splits: string[], split: string, format = "webdataset"): string {
  return splits.length > 1 && !splitsInside(format) ? path.join(outDir, split) : outDir;
}

/** Prefix of a split's files relative to the output folder (for the index). */
export function splitPrefix(splits: string[], split: string, format: string): string {
  return splits.length > 1 && !splitsInside(format) ? `${split}/` : "";
}

export interface SinkContext {
  format: OutputFormat;
  outDir: string;
  splits: string[];
  split: string;
  name: string;
  /** The plan's shards, for formats that need counts up front (NeMo tarred, Parquet numbering). */
  shards: PlanShard[];
  /** Items expected in a shard (by its local number) when it is committed: planned minus failed. */
  expectedItems: (local: number) => number;
  /** The plan has synthetic speech: Parquet adds its columns. */
  synthetic?: boolean;
}

export function makeSink(c: SinkContext): ShardSink {
  const dir = splitDir(c.outDir, c.splits, c.split, c.format);
  switch (c.format) {
    case "webdataset":
      return new WebDatasetSink(dir, c.name);
    case "files":
      return new FilesSink(dir);
    case "nemo_tarred":
      return new NemoTarredSink(dir, { itemsPerShard: c.expectedItems });
    case "lhotse_shar":
      return new SharSink(dir);
    case "kaldi":
      return new KaldiWavSink(dir);
    case "hf_audiofolder":
      return new HfAudioFolderSink(dir);
    case "hf_parquet": {
      const mine = c.shards.filter((s) => s.split === c.split);
      return new HfParquetSink(dir, { numShards: mine.length, fileIndex: (_split, local) => ({ index: local, count: mine.length }), synthetic: c.synthetic });
    }
  }
}

/** Checks split names the format can express (HF knows train/validation/test and \w names). */
export function checkSplits(format: string, splits: string[]): string | null {
  if (!splitsInside(format)) return null;
  for (const sp of splits) {
    try {
      hfSplitName(sp, { allowCustom: format === "hf_parquet" });
    } catch (e: any) {
      return e.message;
    }
  }
  return null;
}

/**
 * Manifest writers fed every split's records: for layouts that arrange splits themselves (Hugging
 * Face), the other manifests also live at the top and separate splits on their own (Lhotse and
 * Kaldi by folder; NeMo lines carry `split`).
 */
export function makeGlobalManifests(format: OutputFormat, manifests: string[], outDir: string, plan: { synthetic?: boolean } = {}): ManifestWriter[] {
  if (!splitsInside(format)) return [];
  const out: ManifestWriter[] = format === "hf_audiofolder" ? [new HfAudioFolderMetadata({ outDir, tarred: false, synthetic: plan.synthetic })] : [];
  const opts = { outDir, tarred: false };
  for (const m of manifests) {
    if (m === "nemo") out.push(nemoManifest(opts));
    if (m === "lhotse") out.push(...lhotseManifests({ ...opts, bySplit: true }));
    if (m === "kaldi") out.push(new KaldiDataDir({ ...opts, bySplit: true }));
  }
  return out;
}

/** The manifest writers of one split (fed that split's item records in plan order). */
export function makeManifests(format: OutputFormat, manifests: string[], outDir: string, splits: string[], split: string): ManifestWriter[] {
  if (splitsInside(format)) return [];
  const dir = splitDir(outDir, splits, split, format);
  const opts = { outDir: dir, tarred: isTarred(format) };
  const out: ManifestWriter[] = [];
  for (const m of manifests) {
    if (m === "nemo") out.push(format === "nemo_tarred" ? nemoTarredManifest(opts) : nemoManifest(opts));
    if (m === "lhotse") out.push(...lhotseManifests({ ...opts, bySplit: splits.length <= 1 }));
    if (m === "kaldi") out.push(new KaldiDataDir({ ...opts, bySplit: splits.length <= 1 }));
  }
  return out;
}
