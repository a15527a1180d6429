// How the codec ops start ffmpeg: from a small long-lived helper process, not from the engine
// thread itself.
//
// Why: on Linux, Node (libuv) spawns with fork(), whose cost grows with the parent: the kernel
// copies the page tables of the whole process (every engine thread's heap and bank audio cache)
// and write-protects its pages, and the parent then takes a copy-on-write fault on each page it
// writes next. Measured (`node bench/codecs.mjs --fork-cost`, bench/README-codecs.md): CPU per
// ffmpeg spawned from a process holding 64 MB / 256 MB / 1 GB: 18 / 30 / 85 ms; through the
// helper 6-7 ms whatever the size (ffmpeg's own start-up included). Engine threads hold their bank
// audio caches (up to 256 MB each), so the direct cost grows with the threads and the banks. The
// helper is one plain Node process per engine thread (started on the first codec request; ~40 MB,
// ~0.1 s of CPU to start).
//
// The helper only runs processes: given an argument array, the bytes for each input pipe and the
// number of output pipes, it spawns the process (no shell), writes and closes the inputs, collects
// the outputs and the tail of stderr, enforces the watchdog, and answers once the process has
// exited. Which arguments, what they mean and every error message stay in batcher.ts.
//
// Lifetime: the helper's IPC channel is unreferenced while nothing is pending, so it never keeps a
// thread alive; it exits when that channel closes (the thread or process ended). closeSharedRunner()
// (the codec op's closeThread, called in each engine thread when the engine closes, and on
// 'beforeExit') ends and reaps it, so its CPU time and its ffmpeg children's count in the parent's
// rusage (`time augment run`) instead of vanishing with an orphan.
import { spawn, type ChildProcess } from "node:child_process";
import type { Readable, Writable } from "node:stream";

/** How one process ended, with what it wrote to its output pipes. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last ~8-16 KB of its stderr. */
  stderr: string;
  spawnError?: string;
  /** Killed by the watchdog. */
  timedOut?: boolean;
  /** One per output pipe (empty when it did not start). */
  outputs: Uint8Array[];
}

export interface ProcessRunner {
  /**
   * Runs `file args` with pipes 3 … 3+inputs.length-1 fed with `inputs` (then closed) and pipes
   * 3+inputs.length … read into `outputs` buffers; SIGKILL after `timeoutMs`.
   */
  run(file: string, args: string[], inputs: Uint8Array[], outputs: number, timeoutMs: number): Promise<RunResult>;
  /** Ends and reaps whatever this runner keeps alive. */
  close(): Promise<void>;
  /** The helper's pid, when there is one (the benchmark reads its CPU time in /proc). */
  readonly pid?: number;
}

/** Spawns from this thread (the main thread of a small process, one-off tools, the naive benchmark loop). */
export const directRunner: ProcessRunner = {
  run(file, args, inputs, outputs, timeoutMs) {
    const stdio: Array<"ignore" | "pipe"> = ["ignore", "ignore", "pipe"];
    for (let i = 0; i < inputs.length + outputs; i++) stdio.push("pipe");
    return new Promise((resolve) => {
      let proc: ChildProcess;
      try {
        proc = spawn(file, args, { stdio });
      } catch (e: any) {
        resolve({ code: null, signal: null, stderr: "", spawnError: String(e?.message ?? e), outputs: [] });
        return;
      }
      let stderr = "";
      let timedOut = false;
      let settled = false;
      const outs: Buffer[][] = Array.from({ length: outputs }, () => []);
      proc.stderr?.on("data", (c: Buffer) => {
        stderr += c.toString("utf8");
        if (stderr.length > 16384) stderr = stderr.slice(-8192);
      });
      // A child that dies early makes our writes fail with EPIPE: its exit status says why.
      for (const s of proc.stdio) (s as NodeJS.EventEmitter | null)?.on?.("error", () => {});
      for (let k = 0; k < outputs; k++) (proc.stdio[3 + inputs.length + k] as Readable | null)?.on("data", (c: Buffer) => outs[k].push(c));
      const watchdog = setTimeout(() => {
        timedOut = true;
        proc.kill("SIGKILL");
      }, timeoutMs);
      const finish = (r: Omit<RunResult, "stderr" | "outputs" | "timedOut">) => {
        if (settled) return;
        settled = true;
        clearTimeout(watchdog);
        resolve({ ...r, stderr, timedOut: timedOut && r.signal === "SIGKILL", outputs: outs.map((c) => Buffer.concat(c)) });
      };
      // 'close' may not follow a failed spawn.
      proc.on("error", (e) => finish({ code: null, signal: null, spawnError: e.message }));
      proc.on("close", (code, signal) => finish({ code, signal }));
      for (let k = 0; k < inputs.length; k++) (proc.stdio[3 + k] as Writable | null)?.end(inputs[k]);
    });
  },
  async close() {},
};

/**
 * The helper: CommonJS run with `node -e`, so it needs no file on disk (it works the same from
 * dist/ and from the TypeScript sources under the test runner). The same logic as directRunner.
 */
