// Damaged input: truncated, overwritten and lying files must give a DecodeError with a one-line
// reason, never a crash, a hang or another exception. Every test has its own timeout so that a
// hang fails instead of stalling the run.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeAudio } from "../src/audio/decode.js";
import { DecodeError } from "../src/audio/decoded.js";
import { encodeFlac } from "../src/audio/flac.js";
import { encodeWav } from "../src/audio/wav.js";

const TIMEOUT_MS = 30_000;

let dir = "";
const files: Record<"wav" | "flac" | "flacCli" | "mp3" | "opus" | "vorbis", Uint8Array> = {} as never;

/** A deterministic generator for damage positions (fixtures only). */
function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "augment-corrupt-"));
  const pcm = new Int16Array(32000); // 2 s at 16 kHz: a 1 kHz tone with a little noise
  const rnd = lcg(5);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(12000 * Math.sin((2 * Math.PI * 1000 * i) / 16000) + 500 * (rnd() - 0.5));
  files.wav = encodeWav(pcm, 16000);
  files.flac = encodeFlac(pcm, 16000);
  const wavFile = path.join(dir, "src.wav");
  writeFileSync(wavFile, files.wav);
  const out = (name: string) => path.join(dir, name);
  run("flac", ["-s", "-f", "-5", wavFile, "-o", out("cli.flac")]);
  run("ffmpeg", ["-v", "error", "-y", "-i", wavFile, "-c:a", "libmp3lame", "-b:a", "64k", out("s.mp3")]);
  run("ffmpeg", ["-v", "error", "-y", "-i", wavFile, "-c:a", "libopus", "-frame_duration", "20", "-page_duration", "100000", out("s.opus")]);
  run("ffmpeg", ["-v", "error", "-y", "-i", wavFile, "-c:a", "libvorbis", out("s.ogg")]);
  files.flacCli = new Uint8Array(readFileSync(out("cli.flac")));
  files.mp3 = new Uint8Array(readFileSync(out("s.mp3")));
  files.opus = new Uint8Array(readFileSync(out("s.opus")));
  files.vorbis = new Uint8Array(readFileSync(out("s.ogg")));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function decodeError(bytes: Uint8Array, name: string): Promise<string> {
  let outcome: unknown = null;
  try {
    await decodeAudio(bytes, name);
  } catch (e) {
    outcome = e;
  }
  expect(outcome).toBeInstanceOf(DecodeError);
  const message = (outcome as Error).message;
  expect(message).not.toContain("\n");
  return message;
}

function half(bytes: Uint8Array): Uint8Array {
  return bytes.slice(0, bytes.length >> 1);
}

/** Overwrites `runs` runs of `length` random bytes at random places in [from, bytes.length). */
function overwrite(bytes: Uint8Array, seed: number, runs: number, length: number, from = 0): Uint8Array {
  const out = bytes.slice();
  const rnd = lcg(seed);
  for (let r = 0; r < runs; r++) {
    const at = from + Math.floor(rnd() * (out.length - from - length));
    for (let i = 0; i < length; i++) out[at + i] = Math.floor(rnd() * 256);
  }
  return out;
}

/** Ogg page CRC-32 (RFC 3533: polynomial 0x04c11db7, no reflection, CRC field zeroed). */
function fixOggCrc(bytes: Uint8Array, page: number): void {
  const segments = bytes[page + 26];
  let end = page + 27 + segments;
  for (let i = 0; i < segments; i++) end += bytes[page + 27 + i];
  bytes.fill(0, page + 22, page + 26);
  let crc = 0;
  for (let i = page; i < end; i++) {
    crc ^= bytes[i] << 24;
    for (let k = 0; k < 8; k++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(page + 22, crc >>> 0, true);
}

function lastOggPage(bytes: Uint8Array): number {
  return Buffer.from(bytes).lastIndexOf("OggS");
}

describe("WAV", () => {
  it("cut in half", async () => {
    expect(await decodeError(half(files.wav), "a.wav")).toBe("truncated WAV: header says 64000 bytes of audio, file has 31978");
  }, TIMEOUT_MS);

  it("random bytes over the fmt fields (sample data has no checksum, so damage there cannot be seen)", async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const bytes = files.wav.slice();
      const rnd = lcg(seed);
      for (let i = 20; i < 36; i++) bytes[i] = Math.floor(rnd() * 256); // format tag .. bits per sample
      expect(await decodeError(bytes, "a.wav")).toMatch(/^(unsupported|corrupt) WAV: /);
    }
  }, TIMEOUT_MS);

  it("data size set to 2^31", async () => {
    const bytes = files.wav.slice();
    new DataView(bytes.buffer).setUint32(40, 2 ** 31, true);
    expect(await decodeError(bytes, "a.wav")).toBe("truncated WAV: header says 2147483648 bytes of audio, file has 64000");
  }, TIMEOUT_MS);
});

