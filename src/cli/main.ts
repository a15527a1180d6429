#!/usr/bin/env node
// The `augment` command: parse arguments, call the library, print. Exit codes: 0 done,
// 1 the run failed (or passed --max-errors), 2 bad recipe or usage (nothing was done).
import { Command, InvalidArgumentError, Option } from "commander";
import { createWriteStream } from "node:fs";
import path from "node:path";
import { BankError } from "../banks/bank.js";
import { oneLine, RecipeErrors } from "../recipe/errors.js";
import { loadRecipe } from "../recipe/load.js";
import type { Recipe } from "../recipe/schema.js";
import { planReport, runReport } from "../run/report.js";
import { finalize, prepare, run, RunError, VERSION } from "../run/run.js";
import { simulateBank } from "../rooms/bank.js";
import { simulateSchema } from "../rooms/sample.js";
import { inspect } from "../run/inspect.js";
import { verify } from "../run/verify.js";
import { checkInput, SourceError } from "../sources/index.js";
import { isS3Url, StorageError } from "../storage/url.js";
import { WriteError } from "../writers/atomic.js";

function intArg(name: string, min = 0) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

interface CommonOpts {
  seed?: number;
  out?: string;
  workers?: number;
  limit?: number;
}

/** An output folder (resolved) or an s3:// URL (as given). */
function outLocation(out: string): string {
  return isS3Url(out) ? out : path.resolve(out);
}

function load(file: string, o: CommonOpts & { outIsOutputDir?: boolean }): Recipe {
  const recipe = loadRecipe(file);
  if (o.seed !== undefined) recipe.seed = o.seed;
  if (o.outIsOutputDir && o.out) recipe.output.path = outLocation(o.out);
  return recipe;
}

