// Balancing groups (languages, accents, speakers…) by giving each source utterance a number of
// augmented copies. Within a group every utterance gets k or k+1 copies (the extra ones go to a
// seeded order of utterances until the group's target hours are met), so copies are spread evenly
// and each copy is a different draw of the chain. Groups above their target are downsampled the
// same way (k = 0: a seeded subset).
import { z } from "zod";
import type { Utterance } from "../types.js";
import { hashString, hashWords } from "./rng.js";

const common = {
  by: z
    .string()
    .default("language")
    .describe("Label to balance: `language`, `speaker`, `gender`, `split`, or any manifest field (e.g. `accents`). Utterances without it form the group `(none)`."),
  max_copies: z.number().int().min(1).max(1000).default(20).describe("Most augmented copies of one utterance."),
  min_copies: z.number().int().min(0).max(1000).default(0).describe("Fewest copies of one utterance (0 lets groups above target be downsampled)."),
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

export interface GroupReport {
  group: string;
  utterances: number;
  sourceHours: number;
  targetHours: number;
  plannedHours: number;
  minCopies: number;
  maxCopies: number;
  /** Set when the group cannot reach its target within max_copies. */
  warning?: string;
}

const KNOWN = new Set(["language", "speaker", "gender", "split"]);

export function groupOf(u: Utterance, by: string): string {
  const v = KNOWN.has(by) ? (u as unknown as Record<string, unknown>)[by] : u.fields?.[by];
  return v === undefined || v === null || v === "" ? "(none)" : String(v);
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
  const hours = new Map([...groups].map(([g, list]) => [g, list.reduce((s, u) => s + (u.durationS ?? 0), 0) / 3600]));
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
    let k = H > 0 ? Math.floor(target / H) : spec.max_copies;
    k = Math.max(spec.min_copies, Math.min(k, spec.max_copies));
    // A seeded order decides who gets the extra copy, so it is spread over speakers and files.
    const order = list
      .map((u) => ({ u, key: hashWords(seed >>> 0, hashString(`balance:${u.id}`)) }))
      .sort((a, b) => a.key - b.key || (a.u.id < b.u.id ? -1 : 1));
    let planned = k * H;
    for (const u of list) copies.set(u.id, k);
    if (k < spec.max_copies) {
      for (const { u } of order) {
        const d = (u.durationS ?? 0) / 3600;
        // Take the next utterance while it brings the total closer to the target.
        if (Math.abs(planned + d - target) >= Math.abs(planned - target)) break;
        copies.set(u.id, k + 1);
        planned += d;
      }
    }
    const counts = list.map((u) => copies.get(u.id)!);
    const report: GroupReport = {
      group: g,
      utterances: list.length,
      sourceHours: H,
      targetHours: target,
      plannedHours: planned,
      minCopies: Math.min(...counts),
      maxCopies: Math.max(...counts),
    };
    // Only max_copies can keep a group short: otherwise the greedy fill stops within one utterance.
    if (planned < target * 0.98 && report.minCopies === spec.max_copies) {
      report.warning = `group "${g}" reaches ${planned.toPrecision(3)} of ${target.toPrecision(3)} target hours with max_copies ${spec.max_copies}`;
    }
    reports.push(report);
  }
  return { copies, groups: reports };
}
