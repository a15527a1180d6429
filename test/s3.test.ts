// Object storage: inputs, banks and outputs at s3:// URLs, against a real S3-compatible server
// (s3rver, from the npm registry) started here on loopback with a random port. The CLI runs as a
// child process (asynchronously: the server lives in this process's event loop).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
// @ts-expect-error s3rver ships no types
import S3rver from "s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteObject, downloadObject, headObject, listObjects, putFile } from "../src/storage/s3.js";
import { parseS3Url, resolveLocation } from "../src/storage/url.js";
import { listTar, readTarMember } from "../src/writers/tar.js";
import { CLI, noiseSignal, speechLike, tempDir, writeNemoCorpus, writeWav } from "./helpers/fixtures.js";

let dir: string;
let server: { close(): Promise<void>; on(event: "event", f: (e: any) => void): void };
/** Objects created on the server, in order (s3rver's S3 event notifications). */
const created: Array<{ key: string; size: number }> = [];
let s3Env: Record<string, string>;

/** Runs the CLI with the S3 settings (no host AWS config), minus `drop`, plus `env`. */
function cli(args: string[], env: Record<string, string> = {}, drop: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("AWS_")) base[k] = v;
  const full = { ...base, ...s3Env, ...env };
  for (const k of drop) delete full[k];
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: full });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function walk(root: string, rel = ""): string[] {
  return readdirSync(path.join(root, rel))
    .flatMap((n) => {
      const r = rel ? `${rel}/${n}` : n;
      return statSync(path.join(root, r)).isDirectory() ? walk(root, r) : [r];
    })
    .sort();
}

async function upload(local: string, url: string): Promise<void> {
  for (const rel of walk(local)) await putFile(path.join(local, rel), `${url}/${rel}`);
}

/** Downloads every object under the URL into a fresh local folder; returns the folder. */
async function download(url: string, name: string): Promise<string> {
  const dest = path.join(dir, name);
  for (const o of await listObjects(url + "/")) {
    const f = path.join(dest, o.url.slice(url.length + 1));
    mkdirSync(path.dirname(f), { recursive: true });
    expect(await downloadObject(o.url, f)).toBe(true);
  }
  return dest;
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** index.json / summary.json without what differs between any two runs (timings, memory, where). */
function stable(rel: string, text: string): unknown {
  const j = JSON.parse(text);
  if (rel.endsWith("index.json")) delete j.wall_s;
  if (rel === "summary.json") {
    for (const k of ["wall_s", "x_realtime", "audio_hours_per_wall_s", "peak_rss_mb", "engine"]) delete j[k];
    delete j.output.path;
  }
  return j;
}

const RECIPE = (input: string, bank: string, out: string) =>
  `seed: 5\ninputs: [{format: nemo, path: ${input}}]\nnoise_banks: [{name: n, path: ${bank}}]\ncopies: 2\n` +
  `chain:\n  - speed: {factors: [0.9, 1.1]}\n  - noise: {bank: n, snr_db: [5, 15]}\n  - reverb: {simulate: {rt60_s: [0.2, 0.5]}, p: 0.5}\n` +
  `output: {path: ${out}, shard_max_items: 4}\n`;

beforeAll(async () => {
  dir = tempDir("augment-s3-");
  server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: path.join(dir, "s3rver"), configureBuckets: [{ name: "corpus" }, { name: "outputs" }] });
  const { port } = await (server as any).run();
  server.on("event", (e) => {
    const r = e.Records[0];
    if (r.eventName.startsWith("ObjectCreated")) created.push({ key: `${r.s3.bucket.name}/${r.s3.object.key}`, size: r.s3.object.size });
  });
  s3Env = {
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    AWS_REGION: "us-east-1",
    // Nothing from the host: no config files, no instance metadata (which is off loopback).
    AWS_CONFIG_FILE: path.join(dir, "no-aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, "no-aws-credentials"),
    AWS_EC2_METADATA_DISABLED: "true",
    AUGMENT_CACHE_DIR: path.join(dir, "cache"),
  };
  Object.assign(process.env, s3Env);

  writeNemoCorpus(
    path.join(dir, "c"),
    Array.from({ length: 7 }, (_, i) => ({ id: `s${i % 2}-u${i}`, speaker: `s${i % 2}`, text: `words ${i}`, samples: speechLike(6000 + 1700 * i, 16000, 120, i + 1), sampleRate: 16000 })),
  );
  writeWav(path.join(dir, "n/hum/a.wav"), noiseSignal(4 * 16000, 3), 16000);
  writeWav(path.join(dir, "n/hiss/b.wav"), noiseSignal(3 * 16000, 4), 16000);
  await upload(path.join(dir, "c"), "s3://corpus/data/c");
  await upload(path.join(dir, "n"), "s3://corpus/banks/n");
  writeFileSync(path.join(dir, "local.yaml"), RECIPE("c/manifest.json", "n", "out-local"));
  writeFileSync(path.join(dir, "s3.yaml"), RECIPE("s3://corpus/data/c/manifest.json", "s3://corpus/banks/n/", "s3://outputs/run"));
});

