// The shipped Slurm and Kubernetes examples run as written with only the paths changed: each array
// task / indexed pod is simulated by its environment variables, then the merge step runs.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ROOT, speechLike, tempDir, writeNemoCorpus } from "./helpers/fixtures.js";

function corpus(): { dir: string; recipe: string } {
  const dir = tempDir("augment-examples-");
  writeNemoCorpus(path.join(dir, "c"), Array.from({ length: 6 }, (_, i) => ({ id: `s-u${i}`, speaker: "s", text: `t${i}`, samples: speechLike(8000, 16000, 100, i + 1), sampleRate: 16000 })));
  const recipe = path.join(dir, "recipe.yaml");
  writeFileSync(recipe, `inputs: [{format: nemo, path: ${dir}/c/manifest.json}]\ncopies: 4\nchain:\n  - gain: {db: [-3, 3]}\noutput: {path: unused, shard_max_items: 3}\n`);
  return { dir, recipe };
}

describe("examples", () => {
  it("slurm/augment.sbatch + merge.sbatch", () => {
    const { dir, recipe } = corpus();
    const out = path.join(dir, "out");
    const fix = (f: string) => {
      const text = readFileSync(path.join(ROOT, "examples/slurm", f), "utf8")
        .replace("AUGMENT_DIR=/path/to/augment", `AUGMENT_DIR=${ROOT}`)
        .replace("RECIPE=/path/to/recipe.yaml", `RECIPE=${recipe}`)
        .replace("OUT=/shared/storage/augmented/my-corpus", `OUT=${out}`);
      const file = path.join(dir, f);
      writeFileSync(file, text);
      return file;
    };
    const task = fix("augment.sbatch");
    const array = readFileSync(task, "utf8").match(/#SBATCH --array=(\d+)-(\d+)/)!;
    const n = Number(array[2]) - Number(array[1]) + 1;
    for (let k = 0; k < n; k++) {
      const r = spawnSync("bash", [task], { env: { ...process.env, SLURM_ARRAY_TASK_ID: String(k), SLURM_ARRAY_TASK_MIN: array[1], SLURM_ARRAY_TASK_COUNT: String(n) }, encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
    }
    execFileSync("bash", [fix("merge.sbatch")], { stdio: "pipe" });
    expect(readFileSync(path.join(out, "nemo_manifest.json"), "utf8").trim().split("\n")).toHaveLength(24);
  });

  it("kubernetes/augment-job.yaml + merge-job.yaml", () => {
    const { dir, recipe } = corpus();
    const job = parse(readFileSync(path.join(ROOT, "examples/kubernetes/augment-job.yaml"), "utf8"));
    const n = job.spec.completions;
    expect(job.spec.completionMode).toBe("Indexed");
    const swap = (s: string) => s.replace("/data/recipe.yaml", recipe).replace("/data/out/my-corpus", path.join(dir, "out"));
    const [cmd, ...args] = job.spec.template.spec.containers[0].command.map(swap);
    for (let k = 0; k < n; k++) {
      const r = spawnSync(cmd === "node" ? process.execPath : cmd, args, { cwd: ROOT, env: { ...process.env, JOB_COMPLETION_INDEX: String(k) }, encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`worker ${k} of ${n} \\(from Kubernetes Indexed Job\\)`));
    }
    const merge = parse(readFileSync(path.join(ROOT, "examples/kubernetes/merge-job.yaml"), "utf8"));
    const [mcmd, ...margs] = merge.spec.template.spec.containers[0].command;
    const m = spawnSync(mcmd, margs.map((a: string) => a.replaceAll("/data/out/my-corpus", path.join(dir, "out"))), { cwd: ROOT, encoding: "utf8" });
    expect(m.status, m.stderr).toBe(0);
    expect(m.stdout).toMatch(/ok/);
  });
});
