// Sharded runs: N worker processes (each taking shards ≡ K mod N), then `merge`, give the same
// bytes as one process; `verify` re-checks everything and catches damage.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, noiseSignal, speechLike, tempDir, writeNemoCorpus, writeWav } from "./helpers/fixtures.js";

let dir: string;
beforeAll(() => {
  dir = tempDir("augment-sharded-");
  writeNemoCorpus(
    path.join(dir, "c"),
    Array.from({ length: 10 }, (_, i) => ({ id: `s${i % 3}-u${i}`, speaker: `s${i % 3}`, text: `t ${i}`, samples: speechLike(8000 + 1500 * i, 16000, 110, i + 1), sampleRate: 16000 })),
  );
  writeWav(path.join(dir, "n/a/x.wav"), noiseSignal(5 * 16000, 2), 16000);
  writeFileSync(
    path.join(dir, "r.yaml"),
    "seed: 11\ninputs: [{format: nemo, path: c/manifest.json}]\nnoise_banks: [{name: n, path: n}]\ncopies: 3\nchain:\n  - speed: {factors: [0.9, 1.1]}\n  - noise: {bank: n, snr_db: [5, 15]}\noutput: {path: out, shard_max_items: 4}\n",
  );
});

function outputs(out: string) {
  const idx = JSON.parse(readFileSync(path.join(out, "index.json"), "utf8"));
  const shards = Object.values<any>(idx.shards).map((s) => [s.files, s.sha256, s.items]);
  const files = shards.map((s) => readFileSync(path.join(out, (s[0] as string[])[0])).toString("base64"));
  return {
    shards,
    files,
    nemo: readFileSync(path.join(out, "nemo_manifest.json"), "utf8"),
    sharded: readFileSync(path.join(out, "sharded_manifests/manifest_3.json"), "utf8"),
    errors: readFileSync(path.join(out, "errors.jsonl"), "utf8"),
  };
}

describe("sharded runs", () => {
  it("1 process vs 4 worker processes + merge: byte-identical shards and manifests; verify passes", () => {
    expect(cli(["run", "r.yaml", "--quiet", "--out", "one"], dir).code).toBe(0);
    for (let k = 0; k < 4; k++) {
      const r = cli(["run", "r.yaml", "--quiet", "--out", "four", "--worker", String(k), "--workers", "4", "--threads", "1"], dir);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      if (k < 3) {
        // Until every worker is done, merge refuses and names who is missing.
        const early = cli(["merge", "four"], dir);
        expect(early.code).toBe(1);
        expect(early.stderr).toMatch(/shards are not complete.*re-run worker\(s\) .*of 4/);
      }
    }
    const m = cli(["merge", "four"], dir);
    expect(m.stderr).toBe("");
    expect(m.code).toBe(0);
    const a = outputs(path.join(dir, "one"));
    expect(a.shards.length).toBe(8); // 30 items, 4 per shard
    expect(outputs(path.join(dir, "four"))).toEqual(a);
    const v = cli(["verify", "four"], dir);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/8 shards, 30 items, ok/);
  });

  it("Slurm array variables select the worker", () => {
    for (let k = 0; k < 2; k++) {
      const r = cli(["run", "r.yaml", "--out", "slurm"], dir, { SLURM_ARRAY_TASK_ID: String(k + 1), SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_COUNT: "2" });
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`worker ${k} of 2 \\(from Slurm array\\)`));
    }
    expect(cli(["merge", "slurm"], dir).code).toBe(0);
    expect(outputs(path.join(dir, "slurm")).nemo).toBe(outputs(path.join(dir, "one")).nemo);
  });

  it("verify catches a damaged shard and a manifest that disagrees with its shard", () => {
    expect(cli(["run", "r.yaml", "--quiet", "--out", "v"], dir).code).toBe(0);
    const shard = path.join(dir, "v/shard-000002.tar");
    const bytes = readFileSync(shard);
    bytes[5000] ^= 0xff;
    writeFileSync(shard, bytes);
    const man = path.join(dir, "v/sharded_manifests/manifest_4.json");
    writeFileSync(man, readFileSync(man, "utf8").replace(/"audio_filepath":"[^"]+"/, '"audio_filepath":"nope.flac"'));
    const v = cli(["verify", "v"], dir);
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/shard 2: shard-000002\.tar: sha256 differs from the index/);
    expect(v.stderr).toMatch(/manifest_4\.json: nope\.flac not in shard-000004\.tar/);
  });
});
