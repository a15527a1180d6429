// End to end through the built CLI: word times of a NeMo manifest (`words: [{word, start, end}]`)
// come out mapped in each output item's .json (`meta.words`) for tempo and prosody, Kaldi's 3-way
// speed mode gives one copy per factor, and the same recipe and seed give the same bytes.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { prosodyOp } from "../src/ops/prosody.js";
import { cli, tempDir, writeWav } from "./helpers/fixtures.js";
import { pythonJson } from "./helpers/python.js";
import { SR, synthVowel } from "./helpers/voice.js";

const log = (...parts: unknown[]) => console.log("[voice-e2e]", ...parts);

const WORDS = [
  { word: "one", start: 0.12, end: 0.41 },
  { word: "two", start: 0.55, end: 0.9 },
  { word: "three", start: 1.02, end: 1.48 },
  { word: "four", start: 1.61, end: 2.2 },
];

/** Every item's .json member from the shards, read by Python's tarfile. */
function readMetas(out: string): any[] {
  return pythonJson<any[]>(
    `
import sys, json, glob, os, tarfile
metas = []
for shard in sorted(glob.glob(os.path.join(sys.argv[1], "**", "*.tar"), recursive=True)):
    with tarfile.open(shard) as t:
        for m in t.getmembers():
            if m.name.endswith(".json"): metas.append(json.load(t.extractfile(m)))
print(json.dumps(metas))`,
    [out],
  );
}

let dir: string;
beforeAll(() => {
  dir = tempDir("augment-voice-e2e-");
  const lines: string[] = [];
  for (let i = 0; i < 2; i++) {
    const n = Math.round(2.4 * SR);
    const x = synthVowel(n, { f0Hz: (t) => 110 + 30 * i + 10 * t, formants: () => [[650, 80], [1300, 100], [2500, 150]], envelope: (t) => 0.3 + 0.7 * Math.abs(Math.sin(2 * Math.PI * 1.5 * t)), seed: i + 1 });
    writeWav(path.join(dir, `corpus/audio/spk${i}-utt${i}.wav`), x, SR);
    lines.push(JSON.stringify({ audio_filepath: `audio/spk${i}-utt${i}.wav`, duration: n / SR, text: "one two three four", speaker: `spk${i}`, words: WORDS }));
  }
  writeFileSync(path.join(dir, "corpus/manifest.json"), lines.join("\n") + "\n");
});

function run(name: string, chain: string, copies = 1): { out: string; stderr: string; code: number | null } {
  const recipe = `seed: 11\nsample_rate: ${SR}\ninputs: [{format: nemo, path: ${dir}/corpus/manifest.json}]\ncopies: ${copies}\nchain:\n${chain}\noutput: {path: out, audio: wav}\n`;
  const r = tempDir(`augment-voice-${name}-`);
  writeFileSync(path.join(r, "r.yaml"), recipe);
  const res = cli(["run", "r.yaml", "--quiet", "--workers", "1"], r);
  return { out: path.join(r, "out"), stderr: res.stderr, code: res.code };
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

describe("voice ops end to end", () => {
  it("tempo: meta.words are the manifest's times / factor, duration n / factor", () => {
    const r = run("tempo", "  - tempo: {factor: 1.25}");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const metas = readMetas(r.out);
    expect(metas.length).toBe(2);
    for (const m of metas) {
      expect(m.ops[0]).toMatchObject({ op: "tempo", factor: 1.25 });
      expect(m.num_samples).toBe(Math.round((m.source.duration * SR) / 1.25));
      expect(m.words.map((w: any) => w.word)).toEqual(WORDS.map((w) => w.word));
      m.words.forEach((w: any, i: number) => {
        expect(w.startS).toBeCloseTo(WORDS[i].start / 1.25, 6);
        expect(w.endS).toBeCloseTo(WORDS[i].end / 1.25, 6);
      });
    }
  });

  it("prosody: meta.words follow the recorded contour's piecewise-linear map (not a constant rate); same seed, same bytes", () => {
    const chain = "  - prosody: {tempo: [0.8, 1.2], semitones: [-2, 2], step_s: 0.5}";
    const a = run("prosody-a", chain);
    const b = run("prosody-b", chain);
    expect(a.stderr).toBe("");
    const metas = readMetas(a.out);
    expect(metas.length).toBe(2);
    for (const m of metas) {
      const params = m.ops[0];
      expect(params.op).toBe("prosody");
      expect(params.tempo.length).toBe(params.semitones.length);
      const map = prosodyOp.mapTime!(params);
      const rate = m.duration / m.source.duration;
      let maxNonLinearMs = 0;
      m.words.forEach((w: any, i: number) => {
        expect(w.startS).toBeCloseTo(round6(map(WORDS[i].start)), 6);
        expect(w.endS).toBeCloseTo(round6(map(WORDS[i].end)), 6);
        maxNonLinearMs = Math.max(maxNonLinearMs, 1000 * Math.abs(w.startS - WORDS[i].start * rate));
      });
      // Duration follows the same map.
      expect(Math.abs(m.duration - map(m.source.duration))).toBeLessThan(1 / SR);
      log(`${m.id}: words ${m.words.map((w: any) => `${w.word}@${w.startS.toFixed(3)}`).join(" ")}; largest departure from a constant rate ${maxNonLinearMs.toFixed(1)} ms`);
      expect(maxNonLinearMs).toBeGreaterThan(2);
    }
    const digest = (out: string) => JSON.parse(readFileSync(path.join(out, "index.json"), "utf8")).shards;
    expect(JSON.stringify(Object.values(digest(b.out)).map((s: any) => s.sha256))).toBe(JSON.stringify(Object.values(digest(a.out)).map((s: any) => s.sha256)));
  });

  it("speed per_copy with copies 3 is Kaldi's 3-way perturbation: copy k gets factors[k]", () => {
    const r = run("threeway", "  - speed: {factors: [0.9, 1.0, 1.1], per_copy: true, speaker_prefix: true}", 3);
    expect(r.stderr).toBe("");
    const metas = readMetas(r.out);
    expect(metas.length).toBe(6);
    for (const m of metas) {
      const factor = [0.9, 1.0, 1.1][m.copy];
      expect(m.ops[0].factor).toBe(factor);
      expect(m.speaker.startsWith(factor === 1 ? "spk" : `sp${String(factor).replace(".", "_")}-spk`)).toBe(true);
      expect(m.words[1].startS).toBeCloseTo(round6(WORDS[1].start / factor), 6);
    }
  });
});
