// Lhotse manifests as input (FORMATS.md §3): either a cuts manifest (MonoCuts with the recording
// inlined) or a recordings manifest joined with its supervisions manifest. JSONL, gzip when named `.gz`
// (lhotse `GzipIOBackend` decides by suffix). Line types are told apart as lhotse's `deserialize_item`
// does: `sources` → Recording, no `type` → SupervisionSegment, `type` → a cut.
// - Audio: a recording with exactly one source of type `file` (Lhotse opens the path as-is, so a
//   relative path is relative to the working directory here too). `command`, `url`, `memory`, `shar`
//   sources, several sources, and recordings with `transforms` (speed/volume/… applied at load time)
//   are reported as errors: augment cannot reproduce them.
// - Times: supervision `start` is relative to its recording (supervisions manifest) or to its cut (in a
//   cut); alignment items are always relative to the recording (`AlignmentItem` doc), so word times are
//   shifted by the supervision's (resp. the cut's) offset in the recording.
// - A segment that covers its whole file (start 0, duration within 10 ms of the recording's) is read as
//   the whole file, so rounded durations never cut off the tail.
// Memory: the recordings of a recordings manifest are held in a map (a few hundred bytes each); cuts and
// supervisions stream.
import { createReadStream } from "node:fs";
import path from "node:path";
import { resolveLocation } from "../storage/url.js";
import { createInterface } from "node:readline";
import { createGunzip } from "node:zlib";
import type { WordTime } from "../types.js";
import { type InputContext, type ReaderItem, SourceError, inferSplit, nonEmpty, normalizeGender, requirePath } from "./common.js";
import { readLines } from "./text.js";

/** Below this difference (s) a segment starting at 0 is taken as the whole recording. */
const WHOLE_FILE_TOLERANCE_S = 0.01;

type Kind = "recordings" | "supervisions" | "cuts";

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The manifest type of one line, by lhotse's `deserialize_item` rules. */
function kindOf(e: Obj): Kind | "other" {
  if ("sources" in e) return "recordings";
  if ("shape" in e || "array" in e || "num_features" in e || "width" in e) return "other";
  if (!("type" in e)) return "supervisions";
  return "cuts";
}

/** The first non-empty line. Read here rather than with readLines: stopping early must close the file under the gunzip too. */
async function firstLine(file: string): Promise<string | null> {
  const raw = createReadStream(file);
  const input = file.endsWith(".gz") ? raw.pipe(createGunzip()) : raw;
  if (input !== raw) raw.on("error", (err) => input.destroy(err));
  const rl = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of rl) if (line.trim() !== "") return line.replace(/^\uFEFF/, "");
    return null;
  } finally {
    rl.close();
    input.destroy();
    raw.destroy();
  }
}

async function firstObject(file: string): Promise<Obj | null> {
  const text = await firstLine(file);
  if (text === null) return null;
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) ? v : null;
  } catch {
    return null;
  }
}

/** The supervisions manifest beside a recordings manifest: the last `recordings` in its name becomes `supervisions`. */
export function siblingSupervisions(recordings: string): string | undefined {
  const base = path.basename(recordings);
  const at = base.lastIndexOf("recordings");
  if (at < 0) return undefined;
  return path.join(path.dirname(recordings), `${base.slice(0, at)}supervisions${base.slice(at + "recordings".length)}`);
}

export interface LhotsePlan {
  kind: "cuts" | "recordings";
  manifest: string;
  supervisions?: string;
}

/**
 * Checks the manifest (and, for a recordings manifest, its supervisions: `supervisions` relative to the
 * recordings manifest's folder, else the sibling named like it) exist and are Lhotse JSONL. Throws SourceError.
 */
