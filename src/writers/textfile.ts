// A text file (JSONL, Kaldi tables, YAML) written under a temporary name and renamed when complete,
// gzip-compressed as it goes when its name ends in `.gz`: Lhotse and NeMo choose gzip by the file
// name's suffix, not by content (FORMATS.md §3, lhotse `GzipIOBackend`), so name and content must agree.
import { once } from "node:events";
import { createGzip, type Gzip } from "node:zlib";
import { AtomicFile } from "./atomic.js";

/** Text gathered before it goes to the compressor (few stream round trips). */
const TEXT_CHUNK_CHARS = 1 << 18;
/** Bytes gathered before they go to disk (bounded memory, few syscalls). */
const FLUSH_BYTES = 1 << 20;

export class TextFileWriter {
  private text: string[] = [];
  private textChars = 0;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private gzipError: Error | null = null;

  private constructor(
    private readonly file: AtomicFile,
    private readonly gzip: Gzip | null,
  ) {
    if (gzip) {
      gzip.on("data", (chunk: Buffer) => {
        this.pending.push(chunk);
        this.pendingBytes += chunk.length;
      });
      gzip.on("error", (err) => {
        this.gzipError = err;
      });
    }
  }

  get finalPath(): string {
    return this.file.finalPath;
  }

  /** Opens `finalPath` for writing (under a temporary name); gzip when it ends in `.gz`. */
  static async create(finalPath: string): Promise<TextFileWriter> {
    const file = await AtomicFile.create(finalPath);
    return new TextFileWriter(file, finalPath.endsWith(".gz") ? createGzip({ level: 6 }) : null);
  }

  async write(text: string): Promise<void> {
    this.text.push(text);
    this.textChars += text.length;
    if (this.textChars >= TEXT_CHUNK_CHARS) await this.encodeText();
  }

  /** Gathered text → bytes (through gzip when compressing) → file once enough has piled up. */
  private async encodeText(): Promise<void> {
    if (this.gzipError) throw this.gzipError;
    if (this.text.length) {
      const bytes = Buffer.from(this.text.join(""), "utf8");
      this.text = [];
      this.textChars = 0;
      if (this.gzip) {
        if (!this.gzip.write(bytes)) await once(this.gzip, "drain");
      } else {
        this.pending.push(bytes);
        this.pendingBytes += bytes.length;
      }
    }
    if (this.pendingBytes >= FLUSH_BYTES) await this.flush();
  }

  /** One JSON object and "\n". */
  async writeJsonLine(value: unknown): Promise<void> {
    await this.write(JSON.stringify(value) + "\n");
  }

  private async flush(): Promise<void> {
    if (!this.pending.length) return;
    const chunks = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    await this.file.write(chunks);
  }

  /** Ends the gzip stream (if any), flushes, fsyncs and renames to the final name. */
  async commit(): Promise<{ sha256: string; bytes: number }> {
    await this.encodeText();
    if (this.gzip) {
      const ended = once(this.gzip, "end");
      this.gzip.end();
      await ended;
      if (this.gzipError) throw this.gzipError;
    }
    await this.flush();
    return this.file.commit();
  }

  async abort(): Promise<void> {
    this.gzip?.destroy();
    this.text = [];
    this.pending = [];
    await this.file.abort();
  }
}
