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
/**
 * A subframe is written as planned and rewound to VERBATIM when larger; the plan's estimate is at
 * most n/2 bits low, so the trial can pass the output bound by no more than this.
 */
const TRIAL_SLACK_BYTES = BLOCK_SIZE / 8 + 64;

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
  const w = new BitWriter(42 + numFrames * FRAME_OVERHEAD_BYTES + numSamples * 2 + TRIAL_SLACK_BYTES);
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

/**
 * Largest partition order usable for a block of n samples: partitions must split the block evenly
 * and every partition must outlast the longest predictor's warm-up samples.
 */
function maxPartitionOrder(n: number): number {
  let maxP = MAX_PARTITION_ORDER;
  while (maxP > 0 && (n % (1 << maxP) !== 0 || n >> maxP <= MAX_LPC_ORDER)) maxP--;
  return maxP;
}

function encodeSubframe(w: BitWriter, s: Scratch, pcm: Int16Array, start: number, n: number): void {
  const x = s.signal;
  const first = pcm[start];
  let or = 0;
  let differs = 0;
  for (let i = 0; i < n; i++) {
    const v = pcm[start + i];
    x[i] = v;
    or |= v;
    differs |= v ^ first;
  }
  if (differs === 0) {
    w.write(SUBFRAME_CONSTANT << 1, 8);
    w.writeSigned(first, BITS_PER_SAMPLE);
    return;
  }
  // Wasted bits: low bits that are zero in every sample are coded once in the subframe header.
  let wasted = 0;
  while (((or >> wasted) & 1) === 0) wasted++;
  if (wasted > 0) for (let i = 0; i < n; i++) x[i] >>= wasted;
  const bps = BITS_PER_SAMPLE - wasted;

  // Candidates are compared by libFLAC-style estimates from partition sums; only the winner's
  // residual is kept, and it is written once. VERBATIM is the fallback when the written subframe
  // turns out larger than the raw samples (the estimate is never more than n/2 bits too low).
  const headerBits = 8 + wasted;
  const verbatimBits = headerBits + n * bps;
  const maxP = maxPartitionOrder(n);
  let bestType = SUBFRAME_VERBATIM;
  let bestBits = verbatimBits;
  let fixedOrder = 0;
  if (n > 4) {
    fixedOrder = guessFixedOrder(x, n, maxP, s.fixedSums);
    // |residual| sums stand in for folded sums (2|r| - [r < 0]) as in libFLAC's estimate.
    const from = fixedOrder << MAX_PARTITION_ORDER;
    const base = (1 << maxP) - 1;
    for (let p = 0; p < 1 << maxP; p++) s.sums[base + p] = 2 * s.fixedSums[from + p];
    const bits = headerBits + fixedOrder * bps + planRice(s, maxP, n, fixedOrder);
    if (bits < bestBits) {
      bestBits = bits;
      bestType = SUBFRAME_FIXED;
    }
  }

  let lpcOrder = 0;
  let precision = 0;
  let shift = 0;
  if (n > 2 * MAX_LPC_ORDER) {
    const order = lpcAnalysis(x, n, s);
    if (order > 0) {
      const qlp = s.qlp;
      const p = Math.min(QLP_PRECISION, 32 - bps - Math.floor(Math.log2(order)));
      const sh = quantizeLpc(s.lpc, (order - 1) * MAX_LPC_ORDER, order, p, qlp);
      if (sh >= 0 && lpcResidual(x, n, qlp, order, sh, bps, s.residual, s.sums, maxP)) {
        const bits = headerBits + order * bps + 4 + 5 + order * p + planRice(s, maxP, n, order);
        if (bits < bestBits) {
          bestBits = bits;
          bestType = SUBFRAME_LPC;
          lpcOrder = order;
          precision = p;
          shift = sh;
        }
      }
    }
  }
  if (bestType === SUBFRAME_FIXED) {
    fixedResidual(x, n, fixedOrder, s.residual, s.sums, maxP);
    const bits = headerBits + fixedOrder * bps + planRice(s, maxP, n, fixedOrder);
    if (bits >= verbatimBits) bestType = SUBFRAME_VERBATIM;
  }

  if (bestType !== SUBFRAME_VERBATIM) {
    const pos = w.pos;
    const acc = w.acc;
    const accBits = w.accBits;
    const order = bestType === SUBFRAME_FIXED ? fixedOrder : lpcOrder;
    const typeCode = bestType === SUBFRAME_FIXED ? 8 | order : 0x20 | (order - 1);
    w.write((typeCode << 1) | (wasted > 0 ? 1 : 0), 8);
    if (wasted > 0) w.write(1, wasted); // wasted-1 zeros then a one
    for (let i = 0; i < order; i++) w.writeSigned(x[i], bps);
    if (bestType === SUBFRAME_LPC) {
      w.write(precision - 1, 4);
      w.writeSigned(shift, 5);
      for (let i = 0; i < order; i++) w.writeSigned(s.qlp[i], precision);
    }
    writeResidual(w, s.residual, n, order, s);
    if ((w.pos - pos) * 8 + w.accBits - accBits <= verbatimBits) return;
    // Larger than the raw samples after all: rewind and store them verbatim instead.
    w.pos = pos;
    w.acc = acc;
    w.accBits = accBits;
  }
  w.write((1 << 1) | (wasted > 0 ? 1 : 0), 8);
  if (wasted > 0) w.write(1, wasted);
  for (let i = 0; i < n; i++) w.writeSigned(x[i], bps);
}

