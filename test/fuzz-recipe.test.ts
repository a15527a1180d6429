// Fuzz: random mutations of the shipped recipes (keys deleted or duplicated, types swapped, random
// values, YAML syntax broken, unicode and control characters). `augment validate` must accept the
// recipe or reject it with one line per problem naming the file (with line:col) or the field:
// never an internal error or a stack trace. The library path that `validate` runs is checked for
// every mutation in-process (fast); a sample also goes through the real CLI for exit codes.
// FUZZ_SEED=<n> reproduces a failing case (the case's seed is printed with its text).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseDocument, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { BankError } from "../src/banks/bank.js";
import { RecipeErrors } from "../src/recipe/errors.js";
import { parseRecipe } from "../src/recipe/load.js";
import { prepare, RunError } from "../src/run/run.js";
import { checkInput, SourceError } from "../src/sources/index.js";
import { cli, lcg, ROOT, tempDir } from "./helpers/fixtures.js";

const SEED = Number(process.env.FUZZ_SEED ?? 1);
const COUNT = Number(process.env.FUZZ_RECIPES ?? 400);
const PLAN = process.env.FUZZ_PLAN !== "0";

// The shipped recipes, and one that sets the optional sections too (balance, splits, filters,
// engine, simulated rooms), so mutations reach them.
const RICH = `seed: 7
sample_rate: 16000
inputs:
  - {format: nemo, path: data/demo/manifest.json, language: en, channel: mix, name: demo}
noise_banks: [{name: demo, path: noise-banks/default}]
rir_banks:
  - {name: sim, simulate: {count: 4, rt60_s: [0.2, 0.8], room_m: {min: [3, 3, 2.4], max: [8, 6, 3]}, distance_m: [0.5, 3]}}
balance: {by: lang, strategy: target_hours, target_hours: 0.01, max_copies: 4}
splits: {augment: [train], default: train}
include_clean: true
chain:
  - speed: {factors: [0.9, 1.1], per_copy: false}
  - reverb: {bank: sim, p: 0.5}
  - noise: {bank: demo, snr_db: [0, 20], p: 0.8}
  - tempo: {factor: [0.9, 1.1]}
  - gain: {db: [-6, 6]}
engine: {workers: 2, batch_items: 8, max_batch_s: 60}
filters: {min_duration_s: 0.5, max_duration_s: 30, allow_empty_text: false}
max_errors: 10
output: {path: out/rich, format: webdataset, audio: flac, name: shard, shard_max_mb: 64, shard_max_items: 20, manifests: [nemo], shuffle: true}
`;

const recipes: Array<{ name: string; text: string }> = [
  ...readdirSync(path.join(ROOT, "recipes"))
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => ({ name: `recipes/${f}`, text: readFileSync(path.join(ROOT, "recipes", f), "utf8") })),
  { name: "rich.yaml", text: RICH },
];

const ODD_STRINGS = ["", " ", "0", "-1", "1e309", "NaN", ".inf", "null", "~", "yes", "../../../etc/passwd", "/dev/zero", "s3://", "a\u0000b", "\u202eevil", "\ufeff", "ünïcödé", "😀".repeat(50), "x".repeat(5000), "\\", "'", '"', "{", "[]", "- a", "*anchor", "&a b", "!!binary AAAA", "%TAG", "\t", "\r\n"];
const ODD_VALUES: unknown[] = [null, true, false, 0, -1, 1.5, -0.0, 1e308, -1e308, 2 ** 53 + 1, 1e-320, [], {}, [[]], [{}], { a: 1 }, [1, 2, 3], [-5, 5], [5, -5], [0, 0], ["a", "b"], ...ODD_STRINGS];

function pickFrom<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)];
}

