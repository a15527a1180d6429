// NeMo tarred and Lhotse Shar output, read back with Python's tarfile/json/gzip/yaml/soundfile (an
// independent reader) and checked against FORMATS.md §2 and §3 (member names and order, manifest keys
// and types, shard ids, pairing, durations against the decoded audio).
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { floatToInt16 } from "../src/audio/decode.js";
import { encodeFlac } from "../src/audio/flac.js";
import type { ItemMeta, ProcessedItem, WordTime } from "../src/types.js";
import { itemRecord } from "../src/writers/manifest.js";
import {
  NemoTarredSink,
  nemoDatetime,
  nemoTarredConfigSnippet,
  nemoTarredManifest,
  writeNemoTarredMetadata,
} from "../src/writers/nemo-tarred.js";
import { SharSink } from "../src/writers/shar.js";
import type { ShardSink } from "../src/writers/sink.js";
import { speechLike, tempDir } from "./helpers/fixtures.js";
import { pythonJson } from "./helpers/python.js";

interface ItemSpec {
  id: string;
  speaker: string;
  samples: number;
  sr?: number;
  text?: string;
  language?: string;
  gender?: string;
  split?: string;
  words?: WordTime[];
}

function makeItem(index: number, s: ItemSpec): ProcessedItem {
  const sr = s.sr ?? 16000;
  const pcm = floatToInt16(speechLike(s.samples, sr, 120 + index * 7, index + 1));
  const meta: ItemMeta = {
    id: s.id,
    text: s.text ?? `utterance number ${index}`,
    ...(s.language ? { language: s.language } : {}),
    speaker: s.speaker,
    ...(s.gender ? { gender: s.gender } : {}),
    ...(s.split ? { split: s.split } : {}),
    duration: s.samples / sr,
    num_samples: s.samples,
    sampling_rate: sr,
    source: { id: `src-${s.id}`, audio: `/corpus/${s.id}.wav`, input: 0, duration: s.samples / sr, sampling_rate: sr, channels: 1 },
    copy: 0,
    ...(s.words ? { words: s.words } : {}),
    ops: [{ op: "gain", db: 1.5, measured: { peak_dbfs: -3 } }],
    peak_dbfs: -3,
    rms_dbfs: -20,
  };
  return { index, outId: s.id, audio: encodeFlac(pcm, sr), audioExt: "flac", meta, inputDurationS: s.samples / sr };
}

async function writeShards(sink: ShardSink, shards: ProcessedItem[][]) {
  const records = [];
  for (let i = 0; i < shards.length; i++) {
    await sink.open(i);
    for (const item of shards[i]) {
      await sink.add(item);
      records.push(itemRecord(item, sink.audioRef(item), i));
    }
    await sink.commit();
  }
  return records;
}

