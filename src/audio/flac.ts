// In-process FLAC encoder for mono 16-bit PCM: deterministic bytes, no dependency.
// Format: RFC 9639 (Free Lossless Audio Codec). Model choices follow libFLAC's `-5` preset
// (stream_encoder.c, lpc.c): 4096-sample blocks, tukey(0.5) window, LPC up to order 8 with
// 12-bit coefficients, best LPC order guessed from the Levinson–Durbin error, best FIXED order
// guessed from summed absolute residuals, Rice partition order searched per subframe.
// Unlike libFLAC, Rice parameters and the final CONSTANT/VERBATIM/FIXED/LPC choice use exact bit
// counts, which also lets the writer's output be checked against the plan bit for bit.

import { createHash } from "node:crypto";

const BLOCK_SIZE = 4096;
const BITS_PER_SAMPLE = 16;
const MAX_LPC_ORDER = 8;
/** libFLAC's qlp precision for 16-bit audio at block sizes 2305–4608 (stream_encoder.c). */
const QLP_PRECISION = 12;
const MAX_PARTITION_ORDER = 8;
/** Rice parameters above this need the 5-bit RICE2 coding method (escape code 15 is unused). */
const RICE1_MAX_PARAM = 14;
const RICE2_MAX_PARAM = 30;
/** Most bytes one frame's header, subframe header, padding and CRC can add to its samples. */
const FRAME_OVERHEAD_BYTES = 24;

const SUBFRAME_CONSTANT = 0;
const SUBFRAME_VERBATIM = 1;
const SUBFRAME_FIXED = 2;
const SUBFRAME_LPC = 3;

const CRC8_TABLE = new Uint8Array(256);
const CRC16_TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let c8 = i;
  let c16 = i << 8;
  for (let k = 0; k < 8; k++) {
    c8 = c8 & 0x80 ? ((c8 << 1) ^ 0x07) & 0xff : (c8 << 1) & 0xff; // x^8 + x^2 + x + 1
    c16 = c16 & 0x8000 ? ((c16 << 1) ^ 0x8005) & 0xffff : (c16 << 1) & 0xffff; // x^16 + x^15 + x^2 + 1
  }
  CRC8_TABLE[i] = c8;
  CRC16_TABLE[i] = c16;
}

/** MSB-first bit writer into a preallocated buffer; bits gather in a 32-bit accumulator. */
class BitWriter {
  readonly bytes: Uint8Array;
  pos = 0;
  acc = 0;
  accBits = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }

  get bitPosition(): number {
    return this.pos * 8 + this.accBits;
  }

  /** Appends the low `n` bits of `value` (0 ≤ n ≤ 32, value < 2^n unsigned). */
  write(value: number, n: number): void {
    const total = this.accBits + n;
    if (total < 32) {
      this.acc = (this.acc << n) | value;
      this.accBits = total;
      return;
    }
    const rest = total - 32;
    // When accBits is 0 the shift count is 32, which JS takes as 0; acc is then 0 anyway.
    const word = ((this.acc << (n - rest)) | (value >>> rest)) >>> 0;
    const b = this.bytes;
    let p = this.pos;
    b[p++] = word >>> 24;
    b[p++] = word >>> 16;
    b[p++] = word >>> 8;
    b[p++] = word;
    this.pos = p;
    this.acc = rest === 0 ? 0 : value & ((1 << rest) - 1);
    this.accBits = rest;
  }

  writeSigned(value: number, n: number): void {
    this.write(n === 32 ? value >>> 0 : value & ((1 << n) - 1), n);
  }

  /** Pads with zero bits to a byte boundary and moves every whole byte out of the accumulator. */
  alignAndFlush(): void {
    const pad = (8 - (this.accBits & 7)) & 7;
    if (pad) this.write(0, pad);
    const b = this.bytes;
    while (this.accBits > 0) {
      this.accBits -= 8;
      b[this.pos++] = this.acc >>> this.accBits;
    }
    this.acc = 0;
  }
}