/** Every path (list of keys/indices) to a node in a plain JS value. */
function paths(v: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

function getAt(v: any, p: Array<string | number>): any {
  return p.reduce((o, k) => o?.[k], v);
}

/** A structural mutation on the parsed value (then written back as YAML). */
function mutateValue(data: any, rnd: () => number): string {
  const all = paths(data).filter((p) => p.length > 0);
  const p = pickFrom(rnd, all);
  const parent = getAt(data, p.slice(0, -1));
  const key = p[p.length - 1];
  const kind = Math.floor(rnd() * 6);
  if (kind === 0) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
    return `delete ${p.join(".")}`;
  }
  if (kind === 1) {
    parent[key] = pickFrom(rnd, ODD_VALUES);
    return `set ${p.join(".")} = ${JSON.stringify(parent[key])?.slice(0, 40)}`;
  }
  if (kind === 2) {
    // swap the value's type: number ↔ string, scalar ↔ list ↔ map
    const v = parent[key];
    parent[key] = typeof v === "number" ? String(v) : typeof v === "string" ? (Number(v) || v.length) : Array.isArray(v) ? { items: v } : v && typeof v === "object" ? Object.values(v) : [v];
    return `retype ${p.join(".")}`;
  }
  if (kind === 3) {
    // a random number near or far from the current one
    const v = parent[key];
    const n = typeof v === "number" ? v : 1;
    parent[key] = pickFrom(rnd, [n * -1, n * 1e6, n + 0.5, Math.floor(rnd() * 1e9) - 5e8, n / 1e9, 0]);
    return `number ${p.join(".")} = ${parent[key]}`;
  }
  if (kind === 4 && !Array.isArray(parent)) {
    // a misspelt or unknown key beside a real one
    const k = String(key);
    const nk = pickFrom(rnd, [k + "s", k.slice(1), k.toUpperCase(), "ünknown", "", "__proto__", "constructor", k.replace(/_/g, "-")]);
    parent[nk] = parent[key];
    if (rnd() < 0.5) delete parent[key];
    return `rename key ${p.join(".")} → ${JSON.stringify(nk)}`;
  }
  // duplicate a list entry or nest the value
  if (Array.isArray(parent)) {
    parent.splice(key as number, 0, structuredClone(parent[key as number]));
    return `duplicate ${p.join(".")}`;
  }
  parent[key] = { [String(key)]: parent[key] };
  return `nest ${p.join(".")}`;
}

/** A text-level mutation: YAML syntax, indentation, duplicate keys, stray characters. */
function mutateText(text: string, rnd: () => number): { desc: string; text: string } {
  const lines = text.split("\n");
  const i = Math.floor(rnd() * lines.length);
  const at = Math.floor(rnd() * (text.length + 1));
  switch (Math.floor(rnd() * 8)) {
    case 0:
      lines.splice(i, 0, lines[i]); // duplicate a line (often a duplicate key)
      return { desc: `duplicate line ${i + 1}`, text: lines.join("\n") };
    case 1:
      lines.splice(i, 1);
      return { desc: `delete line ${i + 1}`, text: lines.join("\n") };
    case 2:
      lines[i] = (rnd() < 0.5 ? "  " : "\t") + lines[i];
      return { desc: `indent line ${i + 1}`, text: lines.join("\n") };
    case 3: {
      const ch = pickFrom(rnd, [":", "[", "]", "{", "}", "-", "#", "'", '"', "&", "*", "!", "|", ">", "%", "@", "`", ",", "\t", "\u0000", "\u0007", "\ufffd", "\u2028", "é", "😀", "\ud800"]);
      return { desc: `insert ${JSON.stringify(ch)} at ${at}`, text: text.slice(0, at) + ch + text.slice(at) };
    }
    case 4:
      return { desc: `delete char at ${at}`, text: text.slice(0, at) + text.slice(at + 1) };
    case 5:
      return { desc: `truncate at ${at}`, text: text.slice(0, at) };
    case 6: {
      const j = Math.floor(rnd() * lines.length);
      [lines[i], lines[j]] = [lines[j], lines[i]];
      return { desc: `swap lines ${i + 1} and ${j + 1}`, text: lines.join("\n") };
    }
    default:
      return { desc: "the whole file as one flow line", text: text.replace(/\n/g, " ") };
  }
}

function mutateRecipe(text: string, seed: number): { desc: string; text: string } {
  const rnd = lcg(seed * 2654435761 + 7);
  const descs: string[] = [];
  let out = text;
  const steps = 1 + Math.floor(rnd() * 3);
  for (let s = 0; s < steps; s++) {
    if (rnd() < 0.6) {
      const doc = parseDocument(out);
      let data: any;
      try {
        data = doc.errors.length ? undefined : doc.toJS();
      } catch {
        data = undefined; // e.g. an alias a text mutation left without its anchor
      }
      if (data === undefined) {
        const m = mutateText(out, rnd);
        descs.push(m.desc);
        out = m.text;
        continue;
      }
      if (data === null || typeof data !== "object") break;
      descs.push(mutateValue(data, rnd));
      out = stringify(data);
    } else {
      const m = mutateText(out, rnd);
      descs.push(m.desc);
      out = m.text;
    }
  }
  return { desc: descs.join("; "), text: out };
}

/**
 * What `augment validate` does, in-process: load, then check each input. With `plan`, an accepted
 * recipe is also planned (what `augment plan` and a run do next: inputs and banks read, no audio).
 */
async function validate(text: string, file: string, plan = false): Promise<{ ok: true } | { ok: false; error: unknown }> {
  try {
    const recipe = parseRecipe(text, file, ROOT);
    for (const input of recipe.inputs) await checkInput(input);
    // (tts inputs synthesise speech while planning, in worker threads that need the built dist/: not here)
    if (plan && !recipe.inputs.some((i) => i.format === "tts")) await prepare(recipe, { limit: 200 });
    return { ok: true };
  } catch (error) {
    return { ok: false, error };
  }
}