afterAll(async () => {
  await server?.close();
});

describe("object storage (s3:// inputs and outputs)", () => {
  let s3Out: string;

  it("a run reading from and writing to S3 produces the bytes of the local-disk run", async () => {
    const local = await cli(["run", "local.yaml", "--quiet", "--workers", "1"]);
    expect(local.stderr).toBe("");
    expect(local.code).toBe(0);
    created.length = 0;
    const remote = await cli(["run", "s3.yaml", "--quiet", "--workers", "1"]);
    expect(remote.stderr).toBe("");
    expect(remote.code).toBe(0);
    expect(remote.stdout).toMatch(/output: s3:\/\/outputs\/run/);
    // The same recipe, read from S3, written to a local folder.
    const mixed = await cli(["run", "s3.yaml", "--quiet", "--workers", "1", "--out", "out-mixed"]);
    expect(mixed.code).toBe(0);

    s3Out = await download("s3://outputs/run", "dl-run");
    const localOut = path.join(dir, "out-local");
    const mixedOut = path.join(dir, "out-mixed");
    const files = walk(s3Out);
    expect(files.filter((f) => f.endsWith(".tar")).length).toBe(4); // 14 items, 4 per shard
    expect(walk(mixedOut)).toEqual(files);
    expect(walk(localOut)).toEqual(files);

    // Writing to S3 changes no byte: every file equals the local-folder output of the same run.
    for (const rel of files) {
      const a = readFileSync(path.join(s3Out, rel));
      const b = readFileSync(path.join(mixedOut, rel));
      if (rel.endsWith("index.json") || rel === "summary.json") expect(stable(rel, a.toString()), rel).toEqual(stable(rel, b.toString()));
      else expect(sha(a), rel).toBe(sha(b));
    }
    // The index records what is in the bucket.
    const index = JSON.parse(readFileSync(path.join(s3Out, "index.json"), "utf8"));
    // Nothing but final names was ever created, and each shard once, whole.
    expect(created.every((c) => c.key.startsWith("outputs/run/") && !/\.(tmp|dl|pub)-\d+/.test(c.key))).toBe(true);
    for (const e of Object.values<any>(index.shards)) {
      expect(created.filter((c) => c.key === `outputs/run/${e.files[0]}`).map((c) => c.size)).toEqual([e.bytes]);
      expect(sha(readFileSync(path.join(s3Out, e.files[0])))).toBe(e.sha256);
      const head = await headObject(`s3://outputs/run/${e.files[0]}`);
      expect(head?.sha256).toBe(e.sha256);
      expect(head?.size).toBe(e.bytes);
    }

    // Reading from S3 changes no audio byte; labels differ only in where the source was.
    const where = (t: string) => t.split(path.join(dir, "c") + "/").join("s3://corpus/data/c/");
    for (const rel of files.filter((f) => f.endsWith(".tar"))) {
      const members = await listTar(path.join(s3Out, rel));
      expect((await listTar(path.join(localOut, rel))).map((m) => m.name)).toEqual(members.map((m) => m.name));
      for (const m of members) {
        const a = await readTarMember(path.join(s3Out, rel), m.name);
        const b = await readTarMember(path.join(localOut, rel), m.name);
        if (m.name.endsWith(".json")) expect(Buffer.from(a).toString(), m.name).toBe(where(Buffer.from(b).toString()));
        else expect(sha(a), m.name).toBe(sha(b));
      }
    }
    for (const rel of ["nemo_manifest.json", "errors.jsonl", "sharded_manifests/manifest_2.json", ".state/items-000001.jsonl"]) {
      expect(readFileSync(path.join(s3Out, rel), "utf8"), rel).toBe(where(readFileSync(path.join(localOut, rel), "utf8")));
    }

    const v = await cli(["verify", "s3://outputs/run"]);
    expect(v.stderr).toBe("");
    expect(v.stdout).toMatch(/s3:\/\/outputs\/run: 4 shards, 14 items, ok/);
    expect(v.code).toBe(0);
  });

  it("re-running after a shard object is lost redoes only that shard, with the same bytes", async () => {
    const shards = ["shard-000000.tar", "shard-000001.tar", "shard-000002.tar", "shard-000003.tar"];
    const before = new Map<string, number>();
    for (const s of shards) before.set(s, (await headObject(`s3://outputs/run/${s}`))!.modified!);
    await new Promise((r) => setTimeout(r, 1100)); // Last-Modified has a resolution of seconds
    await deleteObject("s3://outputs/run/shard-000001.tar");
    const broken = await cli(["verify", "s3://outputs/run"]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/shard 1: shard-000001\.tar missing/);

    const r = await cli(["run", "s3.yaml", "--workers", "1"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/resuming: 3 of 4 shards already complete/);
    const again = await download("s3://outputs/run", "dl-resumed");
    const summary = JSON.parse(readFileSync(path.join(again, "summary.json"), "utf8"));
    expect(summary.items.resumed_shards).toBe(3);
    for (const rel of walk(s3Out)) {
      if (rel.endsWith("index.json") || rel === "summary.json") continue;
      expect(sha(readFileSync(path.join(again, rel))), rel).toBe(sha(readFileSync(path.join(s3Out, rel))));
    }
    // Only the lost shard was uploaded again.
    for (const s of shards) {
      const modified = (await headObject(`s3://outputs/run/${s}`))!.modified!;
      if (s === "shard-000001.tar") expect(modified).toBeGreaterThan(before.get(s)!);
      else expect(modified, s).toBe(before.get(s));
    }
  });

  it("verify re-hashes the objects: a corrupted shard is found even when its metadata claims the right sha256", async () => {
    const url = "s3://outputs/run/shard-000002.tar";
    const good = readFileSync(path.join(s3Out, "shard-000002.tar"));
    const bad = Buffer.from(good);
    bad[3000] ^= 0xff;
    const sdk = await import("@aws-sdk/client-s3");
    const client = new sdk.S3Client({ forcePathStyle: true, requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED" });
    await client.send(new sdk.PutObjectCommand({ Bucket: "outputs", Key: "run/shard-000002.tar", Body: bad, Metadata: { sha256: sha(good) } }));
    const v = await cli(["verify", "s3://outputs/run"]);
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/problem: shard 2: shard-000002\.tar: sha256 differs from the index/);
    // Overwritten by an ordinary upload (its own checksum, or none): a re-run redoes the shard.
    const file = path.join(dir, "corrupt.tar");
    writeFileSync(file, bad);
    await putFile(file, url);
    const r = await cli(["run", "s3.yaml", "--workers", "1"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/resuming: 3 of 4 shards already complete/);
    expect((await cli(["verify", "s3://outputs/run"])).code).toBe(0);
  });

  it("sharded workers writing to S3, then merge, give the one-process bytes", async () => {
    for (let k = 0; k < 2; k++) {
      const r = await cli(["run", "s3.yaml", "--quiet", "--out", "s3://outputs/sharded", "--worker", String(k), "--workers", "2", "--threads", "1"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }
    const m = await cli(["merge", "s3://outputs/sharded"]);
    expect(m.code).toBe(0);
    const out = await download("s3://outputs/sharded", "dl-sharded");
    for (const rel of walk(s3Out)) {
      if (rel.endsWith("index.json") || rel === "summary.json") continue;
      expect(sha(readFileSync(path.join(out, rel))), rel).toBe(sha(readFileSync(path.join(s3Out, rel))));
    }
    expect(walk(out).filter((f) => f.startsWith(".state/index-"))).toEqual([".state/index-0-of-2.json", ".state/index-1-of-2.json"]);
  });

  it("a Kaldi data dir on S3 (a prefix) into per-file output: manifests name the audio by URL", async () => {
    const kal = path.join(dir, "kal");
    mkdirSync(path.join(kal, "wav"), { recursive: true });
    const ids = ["spk1-a", "spk1-b", "spk2-c"];
    ids.forEach((id, i) => writeWav(path.join(kal, "wav", `${id}.wav`), speechLike(7000 + 900 * i, 16000, 130, 20 + i), 16000));
    writeFileSync(path.join(kal, "wav.scp"), ids.map((id) => `${id} wav/${id}.wav\n`).join(""));
    writeFileSync(path.join(kal, "text"), ids.map((id) => `${id} hello ${id}\n`).join(""));
    writeFileSync(path.join(kal, "utt2spk"), ids.map((id) => `${id} ${id.slice(0, 4)}\n`).join(""));
    await upload(kal, "s3://corpus/data/kal");
    const recipe = (input: string) => `seed: 2\ninputs: [{format: kaldi, path: ${input}}]\nchain:\n  - gain: {db: [-6, 6]}\noutput: {path: out-kal, format: files, manifests: [nemo, lhotse]}\n`;
    writeFileSync(path.join(dir, "kal-local.yaml"), recipe("kal"));
    writeFileSync(path.join(dir, "kal-s3.yaml"), recipe("s3://corpus/data/kal"));
    expect((await cli(["run", "kal-local.yaml", "--quiet", "--workers", "1"])).code).toBe(0);
    const r = await cli(["run", "kal-s3.yaml", "--quiet", "--workers", "1", "--out", "s3://outputs/kal"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = await download("s3://outputs/kal", "dl-kal");
    const audio = walk(out).filter((f) => f.startsWith("audio/"));
    expect(audio.length).toBe(3);
    for (const rel of audio) expect(sha(readFileSync(path.join(out, rel))), rel).toBe(sha(readFileSync(path.join(dir, "out-kal", rel))));
    const nemo = readFileSync(path.join(out, "nemo_manifest.json"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    for (const e of nemo) {
      expect(e.audio_filepath).toMatch(/^s3:\/\/outputs\/kal\/audio\/.*\.flac$/);
      expect(await headObject(e.audio_filepath)).not.toBeNull();
    }
    expect((await cli(["verify", "s3://outputs/kal"])).code).toBe(0);
  });

  it("a missing bucket, object or credentials: one line naming the URL, exit 2", async () => {
    const one = (r: { code: number | null; stderr: string }, re: RegExp) => {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(re);
    };
    one(await cli(["run", "s3.yaml", "--quiet", "--out", "s3://no-such-bucket/x"]), /^error: s3:\/\/no-such-bucket\/x: bucket "no-such-bucket" does not exist$/m);
    writeFileSync(path.join(dir, "missing.yaml"), RECIPE("s3://corpus/data/nope.json", "s3://corpus/banks/n/", "s3://outputs/missing"));
    one(await cli(["run", "missing.yaml", "--quiet"]), /^error: s3:\/\/corpus\/data\/nope\.json: no such object or prefix$/m);
    writeFileSync(path.join(dir, "nobank.yaml"), RECIPE("s3://corpus/data/c/manifest.json", "s3://corpus/banks/none", "s3://outputs/missing"));
    one(await cli(["run", "nobank.yaml", "--quiet"]), /^error: s3:\/\/corpus\/banks\/none: no such object or prefix$/m);
    one(await cli(["run", "s3.yaml", "--quiet"], { AWS_ACCESS_KEY_ID: "wrong" }), /^error: s3:\/\/outputs\/run: (access denied|the S3 server refused)/m);
    one(await cli(["run", "s3.yaml", "--quiet"], {}, ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]), /^error: s3:\/\/outputs\/run: no AWS credentials found/m);
  });

  it("listings page past 1000 keys", async () => {
    const file = path.join(dir, "tiny.txt");
    writeFileSync(file, "x");
    const keys = Array.from({ length: 1010 }, (_, i) => `many/k${String(i).padStart(4, "0")}.txt`);
    for (let i = 0; i < keys.length; i += 100) await Promise.all(keys.slice(i, i + 100).map((k) => putFile(file, `s3://outputs/${k}`)));
    const all = await listObjects("s3://outputs/many/");
    expect(all.map((o) => o.url)).toEqual(keys.map((k) => `s3://outputs/${k}`));
  });

  it("multipart upload: a file above the part size arrives whole, with its sha256", async () => {
    const file = path.join(dir, "big.bin");
    const big = Buffer.alloc(12 * 1024 * 1024 + 123);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
    writeFileSync(file, big);
    process.env.AUGMENT_S3_PART_MB = "5";
    try {
      const r = await putFile(file, "s3://outputs/big/big.bin");
      expect(r.sha256).toBe(sha(big));
    } finally {
      delete process.env.AUGMENT_S3_PART_MB;
    }
    const head = await headObject("s3://outputs/big/big.bin");
    expect(head?.size).toBe(big.length);
    expect(head?.sha256).toBe(sha(big));
    const back = path.join(dir, "big-back.bin");
    await downloadObject("s3://outputs/big/big.bin", back);
    expect(sha(readFileSync(back))).toBe(sha(big));
  });
});

describe("s3:// locations", () => {
  it("resolve like paths under a URL; absolute URLs stay; local paths are unchanged", () => {
    expect(resolveLocation("s3://bkt/corpus/manifests", "../audio/x.wav")).toBe("s3://bkt/corpus/audio/x.wav");
    expect(resolveLocation("s3://bkt/corpus", "a/./b.wav")).toBe("s3://bkt/corpus/a/b.wav");
    expect(resolveLocation("/data/c", "s3://other/k.flac")).toBe("s3://other/k.flac");
    expect(resolveLocation("/data/c", "audio/x.wav")).toBe("/data/c/audio/x.wav");
    expect(parseS3Url("s3://bucket")).toEqual({ bucket: "bucket", key: "" });
    expect(() => parseS3Url("s3:///key")).toThrow(/not an s3:\/\/bucket\/key URL/);
  });
});
