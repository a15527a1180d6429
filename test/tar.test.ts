// The tar writer checked by Python's own tarfile (the reader webdataset, NeMo and Lhotse use).
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tarEnd, tarMember, checkMemberName } from "../src/writers/tar.js";
import { tempDir } from "./helpers/fixtures.js";
import { pythonJson } from "./helpers/python.js";

describe("tar writer", () => {
  it("writes regular ustar members Python reads back byte for byte, with mtime 0 and mode 0644", () => {
    const sizes = [0, 1, 511, 512, 513, 100_000];
    const chunks: Uint8Array[] = [];
    const datas = sizes.map((n, k) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + k) & 255));
    datas.forEach((d, k) => chunks.push(...tarMember(`spk-utt${k}.bin`, d)));
    chunks.push(tarEnd());
    const buf = Buffer.concat(chunks);
    expect(buf.length % 512).toBe(0);
    const file = path.join(tempDir(), "a.tar");
    writeFileSync(file, buf);
    const info = pythonJson<Array<[string, number, number, number, boolean, string]>>(
      `import tarfile, sys, json, hashlib
out = []
with tarfile.open(sys.argv[1], mode="r|*") as t:
    for m in t:
        data = t.extractfile(m).read()
        out.append([m.name, m.size, m.mtime, m.mode, m.isreg(), hashlib.sha256(data).hexdigest()])
print(json.dumps(out))`,
      [file],
    );

    expect(info.map((r) => r[0])).toEqual(sizes.map((_, k) => `spk-utt${k}.bin`));
    info.forEach((r, k) => {
      expect(r[1]).toBe(sizes[k]);
      expect(r[2]).toBe(0);
      expect(r[3]).toBe(0o644);
      expect(r[4]).toBe(true);
      expect(r[5]).toBe(createHash("sha256").update(datas[k]).digest("hex"));
    });
  });

  it("refuses names readers would mangle", () => {
    expect(() => checkMemberName("./a.flac")).toThrow();
    expect(() => checkMemberName("a/b.flac")).toThrow();
    expect(() => checkMemberName("é.flac")).toThrow();
    expect(() => checkMemberName("x".repeat(101))).toThrow();
    expect(() => checkMemberName("spk1-utt_0.flac")).not.toThrow();
  });
});
