// Hostile names and paths: file names that are not UTF-8 or are very long, duplicate ids, manifests
// whose audio paths and fields try to climb out of the folder (`../`), in every output format. The
// properties: the run completes; nothing is written outside the output folder; every entry is either
// written or reported in errors.jsonl with its reason; every output name is short, UTF-8 and plain.
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, speechLike, tempDir } from "./helpers/fixtures.js";
import { wavBytes } from "./helpers/mutate.js";

let dir = "";
/** Manifest lines, each an utterance or a reported error. */
let linesA = 0;
let linesB = 0;

const wav = (seed: number) => Buffer.from(wavBytes([speechLike(8000, 16000, 120 + seed, seed)], 16000, "pcm16"));

/** Every file and folder under `root`, as raw byte names (so non-UTF-8 names are seen as they are). */
function tree(root: string, rel: Buffer[] = []): string[] {
  const out: string[] = [];
  const here = Buffer.concat([Buffer.from(root + "/"), ...rel.flatMap((r) => [r, Buffer.from("/")])]);
  for (const e of readdirSync(here, { withFileTypes: true, encoding: "buffer" })) {
    const name = e.name as unknown as Buffer;
    const relPath = [...rel, name];
    out.push(Buffer.concat(relPath.flatMap((r, i) => (i ? [Buffer.from("/"), r] : [r]))).toString("latin1"));
    if (e.isDirectory()) out.push(...tree(root, relPath));
  }
  return out;
}

beforeAll(() => {
  dir = tempDir("augment-hostile-");
  const c = path.join(dir, "corpus");
  mkdirSync(path.join(c, "a"), { recursive: true });
  mkdirSync(path.join(c, "b"), { recursive: true });
  mkdirSync(path.join(dir, "outside"), { recursive: true });
  writeFileSync(path.join(c, "ok.wav"), wav(1));
  writeFileSync(path.join(c, "a/same.wav"), wav(2)); // same file name in two folders: two distinct ids
  writeFileSync(path.join(c, "b/same.wav"), wav(3));
  writeFileSync(path.join(dir, "outside/up.wav"), wav(4)); // read from above the manifest: allowed
  // A file name that is not UTF-8 (Linux names are bytes): it exists, but no JSON manifest can name it.
  writeFileSync(Buffer.from(`${c}/raw-\xff\xfe-name.wav`, "latin1"), wav(5));
  // The longest name Linux allows (255 bytes), and a 3-byte-per-character one near it.
  const long = "L".repeat(251) + ".wav";
  writeFileSync(path.join(c, long), wav(6));
  const wide = "語".repeat(83) + ".wav"; // 249 + 4 bytes
  writeFileSync(path.join(c, wide), wav(7));
  const entry = (audio: string, extra: Record<string, unknown> = {}) => JSON.stringify({ audio_filepath: audio, duration: 0.5, text: `say ${audio.slice(0, 20)}`, ...extra });
  const common = [
    entry("ok.wav", { speaker: "../../evil" }),
    entry("a/same.wav", { speaker: "/abs/evil" }),
    entry("b/same.wav", { speaker: ".." }),
    entry("../outside/up.wav", { speaker: "." }),
    entry(long),
    entry(wide, { speaker: "語".repeat(40) }),
    entry("ok.wav", { text: "the same file again" }), // a duplicate
    entry(`raw-\ufffd\ufffd-name.wav`), // what a UTF-8 reader makes of the raw name: not found, reported
    entry("x".repeat(300) + ".wav"), // a name longer than 255 bytes: ENAMETOOLONG, reported
    entry("d/".repeat(2100) + "deep.wav"), // a path longer than PATH_MAX, reported
    entry("../../../../../../../../etc/passwd"), // not audio, reported
    entry("nul\u0000.wav"), // reported
    entry("/dev/zero"), // not a regular file, reported
    entry("ok.wav\n../x.wav"),
  ];
  writeFileSync(path.join(c, "a.json"), common.join("\n") + "\n");
  linesA = common.length;
  // With splits that try to name folders outside: ids and splits are kept to [A-Za-z0-9_-].
  const splits = [
    entry("ok.wav", { split: "../../../evil-split" }),
    entry("a/same.wav", { split: "/tmp/evil" }),
    entry("b/same.wav", { split: "train" }),
    entry("../outside/up.wav", { split: ".." }),
  ];
  writeFileSync(path.join(c, "b.json"), splits.join("\n") + "\n");
  linesB = splits.length;
});

interface Outcome {
  written: number;
  errors: Array<{ id: string; source: string; reason: string }>;
}

