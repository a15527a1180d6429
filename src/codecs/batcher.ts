// The per-thread batching service that runs real codecs through ffmpeg without one process per
// clip. The engine runs the items of a batch concurrently (src/engine/cpu/worker.ts), so every item
// that reaches a codec op within a short quiet window lands in the same flush; a flush becomes one
// encoder process and one decoder process (per `maxStreams` clips), each clip its own stream:
//
//   encoder: ffmpeg -f f32le -ar R0 -i pipe:3  … -f f32le -ar Rn -i pipe:(3+n)
//                   -map 0:a <codec 0 options> -f <muxer> pipe:(4+n)  …   (one output per input)
//   decoder: ffmpeg <demuxer 0 options> -i pipe:3 …  -map 0:a -f f32le pipe:(4+n) …
//
// Raw float PCM goes in and out through pipes (extra stdio fds); the encoded streams are collected
// here and, once the encoder has finished, written whole to the decoder (they are kept, for their
// size and for tests). Because each clip has its own encoder instance, nothing of one clip's codec state
// can bleed into another's and a clip's output does not depend on which other clips share its
// process, nor on their order: the grouping (which depends on timing) cannot change the bytes.
// Clips of any codec and setting share a process, so a batch costs two processes however its
// settings are spread.
//
// Failure: a process that exits non-zero, is killed, or outlives its watchdog (20 s + audio / 2,
// i.e. slower than 2x real time) fails the flush; the flush is then retried one clip per process,
// so a clip that breaks ffmpeg costs that one item (a per-item error naming the codec, setting
// and ffmpeg's last stderr line) and never its neighbours.
import { spawn, type ChildProcess } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { locateFfmpeg } from "./ffmpeg.js";
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

function toFloat32(chunks: Buffer[]): Float32Array {
  const total = chunks.reduce((a, c) => a + c.length, 0);
  const out = new Float32Array(Math.floor(total / 4));
  const bytes = new Uint8Array(out.buffer);
  let o = 0;
  for (const c of chunks) {
    const take = Math.min(c.length, bytes.length - o);
    bytes.set(c.subarray(0, take), o);
    o += take;
  }
  return out;
}

/** Argument arrays for one process pair over `jobs` (exported for tests and the benchmark). */
export function ffmpegArgs(jobs: Array<{ setting: CodecSetting }>): { encode: string[]; decode: string[] } {
  const n = jobs.length;
  const common = ["-hide_banner", "-nostdin", "-v", "error"];
  const encode = [...common];
  for (const [k, j] of jobs.entries()) encode.push("-f", "f32le", "-ar", String(j.setting.sample_rate), "-ac", "1", "-i", `pipe:${3 + k}`);
  for (const [k, j] of jobs.entries()) {
    // bitexact: no encoder version string in the stream, so its size does not depend on the build.
    encode.push("-map", `${k}:a`, "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact", ...CODECS[j.setting.codec].encodeArgs(j.setting), `pipe:${3 + n + k}`);
  }
  const decode = [...common];
  for (const [k, j] of jobs.entries()) decode.push(...CODECS[j.setting.codec].decodeArgs(j.setting), "-i", `pipe:${3 + k}`);
  for (const [k] of jobs.entries()) decode.push("-map", `${k}:a`, "-ac", "1", "-f", "f32le", `pipe:${3 + n + k}`);
  return { encode, decode };
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  spawnError?: Error;
  timedOut?: boolean;
}

function spawnWithPipes(file: string, args: string[], pipes: number): { proc: ChildProcess; done: Promise<Exit> } {
  const stdio: Array<"ignore" | "pipe"> = ["ignore", "ignore", "pipe"];
  for (let i = 0; i < pipes; i++) stdio.push("pipe");
  const proc = spawn(file, args, { stdio });
  let stderr = "";
  proc.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString("utf8");
    if (stderr.length > 16384) stderr = stderr.slice(-8192);
  });
  // A child that dies early makes our writes fail with EPIPE: its exit status says why.
  for (const s of proc.stdio) (s as NodeJS.EventEmitter | null)?.on?.("error", () => {});
  const done = new Promise<Exit>((resolve) => {
    let spawnError: Error | undefined;
    proc.on("error", (e) => {
      spawnError = e;
      // 'close' may not follow a failed spawn.
      resolve({ code: null, signal: null, stderr, spawnError: e });
    });
    proc.on("close", (code, signal) => resolve({ code, signal, stderr, spawnError }));
  });
  return { proc, done };
}

