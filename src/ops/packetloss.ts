// Packet loss with bursts: frames of 10 or 20 ms are lost following a Gilbert-Elliott channel
// (src/audio/gilbert.ts) set by its loss rate and mean burst length, and concealed by silence or
// by repeating the last received frame. The pattern comes from a seed drawn at plan time, through
// the project's counter-based generator, so it is a pure function of the plan (never of the
// engine, worker or batch). Provenance records the realised pattern as `lost` = "first+count,…"
// frame runs, with the achieved loss rate and mean burst.
import { z } from "zod";
import { applyPacketLoss, gilbertFromLoss, gilbertPattern, lossRuns } from "../audio/gilbert.js";
import { Rng } from "../plan/rng.js";
import { drawValue, probability, roundTo, valueOrRange, type ValueOrRange } from "./params.js";
import type { OpDefinition } from "./types.js";

const concealment = z.enum(["zero", "repeat"]);

export const packetlossSchema = z
  .object({
    loss_rate: valueOrRange("Long-run fraction of frames lost (stationary probability of the Bad state).", { min: 0, max: 0.5 }).default([0.01, 0.1]),
    mean_burst_frames: valueOrRange("Mean length of a loss burst, frames (>= 1; burst lengths are geometric).", { min: 1, max: 50 }).default([1, 3]),
    frame_ms: z.union([z.literal([10, 20]), z.array(z.literal([10, 20])).min(1)]).default(20).describe("Frame (packet) duration: 10 or 20 ms, or a list to draw from."),
    concealment: z.union([concealment, z.array(concealment).min(1)]).default("repeat").describe("`zero` (silence) or `repeat` (the last received frame), or a list to draw from."),
    p: probability,
  })
  .strict();

export type PacketlossConfig = z.infer<typeof packetlossSchema>;

export interface PacketlossParams {
  op: "packetloss";
  loss_rate: number;
  mean_burst_frames: number;
  frame_ms: number;
  concealment: "zero" | "repeat";
  seed: number;
  [k: string]: unknown;
}

/** The pattern a params object stands for, over `frames` frames. */
export function packetlossPattern(p: Pick<PacketlossParams, "loss_rate" | "mean_burst_frames" | "seed">, frames: number): Uint8Array {
  const rng = new Rng(p.seed);
  return gilbertPattern(frames, gilbertFromLoss(p.loss_rate, p.mean_burst_frames), () => rng.next());
}

export const packetlossOp: OpDefinition<PacketlossConfig, PacketlossParams> = {
  name: "packetloss",
  summary: "Bursty packet loss (Gilbert-Elliott, 10/20 ms frames) with zero-fill or repeat-last concealment.",
  schema: packetlossSchema,
  sample(c, rng) {
    const pick = <T>(v: T | T[]): T => (Array.isArray(v) ? rng.choice(v) : v);
    return {
      op: "packetloss",
      loss_rate: roundTo(drawValue(c.loss_rate as ValueOrRange, rng), 4),
      mean_burst_frames: roundTo(drawValue(c.mean_burst_frames as ValueOrRange, rng), 3),
      frame_ms: pick(c.frame_ms),
      concealment: pick(c.concealment),
      seed: rng.u32(),
    };
  },
  apply(x, p, ctx) {
    const frameLength = Math.round((p.frame_ms / 1000) * ctx.sampleRate);
    const frames = Math.ceil(x.length / frameLength);
    const lost = packetlossPattern(p, frames);
    const runs = lossRuns(lost);
    const lostFrames = runs.reduce((a, r) => a + r[1], 0);
    return {
      audio: applyPacketLoss(x, frameLength, lost, p.concealment),
      measured: {
        frames,
        lost_frames: lostFrames,
        loss_rate: frames ? roundTo(lostFrames / frames, 4) : 0,
        bursts: runs.length,
        mean_burst: runs.length ? roundTo(lostFrames / runs.length, 3) : 0,
        lost: runs.map(([f, n]) => `${f}+${n}`).join(","),
      },
    };
  },
};
