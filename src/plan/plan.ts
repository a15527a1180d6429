// The planner: a pure function of (recipe, catalog, banks) → one PlannedItem per output utterance
// with every random choice made, grouped into shards. No audio is touched here.
import { createHash } from "node:crypto";
import { OPS } from "../ops/registry.js";
import type { BankCatalog } from "../ops/types.js";
import type { Recipe } from "../recipe/schema.js";
import type { ItemError, PlannedItem, PlannedOp, Utterance } from "../types.js";
import { allocateCopies, type GroupReport } from "./balance.js";
import { hashString, hashWords, rngFor } from "./rng.js";
import { outputNames } from "../sources/ids.js";

export interface ShardPlan {
  /** Global shard number (the unit of work, of resumption and of `--worker K`). */
  index: number;
  split: string;
  /** Number within its split: file names use it, so each split's shards count from 0. */
  local: number;
  /** Items of this shard, as [start, end) positions in Plan.items. */
  start: number;
  end: number;
  estBytes: number;
  estDurationS: number;
}

export interface Plan {
  items: PlannedItem[];
  shards: ShardPlan[];
  /** Source utterances left out by the filters, with the reason. */
  errors: ItemError[];
  /** sha256 over everything that decides the output bytes; a resumed run must match it. */
  hash: string;
  /** Splits in output order; more than one means a sub-folder per split. */
  splits: string[];
  /** Things the user should know about the plan (padding, uneven shards). */
  warnings: string[];
  /** Per-group before/after figures when the recipe balances groups. */
  balance?: GroupReport[];
  /** Some item is synthetic speech: tabular outputs (HF) add the synthetic-speech columns. */
  synthetic?: boolean;
}

/** Bytes per second of 16-bit mono audio after encoding, for shard sizing (FLAC of noisy speech ≈ 0.6–0.75). */
function bytesPerSecond(recipe: Recipe): number {
  return recipe.sample_rate * 2 * (recipe.output.audio === "flac" ? 0.75 : 1);
}

/** Tar headers and padding, the .json and .txt members: about 3 KiB per item. */
const ITEM_OVERHEAD_BYTES = 3072;

/** An utterance written once, unaugmented (held-out splits, `include_clean`). */
function cleanItem(utt: Utterance, dur: number): PlannedItem {
  const names = outputNames("", utt.id, utt.speaker, "");
  return { index: -1, outId: names.outId, utt: names.speaker !== utt.speaker ? { ...utt, speaker: names.speaker } : utt, copy: -1, ops: [], shard: -1, estDurationS: dur };
}

/** Copy `copy` of an utterance with every op's draws made (keyed by utterance id and copy). */
export function planCopy(recipe: Recipe, utt: Utterance, copy: number, banks: BankCatalog): PlannedItem {
  const key = `${utt.id}#${copy}`;
  let durationS = utt.durationS ?? 0;
  const ops: PlannedOp[] = [];
  const prefixes: string[] = [];
  recipe.chain.forEach((step, opIndex) => {
    const op = OPS.get(step.op)!;
    const rng = rngFor(recipe.seed, key, opIndex);
    // The p draw comes first from the op's own stream, so changing one op's p leaves the
    // other ops' draws as they were.
    if (!rng.bernoulli((step.config as { p?: number }).p ?? 1)) return;
    const params = op.sample(step.config, rng, { sampleRate: recipe.sample_rate, durationS, banks, copy });
    ops.push(params);
    durationS *= op.durationFactor?.(params) ?? 1;
    const prefix = op.speakerPrefix?.(step.config, params);
    if (prefix) prefixes.push(prefix);
  });
  const prefix = prefixes.map((p) => `${p}-`).join("");
  const names = outputNames(prefix, utt.id, utt.speaker, `_a${copy}`);
  return { index: -1, outId: names.outId, utt: names.speaker !== utt.speaker ? { ...utt, speaker: names.speaker } : utt, copy, ops, shard: -1, estDurationS: durationS };
}