/** Working memory reused across frames and calls (one set per thread: module state is per worker). */
class Scratch {
  readonly signal = new Int32Array(BLOCK_SIZE);
  /** The chosen predictor's residual, zigzag-folded ((r << 1) ^ (r >> 31)); read it as unsigned. */
  readonly residual = new Int32Array(BLOCK_SIZE);
  readonly fullWindow = tukeyWindow(BLOCK_SIZE, new Float64Array(BLOCK_SIZE));
  readonly partialWindow = new Float64Array(BLOCK_SIZE);
  readonly autoc = new Float64Array(MAX_LPC_ORDER + 1);
  readonly lpc = new Float64Array(MAX_LPC_ORDER * MAX_LPC_ORDER);
  readonly lpcError = new Float64Array(MAX_LPC_ORDER);
  readonly levinson = new Float64Array(MAX_LPC_ORDER);
  /** Quantized LPC coefficients, zero past the order so that one 8-tap loop serves every order. */
  readonly qlp = new Int32Array(MAX_LPC_ORDER);
  /** Finest-level partition sums of |residual| for FIXED orders 0..4 (order o from o << MAX_PARTITION_ORDER). */
  readonly fixedSums = new Float64Array(5 << MAX_PARTITION_ORDER);
  /** Partition sums of the folded residual at every level: level p at [(1 << p) - 1, (2 << p) - 1). */
  readonly sums = new Float64Array(2 << MAX_PARTITION_ORDER);
  /** Rice plan of the last planRice call: parameters per partition, partition order, coding method. */
  readonly params = new Int32Array(1 << MAX_PARTITION_ORDER);
  riceOrder = 0;
  riceMethod = 0;
}

let scratch: Scratch | null = null;

/** Tukey window with ratio 0.5, as libFLAC's default apodization `tukey(5e-1)` (window.c). */
function tukeyWindow(n: number, out: Float64Array): Float64Array {
  const np = Math.floor((0.5 / 2) * n) - 1;
  out.fill(1, 0, n);
  if (np > 0) {
    for (let i = 0; i <= np; i++) {
      out[i] = 0.5 - 0.5 * Math.cos((Math.PI * i) / np);
      out[n - np - 1 + i] = 0.5 - 0.5 * Math.cos((Math.PI * (i + np)) / np);
    }
  }
  return out;
}

function sampleRateCode(sampleRate: number): number {
  switch (sampleRate) {
    case 88200: return 1;
    case 176400: return 2;
    case 192000: return 3;
    case 8000: return 4;
    case 16000: return 5;
    case 22050: return 6;
    case 24000: return 7;
    case 32000: return 8;
    case 44100: return 9;
    case 48000: return 10;
    case 96000: return 11;
  }
  if (sampleRate % 1000 === 0 && sampleRate <= 255000) return 12; // 8-bit kHz at end of header
  if (sampleRate <= 65535) return 13; // 16-bit Hz at end of header
  if (sampleRate % 10 === 0 && sampleRate <= 655350) return 14; // 16-bit tens of Hz at end of header
  return 0; // only in STREAMINFO
}

function blockSizeCode(blockSize: number): number {
  switch (blockSize) {
    case 192: return 1;
    case 576: return 2;
    case 1152: return 3;
    case 2304: return 4;
    case 4608: return 5;
    case 256: return 8;
    case 512: return 9;
    case 1024: return 10;
    case 2048: return 11;
    case 4096: return 12;
    case 8192: return 13;
    case 16384: return 14;
    case 32768: return 15;
  }
  return blockSize <= 256 ? 6 : 7; // (size - 1) in 8 or 16 bits at end of header
}

/**
 * Encodes mono 16-bit PCM as a FLAC file (fLaC, STREAMINFO with MD5, fixed 4096-sample frames).
 * Pure and deterministic: the same samples and rate always give the same bytes.
 */
