// Common Voice locale directory (FORMATS.md §6). The clip TSV is raw TSV with no quote handling (sentences
// hold unbalanced quotes; lhotse reads it with QUOTE_NONE), columns found by header name, missing or
// repeated columns tolerated.
import { createHash } from "node:crypto";
import path from "node:path";
import { type InputContext, type ReaderItem, SourceError, exists, inferSplit, nonEmpty, normalizeGender, requirePath } from "./common.js";
import { Header, readLines } from "./text.js";

/** Columns the reader interprets; the other non-empty ones (age, accents, variant, votes, …) go to `fields`. */
const CONSUMED = new Set(["path", "sentence", "locale", "gender"]);
const SPEAKER_CHARS = 16;

/**
 * Speaker id from CV's `client_id` (a 128-hex-char hash): its first 16 hex chars, which keeps it
 * recognisable and is as unique as a 64-bit hash. Any other value gets 16 hex chars of its SHA-256.
 */
export function commonVoiceSpeaker(clientId: string): string {
  const id = clientId.trim();
  if (id === "") return "";
  if (/^[0-9a-f]+$/i.test(id) && id.length >= SPEAKER_CHARS) return id.slice(0, SPEAKER_CHARS).toLowerCase();
  return createHash("sha256").update(id).digest("hex").slice(0, SPEAKER_CHARS);
}

/**
 * clip_durations.tsv (`clip\tduration[ms]`) as seconds. Clips named `common_voice_<locale>_<n>.mp3` are
 * keyed by n, so the millions of entries of a large locale cost a number each, not a string.
 */
class ClipDurations {
  private readonly byNumber = new Map<number, number>();
  private readonly byName = new Map<string, number>();

  private static number(name: string): number | undefined {
    const m = /^common_voice_[A-Za-z0-9-]+_(\d{1,15})\.mp3$/.exec(name);
    return m === null ? undefined : Number(m[1]);
  }

  set(name: string, seconds: number): void {
    const n = ClipDurations.number(name);
    if (n !== undefined) this.byNumber.set(n, seconds);
    else this.byName.set(name, seconds);
  }

  get(name: string): number | undefined {
    const n = ClipDurations.number(name);
    return n !== undefined ? this.byNumber.get(n) : this.byName.get(name);
  }

  static async read(file: string): Promise<ClipDurations> {
    const durations = new ClipDurations();
    let header: Header | undefined;
    let clipCol = "clip";
    let msCol = "duration[ms]";
    for await (const { text } of readLines(file)) {
      const cols = text.split("\t");
      if (header === undefined) {
        header = new Header(cols);
        // Be lenient with the header spelling: first column is the clip, second the milliseconds.
        if (!header.has(clipCol)) clipCol = header.names[0];
        if (!header.has(msCol)) msCol = header.names[1] ?? msCol;
        continue;
      }
      const clip = header.get(cols, clipCol);
      const ms = Number(header.get(cols, msCol));
      if (clip !== undefined && clip !== "" && Number.isFinite(ms) && ms > 0) {
        durations.set(clip.trim(), ms / 1000);
        // Very old releases list clips without the `.mp3` their TSVs also lack.
        if (path.extname(clip.trim()) === "") durations.set(`${clip.trim()}.mp3`, ms / 1000);
      }
    }
    return durations;
  }
}

export async function prepareCommonVoice(dir: string, tsv: string): Promise<string> {
  await requirePath(dir, "dir", "Common Voice directory");
  const tsvFile = path.resolve(dir, tsv);
  await requirePath(tsvFile, "file", "Common Voice clip list");
  return tsvFile;
}

export async function* readCommonVoice(dir: string, tsv: string, ctx: InputContext): AsyncGenerator<ReaderItem> {
  const tsvFile = await prepareCommonVoice(dir, tsv);
  const durationsFile = path.join(dir, "clip_durations.tsv");
  const durations = (await exists(durationsFile)) ? await ClipDurations.read(durationsFile) : undefined;
  const tsvName = path.basename(tsvFile, ".tsv");
  // Only the official split lists imply a split; validated/other/invalidated don't.
  const split = ["train", "dev", "test"].includes(tsvName) ? inferSplit(tsvName) : undefined;
  const clipsDir = path.join(dir, "clips");

  let header: Header | undefined;
  for await (const { text, line } of readLines(tsvFile)) {
    if (header === undefined) {
      header = new Header(text.split("\t"));
      if (!header.has("path")) throw new SourceError(tsvFile, `${tsvFile}: header has no "path" column`);
      continue;
    }
    if (text === "") continue;
    const row = text.split("\t");
    const clipRaw = (header.get(row, "path") ?? "").trim();
    if (clipRaw === "") {
      yield ctx.error(tsvFile, line, "", "missing required field path");
      continue;
    }
    const clip = path.extname(clipRaw) === "" ? `${clipRaw}.mp3` : clipRaw;
    const sourceId = clipRaw.slice(0, clipRaw.length - path.extname(clipRaw).length);
    const fields: Record<string, unknown> = {};
    for (const name of header.unique()) {
      if (CONSUMED.has(name)) continue;
      const v = header.get(row, name);
      if (v !== undefined && v !== "") fields[name] = v;
    }
    yield ctx.entry({
      file: tsvFile,
      line,
      identity: clip,
      sourceId,
      speaker: commonVoiceSpeaker(header.get(row, "client_id") ?? ""),
      text: header.get(row, "sentence") ?? "",
      audioPath: path.join(clipsDir, clip),
      durationS: durations?.get(clip) ?? null,
      language: nonEmpty(header.get(row, "locale")),
      gender: normalizeGender(header.get(row, "gender")),
      split,
      fields,
    });
  }
}
