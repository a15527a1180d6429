// Loads a recipe: YAML with positions → schema validation → op validation → cross-references
// and paths. Every problem becomes a RecipeError with file:line:column; nothing runs until all pass.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { isS3Url, resolveLocation } from "../storage/url.js";
import { isMap, isNode, isPair, isScalar, LineCounter, parseDocument, visit, type Document } from "yaml";
import type { z } from "zod";
import { OPS } from "../ops/registry.js";
import { rngFor } from "../plan/rng.js";
import { checkVoices } from "../tts/voices.js";
import { editDistance, nearest, RecipeError, RecipeErrors, type FieldPath } from "./errors.js";
import { recipeSchema, type ChainStep, type Recipe } from "./schema.js";

interface Located {
  doc: Document;
  lines: LineCounter;
  file: string;
}

function position(loc: Located, p: FieldPath, atKey?: string): { line: number; column: number } {
  // An unknown key points at the key itself, found in its parent map.
  const target = atKey !== undefined && p[p.length - 1] === atKey ? p.slice(0, -1) : p;
  // Walk up the path until a node exists (a missing field points at its parent).
  for (let n = target.length; n >= 0; n--) {
    const node = loc.doc.getIn(target.slice(0, n), true);
    if (!isNode(node) || !node.range) continue;
    let offset = node.range[0];
    if (atKey !== undefined && n === target.length && isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === atKey);
      if (pair && isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
    }
    const { line, col } = loc.lines.linePos(offset);
    return { line, column: col };
  }
  return { line: 1, column: 1 };
}

function err(loc: Located, p: FieldPath, message: string, hint?: string, atKey?: string): RecipeError {
  const { line, column } = position(loc, p, atKey);
  return new RecipeError(loc.file, line, column, p, message, hint);
}

/** The object keys a schema accepts at a path, for typo hints (zod 4 internals, read-only). */
function keysAt(schema: z.ZodType, p: FieldPath, data: unknown): string[] {
  let s: any = schema;
  let d: any = data;
  const unwrap = () => {
    for (;;) {
      const def = s?._zod?.def;
      if (!def) return;
      if (def.type === "optional" || def.type === "default" || def.type === "nullable" || def.type === "prefault") s = def.innerType;
      else if (def.type === "pipe") s = def.in;
      else if (def.type === "union") {
        // Discriminated unions: pick the option whose literal matches the data; else merge keys.
        const match = def.options.find((o: any) => {
          const shape = o?._zod?.def?.shape;
          if (!shape || !d || typeof d !== "object") return false;
          return Object.entries(shape).some(([k, v]: [string, any]) => {
            const vals = v?._zod?.def?.values;
            return Array.isArray(vals) && vals.includes(d[k]);
          });
        });
        if (match) s = match;
        else return;
      } else return;
    }
  };
  unwrap();
  for (const key of p) {
    const def = s?._zod?.def;
    if (!def) return [];
    if (def.type === "object") s = def.shape[key as string];
    else if (def.type === "array") s = def.element;
    else if (def.type === "record") s = def.valueType;
    else return [];
    d = d?.[key as any];
    unwrap();
  }
  const def = s?._zod?.def;
  if (def?.type === "object") return Object.keys(def.shape);
  if (def?.type === "union") return def.options.flatMap((o: any) => (o?._zod?.def?.type === "object" ? Object.keys(o._zod.def.shape) : []));
  return [];
}

/** The literal values a discriminated union accepts for its key at a path. */
function discriminatorValues(schema: z.ZodType, p: FieldPath, key: string): string[] {
  let s: any = schema;
  for (const k of p) {
    for (;;) {
      const def = s?._zod?.def;
      if (def && (def.type === "optional" || def.type === "default" || def.type === "nullable")) s = def.innerType;
      else break;
    }
    const def = s?._zod?.def;
    if (def?.type === "object") s = def.shape[k as string];
    else if (def?.type === "array") s = def.element;
    else return [];
  }
  const options = s?._zod?.def?.options ?? [];
  return options.flatMap((o: any) => o?._zod?.def?.shape?.[key]?._zod?.def?.values ?? []).map(String);
}