export async function prepareLhotse(manifest: string, supervisions?: string): Promise<LhotsePlan> {
  await requirePath(manifest, "file", "Lhotse manifest");
  if (!/\.jsonl(\.gz)?$/.test(manifest)) throw new SourceError(manifest, `Lhotse manifests are .jsonl or .jsonl.gz files: ${manifest}`);
  let first: Obj | null;
  try {
    first = await firstObject(manifest);
  } catch (err) {
    throw new SourceError(manifest, `cannot read Lhotse manifest ${manifest}: ${(err as Error).message}`);
  }
  if (first === null) throw new SourceError(manifest, `Lhotse manifest ${manifest} is empty or its first line is not a JSON object`);
  const kind = kindOf(first);
  if (kind === "cuts") {
    if (supervisions !== undefined) throw new SourceError(manifest, `${manifest} is a cuts manifest: drop \`supervisions\` (cuts carry theirs)`);
    return { kind, manifest };
  }
  if (kind !== "recordings") {
    throw new SourceError(manifest, `${manifest} is a ${kind === "supervisions" ? "supervisions" : "features/array"} manifest; point \`path\` at the cuts or the recordings manifest`);
  }
  const sup = supervisions !== undefined ? path.resolve(path.dirname(manifest), supervisions) : siblingSupervisions(manifest);
  if (sup === undefined) {
    throw new SourceError(manifest, `no supervisions manifest for ${manifest}: set \`supervisions\` (its name has no "recordings" to replace)`);
  }
  await requirePath(sup, "file", "Lhotse supervisions manifest");
  return { kind, manifest, supervisions: sup };
}

interface RecordingInfo {
  path: string;
  durationS: number;
}

/** The audio file of a Recording, or why it cannot be used. */
function recordingInfo(r: Obj): RecordingInfo | string {
  const id = typeof r.id === "string" ? r.id : "?";
  if (!Array.isArray(r.sources) || r.sources.length === 0) return `recording ${id} has no sources`;
  if (r.sources.length > 1) return `recording ${id} has ${r.sources.length} sources (one per channel); only single-file recordings are supported`;
  if (Array.isArray(r.transforms) && r.transforms.length > 0) {
    return `recording ${id} has transforms (${r.transforms.map((t) => (isObject(t) && typeof t.name === "string" ? t.name : "?")).join(", ")}) applied at load time; augment cannot apply them`;
  }
  const src = r.sources[0];
  if (!isObject(src)) return `recording ${id}: malformed source`;
  if (src.type !== "file") return `recording ${id}: audio source type ${JSON.stringify(src.type)} is not supported (only "file")`;
  if (typeof src.source !== "string" || src.source === "") return `recording ${id}: source path missing`;
  const durationS = typeof r.duration === "number" ? r.duration : Number.NaN;
  if (!Number.isFinite(durationS) || durationS <= 0) return `recording ${id}: invalid duration ${JSON.stringify(r.duration)}`;
  // Lhotse opens `source` as given: relative to the working directory.
  return { path: resolveLocation(process.cwd(), src.source), durationS };
}

/** `alignment.word` items (`[symbol, start, duration, score?]`, or the pre-1.8 dict form) → words relative to `originS`, clamped to [0, durationS]. */
function parseAlignment(raw: unknown, originS: number, durationS: number): WordTime[] | string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) return "alignment must be an object {kind: [items]}";
  const items = raw.word;
  if (items === undefined || items === null) return undefined;
  if (!Array.isArray(items)) return "alignment.word must be a list";
  const words: WordTime[] = [];
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    const [symbol, start, dur] = Array.isArray(it) ? it : isObject(it) ? [it.symbol, it.start, it.duration] : [];
    if (typeof symbol !== "string" || typeof start !== "number" || typeof dur !== "number" || !Number.isFinite(start) || !Number.isFinite(dur) || dur < 0) {
      return `invalid alignment.word[${i}]: need [symbol, start, duration(, score)]`;
    }
    const startS = Math.min(Math.max(start - originS, 0), durationS);
    const endS = Math.min(Math.max(start + dur - originS, startS), durationS);
    words.push({ word: symbol, startS, endS });
  }
  return words;
}

