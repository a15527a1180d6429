// Balancing groups (languages, accents, speakers…) by giving each source utterance a number of
// augmented copies. Within a group every utterance gets k or k+1 copies (the extra ones go to a
// seeded order of utterances until the group's target hours are met), so copies are spread evenly
// and each copy is a different draw of the chain. Groups above their target are downsampled the
// same way (k = 0: a seeded subset).
//
// Synthetic utterances (`format: tts` inputs) only fill what real audio lacks: a group whose real
// hours reach the target gets none; otherwise synthetic speech fills up to
// min(max_synthetic_share × target, target − real hours), spread k/k+1 over the synthetic
// utterances like copies are (every text once before any twice), and the real utterances, each
// used at least once, get the copies for the rest. Real and synthetic utterances are two pools:
// copy counts differ by at most one within each.
import { z } from "zod";
import type { Utterance } from "../types.js";
import { hashString, hashWords } from "./rng.js";

const DEFAULT_SYNTHETIC_SHARE = 0.5;

const common = {
  by: z
    .string()
    .default("language")
    .describe("Label to balance: `language`, `speaker`, `gender`, `split`, or any manifest field (e.g. `accents`). Utterances without it form the group `(none)`."),
  max_copies: z.number().int().min(1).max(1000).default(20).describe("Most augmented copies of one utterance."),
  min_copies: z.number().int().min(0).max(1000).default(0).describe("Fewest copies of one utterance (0 lets groups above target be downsampled)."),
  max_synthetic_share: z
    .union([z.number().min(0).max(1), z.record(z.string(), z.number().min(0).max(1))])
    .default(DEFAULT_SYNTHETIC_SHARE)
    .describe(
      "Largest part of a group's target hours that synthetic speech (`format: tts` inputs) may fill, 0–1; or per group, e.g. `{sw: 0.5, ht: 1}` (unlisted groups: 0.5). Real audio is always used first.",
    ),
};

export const balanceSchema = z
  .discriminatedUnion("strategy", [
    z
      .object({
        strategy: z.literal("target_hours").describe("Every group aims at `target_hours` of output."),
        target_hours: z.number().positive().describe("Output hours wanted per group."),
        ...common,
      })
      .strict(),
    z
      .object({
        strategy: z.literal("temperature").describe("Group shares ∝ hours^alpha (multilingual ASR sampling), scaled to `total_hours`."),
        alpha: z.number().min(0).max(1).describe("Temperature exponent: 1 keeps the natural shares, 0 makes groups equal."),
        total_hours: z.number().positive().describe("Output hours in all."),
        ...common,
      })
      .strict(),
  ])
  .refine((b) => b.min_copies <= b.max_copies, { message: "min_copies must be <= max_copies" })
  .describe("Balance groups by giving utterances different numbers of copies (replaces `copies`).");

export type BalanceSpec = z.infer<typeof balanceSchema>;

/** The synthetic share of a group's target when the recipe does not say. */
export function syntheticShare(spec: { max_synthetic_share?: number | Record<string, number> }, group: string): number {
  const m = spec.max_synthetic_share;
  if (m === undefined) return DEFAULT_SYNTHETIC_SHARE;
  return typeof m === "number" ? m : (m[group] ?? DEFAULT_SYNTHETIC_SHARE);
}

export interface GroupReport {
  group: string;
  /** Real (not synthetic) utterances and their hours. */
  utterances: number;
  sourceHours: number;
  targetHours: number;
  /** Planned hours in all: plannedRealHours + plannedSyntheticHours. */
  plannedHours: number;
  /** Copies per real utterance (per synthetic one when the group has no real audio). */
  minCopies: number;
  maxCopies: number;
  /** Synthetic utterances available and their hours (one copy each). */
  syntheticUtterances: number;
  syntheticHours: number;
  plannedRealHours: number;
  plannedSyntheticHours: number;
  /** Copies per synthetic utterance, when the group has any. */
  syntheticCopies?: [number, number];
  /** Set when the group cannot reach its target within max_copies. */
  warning?: string;
}

const KNOWN = new Set(["language", "speaker", "gender", "split"]);

export function groupOf(u: Utterance, by: string): string {
  const v = KNOWN.has(by) ? (u as unknown as Record<string, unknown>)[by] : u.fields?.[by];
  return v === undefined || v === null || v === "" ? "(none)" : String(v);
}

/**
 * Copies of each utterance of one pool toward `target` hours: k or k+1 each, a seeded order taking
 * the extra ones. `cap`: never pass the target (a ceiling, for synthetic speech), skipping extras that do not fit.
 */
