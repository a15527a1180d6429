// Writes a simulated RIR bank: `<id>.wav` per room, `metadata.jsonl` (the lines src/banks/bank.ts
// reads: id, path, category, duration; plus the room spec and the measurements), contact sheets of
// figures, and `summary.json`. Every file appears under its final name only when complete (temp +
// fsync + rename, src/writers/atomic.ts); metadata.jsonl is written last, so a folder with one
// lists only finished RIRs. Rooms are drawn with roomRng(seed, name, index), the keys the planner
// uses, so `augment rir simulate` and a recipe's `simulate:` block give the same rooms.
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { measureRir, type RirMeasurement } from "../audio/acoustics.js";
import { contactSheet, rirFigure, rirImage, type RgbImage } from "../audio/png.js";
import { writeFileAtomic } from "../writers/atomic.js";
import { roomRng, sampleRoom, simulateSchema, type SimulateConfig, type SimulateInput } from "./sample.js";
import { simulateRoomWithInfo } from "./simulate.js";
import { absorptionTable, meanAbsorption } from "./theory.js";
import type { RoomSpec } from "./types.js";

export interface SimulateBankOptions {
  /** Overrides config.count. */
  count?: number;
  outDir: string;
  /** The recipe's (or the command line's) seed. */
  seed: number;
  /** A `simulate:` block, validated here (defaults filled). */
  config: SimulateInput | SimulateConfig;
  /** Bank name: part of the Rng key, so two banks of one recipe differ. Default "rooms". */
  name?: string;
  /** Used when config has no sample_rate. Default 16000. */
  sampleRate?: number;
  /**
   * `float32` (default): IEEE float WAV at the simulation's physical gain (direct path 1 / 4πr),
   * exact, and the -60 dB tail keeps its resolution; `pcm16`: 16-bit PCM scaled to a peak of 0.99,
   * for tools that read only PCM (the scale is recorded as `pcm16_scale`).
   */
  wav?: "float32" | "pcm16";
  /** `sheet` (default): contact sheets only; `each`: a PNG per RIR; `both`; `none`. */
  figures?: "sheet" | "each" | "both" | "none";
  /** Called after each RIR is written. */
  onProgress?: (done: number, total: number) => void;
}

export interface BankSummary {
  outDir: string;
  count: number;
  sampleRate: number;
  seconds: number;
  /** Measured T30 of mic 0 relative to the target, in percent: median and extremes over the bank (NaN-free entries). */
  rt60ErrorPercent: { median: number; p05: number; p95: number; min: number; max: number; measured: number };
  files: string[];
}

/** Tiles per contact sheet, and the tile size. */
export const SHEET_TILES = 100;
const TILE = { width: 240, height: 150 };

export function rirId(index: number, count: number): string {
  return `sim-${String(index).padStart(Math.max(5, String(count - 1).length), "0")}`;
}

/**
 * WAV of IEEE float samples (format 3) for 1–2 channels, WAVE_FORMAT_EXTENSIBLE with the float
 * subformat for more (Microsoft's rule for > 2 channels), both with the `fact` chunk that non-PCM
 * WAV requires. Channels interleaved, little-endian.
 */
export function encodeFloatWav(channels: Float32Array[], sampleRate: number): Uint8Array {
  const count = channels.length;
  const frames = channels[0]?.length ?? 0;
  if (count === 0 || channels.some((c) => c.length !== frames)) throw new RangeError("encodeFloatWav needs channels of equal length");
  const extensible = count > 2;
  const fmtSize = extensible ? 40 : 18;
  const dataBytes = frames * count * 4;
  const total = 12 + (8 + fmtSize) + 12 + 8 + dataBytes;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  };
  ascii(0, "RIFF");
  view.setUint32(4, total - 8, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, fmtSize, true);
  view.setUint16(20, extensible ? 0xfffe : 3, true);
  view.setUint16(22, count, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * count * 4, true);
  view.setUint16(32, count * 4, true);
  view.setUint16(34, 32, true);
  view.setUint16(36, extensible ? 22 : 0, true);
  let at = 38;
  if (extensible) {
    view.setUint16(38, 32, true); // valid bits
    view.setUint32(40, 0, true); // channel mask: none (array mics have no speaker positions)
    // KSDATAFORMAT_SUBTYPE_IEEE_FLOAT: 00000003-0000-0010-8000-00aa00389b71
    out.set([0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 44);
    at = 60;
  }
  ascii(at, "fact");
  view.setUint32(at + 4, 4, true);
  view.setUint32(at + 8, frames, true);
  ascii(at + 12, "data");
  view.setUint32(at + 16, dataBytes, true);
  let p = at + 20;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < count; c++, p += 4) view.setFloat32(p, channels[c][i], true);
  }
  return out;
}

/** 16-bit PCM WAV (any channel count, plain PCM format tag) after scaling by `scale`. */
function encodePcm16Wav(channels: Float32Array[], sampleRate: number, scale: number): Uint8Array {
  const count = channels.length;
  const frames = channels[0].length;
  const dataBytes = frames * count * 2;
  const out = new Uint8Array(44 + dataBytes);
  const view = new DataView(out.buffer);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  };
  ascii(0, "RIFF");
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, "WAVEfmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, count, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * count * 2, true);
  view.setUint16(32, count * 2, true);
  view.setUint16(34, 16, true);
  ascii(36, "data");
  view.setUint32(40, dataBytes, true);
  let p = 44;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < count; c++, p += 2) {
      const v = Math.max(-32768, Math.min(32767, Math.round(channels[c][i] * scale * 32768)));
      view.setInt16(p, v, true);
    }
  }
  return out;
}

