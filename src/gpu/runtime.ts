// The host side of every GPU batch: uploads through a reused MAP_WRITE staging buffer in chunks,
// readback through a reused MAP_READ buffer, a watchdog on every wait, and explicit buffer
// destruction. Why (shared/gpu/README.md, measured with Dawn on an H100): one 256 MiB writeBuffer
// killed the process and one of 64 MiB left the next onSubmittedWorkDone unresolved, while a
// reused mapped staging buffer moved 4-8 GB/s; reading mapped memory from JS runs at 1.3-1.9 GB/s,
// so readback should be small (int16 PCM converted on the GPU).
import type { GpuHandle } from "./device.js";

/** Bytes per staging chunk (16 MiB worked every time on the H100; 64 MiB single writes hung). */
export const STAGING_CHUNK = 16 * 1024 * 1024;

/** A GPU wait that did not finish in time, or a device that went away: the batch is redone on the CPU. */
export class GpuFault extends Error {
  constructor(
    message: string,
    /** true: the device cannot be trusted any more (hang, loss); false: this batch only (e.g. a validation error). */
    readonly fatal: boolean,
  ) {
    super(message);
    this.name = "GpuFault";
  }
}

export interface UploadPiece {
  buffer: GPUBuffer;
  /** Byte offset in `buffer` (multiple of 4). */
  offset: number;
  data: ArrayBufferView;
}

export interface ReadPiece {
  buffer: GPUBuffer;
  offset: number;
  /** Bytes (multiple of 4). */
  size: number;
}

const align4 = (n: number) => (n + 3) & ~3;

export class GpuRuntime {
  readonly device: GPUDevice;
  readonly info: GpuHandle["info"];
  readonly software: boolean;
  /** Seconds a single wait may take before the device is declared hung. */
  watchdogS: number;
  /** Seconds GPU work (submit → completion) was in flight, for the busy share. */
  busyS = 0;
  private busySince = 0;
  private busyDepth = 0;
  private lost: string | null = null;
  private readonly lostPromise: Promise<string>;
  private readonly staging: GPUBuffer[] = [];
  private stagingNext = 0;
  private readBuf: GPUBuffer | null = null;
  private readonly live = new Set<GPUBuffer>();
  /** Test hook: makes the next wait hang (never resolve) or fail, to exercise the watchdog. */
  fault: "hang" | "fail" | null = null;

  constructor(handle: GpuHandle, opts: { watchdogS?: number } = {}) {
    this.device = handle.device;
    this.info = handle.info;
    this.software = handle.software;
    this.watchdogS = opts.watchdogS ?? 120;
    this.lostPromise = this.device.lost.then((info) => {
      this.lost = `GPU device lost: ${info.message || info.reason}`;
      return this.lost;
    });
    this.device.onuncapturederror = (ev: any) => {
      // Errors outside an error scope: remembered so the batch that caused them fails.
      this.uncaptured ??= String(ev?.error?.message ?? ev);
    };
  }

  private uncaptured: string | null = null;

  get isLost(): boolean {
    return this.lost !== null;
  }

  /** A tracked buffer: destroyed by destroyBuffers() or destroy() if its owner does not. */
  createBuffer(label: string, size: number, usage: number): GPUBuffer {
    if (this.lost) throw new GpuFault(this.lost, true);
    const b = this.device.createBuffer({ label, size: Math.max(16, align4(size)), usage });
    this.live.add(b);
    return b;
  }

  release(...buffers: Array<GPUBuffer | null | undefined>): void {
    for (const b of buffers) {
      if (!b) continue;
      this.live.delete(b);
      b.destroy();
    }
  }

