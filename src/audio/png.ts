// A minimal PNG writer (and reader of what it writes) plus text-free RIR figures. PNG per the W3C
// PNG specification (2nd ed., 2003): signature, IHDR, optional tEXt, IDAT (zlib stream from
// node:zlib), IEND; each chunk with a CRC-32 over type and data. 8-bit grayscale or RGB, no
// interlace. Figures carry no text (no font needed): numbers go in metadata, and the title and
// the measured values ride in tEXt chunks that image viewers show as properties.
import { deflateSync, inflateSync } from "node:zlib";
import type { RirMeasurement } from "./acoustics.js";

/** 8-bit RGB pixels, row-major, 3 bytes per pixel. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export type Rgb = readonly [number, number, number];

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

let crcTable: Uint32Array | null = null;

/** CRC-32 (ISO 3309 / ITU-T V.42, polynomial 0xEDB88320 reflected), as PNG chunks use. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

function latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    out[i] = code < 256 && code !== 0 ? code : 0x3f; // tEXt is Latin-1 without NUL
  }
  return out;
}

export interface PngOptions {
  /** 3 = RGB (default), 1 = grayscale (the mean of R, G, B is written when given RGB data). */
  channels?: 1 | 3;
  /** tEXt chunks, keyword → text (keywords 1–79 Latin-1 characters, e.g. "Title", "Description"). */
  text?: Record<string, string>;
}

/**
 * Encodes 8-bit pixels as PNG. `data` holds width × height × (channels of the data) bytes: 3 per
 * pixel for RGB, or 1 per pixel when `channels` is 1 and the data is already grayscale.
 */
export function encodePng(image: RgbImage, opts: PngOptions = {}): Uint8Array {
  const { width, height, data } = image;
  const channels = opts.channels ?? 3;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`PNG size must be positive integers, got ${width} × ${height}`);
  }
  const inputChannels = data.length === width * height ? 1 : data.length === width * height * 3 ? 3 : 0;
  if (inputChannels === 0) throw new RangeError(`PNG data has ${data.length} bytes for ${width} × ${height} pixels`);
  if (inputChannels === 1 && channels === 3) throw new RangeError("grayscale data needs channels: 1");
  const stride = width * channels;
  // Filter type 0 (None) on every row: the figures are mostly flat colour, which deflate takes well.
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (stride + 1);
    raw[row] = 0;
    if (channels === inputChannels) raw.set(data.subarray(y * stride, (y + 1) * stride), row + 1);
    else {
      for (let x = 0; x < width; x++) {
        const p = (y * width + x) * 3;
        raw[row + 1 + x] = Math.round((data[p] + data[p + 1] + data[p + 2]) / 3);
      }
    }
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 3 ? 2 : 0; // colour type: truecolour or greyscale
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering
  ihdr[12] = 0; // no interlace
  const parts: Uint8Array[] = [Uint8Array.from(SIGNATURE), chunk("IHDR", ihdr)];
  for (const [key, value] of Object.entries(opts.text ?? {})) {
    if (key.length < 1 || key.length > 79) throw new RangeError(`PNG tEXt keyword must be 1–79 characters: ${JSON.stringify(key)}`);
    const k = latin1(key);
    const v = latin1(value);
    const body = new Uint8Array(k.length + 1 + v.length);
    body.set(k, 0);
    body.set(v, k.length + 1);
    parts.push(chunk("tEXt", body));
  }
  // zlib's default level: level 9 costs 3–4× the time for a few % on these flat-colour figures.
  parts.push(chunk("IDAT", new Uint8Array(deflateSync(raw, { level: 6 }))));
  parts.push(chunk("IEND", new Uint8Array(0)));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Decodes an 8-bit grayscale or RGB, non-interlaced PNG (what encodePng writes, and what most tools
 * write for such images) to RGB. Throws on anything else or on a CRC mismatch.
 */
