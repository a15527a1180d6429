// Hugging Face Parquet output (FORMATS.md §5b), read back with DuckDB (@duckdb/node-api: DuckDB's own C++
// Parquet reader, independent of the hyparquet-writer that wrote the files): the Parquet schema (struct
// audio{bytes BYTE_ARRAY, path UTF8} in that order, every column OPTIONAL), the `huggingface` key-value
// metadata, row groups of 100, file names, and audio bytes decoded by Python soundfile.
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { floatToInt16 } from "../src/audio/decode.js";
import { encodeFlac } from "../src/audio/flac.js";
import type { ItemMeta, ProcessedItem } from "../src/types.js";
import { HF_PARQUET_FEATURES, HfParquetSink } from "../src/writers/parquet.js";
import { speechLike, tempDir } from "./helpers/fixtures.js";
import { pythonJson } from "./helpers/python.js";

type Row = Record<string, unknown>;
type Query = (sql: string) => Promise<Row[]>;

/** DuckDB as the reader, or null (with a visible message) when the package is not installed. */
async function duckdb(): Promise<{ query: Query; close: () => void } | null> {
  try {
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    return {
      query: async (sql) => (await conn.runAndReadAll(sql)).getRowObjects() as Row[],
      close: () => conn.closeSync(),
    };
  } catch (err) {
    console.warn(`SKIPPED: Parquet reader @duckdb/node-api not available (${(err as Error).message}); install the devDependency to run these checks`);
    return null;
  }
}

function makeItem(index: number, id: string, samples: number, split: string | undefined, language?: string): ProcessedItem {
  const sr = index % 3 === 0 ? 8000 : 16000;
  const pcm = floatToInt16(speechLike(samples, sr, 150 + (index % 17) * 11, index + 1));
  const meta: ItemMeta = {
    id,
    text: `transcript ${index} ü`,
    ...(language ? { language } : {}),
    speaker: id.split("-")[0],
    ...(split ? { split } : {}),
    duration: samples / sr,
    num_samples: samples,
    sampling_rate: sr,
    source: { id, audio: `/corpus/${id}.wav`, input: 0, duration: samples / sr, sampling_rate: sr, channels: 1 },
    copy: 0,
    ops: [],
    peak_dbfs: -3,
    rms_dbfs: -20,
  };
  return { index, outId: id, audio: encodeFlac(pcm, sr), audioExt: "flac", meta, inputDurationS: samples / sr };
}

