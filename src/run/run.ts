// Orchestration of `augment run`: catalog → plan → engine → shard sinks → manifests + summary.
// Shards are the unit of work and of resumption: each is committed atomically with its record in
// index.json, and a re-run of the same plan skips the shards already complete.
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { readFile, readdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import { createCpuEngine, resolveWorkers, type BatchResult } from "../engine/cpu/pool.js";
import { isItemError, type EngineConfig } from "../engine/process.js";
import { makePlan, type Plan, type ShardPlan } from "../plan/plan.js";
import type { Recipe } from "../recipe/schema.js";
import { checkInput } from "../sources/index.js";
import type { ItemError, PlannedItem } from "../types.js";
import { writeFileAtomic } from "../writers/atomic.js";
import { FilesSink } from "../writers/files.js";
import { itemRecord, nemoManifest, readRecords, type ItemRecord, type ManifestWriter } from "../writers/manifest.js";
import { nemoEntry, nemoLines } from "../writers/nemo.js";
import type { ShardRecord, ShardSink } from "../writers/sink.js";
import { WebDatasetSink } from "../writers/webdataset.js";
import { buildBanks, buildCatalog, type Banks, type Catalog } from "./catalog.js";
import { Progress } from "./progress.js";
import { addItemStats, describeStats, mergeStats, type StatsByOp } from "./stats.js";

export const VERSION = "0.1.0";
export const INDEX_FILE = "index.json";
/** Per-shard state a run keeps for resuming and for building manifests. */
export const STATE_DIR = ".state";

/** The folder a split's shards and manifests go to: a sub-folder when the plan has several splits. */
export function splitDir(outDir: string, plan: Plan, split: string): string {
  return plan.splits.length > 1 ? path.join(outDir, split) : outDir;
}

/** Streams every shard's item records, in plan order, into the manifests the recipe asks for. */
async function writeManifests(recipe: Recipe, outDir: string, plan: Plan, entries: ShardIndexEntry[]): Promise<void> {
  const writers: ManifestWriter[] = [];
  const bySplit = new Map<string, ManifestWriter[]>();
  for (const split of plan.splits) {
    const opts = { outDir: splitDir(outDir, plan, split), tarred: recipe.output.format === "webdataset" };
    const list: ManifestWriter[] = [];
    if (recipe.output.manifests.includes("nemo")) list.push(nemoManifest(opts));
    bySplit.set(split, list);
    writers.push(...list);
  }
  if (!writers.length) return;
  try {
    for (const e of entries) {
      const list = bySplit.get(e.split)!;
      for await (const rec of readRecords(path.join(outDir, e.records))) for (const w of list) await w.add(rec);
    }
    for (const w of writers) await w.finish();
  } catch (err) {
    for (const w of writers) await w.abort();
    throw err;
  }
}

export interface RunOptions {
  limit?: number;
  workers?: number;
  maxErrors?: number | null;
  quiet?: boolean;
  /** Replace an output folder that holds a different run. */
  force?: boolean;
  log?: (line: string) => void;
}

export interface ShardIndexEntry extends ShardRecord {
  shard: number;
  split: string;
  local: number;
  /** This shard's item records (labels + provenance), relative to the output folder. */
  records: string;
  errors: ItemError[];
  input_s: number;
  output_s: number;
  stats: StatsByOp;
  manifest?: string;
}

interface IndexFile {
  version: string;
  plan_hash: string;
  recipe_hash: string;
  shards: Record<string, ShardIndexEntry>;
}

export interface Prepared {
  catalog: Catalog;
  banks: Banks;
  plan: Plan;
}

export class RunError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = "RunError";
  }
}

/** Everything up to the plan: reads inputs and banks, probes durations. No output is written. */
export async function prepare(recipe: Recipe, opts: { limit?: number } = {}): Promise<Prepared> {
  for (const input of recipe.inputs) await checkInput(input);
  const banks = await buildBanks(recipe);
  const catalog = await buildCatalog(recipe);
  const plan = makePlan(recipe, catalog.utterances, banks.catalog, opts.limit);
  return { catalog, banks, plan };
}