export function decodePng(bytes: Uint8Array): RgbImage {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) throw new Error("not a PNG file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Uint8Array[] = [];
  while (at + 12 <= bytes.length) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (at + 12 + length > bytes.length) throw new Error(`PNG chunk ${type} runs past the end of the file`);
    if (crc32(bytes, at + 4, at + 8 + length) !== view.getUint32(at + 8 + length)) throw new Error(`PNG chunk ${type}: CRC mismatch`);
    const body = bytes.subarray(at + 8, at + 8 + length);
    if (type === "IHDR") {
      width = view.getUint32(at + 8);
      height = view.getUint32(at + 12);
      const depth = body[8];
      const colour = body[9];
      if (depth !== 8 || (colour !== 0 && colour !== 2) || body[12] !== 0) {
        throw new Error(`unsupported PNG: bit depth ${depth}, colour type ${colour}, interlace ${body[12]}`);
      }
      channels = colour === 2 ? 3 : 1;
    } else if (type === "IDAT") idat.push(body);
    else if (type === "IEND") break;
    at += 12 + length;
  }
  if (!width || !height) throw new Error("PNG without IHDR");
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length < (stride + 1) * height) throw new Error("PNG image data is truncated");
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const dst = y * stride;
    for (let i = 0; i < stride; i++) {
      const left = i >= channels ? pixels[dst + i - channels] : 0;
      const up = y > 0 ? pixels[dst - stride + i] : 0;
      const upLeft = y > 0 && i >= channels ? pixels[dst - stride + i - channels] : 0;
      const x = raw[src + i];
      let v: number;
      switch (filter) {
        case 0: v = x; break;
        case 1: v = x + left; break;
        case 2: v = x + up; break;
        case 3: v = x + ((left + up) >> 1); break;
        case 4: v = x + paeth(left, up, upLeft); break;
        default: throw new Error(`PNG row ${y}: unknown filter ${filter}`);
      }
      pixels[dst + i] = v & 0xff;
    }
  }
  if (channels === 3) return { width, height, data: pixels };
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = pixels[i];
  return { width, height, data: rgb };
}

// ---------------------------------------------------------------------------------------------
// Drawing.

export function createImage(width: number, height: number, background: Rgb = [255, 255, 255]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  if (background[0] === background[1] && background[1] === background[2]) data.fill(background[0]);
  else {
    // One row by pixels, the rest by copying rows.
    for (let x = 0; x < width; x++) data.set(background, 3 * x);
    for (let y = 1; y < height; y++) data.copyWithin(3 * width * y, 0, 3 * width);
  }
  return { width, height, data };
}

function setPixel(img: RgbImage, x: number, y: number, colour: Rgb): void {
  x = Math.round(x);
  y = Math.round(y);
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  img.data.set(colour, 3 * (y * img.width + x));
}

function fillRect(img: RgbImage, x0: number, y0: number, x1: number, y1: number, colour: Rgb): void {
  for (let y = Math.max(0, Math.round(y0)); y <= Math.min(img.height - 1, Math.round(y1)); y++) {
    for (let x = Math.max(0, Math.round(x0)); x <= Math.min(img.width - 1, Math.round(x1)); x++) setPixel(img, x, y, colour);
  }
}

/** A 1-pixel line (DDA). */
function drawLine(img: RgbImage, x0: number, y0: number, x1: number, y1: number, colour: Rgb): void {
  const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
  for (let i = 0; i <= steps; i++) setPixel(img, x0 + ((x1 - x0) * i) / steps, y0 + ((y1 - y0) * i) / steps, colour);
}

function frame(img: RgbImage, x0: number, y0: number, x1: number, y1: number, colour: Rgb): void {
  drawLine(img, x0, y0, x1, y0, colour);
  drawLine(img, x0, y1, x1, y1, colour);
  drawLine(img, x0, y0, x0, y1, colour);
  drawLine(img, x1, y0, x1, y1, colour);
}

const INK: Rgb = [30, 30, 30];
const GRID: Rgb = [225, 225, 225];
const TICK: Rgb = [90, 90, 90];
const WAVE: Rgb = [40, 90, 190];
const FIT: Rgb = [210, 40, 40];
const DIRECT: Rgb = [230, 120, 0];

