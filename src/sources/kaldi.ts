// Kaldi data directory (FORMATS.md §4). `text` is streamed (it holds every utterance); wav.scp, segments,
// utt2spk, utt2dur and spk2gender are joined from in-memory maps, so memory grows with the number of
// utterances (a few hundred bytes each), as any reader of this keyed format must.
import path from "node:path";
import { resolveLocation } from "../storage/url.js";
import { type InputContext, type ReaderItem, exists, inferSplit, normalizeGender, requirePath } from "./common.js";
import { readLines } from "./text.js";

type Recording = { line: number; path: string } | { line: number; error: string };
type Segment = { line: number; reco: string; startS: number; endS: number } | { line: number; error: string };

/** The only pipes accepted: they decode one file, so the decoder can read that file itself. */
const PIPE_FORMS = [/^flac\s+-c\s+-d\s+-s\s+(\S+)$/, /^flac\s+-d\s+-c\s+-s\s+(\S+)$/, /^sox\s+(\S+)\s+-t\s+wav\s+-$/];

/** `<key> <rest>`: the key is the first whitespace-free token, the rest is trimmed (possibly empty). */
function splitKey(raw: string): [string, string] | null {
  const m = /^\s*(\S+)(?:\s+(.*))?$/.exec(raw);
  if (m === null) return null;
  return [m[1], (m[2] ?? "").trim()];
}

export function parseWavValue(value: string, dataDir: string): { path: string } | { error: string } {
  if (value === "") return { error: "empty wav.scp entry" };
  if (value.endsWith("|")) {
    const command = value.slice(0, -1).trim();
    for (const form of PIPE_FORMS) {
      const m = form.exec(command);
      if (m !== null) return { path: path.resolve(dataDir, m[1]) };
    }
    return {
      error: `unsupported wav.scp command ${JSON.stringify(value)}; convert to files or use the flac/sox forms (flac -c -d -s PATH |, sox PATH -t wav - |)`,
    };
  }
  // Kaldi resolves relative paths against its working directory; we use the data directory (absolute paths are safest).
  return { path: resolveLocation(dataDir, value) };
}

async function readMap(file: string): Promise<Map<string, { value: string; line: number }>> {
  const map = new Map<string, { value: string; line: number }>();
  for await (const { text, line } of readLines(file)) {
    const kv = splitKey(text);
    if (kv !== null && !map.has(kv[0])) map.set(kv[0], { value: kv[1], line });
  }
  return map;
}

async function optionalMap(file: string): Promise<Map<string, { value: string; line: number }> | undefined> {
  return (await exists(file)) ? readMap(file) : undefined;
}

export async function prepareKaldi(dataDir: string): Promise<void> {
  await requirePath(dataDir, "dir", "Kaldi data directory");
  await requirePath(path.join(dataDir, "wav.scp"), "file", "Kaldi wav.scp");
  await requirePath(path.join(dataDir, "text"), "file", "Kaldi text");
}

export async function* readKaldi(dataDir: string, ctx: InputContext): AsyncGenerator<ReaderItem> {
  await prepareKaldi(dataDir);
  const wavScp = path.join(dataDir, "wav.scp");
  const textFile = path.join(dataDir, "text");
  const segmentsFile = path.join(dataDir, "segments");

  const recordings = new Map<string, Recording>();
  for (const [key, { value, line }] of await readMap(wavScp)) {
    recordings.set(key, { line, ...parseWavValue(value, dataDir) });
  }
  let segments: Map<string, Segment> | undefined;
  if (await exists(segmentsFile)) {
    segments = new Map();
    for (const [utt, { value, line }] of await readMap(segmentsFile)) {
      const parts = value.split(/\s+/);
      const startS = Number(parts[1]);
      const endS = Number(parts[2]);
      if (parts.length !== 3 || !Number.isFinite(startS) || !Number.isFinite(endS)) {
        segments.set(utt, { line, error: "malformed segments line: need <utt> <recording> <start> <end>" });
      } else if (startS < 0 || endS <= startS) {
        segments.set(utt, { line, error: `invalid segment ${startS}..${endS}: need 0 <= start < end` });
      } else {
        segments.set(utt, { line, reco: parts[0], startS, endS });
      }
    }
  }
  const utt2spk = await optionalMap(path.join(dataDir, "utt2spk"));
  const utt2dur = await optionalMap(path.join(dataDir, "utt2dur"));
  const spk2gender = await optionalMap(path.join(dataDir, "spk2gender"));
  const split = inferSplit(path.basename(dataDir));

  for await (const { text: raw, line } of readLines(textFile)) {
    const kv = splitKey(raw);
    if (kv === null) continue;
    const [uttId, transcript] = kv;
    const speaker = utt2spk?.get(uttId)?.value.split(/\s+/)[0];

    let problem: { file: string; line: number; message: string } | undefined;
    let audioPath = "";
    let offsetS: number | undefined;
    let cutDurationS: number | undefined;
    let durationS: number | null = null;
    let recoId = uttId;
    let refFile = textFile;
    let refLine = line;
    if (segments !== undefined) {
      const seg = segments.get(uttId);
      if (seg === undefined) {
        problem = { file: textFile, line, message: `utterance ${uttId} is not in segments` };
      } else if ("error" in seg) {
        problem = { file: segmentsFile, line: seg.line, message: seg.error };
      } else {
        recoId = seg.reco;
        refFile = segmentsFile;
        refLine = seg.line;
        offsetS = seg.startS;
        cutDurationS = seg.endS - seg.startS;
        durationS = cutDurationS;
      }
    } else {
      const dur = Number(utt2dur?.get(uttId)?.value);
      if (Number.isFinite(dur) && dur > 0) durationS = dur;
    }
    if (problem === undefined) {
      const reco = recordings.get(recoId);
      if (reco === undefined) problem = { file: refFile, line: refLine, message: `recording ${recoId} is not in wav.scp` };
      else if ("error" in reco) problem = { file: wavScp, line: reco.line, message: reco.error };
      else audioPath = reco.path;
    }

    yield ctx.entry({
      file: textFile,
      line,
      identity: uttId,
      sourceId: uttId,
      speaker,
      text: transcript,
      audioPath,
      offsetS,
      cutDurationS,
      durationS,
      gender: speaker === undefined ? undefined : normalizeGender(spk2gender?.get(speaker)?.value),
      split,
      problem,
    });
  }

  // Utterances that wav.scp (or segments) lists but `text` doesn't: Kaldi would reject the directory.
  const listed = segments ?? recordings;
  const listedFile = segments !== undefined ? segmentsFile : wavScp;
  for (const [uttId, { line }] of listed) {
    if (!ctx.registry.hasIdentity(uttId)) {
      yield ctx.error(listedFile, line, uttId, `utterance ${uttId} has no transcript in text`);
    }
  }
}
