// The one registry of ops: the recipe schema, the planner and the engines all look ops up here.
import { accentOp } from "./accent.js";
import { formantOp } from "./formant.js";
import { gainOp } from "./gain.js";
import { noiseOp } from "./noise.js";
import { pitchOp } from "./pitch.js";
import { prosodyOp } from "./prosody.js";
import { reverbOp } from "./reverb.js";
import { speedOp } from "./speed.js";
import { tempoOp } from "./tempo.js";
import type { OpDefinition } from "./types.js";
import { vtlpOp } from "./vtlp.js";

export const OPS: ReadonlyMap<string, OpDefinition> = new Map<string, OpDefinition>(
  [speedOp, reverbOp, noiseOp, gainOp, tempoOp, pitchOp, vtlpOp, formantOp, prosodyOp, accentOp].map((op) => [op.name, op as OpDefinition]),
);

export function getOp(name: string): OpDefinition {
  const op = OPS.get(name);
  if (!op) throw new Error(`unknown op "${name}"`);
  return op;
}
