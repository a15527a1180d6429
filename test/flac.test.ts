// The in-process FLAC encoder, checked by independent readers: Debian's flac (-t decodes and checks
// the MD5, -a reports every frame and subframe), metaflac (STREAMINFO fields) and Python's
// soundfile (libsndfile) for the samples themselves.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeAudio } from "../src/audio/decode.js";
import { encodeFlac } from "../src/audio/flac.js";
import { runPython } from "./helpers/python.js";

let dir = "";

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "augment-flac-"));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

type SignalKind = "silence" | "square" | "alternating" | "noise" | "sine" | "wasted" | "burst";

/** Test signals with known structure; each exercises a different subframe type or coding path. */
function signal(kind: SignalKind, n: number, sampleRate: number): Int16Array {
  const x = new Int16Array(n);
  const rnd = lcg(n + sampleRate);
  for (let i = 0; i < n; i++) {
    switch (kind) {
      case "silence":
        x[i] = 0;
        break;
      case "square": // full scale, both extremes, 40-sample period
        x[i] = Math.floor(i / 20) % 2 ? 32767 : -32768;
        break;
      case "alternating": // the worst case for prediction: residuals need 5-bit Rice parameters
        x[i] = i % 2 ? 32767 : -32768;
        break;
      case "noise":
        x[i] = Math.floor(rnd() * 65536) - 32768;
        break;
      case "sine":
        x[i] = Math.round(16000 * Math.sin((2 * Math.PI * 440 * i) / sampleRate) + 6000 * Math.sin((2 * Math.PI * 3000 * i) / sampleRate));
        break;
      case "wasted": // low 4 bits always zero (as from 12-bit converters)
        x[i] = (Math.round(1500 * Math.sin((2 * Math.PI * 200 * i) / sampleRate) + 100 * rnd()) << 4) | 0;
        break;
      case "burst": // each block: a quiet tone, then full-scale noise (Rice parameters above 14: RICE2)
        x[i] = i % 4096 < 2048 ? Math.round(40 * Math.sin(i / 5)) : Math.floor(rnd() * 65536) - 32768;
        break;
    }
  }
  return x;
}

function md5Hex(pcm: Int16Array): string {
  return createHash("md5").update(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength)).digest("hex");
}

interface Case {
  file: string;
  pcm: Int16Array;
  sampleRate: number;
  bytes: Uint8Array;
}

