// Every output format through `augment run` with two splits, checked by `augment verify` and by
// independent readers (Python tarfile/gzip/json/soundfile; the format tests check each in depth).
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, speechLike, tempDir, writeWav } from "./helpers/fixtures.js";
import { pythonJson } from "./helpers/python.js";

let dir: string;
beforeAll(() => {
  dir = tempDir("augment-formats-");
  const lines: string[] = [];
  for (let i = 0; i < 8; i++) {
    writeWav(path.join(dir, `a/u${i}.wav`), speechLike(9000 + 700 * i, 16000, 100 + i * 10, i + 1), 16000);
    lines.push(JSON.stringify({ audio_filepath: `a/u${i}.wav`, duration: (9000 + 700 * i) / 16000, text: `words ${i}`, speaker: `s${i % 3}`, lang: "en", split: i < 6 ? "train" : "dev", words: [{ word: "words", start: 0.1, end: 0.3 }] }));
  }
  writeFileSync(path.join(dir, "m.json"), lines.join("\n") + "\n");
});

function run(format: string, extra = "", manifests = "[nemo]") {
  const out = `out-${format}`;
  writeFileSync(
    path.join(dir, `${format}.yaml`),
    `seed: 4\ninputs: [{format: nemo, path: m.json}]\ncopies: 3\nsplits: {augment: [train]}\nchain:\n  - speed: {factors: [0.9, 1.1]}\noutput: {path: ${out}, format: ${format}, shard_max_items: 4, manifests: ${manifests}${extra}}\n`,
  );
  const r = cli(["run", `${format}.yaml`, "--quiet", "--workers", "2"], dir);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const v = cli(["verify", out], dir);
  expect(v.stderr).toBe("");
  expect(v.stdout).toMatch(/, ok$/m);
  return { out: path.join(dir, out), stdout: r.stdout };
}

describe("output formats end to end", () => {
  it("nemo_tarred: equal shards (padded with extra copies), a multiple of num_gpus, config printed", () => {
    const { out, stdout } = run("nemo_tarred", ", num_gpus: 4");
    // train: 18 items → 8 shards (a multiple of 4) of 3 after padding 6 extra copies; dev: 2 clean items.
    const train = readdirSync(path.join(out, "train")).filter((f) => /^audio_\d+\.tar$/.test(f));
    expect(train.length).toBe(8);
    const counts = pythonJson<number[]>(
      `import tarfile, sys, json, glob\nprint(json.dumps([len(tarfile.open(f).getnames()) for f in sorted(glob.glob(sys.argv[1] + "/audio_*.tar"))]))`,
      [path.join(out, "train")],
    );
    expect(new Set(counts)).toEqual(new Set([3]));
    expect(stdout).toMatch(/added 6 extra augmented copies/);
    expect(stdout).toMatch(/tarred_audio_filepaths: .*audio__OP_0\.\.7_CL_\.tar/);
    const manifest = readFileSync(path.join(out, "train/tarred_audio_manifest.json"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(manifest).toHaveLength(24);
    expect(existsSync(path.join(out, "train/metadata.yaml"))).toBe(true);
  });

  it("lhotse_shar: only cuts/recording files in the Shar folder, paired in order", () => {
    const { out } = run("lhotse_shar", "", "[]");
    const files = readdirSync(path.join(out, "train/shar")).sort();
    expect(files.every((f) => /^(cuts\.\d{6}\.jsonl\.gz|recording\.\d{6}\.tar)$/.test(f))).toBe(true);
    const ok = pythonJson<boolean>(
      `import tarfile, gzip, json, sys, glob
d = sys.argv[1]
good = True
for cuts in sorted(glob.glob(d + "/cuts.*.jsonl.gz")):
    ids = [json.loads(l)["id"] for l in gzip.open(cuts, "rt")]
    names = tarfile.open(cuts.replace("cuts.", "recording.").replace(".jsonl.gz", ".tar")).getnames()
    good &= names == [n for i in ids for n in (i + ".flac", i + ".json")]
print(json.dumps(good))`,
      [path.join(out, "train/shar")],
    );
    expect(ok).toBe(true);
  });

  it("kaldi: WAV files and a sorted data dir per split; lhotse manifests beside them", () => {
    const { out } = run("kaldi", ", audio: wav", "[kaldi, lhotse, nemo]");
    for (const sp of ["train", "dev"]) {
      const dataDir = path.join(out, sp, "data");
      const text = readFileSync(path.join(dataDir, "text"), "utf8").trim().split("\n");
      expect(text.length).toBe(sp === "train" ? 18 : 2);
      const ids = text.map((l) => l.split(" ")[0]);
      expect(ids).toEqual([...ids].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
      expect(existsSync(path.join(out, sp, "lhotse"))).toBe(true);
    }
  });

  it("hf_audiofolder: train/ and validation/ with metadata.jsonl beside the audio", () => {
    const { out } = run("hf_audiofolder", "", "[nemo, lhotse]");
    const rows = (sp: string) => readFileSync(path.join(out, sp, "metadata.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(rows("train")).toHaveLength(18);
    expect(rows("validation")).toHaveLength(2);
    for (const r of rows("train")) expect(existsSync(path.join(out, "train", r.file_name))).toBe(true);
  });

  it("hf_parquet: data/<split>-NNNNN-of-NNNNN.parquet", () => {
    const { out } = run("hf_parquet", "", "[]");
    const files = readdirSync(path.join(out, "data")).sort();
    expect(files).toEqual(["train-00000-of-00005.parquet", "train-00001-of-00005.parquet", "train-00002-of-00005.parquet", "train-00003-of-00005.parquet", "train-00004-of-00005.parquet", "validation-00000-of-00001.parquet"]);
  });

  it("refuses impossible combinations before any work", () => {
    writeFileSync(path.join(dir, "bad.yaml"), "inputs: [{format: nemo, path: m.json}]\noutput: {format: webdataset, manifests: [kaldi]}\n");
    const r = cli(["validate", "bad.yaml"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/output\.manifests\[0\]: `kaldi` manifests point at audio files/);
  });
});
