// In-process FLAC encoder for mono 16-bit PCM: deterministic bytes, no dependency.
// Format: RFC 9639 (Free Lossless Audio Codec). Model choices follow libFLAC's `-5` preset
// (stream_encoder.c, lpc.c): 4096-sample blocks, tukey(0.5) window, LPC up to order 8 with
// 12-bit coefficients, LPC order guessed from the Levinson–Durbin error, Rice partition order
// (up to 8) and Rice parameters chosen by libFLAC's estimate from partition sums of the residual.
//
// It runs once per output file, so it is built for speed: about three passes over a block's
// samples plus an eighth of one (exact searches over both predictors took about ten).
//  1. The windowed autocorrelation, with the constant-block and wasted-bits checks in the same loop.
//  2. Runs of 16 residuals, one run every 128 samples, of the five FIXED predictors and of the LPC
//     predictor: they pick the FIXED order (least magnitude, libFLAC's criterion) and give Rice
//     estimates that decide which of FIXED and LPC to compute. The other one is computed too when
//     its estimate beats what the first really takes, which catches a misjudged sampling.
//  3. The chosen residual, with its finest partition sums in the same loop; coarser partitions are
//     merged from them and the Rice parameters follow in closed form (libFLAC's estimate).
//  4. The Rice codes, written once with no branch on their length; a subframe that turns out
//     larger than VERBATIM is rewound and stored raw.
// Hot loops use int32 arithmetic on typed arrays and reuse module-level scratch buffers. Passes 1
// and 3 (for LPC) run as WebAssembly SIMD kernels (flac-kernels.ts) where the runtime has them,
// with the same arithmetic, so the same bytes; the JS loops here are their fallback and reference.

import { FLAC_CRC16, FLAC_CRC8 } from "./flac-frame.js";
import { createHash } from "node:crypto";
import { flacKernels } from "./flac-kernels.js";

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

const CRC8_TABLE = FLAC_CRC8;
const CRC16_TABLE = FLAC_CRC16;

/** CRC-16 (polynomial 0x8005, initial 0) of bytes[from .. to), as the frame footer holds it. */
function crc16(bytes: Uint8Array, from: number, to: number): number {
  const t = CRC16_TABLE;
  let crc = 0;
  let i = from;
  for (; i + 8 <= to; i += 8) {
    crc =
      t[7 * 256 + ((crc >>> 8) ^ bytes[i])] ^ t[6 * 256 + ((crc & 0xff) ^ bytes[i + 1])] ^
      t[5 * 256 + bytes[i + 2]] ^ t[4 * 256 + bytes[i + 3]] ^ t[3 * 256 + bytes[i + 4]] ^
      t[2 * 256 + bytes[i + 5]] ^ t[256 + bytes[i + 6]] ^ t[bytes[i + 7]];
  }
  for (; i < to; i++) crc = ((crc << 8) & 0xffff) ^ t[(crc >>> 8) ^ bytes[i]];
  return crc;
}

/** MSB-first bit writer into a preallocated buffer; bits gather in a 32-bit accumulator. */
class BitWriter {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  pos = 0;
  acc = 0;
  accBits = 0;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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