/**
 * libFLAC's FLAC__fixed_compute_best_predictor: the FIXED order with the least summed |residual|
 * (lower order on ties). Also leaves the finest-level partition sums of |residual| for every order
 * in sums (samples before the fourth are left out for all orders, as in libFLAC).
 */
function guessFixedOrder(x: Int32Array, n: number, maxP: number, sums: Float64Array): number {
  const size = n >> maxP;
  const stride = 1 << MAX_PARTITION_ORDER;
  // Differences of successive orders carried in locals: d_k(i) = d_{k-1}(i) - d_{k-1}(i - 1).
  let x1 = x[3];
  let d1 = x[3] - x[2];
  let d2 = d1 - (x[2] - x[1]);
  let d3 = d2 - (x[2] - x[1] - (x[1] - x[0]));
  let t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0;
  let i = 4;
  for (let p = 0; p < 1 << maxP; p++) {
    const end = (p + 1) * size;
    // Per-partition sums stay well inside int32 (|4th difference| < 2^19, 2^12 samples at most)
    // and the block totals inside uint32, so the adds can wrap-free truncate.
    let e0 = 0, e1 = 0, e2 = 0, e3 = 0, e4 = 0;
    for (; i < end; i++) {
      const v = x[i];
      const n1 = v - x1;
      const n2 = n1 - d1;
      const n3 = n2 - d2;
      const n4 = n3 - d3;
      x1 = v;
      d1 = n1;
      d2 = n2;
      d3 = n3;
      e0 = (e0 + ((v ^ (v >> 31)) - (v >> 31))) | 0;
      e1 = (e1 + ((n1 ^ (n1 >> 31)) - (n1 >> 31))) | 0;
      e2 = (e2 + ((n2 ^ (n2 >> 31)) - (n2 >> 31))) | 0;
      e3 = (e3 + ((n3 ^ (n3 >> 31)) - (n3 >> 31))) | 0;
      e4 = (e4 + ((n4 ^ (n4 >> 31)) - (n4 >> 31))) | 0;
    }
    const a0 = e0 >>> 0, a1 = e1 >>> 0, a2 = e2 >>> 0, a3 = e3 >>> 0, a4 = e4 >>> 0;
    sums[p] = a0;
    sums[stride + p] = a1;
    sums[2 * stride + p] = a2;
    sums[3 * stride + p] = a3;
    sums[4 * stride + p] = a4;
    t0 += a0;
    t1 += a1;
    t2 += a2;
    t3 += a3;
    t4 += a4;
  }
  if (t0 <= Math.min(t1, t2, t3, t4)) return 0;
  if (t1 <= Math.min(t2, t3, t4)) return 1;
  if (t2 <= Math.min(t3, t4)) return 2;
  if (t3 <= t4) return 3;
  return 4;
}