  /** Awaits a GPU promise under the watchdog; rejects with GpuFault on timeout or device loss. */
  async guard<T>(what: string, p: Promise<T>): Promise<T> {
    // A promise given up on (timeout, injected fault) may still reject later, e.g. with an
    // AbortError when its buffer is destroyed: that must not be an unhandled rejection.
    p.catch(() => undefined);
    if (this.lost) throw new GpuFault(this.lost, true);
    const injected = this.fault;
    if (injected) {
      this.fault = null;
      if (injected === "hang") p = new Promise<T>(() => undefined);
      else p = Promise.reject(new GpuFault(`injected GPU failure at ${what}`, false));
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new GpuFault(`GPU wait (${what}) took longer than ${this.watchdogS} s`, true)), this.watchdogS * 1000);
    });
    const lost = this.lostPromise.then((m) => Promise.reject(new GpuFault(m, true)));
    try {
      return await Promise.race([p, timeout, lost]);
    } catch (e: any) {
      if (e instanceof GpuFault) throw e;
      throw new GpuFault(`${what}: ${e?.message ?? e}`, false);
    } finally {
      clearTimeout(timer);
    }
  }

  private beginBusy(): void {
    if (this.busyDepth++ === 0) this.busySince = performance.now();
  }

  private endBusy(): void {
    if (--this.busyDepth === 0) this.busyS += (performance.now() - this.busySince) / 1000;
  }

  /** Submits command buffers under error scopes; validation and out-of-memory errors become GpuFault. */
  private async submit(what: string, commands: GPUCommandBuffer[]): Promise<void> {
    this.device.pushErrorScope("out-of-memory");
    this.device.pushErrorScope("validation");
    this.device.queue.submit(commands);
    const validation = await this.guard(`${what}: error scope`, this.device.popErrorScope());
    const oom = await this.guard(`${what}: error scope`, this.device.popErrorScope());
    const err = validation ?? oom ?? (this.uncaptured ? { message: this.uncaptured } : null);
    this.uncaptured = null;
    if (err) throw new GpuFault(`${what}: ${err.message}`, false);
  }

  /**
   * Submits and waits until the GPU is done. The wait is a map of a 4-byte buffer written last,
   * so every wait of the engine is a mapAsync (as the readback's is). On lavapipe,
   * queue.onSubmittedWorkDone() crashed 5 runs in 15 before the fix in device.ts; after it both
   * behave, but one completion mechanism is less to go wrong.
   */
  async submitAndWait(what: string, commands: GPUCommandBuffer[]): Promise<void> {
    this.fenceSrc ??= this.device.createBuffer({ label: "fence source", size: 4, usage: GPUBufferUsage.COPY_SRC });
    this.fenceDst ??= this.device.createBuffer({ label: "fence", size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = this.device.createCommandEncoder({ label: "fence" });
    enc.copyBufferToBuffer(this.fenceSrc, 0, this.fenceDst, 0, 4);
    this.beginBusy();
    try {
      await this.submit(what, [...commands, enc.finish()]);
      await this.guard(what, this.fenceDst.mapAsync(GPUMapMode.READ));
      this.fenceDst.unmap();
    } catch (e) {
      this.fenceDst.destroy();
      this.fenceDst = null;
      throw e;
    } finally {
      this.endBusy();
    }
  }

  private fenceSrc: GPUBuffer | null = null;
  private fenceDst: GPUBuffer | null = null;

  private stagingBuffer(): GPUBuffer {
    // Two, used in turn: one is filled while the copy out of the other runs.
    if (this.staging.length < 2) {
      const b = this.device.createBuffer({ label: "staging", size: STAGING_CHUNK, usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC });
      this.staging.push(b);
      return b;
    }
    const b = this.staging[this.stagingNext];
    this.stagingNext = (this.stagingNext + 1) % this.staging.length;
    return b;
  }

  /**
   * Writes the pieces to their buffers through the staging buffers, ≤ STAGING_CHUNK per copy.
   * Pieces may be larger than a chunk (split) or tiny (packed together).
   */
  async upload(pieces: UploadPiece[]): Promise<void> {
    let i = 0;
    let pieceOffset = 0;
    while (i < pieces.length) {
      const staging = this.stagingBuffer();
      // mapAsync also waits until the previous copy out of this buffer has finished.
      this.beginBusy();
      try {
        await this.guard("staging map", staging.mapAsync(GPUMapMode.WRITE));
      } catch (e) {
        // A map that failed or was given up on leaves the buffer in an unknown state: replace it.
        this.staging.splice(this.staging.indexOf(staging), 1);
        this.stagingNext = 0;
        staging.destroy();
        throw e;
      } finally {
        this.endBusy();
      }
      const mapped = new Uint8Array(staging.getMappedRange());
      const copies: Array<{ from: number; to: GPUBuffer; toOffset: number; size: number }> = [];
      let used = 0;
      while (i < pieces.length && used < STAGING_CHUNK) {
        const p = pieces[i];
        const bytes = new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength);
        const take = Math.min(bytes.length - pieceOffset, STAGING_CHUNK - used);
        mapped.set(bytes.subarray(pieceOffset, pieceOffset + take), used);
        const size = align4(take);
        if (size > take) mapped.fill(0, used + take, used + size);
        copies.push({ from: used, to: p.buffer, toOffset: p.offset + pieceOffset, size });
        used += size;
        pieceOffset += take;
        if (pieceOffset >= bytes.length) {
          i++;
          pieceOffset = 0;
        }
      }
      staging.unmap();
      const enc = this.device.createCommandEncoder({ label: "upload" });
      for (const c of copies) if (c.size > 0) enc.copyBufferToBuffer(staging, c.from, c.to, c.toOffset, c.size);
      this.device.queue.submit([enc.finish()]);
    }
  }

  /**
   * Copies the pieces into the readback buffer after `commands` and returns their bytes: one
   * submit, one wait for the whole batch's results.
   */
  async readback(what: string, commands: GPUCommandBuffer[], pieces: ReadPiece[]): Promise<ArrayBuffer[]> {
    const total = pieces.reduce((n, p) => n + align4(p.size), 0);
    if (!this.readBuf || this.readBuf.size < total) {
      this.readBuf?.destroy();
      // Grown in steps so a slowly growing batch does not reallocate every time.
      this.readBuf = this.device.createBuffer({ label: "readback", size: Math.max(1 << 20, align4(Math.ceil(total * 1.25))), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    }
    const enc = this.device.createCommandEncoder({ label: `${what}: readback` });
    let at = 0;
    const offsets: number[] = [];
    for (const p of pieces) {
      offsets.push(at);
      if (p.size > 0) enc.copyBufferToBuffer(p.buffer, p.offset, this.readBuf, at, align4(p.size));
      at += align4(p.size);
    }
    const rb = this.readBuf;
    this.beginBusy();
    try {
      await this.submit(what, [...commands, enc.finish()]);
      // The map completes when the whole submission has run.
      await this.guard(what, rb.mapAsync(GPUMapMode.READ, 0, Math.max(4, align4(total))));
    } catch (e) {
      // As for staging: a readback buffer whose map failed or was given up on is not reused.
      if (this.readBuf === rb) this.readBuf = null;
      rb.destroy();
      throw e;
    } finally {
      this.endBusy();
    }
    try {
      const mapped = rb.getMappedRange(0, align4(total));
      // One slice per piece: mapped memory is slow to read, so each byte is read once.
      return pieces.map((p, k) => mapped.slice(offsets[k], offsets[k] + p.size));
    } finally {
      rb.unmap();
    }
  }

  /** Destroys every buffer this runtime made, and the device. */
  destroy(): void {
    for (const b of this.live) b.destroy();
    this.live.clear();
    for (const b of this.staging) b.destroy();
    this.staging.length = 0;
    this.readBuf?.destroy();
    this.readBuf = null;
    this.fenceSrc?.destroy();
    this.fenceDst?.destroy();
    this.device.destroy();
  }
}