export function encodeFlac(pcm: Int16Array, sampleRate: number): Uint8Array {
  if (!Number.isInteger(sampleRate) || sampleRate < 1 || sampleRate > 0xfffff) {
    throw new RangeError(`encodeFlac: sampleRate must be an integer in 1..1048575 Hz, got ${sampleRate}`);
  }
  const numSamples = pcm.length;
  if (numSamples >= 2 ** 36) throw new RangeError(`encodeFlac: ${numSamples} samples exceed FLAC's 36-bit count`);
  const s = (scratch ??= new Scratch());
  const numFrames = Math.ceil(numSamples / BLOCK_SIZE);
  const w = new BitWriter(42 + numFrames * FRAME_OVERHEAD_BYTES + numSamples * 2);
  const srCode = sampleRateCode(sampleRate);

  // "fLaC" then STREAMINFO as the only (last) metadata block; its fields are filled in at the end.
  w.write(0x664c6143, 32);
  w.write(0x80, 8); // last-metadata-block flag, type 0
  w.write(34, 24);
  const streamInfoAt = w.pos;
  w.pos += 34;

  let minFrameBytes = 0;
  let maxFrameBytes = 0;
  for (let frame = 0; frame < numFrames; frame++) {
    const start = frame * BLOCK_SIZE;
    const blockSize = Math.min(BLOCK_SIZE, numSamples - start);
    const frameStart = w.pos;
    writeFrameHeader(w, frame, blockSize, srCode, sampleRate);
    encodeSubframe(w, s, pcm, start, blockSize);
    w.alignAndFlush();
    let crc = 0;
    const b = w.bytes;
    for (let i = frameStart; i < w.pos; i++) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[(crc >>> 8) ^ b[i]];
    w.write(crc, 16);
    w.alignAndFlush();
    const frameBytes = w.pos - frameStart;
    if (frame === 0 || frameBytes < minFrameBytes) minFrameBytes = frameBytes;
    if (frameBytes > maxFrameBytes) maxFrameBytes = frameBytes;
  }
  if (w.pos > w.bytes.length) throw new Error("encodeFlac: internal error, output bound exceeded");
  const end = w.pos;

  // STREAMINFO: libFLAC also states the configured block size as both minimum and maximum for a
  // fixed-blocksize stream (the shorter last block does not count, RFC 9639 §8.2).
  w.pos = streamInfoAt;
  w.write(BLOCK_SIZE, 16);
  w.write(BLOCK_SIZE, 16);
  w.write(minFrameBytes, 24);
  w.write(maxFrameBytes, 24);
  w.write(sampleRate, 20);
  w.write(0, 3); // channels - 1
  w.write(BITS_PER_SAMPLE - 1, 5);
  w.write(Math.floor(numSamples / 2 ** 32), 4);
  w.write(numSamples >>> 0, 32);
  w.alignAndFlush();
  w.bytes.set(md5OfSamples(pcm), w.pos);
  return w.bytes.slice(0, end);
}

/** MD5 of the samples as signed 16-bit little-endian, which is what STREAMINFO's signature covers. */
function md5OfSamples(pcm: Int16Array): Uint8Array {
  const hash = createHash("md5");
  const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  if (littleEndianHost) {
    hash.update(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength));
  } else {
    const le = new Uint8Array(pcm.length * 2);
    for (let i = 0; i < pcm.length; i++) {
      le[2 * i] = pcm[i];
      le[2 * i + 1] = pcm[i] >> 8;
    }
    hash.update(le);
  }
  return hash.digest();
}

function writeFrameHeader(w: BitWriter, frameNumber: number, blockSize: number, srCode: number, sampleRate: number): void {
  const headerStart = w.pos; // frames start byte-aligned and the header is whole bytes
  const bsCode = blockSizeCode(blockSize);
  w.write(0xfff8, 16); // sync code, reserved 0, fixed-blocksize stream
  w.write((bsCode << 4) | srCode, 8);
  w.write((0 << 4) | (4 << 1), 8); // mono; sample size code 4 = 16 bits; reserved 0
  // Frame number in the extended UTF-8 coding of RFC 9639 §9.1.5.
  if (frameNumber < 0x80) {
    w.write(frameNumber, 8);
  } else {
    let extra = 1;
    while (frameNumber >= 2 ** (6 + 5 * extra) && extra < 6) extra++;
    const lead = (0xff00 >> (extra + 1)) & 0xff; // extra+1 leading one bits
    w.write(lead | Math.floor(frameNumber / 2 ** (6 * extra)), 8);
    for (let k = extra - 1; k >= 0; k--) w.write(0x80 | (Math.floor(frameNumber / 2 ** (6 * k)) & 0x3f), 8);
  }
  if (bsCode === 6) w.write(blockSize - 1, 8);
  else if (bsCode === 7) w.write(blockSize - 1, 16);
  if (srCode === 12) w.write(sampleRate / 1000, 8);
  else if (srCode === 13) w.write(sampleRate, 16);
  else if (srCode === 14) w.write(sampleRate / 10, 16);
  w.alignAndFlush();
  let crc = 0;
  for (let i = headerStart; i < w.pos; i++) crc = CRC8_TABLE[crc ^ w.bytes[i]];
  w.write(crc, 8);
}

