// Hugging Face Parquet with an `Audio` column (FORMATS.md §5b; datasets `features/audio.py`,
// `features/features.py`, `data_files.py`):
//   data/<split>-%05d-of-%05d.parquet
// columns audio struct{bytes: binary, path: string} (child order bytes, path), text, speaker, language,
// duration (float64), id; every column OPTIONAL (nullable), so the stored `audio` field equals
// `Audio.pa_type` exactly and `Features.from_arrow_schema` applies the `huggingface` key of the file's
// key-value metadata (which pyarrow exposes as schema metadata), typing `audio` as Audio().
// Row groups of ~100 rows, as HF uses for audio (`ARROW_RECORD_BATCH_SIZE_FOR_AUDIO_DATASETS = 100`).
// Written with hyparquet-writer's incremental ParquetWriter; each row group goes to disk as it is done.
import { createHash } from "node:crypto";
import path from "node:path";
import { ByteWriter, ParquetWriter, type ColumnSource, type SchemaElement } from "hyparquet-writer";
import type { ItemMeta, ProcessedItem } from "../types.js";
import { AtomicFile } from "./atomic.js";
import { hfSplitName } from "./hf.js";
import type { ShardRecord, ShardSink } from "./sink.js";
import { syntheticFields } from "./synthetic.js";

/** The `huggingface` schema metadata: datasets' `Features` of the columns, in column order. */
export const HF_PARQUET_FEATURES = {
  audio: { _type: "Audio" },
  text: { dtype: "string", _type: "Value" },
  speaker: { dtype: "string", _type: "Value" },
  language: { dtype: "string", _type: "Value" },
  duration: { dtype: "float64", _type: "Value" },
  id: { dtype: "string", _type: "Value" },
} as const;

/** Features of the columns added when a run has synthetic speech (null for real audio, `synthetic` false). */
export const HF_PARQUET_SYNTHETIC_FEATURES = {
  synthetic: { dtype: "bool", _type: "Value" },
  voice: { dtype: "string", _type: "Value" },
  rate_wpm: { dtype: "int32", _type: "Value" },
  pitch: { dtype: "int32", _type: "Value" },
} as const;

export function hfParquetMetadataValue(synthetic = false): string {
  return JSON.stringify({ info: { features: synthetic ? { ...HF_PARQUET_FEATURES, ...HF_PARQUET_SYNTHETIC_FEATURES } : HF_PARQUET_FEATURES } });
}

