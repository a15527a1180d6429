// Lhotse manifests (FORMATS.md §3): recordings, supervisions and cuts as JSONL (gzip when named `.gz`),
// shaped as Lhotse's own `to_dict()` writes them: dataclass field order, null fields dropped
// (`asdict_nonull`), cuts with `"type": "MonoCut"` last and the recording inlined.
// `Recording(**data)` and `SupervisionSegment(**data)` raise TypeError on unknown keys, so extras go
// only into a supervision's (and cut's) `custom`. Lhotse's `validate_recording` wants duration within
// 0.5 s of num_samples/sampling_rate: here duration *is* num_samples / sampling_rate.
import path from "node:path";
import type { ItemMeta, WordTime } from "../types.js";
import type { ItemRecord, ManifestOptions, ManifestWriter } from "./manifest.js";
import { TextFileWriter } from "./textfile.js";

export interface LhotseAudioSource {
  type: "file" | "shar";
  channels: number[];
  source: string;
}

export interface LhotseRecording {
  id: string;
  sources: LhotseAudioSource[];
  sampling_rate: number;
  num_samples: number;
  duration: number;
  channel_ids: number[];
}

/** `AlignmentItem.serialize()` = `list(self)`: `[symbol, start, duration, score]`, score null when unknown. */
export type LhotseAlignmentItem = [string, number, number, number | null];

export interface LhotseSupervision {
  id: string;
  recording_id: string;
  start: number;
  duration: number;
  channel: number;
  text?: string;
  language?: string;
  speaker?: string;
  gender?: string;
  custom?: Record<string, unknown>;
  alignment?: { word: LhotseAlignmentItem[] };
}

export interface LhotseMonoCut {
  id: string;
  start: number;
  duration: number;
  channel: number;
  supervisions: LhotseSupervision[];
  recording: LhotseRecording;
  custom?: Record<string, unknown>;
  type: "MonoCut";
}

/** Duration in seconds of an item, derived from its sample count (never the other way round). */
export function lhotseDuration(m: ItemMeta): number {
  return m.num_samples / m.sampling_rate;
}

function round8(x: number): number {
  return Math.round(x * 1e8) / 1e8;
}

/** Word times as a `word` alignment. Lhotse's own recipes (librispeech, timit) give no score, which it serialises as null. */
export function lhotseAlignment(words: WordTime[]): { word: LhotseAlignmentItem[] } {
  return { word: words.map((w) => [w.word, round8(w.startS), round8(w.endS - w.startS), null]) };
}

/** What goes into `custom`: the source's extra fields, then split, source id and copy index (as in the NeMo manifest). */
export function lhotseCustom(m: ItemMeta): Record<string, unknown> {
  return { ...(m.fields ?? {}), ...(m.split ? { split: m.split } : {}), source_id: m.source.id, copy: m.copy };
}

export function lhotseRecording(m: ItemMeta, source: LhotseAudioSource): LhotseRecording {
  return {
    id: m.id,
    sources: [source],
    sampling_rate: m.sampling_rate,
    num_samples: m.num_samples,
    duration: lhotseDuration(m),
    channel_ids: source.channels,
  };
}

/** A recording of an audio file; the path must be absolute (Lhotse opens it as-is, relative to its working directory). */
export function lhotseFileRecording(m: ItemMeta, absPath: string): LhotseRecording {
  if (!path.isAbsolute(absPath)) throw new Error(`Lhotse recording source must be an absolute path, got ${absPath}`);
  return lhotseRecording(m, { type: "file", channels: [0], source: absPath });
}

/** `to_shar_placeholder`: one `shar` source with an empty path; the audio is the tar member beside it. */
export function lhotseSharPlaceholder(m: ItemMeta): LhotseRecording {
  return lhotseRecording(m, { type: "shar", channels: [0], source: "" });
}

