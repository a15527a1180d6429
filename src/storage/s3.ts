// The S3 backend: head, get (whole or to a file), list, put (single PUT or multipart) and delete,
// through the AWS SDK for JavaScript v3. Endpoint, region and credentials come from the standard
// AWS environment variables and config files (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_REGION,
// AWS_ACCESS_KEY_ID, AWS_PROFILE, …). The SDK is imported on first use, so local runs never load it.
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { open, rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { S3Client } from "@aws-sdk/client-s3";
import { parseS3Url, s3Url, StorageError } from "./url.js";

type Sdk = typeof import("@aws-sdk/client-s3");

export interface ObjectInfo {
  url: string;
  size: number;
  etag: string;
  /** Our `sha256` object metadata (set by putFile), when present (HEAD only; listings lack it). */
  sha256?: string;
  /** Last-Modified, in ms since the epoch. */
  modified?: number;
}

let sdkPromise: Promise<{ sdk: Sdk; client: S3Client }> | null = null;

function customEndpoint(env = process.env): string | undefined {
  return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

async function s3(): Promise<{ sdk: Sdk; client: S3Client }> {
  sdkPromise ??= (async () => {
    // The SDK warns on every process under Node < 22 about *future* SDK releases; this build
    // supports Node 20, so the warning is noise on stderr unless the user asked for it.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    const sdk = await import("@aws-sdk/client-s3");
    const endpoint = customEndpoint();
    const pathStyle = process.env.AUGMENT_S3_PATH_STYLE;
    const client = new sdk.S3Client({
      // S3-compatible servers (MinIO, Ceph, s3rver…) are usually addressed by path, AWS by host.
      forcePathStyle: pathStyle !== undefined ? pathStyle === "1" || pathStyle === "true" : endpoint !== undefined,
      // Servers other than AWS may not speak region; any name signs requests for them.
      ...(endpoint && !process.env.AWS_REGION && !process.env.AWS_DEFAULT_REGION ? { region: "us-east-1" } : {}),
      // Newer SDKs send CRC32 trailers (aws-chunked bodies) by default, which many S3-compatible
      // servers reject; integrity is covered by Content-MD5 on uploads and our own sha256.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    return { sdk, client };
  })();
  return sdkPromise;
}

/** One line naming the URL and what went wrong, for any error the SDK throws. */
export function storageError(url: string, e: any, exitCode = 1): StorageError {
  if (e instanceof StorageError) return e;
  const name: string = e?.name ?? e?.Code ?? "";
  const status: number | undefined = e?.$metadata?.httpStatusCode;
  const code: string | undefined = e?.code ?? e?.cause?.code;
  let what: string;
  if (name === "NoSuchBucket") what = `bucket "${parseS3Url(url).bucket}" does not exist`;
  else if (name === "NoSuchKey" || name === "NotFound" || status === 404) what = "no such object";
  else if (name === "CredentialsProviderError" || /Could not load credentials/i.test(e?.message ?? "")) {
    what = "no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)";
  } else if (name === "InvalidAccessKeyId" || name === "SignatureDoesNotMatch") what = `the S3 server refused the AWS credentials (${name})`;
  else if (name === "AccessDenied" || status === 403) what = "access denied (check the AWS credentials and the bucket policy)";
  else if (/Region is missing/i.test(e?.message ?? "")) what = "no AWS region (set AWS_REGION)";
  else if (code && /^(ECONNREFUSED|ENOTFOUND|ECONNRESET|ETIMEDOUT|EAI_AGAIN|EHOSTUNREACH)$/.test(code)) {
    what = `cannot reach the S3 endpoint ${customEndpoint() ?? "(AWS default)"} (${code}); check AWS_ENDPOINT_URL_S3`;
  } else what = `${name || "error"}: ${String(e?.message ?? e).split("\n")[0]}`;
  return new StorageError(`${url}: ${what}`, exitCode);
}

function isNotFound(e: any): boolean {
  return e?.name === "NoSuchKey" || e?.name === "NotFound" || (e?.$metadata?.httpStatusCode === 404 && e?.name !== "NoSuchBucket");
}

/** Size, ETag and our sha256 metadata of an object; null when there is no such object (but the bucket exists). */
export async function headObject(url: string): Promise<ObjectInfo | null> {
  const { sdk, client } = await s3();
  const { bucket, key } = parseS3Url(url);
  try {
    const r = await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }));
    return {
      url,
      size: r.ContentLength ?? 0,
      etag: r.ETag ?? "",
      ...(r.Metadata?.sha256 ? { sha256: r.Metadata.sha256 } : {}),
      ...(r.LastModified ? { modified: r.LastModified.getTime() } : {}),
    };
  } catch (e) {
    // HEAD has no body, so a missing bucket is a bare 404 too: ask the bucket (a refusal to
    // answer, e.g. no s3:ListBucket on the whole bucket, leaves it at "no such object").
    if (isNotFound(e)) {
      const bucketMissing = await client.send(new sdk.HeadBucketCommand({ Bucket: bucket })).then(
        () => false,
        (b: any) => isNotFound(b) || b?.name === "NoSuchBucket",
      );
      if (bucketMissing) throw new StorageError(`${url}: bucket "${bucket}" does not exist`);
      return null;
    }
    throw storageError(url, e);
  }
}

/**
 * Throws a StorageError naming the URL when its bucket does not exist, the credentials are refused
 * or the server cannot be reached. Lists one key under the URL's prefix rather than HeadBucket:
 * permissions are often granted for a prefix only.
 */
export async function checkBucket(url: string, exitCode = 1): Promise<void> {
  const { sdk, client } = await s3();
  const { bucket, key } = parseS3Url(url);
  try {
    await client.send(new sdk.ListObjectsCommand({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
  } catch (e: any) {
    throw storageError(url, e, exitCode);
  }
}

/**
 * Downloads an object to `file` (streamed, not held in memory). With `etag`, the GET is conditional
 * (If-Match), so an object replaced since it was listed fails instead of mixing versions. False
 * when there is no such object.
 */
export async function downloadObject(url: string, file: string, etag?: string): Promise<boolean> {
  const { sdk, client } = await s3();
  const { bucket, key } = parseS3Url(url);
  try {
    const r = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key, ...(etag ? { IfMatch: etag } : {}) }));
    await pipeline(r.Body as Readable, createWriteStream(file));
    return true;
  } catch (e: any) {
    await rm(file, { force: true });
    if (e?.name === "NoSuchKey") return false;
    throw storageError(url, e);
  }
}

/**
 * Every object under a key prefix (recursive), or only the direct children with `delimiter: true`.
 * ListObjects (v1, paged by marker): every S3-compatible server has it, while some break on v2's
 * continuation tokens (s3rver's need DES, which OpenSSL 3 no longer offers).
 */
export async function listObjects(prefixUrl: string, opts: { delimiter?: boolean; max?: number } = {}): Promise<ObjectInfo[]> {
  const { sdk, client } = await s3();
  const { bucket, key } = parseS3Url(prefixUrl);
  const out: ObjectInfo[] = [];
  let marker: string | undefined;
  try {
    do {
      const r = await client.send(new sdk.ListObjectsCommand({ Bucket: bucket, Prefix: key, Marker: marker, ...(opts.delimiter ? { Delimiter: "/" } : {}) }));
      const contents = r.Contents ?? [];
      for (const o of contents) if (o.Key !== undefined) out.push({ url: s3Url(bucket, o.Key), size: o.Size ?? 0, etag: o.ETag ?? "" });
      // NextMarker comes only with a delimiter; otherwise the last key is the marker.
      marker = r.IsTruncated ? (r.NextMarker ?? contents[contents.length - 1]?.Key) : undefined;
      if (opts.max !== undefined && out.length > opts.max) break;
    } while (marker);
  } catch (e) {
    throw storageError(prefixUrl, e);
  }
  return out;
}

export async function deleteObject(url: string): Promise<void> {
  const { sdk, client } = await s3();
  const { bucket, key } = parseS3Url(url);
  try {
    await client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (e) {
    throw storageError(url, e);
  }
}

/** Part size for multipart uploads: AUGMENT_S3_PART_MB (S3's minimum is 5 MiB), default 16 MiB. */
export function partBytes(env = process.env): number {
  const mb = Number(env.AUGMENT_S3_PART_MB ?? 16);
  return Math.max(5, Number.isFinite(mb) ? mb : 16) * 1024 * 1024;
}

const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("base64");

/**
 * Uploads a local file to `url` with its sha256 as object metadata (`x-amz-meta-sha256`), which is
 * what resume checks. The object appears only when complete: one PUT up to the part size, else
 * CreateMultipartUpload / UploadPart / CompleteMultipartUpload, aborted on failure. Every request
 * carries Content-MD5, so the server rejects bytes damaged in transit. Returns the sha256.
 */
export async function putFile(file: string, url: string): Promise<{ sha256: string; bytes: number }> {
  const { sdk, client } = await s3();
  const { bucket, key } = parseS3Url(url);
  const fh = await open(file, "r");
  try {
    const size = (await fh.stat()).size;
    // S3 allows 10,000 parts: grow the part for very large files.
    const part = Math.max(partBytes(), Math.ceil(size / 10_000));
    const readAt = async (pos: number, n: number): Promise<Buffer> => {
      const buf = Buffer.allocUnsafe(n);
      let got = 0;
      while (got < n) {
        const { bytesRead } = await fh.read(buf, got, n - got, pos + got);
        if (bytesRead === 0) throw new Error(`${file} shrank while being uploaded`);
        got += bytesRead;
      }
      return buf;
    };
    // The checksum goes in the metadata, which is sent first: hash the file before uploading.
    const h = createHash("sha256");
    for (let pos = 0; pos < size; pos += part) h.update(await readAt(pos, Math.min(part, size - pos)));
    const sha256 = h.digest("hex");
    const Metadata = { sha256 };
    if (size <= part) {
      const body = await readAt(0, size);
      try {
        await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: size, ContentMD5: md5(body), Metadata }));
      } catch (e) {
        throw storageError(url, e);
      }
      return { sha256, bytes: size };
    }
    let uploadId: string | undefined;
    try {
      uploadId = (await client.send(new sdk.CreateMultipartUploadCommand({ Bucket: bucket, Key: key, Metadata }))).UploadId;
      const parts: Array<{ PartNumber: number; ETag: string }> = [];
      for (let pos = 0, n = 1; pos < size; pos += part, n++) {
        const body = await readAt(pos, Math.min(part, size - pos));
        const r = await client.send(
          new sdk.UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: n, Body: body, ContentLength: body.length, ContentMD5: md5(body) }),
        );
        parts.push({ PartNumber: n, ETag: r.ETag ?? "" });
      }
      await client.send(new sdk.CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
      return { sha256, bytes: size };
    } catch (e) {
      // Parts of an unfinished upload are invisible but billed: give them back.
      if (uploadId) await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
      throw storageError(url, e);
    }
  } finally {
    await fh.close();
  }
}
