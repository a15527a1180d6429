// Every output format carries the synthetic-speech fields (synthetic, language, voice, rate_wpm,
// pitch) of items made by a `tts` input, read back with the independent readers of the format tests:
// Python tarfile/gzip/json/soundfile (Debian) and DuckDB for Parquet.
import { writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CLI, speechLike, tempDir, writeNemoCorpus } from "./helpers/fixtures.js";
import { pythonJson } from "./helpers/python.js";

/** Runs the built CLI without blocking the test runner's event loop (runs take many seconds). */
function cli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const SR = 16000;
let dir: string;

beforeAll(() => {
  dir = tempDir("augment-tts-formats-");
  writeNemoCorpus(path.join(dir, "corpus"), [{ id: "spk0-u0", speaker: "spk0", text: "real words", lang: "en", samples: speechLike(2 * SR, SR, 130, 3), sampleRate: SR }]);
  writeFileSync(path.join(dir, "sw.txt"), "Habari za asubuhi, rafiki yangu.\nLeo ni siku nzuri ya kwenda sokoni.\n");
});

async function run(output: string) {
  const sub = tempDir("augment-tts-fmt-");
  writeFileSync(
    path.join(sub, "r.yaml"),
    `seed: 3
sample_rate: ${SR}
inputs:
  - {format: nemo, path: ${dir}/corpus/manifest.json}
  - {format: tts, path: ${dir}/sw.txt, language: sw, voices: ["sw+Mr serious", sw+f3], rate_wpm: [150, 180], pitch: [40, 60]}
chain:
  - gain: {db: [-3, 3]}
output: ${output}
`,
  );
  const r = await cli(["run", "r.yaml", "--quiet", "--workers", "1"], sub);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return path.join(sub, "out");
}

/** What every format must say of an item: synthetic (with voice, rate, pitch) or real. */
function checkFields(rows: Array<{ id: string; synthetic?: unknown; voice?: unknown; rate_wpm?: unknown; pitch?: unknown; language?: unknown }>, realValue: "absent" | "sentinel" | "null") {
  expect(rows).toHaveLength(3);
  const synthetic = rows.filter((r) => r.id.startsWith("tts_"));
  expect(synthetic).toHaveLength(2);
  for (const r of synthetic) {
    expect(r.synthetic).toBe(true);
    expect(["sw+Mr serious", "sw+f3"]).toContain(r.voice);
    expect(r.rate_wpm).toBeGreaterThanOrEqual(150);
    expect(r.rate_wpm).toBeLessThanOrEqual(180);
    expect(r.pitch).toBeGreaterThanOrEqual(40);
    expect(r.pitch).toBeLessThanOrEqual(60);
    expect(r.language).toBe("sw");
    // The speaker is the voice and the rate/pitch buckets.
    expect(r.id).toMatch(new RegExp(`^tts_${String(r.voice).replace(/[+ ]/g, "_")}_r${Math.floor(Number(r.rate_wpm) / 20) * 20}_p${Math.floor(Number(r.pitch) / 10) * 10}-`));
  }
  const real = rows.find((r) => !r.id.startsWith("tts_"))!;
  expect(real.language).toBe("en");
  if (realValue === "absent") expect([real.synthetic, real.voice, real.rate_wpm, real.pitch]).toEqual([undefined, undefined, undefined, undefined]);
  if (realValue === "sentinel") expect([real.synthetic, real.voice, real.rate_wpm, real.pitch]).toEqual([false, "", -1, -1]);
  if (realValue === "null") expect([real.synthetic, real.voice, real.rate_wpm, real.pitch]).toEqual([false, null, null, null]);
}

