// A FLAC frame decoder in plain JS (RFC 9639 §9) for the streams that matter here: integer PCM up
// to 24 bits, any channel count and decorrelation, CONSTANT / VERBATIM / FIXED / LPC subframes,
// wasted bits, RICE and RICE2 residuals with escapes. About ten times faster than the WASM libFLAC
// build (audio-decode) with its JS glue, which matters for FLAC corpora (LibriSpeech) and for the
// FLAC noise and RIR banks every engine thread loads.
//
// It checks what the general path checks (frame header CRC-8, frame CRC-16, block sizes, the
// sample count against STREAMINFO) and gives up on anything else it does not expect, returning
// null: decode.ts then takes the general path (libFLAC), which names the problem. The samples are
// integers either way, so both paths give the same floats.
import { FLAC_CRC16, FLAC_SAMPLE_SIZES, parseFlacFrameHeader } from "./flac-frame.js";
/** What the decoder needs from STREAMINFO (decode.ts reads it). */
export interface FlacStreamInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** 0 when the encoder did not know it. */
  totalSamples: number;
  /** Offset of the first frame. */
  audioOffset: number;
}


let enabled = true;

/** Streams this decoder took and declined (handed to the general path): for tests and diagnosis. */
export const jsFlacDecoderStats = { decoded: 0, declined: 0 };

/** Turns this decoder off (every FLAC then takes the general path) or back on: for tests, which compare the two. */
export function setJsFlacDecoder(on: boolean): void {
  enabled = on;
}

/** Raised inside the decoder when the stream is not one it handles; caught in decodeFlacFrames. */
class GiveUp extends Error {}
const giveUp = new GiveUp();

/** MSB-first bit reader over bytes[from, end): up to 32 bits held left-aligned in `buf`. */
class Bits {
  buf = 0;
  n = 0;
  constructor(readonly bytes: Uint8Array, public pos: number, readonly end: number) {}

  /** Tops `buf` up to at least 25 bits where the data allows. */
  fill(): void {
    const b = this.bytes;
    while (this.n <= 24) {
      if (this.pos >= this.end) return;
      this.buf |= b[this.pos++] << (24 - this.n);
      this.n += 8;
    }
  }

  /** Unsigned value of the next `count` bits, count ≤ 24. */
  read(count: number): number {
    if (count === 0) return 0;
    if (this.n < count) {
      this.fill();
      if (this.n < count) throw giveUp;
    }
    const v = this.buf >>> (32 - count);
    this.buf = count === 32 ? 0 : this.buf << count;
    this.n -= count;
    return v;
  }

  /** Two's-complement value of the next `count` bits, count ≤ 33. */
  signed(count: number): number {
    if (count === 0) return 0;
    if (count <= 24) {
      const v = this.read(count);
      return v >= 2 ** (count - 1) ? v - 2 ** count : v;
    }
    const hi = this.read(count - 16);
    const v = hi * 65536 + this.read(16);
    return v >= 2 ** (count - 1) ? v - 2 ** count : v;
  }

  /** Zeros before the next one bit (which is consumed). */
  unary(): number {
    let q = 0;
    for (;;) {
      if (this.n === 0) {
        this.fill();
        if (this.n === 0) throw giveUp;
      }
      if (this.buf === 0) {
        q += this.n;
        this.n = 0;
        continue;
      }
      const z = Math.clz32(this.buf);
      if (z >= this.n) {
        q += this.n;
        this.buf = 0;
        this.n = 0;
        continue;
      }
      this.buf = z === 31 ? 0 : this.buf << (z + 1);
      this.n -= z + 1;
      return q + z;
    }
  }

  /** Bits left in `buf` go back to the byte stream's position (the reader stops at a byte boundary). */
  alignedPos(): number {
    return this.pos - (this.n >> 3);
  }
}

/**
 * Decodes the frames of a FLAC stream from `info.audioOffset` to `end` into one Int32Array per
 * channel (samples as integers), checking CRCs and the count against STREAMINFO; null when the
 * stream has anything this decoder does not handle or that fails a check.
 */
