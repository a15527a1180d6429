// Decoding of any supported input file to planar float audio, and cheap header probes.
// The container is found from magic bytes. WAV is parsed here (wav.ts); FLAC, MP3, Opus and Vorbis
// go through the audio-decode package (WASM builds of libFLAC, mpg123, libopus, libvorbis).
// audio-decode drops decoder errors and returns short or empty output on damaged files, so each
// format's structure is checked here first (FLAC frame CRC-16, Ogg page CRC-32, MPEG frame lengths)
// and the decoded length is checked afterwards against what the headers promise (plus the MD5 in
// FLAC's STREAMINFO). Only structurally whole streams reach the WASM decoders.

import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import decode from "audio-decode";
import { DecodeError, type DecodedAudio } from "./decoded.js";
import { decodeFlacFrames } from "./flac-decode.js";
import { FLAC_CRC16, parseFlacFrameHeader, type FlacFrameHeader } from "./flac-frame.js";
import { int16LevelSimd } from "./simd.js";
import { parseWav, readWavLayout } from "./wav.js";

/** What a header says about a file's audio, without decoding it. */
export interface AudioProbe {
  sampleRate: number;
  numFrames: number;
  channels: number;
}

type Container = "wav" | "flac" | "ogg" | "mp3";

/** Bytes of a file that probeAudioFile reads from its start (and, for Ogg, from its end). */
export const PROBE_BYTES = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Sniffing

function hexBytes(bytes: Uint8Array, count: number): string {
  return Array.from(bytes.subarray(0, count), (b) => b.toString(16).padStart(2, "0")).join(" ");
}

