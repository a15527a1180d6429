// The planner: every draw is a function of (seed, item, op), independent of order, of other
// utterances and of limits; shards respect their bounds.
import { describe, expect, it } from "vitest";
import { makePlan } from "../src/plan/plan.js";
import { Rng, rngFor } from "../src/plan/rng.js";
import type { BankCatalog } from "../src/ops/types.js";
import type { Recipe } from "../src/recipe/schema.js";
import type { Utterance } from "../src/types.js";

const banks: BankCatalog = {
  noise: new Map([["n", [0, 1, 2, 3].map((i) => ({ id: `n${i}`, path: `/x/n${i}.wav`, category: i % 2 ? "babble" : "noise", durationS: 5 + i }))]]),
  rir: new Map([["r", [0, 1].map((i) => ({ id: `r${i}`, path: `/x/r${i}.wav`, category: "default", durationS: 0.5 }))]]),
};

function recipe(over: Partial<Recipe> = {}): Recipe {
  return {
    seed: 42,
    sample_rate: 16000,
    inputs: [],
    noise_banks: [],
    rir_banks: [],
    copies: 3,
    include_clean: false,
    chain: [
      { op: "speed", config: { factors: [0.9, 1, 1.1], speaker_prefix: false, p: 1 } },
      { op: "reverb", config: { bank: "r", normalize: "rms", p: 0.5 } },
      { op: "noise", config: { bank: "n", snr_db: [0, 20], snr_reference: "clip", crossfade_ms: 50, p: 0.8 } },
      { op: "gain", config: { db: [-6, 6], avoid_clipping: true, p: 1 } },
    ],
    output: { path: "/tmp/x", format: "webdataset", audio: "flac", name: "shard", shard_max_mb: 1, shard_max_items: 7, manifests: ["nemo"], shuffle: true },
    engine: { device: "cpu", workers: 0, batch_items: 4, max_batch_s: 60 },
    filters: { min_duration_s: 0, max_duration_s: null, allow_empty_text: false },
    splits: { augment: "all", default: "train" },
    max_errors: null,
    file: "r.yaml",
    hash: "h",
    ...over,
  } as Recipe;
}

function utts(n: number): Utterance[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `spk${i % 3}-u${i}`,
    sourceId: `u${i}`,
    audio: { path: `/x/u${i}.wav` },
    durationS: 1 + (i % 5),
    text: `text ${i}`,
    speaker: `spk${i % 3}`,
    input: 0,
    channel: "mix" as const,
  }));
}

describe("counter-based rng", () => {
  it("is a pure function of its key and counter", () => {
    const a = rngFor(1, "x#0", 2);
    const b = rngFor(1, "x#0", 2);
    const va = Array.from({ length: 100 }, () => a.next());
    expect(va).toEqual(Array.from({ length: 100 }, () => b.next()));
    expect(rngFor(1, "x#0", 3).next()).not.toBe(va[0]);
    expect(rngFor(2, "x#0", 2).next()).not.toBe(va[0]);
  });

  it("is uniform enough for sampling (mean, variance, no repeats in 1e5 draws)", () => {
    const r = new Rng(12345);
    const n = 100_000;
    let s = 0;
    let s2 = 0;
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      const v = r.next();
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
      s += v;
      s2 += v * v;
      seen.add(v);
    }
    expect(Math.abs(s / n - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(s2 / n - s * s / n / n - 1 / 12)).toBeLessThan(0.002);
    expect(seen.size).toBe(n);
  });
});

describe("plan", () => {
  it("gives each item the same ops whatever other utterances exist", () => {
    const full = makePlan(recipe(), utts(30), banks);
    const part = makePlan(recipe(), utts(30).filter((_, i) => i % 2 === 0), banks);
    const byId = new Map(full.items.map((it) => [it.outId, it.ops]));
    for (const it of part.items) expect(it.ops).toEqual(byId.get(it.outId));
  });

  it("is reproducible for a seed and changes with the seed", () => {
    const a = makePlan(recipe(), utts(20), banks);
    const b = makePlan(recipe(), utts(20), banks);
    expect(a.hash).toBe(b.hash);
    expect(a.items.map((i) => i.ops)).toEqual(b.items.map((i) => i.ops));
    const c = makePlan(recipe({ seed: 43 }), utts(20), banks);
    expect(c.hash).not.toBe(a.hash);
  });

  it("draws parameters inside their ranges and applies p at about its rate", () => {
    const p = makePlan(recipe(), utts(300), banks);
    let reverb = 0;
    let noise = 0;
    for (const it of p.items) {
      const ops = it.ops.map((o) => o.op);
      expect(ops[0]).toBe("speed");
      expect([0.9, 1, 1.1]).toContain(it.ops[0].factor);
      for (const o of it.ops) {
        if (o.op === "noise") {
          noise++;
          expect(o.snr_db as number).toBeGreaterThanOrEqual(0);
          expect(o.snr_db as number).toBeLessThanOrEqual(20);
          expect(o.offset_s as number).toBeGreaterThanOrEqual(0);
        }
        if (o.op === "reverb") reverb++;
      }
      expect(it.estDurationS).toBeCloseTo((it.utt.durationS as number) / (it.ops[0].factor as number), 9);
    }
    expect(reverb / p.items.length).toBeGreaterThan(0.45);
    expect(reverb / p.items.length).toBeLessThan(0.55);
    expect(noise / p.items.length).toBeGreaterThan(0.76);
    expect(noise / p.items.length).toBeLessThan(0.84);
  });

  it("cuts shards by item count and size, in plan order, with no gaps", () => {
    const p = makePlan(recipe(), utts(40), banks);
    expect(p.items).toHaveLength(120);
    let expectStart = 0;
    p.shards.forEach((s, k) => {
      expect(s.index).toBe(k);
      expect(s.start).toBe(expectStart);
      expect(s.end - s.start).toBeLessThanOrEqual(7);
      expect(s.estBytes <= 1e6 || s.end - s.start === 1).toBe(true);
      for (let i = s.start; i < s.end; i++) expect(p.items[i].shard).toBe(k);
      expectStart = s.end;
    });
    expect(expectStart).toBe(120);
  });

  it("--limit keeps the first N planned items unchanged", () => {
    const full = makePlan(recipe(), utts(20), banks);
    const lim = makePlan(recipe(), utts(20), banks, 10);
    expect(lim.items.map((i) => [i.outId, i.ops])).toEqual(full.items.slice(0, 10).map((i) => [i.outId, i.ops]));
  });

  it("ids keep the speaker prefix and stay in the safe alphabet", () => {
    const r = recipe();
    (r.chain[0].config as any).speaker_prefix = true;
    const p = makePlan(r, utts(10), banks);
    for (const it of p.items) {
      expect(it.outId).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(it.outId.startsWith(it.utt.speaker + "-")).toBe(true);
      const f = it.ops[0].factor as number;
      if (f !== 1) expect(it.utt.speaker.startsWith(`sp${String(f).replace(".", "_")}-`)).toBe(true);
    }
    expect(new Set(p.items.map((i) => i.outId)).size).toBe(p.items.length);
  });
});