describe("FLAC (ours and Debian flac -5)", () => {
  for (const which of ["flac", "flacCli"] as const) {
    it(`${which}: cut in half, cut at a frame boundary`, async () => {
      expect(await decodeError(half(files[which]), "a.flac")).toMatch(/^truncated FLAC: expected 32000 samples, file holds \d+$/);
      // Frame 2 of a 16 kHz mono 16-bit stream starts with ff f8 c5 08 02 (sync, 4096 block, 16 kHz, frame 2).
      const at = Buffer.from(files[which]).indexOf(Buffer.from([0xff, 0xf8, 0xc5, 0x08, 0x02]));
      expect(at).toBeGreaterThan(0);
      expect(await decodeError(files[which].slice(0, at), "a.flac")).toBe("truncated FLAC: expected 32000 samples, file holds 8192");
    }, TIMEOUT_MS);

    it(`${which}: random bytes overwritten in the frames fail the CRC-16`, async () => {
      for (let seed = 1; seed <= 10; seed++) {
        const message = await decodeError(overwrite(files[which], seed, 1, 8, files[which].length >> 2), "a.flac");
        expect(message).toMatch(/^corrupt FLAC: frame \d+ at byte \d+ (fails its CRC-16|has a bad header)$/);
      }
    }, TIMEOUT_MS);
  }

  it("STREAMINFO total samples set to 2^31, metadata block length set to 2^24 - 1", async () => {
    const bytes = files.flac.slice();
    // Total samples: the low 36 bits of STREAMINFO bytes 13..17 (file offset 8 + 13).
    bytes[21] = (bytes[21] & 0xf0) | 0;
    new DataView(bytes.buffer).setUint32(22, 2 ** 31, false);
    expect(await decodeError(bytes, "a.flac")).toMatch(/^truncated FLAC: expected 2147483648 samples, file holds 32000$/);

    const cli = files.flacCli.slice();
    // The block after STREAMINFO (flac writes a seek table or comment there) claims 16 MiB.
    cli[43] = 0xff;
    cli[44] = 0xff;
    cli[45] = 0xff;
    expect(await decodeError(cli, "a.flac")).toMatch(/^truncated FLAC: metadata block at byte 42 says 16777215 bytes, file has \d+$/);
  }, TIMEOUT_MS);

  it("a wrong MD5 in STREAMINFO is caught after decoding; an unknown length and MD5 still decode", async () => {
    const bytes = files.flac.slice();
    bytes[26] ^= 1; // first MD5 byte
    expect(await decodeError(bytes, "a.flac")).toBe("corrupt FLAC: decoded audio fails the STREAMINFO MD5 check");
    const unknown = files.flac.slice();
    unknown[21] &= 0xf0;
    unknown.fill(0, 22, 42); // total samples and MD5 zero: "unknown" (RFC 9639 §8.2)
    expect((await decodeAudio(unknown, "a.flac")).channels[0].length).toBe(32000);
  }, TIMEOUT_MS);
});

