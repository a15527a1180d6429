// ITU-T G.711 (11/1988) μ-law and A-law companding, in-process: 8-bit codes at 8 kHz, 64 kb/s.
// The encoders and decoders are the segment-search formulation of Sun Microsystems' public-domain
// g711.c (the reference most implementations, ffmpeg's pcm_mulaw/pcm_alaw tables included, are
// derived from): μ-law adds a bias of 0x84 and clips at 32635 on the 16-bit scale (G.711
// table 2a), A-law works on the 13-bit value (G.711 table 1a) and both invert bits on the line
// (μ-law all bits, A-law the even bits, 0x55). test/codec-g711.test.ts checks every 16-bit input
// against ffmpeg's pcm_mulaw/pcm_alaw encoders, byte for byte.
import { floatToInt16 } from "./decode.js";

const ULAW_BIAS = 0x84;
const ULAW_CLIP = 32635;

/** 16-bit linear PCM → μ-law code. */
export function linearToUlaw(pcm: number): number {
  let v = pcm | 0;
  const sign = v < 0 ? 0x80 : 0;
  if (sign) v = -v;
  if (v > ULAW_CLIP) v = ULAW_CLIP;
  v += ULAW_BIAS;
  // Segment = position of the highest set bit above bit 7 (v is in [0x84, 0x7FFF]).
  let exponent = 7;
  for (let mask = 0x4000; (v & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (v >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** μ-law code → 16-bit linear PCM. */
export function ulawToLinear(code: number): number {
  const u = ~code & 0xff;
  const t = (((u & 0x0f) << 3) + ULAW_BIAS) << ((u & 0x70) >> 4);
  return u & 0x80 ? ULAW_BIAS - t : t - ULAW_BIAS;
}

const ALAW_SEG_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

/** 16-bit linear PCM → A-law code. */
export function linearToAlaw(pcm: number): number {
  let v = (pcm | 0) >> 3;
  let mask: number;
  if (v >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    v = -v - 1;
  }
  let seg = 0;
  while (seg < 8 && v > ALAW_SEG_END[seg]) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  const aval = (seg << 4) | (seg < 2 ? (v >> 1) & 0x0f : (v >> seg) & 0x0f);
  return aval ^ mask;
}

/** A-law code → 16-bit linear PCM. */
export function alawToLinear(code: number): number {
  const a = (code ^ 0x55) & 0xff;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

export type G711Law = "mulaw" | "alaw";

// Decoding tables: 256 entries each.
const ULAW_TABLE = Int16Array.from({ length: 256 }, (_, c) => ulawToLinear(c));
const ALAW_TABLE = Int16Array.from({ length: 256 }, (_, c) => alawToLinear(c));

/** Float audio (full scale 1.0) → G.711 codes; samples are first rounded to 16 bits as the engine's writer does. */
export function g711Encode(x: Float32Array, law: G711Law): Uint8Array {
  const pcm = floatToInt16(x);
  const out = new Uint8Array(pcm.length);
  const enc = law === "mulaw" ? linearToUlaw : linearToAlaw;
  for (let i = 0; i < pcm.length; i++) out[i] = enc(pcm[i]);
  return out;
}

/** G.711 codes → float audio (full scale 1.0). */
export function g711Decode(codes: Uint8Array, law: G711Law): Float32Array {
  const table = law === "mulaw" ? ULAW_TABLE : ALAW_TABLE;
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = table[codes[i]] / 32768;
  return out;
}
