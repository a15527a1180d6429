// Streaming text readers: lines (JSONL, TSV, Kaldi files) and RFC 4180 CSV records. Memory is bounded by
// the longest line or record.
import { open } from "node:fs/promises";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";

export interface Line {
  text: string;
  /** 1-based line number. */
  line: number;
}

async function openText(file: string): Promise<Readable> {
  // Open first so that a missing or unreadable file rejects here, not inside readline's iterator.
  const handle = await open(file, "r");
  // The stream owns the handle (closes it at end or on destroy); a bare fd would be closed twice.
  const raw: Readable = handle.createReadStream({ autoClose: true });
  // A `.gz` suffix means gzip, as Lhotse and NeMo decide it (by name, not content).
  const stream: Readable = file.endsWith(".gz") ? raw.pipe(createGunzip()) : raw;
  if (stream !== raw) {
    raw.on("error", (err) => stream.destroy(err));
    // A reader that stops early destroys the gunzip stream; the file under it must close too.
    stream.on("close", () => raw.destroy());
  }
  stream.setEncoding("utf8");
  return stream;
}

/** The lines of a text file (gzip if named `.gz`), without line ends or a leading BOM. */
export async function* readLines(file: string): AsyncGenerator<Line> {
  const input = await openText(file);
  let failure: unknown;
  input.on("error", (err) => {
    failure = err;
  });
  const rl = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of rl) {
      line++;
      yield { text: line === 1 && text.startsWith("\uFEFF") ? text.slice(1) : text, line };
    }
  } finally {
    rl.close();
    input.destroy();
  }
  if (failure !== undefined) throw failure;
}

export type CsvRecord = { fields: string[]; line: number } | { error: string; line: number };

const enum CsvState {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
}

/**
 * RFC 4180 records: `,` separators, `"` quoting with `""` escapes, quoted line breaks, CRLF or LF.
 * Lenient where the RFC is silent: a `"` inside an unquoted field is literal, text after a closing quote
 * is kept. `line` is the line where the record starts. An unterminated quote at the end is an error record.
 */
export async function* readCsvRecords(file: string): AsyncGenerator<CsvRecord> {
  const input = await openText(file);
  let state = CsvState.FieldStart;
  let field = "";
  let fields: string[] = [];
  let line = 1;
  let recordLine = 1;
  let started = false;
  let first = true;
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      let s = chunk;
      if (first) {
        first = false;
        if (s.startsWith("\uFEFF")) s = s.slice(1);
      }
      const out: CsvRecord[] = [];
      for (let i = 0; i < s.length; i++) {
        const c = s[i];
        if (c === "\r" && state !== CsvState.Quoted) continue;
        if (state === CsvState.Quoted) {
          if (c === '"') state = CsvState.QuoteInQuoted;
          else {
            if (c === "\n") line++;
            field += c;
          }
          continue;
        }
        if (c === "\n") {
          if (started || fields.length > 0 || field !== "") {
            fields.push(field);
            out.push({ fields, line: recordLine });
          }
          fields = [];
          field = "";
          started = false;
          state = CsvState.FieldStart;
          line++;
          recordLine = line;
          continue;
        }
        started = true;
        if (c === ",") {
          fields.push(field);
          field = "";
          state = CsvState.FieldStart;
        } else if (state === CsvState.FieldStart && c === '"') {
          state = CsvState.Quoted;
        } else if (state === CsvState.QuoteInQuoted && c === '"') {
          field += '"';
          state = CsvState.Quoted;
        } else {
          field += c;
          state = CsvState.Unquoted;
        }
      }
      yield* out;
    }
    if (state === CsvState.Quoted) {
      yield { error: "unterminated quoted field", line: recordLine };
    } else if (started || fields.length > 0 || field !== "") {
      fields.push(field);
      yield { fields, line: recordLine };
    }
  } finally {
    input.destroy();
  }
}

/**
 * Column lookup by header name that tolerates missing and repeated columns (Common Voice once listed
 * `accents` twice): a repeated name yields the first non-empty value among its columns.
 */
export class Header {
  private readonly columns = new Map<string, number[]>();
  readonly names: string[];

  constructor(names: string[]) {
    this.names = names.map((n) => n.trim());
    this.names.forEach((name, i) => {
      const list = this.columns.get(name);
      if (list) list.push(i);
      else this.columns.set(name, [i]);
    });
  }

  has(name: string): boolean {
    return this.columns.has(name);
  }

  /** Distinct column names in header order. */
  unique(): string[] {
    return [...this.columns.keys()];
  }

  get(row: string[], name: string): string | undefined {
    const idx = this.columns.get(name);
    if (idx === undefined) return undefined;
    let value: string | undefined;
    for (const i of idx) {
      const v = row[i];
      if (v !== undefined && v !== "") return v;
      if (v !== undefined && value === undefined) value = v;
    }
    return value;
  }
}
