// A shard sink receives one shard's items in plan order and commits the shard atomically.
import type { ProcessedItem } from "../types.js";

export interface ShardRecord {
  /** Files of the shard, relative to the output folder. */
  files: string[];
  sha256: string;
  bytes: number;
  items: number;
}

export interface ShardSink {
  /** Where the audio of an item is: a tar member name, or a path relative to the output folder. */
  audioRef(item: ProcessedItem): string;
  open(shard: number): Promise<void>;
  add(item: ProcessedItem): Promise<void>;
  commit(): Promise<ShardRecord>;
  abort(): Promise<void>;
}

export function shardName(name: string, shard: number): string {
  return `${name}-${String(shard).padStart(6, "0")}.tar`;
}