/** The lines the CLI would print for a known error; null for an internal error (exit 1, stack). */
function userLines(e: unknown): string[] | null {
  if (e instanceof RecipeErrors) return e.errors.map((x) => x.message);
  if (e instanceof SourceError || e instanceof BankError) return [e.message];
  if (e instanceof RunError && e.exitCode === 2) return [e.message];
  return null;
}

describe("fuzz: mutated recipes", () => {
  it(`${COUNT} mutations: accepted, or rejected with one line per problem naming file:line:col or a field`, async () => {
    const failures: string[] = [];
    let accepted = 0;
    let rejected = 0;
    for (let k = 0; k < COUNT; k++) {
      const seed = SEED * 100_000 + k;
      const base = recipes[k % recipes.length];
      const m = mutateRecipe(base.text, seed);
      const file = `fuzz-${seed}.yaml`;
      const r = await validate(m.text, file, PLAN);
      if (r.ok) {
        accepted++;
        continue;
      }
      rejected++;
      const lines = userLines(r.error);
      const where = `seed ${seed} (${base.name}: ${m.desc})`;
      if (lines === null) {
        const e = r.error as Error;
        failures.push(`${where}: internal error ${e?.name}: ${String(e?.stack ?? e).split("\n").slice(0, 4).join(" | ")}\n--- recipe ---\n${m.text.slice(0, 1500)}`);
        continue;
      }
      for (const line of lines) {
        if (line.includes("\n")) failures.push(`${where}: message spans lines: ${JSON.stringify(line)}`);
        // A recipe error names the file with line:col (or the field); input errors name the path.
        const named = line.startsWith(`${file}:`) || r.error instanceof SourceError || r.error instanceof BankError || r.error instanceof RunError;
        if (!named) failures.push(`${where}: message does not name the file: ${line}`);
        if (r.error instanceof RecipeErrors && !/^fuzz-\d+\.yaml:\d+:\d+: \S/.test(line)) failures.push(`${where}: no line:col: ${line}`);
      }
    }
    console.log(`fuzz-recipe (seed ${SEED}): ${COUNT} mutations, ${accepted} accepted, ${rejected} rejected`);
    expect(failures).toEqual([]);
    expect(rejected).toBeGreaterThan(COUNT / 2);
  });

  it("through the CLI: exit 0 or 2, each stderr line `error: …`, never a stack trace", () => {
    const dir = tempDir("augment-fuzz-recipe-");
    const results: string[] = [];
    for (let k = 0; k < 6; k++) {
      const seed = SEED * 100_000 + 50_000 + k;
      const base = recipes[k % recipes.length];
      const m = mutateRecipe(base.text, seed);
      const file = path.join(dir, `fuzz-${seed}.yaml`);
      writeFileSync(file, m.text);
      // Run from the repository root so the recipes' relative paths resolve as they do for users.
      const r = cli(["validate", file], ROOT);
      const where = `seed ${seed} (${base.name}: ${m.desc}): exit ${r.code}\n${r.stderr}`;
      expect([0, 2], where).toContain(r.code);
      expect(r.stderr, where).not.toMatch(/internal error|\n\s+at /);
      for (const line of r.stderr.trim().split("\n").filter(Boolean)) expect(line, where).toMatch(/^error: /);
      results.push(String(r.code));
    }
    expect(results).toContain("2");
  });
});

describe("regressions the fuzzer found", () => {
  const quick = recipes.find((r) => r.name === "recipes/quickstart.yaml")!.text;

  it("an alias with no anchor (`*rooms`) is a YAML error at the alias, not an internal error", async () => {
    const text = quick.replace("{bank: rooms, p: 0.5}", "{bank: *rooms, p: 0.5}");
    const r = await validate(text, "q.yaml");
    expect(r.ok).toBe(false);
    const lines = userLines((r as { error: unknown }).error);
    const line = text.split("\n").findIndex((l) => l.includes("*rooms")) + 1;
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^q\\.yaml:${line}:\\d+: \\(recipe\\): YAML: Unresolved alias`))]);
  });

  it("a value with line breaks is quoted on one line", async () => {
    const r = await validate(quick.replace("{bank: rooms, p: 0.5}", '{bank: "a\\r\\nb", p: 0.5}'), "q.yaml");
    const lines = userLines((r as { error: unknown }).error)!;
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^q\.yaml:\d+:\d+: chain\[1\]\.reverb\.bank: no rir bank named "a\\r\\nb"/);
  });
});
