// NeMo tarred ASR dataset (FORMATS.md §2), the layout of NeMo's
// `scripts/speech_recognition/convert_to_tarred_audio_dataset.py`:
//   audio_{i}.tar                          0-based, not zero-padded; members exactly `<id>.flac`
//   sharded_manifests/manifest_{i}.json    one line per member, `audio_filepath` = member name, `shard_id` = i
//   tarred_audio_manifest.json             every entry (a ManifestWriter over the item records)
//   metadata.yaml                          ASRTarredDatasetMetadata, read only by NeMo's own script
// NeMo+Lhotse (`LazyNeMoTarredIterator`) looks every member name up in the shard's manifest and fails
// on a mismatch, parses shard ids from the file names and indexes its path list by them (so ids must
// be 0..N-1), and the docs warn that shards with unequal counts can hang multi-GPU training.
import path from "node:path";
import { stringify } from "yaml";
import type { ProcessedItem } from "../types.js";
import { AtomicFile, writeFileAtomic } from "./atomic.js";
import { JsonlManifest, type ManifestOptions, type ManifestWriter } from "./manifest.js";
import { nemoEntry, nemoLines, type NemoEntry } from "./nemo.js";
import type { ShardRecord, ShardSink } from "./sink.js";
import { checkMemberName, tarEnd, tarMember } from "./tar.js";

export const NEMO_SHARDED_MANIFEST_DIR = "sharded_manifests";
export const NEMO_TARRED_MANIFEST = "tarred_audio_manifest.json";
export const NEMO_METADATA_FILE = "metadata.yaml";

export function nemoAudioShardName(shard: number): string {
  return `audio_${shard}.tar`;
}

export function nemoShardManifestName(shard: number): string {
  return `${NEMO_SHARDED_MANIFEST_DIR}/manifest_${shard}.json`;
}

/** A committed NeMo shard: the tar (checked by size and sha256 on resume) and its sharded manifest. */
export interface NemoTarredShardRecord extends ShardRecord {
  /** `sharded_manifests/manifest_<i>.json`, relative to the output folder. */
  manifest: string;
}

export interface NemoTarredSinkOptions {
  /**
   * How many items shard i must hold: NeMo needs equal counts per shard, which the planner arranges;
   * the sink only checks that it got exactly what it was told, and fails the shard otherwise.
   */
  itemsPerShard: number | ((shard: number) => number);
}

export class NemoTarredSink implements ShardSink {
  private file: AtomicFile | null = null;
  private shard = -1;
  private entries: NemoEntry[] = [];
  private members = new Set<string>();

  constructor(
    private readonly outDir: string,
    private readonly opts: NemoTarredSinkOptions,
  ) {}

  /** The tar member name, which is also the manifest's `audio_filepath` (no directory, extension kept). */
  audioRef(item: ProcessedItem): string {
    return `${item.outId}.${item.audioExt}`;
  }

  private expected(shard: number): number {
    const n = typeof this.opts.itemsPerShard === "function" ? this.opts.itemsPerShard(shard) : this.opts.itemsPerShard;
    if (!Number.isInteger(n) || n < 1) throw new Error(`NeMo tarred: itemsPerShard(${shard}) must be a positive integer, got ${n}`);
    return n;
  }

  async open(shard: number): Promise<void> {
    if (!Number.isInteger(shard) || shard < 0) throw new Error(`NeMo tarred: shard index must be an integer >= 0, got ${shard}`);
    this.expected(shard);
    this.shard = shard;
    this.entries = [];
    this.members = new Set();
    this.file = await AtomicFile.create(path.join(this.outDir, nemoAudioShardName(shard)));
  }

  async add(item: ProcessedItem): Promise<void> {
    // NeMo's converter flattens `/` and `.` in stems because webdataset splits keys at the first dot;
    // our ids never have them, and a member name that NeMo would rewrite is refused here.
    if (!/^[A-Za-z0-9_-]+$/.test(item.outId)) throw new Error(`NeMo tarred: id ${JSON.stringify(item.outId)} is not in [A-Za-z0-9_-]`);
    const member = this.audioRef(item);
    checkMemberName(member);
    if (this.members.has(member)) throw new Error(`NeMo tarred: duplicate member ${member} in shard ${this.shard}`);
    this.members.add(member);
    await this.file!.write(tarMember(member, item.audio));
    this.entries.push(nemoEntry(item.meta, member, this.shard));
  }