function num(v: unknown): number {
  return typeof v === "number" ? v : Number.NaN;
}

/** Split implied by a manifest's file name: `librispeech_cuts_dev-clean.jsonl.gz` → dev. */
function splitFromName(file: string): string | undefined {
  const stem = path.basename(file).replace(/\.jsonl(\.gz)?$/, "");
  const m = /(?:cuts|recordings|supervisions)[_.-](.+)$/.exec(stem);
  return m ? inferSplit(m[1]) : undefined;
}

function customFields(custom: unknown): { fields?: Obj; split?: string } {
  if (!isObject(custom)) return {};
  const fields: Obj = { ...custom };
  const split = nonEmpty(typeof custom.split === "string" ? custom.split : undefined);
  delete fields.split;
  return { fields, split };
}

/** The one value all supervisions agree on, else undefined. */
function agreed(sups: Obj[], key: string): string | undefined {
  const values = new Set(sups.map((s) => nonEmpty(s[key])));
  return values.size === 1 ? [...values][0] : undefined;
}

export async function* readLhotse(manifest: string, supervisions: string | undefined, ctx: InputContext): AsyncGenerator<ReaderItem> {
  const plan = await prepareLhotse(manifest, supervisions);
  const impliedSplit = splitFromName(manifest);
  if (plan.kind === "cuts") {
    yield* readCuts(manifest, impliedSplit, ctx);
    return;
  }
  const recordings = new Map<string, RecordingInfo | string>();
  for await (const { text, line } of readLines(manifest)) {
    if (text.trim() === "") continue;
    let r: unknown;
    try {
      r = JSON.parse(text);
    } catch (err) {
      yield ctx.error(manifest, line, "", `malformed JSON line: ${(err as Error).message}`);
      continue;
    }
    if (!isObject(r) || typeof r.id !== "string") {
      yield ctx.error(manifest, line, "", "not a Recording (need an object with id and sources)");
      continue;
    }
    if (!recordings.has(r.id)) recordings.set(r.id, recordingInfo(r));
  }
  yield* readSupervisions(plan.supervisions!, recordings, impliedSplit, ctx);
}

async function* readSupervisions(
  file: string,
  recordings: Map<string, RecordingInfo | string>,
  impliedSplit: string | undefined,
  ctx: InputContext,
): AsyncGenerator<ReaderItem> {
  for await (const { text: raw, line } of readLines(file)) {
    if (raw.trim() === "") continue;
    let s: unknown;
    try {
      s = JSON.parse(raw);
    } catch (err) {
      yield ctx.error(file, line, "", `malformed JSON line: ${(err as Error).message}`);
      continue;
    }
    if (!isObject(s) || typeof s.id !== "string" || s.id === "") {
      yield ctx.error(file, line, "", "not a SupervisionSegment (need an object with id)");
      continue;
    }
    const id = s.id;
    const startS = num(s.start);
    const durationS = num(s.duration);
    if (typeof s.recording_id !== "string") {
      yield ctx.error(file, line, id, "missing required field recording_id");
      continue;
    }
    if (!Number.isFinite(startS) || startS < 0 || !Number.isFinite(durationS) || durationS <= 0) {
      yield ctx.error(file, line, id, `invalid start/duration ${JSON.stringify(s.start)}/${JSON.stringify(s.duration)}: need start >= 0, duration > 0`);
      continue;
    }
    const rec = recordings.get(s.recording_id);
    if (rec === undefined) {
      yield ctx.error(file, line, id, `recording ${s.recording_id} not in the recordings manifest`);
      continue;
    }
    if (typeof rec === "string") {
      yield ctx.error(file, line, id, rec);
      continue;
    }
    const words = parseAlignment(s.alignment, startS, durationS);
    if (typeof words === "string") {
      yield ctx.error(file, line, id, words);
      continue;
    }
    const whole = startS === 0 && Math.abs(durationS - rec.durationS) <= WHOLE_FILE_TOLERANCE_S;
    const { fields, split } = customFields(s.custom);
    yield ctx.entry({
      file,
      line,
      identity: `sup\u0000${id}`,
      sourceId: id,
      speaker: nonEmpty(s.speaker),
      text: typeof s.text === "string" ? s.text : "",
      audioPath: rec.path,
      offsetS: whole ? undefined : startS,
      cutDurationS: whole ? undefined : durationS,
      durationS,
      language: nonEmpty(s.language),
      gender: normalizeGender(s.gender),
      split: split ?? impliedSplit,
      words,
      fields,
    });
  }
}