/** One supervision covering the whole recording (the output item is one utterance). */
export function lhotseSupervision(m: ItemMeta): LhotseSupervision {
  const s: LhotseSupervision = { id: m.id, recording_id: m.id, start: 0, duration: lhotseDuration(m), channel: 0 };
  if (m.text !== undefined && m.text !== null) s.text = m.text;
  if (m.language) s.language = m.language;
  if (m.speaker) s.speaker = m.speaker;
  if (m.gender) s.gender = m.gender;
  s.custom = lhotseCustom(m);
  if (m.words && m.words.length) s.alignment = lhotseAlignment(m.words);
  return s;
}

/** A MonoCut spanning its whole recording, with that recording inlined. */
export function lhotseCut(m: ItemMeta, recording: LhotseRecording): LhotseMonoCut {
  return { id: m.id, start: 0, duration: lhotseDuration(m), channel: 0, supervisions: [lhotseSupervision(m)], recording, type: "MonoCut" };
}

export type LhotseManifestKind = "recordings" | "supervisions" | "cuts";

export interface LhotseManifestOptions extends ManifestOptions {
  /** Folder for the manifests, relative to outDir (default `lhotse`). */
  dir?: string;
  /** Write `.jsonl.gz` (default) or plain `.jsonl` (indexable; what `pipe:` inputs need). */
  gzip?: boolean;
  /**
   * true (default): one set of files per split, `<dir>/<split or "all">/`. false: every record into
   * `<dir>/` (when the caller already gives each split its own output folder).
   */
  bySplit?: boolean;
}

/** `<dir>/<split or "all">/<kind>.jsonl[.gz]` (or `<dir>/<kind>.jsonl[.gz]` with bySplit false), relative to the output folder. */
export function lhotseManifestPath(
  kind: LhotseManifestKind,
  split: string | undefined,
  opts: { dir?: string; gzip?: boolean; bySplit?: boolean } = {},
): string {
  const file = `${kind}.jsonl${opts.gzip === false ? "" : ".gz"}`;
  const dir = opts.dir ?? "lhotse";
  return opts.bySplit === false ? path.posix.join(dir, file) : path.posix.join(dir, split ?? "all", file);
}

/**
 * One Lhotse manifest kind over the item records, one file per split (`lhotse/train/cuts.jsonl.gz`,
 * `lhotse/all/…` for items without a split) unless `bySplit` is false, lines in plan order. The audio
 * must exist as files (records from FilesSink, KaldiWavSink or HfAudioFolderSink): sources are absolute
 * file paths.
 */
export class LhotseManifest implements ManifestWriter {
  private readonly files = new Map<string, TextFileWriter>();

  constructor(
    private readonly opts: LhotseManifestOptions,
    readonly kind: LhotseManifestKind,
  ) {
    if (opts.tarred) {
      throw new Error("Lhotse manifests need audio files (absolute paths in sources), not tar members; use the Lhotse Shar output for tarred Lhotse data");
    }
  }

  private line(rec: ItemRecord): object {
    const m = rec.meta;
    if (this.kind === "supervisions") return lhotseSupervision(m);
    const recording = lhotseFileRecording(m, path.resolve(this.opts.outDir, rec.audio));
    return this.kind === "recordings" ? recording : lhotseCut(m, recording);
  }

  async add(rec: ItemRecord): Promise<void> {
    const rel = lhotseManifestPath(this.kind, rec.meta.split, this.opts);
    let file = this.files.get(rel);
    if (!file) {
      file = await TextFileWriter.create(path.join(this.opts.outDir, rel));
      this.files.set(rel, file);
    }
    await file.writeJsonLine(this.line(rec));
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

/** The three Lhotse manifests (recordings, supervisions, cuts) as manifest writers. */
export function lhotseManifests(opts: LhotseManifestOptions): ManifestWriter[] {
  return (["recordings", "supervisions", "cuts"] as const).map((kind) => new LhotseManifest(opts, kind));
}
