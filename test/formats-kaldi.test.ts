// Kaldi data directories (FORMATS.md §4): files compared with `LC_ALL=C sort`, utt2spk sorted by speaker,
// spk2utt equivalent to utt2spk, utterance lists equal, WAVs read by Python soundfile as PCM_16 mono,
// utt2dur against the decoded audio, the wav.scp flac pipe run for real, the external sort equal to the
// in-memory one, and Kaldi's own utils/validate_data_dir.sh when a copy is available.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { floatToInt16 } from "../src/audio/decode.js";
import { encodeFlac } from "../src/audio/flac.js";
import { encodeWav } from "../src/audio/wav.js";
import type { ItemMeta, ProcessedItem } from "../src/types.js";
import { FilesSink } from "../src/writers/files.js";
import { KaldiDataDir, KaldiWavSink, kaldiText } from "../src/writers/kaldi.js";
import { itemRecord, type ItemRecord } from "../src/writers/manifest.js";
import type { ShardSink } from "../src/writers/sink.js";
import { compareUtf8, ExternalLineSorter } from "../src/writers/sort.js";
import { speechLike, tempDir } from "./helpers/fixtures.js";
import { pythonJson } from "./helpers/python.js";

/** Where a copy of Kaldi's egs/wsj/s5/utils lives (`<dir>/utils/validate_data_dir.sh`); not shipped with augment. */
const KALDI_UTILS_DIR = process.env.KALDI_UTILS_DIR ?? "/tmp/kaldi-utils";

interface ItemSpec {
  id: string;
  speaker: string;
  samples: number;
  text?: string;
  gender?: string;
  split?: string;
  ext?: "wav" | "flac";
}

function makeItem(index: number, s: ItemSpec): ProcessedItem {
  const sr = 16000;
  const pcm = floatToInt16(speechLike(s.samples, sr, 100 + index * 3, index + 5));
  const ext = s.ext ?? "wav";
  const meta: ItemMeta = {
    id: s.id,
    text: s.text ?? `HELLO ${index}`,
    speaker: s.speaker,
    ...(s.gender ? { gender: s.gender } : {}),
    ...(s.split ? { split: s.split } : {}),
    duration: s.samples / sr,
    num_samples: s.samples,
    sampling_rate: sr,
    source: { id: s.id, audio: `/corpus/${s.id}.wav`, input: 0, duration: s.samples / sr, sampling_rate: sr, channels: 1 },
    copy: 0,
    ops: [],
    peak_dbfs: -3,
    rms_dbfs: -20,
  };
  return { index, outId: s.id, audio: ext === "wav" ? encodeWav(pcm, sr) : encodeFlac(pcm, sr), audioExt: ext, meta, inputDurationS: s.samples / sr };
}

async function writeItems(sink: ShardSink, shards: ProcessedItem[][]): Promise<ItemRecord[]> {
  const records: ItemRecord[] = [];
  for (let i = 0; i < shards.length; i++) {
    await sink.open(i);
    for (const it of shards[i]) {
      await sink.add(it);
      records.push(itemRecord(it, sink.audioRef(it), i));
    }
    await sink.commit();
  }
  return records;
}

async function writeDataDir(outDir: string, records: ItemRecord[], maxLinesInMemory?: number): Promise<void> {
  const w = new KaldiDataDir({ outDir, tarred: false, maxLinesInMemory });
  for (const r of records) await w.add(r);
  await w.finish();
}

function read(file: string): string {
  return readFileSync(file, "utf8");
}

