// Audio buffers reused across items. A fresh multi-megabyte typed array costs more than the loop
// that fills it (the kernel maps and zeroes new pages, and V8 counts it as external memory that
// triggers garbage collections): about 5 ns per sample against 3 for a multiply, measured on
// Node 20. An engine thread therefore keeps the buffers of finished items and hands them to the
// next ones. Each item takes its buffers from an ItemBuffers scope and gives them all back when it
// is done, so a buffer is never shared by two items that are in flight at once.

/** Free buffers by size class (powers of two from 64 KiB), bounded in total bytes. */
export class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private freeBytes = 0;
  constructor(private readonly maxFreeBytes = 96 * 1024 * 1024) {}

  /** A buffer of at least `bytes` bytes; its contents are whatever an earlier item left. */
  acquire(bytes: number): ArrayBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    const hit = list?.pop();
    if (hit) {
      this.freeBytes -= size;
      return hit;
    }
    return new ArrayBuffer(size);
  }

  release(buffer: ArrayBuffer): void {
    const size = buffer.byteLength;
    // Buffers beyond the bound (a burst of long items) are left to the garbage collector.
    if (this.freeBytes + size > this.maxFreeBytes || size !== sizeClass(size)) return;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buffer);
    this.freeBytes += size;
  }
}

function sizeClass(bytes: number): number {
  return Math.max(1 << 16, 2 ** Math.ceil(Math.log2(Math.max(1, bytes))));
}

/**
 * One item's buffers: views of pool buffers, valid until release(). Contents are not zeroed:
 * callers write every element they read.
 */
export class ItemBuffers {
  private readonly taken: ArrayBuffer[] = [];
  constructor(private readonly pool: BufferPool) {}

  f32(length: number): Float32Array {
    return new Float32Array(this.take(length * 4), 0, length);
  }

  i16(length: number): Int16Array {
    return new Int16Array(this.take(length * 2), 0, length);
  }

  u8(length: number): Uint8Array {
    return new Uint8Array(this.take(length), 0, length);
  }

  private take(bytes: number): ArrayBuffer {
    const buffer = this.pool.acquire(bytes);
    this.taken.push(buffer);
    return buffer;
  }

  /** Gives back the buffer under `view` now, if this scope took it; no view of it may be used afterwards. */
  releaseOne(view: ArrayBufferView): void {
    const at = this.taken.indexOf(view.buffer as ArrayBuffer);
    if (at < 0) return;
    this.taken.splice(at, 1);
    this.pool.release(view.buffer as ArrayBuffer);
  }

  /** Gives every buffer back; no view taken from this scope may be used afterwards. */
  release(): void {
    for (const b of this.taken) this.pool.release(b);
    this.taken.length = 0;
  }
}
