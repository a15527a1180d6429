// The one registry of ops: the recipe schema, the planner and the engines all look ops up here.
import { accentOp } from "./accent.js";
import { bitdepthOp } from "./bitdepth.js";
import { clipOp } from "./clip.js";
import { codecOp } from "./codec.js";
import { dcoffsetOp } from "./dcoffset.js";
import { eqOp } from "./eq.js";
import { filterOp } from "./filter.js";
import { formantOp } from "./formant.js";
import { gainOp } from "./gain.js";
import { gaintransitionOp } from "./gaintransition.js";
import { micresponseOp } from "./micresponse.js";
import { noiseOp } from "./noise.js";
import { packetlossOp } from "./packetloss.js";
import { pitchOp } from "./pitch.js";
import { prosodyOp } from "./prosody.js";
import { ratedropOp } from "./ratedrop.js";
import { reverbOp } from "./reverb.js";
import { speedOp } from "./speed.js";
import { telephoneOp } from "./telephone.js";
import { tempoOp } from "./tempo.js";
import type { OpDefinition } from "./types.js";
import { vtlpOp } from "./vtlp.js";

export const OPS: ReadonlyMap<string, OpDefinition> = new Map<string, OpDefinition>(
  [
    speedOp, reverbOp, noiseOp, gainOp, tempoOp, pitchOp, vtlpOp, formantOp, prosodyOp, accentOp,
    // Channel and codec ops.
    codecOp, telephoneOp, filterOp, eqOp, micresponseOp, ratedropOp, bitdepthOp, clipOp, packetlossOp, dcoffsetOp, gaintransitionOp,
  ].map((op) => [op.name, op as OpDefinition]),
);

/** Every op's closeThread (an engine thread that is ending). */
export async function closeOpsThread(): Promise<void> {
  await Promise.allSettled([...OPS.values()].map((op) => op.closeThread?.()));
}

export function getOp(name: string): OpDefinition {
  const op = OPS.get(name);
  if (!op) throw new Error(`unknown op "${name}"`);
  return op;
}
