// Hugging Face `audiofolder` (FORMATS.md §5a; datasets `folder_based_builder.py`, `data_files.py`):
//   <split>/<id>.flac          audio, beside its split's metadata (a root-level metadata file next to
//   <split>/metadata.jsonl     split folders gave audio-only or empty datasets: datasets#7856, #5046)
// Split folders must be named by HF's keywords (train / validation / test; `dev` → `validation`).
// `file_name` is relative to the metadata file's folder (absolute paths and `..` are rejected). Every
// metadata file must have identical columns and types, so every row has the same keys, strings are ""
// rather than null when missing (a column that is null in a whole split would be typed `null` there),
// and `duration` is always written as a JSON float (`2.0`, never `2`, which would infer int64).
import path from "node:path";
import type { ItemMeta } from "../types.js";
import type { ItemRecord, ManifestOptions, ManifestWriter } from "./manifest.js";
import { syntheticFields } from "./synthetic.js";
import { PerFileSink } from "./files.js";
import { TextFileWriter } from "./textfile.js";

/** HF's split keywords (`SPLIT_KEYWORDS`, datasets `data_files.py`) mapped to the canonical names. */
const SPLIT_SYNONYMS: Record<string, string> = {
  train: "train",
  training: "train",
  validation: "validation",
  valid: "validation",
  dev: "validation",
  val: "validation",
  test: "test",
  testing: "test",
  eval: "test",
  evaluation: "test",
};

/** HF's split-name rule for `data/{split}-NNNNN-of-NNNNN.*` files (`_split_re`, datasets `naming.py`). */
const HF_SPLIT_RE = /^\w+(\.\w+)*$/;

/**
 * The Hugging Face split of an item: no split → `train`; HF's keywords map to train/validation/test
 * (`dev` → `validation`). Any other name is refused, unless `allowCustom` (Parquet files, whose names
 * carry the split) and it matches HF's `^\w+(\.\w+)*$`; `audiofolder` would silently drop such a folder.
 */
export function hfSplitName(split: string | undefined, opts: { allowCustom?: boolean } = {}): string {
  if (split === undefined || split === "") return "train";
  const known = SPLIT_SYNONYMS[split.toLowerCase()];
  if (known) return known;
  if (opts.allowCustom && HF_SPLIT_RE.test(split)) return split;
  throw new Error(
    opts.allowCustom
      ? `Hugging Face split name ${JSON.stringify(split)} must match ^\\w+$ (letters, digits, _)`
      : `Hugging Face audiofolder only knows the splits train, validation (dev) and test; got ${JSON.stringify(split)}`,
  );
}

export interface HfAudioFolderOptions {
  /** Dataset root, relative to the output folder (default: the output folder itself). */
  dir?: string;
}

function splitDir(root: string, split: string): string {
  return root ? path.posix.join(root, split) : split;
}

/** Writes each item's audio as `<root>/<split>/<id>.<ext>` (one file per item, atomically). */
export class HfAudioFolderSink extends PerFileSink {
  constructor(outDir: string, opts: HfAudioFolderOptions = {}) {
    const root = opts.dir ?? "";
    super(outDir, (item) => path.posix.join(splitDir(root, hfSplitName(item.meta.split)), `${item.outId}.${item.audioExt}`));
  }
}

/** The columns of every metadata.jsonl row, in order, with their JSON types. */
export const HF_METADATA_COLUMNS = {
  file_name: "string",
  id: "string",
  transcription: "string",
  speaker: "string",
  gender: "string",
  language: "string",
  duration: "float",
  sampling_rate: "int",
  source_id: "string",
  copy: "int",
} as const;

export type HfMetadataRow = { [K in keyof typeof HF_METADATA_COLUMNS]: (typeof HF_METADATA_COLUMNS)[K] extends "string" ? string : number };

export function hfMetadataRow(m: ItemMeta, fileName: string): HfMetadataRow {
  return {
    file_name: fileName,
    id: m.id,
    transcription: m.text ?? "",
    speaker: m.speaker ?? "",
    gender: m.gender ?? "",
    language: m.language ?? "",
    duration: m.num_samples / m.sampling_rate,
    sampling_rate: m.sampling_rate,
    source_id: m.source.id,
    copy: m.copy,
  };
}

/** A JSON number that Python/Arrow read as a float even when integral (`2` → `2.0`). */
export function jsonFloat(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`not a finite number: ${x}`);
  // toFixed gives exponent form from 1e21 on, which JSON readers also take as a float.
  return Number.isInteger(x) ? x.toFixed(1) : JSON.stringify(x);
}

/**
 * Columns added after the others when a run has synthetic speech, in every row (the types must not
 * vary): real audio has `synthetic` false, `voice` "" and -1 for `rate_wpm` and `pitch`.
 */
export const HF_SYNTHETIC_COLUMNS = { synthetic: "bool", voice: "string", rate_wpm: "int", pitch: "int" } as const;

export type HfSyntheticRow = { synthetic: boolean; voice: string; rate_wpm: number; pitch: number };

export function hfSyntheticRow(m: ItemMeta): HfSyntheticRow {
  return syntheticFields(m) ?? { synthetic: false, voice: "", rate_wpm: -1, pitch: -1 };
}

/** One metadata.jsonl line: the columns in fixed order, floats always written as floats. */
export function hfMetadataLine(row: HfMetadataRow, synthetic?: HfSyntheticRow): string {
  const parts: string[] = [];
  for (const [key, type] of Object.entries(HF_METADATA_COLUMNS)) {
    const v = row[key as keyof HfMetadataRow];
    parts.push(`${JSON.stringify(key)}:${type === "float" ? jsonFloat(v as number) : JSON.stringify(v)}`);
  }
  if (synthetic) for (const key of Object.keys(HF_SYNTHETIC_COLUMNS)) parts.push(`${JSON.stringify(key)}:${JSON.stringify(synthetic[key as keyof HfSyntheticRow])}`);
  return `{${parts.join(",")}}\n`;
}

/** `<root>/<split>/metadata.jsonl` for each split, rows in plan order, from the HfAudioFolderSink records. */
export class HfAudioFolderMetadata implements ManifestWriter {
  private readonly files = new Map<string, TextFileWriter>();
  private readonly root: string;

  constructor(
    private readonly opts: ManifestOptions & HfAudioFolderOptions & { synthetic?: boolean },
  ) {
    if (opts.tarred) throw new Error("Hugging Face audiofolder metadata needs audio files beside it, not tar members");
    this.root = opts.dir ?? "";
  }

  async add(rec: ItemRecord): Promise<void> {
    const dir = splitDir(this.root, hfSplitName(rec.meta.split));
    const fileName = path.posix.relative(dir, rec.audio);
    if (fileName === "" || fileName.startsWith("..") || path.posix.isAbsolute(fileName)) {
      throw new Error(`audiofolder: audio ${rec.audio} is not inside its split folder ${dir} (records must come from HfAudioFolderSink)`);
    }
    let f = this.files.get(dir);
    if (!f) {
      f = await TextFileWriter.create(path.join(this.opts.outDir, dir, "metadata.jsonl"));
      this.files.set(dir, f);
    }
    await f.write(hfMetadataLine(hfMetadataRow(rec.meta, fileName), this.opts.synthetic ? hfSyntheticRow(rec.meta) : undefined));
  }

  async finish(): Promise<void> {
    for (const f of this.files.values()) await f.commit();
    this.files.clear();
  }

  async abort(): Promise<void> {
    for (const f of this.files.values()) await f.abort();
    this.files.clear();
  }
}
