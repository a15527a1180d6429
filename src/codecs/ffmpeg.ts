// The ffmpeg binary the codec ops run: the static build shipped inside the npm package
// `@ffmpeg-installer/linux-x64` (4.1.0: a 2018 johnvansickle.com static ffmpeg with libmp3lame,
// libopus, libopencore-amrnb, libvo-amrwbenc, libspeex, libvorbis and the native aac, g722, g726
// encoders), found by resolving the package, so nothing is downloaded at install or run time.
// AUGMENT_FFMPEG=/path/to/ffmpeg overrides it (another platform, or a build of one's own).
//
// `checkFfmpeg` runs the binary once per process (`-version`, then `-encoders`) and caches the
// answer, so a missing or broken binary is one clear error in an op's preflight, before any work,
// never one error per item. Processes are always spawned with an argument array (no shell).
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

export const FFMPEG_PACKAGE = "@ffmpeg-installer/linux-x64";
export const FFMPEG_ENV = "AUGMENT_FFMPEG";

/** Where the binary comes from, for messages. */
export interface FfmpegLocation {
  path: string;
  from: string;
}

/** A codec setup problem (no binary, broken binary, missing encoder): one line, said once. */
export class CodecSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CodecSetupError";
  }
}

let bundled: string | null = null;

/** The binary to run: $AUGMENT_FFMPEG, else the one inside @ffmpeg-installer/linux-x64. */
export function locateFfmpeg(env: NodeJS.ProcessEnv = process.env): FfmpegLocation {
  const override = env[FFMPEG_ENV];
  if (override) return { path: override, from: FFMPEG_ENV };
  if (bundled) return { path: bundled, from: FFMPEG_PACKAGE };
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve(`${FFMPEG_PACKAGE}/package.json`);
  } catch {
    const platform = `${process.platform}-${process.arch}`;
    throw new CodecSetupError(
      platform === "linux-x64"
        ? `codec ops need ffmpeg: the package ${FFMPEG_PACKAGE} is not installed (run npm ci), or set ${FFMPEG_ENV}=/path/to/ffmpeg`
        : `codec ops need ffmpeg: the bundled build is for linux-x64 and this is ${platform}; set ${FFMPEG_ENV}=/path/to/ffmpeg`,
    );
  }
  bundled = path.join(path.dirname(pkg), "ffmpeg");
  return { path: bundled, from: FFMPEG_PACKAGE };
}

export interface FfmpegInfo extends FfmpegLocation {
  /** First line of `ffmpeg -version`. */
  version: string;
  /** Encoder names from `ffmpeg -encoders`. */
  encoders: Set<string>;
}

function exec(file: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 20_000, maxBuffer: 8 << 20, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

function describeFailure(loc: FfmpegLocation, e: any): string {
  const where = `${loc.path} (from ${loc.from})`;
  if (e?.code === "ENOENT") return `ffmpeg not found at ${where}`;
  if (e?.code === "EACCES") return `ffmpeg at ${where} is not executable`;
  if (e?.killed || e?.signal) return `ffmpeg at ${where} did not run: killed by ${e.signal ?? "timeout"}`;
  const firstLine = String(e?.stderr ?? "").trim().split("\n")[0] || e?.message || String(e);
  return `ffmpeg at ${where} is broken: ${typeof e?.code === "number" ? `exit ${e.code}: ` : ""}${firstLine}`;
}

const checked = new Map<string, Promise<FfmpegInfo>>();

/**
 * Runs the binary once per process (per path) and returns its version and encoders; every later
 * call gets the cached answer, so a broken binary costs one check and gives one error.
 */
export function checkFfmpeg(env: NodeJS.ProcessEnv = process.env): Promise<FfmpegInfo> {
  let loc: FfmpegLocation;
  try {
    loc = locateFfmpeg(env);
  } catch (e) {
    return Promise.reject(e);
  }
  let p = checked.get(loc.path);
  if (!p) {
    p = (async () => {
      try {
        accessSync(loc.path, constants.X_OK);
      } catch (e: any) {
        throw new CodecSetupError(`${describeFailure(loc, e)}${loc.from === FFMPEG_ENV ? "" : ` (reinstall ${FFMPEG_PACKAGE}, or set ${FFMPEG_ENV})`}`);
      }
      let version: string;
      let encoders: Set<string>;
      try {
        const v = await exec(loc.path, ["-hide_banner", "-version"]);
        version = v.stdout.split("\n")[0]?.trim() ?? "";
        if (!/^ffmpeg version /.test(version)) throw Object.assign(new Error(`unexpected -version output: ${version.slice(0, 80) || "(empty)"}`), { stderr: "" });
        const e = await exec(loc.path, ["-hide_banner", "-encoders"]);
        // Lines look like " A..... libopus              libopus Opus (codec opus)".
        encoders = new Set(
          e.stdout
            .split("\n")
            .map((l) => /^\s*[VAS][.A-Z]{5}\s+(\S+)/.exec(l)?.[1])
            .filter((n): n is string => !!n),
        );
      } catch (e: any) {
        throw new CodecSetupError(describeFailure(loc, e));
      }
      return { ...loc, version, encoders };
    })();
    // A failed check is kept too: the next caller gets the same error without another spawn.
    checked.set(loc.path, p);
  }
  return p;
}

/** Checks that the binary runs and has every encoder in `needed` (codec name → ffmpeg encoder). */
export async function requireEncoders(needed: Map<string, string>, env: NodeJS.ProcessEnv = process.env): Promise<FfmpegInfo> {
  const info = await checkFfmpeg(env);
  const missing = [...needed].filter(([, enc]) => !info.encoders.has(enc));
  if (missing.length) {
    throw new CodecSetupError(
      `ffmpeg at ${info.path} (${info.version}) lacks encoder${missing.length > 1 ? "s" : ""} ${missing.map(([c, enc]) => `${enc} (codec ${c})`).join(", ")}`,
    );
  }
  return info;
}
