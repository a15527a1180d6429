// Local copies of S3 objects. Three things live under the cache folder (AUGMENT_CACHE_DIR, else
// $XDG_CACHE_HOME/augment or ~/.cache/augment):
//  - objects/: downloaded objects, named by (endpoint, URL, ETag), so a changed object is a new
//    entry and worker threads and processes share downloads. Bounded by AUGMENT_CACHE_MB (default
//    8192): the least recently used entries go first.
//  - work/<host>-<pid>-<n>/: this process's scratch folder (input mirrors, output staging), removed
//    when the process exits; one left by a killed process is removed by the next one on the host.
//  - in a work folder, mirror/<bucket>/<key>: the text files of an s3:// input (manifests, lists),
//    hard-linked from objects/, so the local readers read them unchanged; audio stays remote and is
//    fetched per item. toRemote() maps a mirror path back to its URL.
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { copyFile, link, mkdir, readdir, readFile, rename, rm, stat, unlink, utimes } from "node:fs/promises";
import { homedir, hostname } from "node:os";
import path from "node:path";
import pLimit from "p-limit";
import { downloadObject, headObject, listObjects, type ObjectInfo } from "./s3.js";
import { isS3Url, parseS3Url, prefixKey, s3Url, StorageError } from "./url.js";

export function cacheRoot(env = process.env): string {
  if (env.AUGMENT_CACHE_DIR) return path.resolve(env.AUGMENT_CACHE_DIR);
  return path.join(env.XDG_CACHE_HOME || path.join(homedir(), ".cache"), "augment");
}

function cacheLimitBytes(env = process.env): number {
  const mb = Number(env.AUGMENT_CACHE_MB ?? 8192);
  return (Number.isFinite(mb) && mb > 0 ? mb : 8192) * 1024 * 1024;
}

let work: string | null = null;

