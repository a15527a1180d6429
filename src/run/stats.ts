// Per-op statistics for the summary: how often each op ran and the spread of its numeric
// parameters and measurements. Aggregates merge associatively, so per-shard stats stored in the
// index combine into the run's without re-reading any audio.
import type { ItemMeta } from "../types.js";

export interface Agg {
  n: number;
  sum: number;
  min: number;
  max: number;
}

export interface OpStats {
  applied: number;
  values: Record<string, Agg>;
  /** Counts of string/boolean values (noise category, limited: true, …). */
  counts: Record<string, Record<string, number>>;
}

export type StatsByOp = Record<string, OpStats>;

function addValue(s: OpStats, key: string, v: unknown): void {
  if (typeof v === "number" && Number.isFinite(v)) {
    const a = (s.values[key] ??= { n: 0, sum: 0, min: Infinity, max: -Infinity });
    a.n++;
    a.sum += v;
    a.min = Math.min(a.min, v);
    a.max = Math.max(a.max, v);
  } else if (typeof v === "string" || typeof v === "boolean") {
    const c = (s.counts[key] ??= {});
    c[String(v)] = (c[String(v)] ?? 0) + 1;
  }
}

// Identifiers that would make useless count tables.
const SKIP_KEYS = new Set(["op", "bank", "noise", "rir"]);

export function addItemStats(stats: StatsByOp, meta: ItemMeta): void {
  for (const op of meta.ops) {
    const s = (stats[op.op] ??= { applied: 0, values: {}, counts: {} });
    s.applied++;
    for (const [k, v] of Object.entries(op)) if (!SKIP_KEYS.has(k) && k !== "measured") addValue(s, k, v);
    for (const [k, v] of Object.entries(op.measured ?? {})) addValue(s, `measured.${k}`, v);
  }
}

export function mergeStats(into: StatsByOp, from: StatsByOp): void {
  for (const [op, s] of Object.entries(from)) {
    const t = (into[op] ??= { applied: 0, values: {}, counts: {} });
    t.applied += s.applied;
    for (const [k, a] of Object.entries(s.values)) {
      const b = (t.values[k] ??= { n: 0, sum: 0, min: Infinity, max: -Infinity });
      b.n += a.n;
      b.sum += a.sum;
      b.min = Math.min(b.min, a.min);
      b.max = Math.max(b.max, a.max);
    }
    for (const [k, c] of Object.entries(s.counts)) {
      const t2 = (t.counts[k] ??= {});
      for (const [v, n] of Object.entries(c)) t2[v] = (t2[v] ?? 0) + n;
    }
  }
}

/** The summary's view: mean/min/max per numeric key. */
export function describeStats(stats: StatsByOp): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [op, s] of Object.entries(stats)) {
    const values: Record<string, { mean: number; min: number; max: number }> = {};
    for (const [k, a] of Object.entries(s.values)) {
      values[k] = { mean: Math.round((a.sum / a.n) * 1e4) / 1e4, min: a.min, max: a.max };
    }
    out[op] = { applied: s.applied, ...values, ...(Object.keys(s.counts).length ? { counts: s.counts } : {}) };
  }
  return out;
}
