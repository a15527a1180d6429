// Orchestration of `augment run`: catalog → plan → engine → shard sinks → manifests + summary.
// Shards are the unit of work, of resumption and of distribution: worker K of N takes the shards
// with index ≡ K (mod N); each shard is committed atomically with its entry in the worker's index,
// and a re-run of the same plan skips the shards already complete. `finalize` (run's last step, or
// `augment merge` after sharded runs) derives manifests, errors and the summary from the indexes.
import { existsSync } from "node:fs";
import path from "node:path";
import { prestartCpuWorkers, resolveWorkers, type BatchResult } from "../engine/cpu/pool.js";
import { shareBankAudio } from "../engine/shared.js";
import type { EngineReport } from "../engine/gpu/engine.js";
import { createEngine, DeviceError } from "../engine/gpu/select.js";
import { isItemError, type EngineConfig } from "../engine/process.js";
import { getOp } from "../ops/registry.js";
import { makePlan, type Plan, type ShardPlan } from "../plan/plan.js";
import type { Recipe } from "../recipe/schema.js";
import { checkInput } from "../sources/index.js";
import type { ItemError, PlannedItem } from "../types.js";
import { writeFileAtomic } from "../writers/atomic.js";
import { crashPoint } from "../writers/faults.js";
import { itemRecord, readRecords, type ItemRecord } from "../writers/manifest.js";
import { nemoEntry, nemoLines } from "../writers/nemo.js";
import { nemoTarredConfigSnippet, writeNemoTarredMetadata } from "../writers/nemo-tarred.js";
import type { ShardRecord, ShardSink } from "../writers/sink.js";
import { checkSplits, makeGlobalManifests, makeManifests, makeSink, splitDir, splitPrefix, type OutputFormat } from "./formats.js";
import { buildBanks, buildCatalog, type Banks, type Catalog } from "./catalog.js";
import { openOutput, type OutputLocation } from "./output.js";
import { Progress } from "./progress.js";
import {
  cleanTemp,
  INDEX_FILE,
  indexPath,
  PLAN_FILE,
  readIndexes,
  readJson,
  removePreviousRun,
  STATE_DIR,
  VERSION,
  type IndexFile,
  type PlanFile,
  type ShardIndexEntry,
} from "./state.js";
import { addItemStats, describeStats, mergeStats, type StatsByOp } from "./stats.js";

export { INDEX_FILE, STATE_DIR, VERSION } from "./state.js";
export { splitDir } from "./formats.js";

