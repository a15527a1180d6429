// The one registry of ops: the recipe schema, the planner and the engines all look ops up here.
import { gainOp } from "./gain.js";
import { noiseOp } from "./noise.js";
import { reverbOp } from "./reverb.js";
import { speedOp } from "./speed.js";
import type { OpDefinition } from "./types.js";

export const OPS: ReadonlyMap<string, OpDefinition> = new Map<string, OpDefinition>(
  [speedOp, reverbOp, noiseOp, gainOp].map((op) => [op.name, op as OpDefinition]),
);

export function getOp(name: string): OpDefinition {
  const op = OPS.get(name);
  if (!op) throw new Error(`unknown op "${name}"`);
  return op;
}
