// `augment verify OUT`: re-checks what a finished run wrote: every shard's size and sha256 against
// the index, item counts, and that manifests and shards agree (each manifest entry names a member
// that is in its shard, and each shard's audio members are in the manifest).
import { readFile } from "node:fs/promises";
import path from "node:path";
import { readRecords } from "../writers/manifest.js";
import { listTar } from "../writers/tar.js";
import { splitDir } from "./formats.js";
import { openOutput } from "./output.js";
import { INDEX_FILE, PLAN_FILE, readJson, shardProblem, type IndexFile, type PlanFile } from "./state.js";

export interface VerifyReport {
  shards: number;
  items: number;
  problems: string[];
}

async function jsonl(file: string): Promise<any[]> {
  return (await readFile(file, "utf8")).split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

export async function verify(out: string): Promise<VerifyReport> {
  // An s3:// output is checked on downloaded copies, one shard at a time (disk stays bounded).
  const output = await openOutput(out);
  await output.pullState();
  const outDir = output.dir;
  const problems: string[] = [];
  const plan = await readJson<PlanFile>(path.join(outDir, PLAN_FILE));
  const index = await readJson<IndexFile>(path.join(outDir, INDEX_FILE));
  if (!plan || !index) return { shards: 0, items: 0, problems: [`${out}: no ${!plan ? PLAN_FILE : INDEX_FILE} (not a finished augment output; after sharded runs, run \`augment merge\`)`] };
  if (index.plan_hash !== plan.plan_hash) problems.push(`${INDEX_FILE} belongs to another plan than ${PLAN_FILE}`);
  let items = 0;
  let fetched: string[] = [];
  for (const s of plan.shards) {
    await output.drop(fetched);
    const e = index.shards[String(s.index)];
    if (!e) {
      problems.push(`shard ${s.index}: not in ${INDEX_FILE}`);
      continue;
    }
    fetched = [...e.files, e.records, ...(e.manifest ? [e.manifest] : [])];
    await output.fetch(fetched);
    const problem = await shardProblem(outDir, e);
    if (problem) {
      problems.push(`shard ${s.index}: ${problem}`);
      continue;
    }
    const records = [];
    for await (const r of readRecords(path.join(outDir, e.records))) records.push(r);
    if (records.length !== e.items) problems.push(`shard ${s.index}: ${records.length} item records, index says ${e.items}`);
    if (records.length + e.errors.length !== s.items) problems.push(`shard ${s.index}: ${records.length} written + ${e.errors.length} errors ≠ ${s.items} planned`);
    items += records.length;
    const tar = e.files.find((f) => f.endsWith(".tar"));
    if (tar) {
      const members = await listTar(path.join(outDir, tar));
      const names = new Set(members.map((m) => m.name));
      // Records name audio relative to the shard's folder; tar members have no folder.
      for (const r of records) if (!names.has(path.basename(r.audio))) problems.push(`shard ${s.index}: ${r.audio} not in ${tar}`);
      const audio = members.filter((m) => /\.(flac|wav)$/.test(m.name)).length;
      if (audio !== records.length) problems.push(`shard ${s.index}: ${audio} audio members, ${records.length} records`);
      if (e.manifest) {
        const lines = await jsonl(path.join(outDir, e.manifest));
        if (lines.length !== records.length) problems.push(`${e.manifest}: ${lines.length} lines, ${records.length} items`);
        for (const l of lines) if (!names.has(l.audio_filepath)) problems.push(`${e.manifest}: ${l.audio_filepath} not in ${tar}`);
      }
    }
  }
  if (plan.output.manifests.includes("nemo")) {
    let lines = 0;
    const name = plan.output.format === "nemo_tarred" ? "tarred_audio_manifest.json" : "nemo_manifest.json";
    const dirs = new Set(plan.splits.map((sp) => splitDir(outDir, plan.splits, sp, plan.output.format)));
    for (const d of dirs) {
      const file = path.join(d, name);
      await output.fetch([path.relative(outDir, file)]);
      try {
        lines += (await jsonl(file)).length;
      } catch {
        problems.push(`${path.relative(outDir, file)} missing or unreadable`);
      }
    }
    if (lines !== items) problems.push(`NeMo manifests list ${lines} items, shards hold ${items}`);
  }
  return { shards: plan.shards.length, items, problems };
}
