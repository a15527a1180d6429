// What the FLAC encoder, the stream checker (decode.ts) and the plain-JS decoder (flac-decode.ts)
// share: the CRC tables, the header code tables and the frame-header parser (RFC 9639 §9.1).

/** CRC-8, polynomial x^8 + x^2 + x + 1 (frame headers). */
export const FLAC_CRC8 = new Uint8Array(256);
/**
 * CRC-16, polynomial x^16 + x^15 + x^2 + 1 (frame footers), as 8 tables for slicing by 8: table t
 * (at t * 256) is the CRC of a byte followed by t zero bytes. The first 256 entries are the plain table.
 */
export const FLAC_CRC16 = new Uint16Array(8 * 256);
for (let i = 0; i < 256; i++) {
  let c8 = i;
  let c16 = i << 8;
  for (let k = 0; k < 8; k++) {
    c8 = c8 & 0x80 ? ((c8 << 1) ^ 0x07) & 0xff : (c8 << 1) & 0xff;
    c16 = c16 & 0x8000 ? ((c16 << 1) ^ 0x8005) & 0xffff : (c16 << 1) & 0xffff;
  }
  FLAC_CRC8[i] = c8;
  FLAC_CRC16[i] = c16;
}
for (let t = 1; t < 8; t++) {
  for (let i = 0; i < 256; i++) {
    const prev = FLAC_CRC16[(t - 1) * 256 + i];
    FLAC_CRC16[t * 256 + i] = ((prev << 8) & 0xffff) ^ FLAC_CRC16[prev >>> 8];
  }
}

export const FLAC_SAMPLE_RATES = [0, 88200, 176400, 192000, 8000, 16000, 22050, 24000, 32000, 44100, 48000, 96000];
export const FLAC_SAMPLE_SIZES = [0, 8, 12, -1, 16, 20, 24, 32];

export interface FlacFrameHeader {
  /** Header bytes, CRC-8 included. */
  length: number;
  blockSize: number;
  /** Frame number (fixed block size) or first sample number (variable block size). */
  number: number;
  variable: boolean;
  /** Channel assignment code: 0–7 independent channels, 8 left/side, 9 side/right, 10 mid/side. */
  channelCode: number;
  channels: number;
}

/**
 * Parses and CRC-8-checks the frame header at `at` against the stream's channels, sample size and
 * rate; null if there is no valid header there (reading no further than `end`).
 */
export function parseFlacFrameHeader(
  bytes: Uint8Array,
  at: number,
  end: number,
  info: { channels: number; bitsPerSample: number; sampleRate: number },
): FlacFrameHeader | null {
  if (at + 6 > end || bytes[at] !== 0xff || (bytes[at + 1] & 0xfe) !== 0xf8) return null;
  const bsCode = bytes[at + 2] >> 4;
  const srCode = bytes[at + 2] & 0x0f;
  const chCode = bytes[at + 3] >> 4;
  const sizeCode = (bytes[at + 3] >> 1) & 7;
  if (bsCode === 0 || srCode === 15 || chCode > 10 || sizeCode === 3 || bytes[at + 3] & 1) return null;
  const channels = chCode < 8 ? chCode + 1 : 2;
  if (channels !== info.channels) return null;
  if (sizeCode !== 0 && FLAC_SAMPLE_SIZES[sizeCode] !== info.bitsPerSample) return null;
  // Frame or sample number in the extended UTF-8 coding (up to 7 bytes).
  let p = at + 4;
  const lead = bytes[p++];
  let extra: number;
  let number: number;
  if (lead < 0x80) {
    extra = 0;
    number = lead;
  } else if (lead >= 0xc0 && lead < 0xfe) {
    extra = lead < 0xe0 ? 1 : lead < 0xf0 ? 2 : lead < 0xf8 ? 3 : lead < 0xfc ? 4 : 5;
    number = lead & (0x3f >> extra);
  } else if (lead === 0xfe) {
    extra = 6;
    number = 0;
  } else {
    return null;
  }
  if (p + extra > end) return null;
  for (let k = 0; k < extra; k++) {
    const b = bytes[p++];
    if ((b & 0xc0) !== 0x80) return null;
    number = number * 64 + (b & 0x3f);
  }
  let blockSize: number;
  if (bsCode === 1) blockSize = 192;
  else if (bsCode <= 5) blockSize = 576 << (bsCode - 2);
  else if (bsCode === 6) {
    if (p + 1 > end) return null;
    blockSize = bytes[p++] + 1;
  } else if (bsCode === 7) {
    if (p + 2 > end) return null;
    blockSize = ((bytes[p] << 8) | bytes[p + 1]) + 1;
    p += 2;
  } else blockSize = 256 << (bsCode - 8);
  let sampleRate = FLAC_SAMPLE_RATES[srCode] ?? 0;
  if (srCode === 12) {
    if (p + 1 > end) return null;
    sampleRate = bytes[p++] * 1000;
  } else if (srCode === 13 || srCode === 14) {
    if (p + 2 > end) return null;
    sampleRate = ((bytes[p] << 8) | bytes[p + 1]) * (srCode === 14 ? 10 : 1);
    p += 2;
  }
  if (srCode !== 0 && sampleRate !== info.sampleRate) return null;
  if (p + 1 > end) return null;
  let crc = 0;
  for (let i = at; i < p; i++) crc = FLAC_CRC8[crc ^ bytes[i]];
  if (crc !== bytes[p]) return null;
  return { length: p + 1 - at, blockSize, number, variable: (bytes[at + 1] & 1) === 1, channelCode: chCode, channels };
}