function ascii(bytes: Uint8Array, at: number, length: number): string {
  let s = "";
  for (let i = at; i < at + length && i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

function u32be(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

function u32le(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

/**
 * Skips ID3v2 tags (and zero padding some taggers leave after them). ID3v2 sizes are "syncsafe"
 * (7 bits per byte, id3v2.4.0-structure §3.1); a size byte with its top bit set is corrupt.
 * With `complete` false a tag running past the end is not an error (the bytes are only a prefix).
 */
function skipId3v2(bytes: Uint8Array, complete: boolean): number {
  let at = 0;
  while (at + 10 <= bytes.length && bytes[at] === 0x49 && bytes[at + 1] === 0x44 && bytes[at + 2] === 0x33) {
    if ((bytes[at + 6] | bytes[at + 7] | bytes[at + 8] | bytes[at + 9]) & 0x80) {
      throw new DecodeError(`corrupt MP3: ID3v2 tag at byte ${at} has an invalid size`);
    }
    const size = (bytes[at + 6] << 21) | (bytes[at + 7] << 14) | (bytes[at + 8] << 7) | bytes[at + 9];
    const total = 10 + size + (bytes[at + 5] & 0x10 ? 10 : 0);
    if (at + total > bytes.length && complete) {
      throw new DecodeError(`truncated MP3: ID3v2 tag says ${total} bytes, file has ${bytes.length - at}`);
    }
    at += total;
  }
  const paddingLimit = Math.min(bytes.length, at + PROBE_BYTES);
  if (at > 0) while (at < paddingLimit && bytes[at] === 0) at++;
  return at;
}

function isOgg(bytes: Uint8Array, at: number): boolean {
  return bytes[at] === 0x4f && bytes[at + 1] === 0x67 && bytes[at + 2] === 0x67 && bytes[at + 3] === 0x53;
}

function isFlac(bytes: Uint8Array, at: number): boolean {
  return bytes[at] === 0x66 && bytes[at + 1] === 0x4c && bytes[at + 2] === 0x61 && bytes[at + 3] === 0x43;
}

/** Names formats that are recognisable but not decoded here, for a clearer error. */
function unsupportedName(bytes: Uint8Array): string | null {
  const head4 = ascii(bytes, 0, 4);
  if (head4 === "FORM" && (ascii(bytes, 8, 4) === "AIFF" || ascii(bytes, 8, 4) === "AIFC")) return "AIFF";
  if (ascii(bytes, 4, 4) === "ftyp") return "MP4/M4A";
  if (ascii(bytes, 0, 7) === "NIST_1A") return "NIST SPHERE";
  if (head4 === "\x1aE\xdf\xa3") return "Matroska/WebM";
  if (head4 === "caff") return "CAF";
  if (head4 === "wvpk") return "WavPack";
  if (head4 === "MAC ") return "Monkey's Audio";
  if (ascii(bytes, 0, 6) === "#!AMR\n") return "AMR";
  if (head4 === "RIFF" && ascii(bytes, 8, 4) !== "WAVE") return `RIFF ${ascii(bytes, 8, 4).replace(/[^\x20-\x7e]/g, "?")}`;
  if (bytes.length >= 2 && bytes[0] === 0xff && (bytes[1] & 0xf6) === 0xf0) return "AAC (ADTS)";
  return null;
}

function sniff(bytes: Uint8Array, nameHint: string): { container: Container; offset: number } {
  if (bytes.length === 0) throw new DecodeError("empty file");
  if (bytes.length >= 12) {
    const magic = ascii(bytes, 0, 4);
    if ((magic === "RIFF" || magic === "RF64" || magic === "RIFX") && ascii(bytes, 8, 4) === "WAVE") {
      return { container: "wav", offset: 0 };
    }
  }
  if (isFlac(bytes, 0)) return { container: "flac", offset: 0 };
  if (isOgg(bytes, 0)) return { container: "ogg", offset: 0 };
  const afterId3 = skipId3v2(bytes, true);
  if (afterId3 > 0 && isFlac(bytes, afterId3)) return { container: "flac", offset: afterId3 };
  if (afterId3 + 4 <= bytes.length && mpegHeader(bytes, afterId3) !== null) return { container: "mp3", offset: afterId3 };
  if (afterId3 > 0) {
    if (afterId3 >= bytes.length) throw new DecodeError("corrupt MP3: ID3v2 tag but no audio after it");
    throw new DecodeError(`corrupt MP3: no MPEG frame after the ID3v2 tag (byte ${afterId3})`);
  }
  // MP3 files sometimes start with junk; trust the extension only if real frames follow.
  if (/\.mp3$/i.test(nameHint)) {
    const start = findMpegStream(bytes, 0, Math.min(bytes.length, PROBE_BYTES));
    if (start >= 0) return { container: "mp3", offset: start };
  }
  const name = unsupportedName(bytes);
  if (name) throw new DecodeError(`unsupported format: ${name}`);
  throw new DecodeError(`unsupported format: starts with bytes ${hexBytes(bytes, 4)}`);
}

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * Decodes a WAV, FLAC, MP3, Ogg Opus or Ogg Vorbis file to planar float channels. The container is
 * found from magic bytes; `nameHint` (a file name) only helps with MP3 files that start with junk.
 * Opus always decodes at 48 kHz. Every failure is a DecodeError with a one-line reason.
 */
export async function decodeAudio(bytes: Uint8Array, nameHint: string, alloc?: (length: number) => Float32Array): Promise<DecodedAudio> {
  const { container, offset } = sniff(bytes, nameHint);
  switch (container) {
    case "wav":
      return parseWav(bytes, alloc);
    case "flac":
      return decodeFlac(bytes.subarray(offset));
    case "ogg":
      return decodeOgg(bytes);
    case "mp3":
      return decodeMp3(bytes, offset);
  }
}

/**
 * Sample rate, length and channel count from headers only: WAV (data size / block align) and
 * FLAC (STREAMINFO) from the first bytes; Ogg Opus/Vorbis from the last page's granule position
 * when `bytes` is the whole file; MP3 only from a LAME/Lavc Xing header. Null when unknown or
 * when the header is unreadable (decoding then reports why).
 */
export function probeAudio(bytes: Uint8Array): AudioProbe | null {
  return probeParts(bytes, bytes.length, bytes);
}

/**
 * probeAudio for a file on disk, reading only its first 64 KiB (plus its last 64 KiB for Ogg, or
 * 64 KiB after an ID3v2 tag too large for the first read, as with embedded cover art). Null also
 * when the file cannot be opened: decoding it then reports why.
 */
export async function probeAudioFile(path: string): Promise<AudioProbe | null> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch {
    return null;
  }
  try {
    const { size } = await handle.stat();
    const readAt = async (position: number): Promise<Uint8Array> => {
      const buffer = new Uint8Array(Math.min(PROBE_BYTES, size - position));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      return buffer.subarray(0, bytesRead);
    };
    const head = await readAt(0);
    if (isOgg(head, 0)) return probeParts(head, size, size <= head.length ? head : await readAt(size - Math.min(size, PROBE_BYTES)));
    let afterTag = 0;
    try {
      afterTag = skipId3v2(head, false);
    } catch (e) {
      if (e instanceof DecodeError) return null;
      throw e;
    }
    if (afterTag + 64 > head.length && afterTag < size) return probeParts(await readAt(afterTag), size - afterTag, null);
    return probeParts(head, size, null);
  } finally {
    await handle.close();
  }
}

function probeParts(head: Uint8Array, fileSize: number, tail: Uint8Array | null): AudioProbe | null {
  try {
    if (head.length >= 12 && (ascii(head, 0, 4) === "RIFF" || ascii(head, 0, 4) === "RF64") && ascii(head, 8, 4) === "WAVE") {
      const layout = readWavLayout(head, head.length === fileSize);
      if (!layout) return null;
      const bytesPresent = Math.min(layout.dataBytesDeclared, fileSize - layout.dataOffset);
      return {
        sampleRate: layout.sampleRate,
        numFrames: Math.floor(Math.max(0, bytesPresent) / layout.blockAlign),
        channels: layout.channels,
      };
    }
    if (isOgg(head, 0)) return tail ? probeOgg(head, tail) : null;
    const start = skipId3v2(head, false);
    if (isFlac(head, start)) {
      const info = readFlacHeader(head, start, false);
      if (!info || info.totalSamples === 0) return null;
      return { sampleRate: info.sampleRate, numFrames: info.totalSamples, channels: info.channels };
    }
    if (start + 4 <= head.length && mpegHeader(head, start) !== null) {
      const info = readXing(head, start);
      if (!info || info.gaplessFrames === null) return null;
      return { sampleRate: info.header.sampleRate, numFrames: info.gaplessFrames, channels: info.header.channels };
    }
    return null;
  } catch (e) {
    if (e instanceof DecodeError) return null;
    throw e;
  }
}

/** One channel: a 0-based channel index (returned as is, not copied), or "mix", the average of all. */
export function toMono(audio: DecodedAudio, channel: "mix" | number): Float32Array {
  const count = audio.channels.length;
  if (count === 0) throw new DecodeError("audio has no channels");
  if (channel !== "mix") {
    if (!Number.isInteger(channel) || channel < 0 || channel >= count) {
      throw new DecodeError(`channel ${channel} requested but the audio has ${count} channel${count === 1 ? "" : "s"}`);
    }
    return audio.channels[channel];
  }
  if (count === 1) return audio.channels[0];
  const length = audio.channels[0].length;
  const out = new Float32Array(length);
  // Sum in double precision, then one division: the same result for any channel order.
  for (let i = 0; i < length; i++) {
    let sum = 0;
    for (let c = 0; c < count; c++) sum += audio.channels[c][i];
    out[i] = sum / count;
  }
  return out;
}

/**
 * Float to 16-bit PCM: scale by 32768, round half up, clamp to [-32768, 32767]. With that scale
 * int16ToFloat followed by floatToInt16 returns the same integers. NaN becomes 0.
 */
export function floatToInt16(x: Float32Array): Int16Array {
  const out = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    // floor(v + 0.5) == Math.round(v) exactly here (v = x·2^15 has ≤ 24 significant bits), and
    // truncation of a non-negative number is floor: 3–4× faster than Math.round + clamps in V8.
    let v = x[i] * 32768 + 32768.5;
    v = v >= 0 ? (v > 65535 ? 65535 : v) : v < 0 ? 0 : 32768; // NaN → 32768 → 0
    out[i] = (v | 0) - 32768;
  }
  return out;
}

/**
 * floatToInt16 into `out` (x.length samples; allocated when absent) and, in the same pass, the
 * level of x: peak |x|, mean square (even and odd samples summed apart, then added), and whether
 * every sample is finite. Returns a shared object: read it before the next call.
 */
export function floatToInt16Level(x: Float32Array, out?: Int16Array): { pcm: Int16Array; peak: number; meanSquare: number; finite: boolean } {
  const pcm = out ?? new Int16Array(x.length);
  let peak = 0;
  let e0 = 0;
  let e1 = 0;
  let i = 0;
  // The SIMD kernel takes all but the last few samples (same bits); this loop finishes them.
  const done = int16LevelSimd(x, pcm, simdSums);
  if (done !== null) {
    e0 = simdSums[0];
    e1 = simdSums[1];
    peak = simdSums[2];
    i = done;
  }
  for (; i + 1 < x.length; i += 2) {
    const a = x[i];
    const b = x[i + 1];
    e0 += a * a;
    e1 += b * b;
    const m = Math.max(Math.abs(a), Math.abs(b));
    if (m > peak) peak = m;
    let u = a * 32768 + 32768.5;
    u = u >= 0 ? (u > 65535 ? 65535 : u) : u < 0 ? 0 : 32768;
    pcm[i] = (u | 0) - 32768;
    let v = b * 32768 + 32768.5;
    v = v >= 0 ? (v > 65535 ? 65535 : v) : v < 0 ? 0 : 32768;
    pcm[i + 1] = (v | 0) - 32768;
  }
  if (i < x.length) {
    const a = x[i];
    e0 += a * a;
    peak = Math.max(peak, Math.abs(a));
    let u = a * 32768 + 32768.5;
    u = u >= 0 ? (u > 65535 ? 65535 : u) : u < 0 ? 0 : 32768;
    pcm[i] = (u | 0) - 32768;
  }
  const energy = e0 + e1;
  levelResult.pcm = pcm;
  levelResult.peak = peak;
  levelResult.meanSquare = energy / x.length;
  // A NaN or ±Inf anywhere makes the energy non-finite.
  levelResult.finite = Number.isFinite(energy);
  return levelResult;
}

const simdSums = new Float64Array(3);
const levelResult: { pcm: Int16Array; peak: number; meanSquare: number; finite: boolean } = { pcm: new Int16Array(0), peak: 0, meanSquare: 0, finite: true };

/** 16-bit PCM to float in [-1, 1): divides by 32768, exactly. */
export function int16ToFloat(pcm: Int16Array): Float32Array {
  const out = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i] / 32768;
  return out;
}

// ---------------------------------------------------------------------------------------------
// audio-decode

type CodecName = "flac" | "mp3" | "opus" | "oga";

interface RawDecoded {
  channelData: Float32Array[];
  sampleRate: number;
}

/**
 * Runs one audio-decode codec on a whole file; any exception becomes a DecodeError for `format`.
 * `warnings` receives what the decoder printed (libFLAC reports damaged frames that way).
 */
async function runCodec(codec: CodecName, bytes: Uint8Array, format: string, warnings: string[] = []): Promise<RawDecoded> {
  let result: RawDecoded;
  try {
    const decoder = await decode[codec]();
    const first = await quietly(warnings, () => decoder(bytes));
    const rest = await quietly(warnings, () => decoder()); // end of stream: flush and free
    result = concatDecoded(first, rest);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new DecodeError(`corrupt ${format}: decoder failed: ${reason.split("\n")[0]}`, { cause: e });
  }
  const channels = result.channelData.length;
  if (channels === 0 || result.channelData[0].length === 0) throw new DecodeError(`corrupt ${format}: decoder produced no audio`);
  const length = result.channelData[0].length;
  if (result.channelData.some((ch) => ch.length !== length)) {
    throw new DecodeError(`corrupt ${format}: decoder returned channels of different lengths`);
  }
  return result;
}

/**
 * The WASM decoders print stream errors with console.error and carry on. Their decode step runs
 * synchronously before the returned promise (the codec call happens before the first await), so
 * swapping console.error and console.warn for just that span captures exactly their messages —
 * no other code can run in between — and keeps them off the CLI's stderr.
 */
function quietly<T>(sink: string[], call: () => T): T {
  const { error, warn } = console;
  const capture = (...args: unknown[]) => {
    sink.push(args.map(String).join(" ").replace(/\s+/g, " ").trim());
  };
  console.error = capture;
  console.warn = capture;
  try {
    return call();
  } finally {
    console.error = error;
    console.warn = warn;
  }
}

function concatDecoded(a: RawDecoded, b: RawDecoded): RawDecoded {
  if (!b.channelData.length || !b.channelData[0].length) return a;
  if (!a.channelData.length || !a.channelData[0].length) return b;
  if (a.channelData.length !== b.channelData.length) throw new Error("channel count changed at end of stream");
  return {
    channelData: a.channelData.map((ch, c) => {
      const joined = new Float32Array(ch.length + b.channelData[c].length);
      joined.set(ch);
      joined.set(b.channelData[c], ch.length);
      return joined;
    }),
    sampleRate: a.sampleRate,
  };
}

// ---------------------------------------------------------------------------------------------
// FLAC (RFC 9639)

interface FlacInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** 0 when the encoder did not know it. */
  totalSamples: number;
  md5: Uint8Array;
  /** Offset of the first frame. */
  audioOffset: number;
}

