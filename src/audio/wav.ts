// RIFF/RF64 WAVE reading and canonical PCM16 writing.
// Every size read from a header is checked against the bytes actually present before anything is
// allocated from it, so a hostile header costs an exception, never a giant allocation.

import { DecodeError, type DecodedAudio } from "./decoded.js";
import { pcm16Simd } from "./simd.js";

/** Highest sample rate accepted; above it a header is taken as corrupt (768 kHz is the top of real hardware). */
export const MAX_SAMPLE_RATE = 768_000;

const FORMAT_PCM = 0x0001;
const FORMAT_FLOAT = 0x0003;
const FORMAT_ALAW = 0x0006;
const FORMAT_MULAW = 0x0007;
const FORMAT_EXTENSIBLE = 0xfffe;

// KSDATAFORMAT_SUBTYPE_* GUIDs are the format tag followed by this fixed tail (mmreg.h).
const SUBFORMAT_GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

/** What the fmt and data chunks say, before any sample is read. */
export interface WavLayout {
  formatTag: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  /** Bits per sample of the container (8/16/24/32/64); samples are left-justified in it. */
  containerBits: number;
  /** Byte offset of the first sample. */
  dataOffset: number;
  /** Data size the header states, in bytes (may exceed what the file holds; see dataBytesPresent). */
  dataBytesDeclared: number;
}

function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
}

function u16(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8);
}

function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

// 64-bit sizes (RF64) as a double: exact below 2^53, far beyond any file we can hold.
function u64(bytes: Uint8Array, at: number): number {
  return u32(bytes, at) + u32(bytes, at + 4) * 2 ** 32;
}

