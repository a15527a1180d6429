// End to end through the built CLI: measured properties of what `augment run` writes, read back by
// independent readers (Python tarfile + soundfile, Debian packages).
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, noiseSignal, speechLike, tempDir, writeNemoCorpus, writeWav, type CorpusItem } from "./helpers/fixtures.js";
import { pythonJson } from "./helpers/python.js";

const SR = 16000;

/** Reads every shard with tarfile + soundfile and returns what a consumer would see. */
const READ_SHARDS = `
import tarfile, sys, json, io, glob, os, re
import soundfile as sf
out = {"items": [], "problems": []}
for shard in sorted(glob.glob(os.path.join(sys.argv[1], "*.tar"))):
    with tarfile.open(shard, mode="r|*") as t:
        names = []
        members = {}
        for m in t:
            if not m.isreg(): out["problems"].append("non-regular member " + m.name)
            names.append(m.name)
            members[m.name] = t.extractfile(m).read()
    # members adjacent and complete: key.flac, key.json, key.txt in that order
    for i in range(0, len(names), 3):
        trio = names[i:i+3]
        key = trio[0].split(".", 1)[0]
        if not re.fullmatch(r"[A-Za-z0-9_-]+", key): out["problems"].append("bad key " + key)
        exts = [n.split(".", 1)[1] for n in trio]
        if [n.split(".", 1)[0] for n in trio] != [key]*3 or exts[1:] != ["json", "txt"]:
            out["problems"].append("not adjacent: " + ",".join(trio))
        audio, sr = sf.read(io.BytesIO(members[trio[0]]), dtype="float64")
        meta = json.loads(members[trio[1]])
        out["items"].append({"shard": os.path.basename(shard), "key": key, "ext": exts[0], "sr": sr, "n": len(audio),
            "meta": meta, "txt": members[trio[2]].decode("utf-8"), "audio": audio.tolist() if len(sys.argv) > 2 else None})
print(json.dumps(out))
`;

interface ShardItem {
  shard: string;
  key: string;
  ext: string;
  sr: number;
  n: number;
  meta: any;
  txt: string;
  audio: number[] | null;
}

function readShards(dir: string, withAudio = false) {
  return pythonJson<{ items: ShardItem[]; problems: string[] }>(READ_SHARDS, withAudio ? [dir, "audio"] : [dir]);
}

