// Files appear under their final name only when complete: write to a temporary name in the same
// folder, fsync, rename. A crash leaves at worst a `.tmp-*` file, never a partial final file.
import { createHash, type Hash } from "node:crypto";
import { mkdir, open, rename, rm, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { crashPoint, injectWriteFault } from "./faults.js";

/**
 * A write to the output failed (full disk, I/O error, permissions). Names the final path and the
 * system's reason in one line; the run stops, and the temporary file is removed by `abort`.
 */
export class WriteError extends Error {
  readonly code: string | undefined;
  constructor(readonly file: string, cause: unknown) {
    const e = cause as NodeJS.ErrnoException;
    // "ENOSPC: no space left on device, write" → "no space left on device (ENOSPC)"
    const reason = e?.code ? `${String(e.message).replace(/^[A-Z]+: /, "").replace(/, \w+( '.*')?$/, "")} (${e.code})` : String(e?.message ?? e);
    super(`cannot write ${file}: ${reason}`, { cause });
    this.name = "WriteError";
    this.code = e?.code;
  }
}

export function tmpName(finalPath: string): string {
  return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.tmp-${process.pid}`);
}

/** A file being written under a temporary name, with its sha256 computed as it goes. */
export class AtomicFile {
  private readonly hash: Hash = createHash("sha256");
  private bytes = 0;
  private constructor(readonly finalPath: string, private readonly tmp: string, private readonly fh: FileHandle) {}

  static async create(finalPath: string): Promise<AtomicFile> {
    const tmp = tmpName(finalPath);
    try {
      await mkdir(path.dirname(finalPath), { recursive: true });
      const fh = await open(tmp, "w");
      return new AtomicFile(finalPath, tmp, fh);
    } catch (e) {
      throw new WriteError(finalPath, e);
    }
  }

  async write(chunks: Uint8Array | Uint8Array[]): Promise<void> {
    const list = Array.isArray(chunks) ? chunks : [chunks];
    let total = 0;
    for (const c of list) total += c.length;
    try {
      injectWriteFault(this.finalPath, total);
      const { bytesWritten } = await this.fh.writev(list);
      // libuv reports a writev that stopped part-way (a disk filling up) as a short count, not an
      // error: finish with plain writes, which either complete or throw the real error (ENOSPC).
      if (bytesWritten < total) {
        const rest = Buffer.concat(list).subarray(bytesWritten);
        for (let at = 0; at < rest.length; ) {
          const r = await this.fh.write(rest, at, rest.length - at);
          if (r.bytesWritten <= 0) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
          at += r.bytesWritten;
        }
      }
    } catch (e) {
      throw new WriteError(this.finalPath, e);
    }
    for (const c of list) this.hash.update(c);
    this.bytes += total;
    crashPoint("atomic-write");
  }

  /** Flushes, renames to the final name; returns sha256 and size. */
  async commit(): Promise<{ sha256: string; bytes: number }> {
    try {
      await this.fh.sync();
      await this.fh.close();
      crashPoint("atomic-fsync");
      await rename(this.tmp, this.finalPath);
    } catch (e) {
      throw new WriteError(this.finalPath, e);
    }
    crashPoint("atomic-rename");
    return { sha256: this.hash.digest("hex"), bytes: this.bytes };
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await rm(this.tmp, { force: true });
  }
}

/** Writes a whole file atomically. */
export async function writeFileAtomic(finalPath: string, data: string | Uint8Array): Promise<{ sha256: string; bytes: number }> {
  const f = await AtomicFile.create(finalPath);
  try {
    await f.write(typeof data === "string" ? Buffer.from(data, "utf8") : data);
    return await f.commit();
  } catch (e) {
    await f.abort();
    throw e;
  }
}