function zodIssues(loc: Located, schema: z.ZodType, data: unknown, prefix: FieldPath): RecipeError[] {
  const r = schema.safeParse(data);
  if (r.success) return [];
  const out: RecipeError[] = [];
  for (const issue of r.error.issues as any[]) {
    const p: FieldPath = [...prefix, ...(issue.path as Array<string | number>)];
    const rel = issue.path as FieldPath;
    if (issue.code === "unrecognized_keys") {
      const known = keysAt(schema, rel, data);
      for (const key of issue.keys as string[]) {
        const guess = nearest(key, known);
        out.push(err(loc, [...p, key], `unknown field "${key}"`, guess ? `did you mean "${guess}"?` : known.length ? `expected one of: ${known.join(", ")}` : undefined, key));
      }
    } else if (issue.code === "invalid_value" && Array.isArray(issue.values)) {
      const got = rel.reduce((o: any, k) => o?.[k], data);
      const guess = typeof got === "string" ? nearest(got, issue.values.map(String)) : undefined;
      out.push(err(loc, p, `invalid value ${JSON.stringify(got)}; expected one of: ${issue.values.join(", ")}`, guess ? `did you mean "${guess}"?` : undefined));
    } else if (issue.code === "invalid_union" && issue.note === "No matching discriminator") {
      const key = issue.discriminator ?? "format";
      const at = p[p.length - 1] === key ? p : [...p, key];
      const value = at.slice(prefix.length).reduce((o: any, k) => o?.[k], data);
      const options = discriminatorValues(schema, at.slice(prefix.length, -1), key);
      const guess = typeof value === "string" ? nearest(value, options) : undefined;
      out.push(err(loc, at, `${value === undefined ? "missing" : `invalid value ${JSON.stringify(value)} for`} "${key}"${options.length ? `; expected one of: ${options.join(", ")}` : ""}`, guess ? `did you mean "${guess}"?` : undefined));
    } else {
      out.push(err(loc, p, issue.message));
    }
  }
  return out;
}

function chainStep(loc: Located, entry: Record<string, unknown>, i: number, errors: RecipeError[]): ChainStep | null {
  const keys = Object.keys(entry);
  if (keys.length !== 1) {
    errors.push(err(loc, ["chain", i], `each chain entry is one op, like {noise: {...}}; got ${keys.length ? keys.join(", ") : "nothing"}`));
    return null;
  }
  const name = keys[0];
  const op = OPS.get(name);
  if (!op) {
    const guess = nearest(name, OPS.keys());
    errors.push(err(loc, ["chain", i, name], `unknown op "${name}"`, guess ? `did you mean "${guess}"?` : `ops: ${[...OPS.keys()].join(", ")}`, name));
    return null;
  }
  const raw = entry[name] ?? {};
  const issues = zodIssues(loc, op.schema, raw, ["chain", i, name]);
  if (issues.length) {
    errors.push(...issues);
    return null;
  }
  return { op: name, config: op.schema.parse(raw) };
}

/**
 * Draws each op's parameters a few times against stand-in banks, so a setting that only fails
 * when sampled (a VTLP knee past Nyquist at this sample rate, rooms that cannot be built) stops
 * the recipe here, with its position, instead of the planner midway.
 */
function probeSamplers(loc: Located, chain: ChainStep[], recipe: { seed: number; sample_rate: number; noise_banks: Array<{ name: string }>; rir_banks: Array<{ name: string }> }, errors: RecipeError[]): void {
  // One stand-in item per category any op asks for, so category filters find something.
  const categories = new Set<string>(["probe"]);
  for (const step of chain) for (const c of ((step.config as { categories?: string[] }).categories ?? [])) categories.add(c);
  const stand = (list: Array<{ name: string }>) =>
    new Map(list.map((b) => [b.name, [...categories].map((category) => ({ id: `probe-${category}`, path: "", category, durationS: 10 }))]));
  const banks = { noise: stand(recipe.noise_banks), rir: stand(recipe.rir_banks) };
  chain.forEach((step, i) => {
    const op = OPS.get(step.op)!;
    for (let k = 0; k < 4; k++) {
      try {
        op.sample(step.config, rngFor(recipe.seed, `probe#${k}`, i), { sampleRate: recipe.sample_rate, durationS: 3, banks, copy: k });
      } catch (e: any) {
        errors.push(err(loc, ["chain", i, step.op], `cannot be sampled at sample_rate ${recipe.sample_rate}: ${String(e?.message ?? e).split("\n")[0]}`, undefined, step.op));
        return;
      }
    }
  });
}

/** Reads, validates and resolves a recipe. Throws RecipeErrors listing every problem found. */
export function loadRecipe(file: string, cwd = process.cwd()): Recipe {
  const display = path.relative(cwd, path.resolve(cwd, file)) || file;
  let text: string;
  try {
    text = readFileSync(path.resolve(cwd, file), "utf8");
  } catch (e: any) {
    throw new RecipeErrors([new RecipeError(display, 0, 0, [], e.code === "ENOENT" ? "recipe file not found" : `cannot read recipe: ${e.message}`)]);
  }
  return parseRecipe(text, display, cwd);
}

