// Bursty packet loss: the Gilbert-Elliott chain's measured loss rate and mean burst length are
// within 10% of its parameters over a long signal; concealment does what it says; the pattern is a
// pure function of the seed drawn at plan time.
import { describe, expect, it } from "vitest";
import { applyPacketLoss, gilbertFromLoss, gilbertPattern, lossRuns } from "../src/audio/gilbert.js";
import { packetlossOp, packetlossPattern, type PacketlossParams } from "../src/ops/packetloss.js";
import type { ApplyContext } from "../src/ops/types.js";
import { Rng, rngFor } from "../src/plan/rng.js";
import { noiseSignal } from "./helpers/fixtures.js";

const SR = 16000;
const ctx: ApplyContext = { sampleRate: SR, resource: () => new Float32Array(0) };

function stats(lost: Uint8Array): { lossRate: number; meanBurst: number; bursts: number } {
  const runs = lossRuns(lost);
  const total = runs.reduce((a, r) => a + r[1], 0);
  return { lossRate: total / lost.length, meanBurst: total / runs.length, bursts: runs.length };
}

describe("Gilbert-Elliott loss model", () => {
  it("over 10^5 frames: loss rate and mean burst within 10% of the parameters", () => {
    const rows: string[] = [];
    for (const [lossRate, meanBurst] of [
      [0.01, 1],
      [0.03, 1.5],
      [0.05, 2],
      [0.1, 3],
      [0.2, 5],
      [0.3, 2],
    ]) {
      const rng = new Rng(1234 + Math.round(lossRate * 1000));
      const lost = gilbertPattern(100_000, gilbertFromLoss(lossRate, meanBurst), () => rng.next());
      const s = stats(lost);
      rows.push(`loss ${lossRate} burst ${meanBurst}: measured loss ${s.lossRate.toFixed(4)}, mean burst ${s.meanBurst.toFixed(3)} (${s.bursts} bursts)`);
      expect(Math.abs(s.lossRate - lossRate) / lossRate).toBeLessThan(0.1);
      expect(Math.abs(s.meanBurst - meanBurst) / meanBurst).toBeLessThan(0.1);
    }
    console.log(rows.join("\n"));
  });

  it("through the op on a 10-minute signal (20 ms frames): the measured pattern matches the model within 10%", () => {
    const x = new Float32Array(600 * SR).fill(0.25);
    const p: PacketlossParams = { op: "packetloss", loss_rate: 0.08, mean_burst_frames: 2.5, frame_ms: 20, concealment: "zero", seed: 987654321 };
    const out = packetlossOp.apply(x, p, ctx) as { audio: Float32Array; measured: Record<string, number | string> };
    const m = out.measured;
    expect(m.frames).toBe(30000);
    console.log(`op, 30000 frames of 20 ms: loss ${m.loss_rate} (model 0.08), mean burst ${m.mean_burst} (model 2.5), ${m.bursts} bursts`);
    expect(Math.abs((m.loss_rate as number) - 0.08) / 0.08).toBeLessThan(0.1);
    expect(Math.abs((m.mean_burst as number) - 2.5) / 2.5).toBeLessThan(0.1);
    // The audio says the same: zeroed frames are exactly the lost ones.
    let zeroFrames = 0;
    for (let f = 0; f < 30000; f++) if (out.audio[f * 320] === 0) zeroFrames++;
    expect(zeroFrames).toBe(m.lost_frames);
  });

  it("rejects a loss rate the chain cannot reach", () => {
    expect(() => gilbertFromLoss(0.6, 1)).toThrow(/> 1/);
    expect(() => gilbertFromLoss(0.1, 0.5)).toThrow(/>= 1 frame/);
  });
});

describe("concealment", () => {
  const x = noiseSignal(16000, 3, 0.5);
  const frame = 160;
  const lost = new Uint8Array(100);
  lost[0] = 1;
  lost[10] = lost[11] = lost[12] = 1;
  lost[99] = 1;

  it("zero: lost frames are silent, the rest untouched, length kept", () => {
    const y = applyPacketLoss(x, frame, lost, "zero");
    expect(y.length).toBe(x.length);
    for (let f = 0; f < 100; f++) {
      for (let i = f * frame; i < (f + 1) * frame; i++) expect(y[i]).toBe(lost[f] ? 0 : x[i]);
    }
  });

  it("repeat: a lost frame repeats the last received frame (silence before the first)", () => {
    const y = applyPacketLoss(x, frame, lost, "repeat");
    for (let i = 0; i < frame; i++) expect(y[i]).toBe(0);
    for (const f of [10, 11, 12]) for (let i = 0; i < frame; i++) expect(y[f * frame + i]).toBe(x[9 * frame + i]);
    for (let i = 0; i < frame; i++) expect(y[99 * frame + i]).toBe(x[98 * frame + i]);
    for (let i = 13 * frame; i < 99 * frame; i++) expect(y[i]).toBe(x[i]);
  });
});

describe("planning", () => {
  it("the sampler draws the pattern's seed at plan time; the kernel is a pure function of it", () => {
    const config = packetlossOp.schema.parse({ loss_rate: 0.1, mean_burst_frames: 2, frame_ms: [10, 20], concealment: ["zero", "repeat"] });
    const a = packetlossOp.sample(config, rngFor(7, "utt#0", 3), { sampleRate: SR, durationS: 3, banks: { noise: new Map(), rir: new Map() }, copy: 0 });
    const b = packetlossOp.sample(config, rngFor(7, "utt#0", 3), { sampleRate: SR, durationS: 3, banks: { noise: new Map(), rir: new Map() }, copy: 0 });
    const c = packetlossOp.sample(config, rngFor(7, "utt#1", 3), { sampleRate: SR, durationS: 3, banks: { noise: new Map(), rir: new Map() }, copy: 0 });
    expect(a).toEqual(b);
    expect(a.seed).not.toBe(c.seed);
    expect(Number.isInteger(a.seed)).toBe(true);
    expect([10, 20]).toContain(a.frame_ms);
    const x = noiseSignal(48000, 11);
    const y1 = packetlossOp.apply(x, a, ctx) as { audio: Float32Array; measured: Record<string, unknown> };
    const y2 = packetlossOp.apply(x, { ...a }, ctx) as { audio: Float32Array; measured: Record<string, unknown> };
    expect(Buffer.from(y1.audio.buffer).equals(Buffer.from(y2.audio.buffer))).toBe(true);
    expect(y1.measured.lost).toBe(y2.measured.lost);
    // The recorded pattern is the pattern.
    const frames = Math.ceil(x.length / ((a.frame_ms / 1000) * SR));
    expect(lossRuns(packetlossPattern(a, frames)).map(([f, n]) => `${f}+${n}`).join(",")).toBe(y1.measured.lost);
  });
});