export function decodeFlacFrames(bytes: Uint8Array, info: FlacStreamInfo, end: number): Int32Array[] | null {
  if (!enabled) return null;
  const out = decodeAll(bytes, info, end);
  if (out) jsFlacDecoderStats.decoded++;
  else jsFlacDecoderStats.declined++;
  return out;
}

function decodeAll(bytes: Uint8Array, info: FlacStreamInfo, end: number): Int32Array[] | null {
  const channels = info.channels;
  const bps = info.bitsPerSample;
  if (bps > 24 || channels > 8) return null;
  // Room for the declared length, but never more than the bytes can plausibly hold (a hostile
  // header may declare 2^36 samples): grown as frames arrive.
  let capacity = Math.max(4096, Math.min(info.totalSamples > 0 ? info.totalSamples : Infinity, (end - info.audioOffset) * 4));
  let out = Array.from({ length: channels }, () => new Int32Array(capacity));
  let total = 0;
  let at = info.audioOffset;
  const residual = new Int32Array(65536);
  try {
    while (at < end) {
      // An ID3v1 tag (128 bytes, "TAG") appended by some taggers is not part of the stream.
      if (end - at === 128 && bytes[at] === 0x54 && bytes[at + 1] === 0x41 && bytes[at + 2] === 0x47) break;
      const frame = decodeFrame(bytes, at, end, info, residual);
      if (!frame) return null;
      if (total + frame.blockSize > capacity) {
        if (info.totalSamples > 0 && total + frame.blockSize > info.totalSamples) return null; // more samples than STREAMINFO says
        capacity = Math.max(2 * capacity, total + frame.blockSize);
        if (info.totalSamples > 0) capacity = Math.min(capacity, info.totalSamples);
        out = out.map((ch) => {
          const grown = new Int32Array(capacity);
          grown.set(ch.subarray(0, total));
          return grown;
        });
      }
      for (let c = 0; c < channels; c++) out[c].set(frame.samples[c].subarray(0, frame.blockSize), total);
      total += frame.blockSize;
      at = frame.next;
    }
  } catch (e) {
    if (e === giveUp) return null;
    throw e;
  }
  if (info.totalSamples > 0 && total !== info.totalSamples) return null;
  if (total === 0) return null;
  return out.map((ch) => (ch.length === total ? ch : ch.subarray(0, total)));
}

/** Per-channel work arrays of one frame (reused). */
let frameSamples: Int32Array[] = [];

function decodeFrame(bytes: Uint8Array, at: number, end: number, info: FlacStreamInfo, residual: Int32Array): { blockSize: number; samples: Int32Array[]; next: number } | null {
  const header = parseFlacFrameHeader(bytes, at, end, info);
  // 65536 is a reserved block size (RFC 9639 §9.1.1); the stream checker leaves it to this decoder.
  if (!header || header.blockSize > 65535) return null;
  const { blockSize, channels, channelCode: chCode } = header;
  const sizeCode = (bytes[at + 3] >> 1) & 7;
  const bps = sizeCode === 0 ? info.bitsPerSample : FLAC_SAMPLE_SIZES[sizeCode];
  const p = at + header.length;

  if (frameSamples.length < channels || frameSamples[0].length < blockSize) {
    frameSamples = Array.from({ length: Math.max(channels, 8) }, () => new Int32Array(Math.max(blockSize, 4608)));
  }
  const bits = new Bits(bytes, p, end);
  for (let c = 0; c < channels; c++) {
    // The side channel carries one more bit (RFC 9639 §9.2.1).
    const side = (chCode === 8 && c === 1) || (chCode === 9 && c === 0) || (chCode === 10 && c === 1);
    decodeSubframe(bits, frameSamples[c], blockSize, bps + (side ? 1 : 0), residual);
  }
  const x = frameSamples;
  if (chCode === 8) for (let i = 0; i < blockSize; i++) x[1][i] = x[0][i] - x[1][i];
  else if (chCode === 9) for (let i = 0; i < blockSize; i++) x[0][i] += x[1][i];
  else if (chCode === 10) {
    for (let i = 0; i < blockSize; i++) {
      const side = x[1][i];
      const mid = x[0][i] * 2 + (side & 1);
      x[0][i] = (mid + side) >> 1;
      x[1][i] = (mid - side) >> 1;
    }
  }
  // Padding to a byte boundary, then the CRC-16 of the whole frame.
  const footer = bits.alignedPos();
  if (footer + 2 > end) return null;
  let crc = 0;
  for (let i = at; i < footer + 2; i++) crc = ((crc << 8) & 0xffff) ^ FLAC_CRC16[(crc >>> 8) ^ bytes[i]];
  if (crc !== 0) return null;
  return { blockSize, samples: frameSamples, next: footer + 2 };
}