function hexBytes(bytes: Uint8Array, count: number): string {
  return Array.from(bytes.subarray(0, count), (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/**
 * Reads the chunk headers of a WAVE file. With `complete` false (a header prefix, for probing) a data
 * chunk that runs past the end of `bytes` is expected and not an error; chunks that lie beyond the
 * prefix are not visited, so a fmt chunk after a large data chunk makes it return null.
 */
export function readWavLayout(bytes: Uint8Array, complete: boolean): WavLayout | null {
  if (bytes.length < 12) {
    if (!complete) return null;
    throw new DecodeError(`truncated WAV: ${bytes.length} bytes, shorter than a RIFF header`);
  }
  const magic = fourcc(bytes, 0);
  if (magic === "RIFX") throw new DecodeError("unsupported WAV: big-endian RIFX");
  if ((magic !== "RIFF" && magic !== "RF64") || fourcc(bytes, 8) !== "WAVE") {
    throw new DecodeError(`not a WAV file: starts with bytes ${hexBytes(bytes, 12)}`);
  }
  const isRf64 = magic === "RF64";
  let ds64DataSize = -1;
  let fmt: Omit<WavLayout, "dataOffset" | "dataBytesDeclared"> | null = null;
  let dataOffset = -1;
  let dataBytesDeclared = 0;

  // Each step advances by at least 8 bytes, so the walk ends after at most length/8 chunks.
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = fourcc(bytes, at);
    let size = u32(bytes, at + 4);
    const body = at + 8;
    if (id === "ds64") {
      if (size < 24 || body + 24 > bytes.length) throw new DecodeError("corrupt RF64: ds64 chunk too short");
      ds64DataSize = u64(bytes, body + 8);
    } else if (id === "fmt ") {
      if (fmt) throw new DecodeError("corrupt WAV: two fmt chunks");
      if (size < 16) throw new DecodeError(`corrupt WAV: fmt chunk is ${size} bytes, needs at least 16`);
      if (body + Math.min(size, 40) > bytes.length) {
        if (!complete) return null;
        throw new DecodeError(`truncated WAV: fmt chunk needs ${size} bytes, file has ${bytes.length - body}`);
      }
      fmt = readFmt(bytes, body, size);
    } else if (id === "data") {
      if (isRf64 && size === 0xffffffff) {
        if (ds64DataSize < 0) throw new DecodeError("corrupt RF64: data size deferred to a missing ds64 chunk");
        size = ds64DataSize;
      }
      dataOffset = body;
      dataBytesDeclared = size;
      // The data chunk is normally last and may be the only one larger than a probe prefix;
      // a fmt chunk after it is legal but must then fit in what is present.
      if (fmt) break;
    }
    if (body + size > bytes.length) {
      if (id === "data") {
        if (!complete) break;
        throw new DecodeError(`truncated WAV: header says ${size} bytes of audio, file has ${bytes.length - body}`);
      }
      if (dataOffset >= 0 && fmt) break; // trailing chunk cut short after the audio: harmless
      if (!complete) return null;
      throw new DecodeError(
        `truncated WAV: chunk '${printable(id)}' at byte ${at} says ${size} bytes, file has ${bytes.length - body}`,
      );
    }
    at = body + size + (size & 1); // chunks are padded to even length (RIFF spec); a missing final pad is harmless
  }
  if (!fmt) {
    if (!complete) return null;
    throw new DecodeError("corrupt WAV: missing fmt chunk");
  }
  if (dataOffset < 0) {
    if (!complete) return null;
    throw new DecodeError("corrupt WAV: missing data chunk");
  }
  return { ...fmt, dataOffset, dataBytesDeclared };
}

function printable(id: string): string {
  return id.replace(/[^\x20-\x7e]/g, "?");
}

function readFmt(bytes: Uint8Array, at: number, size: number): Omit<WavLayout, "dataOffset" | "dataBytesDeclared"> {
  let formatTag = u16(bytes, at);
  const channels = u16(bytes, at + 2);
  const sampleRate = u32(bytes, at + 4);
  const blockAlign = u16(bytes, at + 12);
  const bitsPerSample = u16(bytes, at + 14);
  if (formatTag === FORMAT_EXTENSIBLE) {
    if (size < 40) throw new DecodeError(`corrupt WAV: WAVE_FORMAT_EXTENSIBLE fmt chunk is ${size} bytes, needs 40`);
    const guid = bytes.subarray(at + 24, at + 40);
    if (!SUBFORMAT_GUID_TAIL.every((b, i) => guid[i + 2] === b)) {
      throw new DecodeError(`unsupported WAV: WAVE_FORMAT_EXTENSIBLE subformat ${hexBytes(guid, 16)}`);
    }
    formatTag = u16(guid, 0);
  }
  if (channels === 0) throw new DecodeError("corrupt WAV: zero channels");
  if (sampleRate === 0 || sampleRate > MAX_SAMPLE_RATE) {
    throw new DecodeError(`corrupt WAV: sample rate ${sampleRate} Hz outside 1..${MAX_SAMPLE_RATE}`);
  }
  let containerBits: number;
  switch (formatTag) {
    case FORMAT_PCM:
      if (bitsPerSample < 1 || bitsPerSample > 32) {
        throw new DecodeError(`unsupported WAV: PCM with ${bitsPerSample} bits per sample`);
      }
      containerBits = Math.ceil(bitsPerSample / 8) * 8; // e.g. 12-bit PCM sits left-justified in 16
      break;
    case FORMAT_FLOAT:
      if (bitsPerSample !== 32 && bitsPerSample !== 64) {
        throw new DecodeError(`unsupported WAV: IEEE float with ${bitsPerSample} bits per sample`);
      }
      containerBits = bitsPerSample;
      break;
    case FORMAT_ALAW:
    case FORMAT_MULAW:
      if (bitsPerSample !== 8) throw new DecodeError(`unsupported WAV: G.711 with ${bitsPerSample} bits per sample`);
      containerBits = 8;
      break;
    default:
      throw new DecodeError(`unsupported WAV: format tag 0x${formatTag.toString(16).padStart(4, "0")}`);
  }
  if (blockAlign !== channels * (containerBits / 8)) {
    throw new DecodeError(
      `corrupt WAV: block align ${blockAlign} inconsistent with ${channels} channels of ${containerBits / 8} bytes`,
    );
  }
  return { formatTag, channels, sampleRate, blockAlign, containerBits };
}

/**
 * Decodes a RIFF/RF64 WAVE file: integer PCM 1–32 bits (8-bit unsigned), IEEE float 32/64, A-law,
 * µ-law, WAVE_FORMAT_EXTENSIBLE, any channel count. Integers are scaled by 2^(bits-1) into [-1, 1).
 * Throws DecodeError for anything hostile, truncated or unsupported. `alloc` supplies the channel
 * arrays (every sample is written).
 */
export function parseWav(bytes: Uint8Array, alloc?: (length: number) => Float32Array): DecodedAudio {
  const layout = readWavLayout(bytes, true)!;
  const present = bytes.length - layout.dataOffset;
  if (layout.dataBytesDeclared > present) {
    throw new DecodeError(`truncated WAV: header says ${layout.dataBytesDeclared} bytes of audio, file has ${present}`);
  }
  // A trailing partial frame (data size not a multiple of the block) is dropped, as every reader does.
  const numFrames = Math.floor(layout.dataBytesDeclared / layout.blockAlign);
  if (numFrames === 0) throw new DecodeError("zero-length audio");
  const channels: Float32Array[] = [];
  for (let c = 0; c < layout.channels; c++) channels.push(alloc?.(numFrames) ?? new Float32Array(numFrames));
  if (layout.formatTag === FORMAT_PCM && layout.containerBits === 16 && layout.channels === 1) {
    // The common case (mono 16-bit) by the SIMD kernel, which also measures the peak.
    return { channels, sampleRate: layout.sampleRate, peak: decodeMono16(bytes, layout.dataOffset, numFrames, channels[0]) };
  }
  decodeSamples(bytes, layout, numFrames, channels);
  return { channels, sampleRate: layout.sampleRate };
}

const simdSums = new Float64Array(1);

/** Mono 16-bit PCM to float (as decodeSamples) and the peak |sample|. */
function decodeMono16(bytes: Uint8Array, at: number, numFrames: number, dst: Float32Array): number {
  let peak = 0;
  let i = 0;
  const done = pcm16Simd(bytes, at, numFrames, dst, simdSums);
  if (done !== null) {
    peak = simdSums[0];
    i = done;
  }
  for (let p = at + 2 * i; i < numFrames; i++, p += 2) {
    const v = (((bytes[p] | (bytes[p + 1] << 8)) << 16) >> 16) / 32768;
    dst[i] = v;
    const a = Math.abs(v);
    if (a > peak) peak = a;
  }
  return peak;
}

function decodeSamples(bytes: Uint8Array, layout: WavLayout, numFrames: number, out: Float32Array[]): void {
  const { channels: numChannels, blockAlign, containerBits, formatTag, dataOffset } = layout;
  const bytesPerSample = containerBits / 8;
  for (let c = 0; c < numChannels; c++) {
    const dst = out[c];
    let at = dataOffset + c * bytesPerSample;
    if (formatTag === FORMAT_PCM) {
      switch (containerBits) {
        case 8: // 8-bit WAV is unsigned with 128 as zero (Microsoft RIFF spec)
          for (let i = 0; i < numFrames; i++, at += blockAlign) dst[i] = (bytes[at] - 128) / 128;
          break;
        case 16:
          for (let i = 0; i < numFrames; i++, at += blockAlign) {
            dst[i] = (((bytes[at] | (bytes[at + 1] << 8)) << 16) >> 16) / 32768;
          }
          break;
        case 24:
          for (let i = 0; i < numFrames; i++, at += blockAlign) {
            dst[i] = (((bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16)) << 8) >> 8) / 8388608;
          }
          break;
        default: // 32
          for (let i = 0; i < numFrames; i++, at += blockAlign) {
            dst[i] = (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) / 2147483648;
          }
      }
    } else if (formatTag === FORMAT_FLOAT) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < numFrames; i++, at += blockAlign) {
        const value = containerBits === 32 ? view.getFloat32(at, true) : view.getFloat64(at, true);
        // NaN or infinity would poison every later measurement (RMS, SNR); reject the file instead.
        if (!Number.isFinite(value)) {
          throw new DecodeError(`corrupt WAV: non-finite float sample at frame ${i}, channel ${c}`);
        }
        dst[i] = value;
      }
    } else {
      const table = formatTag === FORMAT_ALAW ? alawTable() : mulawTable();
      for (let i = 0; i < numFrames; i++, at += blockAlign) dst[i] = table[bytes[at]];
    }
  }
}