function fill(list: Utterance[], target: number, minK: number, maxK: number, seed: number, copies: Map<string, number>, cap = false): { planned: number; min: number; max: number } {
  const H = list.reduce((s, u) => s + (u.durationS ?? 0), 0) / 3600;
  let k = H > 0 ? Math.floor(target / H + (cap ? 1e-12 : 0)) : maxK;
  k = Math.max(minK, Math.min(k, maxK));
  // A seeded order decides who gets the extra copy, so it is spread over speakers and files.
  const order = list
    .map((u) => ({ u, key: hashWords(seed >>> 0, hashString(`balance:${u.id}`)) }))
    .sort((a, b) => a.key - b.key || (a.u.id < b.u.id ? -1 : 1));
  let planned = k * H;
  for (const u of list) copies.set(u.id, k);
  if (k < maxK) {
    for (const { u } of order) {
      const d = (u.durationS ?? 0) / 3600;
      if (cap) {
        if (planned + d > target) continue;
      } else if (Math.abs(planned + d - target) >= Math.abs(planned - target)) {
        // Take the next utterance while it brings the total closer to the target.
        break;
      }
      copies.set(u.id, k + 1);
      planned += d;
    }
  }
  const counts = list.map((u) => copies.get(u.id)!);
  return { planned, min: counts.length ? Math.min(...counts) : 0, max: counts.length ? Math.max(...counts) : 0 };
}

/** Copies per utterance id, and a report per group. Pure: a function of the utterances and seed. */
export function allocateCopies(utts: Utterance[], spec: BalanceSpec, seed: number): { copies: Map<string, number>; groups: GroupReport[] } {
  const groups = new Map<string, Utterance[]>();
  for (const u of utts) {
    const g = groupOf(u, spec.by);
    const list = groups.get(g) ?? [];
    list.push(u);
    groups.set(g, list);
  }
  const isSynthetic = (u: Utterance) => u.audio.synth !== undefined;
  // Natural shares (temperature) and "before" figures count real audio only.
  const hours = new Map([...groups].map(([g, list]) => [g, list.reduce((s, u) => s + (isSynthetic(u) ? 0 : (u.durationS ?? 0)), 0) / 3600]));
  const targets = new Map<string, number>();
  if (spec.strategy === "target_hours") {
    for (const g of groups.keys()) targets.set(g, spec.target_hours);
  } else {
    let norm = 0;
    for (const h of hours.values()) norm += h ** spec.alpha;
    for (const [g, h] of hours) targets.set(g, norm > 0 ? (spec.total_hours * h ** spec.alpha) / norm : 0);
  }

  const copies = new Map<string, number>();
  const reports: GroupReport[] = [];
  for (const [g, list] of [...groups].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const H = hours.get(g)!;
    const target = targets.get(g)!;
    const real = list.filter((u) => !isSynthetic(u));
    const synthetic = list.filter(isSynthetic);
    const share = syntheticShare(spec, g);
    // Synthetic speech fills at most the share of the target, and never what real audio covers.
    const synthGoal = synthetic.length && H < target ? Math.min(share * target, target - H) : 0;
    const syn = synthetic.length ? fill(synthetic, synthGoal, 0, spec.max_copies, seed, copies, true) : { planned: 0, min: 0, max: 0 };
    // With synthetic speech in the group, every real utterance is used at least once.
    const rl = fill(real, target - syn.planned, syn.planned > 0 ? Math.max(1, spec.min_copies) : spec.min_copies, spec.max_copies, seed, copies);
    const planned = rl.planned + syn.planned;
    const report: GroupReport = {
      group: g,
      utterances: real.length,
      sourceHours: H,
      targetHours: target,
      plannedHours: planned,
      minCopies: real.length ? rl.min : syn.min,
      maxCopies: real.length ? rl.max : syn.max,
      syntheticUtterances: synthetic.length,
      syntheticHours: synthetic.reduce((s, u) => s + (u.durationS ?? 0), 0) / 3600,
      plannedRealHours: rl.planned,
      plannedSyntheticHours: syn.planned,
      ...(synthetic.length ? { syntheticCopies: [syn.min, syn.max] as [number, number] } : {}),
    };
    // Only max_copies (and the synthetic share) can keep a group short: otherwise the greedy fill stops within one utterance.
    if (planned < target * 0.98 && (real.length === 0 || rl.min === spec.max_copies)) {
      report.warning = `group "${g}" reaches ${planned.toPrecision(3)} of ${target.toPrecision(3)} target hours with max_copies ${spec.max_copies}${synthetic.length ? ` and max_synthetic_share ${share}` : ""}`;
    }
    reports.push(report);
  }
  return { copies, groups: reports };
}