async function withWatchdog(p: { proc: ChildProcess; done: Promise<Exit> }, timeoutMs: number): Promise<Exit> {
  const watchdog = setTimeout(() => {
    p.proc.kill("SIGKILL");
  }, timeoutMs);
  const started = performance.now();
  const exit = await p.done;
  clearTimeout(watchdog);
  return { ...exit, timedOut: exit.signal === "SIGKILL" && performance.now() - started >= timeoutMs - 50 };
}

function describeExit(what: string, e: Exit, timeoutMs: number): string | null {
  if (e.timedOut) return `${what} timed out after ${(timeoutMs / 1000).toFixed(timeoutMs < 10_000 ? 1 : 0)} s (killed)`;
  if (e.spawnError) return `${what} could not start: ${e.spawnError.message}`;
  if (e.code === 0) return null;
  const why = e.signal ? `killed by ${e.signal}` : `exit ${e.code}`;
  const said = lastLine(e.stderr);
  return `${what} failed (${why})${said ? `: ${said}` : ""}`;
}

/** Runs one process pair over `jobs`; resolves with one output per job or rejects with one message. */
export async function runProcessPair(jobs: Array<{ setting: CodecSetting; pcm: Float32Array }>, timeoutMs: number, ffmpeg = locateFfmpeg().path): Promise<TranscodeOutput[]> {
  const n = jobs.length;
  const { encode, decode } = ffmpegArgs(jobs);
  const started = performance.now();
  const what = (role: string) => `ffmpeg ${role} of ${jobs.map((j) => settingKey(j.setting)).filter((v, i, a) => a.indexOf(v) === i).join(", ")}`;
  const encoded: Buffer[][] = jobs.map(() => []);
  const enc = spawnWithPipes(ffmpeg, encode, 2 * n);
  for (let k = 0; k < n; k++) (enc.proc.stdio[3 + n + k] as Readable | null)?.on("data", (c: Buffer) => encoded[k].push(c));
  for (let k = 0; k < n; k++) (enc.proc.stdio[3 + k] as Writable | null)?.end(f32Bytes(jobs[k].pcm));
  const encExit = await withWatchdog(enc, timeoutMs);
  const encProblem = describeExit(what("encoder"), encExit, timeoutMs);
  if (encProblem) throw new CodecRunError(encProblem);
  // The decoder starts once every stream is complete: fed while the encoder is still writing,
  // ffmpeg's mp3 demuxer sometimes drops the first frames of a stream that arrives in pieces
  // (measured: 8 of 48 streams lost 1152 samples), which would make the delay depend on timing.
  const streams = encoded.map((chunks) => Buffer.concat(chunks));
  const dec = spawnWithPipes(ffmpeg, decode, 2 * n);
  const decoded: Buffer[][] = jobs.map(() => []);
  for (let k = 0; k < n; k++) (dec.proc.stdio[3 + n + k] as Readable | null)?.on("data", (c: Buffer) => decoded[k].push(c));
  for (let k = 0; k < n; k++) (dec.proc.stdio[3 + k] as Writable | null)?.end(streams[k]);
  const decExit = await withWatchdog(dec, Math.max(1000, timeoutMs - (performance.now() - started)));
  const decProblem = describeExit(what("decoder"), decExit, timeoutMs);
  if (decProblem) throw new CodecRunError(decProblem);
  return jobs.map((_, k) => ({
    pcm: toFloat32(decoded[k]),
    encoded: new Uint8Array(streams[k].buffer, streams[k].byteOffset, streams[k].byteLength),
  }));
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
      const outs = await runProcessPair(jobs, this.options.timeoutMs(audioS));
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
