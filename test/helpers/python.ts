// Runs Debian's python3 (/usr/bin/python3, which has python3-soundfile/scipy/numpy from apt) as an
// independent reference reader. Never the pyenv python on PATH: it lacks those packages.
import { spawnSync } from "node:child_process";

export const PYTHON = process.env.AUGMENT_TEST_PYTHON ?? "/usr/bin/python3";

/** Runs a Python snippet with args; returns stdout. Throws with stderr on failure. */
export function runPython(code: string, args: string[] = [], input?: string | Buffer): string {
  const r = spawnSync(PYTHON, ["-c", code, ...args], { input, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr?.toString()}`);
  return r.stdout.toString();
}

/** Runs a Python snippet that prints one JSON value; returns it parsed. */
export function pythonJson<T = unknown>(code: string, args: string[] = [], input?: string | Buffer): T {
  return JSON.parse(runPython(code, args, input)) as T;
}
