// Lhotse manifests written from item records (read back with Python gzip/json/soundfile and checked
// against Lhotse's dataclass fields, FORMATS.md §3), and Lhotse manifests as an input format.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { floatToInt16 } from "../src/audio/decode.js";
import { encodeFlac } from "../src/audio/flac.js";
import { checkInput, inputSchema, readInput, type InputSpec } from "../src/sources/index.js";
import type { ItemError, ItemMeta, ProcessedItem, Utterance, WordTime } from "../src/types.js";
import { FilesSink } from "../src/writers/files.js";
import { LhotseManifest, lhotseManifestPath, lhotseManifests } from "../src/writers/lhotse.js";
import { itemRecord, type ItemRecord } from "../src/writers/manifest.js";
import { speechLike, tempDir, writeWav } from "./helpers/fixtures.js";
import { pythonJson } from "./helpers/python.js";

interface ItemSpec {
  id: string;
  speaker: string;
  samples: number;
  sr?: number;
  language?: string;
  gender?: string;
  split?: string;
  words?: WordTime[];
  fields?: Record<string, unknown>;
}

function makeItem(index: number, s: ItemSpec): ProcessedItem {
  const sr = s.sr ?? 16000;
  const pcm = floatToInt16(speechLike(s.samples, sr, 110 + index * 9, index + 3));
  const meta: ItemMeta = {
    id: s.id,
    text: `words of item ${index}`,
    ...(s.language ? { language: s.language } : {}),
    speaker: s.speaker,
    ...(s.gender ? { gender: s.gender } : {}),
    ...(s.split ? { split: s.split } : {}),
    duration: s.samples / sr,
    num_samples: s.samples,
    sampling_rate: sr,
    source: { id: `src-${s.id}`, audio: `/corpus/${s.id}.wav`, input: 0, duration: s.samples / sr, sampling_rate: sr, channels: 1 },
    copy: index % 2,
    ...(s.words ? { words: s.words } : {}),
    ...(s.fields ? { fields: s.fields } : {}),
    ops: [],
    peak_dbfs: -3,
    rms_dbfs: -20,
  };
  return { index, outId: s.id, audio: encodeFlac(pcm, sr), audioExt: "flac", meta, inputDurationS: s.samples / sr };
}

const WORDS: WordTime[] = [
  { word: "words", startS: 0.05, endS: 0.3 },
  { word: "of", startS: 0.31, endS: 0.4 },
];