function readJsonl(file: string): any[] {
  return readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

function corpusItems(): CorpusItem[] {
  const items: CorpusItem[] = [];
  for (let i = 0; i < 8; i++) {
    const n = Math.round((1.2 + 0.3 * i) * SR);
    items.push({ id: `spk${i % 3}-utt${i}`, speaker: `spk${i % 3}`, text: `utterance number ${i} ünïcode ok`, lang: i % 2 ? "de" : "en", samples: speechLike(n, SR, 100 + 15 * i, i + 1), sampleRate: SR });
  }
  return items;
}

function recipeText(chain: string, extra = ""): string {
  return `seed: 99
sample_rate: ${SR}
inputs: [{format: nemo, path: corpus/manifest.json}]
noise_banks: [{name: nb, path: noise}]
rir_banks: [{name: rb, path: rirs}]
copies: 3
chain:
${chain}
output: {path: out, shard_max_items: 7}
${extra}`;
}

let dir: string;
beforeAll(() => {
  dir = tempDir("augment-e2e-");
  writeNemoCorpus(path.join(dir, "corpus"), corpusItems());
  writeWav(path.join(dir, "noise/white/w1.wav"), noiseSignal(12 * SR, 11), SR);
  writeWav(path.join(dir, "noise/hum/h1.wav"), Float32Array.from({ length: 10 * SR }, (_, i) => 0.2 * Math.sin((2 * Math.PI * 50 * i) / SR) + 0.05 * Math.sin((2 * Math.PI * 150 * i) / SR)), SR);
  const impulse = new Float32Array(800);
  impulse[40] = 0.5;
  writeWav(path.join(dir, "rirs/impulse.wav"), impulse, SR);
});

function runIn(recipe: string, args: string[] = []) {
  const sub = tempDir("augment-run-");
  // Each run gets its own folder but reads the shared fixtures by absolute path.
  writeFileSync(path.join(sub, "r.yaml"), recipe.replaceAll("corpus/", `${dir}/corpus/`).replace("path: noise}", `path: ${dir}/noise}`).replace("path: rirs}", `path: ${dir}/rirs}`));
  const r = cli(["run", "r.yaml", "--quiet", ...args], sub);
  return { ...r, out: path.join(sub, "out") };
}

describe("augment run end to end", () => {
  it("mixes noise at the planned SNR: measured back from the output within 0.1 dB", () => {
    const r = runIn(recipeText("  - noise: {bank: nb, snr_db: [-5, 25]}"), ["--workers", "2"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const measured = pythonJson<Array<{ planned: number; recorded: number; measured: number; id: string }>>(
      `
import tarfile, sys, json, io, glob, os
import numpy as np, soundfile as sf
root = sys.argv[1]
out = []
for shard in sorted(glob.glob(os.path.join(sys.argv[2], "*.tar"))):
    with tarfile.open(shard) as t:
        names = t.getnames()
        for name in names:
            if not name.endswith(".json"): continue
            key = name[:-5]
            meta = json.load(t.extractfile(name))
            y, sr = sf.read(io.BytesIO(t.extractfile(key + ".flac").read()), dtype="float64")
            clean, _ = sf.read(meta["source"]["audio"], dtype="float64")
            op = meta["ops"][0]
            noise, _ = sf.read(os.path.join(root, "noise", op["noise"] + ".wav"), dtype="float64")
            off = round(op["offset_s"] * sr)
            seg = noise[off:off + len(clean)]
            assert len(seg) == len(clean)
            A = np.stack([clean, seg], axis=1)
            (a, b), *_ = np.linalg.lstsq(A, y, rcond=None)
            snr = 10 * np.log10(np.sum((a * clean) ** 2) / np.sum((b * seg) ** 2))
            out.append({"id": key, "planned": op["snr_db"], "recorded": op["measured"]["snr_db"], "measured": snr})
print(json.dumps(out))
`,
      [dir, r.out],
    );
    expect(measured.length).toBe(24);
    for (const m of measured) {
      expect(Math.abs(m.measured - m.planned), m.id).toBeLessThan(0.1);
      expect(Math.abs(m.recorded - m.planned), m.id).toBeLessThan(0.01);
    }
    // The draws cover the range, not one value.
    const snrs = measured.map((m) => m.planned);
    expect(Math.max(...snrs) - Math.min(...snrs)).toBeGreaterThan(10);
  });

  it("speed factor f: length round(n/f) ± 1 and a 1 kHz sine comes out at f kHz within 0.1%", () => {
    const sub = tempDir("augment-speed-");
    const n = 3 * SR;
    const sine = Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / SR));
    writeNemoCorpus(path.join(sub, "c"), [{ id: "s-sine", speaker: "s", text: "sine", samples: sine, sampleRate: SR }]);
    writeFileSync(path.join(sub, "r.yaml"), `seed: 5\ninputs: [{format: nemo, path: c/manifest.json}]\ncopies: 12\nchain:\n  - speed: {factors: [0.9, 0.95, 1.1, 1.2]}\noutput: {path: out, audio: wav}\n`);
    const r = cli(["run", "r.yaml", "--quiet", "--workers", "1"], sub);
    expect(r.stderr).toBe("");
    const res = pythonJson<Array<{ f: number; n: number; freq: number; dur: number }>>(
      `
import tarfile, sys, json, io, glob, os
import numpy as np, soundfile as sf
out = []
for shard in sorted(glob.glob(os.path.join(sys.argv[1], "*.tar"))):
    with tarfile.open(shard) as t:
        for name in t.getnames():
            if not name.endswith(".json"): continue
            meta = json.load(t.extractfile(name))
            y, sr = sf.read(io.BytesIO(t.extractfile(name[:-5] + ".wav").read()), dtype="float64")
            seg = y[2000:-2000] * np.hanning(len(y) - 4000)
            N = 1 << 22
            spec = np.abs(np.fft.rfft(seg, N))
            k = int(np.argmax(spec))
            a, b, c = np.log(spec[k-1:k+2])
            k = k + 0.5 * (a - c) / (a - 2 * b + c)
            out.append({"f": meta["ops"][0]["factor"], "n": len(y), "freq": k * sr / N, "dur": meta["duration"]})
print(json.dumps(out))
`,
      [path.join(sub, "out")],
    );
    expect(res.length).toBe(12);
    for (const x of res) {
      expect(Math.abs(x.n - Math.round(n / x.f))).toBeLessThanOrEqual(1);
      expect(Math.abs(x.freq / (1000 * x.f) - 1)).toBeLessThan(0.001);
      expect(x.dur).toBe(x.n / SR);
    }
    expect(new Set(res.map((x) => x.f)).size).toBeGreaterThan(1);
  });

  it("reverb with a delayed-impulse RIR leaves the signal unshifted (direct path → time 0)", () => {
    const r = runIn(recipeText("  - reverb: {bank: rb, normalize: none}"), ["--workers", "0"]);
    expect(r.stderr).toBe("");
    const { items } = readShards(r.out, true);
    expect(items.length).toBe(24);
    const clean = new Map(corpusItems().map((c) => [c.id, c.samples]));
    for (const it of items) {
      const x = clean.get(it.meta.source.id)!;
      expect(it.n).toBe(x.length);
      expect(it.meta.ops[0].measured.direct_delay_samples).toBe(40);
      // y = 0.5·x exactly aligned, up to 16-bit quantisation.
      let err = 0;
      let ref = 0;
      for (let i = 0; i < x.length; i++) {
        const q = Math.round(x[i] * 32768) / 32768;
        err += (it.audio![i] - 0.5 * q) ** 2;
        ref += (0.5 * q) ** 2;
      }
      expect(Math.sqrt(err / ref)).toBeLessThan(2e-3);
    }
  });

  const QUICK_CHAIN = `  - speed: {factors: [0.9, 1.0, 1.1]}
  - reverb: {bank: rb, p: 0.5}
  - noise: {bank: nb, snr_db: [0, 20], p: 0.8}
  - gain: {db: [-6, 6]}`;

  it("same recipe and seed: byte-identical shards and manifests for 0, 1 and 2 workers", () => {
    const outs = ["0", "1", "2"].map((w) => runIn(recipeText(QUICK_CHAIN), ["--workers", w]));
    for (const o of outs) expect(o.stderr).toBe("");
    const files = (o: { out: string }) => {
      const idx = JSON.parse(readFileSync(path.join(o.out, "index.json"), "utf8"));
      return {
        shards: Object.values<any>(idx.shards).map((s) => [s.files, s.sha256, s.bytes, s.items]),
        nemo: readFileSync(path.join(o.out, "nemo_manifest.json"), "utf8"),
        shard0: readFileSync(path.join(o.out, "sharded_manifests/manifest_0.json"), "utf8"),
      };
    };
    const a = files(outs[0]);
    expect(a.shards.length).toBe(4); // 24 items, 7 per shard
    expect(files(outs[1])).toEqual(a);
    expect(files(outs[2])).toEqual(a);
    for (const s of a.shards) {
      const bytes = readFileSync(path.join(outs[2].out, (s[0] as string[])[0]));
      expect(bytes.equals(readFileSync(path.join(outs[0].out, (s[0] as string[])[0])))).toBe(true);
    }
  });

  it("every shard reads back in Python: adjacent members, valid ids, decodable audio, durations and texts right", () => {
    const r = runIn(recipeText(QUICK_CHAIN), ["--workers", "2"]);
    expect(r.code).toBe(0);
    const { items, problems } = readShards(r.out);
    expect(problems).toEqual([]);
    expect(items.length).toBe(24);
    const texts = new Map(corpusItems().map((c) => [c.id, c.text]));
    const manifest = readJsonl(path.join(r.out, "nemo_manifest.json"));
    expect(manifest.length).toBe(24);
    const byFile = new Map(manifest.map((m) => [m.audio_filepath, m]));
    for (const it of items) {
      expect(it.sr).toBe(SR);
      expect(it.txt).toBe(texts.get(it.meta.source.id));
      expect(it.meta.text).toBe(it.txt);
      const m = byFile.get(`${it.key}.${it.ext}`);
      expect(m, it.key).toBeDefined();
      expect(Math.abs(m.duration - it.n / it.sr)).toBeLessThan(0.001);
      expect(m.text).toBe(it.txt);
      expect(m.shard_id).toBe(Number(it.shard.match(/(\d{6})\.tar$/)![1]));
      expect(it.key.startsWith(m.speaker + "-")).toBe(true);
    }
    const keys = items.map((i) => i.key);
    expect(new Set(keys).size).toBe(keys.length);
    const summary = JSON.parse(readFileSync(path.join(r.out, "summary.json"), "utf8"));
    expect(summary.items).toMatchObject({ planned: 24, written: 24, errors: 0 });
    expect(summary.ops.speed.applied).toBe(24);
    expect(summary.hours.output).toBeCloseTo(manifest.reduce((s, m) => s + m.duration, 0) / 3600, 9);
  });

  it("resumes: a re-run keeps complete shards and redoes a damaged one, giving the same bytes", () => {
    const r = runIn(recipeText(QUICK_CHAIN), ["--workers", "1"]);
    const idx = JSON.parse(readFileSync(path.join(r.out, "index.json"), "utf8"));
    const shard1 = path.join(r.out, idx.shards["1"].files[0]);
    const good = readFileSync(shard1);
    writeFileSync(shard1, good.subarray(0, 1000)); // a damaged shard under its final name
    const again = cli(["run", "r.yaml", "--workers", "2"], path.dirname(r.out));
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/resuming: 3 of 4 shards already complete/);
    expect(readFileSync(shard1).equals(good)).toBe(true);
  });
});