function engineConfig(recipe: Recipe, banks: Banks): EngineConfig {
  return { sampleRate: recipe.sample_rate, audio: recipe.output.audio, banks: banks.files, cacheMb: 256 };
}

/** Batches of a shard: at most `batch_items` items and `max_batch_s` seconds of audio. */
export function shardBatches(recipe: Recipe, items: PlannedItem[]): PlannedItem[][] {
  const batches: PlannedItem[][] = [];
  let cur: PlannedItem[] = [];
  let curS = 0;
  for (const it of items) {
    if (cur.length && (cur.length >= recipe.engine.batch_items || curS + it.estDurationS > recipe.engine.max_batch_s)) {
      batches.push(cur);
      cur = [];
      curS = 0;
    }
    cur.push(it);
    curS += it.estDurationS;
  }
  if (cur.length) batches.push(cur);
  return batches;
}

async function sha256File(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** A shard counts as done only if every file is there with the recorded size and checksum. */
async function shardComplete(outDir: string, e: ShardIndexEntry): Promise<boolean> {
  try {
    if (e.files.length === 1 && e.files[0].endsWith(".tar")) {
      const f = path.join(outDir, e.files[0]);
      if ((await stat(f)).size !== e.bytes) return false;
      if ((await sha256File(f)) !== e.sha256) return false;
    } else {
      for (const f of e.files) await stat(path.join(outDir, f));
    }
    if (!existsSync(path.join(outDir, e.records))) return false;
    return e.manifest ? existsSync(path.join(outDir, e.manifest)) : true;
  } catch {
    return false;
  }
}

async function readIndex(outDir: string): Promise<IndexFile | null> {
  try {
    return JSON.parse(await readFile(path.join(outDir, INDEX_FILE), "utf8")) as IndexFile;
  } catch {
    return null;
  }
}

/** Removes temporary files a crashed run left behind. */
async function cleanTemp(outDir: string, splits: string[]): Promise<void> {
  const bases = [outDir, ...splits.map((sp) => path.join(outDir, sp))];
  const dirs = [path.join(outDir, STATE_DIR), ...bases.flatMap((b) => [b, path.join(b, "sharded_manifests"), path.join(b, "audio")])];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const name of await readdir(dir)) if (/^\..*\.tmp-\d+$/.test(name)) await rm(path.join(dir, name), { force: true });
  }
}

/** Deletes only what a previous run wrote (never the folder's other contents). */
async function removePreviousRun(outDir: string, prev: IndexFile): Promise<void> {
  for (const e of Object.values(prev.shards)) {
    for (const f of [...e.files, e.records, ...(e.manifest ? [e.manifest] : [])]) if (f) await rm(path.join(outDir, f), { force: true });
  }
  const splits = new Set(Object.values(prev.shards).map((e) => e.split ?? ""));
  for (const sp of splits) await rm(path.join(outDir, sp, "nemo_manifest.json"), { force: true });
  for (const f of ["nemo_manifest.json", "errors.jsonl", "summary.json", INDEX_FILE]) await rm(path.join(outDir, f), { force: true });
}

function byId(a: ItemError, b: ItemError): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0;
}

export interface RunSummary {
  [k: string]: unknown;
  items: { planned: number; written: number; errors: number; resumed_shards: number };
}

