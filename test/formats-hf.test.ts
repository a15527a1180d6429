// Hugging Face audiofolder output (FORMATS.md §5a), read back with Python json/soundfile: split folder
// names, metadata.jsonl beside the audio, identical columns and JSON types in every row of every split,
// file_name relative and resolvable, durations against the decoded audio.
import { readdirSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { floatToInt16 } from "../src/audio/decode.js";
import { encodeFlac } from "../src/audio/flac.js";
import type { ItemMeta, ProcessedItem } from "../src/types.js";
import { HF_METADATA_COLUMNS, HfAudioFolderMetadata, HfAudioFolderSink, hfSplitName, jsonFloat } from "../src/writers/hf.js";
import { itemRecord, type ItemRecord } from "../src/writers/manifest.js";
import { speechLike, tempDir } from "./helpers/fixtures.js";
import { pythonJson } from "./helpers/python.js";

interface ItemSpec {
  id: string;
  speaker: string;
  samples: number;
  language?: string;
  gender?: string;
  split?: string;
}

function makeItem(index: number, s: ItemSpec): ProcessedItem {
  const sr = 16000;
  const pcm = floatToInt16(speechLike(s.samples, sr, 130 + index * 5, index + 11));
  const meta: ItemMeta = {
    id: s.id,
    text: `text ${index}`,
    ...(s.language ? { language: s.language } : {}),
    speaker: s.speaker,
    ...(s.gender ? { gender: s.gender } : {}),
    ...(s.split ? { split: s.split } : {}),
    duration: s.samples / sr,
    num_samples: s.samples,
    sampling_rate: sr,
    source: { id: `src-${s.id}`, audio: `/corpus/${s.id}.wav`, input: 0, duration: s.samples / sr, sampling_rate: sr, channels: 1 },
    copy: 0,
    ops: [],
    peak_dbfs: -3,
    rms_dbfs: -20,
  };
  return { index, outId: s.id, audio: encodeFlac(pcm, sr), audioExt: "flac", meta, inputDurationS: s.samples / sr };
}

describe("Hugging Face audiofolder", () => {
  const out = tempDir("augment-hf-");
  const items = [
    // A whole split (test) with integral durations and no language/gender: the types must still match.
    makeItem(0, { id: "s1-a", speaker: "s1", samples: 16000, split: "test" }),
    makeItem(1, { id: "s1-b", speaker: "s1", samples: 12345, language: "en", gender: "m", split: "train" }),
    makeItem(2, { id: "s2-a", speaker: "s2", samples: 9000, language: "de", split: "dev" }),
    makeItem(3, { id: "s2-b", speaker: "s2", samples: 32000, split: "test" }),
    makeItem(4, { id: "s3-a", speaker: "s3", samples: 7000, gender: "f" }), // no split → train
  ];
  let report: any;

  beforeAll(async () => {
    const sink = new HfAudioFolderSink(out, { dir: "hf" });
    const records: ItemRecord[] = [];
    for (const [shard, group] of [items.slice(0, 3), items.slice(3)].entries()) {
      await sink.open(shard);
      for (const it of group) {
        await sink.add(it);
        records.push(itemRecord(it, sink.audioRef(it), shard));
      }
      await sink.commit();
    }
    const meta = new HfAudioFolderMetadata({ outDir: out, tarred: false, dir: "hf" });
    for (const r of records) await meta.add(r);
    await meta.finish();
    report = pythonJson(
      String.raw`
import json, os, sys
import soundfile as sf
root = os.path.join(sys.argv[1], "hf")
res = {"splits": sorted(os.listdir(root)), "rows": {}, "listing": {}}
for split in res["splits"]:
    d = os.path.join(root, split)
    res["listing"][split] = sorted(os.listdir(d))
    rows = []
    for line in open(os.path.join(d, "metadata.jsonl"), encoding="utf-8"):
        row = json.loads(line)
        fn = row["file_name"]
        info = sf.info(os.path.join(d, fn))  # relative to the metadata file's folder
        rows.append({"row": row, "keys": list(row), "types": {k: type(v).__name__ for k, v in row.items()},
                     "frames": info.frames, "sr": info.samplerate, "rel_ok": not os.path.isabs(fn) and ".." not in fn.split("/")})
    res["rows"][split] = rows
print(json.dumps(res))
`,
      [out],
    );
  });

  it("split folders are HF's names (dev → validation, none → train), each with its metadata.jsonl and audio only", () => {
    expect(report.splits).toEqual(["test", "train", "validation"]);
    expect(report.listing.train).toEqual(["metadata.jsonl", "s1-b.flac", "s3-a.flac"]);
    expect(report.listing.validation).toEqual(["metadata.jsonl", "s2-a.flac"]);
    expect(report.listing.test).toEqual(["metadata.jsonl", "s1-a.flac", "s2-b.flac"]);
  });

  it("every row of every split has the same columns with the same JSON types, and no nulls", () => {
    const all = Object.values<any[]>(report.rows).flat();
    const keys = Object.keys(HF_METADATA_COLUMNS);
    const pyType = { string: "str", float: "float", int: "int" } as const;
    for (const r of all) {
      expect(r.keys).toEqual(keys);
      expect(r.types).toEqual(Object.fromEntries(Object.entries(HF_METADATA_COLUMNS).map(([k, t]) => [k, pyType[t]])));
    }
    expect(report.rows.test.map((r: any) => r.row.duration)).toEqual([1, 2]); // written 1.0 / 2.0: float in Python
    expect(report.rows.test[0].row).toMatchObject({ language: "", gender: "" });
  });

  it("file_name is relative to the metadata file, resolves to the audio, and durations match it", () => {
    for (const [split, rows] of Object.entries<any[]>(report.rows)) {
      for (const r of rows) {
        expect(r.rel_ok).toBe(true);
        expect(r.row.file_name).toBe(`${r.row.id}.flac`);
        expect(Math.abs(r.row.duration - r.frames / r.sr)).toBeLessThan(0.001);
        expect(r.row.sampling_rate).toBe(r.sr);
      }
      expect(rows.length).toBeGreaterThan(0);
      expect(split).toMatch(/^(train|validation|test)$/);
    }
    expect(report.rows.train.map((r: any) => r.row.transcription)).toEqual(["text 1", "text 4"]);
  });

  it("maps split names as HF does, refusing names audiofolder would drop", () => {
    expect([undefined, "train", "training", "dev", "valid", "val", "validation", "test", "eval"].map((s) => hfSplitName(s))).toEqual([
      "train",
      "train",
      "train",
      "validation",
      "validation",
      "validation",
      "validation",
      "test",
      "test",
    ]);
    expect(() => hfSplitName("holdout")).toThrow(/audiofolder only knows/);
    expect(hfSplitName("holdout", { allowCustom: true })).toBe("holdout");
    expect(() => hfSplitName("hold-out", { allowCustom: true })).toThrow(/must match/);
    expect([jsonFloat(2), jsonFloat(0.5), jsonFloat(1e21)]).toEqual(["2.0", "0.5", "1e+21"]);
    expect(() => new HfAudioFolderMetadata({ outDir: out, tarred: true })).toThrow(/audio files/);
    expect(readdirSync(out)).toEqual(["hf"]);
  });
});