  async commit(): Promise<NemoTarredShardRecord> {
    const want = this.expected(this.shard);
    const got = this.entries.length;
    if (got !== want) {
      await this.abort();
      throw new Error(`NeMo tarred: shard ${this.shard} got ${got} items but must hold exactly ${want} (NeMo needs equal counts per shard)`);
    }
    await this.file!.write(tarEnd());
    const { sha256, bytes } = await this.file!.commit();
    this.file = null;
    // The tar first, then its manifest: a crash in between leaves a shard without a manifest, which
    // does not count as complete (run.ts checks `manifest` exists) and is redone.
    const manifest = nemoShardManifestName(this.shard);
    await writeFileAtomic(path.join(this.outDir, manifest), nemoLines(this.entries));
    return { files: [nemoAudioShardName(this.shard)], sha256, bytes, items: this.entries.length, manifest };
  }

  async abort(): Promise<void> {
    await this.file?.abort();
    this.file = null;
    this.entries = [];
  }
}

/** `tarred_audio_manifest.json`: every entry of every shard, in plan order (records carry member name and shard). */
export function nemoTarredManifest(opts: ManifestOptions): ManifestWriter {
  if (!opts.tarred) throw new Error("nemoTarredManifest: the records must come from NemoTarredSink (tar member names)");
  return new JsonlManifest(path.join(opts.outDir, NEMO_TARRED_MANIFEST), (rec) => nemoEntry(rec.meta, rec.audio, rec.shard));
}

/** `{0..N-1}` in NeMo's SLURM-safe brace spelling (`_OP_`/`_CL_`, `expand_sharded_filepaths`). */
function braceRange(numShards: number): string {
  if (!Number.isInteger(numShards) || numShards < 1) throw new Error(`numShards must be a positive integer, got ${numShards}`);
  return `_OP_0..${numShards - 1}_CL_`;
}

/**
 * The dataset section of a NeMo training config for this output (`model.train_ds` by default), as
 * YAML text to print: sharded manifests and tars as brace patterns, Lhotse dataloading.
 */
export function nemoTarredConfigSnippet(outDir: string, numShards: number, key = "train_ds"): string {
  const dir = path.resolve(outDir);
  const range = braceRange(numShards);
  return stringify({
    [key]: {
      is_tarred: true,
      manifest_filepath: `${dir}/${NEMO_SHARDED_MANIFEST_DIR}/manifest_${range}.json`,
      tarred_audio_filepaths: `${dir}/audio_${range}.tar`,
      use_lhotse: true,
    },
  });
}

export interface NemoTarredMetadata {
  numShards: number;
  numSamplesPerShard: number;
  shuffle: boolean;
  shuffleSeed: number | null;
  minDuration?: number | null;
  maxDuration?: number | null;
  /** Audio codec of the members (`flac`, `wav`). */
  forceCodec: string;
  /** `created_datetime`; pass a fixed date for byte-identical reruns. Default: now. */
  created?: Date;
}

function two(n: number): string {
  return String(n).padStart(2, "0");
}

/** `datetime.now().strftime("%m-%d-%Y %H-%M-%S")`, local time, as NeMo writes it. */
export function nemoDatetime(d: Date): string {
  return `${two(d.getMonth() + 1)}-${two(d.getDate())}-${d.getFullYear()} ${two(d.getHours())}-${two(d.getMinutes())}-${two(d.getSeconds())}`;
}

/**
 * metadata.yaml as `OmegaConf.save(ASRTarredDatasetMetadata)` writes it (fields of NeMo's
 * `ASRTarredDatasetConfig` at 8cfedd7). Our shards keep plan order (`sort_in_shards: false`) and are
 * whole files (`slice_with_offset: false`).
 */
export function nemoTarredMetadataYaml(m: NemoTarredMetadata): string {
  return stringify({
    created_datetime: nemoDatetime(m.created ?? new Date()),
    version: 0,
    num_samples_per_shard: m.numSamplesPerShard,
    is_concatenated_manifest: false,
    dataset_config: {
      num_shards: m.numShards,
      shuffle: m.shuffle,
      max_duration: m.maxDuration ?? null,
      min_duration: m.minDuration ?? null,
      shuffle_seed: m.shuffleSeed,
      sort_in_shards: false,
      slice_with_offset: false,
      shard_manifests: true,
      keep_files_together: false,
      force_codec: m.forceCodec,
      use_lhotse: true,
      use_bucketing: false,
      num_buckets: null,
      bucket_duration_bins: null,
    },
    history: [],
  });
}

export async function writeNemoTarredMetadata(outDir: string, m: NemoTarredMetadata): Promise<void> {
  await writeFileAtomic(path.join(outDir, NEMO_METADATA_FILE), nemoTarredMetadataYaml(m));
}
