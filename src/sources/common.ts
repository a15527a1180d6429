// Shared pieces of the input readers: the source-level error, the per-input context that turns parsed
// entries into Utterances or ItemErrors, and small normalisers.
import { stat } from "node:fs/promises";
import path from "node:path";
import type { ItemError, Utterance, WordTime } from "../types.js";
import { IdRegistry, safeId, utteranceId } from "./ids.js";
import type { InputSpec } from "./schema.js";

/** The input itself is unusable (missing manifest or directory, missing required column): the run stops before any work. */
export class SourceError extends Error {
  readonly path: string;
  constructor(filePath: string, message: string) {
    super(message);
    this.name = "SourceError";
    this.path = filePath;
  }
}

/** An utterance as a reader produced it, before its audio file was checked; `file:line` is where it came from. */
export interface Pending {
  utt: Utterance;
  file: string;
  line: number;
}
export type ReaderItem = Pending | ItemError;

export function isPending(item: ReaderItem): item is Pending {
  return (item as Pending).utt !== undefined;
}

const MAX_REASON_CHARS = 400;

/** One-line reason: `<file basename>:<line>: <message>`. */
export function reasonAt(file: string, line: number, message: string): string {
  const oneLine = message.replace(/[\r\n]+/g, " ");
  const text = `${path.basename(file)}${line > 0 ? `:${line}` : ""}: ${oneLine}`;
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS - 1)}…` : text;
}

export function catalogError(file: string, line: number, id: string, message: string): ItemError {
  return {
    id: id === "" ? `${path.basename(file)}${line > 0 ? `:${line}` : ""}` : id,
    source: line > 0 ? `${file}:${line}` : file,
    stage: "catalog",
    reason: reasonAt(file, line, message),
  };
}

/** Path of `p` stat'ed as the given kind, else a SourceError naming it. */
export async function requirePath(p: string, kind: "file" | "dir", what: string): Promise<void> {
  let ok = false;
  try {
    const st = await stat(p);
    ok = kind === "file" ? st.isFile() : st.isDirectory();
    if (!ok) throw new SourceError(p, `${what} is not a ${kind === "file" ? "file" : "directory"}: ${p}`);
  } catch (err) {
    if (err instanceof SourceError) throw err;
    throw new SourceError(p, `${what} not found: ${p}`);
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Split implied by a directory or file name (Hugging Face's conventions, LibriSpeech parts, Kaldi `data/train_*`). */
export function inferSplit(name: string): string | undefined {
  const n = name.toLowerCase();
  if (/^(train|training)(?![a-z])/.test(n)) return "train";
  if (/^(dev|validation|valid|val)(?![a-z])/.test(n)) return "dev";
  if (/^(test|testing|eval|evaluation)(?![a-z])/.test(n)) return "test";
  return undefined;
}

/** `m` / `f` for the usual spellings (Kaldi spk2gender uses m|f); any other non-empty value lowercased as is. */
export function normalizeGender(raw: unknown): string | undefined {
  if (raw === null || raw === undefined) return undefined;
  const s = String(raw).trim().toLowerCase();
  if (s === "") return undefined;
  if (s === "m" || s === "male" || s === "male_masculine" || s === "man") return "m";
  if (s === "f" || s === "female" || s === "female_feminine" || s === "woman") return "f";
  return s;
}

/** A finite number from a JSON number or a numeric string; undefined when absent or empty; NaN when unparsable. */
export function toNumber(raw: unknown): number | undefined {
  if (raw === null || raw === undefined) return undefined;
  if (typeof raw === "number") return raw;
  if (typeof raw === "string") {
    const s = raw.trim();
    if (s === "") return undefined;
    const n = Number(s);
    return Number.isFinite(n) ? n : Number.NaN;
  }
  return Number.NaN;
}

export function nonEmpty(raw: unknown): string | undefined {
  if (raw === null || raw === undefined) return undefined;
  const s = String(raw).trim();
  return s === "" ? undefined : s;
}

export interface EntryArgs {
  file: string;
  line: number;
  /** What makes two entries the same utterance (duplicates are detected on it). */
  identity: string;
  sourceId: string;
  /** Empty or undefined = unknown (speaker becomes the utterance id). */
  speaker?: string;
  text: string;
  audioPath: string;
  offsetS?: number;
  cutDurationS?: number;
  durationS: number | null;
  language?: string;
  gender?: string;
  split?: string;
  words?: WordTime[];
  fields?: Record<string, unknown>;
  /** A problem found while joining the entry (e.g. its wav.scp line), reported once the id is claimed. */
  problem?: { file: string; line: number; message: string };
}

/** Per-input state: the spec, the input index and the ids handed out so far. */
export class InputContext {
  readonly registry = new IdRegistry();
  constructor(
    readonly spec: InputSpec,
    readonly input: number,
    /** Emit utterances with an empty transcript (text "") instead of "empty transcript" errors. */
    readonly allowEmptyText = false,
  ) {}

  error(file: string, line: number, id: string, message: string): ItemError {
    return catalogError(file, line, id, message);
  }

  /**
   * Checks that apply to every format, in this order: NUL in the audio path, duplicate identity, the
   * reader's `problem`, empty transcript (unless allowed). The id is claimed before the last two, so a
   * repeat of a rejected entry is still a duplicate and the reader can ask the registry which ids it has seen.
   */
  entry(a: EntryArgs): ReaderItem {
    const speaker = a.speaker ?? "";
    if (a.audioPath.includes("\u0000")) {
      return this.error(a.file, a.line, utteranceId(speaker, a.sourceId).id, "audio path contains a NUL byte");
    }
    const claimed = this.registry.claim(a.identity, speaker, a.sourceId);
    if (claimed === null) {
      const dupId = utteranceId(speaker, a.sourceId).id;
      return this.error(a.file, a.line, dupId, `duplicate id ${dupId} (source id ${JSON.stringify(a.sourceId)})`);
    }
    if (a.problem !== undefined) return this.error(a.problem.file, a.problem.line, claimed.id, a.problem.message);
    const text = a.text.trim();
    if (text === "" && !this.allowEmptyText) return this.error(a.file, a.line, claimed.id, "empty transcript");

    const audio: Utterance["audio"] = { path: a.audioPath };
    if (a.offsetS !== undefined) audio.offsetS = a.offsetS;
    if (a.cutDurationS !== undefined) audio.durationS = a.cutDurationS;
    const utt: Utterance = {
      id: claimed.id,
      sourceId: a.sourceId,
      audio,
      durationS: a.durationS,
      text,
      speaker: claimed.speaker,
      input: this.input,
      // Synthetic speech (tts) is mono: it has no channel choice.
      channel: "channel" in this.spec ? this.spec.channel : "mix",
    };
    const language = a.language ?? this.spec.language;
    if (language !== undefined) utt.language = language;
    if (a.gender !== undefined) utt.gender = a.gender;
    // A split names output directories, so one stated by the source is kept to the id alphabet too.
    const split = this.spec.split ?? (a.split === undefined ? undefined : safeId(a.split));
    if (split !== undefined) utt.split = split;
    if (a.words !== undefined) utt.words = a.words;
    if (a.fields !== undefined && Object.keys(a.fields).length > 0) utt.fields = a.fields;
    return { utt, file: a.file, line: a.line };
  }
}
