// The per-thread batching service that runs real codecs through ffmpeg without one process per
// clip. The engine runs the items of a batch concurrently (src/engine/cpu/worker.ts), so every item
// that reaches a codec op within a short quiet window lands in the same flush; a flush becomes one
// encoder process and one decoder process (per `maxStreams` clips), each clip its own stream:
//
//   encoder: ffmpeg -f f32le -ar R0 -i pipe:3  … -f f32le -ar Rn -i pipe:(3+n)
//                   -map 0:a <codec 0 options> -f <muxer> pipe:(4+n)  …   (one output per input)
//   decoder: ffmpeg <demuxer 0 options> -i pipe:3 …  -map 0:a -f f32le pipe:(4+n) …
//
// Raw float PCM goes in and out through pipes (extra stdio fds; f32, not s16: the float encoders
// and decoders then see no extra 16-bit rounding, and 4 bytes a sample is nothing next to the
// codecs' cost); the encoded streams are collected here and, once the encoder has finished,
// written whole to the decoder (they are kept, for their size and for tests). The processes are
// started by a small helper process per thread (spawner.ts), not by the engine thread: a fork of
// an engine thread costs 10-30x more CPU.
//
// Why one stream (one encoder instance) per clip and not one long stream per setting with the
// clips separated by silence: no silence isolates a clip. Encoding [other clip, silence, clip]
// and [clip] gave different bytes for the clip with every ffmpeg codec here, with 2.9 s and with
// 8.6 s of digital silence between (the decoded clips 16-66 dB apart; bench/README-codecs.md):
// codec state (bit reservoir, adaptive quantisers and codebooks, Opus's range-coder seed) does not
// return to its initial value. With a fresh encoder and decoder per clip, nothing of one clip can
// bleed into another and a clip's output does not depend on which other clips share its process,
// nor on their order: the grouping (which depends on timing) cannot change the bytes. The cost of
// a stream is small (measured: encoding 48 clips as 48 streams of 3 processes costs 2-13% more
// CPU than one stream of the same audio). Clips of any codec and setting share a process, so a
// batch costs two processes however its settings are spread.
//
// Failure: a process that exits non-zero, is killed, or outlives its watchdog (20 s + audio / 2,
// i.e. slower than 2x real time) fails the flush; the flush is then retried one clip per process,
// so a clip that breaks ffmpeg costs that one item (a per-item error naming the codec, setting
// and ffmpeg's last stderr line) and never its neighbours.
import { locateFfmpeg } from "./ffmpeg.js";
import { directRunner, sharedRunner, type ProcessRunner, type RunResult } from "./spawner.js";
import { CODECS, settingKey, type CodecSetting } from "./table.js";

export interface TranscodeOutput {
  /** Decoded mono PCM at CODECS[codec].decodeRate(setting). */
  pcm: Float32Array;
  /** The encoded stream as the muxer wrote it (container included). */
  encoded: Uint8Array;
}

export interface BatcherOptions {
  /** Flush when no request has arrived for this long (ms). */
  quietMs: number;
  /** ...or when the oldest pending request has waited this long (ms). */
  maxWaitMs: number;
  /** Clips per ffmpeg process (each costs two pipes in each process). */
  maxStreams: number;
  /** Watchdog for one process pair, from the seconds of audio it carries. */
  timeoutMs(audioS: number): number;
  /**
   * Start ffmpeg from this thread's helper process or directly (spawner.ts). Default: the helper,
   * unless AUGMENT_CODEC_SPAWN=direct (for comparing the two in a benchmark).
   */
  spawn?: "helper" | "direct";
}

export const DEFAULT_BATCHER_OPTIONS: BatcherOptions = {
  quietMs: 15,
  maxWaitMs: 2000,
  maxStreams: 32,
  timeoutMs: (audioS) => 20_000 + audioS * 500,
};

export interface BatcherStats {
  /** Flushes (groups of requests collected in one window). */
  flushes: number;
  /** Encoder+decoder process pairs started (retries included). */
  processPairs: number;
  /** Clips transcoded. */
  streams: number;
  /** Flushes that failed and were retried one clip per process. */
  retriedFlushes: number;
  /** Clips that failed. */
  failedStreams: number;
}