/** Prints known errors as one line each and exits; anything else is a bug and keeps its stack. */
function fail(e: unknown): never {
  if (e instanceof RecipeErrors) {
    for (const err of e.errors) process.stderr.write(`error: ${err.message}\n`);
    process.exit(2);
  }
  if (e instanceof SourceError || e instanceof BankError) {
    process.stderr.write(`error: ${oneLine(e.message)}\n`);
    process.exit(2);
  }
  if (e instanceof WriteError) {
    // Nothing partial is left under a final name (see atomic.ts), so a re-run resumes cleanly.
    process.stderr.write(`error: ${oneLine(e.message)}; the run stopped (complete shards are kept: fix the cause and re-run the same command to resume)\n`);
    process.exit(1);
  }
  if (e instanceof RunError || e instanceof StorageError) {
    process.stderr.write(`error: ${oneLine(e.message)}\n`);
    process.exit(e.exitCode);
  }
  process.stderr.write(`internal error (please report): ${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
}

const program = new Command();
program
  .name("augment")
  .description("Turn a speech corpus into a larger, harder, labeled ASR training set, as a YAML recipe says.")
  .version(VERSION)
  .showHelpAfterError();

/**
 * Which part of a sharded run this process is: `--worker K --workers N`, else a Slurm array task
 * (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT, SLURM_ARRAY_TASK_MIN) or a Kubernetes Indexed Job
 * (JOB_COMPLETION_INDEX, with the count from --workers or AUGMENT_WORKERS). Null: not sharded.
 */
function workerFromArgs(o: { worker?: number; workers?: number }, env = process.env): { index: number; count: number; from: string } | null {
  if (o.worker !== undefined) {
    if (o.workers === undefined) throw new RunError("--worker K needs --workers N (the number of workers)", 2);
    if (o.worker >= o.workers) throw new RunError(`--worker ${o.worker} must be below --workers ${o.workers}`, 2);
    return { index: o.worker, count: o.workers, from: "--worker" };
  }
  if (env.SLURM_ARRAY_TASK_ID !== undefined && env.SLURM_ARRAY_TASK_COUNT !== undefined) {
    const index = Number(env.SLURM_ARRAY_TASK_ID) - Number(env.SLURM_ARRAY_TASK_MIN ?? 0);
    const count = Number(env.SLURM_ARRAY_TASK_COUNT);
    if (!(Number.isInteger(index) && index >= 0 && index < count)) throw new RunError(`Slurm array task ${env.SLURM_ARRAY_TASK_ID} (min ${env.SLURM_ARRAY_TASK_MIN ?? 0}) is outside 0..${count - 1}; use --array=0-${count - 1}`, 2);
    return { index, count, from: "Slurm array" };
  }
  if (env.JOB_COMPLETION_INDEX !== undefined) {
    const count = o.workers ?? Number(env.AUGMENT_WORKERS);
    const index = Number(env.JOB_COMPLETION_INDEX);
    if (!(Number.isInteger(count) && count > 0)) throw new RunError("JOB_COMPLETION_INDEX is set (Kubernetes Indexed Job): give the job's completions as --workers N or AUGMENT_WORKERS", 2);
    if (!(Number.isInteger(index) && index >= 0 && index < count)) throw new RunError(`JOB_COMPLETION_INDEX ${index} is outside 0..${count - 1}`, 2);
    return { index, count, from: "Kubernetes Indexed Job" };
  }
  return null;
}

program
  .command("run")
  .description("Run a recipe: read inputs, plan, augment, write shards, manifests, summary.json and errors.jsonl.")
  .argument("<recipe>", "recipe YAML file")
  .option("--out <dir>", "output folder or s3://bucket/prefix (overrides output.path)")
  .option("--seed <n>", "seed (overrides the recipe's)", intArg("--seed"))
  .option("--workers <n>", "parallel workers: threads in this process (0 = main thread; default: the recipe's engine.workers, auto = one per core), or, with --worker, the number of worker processes/machines", intArg("--workers"))
  .option("--worker <k>", "be worker K of --workers N: process only the shards with index ≡ K (mod N), then run `augment merge` (Slurm arrays and Kubernetes Indexed Jobs are detected)", intArg("--worker"))
  .option("--threads <n>", "threads in this process when running as one of several workers (default: the recipe's engine.workers)", intArg("--threads"))
  .option("--limit <n>", "only the first N planned items, to try a recipe", intArg("--limit"))
  .option("--max-errors <n>", "fail (exit 1) when more than N items fail", intArg("--max-errors"))
  .option("--dry-run", "read inputs and plan, print what would be done, write nothing")
  .option("--force", "replace an output folder that holds a different run")
  .option("--quiet", "no progress output")
  .addOption(new Option("--device <device>", "where the chain runs (overrides engine.device): cpu, gpu (any WebGPU adapter, else an error), auto (a hardware GPU if present, else cpu)").choices(["auto", "cpu", "gpu"]))
  .addHelpText(
    "after",
    `
Re-running the same command resumes: complete shards (checked by sha256) are kept.
Examples:
  augment run recipes/quickstart.yaml --limit 20 --out out/try
  augment run recipe.yaml --worker 3 --workers 8 && augment merge out/x   # one of 8 machines`,
  )
  .action(async (file: string, o: CommonOpts & { worker?: number; threads?: number; maxErrors?: number; dryRun?: boolean; force?: boolean; quiet?: boolean; device?: "auto" | "cpu" | "gpu" }) => {
    try {
      const recipe = load(file, { ...o, outIsOutputDir: true });
      if (o.device) recipe.engine.device = o.device;
      const worker = workerFromArgs(o);
      if (o.dryRun) {
        const p = await prepare(recipe, { limit: o.limit });
        process.stdout.write(planReport(recipe, p.plan, p.catalog.utterances.length, p.catalog.errors.length + p.plan.errors.length) + "\n");
        process.stdout.write(`(dry run: nothing written; output would go to ${recipe.output.path})\n`);
        return;
      }
      const log = o.quiet ? undefined : (l: string) => process.stderr.write(l + "\n");
      if (worker && log) log(`worker ${worker.index} of ${worker.count} (from ${worker.from})`);
      const summary = await run(recipe, {
        limit: o.limit,
        threads: worker ? o.threads : (o.workers ?? o.threads),
        worker: worker ? { index: worker.index, count: worker.count } : undefined,
        maxErrors: o.maxErrors,
        quiet: o.quiet,
        force: o.force,
        log,
      });
      if (summary) {
        process.stdout.write(runReport(summary) + "\n");
        for (const note of (summary.notes as string[] | undefined) ?? []) process.stdout.write(`\n${note}\n`);
        process.stdout.write(`output: ${recipe.output.path} (summary.json, errors.jsonl)\n`);
      }
    } catch (e) {
      fail(e);
    }
  });

program
  .command("merge")
  .description("After sharded runs (--worker K --workers N): check that every shard is present and intact, then write the combined index, manifests, errors.jsonl and summary.json.")
  .argument("<out>", "the output folder (or s3:// URL) all workers wrote to")
  .action(async (out: string) => {
    try {
      const summary = await finalize(outLocation(out));
      process.stdout.write(runReport(summary) + "\n");
      for (const note of (summary.notes as string[] | undefined) ?? []) process.stdout.write(`\n${note}\n`);
    } catch (e) {
      fail(e);
    }
  });

function numbers(name: string, n?: number) {
  return (v: string) => {
    const xs = v.split(",").map((t) => Number(t.trim()));
    if (xs.some((x) => !Number.isFinite(x)) || (n !== undefined && xs.length !== n)) throw new InvalidArgumentError(`${name} takes ${n ?? "comma-separated"} numbers, like ${n === 3 ? "3,3,2.4" : "0.2,1.2"}`);
    return xs;
  };
}

const rir = program.command("rir").description("Room impulse responses.");
rir
  .command("simulate")
  .description("Simulate a RIR bank (shoebox rooms, image-source method + statistical late tail): WAV files, metadata.jsonl (room, positions, absorption, target and measured RT60/DRR/C50) and a contact sheet PNG.")
  .requiredOption("--out <dir>", "bank folder to write")
  .option("--count <n>", "number of RIRs", intArg("--count", 1), 100)
  .option("--seed <n>", "seed (rooms are the same as a recipe's simulated bank with this seed and --name)", intArg("--seed"), 0)
  .option("--name <name>", "bank name (part of the random keys, like a recipe's rir_banks name)", "rooms")
  .option("--rt60 <min,max>", "target RT60 range in seconds", numbers("--rt60", 2))
  .option("--room-min <x,y,z>", "smallest room in metres", numbers("--room-min", 3))
  .option("--room-max <x,y,z>", "largest room in metres", numbers("--room-max", 3))
  .option("--distance <min,max>", "source–mic distance range in metres", numbers("--distance", 2))
  .option("--min-wall <m>", "smallest distance of source and mics to any wall", Number)
  .option("--sample-rate <hz>", "sample rate of the RIRs", intArg("--sample-rate", 1000), 16000)
  .option("--figures <kind>", "sheet | each | both | none", "sheet")
  .option("--wav <kind>", "float32 | pcm16", "float32")
  .action(async (o: { out: string; count: number; seed: number; name: string; rt60?: number[]; roomMin?: number[]; roomMax?: number[]; distance?: number[]; minWall?: number; sampleRate: number; figures: string; wav: string }) => {
    try {
      const config: Record<string, unknown> = { count: o.count };
      if (o.rt60) config.rt60_s = o.rt60;
      if (o.roomMin || o.roomMax) config.room_m = { min: o.roomMin ?? [3, 3, 2.4], max: o.roomMax ?? [10, 8, 4] };
      if (o.distance) config.distance_m = o.distance;
      if (o.minWall !== undefined) config.min_wall_distance_m = o.minWall;
      const parsed = simulateSchema.safeParse(config);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) process.stderr.write(`error: ${issue.path.join(".") || "ranges"}: ${issue.message}\n`);
        process.exit(2);
      }
      if (!["sheet", "each", "both", "none"].includes(o.figures) || !["float32", "pcm16"].includes(o.wav)) throw new RunError("--figures is sheet|each|both|none and --wav float32|pcm16", 2);
      const summary = await simulateBank({
        count: o.count,
        outDir: path.resolve(o.out),
        seed: o.seed,
        name: o.name,
        config: parsed.data,
        sampleRate: o.sampleRate,
        figures: o.figures as "sheet",
        wav: o.wav as "float32",
      });
      process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
    } catch (e) {
      fail(e);
    }
  });

