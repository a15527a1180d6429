// One audio file per item, each written atomically; a shard here is a group of items committed
// together in the index (its hash is over the files' hashes, in order). `FilesSink` writes
// `audio/<id>.<ext>`; the Kaldi and Hugging Face sinks extend it with their own layout and checks.
import { createHash } from "node:crypto";
import path from "node:path";
import type { ProcessedItem } from "../types.js";
import { writeFileAtomic } from "./atomic.js";
import type { ShardRecord, ShardSink } from "./sink.js";

export class PerFileSink implements ShardSink {
  private files: string[] = [];
  private hashes: string[] = [];
  private bytes = 0;
  constructor(
    protected readonly outDir: string,
    /** The file of an item, relative to the output folder. */
    private readonly relPath: (item: ProcessedItem) => string,
  ) {}

  audioRef(item: ProcessedItem): string {
    return this.relPath(item);
  }

  /** Refuses an item the layout cannot hold (throw with a one-line reason). */
  protected check(_item: ProcessedItem): void {}

  async open(): Promise<void> {
    this.files = [];
    this.hashes = [];
    this.bytes = 0;
  }

  async add(item: ProcessedItem): Promise<void> {
    this.check(item);
    const rel = this.audioRef(item);
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

export class FilesSink extends PerFileSink {
  constructor(outDir: string) {
    super(outDir, (item) => `audio/${item.outId}.${item.audioExt}`);
  }
}
