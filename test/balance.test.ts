// Balancing: planned hours per group within 2% of the target where max_copies allows,
// temperature shares exact to 1%, copy counts within a group differ by at most 1.
import { describe, expect, it } from "vitest";
import { allocateCopies, type BalanceSpec } from "../src/plan/balance.js";
import { makePlan } from "../src/plan/plan.js";
import type { BankCatalog } from "../src/ops/types.js";
import type { Recipe } from "../src/recipe/schema.js";
import type { Utterance } from "../src/types.js";
import { lcg } from "./helpers/fixtures.js";

/** A corpus with very unequal languages: 3 h of en, 20 min of de, 4 min of sw. */
function corpus(): Utterance[] {
  const rnd = lcg(17);
  const out: Utterance[] = [];
  const add = (lang: string, totalS: number) => {
    let t = 0;
    for (let i = 0; t < totalS; i++) {
      const d = 1 + 14 * rnd();
      out.push({ id: `${lang}spk${i % 7}-u${i}`, sourceId: `u${i}`, audio: { path: `/x/${lang}${i}.wav` }, durationS: d, text: "x", language: lang, speaker: `${lang}spk${i % 7}`, input: 0, channel: "mix" });
      t += d;
    }
  };
  add("en", 3 * 3600);
  add("de", 20 * 60);
  add("sw", 4 * 60);
  return out;
}

const spec = (s: Partial<BalanceSpec> & { strategy: BalanceSpec["strategy"] }): BalanceSpec => ({ by: "language", max_copies: 20, min_copies: 0, ...s }) as BalanceSpec;

function plannedHours(utts: Utterance[], copies: Map<string, number>) {
  const h = new Map<string, number>();
  for (const u of utts) h.set(u.language!, (h.get(u.language!) ?? 0) + (copies.get(u.id)! * u.durationS!) / 3600);
  return h;
}

function spread(utts: Utterance[], copies: Map<string, number>) {
  const byLang = new Map<string, number[]>();
  for (const u of utts) byLang.set(u.language!, [...(byLang.get(u.language!) ?? []), copies.get(u.id)!]);
  return new Map([...byLang].map(([k, v]) => [k, Math.max(...v) - Math.min(...v)]));
}

describe("balance", () => {
  it("target_hours: every group within 2% of its target (up- and downsampling), copies differ by ≤ 1", () => {
    const utts = corpus();
    const { copies, groups } = allocateCopies(utts, spec({ strategy: "target_hours", target_hours: 1 }), 5);
    for (const [lang, h] of plannedHours(utts, copies)) expect(Math.abs(h - 1), lang).toBeLessThan(0.02);
    for (const [lang, d] of spread(utts, copies)) expect(d, lang).toBeLessThanOrEqual(1);
    expect(groups.every((g) => !g.warning)).toBe(true);
    expect(groups.find((g) => g.group === "en")!.maxCopies).toBe(1); // downsampled: 0 or 1 copy
  });

  it("warns when max_copies cannot reach the target, and stops at max_copies", () => {
    const utts = corpus();
    const { copies, groups } = allocateCopies(utts, spec({ strategy: "target_hours", target_hours: 2, max_copies: 5 }), 5);
    const sw = groups.find((g) => g.group === "sw")!;
    expect(sw.warning).toMatch(/reaches .* of 2\.00 target hours with max_copies 5/);
    for (const u of utts) expect(copies.get(u.id)!).toBeLessThanOrEqual(5);
    expect(sw.minCopies).toBe(5);
  });

  it("temperature: group shares ∝ hours^alpha, exact to 1%, summing to total_hours", () => {
    const utts = corpus();
    const alpha = 0.3;
    const { copies } = allocateCopies(utts, spec({ strategy: "temperature", alpha, total_hours: 2, max_copies: 100 }), 1);
    const src = plannedHours(utts, new Map(utts.map((u) => [u.id, 1])));
    const norm = [...src.values()].reduce((s, h) => s + h ** alpha, 0);
    const got = plannedHours(utts, copies);
    const total = [...got.values()].reduce((s, h) => s + h, 0);
    for (const [lang, h] of src) expect(Math.abs(got.get(lang)! / total - h ** alpha / norm), lang).toBeLessThan(0.01);
    expect(Math.abs(total - 2) / 2).toBeLessThan(0.02);
  });

  it("in the plan, each copy of an utterance is a different draw of the chain", () => {
    const utts = corpus().filter((u) => u.language === "sw");
    const recipe = {
      seed: 3, sample_rate: 16000, copies: 1, include_clean: false,
      balance: spec({ strategy: "target_hours", target_hours: 0.5 }),
      chain: [{ op: "gain", config: { db: [-10, 10], avoid_clipping: true, p: 1 } }],
      output: { shuffle: false, shard_max_items: 1000, shard_max_mb: 1e6, audio: "flac" },
      filters: { min_duration_s: 0, max_duration_s: null, allow_empty_text: false },
      splits: { augment: "all", default: "train" },
      engine: { batch_items: 16, max_batch_s: 300 },
    } as unknown as Recipe;
    const banks: BankCatalog = { noise: new Map(), rir: new Map() };
    const plan = makePlan(recipe, utts, banks);
    expect(plan.balance![0].group).toBe("sw");
    const byUtt = new Map<string, number[]>();
    for (const it of plan.items) byUtt.set(it.utt.id, [...(byUtt.get(it.utt.id) ?? []), it.ops[0].db as number]);
    for (const dbs of byUtt.values()) expect(new Set(dbs).size).toBe(dbs.length);
    const hours = plan.items.reduce((s, it) => s + it.estDurationS, 0) / 3600;
    expect(Math.abs(hours - 0.5) / 0.5).toBeLessThan(0.02);
  });
});
