// The `simulate:` schema (defaults, refusals of impossible settings) and the room sampler
// (determinism, every drawn room inside its constraints, arrays, directivity, band profiles).
import { describe, expect, it } from "vitest";
import { ALPHA_MAX, absorptionForRt60, roomRng, sampleRoom, simulateSchema } from "../src/rooms/sample.js";
import { absorptionTable, eyringRt60, meanAbsorption } from "../src/rooms/theory.js";
import type { RoomSpec } from "../src/rooms/types.js";

const dist = (a: readonly number[], b: readonly number[]) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

function issues(input: unknown): string[] {
  const r = simulateSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

describe("simulateSchema", () => {
  it("fills defaults and accepts the issue's example", () => {
    const cfg = simulateSchema.parse({});
    expect(cfg.count).toBe(100);
    expect(cfg.rt60_s).toEqual([0.2, 1.2]);
    expect(cfg.room_m).toEqual({ min: [3, 3, 2.4], max: [10, 8, 4] });
    expect(cfg.c_m_s).toBe(343);
    expect(cfg.transition_s).toBe("auto");
    expect(cfg.absorption.wall_spread).toBe(0);
    const example = simulateSchema.parse({ count: 500, rt60_s: [0.2, 1.2], room_m: { min: [3, 3, 2.4], max: [10, 8, 4] }, distance_m: [0.5, 4] });
    expect(example.count).toBe(500);
  });

  it("describes every field", () => {
    const shape = (simulateSchema as any).shape ?? (simulateSchema as any)._zod.def.in?._zod?.def?.shape ?? (simulateSchema as any)._def?.schema?.shape;
    const fields = shape ? Object.entries(shape) : [];
    expect(fields.length).toBeGreaterThan(10);
    for (const [, field] of fields) expect((field as any).description, "field without .describe()").toBeTruthy();
  });

  it("refuses impossible settings with messages", () => {
    expect(issues({ rt60_s: [0.05, 0.5], room_m: { min: [20, 20, 10], max: [30, 30, 12] } }).join("\n")).toMatch(
      /rt60_s: RT60 0\.05 s is unreachable: the smallest room \(20 × 20 × 10 m\) with mean absorption 0\.99 already rings for 0\.0\d+ s/,
    );
    expect(issues({ rt60_s: [1, 15], room_m: { min: [3, 3, 2.4], max: [3.5, 3.5, 2.5] } }).join("\n")).toMatch(/RT60 15 s is unreachable: the largest room/);
    expect(issues({ distance_m: [15, 20] }).join("\n")).toMatch(/distance_m: distance_m 15 m cannot fit: in the largest room \(10 × 8 × 4 m\)/);
    expect(issues({ min_wall_distance_m: 5 }).join("\n")).toMatch(/min_wall_distance_m 5 leaves no room/);
    expect(issues({ room_m: { min: [5, 3, 2.4], max: [4, 8, 4] } }).join("\n")).toMatch(/room_m.min\[0\] 5 is larger than room_m.max\[0\] 4/);
    expect(issues({ source_height_m: [5, 6] }).join("\n")).toMatch(/source_height_m/);
    expect(issues({ distance_m: [0.1, 0.2], source_height_m: [1.8, 1.9], mic_height_m: [0.7, 0.8] }).join("\n")).toMatch(/shorter than the smallest height difference/);
    expect(issues({ rt60_s: [1.2, 0.2] }).join("\n")).toMatch(/min <= max/);
    expect(issues({ room: 3 }).join("\n")).toMatch(/Unrecognized key/i);
    expect(issues({ absorption: { band_profile: [1, 2] } }).join("\n")).toMatch(/2 values for 6 bands/);
    expect(issues({ transition_s: 0.2, max_time_s: 0.1 }).join("\n")).toMatch(/tail would start after a gap/);
  });
});

describe("absorptionForRt60", () => {
  it("inverts Eyring and refuses RT60s the room cannot reach", () => {
    const alpha = absorptionForRt60([6, 4, 3], 0.5);
    expect(eyringRt60([6, 4, 3], alpha, 343)).toBeCloseTo(0.5, 9);
    expect(() => absorptionForRt60([10, 8, 4], 0.03)).toThrow(/RT60 0\.03 s is unreachable in a 10 × 8 × 4 m room: it needs mean absorption 0\.996 \(at most 0\.99\); the shortest is 0\.0\d+ s/);
    expect(() => absorptionForRt60([3, 3, 2.4], 12)).toThrow(/RT60 12 s is unreachable in a 3 × 3 × 2\.4 m room: .*at least 0\.01.*the longest is \d/);
    expect(() => absorptionForRt60([3, -3, 2.4], 1)).toThrow(/positive/);
  });
});

describe("sampleRoom", () => {
  const cfg = simulateSchema.parse({ rt60_s: [0.2, 1.5], absorption: { wall_spread: 0.4 } });

  it("is a pure function of the Rng key", () => {
    const a = sampleRoom(roomRng(7, "rooms", 3), cfg);
    const b = sampleRoom(roomRng(7, "rooms", 3), cfg);
    expect(b).toEqual(a);
    expect(JSON.parse(JSON.stringify(a))).toEqual(a); // plain JSON
    expect(sampleRoom(roomRng(7, "rooms", 4), cfg)).not.toEqual(a);
    expect(sampleRoom(roomRng(7, "other", 3), cfg)).not.toEqual(a);
  });

  it("keeps every drawn room inside its constraints, with Eyring absorption for the drawn RT60", () => {
    for (let i = 0; i < 300; i++) {
      const spec: RoomSpec = sampleRoom(roomRng(11, "rooms", i), cfg, { sampleRate: 22050 });
      const { dims_m: dims, source_m: src, mics_m: mics } = spec;
      dims.forEach((l, k) => {
        expect(l).toBeGreaterThanOrEqual(cfg.room_m.min[k]);
        expect(l).toBeLessThanOrEqual(cfg.room_m.max[k]);
      });
      for (const p of [src, ...mics]) p.forEach((x, k) => expect(Math.min(x, dims[k] - x)).toBeGreaterThanOrEqual(cfg.min_wall_distance_m - 1e-9));
      const d = dist(src, mics[0]);
      expect(d).toBeGreaterThanOrEqual(cfg.distance_m[0] - 0.002);
      expect(d).toBeLessThanOrEqual(cfg.distance_m[1] + 0.002);
      expect(src[2]).toBeGreaterThanOrEqual(cfg.source_height_m[0]);
      expect(src[2]).toBeLessThanOrEqual(cfg.source_height_m[1]);
      expect(spec.rt60_s!).toBeGreaterThanOrEqual(0.2);
      expect(spec.rt60_s!).toBeLessThanOrEqual(1.5);
      const table = absorptionTable(spec.absorption);
      expect(Math.max(...table.alpha.flat())).toBeLessThanOrEqual(ALPHA_MAX);
      const rt = eyringRt60(dims, meanAbsorption(dims, table)[0], spec.c_m_s);
      expect(Math.abs(rt - spec.rt60_s!) / spec.rt60_s!).toBeLessThan(1e-9);
      expect(spec.sample_rate).toBe(22050);
      expect(Number.isInteger(spec.seed) && spec.seed >= 0 && spec.seed < 2 ** 32).toBe(true);
      expect(spec.transition_s!).toBeGreaterThan(dist(src, mics[0]) / spec.c_m_s);
      expect(spec.length_s).toBeCloseTo(1.2 * spec.rt60_s!, 2);
    }
  });

  it("places a mic array as a rigid, rotated copy of its offsets, aimed at the source", () => {
    const offsets: [number, number, number][] = [
      [-0.05, 0, 0],
      [0.05, 0, 0],
      [0, 0.05, 0],
      [0, 0, 0.02],
    ];
    const arrayCfg = simulateSchema.parse({ mics: offsets, directivity: { pattern: "cardioid" } });
    const rotations = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const spec = sampleRoom(roomRng(3, "array", i), arrayCfg);
      expect(spec.mics_m.length).toBe(4);
      for (let a = 0; a < 4; a++) {
        for (let b = 0; b < 4; b++) expect(dist(spec.mics_m[a], spec.mics_m[b])).toBeCloseTo(dist(offsets[a], offsets[b]), 2);
      }
      rotations.add((spec.mics_m[1][0] - spec.mics_m[0][0]).toFixed(2));
      const dirs = spec.directivity as { pattern: string; azimuth_deg: number; elevation_deg: number }[];
      dirs.forEach((d, k) => {
        expect(d.pattern).toBe("cardioid");
        const az = (d.azimuth_deg * Math.PI) / 180;
        const el = (d.elevation_deg * Math.PI) / 180;
        const axis = [Math.cos(el) * Math.cos(az), Math.cos(el) * Math.sin(az), Math.sin(el)];
        const toSource = spec.source_m.map((x, j) => x - spec.mics_m[k][j]);
        const norm = Math.hypot(...toSource);
        expect(axis.reduce((s, x, j) => s + x * toSource[j], 0) / norm).toBeGreaterThan(0.9999);
      });
    }
    expect(rotations.size).toBeGreaterThan(10);
  });

  it("scales a band profile so the mid bands hold the target RT60", () => {
    const banded = simulateSchema.parse({ absorption: { band_profile: [0.5, 0.7, 1, 1, 1.4, 1.8] } });
    const spec = sampleRoom(roomRng(5, "bands", 0), banded);
    const table = absorptionTable(spec.absorption);
    expect(table.bandsHz).toEqual([125, 250, 500, 1000, 2000, 4000]);
    const rt = meanAbsorption(spec.dims_m, table).map((a) => eyringRt60(spec.dims_m, a, 343));
    expect(rt[2]).toBeCloseTo(spec.rt60_s!, 6);
    expect(rt[0]).toBeGreaterThan(rt[2]);
    expect(rt[5]).toBeLessThan(rt[2]);
    expect(spec.length_s).toBeCloseTo(1.2 * rt[0], 2);
  });

  it("fails with a clear message when no room fits (bounded tries)", () => {
    const impossible = { ...simulateSchema.parse({}), distance_m: [30, 31] as [number, number] };
    expect(() => sampleRoom(roomRng(1, "x", 0), impossible)).toThrow(/could not draw a room .* falls within min_wall_distance_m of a wall/);
  });
});
