// The telephony and voip presets end to end through the built CLI, run from a temporary working
// directory with --out, read back with Python's tarfile + soundfile; and the bad case: a missing
// or broken ffmpeg stops the run before any work with one line, exit 2.
import { existsSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, ROOT, tempDir } from "./helpers/fixtures.js";
import { pythonJson } from "./helpers/python.js";

const READ_SHARDS = `
import tarfile, sys, json, io, glob, os
import soundfile as sf
items = []
for shard in sorted(glob.glob(os.path.join(sys.argv[1], "*.tar"))):
    with tarfile.open(shard) as t:
        members = {m.name: t.extractfile(m).read() for m in t if m.isreg()}
    for name, data in members.items():
        if not name.endswith(".json"): continue
        key = name[:-5]
        audio, sr = sf.read(io.BytesIO(members[key + ".flac"]), dtype="float32")
        items.append({"key": key, "sr": sr, "n": len(audio), "meta": json.loads(data)})
print(json.dumps(items))
`;

interface Item {
  key: string;
  sr: number;
  n: number;
  meta: any;
}

/** A working directory that sees the bundled data where the presets expect it. */
function workdir(): string {
  const dir = tempDir("augment-preset-");
  for (const d of ["data", "noise-banks", "rirs"]) symlinkSync(path.join(ROOT, d), path.join(dir, d));
  mkdirSync(path.join(dir, "out"));
  return dir;
}

function run(preset: string, extra: string[] = [], env: Record<string, string> = {}, dir = workdir()) {
  const out = path.join(dir, "out", `${preset}-${extra.join("")}`);
  const r = cli(["run", path.join(ROOT, "recipes", `${preset}.yaml`), "--out", out, "--quiet", ...extra], dir, env);
  return { ...r, dir, out };
}

const results: Record<string, { code: number | null; stderr: string; out: string; dir: string; items: Item[] }> = {};

beforeAll(() => {
  for (const preset of ["telephony", "voip"]) {
    const r = run(preset, ["--workers", "2"]);
    results[preset] = { code: r.code, stderr: r.stderr, out: r.out, dir: r.dir, items: r.code === 0 ? pythonJson<Item[]>(READ_SHARDS, [r.out]) : [] };
  }
});

describe.each(["telephony", "voip"])("recipes/%s.yaml", (preset) => {
  it("runs to the end: every item written, none failed", () => {
    const r = results[preset];
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(path.join(r.out, "summary.json"), "utf8"));
    expect(summary.items.errors).toBe(0);
    expect(readFileSync(path.join(r.out, "errors.jsonl"), "utf8").trim()).toBe("");
    expect(r.items.length).toBe(summary.items.written);
    expect(r.items.length).toBe(56);
  });

  it("keeps every item's length (all channel and codec ops are length- and time-preserving)", () => {
    for (const it of results[preset].items) {
      expect(it.sr).toBe(16000);
      expect(it.n).toBe(it.meta.num_samples);
      expect(Math.abs(it.meta.duration - it.meta.source.duration)).toBeLessThanOrEqual(1 / 16000);
    }
  });

  it("records codec, bit rate, measured delay and packet-loss pattern in provenance", () => {
    const codecs = new Set<string>();
    let lossItems = 0;
    for (const it of results[preset].items) {
      for (const op of it.meta.ops) {
        if (op.op === "codec") {
          codecs.add(op.codec);
          expect(op.sample_rate).toBeGreaterThan(0);
          expect(op.bitrate !== undefined || op.quality !== undefined).toBe(true);
          expect(Number.isInteger(op.measured.delay_samples)).toBe(true);
          expect(Math.abs(op.measured.delay_samples - op.measured.class_delay_samples)).toBeLessThanOrEqual(3);
          expect(op.measured.encoded_bytes).toBeGreaterThan(0);
          expect(op.measured.zero_filled).toBeUndefined();
        }
        if (op.op === "packetloss") {
          lossItems++;
          expect(Number.isInteger(op.seed)).toBe(true);
          expect(op.measured.frames).toBe(Math.ceil(it.n / ((op.frame_ms / 1000) * 16000)));
          const runs = op.measured.lost ? String(op.measured.lost).split(",").map((r: string) => r.split("+").map(Number)) : [];
          expect(runs.reduce((a: number, r: number[]) => a + r[1], 0)).toBe(op.measured.lost_frames);
        }
      }
    }
    expect(codecs.size).toBeGreaterThanOrEqual(4);
    expect(lossItems).toBeGreaterThan(5);
  });
});

describe("determinism", () => {
  it("voip gives the same shards with one worker as with two", () => {
    // Same working directory: the metadata records the source files' absolute paths.
    const one = run("voip", ["--workers", "1"], {}, results.voip.dir);
    expect(one.code, one.stderr).toBe(0);
    const sha = (dir: string) => Object.values(JSON.parse(readFileSync(path.join(dir, "index.json"), "utf8")).shards).map((s: any) => s.sha256);
    expect(sha(one.out)).toEqual(sha(results.voip.out));
  });
});

describe("a missing or broken ffmpeg", () => {
  it("AUGMENT_FFMPEG=/nonexistent: exit 2 with one line, before any work", () => {
    const r = run("telephony", [], { AUGMENT_FFMPEG: "/nonexistent" });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe("error: chain[5].codec: ffmpeg not found at /nonexistent (from AUGMENT_FFMPEG)");
    expect(existsSync(path.join(r.out, "index.json"))).toBe(false);
  });

  it("a binary that does not run: exit 2 with one line naming it", () => {
    const r = run("voip", [], { AUGMENT_FFMPEG: "/bin/false" });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: chain\[6\]\.codec: ffmpeg at \/bin\/false \(from AUGMENT_FFMPEG\) is broken: exit 1/);
  });
});