/**
 * Residual of a FIXED predictor, folded into out[0 .. n-order), with the folded sums of the finest
 * partitions in sums. |residual| ≤ 16 · 2^15 for order 4, so int32 arithmetic is exact.
 */
function fixedResidual(x: Int32Array, n: number, order: number, out: Int32Array, sums: Float64Array, maxP: number): void {
  const size = n >> maxP;
  const base = (1 << maxP) - 1;
  // Previous samples, zero before the block start (their coefficients are then zero anyway).
  let x1 = order >= 1 ? x[order - 1] : 0, x2 = order >= 2 ? x[order - 2] : 0, x3 = order >= 3 ? x[order - 3] : 0, x4 = order >= 4 ? x[order - 4] : 0;
  const c1 = order === 1 ? 1 : order === 2 ? 2 : order === 3 ? 3 : order === 4 ? 4 : 0;
  const c2 = order === 2 ? -1 : order === 3 ? -3 : order === 4 ? -6 : 0;
  const c3 = order === 3 ? 1 : order === 4 ? 4 : 0;
  const c4 = order === 4 ? -1 : 0;
  let i = order;
  for (let p = 0; p < 1 << maxP; p++) {
    const end = (p + 1) * size;
    let sum = 0;
    // Folded residuals are below 2^21 and a partition at most 4096 long: the sum fits in uint32.
    for (; i < end; i++) {
      const v = x[i];
      const r = (v - (c1 * x1 + c2 * x2 + c3 * x3 + c4 * x4)) | 0;
      const u = (r << 1) ^ (r >> 31);
      out[i - order] = u;
      sum = (sum + u) | 0;
      x4 = x3;
      x3 = x2;
      x2 = x1;
      x1 = v;
    }
    sums[base + p] = sum >>> 0;
  }
}

/**
 * Windows the block, takes its autocorrelation and runs Levinson–Durbin (libFLAC's
 * FLAC__lpc_compute_lp_coefficients), leaving predictor coefficients for every order in s.lpc.
 * Returns the order libFLAC's FLAC__lpc_compute_best_order would pick, or 0 when LPC is useless.
 */
