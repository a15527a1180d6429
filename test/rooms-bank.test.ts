// A simulated bank written to disk and read back: by the project's bank loader, by soundfile
// (an independent WAV reader), and by re-simulating each RIR from the spec in its metadata line.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseWav } from "../src/audio/wav.js";
import { loadBank } from "../src/banks/bank.js";
import { encodeFloatWav, simulateBank } from "../src/rooms/bank.js";
import { simulateRoom } from "../src/rooms/simulate.js";
import { pythonJson } from "./helpers/python.js";

const log = (...parts: unknown[]) => console.log("[rooms-bank]", ...parts);
const root = mkdtempSync(path.join(tmpdir(), "augment-rooms-bank-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SOUNDFILE_PY = String.raw`
import json, sys
import soundfile as sf
out = []
for p in json.loads(sys.argv[1]):
  data, rate = sf.read(p, dtype="float32", always_2d=True)
  info = sf.info(p)
  out.append({"rate": rate, "channels": data.shape[1], "frames": data.shape[0], "subtype": info.subtype, "first": data[:400, 0].tolist()})
print(json.dumps(out))
`;

const config = { count: 5, rt60_s: [0.2, 0.6] as [number, number], room_m: { min: [3, 3, 2.4] as [number, number, number], max: [6, 5, 3] as [number, number, number] }, distance_m: [0.5, 2] as [number, number] };

describe("simulateBank", () => {
  it("writes wav + metadata.jsonl + figures that load as an ordinary RIR bank and re-simulate exactly", async () => {
    const outDir = path.join(root, "a");
    const progress: number[] = [];
    const summary = await simulateBank({ outDir, seed: 17, config, figures: "both", onProgress: (done) => progress.push(done) });
    log(`5 RIRs in ${summary.seconds} s; T30 error %: ${JSON.stringify(summary.rt60ErrorPercent)}`);
    expect(progress).toEqual([1, 2, 3, 4, 5]);
    const files = readdirSync(outDir).sort();
    expect(files).toEqual(
      ["contact-sheet.png", "metadata.jsonl", "summary.json", ...[0, 1, 2, 3, 4].flatMap((i) => [`sim-0000${i}.png`, `sim-0000${i}.wav`])].sort(),
    );
    const entries = await loadBank(outDir);
    expect(entries.map((e) => e.id)).toEqual(["sim-00000", "sim-00001", "sim-00002", "sim-00003", "sim-00004"]);
    const lines = readFileSync(path.join(outDir, "metadata.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const read = pythonJson<Array<{ rate: number; channels: number; frames: number; subtype: string; first: number[] }>>(SOUNDFILE_PY, [
      JSON.stringify(entries.map((e) => e.path)),
    ]);
    lines.forEach((line, i) => {
      expect(Object.keys(line)).toEqual(expect.arrayContaining(["id", "path", "duration", "room", "absorption_mean", "rt60_target_s", "measured"]));
      expect(Object.keys(line.measured)).toEqual(["rt60_t20_s", "rt60_t30_s", "edt_s", "drr_db", "c50_db", "direct_delay_samples"]);
      expect(entries[i].durationS).toBeCloseTo(line.duration, 9);
      expect(read[i].subtype).toBe("FLOAT");
      expect(read[i].rate).toBe(16000);
      expect(read[i].frames).toBe(Math.round(line.duration * 16000));
      // The spec in the metadata reproduces the file's samples exactly.
      const [h] = simulateRoom(line.room);
      read[i].first.forEach((v, k) => expect(v).toBe(h[k]));
      expect(Math.abs(line.measured.rt60_t30_s - line.rt60_target_s) / line.rt60_target_s).toBeLessThan(0.1);
    });
    expect(summary.rt60ErrorPercent.measured).toBe(5);
  });

  it("is deterministic for a seed and differs across seeds and bank names", async () => {
    const a = path.join(root, "d1");
    const b = path.join(root, "d2");
    const c = path.join(root, "d3");
    await simulateBank({ outDir: a, seed: 5, config: { ...config, count: 2 }, figures: "none" });
    await simulateBank({ outDir: b, seed: 5, config: { ...config, count: 2 }, figures: "none" });
    await simulateBank({ outDir: c, seed: 5, config: { ...config, count: 2 }, figures: "none", name: "other" });
    for (const f of ["sim-00000.wav", "sim-00001.wav", "metadata.jsonl"]) {
      expect(readFileSync(path.join(a, f)).equals(readFileSync(path.join(b, f)))).toBe(true);
    }
    expect(readFileSync(path.join(a, "sim-00000.wav")).equals(readFileSync(path.join(c, "sim-00000.wav")))).toBe(false);
  });

  it("writes multi-mic RIRs as one multichannel WAV (extensible float), and pcm16 on request", async () => {
    const outDir = path.join(root, "array");
    await simulateBank({
      outDir,
      seed: 3,
      config: { ...config, count: 1, mics: [[-0.05, 0, 0], [0.05, 0, 0], [0, 0.05, 0]], directivity: { pattern: "cardioid" } },
      figures: "none",
    });
    const file = path.join(outDir, "sim-00000.wav");
    const [read] = pythonJson<Array<{ channels: number; subtype: string }>>(SOUNDFILE_PY, [JSON.stringify([file])]);
    expect(read.channels).toBe(3);
    expect(read.subtype).toBe("FLOAT");
    const parsed = parseWav(readFileSync(file));
    expect(parsed.channels.length).toBe(3);
    const line = JSON.parse(readFileSync(path.join(outDir, "metadata.jsonl"), "utf8"));
    expect(line.measured_mics.length).toBe(3);
    const rirs = simulateRoom(line.room);
    rirs.forEach((h, c) => expect(parsed.channels[c].subarray(0, 500)).toEqual(h.subarray(0, 500)));

    const pcmDir = path.join(root, "pcm");
    await simulateBank({ outDir: pcmDir, seed: 3, config: { ...config, count: 1 }, figures: "none", wav: "pcm16" });
    const [pcm] = pythonJson<Array<{ subtype: string; first: number[] }>>(SOUNDFILE_PY, [JSON.stringify([path.join(pcmDir, "sim-00000.wav")])]);
    expect(pcm.subtype).toBe("PCM_16");
    const pcmLine = JSON.parse(readFileSync(path.join(pcmDir, "metadata.jsonl"), "utf8"));
    expect(Math.max(...pcm.first.map(Math.abs))).toBeCloseTo(0.99, 2);
    expect(pcmLine.pcm16_scale).toBeGreaterThan(0);
  });

  it("encodeFloatWav round-trips through the project's WAV reader", () => {
    const a = Float32Array.from({ length: 100 }, (_, i) => Math.sin(i / 3) * 1.5);
    const b = Float32Array.from({ length: 100 }, (_, i) => -i / 1000);
    for (const channels of [[a], [a, b], [a, b, a, b]]) {
      const parsed = parseWav(encodeFloatWav(channels, 48000));
      expect(parsed.sampleRate).toBe(48000);
      parsed.channels.forEach((ch, c) => expect(ch).toEqual(channels[c]));
    }
  });
});