function runFormat(format: string, manifest: string, extra = ""): Outcome {
  const out = `out-${format}-${manifest}`;
  const audio = format === "kaldi" ? "wav" : "flac";
  const manifests = format === "kaldi" ? "[kaldi]" : format === "files" ? "[nemo, lhotse, kaldi]" : format === "lhotse_shar" ? "[]" : "[nemo]";
  writeFileSync(
    path.join(dir, `${out}.yaml`),
    `inputs: [{format: nemo, path: corpus/${manifest}.json}]\nchain:\n  - gain: {db: 1}\noutput: {path: ${out}, format: ${format}, audio: ${audio}, manifests: ${manifests}${extra}}\n`,
  );
  const before = tree(dir).filter((p) => !p.startsWith(out));
  const r = cli(["run", `${out}.yaml`, "--quiet", "--workers", "0"], dir);
  expect(r.stderr, format).toBe("");
  expect(r.code, format).toBe(0);
  // Nothing new outside the output folder (the recipe file was written before the snapshot).
  expect(tree(dir).filter((p) => !p.startsWith(out)), format).toEqual(before);
  for (const p of tree(path.join(dir, out))) {
    const full = path.join(dir, out, p);
    expect(lstatSync(full).isSymbolicLink(), p).toBe(false);
    // Output names are plain: UTF-8, no control characters, short components.
    expect(Buffer.from(Buffer.from(p, "latin1").toString("utf8")).equals(Buffer.from(p, "latin1")), p).toBe(true);
    for (const part of p.split("/")) expect(Buffer.byteLength(part), p).toBeLessThanOrEqual(255);
    expect(p).not.toMatch(/[\u0000-\u001f]|\.\./);
  }
  const summary = JSON.parse(readFileSync(path.join(dir, out, "summary.json"), "utf8"));
  const errors = readFileSync(path.join(dir, out, "errors.jsonl"), "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
  for (const e of errors) expect(e.reason, JSON.stringify(e)).toMatch(/\S/);
  return { written: summary.items.written, errors };
}

describe("hostile names and paths", () => {
  for (const format of ["webdataset", "files", "kaldi", "hf_audiofolder", "nemo_tarred", "lhotse_shar"]) {
    it(`${format}: completes, writes only inside the output folder, reports every bad entry`, () => {
      const { written, errors } = runFormat(format, "a");
      expect(written + errors.length).toBe(linesA);
      expect(written).toBe(6); // ok, a/same, b/same, ../outside/up, the 255-byte name, the wide name
      const reasons = errors.map((e) => e.reason).join("\n");
      expect(reasons).toMatch(/duplicate/);
      expect(reasons).toMatch(/raw-\ufffd\ufffd-name\.wav/); // names the file it could not find
      expect(reasons).toMatch(/ENAMETOOLONG|name too long/i);
      expect(reasons).toMatch(/NUL/);
      expect(reasons).toMatch(/not a regular file/);
      const passwd = errors.find((e) => e.source.endsWith("/etc/passwd"));
      expect(passwd?.reason).toMatch(/^unsupported format/);
    });
  }

  it("splits named like paths become plain folder names inside the output", () => {
    const { written, errors } = runFormat("webdataset", "b");
    expect(errors).toEqual([]);
    expect(written).toBe(linesB);
    const splits = readdirSync(path.join(dir, "out-webdataset-b"), { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith(".")).map((e) => e.name).sort();
    // "../../../evil-split" → evil-split, "/tmp/evil" → tmp_evil, ".." → a hash name; all inside.
    expect(splits.length).toBe(4);
    for (const s of splits) expect(s).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]*$/);
  });

  it("a noise bank file whose name is not UTF-8: the run stops before any work with one clear line", () => {
    mkdirSync(path.join(dir, "bank/cat"), { recursive: true });
    writeFileSync(path.join(dir, "bank/cat/fine.wav"), wav(8));
    writeFileSync(Buffer.from(`${dir}/bank/cat/bad-\xff.wav`, "latin1"), wav(9));
    writeFileSync(path.join(dir, "bank.yaml"), "inputs: [{format: nemo, path: corpus/b.json}]\nnoise_banks: [{name: n, path: bank}]\nchain:\n  - noise: {bank: n, snr_db: 10}\noutput: {path: out-bank}\n");
    const r = cli(["run", "bank.yaml", "--quiet"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: .*bank\/cat.*not valid UTF-8.*bad-\\xff\.wav/);
  });
});

describe("a 1-hour input file", () => {
  it("is processed whole, with peak memory a small multiple of its samples", () => {
    // 1 h at 8 kHz (28.8 M samples, a 58 MB WAV), written in blocks so the test itself stays small.
    const sr = 8000;
    const n = sr * 3600;
    const file = path.join(dir, "hour/hour.wav");
    mkdirSync(path.dirname(file), { recursive: true });
    const header = Buffer.from(wavBytes([new Float32Array(0)], sr, "pcm16"));
    header.writeUInt32LE(36 + 2 * n, 4);
    header.writeUInt32LE(2 * n, 40);
    const fd = openSync(file, "w");
    writeSync(fd, header);
    const block = Buffer.alloc(2 * sr * 60);
    for (let m = 0; m < 60; m++) {
      for (let i = 0; i < sr * 60; i++) block.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * (200 + m) * i) / sr)), 2 * i);
      writeSync(fd, block);
    }
    closeSync(fd);
    writeFileSync(path.join(dir, "hour/m.json"), JSON.stringify({ audio_filepath: "hour.wav", duration: 3600, text: "one hour", speaker: "s" }) + "\n");
    writeFileSync(path.join(dir, "hour.yaml"), `sample_rate: ${sr}\ninputs: [{format: nemo, path: hour/m.json}]\nchain:\n  - gain: {db: [-3, 3]}\noutput: {path: out-hour}\n`);
    const r = cli(["run", "hour.yaml", "--quiet", "--workers", "1"], dir);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const summary = JSON.parse(readFileSync(path.join(dir, "out-hour/summary.json"), "utf8"));
    expect(summary.items.written).toBe(1);
    expect(summary.hours.output).toBeCloseTo(1, 9);
    // Measured ≈ 530 MB: the file, its samples as float, the op's output, PCM and FLAC of one item
    // (≈ 18 bytes per sample) over a ≈ 80 MB base. The bound leaves room for GC timing.
    expect(summary.peak_rss_mb).toBeLessThan(900);
    console.log(`1-hour file (${n} samples): peak RSS ${summary.peak_rss_mb} MB`);
    for (const d of ["hour", "out-hour"]) rmSync(path.join(dir, d), { recursive: true, force: true }); // 100 MB of test data
  });
});