describe("Lhotse manifests from item records", () => {
  const out = tempDir("augment-lhotse-");
  const items = [
    makeItem(0, { id: "spkA-u0", speaker: "spkA", samples: 12345, language: "en", gender: "m", split: "train", words: WORDS, fields: { accent: "us" } }),
    makeItem(1, { id: "spkB-u1", speaker: "spkB", samples: 8000, sr: 8000, split: "train" }),
    makeItem(2, { id: "spkA-u2", speaker: "spkA", samples: 9001, language: "en", split: "dev" }),
    makeItem(3, { id: "spkC-u3", speaker: "spkC", samples: 7777 }),
  ];
  let records: ItemRecord[];
  let report: any;

  beforeAll(async () => {
    const sink = new FilesSink(out);
    records = [];
    await sink.open();
    for (const it of items) {
      await sink.add(it);
      records.push(itemRecord(it, sink.audioRef(it), 0));
    }
    await sink.commit();
    const writers = lhotseManifests({ outDir: out, tarred: false });
    for (const r of records) for (const w of writers) await w.add(r);
    for (const w of writers) await w.finish();
    report = pythonJson(
      String.raw`
import gzip, json, os, sys
import soundfile as sf
root = os.path.join(sys.argv[1], "lhotse")
res = {}
for split in sorted(os.listdir(root)):
    res[split] = {"files": sorted(os.listdir(os.path.join(root, split)))}
    for kind in ("recordings", "supervisions", "cuts"):
        raw = open(os.path.join(root, split, kind + ".jsonl.gz"), "rb").read()
        res[split][kind + "_magic"] = raw[:2].hex()
        res[split][kind] = [json.loads(l) for l in gzip.decompress(raw).decode("utf-8").splitlines()]
    for r in res[split]["recordings"]:
        info = sf.info(r["sources"][0]["source"])
        r["_decoded"] = {"frames": info.frames, "sr": info.samplerate, "abs": os.path.isabs(r["sources"][0]["source"])}
print(json.dumps(res))
`,
      [out],
    );
  });

  it("writes lhotse/<split|all>/{recordings,supervisions,cuts}.jsonl.gz, gzip by suffix", () => {
    expect(Object.keys(report).sort()).toEqual(["all", "dev", "train"]);
    for (const split of Object.values<any>(report)) {
      expect(split.files).toEqual(["cuts.jsonl.gz", "recordings.jsonl.gz", "supervisions.jsonl.gz"]);
      for (const kind of ["recordings", "supervisions", "cuts"]) expect(split[`${kind}_magic`]).toBe("1f8b");
    }
    expect(report.train.recordings.map((r: any) => r.id)).toEqual(["spkA-u0", "spkB-u1"]); // plan order
    expect(report.dev.recordings.map((r: any) => r.id)).toEqual(["spkA-u2"]);
    expect(report.all.recordings.map((r: any) => r.id)).toEqual(["spkC-u3"]);
  });

  it("recordings have only Recording's fields, absolute file sources, exact num_samples and duration", () => {
    for (const split of Object.values<any>(report)) {
      for (const r of split.recordings) {
        const { _decoded, ...rec } = r;
        expect(Object.keys(rec)).toEqual(["id", "sources", "sampling_rate", "num_samples", "duration", "channel_ids"]);
        expect(rec.sources).toHaveLength(1);
        expect(Object.keys(rec.sources[0])).toEqual(["type", "channels", "source"]);
        expect(rec.sources[0]).toMatchObject({ type: "file", channels: [0] });
        expect(_decoded.abs).toBe(true);
        expect(rec.num_samples).toBe(_decoded.frames);
        expect(rec.sampling_rate).toBe(_decoded.sr);
        expect(rec.duration).toBe(rec.num_samples / rec.sampling_rate);
        expect(Math.abs(rec.duration - _decoded.frames / _decoded.sr)).toBeLessThan(0.001);
        expect(rec.channel_ids).toEqual([0]);
      }
    }
  });

  it("supervisions have only SupervisionSegment's fields, no nulls, extras under custom, words as alignment", () => {
    const allowed = ["id", "recording_id", "start", "duration", "channel", "text", "language", "speaker", "gender", "custom", "alignment"];
    const noNulls = (v: unknown, where: string): void => {
      if (v === null) throw new Error(`null at ${where}`);
      if (Array.isArray(v)) v.forEach((x, i) => noNulls(x, `${where}[${i}]`));
      else if (typeof v === "object") for (const [k, x] of Object.entries(v as object)) if (k !== "alignment") noNulls(x, `${where}.${k}`);
    };
    for (const split of Object.values<any>(report)) {
      for (const s of split.supervisions) {
        const keys = Object.keys(s);
        expect(keys.every((k) => allowed.includes(k))).toBe(true);
        expect(keys).toEqual(allowed.filter((k) => keys.includes(k))); // dataclass field order
        noNulls(s, s.id);
        const rec = split.recordings.find((r: any) => r.id === s.recording_id);
        expect(s.start).toBe(0);
        expect(s.duration).toBe(rec.duration);
      }
    }
    const [a, b] = report.train.supervisions;
    expect(a).toMatchObject({ id: "spkA-u0", text: "words of item 0", language: "en", speaker: "spkA", gender: "m", channel: 0 });
    expect(a.custom).toEqual({ accent: "us", split: "train", source_id: "src-spkA-u0", copy: 0 });
    // AlignmentItem.serialize() = list(self): [symbol, start, duration, score]; no score known → null.
    expect(a.alignment).toEqual({ word: [["words", 0.05, 0.25, null], ["of", 0.31, 0.09, null]] });
    expect("language" in b || "gender" in b || "alignment" in b).toBe(false);
  });

  it("cuts are MonoCuts with the recording and supervision inlined, as Lhotse serialises them", () => {
    for (const split of Object.values<any>(report)) {
      split.cuts.forEach((c: any, i: number) => {
        const { _decoded, ...rec } = split.recordings[i];
        expect(Object.keys(c)).toEqual(["id", "start", "duration", "channel", "supervisions", "recording", "type"]);
        expect(c).toMatchObject({ id: rec.id, start: 0, duration: rec.duration, channel: 0, type: "MonoCut" });
        expect(c.recording).toEqual(rec);
        expect(c.supervisions).toEqual([split.supervisions[i]]);
      });
    }
  });

  it("plain .jsonl when gzip is off; refuses tar-member records", async () => {
    const w = new LhotseManifest({ outDir: out, tarred: false, dir: "plain", gzip: false }, "cuts");
    for (const r of records) await w.add(r);
    await w.finish();
    const text = readFileSync(path.join(out, lhotseManifestPath("cuts", "train", { dir: "plain", gzip: false })), "utf8");
    expect(text.split("\n").filter(Boolean).map((l) => JSON.parse(l).id)).toEqual(["spkA-u0", "spkB-u1"]);
    expect(() => lhotseManifests({ outDir: out, tarred: true })).toThrow(/audio files/);
    const flat = new LhotseManifest({ outDir: out, tarred: false, dir: "flat", bySplit: false }, "recordings");
    for (const r of records) await flat.add(r);
    await flat.finish();
    expect(readdirSync(path.join(out, "flat"))).toEqual(["recordings.jsonl.gz"]);
  });

  it("reads its own manifests back as an input (recordings + supervisions, and cuts)", async () => {
    const spec = (p: string): InputSpec => inputSchema.parse({ format: "lhotse", path: p });
    const fromRecordings = await collect(spec(path.join(out, "lhotse/train/recordings.jsonl.gz")));
    const fromCuts = await collect(spec(path.join(out, "lhotse/train/cuts.jsonl.gz")));
    for (const got of [fromRecordings, fromCuts]) {
      expect(got.errors).toEqual([]);
      expect(got.utts.map((u) => u.sourceId)).toEqual(["spkA-u0", "spkB-u1"]);
      const [a, b] = got.utts;
      expect(a).toMatchObject({ id: "spkA-u0", speaker: "spkA", text: "words of item 0", language: "en", gender: "m", split: "train" });
      expect(a.audio).toEqual({ path: path.join(out, "audio/spkA-u0.flac") }); // the whole file, not cut
      expect(a.durationS).toBe(12345 / 16000);
      expect(a.words).toEqual([
        { word: "words", startS: 0.05, endS: 0.3 },
        { word: "of", startS: 0.31, endS: 0.4 },
      ]);
      expect(a.fields).toMatchObject({ accent: "us", source_id: "src-spkA-u0", copy: 0 });
      expect(b).toMatchObject({ id: "spkB-u1", speaker: "spkB", durationS: 1 });
    }
  });
});