function cSort(file: string, args: string[] = []): string {
  const r = spawnSync("sort", [...args, file], { env: { ...process.env, LC_ALL: "C" }, encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

/** Items in plan (shuffled) order, with ids whose C order differs from locale order and from JS UTF-16 order. */
const SPECS: ItemSpec[] = [
  { id: "spkA-2", speaker: "spkA", samples: 8000, gender: "m", split: "train", text: "tab\there  and\u3000ideographic space" },
  { id: "Zed-1", speaker: "Zed", samples: 7000, gender: "f", split: "train", text: "ünïcödé wörds" },
  { id: "spkA_x-1", speaker: "spkA_x", samples: 6000, gender: "f", split: "train" },
  { id: "spkA-10", speaker: "spkA", samples: 16000, gender: "m", split: "train" },
  { id: "abc-1", speaker: "abc", samples: 5000, gender: "m", split: "train" },
  { id: "spkB-1", speaker: "spkB", samples: 5500, split: "dev" },
  { id: "spkB-0", speaker: "spkB", samples: 5600, gender: "f", split: "dev" },
  { id: "solo", speaker: "solo", samples: 4000 },
];

describe("Kaldi data dir", () => {
  const out = tempDir("augment-kaldi-");
  const items = SPECS.map((s, i) => makeItem(i, s));
  let records: ItemRecord[];
  let audio: Record<string, { subtype: string; channels: number; frames: number; sr: number }>;

  beforeAll(async () => {
    records = await writeItems(new KaldiWavSink(out), [items.slice(0, 5), items.slice(5)]);
    await writeDataDir(out, records);
    const files = readdirSync(path.join(out, "wav")).map((f) => path.join(out, "wav", f));
    audio = pythonJson(
      `import json, sys, soundfile as sf
print(json.dumps({p: (lambda i: {"subtype": i.subtype, "channels": i.channels, "frames": i.frames, "sr": i.samplerate})(sf.info(p)) for p in sys.argv[1:]}))`,
      files,
    );
  });

  it("writes data/<split|all>/ with the required files, nothing else (no temporary sort files)", () => {
    expect(readdirSync(path.join(out, "data")).sort()).toEqual(["all", "dev", "train"]);
    expect(readdirSync(path.join(out, "data/train")).sort()).toEqual(["spk2gender", "spk2utt", "text", "utt2dur", "utt2spk", "wav.scp"]);
    // One dev speaker has no gender: no spk2gender there.
    expect(readdirSync(path.join(out, "data/dev")).sort()).toEqual(["spk2utt", "text", "utt2dur", "utt2spk", "wav.scp"]);
  });

  it("every file ends with a newline and equals its LC_ALL=C sort; utt2spk is sorted by speaker too", () => {
    for (const split of ["train", "dev", "all"]) {
      for (const name of readdirSync(path.join(out, "data", split))) {
        const file = path.join(out, "data", split, name);
        const text = read(file);
        expect(text.endsWith("\n")).toBe(true);
        expect(text).toBe(cSort(file));
        const keys = text.trimEnd().split("\n").map((l) => l.split(" ")[0]);
        expect(new Set(keys).size).toBe(keys.length);
      }
      const utt2spk = path.join(out, "data", split, "utt2spk");
      expect(spawnSync("sort", ["-k2", "-C", utt2spk], { env: { ...process.env, LC_ALL: "C" } }).status).toBe(0);
    }
    // C order puts upper case first, and `-` (0x2d) before `_` (0x5f).
    expect(read(path.join(out, "data/train/utt2spk"))).toBe("Zed-1 Zed\nabc-1 abc\nspkA-10 spkA\nspkA-2 spkA\nspkA_x-1 spkA_x\n");
  });

  it("spk2utt matches utt2spk; utt lists of text, wav.scp, utt2dur agree; speaker ids prefix utt ids", () => {
    for (const split of ["train", "dev", "all"]) {
      const d = path.join(out, "data", split);
      const utt2spk = read(path.join(d, "utt2spk")).trimEnd().split("\n").map((l) => l.split(" "));
      expect(utt2spk.every((f) => f.length === 2 && (f[0] === f[1] || f[0].startsWith(`${f[1]}-`)))).toBe(true);
      // utils/spk2utt_to_utt2spk.pl
      const expanded = read(path.join(d, "spk2utt")).trimEnd().split("\n").flatMap((l) => {
        const [spk, ...utts] = l.split(" ");
        return utts.map((u) => `${u} ${spk}`);
      });
      expect(expanded).toEqual(utt2spk.map((f) => f.join(" ")));
      const utts = utt2spk.map((f) => f[0]);
      for (const name of ["text", "wav.scp", "utt2dur"]) {
        expect(read(path.join(d, name)).trimEnd().split("\n").map((l) => l.split(" ")[0])).toEqual(utts);
      }
    }
    expect(read(path.join(out, "data/train/spk2gender"))).toBe("Zed f\nabc m\nspkA m\nspkA_x f\n");
  });

  it("text is one line of space-separated words (no tab, no Unicode whitespace), UTF-8 kept", () => {
    const text = read(path.join(out, "data/train/text"));
    expect(text).toContain("spkA-2 tab here and ideographic space\n");
    expect(text).toContain("Zed-1 ünïcödé wörds\n");
    expect(kaldiText(" a\r\nb\u0085c\u00a0d\u0001e ")).toBe("a b c d e");
  });

  it("wav.scp points at absolute PCM_16 mono WAVs whose length matches utt2dur", () => {
    for (const split of ["train", "dev", "all"]) {
      const d = path.join(out, "data", split);
      const durs = new Map(read(path.join(d, "utt2dur")).trimEnd().split("\n").map((l) => l.split(" ") as [string, string]));
      for (const line of read(path.join(d, "wav.scp")).trimEnd().split("\n")) {
        const [utt, file] = line.split(" ");
        expect(path.isAbsolute(file)).toBe(true);
        const info = audio[file];
        expect(info).toMatchObject({ subtype: "PCM_16", channels: 1, sr: 16000 });
        expect(Math.abs(Number(durs.get(utt)) - info.frames / info.sr)).toBeLessThan(0.001);
      }
    }
  });

  it("the WAV sink refuses anything but PCM16 WAV", async () => {
    const sink = new KaldiWavSink(tempDir("augment-kaldi-flac-"));
    await sink.open(0);
    await expect(sink.add(makeItem(0, { id: "a-1", speaker: "a", samples: 100, ext: "flac" }))).rejects.toThrow(/PCM16 WAV/);
  });

  it("passes Kaldi's utils/validate_data_dir.sh --no-feats (when a copy of Kaldi's utils is present)", (ctx) => {
    const script = path.join(KALDI_UTILS_DIR, "utils/validate_data_dir.sh");
    if (!existsSync(script)) {
      console.warn(`SKIPPED: Kaldi validate_data_dir.sh not found at ${script} (set KALDI_UTILS_DIR to a folder holding Kaldi's egs/wsj/s5/utils as utils/)`);
      ctx.skip();
    }
    for (const split of ["train", "dev", "all"]) {
      // --non-print: this host's `locale -a` lists C.utf8, not C.UTF-8, so the script's grep would flag UTF-8 text.
      const r = spawnSync("bash", ["utils/validate_data_dir.sh", "--no-feats", "--non-print", path.join(out, "data", split)], { cwd: KALDI_UTILS_DIR, encoding: "utf8" });
      expect(`${r.status} ${r.stdout}${r.stderr}`).toMatch(/^0 .*Successfully validated data-directory/s);
    }
  });
});

describe("Kaldi data dir over FLAC files", () => {
  it("uses the `flac -c -d -s <abs path> |` form, which decodes to the item's samples", async () => {
    const out = tempDir("augment-kaldi-flacfiles-");
    const items = [makeItem(0, { id: "s1-a", speaker: "s1", samples: 4321, ext: "flac" }), makeItem(1, { id: "s1-b", speaker: "s1", samples: 1234, ext: "flac" })];
    const records = await writeItems(new FilesSink(out), [items]);
    await writeDataDir(out, records);
    const lines = read(path.join(out, "data/all/wav.scp")).trimEnd().split("\n");
    expect(lines).toEqual(["s1-a", "s1-b"].map((id) => `${id} flac -c -d -s ${path.join(out, "audio", `${id}.flac`)} |`));
    // Run the command as Kaldi would (popen of everything before the final `|`) and read the WAV it writes.
    const cmd = lines[0].slice("s1-a ".length).replace(/\|$/, "");
    const decoded = spawnSync("bash", ["-c", `${cmd} > ${path.join(out, "a.wav")}`]);
    expect(decoded.status).toBe(0);
    const info = pythonJson<{ frames: number; subtype: string }>(`import json, sys, soundfile as sf; i = sf.info(sys.argv[1]); print(json.dumps({"frames": i.frames, "subtype": i.subtype}))`, [path.join(out, "a.wav")]);
    expect(info).toEqual({ frames: 4321, subtype: "PCM_16" });
  });
});

describe("Kaldi checks and the external sort", () => {
  it("fails loudly when a speaker id is not a prefix of the utterance id", async () => {
    const w = new KaldiDataDir({ outDir: tempDir("augment-kaldi-bad-"), tarred: false });
    const item = makeItem(0, { id: "utt-1", speaker: "spk", samples: 100 });
    await expect(w.add(itemRecord(item, "wav/utt-1.wav", 0))).rejects.toThrow(/not a prefix of utterance id/);
    expect(() => new KaldiDataDir({ outDir: "/tmp", tarred: true })).toThrow(/audio files/);
  });

  it("fails loudly, writing nothing, when speakers would not sort with their utterances", async () => {
    const out = tempDir("augment-kaldi-order-");
    // Speakers `a` and `a-b`: utt `a-b-1` (a-b) sorts between `a-a` and `a-c` (a).
    const recs = [
      ["a-a", "a"],
      ["a-b-1", "a-b"],
      ["a-c", "a"],
    ].map(([id, spk], i) => itemRecord(makeItem(i, { id, speaker: spk, samples: 100 }), `wav/${id}.wav`, 0));
    const w = new KaldiDataDir({ outDir: out, tarred: false });
    for (const r of recs) await w.add(r);
    await expect(w.finish()).rejects.toThrow(/not sorted by speaker/);
    expect(existsSync(path.join(out, "data/all/utt2spk"))).toBe(false);
    expect(readdirSync(path.join(out, "data/all"))).toEqual([]);
  });

  it("spills sorted runs and merges them to the same bytes as the in-memory sort", async () => {
    const rnd = (() => {
      let s = 12345;
      return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    })();
    const records: ItemRecord[] = [];
    for (let i = 0; i < 1000; i++) {
      const spk = `s${Math.floor(rnd() * 40)}`;
      const id = `${spk}-${Math.floor(rnd() * 1e9).toString(36)}-${i}`;
      const meta = { ...makeItem(0, { id, speaker: spk, samples: 1 }).meta, num_samples: 1000 + i, text: `W${i} ÄÖ`, ...(i % 7 ? { split: "train" } : {}) };
      records.push({ audio: `wav/${id}.wav`, shard: 0, input_s: 0, meta });
    }
    const inMemory = tempDir("augment-kaldi-mem-");
    const external = tempDir("augment-kaldi-ext-");
    await writeDataDir(inMemory, records);
    await writeDataDir(external, records, 64);
    for (const split of ["train", "all"]) {
      for (const name of ["wav.scp", "text", "utt2spk", "spk2utt", "utt2dur"]) {
        const a = read(path.join(inMemory, "data", split, name)).replaceAll(inMemory, "OUT");
        const b = read(path.join(external, "data", split, name)).replaceAll(external, "OUT");
        expect(b).toBe(a);
        expect(read(path.join(inMemory, "data", split, name))).toBe(cSort(path.join(inMemory, "data", split, name)));
      }
    }
    expect(readdirSync(path.join(external, "data")).sort()).toEqual(["all", "train"]);
    expect(readdirSync(external)).toEqual(["data"]); // run files removed

    // bySplit false: one data dir for every record (the caller gives each split its own folder).
    const flat = tempDir("augment-kaldi-flat-");
    const w = new KaldiDataDir({ outDir: flat, tarred: false, bySplit: false, maxLinesInMemory: 100 });
    for (const r of records) await w.add(r);
    await w.finish();
    expect(readdirSync(flat)).toEqual(["data"]);
    expect(readdirSync(path.join(flat, "data")).sort()).toEqual(["spk2utt", "text", "utt2dur", "utt2spk", "wav.scp"]);
    const flatText = read(path.join(flat, "data/text"));
    expect(flatText.split("\n").length - 1).toBe(1000);
    expect(flatText).toBe(cSort(path.join(flat, "data/text")));

    const sorter = new ExternalLineSorter(path.join(tempDir("augment-sort-"), "runs"), 3);
    const lines = ["b", "\u{1F600}x", "\uFFFDy", "a", "B", "", "ab", "é", "e"];
    for (const l of lines) await sorter.add(l);
    expect(sorter.runCount).toBe(3);
    const merged: string[] = [];
    for await (const l of sorter.sorted()) merged.push(l);
    await sorter.cleanup();
    const byBytes = [...lines].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(merged).toEqual(byBytes);
    // UTF-16 order would put U+1F600 (surrogates D83D…) before U+FFFD; byte order puts it after.
    expect(compareUtf8("\u{1F600}", "\uFFFD")).toBe(1);
    expect("\u{1F600}" < "\uFFFD").toBe(true);
  });
});
