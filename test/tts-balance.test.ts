// Balancing with synthetic speech: real audio first, synthetic filling at most max_synthetic_share of
// a group's target, within 2% of the target where copies allow, copy counts within ±1 per pool.
import { describe, expect, it } from "vitest";
import { allocateCopies, type BalanceSpec } from "../src/plan/balance.js";
import type { Utterance } from "../src/types.js";
import { lcg } from "./helpers/fixtures.js";

/** Real and synthetic utterances of a language, `realS` and `synthS` seconds of each. */
function corpus(lang: string, realS: number, synthS: number, seed: number): Utterance[] {
  const rnd = lcg(seed);
  const out: Utterance[] = [];
  for (const [kind, total] of [["real", realS], ["tts", synthS]] as const) {
    let t = 0;
    for (let i = 0; t < total; i++) {
      const d = 1 + 6 * rnd();
      const id = `${lang}${kind}-u${i}`;
      const audio = kind === "real" ? { path: `/x/${id}.wav` } : { path: `/t/${lang}.txt:${i + 1}`, synth: { engine: "espeak-ng" as const, text: "x", voice: lang, rate_wpm: 160, pitch: 50 } };
      out.push({ id, sourceId: `u${i}`, audio, durationS: d, text: "x", language: lang, speaker: `${lang}${kind}`, input: kind === "real" ? 0 : 1, channel: "mix" });
      t += d;
    }
  }
  return out;
}

const spec = (s: Partial<BalanceSpec>): BalanceSpec => ({ by: "language", strategy: "target_hours", target_hours: 0.1, max_copies: 20, min_copies: 0, max_synthetic_share: 0.5, ...s }) as BalanceSpec;

function hours(utts: Utterance[], copies: Map<string, number>, synthetic: boolean, lang: string): number {
  return utts.filter((u) => u.language === lang && (u.audio.synth !== undefined) === synthetic).reduce((s, u) => s + (copies.get(u.id)! * u.durationS!) / 3600, 0);
}

function spread(utts: Utterance[], copies: Map<string, number>, synthetic: boolean, lang: string): number {
  const c = utts.filter((u) => u.language === lang && (u.audio.synth !== undefined) === synthetic).map((u) => copies.get(u.id)!);
  return c.length ? Math.max(...c) - Math.min(...c) : 0;
}

describe("balance with synthetic speech", () => {
  // en: 10 min real (above a 6-min target); sw: 1 min real + 20 min of text; ht: text only.
  const utts = [...corpus("en", 600, 300, 1), ...corpus("sw", 60, 1200, 2), ...corpus("ht", 0, 1200, 3)];

  it("uses real audio first: a group whose real hours reach the target gets no synthetic speech", () => {
    const { copies, groups } = allocateCopies(utts, spec({}), 7);
    expect(hours(utts, copies, true, "en")).toBe(0);
    expect(Math.abs(hours(utts, copies, false, "en") - 0.1) / 0.1).toBeLessThan(0.02);
    const en = groups.find((g) => g.group === "en")!;
    expect(en.plannedSyntheticHours).toBe(0);
    expect(en.syntheticUtterances).toBeGreaterThan(0);
  });

  it("fills the rest with synthetic speech up to max_synthetic_share of the target; every real utterance used", () => {
    for (const share of [0.25, 0.5, 0.8]) {
      const { copies, groups } = allocateCopies(utts, spec({ max_synthetic_share: share }), 7);
      const real = hours(utts, copies, false, "sw");
      const synth = hours(utts, copies, true, "sw");
      expect(Math.abs(real + synth - 0.1) / 0.1, `share ${share}`).toBeLessThan(0.02);
      expect(synth, `share ${share}`).toBeLessThanOrEqual(share * 0.1); // a ceiling
      expect(Math.abs(synth - share * 0.1) / 0.1, `share ${share}`).toBeLessThan(0.02);
      expect(utts.filter((u) => u.language === "sw" && !u.audio.synth).every((u) => copies.get(u.id)! >= 1)).toBe(true);
      expect(spread(utts, copies, false, "sw")).toBeLessThanOrEqual(1);
      expect(spread(utts, copies, true, "sw")).toBeLessThanOrEqual(1);
      const sw = groups.find((g) => g.group === "sw")!;
      expect(sw.plannedSyntheticHours).toBeCloseTo(synth, 9);
      expect(sw.plannedRealHours).toBeCloseTo(real, 9);
      expect(sw.warning).toBeUndefined();
    }
  });

  it("synthetic speech never takes more than the real shortfall (share 1 = real once, synthetic the rest)", () => {
    const { copies, groups } = allocateCopies(utts, spec({ max_synthetic_share: 1 }), 7);
    const real = hours(utts, copies, false, "sw");
    expect(real).toBeCloseTo(groups.find((g) => g.group === "sw")!.sourceHours, 12); // each real utterance exactly once
    expect(Math.abs(hours(utts, copies, true, "sw") - (0.1 - real)) / 0.1).toBeLessThan(0.02);
  });

  it("a text-only group reaches its target with share 1 (per-group setting), half of it with the default", () => {
    const perGroup = allocateCopies(utts, spec({ max_synthetic_share: { ht: 1 } }), 7);
    expect(Math.abs(hours(utts, perGroup.copies, true, "ht") - 0.1) / 0.1).toBeLessThan(0.02);
    expect(perGroup.groups.find((g) => g.group === "ht")!.warning).toBeUndefined();
    // sw, not listed, keeps the default 0.5.
    expect(Math.abs(hours(utts, perGroup.copies, true, "sw") - 0.05) / 0.1).toBeLessThan(0.02);
    const dflt = allocateCopies(utts, spec({}), 7);
    expect(Math.abs(hours(utts, dflt.copies, true, "ht") - 0.05) / 0.1).toBeLessThan(0.02);
    expect(dflt.groups.find((g) => g.group === "ht")!.warning).toMatch(/reaches .* of 0\.100 target hours with max_copies 20 and max_synthetic_share 0\.5/);
  });

  it("spreads synthetic copies over texts (every text once before any twice) when the text is short", () => {
    const few = [...corpus("sw", 60, 120, 4)];
    const { copies } = allocateCopies(few, spec({ max_synthetic_share: 0.9 }), 7);
    expect(spread(few, copies, true, "sw")).toBeLessThanOrEqual(1);
    expect(Math.min(...few.filter((u) => u.audio.synth).map((u) => copies.get(u.id)!))).toBeGreaterThanOrEqual(2);
  });

  it("temperature shares come from real hours only", () => {
    const { groups } = allocateCopies(utts, { by: "language", strategy: "temperature", alpha: 0.5, total_hours: 0.3, max_copies: 50, min_copies: 0, max_synthetic_share: 0.5 } as BalanceSpec, 7);
    const en = groups.find((g) => g.group === "en")!;
    const sw = groups.find((g) => g.group === "sw")!;
    expect(en.targetHours / sw.targetHours).toBeCloseTo(Math.sqrt(en.sourceHours / sw.sourceHours), 9);
    expect(en.sourceHours).toBeGreaterThan(600 / 3600); // real only: en also has 300 s of text
    expect(groups.find((g) => g.group === "ht")!.targetHours).toBe(0);
  });
});
