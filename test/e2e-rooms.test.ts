// Room acoustics through the CLI: `augment rir simulate` writes a bank that a recipe reads; a recipe
// that simulates the same bank gives the same bytes; inline simulation is deterministic across
// worker counts; every RIR used is measured into provenance; impossible rooms stop before work.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { listTar, readTarMember } from "../src/writers/tar.js";
import { cli, speechLike, tempDir, writeNemoCorpus } from "./helpers/fixtures.js";

let dir: string;
beforeAll(() => {
  dir = tempDir("augment-rooms-");
  writeNemoCorpus(path.join(dir, "c"), Array.from({ length: 4 }, (_, i) => ({ id: `s-u${i}`, speaker: "s", text: `t${i}`, samples: speechLike(16000, 16000, 110, i + 1), sampleRate: 16000 })));
});

const recipe = (banks: string, reverb: string, out: string) =>
  `seed: 21\ninputs: [{format: nemo, path: c/manifest.json}]\nrir_banks: ${banks}\ncopies: 3\nchain:\n  - reverb: ${reverb}\noutput: {path: ${out}, shuffle: false}\n`;

function shardsOf(out: string): string[] {
  const idx = JSON.parse(readFileSync(path.join(dir, out, "index.json"), "utf8"));
  return Object.values<any>(idx.shards).map((s) => s.sha256);
}

async function audioOf(out: string): Promise<string[]> {
  const tar = path.join(dir, out, "shard-000000.tar");
  const names = (await listTar(tar)).map((m) => m.name).filter((n) => n.endsWith(".flac"));
  return Promise.all(names.map(async (n) => createHash("sha256").update(await readTarMember(tar, n)).digest("hex")));
}

function metas(out: string): any[] {
  return readFileSync(path.join(dir, out, ".state/items-000000.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l).meta);
}

describe("rooms end to end", () => {
  it("rir simulate writes a loadable bank identical to the recipe's simulated bank", async () => {
    const r = cli(["rir", "simulate", "--count", "5", "--out", "bank", "--seed", "21", "--name", "rooms", "--rt60", "0.3,0.7", "--figures", "sheet"], dir);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const meta = readFileSync(path.join(dir, "bank/metadata.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(meta).toHaveLength(5);
    expect(existsSync(path.join(dir, "bank/contact-sheet.png"))).toBe(true);
    writeFileSync(path.join(dir, "a.yaml"), recipe("[{name: rooms, path: bank}]", "{bank: rooms}", "out-a"));
    writeFileSync(path.join(dir, "b.yaml"), recipe("[{name: rooms, simulate: {count: 5, rt60_s: [0.3, 0.7]}}]", "{bank: rooms}", "out-b"));
    expect(cli(["run", "a.yaml", "--quiet"], dir).code).toBe(0);
    expect(cli(["run", "b.yaml", "--quiet"], dir).code).toBe(0);
    // Same rooms, same audio (the provenance differs: a simulated bank also records its target RT60).
    expect(await audioOf("out-b")).toEqual(await audioOf("out-a"));
    expect(metas("out-b").map((m) => m.ops[0].rir)).toEqual(metas("out-a").map((m) => m.ops[0].rir));
    // Provenance: every item's RIR was measured; T30 within 10% of the bank's target.
    const byId = new Map(meta.map((m) => [m.id, m]));
    for (const m of metas("out-b")) {
      const op = m.ops[0];
      const target = byId.get(op.rir).rt60_s ?? byId.get(op.rir).target_rt60_s ?? op.target_rt60_s;
      expect(Math.abs(op.measured.rt60_t30_s / target - 1)).toBeLessThan(0.1);
      expect(typeof op.measured.drr_db).toBe("number");
      expect(typeof op.measured.c50_db).toBe("number");
    }
    const summary = JSON.parse(readFileSync(path.join(dir, "out-b/summary.json"), "utf8"));
    expect(summary.ops.reverb["measured.rt60_t30_s"].mean).toBeGreaterThan(0.25);
  });

  it("inline simulation: a room per item, same bytes with 0 and 2 workers", () => {
    writeFileSync(path.join(dir, "c.yaml"), recipe("[]", "{simulate: {rt60_s: [0.2, 1.0], room_m: {min: [3, 3, 2.5], max: [8, 6, 3.5]}}}", "out-c0"));
    expect(cli(["run", "c.yaml", "--quiet", "--workers", "0"], dir).code).toBe(0);
    expect(cli(["run", "c.yaml", "--quiet", "--workers", "2", "--out", "out-c2"], dir).code).toBe(0);
    expect(shardsOf("out-c2")).toEqual(shardsOf("out-c0"));
    const rooms = metas("out-c0").map((m) => JSON.stringify(m.ops[0].room.dims_m));
    expect(new Set(rooms).size).toBe(rooms.length);
  });

  it("refuses an impossible room before any work, naming the line", () => {
    writeFileSync(path.join(dir, "d.yaml"), recipe("[{name: r, simulate: {rt60_s: [8, 9], room_m: {min: [2, 2, 2], max: [2.5, 2.5, 2.2]}}}]", "{bank: r}", "out-d"));
    const r = cli(["run", "d.yaml"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: d\.yaml:3:\d+: rir_banks\[0\]\.simulate.*(RT60|unreachable)/m);
    expect(existsSync(path.join(dir, "out-d"))).toBe(false);
  });
});