/** Reads fLaC and the metadata blocks. With `complete` false, returns null if they run past `bytes`. */
function readFlacHeader(bytes: Uint8Array, start: number, complete: boolean): FlacInfo | null {
  if (bytes.length < start + 8 + 34) {
    if (!complete) return null;
    throw new DecodeError(`truncated FLAC: ${bytes.length - start} bytes, too short for STREAMINFO`);
  }
  if ((bytes[start + 4] & 0x7f) !== 0) throw new DecodeError("corrupt FLAC: first metadata block is not STREAMINFO");
  const infoLength = (bytes[start + 5] << 16) | (bytes[start + 6] << 8) | bytes[start + 7];
  if (infoLength !== 34) throw new DecodeError(`corrupt FLAC: STREAMINFO is ${infoLength} bytes, not 34`);
  const si = start + 8;
  const sampleRate = (bytes[si + 10] << 12) | (bytes[si + 11] << 4) | (bytes[si + 12] >> 4);
  const channels = ((bytes[si + 12] >> 1) & 7) + 1;
  const bitsPerSample = (((bytes[si + 12] & 1) << 4) | (bytes[si + 13] >> 4)) + 1;
  const totalSamples = (bytes[si + 13] & 0x0f) * 2 ** 32 + u32be(bytes, si + 14);
  const md5 = bytes.slice(si + 18, si + 34);
  const minBlock = (bytes[si] << 8) | bytes[si + 1];
  const maxBlock = (bytes[si + 2] << 8) | bytes[si + 3];
  if (sampleRate === 0) throw new DecodeError("corrupt FLAC: sample rate 0 in STREAMINFO");
  if (bitsPerSample < 4) throw new DecodeError(`corrupt FLAC: ${bitsPerSample} bits per sample in STREAMINFO`);
  if (maxBlock < 16 || minBlock > maxBlock) throw new DecodeError(`corrupt FLAC: block sizes ${minBlock}..${maxBlock} in STREAMINFO`);
  // Walk the remaining metadata blocks by their 24-bit lengths; each step advances by at least 4.
  let at = start + 4;
  for (;;) {
    if (at + 4 > bytes.length) {
      if (!complete) return null;
      throw new DecodeError("truncated FLAC: file ends inside the metadata blocks");
    }
    const last = bytes[at] & 0x80;
    const length = (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
    if (at + 4 + length > bytes.length) {
      if (!complete) return { sampleRate, channels, bitsPerSample, totalSamples, md5, audioOffset: -1 };
      throw new DecodeError(`truncated FLAC: metadata block at byte ${at} says ${length} bytes, file has ${bytes.length - at - 4}`);
    }
    at += 4 + length;
    if (last) break;
  }
  return { sampleRate, channels, bitsPerSample, totalSamples, md5, audioOffset: at };
}

/** Parses and CRC-8-checks the frame header at `at` (RFC 9639 §9.1); null if there is none. */
function flacFrameHeader(bytes: Uint8Array, at: number, info: FlacInfo): FlacFrameHeader | null {
  return parseFlacFrameHeader(bytes, at, bytes.length, info);
}

/**
 * Walks every frame: a frame ends where the running CRC-16 reaches 0 just before a valid next
 * header (the way libFLAC's own parser syncs). Returns the number of samples the frames hold, or
 * throws naming the first damaged frame.
 */
function checkFlacFrames(bytes: Uint8Array, info: FlacInfo): number {
  // An ID3v1 tag (128 bytes, "TAG") appended by some taggers is not part of the stream.
  let end = bytes.length;
  if (end - info.audioOffset >= 128 && ascii(bytes, end - 128, 3) === "TAG") end -= 128;
  const data = bytes.subarray(0, end);
  let at = info.audioOffset;
  let samples = 0;
  let frameIndex = 0;
  while (at < end) {
    const header = flacFrameHeader(data, at, info);
    if (!header) {
      if (frameIndex === 0) throw new DecodeError(`corrupt FLAC: no frame header at byte ${at}`);
      throw new DecodeError(`corrupt FLAC: frame ${frameIndex} at byte ${at} has a bad header`);
    }
    let crc = 0;
    let q = at;
    const scanFrom = at + header.length;
    for (; q < scanFrom; q++) crc = ((crc << 8) & 0xffff) ^ FLAC_CRC16[(crc >>> 8) ^ data[q]];
    let next = -1;
    for (; q < end; q++) {
      const b = data[q];
      if (crc === 0 && b === 0xff && q > scanFrom + 2 && flacFrameHeader(data, q, info) !== null) {
        next = q;
        break;
      }
      crc = ((crc << 8) & 0xffff) ^ FLAC_CRC16[(crc >>> 8) ^ b];
    }
    if (next < 0) {
      if (crc !== 0) throw flacDamage(data, at, frameIndex, header, samples, info);
      next = end;
    }
    samples += header.blockSize;
    frameIndex++;
    at = next;
  }
  return samples;
}

/** Tells a cut-off last frame (truncation) from a damaged frame with intact frames after it. */
function flacDamage(
  bytes: Uint8Array,
  at: number,
  frameIndex: number,
  header: FlacFrameHeader,
  samplesBefore: number,
  info: FlacInfo,
): DecodeError {
  const current = header.variable ? samplesBefore : frameIndex;
  for (let q = at + header.length; q + 6 <= bytes.length; q++) {
    if (bytes[q] !== 0xff) continue;
    const later = flacFrameHeader(bytes, q, info);
    // A later frame numbered after this one shows the damage is inside the file, not at its end.
    if (later && later.variable === header.variable && later.number > current) {
      return new DecodeError(`corrupt FLAC: frame ${frameIndex} at byte ${at} fails its CRC-16`);
    }
  }
  if (info.totalSamples > 0) {
    return new DecodeError(`truncated FLAC: expected ${info.totalSamples} samples, file holds ${samplesBefore}`);
  }
  return new DecodeError(`truncated FLAC: file ends inside frame ${frameIndex} (byte ${at})`);
}

async function decodeFlac(bytes: Uint8Array): Promise<DecodedAudio> {
  const info = readFlacHeader(bytes, 0, true)!;
  if (info.audioOffset >= bytes.length) {
    if (info.totalSamples > 0) throw new DecodeError(`truncated FLAC: expected ${info.totalSamples} samples, file holds 0`);
    throw new DecodeError("zero-length audio");
  }
  // The plain-JS decoder (flac-decode.ts) takes the streams it knows, with the same checks;
  // anything else, or any check failing, goes the general way below, which names the problem.
  const ints = decodeFlacFrames(bytes, info, bytes.length);
  if (ints) {
    if (info.md5.some((b) => b !== 0) && !equalBytes(flacIntMd5(ints, info.bitsPerSample), info.md5)) {
      throw new DecodeError("corrupt FLAC: decoded audio fails the STREAMINFO MD5 check");
    }
    const scale = 1 / 2 ** (info.bitsPerSample - 1);
    const channels = ints.map((ch) => {
      const out = new Float32Array(ch.length);
      for (let i = 0; i < ch.length; i++) out[i] = ch[i] * scale;
      return out;
    });
    return { channels, sampleRate: info.sampleRate };
  }
  const framedSamples = checkFlacFrames(bytes, info);
  if (info.totalSamples > 0 && framedSamples !== info.totalSamples) {
    throw framedSamples < info.totalSamples
      ? new DecodeError(`truncated FLAC: expected ${info.totalSamples} samples, file holds ${framedSamples}`)
      : new DecodeError(`corrupt FLAC: STREAMINFO says ${info.totalSamples} samples, frames hold ${framedSamples}`);
  }
  const warnings: string[] = [];
  const raw = await runCodec("flac", bytes, "FLAC", warnings);
  if (warnings.length > 0) {
    // e.g. "@wasm-audio-decoders/flac: Error: FLAC__STREAM_DECODER_ERROR_STATUS_LOST_SYNC State: …"
    const status = /FLAC__STREAM_DECODER_ERROR_STATUS_(\w+)/.exec(warnings[0]);
    const reason = status ? status[1].toLowerCase().replace(/_/g, " ") : warnings[0];
    throw new DecodeError(`corrupt FLAC: libFLAC reports ${reason}`);
  }
  const decodedSamples = raw.channelData[0].length;
  if (decodedSamples !== framedSamples) {
    throw new DecodeError(`corrupt FLAC: expected ${framedSamples} samples, decoded ${decodedSamples}`);
  }
  if (raw.channelData.length !== info.channels) {
    throw new DecodeError(`corrupt FLAC: STREAMINFO says ${info.channels} channels, decoded ${raw.channelData.length}`);
  }
  // The WASM decoder scales by 2^(bits-1) - 1 (checked against `flac -d`); recover the integers,
  // check them against STREAMINFO's MD5, then rescale in place by 2^(bits-1) like WAV input.
  const bits = info.bitsPerSample;
  const decoderScale = 2 ** (bits - 1) - 1;
  // A float32 holds a 24-bit integer exactly; 32-bit FLAC cannot be verified this way.
  if (bits <= 24 && info.md5.some((b) => b !== 0)) {
    const md5 = flacMd5(raw.channelData, decoderScale, bits);
    if (md5.some((b, i) => b !== info.md5[i])) throw new DecodeError("corrupt FLAC: decoded audio fails the STREAMINFO MD5 check");
  }
  const ourScale = 1 / 2 ** (bits - 1);
  for (const ch of raw.channelData) {
    for (let i = 0; i < ch.length; i++) ch[i] = Math.round(ch[i] * decoderScale) * ourScale;
  }
  return { channels: raw.channelData, sampleRate: info.sampleRate };
}

/**
 * MD5 of the interleaved integer samples, little-endian, ceil(bits/8) bytes each (RFC 9639 §8.2),
 * from the decoder's floats; hashed in chunks so no full-size integer copy is made.
 */
function flacMd5(channels: Float32Array[], decoderScale: number, bits: number): Uint8Array {
  return md5Interleaved(channels.length, channels[0].length, bits, (c, i) => Math.round(channels[c][i] * decoderScale));
}

/** flacMd5 of integer samples (the plain-JS decoder's output). */
function flacIntMd5(channels: Int32Array[], bits: number): Uint8Array {
  const length = channels[0].length;
  if (channels.length === 1 && Math.ceil(bits / 8) === 2) {
    // The common case: one int16 copy per chunk, little-endian on every host Node runs on.
    const hash = createHash("md5");
    const chunk = new Int16Array(16384);
    for (let start = 0; start < length; start += chunk.length) {
      const stop = Math.min(length, start + chunk.length);
      chunk.set(channels[0].subarray(start, stop));
      hash.update(new Uint8Array(chunk.buffer, 0, 2 * (stop - start)));
    }
    return hash.digest();
  }
  return md5Interleaved(channels.length, length, bits, (c, i) => channels[c][i]);
}

/** MD5 of the samples interleaved as little-endian integers of ceil(bits / 8) bytes (FLAC's STREAMINFO MD5). */
function md5Interleaved(numChannels: number, length: number, bits: number, sample: (c: number, i: number) => number): Uint8Array {
  const hash = createHash("md5");
  const bytesPerSample = Math.ceil(bits / 8);
  const chunkFrames = 16384;
  const chunk = new Uint8Array(chunkFrames * numChannels * bytesPerSample);
  for (let start = 0; start < length; start += chunkFrames) {
    const stop = Math.min(length, start + chunkFrames);
    let p = 0;
    for (let i = start; i < stop; i++) {
      for (let c = 0; c < numChannels; c++) {
        const v = sample(c, i);
        for (let b = 0; b < bytesPerSample; b++) chunk[p++] = v >> (8 * b);
      }
    }
    hash.update(chunk.subarray(0, p));
  }
  return hash.digest();
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

// ---------------------------------------------------------------------------------------------
// Ogg (RFC 3533) carrying Opus (RFC 7845) or Vorbis (Vorbis I spec §4.2)

const OGG_CRC = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let c = i << 24;
  for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
  OGG_CRC[i] = c >>> 0;
}

interface OggStream {
  codec: "opus" | "vorbis";
  channels: number;
  /** Output sample rate of the decoder: 48000 for Opus (RFC 7845 §4), the header's for Vorbis. */
  sampleRate: number;
  /** Samples to drop at the start (Opus pre-skip). */
  preSkip: number;
  lastGranule: number;
}

function oggGranule(bytes: Uint8Array, at: number): number {
  const low = u32le(bytes, at + 6);
  const high = u32le(bytes, at + 10);
  if (high === 0xffffffff && low === 0xffffffff) return -1; // no packet ends on this page
  return high * 2 ** 32 + low;
}

/** Reads the identification header in the first page's first packet. */
function oggIdentify(bytes: Uint8Array, at: number): Omit<OggStream, "lastGranule"> {
  const segments = bytes[at + 26];
  const body = at + 27 + segments;
  let packetBytes = 0;
  for (let i = at + 27; i < body && i < bytes.length; i++) {
    packetBytes += bytes[i];
    if (bytes[i] < 255) break;
  }
  packetBytes = Math.min(packetBytes, bytes.length - body);
  const packet = ascii(bytes, body, 8);
  if (packet === "OpusHead") {
    if (packetBytes < 19) throw new DecodeError(`corrupt Opus: OpusHead is ${packetBytes} bytes, needs 19`);
    if (bytes[body + 8] >> 4 !== 0) throw new DecodeError(`unsupported Opus: header version ${bytes[body + 8]}`);
    const channels = bytes[body + 9];
    if (channels === 0) throw new DecodeError("corrupt Opus: zero channels");
    const preSkip = bytes[body + 10] | (bytes[body + 11] << 8);
    return { codec: "opus", channels, sampleRate: 48000, preSkip };
  }
  if (packet.startsWith("\x01vorbis")) {
    if (packetBytes < 30) throw new DecodeError(`corrupt Vorbis: identification header is ${packetBytes} bytes, needs 30`);
    const channels = bytes[body + 11];
    const sampleRate = u32le(bytes, body + 12);
    if (channels === 0) throw new DecodeError("corrupt Vorbis: zero channels");
    if (sampleRate === 0) throw new DecodeError("corrupt Vorbis: sample rate 0");
    return { codec: "vorbis", channels, sampleRate, preSkip: 0 };
  }
  if (packet.startsWith("\x7fFLAC")) throw new DecodeError("unsupported format: Ogg FLAC");
  if (packet.startsWith("Speex")) throw new DecodeError("unsupported format: Ogg Speex");
  throw new DecodeError(`unsupported format: Ogg stream starting with bytes ${hexBytes(bytes.subarray(body), 8)}`);
}

/** Checks every page (capture pattern, CRC-32, sequence, single stream, end-of-stream flag). */
function checkOgg(bytes: Uint8Array): OggStream {
  const length = bytes.length;
  let at = 0;
  let pageIndex = 0;
  let serial = 0;
  let stream: Omit<OggStream, "lastGranule"> | null = null;
  let name = "Ogg";
  let lastGranule = -1;
  let ended = false;
  while (at < length) {
    if (ended) {
      if (isOgg(bytes, at)) throw new DecodeError(`unsupported ${name}: chained Ogg streams`);
      throw new DecodeError(`corrupt ${name}: ${length - at} bytes of junk after the end of stream`);
    }
    if (at + 27 > length) throw new DecodeError(`truncated ${name}: file ends inside page ${pageIndex}'s header`);
    if (!isOgg(bytes, at)) throw new DecodeError(`corrupt ${name}: lost Ogg page sync at byte ${at} (page ${pageIndex})`);
    if (bytes[at + 4] !== 0) throw new DecodeError(`corrupt ${name}: Ogg page ${pageIndex} has version ${bytes[at + 4]}`);
    const flags = bytes[at + 5];
    const pageSerial = u32le(bytes, at + 14);
    const sequence = u32le(bytes, at + 18);
    const segments = bytes[at + 26];
    const body = at + 27 + segments;
    if (body > length) throw new DecodeError(`truncated ${name}: file ends inside page ${pageIndex}'s segment table`);
    let bodyLength = 0;
    for (let i = at + 27; i < body; i++) bodyLength += bytes[i];
    const pageEnd = body + bodyLength;
    if (pageEnd > length) {
      throw new DecodeError(`truncated ${name}: page ${pageIndex} at byte ${at} needs ${pageEnd - at} bytes, file has ${length - at}`);
    }
    // CRC-32 (poly 0x04c11db7, no reflection) over the page with its CRC field taken as zero.
    let crc = 0;
    for (let i = at; i < pageEnd; i++) {
      const b = i >= at + 22 && i < at + 26 ? 0 : bytes[i];
      crc = ((crc << 8) ^ OGG_CRC[(crc >>> 24) ^ b]) >>> 0;
    }
    if (crc !== u32le(bytes, at + 22)) throw new DecodeError(`corrupt ${name}: Ogg page ${pageIndex} at byte ${at} fails its CRC`);
    if (pageIndex === 0) {
      if (!(flags & 2)) throw new DecodeError("corrupt Ogg: first page is not a beginning of stream");
      serial = pageSerial;
      stream = oggIdentify(bytes, at);
      name = stream.codec === "opus" ? "Opus" : "Vorbis";
    } else {
      if (pageSerial !== serial) throw new DecodeError(`unsupported ${name}: more than one logical Ogg stream`);
      if (flags & 2) throw new DecodeError(`corrupt ${name}: beginning-of-stream flag on page ${pageIndex}`);
    }
    if (sequence !== pageIndex) throw new DecodeError(`corrupt ${name}: Ogg page ${pageIndex} is numbered ${sequence} (pages missing)`);
    const granule = oggGranule(bytes, at);
    if (granule >= 0) lastGranule = granule;
    if (flags & 4) ended = true;
    at = pageEnd;
    pageIndex++;
  }
  if (!stream) throw new DecodeError("truncated Ogg: no pages");
  if (!ended) throw new DecodeError(`truncated ${name}: no end-of-stream page (file ends after page ${pageIndex - 1})`);
  return { ...stream, lastGranule };
}

async function decodeOgg(bytes: Uint8Array): Promise<DecodedAudio> {
  const stream = checkOgg(bytes);
  const name = stream.codec === "opus" ? "Opus" : "Vorbis";
  const expected = stream.lastGranule - stream.preSkip;
  if (stream.lastGranule < 0 || expected <= 0) throw new DecodeError("zero-length audio");
  const raw = await runCodec(stream.codec === "opus" ? "opus" : "oga", bytes, name);
  const decoded = raw.channelData[0].length;
  // The decoders trim to the final granule position (RFC 7845 §4.5; Vorbis I §A.2), so the length
  // is exact; a shortfall means packets the pages held did not decode.
  if (decoded !== expected) {
    throw new DecodeError(`corrupt ${name}: granule position promises ${expected} samples, decoded ${decoded}`);
  }
  if (raw.channelData.length !== stream.channels) {
    throw new DecodeError(`corrupt ${name}: header says ${stream.channels} channels, decoded ${raw.channelData.length}`);
  }
  if (raw.sampleRate !== stream.sampleRate) {
    throw new DecodeError(`corrupt ${name}: header says ${stream.sampleRate} Hz, decoder reports ${raw.sampleRate}`);
  }
  return { channels: raw.channelData, sampleRate: stream.sampleRate };
}

/** Length from the last page's granule position, searched for in `tail` (the file's last bytes). */
function probeOgg(head: Uint8Array, tail: Uint8Array): AudioProbe | null {
  if (head.length < 28 + 19) return null;
  const ident = oggIdentify(head, 0);
  for (let at = tail.length - 27; at >= 0; at--) {
    if (!isOgg(tail, at) || tail[at + 4] !== 0) continue;
    if (!(tail[at + 5] & 4)) return null; // the last page must be the end of stream
    const granule = oggGranule(tail, at);
    if (granule < 0) return null;
    return { sampleRate: ident.sampleRate, numFrames: Math.max(0, granule - ident.preSkip), channels: ident.channels };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// MPEG audio (ISO/IEC 11172-3, 13818-3; "MPEG 2.5" extension)

const MPEG_BITRATES_KBPS = {
  v1l1: [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  v1l2: [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  v1l3: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  v2l1: [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  v2l23: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const MPEG_SAMPLE_RATES: Record<number, number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };

interface MpegHeader {
  /** Version bits: 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5. */
  version: number;
  layer: number;
  sampleRate: number;
  channels: number;
  frameBytes: number;
  samplesPerFrame: number;
  hasCrc: boolean;
}

/** Parses a 4-byte MPEG audio frame header; null when the bytes are not one. */
function mpegHeader(bytes: Uint8Array, at: number): MpegHeader | null {
  if (at + 4 > bytes.length || bytes[at] !== 0xff || (bytes[at + 1] & 0xe0) !== 0xe0) return null;
  const version = (bytes[at + 1] >> 3) & 3;
  const layerBits = (bytes[at + 1] >> 1) & 3;
  const bitrateIndex = bytes[at + 2] >> 4;
  const rateIndex = (bytes[at + 2] >> 2) & 3;
  if (version === 1 || layerBits === 0 || bitrateIndex === 15 || rateIndex === 3) return null;
  if ((bytes[at + 3] & 3) === 2) return null; // reserved emphasis
  const layer = 4 - layerBits;
  if (bitrateIndex === 0) throw new DecodeError("unsupported MP3: free-format bitrate");
  const table =
    version === 3
      ? layer === 1 ? MPEG_BITRATES_KBPS.v1l1 : layer === 2 ? MPEG_BITRATES_KBPS.v1l2 : MPEG_BITRATES_KBPS.v1l3
      : layer === 1 ? MPEG_BITRATES_KBPS.v2l1 : MPEG_BITRATES_KBPS.v2l23;
  const bitrate = table[bitrateIndex] * 1000;
  const sampleRate = MPEG_SAMPLE_RATES[version][rateIndex];
  const padding = (bytes[at + 2] >> 1) & 1;
  let frameBytes: number;
  let samplesPerFrame: number;
  if (layer === 1) {
    frameBytes = (Math.floor((12 * bitrate) / sampleRate) + padding) * 4;
    samplesPerFrame = 384;
  } else if (layer === 2 || version === 3) {
    frameBytes = Math.floor((144 * bitrate) / sampleRate) + padding;
    samplesPerFrame = 1152;
  } else {
    frameBytes = Math.floor((72 * bitrate) / sampleRate) + padding;
    samplesPerFrame = 576;
  }
  const channels = bytes[at + 3] >> 6 === 3 ? 1 : 2;
  return { version, layer, sampleRate, channels, frameBytes, samplesPerFrame, hasCrc: (bytes[at + 1] & 1) === 0 };
}

/** First offset in [from, to) where two consecutive consistent MPEG frames start; -1 if none. */
function findMpegStream(bytes: Uint8Array, from: number, to: number): number {
  for (let at = from; at < to; at++) {
    if (bytes[at] !== 0xff) continue;
    let first: MpegHeader | null;
    try {
      first = mpegHeader(bytes, at);
    } catch {
      continue;
    }
    if (!first) continue;
    let second: MpegHeader | null = null;
    try {
      second = mpegHeader(bytes, at + first.frameBytes);
    } catch {
      second = null;
    }
    if (second && second.sampleRate === first.sampleRate && second.layer === first.layer) return at;
  }
  return -1;
}

interface XingInfo {
  header: MpegHeader;
  /** Audio frames the Xing/Info header counts (the tag frame itself excluded), or null. */
  frames: number | null;
  /** Exact decoded length when a LAME/Lavc tag states encoder delay and padding (gapless). */
  gaplessFrames: number | null;
}

/** Reads a Xing/Info (LAME, ffmpeg) or VBRI (Fraunhofer) header from the first frame, if any. */
function readXing(bytes: Uint8Array, at: number): XingInfo | null {
  const header = mpegHeader(bytes, at);
  if (!header || at + header.frameBytes > bytes.length) return null;
  const sideInfo = header.version === 3 ? (header.channels === 1 ? 17 : 32) : header.channels === 1 ? 9 : 17;
  const xing = at + 4 + (header.hasCrc ? 2 : 0) + sideInfo;
  const tag = ascii(bytes, xing, 4);
  if (tag === "Xing" || tag === "Info") {
    const flags = u32be(bytes, xing + 4);
    let p = xing + 8;
    let frames: number | null = null;
    if (flags & 1) {
      frames = u32be(bytes, p);
      p += 4;
    }
    if (flags & 2) p += 4;
    if (flags & 4) p += 100;
    if (flags & 8) p += 4;
    let gaplessFrames: number | null = null;
    // LAME extension (also written by ffmpeg as "Lavc"/"Lavf"): 12-bit delay and padding at +21.
    const encoder = ascii(bytes, p, 4);
    if (frames !== null && (encoder === "LAME" || encoder === "Lavc" || encoder === "Lavf") && p + 24 <= at + header.frameBytes) {
      const delay = (bytes[p + 21] << 4) | (bytes[p + 22] >> 4);
      const padding = ((bytes[p + 22] & 0x0f) << 8) | bytes[p + 23];
      gaplessFrames = Math.max(0, frames * header.samplesPerFrame - delay - padding);
    }
    return { header, frames, gaplessFrames };
  }
  const vbri = at + 4 + 32;
  if (ascii(bytes, vbri, 4) === "VBRI") return { header, frames: u32be(bytes, vbri + 14), gaplessFrames: null };
  return { header, frames: null, gaplessFrames: null };
}

/** Walks the frames by their lengths; returns the first header, frame counts and the Xing info. */
function checkMpeg(bytes: Uint8Array, start: number): { first: MpegHeader; audioFrames: number; xing: XingInfo | null } {
  const length = bytes.length;
  const first = mpegHeader(bytes, start);
  if (!first) throw new DecodeError(`corrupt MP3: no frame header at byte ${start}`);
  const xing = readXing(bytes, start);
  const hasTagFrame = xing !== null && (xing.frames !== null || xing.gaplessFrames !== null);
  let at = start;
  let frames = 0;
  while (at < length) {
    const header = mpegHeader(bytes, at);
    if (!header) {
      const rest = length - at;
      // Tags that may follow the audio: ID3v1 (128 bytes), APEv2, Lyrics3.
      if (rest === 128 && ascii(bytes, at, 3) === "TAG") break;
      if (ascii(bytes, at, 8) === "APETAGEX" && rest >= 32) {
        const tagBytes = u32le(bytes, at + 12) + (bytes[at + 23] & 0x80 ? 32 : 0);
        if (tagBytes >= 32 && at + tagBytes <= length) {
          at += tagBytes;
          continue;
        }
      }
      if (ascii(bytes, at, 11) === "LYRICSBEGIN") break;
      if (rest < 4 && bytes[at] === 0xff) throw new DecodeError(`truncated MP3: file ends inside frame ${frames}'s header`);
      throw new DecodeError(`corrupt MP3: lost frame sync at byte ${at} (after ${frames} frames)`);
    }
    if (header.sampleRate !== first.sampleRate || header.layer !== first.layer || header.version !== first.version) {
      throw new DecodeError(`corrupt MP3: frame ${frames} at byte ${at} changes format (${header.sampleRate} Hz, layer ${header.layer})`);
    }
    if (at + header.frameBytes > length) {
      throw new DecodeError(`truncated MP3: frame ${frames} at byte ${at} needs ${header.frameBytes} bytes, file has ${length - at}`);
    }
    at += header.frameBytes;
    frames++;
  }
  const audioFrames = hasTagFrame ? frames - 1 : frames;
  if (audioFrames <= 0) throw new DecodeError("zero-length audio");
  if (xing?.frames != null && audioFrames < xing.frames) {
    throw new DecodeError(`truncated MP3: Xing header says ${xing.frames} frames, file has ${audioFrames}`);
  }
  return { first, audioFrames, xing };
}

async function decodeMp3(bytes: Uint8Array, start: number): Promise<DecodedAudio> {
  const { first, audioFrames, xing } = checkMpeg(bytes, start);
  const raw = await runCodec("mp3", bytes.subarray(start), "MP3");
  if (raw.sampleRate !== first.sampleRate) {
    throw new DecodeError(`corrupt MP3: frames say ${first.sampleRate} Hz, decoder reports ${raw.sampleRate}`);
  }
  const decoded = raw.channelData[0].length;
  const full = audioFrames * first.samplesPerFrame;
  // mpg123 removes the LAME/Lavc encoder delay and padding (each at most 4095) when tagged, else
  // nothing; anything shorter means frames did not decode.
  if (decoded > full || decoded < full - 2 * 4095) {
    throw new DecodeError(`corrupt MP3: ${audioFrames} frames should give about ${xing?.gaplessFrames ?? full} samples, decoded ${decoded}`);
  }
  let channels = raw.channelData;
  // audio-decode collapses identical stereo channels to one; restore the channel count the frames
  // declare so that a channel index chosen from the file's header stays valid.
  if (channels.length === 1 && first.channels === 2) channels = [channels[0], channels[0].slice()];
  return { channels, sampleRate: raw.sampleRate };
}