function lpcAnalysis(x: Int32Array, n: number, s: Scratch): number {
  const win = n === BLOCK_SIZE ? s.fullWindow : tukeyWindow(n, s.partialWindow);
  // All nine lags in one pass, two samples a step, the previous eight windowed samples in locals
  // (MAX_LPC_ORDER is 8).
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0, a8 = 0;
  let p1 = 0, p2 = 0, p3 = 0, p4 = 0, p5 = 0, p6 = 0, p7 = 0, p8 = 0;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const u = x[i] * win[i];
    const v = x[i + 1] * win[i + 1];
    a0 += u * u + v * v;
    a1 += u * p1 + v * u;
    a2 += u * p2 + v * p1;
    a3 += u * p3 + v * p2;
    a4 += u * p4 + v * p3;
    a5 += u * p5 + v * p4;
    a6 += u * p6 + v * p5;
    a7 += u * p7 + v * p6;
    a8 += u * p8 + v * p7;
    p8 = p6; p7 = p5; p6 = p4; p5 = p3; p4 = p2; p3 = p1; p2 = u; p1 = v;
  }
  if (i < n) {
    const v = x[i] * win[i];
    a0 += v * v; a1 += v * p1; a2 += v * p2; a3 += v * p3; a4 += v * p4;
    a5 += v * p5; a6 += v * p6; a7 += v * p7; a8 += v * p8;
  }
  const autoc = s.autoc;
  autoc[0] = a0; autoc[1] = a1; autoc[2] = a2; autoc[3] = a3; autoc[4] = a4;
  autoc[5] = a5; autoc[6] = a6; autoc[7] = a7; autoc[8] = a8;
  if (autoc[0] === 0) return 0;

  const lpc = s.levinson;
  const coeffs = s.lpc;
  const errors = s.lpcError;
  let err = autoc[0];
  let maxOrder = MAX_LPC_ORDER;
  for (let i = 0; i < MAX_LPC_ORDER; i++) {
    let r = -autoc[i + 1];
    for (let j = 0; j < i; j++) r -= lpc[j] * autoc[i - j];
    r /= err;
    lpc[i] = r;
    let j = 0;
    for (; j < i >> 1; j++) {
      const tmp = lpc[j];
      lpc[j] += r * lpc[i - 1 - j];
      lpc[i - 1 - j] += r * tmp;
    }
    if (i & 1) lpc[j] += lpc[j] * r;
    err *= 1 - r * r;
    for (let k = 0; k <= i; k++) coeffs[i * MAX_LPC_ORDER + k] = -lpc[k]; // predictor = negated FIR
    errors[i] = err;
    if (err === 0) {
      maxOrder = i + 1;
      break;
    }
  }

  // Expected bits: 0.5·log2(error / (2·samples)) per residual sample plus the order's own cost.
  const errorScale = 0.5 / n;
  const overheadPerOrder = BITS_PER_SAMPLE + QLP_PRECISION;
  let bestOrder = 1;
  let bestBits = Infinity;
  for (let order = 1; order <= maxOrder; order++) {
    const e = errors[order - 1];
    let bitsPerSample = 0;
    if (e > 0) bitsPerSample = Math.max(0, 0.5 * Math.log2(errorScale * e));
    else if (e < 0) bitsPerSample = 1e32;
    const bits = bitsPerSample * (n - order) + order * overheadPerOrder;
    if (bits < bestBits) {
      bestBits = bits;
      bestOrder = order;
    }
  }
  return bestOrder;
}

/**
 * Quantizes predictor coefficients to `precision`-bit integers with error feedback (libFLAC's
 * FLAC__lpc_quantize_coefficients) into qlp, zero-filled past the order. Returns the shift, or -1
 * when the coefficients cannot be coded (all zero, or so large that a negative shift would be
 * needed, which decoders reject).
 */
function quantizeLpc(coeffs: Float64Array, at: number, order: number, precision: number, qlp: Int32Array): number {
  qlp.fill(0);
  let cmax = 0;
  for (let i = 0; i < order; i++) cmax = Math.max(cmax, Math.abs(coeffs[at + i]));
  if (!(cmax > 0) || !Number.isFinite(cmax)) return -1;
  const qmax = (1 << (precision - 1)) - 1;
  const qmin = -(1 << (precision - 1));
  // frexp(cmax) exponent minus one = floor(log2(cmax)).
  const log2cmax = Math.floor(Math.log2(cmax));
  let shift = precision - 1 - log2cmax - 1;
  if (shift > 15) shift = 15; // 5-bit signed field
  if (shift < 0) return -1;
  const scale = 2 ** shift;
  let error = 0;
  for (let i = 0; i < order; i++) {
    error += coeffs[at + i] * scale;
    let q = Math.round(error);
    if (q > qmax) q = qmax;
    else if (q < qmin) q = qmin;
    error -= q;
    qlp[i] = q;
  }
  return shift;
}

/**
 * LPC residual, folded into out, with the folded sums of the finest partitions in sums. Returns
 * false when a residual would not fit in a signed 32-bit integer (RFC 9639 §9.2.5 requires it);
 * the caller then drops this predictor. qlp must be zero past the order.
 */