describe("MP3", () => {
  it("cut in half", async () => {
    expect(await decodeError(half(files.mp3), "a.mp3")).toMatch(/^truncated MP3: frame \d+ at byte \d+ needs \d+ bytes, file has \d+$/);
  }, TIMEOUT_MS);

  it("cut at a frame boundary: fewer frames than the Xing header counts", async () => {
    // Walk frame lengths: MPEG-2 layer III at 16 kHz is 72 · bitrate / 16000 bytes, +1 when padded.
    const kbps = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    const bytes = files.mp3;
    let at = 10 + ((bytes[6] << 21) | (bytes[7] << 14) | (bytes[8] << 7) | bytes[9]);
    for (let frame = 0; frame < 20; frame++) {
      expect(bytes[at]).toBe(0xff);
      at += Math.floor((72 * kbps[bytes[at + 2] >> 4] * 1000) / 16000) + ((bytes[at + 2] >> 1) & 1);
    }
    expect(await decodeError(bytes.slice(0, at), "a.mp3")).toMatch(/^truncated MP3: Xing header says \d+ frames, file has 19$/);
  }, TIMEOUT_MS);

  it("random bytes overwritten (MP3 has no checksum over audio data: only hit frame headers show)", async () => {
    for (let seed = 1; seed <= 10; seed++) {
      expect(await decodeError(overwrite(files.mp3, seed, 32, 64, 2000), "a.mp3")).toMatch(/^(corrupt|truncated|unsupported) MP3: /);
    }
  }, TIMEOUT_MS);

  it("Xing frame count set to 2^31; ID3v2 size set to its maximum", async () => {
    const bytes = files.mp3.slice();
    const xing = Buffer.from(bytes).indexOf("Info") >= 0 ? Buffer.from(bytes).indexOf("Info") : Buffer.from(bytes).indexOf("Xing");
    expect(xing).toBeGreaterThan(0);
    new DataView(bytes.buffer).setUint32(xing + 8, 2 ** 31, false);
    expect(await decodeError(bytes, "a.mp3")).toMatch(/^truncated MP3: Xing header says 2147483648 frames, file has \d+$/);

    const id3 = files.mp3.slice();
    id3.set([0x7f, 0x7f, 0x7f, 0x7f], 6);
    expect(await decodeError(id3, "a.mp3")).toMatch(/^truncated MP3: ID3v2 tag says 268435465 bytes, file has \d+$/);
    id3.set([0x80, 0, 0, 0], 6);
    expect(await decodeError(id3, "a.mp3")).toBe("corrupt MP3: ID3v2 tag at byte 0 has an invalid size");
  }, TIMEOUT_MS);
});

describe("Ogg Opus and Vorbis", () => {
  for (const [which, name] of [["opus", "Opus"], ["vorbis", "Vorbis"]] as const) {
    it(`${name}: cut in half, cut at a page boundary`, async () => {
      expect(await decodeError(half(files[which]), "a.ogg")).toMatch(new RegExp(`^truncated ${name}: `));
      const cut = files[which].slice(0, lastOggPage(files[which]));
      expect(await decodeError(cut, "a.ogg")).toMatch(new RegExp(`^truncated ${name}: no end-of-stream page`));
    }, TIMEOUT_MS);

    it(`${name}: any overwritten byte fails the page CRC`, async () => {
      for (let seed = 1; seed <= 10; seed++) {
        expect(await decodeError(overwrite(files[which], seed, 4, 4, 200), "a.ogg")).toMatch(new RegExp(`^(corrupt|truncated) ${name}: `));
      }
    }, TIMEOUT_MS);

    it(`${name}: last granule position set to 2^31 (with a valid CRC) is caught by the length check`, async () => {
      const bytes = files[which].slice();
      const page = lastOggPage(bytes);
      new DataView(bytes.buffer).setUint32(page + 6, 2 ** 31, true);
      new DataView(bytes.buffer).setUint32(page + 10, 0, true);
      expect(await decodeError(bytes, "a.ogg")).toMatch(/CRC/);
      fixOggCrc(bytes, page);
      expect(await decodeError(bytes, "a.ogg")).toMatch(new RegExp(`^corrupt ${name}: granule position promises \\d+ samples, decoded \\d+$`));
    }, TIMEOUT_MS);
  }
});

/** FLAC frame CRC-16 (polynomial 0x8005, RFC 9639 §9.3). */
function flacCrc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let k = 0; k < 8; k++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x8005) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

