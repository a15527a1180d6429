// Recipe validation: every error names file:line:column and the field, typos get a hint, and a
// bad recipe exits 2 before any work.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { RecipeErrors } from "../src/recipe/errors.js";
import { parseRecipe } from "../src/recipe/load.js";
import { cli, noiseSignal, tempDir, writeNemoCorpus, speechLike, writeWav } from "./helpers/fixtures.js";

function setup(): string {
  const dir = tempDir();
  writeNemoCorpus(path.join(dir, "data"), [{ id: "s1-u1", text: "hello", speaker: "s1", samples: speechLike(16000, 16000), sampleRate: 16000 }]);
  writeWav(path.join(dir, "noise/white/w.wav"), noiseSignal(16000, 3), 16000);
  return dir;
}

const GOOD = `seed: 7
inputs:
  - {format: nemo, path: data/manifest.json}
noise_banks:
  - {name: demo, path: noise}
chain:
  - noise: {bank: demo, snr_db: [0, 20], p: 0.8}
  - gain: {db: [-6, 6]}
output: {path: out/x}
`;

function errorsOf(text: string, cwd: string): string[] {
  try {
    parseRecipe(text, "r.yaml", cwd);
  } catch (e) {
    if (e instanceof RecipeErrors) return e.errors.map((x) => x.message);
    throw e;
  }
  return [];
}

describe("recipe", () => {
  it("fills defaults and resolves paths", () => {
    const dir = setup();
    const r = parseRecipe(GOOD, "r.yaml", dir);
    expect(r.sample_rate).toBe(16000);
    expect(r.copies).toBe(1);
    expect(r.output.format).toBe("webdataset");
    expect(r.output.path).toBe(path.join(dir, "out/x"));
    expect(r.chain.map((s) => s.op)).toEqual(["noise", "gain"]);
    expect((r.chain[0].config as any).snr_reference).toBe("clip");
    expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("names line, column and field of a typo in a top-level key and suggests the right one", () => {
    const dir = setup();
    const errs = errorsOf(GOOD.replace("seed: 7", "sede: 7"), dir);
    expect(errs).toEqual([`r.yaml:1:1: sede: unknown field "sede" (did you mean "seed"?)`]);
  });

  it("points into a chain entry: unknown op, bad parameter, typo in a parameter", () => {
    const dir = setup();
    expect(errorsOf(GOOD.replace("  - gain: {db", "  - gian: {db"), dir)).toEqual([`r.yaml:8:5: chain[1].gian: unknown op "gian" (did you mean "gain"?)`]);
    const bad = errorsOf(GOOD.replace("snr_db: [0, 20]", "snr_db: [20, 0]"), dir);
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatch(/^r\.yaml:7:\d+: chain\[0\]\.noise\.snr_db: range must be \[min, max\]/);
    expect(errorsOf(GOOD.replace("p: 0.8", "pp: 0.8"), dir)[0]).toMatch(/^r\.yaml:7:42: chain\[0\]\.noise\.pp: unknown field "pp" \(did you mean "p"\?\)/);
    // No plausible typo: list what is allowed instead.
    expect(errorsOf(GOOD.replace("p: 0.8", "probability: 0.8"), dir)[0]).toMatch(/chain\[0\]\.noise\.probability: unknown field "probability" \(expected one of: bank, snr_db, .*, p\)/);
  });

  it("refuses an unknown bank, a missing input and a wrong format value with hints", () => {
    const dir = setup();
    expect(errorsOf(GOOD.replace("{bank: demo,", "{bank: dmeo,"), dir)[0]).toBe(`r.yaml:7:19: chain[0].noise.bank: no noise bank named "dmeo" in noise_banks (did you mean "demo"?)`);
    expect(errorsOf(GOOD.replace("data/manifest.json", "data/nope.json"), dir)[0]).toMatch(/^r\.yaml:3:\d+: inputs\[0\]\.path: not found: /);
    expect(errorsOf(GOOD.replace("format: nemo", "format: nmeo"), dir)[0]).toMatch(/^r\.yaml:3:\d+: inputs\[0\]\.format: invalid value "nmeo" for "format"; expected one of: nemo, .* \(did you mean "nemo"\?\)$/);
  });

  it("reports YAML syntax errors with their position", () => {
    const dir = setup();
    const errs = errorsOf("seed: 1\ninputs: [\n", dir);
    expect(errs[0]).toMatch(/^r\.yaml:\d+:\d+: \(recipe\): YAML: /);
  });

  it("the CLI exits 2 with one line per error and writes nothing", () => {
    const dir = setup();
    writeFileSync(path.join(dir, "r.yaml"), GOOD.replace("seed: 7", "seed: -1").replace("gain:", "gian:"));
    const r = cli(["run", "r.yaml"], dir);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^error: r\.yaml:1:7: seed: /);
    expect(lines[1]).toMatch(/^error: r\.yaml:8:5: chain\[1\]\.gian: unknown op/);
    expect(existsSync(path.join(dir, "out"))).toBe(false);
    const v = cli(["validate", "r.yaml"], dir);
    expect(v.code).toBe(2);
  });

  it("validate accepts the bundled quickstart recipe", () => {
    const r = cli(["validate", "recipes/quickstart.yaml"], path.resolve(__dirname, ".."));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ok \(1 inputs, 4 ops: speed, reverb, noise, gain\)/);
  });
});

describe("recipe sampling probe", () => {
  it("refuses settings that only fail when drawn, at their position", () => {
    const dir = setup();
    const text = GOOD.replace("  - gain: {db: [-6, 6]}", "  - vtlp: {alpha: 0.9, boundary_hz: 9000}");
    const errs = errorsOf(text, dir);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/^r\.yaml:8:5: chain\[1\]\.vtlp: cannot be sampled at sample_rate 16000: /);
  });
});

describe("recipe sampling probe and categories", () => {
  it("accepts a noise op restricted to categories", () => {
    const dir = setup();
    expect(errorsOf(GOOD.replace("p: 0.8}", "p: 0.8, categories: [babble, white]}"), dir)).toEqual([]);
  });
});
