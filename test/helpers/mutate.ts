// Damaged audio for the fuzz tests: valid base files (WAV PCM/float, FLAC, MP3, Opus, Vorbis) and
// seeded mutations of them (bit flips, truncation, header fields claiming gigabytes, inserted and
// deleted bytes, NaN/Inf samples). Every mutation is a pure function of (base, seed).
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { encodeFlac } from "../../src/audio/flac.js";
import { lcg } from "./fixtures.js";

export interface Base {
  name: string;
  ext: string;
  bytes: Uint8Array;
}

/** A WAV written by hand: PCM 8/16/24/32 or float 32, any channel count, so any field can be set. */
export function wavBytes(samples: Float32Array[], sampleRate: number, kind: "pcm8" | "pcm16" | "pcm24" | "pcm32" | "float32"): Uint8Array {
  const bits = kind === "float32" ? 32 : Number(kind.slice(3));
  const bps = bits / 8;
  const channels = samples.length;
  const frames = samples[0].length;
  const data = frames * channels * bps;
  const b = Buffer.alloc(44 + data);
  b.write("RIFF", 0);
  b.writeUInt32LE(36 + data, 4);
  b.write("WAVEfmt ", 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(kind === "float32" ? 3 : 1, 20);
  b.writeUInt16LE(channels, 22);
  b.writeUInt32LE(sampleRate, 24);
  b.writeUInt32LE(sampleRate * channels * bps, 28);
  b.writeUInt16LE(channels * bps, 32);
  b.writeUInt16LE(bits, 34);
  b.write("data", 36);
  b.writeUInt32LE(data, 40);
  let at = 44;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++, at += bps) {
      const x = samples[c][i];
      if (kind === "float32") b.writeFloatLE(x, at);
      else if (bits === 8) b[at] = Math.max(0, Math.min(255, Math.round(x * 128 + 128)));
      else {
        const v = Math.max(-(2 ** (bits - 1)), Math.min(2 ** (bits - 1) - 1, Math.round(x * 2 ** (bits - 1))));
        b.writeIntLE(v, at, bps);
      }
    }
  }
  return new Uint8Array(b);
}

/** A tone with a little noise: `seconds` long at `sampleRate`. */
export function tone(seconds: number, sampleRate: number, seed = 1, freq = 440): Float32Array {
  const rnd = lcg(seed);
  const x = new Float32Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < x.length; i++) x[i] = 0.4 * Math.sin((2 * Math.PI * freq * i) / sampleRate) + 0.02 * (rnd() - 0.5);
  return x;
}

