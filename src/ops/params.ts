// Shared pieces of op parameter schemas, so every op spells ranges and probabilities the same way.
import { z } from "zod";
import type { Rng } from "../plan/rng.js";

/** A fixed value or a `[min, max]` range sampled uniformly. */
export function valueOrRange(description: string, bounds?: { min?: number; max?: number }) {
  let num = z.number();
  if (bounds?.min !== undefined) num = num.min(bounds.min);
  if (bounds?.max !== undefined) num = num.max(bounds.max);
  return z
    .union([num, z.tuple([num, num])])
    .refine((v) => typeof v === "number" || v[0] <= v[1], { message: "range must be [min, max] with min <= max" })
    .describe(`${description} A number, or [min, max] sampled uniformly.`);
}

export type ValueOrRange = number | [number, number];

export function drawValue(v: ValueOrRange, rng: Rng): number {
  return typeof v === "number" ? v : rng.uniform(v[0], v[1]);
}

export const probability = z
  .number()
  .min(0)
  .max(1)
  .default(1)
  .describe("Probability that the op is applied to an item (drawn per item in the planner).");

/** Rounds a sampled parameter so provenance and file names show clean numbers. */
export function roundTo(x: number, digits: number): number {
  const s = 10 ** digits;
  return Math.round(x * s) / s;
}