const HELPER_SOURCE = String.raw`"use strict";
const { spawn } = require("node:child_process");
const live = new Set();
process.on("disconnect", () => { for (const p of live) p.kill("SIGKILL"); process.exit(0); });
process.on("message", (m) => {
  const n = m.inputs.length;
  const stdio = ["ignore", "ignore", "pipe"];
  for (let i = 0; i < n + m.outputs; i++) stdio.push("pipe");
  const outs = [];
  for (let k = 0; k < m.outputs; k++) outs.push([]);
  let stderr = "", timedOut = false, settled = false, proc = null, watchdog = null;
  const finish = (r) => {
    if (settled) return;
    settled = true;
    if (watchdog) clearTimeout(watchdog);
    if (proc) live.delete(proc);
    r.id = m.id; r.stderr = stderr; r.timedOut = timedOut && r.signal === "SIGKILL";
    r.outputs = outs.map((c) => Buffer.concat(c));
    process.send(r, () => {});
  };
  try { proc = spawn(m.file, m.args, { stdio }); } catch (e) { finish({ code: null, signal: null, spawnError: String((e && e.message) || e) }); return; }
  live.add(proc);
  proc.stderr.on("data", (c) => { stderr += c.toString("utf8"); if (stderr.length > 16384) stderr = stderr.slice(-8192); });
  for (const s of proc.stdio) if (s && s.on) s.on("error", () => {});
  for (let k = 0; k < m.outputs; k++) proc.stdio[3 + n + k].on("data", (c) => outs[k].push(c));
  watchdog = setTimeout(() => { timedOut = true; proc.kill("SIGKILL"); }, m.timeoutMs);
  proc.on("error", (e) => finish({ code: null, signal: null, spawnError: e.message }));
  proc.on("close", (code, signal) => finish({ code, signal }));
  for (let k = 0; k < n; k++) proc.stdio[3 + k].end(Buffer.from(m.inputs[k].buffer, m.inputs[k].byteOffset, m.inputs[k].byteLength));
});
`;

interface HelperJob {
  resolve(r: RunResult): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** The helper process of one thread (see the top of this file). */
export class HelperRunner implements ProcessRunner {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private readonly jobs = new Map<number, HelperJob>();
  private nextId = 0;
  private stderr = "";
  /** The helper could not be started here (no usable Node binary): spawn directly instead. */
  private unavailable = false;

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private start(): ChildProcess {
    // Flags meant for the engine (a profiler, a loader of the test runner) are not the helper's.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, ["-e", HELPER_SOURCE], { stdio: ["ignore", "ignore", "pipe", "ipc"], serialization: "advanced", env });
    this.stderr = "";
    child.stderr?.on("data", (c: Buffer) => {
      this.stderr = (this.stderr + c.toString("utf8")).slice(-4096);
    });
    child.on("message", (m: RunResult & { id: number }) => {
      const job = this.jobs.get(m.id);
      if (!job) return;
      this.jobs.delete(m.id);
      clearTimeout(job.timer);
      this.updateRef();
      job.resolve({ code: m.code, signal: m.signal, stderr: m.stderr, spawnError: m.spawnError, timedOut: m.timedOut, outputs: m.outputs ?? [] });
    });
    this.exited = new Promise((resolve) => {
      const gone = (why: string) => {
        if (this.child === child) this.child = null;
        const said = this.stderr.trim().split("\n").pop();
        this.failAll(new Error(`the codec helper process ${why}${said ? `: ${said}` : ""}`));
        resolve();
      };
      child.on("error", (e) => {
        this.unavailable = true;
        gone(`could not run (${e.message})`);
      });
      child.on("exit", (code, signal) => gone(`exited (${signal ?? `exit ${code}`})`));
    });
    return child;
  }

  private failAll(e: Error): void {
    for (const job of this.jobs.values()) {
      clearTimeout(job.timer);
      job.reject(e);
    }
    this.jobs.clear();
  }

  /** Keeps the thread alive only while a job is pending. */
  private updateRef(): void {
    const c = this.child;
    if (!c) return;
    const ref = this.jobs.size > 0;
    for (const h of [c, c.channel, c.stderr] as Array<{ ref?(): void; unref?(): void } | null | undefined>) {
      if (ref) h?.ref?.();
      else h?.unref?.();
    }
  }

  run(file: string, args: string[], inputs: Uint8Array[], outputs: number, timeoutMs: number): Promise<RunResult> {
    if (this.unavailable) return directRunner.run(file, args, inputs, outputs, timeoutMs);
    const child = (this.child ??= this.start());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // The helper enforces timeoutMs; this one only catches a helper that stopped answering.
      const timer = setTimeout(() => {
        this.jobs.delete(id);
        reject(new Error(`the codec helper process did not answer within ${Math.round(timeoutMs / 1000) + 10} s`));
        child.kill("SIGKILL");
      }, timeoutMs + 10_000);
      this.jobs.set(id, { resolve, reject, timer });
      this.updateRef();
      // A view is cloned with its whole buffer: send only the bytes of each input.
      const own = inputs.map((b) => (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice()));
      child.send({ id, file, args, inputs: own, outputs, timeoutMs }, (err) => {
        if (!err) return;
        const job = this.jobs.get(id);
        if (!job) return;
        this.jobs.delete(id);
        clearTimeout(job.timer);
        this.updateRef();
        job.reject(new Error(`the codec helper process did not take the job: ${err.message}`));
      });
    });
  }

  async close(): Promise<void> {
    const c = this.child;
    if (!c) return;
    this.child = null;
    const exited = this.exited;
    // Reaping needs the handle referenced until 'exit'.
    c.ref();
    if (c.connected) c.disconnect();
    else c.kill("SIGKILL");
    await exited;
  }
}

let threadRunner: HelperRunner | null = null;

/** This thread's helper (started on first use). */
export function sharedRunner(): HelperRunner {
  if (!threadRunner) {
    threadRunner = new HelperRunner();
    // A library user's main thread that simply ends still reaps it.
    process.once("beforeExit", () => void closeSharedRunner());
  }
  return threadRunner;
}

/** Ends and reaps this thread's helper; a later codec request starts a new one. */
export async function closeSharedRunner(): Promise<void> {
  const r = threadRunner;
  threadRunner = null;
  await r?.close();
}