/** The base files; MP3/Opus/Vorbis need the ffmpeg command (the suite's reference tools include it). */
export function baseFiles(dir: string): Base[] {
  const x = tone(0.5, 16000);
  const pcm = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++) pcm[i] = Math.round(x[i] * 32767);
  const bases: Base[] = [
    { name: "pcm16", ext: "wav", bytes: wavBytes([x], 16000, "pcm16") },
    { name: "stereo24", ext: "wav", bytes: wavBytes([tone(0.4, 44100, 2), tone(0.4, 44100, 3, 660)], 44100, "pcm24") },
    { name: "float32", ext: "wav", bytes: wavBytes([x], 16000, "float32") },
    { name: "pcm8", ext: "wav", bytes: wavBytes([tone(0.3, 8000, 4)], 8000, "pcm8") },
    { name: "flac", ext: "flac", bytes: encodeFlac(pcm, 16000) },
  ];
  const src = path.join(dir, "base.wav");
  writeFileSync(src, bases[0].bytes);
  const codecs: Array<[string, string, string[]]> = [
    ["mp3", "mp3", ["-c:a", "libmp3lame", "-b:a", "32k"]],
    ["opus", "opus", ["-c:a", "libopus", "-b:a", "16k"]],
    ["vorbis", "ogg", ["-c:a", "libvorbis"]],
  ];
  for (const [name, ext, args] of codecs) {
    const out = path.join(dir, `base.${ext}`);
    const r = spawnSync("ffmpeg", ["-v", "error", "-y", "-i", src, ...args, out], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ffmpeg (${name}) failed: ${r.error?.message ?? r.stderr}`);
    bases.push({ name, ext, bytes: new Uint8Array(readFileSync(out)) });
  }
  return bases;
}

/** Ogg page CRC-32 recomputed in place (so a changed field is not simply caught by the CRC). */
export function fixOggCrc(bytes: Uint8Array, page: number): void {
  const segments = bytes[page + 26];
  let end = page + 27 + segments;
  for (let i = 0; i < segments; i++) end += bytes[page + 27 + i];
  if (end > bytes.length) return;
  bytes.fill(0, page + 22, page + 26);
  let crc = 0;
  for (let i = page; i < end; i++) {
    crc ^= bytes[i] << 24;
    for (let k = 0; k < 8; k++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(page + 22, crc >>> 0, true);
}

const HUGE = [0xffffffff, 0xfffffff0, 0x7fffffff, 0x80000000, 0x40000000, 0x10000000];

/** Header fields set to values claiming gigabytes (or nonsense), per container. */
function headerLie(base: Base, out: Uint8Array, rnd: () => number): string {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const huge = HUGE[Math.floor(rnd() * HUGE.length)];
  if (base.ext === "wav") {
    const fields: Array<[string, number, 2 | 4]> = [
      ["riff size", 4, 4],
      ["data size", 40, 4],
      ["channels", 22, 2],
      ["sample rate", 24, 4],
      ["byte rate", 28, 4],
      ["block align", 32, 2],
      ["bits", 34, 2],
      ["fmt size", 16, 4],
    ];
    const [name, at, size] = fields[Math.floor(rnd() * fields.length)];
    const v = size === 2 ? [0, 0xffff, 3, 64][Math.floor(rnd() * 4)] : huge;
    if (size === 2) view.setUint16(at, v, true);
    else view.setUint32(at, v, true);
    return `wav ${name} = ${v}`;
  }
  if (base.ext === "flac") {
    const choice = Math.floor(rnd() * 4);
    if (choice === 0) {
      // total samples (36 bits at STREAMINFO byte 13.5): all ones = 68 719 476 735 samples
      out[8 + 13] |= 0x0f;
      view.setUint32(8 + 14, huge);
      return `flac total samples ~ ${huge} + 2^32·15`;
    }
    if (choice === 1) {
      out[5] = 0xff; // STREAMINFO length 0xff0022
      return "flac STREAMINFO length";
    }
    if (choice === 2) {
      view.setUint16(8 + 2, 0xffff); // max block size
      view.setUint16(8, 0xffff); // min block size
      return "flac block sizes 65535";
    }
    out[8 + 12] = (out[8 + 12] & 0xf1) | 0x0e; // 8 channels
    return "flac channels = 8";
  }
  if (base.ext === "mp3") {
    const xing = Buffer.from(out).indexOf("Xing") >= 0 ? Buffer.from(out).indexOf("Xing") : Buffer.from(out).indexOf("Info");
    if (xing >= 0 && rnd() < 0.7) {
      view.setUint32(xing + 8, huge);
      return `mp3 Xing frames = ${huge}`;
    }
    if (Buffer.from(out.subarray(0, 3)).toString("latin1") === "ID3") {
      out.set([0x7f, 0x7f, 0x7f, 0x7f], 6);
      return "mp3 ID3v2 size = 256 MB";
    }
    return "mp3 unchanged";
  }
  // Ogg: a granule position or the OpusHead fields, with the page CRC fixed.
  const pages: number[] = [];
  for (let at = Buffer.from(out).indexOf("OggS"); at >= 0; at = Buffer.from(out).indexOf("OggS", at + 4)) pages.push(at);
  const page = pages[Math.floor(rnd() * pages.length)];
  if (rnd() < 0.6) {
    view.setUint32(page + 6, huge, true);
    view.setUint32(page + 10, rnd() < 0.5 ? 0 : 0x3fffffff, true);
    fixOggCrc(out, page);
    return `ogg granule of page at ${page} ~ ${huge}`;
  }
  const head = pages[0] + 27 + out[pages[0] + 26];
  out[head + 9] = [0, 255, 8][Math.floor(rnd() * 3)]; // channels (Opus) / version byte (Vorbis)
  view.setUint16(head + 10, 0xffff, true); // pre-skip (Opus) / part of the rate (Vorbis)
  fixOggCrc(out, pages[0]);
  return "ogg identification header fields";
}

/** One seeded mutation of a base file: a description (for failure messages) and the bytes. */
export function mutate(base: Base, seed: number): { desc: string; bytes: Uint8Array } {
  const rnd = lcg(seed * 2654435761 + 12345);
  const src = base.bytes;
  const kind = Math.floor(rnd() * 8);
  let out = src.slice();
  const pos = (limit = src.length) => Math.floor(rnd() * limit);
  switch (kind) {
    case 0: {
      // bit flips, half of them in the first 256 bytes (headers)
      const n = 1 + Math.floor(rnd() * 12);
      for (let i = 0; i < n; i++) out[rnd() < 0.5 ? pos(Math.min(256, src.length)) : pos()] ^= 1 << Math.floor(rnd() * 8);
      return { desc: `${n} bit flips`, bytes: out };
    }
    case 1: {
      const cut = [0, 1, 4, 11, 44, 45][Math.floor(rnd() * 6)] * (rnd() < 0.5 ? 1 : 0) || pos();
      return { desc: `truncated to ${cut} bytes`, bytes: src.slice(0, cut) };
    }
    case 2:
      return { desc: headerLie(base, out, rnd), bytes: out };
    case 3: {
      const at = pos();
      const n = 1 + pos(64);
      const fill = [0, 0xff, -1][Math.floor(rnd() * 3)];
      for (let i = at; i < Math.min(out.length, at + n); i++) out[i] = fill < 0 ? pos(256) : fill;
      return { desc: `${n} bytes overwritten with ${fill < 0 ? "random" : fill} at ${at}`, bytes: out };
    }
    case 4: {
      const at = pos();
      const n = 1 + pos(200);
      const ins = new Uint8Array(n).map(() => pos(256));
      return { desc: `${n} random bytes inserted at ${at}`, bytes: new Uint8Array([...src.subarray(0, at), ...ins, ...src.subarray(at)]) };
    }
    case 5: {
      const at = pos();
      const n = 1 + pos(300);
      return { desc: `${n} bytes deleted at ${at}`, bytes: new Uint8Array([...src.subarray(0, at), ...src.subarray(at + n)]) };
    }
    case 6: {
      // random 32-bit values over aligned header words
      const n = 1 + pos(3);
      for (let i = 0; i < n; i++) {
        const at = 4 * pos(Math.min(16, src.length >> 2));
        new DataView(out.buffer).setUint32(at, rnd() < 0.5 ? HUGE[pos(HUGE.length)] : pos(2 ** 32), rnd() < 0.5);
      }
      return { desc: `${n} header words randomised`, bytes: out };
    }
    default: {
      // the file twice, or with its head repeated (chained streams, duplicated headers)
      const at = pos();
      out = new Uint8Array([...src, ...src.subarray(0, at)]);
      return { desc: `first ${at} bytes appended`, bytes: out };
    }
  }
}

/** Fixed hostile cases: zero-length, one sample, NaN/Inf, absurd but consistent headers. */
export function specialCases(): Array<{ name: string; ext: string; bytes: Uint8Array }> {
  const one = new Float32Array([0.5]);
  const nan = tone(0.2, 16000, 5);
  nan[100] = NaN;
  const inf = tone(0.2, 16000, 6);
  inf[inf.length - 1] = Infinity;
  const ninf = tone(0.2, 16000, 7);
  ninf[0] = -Infinity;
  const loud = tone(0.2, 16000, 8).map((v) => v * 1e30);
  const pcm1 = new Int16Array([12000]);
  const header4g = wavBytes([tone(0.1, 16000)], 16000, "pcm16");
  new DataView(header4g.buffer).setUint32(40, 0xffffffff, true);
  new DataView(header4g.buffer).setUint32(4, 0xffffffff, true);
  const channels65535 = wavBytes([tone(0.1, 16000)], 16000, "pcm16");
  new DataView(channels65535.buffer).setUint16(22, 65535, true);
  new DataView(channels65535.buffer).setUint16(32, 65535 * 2, true);
  const rf64 = wavBytes([tone(0.1, 16000)], 16000, "pcm16");
  rf64.set(Buffer.from("RF64"), 0);
  const flacHuge = encodeFlac(new Int16Array(1600).map((_, i) => Math.round(8000 * Math.sin(i / 5))), 16000);
  flacHuge[8 + 13] |= 0x0f;
  new DataView(flacHuge.buffer).setUint32(8 + 14, 0xffffffff);
  return [
    { name: "zero-bytes", ext: "wav", bytes: new Uint8Array(0) },
    { name: "zero-bytes", ext: "flac", bytes: new Uint8Array(0) },
    { name: "zero-bytes", ext: "mp3", bytes: new Uint8Array(0) },
    { name: "zero-bytes", ext: "opus", bytes: new Uint8Array(0) },
    { name: "header-only", ext: "wav", bytes: wavBytes([new Float32Array(0)], 16000, "pcm16") },
    { name: "one-sample", ext: "wav", bytes: wavBytes([one], 16000, "pcm16") },
    { name: "one-sample-float", ext: "wav", bytes: wavBytes([one], 16000, "float32") },
    { name: "one-sample", ext: "flac", bytes: encodeFlac(pcm1, 16000) },
    { name: "nan", ext: "wav", bytes: wavBytes([nan], 16000, "float32") },
    { name: "inf", ext: "wav", bytes: wavBytes([inf], 16000, "float32") },
    { name: "neg-inf", ext: "wav", bytes: wavBytes([ninf], 16000, "float32") },
    { name: "1e30", ext: "wav", bytes: wavBytes([loud], 16000, "float32") },
    { name: "data-4gb", ext: "wav", bytes: header4g },
    { name: "channels-65535", ext: "wav", bytes: channels65535 },
    { name: "rf64-no-ds64", ext: "wav", bytes: rf64 },
    { name: "total-samples-2^36", ext: "flac", bytes: flacHuge },
  ];
}
