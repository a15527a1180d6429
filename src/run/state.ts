// What a run keeps on disk besides its outputs: `plan.json` (the plan's shape, written identically
// by every worker) and one index per worker (`index.json` for a single process,
// `.state/index-K-of-N.json` for worker K of N) recording each complete shard's files, checksum,
// item count, errors and stats. Resume, merge and verify all work from these.
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { readdir, readFile, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { ItemError } from "../types.js";
import type { ShardRecord } from "../writers/sink.js";
import type { StatsByOp } from "./stats.js";

export const VERSION = "0.1.0";
export const INDEX_FILE = "index.json";
export const PLAN_FILE = "plan.json";
/** Per-shard state: item records and the workers' indexes. */
export const STATE_DIR = ".state";

export interface ShardIndexEntry extends ShardRecord {
  shard: number;
  split: string;
  local: number;
  /** This shard's item records (labels + provenance), relative to the output folder. */
  records: string;
  manifest?: string;
  errors: ItemError[];
  input_s: number;
  output_s: number;
  stats: StatsByOp;
}

export interface IndexFile {
  version: string;
  plan_hash: string;
  worker: { index: number; count: number };
  /** Wall time of the last run of this worker, in seconds. */
  wall_s: number;
  shards: Record<string, ShardIndexEntry>;
}

export interface PlanShard {
  index: number;
  split: string;
  local: number;
  items: number;
}

export interface PlanFile {
  version: string;
  plan_hash: string;
  recipe_hash: string;
  recipe: string;
  seed: number;
  sample_rate: number;
  output: { format: string; audio: string; name: string; manifests: string[] };
  splits: string[];
  shards: PlanShard[];
  planned_items: number;
  source_utterances: number;
  /** Items skipped before any audio was read (catalog and filter errors). */
  catalog_errors: ItemError[];
  warnings: string[];
  /** The plan has synthetic speech (tabular manifests add its columns). */
  synthetic?: boolean;
}

export function indexPath(outDir: string, worker: number, count: number): string {
  return count === 1 ? path.join(outDir, INDEX_FILE) : path.join(outDir, STATE_DIR, `index-${worker}-of-${count}.json`);
}

export async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as T;
  } catch {
    return null;
  }
}

/** Every index in the folder (single-process and per-worker ones). */
export async function readIndexes(outDir: string): Promise<IndexFile[]> {
  const files = [path.join(outDir, INDEX_FILE)];
  const stateDir = path.join(outDir, STATE_DIR);
  if (existsSync(stateDir)) for (const f of (await readdir(stateDir)).sort()) if (/^index-\d+-of-\d+\.json$/.test(f)) files.push(path.join(stateDir, f));
  const out: IndexFile[] = [];
  for (const f of files) {
    const idx = await readJson<IndexFile>(f);
    if (idx) out.push(idx);
  }
  return out;
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** Why a recorded shard is not intact, or null when every file is there with its size and checksum. */
export async function shardProblem(outDir: string, e: ShardIndexEntry): Promise<string | null> {
  try {
    if (e.files.length === 1 && e.files[0].endsWith(".tar")) {
      const f = path.join(outDir, e.files[0]);
      if ((await stat(f)).size !== e.bytes) return `${e.files[0]}: size differs from the index`;
      if ((await sha256File(f)) !== e.sha256) return `${e.files[0]}: sha256 differs from the index`;
    } else {
      const hashes: string[] = [];
      for (const f of e.files) hashes.push(await sha256File(path.join(outDir, f)));
      if (createHash("sha256").update(hashes.join("\n")).digest("hex") !== e.sha256) return `shard ${e.shard}: files differ from the index`;
    }
    if (!existsSync(path.join(outDir, e.records))) return `${e.records} missing`;
    if (e.manifest && !existsSync(path.join(outDir, e.manifest))) return `${e.manifest} missing`;
    return null;
  } catch (err: any) {
    return err?.code === "ENOENT" ? `${path.relative(outDir, err.path ?? "")} missing` : String(err?.message ?? err);
  }
}

/** Removes temporary files (`.<name>.tmp-<pid>`, `.kaldi-sort-<pid>/`) a crashed run left behind. */
export async function cleanTemp(outDir: string, depth = 4): Promise<void> {
  if (!existsSync(outDir)) return;
  for (const e of await readdir(outDir, { withFileTypes: true })) {
    const full = path.join(outDir, e.name);
    if (/^\..*\.tmp-\d+$/.test(e.name)) await rm(full, { force: true, recursive: true });
    else if (e.isDirectory() && /^\.kaldi-sort-\d+$/.test(e.name)) await rm(full, { force: true, recursive: true });
    else if (e.isDirectory() && depth > 0 && e.name !== "report") await cleanTemp(full, depth - 1);
  }
}

/** Deletes only what earlier runs wrote (never the folder's other contents). */
export async function removePreviousRun(outDir: string, indexes: IndexFile[], plan: PlanFile | null): Promise<void> {
  const splits = new Set<string>([""]);
  for (const idx of indexes) {
    for (const e of Object.values(idx.shards)) {
      splits.add(e.split ?? "");
      for (const f of [...e.files, e.records, ...(e.manifest ? [e.manifest] : [])]) if (f) await rm(path.join(outDir, f), { force: true });
    }
  }
  for (const sp of plan?.splits ?? []) splits.add(sp);
  for (const sp of [...splits, "train", "validation", "test"]) {
    for (const f of ["nemo_manifest.json", "tarred_audio_manifest.json", "metadata.yaml", "metadata.jsonl", "lhotse", "data"]) {
      // data/ is both Kaldi's data dir and hf_parquet's folder: both are ours when an index exists.
      await rm(path.join(outDir, sp, f), { force: true, recursive: true });
    }
  }
  for (const f of ["errors.jsonl", "summary.json", INDEX_FILE, PLAN_FILE]) await rm(path.join(outDir, f), { force: true });
  await rm(path.join(outDir, STATE_DIR), { recursive: true, force: true });
}
