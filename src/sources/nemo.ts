// NeMo JSONL manifest (FORMATS.md §2), parsed as NeMo's `manifest.py::__parse_item` does:
// audio `audio_filepath` | `audio_filename`, `duration` required, text `text` | `normalized_text` |
// contents of `text_filepath` | "", relative paths against the manifest's directory.
// Word times: only `words: [{word, start, end}]` (seconds from the utterance start, i.e. after `offset`),
// the shape our own writers emit. Other alignment keys (`alignment`, `ctm`, …) are not interpreted and
// travel in `fields` like any other key.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { resolveLocation } from "../storage/url.js";
import type { WordTime } from "../types.js";
import { type InputContext, type ReaderItem, nonEmpty, normalizeGender, requirePath, toNumber } from "./common.js";
import { readLines } from "./text.js";

/** Keys the reader interprets; every other key goes to `fields` (NeMo+Lhotse copies them into `cut.custom`). */
const CONSUMED = new Set([
  "audio_filepath",
  "audio_filename",
  "duration",
  "offset",
  "lang",
  "language",
  "speaker",
  "gender",
  "split",
  "words",
]);

export async function prepareNemo(manifest: string): Promise<void> {
  await requirePath(manifest, "file", "NeMo manifest");
}

function parseWords(raw: unknown): WordTime[] | string {
  if (!Array.isArray(raw)) return "words must be a list of {word, start, end}";
  const words: WordTime[] = [];
  for (let i = 0; i < raw.length; i++) {
    const w = raw[i] as { word?: unknown; start?: unknown; end?: unknown } | null;
    const startS = typeof w?.start === "number" ? w.start : Number.NaN;
    const endS = typeof w?.end === "number" ? w.end : Number.NaN;
    if (typeof w?.word !== "string" || !Number.isFinite(startS) || !Number.isFinite(endS) || startS < 0 || endS < startS) {
      return `invalid words[${i}]: need {word: string, start: number, end: number} with 0 <= start <= end`;
    }
    words.push({ word: w.word, startS, endS });
  }
  return words;
}

export async function* readNemo(manifest: string, ctx: InputContext): AsyncGenerator<ReaderItem> {
  await prepareNemo(manifest);
  const dir = path.dirname(manifest);
  for await (const { text: raw, line } of readLines(manifest)) {
    if (raw.trim() === "") continue;
    let entry: unknown;
    try {
      entry = JSON.parse(raw);
    } catch (err) {
      yield ctx.error(manifest, line, "", `malformed JSON line: ${(err as Error).message}`);
      continue;
    }
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
      yield ctx.error(manifest, line, "", "malformed JSON line: not an object");
      continue;
    }
    const e = entry as Record<string, unknown>;
    if (e._skipme === true || e._skipme === 1) continue; // NeMo's Lhotse iterator skips these too

    const audioKey = typeof e.audio_filepath === "string" ? "audio_filepath" : typeof e.audio_filename === "string" ? "audio_filename" : undefined;
    const audioRaw = audioKey === undefined ? "" : (e[audioKey] as string);
    if (audioRaw === "") {
      yield ctx.error(manifest, line, "", "missing required field audio_filepath");
      continue;
    }
    const audioPath = resolveLocation(dir, audioRaw); // absolute s3:// URLs stay as they are
    const stem = path.basename(audioRaw, path.extname(audioRaw));

    const duration = toNumber(e.duration);
    if (duration === undefined) {
      yield ctx.error(manifest, line, stem, "missing required field duration");
      continue;
    }
    if (!Number.isFinite(duration) || duration <= 0) {
      yield ctx.error(manifest, line, stem, `invalid duration ${JSON.stringify(e.duration)}: need a number > 0`);
      continue;
    }
    const offset = toNumber(e.offset);
    if (offset !== undefined && (!Number.isFinite(offset) || offset < 0)) {
      yield ctx.error(manifest, line, stem, `invalid offset ${JSON.stringify(e.offset)}: need a number >= 0`);
      continue;
    }

    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e)) if (!CONSUMED.has(k)) fields[k] = v;
    let text: string;
    if (typeof e.text === "string") {
      text = e.text;
      delete fields.text;
    } else if (typeof e.normalized_text === "string") {
      text = e.normalized_text;
      delete fields.normalized_text;
    } else if (typeof e.text_filepath === "string") {
      const textFile = path.resolve(dir, e.text_filepath);
      try {
        text = await readFile(textFile, "utf8");
      } catch {
        yield ctx.error(manifest, line, stem, `text file not found: ${textFile}`);
        continue;
      }
      delete fields.text_filepath;
    } else {
      text = "";
    }

    let words: WordTime[] | undefined;
    if (e.words !== undefined && e.words !== null) {
      const parsed = parseWords(e.words);
      if (typeof parsed === "string") {
        yield ctx.error(manifest, line, stem, parsed);
        continue;
      }
      words = parsed;
    }

    // Several entries may cut one file at different offsets: the offset (ms) makes their ids distinct.
    const sourceId = offset === undefined ? stem : `${stem}_${Math.round(offset * 1000)}`;
    yield ctx.entry({
      file: manifest,
      line,
      identity: offset === undefined ? audioPath : `${audioPath}\u0000${offset}\u0000${duration}`,
      sourceId,
      speaker: nonEmpty(e.speaker),
      text,
      audioPath,
      // Without an offset, `duration` describes the whole file and is not used to cut it (manifest
      // durations are often rounded, and cutting would drop the tail).
      offsetS: offset,
      cutDurationS: offset === undefined ? undefined : duration,
      durationS: duration,
      language: nonEmpty(e.lang) ?? nonEmpty(e.language),
      gender: normalizeGender(e.gender),
      split: nonEmpty(e.split),
      words,
      fields,
    });
  }
}
