// Fuzz: hundreds of seeded mutations of valid WAV, FLAC, MP3, Opus and Vorbis files (bit flips,
// truncation, header fields claiming gigabytes, inserted/deleted bytes, zero-length, one sample,
// NaN/Inf) through the decoder and through a real run. Properties: the decoder returns consistent
// audio or a one-line DecodeError, nothing else; no allocation follows a lying header; a run exits 0
// with every item either written or in errors.jsonl with a reason. FUZZ_SEED=<n> reproduces a case.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeAudio } from "../src/audio/decode.js";
import { DecodeError } from "../src/audio/decoded.js";
import { listTar, readTarMember } from "../src/writers/tar.js";
import { cli, tempDir } from "./helpers/fixtures.js";
import { baseFiles, mutate, specialCases, type Base } from "./helpers/mutate.js";

const SEED = Number(process.env.FUZZ_SEED ?? 1);
const PER_BASE = Number(process.env.FUZZ_PER_BASE ?? 60);
/** No single buffer above this while decoding files of at most a few hundred KB. */
const MAX_ALLOC_BYTES = 64 * 1024 * 1024;

let dir = "";
let bases: Base[] = [];
interface Case {
  id: string;
  ext: string;
  desc: string;
  bytes: Uint8Array;
}
const cases: Case[] = [];

beforeAll(() => {
  dir = tempDir("augment-fuzz-audio-");
  bases = baseFiles(dir);
  let n = 0;
  for (const b of bases) {
    for (let k = 0; k < PER_BASE; k++) {
      const seed = SEED * 100_000 + n;
      const m = mutate(b, seed);
      cases.push({ id: `m${String(n).padStart(4, "0")}`, ext: b.ext, desc: `${b.name} seed ${seed}: ${m.desc}`, bytes: m.bytes });
      n++;
    }
  }
  for (const s of specialCases()) {
    cases.push({ id: `m${String(n).padStart(4, "0")}`, ext: s.ext, desc: `special ${s.name}.${s.ext}`, bytes: s.bytes });
    n++;
  }
});

/**
 * Records the largest typed array or ArrayBuffer constructed while `f` runs. Decoders allocate
 * from header fields; a header claiming 4 GB must not turn into a 4 GB buffer. (Buffers made inside
 * WASM memory are not seen here; the run test below bounds the process's RSS for those.)
 */
async function largestAllocation<T>(f: () => Promise<T>): Promise<{ bytes: number; result: T | unknown; threw: boolean }> {
  const g = globalThis as any;
  const names = ["ArrayBuffer", "Uint8Array", "Int8Array", "Uint16Array", "Int16Array", "Uint32Array", "Int32Array", "Float32Array", "Float64Array"];
  const saved = names.map((n) => g[n]);
  let largest = 0;
  names.forEach((n, i) => {
    const C = saved[i];
    const per = n === "ArrayBuffer" ? 1 : C.BYTES_PER_ELEMENT;
    g[n] = new Proxy(C, {
      construct(target, args) {
        if (typeof args[0] === "number") largest = Math.max(largest, args[0] * per);
        return Reflect.construct(target, args);
      },
    });
  });
  try {
    const result = await f();
    return { bytes: largest, result, threw: false };
  } catch (e) {
    return { bytes: largest, result: e, threw: true };
  } finally {
    names.forEach((n, i) => (g[n] = saved[i]));
  }
}

