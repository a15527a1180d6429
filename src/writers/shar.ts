// Lhotse Shar (FORMATS.md §3, lhotse `shar/writers`): per shard i, in a folder of its own,
//   recording.%06d.tar    per cut, in cut order: `<id>.<flac|wav>` then `<id>.json` (a one-line placeholder Recording)
//   cuts.%06d.jsonl.gz    the cuts in the same order: `start: 0`, the placeholder recording inlined
// The reader pairs tar members two by two ("Uneven number of files"), checks each pair's stem against
// the cut id ("Mismatched IDs"), and discovers fields from *every* file name in the folder, so the
// folder holds these files only (hence a dedicated subfolder, `shar/` by default).
import { createHash } from "node:crypto";
import path from "node:path";
import type { ProcessedItem } from "../types.js";
import { AtomicFile } from "./atomic.js";
import { lhotseCut, lhotseSharPlaceholder } from "./lhotse.js";
import type { ShardRecord, ShardSink } from "./sink.js";
import { checkMemberName, tarEnd, tarMember } from "./tar.js";
import { TextFileWriter } from "./textfile.js";

export interface SharSinkOptions {
  /** The Shar folder, relative to the output folder (default `shar`); nothing else may be written there. */
  dir?: string;
  /** `cuts.%06d.jsonl.gz` (default) or plain `cuts.%06d.jsonl` (indexable; needed for `pipe:` inputs). */
  gzip?: boolean;
}

function six(n: number): string {
  return String(n).padStart(6, "0");
}

/** The Shar files of shard i, relative to the output folder: recording tar, then cuts. */
export function sharShardFiles(shard: number, opts: SharSinkOptions = {}): [string, string] {
  const dir = opts.dir ?? "shar";
  return [path.posix.join(dir, `recording.${six(shard)}.tar`), path.posix.join(dir, `cuts.${six(shard)}.jsonl${opts.gzip === false ? "" : ".gz"}`)];
}

export class SharSink implements ShardSink {
  private tar: AtomicFile | null = null;
  private cuts: TextFileWriter | null = null;
  private files: [string, string] = ["", ""];
  private items = 0;

  constructor(
    private readonly outDir: string,
    private readonly opts: SharSinkOptions = {},
  ) {
    const dir = opts.dir ?? "shar";
    if (dir === "" || dir === "." || path.isAbsolute(dir) || dir.split(/[\\/]/).includes("..")) {
      throw new Error(`Shar folder must be a subfolder of the output folder (Lhotse reads every file in it), got ${JSON.stringify(dir)}`);
    }
  }

  /** The audio member's name in `recording.%06d.tar`. */
  audioRef(item: ProcessedItem): string {
    return `${item.outId}.${item.audioExt}`;
  }

  async open(shard: number): Promise<void> {
    if (!Number.isInteger(shard) || shard < 0) throw new Error(`Shar: shard index must be an integer >= 0, got ${shard}`);
    this.files = sharShardFiles(shard, this.opts);
    this.tar = await AtomicFile.create(path.join(this.outDir, this.files[0]));
    this.cuts = await TextFileWriter.create(path.join(this.outDir, this.files[1]));
    this.items = 0;
  }

  async add(item: ProcessedItem): Promise<void> {
    if (item.meta.id !== item.outId) throw new Error(`Shar: item ${item.outId} has meta.id ${item.meta.id}`);
    const audioName = this.audioRef(item);
    checkMemberName(audioName);
    const placeholder = lhotseSharPlaceholder(item.meta);
    // Lhotse writes the member with print(json.dumps(...)): one line and "\n".
    const json = Buffer.from(JSON.stringify(placeholder) + "\n", "utf8");
    await this.tar!.write([...tarMember(audioName, item.audio), ...tarMember(`${item.outId}.json`, json)]);
    await this.cuts!.writeJsonLine(lhotseCut(item.meta, placeholder));
    this.items++;
  }

  async commit(): Promise<ShardRecord> {
    await this.tar!.write(tarEnd());
    const t = await this.tar!.commit();
    this.tar = null;
    const c = await this.cuts!.commit();
    this.cuts = null;
    const sha256 = createHash("sha256").update(`${t.sha256}\n${c.sha256}`).digest("hex");
    return { files: [...this.files], sha256, bytes: t.bytes + c.bytes, items: this.items };
  }

  async abort(): Promise<void> {
    await this.tar?.abort();
    await this.cuts?.abort();
    this.tar = null;
    this.cuts = null;
  }
}
