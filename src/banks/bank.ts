// Noise and RIR banks: a folder of audio files, sub-folders as categories (MUSAN layout), or a
// metadata.jsonl listing them. Listing is sorted so the bank's order never depends on the
// filesystem, which would change every draw.
import { createReadStream, existsSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import pLimit from "p-limit";
import { probeAudioFile } from "../audio/decode.js";
import type { BankEntry } from "../ops/types.js";
import { loadAudioFile } from "../engine/load.js";
import { localPath, toRemote } from "../storage/cache.js";
import { isS3Url } from "../storage/url.js";

export const AUDIO_EXTENSIONS = new Set([".wav", ".flac", ".mp3", ".ogg", ".opus"]);

export class BankError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BankError";
  }
}

/** A raw file name for a message: printable ASCII as is, other bytes as \xNN. */
function rawName(name: Buffer): string {
  return [...name].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`)).join("");
}

async function listAudio(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    // Names as bytes: a name that is not UTF-8 would become U+FFFD in a string path and then not be
    // found; say so at once instead of reporting a missing file that is there.
    const entries = await readdir(dir, { withFileTypes: true, encoding: "buffer" });
    for (const e of entries) {
      const name = e.name.toString("utf8");
      const used = e.isDirectory() || (e.isFile() && AUDIO_EXTENSIONS.has(path.extname(name).toLowerCase()));
      if (used && !Buffer.from(name, "utf8").equals(e.name)) {
        throw new BankError(`${dir}: file name is not valid UTF-8: ${rawName(e.name)}; rename it (e.g. convmv -f latin1 -t utf8)`);
      }
      const full = path.join(dir, name);
      if (e.isDirectory()) await walk(full);
      else if (used) out.push(full);
    }
  }
  await walk(root);
  // Byte-wise order of the relative path: the same on every machine and filesystem.
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Duration from the header when cheap (wav, flac), else by decoding. */
async function durationOf(file: string): Promise<number> {
  const probe = await probeAudioFile(file);
  if (probe && probe.sampleRate > 0) return probe.numFrames / probe.sampleRate;
  const audio = await loadAudioFile(file);
  return audio.channels[0].length / audio.sampleRate;
}

async function readMetadata(root: string): Promise<BankEntry[]> {
  const file = path.join(root, "metadata.jsonl");
  const entries: BankEntry[] = [];
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of rl) {
    lineNo++;
    if (!line.trim()) continue;
    let rec: any;
    try {
      rec = JSON.parse(line);
    } catch {
      throw new BankError(`${file}:${lineNo}: not valid JSON`);
    }
    if (typeof rec.path !== "string") throw new BankError(`${file}:${lineNo}: missing "path"`);
    const full = path.resolve(root, rec.path);
    if (!existsSync(full)) throw new BankError(`${file}:${lineNo}: file not found: ${full}`);
    entries.push({
      id: String(rec.id ?? rec.path.replace(/\.[^./]+$/, "")),
      path: full,
      category: String(rec.category ?? (path.dirname(rec.path) === "." ? "default" : path.dirname(rec.path).split(/[\\/]/)[0])),
      durationS: typeof rec.duration === "number" ? rec.duration : NaN,
    });
  }
  return entries;
}

/** A list file of `<id> <path>` lines (the layout of several public RIR sets); paths relative to the file. */
async function readListFile(file: string): Promise<BankEntry[]> {
  const entries: BankEntry[] = [];
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of rl) {
    lineNo++;
    const t = line.trim();
    if (!t || t.startsWith("#")) continue;
    const m = /^(\S+)\s+(.+)$/.exec(t);
    if (!m) throw new BankError(`${file}:${lineNo}: expected "<id> <path>"`);
    const full = path.resolve(path.dirname(file), m[2]);
    if (!existsSync(full)) throw new BankError(`${file}:${lineNo}: file not found: ${full}`);
    entries.push({ id: m[1], path: full, category: "default", durationS: NaN });
  }
  return entries;
}

/** Lists a bank. Entries are sorted by id; durations are probed where the metadata lacks them. */
export async function loadBank(root: string): Promise<BankEntry[]> {
  if (isS3Url(root)) {
    // An s3:// bank is mirrored whole into the work folder (banks are read over and over) and
    // read from there; messages name the URL.
    const local = await localPath(root, "bank");
    return loadBank(local).catch((e) => Promise.reject(e instanceof BankError ? new BankError(toRemote(e.message)) : e));
  }
  if (!existsSync(root)) throw new BankError(`bank folder not found: ${root}`);
  let entries: BankEntry[];
  if ((await stat(root)).isFile()) {
    entries = await readListFile(root);
  } else if (existsSync(path.join(root, "metadata.jsonl"))) {
    entries = await readMetadata(root);
  } else {
    const files = await listAudio(root);
    entries = files.map((full) => {
      const rel = path.relative(root, full).split(path.sep).join("/");
      const parts = rel.split("/");
      return { id: rel.replace(/\.[^./]+$/, ""), path: full, category: parts.length > 1 ? parts[0] : "default", durationS: NaN };
    });
  }
  if (entries.length === 0) throw new BankError(`bank folder has no audio files (wav, flac, mp3, ogg, opus): ${root}`);
  const limit = pLimit(16);
  await Promise.all(
    entries.map((e) =>
      limit(async () => {
        if (Number.isFinite(e.durationS) && e.durationS > 0) return;
        try {
          e.durationS = await durationOf(e.path);
        } catch (err: any) {
          throw new BankError(`bank file ${e.path}: ${err.message}`);
        }
        if (!(e.durationS > 0)) throw new BankError(`bank file ${e.path}: zero-length audio`);
      }),
    ),
  );
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.id)) throw new BankError(`bank ${root}: duplicate id "${e.id}"`);
    seen.add(e.id);
  }
  return entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