/** Tick spacing giving 4–10 ticks over `span`: 1, 2 or 5 × a power of ten. */
function tickStep(span: number): number {
  const raw = span / 6;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

export interface FigureOptions {
  width?: number;
  height?: number;
  /** Lowest level of the EDC panel in dB (default -70). */
  floorDb?: number;
}

/**
 * Draws a RIR: top, the waveform (min/max per pixel column, scaled to its peak, the direct path
 * marked orange on the top edge); bottom, the energy decay curve from 0 dB down to `floorDb` with
 * grid lines every 10 dB and the T30 line (red, through the EDC's -5 dB point with slope -60 dB
 * per T30). Both panels share the time axis, with tick marks on the bottom edges at a 1-2-5 step
 * (the step is in the PNG's Description, with the measured values).
 */
export function rirImage(h: Float32Array, sampleRate: number, measured: RirMeasurement, opts: FigureOptions = {}): RgbImage {
  const width = opts.width ?? 480;
  const height = opts.height ?? 300;
  const floorDb = opts.floorDb ?? -70;
  const img = createImage(width, height);
  const pad = Math.max(3, Math.round(width / 60));
  const left = pad;
  const right = width - pad - 1;
  const split = Math.round(height * 0.45);
  const wave = { top: pad, bottom: split - Math.ceil(pad / 2) };
  const edc = { top: split + Math.ceil(pad / 2), bottom: height - pad - 1 };
  const plotWidth = right - left;
  const durationS = Math.max(h.length, 1) / sampleRate;
  const xOf = (tS: number) => left + (tS / durationS) * plotWidth;

  // EDC grid lines every 10 dB.
  const yOfDb = (db: number) => edc.top + (Math.max(floorDb, Math.min(0, db)) / floorDb) * (edc.bottom - edc.top);
  for (let db = -10; db > floorDb; db -= 10) drawLine(img, left, yOfDb(db), right, yOfDb(db), GRID);
  // Waveform zero line.
  const mid = (wave.top + wave.bottom) / 2;
  drawLine(img, left, mid, right, mid, GRID);

  // Waveform: min/max per column.
  let peak = 0;
  for (let i = 0; i < h.length; i++) peak = Math.max(peak, Math.abs(h[i]));
  const halfSpan = (wave.bottom - wave.top) / 2 - 1;
  if (peak > 0) {
    for (let col = 0; col < plotWidth; col++) {
      const from = Math.floor((col / plotWidth) * h.length);
      const to = Math.max(from + 1, Math.floor(((col + 1) / plotWidth) * h.length));
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = from; i < to && i < h.length; i++) {
        lo = Math.min(lo, h[i]);
        hi = Math.max(hi, h[i]);
      }
      if (lo > hi) continue;
      drawLine(img, left + col, mid - (hi / peak) * halfSpan, left + col, mid - (lo / peak) * halfSpan, WAVE);
    }
  }
  // Direct path marker.
  const xd = xOf(measured.direct_delay_samples / sampleRate);
  fillRect(img, xd - 1, wave.top, xd + 1, wave.top + pad, DIRECT);

  // EDC curve.
  const step = measured.edc_step_samples;
  let previous: [number, number] | null = null;
  for (let j = 0; j < measured.edc_db.length; j++) {
    const db = measured.edc_db[j];
    if (!Number.isFinite(db)) {
      previous = null;
      continue;
    }
    const point: [number, number] = [xOf((j * step) / sampleRate), yOfDb(db)];
    if (previous) drawLine(img, previous[0], previous[1], point[0], point[1], INK);
    else setPixel(img, point[0], point[1], INK);
    previous = point;
    if (db < floorDb) break;
  }
  // T30 line through the -5 dB point.
  const t30 = measured.rt60_t30_s;
  if (Number.isFinite(t30) && t30 > 0) {
    let j5 = -1;
    for (let j = 0; j < measured.edc_db.length; j++) {
      if (measured.edc_db[j] <= -5) {
        j5 = j;
        break;
      }
    }
    if (j5 >= 0) {
      const t5 = (j5 * step) / sampleRate;
      const t35 = t5 + (30 / 60) * t30;
      const tEnd = Math.min(durationS, t5 + ((-floorDb - 5) / 60) * t30);
      drawLine(img, xOf(t5), yOfDb(-5), xOf(tEnd), yOfDb(-5 - (60 * (tEnd - t5)) / t30), FIT);
      // Small marks at the ends of the fit range.
      fillRect(img, xOf(t5) - 1, yOfDb(-5) - 1, xOf(t5) + 1, yOfDb(-5) + 1, FIT);
      if (t35 <= durationS) fillRect(img, xOf(t35) - 1, yOfDb(-35) - 1, xOf(t35) + 1, yOfDb(-35) + 1, FIT);
    }
  }

  // Frames and ticks: time ticks on both panels' bottom edges, 10 dB ticks on the EDC's left edge.
  frame(img, left, wave.top, right, wave.bottom, INK);
  frame(img, left, edc.top, right, edc.bottom, INK);
  const tStep = tickStep(durationS);
  const tickLength = Math.max(2, Math.round(pad * 0.8));
  for (let t = tStep; t < durationS; t += tStep) {
    const x = xOf(t);
    drawLine(img, x, wave.bottom, x, wave.bottom - tickLength, TICK);
    drawLine(img, x, edc.bottom, x, edc.bottom - tickLength, TICK);
  }
  for (let db = -10; db > floorDb; db -= 10) drawLine(img, left, yOfDb(db), left + tickLength, yOfDb(db), TICK);
  return img;
}

