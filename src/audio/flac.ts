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

/** Rice coding plan for one residual. */
interface RiceChoice {
  partitionOrder: number;
  /** 0: 4-bit parameters (RICE), 1: 5-bit parameters (RICE2). */
  method: number;
  params: Int32Array;
  bits: number;
}

/** One candidate subframe: its model, residual and exact size. */
interface SubframeChoice {
  type: number;
  order: number;
  qlp: Int32Array;
  /** Bits per quantized LPC coefficient. */
  precision: number;
  shift: number;
  residual: Uint32Array;
  rice: RiceChoice;
  bits: number;
}

function newChoice(): SubframeChoice {
  return {
    type: SUBFRAME_VERBATIM,
    order: 0,
    qlp: new Int32Array(MAX_LPC_ORDER),
    precision: QLP_PRECISION,
    shift: 0,
    residual: new Uint32Array(BLOCK_SIZE),
    rice: { partitionOrder: 0, method: 0, params: new Int32Array(1 << MAX_PARTITION_ORDER), bits: 0 },
    bits: 0,
  };
}

/** Working memory reused across frames and calls (one set per thread: module state is per worker). */
class Scratch {
  readonly signal = new Int32Array(BLOCK_SIZE);
  readonly windowed = new Float64Array(BLOCK_SIZE);
  readonly fullWindow = tukeyWindow(BLOCK_SIZE, new Float64Array(BLOCK_SIZE));
  readonly partialWindow = new Float64Array(BLOCK_SIZE);
  readonly autoc = new Float64Array(MAX_LPC_ORDER + 1);
  readonly lpc = new Float64Array(MAX_LPC_ORDER * MAX_LPC_ORDER);
  readonly lpcError = new Float64Array(MAX_LPC_ORDER);
  readonly levinson = new Float64Array(MAX_LPC_ORDER);
  readonly partitionSums = new Float64Array(2 << MAX_PARTITION_ORDER);
  best = newChoice();
  candidate = newChoice();
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

function encodeSubframe(w: BitWriter, s: Scratch, pcm: Int16Array, start: number, n: number): void {
  const x = s.signal;
  const first = pcm[start];
  let or = 0;
  let constant = true;
  for (let i = 0; i < n; i++) {
    const v = pcm[start + i];
    x[i] = v;
    or |= v;
    if (v !== first) constant = false;
  }
  if (constant) {
    w.write(SUBFRAME_CONSTANT << 1, 8);
    w.writeSigned(first, BITS_PER_SAMPLE);
    return;
  }
  // Wasted bits: low bits that are zero in every sample are coded once in the subframe header.
  let wasted = 0;
  while (((or >> wasted) & 1) === 0) wasted++;
  if (wasted > 0) for (let i = 0; i < n; i++) x[i] >>= wasted;
  const bps = BITS_PER_SAMPLE - wasted;

  const headerBits = 8 + wasted;
  let bestBits = headerBits + n * bps;
  let bestType = SUBFRAME_VERBATIM;

  if (n > 4) {
    const fixedOrder = guessFixedOrder(x, n);
    const c = s.candidate;
    fixedResidual(x, n, fixedOrder, c.residual);
    const riceBits = chooseRice(c.residual, n, fixedOrder, c.rice, s);
    const bits = headerBits + fixedOrder * bps + riceBits;
    if (bits < bestBits) {
      c.type = SUBFRAME_FIXED;
      c.order = fixedOrder;
      c.bits = bits;
      bestBits = bits;
      bestType = SUBFRAME_FIXED;
      s.candidate = s.best;
      s.best = c;
    }
  }

  if (n > 2 * MAX_LPC_ORDER) {
    const order = lpcAnalysis(x, n, s);
    if (order > 0) {
      const c = s.candidate;
      const precision = Math.min(QLP_PRECISION, 32 - bps - Math.floor(Math.log2(order)));
      const shift = quantizeLpc(s.lpc, (order - 1) * MAX_LPC_ORDER, order, precision, c.qlp);
      if (shift >= 0 && lpcResidual(x, n, c.qlp, order, shift, bps, c.residual)) {
        const riceBits = chooseRice(c.residual, n, order, c.rice, s);
        const bits = headerBits + order * bps + 4 + 5 + order * precision + riceBits;
        if (bits < bestBits) {
          c.type = SUBFRAME_LPC;
          c.order = order;
          c.shift = shift;
          c.precision = precision;
          c.bits = bits;
          bestBits = bits;
          bestType = SUBFRAME_LPC;
          s.candidate = s.best;
          s.best = c;
        }
      }
    }
  }

  const before = w.bitPosition;
  const typeCode =
    bestType === SUBFRAME_VERBATIM ? 1 : bestType === SUBFRAME_FIXED ? 8 | s.best.order : 0x20 | (s.best.order - 1);
  w.write((typeCode << 1) | (wasted > 0 ? 1 : 0), 8);
  if (wasted > 0) w.write(1, wasted); // wasted-1 zeros then a one
  if (bestType === SUBFRAME_VERBATIM) {
    for (let i = 0; i < n; i++) w.writeSigned(x[i], bps);
  } else {
    const c = s.best;
    for (let i = 0; i < c.order; i++) w.writeSigned(x[i], bps);
    if (bestType === SUBFRAME_LPC) {
      w.write(c.precision - 1, 4);
      w.writeSigned(c.shift, 5);
      for (let i = 0; i < c.order; i++) w.writeSigned(c.qlp[i], c.precision);
    }
    writeResidual(w, c.residual, n, c.order, c.rice);
  }
  if (w.bitPosition - before !== bestBits) {
    throw new Error(`encodeFlac: internal error, subframe is ${w.bitPosition - before} bits, planned ${bestBits}`);
  }
}

/** libFLAC's FLAC__fixed_compute_best_predictor: the order with the least summed |residual|. */
function guessFixedOrder(x: Int32Array, n: number): number {
  let e0 = 0, e1 = 0, e2 = 0, e3 = 0, e4 = 0;
  for (let i = 4; i < n; i++) {
    const a = x[i], b = x[i - 1], c = x[i - 2], d = x[i - 3], e = x[i - 4];
    e0 += Math.abs(a);
    e1 += Math.abs(a - b);
    e2 += Math.abs(a - 2 * b + c);
    e3 += Math.abs(a - 3 * b + 3 * c - d);
    e4 += Math.abs(a - 4 * b + 6 * c - 4 * d + e);
  }
  // Prefer the lower order on ties, as libFLAC does.
  if (e0 <= Math.min(e1, e2, e3, e4)) return 0;
  if (e1 <= Math.min(e2, e3, e4)) return 1;
  if (e2 <= Math.min(e3, e4)) return 2;
  if (e3 <= e4) return 3;
  return 4;
}

/** Residual of a FIXED predictor, zigzag-folded ((r << 1) ^ (r >> 31)) into out[0 .. n-order). */
function fixedResidual(x: Int32Array, n: number, order: number, out: Uint32Array): void {
  // |residual| ≤ 16 · 2^15 for order 4, so int32 arithmetic is exact.
  switch (order) {
    case 0:
      for (let i = 0; i < n; i++) { const r = x[i]; out[i] = (r << 1) ^ (r >> 31); }
      break;
    case 1:
      for (let i = 1; i < n; i++) { const r = x[i] - x[i - 1]; out[i - 1] = (r << 1) ^ (r >> 31); }
      break;
    case 2:
      for (let i = 2; i < n; i++) { const r = x[i] - 2 * x[i - 1] + x[i - 2]; out[i - 2] = (r << 1) ^ (r >> 31); }
      break;
    case 3:
      for (let i = 3; i < n; i++) {
        const r = x[i] - 3 * x[i - 1] + 3 * x[i - 2] - x[i - 3];
        out[i - 3] = (r << 1) ^ (r >> 31);
      }
      break;
    default:
      for (let i = 4; i < n; i++) {
        const r = x[i] - 4 * x[i - 1] + 6 * x[i - 2] - 4 * x[i - 3] + x[i - 4];
        out[i - 4] = (r << 1) ^ (r >> 31);
      }
  }
}

/**
 * Windows the block, takes its autocorrelation and runs Levinson–Durbin (libFLAC's
 * FLAC__lpc_compute_lp_coefficients), leaving predictor coefficients for every order in s.lpc.
 * Returns the order libFLAC's FLAC__lpc_compute_best_order would pick, or 0 when LPC is useless.
 */
function lpcAnalysis(x: Int32Array, n: number, s: Scratch): number {
  const win = n === BLOCK_SIZE ? s.fullWindow : tukeyWindow(n, s.partialWindow);
  const wd = s.windowed;
  for (let i = 0; i < n; i++) wd[i] = x[i] * win[i];
  // All nine lags in one pass, the previous eight samples held in locals (MAX_LPC_ORDER is 8).
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0, a8 = 0;
  let p1 = 0, p2 = 0, p3 = 0, p4 = 0, p5 = 0, p6 = 0, p7 = 0, p8 = 0;
  for (let i = 0; i < n; i++) {
    const v = wd[i];
    a0 += v * v; a1 += v * p1; a2 += v * p2; a3 += v * p3; a4 += v * p4;
    a5 += v * p5; a6 += v * p6; a7 += v * p7; a8 += v * p8;
    p8 = p7; p7 = p6; p6 = p5; p5 = p4; p4 = p3; p3 = p2; p2 = p1; p1 = v;
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
 * FLAC__lpc_quantize_coefficients). Returns the shift, or -1 when the coefficients cannot be coded
 * (all zero, or so large that a negative shift would be needed, which decoders reject).
 */
function quantizeLpc(coeffs: Float64Array, at: number, order: number, precision: number, qlp: Int32Array): number {
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
 * LPC residual, zigzag-folded into out. Returns false when a residual would not fit in a signed
 * 32-bit integer (RFC 9639 §9.2.5 requires it); the caller then drops this predictor.
 */
function lpcResidual(
  x: Int32Array,
  n: number,
  qlp: Int32Array,
  order: number,
  shift: number,
  bps: number,
  out: Uint32Array,
): boolean {
  let coeffSum = 0;
  for (let j = 0; j < order; j++) coeffSum += Math.abs(qlp[j]);
  const sampleMax = 2 ** (bps - 1);
  // Bound on |prediction before shift| and on |residual|: when both stay below 2^31, int32 math is
  // exact and no residual can overflow. The precision limit (32 - bps - log2(order)) makes this the
  // normal case; otherwise fall back to exact double arithmetic with a per-sample check.
  const predictionBound = coeffSum * sampleMax;
  if (predictionBound < 2 ** 31 && predictionBound / 2 ** shift + sampleMax < 2 ** 31) {
    switch (order) {
      case 8: {
        const c0 = qlp[0], c1 = qlp[1], c2 = qlp[2], c3 = qlp[3], c4 = qlp[4], c5 = qlp[5], c6 = qlp[6], c7 = qlp[7];
        for (let i = 8; i < n; i++) {
          const p =
            c0 * x[i - 1] + c1 * x[i - 2] + c2 * x[i - 3] + c3 * x[i - 4] +
            c4 * x[i - 5] + c5 * x[i - 6] + c6 * x[i - 7] + c7 * x[i - 8];
          const r = x[i] - (p >> shift);
          out[i - 8] = (r << 1) ^ (r >> 31);
        }
        return true;
      }
      default:
        for (let i = order; i < n; i++) {
          let p = 0;
          for (let j = 0; j < order; j++) p += qlp[j] * x[i - 1 - j];
          const r = x[i] - (p >> shift);
          out[i - order] = (r << 1) ^ (r >> 31);
        }
        return true;
    }
  }
  const inverseScale = 2 ** -shift;
  for (let i = order; i < n; i++) {
    let p = 0;
    for (let j = 0; j < order; j++) p += qlp[j] * x[i - 1 - j];
    const r = x[i] - Math.floor(p * inverseScale);
    if (r < -(2 ** 31) || r >= 2 ** 31) return false;
    out[i - order] = (r << 1) ^ (r >> 31);
  }
  return true;
}

/**
 * Picks the Rice partition order (by libFLAC's estimate from partition sums) and then each
 * partition's parameter by exact bit count among the estimate and its neighbours.
 * Returns the exact size of the residual section in bits.
 */
function chooseRice(u: Uint32Array, n: number, order: number, out: RiceChoice, s: Scratch): number {
  let maxP = MAX_PARTITION_ORDER;
  while (maxP > 0 && (n % (1 << maxP) !== 0 || n >> maxP <= order)) maxP--;

  // Sums of the folded residual per partition at the finest order, then merged pairwise upward.
  // Level p occupies sums[(1 << p) - 1 .. (2 << p) - 1).
  const sums = s.partitionSums;
  {
    const base = (1 << maxP) - 1;
    const size = n >> maxP;
    let i = 0;
    for (let p = 0; p < 1 << maxP; p++) {
      const end = (p + 1) * size - order;
      let sum = 0;
      for (; i < end; i++) sum += u[i];
      sums[base + p] = sum;
    }
  }
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
      estimate += 4 + estimateRiceBits(sums[base + p], count, riceParamGuess(sums[base + p], count));
    }
    if (estimate < bestEstimate) {
      bestEstimate = estimate;
      bestLevel = level;
    }
  }

  // Exact sizes for the guessed parameter k and its neighbours, one pass over the residual.
  const partitions = 1 << bestLevel;
  const size = n >> bestLevel;
  const params = out.params;
  const base = (1 << bestLevel) - 1;
  let codeBits = 0;
  let method = 0;
  let i = 0;
  for (let p = 0; p < partitions; p++) {
    const count = p === 0 ? size - order : size;
    const end = i + count;
    const guess = riceParamGuess(sums[base + p], count);
    const k1 = guess > 0 ? guess - 1 : 0;
    const k2 = k1 + 1;
    const k3 = k1 + 2;
    let q1 = 0, q2 = 0, q3 = 0;
    for (; i < end; i++) {
      const v = u[i];
      q1 += v >>> k1;
      q2 += v >>> k2;
      q3 += v >>> k3;
    }
    let k = k1;
    let bits = q1 + count * (k1 + 1);
    if (k2 <= RICE2_MAX_PARAM && q2 + count * (k2 + 1) < bits) {
      k = k2;
      bits = q2 + count * (k2 + 1);
    }
    if (k3 <= RICE2_MAX_PARAM && q3 + count * (k3 + 1) < bits) {
      k = k3;
      bits = q3 + count * (k3 + 1);
    }
    params[p] = k;
    if (k > RICE1_MAX_PARAM) method = 1;
    codeBits += bits;
  }
  out.partitionOrder = bestLevel;
  out.method = method;
  out.bits = 2 + 4 + partitions * (method ? 5 : 4) + codeBits;
  return out.bits;
}

/** floor(log2(mean)), the usual Rice parameter estimate, limited so that k + 2 is still codable. */
function riceParamGuess(sum: number, count: number): number {
  if (count <= 0 || sum < 2 * count) return 0;
  const mean = sum / count;
  const k = mean < 2 ** 31 ? 31 - Math.clz32(mean) : Math.floor(Math.log2(mean));
  return k < RICE2_MAX_PARAM - 2 ? k : RICE2_MAX_PARAM - 2;
}

const INVERSE_POWERS_OF_TWO = Float64Array.from({ length: RICE2_MAX_PARAM + 1 }, (_, k) => 2 ** -k);

/** libFLAC's estimate of a partition's Rice code size from its sum: the low bits average one half. */
function estimateRiceBits(sum: number, count: number, k: number): number {
  return count * (k + 1) + (k === 0 ? sum : sum * INVERSE_POWERS_OF_TWO[k] - count / 2);
}

/** Writes the partitioned Rice residual section (RFC 9639 §9.2.7). */
function writeResidual(w: BitWriter, u: Uint32Array, n: number, order: number, rice: RiceChoice): void {
  const paramBits = rice.method ? 5 : 4;
  w.write(rice.method, 2);
  w.write(rice.partitionOrder, 4);
  const partitions = 1 << rice.partitionOrder;
  const size = n >> rice.partitionOrder;
  const bytes = w.bytes;
  let i = 0;
  for (let p = 0; p < partitions; p++) {
    const k = rice.params[p];
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
