// Bad input: each bad item is skipped with its reason in errors.jsonl, counted in summary.json,
// and the run completes; --max-errors turns too many into a failure.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, speechLike, tempDir, writeWav } from "./helpers/fixtures.js";

const SR = 16000;

/** A float32 WAV written by hand, so it can hold NaN and Inf. */
function floatWav(x: Float32Array, sampleRate: number): Buffer {
  const b = Buffer.alloc(44 + x.length * 4);
  b.write("RIFF", 0);
  b.writeUInt32LE(36 + x.length * 4, 4);
  b.write("WAVEfmt ", 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(3, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(sampleRate, 24);
  b.writeUInt32LE(sampleRate * 4, 28);
  b.writeUInt16LE(4, 32);
  b.writeUInt16LE(32, 34);
  b.write("data", 36);
  b.writeUInt32LE(x.length * 4, 40);
  for (let i = 0; i < x.length; i++) b.writeFloatLE(x[i], 44 + 4 * i);
  return b;
}

let dir: string;
const lines: Array<Record<string, unknown>> = [];
beforeAll(() => {
  dir = tempDir("augment-bad-");
  const a = (name: string) => path.join(dir, "audio", name);
  mkdirSync(path.join(dir, "audio"), { recursive: true });
  const good = speechLike(SR, SR);
  const add = (id: string, file: string, text = `text of ${id}`) => lines.push({ audio_filepath: `audio/${file}`, duration: 1, text, speaker: id.split("-")[0] });
  writeWav(a("ok1.wav"), good, SR);
  add("s1-ok1", "ok1.wav");
  writeWav(a("ok8k.wav"), speechLike(8000, 8000), 8000); // another rate: resampled, not an error
  add("s1-ok8k", "ok8k.wav");
  add("s1-missing", "missing.wav");
  writeWav(a("trunc.wav"), good, SR);
  const t = readFileSync(a("trunc.wav"));
  writeFileSync(a("trunc.wav"), t.subarray(0, t.length / 2));
  add("s1-trunc", "trunc.wav");
  writeFileSync(a("empty.wav"), floatWav(new Float32Array(0), SR));
  add("s1-empty", "empty.wav");
  writeFileSync(a("zero.wav"), Buffer.alloc(0));
  add("s1-zerobytes", "zero.wav");
  const nan = speechLike(SR, SR);
  nan[500] = NaN;
  writeFileSync(a("nan.wav"), floatWav(nan, SR));
  add("s1-nan", "nan.wav");
  const inf = speechLike(SR, SR);
  inf[9] = Infinity;
  writeFileSync(a("inf.wav"), floatWav(inf, SR));
  add("s1-inf", "inf.wav");
  const badRate = Buffer.from(readFileSync(a("ok1.wav")));
  badRate.writeUInt32LE(0, 24);
  writeFileSync(a("rate0.wav"), badRate);
  add("s1-rate0", "rate0.wav");
  writeFileSync(a("garbage.wav"), Buffer.from("<html>not audio</html>".repeat(50)));
  add("s1-garbage", "garbage.wav");
  writeWav(a("silent.wav"), new Float32Array(SR), SR);
  add("s1-silent", "silent.wav");
  writeWav(a("ok2.wav"), good, SR);
  writeWav(a("ok3.wav"), good, SR);
  add("s2-emptytext", "ok3.wav", "");
  add("s2-dup", "ok2.wav", "first");
  // the same entry again: a duplicate id
  lines.push({ audio_filepath: "audio/ok2.wav", duration: 1, text: "second", speaker: "s2" });
  writeFileSync(path.join(dir, "manifest.json"), lines.map((l) => JSON.stringify(l)).join("\n") + "\n{not json\n");
  writeFileSync(path.join(dir, "r.yaml"), `inputs: [{format: nemo, path: manifest.json}]\nchain:\n  - gain: {db: 3}\noutput: {path: out}\n`);
});

describe("bad input", () => {
  it("skips each bad item with its reason and completes", () => {
    const r = cli(["run", "r.yaml", "--quiet", "--workers", "2"], dir);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const errors = readFileSync(path.join(dir, "out/errors.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const reasons = errors.map((e) => `${e.stage}: ${e.reason}`).join("\n");
    const expectReason = (re: RegExp) => expect(reasons).toMatch(re);
    expectReason(/missing\.wav/);
    expectReason(/trunc/i);
    expectReason(/zero-length/);
    expectReason(/non-finite.*(sample 500|frame 500)/);
    expectReason(/non-finite.*(sample 9|frame 9)/);
    expectReason(/sample rate/i);
    expectReason(/unsupported format|not an audio|unknown format/i);
    expectReason(/silent/);
    expectReason(/empty transcript/);
    expectReason(/duplicate/);
    expectReason(/JSON/);
    const summary = JSON.parse(readFileSync(path.join(dir, "out/summary.json"), "utf8"));
    expect(summary.items.written).toBe(3); // ok1, ok8k and the first of the duplicates
    expect(summary.items.errors).toBe(errors.length);
    expect(errors.length).toBeGreaterThanOrEqual(12);
    const manifest = readFileSync(path.join(dir, "out/nemo_manifest.json"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(manifest.map((m) => m.text).sort()).toEqual(["first", "text of s1-ok1", "text of s1-ok8k"]);
    for (const m of manifest) expect(m.sampling_rate).toBe(16000);
  });

  it("--max-errors turns too many failures into exit 1 with a one-line message", () => {
    const r = cli(["run", "r.yaml", "--quiet", "--max-errors", "2", "--out", "out2", "--workers", "0"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: .*errors/);
  });
});