function decodeSubframe(bits: Bits, x: Int32Array, n: number, bps: number, residual: Int32Array): void {
  if (bits.read(1) !== 0) throw giveUp;
  const type = bits.read(6);
  let wasted = 0;
  if (bits.read(1)) {
    wasted = bits.unary() + 1;
    if (wasted >= bps) throw giveUp;
    bps -= wasted;
  }
  if (type === 0) {
    const v = bits.signed(bps);
    x.fill(v, 0, n);
  } else if (type === 1) {
    for (let i = 0; i < n; i++) x[i] = bits.signed(bps);
  } else if (type >= 8 && type <= 12) {
    const order = type - 8;
    if (order > n) throw giveUp;
    for (let i = 0; i < order; i++) x[i] = bits.signed(bps);
    readResidual(bits, residual, n, order);
    fixedRestore(x, residual, n, order);
  } else if (type >= 32) {
    const order = type - 31;
    if (order > n) throw giveUp;
    for (let i = 0; i < order; i++) x[i] = bits.signed(bps);
    const precision = bits.read(4) + 1;
    if (precision === 16) throw giveUp;
    const shift = bits.signed(5);
    if (shift < 0) throw giveUp;
    const coeffs = new Float64Array(order);
    for (let j = 0; j < order; j++) coeffs[j] = bits.signed(precision);
    readResidual(bits, residual, n, order);
    lpcRestore(x, residual, n, coeffs, shift, bps);
  } else {
    throw giveUp;
  }
  if (wasted > 0) for (let i = 0; i < n; i++) x[i] *= 2 ** wasted;
}

/** The partitioned Rice residual (RFC 9639 §9.2.7) into residual[order, n). */
function readResidual(bits: Bits, residual: Int32Array, n: number, order: number): void {
  const method = bits.read(2);
  if (method > 1) throw giveUp;
  const paramBits = method === 0 ? 4 : 5;
  const escape = method === 0 ? 15 : 31;
  const partitionOrder = bits.read(4);
  const partitions = 1 << partitionOrder;
  if (n % partitions !== 0 || n >> partitionOrder < order) throw giveUp;
  const size = n >> partitionOrder;
  let i = order;
  for (let p = 0; p < partitions; p++) {
    const stop = (p + 1) * size;
    const k = bits.read(paramBits);
    if (k === escape) {
      const raw = bits.read(5);
      for (; i < stop; i++) residual[i] = bits.signed(raw);
    } else if (k > 24) {
      for (; i < stop; i++) residual[i] = unfold(bits.unary() * 2 ** k + bits.read(k - 16) * 65536 + bits.read(16));
    } else {
      i = riceRun(bits, residual, i, stop, k);
    }
  }
}

function unfold(u: number): number {
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
}

/**
 * Rice codes with parameter k ≤ 24 into residual[i, stop): the hot loop, on the reader's state
 * held in locals. Returns stop.
 */
function riceRun(bits: Bits, residual: Int32Array, i: number, stop: number, k: number): number {
  const bytes = bits.bytes;
  const end = bits.end;
  let buf = bits.buf;
  let n = bits.n;
  let pos = bits.pos;
  for (; i < stop; i++) {
    let q = 0;
    for (;;) {
      while (n <= 24 && pos < end) {
        buf |= bytes[pos++] << (24 - n);
        n += 8;
      }
      if (buf !== 0) {
        const z = Math.clz32(buf);
        if (z < n) {
          q += z;
          buf = z === 31 ? 0 : buf << (z + 1);
          n -= z + 1;
          break;
        }
      }
      if (n === 0) throw giveUp;
      q += n;
      buf = 0;
      n = 0;
    }
    if (n < k) {
      while (n <= 24 && pos < end) {
        buf |= bytes[pos++] << (24 - n);
        n += 8;
      }
      if (n < k) throw giveUp;
    }
    let u: number;
    if (k === 0) u = q;
    else {
      u = q * (1 << k) + (buf >>> (32 - k));
      buf <<= k;
      n -= k;
    }
    // Zigzag: even values are non-negative (u < 2^32 for residuals of ≤ 24-bit audio).
    residual[i] = u < 2147483648 ? (u >>> 1) ^ -(u & 1) : unfold(u);
  }
  bits.buf = buf;
  bits.n = n;
  bits.pos = pos;
  return i;
}