export interface RunOptions {
  limit?: number;
  /** Worker threads in this process. */
  threads?: number;
  /** This process is worker `worker.index` of `worker.count` (sharded run: finish with `augment merge`). */
  worker?: { index: number; count: number };
  maxErrors?: number | null;
  quiet?: boolean;
  /** Replace an output folder that holds a different run. */
  force?: boolean;
  log?: (line: string) => void;
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

export interface RunSummary {
  [k: string]: unknown;
  items: { planned: number; written: number; errors: number; resumed_shards: number };
}

/** Everything up to the plan: reads inputs and banks, probes durations. No output is written. */
export async function prepare(recipe: Recipe, opts: { limit?: number; threads?: number } = {}): Promise<Prepared> {
  for (const input of recipe.inputs) await checkInput(input);
  await preflightOps(recipe);
  const banks = await buildBanks(recipe);
  const catalog = await buildCatalog(recipe, undefined, { threads: opts.threads });
  const plan = makePlan(recipe, catalog.utterances, banks.catalog, opts.limit);
  const bad = checkSplits(recipe.output.format, plan.splits);
  if (bad) throw new RunError(`output.format ${recipe.output.format}: ${bad}`, 2);
  return { catalog, banks, plan };
}

/** Each op's one-time check of what it needs (e.g. a codec binary): one clear error before any work. */
export async function preflightOps(recipe: Recipe): Promise<void> {
  for (const [i, step] of recipe.chain.entries()) {
    const op = getOp(step.op);
    try {
      await op.preflight?.(step.config);
    } catch (e: any) {
      throw new RunError(`chain[${i}].${step.op}: ${e?.message ?? e}`, 2);
    }
  }
}

/** Each op's once-per-run work before the engine's threads start (see OpDefinition.beforeEngine). */
async function beforeEngineOps(recipe: Recipe, items: PlannedItem[]): Promise<void> {
  const byOp = new Map<string, PlannedItem["ops"]>();
  for (const it of items) {
    for (const p of it.ops) {
      const list = byOp.get(p.op);
      if (list) list.push(p);
      else byOp.set(p.op, [p]);
    }
  }
  for (const [name, params] of byOp) await getOp(name).beforeEngine?.(params, { sampleRate: recipe.sample_rate }).catch(() => {});
}

function engineConfig(recipe: Recipe, banks: Banks, catalog?: Catalog): EngineConfig {
  return { sampleRate: recipe.sample_rate, audio: recipe.output.audio, banks: banks.files, cacheMb: 256, ...(catalog?.ttsCacheDir ? { ttsCacheDir: catalog.ttsCacheDir } : {}) };
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

function planFile(recipe: Recipe, prepared: Prepared): PlanFile {
  const { plan, catalog } = prepared;
  return {
    version: VERSION,
    plan_hash: plan.hash,
    recipe_hash: recipe.hash,
    recipe: recipe.file,
    seed: recipe.seed,
    sample_rate: recipe.sample_rate,
    output: { format: recipe.output.format, audio: recipe.output.audio, name: recipe.output.name, manifests: recipe.output.manifests },
    splits: plan.splits,
    shards: plan.shards.map((s) => ({ index: s.index, split: s.split, local: s.local, items: s.end - s.start })),
    planned_items: plan.items.length,
    source_utterances: catalog.utterances.length,
    catalog_errors: [...catalog.errors, ...plan.errors],
    warnings: plan.warnings,
    ...(plan.synthetic ? { synthetic: true } : {}),
  };
}

function byId(a: ItemError, b: ItemError): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0;
}

/** Runs a recipe (or worker K of N's part of it). Returns the summary, or null for a sharded worker. */
export async function run(recipe: Recipe, opts: RunOptions = {}): Promise<RunSummary | null> {
  const log = opts.log ?? (() => undefined);
  const started = Date.now();
  // An s3:// output is written to a local staging folder and uploaded piece by piece (output.ts).
  const output = await openOutput(recipe.output.path);
  const outDir = output.dir;
  const worker = opts.worker ?? { index: 0, count: 1 };
  // The engine's threads load their modules while the inputs are read and planned (pool.ts).
  const earlyThreads = opts.threads ?? resolveWorkers(recipe.engine.workers);
  if (earlyThreads > 0) prestartCpuWorkers(earlyThreads);
  const prepared = await prepare(recipe, { limit: opts.limit, threads: opts.threads });
  const { plan, catalog } = prepared;
  const threads = opts.threads ?? resolveWorkers(recipe.engine.workers);
  const mine = plan.shards.filter((s) => s.index % worker.count === worker.index);
  log(
    `plan: ${plan.items.length} items in ${plan.shards.length} shards from ${catalog.utterances.length} utterances (${catalog.errors.length + plan.errors.length} skipped); ` +
      (worker.count > 1 ? `worker ${worker.index} of ${worker.count}: ${mine.length} shards; ` : "") +
      `${threads} threads`,
  );

  // Resume: the same plan in the same folder keeps its complete shards, whoever wrote them.
  await output.pullState();
  const prevPlan = await readJson<PlanFile>(path.join(outDir, PLAN_FILE));
  const prevIndexes = await readIndexes(outDir);
  const foreign = (prevPlan && prevPlan.plan_hash !== plan.hash) || prevIndexes.some((i) => i.plan_hash !== plan.hash);
  if (foreign && !opts.force) {
    throw new RunError(`${output.name} holds the output of a different plan (recipe, seed or inputs changed); use --force to replace it or choose another --out`, 2);
  }
  if (foreign) {
    await output.removePrevious(prevIndexes, prevPlan);
    await removePreviousRun(outDir, prevIndexes, prevPlan);
  }
  const done = new Map<number, ShardIndexEntry>();
  if (!foreign) {
    for (const idx of prevIndexes) for (const e of Object.values(idx.shards)) if (!done.has(e.shard) && !(await output.shardProblem(e))) done.set(e.shard, e);
  }
  await writeFileAtomic(path.join(outDir, PLAN_FILE), JSON.stringify(planFile(recipe, prepared), null, 1) + "\n");
  await output.push([PLAN_FILE]);
  await cleanTemp(outDir);
  const index: IndexFile = { version: VERSION, plan_hash: plan.hash, worker, wall_s: 0, shards: {} };
  for (const s of mine) {
    const e = done.get(s.index);
    if (e) index.shards[s.index] = e;
  }
  const todo = mine.filter((s) => !index.shards[s.index]);
  const resumed = mine.length - todo.length;
  if (resumed) log(`resuming: ${resumed} of ${mine.length} shards already complete`);

  const maxErrors = opts.maxErrors !== undefined ? opts.maxErrors : recipe.max_errors;
  let errorCount = catalog.errors.length + plan.errors.length + [...done.values()].reduce((n, e) => n + e.errors.length, 0);
  const idxFile = indexPath(outDir, worker.index, worker.count);
  const idxRel = path.relative(outDir, idxFile);
  const engineReport = await executeShards({ ...recipe, output: { ...recipe.output, path: outDir } }, prepared, todo, {
    threads,
    quiet: opts.quiet,
    log,
    onShard: async (entry) => {
      await output.pushShard(entry);
      index.shards[entry.shard] = entry;
      index.wall_s = (Date.now() - started) / 1000;
      await writeFileAtomic(idxFile, JSON.stringify(index, null, 1) + "\n");
      await output.pushThrottled(idxRel);
      crashPoint("shard-index");
      errorCount += entry.errors.length;
    },
    onErrors: (n) => {
      if (maxErrors !== null && maxErrors !== undefined && errorCount + n > maxErrors) {
        throw new RunError(`more than ${maxErrors} errors (${errorCount + n}); stopping (see --max-errors). Complete shards are kept; re-run to resume.`);
      }
    },
  });
  index.wall_s = (Date.now() - started) / 1000;
  await writeFileAtomic(idxFile, JSON.stringify(index, null, 1) + "\n");
  await output.push([idxRel]);
  if (worker.count > 1) {
    log(`worker ${worker.index} of ${worker.count} done (${mine.length} shards); run \`augment merge ${output.name}\` when every worker has finished`);
    return null;
  }
  const summary = await finalize(output.name, { wallS: (Date.now() - started) / 1000, threads, resumed, engine: engineReport }, output);
  if (maxErrors !== null && maxErrors !== undefined && summary.items.errors > maxErrors) {
    throw new RunError(`${summary.items.errors} errors, more than --max-errors ${maxErrors}; see ${output.where("errors.jsonl")}`);
  }
  return summary;
}

interface ExecuteOptions {
  threads: number;
  quiet?: boolean;
  log?: (line: string) => void;
  /** Called after each shard is committed, in plan order. */
  onShard: (entry: ShardIndexEntry) => Promise<void>;
  /** Called with the error count of each batch before it is written; may throw to stop. */
  onErrors: (n: number) => void;
}

/** Processes shards through the engine and commits them through the sinks. */
async function executeShards(recipe: Recipe, prepared: Prepared, todo: ShardPlan[], opts: ExecuteOptions): Promise<EngineReport | undefined> {
  const { plan, banks } = prepared;
  const outDir = recipe.output.path;
  const format = recipe.output.format as OutputFormat;
  // webdataset shards get NeMo sharded manifests here; nemo_tarred's sink writes its own.
  const shardManifests = format === "webdataset" && recipe.output.manifests.includes("nemo");
  const planShards = plan.shards.map((s) => ({ index: s.index, split: s.split, local: s.local, items: s.end - s.start }));
  let currentErrors = 0;
  // One sink per split, each writing into its split's folder.
  const sinks = new Map<string, ShardSink>();
  const sinkFor = (split: string): ShardSink => {
    let sink = sinks.get(split);
    if (!sink) {
      const expectedItems = (local: number) => {
        const s = plan.shards.find((x) => x.split === split && x.local === local)!;
        return s.end - s.start - currentErrors;
      };
      sink = makeSink({ format, outDir, splits: plan.splits, split, name: recipe.output.name, shards: planShards, expectedItems, synthetic: plan.synthetic });
      sinks.set(split, sink);
    }
    return sink;
  };
  if (todo.length === 0) return;
  await beforeEngineOps(recipe, todo.flatMap((s) => plan.items.slice(s.start, s.end)));
  // engine.device: the CPU engine, or the GPU engine (which uses the CPU threads to decode and encode).
  const cfg = engineConfig(recipe, banks, prepared.catalog);
  if (opts.threads > 1) {
    // Bank audio decoded here once rather than in every thread (src/engine/shared.ts).
    const durations = new Map<string, number>();
    for (const kind of ["noise", "rir"] as const) for (const [bank, entries] of banks.catalog[kind]) for (const e of entries) durations.set(`${kind}/${bank}/${e.id}`, e.durationS);
    await shareBankAudio(cfg, todo.flatMap((s) => plan.items.slice(s.start, s.end)), (kind, bank, id) => durations.get(`${kind}/${bank}/${id}`));
  }
  const engine = await createEngine(recipe.engine.device, cfg, opts.threads, opts.log).catch((e) => {
    throw e instanceof DeviceError ? new RunError(e.message, 2) : e;
  });
  const progress = new Progress({ total: todo.reduce((n, s) => n + (s.end - s.start), 0), quiet: opts.quiet });

  // Batches of all pending shards in plan order, a bounded number in flight; results are
  // consumed strictly in order, so output bytes never depend on which thread finished first.
  const queue: Array<{ shard: ShardPlan; last: boolean; result: Promise<BatchResult> }> = [];
  const maxInFlight = Math.max(2, opts.threads * 2);
  let sink: ShardSink | null = null;
  let current: { errors: ItemError[]; records: ItemRecord[]; stats: StatsByOp; inS: number; outS: number } | null = null;

  const consume = async (job: (typeof queue)[number]): Promise<void> => {
    const results = await job.result;
    if (!current) {
      sink = sinkFor(job.shard.split);
      await sink.open(job.shard.local);
      current = { errors: [], records: [], stats: {}, inS: 0, outS: 0 };
    }
    const nErr = results.filter(isItemError).length;
    opts.onErrors(current.errors.length + nErr);
    currentErrors = current.errors.length + nErr;
    let audioS = 0;
    for (const r of results) {
      if (isItemError(r)) {
        current.errors.push(r);
        continue;
      }
      await sink!.add(r);
      current.records.push(itemRecord(r, sink!.audioRef(r), job.shard.local));
      addItemStats(current.stats, r.meta);
      current.inS += r.inputDurationS;
      current.outS += r.meta.duration;
      audioS += r.meta.duration;
    }
    progress.update(results.length - nErr, nErr, audioS);
    if (!job.last) return;
    const committed: ShardRecord & { manifest?: string } = await sink!.commit();
    const prefix = splitPrefix(plan.splits, job.shard.split, format);
    // The shard's item records and NeMo manifest first, then the index entry that makes the
    // shard count as complete: a crash in between leaves the shard to be redone.
    const records = `${STATE_DIR}/items-${String(job.shard.index).padStart(6, "0")}.jsonl`;
    await writeFileAtomic(path.join(outDir, records), current.records.map((r) => JSON.stringify(r) + "\n").join(""));
    let manifest: string | undefined = committed.manifest ? prefix + committed.manifest : undefined;
    if (shardManifests) {
      manifest = `${prefix}sharded_manifests/manifest_${job.shard.local}.json`;
      await writeFileAtomic(path.join(outDir, manifest), nemoLines(current.records.map((r) => nemoEntry(r.meta, r.audio, r.shard))));
    }
    await opts.onShard({
      shard: job.shard.index,
      split: job.shard.split,
      local: job.shard.local,
      files: committed.files.map((f) => prefix + f),
      sha256: committed.sha256,
      bytes: committed.bytes,
      items: committed.items,
      records,
      ...(manifest ? { manifest } : {}),
      errors: current.errors,
      input_s: current.inS,
      output_s: current.outS,
      stats: current.stats,
    });
    current = null;
    currentErrors = 0;
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
    await (sink as ShardSink | null)?.abort();
    // Let in-flight batches settle before the threads go, so no promise rejects unobserved.
    await Promise.allSettled(queue.map((q) => q.result));
    await engine.close();
    progress.finish();
    throw e;
  }
  await engine.close();
  progress.finish();
  return engine.report();
}

/** The GPU engine's figures (or why `auto` chose the CPU) for summary.json. */
function engineDetails(report: EngineReport | undefined): Record<string, unknown> {
  if (!report) return {};
  const { device: _device, notes: _notes, ...rest } = report;
  return rest;
}

/** Streams every shard's item records, in plan order, into the manifests the plan asks for. */
async function writeManifests(outDir: string, plan: PlanFile, entries: ShardIndexEntry[]): Promise<void> {
  const format = plan.output.format as OutputFormat;
  const global = makeGlobalManifests(format, plan.output.manifests, outDir, { synthetic: plan.synthetic });
  const bySplit = new Map(plan.splits.map((sp) => [sp, makeManifests(format, plan.output.manifests, outDir, plan.splits, sp)]));
  const writers = [...global, ...[...bySplit.values()].flat()];
  if (!writers.length) return;
  try {
    for (const e of entries) {
      const list = [...global, ...bySplit.get(e.split)!];
      for await (const rec of readRecords(path.join(outDir, e.records))) for (const w of list) await w.add(rec);
    }
    for (const w of writers) await w.finish();
  } catch (err) {
    for (const w of writers) await w.abort();
    throw err;
  }
}

/**
 * Checks that every planned shard is complete (files, sizes, checksums) and writes the combined
 * index, manifests, errors.jsonl and summary.json. The last step of `run`; `augment merge` after
 * sharded runs.
 */
export async function finalize(out: string, info: { wallS?: number; threads?: number; resumed?: number; engine?: EngineReport } = {}, opened?: OutputLocation): Promise<RunSummary> {
  const output = opened ?? (await openOutput(out));
  if (!opened) await output.pullState();
  const outDir = output.dir;
  const plan = await readJson<PlanFile>(path.join(outDir, PLAN_FILE));
  if (!plan) throw new RunError(`${out}: no ${PLAN_FILE}; not an augment output folder, or no run has started there`, 2);
  const indexes = (await readIndexes(outDir)).filter((i) => i.plan_hash === plan.plan_hash);
  const found = new Map<number, ShardIndexEntry>();
  for (const idx of indexes) for (const e of Object.values(idx.shards)) if (!found.has(e.shard)) found.set(e.shard, e);
  const missing = plan.shards.filter((s) => !found.has(s.index));
  if (missing.length) {
    const counts = new Set(indexes.map((i) => i.worker.count));
    const who = [...counts].filter((n) => n > 1).map((n) => `worker(s) ${[...new Set(missing.map((s) => s.index % n))].join(", ")} of ${n}`);
    throw new RunError(`${missing.length} of ${plan.shards.length} shards are not complete (e.g. shard ${missing[0].index})${who.length ? `; re-run ${who.join("; ")}` : ""}`);
  }
  const entries = plan.shards.map((s) => found.get(s.index)!);
  for (const e of entries) {
    const problem = await output.shardProblem(e);
    if (problem) throw new RunError(`shard ${e.shard} is damaged: ${problem}; re-run the same command to redo it`);
  }
  await output.pullRecords(entries);
  const before = await output.snapshot();
  const combined: IndexFile = {
    version: VERSION,
    plan_hash: plan.plan_hash,
    worker: { index: 0, count: 1 },
    wall_s: info.wallS ?? Math.max(0, ...indexes.map((i) => i.wall_s)),
    shards: Object.fromEntries(entries.map((e) => [String(e.shard), e])),
  };
  if (!existsSync(path.join(outDir, INDEX_FILE)) || indexes.some((i) => i.worker.count > 1)) {
    await writeFileAtomic(path.join(outDir, INDEX_FILE), JSON.stringify(combined, null, 1) + "\n");
  }
  await writeManifests(outDir, plan, entries);
  const notes: string[] = [...(plan.warnings ?? []), ...(info.engine?.notes ?? [])];
  if (plan.output.format === "nemo_tarred") {
    for (const sp of plan.splits) {
      const es = entries.filter((e) => e.split === sp);
      const dir = splitDir(outDir, plan.splits, sp, plan.output.format);
      const counts = es.map((e) => e.items);
      if (new Set(counts).size > 1) notes.push(`split ${sp}: NeMo shards hold ${Math.min(...counts)}–${Math.max(...counts)} items (some items failed; see errors.jsonl); NeMo may hang on uneven shards under DDP`);
      await writeNemoTarredMetadata(dir, {
        numShards: es.length,
        numSamplesPerShard: Math.max(0, ...counts),
        shuffle: true,
        shuffleSeed: plan.seed,
        forceCodec: plan.output.audio,
        created: new Date(0),
      });
      notes.push(`NeMo config for ${sp}:\n${nemoTarredConfigSnippet(dir, es.length, sp === "train" ? "train_ds" : "validation_ds")}`);
    }
  }
  const errors = [...plan.catalog_errors, ...entries.flatMap((e) => e.errors)].sort(byId);
  await writeFileAtomic(path.join(outDir, "errors.jsonl"), errors.map((e) => JSON.stringify(e) + "\n").join(""));

  const stats: StatsByOp = {};
  for (const e of entries) mergeStats(stats, e.stats);
  const written = entries.reduce((n, e) => n + e.items, 0);
  const inS = entries.reduce((n, e) => n + e.input_s, 0);
  const outS = entries.reduce((n, e) => n + e.output_s, 0);
  const wallS = combined.wall_s;
  const byStage: Record<string, number> = {};
  for (const e of errors) byStage[e.stage] = (byStage[e.stage] ?? 0) + 1;
  const workers = Math.max(1, ...indexes.map((i) => i.worker.count));
  const summary: RunSummary = {
    version: VERSION,
    recipe: plan.recipe,
    recipe_hash: plan.recipe_hash,
    plan_hash: plan.plan_hash,
    seed: plan.seed,
    sample_rate: plan.sample_rate,
    engine: { device: info.engine?.device ?? "cpu", ...(info.threads !== undefined ? { threads: info.threads } : {}), processes: workers, ...engineDetails(info.engine) },
    items: { planned: plan.planned_items, written, errors: errors.length, resumed_shards: info.resumed ?? 0 },
    source_utterances: plan.source_utterances,
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
    // Process-wide (worker threads included), in MB; for a merge, of the merging process.
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    output: { path: out, format: plan.output.format, audio: plan.output.audio, bytes: entries.reduce((n, e) => n + e.bytes, 0) },
    ...(notes.length ? { notes: notes.map((n) => output.publicText(n)) } : {}),
  };
  await writeFileAtomic(path.join(outDir, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
  await output.pushChanged(before);
  return summary;
}
