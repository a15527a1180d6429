// One audio file per item under `audio/`, each written atomically; a shard here is just a group
// of items committed together in the index (its hash is over the files' hashes, in order).
import { createHash } from "node:crypto";
import path from "node:path";
import type { ProcessedItem } from "../types.js";
import { writeFileAtomic } from "./atomic.js";
import type { ShardRecord, ShardSink } from "./sink.js";

export class FilesSink implements ShardSink {
  private files: string[] = [];
  private hashes: string[] = [];
  private bytes = 0;
  constructor(private readonly outDir: string) {}

  audioRef(item: ProcessedItem): string {
    return `audio/${item.outId}.${item.audioExt}`;
  }

  async open(): Promise<void> {
    this.files = [];
    this.hashes = [];
    this.bytes = 0;
  }

  async add(item: ProcessedItem): Promise<void> {
    const rel = `audio/${item.outId}.${item.audioExt}`;
    const r = await writeFileAtomic(path.join(this.outDir, rel), item.audio);
    this.files.push(rel);
    this.hashes.push(r.sha256);
    this.bytes += r.bytes;
  }

  async commit(): Promise<ShardRecord> {
    const sha256 = createHash("sha256").update(this.hashes.join("\n")).digest("hex");
    return { files: this.files, sha256, bytes: this.bytes, items: this.files.length };
  }

  async abort(): Promise<void> {}
}
