// Manifests are derived from per-item records kept per shard (`.state/items-<shard>.jsonl`), so a
// resumed run, or a merge of several machines' shards, writes exactly what one run would.
import { createReadStream } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import type { ItemMeta, ProcessedItem } from "../types.js";
import { AtomicFile } from "./atomic.js";
import { nemoEntry } from "./nemo.js";

/** What a manifest writer knows about one written item. */
export interface ItemRecord {
  /** Where the audio is: the tar member name (tarred formats) or a path relative to the output folder. */
  audio: string;
  shard: number;
  /** Input duration (s) before the ops, for the summary. */
  input_s: number;
  meta: ItemMeta;
}

export function itemRecord(item: ProcessedItem, audio: string, shard: number): ItemRecord {
  return { audio, shard, input_s: item.inputDurationS, meta: item.meta };
}

export async function* readRecords(file: string): AsyncGenerator<ItemRecord> {
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) if (line) yield JSON.parse(line) as ItemRecord;
}

export interface ManifestWriter {
  add(rec: ItemRecord): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

export interface ManifestOptions {
  outDir: string;
  /** Audio lives in tar shards (manifests refer to member names) rather than in files. */
  tarred: boolean;
}

/** A JSONL manifest written line by line under a temporary name. */
export class JsonlManifest implements ManifestWriter {
  private file: AtomicFile | null = null;
  private buffered: Uint8Array[] = [];
  private bytes = 0;
  constructor(private readonly finalPath: string, private readonly line: (rec: ItemRecord) => object | null) {}

  async add(rec: ItemRecord): Promise<void> {
    const obj = this.line(rec);
    if (!obj) return;
    this.file ??= await AtomicFile.create(this.finalPath);
    const b = Buffer.from(JSON.stringify(obj) + "\n", "utf8");
    this.buffered.push(b);
    this.bytes += b.length;
    if (this.bytes > 1 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.buffered.length) await this.file!.write(this.buffered);
    this.buffered = [];
    this.bytes = 0;
  }

  async finish(): Promise<void> {
    this.file ??= await AtomicFile.create(this.finalPath);
    await this.flush();
    await this.file.commit();
  }

  async abort(): Promise<void> {
    await this.file?.abort();
  }
}

export function nemoManifest(opts: ManifestOptions): ManifestWriter {
  return new JsonlManifest(path.join(opts.outDir, "nemo_manifest.json"), (rec) =>
    nemoEntry(rec.meta, opts.tarred ? rec.audio : path.join(opts.outDir, rec.audio), opts.tarred ? rec.shard : undefined),
  );
}