program
  .command("inspect")
  .description("Print tables of a finished output (hours per language and op, SNR/RT60/speed histograms) and write report.html with a sample of items: clean and augmented audio, spectrograms, ops.")
  .argument("<out>", "output folder")
  .option("--items <n>", "items in the report", intArg("--items", 1), 12)
  .option("--seed <n>", "which items to sample", intArg("--seed"), 0)
  .option("--report <dir>", "folder for report.html and its media (default OUT/report)")
  .action(async (out: string, o: { items: number; seed: number; report?: string }) => {
    try {
      if (isS3Url(out)) throw new RunError(`inspect reads a local folder; download ${out} first (e.g. aws s3 sync ${out} DIR)`, 2);
      const r = await inspect(path.resolve(out), { items: o.items, seed: o.seed, reportDir: o.report && path.resolve(o.report) });
      process.stdout.write(r.text + "\n\nreport: " + r.report + "\n");
    } catch (e) {
      fail(e);
    }
  });

program
  .command("verify")
  .description("Re-check a finished output: shard sizes and sha256 against index.json, item counts, and manifests against shard members. Exit 1 on any problem.")
  .argument("<out>", "output folder, or s3:// URL (each shard is downloaded and re-hashed)")
  .action(async (out: string) => {
    try {
      const r = await verify(outLocation(out));
      for (const p of r.problems) process.stderr.write(`problem: ${p}\n`);
      process.stdout.write(`${out}: ${r.shards} shards, ${r.items} items, ${r.problems.length ? `${r.problems.length} problems` : "ok"}\n`);
      if (r.problems.length) process.exit(1);
    } catch (e) {
      fail(e);
    }
  });

