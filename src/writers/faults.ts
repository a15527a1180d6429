// Fault injection for the reliability tests (test/crash-resume.test.ts, test/disk-full.test.ts).
// Both hooks are off unless their environment variable is set, and then cost one comparison.
//
// AUGMENT_CRASH_AT=<point>:<k>  kill this process with SIGKILL the k-th time it passes <point>
//   (points: atomic-write, atomic-fsync, atomic-rename, shard-index), so a test can crash at an exact
//   moment: mid-file, between fsync and rename, between a shard's rename and its index entry.
//   AUGMENT_CRASH_AT=list prints `crash-point <point> <k>` to stderr at every pass instead, so a
//   test can count the points of an uninterrupted run and choose where to crash.
// AUGMENT_FAIL_WRITE_AFTER_BYTES=<n>[:<code>]  make the write that would pass n bytes in total (over
//   every file this process writes) fail as a full disk would (ENOSPC, or e.g. EIO), so the
//   handling of a failed write can be tested without filling a real disk.

const crashSpec = /^([a-z-]+):(\d+)$/.exec(process.env.AUGMENT_CRASH_AT ?? "");
const crashAt = crashSpec ? { point: crashSpec[1], count: Number(crashSpec[2]) } : null;
let crashHits = 0;

const listPoints = process.env.AUGMENT_CRASH_AT === "list";
const listed = new Map<string, number>();

export function crashPoint(point: string): void {
  if (listPoints) {
    const k = (listed.get(point) ?? 0) + 1;
    listed.set(point, k);
    process.stderr.write(`crash-point ${point} ${k}\n`);
  }
  if (crashAt === null || point !== crashAt.point) return;
  if (++crashHits >= crashAt.count) process.kill(process.pid, "SIGKILL");
}

const failSpec = /^(\d+)(?::([A-Z]+))?$/.exec(process.env.AUGMENT_FAIL_WRITE_AFTER_BYTES ?? "");
const failAfter = failSpec ? { bytes: Number(failSpec[1]), code: failSpec[2] ?? "ENOSPC" } : null;
let bytesSoFar = 0;

const MESSAGES: Record<string, string> = { ENOSPC: "no space left on device", EIO: "i/o error", EDQUOT: "disk quota exceeded" };

/** Throws an fs-style error (code, syscall, path) when this write of `n` bytes passes the limit. */
export function injectWriteFault(file: string, n: number): void {
  if (failAfter === null) return;
  if (bytesSoFar + n > failAfter.bytes) {
    const e = new Error(`${failAfter.code}: ${MESSAGES[failAfter.code] ?? "injected failure"}, write`) as NodeJS.ErrnoException;
    e.code = failAfter.code;
    e.syscall = "write";
    e.path = file;
    throw e;
  }
  bytesSoFar += n;
}