describe("garbage that passes the checksums reaches the WASM decoders", () => {
  /** Start of our frame `k` in a 16 kHz mono stream: ff f8 c5 08 k (sync, 4096 block, 16 kHz, 16 bit). */
  const frameAt = (bytes: Uint8Array, k: number) => Buffer.from(bytes).indexOf(Buffer.from([0xff, 0xf8, 0xc5, 0x08, k]));

  it("a scrambled FLAC frame with a recomputed CRC-16: libFLAC's complaint or the sample count catches it", async () => {
    for (let seed = 1; seed <= 8; seed++) {
      const bytes = files.flac.slice();
      const start = frameAt(bytes, 1);
      const end = frameAt(bytes, 2);
      const rnd = lcg(seed);
      // Keep the 6-byte frame header and the subframe header byte; scramble the rest.
      for (let i = start + 7; i < end - 2; i++) if (rnd() < 0.3) bytes[i] = Math.floor(rnd() * 256);
      new DataView(bytes.buffer).setUint16(end - 2, flacCrc16(bytes.subarray(start, end - 2)), false);
      expect(await decodeError(bytes, "a.flac")).toMatch(/^corrupt FLAC: (libFLAC reports lost sync|expected 32000 samples, decoded \d+)$/);
    }
  }, TIMEOUT_MS);

  it("a changed sample in a VERBATIM frame with a recomputed CRC-16 decodes cleanly and fails the MD5", async () => {
    const noise = new Int16Array(20000);
    const rnd = lcg(9);
    for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(rnd() * 65536) - 32768;
    const bytes = encodeFlac(noise, 16000); // full-scale noise: every frame is VERBATIM
    const start = frameAt(bytes, 1);
    const end = frameAt(bytes, 2);
    expect(bytes[start + 6] >> 1).toBe(1); // subframe type 1: VERBATIM
    bytes[start + 100] ^= 0x10;
    new DataView(bytes.buffer).setUint16(end - 2, flacCrc16(bytes.subarray(start, end - 2)), false);
    expect(await decodeError(bytes, "a.flac")).toBe("corrupt FLAC: decoded audio fails the STREAMINFO MD5 check");
  }, TIMEOUT_MS);

  for (const which of ["opus", "vorbis"] as const) {
    it(`${which}: scrambled packets with recomputed page CRCs decode or fail with a DecodeError`, async () => {
      for (let seed = 1; seed <= 8; seed++) {
        const bytes = files[which].slice();
        const rnd = lcg(seed);
        const pages: number[] = [];
        for (let at = Buffer.from(bytes).indexOf("OggS"); at >= 0; at = Buffer.from(bytes).indexOf("OggS", at + 4)) pages.push(at);
        // Leave the header pages (identification, comments, Vorbis setup) intact, scramble audio pages.
        for (let p = 3; p < pages.length; p++) {
          const body = pages[p] + 27 + bytes[pages[p] + 26];
          const next = p + 1 < pages.length ? pages[p + 1] : bytes.length;
          for (let i = body; i < next; i++) if (rnd() < 0.05) bytes[i] = Math.floor(rnd() * 256);
          fixOggCrc(bytes, pages[p]);
        }
        try {
          const audio = await decodeAudio(bytes, "a.ogg");
          expect(audio.channels[0].every(Number.isFinite)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }
    }, TIMEOUT_MS);
  }
});

describe("fuzz: random damage never escapes as anything but a DecodeError", () => {
  for (const which of ["wav", "flac", "flacCli", "mp3", "opus", "vorbis"] as const) {
    it(`${which}: 60 seeded mutations`, async () => {
      const rnd = lcg(which.length * 7919 + 1);
      let rejected = 0;
      for (let k = 0; k < 60; k++) {
        const original = files[which];
        let bytes: Uint8Array;
        const kind = k % 4;
        if (kind === 0) bytes = original.slice(0, Math.floor(rnd() * original.length));
        else if (kind === 1) bytes = overwrite(original, k + 1, 1 + Math.floor(rnd() * 8), 1 + Math.floor(rnd() * 16));
        else if (kind === 2) {
          const at = Math.floor(rnd() * original.length);
          const cut = 1 + Math.floor(rnd() * 100);
          bytes = new Uint8Array([...original.subarray(0, at), ...original.subarray(at + cut)]);
        } else {
          bytes = original.slice();
          for (let i = 0; i < 4; i++) bytes[Math.floor(rnd() * 64)] = Math.floor(rnd() * 256); // header region
        }
        try {
          const audio = await decodeAudio(bytes, `fuzz.${which}`);
          const length = audio.channels[0].length;
          expect(length).toBeGreaterThan(0);
          for (const ch of audio.channels) {
            expect(ch.length).toBe(length);
            expect(ch.every(Number.isFinite)).toBe(true);
          }
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
          rejected++;
        }
      }
      // Truncations and deletions alone are half of the cases; all of those must be caught
      // (WAV deletions inside the samples are the exception: they only shift the audio).
      expect(rejected).toBeGreaterThanOrEqual(which === "wav" ? 15 : 30);
    }, 120_000);
  }
});