/** This process's scratch folder under the cache (created on first use, removed at exit). */
export function workDir(): string {
  if (work) return work;
  const base = path.join(cacheRoot(), "work");
  mkdirSync(base, { recursive: true });
  sweepStaleWork(base);
  const dir = path.join(base, `${hostname()}-${process.pid}-${randomBytes(4).toString("hex")}`);
  mkdirSync(dir);
  work = dir;
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Removes work folders of processes on this host that no longer run (killed before their exit hook). */
function sweepStaleWork(base: string): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  const host = hostname();
  for (const name of names) {
    const m = /^(.*)-(\d+)-[0-9a-f]{8}$/.exec(name);
    if (!m || m[1] !== host || Number(m[2]) === process.pid) continue;
    try {
      process.kill(Number(m[2]), 0);
    } catch (e: any) {
      if (e?.code === "ESRCH") rmSync(path.join(base, name), { recursive: true, force: true });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The object cache

let addedSinceScan = 0;

function cacheFile(info: ObjectInfo): string {
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || "aws";
  const h = createHash("sha256").update(`${endpoint}\n${info.url}\n${info.etag}`).digest("hex").slice(0, 40);
  // Keep the extension: decoders and readers look at it (e.g. `.gz` manifests).
  const ext = /(\.[A-Za-z0-9]{1,8}){1,2}$/.exec(path.posix.basename(parseS3Url(info.url).key))?.[0] ?? "";
  return path.join(cacheRoot(), "objects", h.slice(0, 2), h + ext);
}

/** Size, ETag of an object (listing knowledge first, else HEAD); null when there is none. */
async function objectInfo(url: string): Promise<ObjectInfo | null> {
  const known = listing.get(url);
  if (known) return known;
  if (listedPrefixes.some((p) => url.startsWith(p))) return null;
  return headObject(url);
}

/**
 * The local path of a cached copy of the object (downloaded when missing). The copy may be evicted
 * by another process at any time: readers that open it later must handle ENOENT.
 */
export async function cachedObject(url: string, info?: ObjectInfo): Promise<{ file: string; info: ObjectInfo }> {
  for (let attempt = 0; ; attempt++) {
    const i = info ?? (await objectInfo(url));
    if (!i) throw new StorageError(`file not found: ${url}`);
    const file = cacheFile(i);
    try {
      const now = new Date();
      await utimes(file, now, now); // recently used: evicted last
      return { file, info: i };
    } catch {
      // not cached
    }
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
    try {
      if (!(await downloadObject(url, tmp, i.etag || undefined))) throw new StorageError(`file not found: ${url}`);
    } catch (e: any) {
      // Replaced since listed (If-Match failed): look again once.
      if (attempt === 0 && /PreconditionFailed|412/.test(e?.message ?? "")) {
        listing.delete(url);
        info = undefined;
        continue;
      }
      throw e;
    }
    // A body cut short must never become a cache entry.
    const got = (await stat(tmp)).size;
    if (got !== i.size) {
      await rm(tmp, { force: true });
      throw new StorageError(`${url}: download incomplete (${got} of ${i.size} bytes)`);
    }
    await rename(tmp, file);
    addedSinceScan += i.size;
    if (addedSinceScan > cacheLimitBytes() / 8) await evict();
    return { file, info: i };
  }
}

/** The bytes of an object, through the cache. Sizes are checked before downloading. */
export async function readObject(url: string, maxBytes: number): Promise<Uint8Array> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const info = await objectInfo(url);
    if (!info) throw new StorageError(`file not found: ${url}`);
    if (info.size === 0) throw new StorageError("zero-length file");
    if (info.size > maxBytes) throw new StorageError(`file too large (${info.size} bytes)`);
    const { file } = await cachedObject(url, info);
    try {
      return await readFile(file);
    } catch (e: any) {
      if (e?.code !== "ENOENT") throw e; // evicted between download and read: fetch again
    }
  }
  throw new StorageError(`${url}: evicted from the cache while being read; raise AUGMENT_CACHE_MB`);
}

/** Deletes least recently used cache entries until the cache is within 90% of its bound. */
async function evict(): Promise<void> {
  addedSinceScan = 0;
  const root = path.join(cacheRoot(), "objects");
  const files: Array<{ file: string; size: number; used: number }> = [];
  for (const sub of await readdir(root).catch(() => [] as string[])) {
    for (const name of await readdir(path.join(root, sub)).catch(() => [] as string[])) {
      if (name.includes(".tmp-")) continue;
      const file = path.join(root, sub, name);
      const st = await stat(file).catch(() => null);
      // Entries also linked into a running process's mirror free nothing when unlinked.
      if (st && st.nlink === 1) files.push({ file, size: st.size, used: st.mtimeMs });
    }
  }
  let total = files.reduce((n, f) => n + f.size, 0);
  const limit = cacheLimitBytes();
  if (total <= limit) return;
  files.sort((a, b) => a.used - b.used);
  for (const f of files) {
    if (total <= limit * 0.9) break;
    await unlink(f.file).catch(() => undefined);
    total -= f.size;
  }
}

// ---------------------------------------------------------------------------------------------
// Listing knowledge: after listing a prefix, existence checks under it need no request.

const listing = new Map<string, ObjectInfo>();
const listedPrefixes: string[] = [];
/** Bounded: a listing is a convenience, not worth unbounded memory (beyond it, HEAD each object). */
const MAX_LISTED = 500_000;

function remember(prefixUrl: string, objects: ObjectInfo[]): void {
  if (listing.size + objects.length > MAX_LISTED) return;
  for (const o of objects) listing.set(o.url, o);
  listedPrefixes.push(prefixUrl);
}

/** Existence check of an audio object for the catalog: null when it is there, else the reason. Never rejects. */
export async function statObject(url: string): Promise<string | null> {
  try {
    const info = await objectInfo(url);
    return info ? null : `file not found: ${url}`;
  } catch (e: any) {
    return e instanceof StorageError ? e.message : `cannot stat ${url}: ${e?.message ?? e}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Mirrors of s3:// inputs and banks

/** Audio and archives stay remote in an input mirror (fetched per item); everything else is text. */
const REMOTE_ONLY = /\.(wav|flac|mp3|ogg|opus|m4a|aac|sph|webm|mp4|tar|tgz|zip|ark)$/i;

function mirrorRoot(): string {
  return path.join(workDir(), "mirror");
}

function mirrorPath(url: string): string {
  const { bucket, key } = parseS3Url(url);
  return path.join(mirrorRoot(), bucket, ...key.split("/").filter(Boolean));
}

/** A mirror path (or any text containing mirror paths, e.g. an error message) with the URLs back. */
export function toRemote(text: string): string {
  if (!work || !text.includes(work)) return text;
  const root = mirrorRoot() + path.sep;
  return text.split(root).join("s3://");
}

async function materializeAll(objects: ObjectInfo[]): Promise<void> {
  const limit = pLimit(16);
  // Keys ending in "/" are folder markers some tools create, not files.
  await Promise.all(objects.filter((o) => !o.url.endsWith("/")).map((o) => limit(() => materialize(o))));
}

async function materialize(o: ObjectInfo): Promise<void> {
  const { file } = await cachedObject(o.url, o);
  const dest = mirrorPath(o.url);
  await mkdir(path.dirname(dest), { recursive: true });
  await rm(dest, { force: true });
  // A hard link survives eviction of the cache entry; copy where links are not possible.
  await link(file, dest).catch(() => copyFile(file, dest));
}

const staged = new Map<string, Promise<string>>();

/**
 * A local path to read an input or bank from: the path itself, or for an s3:// URL a local mirror.
 * An object URL mirrors that object (an input, with its text siblings; a bank list file, with the
 * whole folder it lists from); a prefix URL mirrors the text files below it (an input: audio stays
 * remote and its listing answers existence checks) or everything below it (a bank). Throws a
 * StorageError (exit 2) naming the URL when there is nothing there.
 */
export function localPath(loc: string, kind: "input" | "bank"): Promise<string> {
  if (!isS3Url(loc)) return Promise.resolve(path.resolve(loc));
  const key = `${kind}\n${loc}`;
  let p = staged.get(key);
  if (!p) {
    p = stage(loc, kind);
    staged.set(key, p);
    p.catch(() => staged.delete(key));
  }
  return p;
}

async function stage(url: string, kind: "input" | "bank"): Promise<string> {
  const { bucket, key } = parseS3Url(url);
  const asObject = key !== "" && !key.endsWith("/") ? await headObject(url).catch((e) => Promise.reject(new StorageError(e.message, 2))) : null;
  if (asObject) {
    const parent = s3Url(bucket, key.slice(0, key.lastIndexOf("/") + 1));
    if (kind === "bank") {
      await materializeAll(await listObjects(parent));
    } else {
      await materialize(asObject);
      // Sibling text files (Lhotse supervisions next to recordings, NeMo text files); skipped
      // when the folder is too big to be a corpus folder.
      const siblings = await listObjects(parent, { delimiter: true, max: 1000 });
      if (siblings.length <= 1000) await materializeAll(siblings.filter((o) => o.url !== url && !REMOTE_ONLY.test(o.url)));
    }
    return mirrorPath(url);
  }
  const prefix = s3Url(bucket, prefixKey(key));
  const objects = await listObjects(prefix).catch((e) => Promise.reject(new StorageError(e.message, 2)));
  if (objects.length === 0) throw new StorageError(`${url}: no such object or prefix`, 2);
  await materializeAll(objects.filter((o) => kind === "bank" || !REMOTE_ONLY.test(o.url)));
  if (kind === "input") remember(prefix, objects);
  const dir = mirrorPath(prefix);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** A local file with the object's bytes, for header probes (durations). */
export async function localCopy(url: string): Promise<string> {
  return (await cachedObject(url)).file;
}
