// The plain-JS FLAC decoder (src/audio/flac-decode.ts) against the general path (libFLAC in WASM,
// audio-decode): the same samples for streams from `flac` at every preset, stereo with each
// decorrelation, 8/16/24 bits, odd block sizes, wasted bits, silence (CONSTANT), white noise
// (VERBATIM and escapes), and this project's encoder (8 and 24 bits: what `flac` takes raw); and it hands back anything it does not
// take (a damaged frame) so the general path names the problem.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { decodeAudio } from "../src/audio/decode.js";
import { DecodeError } from "../src/audio/decoded.js";
import { jsFlacDecoderStats, setJsFlacDecoder } from "../src/audio/flac-decode.js";
import { encodeFlac } from "../src/audio/flac.js";

const log = (...parts: unknown[]) => console.log("[flac-decode]", ...parts);
const dir = mkdtempSync(path.join(tmpdir(), "augment-flac-decode-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

/** Interleaved integer PCM: a tone per channel, noise, a silent stretch, a loud burst. */
function signal(frames: number, channels: number, bits: number, seed: number): Int32Array {
  const rnd = lcg(seed);
  const full = 2 ** (bits - 1);
  const out = new Int32Array(frames * channels);
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++) {
      let v = 0.3 * Math.sin((2 * Math.PI * (220 + 110 * c) * i) / 16000) + 0.05 * (rnd() - 0.5);
      if (i > frames / 3 && i < frames / 2) v = 0; // silence: CONSTANT subframes
      if (i > 0.8 * frames && i < 0.82 * frames) v = 1.8 * (rnd() - 0.5); // clipped noise: VERBATIM / escapes
      out[i * channels + c] = Math.max(-full, Math.min(full - 1, Math.round(v * full)));
    }
  }
  return out;
}

function rawBytes(pcm: Int32Array, bits: number): Uint8Array {
  const bytesPer = Math.ceil(bits / 8);
  const out = new Uint8Array(pcm.length * bytesPer);
  // flac reads `bits`-bit samples from containers of ceil(bits/8) bytes, low-aligned.
  for (let i = 0; i < pcm.length; i++) for (let b = 0; b < bytesPer; b++) out[i * bytesPer + b] = pcm[i] >> (8 * b);
  return out;
}

function flacCli(pcm: Int32Array, channels: number, bits: number, args: string[]): Uint8Array {
  const raw = path.join(dir, "in.raw");
  const out = path.join(dir, "out.flac");
  writeFileSync(raw, rawBytes(pcm, bits));
  const r = spawnSync("flac", ["-s", "-f", "--force-raw-format", "--endian=little", "--sign=signed", `--channels=${channels}`, `--bps=${bits}`, "--sample-rate=16000", ...args, raw, "-o", out]);
  if (r.status !== 0) throw new Error(`flac failed: ${r.stderr}`);
  return new Uint8Array(readFileSync(out));
}

async function both(bytes: Uint8Array): Promise<[Float32Array[], Float32Array[]]> {
  setJsFlacDecoder(true);
  const a = await decodeAudio(bytes, "x.flac");
  setJsFlacDecoder(false);
  const b = await decodeAudio(bytes, "x.flac");
  setJsFlacDecoder(true);
  return [a.channels, b.channels];
}

const same = (a: Float32Array[], b: Float32Array[]) => a.length === b.length && a.every((ch, c) => Buffer.from(ch.buffer, ch.byteOffset, ch.byteLength).equals(Buffer.from(b[c].buffer, b[c].byteOffset, b[c].byteLength)));

describe("the JS FLAC decoder gives the general path's samples", () => {
  afterEach(() => setJsFlacDecoder(true));

  it("flac presets, channels, bit depths and block sizes", async () => {
    const cases: Array<{ channels: number; bits: number; args: string[] }> = [];
    for (const preset of ["-0", "-3", "-5", "-8"]) cases.push({ channels: 1, bits: 16, args: [preset] });
    for (const preset of ["-1", "-5", "-8"]) cases.push({ channels: 2, bits: 16, args: [preset] }); // mid/side and left/right/side by -M/-m choices
    cases.push({ channels: 2, bits: 16, args: ["-5", "--no-mid-side"] });
    for (const bits of [8, 24]) cases.push({ channels: 1, bits, args: ["-5"] });
    cases.push({ channels: 2, bits: 24, args: ["-8"] });
    cases.push({ channels: 3, bits: 16, args: ["-5"] });
    for (const bs of ["192", "1152", "4608"]) cases.push({ channels: 1, bits: 16, args: ["-5", `--blocksize=${bs}`] });
    cases.push({ channels: 1, bits: 16, args: ["-5", "--lax", "--blocksize=16384"] }); // past the subset limit
    cases.push({ channels: 1, bits: 16, args: ["-8", "--lax", "--blocksize=4096", "-l", "32"] });
    let n = 0;
    const before = jsFlacDecoderStats.decoded;
    for (const [k, c] of cases.entries()) {
      const pcm = signal(16000 + 77 * k, c.channels, c.bits, k + 1);
      const bytes = flacCli(pcm, c.channels, c.bits, c.args);
      const [a, b] = await both(bytes);
      expect(same(a, b), JSON.stringify(c)).toBe(true);
      n++;
    }
    // Every one went through the JS decoder (none was handed back).
    expect(jsFlacDecoderStats.decoded - before).toBe(n);
    log(`${n} flac encodings decoded identically`);
  });

  it("wasted bits and this project's encoder", async () => {
    const pcm = signal(30000, 1, 16, 9);
    const shifted = Int16Array.from(pcm, (v) => (v >> 3) << 3);
    for (const bytes of [encodeFlac(Int16Array.from(pcm), 16000), encodeFlac(shifted, 16000), flacCli(Int32Array.from(shifted), 1, 16, ["-5"])]) {
      const [a, b] = await both(bytes);
      expect(same(a, b)).toBe(true);
    }
  });

  it("hands a damaged frame to the general path, which names it", async () => {
    const bytes = flacCli(signal(20000, 1, 16, 3), 1, 16, ["-5"]);
    const damaged = bytes.slice();
    damaged[Math.floor(damaged.length * 0.6)] ^= 0x10;
    const errors: string[] = [];
    for (const on of [true, false]) {
      setJsFlacDecoder(on);
      try {
        await decodeAudio(damaged, "x.flac");
        errors.push("decoded");
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError);
        errors.push((e as Error).message);
      }
    }
    expect(errors[0]).toBe(errors[1]);
    log("damaged frame:", errors[0]);
  });
});