export function planItems(
  recipe: Recipe,
  utterances: Utterance[],
  banks: BankCatalog,
): { items: PlannedItem[]; errors: ItemError[]; balance?: GroupReport[] } {
  const items: PlannedItem[] = [];
  const errors: ItemError[] = [];
  const { min_duration_s: minS, max_duration_s: maxS } = recipe.filters;
  const kept: Utterance[] = [];
  for (const utt of utterances) {
    const dur = utt.durationS ?? 0;
    if (dur < minS || (maxS !== null && dur > maxS)) {
      errors.push({ id: utt.id, source: utt.audio.path, stage: "catalog", reason: `duration ${dur.toFixed(3)} s outside filters [${minS}, ${maxS ?? "∞"}]` });
      continue;
    }
    kept.push(utt);
  }
  const balanced = recipe.balance ? allocateCopies(kept, recipe.balance, recipe.seed) : undefined;
  const augmentSplits = recipe.splits.augment;
  for (const source of kept) {
    const utt = source.split ? source : { ...source, split: recipe.splits.default };
    const dur = utt.durationS ?? 0;
    if (augmentSplits !== "all" && !augmentSplits.includes(utt.split!)) {
      // Held-out splits are copied once, clean.
      items.push(cleanItem(utt, dur));
      continue;
    }
    const copies = balanced ? balanced.copies.get(utt.id)! : recipe.copies;
    if (recipe.include_clean) {
      items.push(cleanItem(utt, dur));
    }
    for (let copy = 0; copy < copies; copy++) items.push(planCopy(recipe, utt, copy, banks));
  }
  return { items, errors, balance: balanced?.groups };
}

/** Orders (shuffled by seed, or catalog order), applies the limit and cuts shards. */
export function makePlan(recipe: Recipe, utterances: Utterance[], banks: BankCatalog, limit?: number): Plan {
  const { items, errors, balance } = planItems(recipe, utterances, banks);
  if (recipe.output.shuffle) {
    const keyed = items.map((it) => ({ it, k: hashWords(recipe.seed >>> 0, hashString(it.outId)) }));
    keyed.sort((a, b) => a.k - b.k || (a.it.outId < b.it.outId ? -1 : a.it.outId > b.it.outId ? 1 : 0));
    items.splice(0, items.length, ...keyed.map((x) => x.it));
  }
  if (limit !== undefined && limit >= 0 && items.length > limit) items.length = limit;

  // Shards never mix splits; splits come in a fixed order (train, dev, test, then by name).
  const rank = (sp: string) => (sp === "train" ? 0 : sp === "dev" || sp === "validation" ? 1 : sp === "test" ? 2 : 3);
  const splits = [...new Set(items.map((it) => it.utt.split!))].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  if (splits.length > 1) {
    const order = new Map(splits.map((sp, i) => [sp, i]));
    // A stable sort keeps the shuffled (or catalog) order within each split.
    items.sort((a, b) => order.get(a.utt.split!)! - order.get(b.utt.split!)!);
  }
  const warnings: string[] = [];
  const shards: ShardPlan[] =
    recipe.output.format === "nemo_tarred"
      ? equalShards(recipe, items, splits, banks, new Map(utterances.map((u) => [u.id, u])), warnings)
      : sizedShards(recipe, items);

  const h = createHash("sha256");
  h.update(JSON.stringify({ sample_rate: recipe.sample_rate, output: { ...recipe.output, path: undefined } }));
  for (const it of items) h.update(JSON.stringify([it.outId, it.shard, it.utt.audio, it.utt.text, it.utt.split, it.ops]));
  const synthetic = items.some((it) => it.utt.audio.synth !== undefined);
  return { items, shards, errors, splits, warnings, hash: h.digest("hex"), ...(balance ? { balance } : {}), ...(synthetic ? { synthetic } : {}) };
}