function describe(measured: RirMeasurement, sampleRate: number, length: number): string {
  const r = (x: number, d = 3) => (Number.isFinite(x) ? String(Math.round(x * 10 ** d) / 10 ** d) : "n/a");
  const tStep = tickStep(length / sampleRate);
  return [
    `T30 ${r(measured.rt60_t30_s)} s`,
    `T20 ${r(measured.rt60_t20_s)} s`,
    `EDT ${r(measured.edt_s)} s`,
    `DRR ${r(measured.drr_db, 2)} dB`,
    `C50 ${r(measured.c50_db, 2)} dB`,
    `direct path ${measured.direct_delay_samples} samples`,
    `time ticks every ${r(tStep, 4)} s, EDC grid every 10 dB`,
  ].join("; ");
}

/** A RIR figure as PNG bytes (rirImage), with `title` and the measured values in tEXt chunks. */
export function rirFigure(h: Float32Array, sampleRate: number, measured: RirMeasurement, title: string, opts: FigureOptions = {}): Uint8Array {
  return encodePng(rirImage(h, sampleRate, measured, opts), { text: { Title: title, Description: describe(measured, sampleRate, h.length) } });
}

/**
 * Tiles figures (images, or PNG bytes as encodePng writes them) `cols` to a row, in order, with a
 * `gap`-pixel light grey gutter; tiles take the largest figure's size. Returns PNG bytes.
 */
export function contactSheet(figures: Array<RgbImage | Uint8Array>, cols: number, opts: { gap?: number; text?: Record<string, string> } = {}): Uint8Array {
  if (figures.length === 0) throw new RangeError("contactSheet needs at least one figure");
  if (!Number.isInteger(cols) || cols < 1) throw new RangeError(`cols must be a positive integer, got ${cols}`);
  const images = figures.map((f) => (f instanceof Uint8Array ? decodePng(f) : f));
  const gap = opts.gap ?? 4;
  const tileW = Math.max(...images.map((i) => i.width));
  const tileH = Math.max(...images.map((i) => i.height));
  const columns = Math.min(cols, images.length);
  const rows = Math.ceil(images.length / columns);
  const sheet = createImage(columns * tileW + (columns + 1) * gap, rows * tileH + (rows + 1) * gap, [235, 235, 235]);
  images.forEach((img, k) => {
    const x0 = gap + (k % columns) * (tileW + gap);
    const y0 = gap + Math.floor(k / columns) * (tileH + gap);
    for (let y = 0; y < img.height; y++) {
      const src = img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3);
      sheet.data.set(src, ((y0 + y) * sheet.width + x0) * 3);
    }
  });
  return encodePng(sheet, { text: opts.text });
}