describe("NeMo tarred dataset", () => {
  const out = tempDir("augment-nemo-tarred-");
  const shards = [0, 1, 2].map((s) =>
    [0, 1].map((k) =>
      makeItem(s * 2 + k, {
        id: `spk${k}-utt${s}${k}`,
        speaker: `spk${k}`,
        // 0.5 s, 0.5003125 s, …: durations that are not round, and one exactly 1 s.
        samples: s === 2 && k === 1 ? 16000 : 8000 + 5 * (s * 2 + k),
        language: k === 0 ? "en" : undefined,
      }),
    ),
  );
  let report: any;

  beforeAll(async () => {
    const records = await writeShards(new NemoTarredSink(out, { itemsPerShard: 2 }), shards);
    const full = nemoTarredManifest({ outDir: out, tarred: true });
    for (const r of records) await full.add(r);
    await full.finish();
    await writeNemoTarredMetadata(out, {
      numShards: 3,
      numSamplesPerShard: 2,
      shuffle: true,
      shuffleSeed: 7,
      forceCodec: "flac",
      created: new Date(2025, 10, 24, 10, 0, 0),
    });
    const snippet = nemoTarredConfigSnippet(out, 3);
    report = pythonJson(
      String.raw`
import io, json, os, re, sys, tarfile, yaml
import soundfile as sf
out, snippet = sys.argv[1], sys.argv[2]
res = {"files": sorted(os.listdir(out)), "sharded": sorted(os.listdir(os.path.join(out, "sharded_manifests"))), "shards": {}}
for name in res["files"]:
    if not name.endswith(".tar"):
        continue
    members = []
    with tarfile.open(os.path.join(out, name), mode="r|*") as tf:  # streaming, as NeMo/Lhotse read
        for ti in tf:
            data = tf.extractfile(ti).read() if ti.isreg() else b""
            info = sf.info(io.BytesIO(data))
            members.append({"name": ti.name, "isreg": ti.isreg(), "frames": info.frames, "sr": info.samplerate, "format": info.format})
    sid = int(re.search(r"audio[^/]*_(\d+)[^/]*\.tar", name).group(1))
    entries = [json.loads(l) for l in open(os.path.join(out, "sharded_manifests", f"manifest_{sid}.json"))]
    res["shards"][sid] = {"members": members, "entries": entries}
res["manifest_ids"] = sorted(int(re.search(r"manifest[^/]*_(\d+)[^/]*\.json", n).group(1)) for n in res["sharded"])
res["full"] = [json.loads(l) for l in open(os.path.join(out, "tarred_audio_manifest.json"))]
res["metadata"] = yaml.safe_load(open(os.path.join(out, "metadata.yaml")))
cfg = yaml.safe_load(snippet)["train_ds"]
def expand(p):  # NeMo: _OP_ -> {, _CL_ -> }, then braceexpand of a numeric range
    p = p.replace("_OP_", "{").replace("_CL_", "}")
    m = re.search(r"\{(\d+)\.\.(\d+)\}", p)
    return [p[:m.start()] + str(i) + p[m.end():] for i in range(int(m.group(1)), int(m.group(2)) + 1)]
res["config"] = cfg
res["config_manifests"] = expand(cfg["manifest_filepath"])
res["config_tars"] = expand(cfg["tarred_audio_filepaths"])
print(json.dumps(res))
`,
      [out, snippet],
    );
  });

  it("writes audio_<i>.tar, 0-based and unpadded, and one sharded manifest per tar", () => {
    expect(report.files).toEqual(["audio_0.tar", "audio_1.tar", "audio_2.tar", "metadata.yaml", "sharded_manifests", "tarred_audio_manifest.json"]);
    expect(report.sharded).toEqual(["manifest_0.json", "manifest_1.json", "manifest_2.json"]);
    // NeMo's _validate: the shard ids parsed from both name lists are equal and 0..N-1 (paths[sid]).
    expect(report.manifest_ids).toEqual([0, 1, 2]);
    expect(Object.keys(report.shards).map(Number).sort()).toEqual([0, 1, 2]);
  });

  it("tar members are exactly <id>.flac, regular files, equal to audio_filepath in order", () => {
    for (const [sid, shard] of Object.entries<any>(report.shards)) {
      const ids = shards[Number(sid)].map((it) => it.outId);
      expect(shard.members.map((m: any) => m.name)).toEqual(ids.map((id) => `${id}.flac`));
      expect(shard.members.every((m: any) => m.isreg && m.format === "FLAC")).toBe(true);
      // LazyNeMoTarredIterator: shard_manifest[tar_info.name] must exist.
      expect(shard.entries.map((e: any) => e.audio_filepath)).toEqual(shard.members.map((m: any) => m.name));
      expect(shard.entries.every((e: any) => e.shard_id === Number(sid))).toBe(true);
      expect(shard.entries).toHaveLength(2); // equal counts per shard
    }
  });

  it("entries have NeMo's required keys with the right types, and durations match the decoded audio", () => {
    for (const shard of Object.values<any>(report.shards)) {
      shard.entries.forEach((e: any, k: number) => {
        expect(typeof e.audio_filepath).toBe("string");
        expect(typeof e.duration).toBe("number");
        expect(typeof e.text).toBe("string");
        expect(Number.isInteger(e.shard_id)).toBe(true);
        expect(Number.isInteger(e.sampling_rate)).toBe(true);
        expect(typeof e.speaker).toBe("string");
        const m = shard.members[k];
        expect(m.sr).toBe(e.sampling_rate);
        expect(Math.abs(m.frames / m.sr - e.duration)).toBeLessThan(0.001);
      });
    }
    const withLang = report.shards[0].entries[0];
    expect(withLang.lang).toBe("en");
    expect("lang" in report.shards[0].entries[1]).toBe(false);
  });

  it("tarred_audio_manifest.json is every sharded manifest in order", () => {
    expect(report.full).toEqual([0, 1, 2].flatMap((s) => report.shards[s].entries));
  });

  it("metadata.yaml has NeMo's ASRTarredDatasetMetadata fields", () => {
    const m = report.metadata;
    expect(m.created_datetime).toBe("11-24-2025 10-00-00");
    expect(m).toMatchObject({ version: 0, num_samples_per_shard: 2, is_concatenated_manifest: false, history: [] });
    expect(Object.keys(m.dataset_config)).toEqual([
      "num_shards",
      "shuffle",
      "max_duration",
      "min_duration",
      "shuffle_seed",
      "sort_in_shards",
      "slice_with_offset",
      "shard_manifests",
      "keep_files_together",
      "force_codec",
      "use_lhotse",
      "use_bucketing",
      "num_buckets",
      "bucket_duration_bins",
    ]);
    expect(m.dataset_config).toMatchObject({ num_shards: 3, shuffle: true, shuffle_seed: 7, force_codec: "flac", use_lhotse: true, shard_manifests: true });
    expect(nemoDatetime(new Date(2024, 0, 2, 3, 4, 5))).toBe("01-02-2024 03-04-05");
  });

  it("the config snippet's brace patterns expand to exactly the written files", () => {
    expect(report.config).toMatchObject({ is_tarred: true, use_lhotse: true });
    expect(report.config.manifest_filepath).toBe(`${out}/sharded_manifests/manifest__OP_0..2_CL_.json`);
    expect(report.config_manifests).toEqual([0, 1, 2].map((i) => path.join(out, `sharded_manifests/manifest_${i}.json`)));
    expect(report.config_tars).toEqual([0, 1, 2].map((i) => path.join(out, `audio_${i}.tar`)));
  });

  it("refuses a shard with a count other than it was told, and leaves no file behind", async () => {
    const dir = tempDir("augment-nemo-uneven-");
    const sink = new NemoTarredSink(dir, { itemsPerShard: (shard) => (shard === 0 ? 2 : 3) });
    await sink.open(0);
    await sink.add(shards[0][0]);
    await expect(sink.commit()).rejects.toThrow(/got 1 items but must hold exactly 2/);
    await sink.abort();
    expect(readdirSync(dir)).toEqual([]);
    await sink.open(1);
    for (const it of [...shards[1], shards[2][0]]) await sink.add(it);
    const rec = await sink.commit();
    expect(rec).toMatchObject({ files: ["audio_1.tar"], items: 3, manifest: "sharded_manifests/manifest_1.json" });
    await sink.open(2);
    await sink.add(shards[2][0]);
    await expect(sink.add(shards[2][0])).rejects.toThrow(/duplicate member/);
    await sink.abort();
    expect(readdirSync(dir).sort()).toEqual(["audio_1.tar", "sharded_manifests"]);
  });
});

