// The planner: a pure function of (recipe, catalog, banks) → one PlannedItem per output utterance
// with every random choice made, grouped into shards. No audio is touched here.
import { createHash } from "node:crypto";
import { OPS } from "../ops/registry.js";
import type { BankCatalog } from "../ops/types.js";
import type { Recipe } from "../recipe/schema.js";
import type { ItemError, PlannedItem, PlannedOp, Utterance } from "../types.js";
import { hashString, hashWords, rngFor } from "./rng.js";

export interface ShardPlan {
  index: number;
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
}

/** Bytes per second of 16-bit mono audio after encoding, for shard sizing (FLAC of noisy speech ≈ 0.6–0.75). */
function bytesPerSecond(recipe: Recipe): number {
  return recipe.sample_rate * 2 * (recipe.output.audio === "flac" ? 0.75 : 1);
}

/** Tar headers and padding, the .json and .txt members: about 3 KiB per item. */
const ITEM_OVERHEAD_BYTES = 3072;

export function planItems(recipe: Recipe, utterances: Utterance[], banks: BankCatalog): { items: PlannedItem[]; errors: ItemError[] } {
  const items: PlannedItem[] = [];
  const errors: ItemError[] = [];
  const { min_duration_s: minS, max_duration_s: maxS } = recipe.filters;
  for (const utt of utterances) {
    const dur = utt.durationS ?? 0;
    if (dur < minS || (maxS !== null && dur > maxS)) {
      errors.push({ id: utt.id, source: utt.audio.path, stage: "catalog", reason: `duration ${dur.toFixed(3)} s outside filters [${minS}, ${maxS ?? "∞"}]` });
      continue;
    }
    if (recipe.include_clean) {
      items.push({ index: -1, outId: utt.id, utt, copy: -1, ops: [], shard: -1, estDurationS: dur });
    }
    for (let copy = 0; copy < recipe.copies; copy++) {
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
        const params = op.sample(step.config, rng, { sampleRate: recipe.sample_rate, durationS, banks });
        ops.push(params);
        durationS *= op.durationFactor?.(params) ?? 1;
        const prefix = op.speakerPrefix?.(step.config, params);
        if (prefix) prefixes.push(prefix);
      });
      const prefix = prefixes.map((p) => `${p}-`).join("");
      items.push({ index: -1, outId: `${prefix}${utt.id}_a${copy}`, utt: prefix ? { ...utt, speaker: `${prefix}${utt.speaker}` } : utt, copy, ops, shard: -1, estDurationS: durationS });
    }
  }
  return { items, errors };
}

/** Orders (shuffled by seed, or catalog order), applies the limit and cuts shards. */
export function makePlan(recipe: Recipe, utterances: Utterance[], banks: BankCatalog, limit?: number): Plan {
  const { items, errors } = planItems(recipe, utterances, banks);
  if (recipe.output.shuffle) {
    const keyed = items.map((it) => ({ it, k: hashWords(recipe.seed >>> 0, hashString(it.outId)) }));
    keyed.sort((a, b) => a.k - b.k || (a.it.outId < b.it.outId ? -1 : a.it.outId > b.it.outId ? 1 : 0));
    items.splice(0, items.length, ...keyed.map((x) => x.it));
  }
  if (limit !== undefined && limit >= 0 && items.length > limit) items.length = limit;

  const shards: ShardPlan[] = [];
  const maxBytes = recipe.output.shard_max_mb * 1e6;
  const bps = bytesPerSecond(recipe);
  let cur: ShardPlan | null = null;
  items.forEach((it, i) => {
    it.index = i;
    const bytes = it.estDurationS * bps + ITEM_OVERHEAD_BYTES;
    if (!cur || cur.end - cur.start >= recipe.output.shard_max_items || (cur.end > cur.start && cur.estBytes + bytes > maxBytes)) {
      cur = { index: shards.length, start: i, end: i, estBytes: 0, estDurationS: 0 };
      shards.push(cur);
    }
    it.shard = cur.index;
    cur.end = i + 1;
    cur.estBytes += bytes;
    cur.estDurationS += it.estDurationS;
  });

  const h = createHash("sha256");
  h.update(JSON.stringify({ sample_rate: recipe.sample_rate, output: { ...recipe.output, path: undefined } }));
  for (const it of items) h.update(JSON.stringify([it.outId, it.shard, it.utt.audio, it.utt.text, it.ops]));
  return { items, shards, errors, hash: h.digest("hex") };
}
