// Bank layouts: a folder tree (sub-folders are categories), metadata.jsonl, and an `id path` list.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadBank } from "../src/banks/bank.js";
import { noiseSignal, tempDir, writeWav } from "./helpers/fixtures.js";

describe("banks", () => {
  it("reads a folder tree with categories, sorted, with probed durations", async () => {
    const d = tempDir();
    writeWav(path.join(d, "b/z.wav"), noiseSignal(8000, 1), 16000);
    writeWav(path.join(d, "a/y.wav"), noiseSignal(16000, 2), 8000);
    writeWav(path.join(d, "top.wav"), noiseSignal(4000, 3), 16000);
    const e = await loadBank(d);
    expect(e.map((x) => [x.id, x.category, x.durationS])).toEqual([
      ["a/y", "a", 2],
      ["b/z", "b", 0.5],
      ["top", "default", 0.25],
    ]);
  });

  it("reads an `id path` list file, relative to the list", async () => {
    const d = tempDir();
    writeWav(path.join(d, "rirs/one.wav"), noiseSignal(1600, 1), 16000);
    writeWav(path.join(d, "rirs/two.wav"), noiseSignal(3200, 2), 16000);
    writeFileSync(path.join(d, "list.txt"), "# id path\nr2 rirs/two.wav\nr1 rirs/one.wav\n");
    const e = await loadBank(path.join(d, "list.txt"));
    expect(e.map((x) => [x.id, x.durationS])).toEqual([
      ["r1", 0.1],
      ["r2", 0.2],
    ]);
    writeFileSync(path.join(d, "bad.txt"), "r3 rirs/missing.wav\n");
    await expect(loadBank(path.join(d, "bad.txt"))).rejects.toThrow(/bad\.txt:1: file not found/);
  });
});
