// Audio folder with metadata, as Hugging Face `audiofolder` (FORMATS.md §5a): rows come from
// `metadata.jsonl` or `metadata.csv` (RFC 4180), `file_name` is relative to the metadata file's directory.
// A folder without metadata but with split subdirectories (train/, dev/, test/, each with its own metadata,
// the layout HF recommends) is read subdirectory by subdirectory.
import { readdir } from "node:fs/promises";
import path from "node:path";
import {
  type InputContext,
  type ReaderItem,
  SourceError,
  exists,
  inferSplit,
  nonEmpty,
  normalizeGender,
  requirePath,
  toNumber,
} from "./common.js";
import { Header, readCsvRecords, readLines } from "./text.js";

const TEXT_FIELDS = ["text", "transcription", "sentence"];
const SPEAKER_FIELDS = ["speaker", "speaker_id"];
const LANGUAGE_FIELDS = ["language", "lang"];

async function metadataIn(dir: string): Promise<string | undefined> {
  const jsonl = path.join(dir, "metadata.jsonl");
  const csv = path.join(dir, "metadata.csv");
  const hasJsonl = await exists(jsonl);
  const hasCsv = await exists(csv);
  if (hasJsonl && hasCsv) {
    // HF refuses mixed metadata extensions too; picking one silently would hide half the rows.
    throw new SourceError(dir, `both metadata.jsonl and metadata.csv in ${dir}; keep one`);
  }
  return hasJsonl ? jsonl : hasCsv ? csv : undefined;
}

/** The metadata files to read, in order. */
export async function prepareFolder(dir: string): Promise<string[]> {
  await requirePath(dir, "dir", "audio folder");
  const own = await metadataIn(dir);
  if (own !== undefined) return [own];
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const name of entries.filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
    const m = await metadataIn(path.join(dir, name));
    if (m !== undefined) files.push(m);
  }
  if (files.length === 0) throw new SourceError(dir, `no metadata.jsonl or metadata.csv in ${dir} or its subdirectories`);
  return files;
}

type Row = { values: Record<string, unknown>; line: number } | { error: string; line: number };

async function* jsonlRows(file: string): AsyncGenerator<Row> {
  for await (const { text, line } of readLines(file)) {
    if (text.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      yield { error: `malformed JSON line: ${(err as Error).message}`, line };
      continue;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      yield { error: "malformed JSON line: not an object", line };
      continue;
    }
    yield { values: value as Record<string, unknown>, line };
  }
}

async function* csvRows(file: string): AsyncGenerator<Row> {
  let header: Header | undefined;
  for await (const record of readCsvRecords(file)) {
    if ("error" in record) {
      yield record;
      continue;
    }
    if (header === undefined) {
      header = new Header(record.fields);
      continue;
    }
    const values: Record<string, unknown> = {};
    for (const name of header.unique()) {
      // An empty CSV cell means "no value", like a key absent from a JSONL row.
      const v = header.get(record.fields, name);
      if (v !== undefined && v !== "") values[name] = v;
    }
    yield { values, line: record.line };
  }
}

function first(values: Record<string, unknown>, names: string[]): { name?: string; value?: string } {
  for (const name of names) {
    const v = nonEmpty(values[name]);
    if (v !== undefined) return { name, value: v };
  }
  return {};
}

export async function* readFolder(
  dir: string,
  audioField: string,
  textField: string | undefined,
  ctx: InputContext,
): AsyncGenerator<ReaderItem> {
  for (const metadata of await prepareFolder(dir)) {
    const metaDir = path.dirname(metadata);
    const dirSplit = inferSplit(path.basename(metaDir));
    const rows = metadata.endsWith(".csv") ? csvRows(metadata) : jsonlRows(metadata);
    for await (const row of rows) {
      if ("error" in row) {
        yield ctx.error(metadata, row.line, "", row.error);
        continue;
      }
      const v = row.values;
      const fileName = typeof v[audioField] === "string" ? (v[audioField] as string) : "";
      if (fileName === "") {
        yield ctx.error(metadata, row.line, "", `missing required field ${audioField}`);
        continue;
      }
      const sourceId = fileName.slice(0, fileName.length - path.extname(fileName).length);
      const duration = toNumber(v.duration);
      if (duration !== undefined && (!Number.isFinite(duration) || duration <= 0)) {
        yield ctx.error(metadata, row.line, sourceId, `invalid duration ${JSON.stringify(v.duration)}: need a number > 0`);
        continue;
      }
      const text = textField !== undefined ? { name: textField, value: nonEmpty(v[textField]) } : first(v, TEXT_FIELDS);
      const speaker = first(v, SPEAKER_FIELDS);
      const language = first(v, LANGUAGE_FIELDS);
      const consumed = new Set([audioField, "duration", "split", "gender", text.name, speaker.name, language.name]);
      const fields: Record<string, unknown> = {};
      for (const [k, value] of Object.entries(v)) if (!consumed.has(k)) fields[k] = value;
      const audioPath = path.resolve(metaDir, fileName);
      yield ctx.entry({
        file: metadata,
        line: row.line,
        identity: audioPath,
        sourceId,
        speaker: speaker.value,
        text: text.value ?? "",
        audioPath,
        durationS: duration ?? null,
        language: language.value,
        gender: normalizeGender(v.gender),
        split: nonEmpty(v.split) ?? dirSplit,
        fields,
      });
    }
  }
}