export function parseRecipe(text: string, file: string, cwd = process.cwd()): Recipe {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const loc: Located = { doc, lines, file };
  if (doc.errors.length) {
    throw new RecipeErrors(
      doc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        return new RecipeError(file, line, col, [], `YAML: ${e.message.split("\n")[0]}`);
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (e: any) {
    // An alias (*name) with no anchor before it, or aliases that expand past yaml's limit: point at
    // the first alias that does not resolve (else at the start).
    let offset = 0;
    visit(doc, {
      Alias(_, node) {
        if (node.resolve(doc) === undefined && node.range) {
          offset = node.range[0];
          return visit.BREAK;
        }
      },
    });
    const { line, col } = lines.linePos(offset);
    throw new RecipeErrors([new RecipeError(file, line, col, [], `YAML: ${String(e?.message ?? e).split("\n")[0]}`)]);
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new RecipeErrors([new RecipeError(file, 1, 1, [], "a recipe is a YAML mapping (seed:, inputs:, chain:, output: …)")]);
  }
  const errors = zodIssues(loc, recipeSchema, data, []);
  // Check the chain even when the rest has errors, so one pass shows every problem.
  const chain: ChainStep[] = [];
  const rawChain = (data as { chain?: unknown }).chain;
  if (Array.isArray(rawChain)) {
    rawChain.forEach((entry, i) => {
      if (entry === null || typeof entry !== "object" || Array.isArray(entry)) return; // reported by the schema
      const step = chainStep(loc, entry as Record<string, unknown>, i, errors);
      if (step) chain.push(step);
    });
  }
  if (errors.length) throw new RecipeErrors(errors);
  const parsed = recipeSchema.parse(data);

  // Banks: unique names, existing folders, and every op's bank reference resolves.
  const bankNames = { noise: new Set<string>(), rir: new Set<string>() };
  for (const [kind, list, field] of [["noise", parsed.noise_banks, "noise_banks"], ["rir", parsed.rir_banks, "rir_banks"]] as const) {
    list.forEach((b: { name: string; path?: string }, i) => {
      if (bankNames[kind].has(b.name)) errors.push(err(loc, [field, i, "name"], `duplicate bank name "${b.name}"`));
      bankNames[kind].add(b.name);
      if (b.path === undefined) return; // a simulated bank
      b.path = resolveLocation(cwd, b.path); // s3:// URLs are checked when the bank is read
      if (!isS3Url(b.path) && !existsSync(b.path)) errors.push(err(loc, [field, i, "path"], `not found: ${b.path}`));
    });
  }
  chain.forEach((step, i) => {
    const op = OPS.get(step.op)!;
    for (const ref of op.bankRefs?.(step.config) ?? []) {
      if (!bankNames[ref.kind].has(ref.bank)) {
        const list = ref.kind === "noise" ? "noise_banks" : "rir_banks";
        const guess = nearest(ref.bank, bankNames[ref.kind]);
        errors.push(
          err(loc, ["chain", i, step.op, ref.field], `no ${ref.kind} bank named "${ref.bank}" in ${list}`, guess ? `did you mean "${guess}"?` : bankNames[ref.kind].size ? `banks: ${[...bankNames[ref.kind]].join(", ")}` : `add one under ${list}`),
        );
      }
    }
  });
  parsed.inputs.forEach((input, i) => {
    input.path = resolveLocation(cwd, input.path);
    if (!isS3Url(input.path) && !existsSync(input.path)) errors.push(err(loc, ["inputs", i, "path"], `not found: ${input.path}`));
    // Synthetic speech: every voice must exist in espeak-ng and speak the language (no engine start needed).
    if (input.format === "tts") for (const p of checkVoices(input.language, input.voices)) errors.push(err(loc, ["inputs", i, ...p.path], p.message, p.hint));
  });
  parsed.output.path = resolveLocation(cwd, parsed.output.path);
  if (errors.length) throw new RecipeErrors(errors);
  probeSamplers(loc, chain, parsed, errors);
  if (errors.length) throw new RecipeErrors(errors);

  const canonical = JSON.stringify({ ...parsed, chain });
  return {
    ...parsed,
    chain,
    file,
    hash: createHash("sha256").update(canonical).digest("hex"),
  };
}

// Exported for tests of the hint logic.
export { editDistance };
