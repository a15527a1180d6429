// Crash and resume: `augment run` killed with SIGKILL at many moments (named points inside the atomic
// writer and the index update, and random times), then re-run, must end with exactly the bytes of an
// uninterrupted run; and while it runs, every file under its final name must already be complete
// (equal to the reference file), never partial. Seeded: CRASH_SEED=<n> reproduces a failing case.
import { spawn } from "node:child_process";
import { rmSync, statSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { verify } from "../src/run/verify.js";
import { CLI, lcg, tempDir } from "./helpers/fixtures.js";
import { checkTree, sameAsReference, snapshot, TMP_NAME, walkFiles, writeSmallRun } from "./helpers/outputs.js";

const SEED = Number(process.env.CRASH_SEED ?? 8);
let dir = "";
let ref = new Map<string, Buffer>();
let refWallMs = 0;
const points = new Map<string, number>();

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** What polling saw under final names while the process ran. */
  problems: string[];
}

/** Runs the CLI, polling the output folder every few ms; optionally kills it after `killMs`. */
function runChild(args: string[], env: Record<string, string>, killMs?: number, against = () => ref): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const problems: string[] = [];
    const seen = new Map<string, string>();
    let done = false;
    let polling: Promise<void> = Promise.resolve();
    const poll = () => {
      if (done) return;
      polling = checkTree(path.join(dir, "out"), against(), seen).then((p) => {
        problems.push(...p);
        if (!done) setTimeout(poll, 15);
      });
    };
    poll();
    const timer = killMs === undefined ? null : setTimeout(() => child.kill("SIGKILL"), killMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      done = true;
      if (timer) clearTimeout(timer);
      polling.then(async () => {
        problems.push(...(await checkTree(path.join(dir, "out"), against(), seen)));
        resolve({ code, signal, stderr, problems });
      }, reject);
    });
  });
}

const RUN = ["run", "r.yaml", "--quiet", "--out", "out", "--workers", "1"];

beforeAll(async () => {
  dir = tempDir("augment-crash-");
  writeSmallRun(dir);
  // The reference: one uninterrupted run, listing the crash points it passes.
  const t0 = Date.now();
  const r = await runChild(RUN, { AUGMENT_CRASH_AT: "list" });
  refWallMs = Date.now() - t0;
  expect(r.code).toBe(0);
  for (const m of r.stderr.matchAll(/^crash-point (\S+) (\d+)$/gm)) points.set(m[1], Number(m[2]));
  ref = snapshot(path.join(dir, "out"));
  rmSync(path.join(dir, "out"), { recursive: true });
});

interface Crash {
  /** AUGMENT_CRASH_AT value, or a kill after this many ms. */
  at: string | number;
}

function describeCrash(c: Crash): string {
  return typeof c.at === "string" ? c.at : `kill after ${c.at} ms`;
}

describe("SIGKILL at any moment, then re-run", () => {
  it("reference run: several shards, errors, and every crash point passed", () => {
    expect(ref.has("shard-000006.tar")).toBe(true);
    expect(ref.get("errors.jsonl")!.toString().trim().split("\n")).toHaveLength(3); // missing + 2 silent copies
    for (const p of ["atomic-write", "atomic-fsync", "atomic-rename", "shard-index"]) expect(points.get(p)).toBeGreaterThan(0);
    expect(points.get("shard-index")).toBe(7);
  });

  it("ends byte-identical to an uninterrupted run, and no partial file is ever visible under a final name", async () => {
    const rnd = lcg(SEED);
    const pick = (p: string, lo: number, hi: number) => `${p}:${Math.max(1, Math.round(points.get(p)! * (lo + (hi - lo) * rnd())))}`;
    const ms = () => Math.round(refWallMs * (0.25 + 0.75 * rnd()));
    // First crash of each scenario: named points early, mid and late (finalize included), and random times.
    const firsts: Crash[] = [
      { at: "atomic-write:1" }, // plan.json written, not yet renamed
      { at: "shard-index:1" },
      { at: pick("atomic-write", 0.1, 0.5) }, // inside a shard
      { at: pick("atomic-fsync", 0.2, 0.6) }, // after fsync, before rename
      { at: pick("atomic-rename", 0.2, 0.6) }, // shard renamed, index not yet updated
      { at: pick("shard-index", 0.4, 0.9) },
      { at: `shard-index:${points.get("shard-index")}` }, // every shard done, before finalize
      { at: `atomic-rename:${points.get("atomic-rename")! - 1}` }, // inside finalize
      { at: ms() },
      { at: ms() },
    ];
    const log: string[] = [];
    let killed = 0;
    for (const [i, first] of firsts.entries()) {
      rmSync(path.join(dir, "out"), { recursive: true, force: true });
      // A second crash during the resume, then a clean re-run to the end.
      const second: Crash = i % 2 === 0 ? { at: pick(["atomic-write", "atomic-rename", "atomic-fsync"][i % 3], 0.05, 0.4) } : { at: ms() };
      const seq = [first, second, null];
      const what = `seed ${SEED}, scenario ${i}: ${seq.map((c) => (c ? describeCrash(c) : "clean")).join(" → ")}`;
      for (const c of seq) {
        const env: Record<string, string> = c && typeof c.at === "string" ? { AUGMENT_CRASH_AT: c.at } : {};
        const r = await runChild(RUN, env, c && typeof c.at === "number" ? c.at : undefined);
        expect(r.problems, what).toEqual([]);
        if (c === null) {
          expect(r.stderr, what).toBe("");
          expect(r.code, what).toBe(0);
        } else if (r.signal === "SIGKILL") {
          killed++;
        } else {
          // a timed kill that came after the end, or a named point a resumed run no longer reaches
          expect(r.code, `${what}: ${r.stderr}`).toBe(0);
        }
        if (c === first && typeof c.at === "string") expect(r.signal, `${what}: the named point was reached`).toBe("SIGKILL");
      }
      // The finished folder: exactly the reference's files, equal bytes, no temporary files left.
      expect(await sameAsReference(path.join(dir, "out"), ref), what).toEqual([]);
      log.push(what);
    }
    const v = await verify(path.join(dir, "out"));
    expect(v.problems).toEqual([]);
    // At least 10 kills actually happened (a timed kill may land after a run ended).
    expect(killed).toBeGreaterThanOrEqual(10);
    console.log(`crash-resume (seed ${SEED}): ${killed} kills in ${firsts.length} scenarios; reference run ${refWallMs} ms\n  ${log.join("\n  ")}`);
  });
});