async function collect(spec: InputSpec): Promise<{ utts: Utterance[]; errors: ItemError[] }> {
  const utts: Utterance[] = [];
  const errors: ItemError[] = [];
  for await (const x of readInput(spec, 0)) {
    if ("stage" in x) errors.push(x);
    else utts.push(x);
  }
  return { utts, errors };
}

describe("Lhotse manifests as input", () => {
  const dir = tempDir("augment-lhotse-in-");
  const wav = (name: string, seconds: number) => {
    const p = path.join(dir, "audio", name);
    writeWav(p, speechLike(Math.round(seconds * 16000), 16000), 16000);
    return p;
  };
  const jsonl = (name: string, lines: object[], gz = false) => {
    const p = path.join(dir, name);
    mkdirSync(path.dirname(p), { recursive: true });
    const text = lines.map((l) => JSON.stringify(l)).join("\n") + "\n";
    writeFileSync(p, gz ? gzipSync(text) : text);
    return p;
  };
  const rec = (id: string, file: string, duration: number, extra: object = {}) => ({
    id,
    sources: [{ type: "file", channels: [0], source: file }],
    sampling_rate: 16000,
    num_samples: Math.round(duration * 16000),
    duration,
    ...extra,
  });

  it("joins recordings with the sibling supervisions manifest; segments, alignments and bad entries", async () => {
    const long = wav("long.wav", 3);
    const short = wav("short.wav", 1);
    jsonl(
      "m/corpus_recordings_dev-clean.jsonl.gz",
      [
        rec("long", long, 3),
        rec("short", short, 1),
        rec("cmd", short, 1, { sources: [{ type: "command", channels: [0], source: "cat x.wav" }] }),
        rec("perturbed", short, 1, { transforms: [{ name: "Speed", kwargs: { factor: 1.1 } }] }),
        rec("stereo", short, 1, { sources: [{ type: "file", channels: [0], source: short }, { type: "file", channels: [1], source: short }] }),
      ],
      true,
    );
    jsonl(
      "m/corpus_supervisions_dev-clean.jsonl.gz",
      [
        // A segment of a longer recording: words are recording-relative in Lhotse, so they shift by -start.
        { id: "seg1", recording_id: "long", start: 1.5, duration: 1.0, channel: 0, text: "hello there", language: "en", speaker: "s1", gender: "female", alignment: { word: [["hello", 1.6, 0.3, 0.9], ["there", 2.0, 0.4, null]] } },
        { id: "whole", recording_id: "short", start: 0, duration: 0.995, text: "all of it", speaker: "s2", custom: { split: "test", snr: 20 }, alignment: { word: [{ symbol: "all", start: 0.1, duration: 0.2, score: null }] } },
        { id: "c1", recording_id: "cmd", start: 0, duration: 1, text: "x" },
        { id: "p1", recording_id: "perturbed", start: 0, duration: 1, text: "x" },
        { id: "st1", recording_id: "stereo", start: 0, duration: 1, text: "x" },
        { id: "orphan", recording_id: "nowhere", start: 0, duration: 1, text: "x" },
      ],
      true,
    );
    const spec = inputSchema.parse({ format: "lhotse", path: path.join(dir, "m/corpus_recordings_dev-clean.jsonl.gz") });
    await checkInput(spec);
    const { utts, errors } = await collect(spec);
    expect(utts.map((u) => u.sourceId)).toEqual(["seg1", "whole"]);
    const [seg, whole] = utts;
    expect(seg).toMatchObject({ id: "s1-seg1", speaker: "s1", text: "hello there", language: "en", gender: "f", split: "dev", durationS: 1 });
    expect(seg.audio).toEqual({ path: long, offsetS: 1.5, durationS: 1 });
    expect(seg.words!.map((w) => [w.word, +w.startS.toFixed(6), +w.endS.toFixed(6)])).toEqual([
      ["hello", 0.1, 0.4],
      ["there", 0.5, 0.9],
    ]);
    expect(whole).toMatchObject({ split: "test", fields: { snr: 20 } });
    expect(whole.audio).toEqual({ path: short }); // within 10 ms of the recording: the whole file
    expect(whole.words).toEqual([{ word: "all", startS: 0.1, endS: 0.30000000000000004 }]);
    const reasons = Object.fromEntries(errors.map((e) => [e.id, e.reason]));
    expect(Object.keys(reasons).sort()).toEqual(["c1", "orphan", "p1", "st1"]);
    expect(reasons.c1).toMatch(/source type "command" is not supported/);
    expect(reasons.p1).toMatch(/transforms \(Speed\)/);
    expect(reasons.st1).toMatch(/2 sources/);
    expect(reasons.orphan).toMatch(/recording nowhere not in the recordings manifest/);
  });

  it("reads cuts (offset, alignments relative to the recording) and refuses other cut types", async () => {
    const long = wav("long2.wav", 4);
    const recording = rec("long2", long, 4);
    jsonl("cuts.jsonl", [
      {
        id: "cutA",
        start: 2,
        duration: 1.5,
        channel: 0,
        supervisions: [
          { id: "supA2", recording_id: "long2", start: 0.8, duration: 0.6, channel: 0, text: "second", speaker: "k", alignment: { word: [["second", 2.9, 0.5, null]] } },
          { id: "supA1", recording_id: "long2", start: 0, duration: 0.7, channel: 0, text: "first", speaker: "k", alignment: { word: [["first", 2.1, 0.4, null]] } },
        ],
        recording,
        type: "MonoCut",
      },
      { id: "mixed", tracks: [], type: "MixedCut" },
    ]);
    const spec = inputSchema.parse({ format: "lhotse", path: path.join(dir, "cuts.jsonl") });
    const { utts, errors } = await collect(spec);
    expect(utts).toHaveLength(1);
    expect(utts[0]).toMatchObject({ id: "k-cutA", speaker: "k", text: "first second", durationS: 1.5 });
    expect(utts[0].audio).toEqual({ path: long, offsetS: 2, durationS: 1.5 });
    expect(utts[0].words!.map((w) => [w.word, +w.startS.toFixed(6), +w.endS.toFixed(6)])).toEqual([
      ["first", 0.1, 0.5],
      ["second", 0.9, 1.4],
    ]);
    expect(errors.map((e) => [e.id, e.reason])).toEqual([["mixed", expect.stringMatching(/MixedCut.*not supported/)]]);
  });

  it("stops before any work on a missing or wrong manifest", async () => {
    const sup = jsonl("only_supervisions.jsonl", [{ id: "a", recording_id: "r", start: 0, duration: 1 }]);
    await expect(checkInput(inputSchema.parse({ format: "lhotse", path: sup }))).rejects.toThrow(/supervisions manifest; point `path` at the cuts or the recordings/);
    const lonely = jsonl("lonely/recs.jsonl", [rec("r", "/nowhere.wav", 1)]);
    await expect(checkInput(inputSchema.parse({ format: "lhotse", path: lonely }))).rejects.toThrow(/set `supervisions`/);
    const explicit = jsonl("lonely/sups.jsonl", [{ id: "a", recording_id: "r", start: 0, duration: 1, text: "t" }]);
    const spec = inputSchema.parse({ format: "lhotse", path: lonely, supervisions: "sups.jsonl" });
    await checkInput(spec);
    const { utts, errors } = await collect(spec);
    expect(utts).toEqual([]);
    expect(errors.map((e) => e.reason)).toEqual([expect.stringMatching(/file not found: \/nowhere.wav/)]);
    expect(readdirSync(path.join(dir, "lonely")).sort()).toEqual(["recs.jsonl", "sups.jsonl"]);
  });
});