function tool(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Per-file `name:value` lines from metaflac, as a map from file to its values in order. */
function metaflac(options: string[], fileList: string[]): Map<string, string[]> {
  const r = tool("metaflac", [...options, ...fileList]);
  expect(r.status, r.stderr).toBe(0);
  const out = new Map<string, string[]>();
  for (const line of r.stdout.trim().split("\n")) {
    const at = line.lastIndexOf(":");
    const file = line.slice(0, at);
    out.set(file, [...(out.get(file) ?? []), line.slice(at + 1)]);
  }
  return out;
}

interface Analysis {
  frameBytes: number[];
  subframeTypes: string[];
  residualTypes: string[];
  wastedBits: number[];
}

/** Parses `flac -a` output: one line per frame and per subframe. */
function analyse(file: string): Analysis {
  const text = readFileSync(file.replace(/\.flac$/, ".ana"), "utf8");
  const result: Analysis = { frameBytes: [], subframeTypes: [], residualTypes: [], wastedBits: [] };
  for (const line of text.split("\n")) {
    const frame = /^frame=\d+\toffset=\d+\tbits=(\d+)/.exec(line);
    if (frame) result.frameBytes.push(Number(frame[1]) / 8);
    const sub = /^\tsubframe=\d+\twasted_bits=(\d+)\ttype=(\w+)(?:.*residual_type=(\w+))?/.exec(line);
    if (sub) {
      result.wastedBits.push(Number(sub[1]));
      result.subframeTypes.push(sub[2]);
      if (sub[3]) result.residualTypes.push(sub[3]);
    }
  }
  return result;
}

describe("encodeFlac against flac, metaflac and soundfile", () => {
  const kinds: SignalKind[] = ["silence", "square", "alternating", "noise", "sine", "wasted", "burst"];
  const lengths = [1, 4095, 4096, 4097, 100003];
  const rates = [8000, 16000, 22050, 44100, 48000];
  const cases: Case[] = [];

  beforeAll(() => {
    for (const kind of kinds) {
      for (const n of lengths) {
        for (const sampleRate of rates) {
          const pcm = signal(kind, n, sampleRate);
          const file = path.join(dir, `${kind}-${n}-${sampleRate}.flac`);
          const bytes = encodeFlac(pcm, sampleRate);
          writeFileSync(file, bytes);
          cases.push({ file, pcm, sampleRate, bytes });
        }
      }
    }
  });

  it("flac -t decodes all 175 files and checks their MD5", () => {
    const r = tool("flac", ["-t", ...cases.map((c) => c.file)]);
    expect(r.status, r.stderr).toBe(0);
    const ok = r.stderr.match(/: ok/g) ?? [];
    expect(ok).toHaveLength(cases.length);
    expect(r.stderr).not.toMatch(/MD5 signature mismatch|ERROR/);
  });

  it("soundfile reads back bit-identical samples at the right rate", () => {
    const out = runPython(
      `import sys, json, hashlib, soundfile as sf
res = []
for f in sys.argv[1:]:
    x, sr = sf.read(f, dtype='int16')
    res.append([sr, len(x), hashlib.md5(x.astype('<i2').tobytes()).hexdigest()])
print(json.dumps(res))`,
      cases.map((c) => c.file),
    );
    const read = JSON.parse(out) as Array<[number, number, string]>;
    cases.forEach((c, i) => {
      expect(read[i], c.file).toEqual([c.sampleRate, c.pcm.length, md5Hex(c.pcm)]);
    });
  });

  it("STREAMINFO: block sizes, frame size range, rate, channels, bits, total samples and MD5", () => {
    const info = metaflac(
      [
        "--show-min-blocksize",
        "--show-max-blocksize",
        "--show-min-framesize",
        "--show-max-framesize",
        "--show-sample-rate",
        "--show-channels",
        "--show-bps",
        "--show-total-samples",
        "--show-md5sum",
      ],
      cases.map((c) => c.file),
    );
    const analysed = tool("flac", ["-a", "-s", "-f", ...cases.map((c) => c.file)]);
    expect(analysed.status, analysed.stderr).toBe(0);
    for (const c of cases) {
      const frames = analyse(c.file).frameBytes;
      expect(frames).toHaveLength(Math.ceil(c.pcm.length / 4096));
      expect(frames.reduce((a, b) => a + b, 0) + 42).toBe(c.bytes.length);
      expect(info.get(c.file), c.file).toEqual([
        "4096",
        "4096",
        String(Math.min(...frames)),
        String(Math.max(...frames)),
        String(c.sampleRate),
        "1",
        "16",
        String(c.pcm.length),
        md5Hex(c.pcm),
      ]);
    }
  });

  it("every subframe type and both Rice methods occur, wasted bits are used", () => {
    const all = cases.map((c) => analyse(c.file));
    const types = new Set(all.flatMap((a) => a.subframeTypes));
    expect([...types].sort()).toEqual(["CONSTANT", "FIXED", "LPC", "VERBATIM"]);
    expect(new Set(all.flatMap((a) => a.residualTypes))).toEqual(new Set(["RICE", "RICE2"]));
    const wasted = cases.flatMap((c, i) => (c.file.includes("/wasted-") ? all[i].wastedBits : []));
    expect(wasted.filter((w) => w === 4).length).toBeGreaterThan(wasted.length / 2);
    // Silence is one CONSTANT subframe per frame; full-scale noise cannot be predicted (VERBATIM).
    const silence = cases.findIndex((c) => c.file.endsWith("/silence-100003-16000.flac"));
    expect(new Set(all[silence].subframeTypes)).toEqual(new Set(["CONSTANT"]));
    const noise = cases.findIndex((c) => c.file.endsWith("/noise-100003-16000.flac"));
    expect(new Set(all[noise].subframeTypes)).toEqual(new Set(["VERBATIM"]));
  });

  it("our decoder path (audio-decode, with MD5 check) gives the same samples", async () => {
    for (const c of cases.filter((_, i) => i % 7 === 0)) {
      const audio = await decodeAudio(c.bytes, c.file);
      expect(audio.sampleRate).toBe(c.sampleRate);
      const back = Int16Array.from(audio.channels[0], (v) => v * 32768);
      expect(md5Hex(back)).toBe(md5Hex(c.pcm));
    }
  });

  it("compresses: silence to a few bytes a frame, a two-tone sine below 45% of PCM; noise at most 12 bytes a frame more", () => {
    const size = (kind: SignalKind) => cases.find((c) => c.file.endsWith(`/${kind}-100003-16000.flac`))!.bytes.length;
    expect(size("silence")).toBeLessThan(42 + 25 * 12);
    expect(size("sine")).toBeLessThan(0.45 * 2 * 100003);
    expect(size("noise")).toBeLessThanOrEqual(42 + 2 * 100003 + 12 * 25);
  });
});

describe("encodeFlac: frame header forms, edge cases, determinism", () => {
  it("rates coded in the frame header's 8/16-bit tails or only in STREAMINFO pass flac -t", () => {
    // 11025: 16-bit Hz tail; 12000: 8-bit kHz tail; 88200/96000/192000: table codes;
    // 100010: 16-bit tens-of-Hz tail; 700001: only STREAMINFO (code 0); 1: the slowest legal rate.
    const rates = [11025, 12000, 88200, 96000, 192000, 100010, 700001, 1];
    const files = rates.map((rate) => {
      const file = path.join(dir, `rate-${rate}.flac`);
      writeFileSync(file, encodeFlac(signal("sine", 9000, 48000), rate));
      return file;
    });
    const r = tool("flac", ["-t", ...files]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.match(/: ok/g)).toHaveLength(rates.length);
    const info = metaflac(["--show-sample-rate"], files);
    expect(files.map((f) => Number(info.get(f)![0]))).toEqual(rates);
  });

  it("an empty input gives a valid stream with no frames", () => {
    const bytes = encodeFlac(new Int16Array(0), 16000);
    expect(bytes.length).toBe(42);
    const file = path.join(dir, "empty.flac");
    writeFileSync(file, bytes);
    expect(tool("flac", ["-t", "-s", file]).status).toBe(0);
  });

  it("is deterministic: the same input gives the same bytes, whatever was encoded before", () => {
    const pcm = signal("sine", 50000, 16000);
    const first = encodeFlac(pcm, 16000);
    encodeFlac(signal("noise", 12345, 44100), 44100); // reuses the encoder's scratch buffers
    const second = encodeFlac(pcm, 16000);
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
    // A view into a larger buffer (odd byte offset of the samples' start) encodes the same.
    const backing = new Int16Array(pcm.length + 3);
    backing.set(pcm, 3);
    expect(Buffer.from(encodeFlac(backing.subarray(3), 16000)).equals(Buffer.from(first))).toBe(true);
  });

  it("rejects sample rates FLAC cannot store", () => {
    for (const rate of [0, -1, 16000.5, 2 ** 20, NaN]) {
      expect(() => encodeFlac(new Int16Array(4), rate)).toThrow(RangeError);
    }
  });
});

describe("encodeFlac: signals that could mislead its estimates", () => {
  // The encoder picks FIXED or LPC from runs of residuals sampled across the block, and codes a
  // subframe from Rice estimates of partition sums. Periodic edges (a click train, a sawtooth, a
  // square wave) are what sparse sampling could keep missing or hitting; the clicks also need Rice
  // codes longer than 24 bits (the bit writer's slow path). Samples on a coarse grid with one odd
  // sample make the written Rice codes exceed the estimate: such subframes turn out larger than the
  // raw samples and are rewound to VERBATIM (this input takes that path at the time of writing).
  const n = 40000;
  const generators: Record<string, (i: number, rnd: () => number) => number> = {
    clicks: (i, rnd) => (i % 400 === 0 ? 20000 : 0) + Math.round(3 * rnd()),
    sawtooth: (i) => ((i % 64) - 32) * 500,
    square: (i) => (Math.floor(i / 20) % 2 ? 32767 : -32768),
    grid: (i, rnd) => (i === 0 ? 1 : Math.floor(rnd() * 6) << 13) - (6 << 12),
  };

  it("decode bit-exactly, keep every subframe within VERBATIM's size and stay within 1% of flac -5", () => {
    const cases = Object.entries(generators).map(([name, generate]) => {
      const rnd = lcg(7);
      const pcm = Int16Array.from({ length: n }, (_, i) => generate(i, rnd));
      const file = path.join(dir, `stress-${name}.flac`);
      const bytes = encodeFlac(pcm, 16000);
      writeFileSync(file, bytes);
      const raw = path.join(dir, `stress-${name}.raw`);
      writeFileSync(raw, new Uint8Array(pcm.buffer));
      const ref = path.join(dir, `stress-${name}-ref.flac`);
      const r = tool("flac", [
        "-5", "-s", "-f", "--no-padding", "--no-seektable", "--force-raw-format", "--endian=little",
        "--sign=signed", "--channels=1", "--bps=16", "--sample-rate=16000", raw, "-o", ref,
      ]);
      expect(r.status, r.stderr).toBe(0);
      return { name, pcm, file, bytes, refBytes: readFileSync(ref).length };
    });
    const tested = tool("flac", ["-t", ...cases.map((c) => c.file)]);
    expect(tested.status, tested.stderr).toBe(0);
    expect(tested.stderr.match(/: ok/g)).toHaveLength(cases.length);
    const analysed = tool("flac", ["-a", "-s", "-f", ...cases.map((c) => c.file)]);
    expect(analysed.status, analysed.stderr).toBe(0);
    const read = JSON.parse(
      runPython(
        `import sys, json, hashlib, soundfile as sf
print(json.dumps([hashlib.md5(sf.read(f, dtype='int16')[0].astype('<i2').tobytes()).hexdigest() for f in sys.argv[1:]]))`,
        cases.map((c) => c.file),
      ),
    ) as string[];
    cases.forEach((c, i) => {
      expect(read[i], c.name).toBe(md5Hex(c.pcm));
      // A frame here is a 6-byte header, one subframe and a 2-byte CRC; the subframe is never larger
      // than VERBATIM: 8 header bits, the wasted-bits count in unary, then the samples.
      const { frameBytes, wastedBits } = analyse(c.file);
      expect(frameBytes).toHaveLength(Math.ceil(n / 4096));
      frameBytes.forEach((bytes, f) => {
        const verbatimBits = 8 + wastedBits[f] + Math.min(4096, n - 4096 * f) * (16 - wastedBits[f]);
        expect(bytes, `${c.name} frame ${f}`).toBeLessThanOrEqual(6 + Math.ceil(verbatimBits / 8) + 2);
      });
      expect(c.bytes.length / c.refBytes, c.name).toBeLessThan(1.01);
    });
  });
});
