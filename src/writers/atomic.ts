// Files appear under their final name only when complete: write to a temporary name in the same
// folder, fsync, rename. A crash leaves at worst a `.tmp-*` file, never a partial final file.
import { createHash, type Hash } from "node:crypto";
import { mkdir, open, rename, rm, type FileHandle } from "node:fs/promises";
import path from "node:path";

export function tmpName(finalPath: string): string {
  return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.tmp-${process.pid}`);
}

/** A file being written under a temporary name, with its sha256 computed as it goes. */
export class AtomicFile {
  private readonly hash: Hash = createHash("sha256");
  private bytes = 0;
  private constructor(readonly finalPath: string, private readonly tmp: string, private readonly fh: FileHandle) {}

  static async create(finalPath: string): Promise<AtomicFile> {
    await mkdir(path.dirname(finalPath), { recursive: true });
    const tmp = tmpName(finalPath);
    const fh = await open(tmp, "w");
    return new AtomicFile(finalPath, tmp, fh);
  }

  async write(chunks: Uint8Array | Uint8Array[]): Promise<void> {
    const list = Array.isArray(chunks) ? chunks : [chunks];
    for (const c of list) {
      this.hash.update(c);
      this.bytes += c.length;
    }
    await this.fh.writev(list);
  }

  /** Flushes, renames to the final name; returns sha256 and size. */
  async commit(): Promise<{ sha256: string; bytes: number }> {
    await this.fh.sync();
    await this.fh.close();
    await rename(this.tmp, this.finalPath);
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