// A dead process's temporary files do not pile up: the next run removes them.
describe("temporary files of a crashed run", () => {
  it("are removed by the next run", async () => {
    rmSync(path.join(dir, "out"), { recursive: true, force: true });
    const r = await runChild(RUN, { AUGMENT_CRASH_AT: "atomic-write:6" });
    expect(r.signal).toBe("SIGKILL");
    const tmps = walkFiles(path.join(dir, "out")).filter((f) => TMP_NAME.test(path.basename(f)));
    expect(tmps.length).toBeGreaterThan(0);
    const again = await runChild(RUN, {});
    expect(again.code).toBe(0);
    for (const t of tmps) expect(() => statSync(path.join(dir, "out", t))).toThrow();
  });
});

// The other layouts commit shards differently (one file per item, NeMo's tarred audio, Lhotse
// Shar's paired tars, Parquet files): one named crash each, then a clean re-run.
describe("other output formats: SIGKILL, then re-run", () => {
  const formats: Array<[string, string]> = [
    ["files", ", format: files, manifests: [nemo, lhotse, kaldi]"],
    ["nemo_tarred", ", format: nemo_tarred"],
    ["lhotse_shar", ", format: lhotse_shar, manifests: []"],
    ["hf_parquet", ", format: hf_parquet, manifests: []"],
  ];
  for (const [i, [format, output]] of formats.entries()) {
    it(`${format}: byte-identical after a crash, nothing partial under a final name`, async () => {
      writeSmallRun(dir, output, `r-${format}.yaml`);
      const run = ["run", `r-${format}.yaml`, "--quiet", "--out", "out", "--workers", "1"];
      rmSync(path.join(dir, "out"), { recursive: true, force: true });
      let mine = new Map<string, Buffer>();
      const listed = await runChild(run, { AUGMENT_CRASH_AT: "list" }, undefined, () => mine);
      expect(listed.code).toBe(0);
      const count = (p: string) => Number([...listed.stderr.matchAll(new RegExp(`^crash-point ${p} (\\d+)$`, "gm"))].pop()![1]);
      mine = snapshot(path.join(dir, "out"));
      rmSync(path.join(dir, "out"), { recursive: true });
      const at = i % 2 ? `atomic-rename:${Math.ceil(count("atomic-rename") / 2)}` : `atomic-write:${Math.ceil(count("atomic-write") / 3)}`;
      const crashed = await runChild(run, { AUGMENT_CRASH_AT: at }, undefined, () => mine);
      expect(crashed.signal, at).toBe("SIGKILL");
      expect(crashed.problems, at).toEqual([]);
      const again = await runChild(run, {}, undefined, () => mine);
      expect(again.stderr).toBe("");
      expect(again.code).toBe(0);
      expect(again.problems, at).toEqual([]);
      expect(await sameAsReference(path.join(dir, "out"), mine), `${format}, ${at}`).toEqual([]);
    });
  }
});
