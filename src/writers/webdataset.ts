// WebDataset tar shards (FORMATS.md §1): `<name>-%06d.tar`, each sample's members adjacent in the
// fixed order audio, json, txt, so every sample has the same member set (HF's loader needs it).
import path from "node:path";
import type { ProcessedItem } from "../types.js";
import { AtomicFile } from "./atomic.js";
import { shardName, type ShardRecord, type ShardSink } from "./sink.js";
import { tarEnd, tarMember } from "./tar.js";

export class WebDatasetSink implements ShardSink {
  private file: AtomicFile | null = null;
  private name = "";
  private items = 0;
  constructor(private readonly outDir: string, private readonly prefix: string) {}

  audioRef(item: ProcessedItem): string {
    return `${item.outId}.${item.audioExt}`;
  }

  async open(shard: number): Promise<void> {
    this.name = shardName(this.prefix, shard);
    this.file = await AtomicFile.create(path.join(this.outDir, this.name));
    this.items = 0;
  }

  async add(item: ProcessedItem): Promise<void> {
    const json = Buffer.from(JSON.stringify(item.meta), "utf8");
    const txt = Buffer.from(item.meta.text, "utf8");
    await this.file!.write([
      ...tarMember(`${item.outId}.${item.audioExt}`, item.audio),
      ...tarMember(`${item.outId}.json`, json),
      ...tarMember(`${item.outId}.txt`, txt),
    ]);
    this.items++;
  }

  async commit(): Promise<ShardRecord> {
    await this.file!.write(tarEnd());
    const { sha256, bytes } = await this.file!.commit();
    this.file = null;
    return { files: [this.name], sha256, bytes, items: this.items };
  }

  async abort(): Promise<void> {
    await this.file?.abort();
    this.file = null;
  }
}
