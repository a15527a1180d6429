// Synthesised audio kept between the catalog (which synthesises every utterance once, to know its
// duration and word times before planning) and the engine (which would otherwise synthesise it
// again for every copy). Files are raw 16-bit little-endian PCM at espeak-ng's rate, named by the
// spec's key, written atomically; a missing or unreadable file only means the engine synthesises
// again, which gives the same samples. Memory stays flat however large the text input is.
//
// Where: `AUGMENT_TTS_CACHE=<dir>` keeps a cache across runs (content-addressed, never pruned by
// augment); `AUGMENT_TTS_CACHE=off` keeps none; otherwise a folder under the system temp folder
// (`TMPDIR`) made for this process and removed when it exits (and, should the process be killed,
// by the next run that finds its process gone). About 160 MB per hour of speech.
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { ESPEAK_PACKAGE } from "./espeak.js";

let processDir: string | null | undefined;

/** The engine package's version, so a persistent cache never serves audio of another build. */
function engineVersion(): string {
  try {
    return (createRequire(import.meta.url)(`${ESPEAK_PACKAGE}/package.json`) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** This process's cache folder, or null when caching is off. Created on first call. */
export function ttsCacheDir(): string | null {
  if (processDir !== undefined) return processDir;
  const setting = process.env.AUGMENT_TTS_CACHE;
  if (setting === "off") {
    processDir = null;
  } else if (setting) {
    processDir = path.join(path.resolve(setting), `espeak-ng-emscripten-${engineVersion()}`);
    mkdirSync(processDir, { recursive: true });
  } else {
    removeOrphans();
    const dir = mkdtempSync(path.join(tmpdir(), `augment-tts-${process.pid}-`));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    processDir = dir;
  }
  return processDir;
}

/** Per-process caches whose process no longer runs (killed before its exit handler ran). */
function removeOrphans(): void {
  let names: string[] = [];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^augment-tts-(\d+)-[A-Za-z0-9]{6}$/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0); // throws ESRCH when no such process; EPERM means it runs as another user
    } catch (e: any) {
      if (e?.code !== "ESRCH") continue;
      try {
        rmSync(path.join(tmpdir(), name), { recursive: true, force: true });
      } catch {
        // Not ours to remove (another user's): leave it.
      }
    }
  }
}

function file(dir: string, key: string): string {
  return path.join(dir, `${key}.s16`);
}

/** The cached samples of a key, or null. */
export async function readCached(dir: string, key: string): Promise<Int16Array | null> {
  try {
    const bytes = await readFile(file(dir, key));
    if (bytes.length === 0 || bytes.length % 2) return null;
    // Copied into an aligned buffer: a Buffer may sit at an odd offset of its pool. Same byte order as writeCached.
    const pcm = new Int16Array(bytes.length / 2);
    new Uint8Array(pcm.buffer).set(bytes);
    return pcm;
  } catch {
    return null;
  }
}

export async function writeCached(dir: string, key: string, pcm: Int16Array): Promise<void> {
  const target = file(dir, key);
  const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength));
  await rename(tmp, target);
}
