// The plain data types at the boundaries between stages (see shared/design/ARCHITECTURE.md).
// Everything here is JSON-serialisable so it can cross worker_threads and be printed by `augment plan`.

/** A word (or segment) with times in seconds, relative to the start of the utterance. */
export interface WordTime {
  word: string;
  startS: number;
  endS: number;
}

/** Where an utterance's audio lives. `offsetS`/`durationS` cut a segment out of a longer file. */
export interface AudioRef {
  /** The audio file; for synthetic speech, the text file and line it came from (`<file>:<line>`). */
  path: string;
  offsetS?: number;
  durationS?: number;
  /** Synthetic speech: the audio is made by the engine from this (src/tts/synth.ts), not read from `path`. */
  synth?: SynthSpec;
}

/** What one synthetic utterance is made from; every field decides the samples. */
export interface SynthSpec {
  engine: "espeak-ng";
  text: string;
  /** `<language voice>[+<variant>]`. */
  voice: string;
  rate_wpm: number;
  pitch: number;
}

/** One source utterance, as read from an input (catalog entry). No audio is loaded. */
export interface Utterance {
  /** Output-safe id, `[A-Za-z0-9_-]`, starting with the speaker id and `-` (Kaldi rule). */
  id: string;
  /** The id as the source wrote it. */
  sourceId: string;
  audio: AudioRef;
  /** Duration in seconds if the source states it (manifest, header probe), else null. */
  durationS: number | null;
  text: string;
  language?: string;
  speaker: string;
  gender?: string;
  split?: string;
  words?: WordTime[];
  /** Extra fields from the source manifest that are carried to the output metadata. */
  fields?: Record<string, unknown>;
  /** Index of the input (in recipe.inputs) this came from. */
  input: number;
  /** Channel choice for multi-channel audio: "mix" (average) or a 0-based channel index. */
  channel: "mix" | number;
}

/** Something that went wrong with one item; it is skipped and recorded in errors.jsonl. */
export interface ItemError {
  id: string;
  source: string;
  stage: "catalog" | "decode" | "validate" | "augment" | "encode" | "write";
  reason: string;
}

/** One op with every random choice made. `op` is the registry name; the rest are its parameters. */
export interface PlannedOp {
  op: string;
  [param: string]: unknown;
}

/** One output utterance: a source utterance, a copy index and its planned ops. */
export interface PlannedItem {
  /** Position in the plan (after shuffling), 0-based. */
  index: number;
  outId: string;
  utt: Utterance;
  /** 0 = first augmented copy; -1 = the clean (unaugmented) copy when `include_clean` is set. */
  copy: number;
  ops: PlannedOp[];
  shard: number;
  /** Expected output duration in seconds (source duration through the ops' duration factors). */
  estDurationS: number;
}

/** What the engine returns for one item. */
export interface ProcessedItem {
  index: number;
  outId: string;
  /** Encoded audio bytes (flac or wav). */
  audio: Uint8Array;
  audioExt: "flac" | "wav";
  /** Per-item metadata (the `.json` member): labels, duration, provenance. */
  meta: ItemMeta;
  inputDurationS: number;
}

export interface ItemMeta {
  id: string;
  text: string;
  language?: string;
  speaker: string;
  gender?: string;
  split?: string;
  duration: number;
  num_samples: number;
  sampling_rate: number;
  source: {
    id: string;
    audio: string;
    input: number;
    duration: number;
    sampling_rate: number;
    channels: number;
    /** The channel choice ("mix" or an index) and, for segments, the offset into the file. */
    channel: "mix" | number;
    offset_s?: number;
    /** Synthetic speech: what it was synthesised from (text as spoken, voice, rate, pitch). */
    synth?: SynthSpec;
  };
  copy: number;
  words?: WordTime[];
  fields?: Record<string, unknown>;
  /** Provenance: every op applied, with its planned parameters and measured results. */
  ops: Array<PlannedOp & { measured?: Record<string, number | string | boolean> }>;
  peak_dbfs: number;
  rms_dbfs: number;
}
