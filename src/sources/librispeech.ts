// LibriSpeech tree (FORMATS.md §6): <part>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt, one line
// `<speaker>-<chapter>-<utt> TRANSCRIPT` per <id>.flac beside it (lhotse's parse_utterance: split at the
// first whitespace). Directories are walked one at a time in sorted order, transcripts streamed.
import { readdir } from "node:fs/promises";
import path from "node:path";
import { type InputContext, type ReaderItem, SourceError, exists, inferSplit, normalizeGender, requirePath } from "./common.js";
import { readLines } from "./text.js";

const PART_RE = /^(train|dev|test)-[A-Za-z0-9-]+$/;

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

interface Layout {
  /** Part directories to read, absolute, in order. */
  parts: string[];
  /** SPEAKERS.TXT if found. */
  speakersFile?: string;
}

export async function prepareLibrispeech(root: string, only?: string[]): Promise<Layout> {
  await requirePath(root, "dir", "LibriSpeech directory");
  let base = root;
  let parts: string[];
  if (PART_RE.test(path.basename(root))) {
    // Pointed at one part: LibriSpeech/<part>.
    base = path.dirname(root);
    parts = [root];
  } else {
    let names = (await subdirs(root)).filter((n) => PART_RE.test(n));
    if (names.length === 0 && (await exists(path.join(root, "LibriSpeech")))) {
      base = path.join(root, "LibriSpeech");
      names = (await subdirs(base)).filter((n) => PART_RE.test(n));
    }
    parts = names.map((n) => path.join(base, n));
    // A renamed part directory: its children are numeric speaker directories.
    if (parts.length === 0 && (await subdirs(root)).some((n) => /^\d+$/.test(n))) {
      base = path.dirname(root);
      parts = [root];
    }
  }
  if (parts.length === 0) {
    throw new SourceError(root, `no LibriSpeech parts (train-*, dev-*, test-*) found under ${root}`);
  }
  if (only !== undefined) {
    const found = new Map(parts.map((p) => [path.basename(p), p]));
    parts = only.map((name) => {
      const p = found.get(name);
      if (p === undefined) throw new SourceError(root, `LibriSpeech part ${name} not found under ${root}`);
      return p;
    });
  }
  const speakersFile = [path.join(base, "SPEAKERS.TXT"), path.join(root, "SPEAKERS.TXT")];
  for (const f of speakersFile) if (await exists(f)) return { parts, speakersFile: f };
  return { parts };
}

/** SPEAKERS.TXT: `ID | SEX | SUBSET | MINUTES | NAME`, `;` comment lines. */
async function readSpeakers(file: string): Promise<Map<string, string>> {
  const genders = new Map<string, string>();
  for await (const { text } of readLines(file)) {
    if (text.trimStart().startsWith(";")) continue;
    const cols = text.split("|");
    if (cols.length < 2) continue;
    const gender = normalizeGender(cols[1]);
    if (gender !== undefined) genders.set(cols[0].trim(), gender);
  }
  return genders;
}

export async function* readLibrispeech(root: string, only: string[] | undefined, ctx: InputContext): AsyncGenerator<ReaderItem> {
  const layout = await prepareLibrispeech(root, only);
  const genders = layout.speakersFile === undefined ? new Map<string, string>() : await readSpeakers(layout.speakersFile);
  for (const partDir of layout.parts) {
    const part = path.basename(partDir);
    const split = inferSplit(part);
    for (const speaker of await subdirs(partDir)) {
      const speakerDir = path.join(partDir, speaker);
      for (const chapter of await subdirs(speakerDir)) {
        const chapterDir = path.join(speakerDir, chapter);
        const transFile = path.join(chapterDir, `${speaker}-${chapter}.trans.txt`);
        if (!(await exists(transFile))) {
          yield ctx.error(transFile, 0, `${speaker}-${chapter}`, `transcript file not found: ${transFile}`);
          continue;
        }
        for await (const { text: raw, line } of readLines(transFile)) {
          const m = /^\s*(\S+)(?:\s+(.*))?$/.exec(raw);
          if (m === null) continue;
          const uttId = m[1];
          yield ctx.entry({
            file: transFile,
            line,
            identity: uttId,
            sourceId: uttId,
            speaker,
            text: m[2] ?? "",
            audioPath: path.join(chapterDir, `${uttId}.flac`),
            durationS: null,
            language: ctx.spec.language ?? "en",
            gender: genders.get(speaker),
            split,
            fields: { subset: part },
          });
        }
      }
    }
  }
}