export async function run(recipe: Recipe, opts: RunOptions = {}): Promise<RunSummary> {
  const log = opts.log ?? (() => undefined);
  const started = Date.now();
  const outDir = recipe.output.path;
  const prepared = await prepare(recipe, { limit: opts.limit });
  const { plan, catalog, banks } = prepared;
  const workers = opts.workers ?? resolveWorkers(recipe.engine.workers);
  log(`plan: ${plan.items.length} items in ${plan.shards.length} shards from ${catalog.utterances.length} utterances (${catalog.errors.length + plan.errors.length} skipped); ${workers} workers`);

  // Resume: the same plan in the same folder keeps its complete shards.
  const prev = await readIndex(outDir);
  if (prev && prev.plan_hash !== plan.hash && !opts.force) {
    throw new RunError(`${outDir} holds the output of a different plan (recipe, seed or inputs changed); use --force to replace it or choose another --out`, 2);
  }
  const index: IndexFile = { version: VERSION, plan_hash: plan.hash, recipe_hash: recipe.hash, shards: {} };
  if (prev && prev.plan_hash === plan.hash) {
    for (const e of Object.values(prev.shards)) if (await shardComplete(outDir, e)) index.shards[e.shard] = e;
  } else if (prev && opts.force) {
    await removePreviousRun(outDir, prev);
  }
  await cleanTemp(outDir, plan.splits);
  const todo = plan.shards.filter((s) => !index.shards[s.index]);
  const resumed = plan.shards.length - todo.length;
  if (resumed) log(`resuming: ${resumed} of ${plan.shards.length} shards already complete`);

  // One sink per split, each writing into its split's folder.
  const sinks = new Map<string, ShardSink>();
  const sinkFor = (split: string): ShardSink => {
    let sink = sinks.get(split);
    if (!sink) {
      const dir = splitDir(outDir, plan, split);
      sink = recipe.output.format === "webdataset" ? new WebDatasetSink(dir, recipe.output.name) : new FilesSink(dir);
      sinks.set(split, sink);
    }
    return sink;
  };
  let sink: ShardSink = sinkFor(plan.splits[0] ?? recipe.splits.default);
  const tarred = recipe.output.format === "webdataset";
  const wantNemo = recipe.output.manifests.includes("nemo");
  const engine = createCpuEngine(engineConfig(recipe, banks), workers);
  const progress = new Progress({ total: todo.reduce((n, s) => n + (s.end - s.start), 0), quiet: opts.quiet });
  const maxErrors = opts.maxErrors !== undefined ? opts.maxErrors : recipe.max_errors;
  let errorCount = catalog.errors.length + plan.errors.length + Object.values(index.shards).reduce((n, e) => n + e.errors.length, 0);

  // Batches of all pending shards in plan order, a bounded number in flight; results are
  // consumed strictly in order, so output bytes never depend on which worker finished first.
  const queue: Array<{ shard: ShardPlan; last: boolean; result: Promise<BatchResult> }> = [];
  const maxInFlight = Math.max(2, workers * 2);
  let current: { shard: ShardPlan; errors: ItemError[]; records: ItemRecord[]; stats: StatsByOp; inS: number; outS: number } | null = null;

  const consume = async (job: (typeof queue)[number]): Promise<void> => {
    const results = await job.result;
    if (!current) {
      sink = sinkFor(job.shard.split);
      await sink.open(job.shard.local);
      current = { shard: job.shard, errors: [], records: [], stats: {}, inS: 0, outS: 0 };
    }
    let nErr = 0;
    let audioS = 0;
    for (const r of results) {
      if (isItemError(r)) {
        current.errors.push(r);
        nErr++;
        continue;
      }
      await sink.add(r);
      current.records.push(itemRecord(r, sink.audioRef(r), job.shard.local));
      addItemStats(current.stats, r.meta);
      current.inS += r.inputDurationS;
      current.outS += r.meta.duration;
      audioS += r.meta.duration;
    }
    errorCount += nErr;
    progress.update(results.length - nErr, nErr, audioS);
    if (maxErrors !== null && maxErrors !== undefined && errorCount > maxErrors) {
      throw new RunError(`more than ${maxErrors} errors (${errorCount}); stopping (see --max-errors). Complete shards are kept; re-run to resume.`);
    }
    if (job.last) {
      const committed = await sink.commit();
      const prefix = plan.splits.length > 1 ? `${job.shard.split}/` : "";
      const rec = { ...committed, files: committed.files.map((f) => prefix + f) };
      // The shard's item records first, then its NeMo manifest, then the index entry that makes
      // the shard count as complete: a crash in between leaves the shard to be redone.
      const records = `${STATE_DIR}/items-${String(job.shard.index).padStart(6, "0")}.jsonl`;
      await writeFileAtomic(path.join(outDir, records), current.records.map((r) => JSON.stringify(r) + "\n").join(""));
      let manifest: string | undefined;
      if (wantNemo && tarred) {
        manifest = `${prefix}sharded_manifests/manifest_${job.shard.local}.json`;
        await writeFileAtomic(path.join(outDir, manifest), nemoLines(current.records.map((r) => nemoEntry(r.meta, r.audio, r.shard))));
      }
      index.shards[job.shard.index] = {
        shard: job.shard.index,
        split: job.shard.split,
        local: job.shard.local,
        ...rec,
        errors: current.errors,
        input_s: current.inS,
        output_s: current.outS,
        stats: current.stats,
        records,
        ...(manifest ? { manifest } : {}),
      };
      await writeFileAtomic(path.join(outDir, INDEX_FILE), JSON.stringify(index, null, 1) + "\n");
      current = null;
    }
  };

  try {
    for (const shard of todo) {
      const batches = shardBatches(recipe, plan.items.slice(shard.start, shard.end));
      for (let b = 0; b < batches.length; b++) {
        queue.push({ shard, last: b === batches.length - 1, result: engine.process(batches[b]) });
        while (queue.length >= maxInFlight) await consume(queue.shift()!);
      }
    }
    while (queue.length) await consume(queue.shift()!);
  } catch (e) {
    await sink.abort();
    // Let in-flight batches settle before the workers go, so no promise rejects unobserved.
    await Promise.allSettled(queue.map((q) => q.result));
    await engine.close();
    progress.finish();
    throw e;
  }
  await engine.close();
  progress.finish();

  // Manifests, errors and summary are derived from the index and the shards' item records, so a
  // resumed run writes the same.
  const entries = plan.shards.map((s) => index.shards[s.index]);
  await writeManifests(recipe, outDir, plan, entries);
  const errors = [...catalog.errors, ...plan.errors, ...entries.flatMap((e) => e.errors)].sort(byId);
  await writeFileAtomic(path.join(outDir, "errors.jsonl"), errors.map((e) => JSON.stringify(e) + "\n").join(""));

  const stats: StatsByOp = {};
  for (const e of entries) mergeStats(stats, e.stats);
  const written = entries.reduce((n, e) => n + e.items, 0);
  const inS = entries.reduce((n, e) => n + e.input_s, 0);
  const outS = entries.reduce((n, e) => n + e.output_s, 0);
  const wallS = (Date.now() - started) / 1000;
  const byStage: Record<string, number> = {};
  for (const e of errors) byStage[e.stage] = (byStage[e.stage] ?? 0) + 1;
  const summary: RunSummary = {
    version: VERSION,
    recipe: recipe.file,
    recipe_hash: recipe.hash,
    plan_hash: plan.hash,
    seed: recipe.seed,
    sample_rate: recipe.sample_rate,
    engine: { device: "cpu", workers },
    items: { planned: plan.items.length, written, errors: errors.length, resumed_shards: resumed },
    source_utterances: catalog.utterances.length,
    shards: plan.shards.length,
    hours: { input: inS / 3600, output: outS / 3600 },
    splits: Object.fromEntries(
      plan.splits.map((sp) => {
        const es = entries.filter((e) => e.split === sp);
        return [sp, { items: es.reduce((n, e) => n + e.items, 0), shards: es.length, hours: es.reduce((n, e) => n + e.output_s, 0) / 3600 }];
      }),
    ),
    errors_by_stage: byStage,
    ops: describeStats(stats),
    wall_s: wallS,
    x_realtime: wallS > 0 ? outS / wallS : 0,
    audio_hours_per_wall_s: wallS > 0 ? outS / 3600 / wallS : 0,
    // Process-wide (worker threads included), in MB.
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    output: { path: outDir, format: recipe.output.format, audio: recipe.output.audio, bytes: entries.reduce((n, e) => n + e.bytes, 0) },
  };
  await writeFileAtomic(path.join(outDir, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
  if (maxErrors !== null && maxErrors !== undefined && errors.length > maxErrors) {
    throw new RunError(`${errors.length} errors, more than --max-errors ${maxErrors}; see ${path.join(outDir, "errors.jsonl")}`);
  }
  return summary;
}
