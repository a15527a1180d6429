// Comparing an output folder with a reference run's, file by file, for the crash, disk-full and
// fuzz tests: under a final name a file must be complete (equal to the reference), never partial.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { noiseSignal, speechLike, writeNemoCorpus, writeWav } from "./fixtures.js";

/** Temporary names of the atomic writer (`.<name>.tmp-<pid>`). */
export const TMP_NAME = /^\..*\.tmp-\d+$/;
/** summary.json fields that depend on the clock or the machine. */
const VOLATILE = ["wall_s", "x_realtime", "audio_hours_per_wall_s", "peak_rss_mb"];

export function walkFiles(root: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...walkFiles(root, r));
    else out.push(r);
  }
  return out;
}

export function snapshot(root: string): Map<string, Buffer> {
  return new Map(walkFiles(root).map((f) => [f, readFileSync(path.join(root, f))]));
}

/** summary.json or index.json without the fields that may differ after a resume. */
function stable(rel: string, bytes: Buffer): any {
  const s = JSON.parse(bytes.toString("utf8"));
  if (rel === "summary.json") {
    for (const k of VOLATILE) delete s[k];
    delete s.items.resumed_shards;
  } else delete s.wall_s;
  return s;
}

/**
 * Why one file under a final name is not acceptable, or null. It must equal the reference file;
 * index.json may (mid-run) list a subset of the reference's shards, each entry equal; index.json
 * and summary.json are compared without their timing fields.
 */
export function fileProblem(ref: Map<string, Buffer>, rel: string, bytes: Buffer, final: boolean): string | null {
  const want = ref.get(rel);
  if (!want) return `${rel}: not in the reference output`;
  if (rel === "index.json" || rel === "summary.json") {
    let got: any;
    try {
      got = stable(rel, bytes);
    } catch (e) {
      return `${rel}: unparseable (${(e as Error).message})`;
    }
    const exp: any = stable(rel, want);
    if (rel === "index.json" && !final) {
      const { shards, ...head } = got;
      const { shards: refShards, ...refHead } = exp;
      if (JSON.stringify(head) !== JSON.stringify(refHead)) return `${rel}: header differs`;
      for (const [k, e] of Object.entries(shards)) if (JSON.stringify(e) !== JSON.stringify(refShards[k])) return `${rel}: shard ${k} entry differs`;
      return null;
    }
    return JSON.stringify(got) === JSON.stringify(exp) ? null : `${rel}: differs from the reference`;
  }
  return bytes.equals(want) ? null : `${rel}: ${bytes.length} bytes differ from the reference's ${want.length} (partial or wrong file under a final name)`;
}

/**
 * Checks every final-named file under `out` against `ref` (skipping files unchanged since the last
 * look, by inode, size and mtime, in `seen`). `final`: the run is complete, so index.json must be
 * whole and no temporary file may remain.
 */
export async function checkTree(out: string, ref: Map<string, Buffer>, seen = new Map<string, string>(), final = false): Promise<string[]> {
  const problems: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(path.join(out, rel), { withFileTypes: true });
    } catch {
      return; // not created yet, or being replaced
    }
    for (const e of entries) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) await visit(r);
      else if (TMP_NAME.test(e.name)) {
        if (final) problems.push(`${r}: temporary file left after a complete run`);
      } else {
        try {
          const st = await stat(path.join(out, r));
          const key = `${st.ino}:${st.size}:${st.mtimeMs}`;
          if (seen.get(r) === key) continue;
          seen.set(r, key);
          const p = fileProblem(ref, r, await readFile(path.join(out, r)), final);
          if (p) problems.push(p);
        } catch (err: any) {
          if (err?.code !== "ENOENT") throw err;
        }
      }
    }
  };
  await visit("");
  return problems;
}

/** The whole finished folder equals the reference: same file list, same bytes, no temporary files. */
export async function sameAsReference(out: string, ref: Map<string, Buffer>): Promise<string[]> {
  const files = walkFiles(out).sort();
  const want = [...ref.keys()].sort();
  const problems = [...(await checkTree(out, ref, new Map(), true))];
  for (const f of want) if (!files.includes(f)) problems.push(`${f}: missing`);
  return problems;
}

/**
 * A small run with several shards and some bad items: 10 utterances × 2 copies in shards of 3
 * items, batches of 2, one missing file and one silent one. Writes `recipe` (output `out`, plus
 * `output`, e.g. ", format: files") in `dir`.
 */
export function writeSmallRun(dir: string, output = "", recipe = "r.yaml"): void {
  writeNemoCorpus(
    path.join(dir, "c"),
    Array.from({ length: 10 }, (_, i) => ({ id: `s${i % 3}-u${i}`, speaker: `s${i % 3}`, text: `t ${i}`, samples: speechLike(8000 + 1500 * i, 16000, 110, i + 1), sampleRate: 16000 })),
    [{ audio_filepath: "audio/missing.wav", duration: 1, text: "gone", speaker: "s9" }],
  );
  writeWav(path.join(dir, "c/audio/s1-u4.wav"), new Float32Array(16000), 16000); // silent: an engine-stage error
  writeWav(path.join(dir, "n/a/x.wav"), noiseSignal(5 * 16000, 2), 16000);
  writeFileSync(
    path.join(dir, recipe),
    "seed: 11\ninputs: [{format: nemo, path: c/manifest.json}]\nnoise_banks: [{name: n, path: n}]\ncopies: 2\nengine: {batch_items: 2}\n" +
      `chain:\n  - speed: {factors: [0.9, 1.1]}\n  - noise: {bank: n, snr_db: [5, 15]}\noutput: {path: out, shard_max_items: 3${output}}\n`,
  );
}