function fixedRestore(x: Int32Array, r: Int32Array, n: number, order: number): void {
  switch (order) {
    case 0:
      for (let i = 0; i < n; i++) x[i] = r[i];
      break;
    case 1:
      for (let i = 1; i < n; i++) x[i] = r[i] + x[i - 1];
      break;
    case 2:
      for (let i = 2; i < n; i++) x[i] = r[i] + 2 * x[i - 1] - x[i - 2];
      break;
    case 3:
      for (let i = 3; i < n; i++) x[i] = r[i] + 3 * (x[i - 1] - x[i - 2]) + x[i - 3];
      break;
    default:
      for (let i = 4; i < n; i++) x[i] = r[i] + 4 * (x[i - 1] + x[i - 3]) - 6 * x[i - 2] - x[i - 4];
  }
}

/**
 * x[i] = r[i] + floor(Σ c_j x[i-1-j] / 2^shift). When Σ|c_j| · 2^(bps-1) < 2^31 no sum can leave
 * int32 and the loop runs in int32 (unrolled for order ≤ 8); otherwise in float64, exact below
 * 2^53 (≤ 24-bit samples, ≤ 15-bit coefficients, order ≤ 32).
 */
function lpcRestore(x: Int32Array, r: Int32Array, n: number, c: Float64Array, shift: number, bps: number): void {
  const order = c.length;
  let coeffSum = 0;
  for (let j = 0; j < order; j++) coeffSum += Math.abs(c[j]);
  if (coeffSum * 2 ** (bps - 1) < 2 ** 31) {
    if (order <= 8) {
      const c0 = c[0] | 0, c1 = order > 1 ? c[1] | 0 : 0, c2 = order > 2 ? c[2] | 0 : 0, c3 = order > 3 ? c[3] | 0 : 0;
      const c4 = order > 4 ? c[4] | 0 : 0, c5 = order > 5 ? c[5] | 0 : 0, c6 = order > 6 ? c[6] | 0 : 0, c7 = order > 7 ? c[7] | 0 : 0;
      let x1 = x[order - 1];
      let x2 = order >= 2 ? x[order - 2] : 0;
      let x3 = order >= 3 ? x[order - 3] : 0;
      let x4 = order >= 4 ? x[order - 4] : 0;
      let x5 = order >= 5 ? x[order - 5] : 0;
      let x6 = order >= 6 ? x[order - 6] : 0;
      let x7 = order >= 7 ? x[order - 7] : 0;
      let x8 = order >= 8 ? x[order - 8] : 0;
      for (let i = order; i < n; i++) {
        const p =
          (Math.imul(c0, x1) + Math.imul(c1, x2) + Math.imul(c2, x3) + Math.imul(c3, x4) +
            Math.imul(c4, x5) + Math.imul(c5, x6) + Math.imul(c6, x7) + Math.imul(c7, x8)) | 0;
        const v = (r[i] + (p >> shift)) | 0;
        x[i] = v;
        x8 = x7; x7 = x6; x6 = x5; x5 = x4; x4 = x3; x3 = x2; x2 = x1; x1 = v;
      }
      return;
    }
    const ci = Int32Array.from(c);
    for (let i = order; i < n; i++) {
      let p = 0;
      for (let j = 0; j < order; j++) p = (p + Math.imul(ci[j], x[i - 1 - j])) | 0;
      x[i] = (r[i] + (p >> shift)) | 0;
    }
    return;
  }
  const scale = 2 ** -shift;
  for (let i = order; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < order; j++) sum += c[j] * x[i - 1 - j];
    x[i] = r[i] + Math.floor(sum * scale);
  }
}