describe("fuzz: the decoder", () => {
  it(`${PER_BASE} mutations of each base file and the special cases: audio or a one-line DecodeError, no big allocation`, async () => {
    const failures: string[] = [];
    const tally = new Map<string, { ok: number; rejected: number }>();
    let largest = 0;
    for (const c of cases) {
      const { bytes, result, threw } = await largestAllocation(() => decodeAudio(c.bytes, `x.${c.ext}`));
      largest = Math.max(largest, bytes);
      const base = c.desc.split(" ")[0];
      const t = tally.get(base) ?? { ok: 0, rejected: 0 };
      tally.set(base, t);
      if (bytes > MAX_ALLOC_BYTES) failures.push(`${c.desc}: allocated ${bytes} bytes for a ${c.bytes.length}-byte file`);
      if (threw) {
        t.rejected++;
        const e = result as Error;
        if (!(e instanceof DecodeError)) failures.push(`${c.desc}: ${e?.constructor?.name} ${String(e?.stack ?? e).split("\n").slice(0, 3).join(" | ")}`);
        else if (e.message.includes("\n") || e.message.length === 0 || e.message.length > 300) failures.push(`${c.desc}: message not one short line: ${JSON.stringify(e.message)}`);
        continue;
      }
      t.ok++;
      const audio = result as { channels: Float32Array[]; sampleRate: number };
      const len = audio.channels[0]?.length ?? 0;
      if (!audio.channels.length || len === 0) failures.push(`${c.desc}: decoded to no audio without an error`);
      if (audio.channels.some((ch) => ch.length !== len)) failures.push(`${c.desc}: channels of different lengths`);
      if (!(Number.isInteger(audio.sampleRate) && audio.sampleRate > 0)) failures.push(`${c.desc}: sample rate ${audio.sampleRate}`);
    }
    console.log(
      `fuzz-audio (seed ${SEED}): ${cases.length} files; decoded/rejected per base: ${[...tally].map(([b, t]) => `${b} ${t.ok}/${t.rejected}`).join(", ")}; largest allocation ${(largest / 1e6).toFixed(2)} MB`,
    );
    expect(failures).toEqual([]);
    // The tracker sees the decoder's buffers: a clean 0.4 s 44.1 kHz stereo file needs two 17640-sample channels.
    const clean = await largestAllocation(() => decodeAudio(bases.find((b) => b.name === "stereo24")!.bytes, "x.wav"));
    expect(clean.threw).toBe(false);
    expect(clean.bytes).toBeGreaterThanOrEqual(17640 * 4);
    // The special cases that must be rejected, with the reason a user needs.
    const reject = async (name: string, re: RegExp) => {
      const c = cases.find((x) => x.desc === `special ${name}`)!;
      await expect(decodeAudio(c.bytes, `x.${c.ext}`)).rejects.toThrow(re);
    };
    await reject("zero-bytes.wav", /empty file/);
    await reject("header-only.wav", /zero-length/);
    await reject("nan.wav", /non-finite/);
    await reject("inf.wav", /non-finite/);
    await reject("neg-inf.wav", /non-finite/);
    await reject("data-4gb.wav", /truncated WAV: header says 4294967295 bytes/);
    await reject("total-samples-2^36.flac", /truncated FLAC: expected 68719476735 samples/);
  });
});

describe("fuzz: a real run over every mutated file", () => {
  it("exits 0, every item written or in errors.jsonl with a reason, and the process stays small", async () => {
    const root = path.join(dir, "corpus");
    mkdirSync(root, { recursive: true });
    const rows: string[] = [];
    for (const [i, c] of cases.entries()) {
      writeFileSync(path.join(root, `${c.id}.${c.ext}`), c.bytes);
      // Half the rows state a duration; the others are probed from the (damaged) header.
      rows.push(JSON.stringify({ file_name: `${c.id}.${c.ext}`, text: `item ${c.id}`, ...(i % 2 ? { duration: 0.5 } : {}) }));
    }
    writeFileSync(path.join(root, "metadata.jsonl"), rows.join("\n") + "\n");
    writeFileSync(path.join(dir, "r.yaml"), "seed: 3\ninputs: [{format: folder, path: corpus}]\nchain:\n  - gain: {db: [-3, 3]}\noutput: {path: out, shard_max_items: 100}\n");
    const r = cli(["run", "r.yaml", "--quiet", "--workers", "2"], dir);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);

    const out = path.join(dir, "out");
    const index = JSON.parse(readFileSync(path.join(out, "index.json"), "utf8"));
    const written: string[] = [];
    for (const e of Object.values<any>(index.shards)) {
      const tar = path.join(out, e.files[0]);
      for (const m of await listTar(tar)) {
        if (!m.name.endsWith(".json")) continue;
        const meta = JSON.parse(Buffer.from(await readTarMember(tar, m.name)).toString("utf8"));
        expect(meta.num_samples).toBeGreaterThan(0);
        written.push(meta.id);
      }
    }
    const errors = readFileSync(path.join(out, "errors.jsonl"), "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
    for (const e of errors) {
      expect(typeof e.reason).toBe("string");
      expect(e.reason.length).toBeGreaterThan(0);
      expect(e.reason).not.toMatch(/\n|internal error|\bat .*\.js:\d+/);
    }
    // Each input file is exactly once either written or an error.
    const key = (id: string) => /^m\d{4}/.exec(id)![0];
    const seen = [...written.map(key), ...errors.map((e: any) => key(e.id))];
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.sort()).toEqual(cases.map((c) => c.id).sort());
    const summary = JSON.parse(readFileSync(path.join(out, "summary.json"), "utf8"));
    expect(summary.items.written + summary.items.errors).toBe(cases.length);
    // The main process's peak (worker threads included): far from what a lying header would cost.
    expect(summary.peak_rss_mb).toBeLessThan(1024);
    console.log(`fuzz-audio run: ${written.length} written, ${errors.length} errors (${Object.entries(summary.errors_by_stage).map(([k, v]) => `${k} ${v}`).join(", ")}), peak RSS ${summary.peak_rss_mb} MB`);
  });
});