let alawCache: Float32Array | null = null;
let mulawCache: Float32Array | null = null;

// G.711 expansion (ITU-T G.711, as in Sun's g711.c), to 16-bit linear then scaled by 2^15.
function alawTable(): Float32Array {
  if (alawCache) return alawCache;
  const table = new Float32Array(256);
  for (let code = 0; code < 256; code++) {
    const a = code ^ 0x55;
    const exponent = (a & 0x70) >> 4;
    let magnitude = (a & 0x0f) << 4;
    if (exponent === 0) magnitude += 8;
    else magnitude = (magnitude + 0x108) << (exponent - 1);
    table[code] = (a & 0x80 ? magnitude : -magnitude) / 32768;
  }
  return (alawCache = table);
}

function mulawTable(): Float32Array {
  if (mulawCache) return mulawCache;
  const table = new Float32Array(256);
  for (let code = 0; code < 256; code++) {
    const u = ~code & 0xff;
    const magnitude = ((((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4)) - 0x84;
    table[code] = (u & 0x80 ? -magnitude : magnitude) / 32768;
  }
  return (mulawCache = table);
}

/**
 * Encodes mono 16-bit PCM as a canonical 44-byte-header WAV (RIFF, fmt of 16 bytes, data): the only
 * layout Kaldi's reader and many older tools accept.
 */
export function encodeWav(pcm: Int16Array, sampleRate: number): Uint8Array {
  if (!Number.isInteger(sampleRate) || sampleRate < 1 || sampleRate > 0xffffffff) {
    throw new RangeError(`encodeWav: sampleRate must be a positive integer, got ${sampleRate}`);
  }
  const dataBytes = pcm.length * 2;
  if (36 + dataBytes > 0xffffffff) throw new RangeError(`encodeWav: ${pcm.length} samples exceed the 4 GiB RIFF limit`);
  const out = new Uint8Array(44 + dataBytes);
  const view = new DataView(out.buffer);
  out.set([0x52, 0x49, 0x46, 0x46], 0); // RIFF
  view.setUint32(4, 36 + dataBytes, true);
  out.set([0x57, 0x41, 0x56, 0x45, 0x66, 0x6d, 0x74, 0x20], 8); // WAVEfmt<space>
  view.setUint32(16, 16, true);
  view.setUint16(20, FORMAT_PCM, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  out.set([0x64, 0x61, 0x74, 0x61], 36); // data
  view.setUint32(40, dataBytes, true);
  for (let i = 0, at = 44; i < pcm.length; i++, at += 2) {
    const s = pcm[i];
    out[at] = s;
    out[at + 1] = s >> 8;
  }
  return out;
}
