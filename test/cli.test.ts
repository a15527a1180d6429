// The CLI's other commands and flags: plan (and --out plan.jsonl), --dry-run, --limit, --seed.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cli, noiseSignal, speechLike, tempDir, writeNemoCorpus, writeWav } from "./helpers/fixtures.js";

function setup(): string {
  const d = tempDir("augment-cli-");
  writeNemoCorpus(
    path.join(d, "c"),
    Array.from({ length: 6 }, (_, i) => ({ id: `s${i % 2}-u${i}`, speaker: `s${i % 2}`, text: `t ${i}`, lang: i < 4 ? "en" : "sw", samples: speechLike(8000 + 2000 * i, 16000, 120, i + 1), sampleRate: 16000 })),
  );
  writeWav(path.join(d, "n/a/x.wav"), noiseSignal(5 * 16000, 2), 16000);
  writeFileSync(path.join(d, "r.yaml"), "seed: 3\ninputs: [{format: nemo, path: c/manifest.json}]\nnoise_banks: [{name: n, path: n}]\ncopies: 2\nchain:\n  - speed: {factors: [0.9, 1.1]}\n  - noise: {bank: n, snr_db: [5, 15], p: 0.5}\noutput: {path: out}\n");
  return d;
}

describe("cli", () => {
  it("plan prints hours per language and per op, and --out writes every planned item", () => {
    const d = setup();
    const r = cli(["plan", "r.yaml", "--out", "plan.jsonl"], d);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/6 source utterances \(0 skipped\), 12 output items in 1 shards/);
    expect(r.stdout).toMatch(/^en\s+8\s/m);
    expect(r.stdout).toMatch(/^sw\s+4\s/m);
    expect(r.stdout).toMatch(/^speed\s+12\s/m);
    const plan = readFileSync(path.join(d, "plan.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(plan).toHaveLength(12);
    expect(existsSync(path.join(d, "out"))).toBe(false);
    // The run writes exactly the planned items with the planned ops.
    expect(cli(["run", "r.yaml", "--quiet", "--workers", "1"], d).code).toBe(0);
    const manifest = readFileSync(path.join(d, "out/nemo_manifest.json"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(manifest.map((m) => m.audio_filepath)).toEqual(plan.map((p) => `${p.id}.flac`));
    for (const p of plan) expect(Math.abs(manifest.find((m) => m.audio_filepath === `${p.id}.flac`).duration - p.duration_s)).toBeLessThan(1e-3);
  });

  it("--dry-run writes nothing; --limit N writes the first N planned items; --seed changes the draws", () => {
    const d = setup();
    const dry = cli(["run", "r.yaml", "--dry-run"], d);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/dry run: nothing written/);
    expect(existsSync(path.join(d, "out"))).toBe(false);
    expect(cli(["plan", "r.yaml", "--out", "p1.jsonl"], d).code).toBe(0);
    expect(cli(["run", "r.yaml", "--quiet", "--limit", "5", "--out", "lim"], d).code).toBe(0);
    const lim = readFileSync(path.join(d, "lim/nemo_manifest.json"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const p1 = readFileSync(path.join(d, "p1.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lim.map((m) => m.audio_filepath)).toEqual(p1.slice(0, 5).map((p) => `${p.id}.flac`));
    expect(cli(["plan", "r.yaml", "--seed", "4", "--out", "p2.jsonl"], d).code).toBe(0);
    const p2 = readFileSync(path.join(d, "p2.jsonl"), "utf8");
    expect(p2).not.toBe(readFileSync(path.join(d, "p1.jsonl"), "utf8"));
  });

  it("refuses to mix two different runs in one folder unless --force", () => {
    const d = setup();
    expect(cli(["run", "r.yaml", "--quiet"], d).code).toBe(0);
    const other = cli(["run", "r.yaml", "--quiet", "--seed", "9"], d);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/different plan/);
    writeFileSync(path.join(d, "out/keep.txt"), "user file");
    expect(cli(["run", "r.yaml", "--quiet", "--seed", "9", "--force"], d).code).toBe(0);
    expect(readFileSync(path.join(d, "out/keep.txt"), "utf8")).toBe("user file");
  });
});

describe("plan with balancing", () => {
  it("prints the before/after table and warns when a group cannot reach its target", () => {
    const d = tempDir("augment-balance-");
    writeNemoCorpus(
      path.join(d, "c"),
      Array.from({ length: 9 }, (_, i) => ({ id: `s${i}-u${i}`, speaker: `s${i}`, text: `t ${i}`, lang: i < 7 ? "en" : "sw", samples: speechLike(16000, 16000, 120, i + 1), sampleRate: 16000 })),
    );
    writeFileSync(path.join(d, "r.yaml"), "inputs: [{format: nemo, path: c/manifest.json}]\nbalance: {by: language, strategy: target_hours, target_hours: 0.004, max_copies: 3}\nchain:\n  - gain: {db: [-3, 3]}\noutput: {path: out}\n");
    const r = cli(["plan", "r.yaml"], d);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/balance by language \(target_hours\):/);
    // en: 7 × 1 s, target 14.4 s → 2 copies each (a 3rd copy would overshoot more); sw: 2 s × 3 max = 6 s.
    expect(r.stdout).toMatch(/^en\s+7\s+0\.002\s+0\.004\s+0\.004\s+2$/m);
    expect(r.stdout).toMatch(/^sw\s+2\s+0\.001\s+0\.004\s+0\.002\s+3$/m);
    expect(r.stdout).toMatch(/warning: group "sw" reaches 0\.00167 of 0\.00400 target hours with max_copies 3/);
    expect(r.stdout).not.toMatch(/warning: group "en"/);
  });
});