async function* readCuts(file: string, impliedSplit: string | undefined, ctx: InputContext): AsyncGenerator<ReaderItem> {
  for await (const { text: raw, line } of readLines(file)) {
    if (raw.trim() === "") continue;
    let c: unknown;
    try {
      c = JSON.parse(raw);
    } catch (err) {
      yield ctx.error(file, line, "", `malformed JSON line: ${(err as Error).message}`);
      continue;
    }
    if (!isObject(c) || typeof c.id !== "string" || c.id === "") {
      yield ctx.error(file, line, "", "not a cut (need an object with id and type)");
      continue;
    }
    const id = c.id;
    if (c.type !== "MonoCut" && c.type !== "Cut") {
      yield ctx.error(file, line, id, `cut type ${JSON.stringify(c.type)} is not supported (only MonoCut)`);
      continue;
    }
    if (!isObject(c.recording)) {
      yield ctx.error(file, line, id, "cut has no recording");
      continue;
    }
    const rec = recordingInfo(c.recording);
    if (typeof rec === "string") {
      yield ctx.error(file, line, id, rec);
      continue;
    }
    const startS = num(c.start);
    const durationS = num(c.duration);
    if (!Number.isFinite(startS) || startS < 0 || !Number.isFinite(durationS) || durationS <= 0) {
      yield ctx.error(file, line, id, `invalid start/duration ${JSON.stringify(c.start)}/${JSON.stringify(c.duration)}: need start >= 0, duration > 0`);
      continue;
    }
    const sups = (Array.isArray(c.supervisions) ? c.supervisions : []).filter(isObject).sort((a, b) => num(a.start) - num(b.start));
    let words: WordTime[] | undefined;
    let problem: string | undefined;
    for (const s of sups) {
      const w = parseAlignment(s.alignment, startS, durationS);
      if (typeof w === "string") problem = `supervision ${String(s.id)}: ${w}`;
      else if (w) words = [...(words ?? []), ...w];
    }
    if (problem) {
      yield ctx.error(file, line, id, problem);
      continue;
    }
    const text = sups
      .map((s) => (typeof s.text === "string" ? s.text.trim() : ""))
      .filter((t) => t !== "")
      .join(" ");
    const cutCustom = customFields(c.custom);
    const supCustom = sups.length === 1 ? customFields(sups[0].custom) : {};
    const fields = cutCustom.fields || supCustom.fields ? { ...(supCustom.fields ?? {}), ...(cutCustom.fields ?? {}) } : undefined;
    const whole = startS === 0 && Math.abs(durationS - rec.durationS) <= WHOLE_FILE_TOLERANCE_S;
    yield ctx.entry({
      file,
      line,
      identity: `cut\u0000${id}`,
      sourceId: id,
      speaker: agreed(sups, "speaker"),
      text,
      audioPath: rec.path,
      offsetS: whole ? undefined : startS,
      cutDurationS: whole ? undefined : durationS,
      durationS,
      language: agreed(sups, "language"),
      gender: normalizeGender(agreed(sups, "gender")),
      split: cutCustom.split ?? supCustom.split ?? impliedSplit,
      words,
      fields,
    });
  }
}