  /** Moves every whole byte out of the accumulator, leaving fewer than 8 bits in it. */
  flushBytes(): void {
    const b = this.bytes;
    while (this.accBits >= 8) {
      this.accBits -= 8;
      b[this.pos++] = this.acc >>> this.accBits;
    }
    this.acc &= (1 << this.accBits) - 1;
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

/** A residual with its partition sums and Rice plan. */
class Coding {
  readonly own = new Int32Array(BLOCK_SIZE);
  /** Zigzag-folded residual ((r << 1) ^ (r >> 31)); read it as unsigned. `own`, or the SIMD kernel's output. */
  residual: Int32Array = this.own;
  /** Partition sums of the folded residual at every level: level p at [(1 << p) - 1, (2 << p) - 1). */
  readonly sums = new Float64Array(2 << MAX_PARTITION_ORDER);
  /** Rice parameter per partition at the planned partition order. */
  readonly params = new Int32Array(1 << MAX_PARTITION_ORDER);
  partitionOrder = 0;
  /** 0: 4-bit parameters (RICE), 1: 5-bit parameters (RICE2). */
  method = 0;
}

/** Working memory reused across frames and calls (one set per thread: module state is per worker). */
class Scratch {
  /** The block's samples when wasted bits are shifted out. */
  readonly shifted = new Int16Array(BLOCK_SIZE);
  readonly fullWindow = tukeyWindow(BLOCK_SIZE, new Float64Array(BLOCK_SIZE));
  readonly partialWindow = new Float64Array(BLOCK_SIZE);
  readonly autoc = new Float64Array(MAX_LPC_ORDER + 1);
  readonly lpc = new Float64Array(MAX_LPC_ORDER * MAX_LPC_ORDER);
  readonly lpcError = new Float64Array(MAX_LPC_ORDER);
  readonly levinson = new Float64Array(MAX_LPC_ORDER);
  /** Quantized LPC coefficients, zero past the order so that one 8-tap loop serves every order. */
  readonly qlp = new Int32Array(MAX_LPC_ORDER);
  readonly fixed = new Coding();
  readonly lpc8 = new Coding();
}

let scratch: Scratch | null = null;

/**
 * Tukey window with ratio 0.5, as libFLAC's default apodization `tukey(5e-1)` (window.c). The
 * falling edge mirrors the rising one (cos(π + θ) = -cos θ), so each cosine serves both.
 */
function tukeyWindow(n: number, out: Float64Array): Float64Array {
  const np = Math.floor((0.5 / 2) * n) - 1;
  out.fill(1, 0, n);
  if (np > 0) {
    for (let i = 0; i <= np; i++) {
      const c = 0.5 * Math.cos((Math.PI * i) / np);
      out[i] = 0.5 - c;
      out[n - np - 1 + i] = 0.5 + c;
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
  const w = new BitWriter(outputScratch(42 + numFrames * FRAME_OVERHEAD_BYTES + numSamples * 2 + TRIAL_SLACK_BYTES));
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
    w.write(crc16(w.bytes, frameStart, w.pos), 16);
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

let output = new Uint8Array(0);

/**
 * The writer's buffer, kept between calls (the result is copied out of it at the exact size):
 * a fresh bound-sized buffer per file costs page faults and garbage collections. Every byte of it
 * that ends up in a file is written first (the bit writer stores whole words past its position,
 * and rewinds overwrite).
 */
function outputScratch(bytes: number): Uint8Array {
  if (output.length < bytes) output = new Uint8Array(Math.max(bytes, Math.min(2 * output.length, 64 << 20)));
  return output.subarray(0, bytes);
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
  // Pass 1 over the samples: their windowed autocorrelation, their OR and whether all are equal.
  const first = pcm[start];
  const win = n === BLOCK_SIZE ? s.fullWindow : tukeyWindow(n, s.partialWindow);
  // The SIMD kernels (flac-kernels.ts, same bits) work on a copy of the block in their memory.
  const k = flacKernels();
  let or: number;
  let differs: number;
  if (k) {
    k.x.set(pcm.subarray(start, start + n));
    if (n & 1) k.x[n] = pcm[start + n - 1]; // the JS loop pairs an odd last sample with itself
    if (k.windowFor !== n) {
      k.window.set(win.subarray(0, n));
      k.window[n] = 0;
      k.windowFor = n;
    }
    ({ or, differs } = k.autocorrelate(n, first, s.autoc));
  } else {
    ({ or, differs } = autocorrelate(pcm, start, n, win, s.autoc));
  }
  if (differs === 0) {
    w.write(SUBFRAME_CONSTANT << 1, 8);
    w.writeSigned(first, BITS_PER_SAMPLE);
    return;
  }
  // Wasted bits: low bits that are zero in every sample are coded once in the subframe header.
  let wasted = 0;
  while (((or >> wasted) & 1) === 0) wasted++;
  let x: Int16Array;
  if (wasted > 0) {
    x = s.shifted;
    for (let i = 0; i < n; i++) x[i] = pcm[start + i] >> wasted;
    k?.x.set(x.subarray(0, n));
    // The autocorrelation of the shifted samples, exactly (a power-of-two scale).
    for (let k = 0; k <= MAX_LPC_ORDER; k++) s.autoc[k] *= 2 ** (-2 * wasted);
  } else {
    x = pcm.subarray(start, start + n);
  }
  const bps = BITS_PER_SAMPLE - wasted;
  const headerBits = 8 + wasted;
  const verbatimBits = headerBits + n * bps;
  const maxP = maxPartitionOrder(n);

  // Candidates: libFLAC's LPC choice and the FIXED order whose residuals have the least magnitude.
  // Runs of residuals are sampled and Rice-estimated first (which also picks the FIXED order, by
  // libFLAC's criterion applied to the runs). The candidate that looks smaller is computed in full
  // (LPC on a tie), the other only if its guess beats what the first really takes (and VERBATIM):
  // a sampling that misjudges the block (a periodic signal whose edges the runs keep missing or
  // hitting) is off for both, so both are computed then.
  let lpcOrder = n > 2 * MAX_LPC_ORDER ? lpcAnalysis(n, s) : 0;
  let precision = 0;
  let shift = 0;
  if (lpcOrder > 0) {
    precision = Math.min(QLP_PRECISION, 32 - bps - Math.floor(Math.log2(lpcOrder)));
    shift = quantizeLpc(s.lpc, (lpcOrder - 1) * MAX_LPC_ORDER, lpcOrder, precision, s.qlp);
    if (shift < 0) lpcOrder = 0;
  }
  let fixedOrder = -1;
  let fixedBits = Infinity;
  let lpcBits = Infinity;
  if (lpcOrder > 0 && n >= SAMPLED_MIN_BLOCK) {
    sampledRiceBits(x, n, s.qlp, lpcOrder, shift);
    fixedOrder = sampled.fixedOrder;
    const fixedGuess = headerBits + fixedOrder * bps + sampled.fixed;
    const lpcGuess = headerBits + lpcOrder * (bps + precision) + 4 + 5 + sampled.lpc;
    if (fixedGuess < lpcGuess) {
      fixedBits = fixedCandidate(x, n, fixedOrder, bps, headerBits, s.fixed, maxP);
      if (lpcGuess < Math.min(fixedBits, verbatimBits)) {
        lpcBits = lpcCandidate(x, n, s.qlp, lpcOrder, precision, shift, bps, headerBits, s.lpc8, maxP);
      }
    } else {
      lpcBits = lpcCandidate(x, n, s.qlp, lpcOrder, precision, shift, bps, headerBits, s.lpc8, maxP);
      if (fixedGuess < Math.min(lpcBits, verbatimBits)) {
        fixedBits = fixedCandidate(x, n, fixedOrder, bps, headerBits, s.fixed, maxP);
      }
    }
  } else {
    // Short blocks (the last of a stream) and blocks without a usable LPC: both candidates in
    // full, the FIXED order by the residual energy that the autocorrelation predicts.
    if (n > 4) {
      fixedOrder = bestFixedOrder(s.autoc);
      fixedBits = fixedCandidate(x, n, fixedOrder, bps, headerBits, s.fixed, maxP);
    }
    if (lpcOrder > 0) lpcBits = lpcCandidate(x, n, s.qlp, lpcOrder, precision, shift, bps, headerBits, s.lpc8, maxP);
  }
  let bestType = SUBFRAME_VERBATIM;
  let bestBits = verbatimBits;
  let coding = s.fixed;
  let order = 0;
  if (fixedBits < bestBits) {
    bestBits = fixedBits;
    bestType = SUBFRAME_FIXED;
    order = fixedOrder;
  }
  if (lpcBits < bestBits) {
    bestBits = lpcBits;
    bestType = SUBFRAME_LPC;
    coding = s.lpc8;
    order = lpcOrder;
  }

  if (bestType !== SUBFRAME_VERBATIM) {
    const pos = w.pos;
    const acc = w.acc;
    const accBits = w.accBits;
    const typeCode = bestType === SUBFRAME_FIXED ? 8 | order : 0x20 | (order - 1);
    w.write((typeCode << 1) | (wasted > 0 ? 1 : 0), 8);
    if (wasted > 0) w.write(1, wasted); // wasted-1 zeros then a one
    for (let i = 0; i < order; i++) w.writeSigned(x[i], bps);
    if (bestType === SUBFRAME_LPC) {
      w.write(precision - 1, 4);
      w.writeSigned(shift, 5);
      for (let i = 0; i < order; i++) w.writeSigned(s.qlp[i], precision);
    }
    writeResidual(w, coding, n, order);
    if ((w.pos - pos) * 8 + w.accBits - accBits <= verbatimBits) return;
    // Larger than the raw samples after all: rewind and store them verbatim instead.
    w.pos = pos;
    w.acc = acc;
    w.accBits = accBits;
  }
  w.write((SUBFRAME_VERBATIM << 1) | (wasted > 0 ? 1 : 0), 8);
  if (wasted > 0) w.write(1, wasted);
  for (let i = 0; i < n; i++) w.writeSigned(x[i], bps);
}

/** Computes a FIXED residual and its Rice plan into c; returns the subframe's estimated bits. */
function fixedCandidate(
  x: Int16Array,
  n: number,
  order: number,
  bps: number,
  headerBits: number,
  c: Coding,
  maxP: number,
): number {
  fixedResidual(x, n, order, c, maxP);
  return headerBits + order * bps + planRice(c, maxP, n, order);
}

/**
 * Computes an LPC residual and its Rice plan into c; returns the subframe's estimated bits, or
 * Infinity when a residual would not fit in 32 bits.
 */
function lpcCandidate(
  x: Int16Array,
  n: number,
  qlp: Int32Array,
  order: number,
  precision: number,
  shift: number,
  bps: number,
  headerBits: number,
  c: Coding,
  maxP: number,
): number {
  if (!lpcResidual(x, n, qlp, order, shift, bps, c, maxP)) return Infinity;
  return headerBits + order * (bps + precision) + 4 + 5 + planRice(c, maxP, n, order);
}

const autocorrelation = { or: 0, differs: 0 };

/**
 * Lags 0..MAX_LPC_ORDER of the autocorrelation of pcm[start .. start+n) times the window, into
 * autoc; also the OR of the samples and the OR of each sample XOR the first (zero: constant block).
 * Two samples a step, the previous eight windowed samples in locals (MAX_LPC_ORDER is 8). An odd
 * last sample is paired with a zero rather than handled after the loop: code that only the last
 * block of a stream reaches made V8 deoptimize this function once per call.
 */
function autocorrelate(
  pcm: Int16Array,
  start: number,
  n: number,
  win: Float64Array,
  autoc: Float64Array,
): { or: number; differs: number } {
  const first = pcm[start];
  const last = n - 1;
  let or = 0;
  let differs = 0;
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0, a8 = 0;
  let p1 = 0, p2 = 0, p3 = 0, p4 = 0, p5 = 0, p6 = 0, p7 = 0, p8 = 0;
  for (let i = 0; i < n; i += 2) {
    const next = i < last ? i + 1 : i;
    const xa = pcm[start + i];
    const xb = pcm[start + next];
    or |= xa | xb;
    differs |= (xa ^ first) | (xb ^ first);
    const u = xa * win[i];
    const v = i < last ? xb * win[next] : 0;
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
  autoc[0] = a0; autoc[1] = a1; autoc[2] = a2; autoc[3] = a3; autoc[4] = a4;
  autoc[5] = a5; autoc[6] = a6; autoc[7] = a7; autoc[8] = a8;
  autocorrelation.or = or;
  autocorrelation.differs = differs;
  return autocorrelation;
}

/**
 * sampledRiceBits looks at runs of SAMPLE_RUN consecutive residuals, one run every SAMPLE_SPACING
 * samples (an eighth of them). Runs rather than every 8th residual: isolated points alias with
 * periodic signals (a square wave's edges, clicks) and misjudge them badly.
 */
const SAMPLE_RUN = 16;
const SAMPLE_SPACING = 128;
/** Smallest block that is sampled; both candidates are computed for shorter ones. */
const SAMPLED_MIN_BLOCK = 1024;

/** Result of sampledRiceBits. */
const sampled = { fixedOrder: 0, fixed: 0, lpc: 0 };
const SAMPLED_SEGMENTS = 16;
/** Per-segment sums of sampled folded FIXED residuals, order o from o * SAMPLED_SEGMENTS. */
const sampledFixedSums = new Float64Array(5 * SAMPLED_SEGMENTS);

/**
 * From runs of residuals: the FIXED order whose residuals have the least sum of magnitudes (libFLAC's
 * criterion, on the runs), and the estimated Rice bits of that FIXED residual and of an LPC
 * residual (qlp zero past its order), estimated per sixteenth of the block (per block when n is not
 * a multiple of 16); into `sampled`. Only an estimate: int32 arithmetic that could wrap for extreme
 * LPC coefficients does no harm.
 */
function sampledRiceBits(x: Int16Array, n: number, qlp: Int32Array, lpcOrder: number, shift: number): void {
  const c0 = qlp[0], c1 = qlp[1], c2 = qlp[2], c3 = qlp[3], c4 = qlp[4], c5 = qlp[5], c6 = qlp[6], c7 = qlp[7];
  const segments = n % SAMPLED_SEGMENTS === 0 ? SAMPLED_SEGMENTS : 1;
  const size = n / segments;
  // Runs start MAX_LPC_ORDER into each segment, so that every predictor has its history; every
  // segment holds the same number of them (n ≥ SAMPLED_MIN_BLOCK makes that at least one).
  const points = SAMPLE_RUN * (Math.floor((size - MAX_LPC_ORDER - SAMPLE_RUN) / SAMPLE_SPACING) + 1);
  const fixedSums = sampledFixedSums;
  let t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0;
  let lpcBits = 0;
  for (let p = 0; p < segments; p++) {
    const end = (p + 1) * size;
    let e0 = 0, e1 = 0, e2 = 0, e3 = 0, e4 = 0;
    let lpcSum = 0;
    for (let run = p * size + MAX_LPC_ORDER; run + SAMPLE_RUN <= end; run += SAMPLE_SPACING) {
      for (let i = run; i < run + SAMPLE_RUN; i++) {
        const v = x[i], x1 = x[i - 1], x2 = x[i - 2], x3 = x[i - 3], x4 = x[i - 4];
        // FIXED residuals of orders 1..4 as successive differences.
        const a1 = v - x1, b1 = x1 - x2, c1d = x2 - x3, d1 = x3 - x4;
        const a2 = a1 - b1, b2 = b1 - c1d, c2d = c1d - d1;
        const a3 = a2 - b2, b3 = b2 - c2d;
        const a4 = a3 - b3;
        e0 += (v << 1) ^ (v >> 31);
        e1 += (a1 << 1) ^ (a1 >> 31);
        e2 += (a2 << 1) ^ (a2 >> 31);
        e3 += (a3 << 1) ^ (a3 >> 31);
        e4 += (a4 << 1) ^ (a4 >> 31);
        const prediction =
          (Math.imul(c0, x1) + Math.imul(c1, x2) + Math.imul(c2, x3) + Math.imul(c3, x4) +
            Math.imul(c4, x[i - 5]) + Math.imul(c5, x[i - 6]) + Math.imul(c6, x[i - 7]) + Math.imul(c7, x[i - 8])) | 0;
        const rl = (v - (prediction >> shift)) | 0;
        lpcSum += ((rl << 1) ^ (rl >> 31)) >>> 0;
      }
    }
    fixedSums[p] = e0;
    fixedSums[SAMPLED_SEGMENTS + p] = e1;
    fixedSums[2 * SAMPLED_SEGMENTS + p] = e2;
    fixedSums[3 * SAMPLED_SEGMENTS + p] = e3;
    fixedSums[4 * SAMPLED_SEGMENTS + p] = e4;
    t0 += e0;
    t1 += e1;
    t2 += e2;
    t3 += e3;
    t4 += e4;
    const count = p === 0 ? size - lpcOrder : size;
    const scaled = (lpcSum * count) / points;
    lpcBits += estimateRiceBits(scaled, count, riceParam(scaled, count));
  }
  // The least sum, the lower order on ties (as libFLAC's FLAC__fixed_compute_best_predictor).
  let order = 0;
  let least = t0;
  if (t1 < least) { order = 1; least = t1; }
  if (t2 < least) { order = 2; least = t2; }
  if (t3 < least) { order = 3; least = t3; }
  if (t4 < least) order = 4;
  let fixedBits = 0;
  for (let p = 0; p < segments; p++) {
    const count = p === 0 ? size - order : size;
    const scaled = (fixedSums[order * SAMPLED_SEGMENTS + p] * count) / points;
    fixedBits += estimateRiceBits(scaled, count, riceParam(scaled, count));
  }
  sampled.fixedOrder = order;
  sampled.fixed = fixedBits;
  sampled.lpc = lpcBits;
}

/** libFLAC's expected bits per residual sample for a residual of this energy over n samples. */
function expectedBitsPerSample(energy: number, n: number): number {
  return energy > 0 ? Math.max(0, 0.5 * Math.log2((0.5 / n) * energy)) : 0;
}

/** Energy of the FIXED predictor's residual of this order, from the autocorrelation. */
function fixedEnergy(r: Float64Array, order: number): number {
  let e: number;
  switch (order) {
    case 0: e = r[0]; break;
    case 1: e = 2 * r[0] - 2 * r[1]; break;
    case 2: e = 6 * r[0] - 8 * r[1] + 2 * r[2]; break;
    case 3: e = 20 * r[0] - 30 * r[1] + 12 * r[2] - 2 * r[3]; break;
    default: e = 70 * r[0] - 112 * r[1] + 56 * r[2] - 16 * r[3] + 2 * r[4];
  }
  return e > 0 ? e : 0;
}

/** The FIXED order (0..4) whose residual has the least energy; the lower order on ties. */
function bestFixedOrder(r: Float64Array): number {
  let best = 0;
  let bestEnergy = fixedEnergy(r, 0);
  for (let order = 1; order <= 4; order++) {
    const e = fixedEnergy(r, order);
    if (e < bestEnergy) {
      bestEnergy = e;
      best = order;
    }
  }
  return best;
}

/**
 * Residual of a FIXED predictor, folded into c.residual[0 .. n-order), then the folded sums of the
 * finest partitions. |residual| ≤ 16 · 2^15 for order 4, so int32 arithmetic is exact.
 */
function fixedResidual(x: Int16Array, n: number, order: number, c: Coding, maxP: number): void {
  const out = c.residual;
  switch (order) {
    case 0:
      for (let i = 0; i < n; i++) {
        const r = x[i];
        out[i] = (r << 1) ^ (r >> 31);
      }
      break;
    case 1: {
      let a = x[0];
      for (let i = 1; i < n; i++) {
        const v = x[i];
        const r = v - a;
        a = v;
        out[i - 1] = (r << 1) ^ (r >> 31);
      }
      break;
    }
    case 2: {
      let a = x[1], b = x[0];
      for (let i = 2; i < n; i++) {
        const v = x[i];
        const r = v - 2 * a + b;
        b = a;
        a = v;
        out[i - 2] = (r << 1) ^ (r >> 31);
      }
      break;
    }
    case 3: {
      let a = x[2], b = x[1], c = x[0];
      for (let i = 3; i < n; i++) {
        const v = x[i];
        const r = v - 3 * (a - b) - c;
        c = b;
        b = a;
        a = v;
        out[i - 3] = (r << 1) ^ (r >> 31);
      }
      break;
    }
    default: {
      let a = x[3], b = x[2], c = x[1], d = x[0];
      for (let i = 4; i < n; i++) {
        const v = x[i];
        const r = v - 4 * (a + c) + 6 * b + d;
        d = c;
        c = b;
        b = a;
        a = v;
        out[i - 4] = (r << 1) ^ (r >> 31);
      }
    }
  }
  // Folded residuals are below 2^21 and a partition at most 4096 long: each sum fits in uint32.
  const sums = c.sums;
  const size = n >> maxP;
  const base = (1 << maxP) - 1;
  let i = 0;
  for (let p = 0; p < 1 << maxP; p++) {
    const end = (p + 1) * size - order;
    let sum = 0;
    for (; i < end; i++) sum = (sum + out[i]) | 0;
    sums[base + p] = sum >>> 0;
  }
}

/**
 * Levinson–Durbin on s.autoc (libFLAC's FLAC__lpc_compute_lp_coefficients), leaving predictor
 * coefficients for every order in s.lpc. Returns the order libFLAC's FLAC__lpc_compute_best_order
 * would pick, or 0 when LPC is useless.
 */
function lpcAnalysis(n: number, s: Scratch): number {
  const autoc = s.autoc;
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
  const overheadPerOrder = BITS_PER_SAMPLE + QLP_PRECISION;
  let bestOrder = 1;
  let bestBits = Infinity;
  for (let order = 1; order <= maxOrder; order++) {
    const e = errors[order - 1];
    const bitsPerSample = e < 0 ? 1e32 : expectedBitsPerSample(e, n);
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
 * LPC residual, folded into c.residual, with the folded sums of the finest partitions in sums. Returns
 * false when a residual would not fit in a signed 32-bit integer (RFC 9639 §9.2.5 requires it);
 * the caller then drops this predictor. qlp must be zero past the order.
 */
function lpcResidual(
  x: Int16Array,
  n: number,
  qlp: Int32Array,
  order: number,
  shift: number,
  bps: number,
  c: Coding,
  maxP: number,
): boolean {
  const sums = c.sums;
  let coeffSum = 0;
  for (let j = 0; j < order; j++) coeffSum += Math.abs(qlp[j]);
  const sampleMax = 2 ** (bps - 1);
  const size = n >> maxP;
  const base = (1 << maxP) - 1;
  // Bound on |prediction before shift| and on |residual|: when both stay below 2^31, int32 math is
  // exact and no residual can overflow. The precision limit (32 - bps - log2(order)) makes this the
  // normal case; otherwise fall back to exact double arithmetic with a per-sample check.
  const predictionBound = coeffSum * sampleMax;
  const fast = predictionBound < 2 ** 31 && predictionBound / 2 ** shift + sampleMax < 2 ** 31;
  const k = flacKernels();
  if (fast && k) {
    // The block is in the kernel's memory (encodeSubframe put it there, shifted if need be).
    k.lpcResidual(n, qlp, order, shift, 1 << maxP, sums, base);
    c.residual = k.residual;
    return true;
  }
  const out = (c.residual = c.own);
  if (fast) {
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
      // Two samples a step: the second prediction uses the first sample, and the eight previous
      // samples shift by two.
      for (; i + 1 < end; i += 2) {
        const v = x[i];
        const w = x[i + 1];
        const pv =
          (Math.imul(c0, x1) + Math.imul(c1, x2) + Math.imul(c2, x3) + Math.imul(c3, x4) +
            Math.imul(c4, x5) + Math.imul(c5, x6) + Math.imul(c6, x7) + Math.imul(c7, x8)) | 0;
        const pw =
          (Math.imul(c0, v) + Math.imul(c1, x1) + Math.imul(c2, x2) + Math.imul(c3, x3) +
            Math.imul(c4, x4) + Math.imul(c5, x5) + Math.imul(c6, x6) + Math.imul(c7, x7)) | 0;
        const rv = (v - (pv >> shift)) | 0;
        const rw = (w - (pw >> shift)) | 0;
        const uv = (rv << 1) ^ (rv >> 31);
        const uw = (rw << 1) ^ (rw >> 31);
        out[i - order] = uv;
        out[i + 1 - order] = uw;
        sum += (uv >>> 0) + (uw >>> 0);
        x8 = x6; x7 = x5; x6 = x4; x5 = x3; x4 = x2; x3 = x1; x2 = v; x1 = w;
      }
      if (i < end) {
        const v = x[i];
        const pv =
          (Math.imul(c0, x1) + Math.imul(c1, x2) + Math.imul(c2, x3) + Math.imul(c3, x4) +
            Math.imul(c4, x5) + Math.imul(c5, x6) + Math.imul(c6, x7) + Math.imul(c7, x8)) | 0;
        const rv = (v - (pv >> shift)) | 0;
        const uv = (rv << 1) ^ (rv >> 31);
        out[i - order] = uv;
        sum += uv >>> 0;
        x8 = x7; x7 = x6; x6 = x5; x5 = x4; x4 = x3; x3 = x2; x2 = x1; x1 = v;
        i++;
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
 * Plans the Rice coding of a residual from its finest-level partition sums (c.sums): merges them
 * upward, picks the partition order with the smallest estimated size and, per partition, the
 * parameter floor(log2(mean)) that minimises libFLAC's size estimate (closed form, no search).
 * Leaves the plan in c.params, c.partitionOrder and c.method; returns the estimated size in bits
 * of the whole residual section.
 */
function planRice(c: Coding, maxP: number, n: number, order: number): number {
  const sums = c.sums;
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
  const params = c.params;
  let method = 0;
  for (let p = 0; p < 1 << bestLevel; p++) {
    const k = riceParam(sums[base + p], p === 0 ? size - order : size);
    params[p] = k;
    if (k > RICE1_MAX_PARAM) method = 1;
  }
  c.partitionOrder = bestLevel;
  c.method = method;
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

/**
 * Writes the partitioned Rice residual section (RFC 9639 §9.2.7) as planned in c. The hot loop
 * keeps fewer than 8 bits pending: each code (at most 24 bits) joins them, the pending bits go out
 * as one big-endian 32-bit store, and the whole bytes among them are passed, with no branch on
 * the code's length.
 */
function writeResidual(w: BitWriter, c: Coding, n: number, order: number): void {
  const u = c.residual;
  const paramBits = c.method ? 5 : 4;
  w.write(c.method, 2);
  w.write(c.partitionOrder, 4);
  w.flushBytes();
  const partitions = 1 << c.partitionOrder;
  const size = n >> c.partitionOrder;
  const view = w.view;
  let acc = w.acc;
  let accBits = w.accBits;
  let pos = w.pos;
  let i = 0;
  for (let p = 0; p < partitions; p++) {
    const k = c.params[p];
    {
      const total = accBits + paramBits;
      acc = (acc << paramBits) | k;
      view.setUint32(pos, acc << (32 - total));
      pos += total >>> 3;
      accBits = total & 7;
      acc &= (1 << accBits) - 1;
    }
    const end = i + (p === 0 ? size - order : size);
    const stop = 1 << k;
    const lowMask = stop - 1;
    for (; i < end; i++) {
      const v = u[i];
      // Unary quotient (q zeros), a one, then the k low bits.
      const q = v >>> k;
      const bits = q + 1 + k;
      if (bits <= 24) {
        const total = accBits + bits;
        acc = (acc << bits) | stop | (v & lowMask);
        view.setUint32(pos, acc << (32 - total));
        pos += total >>> 3;
        accBits = total & 7;
        acc &= (1 << accBits) - 1;
      } else {
        w.acc = acc;
        w.accBits = accBits;
        w.pos = pos;
        for (let zeros = q; zeros > 0; zeros -= 24) w.write(0, zeros < 24 ? zeros : 24);
        w.write((stop | (v & lowMask)) >>> 0, k + 1);
        w.flushBytes();
        acc = w.acc;
        accBits = w.accBits;
        pos = w.pos;
      }
    }
  }
  w.acc = acc;
  w.accBits = accBits;
  w.pos = pos;
}