interface Pending {
  setting: CodecSetting;
  pcm: Float32Array;
  resolve(out: TranscodeOutput): void;
  reject(e: Error): void;
}

/** A clip's error: says which codec/setting and what ffmpeg said. */
export class CodecRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CodecRunError";
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split("\n").map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? "";
}

/** Bytes of a Float32Array as a Buffer view (host order: little-endian on every platform Node ships for x86/ARM). */
function f32Bytes(x: Float32Array): Buffer {
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
}

/** Decoded bytes as samples (copied: the bytes need not be 4-byte aligned). */
function toFloat32(bytes: Uint8Array | undefined): Float32Array {
  if (!bytes) return new Float32Array(0);
  const out = new Float32Array(Math.floor(bytes.length / 4));
  new Uint8Array(out.buffer).set(bytes.subarray(0, out.length * 4));
  return out;
}

/** Argument arrays for one process pair over `jobs` (exported for tests and the benchmark). */
export function ffmpegArgs(jobs: Array<{ setting: CodecSetting }>): { encode: string[]; decode: string[] } {
  const n = jobs.length;
  const common = ["-hide_banner", "-nostdin", "-v", "error"];
  const encode = [...common];
  for (const [k, j] of jobs.entries()) encode.push("-f", "f32le", "-ar", String(j.setting.sample_rate), "-ac", "1", "-i", `pipe:${3 + k}`);
  // -flush_packets 0: a pipe output is otherwise flushed after every packet (an AMR-NB frame is
  // 32 bytes, a decoded one 640), so the pipes carried thousands of tiny writes per clip; with
  // 32 KB writes the process that reads them spent 2-9 CPU-s per audio-hour less (helper: AMR-NB
  // 9.9 → 2.2, MP3 8.7 → 3.1), ffmpeg a little less too, and the bytes are the same.
  for (const [k, j] of jobs.entries()) {
    // bitexact: no encoder version string in the stream, so its size does not depend on the build.
    encode.push("-map", `${k}:a`, "-map_metadata", "-1", "-flush_packets", "0", "-fflags", "+bitexact", "-flags:a", "+bitexact", ...CODECS[j.setting.codec].encodeArgs(j.setting), `pipe:${3 + n + k}`);
  }
  const decode = [...common];
  for (const [k, j] of jobs.entries()) decode.push(...CODECS[j.setting.codec].decodeArgs(j.setting), "-i", `pipe:${3 + k}`);
  for (const [k] of jobs.entries()) decode.push("-map", `${k}:a`, "-ac", "1", "-flush_packets", "0", "-f", "f32le", `pipe:${3 + n + k}`);
  return { encode, decode };
}

function describeExit(what: string, e: RunResult, timeoutMs: number): string | null {
  if (e.timedOut) return `${what} timed out after ${(timeoutMs / 1000).toFixed(timeoutMs < 10_000 ? 1 : 0)} s (killed)`;
  if (e.spawnError) return `${what} could not start: ${e.spawnError}`;
  if (e.code === 0) return null;
  const why = e.signal ? `killed by ${e.signal}` : `exit ${e.code}`;
  const said = lastLine(e.stderr);
  return `${what} failed (${why})${said ? `: ${said}` : ""}`;
}

