// Where a run's output goes. A local folder is written in place. An s3:// URL is staged: the run
// writes into a local staging folder exactly as it writes a local output (same atomic writer, same
// bytes), and each piece is uploaded once complete: a shard's files, then its item records and
// NeMo manifest, then the index entry that makes it count; after finalize, the manifests, index.json
// and summary.json last. An S3 PUT (or a multipart Complete) makes an object appear whole, so no
// partial shard is ever visible under its final name. Resume reads plan and indexes from the bucket
// and keeps a shard when every object is there with the size and sha256 (object metadata) that the
// index records; `augment verify` downloads and re-hashes.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import pLimit from "p-limit";
import { workDir } from "../storage/cache.js";
import { checkBucket, deleteObject, downloadObject, headObject, listObjects, putFile } from "../storage/s3.js";
import { isS3Url, parseS3Url, prefixKey, s3Url, StorageError } from "../storage/url.js";
import { INDEX_FILE, PLAN_FILE, shardProblem, STATE_DIR, type IndexFile, type PlanFile, type ShardIndexEntry } from "./state.js";

export interface OutputLocation {
  /** As the user named it: a folder or an s3:// URL (for messages and summary.json). */
  readonly name: string;
  /** The local folder the run reads and writes: the output folder itself, or the staging folder. */
  readonly dir: string;
  readonly remote: boolean;
  /** A file of the output, for messages. */
  where(rel: string): string;
  /** Remote: copies plan.json and every index from the bucket into the staging folder. */
  pullState(): Promise<void>;
  /** Why a recorded shard is not intact where the output lives, or null. */
  shardProblem(e: ShardIndexEntry): Promise<string | null>;
  /** Remote: uploads these files (relative to `dir`), in order. */
  push(rels: string[]): Promise<void>;
  /**
   * Remote: uploads a file that is rewritten after every shard (a worker's index) at most every
   * AUGMENT_S3_INDEX_EVERY_S seconds (default 15): re-uploading a growing index per shard costs
   * quadratic traffic. A crash loses at most that much indexing; those shards are redone.
   */
  pushThrottled(rel: string): Promise<void>;
  /** Remote: uploads a committed shard (files, then records and manifest) and frees its local files. */
  pushShard(e: ShardIndexEntry): Promise<void>;
  /** Remote: deletes from the bucket what removePreviousRun deletes from a folder. */
  removePrevious(indexes: IndexFile[], plan: PlanFile | null): Promise<void>;
  /** Remote: downloads the item records that finalize reads (other workers' shards). */
  pullRecords(entries: ShardIndexEntry[]): Promise<void>;
  /** The staging folder's files (size and mtime), to upload what finalize writes afterwards. */
  snapshot(): Promise<Map<string, string>>;
  /**
   * Remote: uploads files new or changed since the snapshot (finalize's manifests), index.json and
   * summary.json last. Manifests that name audio files by absolute path name them by URL.
   */
  pushChanged(before: Map<string, string>): Promise<void>;
  /** Text as published: for a remote output, the staging folder's path replaced by the URL. */
  publicText(text: string): string;
  /** Remote: downloads these files into `dir` (a missing object leaves no local file), for verify. */
  fetch(rels: string[]): Promise<void>;
  /** Remote: deletes local copies made by fetch. */
  drop(rels: string[]): Promise<void>;
}

class LocalOutput implements OutputLocation {
  readonly remote = false;
  constructor(readonly name: string, readonly dir: string) {}
  where(rel: string): string {
    return path.join(this.dir, rel);
  }
  async pullState(): Promise<void> {}
  shardProblem(e: ShardIndexEntry): Promise<string | null> {
    return shardProblem(this.dir, e);
  }
  async push(): Promise<void> {}
  async pushThrottled(): Promise<void> {}
  async pushShard(): Promise<void> {}
  async removePrevious(): Promise<void> {}
  async pullRecords(): Promise<void> {}
  async snapshot(): Promise<Map<string, string>> {
    return new Map();
  }
  async pushChanged(): Promise<void> {}
  publicText(text: string): string {
    return text;
  }
  async fetch(): Promise<void> {}
  async drop(): Promise<void> {}
}

/** Temporary names of the atomic writer and the Kaldi sorter: never uploaded. */
const TEMP = /(^|\/)(\.[^/]*\.tmp-\d+|\.kaldi-sort-\d+)(\/|$)/;

async function walk(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => [])) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (TEMP.test(r)) continue;
    if (e.isDirectory()) out.push(...(await walk(dir, r)));
    else if (e.isFile()) out.push(r);
  }
  return out;
}