const STRING = { type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" } as const;

/** The Parquet schema: flat list, depth-first, as the Parquet footer stores it. */
export const HF_PARQUET_SCHEMA: SchemaElement[] = [
  { name: "schema", num_children: 6 },
  { name: "audio", repetition_type: "OPTIONAL", num_children: 2 },
  { name: "bytes", type: "BYTE_ARRAY", repetition_type: "OPTIONAL" },
  { name: "path", ...STRING },
  { name: "text", ...STRING },
  { name: "speaker", ...STRING },
  { name: "language", ...STRING },
  { name: "duration", type: "DOUBLE", repetition_type: "OPTIONAL" },
  { name: "id", ...STRING },
];

/** The schema with the synthetic-speech columns after the others. */
export function hfParquetSchema(synthetic: boolean): SchemaElement[] {
  if (!synthetic) return HF_PARQUET_SCHEMA;
  return [
    { name: "schema", num_children: 10 },
    ...HF_PARQUET_SCHEMA.slice(1),
    { name: "synthetic", type: "BOOLEAN", repetition_type: "OPTIONAL" },
    { name: "voice", ...STRING },
    { name: "rate_wpm", type: "INT32", repetition_type: "OPTIONAL" },
    { name: "pitch", type: "INT32", repetition_type: "OPTIONAL" },
  ];
}

export interface HfParquetRow {
  audio: { bytes: Uint8Array; path: string };
  text: string;
  speaker: string;
  language: string | null;
  duration: number;
  id: string;
  synthetic: boolean;
  voice: string | null;
  rate_wpm: number | null;
  pitch: number | null;
}

export function hfParquetRow(item: ProcessedItem): HfParquetRow {
  const m: ItemMeta = item.meta;
  const syn = syntheticFields(m);
  return {
    audio: { bytes: item.audio, path: `${item.outId}.${item.audioExt}` },
    text: m.text,
    speaker: m.speaker,
    language: m.language ?? null,
    duration: m.num_samples / m.sampling_rate,
    id: m.id,
    synthetic: syn !== null,
    voice: syn?.voice ?? null,
    rate_wpm: syn?.rate_wpm ?? null,
    pitch: syn?.pitch ?? null,
  };
}

export interface HfParquetSinkOptions {
  /** Total number of shards of the plan: the default `-of-%05d`. */
  numShards: number;
  /** Folder of the files, relative to the output folder (default `data`, where HF looks for `{split}-NNNNN-of-NNNNN`). */
  dir?: string;
  /** Rows per row group (default 100). */
  rowGroupRows?: number;
  /**
   * File numbering of split `split` in plan shard `shard` (default: index = shard, count = numShards).
   * A planner that keeps splits in separate shards can number each split's files 0..count-1 here.
   */
  fileIndex?: (split: string, shard: number) => { index: number; count: number };
  /** `created_by` in the footer (default `augment`). */
  createdBy?: string;
  /** Add the synthetic-speech columns (synthetic, voice, rate_wpm, pitch): the run has `tts` inputs. */
  synthetic?: boolean;
}

function five(n: number): string {
  return String(n).padStart(5, "0");
}

/** One Parquet file being written: rows buffered up to a row group, each row group flushed to disk. */
class ParquetFileWriter {
  private readonly bytes = new ByteWriter();
  private readonly pw: ParquetWriter;
  private rows: HfParquetRow[] = [];
  count = 0;

  private constructor(
    readonly rel: string,
    private readonly file: AtomicFile,
    private readonly rowGroupRows: number,
    createdBy: string,
    private readonly synthetic: boolean,
  ) {
    this.pw = new ParquetWriter({
      writer: this.bytes,
      schema: hfParquetSchema(synthetic),
      kvMetadata: [{ key: "huggingface", value: hfParquetMetadataValue(synthetic) }],
      createdBy,
    });
  }

  static async create(outDir: string, rel: string, rowGroupRows: number, createdBy: string, synthetic = false): Promise<ParquetFileWriter> {
    return new ParquetFileWriter(rel, await AtomicFile.create(path.join(outDir, rel)), rowGroupRows, createdBy, synthetic);
  }

  async add(row: HfParquetRow): Promise<void> {
    this.rows.push(row);
    this.count++;
    if (this.rows.length >= this.rowGroupRows) await this.writeRowGroup();
  }

  /** The bytes encoded so far go to the file; the encoder's buffer restarts (its offsets keep counting). */
  private async drain(): Promise<void> {
    const chunk = Buffer.from(this.bytes.getBytes());
    this.bytes.index = 0;
    if (chunk.length) await this.file.write(chunk);
  }

  private async writeRowGroup(): Promise<void> {
    if (!this.rows.length) return;
    const rows = this.rows;
    this.rows = [];
    const columnData: ColumnSource[] = [
      // Encoded audio neither compresses nor repeats: no codec, dictionary or min/max statistics.
      { name: "audio", data: rows.map((r) => r.audio), codec: "UNCOMPRESSED", encoding: "PLAIN", statistics: false },
      { name: "text", data: rows.map((r) => r.text) },
      { name: "speaker", data: rows.map((r) => r.speaker) },
      { name: "language", data: rows.map((r) => r.language) },
      { name: "duration", data: rows.map((r) => r.duration) },
      { name: "id", data: rows.map((r) => r.id) },
    ];
    if (this.synthetic) {
      columnData.push(
        { name: "synthetic", data: rows.map((r) => r.synthetic) },
        { name: "voice", data: rows.map((r) => r.voice) },
        { name: "rate_wpm", data: rows.map((r) => r.rate_wpm) },
        { name: "pitch", data: rows.map((r) => r.pitch) },
      );
    }
    await this.pw.write({ columnData, rowGroupSize: rows.length });
    await this.drain();
  }

  async commit(): Promise<{ sha256: string; bytes: number }> {
    await this.writeRowGroup();
    await this.pw.finish();
    await this.drain();
    return this.file.commit();
  }

  async abort(): Promise<void> {
    await this.file.abort();
  }
}

/**
 * Items → `data/<split>-%05d-of-%05d.parquet`: per plan shard, one file per split present in it (splits
 * as HF names them: `dev` → `validation`, no split → `train`). Nothing is written for a split absent from
 * a shard, so with the default numbering a split's file indices can have gaps (HF globs them; it does not
 * count them).
 */
export class HfParquetSink implements ShardSink {
  private files = new Map<string, ParquetFileWriter>();
  private shard = -1;
  private readonly dir: string;

  constructor(
    private readonly outDir: string,
    private readonly opts: HfParquetSinkOptions,
  ) {
    if (!Number.isInteger(opts.numShards) || opts.numShards < 1) throw new Error(`numShards must be a positive integer, got ${opts.numShards}`);
    this.dir = opts.dir ?? "data";
  }

  /** The `path` stored beside the bytes in the audio struct. */
  audioRef(item: ProcessedItem): string {
    return `${item.outId}.${item.audioExt}`;
  }

  /** The file of a split in a shard, relative to the output folder. */
  fileName(split: string, shard: number): string {
    const { index, count } = this.opts.fileIndex?.(split, shard) ?? { index: shard, count: this.opts.numShards };
    if (!Number.isInteger(index) || !Number.isInteger(count) || index < 0 || index >= count || count > 99999) {
      throw new Error(`Parquet: file index ${index} of ${count} for split ${split}, shard ${shard} is out of range`);
    }
    return path.posix.join(this.dir, `${split}-${five(index)}-of-${five(count)}.parquet`);
  }

  async open(shard: number): Promise<void> {
    this.shard = shard;
    this.files = new Map();
  }

  async add(item: ProcessedItem): Promise<void> {
    const split = hfSplitName(item.meta.split, { allowCustom: true });
    let f = this.files.get(split);
    if (!f) {
      f = await ParquetFileWriter.create(this.outDir, this.fileName(split, this.shard), this.opts.rowGroupRows ?? 100, this.opts.createdBy ?? "augment", this.opts.synthetic ?? false);
      this.files.set(split, f);
    }
    await f.add(hfParquetRow(item));
  }

  async commit(): Promise<ShardRecord> {
    const files: string[] = [];
    const hashes: string[] = [];
    let bytes = 0;
    let items = 0;
    const pending = [...this.files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, f]) => f);
    this.files = new Map();
    try {
      while (pending.length) {
        const f = pending[0];
        const r = await f.commit();
        pending.shift();
        files.push(f.rel);
        hashes.push(r.sha256);
        bytes += r.bytes;
        items += f.count;
      }
    } catch (e) {
      for (const f of pending) await f.abort();
      throw e;
    }
    const sha256 = createHash("sha256").update(hashes.join("\n")).digest("hex");
    return { files, sha256, bytes, items };
  }

  async abort(): Promise<void> {
    for (const f of this.files.values()) await f.abort();
    this.files = new Map();
  }
}
