// Byte-wise (LC_ALL=C) sorting of text lines with bounded memory: lines are kept in memory up to a
// limit, then sorted and written out as a run file; the runs are merged when the lines are read back.
// Kaldi wants its tables in `LC_ALL=C sort` order (FORMATS.md §4, utils/validate_data_dir.sh).
import { createReadStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { AtomicFile } from "./atomic.js";

/**
 * Compares strings in the order of their UTF-8 bytes (what `LC_ALL=C sort` does). That is code point
 * order; JS `<` compares UTF-16 code units, which differs when a character above U+FFFF meets one in
 * U+E000..U+FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    // At the first differing unit, compare code points. If both are low surrogates the high ones before
    // them were equal, and comparing the units is comparing the code points.
    const pa = a.codePointAt(i)!;
    const pb = b.codePointAt(i)!;
    return pa < pb ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Lines held in memory before a run file is written. */
export const DEFAULT_MAX_LINES_IN_MEMORY = 200_000;

async function* fileLines(file: string): AsyncGenerator<string> {
  const rl = createInterface({ input: createReadStream(file, { encoding: "utf8" }), crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
  }
}

/**
 * Sorts lines (no "\n" inside) byte-wise. Below `maxLinesInMemory` lines it sorts in memory; above, it
 * spills sorted runs of that many lines into `tmpDir` and merges them on `sorted()`. Call `cleanup()`
 * when done (it removes `tmpDir`).
 */
export class ExternalLineSorter {
  private lines: string[] = [];
  private runs: string[] = [];
  private count = 0;

  constructor(
    private readonly tmpDir: string,
    private readonly maxLinesInMemory = DEFAULT_MAX_LINES_IN_MEMORY,
  ) {
    if (!Number.isInteger(maxLinesInMemory) || maxLinesInMemory < 1) throw new Error(`maxLinesInMemory must be a positive integer, got ${maxLinesInMemory}`);
  }

  get size(): number {
    return this.count;
  }

  /** Run files written so far (for tests and logs). */
  get runCount(): number {
    return this.runs.length;
  }

  async add(line: string): Promise<void> {
    if (line.includes("\n") || line.includes("\r")) throw new Error(`line to sort contains a line break: ${JSON.stringify(line.slice(0, 80))}`);
    this.lines.push(line);
    this.count++;
    if (this.lines.length >= this.maxLinesInMemory) await this.spill();
  }

  private async spill(): Promise<void> {
    this.lines.sort(compareUtf8);
    await mkdir(this.tmpDir, { recursive: true });
    const file = await AtomicFile.create(path.join(this.tmpDir, `run-${String(this.runs.length).padStart(6, "0")}`));
    try {
      const CHUNK = 4096;
      for (let i = 0; i < this.lines.length; i += CHUNK) {
        await file.write(Buffer.from(this.lines.slice(i, i + CHUNK).join("\n") + "\n", "utf8"));
      }
      await file.commit();
    } catch (e) {
      await file.abort();
      throw e;
    }
    this.runs.push(file.finalPath);
    this.lines = [];
  }

  /** Every line added, in byte-wise order (a k-way merge of the runs when there are any). */
  async *sorted(): AsyncGenerator<string> {
    if (!this.runs.length) {
      this.lines.sort(compareUtf8);
      yield* this.lines;
      return;
    }
    if (this.lines.length) await this.spill();
    const heads: Array<{ it: AsyncGenerator<string>; line: string }> = [];
    for (const run of this.runs) {
      const it = fileLines(run);
      const first = await it.next();
      if (!first.done) heads.push({ it, line: first.value });
    }
    try {
      // A linear scan over the heads: runs are few (lines / maxLinesInMemory).
      while (heads.length) {
        let best = 0;
        for (let i = 1; i < heads.length; i++) if (compareUtf8(heads[i].line, heads[best].line) < 0) best = i;
        yield heads[best].line;
        const next = await heads[best].it.next();
        if (next.done) heads.splice(best, 1);
        else heads[best].line = next.value;
      }
    } finally {
      for (const h of heads) await h.it.return(undefined);
    }
  }

  async cleanup(): Promise<void> {
    this.lines = [];
    this.runs = [];
    await rm(this.tmpDir, { recursive: true, force: true });
  }
}