function lpcResidual(
  x: Int32Array,
  n: number,
  qlp: Int32Array,
  order: number,
  shift: number,
  bps: number,
  out: Int32Array,
  sums: Float64Array,
  maxP: number,
): boolean {
  let coeffSum = 0;
  for (let j = 0; j < order; j++) coeffSum += Math.abs(qlp[j]);
  const sampleMax = 2 ** (bps - 1);
  const size = n >> maxP;
  const base = (1 << maxP) - 1;
  // Bound on |prediction before shift| and on |residual|: when both stay below 2^31, int32 math is
  // exact and no residual can overflow. The precision limit (32 - bps - log2(order)) makes this the
  // normal case; otherwise fall back to exact double arithmetic with a per-sample check.
  const predictionBound = coeffSum * sampleMax;
  if (predictionBound < 2 ** 31 && predictionBound / 2 ** shift + sampleMax < 2 ** 31) {
    // One 8-tap loop for every order: taps past the order have zero coefficients, and the samples
    // they would read before the block start are taken as zero.
    const c0 = qlp[0], c1 = qlp[1], c2 = qlp[2], c3 = qlp[3], c4 = qlp[4], c5 = qlp[5], c6 = qlp[6], c7 = qlp[7];
    let x1 = x[order - 1];
    let x2 = order >= 2 ? x[order - 2] : 0;
    let x3 = order >= 3 ? x[order - 3] : 0;
    let x4 = order >= 4 ? x[order - 4] : 0;
    let x5 = order >= 5 ? x[order - 5] : 0;
    let x6 = order >= 6 ? x[order - 6] : 0;
    let x7 = order >= 7 ? x[order - 7] : 0;
    let x8 = order >= 8 ? x[order - 8] : 0;
    let i = order;
    for (let p = 0; p < 1 << maxP; p++) {
      const end = (p + 1) * size;
      let sum = 0;
      for (; i < end; i++) {
        const v = x[i];
        const prediction =
          (Math.imul(c0, x1) + Math.imul(c1, x2) + Math.imul(c2, x3) + Math.imul(c3, x4) +
            Math.imul(c4, x5) + Math.imul(c5, x6) + Math.imul(c6, x7) + Math.imul(c7, x8)) | 0;
        const r = (v - (prediction >> shift)) | 0;
        const u = (r << 1) ^ (r >> 31);
        out[i - order] = u;
        sum += u >>> 0;
        x8 = x7; x7 = x6; x6 = x5; x5 = x4; x4 = x3; x3 = x2; x2 = x1; x1 = v;
      }
      sums[base + p] = sum;
    }
    return true;
  }
  const inverseScale = 2 ** -shift;
  let i = order;
  for (let p = 0; p < 1 << maxP; p++) {
    const end = (p + 1) * size;
    let sum = 0;
    for (; i < end; i++) {
      let prediction = 0;
      for (let j = 0; j < order; j++) prediction += qlp[j] * x[i - 1 - j];
      const r = x[i] - Math.floor(prediction * inverseScale);
      if (r < -(2 ** 31) || r >= 2 ** 31) return false;
      const u = (r << 1) ^ (r >> 31);
      out[i - order] = u;
      sum += u >>> 0;
    }
    sums[base + p] = sum;
  }
  return true;
}

/**
 * Plans the Rice coding of a residual from its finest-level partition sums (s.sums): merges them
 * upward, picks the partition order with the smallest estimated size and, per partition, the
 * parameter floor(log2(mean)) that minimises libFLAC's size estimate (closed form, no search).
 * Leaves the plan in s.params, s.riceOrder and s.riceMethod; returns the estimated size in bits
 * of the whole residual section.
 */