describe("Lhotse Shar", () => {
  const out = tempDir("augment-shar-");
  const shards = [0, 1].map((s) =>
    [0, 1, 2].map((k) =>
      makeItem(s * 3 + k, {
        id: `spk${k}-shar${s}${k}`,
        speaker: `spk${k}`,
        samples: 4000 + 321 * (s * 3 + k),
        sr: k === 2 ? 8000 : 16000,
        language: "en",
        gender: k === 1 ? "f" : undefined,
        split: "train",
        words: k === 0 ? [{ word: "utterance", startS: 0.01, endS: 0.11 }, { word: "number", startS: 0.12, endS: 0.2 }] : undefined,
      }),
    ),
  );
  let report: any;

  beforeAll(async () => {
    await writeShards(new SharSink(out), shards);
    report = pythonJson(
      String.raw`
import gzip, io, json, os, sys, tarfile
from pathlib import Path
import soundfile as sf
d = sys.argv[1]
res = {"top": sorted(os.listdir(d)), "shards": []}
# lhotse shar _discover_fields: stems up to the first dot, minus "cuts", skipping *.idx
res["fields"] = sorted({p.stem.split(".")[0] for p in Path(d).iterdir() if p.suffix != ".idx"} - {"cuts"})
for i in range(2):
    members = []
    with tarfile.open(os.path.join(d, f"recording.{i:06d}.tar"), mode="r|*") as tf:
        for ti in tf:
            data = tf.extractfile(ti).read()
            m = {"name": ti.name, "isreg": ti.isreg(), "stem": str(Path(ti.name).parent / Path(ti.name).stem)}
            if ti.name.endswith(".flac"):
                info = sf.info(io.BytesIO(data))
                m.update(frames=info.frames, sr=info.samplerate)
            else:
                m.update(text=data.decode("utf-8"))
            members.append(m)
    raw = open(os.path.join(d, f"cuts.{i:06d}.jsonl.gz"), "rb").read()
    cuts = [json.loads(l) for l in gzip.decompress(raw).decode("utf-8").splitlines()]
    res["shards"].append({"members": members, "cuts": cuts, "gzip_magic": raw[:2].hex()})
print(json.dumps(res))
`,
      [path.join(out, "shar")],
    );
  });

  it("the Shar folder holds only cuts.NNNNNN.jsonl.gz and recording.NNNNNN.tar, with as many of each", () => {
    expect(readdirSync(out)).toEqual(["shar"]);
    expect(report.top).toEqual(["cuts.000000.jsonl.gz", "cuts.000001.jsonl.gz", "recording.000000.tar", "recording.000001.tar"]);
    expect(report.fields).toEqual(["recording"]);
  });

  it("pairs <id>.flac + <id>.json per cut, in the cuts' order (Lhotse's 'Mismatched IDs' check)", () => {
    report.shards.forEach((shard: any, s: number) => {
      const ids = shards[s].map((it) => it.outId);
      expect(shard.gzip_magic).toBe("1f8b");
      expect(shard.members).toHaveLength(2 * ids.length); // even: no "Uneven number of files"
      expect(shard.members.every((m: any) => m.isreg)).toBe(true);
      expect(shard.cuts.map((c: any) => c.id)).toEqual(ids);
      ids.forEach((id, k) => {
        const [audio, meta] = [shard.members[2 * k], shard.members[2 * k + 1]];
        expect(audio.name).toBe(`${id}.flac`);
        expect(meta.name).toBe(`${id}.json`);
        expect(audio.stem).toBe(shard.cuts[k].id);
        expect(meta.stem).toBe(shard.cuts[k].id);
      });
    });
  });

  it("cuts are MonoCuts at start 0 with the shar placeholder recording, equal to the tar's json member", () => {
    const supervisionKeys = new Set(["id", "recording_id", "start", "duration", "channel", "text", "language", "speaker", "gender", "custom", "alignment"]);
    const recordingKeys = ["id", "sources", "sampling_rate", "num_samples", "duration", "channel_ids"];
    report.shards.forEach((shard: any, s: number) => {
      shard.cuts.forEach((cut: any, k: number) => {
        const item = shards[s][k];
        const audio = shard.members[2 * k];
        const json = shard.members[2 * k + 1].text;
        expect(Object.keys(cut)).toEqual(["id", "start", "duration", "channel", "supervisions", "recording", "type"]);
        expect(cut).toMatchObject({ start: 0, channel: 0, type: "MonoCut" });
        expect(Object.keys(cut.recording)).toEqual(recordingKeys);
        expect(cut.recording.sources).toEqual([{ type: "shar", channels: [0], source: "" }]);
        // One line: the placeholder Recording, as Lhotse prints it.
        expect(json.endsWith("\n")).toBe(true);
        expect(json.trimEnd().includes("\n")).toBe(false);
        expect(JSON.parse(json)).toEqual(cut.recording);
        expect(cut.recording.num_samples).toBe(audio.frames);
        expect(cut.recording.sampling_rate).toBe(audio.sr);
        expect(Math.abs(cut.duration - audio.frames / audio.sr)).toBeLessThan(0.001);
        expect(cut.recording.duration).toBe(cut.recording.num_samples / cut.recording.sampling_rate);
        expect(cut.supervisions).toHaveLength(1);
        const sup = cut.supervisions[0];
        for (const key of Object.keys(sup)) expect(supervisionKeys.has(key)).toBe(true);
        expect(sup).toMatchObject({ id: item.outId, recording_id: item.outId, start: 0, duration: cut.duration, text: item.meta.text, language: "en", speaker: item.meta.speaker });
        expect(sup.custom).toMatchObject({ split: "train", source_id: `src-${item.outId}`, copy: 0 });
        if (k === 1) expect(sup.gender).toBe("f");
        else expect("gender" in sup).toBe(false);
        if (k === 0) expect(sup.alignment).toEqual({ word: [["utterance", 0.01, 0.1, null], ["number", 0.12, 0.08, null]] });
        else expect("alignment" in sup).toBe(false);
      });
    });
  });

  it("keeps the Shar folder a dedicated subfolder", () => {
    expect(() => new SharSink(out, { dir: "" })).toThrow(/subfolder/);
    expect(() => new SharSink(out, { dir: "../x" })).toThrow(/subfolder/);
    expect(existsSync(path.join(out, "shar", "recording.000000.tar"))).toBe(true);
  });
});
