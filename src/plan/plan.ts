// The planner: a pure function of (recipe, catalog, banks) → one PlannedItem per output utterance
// with every random choice made, grouped into shards. No audio is touched here.
import { createHash } from "node:crypto";
import { OPS } from "../ops/registry.js";
import type { BankCatalog } from "../ops/types.js";
import type { Recipe } from "../recipe/schema.js";
import type { ItemError, PlannedItem, PlannedOp, Utterance } from "../types.js";
import { allocateCopies, type GroupReport } from "./balance.js";
import { hashString, hashWords, rngFor } from "./rng.js";

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
  /** Per-group before/after figures when the recipe balances groups. */
  balance?: GroupReport[];
}

/** Bytes per second of 16-bit mono audio after encoding, for shard sizing (FLAC of noisy speech ≈ 0.6–0.75). */
function bytesPerSecond(recipe: Recipe): number {
  return recipe.sample_rate * 2 * (recipe.output.audio === "flac" ? 0.75 : 1);
}

/** Tar headers and padding, the .json and .txt members: about 3 KiB per item. */
const ITEM_OVERHEAD_BYTES = 3072;

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
      items.push({ index: -1, outId: utt.id, utt, copy: -1, ops: [], shard: -1, estDurationS: dur });
      continue;
    }
    const copies = balanced ? balanced.copies.get(utt.id)! : recipe.copies;
    if (recipe.include_clean) {
      items.push({ index: -1, outId: utt.id, utt, copy: -1, ops: [], shard: -1, estDurationS: dur });
    }
    for (let copy = 0; copy < copies; copy++) {
      const key = `${utt.id}#${copy}`;
      let durationS = dur;
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
      items.push({ index: -1, outId: `${prefix}${utt.id}_a${copy}`, utt: prefix ? { ...utt, speaker: `${prefix}${utt.speaker}` } : utt, copy, ops, shard: -1, estDurationS: durationS });
    }
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

  const h = createHash("sha256");
  h.update(JSON.stringify({ sample_rate: recipe.sample_rate, output: { ...recipe.output, path: undefined } }));
  for (const it of items) h.update(JSON.stringify([it.outId, it.shard, it.utt.audio, it.utt.text, it.utt.split, it.ops]));
  return { items, shards, errors, splits, hash: h.digest("hex"), ...(balance ? { balance } : {}) };
}