/** Runs one process pair over `jobs`; resolves with one output per job or rejects with one message. */
export async function runProcessPair(
  jobs: Array<{ setting: CodecSetting; pcm: Float32Array }>,
  timeoutMs: number,
  ffmpeg = locateFfmpeg().path,
  runner: ProcessRunner = directRunner,
): Promise<TranscodeOutput[]> {
  const n = jobs.length;
  const { encode, decode } = ffmpegArgs(jobs);
  const started = performance.now();
  const what = (role: string) => `ffmpeg ${role} of ${jobs.map((j) => settingKey(j.setting)).filter((v, i, a) => a.indexOf(v) === i).join(", ")}`;
  const enc = await runner.run(ffmpeg, encode, jobs.map((j) => f32Bytes(j.pcm)), n, timeoutMs);
  const encProblem = describeExit(what("encoder"), enc, timeoutMs);
  if (encProblem) throw new CodecRunError(encProblem);
  // The decoder starts once every stream is complete: fed while the encoder is still writing,
  // ffmpeg's mp3 demuxer sometimes drops the first frames of a stream that arrives in pieces
  // (measured: 8 of 48 streams lost 1152 samples), which would make the delay depend on timing.
  const streams = enc.outputs;
  const decTimeout = Math.max(1000, timeoutMs - (performance.now() - started));
  const dec = await runner.run(ffmpeg, decode, streams, n, decTimeout);
  const decProblem = describeExit(what("decoder"), dec, decTimeout);
  if (decProblem) throw new CodecRunError(decProblem);
  return jobs.map((_, k) => ({ pcm: toFloat32(dec.outputs[k]), encoded: streams[k] }));
}

export class FfmpegBatcher {
  readonly stats: BatcherStats = { flushes: 0, processPairs: 0, streams: 0, retriedFlushes: 0, failedStreams: 0 };
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private firstAt = 0;
  private lastAt = 0;

  constructor(readonly options: BatcherOptions = DEFAULT_BATCHER_OPTIONS) {}

  /** Encodes and decodes `pcm` (mono, at setting.sample_rate) with the setting's codec. */
  transcode(setting: CodecSetting, pcm: Float32Array): Promise<TranscodeOutput> {
    if (!CODECS[setting.codec]?.encoder) return Promise.reject(new CodecRunError(`codec ${setting.codec} does not run through ffmpeg`));
    return new Promise((resolve, reject) => {
      const now = performance.now();
      if (this.pending.length === 0) this.firstAt = now;
      this.lastAt = now;
      this.pending.push({ setting, pcm, resolve, reject });
      if (this.pending.length >= this.options.maxStreams) this.flush();
      else if (!this.timer) this.timer = setTimeout(() => this.onTimer(), this.options.quietMs);
    });
  }

  private onTimer(): void {
    this.timer = null;
    const now = performance.now();
    const quietFor = now - this.lastAt;
    if (quietFor < this.options.quietMs && now - this.firstAt < this.options.maxWaitMs) {
      this.timer = setTimeout(() => this.onTimer(), Math.max(1, this.options.quietMs - quietFor));
      return;
    }
    this.flush();
  }

  /** Starts every pending request now. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const jobs = this.pending;
    this.pending = [];
    if (!jobs.length) return;
    this.stats.flushes++;
    for (let i = 0; i < jobs.length; i += this.options.maxStreams) void this.runChunk(jobs.slice(i, i + this.options.maxStreams));
  }

  private async runChunk(jobs: Pending[]): Promise<void> {
    const audioS = jobs.reduce((a, j) => a + j.pcm.length / j.setting.sample_rate, 0);
    this.stats.processPairs++;
    try {
      const direct = (this.options.spawn ?? (process.env.AUGMENT_CODEC_SPAWN === "direct" ? "direct" : "helper")) === "direct";
      const runner = direct ? directRunner : sharedRunner();
      const outs = await runProcessPair(jobs, this.options.timeoutMs(audioS), locateFfmpeg().path, runner);
      this.stats.streams += jobs.length;
      jobs.forEach((j, k) => j.resolve(outs[k]));
    } catch (e: any) {
      if (jobs.length > 1) {
        // Find the clip(s) that broke it: one process pair per clip, one after another.
        this.stats.retriedFlushes++;
        for (const j of jobs) await this.runChunk([j]);
        return;
      }
      this.stats.failedStreams++;
      jobs[0].reject(e instanceof CodecRunError ? e : new CodecRunError(String(e?.message ?? e)));
    }
  }
}

let shared: FfmpegBatcher | null = null;

/** The batcher of this thread (each worker thread has its own, and its own processes). */
export function sharedBatcher(): FfmpegBatcher {
  shared ??= new FfmpegBatcher();
  return shared;
}