/** Shards cut by item count and planned size; a split never shares a shard. */
function sizedShards(recipe: Recipe, items: PlannedItem[]): ShardPlan[] {
  const shards: ShardPlan[] = [];
  const maxBytes = recipe.output.shard_max_mb * 1e6;
  const bps = bytesPerSecond(recipe);
  let cur: ShardPlan | null = null;
  const localCount = new Map<string, number>();
  items.forEach((it, i) => {
    it.index = i;
    const bytes = it.estDurationS * bps + ITEM_OVERHEAD_BYTES;
    const split = it.utt.split!;
    if (!cur || cur.split !== split || cur.end - cur.start >= recipe.output.shard_max_items || (cur.end > cur.start && cur.estBytes + bytes > maxBytes)) {
      const local = localCount.get(split) ?? 0;
      localCount.set(split, local + 1);
      cur = { index: shards.length, split, local, start: i, end: i, estBytes: 0, estDurationS: 0 };
      shards.push(cur);
    }
    it.shard = cur.index;
    cur.end = i + 1;
    cur.estBytes += bytes;
    cur.estDurationS += it.estDurationS;
  });
  return shards;
}

/**
 * NeMo tarred shards: equal item counts (NeMo may hang with uneven shards under DDP) and a shard
 * count that is a multiple of `num_gpus`. An augmented split that does not divide evenly is padded
 * with extra augmented copies (new draws) of its utterances in a seeded order, so no item is
 * dropped; a clean split cannot be padded without duplicating data, so it stays uneven and the
 * plan says so.
 */
function equalShards(
  recipe: Recipe,
  items: PlannedItem[],
  splits: string[],
  banks: BankCatalog,
  sourceById: Map<string, Utterance>,
  warnings: string[],
): ShardPlan[] {
  const bps = bytesPerSecond(recipe);
  const out: PlannedItem[] = [];
  const shards: ShardPlan[] = [];
  const g = recipe.output.num_gpus;
  for (const split of splits) {
    const group = items.filter((it) => it.utt.split === split);
    const n = group.length;
    const avgBytes = group.reduce((s, it) => s + it.estDurationS * bps + ITEM_OVERHEAD_BYTES, 0) / Math.max(1, n);
    const per = Math.max(1, Math.min(recipe.output.shard_max_items, Math.floor((recipe.output.shard_max_mb * 1e6) / avgBytes)));
    const count = Math.ceil(Math.ceil(n / per) / g) * g;
    const remainder = n % count;
    if (remainder) {
      const augmented = group.filter((it) => it.copy >= 0);
      if (augmented.length) {
        const pad = count - remainder;
        const nextCopy = new Map<string, number>();
        for (const it of augmented) nextCopy.set(it.utt.id, Math.max(nextCopy.get(it.utt.id) ?? 0, it.copy + 1));
        const order = [...nextCopy.keys()].sort((a, b) => hashWords(recipe.seed >>> 0, hashString(`pad:${a}`)) - hashWords(recipe.seed >>> 0, hashString(`pad:${b}`)) || (a < b ? -1 : 1));
        for (let k = 0; k < pad; k++) {
          const id = order[k % order.length];
          const copy = nextCopy.get(id)!;
          nextCopy.set(id, copy + 1);
          // The utterance as the catalog has it (a speaker prefix from speed is the op's to add).
          const base = sourceById.get(id)!;
          group.push(planCopy(recipe, base.split ? base : { ...base, split }, copy, banks));
        }
        warnings.push(`split ${split}: ${n} items do not divide into ${count} equal NeMo shards; added ${pad} extra augmented copies (${(n + pad) / count} per shard)`);
      } else {
        warnings.push(`split ${split}: ${n} clean items make ${count} NeMo shards of unequal size (${Math.floor(n / count)}–${Math.ceil(n / count)}); NeMo may hang on uneven shards under DDP`);
      }
    }
    const total = group.length;
    let start = 0;
    for (let local = 0; local < count; local++) {
      const size = Math.floor(total / count) + (local < total % count ? 1 : 0);
      const shard: ShardPlan = { index: shards.length, split, local, start: out.length, end: out.length, estBytes: 0, estDurationS: 0 };
      for (const it of group.slice(start, start + size)) {
        it.index = out.length;
        it.shard = shard.index;
        out.push(it);
        shard.estBytes += it.estDurationS * bps + ITEM_OVERHEAD_BYTES;
        shard.estDurationS += it.estDurationS;
      }
      shard.end = out.length;
      start += size;
      if (size > 0) shards.push(shard);
    }
  }
  items.splice(0, items.length, ...out);
  return shards;
}