function measuredFields(m: RirMeasurement): Record<string, number> {
  const r = (x: number, d: number) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : NaN);
  return {
    rt60_t20_s: r(m.rt60_t20_s, 4),
    rt60_t30_s: r(m.rt60_t30_s, 4),
    edt_s: r(m.edt_s, 4),
    drr_db: r(m.drr_db, 3),
    c50_db: r(m.c50_db, 3),
    direct_delay_samples: m.direct_delay_samples,
  };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Simulates `count` rooms drawn from `config` and writes the bank to `outDir` (created if needed;
 * files of an earlier bank with the same ids are replaced). The folder loads as an ordinary RIR
 * bank (src/banks/bank.ts reads its metadata.jsonl).
 */
export async function simulateBank(opts: SimulateBankOptions): Promise<BankSummary> {
  const started = performance.now();
  const config: SimulateConfig = simulateSchema.parse(opts.config);
  const count = opts.count ?? config.count;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  const name = opts.name ?? "rooms";
  const figures = opts.figures ?? "sheet";
  const wav = opts.wav ?? "float32";
  await mkdir(opts.outDir, { recursive: true });
  const lines: string[] = [];
  const files: string[] = [];
  const errors: number[] = [];
  let tiles: RgbImage[] = [];
  let sheetIndex = 0;
  const sheetCount = Math.ceil(count / SHEET_TILES);
  let sampleRate = opts.sampleRate ?? 16000;

  const flushSheet = async () => {
    if (tiles.length === 0) return;
    const file = sheetCount === 1 ? "contact-sheet.png" : `contact-sheet-${String(sheetIndex).padStart(3, "0")}.png`;
    const first = sheetIndex * SHEET_TILES;
    const png = contactSheet(tiles, 10, { text: { Title: `${name}: RIRs ${rirId(first, count)}..${rirId(first + tiles.length - 1, count)}, row-major, 10 per row` } });
    await writeFileAtomic(path.join(opts.outDir, file), png);
    files.push(file);
    tiles = [];
    sheetIndex++;
  };

  for (let index = 0; index < count; index++) {
    const id = rirId(index, count);
    const spec: RoomSpec = sampleRoom(roomRng(opts.seed, name, index), config, { sampleRate: opts.sampleRate });
    sampleRate = spec.sample_rate;
    const { rirs, info } = simulateRoomWithInfo(spec);
    const measured = rirs.map((h) => measureRir(h, spec.sample_rate));
    const file = `${id}.wav`;
    let pcmScale: number | undefined;
    if (wav === "pcm16") {
      let peak = 0;
      for (const h of rirs) for (let i = 0; i < h.length; i++) peak = Math.max(peak, Math.abs(h[i]));
      pcmScale = peak > 0 ? 0.99 / peak : 1;
    }
    await writeFileAtomic(path.join(opts.outDir, file), wav === "pcm16" ? encodePcm16Wav(rirs, spec.sample_rate, pcmScale!) : encodeFloatWav(rirs, spec.sample_rate));
    files.push(file);
    const title = `${id}: room ${spec.dims_m.join(" x ")} m, target RT60 ${spec.rt60_s ?? "n/a"} s`;
    if (figures === "each" || figures === "both") {
      const png = `${id}.png`;
      await writeFileAtomic(path.join(opts.outDir, png), rirFigure(rirs[0], spec.sample_rate, measured[0], title));
      files.push(png);
    }
    if (figures === "sheet" || figures === "both") {
      tiles.push(rirImage(rirs[0], spec.sample_rate, measured[0], TILE));
      if (tiles.length === SHEET_TILES) await flushSheet();
    }
    const t30 = measured[0].rt60_t30_s;
    if (spec.rt60_s !== undefined && Number.isFinite(t30)) errors.push((100 * (t30 - spec.rt60_s)) / spec.rt60_s);
    const table = absorptionTable(spec.absorption);
    const record = {
      id,
      path: file,
      category: "simulated",
      duration: rirs[0].length / spec.sample_rate,
      sample_rate: spec.sample_rate,
      channels: rirs.length,
      format: wav,
      ...(pcmScale !== undefined ? { pcm16_scale: pcmScale } : {}),
      room: spec,
      absorption_mean: meanAbsorption(spec.dims_m, table).map((a) => Math.round(a * 1e6) / 1e6),
      ...(table.bandsHz ? { bands_hz: table.bandsHz } : {}),
      rt60_target_s: spec.rt60_s ?? null,
      rt60_eyring_s: info.rt60Bands.map((t) => Math.round(t * 1e4) / 1e4),
      transition_s: info.transitionS,
      images: info.images[0],
      measured: measuredFields(measured[0]),
      ...(rirs.length > 1 ? { measured_mics: measured.map(measuredFields) } : {}),
    };
    // JSON turns NaN (a fit range the decay never reached) into null.
    lines.push(JSON.stringify(record));
    opts.onProgress?.(index + 1, count);
  }
  await flushSheet();
  await writeFileAtomic(path.join(opts.outDir, "metadata.jsonl"), lines.join("\n") + "\n");
  files.push("metadata.jsonl");
  errors.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 100) / 100;
  const summary: BankSummary = {
    outDir: opts.outDir,
    count,
    sampleRate,
    seconds: round((performance.now() - started) / 1000),
    rt60ErrorPercent: {
      median: round(quantile(errors, 0.5)),
      p05: round(quantile(errors, 0.05)),
      p95: round(quantile(errors, 0.95)),
      min: round(errors[0] ?? NaN),
      max: round(errors[errors.length - 1] ?? NaN),
      measured: errors.length,
    },
    files,
  };
  await writeFileAtomic(path.join(opts.outDir, "summary.json"), JSON.stringify({ ...summary, name, seed: opts.seed, config }, null, 2) + "\n");
  files.push("summary.json");
  return summary;
}
