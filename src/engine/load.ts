// Reading audio for the engine: source utterances (cut, channel choice, checks, resampling) and
// bank resources (noise, RIRs) with a byte-bounded LRU cache.
import { open, readFile, stat } from "node:fs/promises";
import { decodeAudio, toMono } from "../audio/decode.js";
import { DecodeError, type DecodedAudio } from "../audio/decoded.js";
import { resample } from "../audio/resample.js";
import type { AudioRef } from "../types.js";
import type { ItemBuffers } from "./buffers.js";
import { readObject } from "../storage/cache.js";
import { isS3Url, StorageError } from "../storage/url.js";
import { loadSynthetic } from "../tts/load.js";

/** Largest file the engine will read into memory (a 1-hour 48 kHz stereo float WAV is ~1.4 GB). */
export const MAX_FILE_BYTES = 2 * 1024 ** 3 - 1;

/** Reads and decodes an audio file; with `buffers`, into an engine item's reused buffers. */
export async function loadAudioFile(file: string, buffers?: ItemBuffers): Promise<DecodedAudio> {
  let bytes: Uint8Array;
  try {
    if (isS3Url(file)) {
      bytes = await readObject(file, MAX_FILE_BYTES); // through the local object cache
    } else {
      const st = await stat(file);
      if (!st.isFile()) throw new DecodeError(`not a regular file: ${file}`);
      if (st.size === 0) throw new DecodeError("zero-length file");
      if (st.size > MAX_FILE_BYTES) throw new DecodeError(`file too large (${st.size} bytes)`);
      bytes = buffers ? await readInto(file, st.size, buffers) : await readFile(file);
    }
  } catch (e: any) {
    if (e instanceof DecodeError) throw e;
    if (e instanceof StorageError) throw new DecodeError(e.message);
    throw new DecodeError(e.code === "ENOENT" ? `file not found: ${file}` : `cannot read ${file}: ${e.message}`);
  }
  return decodeAudio(bytes, file, buffers ? (n) => buffers.f32(n) : undefined);
}

/** The file's bytes in a reused buffer (readFile's fresh one costs page faults per item). */
async function readInto(file: string, size: number, buffers: ItemBuffers): Promise<Uint8Array> {
  const fh = await open(file, "r");
  try {
    const bytes = buffers.u8(size);
    let at = 0;
    while (at < size) {
      const { bytesRead } = await fh.read(bytes, at, size - at, at);
      if (bytesRead === 0) break; // the file shrank since stat: decode what is there
      at += bytesRead;
    }
    return bytes.subarray(0, at);
  } finally {
    await fh.close();
  }
}

export interface SourceAudio {
  samples: Float32Array;
  /** Rate and channels of the file before the channel choice and resampling. */
  fileSampleRate: number;
  fileChannels: number;
  /** max |sample| when known without another pass (no resampling was needed). */
  peak?: number;
}

/** Index of the first non-finite sample, or -1. */
export function firstNonFinite(x: Float32Array): number {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return i;
  return -1;
}

/** max |x[i]|, or NaN when a sample is NaN or infinite (one pass for both checks). */
function finitePeak(x: Float32Array): number {
  let peak = 0;
  let poison = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    poison += v * 0; // NaN for NaN and ±Inf, else ±0
    const a = Math.abs(v);
    if (a > peak) peak = a;
  }
  return poison === 0 ? peak : NaN;
}

/** Decodes a source utterance: segment cut, channel choice, finite check, resampling. */
export async function loadSource(ref: AudioRef, channel: "mix" | number, sampleRate: number, buffers?: ItemBuffers, ttsCacheDir?: string): Promise<SourceAudio> {
  // Synthetic speech is made from its spec (or read from the catalog's cache), not decoded.
  if (ref.synth) return loadSynthetic(ref.synth, sampleRate, ttsCacheDir);
  const decoded = await loadAudioFile(ref.path, buffers);
  const fileChannels = decoded.channels.length;
  const fileRate = decoded.sampleRate;
  let samples = toMono(decoded, channel);
  if (ref.offsetS !== undefined || ref.durationS !== undefined) {
    const start = Math.round((ref.offsetS ?? 0) * fileRate);
    const end = ref.durationS !== undefined ? start + Math.round(ref.durationS * fileRate) : samples.length;
    if (start >= samples.length || end > samples.length + Math.round(0.01 * fileRate)) {
      throw new DecodeError(`segment ${ref.offsetS ?? 0}s+${ref.durationS ?? "?"}s is outside the audio (${(samples.length / fileRate).toFixed(3)} s)`);
    }
    samples = samples.slice(start, Math.min(end, samples.length));
  }
  if (samples.length === 0) throw new DecodeError("zero-length audio");
  // The decoder's peak holds for the samples kept only when no channel mix or cut changed them.
  const whole = decoded.channels.length === 1 && samples === decoded.channels[0];
  const peak = whole && decoded.peak !== undefined ? decoded.peak : finitePeak(samples);
  if (Number.isNaN(peak)) {
    const bad = firstNonFinite(samples);
    throw new DecodeError(`non-finite sample (${samples[bad]}) at sample ${bad}`);
  }
  if (fileRate !== sampleRate) return { samples: resample(samples, fileRate, sampleRate), fileSampleRate: fileRate, fileChannels };
  return { samples, fileSampleRate: fileRate, fileChannels, peak };
}

/**
 * Least-recently-used cache of decoded bank audio, bounded by bytes. Loads in flight are shared:
 * the items of a batch run concurrently and often ask for the same noise or RIR at once.
 */
export class AudioCache {
  private readonly entries = new Map<string, Float32Array>();
  private readonly loading = new Map<string, Promise<Float32Array>>();
  private bytes = 0;
  constructor(private readonly maxBytes: number) {}

  async get(key: string, load: () => Promise<Float32Array>): Promise<Float32Array> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    let pending = this.loading.get(key);
    if (!pending) {
      pending = load().finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
      const value = await pending;
      this.entries.set(key, value);
      this.bytes += value.byteLength;
      for (const [k, v] of this.entries) {
        if (this.bytes <= this.maxBytes || k === key) break;
        this.entries.delete(k);
        this.bytes -= v.byteLength;
      }
      return value;
    }
    return pending;
  }
}

/** Loads a bank file as mono (channel mix) at the given rate. */
export async function loadBankAudio(file: string, sampleRate: number): Promise<Float32Array> {
  const decoded = await loadAudioFile(file);
  let x = toMono(decoded, "mix");
  const bad = firstNonFinite(x);
  if (bad >= 0) throw new DecodeError(`bank file ${file}: non-finite sample at ${bad}`);
  if (decoded.sampleRate !== sampleRate) x = resample(x, decoded.sampleRate, sampleRate);
  return x;
}
