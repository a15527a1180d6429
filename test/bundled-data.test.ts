// The small data bundled with the repository (noise-banks/default, data/demo, rirs/demo) is read
// back with an independent reader (Debian python3: soundfile/libFLAC and numpy): every file
// decodes at its stated rate and length with a matching FLAC MD5, the metadata's figures are
// what the audio measures, and the Node generators reproduce the committed bytes exactly.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { pythonJson } from "./helpers/python.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const NOISE_DIR = join(ROOT, "noise-banks", "default");
const DEMO_DIR = join(ROOT, "data", "demo");
const RIR_DIR = join(ROOT, "rirs", "demo");
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

interface Measured {
  path: string;
  /** Set (and nothing else) when soundfile cannot decode the file. */
  error?: string;
  sampleRate: number;
  frames: number;
  channels: number;
  md5Ok: boolean;
  rmsDbfs: number;
  peakDbfs: number;
  peakSample: number;
  t20S: number | null;
  drrDb: number | null;
}

// Reads each file with soundfile as int16, checks the decoded samples against the MD5 in the
// FLAC STREAMINFO block, and measures levels; with "rir" also RT60 by Schroeder backward
// integration (T20: least-squares line on the EDC from the first sample at -5 dB to the first at
// -25 dB) and DRR (energy within ±2.5 ms of the peak sample against the rest).
const MEASURE_PY = `
import hashlib, json, sys
import numpy as np, soundfile as sf
out = []
for path in json.loads(sys.argv[1]):
    try:
        pcm, sr = sf.read(path, dtype="int16", always_2d=True)
    except Exception as error:
        out.append({"path": path, "error": f"{type(error).__name__}: {error}"})
        continue
    raw = open(path, "rb").read()
    assert raw[:4] == b"fLaC" and raw[4] & 0x7F == 0, path + ": no STREAMINFO first"
    md5_ok = hashlib.md5(pcm.astype("<i2").tobytes()).digest() == raw[26:42]
    x = pcm[:, 0].astype(np.float64) / 32768.0
    peak = int(np.argmax(np.abs(x)))
    item = {"path": path, "sampleRate": sr, "frames": int(pcm.shape[0]), "channels": int(pcm.shape[1]),
            "md5Ok": bool(md5_ok), "rmsDbfs": float(20 * np.log10(np.sqrt(np.mean(x ** 2)))),
            "peakDbfs": float(20 * np.log10(np.abs(x[peak]))), "peakSample": peak, "t20S": None, "drrDb": None}
    if sys.argv[2] == "rir":
        energy = x ** 2
        edc = np.cumsum(energy[::-1])[::-1]
        with np.errstate(divide="ignore"):
            edc_db = 10 * np.log10(edc / edc[0])
        start = int(np.argmax(edc_db <= -5))
        end = int(np.argmax(edc_db <= -25))
        slope = np.polyfit(np.arange(start, end + 1) / sr, edc_db[start:end + 1], 1)[0]
        item["t20S"] = float(-60 / slope)
        half = int(round(0.0025 * sr))
        direct = energy[max(0, peak - half):peak + half + 1].sum()
        item["drrDb"] = float(10 * np.log10(direct / (energy.sum() - direct)))
    out.append(item)
print(json.dumps(out))
`;

/** Measures each file; fails naming the file if it does not decode or its MD5 does not match. */
function measure(paths: string[], kind: "plain" | "rir" = "plain"): Measured[] {
  const measured = pythonJson<Measured[]>(MEASURE_PY, [JSON.stringify(paths), kind]);
  const broken = measured
    .filter((m) => m.error !== undefined || !m.md5Ok)
    .map((m) => `${relative(ROOT, m.path)}: ${m.error ?? "decoded samples do not match the MD5 in STREAMINFO"}`);
  expect(broken, "files that do not decode to their own MD5").toEqual([]);
  return measured;
}

function readJsonl<T>(path: string): T[] {
  return readFileSync(path, "utf8").split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line) as T);
}

function listFiles(dir: string, ext: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((name) => name.endsWith(ext))
    .map((name) => name.split("\\").join("/"))
    .sort();
}

