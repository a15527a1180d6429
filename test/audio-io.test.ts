// Audio input: WAV parsing, container sniffing, FLAC/MP3/Opus/Vorbis decoding through audio-decode,
// header probes and sample conversions. Fixtures are made in a temp dir by Debian's sox and ffmpeg;
// Python's soundfile (libsndfile) is the independent reference reader.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeAudio, floatToInt16, int16ToFloat, probeAudio, probeAudioFile, toMono } from "../src/audio/decode.js";
import { DecodeError, type DecodedAudio } from "../src/audio/decoded.js";
import { encodeFlac } from "../src/audio/flac.js";
import { encodeWav, parseWav } from "../src/audio/wav.js";
import { runPython } from "./helpers/python.js";

let dir = "";

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "augment-audio-io-"));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
}

/** Writes a file with sox (`sox -n [format] file synth ...`) and returns its path and bytes. */
function sox(name: string, format: string[], synth: string[]): { file: string; bytes: Uint8Array } {
  const file = path.join(dir, name);
  run("sox", ["-n", ...format, file, "synth", ...synth]);
  return { file, bytes: new Uint8Array(readFileSync(file)) };
}

/** Re-encodes `input` with ffmpeg and returns the new file's path and bytes. */
function ffmpeg(input: string, name: string, args: string[]): { file: string; bytes: Uint8Array } {
  const file = path.join(dir, name);
  run("ffmpeg", ["-v", "error", "-y", "-i", input, ...args, file]);
  return { file, bytes: new Uint8Array(readFileSync(file)) };
}

/** Reads a file with soundfile as float64 (its int scaling is 2^(bits-1), like ours), channel-major. */
function soundfileRead(file: string): { sampleRate: number; channels: Float64Array[] } {
  const out = runPython(
    `import sys, json, base64, soundfile as sf, numpy as np
x, sr = sf.read(sys.argv[1], dtype='float64', always_2d=True)
print(json.dumps({'sr': sr, 'ch': [base64.b64encode(np.ascontiguousarray(x[:, c]).tobytes()).decode() for c in range(x.shape[1])]}))`,
    [file],
  );
  const parsed = JSON.parse(out) as { sr: number; ch: string[] };
  return {
    sampleRate: parsed.sr,
    channels: parsed.ch.map((b64) => {
      const buf = Buffer.from(b64, "base64");
      return new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    }),
  };
}