describe("synthetic-speech fields in every output format", () => {
  it("WebDataset (.json per item) and its NeMo manifests", async () => {
    const out = await run("{path: out, format: webdataset, manifests: [nemo]}");
    const r = pythonJson<{ members: any[]; nemo: any[]; sharded: any[] }>(
      `
import tarfile, json, sys, os, glob, io
import soundfile as sf
out = sys.argv[1]
members = []
for shard in sorted(glob.glob(os.path.join(out, "*.tar"))):
    with tarfile.open(shard) as t:
        for n in t.getnames():
            if n.endswith(".json"):
                m = json.load(t.extractfile(n))
                frames = sf.info(io.BytesIO(t.extractfile(n[:-5] + ".flac").read())).frames
                members.append({"id": m["id"], "language": m.get("language"), "frames": frames, "num_samples": m["num_samples"], **(m.get("fields") or {})})
nemo = [json.loads(l) for l in open(os.path.join(out, "nemo_manifest.json"))]
sharded = [json.loads(l) for f in sorted(glob.glob(os.path.join(out, "sharded_manifests", "*.json"))) for l in open(f)]
print(json.dumps({"members": members, "nemo": nemo, "sharded": sharded}))
`,
      [out],
    );
    checkFields(r.members, "absent");
    for (const m of r.members) expect(m.frames).toBe(m.num_samples);
    const nemo = r.nemo.map((e) => ({ ...e, id: e.audio_filepath.replace(/\.flac$/, ""), language: e.lang }));
    checkFields(nemo, "absent");
    expect(r.sharded).toEqual(r.nemo);
  });

  it("Lhotse manifests (under custom) and the Kaldi data dir (utt2synth)", async () => {
    const out = await run("{path: out, format: files, manifests: [nemo, lhotse, kaldi]}");
    const r = pythonJson<{ sups: any[]; cuts: any[]; synth: string[]; utts: string[]; sortedOk: boolean }>(
      `
import gzip, json, sys, os
out = sys.argv[1]
sups = [json.loads(l) for l in gzip.open(os.path.join(out, "lhotse", "train", "supervisions.jsonl.gz"), "rt", encoding="utf-8")]
cuts = [json.loads(l) for l in gzip.open(os.path.join(out, "lhotse", "train", "cuts.jsonl.gz"), "rt", encoding="utf-8")]
d = os.path.join(out, "data", "train")
synth = open(os.path.join(d, "utt2synth"), encoding="utf-8").read().splitlines()
utts = [l.split(" ", 1)[0] for l in open(os.path.join(d, "utt2spk"), encoding="utf-8").read().splitlines()]
keys = [l.split(" ", 1)[0].encode() for l in synth]
print(json.dumps({"sups": sups, "cuts": cuts, "synth": synth, "utts": utts, "sortedOk": keys == sorted(keys)}))
`,
      [out],
    );
    checkFields(r.sups.map((s) => ({ id: s.id, language: s.language, ...s.custom })), "absent");
    expect(r.cuts.map((c) => c.supervisions[0].custom)).toEqual(r.sups.map((s) => s.custom));
    // utt2synth: one line per utterance, in utt2spk's order, key=value tokens (spaces percent-encoded).
    expect(r.sortedOk).toBe(true);
    expect(r.synth.map((l) => l.split(" ")[0])).toEqual(r.utts);
    const parsed = r.synth.map((l) => {
      const [id, ...kv] = l.split(" ");
      const o: Record<string, unknown> = Object.fromEntries(kv.map((t) => t.split("=")).map(([k, v]) => [k, decodeURIComponent(v)]));
      return { id, language: o.language, ...(o.synthetic === "1" ? { synthetic: true, voice: o.voice, rate_wpm: Number(o.rate_wpm), pitch: Number(o.pitch) } : {}) };
    });
    checkFields(parsed, "absent");
    expect(r.synth.some((l) => l.includes("voice=sw+Mr%20serious") || l.includes("voice=sw+f3"))).toBe(true);
  });

  it("Hugging Face audiofolder: the same four columns and JSON types in every row", async () => {
    const out = await run("{path: out, format: hf_audiofolder, manifests: []}");
    const rows = pythonJson<any[]>(
      `
import json, sys, os
rows = [json.loads(l) for l in open(os.path.join(sys.argv[1], "train", "metadata.jsonl"), encoding="utf-8")]
for r in rows: r["_types"] = [type(r[k]).__name__ for k in ("synthetic", "voice", "rate_wpm", "pitch")]
print(json.dumps(rows))
`,
      [out],
    );
    for (const row of rows) {
      expect(Object.keys(row).slice(-5, -1)).toEqual(["synthetic", "voice", "rate_wpm", "pitch"]);
      expect(row._types).toEqual(["bool", "str", "int", "int"]);
    }
    checkFields(rows, "sentinel");
  });

  it("Hugging Face Parquet: nullable bool/string/int32 columns, declared in the huggingface features (read by DuckDB)", async (ctx) => {
    const out = await run("{path: out, format: hf_parquet, manifests: []}");
    let db: any;
    try {
      const { DuckDBInstance } = await import("@duckdb/node-api");
      db = await (await DuckDBInstance.create(":memory:")).connect();
    } catch (err) {
      console.warn(`SKIPPED: Parquet reader @duckdb/node-api not available (${(err as Error).message})`);
      return ctx.skip();
    }
    const file = path.join(out, "data", "train-00000-of-00001.parquet").replaceAll("'", "''");
    const q = async (sql: string) => (await db.runAndReadAll(sql)).getRowObjects();
    const described = await q(`DESCRIBE SELECT * FROM '${file}'`);
    expect(described.slice(-4).map((r: any) => [r.column_name, r.column_type])).toEqual([
      ["synthetic", "BOOLEAN"],
      ["voice", "VARCHAR"],
      ["rate_wpm", "INTEGER"],
      ["pitch", "INTEGER"],
    ]);
    const kv = await q(`SELECT decode(value) AS v FROM parquet_kv_metadata('${file}') WHERE decode(key) = 'huggingface'`);
    const features = JSON.parse(kv[0].v).info.features;
    expect(Object.keys(features).slice(-4)).toEqual(["synthetic", "voice", "rate_wpm", "pitch"]);
    expect([features.synthetic.dtype, features.voice.dtype, features.rate_wpm.dtype, features.pitch.dtype]).toEqual(["bool", "string", "int32", "int32"]);
    const rows = await q(`SELECT id, language, synthetic, voice, rate_wpm, pitch FROM '${file}'`);
    checkFields(rows as any[], "null");
    db.closeSync();
  });

  it("Lhotse Shar cuts and NeMo tarred manifests", async () => {
    const shar = await run("{path: out, format: lhotse_shar, manifests: []}");
    const cuts = pythonJson<any[]>(
      `
import gzip, json, sys, os, glob
d = os.path.join(sys.argv[1], "shar")
print(json.dumps([json.loads(l) for f in sorted(glob.glob(os.path.join(d, "cuts.*.jsonl.gz"))) for l in gzip.open(f, "rt", encoding="utf-8")]))
`,
      [shar],
    );
    checkFields(cuts.map((c) => ({ id: c.id, language: c.supervisions[0].language, ...c.supervisions[0].custom })), "absent");
    const tarred = await run("{path: out, format: nemo_tarred, manifests: [nemo]}");
    const entries = pythonJson<any[]>(
      `
import json, sys, os, glob
print(json.dumps([json.loads(l) for f in sorted(glob.glob(os.path.join(sys.argv[1], "sharded_manifests", "manifest_*.json"))) for l in open(f, encoding="utf-8")]))
`,
      [tarred],
    );
    checkFields(entries.map((e) => ({ ...e, id: e.audio_filepath.replace(/\.flac$/, ""), language: e.lang })), "absent");
  });
});
