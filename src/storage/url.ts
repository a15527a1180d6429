// Locations: a local path or an `s3://bucket/key` URL. Pure string helpers, no SDK, so every module
// (worker threads included) can tell the two apart without loading the AWS SDK.
import path from "node:path";

export function isS3Url(p: string): boolean {
  return /^s3:\/\//i.test(p);
}

export interface S3Location {
  bucket: string;
  /** Object key or key prefix, without a leading slash (may be "" for the bucket root). */
  key: string;
}

/** Thrown for a malformed URL; a storage problem of the input or output (see StorageError). */
export class StorageError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = "StorageError";
  }
}

export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(url);
  if (!m || !/^[a-z0-9][a-z0-9.\-_]{1,62}$/i.test(m[1])) throw new StorageError(`${url}: not an s3://bucket/key URL`, 2);
  return { bucket: m[1], key: m[2] };
}

export function s3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** `p` against `base` (a folder): URLs stay as they are; relative paths join POSIX-style under a URL base. */
export function resolveLocation(base: string, p: string): string {
  if (isS3Url(p)) return p;
  if (isS3Url(base)) {
    const { bucket, key } = parseS3Url(base);
    return s3Url(bucket, path.posix.normalize(path.posix.join("/", key, p)).slice(1));
  }
  return path.resolve(base, p);
}

/** A URL prefix that names a "folder": no trailing slash added for the bucket root. */
export function prefixKey(key: string): string {
  return key === "" || key.endsWith("/") ? key : key + "/";
}