program
  .command("plan")
  .description("Show what a recipe would produce: items, hours per language and per op, output size estimate.")
  .argument("<recipe>", "recipe YAML file")
  .option("--out <file>", "also write every planned item (ops and parameters) as JSON lines to this file")
  .option("--seed <n>", "seed (overrides the recipe's)", intArg("--seed"))
  .option("--limit <n>", "only the first N planned items", intArg("--limit"))
  .action(async (file: string, o: CommonOpts) => {
    try {
      const recipe = load(file, o);
      const p = await prepare(recipe, { limit: o.limit });
      process.stdout.write(planReport(recipe, p.plan, p.catalog.utterances.length, p.catalog.errors.length + p.plan.errors.length) + "\n");
      if (o.out) {
        const ws = createWriteStream(o.out);
        for (const it of p.plan.items) {
          const line = { index: it.index, id: it.outId, shard: it.shard, source: it.utt.id, audio: it.utt.audio, text: it.utt.text, language: it.utt.language, speaker: it.utt.speaker, copy: it.copy, duration_s: it.estDurationS, ops: it.ops };
          if (!ws.write(JSON.stringify(line) + "\n")) await new Promise<void>((r) => ws.once("drain", () => r()));
        }
        await new Promise<void>((resolve, reject) => ws.end((err?: Error | null) => (err ? reject(err) : resolve())));
        process.stdout.write(`wrote ${p.plan.items.length} planned items to ${o.out}\n`);
      }
    } catch (e) {
      fail(e);
    }
  });

program
  .command("validate")
  .description("Check a recipe (schema, op parameters, bank names, paths) without reading any audio. Exit 2 on errors.")
  .argument("<recipe>", "recipe YAML file")
  .action(async (file: string) => {
    try {
      const recipe = load(file, {});
      for (const input of recipe.inputs) await checkInput(input);
      process.stdout.write(`${file}: ok (${recipe.inputs.length} inputs, ${recipe.chain.length} ops: ${recipe.chain.map((s) => s.op).join(", ") || "none"})\n`);
    } catch (e) {
      fail(e);
    }
  });

program
  .command("voices")
  .description("List the languages, voices and variants of the in-process espeak-ng synthesizer that `format: tts` inputs use. Exit 2 when it is not installed or knows no voice for LANG.")
  .argument("[language]", "only the voices that speak this language code (e.g. sw)")
  .action(async (language?: string) => {
    try {
      // Loaded here: other commands never touch the synthesizer.
      const { voicesReport } = await import("../tts/report.js");
      process.stdout.write((await voicesReport(language)) + "\n");
    } catch (e: any) {
      fail(e?.name === "TtsUnavailableError" || e?.name === "UnknownLanguageError" ? new RunError(e.message, 2) : e);
    }
  });

program.parseAsync(process.argv).catch(fail);
