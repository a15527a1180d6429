import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { Header, readCsvRecords, readLines } from "../src/sources/text.js";
import { pythonJson } from "./helpers/python.js";

const dir = mkdtempSync(path.join(tmpdir(), "augment-sources-text-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function lines(file: string): Promise<Array<[number, string]>> {
  const out: Array<[number, string]> = [];
  for await (const l of readLines(file)) out.push([l.line, l.text]);
  return out;
}

async function records(file: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const r of readCsvRecords(file)) out.push("error" in r ? r : r.fields);
  return out;
}

describe("readLines", () => {
  it("numbers lines, strips a BOM and CRLF, reads gzip by suffix", async () => {
    const f = path.join(dir, "a.txt");
    writeFileSync(f, "\uFEFFone\r\ntwo\n\nfour");
    expect(await lines(f)).toEqual([
      [1, "one"],
      [2, "two"],
      [3, ""],
      [4, "four"],
    ]);
    const g = path.join(dir, "a.txt.gz");
    writeFileSync(g, gzipSync("x\ny\n"));
    expect(await lines(g)).toEqual([
      [1, "x"],
      [2, "y"],
    ]);
  });

  it("rejects a missing file", async () => {
    await expect(lines(path.join(dir, "nope"))).rejects.toThrow(/ENOENT/);
  });
});

describe("readCsvRecords", () => {
  it("agrees with Python's csv module on quotes, escapes, commas and line breaks across chunk boundaries", async () => {
    // Deterministic pseudo-random fields, long enough that records straddle the 64 KiB read chunks.
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const alphabet = ['a', 'b', ' ', ',', '"', "\n", "é", "x", "\r\n", "1"];
    const rows: string[][] = [];
    for (let r = 0; r < 4000; r++) {
      const row: string[] = [];
      for (let c = 0; c < 4; c++) {
        let s = "";
        const len = rand(40);
        for (let i = 0; i < len; i++) s += alphabet[rand(alphabet.length)];
        row.push(s);
      }
      rows.push(row);
    }
    const quote = (s: string): string => (/[",\r\n]/.test(s) || s === "" ? `"${s.replace(/"/g, '""')}"` : s);
    const csv = rows.map((row) => row.map(quote).join(",")).join("\r\n");
    const f = path.join(dir, "big.csv");
    writeFileSync(f, csv);
    const ours = await records(f);
    const python = pythonJson<string[][]>(
      "import csv,json,sys\nwith open(sys.argv[1], newline='', encoding='utf-8') as fh: print(json.dumps(list(csv.reader(fh))))",
      [f],
    );
    expect(ours).toEqual(python);
    expect(ours).toEqual(rows);
  });

  it("skips blank lines, keeps stray quotes in unquoted fields, reports an unterminated quote", async () => {
    const f = path.join(dir, "odd.csv");
    writeFileSync(f, 'a,b\n\nsay "hi",2\n"x""y",3\n"open,4\nmore\n');
    const out: unknown[] = [];
    for await (const r of readCsvRecords(f)) out.push(r);
    expect(out).toEqual([
      { fields: ["a", "b"], line: 1 },
      { fields: ['say "hi"', "2"], line: 3 },
      { fields: ['x"y', "3"], line: 4 },
      { error: "unterminated quoted field", line: 5 },
    ]);
  });
});

describe("Header", () => {
  it("finds columns by name, tolerating missing and repeated ones", () => {
    const h = new Header(["path", "accents", "sentence", "accents"]);
    expect(h.get(["p", "", "s", "Irish"], "accents")).toBe("Irish");
    expect(h.get(["p", "US", "s", "Irish"], "accents")).toBe("US");
    expect(h.get(["p", "", "s", ""], "accents")).toBe("");
    expect(h.get(["p"], "sentence")).toBeUndefined();
    expect(h.get(["p"], "locale")).toBeUndefined();
    expect(h.unique()).toEqual(["path", "accents", "sentence"]);
  });
});