describe("Hugging Face Parquet", () => {
  const out = tempDir("augment-parquet-");
  // Shard 0: 130 train items (row groups 100 + 30) and 3 dev items; shard 1: 4 items without a split.
  const shard0 = [
    ...Array.from({ length: 130 }, (_, i) => makeItem(i, `s${i % 4}-u${i}`, 400 + i * 3, "train", i % 2 ? "en" : undefined)),
    ...Array.from({ length: 3 }, (_, i) => makeItem(200 + i, `d${i}-u${i}`, 900 + i, "dev", "fr")),
  ].sort((a, b) => a.outId.length - b.outId.length || a.index - b.index); // dev items land among the train items
  const shard1 = Array.from({ length: 4 }, (_, i) => makeItem(300 + i, `t${i}-u${i}`, 1600 * (i + 1), undefined, "en"));
  let db: Awaited<ReturnType<typeof duckdb>>;
  const file = (name: string) => path.join(out, "data", name).replaceAll("'", "''");

  beforeAll(async () => {
    const sink = new HfParquetSink(out, { numShards: 2 });
    for (const [shard, items] of [shard0, shard1].entries()) {
      await sink.open(shard);
      for (const it of items) await sink.add(it);
      const rec = await sink.commit();
      expect(rec.items).toBe(items.length);
    }
    db = await duckdb();
  });

  it("names files data/<split>-%05d-of-%05d.parquet (dev → validation, none → train)", () => {
    expect(readdirSync(path.join(out, "data")).sort()).toEqual([
      "train-00000-of-00002.parquet",
      "train-00001-of-00002.parquet",
      "validation-00000-of-00002.parquet",
    ]);
  });

  it("has the Audio storage layout: OPTIONAL struct audio{bytes: binary, path: string}, then the value columns", async (ctx) => {
    if (!db) return ctx.skip();
    const schema = await db.query(`SELECT name, type, repetition_type, num_children, converted_type, logical_type FROM parquet_schema('${file("train-00000-of-00002.parquet")}')`);
    expect(schema.map((r) => [r.name, r.type, r.repetition_type, r.num_children === null ? null : Number(r.num_children), r.converted_type])).toEqual([
      ["schema", null, null, 6, null],
      ["audio", null, "OPTIONAL", 2, null],
      ["bytes", "BYTE_ARRAY", "OPTIONAL", null, null], // no UTF8 annotation: Arrow `binary`
      ["path", "BYTE_ARRAY", "OPTIONAL", null, "UTF8"], // Arrow `string`
      ["text", "BYTE_ARRAY", "OPTIONAL", null, "UTF8"],
      ["speaker", "BYTE_ARRAY", "OPTIONAL", null, "UTF8"],
      ["language", "BYTE_ARRAY", "OPTIONAL", null, "UTF8"],
      ["duration", "DOUBLE", "OPTIONAL", null, null],
      ["id", "BYTE_ARRAY", "OPTIONAL", null, "UTF8"],
    ]);
    const described = await db.query(`DESCRIBE SELECT * FROM '${file("train-00000-of-00002.parquet")}'`);
    expect(described.map((r) => [r.column_name, r.column_type, r.null])).toEqual([
      ["audio", "STRUCT(bytes BLOB, path VARCHAR)", "YES"],
      ["text", "VARCHAR", "YES"],
      ["speaker", "VARCHAR", "YES"],
      ["language", "VARCHAR", "YES"],
      ["duration", "DOUBLE", "YES"],
      ["id", "VARCHAR", "YES"],
    ]);
  });

  it("stores datasets' features under the `huggingface` key-value metadata, in column order", async (ctx) => {
    if (!db) return ctx.skip();
    for (const name of readdirSync(path.join(out, "data"))) {
      const kv = await db.query(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata('${file(name)}')`);
      expect(kv.map((r) => r.k)).toEqual(["huggingface"]);
      const value = JSON.parse(kv[0].v as string);
      expect(value).toEqual({
        info: {
          features: {
            audio: { _type: "Audio" },
            text: { dtype: "string", _type: "Value" },
            speaker: { dtype: "string", _type: "Value" },
            language: { dtype: "string", _type: "Value" },
            duration: { dtype: "float64", _type: "Value" },
            id: { dtype: "string", _type: "Value" },
          },
        },
      });
      expect(Object.keys(value.info.features)).toEqual(Object.keys(HF_PARQUET_FEATURES));
    }
  });

  it("writes row groups of 100 rows and keeps the items' order", async (ctx) => {
    if (!db) return ctx.skip();
    const groups = await db.query(`SELECT DISTINCT row_group_id, row_group_num_rows FROM parquet_metadata('${file("train-00000-of-00002.parquet")}') ORDER BY row_group_id`);
    expect(groups.map((g) => Number(g.row_group_num_rows))).toEqual([100, 30]);
    const ids = await db.query(`SELECT id FROM '${file("train-00000-of-00002.parquet")}'`);
    expect(ids.map((r) => r.id)).toEqual(shard0.filter((it) => it.meta.split === "train").map((it) => it.outId));
    const dev = await db.query(`SELECT id, language FROM '${file("validation-00000-of-00002.parquet")}'`);
    expect(dev).toEqual([0, 1, 2].map((i) => ({ id: `d${i}-u${i}`, language: "fr" })));
  });

  it("holds the encoded audio and its name; bytes decode to the stated duration; missing language is null", async (ctx) => {
    if (!db) return ctx.skip();
    const rows = await db.query(
      `SELECT audio.bytes AS bytes, audio.path AS path, text, speaker, language, duration, id FROM read_parquet(['${file("train-00000-of-00002.parquet")}', '${file("train-00001-of-00002.parquet")}'])`,
    );
    const byId = new Map([...shard0, ...shard1].map((it) => [it.outId, it]));
    const dir = path.join(tempDir("augment-parquet-audio-"), "a");
    mkdirSync(dir);
    for (const r of rows) {
      const item = byId.get(r.id as string)!;
      expect(r).toMatchObject({ path: `${item.outId}.flac`, text: item.meta.text, speaker: item.meta.speaker, language: item.meta.language ?? null, duration: item.meta.num_samples / item.meta.sampling_rate });
      const bytes = (r.bytes as { bytes: Uint8Array }).bytes;
      expect(Buffer.from(bytes).equals(Buffer.from(item.audio))).toBe(true);
      writeFileSync(path.join(dir, r.path as string), bytes);
    }
    const decoded = pythonJson<Record<string, { frames: number; sr: number }>>(
      `import json, os, sys, soundfile as sf
d = sys.argv[1]
print(json.dumps({f: (lambda i: {"frames": i.frames, "sr": i.samplerate})(sf.info(os.path.join(d, f))) for f in os.listdir(d)}))`,
      [dir],
    );
    expect(Object.keys(decoded)).toHaveLength(rows.length);
    for (const r of rows) {
      const d = decoded[r.path as string];
      expect(Math.abs(d.frames / d.sr - (r.duration as number))).toBeLessThan(0.001);
    }
    db!.close();
  });
});