function planRice(s: Scratch, maxP: number, n: number, order: number): number {
  const sums = s.sums;
  for (let level = maxP - 1; level >= 0; level--) {
    const base = (1 << level) - 1;
    const child = (2 << level) - 1;
    for (let p = 0; p < 1 << level; p++) sums[base + p] = sums[child + 2 * p] + sums[child + 2 * p + 1];
  }
  let bestLevel = 0;
  let bestEstimate = Infinity;
  for (let level = maxP; level >= 0; level--) {
    const base = (1 << level) - 1;
    const size = n >> level;
    let estimate = 0;
    for (let p = 0; p < 1 << level; p++) {
      const count = p === 0 ? size - order : size;
      const sum = sums[base + p];
      estimate += 4 + estimateRiceBits(sum, count, riceParam(sum, count));
    }
    if (estimate < bestEstimate) {
      bestEstimate = estimate;
      bestLevel = level;
    }
  }
  const base = (1 << bestLevel) - 1;
  const size = n >> bestLevel;
  const params = s.params;
  let method = 0;
  for (let p = 0; p < 1 << bestLevel; p++) {
    const k = riceParam(sums[base + p], p === 0 ? size - order : size);
    params[p] = k;
    if (k > RICE1_MAX_PARAM) method = 1;
  }
  s.riceOrder = bestLevel;
  s.riceMethod = method;
  return 2 + 4 + bestEstimate + (method ? 1 << bestLevel : 0);
}

/** floor(log2(mean)) of a partition's folded residual, 0 below 2 and at most RICE2_MAX_PARAM. */
function riceParam(sum: number, count: number): number {
  if (sum < 2 * count) return 0;
  const mean = sum / count;
  const k = mean < 2 ** 31 ? 31 - Math.clz32(mean) : Math.floor(Math.log2(mean));
  return k < RICE2_MAX_PARAM ? k : RICE2_MAX_PARAM;
}

const INVERSE_POWERS_OF_TWO = Float64Array.from({ length: RICE2_MAX_PARAM + 1 }, (_, k) => 2 ** -k);

/** libFLAC's estimate of a partition's Rice code size from its sum: the low bits average one half. */
function estimateRiceBits(sum: number, count: number, k: number): number {
  return count * (k + 1) + (k === 0 ? sum : sum * INVERSE_POWERS_OF_TWO[k] - count / 2);
}

/** Writes the partitioned Rice residual section (RFC 9639 §9.2.7) as planned in s. */
function writeResidual(w: BitWriter, u: Int32Array, n: number, order: number, s: Scratch): void {
  const paramBits = s.riceMethod ? 5 : 4;
  w.write(s.riceMethod, 2);
  w.write(s.riceOrder, 4);
  const partitions = 1 << s.riceOrder;
  const size = n >> s.riceOrder;
  const bytes = w.bytes;
  let i = 0;
  for (let p = 0; p < partitions; p++) {
    const k = s.params[p];
    w.write(k, paramBits);
    const end = i + (p === 0 ? size - order : size);
    const stop = 1 << k;
    const lowMask = stop - 1;
    // The accumulator is kept in locals for the hot loop and stored back afterwards.
    let acc = w.acc;
    let accBits = w.accBits;
    let pos = w.pos;
    for (; i < end; i++) {
      const v = u[i];
      let q = v >>> k;
      // Unary quotient (q zeros) then a one then k low bits; long quotients go out in runs of zeros
      // until the rest fits one 32-bit write.
      while (q + k >= 32) {
        const zeros = q < 31 ? q : 31;
        const total = accBits + zeros;
        if (total < 32) {
          acc <<= zeros;
          accBits = total;
        } else {
          const rest = total - 32;
          const word = (acc << (zeros - rest)) >>> 0;
          bytes[pos++] = word >>> 24;
          bytes[pos++] = word >>> 16;
          bytes[pos++] = word >>> 8;
          bytes[pos++] = word;
          acc = 0;
          accBits = rest;
        }
        q -= zeros;
      }
      const n2 = q + 1 + k;
      const value = (stop | (v & lowMask)) >>> 0;
      const total = accBits + n2;
      if (total < 32) {
        acc = (acc << n2) | value;
        accBits = total;
      } else {
        const rest = total - 32;
        const word = ((acc << (n2 - rest)) | (value >>> rest)) >>> 0;
        bytes[pos++] = word >>> 24;
        bytes[pos++] = word >>> 16;
        bytes[pos++] = word >>> 8;
        bytes[pos++] = word;
        acc = rest === 0 ? 0 : value & ((1 << rest) - 1);
        accBits = rest;
      }
    }
    w.acc = acc;
    w.accBits = accBits;
    w.pos = pos;
  }
}
