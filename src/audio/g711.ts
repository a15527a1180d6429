// ITU-T G.711 (11/1988) μ-law and A-law companding, in-process: 8-bit codes at 8 kHz, 64 kb/s.
// The encoders and decoders follow the ITU's own reference implementation, the G.711 module of the
// ITU-T G.191 Software Tools Library (STL, g711.c: ulaw_compress/ulaw_expand, alaw_compress/
// alaw_expand): 16-bit input is taken as left-justified 14-bit (μ-law) or 13-bit (A-law) with
// negative values in one's complement, as G.711's sign-magnitude tables are symmetric.
// Implementations differ only in how they cut 16 bits down to 13/14 and where they put a few
// decision values (truncation vs rounding, one's vs two's complement, decision values at level
// midpoints): by one code, at about 1-1.5% of the 65536 inputs. test/codec-g711.test.ts checks
// that Debian's ffmpeg decodes all 256 codes to our values, that our A-law encoder equals Python's
// audioop byte for byte and our μ-law encoder equals it up to the one's-complement convention,
// and that where ffmpeg's and sox's encoders differ from ours they pick the neighbouring code.
import { floatToInt16 } from "./decode.js";

/** 16-bit linear PCM → μ-law code (G.191 STL ulaw_compress). */
export function linearToUlaw(pcm: number): number {
  const x = pcm | 0;
  let absno = (x < 0 ? ~x >> 2 : x >> 2) + 33;
  if (absno > 0x1fff) absno = 0x1fff;
  let segno = 1;
  for (let i = absno >> 6; i !== 0; i >>= 1) segno++;
  const high = 0x8 - segno;
  const low = 0xf - ((absno >> segno) & 0xf);
  const out = (high << 4) | low;
  return (x >= 0 ? out | 0x80 : out) & 0xff;
}

/** μ-law code → 16-bit linear PCM (G.191 STL ulaw_expand). */
export function ulawToLinear(code: number): number {
  const sign = code < 0x80 ? -1 : 1;
  const m = ~code;
  const exponent = (m >> 4) & 0x7;
  const step = 4 << (exponent + 1);
  // (+ 0 turns the -0 of code 0x7f into 0.)
  return sign * ((0x80 << exponent) + step * (m & 0xf) + step / 2 - 4 * 33) + 0;
}

/** 16-bit linear PCM → A-law code (G.191 STL alaw_compress). */
export function linearToAlaw(pcm: number): number {
  const x = pcm | 0;
  let ix = x < 0 ? ~x >> 4 : x >> 4;
  if (ix > 15) {
    let iexp = 1;
    while (ix > 16 + 15) {
      ix >>= 1;
      iexp++;
    }
    ix = ix - 16 + (iexp << 4);
  }
  if (x >= 0) ix |= 0x80;
  return (ix ^ 0x55) & 0xff;
}

/** A-law code → 16-bit linear PCM (G.191 STL alaw_expand). */
export function alawToLinear(code: number): number {
  const ix = (code ^ 0x55) & 0x7f;
  const iexp = ix >> 4;
  let mant = ix & 0xf;
  if (iexp > 0) mant += 16;
  mant = (mant << 4) + 0x8;
  if (iexp > 1) mant <<= iexp - 1;
  return code > 127 ? mant : -mant;
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