function maxAbsDiff(a: Float32Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** Frequency of a clean sine from its interpolated upward zero crossings (middle 80%). */
function sineFrequency(x: Float32Array, sampleRate: number): number {
  const from = Math.floor(x.length * 0.1);
  const to = Math.floor(x.length * 0.9);
  let first = -1;
  let last = -1;
  let count = 0;
  for (let i = from + 1; i < to; i++) {
    if (x[i - 1] < 0 && x[i] >= 0) {
      const t = i - 1 + x[i - 1] / (x[i - 1] - x[i]);
      if (first < 0) first = t;
      last = t;
      count++;
    }
  }
  return ((count - 1) * sampleRate) / (last - first);
}

async function decodeError(bytes: Uint8Array, name = "x"): Promise<string> {
  try {
    await decodeAudio(bytes, name);
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    return (e as Error).message;
  }
  throw new Error("expected a DecodeError");
}

function wavError(bytes: Uint8Array): string {
  try {
    parseWav(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    return (e as Error).message;
  }
  throw new Error("expected a DecodeError");
}

describe("parseWav on files written by sox and ffmpeg", () => {
  const cases: Array<{ name: string; format: string[]; tolerance: number; formatTag: number }> = [
    { name: "pcm-u8.wav", format: ["-r", "16000", "-b", "8", "-e", "unsigned"], tolerance: 0, formatTag: 1 },
    { name: "pcm-s16.wav", format: ["-r", "16000", "-b", "16"], tolerance: 0, formatTag: 1 },
    { name: "pcm-s24.wav", format: ["-r", "22050", "-b", "24"], tolerance: 0, formatTag: 0xfffe },
    // 32-bit integers do not fit a float32 exactly: off by at most half an ulp near 1.
    { name: "pcm-s32.wav", format: ["-r", "44100", "-b", "32"], tolerance: 2 ** -25, formatTag: 0xfffe },
    { name: "float32.wav", format: ["-r", "48000", "-e", "floating-point", "-b", "32"], tolerance: 0, formatTag: 3 },
    // float64 samples are rounded to float32.
    { name: "float64.wav", format: ["-r", "8000", "-e", "floating-point", "-b", "64"], tolerance: 2 ** -25, formatTag: 3 },
    { name: "alaw.wav", format: ["-r", "8000", "-e", "a-law", "-b", "8"], tolerance: 0, formatTag: 6 },
    { name: "mulaw.wav", format: ["-r", "8000", "-e", "u-law", "-b", "8"], tolerance: 0, formatTag: 7 },
  ];
  for (const c of cases) {
    it(`${c.name}: rate, length, samples equal soundfile's, 1 kHz sine`, () => {
      const { file, bytes } = sox(c.name, c.format, ["0.5", "sine", "1000", "vol", "0.8"]);
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      expect(view.getUint16(20, true)).toBe(c.formatTag); // the fixture really is this encoding
      const audio = parseWav(bytes);
      const ref = soundfileRead(file);
      expect(audio.sampleRate).toBe(ref.sampleRate);
      expect(audio.channels).toHaveLength(1);
      expect(audio.channels[0].length).toBe(Math.round(0.5 * ref.sampleRate));
      expect(maxAbsDiff(audio.channels[0], ref.channels[0])).toBeLessThanOrEqual(c.tolerance);
      expect(sineFrequency(audio.channels[0], audio.sampleRate)).toBeCloseTo(1000, 0);
    });
  }

  it("stereo: channel pick gives each channel's sine, mix is the exact average", () => {
    const { file, bytes } = sox("stereo.wav", ["-r", "16000", "-b", "16", "-c", "2"], ["1", "sine", "440", "sine", "660"]);
    const audio = parseWav(bytes);
    const ref = soundfileRead(file);
    expect(audio.channels).toHaveLength(2);
    expect(maxAbsDiff(audio.channels[1], ref.channels[1])).toBe(0);
    expect(sineFrequency(toMono(audio, 0), 16000)).toBeCloseTo(440, 0);
    expect(sineFrequency(toMono(audio, 1), 16000)).toBeCloseTo(660, 0);
    const mix = toMono(audio, "mix");
    for (let i = 0; i < mix.length; i += 97) {
      expect(mix[i]).toBe(Math.fround((audio.channels[0][i] + audio.channels[1][i]) / 2));
    }
    expect(() => toMono(audio, 2)).toThrow(/channel 2 requested but the audio has 2 channels/);
    expect(() => toMono(audio, 2)).toThrow(DecodeError);
  });

  it("WAVE_FORMAT_EXTENSIBLE float with 4 channels (ffmpeg), RF64 (ffmpeg -rf64 always)", () => {
    const src = sox("src-4k.wav", ["-r", "16000", "-b", "16", "-c", "4"], ["0.25", "sine", "300", "sine", "500", "sine", "700", "sine", "900"]);
    const ext = ffmpeg(src.file, "ext-f32.wav", ["-c:a", "pcm_f32le"]);
    const view = new DataView(ext.bytes.buffer, ext.bytes.byteOffset);
    expect(view.getUint16(20, true)).toBe(0xfffe);
    const audio = parseWav(ext.bytes);
    const ref = soundfileRead(ext.file);
    expect(audio.channels).toHaveLength(4);
    for (let c = 0; c < 4; c++) expect(maxAbsDiff(audio.channels[c], ref.channels[c])).toBe(0);
    expect(sineFrequency(audio.channels[3], 16000)).toBeCloseTo(900, 0);

    const rf64 = ffmpeg(src.file, "rf64.wav", ["-c:a", "pcm_s24le", "-rf64", "always"]);
    expect(Buffer.from(rf64.bytes.subarray(0, 4)).toString("latin1")).toBe("RF64");
    const audio64 = parseWav(rf64.bytes);
    expect(audio64.channels[0].length).toBe(4000);
    expect(sineFrequency(audio64.channels[2], 16000)).toBeCloseTo(700, 0);
  });

  it("odd-sized unknown chunks (with pad byte), fmt after data, missing final pad", () => {
    const pcm = new Int16Array([1000, -2000, 3000, -32768, 32767]);
    const fmt = chunk("fmt ", fmtBody(1, 1, 16000, 16));
    const data = chunk("data", new Uint8Array(pcm.buffer.slice(0)));
    const odd = chunk("junk", new Uint8Array([1, 2, 3])); // 3 bytes + pad
    const list = chunk("LIST", new TextEncoder().encode("INFOISFT"));
    for (const body of [[odd, fmt, list, data], [data, odd, fmt]]) {
      const audio = parseWav(riff(body));
      expect(Array.from(audio.channels[0], (v) => v * 32768)).toEqual(Array.from(pcm));
    }
    // An odd-length data chunk at the end without its pad byte: the partial frame is dropped.
    const oddData = chunk("data", new Uint8Array([0x00, 0x40, 0x00, 0xc0, 0x7f]));
    const audio = parseWav(riff([fmt, oddData.subarray(0, oddData.length - 1)]));
    expect(Array.from(audio.channels[0])).toEqual([0.5, -0.5]);
  });
});

// Minimal RIFF builders for hand-made headers.
function chunk(id: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + body.length + (body.length & 1));
  out.set(new TextEncoder().encode(id), 0);
  new DataView(out.buffer).setUint32(4, body.length, true);
  out.set(body, 8);
  return out;
}

function fmtBody(formatTag: number, channels: number, sampleRate: number, bits: number, blockAlign?: number): Uint8Array {
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  const align = blockAlign ?? channels * Math.ceil(bits / 8);
  v.setUint16(0, formatTag, true);
  v.setUint16(2, channels, true);
  v.setUint32(4, sampleRate, true);
  v.setUint32(8, sampleRate * align, true);
  v.setUint16(12, align, true);
  v.setUint16(14, bits, true);
  return out;
}

function riff(chunks: Uint8Array[]): Uint8Array {
  const size = chunks.reduce((s, c) => s + c.length, 4);
  const out = new Uint8Array(8 + size);
  out.set(new TextEncoder().encode("RIFF"), 0);
  new DataView(out.buffer).setUint32(4, size, true);
  out.set(new TextEncoder().encode("WAVE"), 8);
  let at = 12;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

describe("parseWav rejects hostile headers with a one-line DecodeError", () => {
  const good = () => encodeWav(new Int16Array(1000).fill(7), 16000);

  it("data size larger than the file, 2^31 and 0xffffffff", () => {
    const bytes = good();
    new DataView(bytes.buffer).setUint32(40, 4000, true);
    expect(wavError(bytes)).toBe("truncated WAV: header says 4000 bytes of audio, file has 2000");
    for (const size of [2 ** 31, 0xffffffff]) {
      new DataView(bytes.buffer).setUint32(40, size, true);
      expect(wavError(bytes)).toBe(`truncated WAV: header says ${size} bytes of audio, file has 2000`);
    }
  });

  it("zero channels, rate 0 and > 768000, inconsistent block align, unsupported encodings", () => {
    const data = chunk("data", new Uint8Array(8));
    expect(wavError(riff([chunk("fmt ", fmtBody(1, 0, 16000, 16, 2)), data]))).toBe("corrupt WAV: zero channels");
    expect(wavError(riff([chunk("fmt ", fmtBody(1, 1, 0, 16)), data]))).toMatch(/^corrupt WAV: sample rate 0 Hz/);
    expect(wavError(riff([chunk("fmt ", fmtBody(1, 1, 768001, 16)), data]))).toMatch(/^corrupt WAV: sample rate 768001 Hz/);
    expect(wavError(riff([chunk("fmt ", fmtBody(1, 2, 16000, 16, 2)), data]))).toBe(
      "corrupt WAV: block align 2 inconsistent with 2 channels of 2 bytes",
    );
    expect(wavError(riff([chunk("fmt ", fmtBody(0x55, 1, 16000, 16)), data]))).toBe("unsupported WAV: format tag 0x0055");
    expect(wavError(riff([chunk("fmt ", fmtBody(3, 1, 16000, 16)), data]))).toBe(
      "unsupported WAV: IEEE float with 16 bits per sample",
    );
  });

  it("missing fmt, missing data, zero-length data, non-RIFF, cut inside the header", () => {
    const fmt = chunk("fmt ", fmtBody(1, 1, 16000, 16));
    expect(wavError(riff([chunk("data", new Uint8Array(4))]))).toBe("corrupt WAV: missing fmt chunk");
    expect(wavError(riff([fmt]))).toBe("corrupt WAV: missing data chunk");
    expect(wavError(riff([fmt, chunk("data", new Uint8Array(0))]))).toBe("zero-length audio");
    expect(wavError(riff([fmt, chunk("data", new Uint8Array(1))]))).toBe("zero-length audio");
    expect(wavError(new TextEncoder().encode("<html><body>not audio</body></html>"))).toMatch(/^not a WAV file/);
    expect(wavError(good().subarray(0, 30))).toMatch(/^truncated WAV: fmt chunk needs 16 bytes, file has 10/);
    expect(wavError(good().subarray(0, 8))).toMatch(/^truncated WAV/);
    expect(wavError(riff([chunk("fmt ", new Uint8Array(14)), chunk("data", new Uint8Array(2))]))).toBe(
      "corrupt WAV: fmt chunk is 14 bytes, needs at least 16",
    );
  });

  it("a chunk claiming gigabytes before the data chunk", () => {
    const bytes = riff([chunk("fmt ", fmtBody(1, 1, 16000, 16)), chunk("LIST", new Uint8Array(4)), chunk("data", new Uint8Array(4))]);
    new DataView(bytes.buffer).setUint32(36 + 4, 0x7fffffff, true); // the LIST chunk's size
    expect(wavError(bytes)).toBe(`truncated WAV: chunk 'LIST' at byte 36 says ${0x7fffffff} bytes, file has 16`);
  });

  it("a float WAV with NaN is rejected", () => {
    const body = new Uint8Array(8);
    new DataView(body.buffer).setFloat32(4, NaN, true);
    expect(wavError(riff([chunk("fmt ", fmtBody(3, 1, 16000, 32)), chunk("data", body)]))).toBe(
      "corrupt WAV: non-finite float sample at frame 1, channel 0",
    );
  });
});

describe("encodeWav", () => {
  it("writes the canonical 44-byte header that Python's wave module and soundfile read back exactly", () => {
    const pcm = new Int16Array(1601);
    for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(30000 * Math.sin(i / 3));
    pcm[0] = -32768;
    pcm[1] = 32767;
    const bytes = encodeWav(pcm, 22050);
    expect(bytes.length).toBe(44 + 2 * pcm.length);
    const head = Buffer.from(bytes.subarray(0, 44));
    expect(head.toString("latin1", 0, 4)).toBe("RIFF");
    expect(head.readUInt32LE(4)).toBe(36 + 2 * pcm.length);
    expect(head.toString("latin1", 8, 16)).toBe("WAVEfmt ");
    expect([head.readUInt32LE(16), head.readUInt16LE(20), head.readUInt16LE(22), head.readUInt32LE(24)]).toEqual([16, 1, 1, 22050]);
    expect([head.readUInt32LE(28), head.readUInt16LE(32), head.readUInt16LE(34)]).toEqual([44100, 2, 16]);
    expect(head.toString("latin1", 36, 40)).toBe("data");
    expect(head.readUInt32LE(40)).toBe(2 * pcm.length);

    const file = path.join(dir, "encoded.wav");
    writeFileSync(file, bytes);
    const fromWave = runPython(
      `import sys, wave, hashlib
w = wave.open(sys.argv[1], 'rb')
print(w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes(), hashlib.md5(w.readframes(w.getnframes())).hexdigest())`,
      [file],
    ).trim();
    const expectedMd5 = createHash("md5").update(Buffer.from(pcm.buffer)).digest("hex");
    expect(fromWave).toBe(`1 2 22050 ${pcm.length} ${expectedMd5}`);
    expect(maxAbsDiff(parseWav(bytes).channels[0], soundfileRead(file).channels[0])).toBe(0);
  });

  it("rejects a bad sample rate", () => {
    expect(() => encodeWav(new Int16Array(4), 0)).toThrow(RangeError);
    expect(() => encodeWav(new Int16Array(4), 16000.5)).toThrow(/sampleRate/);
  });
});

describe("decodeAudio: containers by magic bytes, codecs through audio-decode", () => {
  let sine16k = "";
  let stereo = "";
  beforeAll(() => {
    sine16k = sox("sine16k.wav", ["-r", "16000", "-b", "16"], ["1.5", "sine", "1000", "vol", "0.7"]).file;
    stereo = sox("stereo44k.wav", ["-r", "44100", "-b", "16", "-c", "2"], ["1.2", "sine", "440", "sine", "880"]).file;
  });

  it("FLAC made by ffmpeg at 16 and 24 bits: samples equal soundfile's exactly", async () => {
    for (const [name, args] of [
      ["f16.flac", ["-c:a", "flac"]],
      ["f24.flac", ["-c:a", "flac", "-sample_fmt", "s32", "-bits_per_raw_sample", "24"]],
    ] as const) {
      const { file, bytes } = ffmpeg(sine16k, name, [...args]);
      const audio = await decodeAudio(bytes, name);
      const ref = soundfileRead(file);
      expect(audio.sampleRate).toBe(16000);
      expect(maxAbsDiff(audio.channels[0], ref.channels[0])).toBe(0);
      expect(audio.channels[0].length).toBe(24000);
      expect(sineFrequency(audio.channels[0], 16000)).toBeCloseTo(1000, 0);
      expect(probeAudio(bytes)).toEqual({ sampleRate: 16000, numFrames: 24000, channels: 1 });
    }
  });

  it("stereo FLAC (flac CLI): channel pick and mix", async () => {
    const file = path.join(dir, "stereo.flac");
    run("flac", ["-s", "-f", "-8", stereo, "-o", file]);
    const audio = await decodeAudio(new Uint8Array(readFileSync(file)), "stereo.flac");
    expect(audio.sampleRate).toBe(44100);
    expect(audio.channels).toHaveLength(2);
    expect(sineFrequency(toMono(audio, 0), 44100)).toBeCloseTo(440, 0);
    expect(sineFrequency(toMono(audio, 1), 44100)).toBeCloseTo(880, 0);
    expect(maxAbsDiff(toMono(audio, 1), soundfileRead(file).channels[1])).toBe(0);
  });

  // Codec padding: ffmpeg writes a Lavc gapless tag (encoder delay and padding) in MP3's Xing frame
  // and the Ogg granule positions mark the true end, so all three decode to exactly the input length
  // (Opus always at 48 kHz: round(n · 48000 / rate), ±1 for the rate conversion).
  const lossy: Array<{ name: string; args: string[]; rate: number; tolerance: number }> = [
    { name: "s.mp3", args: ["-c:a", "libmp3lame", "-b:a", "64k"], rate: 16000, tolerance: 0 },
    { name: "s.opus", args: ["-c:a", "libopus", "-b:a", "48k"], rate: 48000, tolerance: 1 },
    { name: "s.ogg", args: ["-c:a", "libvorbis"], rate: 16000, tolerance: 0 },
  ];
  for (const c of lossy) {
    it(`${c.name} (ffmpeg ${c.args[1]}): rate, length, 1 kHz sine, probe agrees`, async () => {
      const { bytes } = ffmpeg(sine16k, c.name, c.args);
      const audio = await decodeAudio(bytes, c.name);
      expect(audio.sampleRate).toBe(c.rate);
      expect(audio.channels).toHaveLength(1);
      const expected = Math.round((24000 * c.rate) / 16000);
      expect(Math.abs(audio.channels[0].length - expected)).toBeLessThanOrEqual(c.tolerance);
      expect(sineFrequency(audio.channels[0], c.rate)).toBeCloseTo(1000, 0);
      expect(probeAudio(bytes)).toEqual({ sampleRate: c.rate, numFrames: audio.channels[0].length, channels: 1 });
    });
  }

  it("stereo MP3, Opus and Vorbis keep both channels", async () => {
    for (const [name, args, rate] of [
      ["st.mp3", ["-c:a", "libmp3lame", "-b:a", "128k"], 44100],
      ["st.opus", ["-c:a", "libopus"], 48000],
      ["st.ogg", ["-c:a", "libvorbis"], 44100],
    ] as const) {
      const { bytes } = ffmpeg(stereo, name, [...args]);
      const audio = await decodeAudio(bytes, name);
      expect(audio.sampleRate).toBe(rate);
      expect(audio.channels).toHaveLength(2);
      expect(sineFrequency(toMono(audio, 0), rate)).toBeCloseTo(440, 0);
      expect(sineFrequency(toMono(audio, 1), rate)).toBeCloseTo(880, 0);
    }
  });

  it("MP3 with ID3v2 and ID3v1 tags; MP3 without a Xing frame (probe unknown)", async () => {
    const tagged = ffmpeg(sine16k, "tagged.mp3", ["-c:a", "libmp3lame", "-metadata", "title=x", "-write_id3v1", "1"]);
    expect(Buffer.from(tagged.bytes.subarray(0, 3)).toString("latin1")).toBe("ID3");
    expect(Buffer.from(tagged.bytes.subarray(tagged.bytes.length - 128, tagged.bytes.length - 125)).toString("latin1")).toBe("TAG");
    expect((await decodeAudio(tagged.bytes, "tagged.mp3")).channels[0].length).toBe(24000);

    const plain = ffmpeg(sine16k, "plain.mp3", ["-c:a", "libmp3lame", "-write_xing", "0", "-id3v2_version", "0"]);
    expect(plain.bytes[0]).toBe(0xff);
    const audio = await decodeAudio(plain.bytes, "plain.mp3");
    // Without the gapless tag nothing is trimmed: 1152 · frames at MPEG-2 (576 per frame), ≥ input.
    expect(audio.channels[0].length % 576).toBe(0);
    expect(audio.channels[0].length).toBeGreaterThanOrEqual(24000);
    expect(audio.channels[0].length).toBeLessThanOrEqual(24000 + 2 * 1152 + 576);
    expect(sineFrequency(audio.channels[0], 16000)).toBeCloseTo(1000, 0);
    expect(probeAudio(plain.bytes)).toBeNull();
  });

  it("sniffs by content, not extension; names unsupported formats", async () => {
    const flacBytes = encodeFlac(floatToInt16(int16ToFloat(new Int16Array([1, 2, 3, 4, 5, 6, 7, 8]))), 8000);
    expect(Array.from((await decodeAudio(flacBytes, "misnamed.wav")).channels[0], (v) => v * 32768)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // Some taggers put an ID3v2 tag in front of FLAC.
    const tagged = new Uint8Array(30 + flacBytes.length);
    tagged.set([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 20]);
    tagged.set(flacBytes, 30);
    expect(Array.from((await decodeAudio(tagged, "tagged.flac")).channels[0], (v) => v * 32768)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(probeAudio(tagged)).toEqual({ sampleRate: 8000, numFrames: 8, channels: 1 });
    const wavBytes = encodeWav(new Int16Array([5, 6]), 8000);
    expect((await decodeAudio(wavBytes, "misnamed.mp3")).channels[0].length).toBe(2);
    const html = new TextEncoder().encode("<html><body>404</body></html>");
    expect(await decodeError(html, "a.mp3")).toBe("unsupported format: starts with bytes 3c 68 74 6d");
    expect(await decodeError(new Uint8Array(0))).toBe("empty file");
    const aiff = sox("x.aiff", ["-r", "8000", "-b", "16"], ["0.1", "sine", "100"]);
    expect(await decodeError(aiff.bytes)).toBe("unsupported format: AIFF");
  });

  it("an MP3 with junk before the first frame decodes when the name says .mp3", async () => {
    const { bytes } = ffmpeg(sine16k, "junk.mp3", ["-c:a", "libmp3lame", "-id3v2_version", "0"]);
    const junk = new Uint8Array(bytes.length + 37);
    junk.fill(0x2a, 0, 37);
    junk.set(bytes, 37);
    expect((await decodeAudio(junk, "junk.mp3")).channels[0].length).toBe(24000);
    expect(await decodeError(junk, "junk.bin")).toMatch(/^unsupported format: starts with bytes 2a 2a 2a 2a/);
  });
});

describe("probeAudio / probeAudioFile", () => {
  it("WAV and FLAC lengths from headers; probeAudioFile reads only the head of a 3 MB file", async () => {
    const big = sox("big.wav", ["-r", "48000", "-b", "24", "-c", "2"], ["10.5", "sine", "100", "sine", "200"]);
    expect(big.bytes.length).toBeGreaterThan(3_000_000);
    expect(probeAudio(big.bytes)).toEqual({ sampleRate: 48000, numFrames: 504000, channels: 2 });
    expect(await probeAudioFile(big.file)).toEqual({ sampleRate: 48000, numFrames: 504000, channels: 2 });
    // Given a cut file, the probe counts the frames actually present, not the header's claim.
    const dataStart = Buffer.from(big.bytes).indexOf("data") + 8;
    expect(probeAudio(big.bytes.subarray(0, 65536))).toEqual({ sampleRate: 48000, numFrames: Math.floor((65536 - dataStart) / 6), channels: 2 });

    const flacFile = path.join(dir, "big.flac");
    run("flac", ["-s", "-f", "--padding=100000", big.file, "-o", flacFile]); // metadata runs past 64 KiB
    expect(await probeAudioFile(flacFile)).toEqual({ sampleRate: 48000, numFrames: 504000, channels: 2 });
  });

  it("MP3 length from the gapless Xing frame behind a 100 KB ID3v2 tag", async () => {
    const src = sox("tag-src.wav", ["-r", "16000", "-b", "16"], ["2", "sine", "300"]).file;
    const mp3 = ffmpeg(src, "bigtag.mp3", ["-c:a", "libmp3lame", "-metadata", `comment=${"x".repeat(100_000)}`]);
    const tagBytes = 10 + ((mp3.bytes[6] << 21) | (mp3.bytes[7] << 14) | (mp3.bytes[8] << 7) | mp3.bytes[9]);
    expect(tagBytes).toBeGreaterThan(65536);
    expect(await probeAudioFile(mp3.file)).toEqual({ sampleRate: 16000, numFrames: 32000, channels: 1 });
    expect((await decodeAudio(mp3.bytes, "bigtag.mp3")).channels[0].length).toBe(32000);
  });

  it("Ogg lengths from the last page (probeAudioFile reads head and tail), null for unknown or damaged", async () => {
    const src = sox("long.wav", ["-r", "16000", "-b", "16"], ["30", "sine", "300"]).file;
    const opus = ffmpeg(src, "long.opus", ["-c:a", "libopus"]);
    expect(opus.bytes.length).toBeGreaterThan(2 * 65536);
    const decoded = await decodeAudio(opus.bytes, "long.opus");
    expect(await probeAudioFile(opus.file)).toEqual({ sampleRate: 48000, numFrames: decoded.channels[0].length, channels: 1 });
    expect(probeAudio(new TextEncoder().encode("hello"))).toBeNull();
    expect(await probeAudioFile(path.join(dir, "does-not-exist.wav"))).toBeNull();
    const badWav = encodeWav(new Int16Array(10), 16000);
    new DataView(badWav.buffer).setUint16(22, 0, true); // zero channels
    expect(probeAudio(badWav)).toBeNull();
  });
});

describe("sample conversions", () => {
  it("int16 → float → int16 is exact for all 65536 values", () => {
    const all = new Int16Array(65536);
    for (let i = 0; i < all.length; i++) all[i] = i - 32768;
    const back = floatToInt16(int16ToFloat(all));
    expect(back).toEqual(all);
    expect(int16ToFloat(new Int16Array([-32768, 16384]))).toEqual(new Float32Array([-1, 0.5]));
  });

  it("rounds to nearest, clamps, maps NaN to 0", () => {
    const x = new Float32Array([1, -1, 1.5, -7, 0.4 / 32768, 0.6 / 32768, -0.6 / 32768, NaN, Infinity, -Infinity]);
    expect(Array.from(floatToInt16(x))).toEqual([32767, -32768, 32767, -32768, 0, 1, -1, 0, 32767, -32768]);
  });

  it("toMono: mix averages, a single channel is returned as is, bad index names the count", () => {
    const audio: DecodedAudio = { channels: [new Float32Array([1, 0.5, -1]), new Float32Array([0, 0.25, 1]), new Float32Array([0.5, 0, 0])], sampleRate: 8000 };
    expect(Array.from(toMono(audio, "mix"))).toEqual([0.5, 0.25, 0]);
    expect(toMono(audio, 2)).toBe(audio.channels[2]);
    expect(() => toMono(audio, -1)).toThrow("channel -1 requested but the audio has 3 channels");
    expect(() => toMono({ channels: [new Float32Array(1)], sampleRate: 8000 }, 1)).toThrow("channel 1 requested but the audio has 1 channel");
  });
});