class S3Output implements OutputLocation {
  readonly remote = true;
  private readonly bucket: string;
  private readonly prefix: string;
  constructor(readonly name: string, readonly dir: string) {
    const { bucket, key } = parseS3Url(name);
    this.bucket = bucket;
    this.prefix = prefixKey(key);
  }

  private url(rel: string): string {
    return s3Url(this.bucket, this.prefix + rel);
  }

  /** dir/rel; names come from indexes in the bucket, so one that leaves the staging folder is refused. */
  private local(rel: string): string {
    const p = path.resolve(this.dir, rel);
    if (!p.startsWith(this.dir + path.sep)) throw new StorageError(`${this.url(rel)}: path leaves the output folder`);
    return p;
  }
  where(rel: string): string {
    return this.url(rel);
  }

  /** Downloads one object to dir/rel (replacing it); false, with no local file, when there is none. */
  private async download(rel: string): Promise<boolean> {
    const dest = this.local(rel);
    await mkdir(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.dl-${process.pid}`;
    if (!(await downloadObject(this.url(rel), tmp))) {
      await rm(dest, { force: true });
      return false;
    }
    await rename(tmp, dest);
    return true;
  }

  async pullState(): Promise<void> {
    await this.download(PLAN_FILE);
    await this.download(INDEX_FILE);
    const remote = (await listObjects(this.url(`${STATE_DIR}/`)))
      .map((o) => o.url.slice(this.url("").length))
      .filter((rel) => /^\.state\/index-\d+-of-\d+\.json$/.test(rel));
    for (const rel of remote) await this.download(rel);
    const stateDir = path.join(this.dir, STATE_DIR);
    for (const f of await readdir(stateDir).catch(() => [] as string[])) {
      if (/^index-\d+-of-\d+\.json$/.test(f) && !remote.includes(`${STATE_DIR}/${f}`)) await rm(path.join(stateDir, f), { force: true });
    }
  }

  async shardProblem(e: ShardIndexEntry): Promise<string | null> {
    const limit = pLimit(16);
    const heads = await Promise.all(e.files.map((f) => limit(() => headObject(this.url(f)))));
    const missing = e.files.findIndex((_, i) => !heads[i]);
    if (missing >= 0) return `${e.files[missing]} missing`;
    if (e.files.length === 1 && e.files[0].endsWith(".tar")) {
      if (heads[0]!.size !== e.bytes) return `${e.files[0]}: size differs from the index`;
      if (heads[0]!.sha256 !== e.sha256) return `${e.files[0]}: sha256 differs from the index`;
    } else if (createHash("sha256").update(heads.map((h) => h!.sha256 ?? "").join("\n")).digest("hex") !== e.sha256) {
      return `shard ${e.shard}: files differ from the index`;
    }
    for (const rel of [e.records, ...(e.manifest ? [e.manifest] : [])]) if (!(await headObject(this.url(rel)))) return `${rel} missing`;
    return null;
  }

  async push(rels: string[]): Promise<void> {
    for (const rel of rels) await putFile(this.local(rel), this.url(rel));
  }

  private readonly lastPush = new Map<string, number>();
  async pushThrottled(rel: string): Promise<void> {
    const every = Number(process.env.AUGMENT_S3_INDEX_EVERY_S ?? 15) * 1000;
    if (Date.now() - (this.lastPush.get(rel) ?? 0) < every) return;
    this.lastPush.set(rel, Date.now());
    await this.push([rel]);
  }

  async pushShard(e: ShardIndexEntry): Promise<void> {
    const limit = pLimit(4);
    await Promise.all(e.files.map((f) => limit(() => putFile(this.local(f), this.url(f)))));
    await this.push([e.records, ...(e.manifest ? [e.manifest] : [])]);
    // Uploaded: the staging folder keeps only the small files finalize reads.
    for (const f of e.files) await rm(this.local(f), { force: true });
  }

  async removePrevious(indexes: IndexFile[], plan: PlanFile | null): Promise<void> {
    // The same set as removePreviousRun (state.ts): recorded shard files, per-split manifests, state.
    const named = new Set<string>();
    const splits = new Set<string>([""]);
    for (const idx of indexes) {
      for (const e of Object.values(idx.shards)) {
        splits.add(e.split ?? "");
        for (const f of [...e.files, e.records, ...(e.manifest ? [e.manifest] : [])]) if (f) named.add(f);
      }
    }
    for (const sp of plan?.splits ?? []) splits.add(sp);
    for (const sp of ["train", "validation", "test"]) splits.add(sp);
    const files = ["nemo_manifest.json", "tarred_audio_manifest.json", "metadata.yaml", "metadata.jsonl"];
    const dirs = ["lhotse/", "data/"];
    const ours = (rel: string): boolean => {
      if (named.has(rel) || rel.startsWith(`${STATE_DIR}/`) || ["errors.jsonl", "summary.json", INDEX_FILE, PLAN_FILE].includes(rel)) return true;
      for (const sp of splits) {
        const p = sp ? `${sp}/` : "";
        if (files.some((f) => rel === p + f) || dirs.some((d) => rel.startsWith(p + d))) return true;
      }
      return false;
    };
    const base = this.url("");
    for (const o of await listObjects(base)) if (ours(o.url.slice(base.length))) await deleteObject(o.url);
  }

  async pullRecords(entries: ShardIndexEntry[]): Promise<void> {
    const limit = pLimit(16);
    await Promise.all(entries.map((e) => limit(async () => (existsSync(this.local(e.records)) ? undefined : this.download(e.records)))));
  }

  async snapshot(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const rel of await walk(this.dir)) {
      const st = await stat(path.join(this.dir, rel));
      out.set(rel, `${st.size}:${st.mtimeMs}`);
    }
    return out;
  }

  async pushChanged(before: Map<string, string>): Promise<void> {
    const now = await this.snapshot();
    const changed = [...now].filter(([rel, sig]) => before.get(rel) !== sig).map(([rel]) => rel);
    const last = [INDEX_FILE, "summary.json"];
    for (const rel of [...changed.filter((r) => !last.includes(r)).sort(), ...last.filter((r) => changed.includes(r))]) {
      const src = path.join(this.dir, rel);
      const published = `${src}.pub-${process.pid}`;
      await this.rewrite(src, published, rel.endsWith(".gz"));
      try {
        await putFile(published, this.url(rel));
      } finally {
        await rm(published, { force: true });
      }
    }
  }

  publicText(text: string): string {
    return text.split(this.dir + path.sep).join(this.url(""));
  }

  /**
   * Copies a manifest with the staging folder's absolute paths replaced by URLs, line by line and
   * byte for byte otherwise (latin1 maps bytes to chars one to one); gzip files are recompressed.
   * Lhotse cannot open an s3:// URL as a "file" source: such sources become "url" sources.
   */
  private async rewrite(src: string, dest: string, gz: boolean): Promise<void> {
    const bytes = (s: string) => Buffer.from(s, "utf8").toString("latin1");
    const staged = bytes(this.dir + path.sep);
    const url = bytes(this.url(""));
    const lhotseFrom = `{"type":"file","channels":[0],"source":"${staged}`;
    const lhotseTo = `{"type":"url","channels":[0],"source":"${url}`;
    let carry = "";
    const fix = (line: string) => (line.includes(staged) ? line.split(lhotseFrom).join(lhotseTo).split(staged).join(url) : line);
    const lines = new Transform({
      transform(chunk: Buffer, _enc, done) {
        const text = carry + chunk.toString("latin1");
        const cut = text.lastIndexOf("\n") + 1;
        carry = text.slice(cut);
        done(null, Buffer.from(text.slice(0, cut).split("\n").map(fix).join("\n"), "latin1"));
      },
      flush(done) {
        done(null, Buffer.from(fix(carry), "latin1"));
      },
    });
    const stages: NodeJS.ReadWriteStream[] = gz ? [createGunzip(), lines, createGzip()] : [lines];
    await pipeline(createReadStream(src), ...(stages as [Transform]), createWriteStream(dest));
  }

  async fetch(rels: string[]): Promise<void> {
    for (const rel of rels) await this.download(rel);
  }

  async drop(rels: string[]): Promise<void> {
    for (const rel of rels) await rm(this.local(rel), { force: true });
  }
}

/**
 * The output location for a folder or an s3:// URL. For a URL, checks the bucket first (a missing
 * bucket or bad credentials stop the run before any work, exit 2) and makes a fresh staging folder.
 */
export async function openOutput(out: string): Promise<OutputLocation> {
  if (!isS3Url(out)) return new LocalOutput(out, out);
  await checkBucket(out, 2);
  const dir = path.join(workDir(), "out-" + createHash("sha256").update(out).digest("hex").slice(0, 16));
  await mkdir(dir, { recursive: true });
  return new S3Output(out, dir);
}