const tempDirs: string[] = [];
afterAll(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Runs a generator (node script, or bash for .sh) with --out into a fresh temp dir; returns that dir. */
function regenerate(script: string): string {
  const flacJs = join(ROOT, "dist", "audio", "flac.js");
  if (!existsSync(flacJs)) throw new Error(`${flacJs} is missing: build first (npx tsc -p tsconfig.json)`);
  const out = mkdtempSync(join(tmpdir(), "augment-bundled-"));
  tempDirs.push(out);
  const command = script.endsWith(".sh") ? "bash" : process.execPath;
  const run = spawnSync(command, [join(ROOT, script), "--out", out], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`${script} failed (${run.status}): ${run.stderr}`);
  return out;
}

/** Every file the generator wrote equals the committed one, and no committed audio is stale. */
function expectSameBytes(generatedDir: string, committedDir: string, audioExt: string): void {
  const generated = (readdirSync(generatedDir, { recursive: true }) as string[])
    .filter((name) => statSync(join(generatedDir, name)).isFile())
    .sort();
  expect(generated.length).toBeGreaterThan(0);
  for (const name of generated) {
    const same = readFileSync(join(generatedDir, name)).equals(readFileSync(join(committedDir, name)));
    expect(same, `${relative(ROOT, join(committedDir, name))} differs from a fresh generation`).toBe(true);
  }
  expect(listFiles(committedDir, audioExt)).toEqual(listFiles(generatedDir, audioExt));
}

describe("noise-banks/default", () => {
  interface NoiseRow {
    id: string; path: string; category: string; duration: number; sample_rate: number; description: string;
    num_samples: number; rms_dbfs: number; peak_dbfs: number; spectral_slope_db_per_oct: number;
  }
  const rows = readJsonl<NoiseRow>(join(NOISE_DIR, "metadata.jsonl"));

  it("lists every file once, in a MUSAN-like category folder", () => {
    expect(rows.length).toBeGreaterThanOrEqual(10);
    expect(rows.length).toBeLessThanOrEqual(14);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    for (const r of rows) {
      expect(r.id).toMatch(ID_PATTERN);
      expect(["noise", "hum", "babble", "ambient"]).toContain(r.category);
      expect(r.path.split("/")[0]).toBe(r.category);
      expect(r.description.trim()).not.toBe("");
    }
    expect(listFiles(NOISE_DIR, ".flac")).toEqual(rows.map((r) => r.path).sort());
    expect(new Set(rows.map((r) => r.category))).toEqual(new Set(["noise", "hum", "babble", "ambient"]));
  });

  it("decodes at the stated rate and length, with the stated RMS and a -3 dBFS peak", () => {
    const measured = measure(rows.map((r) => join(NOISE_DIR, r.path)));
    rows.forEach((r, i) => {
      const m = measured[i];
      expect([m.sampleRate, m.channels]).toEqual([r.sample_rate, 1]);
      expect(r.sample_rate).toBe(16000);
      expect(m.frames).toBe(r.num_samples);
      expect(m.frames / m.sampleRate).toBeCloseTo(r.duration, 9);
      expect(r.duration).toBeGreaterThanOrEqual(4);
      expect(r.duration).toBeLessThanOrEqual(6);
      expect(Math.abs(m.rmsDbfs - r.rms_dbfs), `${r.path} RMS`).toBeLessThan(0.01);
      expect(Math.abs(m.peakDbfs - -3), `${r.path} peak`).toBeLessThan(0.01);
    });
  });

  it("has the coloured-noise slopes its names promise", () => {
    const slope = (name: string) => rows.find((r) => r.path === `noise/${name}.flac`)!.spectral_slope_db_per_oct;
    expect(Math.abs(slope("white"))).toBeLessThan(0.3);
    expect(Math.abs(slope("pink") + 3)).toBeLessThan(0.3);
    expect(Math.abs(slope("brown") + 6)).toBeLessThan(0.3);
    expect(Math.abs(slope("blue") - 3)).toBeLessThan(0.3);
  });

  it("is reproduced byte for byte by noise-banks/generate.mjs", () => {
    expectSameBytes(regenerate("noise-banks/generate.mjs"), NOISE_DIR, ".flac");
  });
});

describe("data/demo (NeMo manifest)", () => {
  interface ManifestRow {
    audio_filepath: string; duration: number; text: string; lang: string; speaker: string; sampling_rate: number;
  }
  const rows = readJsonl<ManifestRow>(join(DEMO_DIR, "manifest.json"));

  it("has 24-32 utterances in several languages, ids <speaker>-<utt>, non-empty transcripts", () => {
    expect(rows.length).toBeGreaterThanOrEqual(24);
    expect(rows.length).toBeLessThanOrEqual(32);
    expect(new Set(rows.map((r) => r.lang))).toEqual(new Set(["en", "de", "es", "fr", "sw"]));
    expect(new Set(rows.map((r) => r.audio_filepath)).size).toBe(rows.length);
    for (const r of rows) {
      const id = r.audio_filepath.replace(/^audio\//, "").replace(/\.flac$/, "");
      expect(r.audio_filepath).toBe(`audio/${id}.flac`);
      expect(id).toMatch(ID_PATTERN);
      expect(id.startsWith(`${r.speaker}-`)).toBe(true);
      expect(r.text.trim()).not.toBe("");
      expect(r.text).toBe(r.text.trim());
    }
    expect(listFiles(join(DEMO_DIR, "audio"), ".flac").map((name) => `audio/${name}`)).toEqual(
      rows.map((r) => r.audio_filepath).sort(),
    );
    for (const lang of ["en", "de", "es", "fr", "sw"]) {
      expect(new Set(rows.filter((r) => r.lang === lang).map((r) => r.speaker)).size).toBeGreaterThanOrEqual(2);
    }
  });

  it("decodes at 22050 Hz with durations equal to the manifest's within 1 ms", () => {
    const measured = measure(rows.map((r) => join(DEMO_DIR, r.audio_filepath)));
    rows.forEach((r, i) => {
      const m = measured[i];
      expect([m.sampleRate, m.channels]).toEqual([22050, 1]);
      expect(r.sampling_rate).toBe(m.sampleRate);
      expect(Math.abs(m.frames / m.sampleRate - r.duration), r.audio_filepath).toBeLessThanOrEqual(0.001);
      expect(r.duration).toBeGreaterThanOrEqual(1.5);
      expect(r.duration).toBeLessThanOrEqual(4);
      expect(m.peakDbfs).toBeGreaterThan(-20); // speech, not silence
    });
  });
});

// The demo audio is espeak-ng's output, so only the version that made it can reproduce it.
const ESPEAK_VERSION = spawnSync("espeak-ng", ["--version"], { encoding: "utf8" }).stdout ?? "";
const HAS_ESPEAK_1_51 = /eSpeak NG text-to-speech: 1\.51\b/.test(ESPEAK_VERSION);

describe("data/demo regeneration", () => {
  it.skipIf(!HAS_ESPEAK_1_51)("is reproduced byte for byte by data/demo/generate.sh (espeak-ng 1.51)", () => {
    expectSameBytes(regenerate("data/demo/generate.sh"), DEMO_DIR, ".flac");
  });
});

describe("rirs/demo", () => {
  interface RirRow {
    id: string; path: string; rt60_s: number; rt60_measured_s: number; direct_delay_samples: number;
    drr_db: number; sample_rate: number; duration: number; num_samples: number;
  }
  const rows = readJsonl<RirRow>(join(RIR_DIR, "metadata.jsonl"));

  it("lists 6-8 RIRs with RT60 0.2-0.9 s and direct delays of 2-8 ms", () => {
    expect(rows.length).toBeGreaterThanOrEqual(6);
    expect(rows.length).toBeLessThanOrEqual(8);
    expect(listFiles(RIR_DIR, ".flac")).toEqual(rows.map((r) => r.path).sort());
    for (const r of rows) {
      expect(r.id).toMatch(ID_PATTERN);
      expect(r.rt60_s).toBeGreaterThanOrEqual(0.2);
      expect(r.rt60_s).toBeLessThanOrEqual(0.9);
      expect(r.direct_delay_samples / r.sample_rate).toBeGreaterThanOrEqual(0.002);
      expect(r.direct_delay_samples / r.sample_rate).toBeLessThanOrEqual(0.008);
    }
  });

  it("decode with the stated length, T20 RT60, direct-path position and DRR", () => {
    const measured = measure(rows.map((r) => join(RIR_DIR, r.path)), "rir");
    rows.forEach((r, i) => {
      const m = measured[i];
      expect([m.sampleRate, m.channels]).toEqual([16000, 1]);
      expect(r.sample_rate).toBe(16000);
      expect(m.frames).toBe(r.num_samples);
      expect(m.frames / m.sampleRate).toBeCloseTo(r.rt60_s + 0.1, 6);
      expect(Math.abs(m.t20S! / r.rt60_s - 1), `${r.path}: T20 ${m.t20S} vs design ${r.rt60_s}`).toBeLessThan(0.1);
      expect(Math.abs(m.t20S! - r.rt60_measured_s), `${r.path}: T20 ${m.t20S}`).toBeLessThan(0.001);
      expect(Math.abs(m.peakSample - r.direct_delay_samples)).toBeLessThanOrEqual(1);
      expect(Math.abs(m.drrDb! - r.drr_db), `${r.path}: DRR ${m.drrDb}`).toBeLessThan(0.01);
      expect(Math.abs(m.peakDbfs - -1)).toBeLessThan(0.01);
    });
  });

  it("is reproduced byte for byte by rirs/demo/generate.mjs", () => {
    expectSameBytes(regenerate("rirs/demo/generate.mjs"), RIR_DIR, ".flac");
  });
});
