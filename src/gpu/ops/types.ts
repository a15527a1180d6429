// The GPU side of an op (src/ops/<op>.ts is the spec): which planned params it can run, its
// output length, the host-prepared side input per row, the passes it records for a group of rows,
// and how the scalars it left on the GPU become the op's `measured` values.
import type { Measured, ResourceRef } from "../../ops/types.js";
import type { PlannedOp } from "../../types.js";
import type { LoadedResource } from "../../engine/gpu/tasks.js";
import type { Program } from "../program.js";

export interface GpuOpContext {
  sampleRate: number;
  /** A resource the op declared, loaded before the batch (RIRs with their direct path and acoustics). */
  resource(ref: ResourceRef): LoadedResource;
}

/** One row's use of an op in a batch. Offsets are set by the batch runner. */
export interface GpuStep<P extends PlannedOp = PlannedOp> {
  params: P;
  /** Input and output length (samples). */
  len: number;
  outLen: number;
  /** Row offset in the data buffer (floats); the row's capacity covers every length it takes. */
  off: number;
  /** First of the op's scalar slots for this row. */
  slot: number;
  /** Offset of the op's aux data for this row (floats), when `aux` gave some. */
  aux: number;
}

export interface GpuOp<P extends PlannedOp = any> {
  name: string;
  /** Why these params must run on the CPU; undefined when the GPU can run them. */
  cpuReason?(p: P, ctx: GpuOpContext): string | undefined;
  /** Output length for an input of n samples (default: n). */
  outLength?(n: number, p: P, ctx: GpuOpContext): number;
  /** Scalar slots per row. */
  slots: number;
  /** Side input for this row, uploaded with the batch (a noise segment, filter coefficients). */
  aux?(p: P, n: number, ctx: GpuOpContext): Float32Array | undefined;
  /** Records the passes for rows that all take this op at this point of their chains. */
  record(prog: Program, steps: Array<GpuStep<P>>, ctx: GpuOpContext): void;
  /** The op's measured values from its scalars (the row's slots, read back). */
  measured(p: P, scal: Float32Array, step: { len: number; outLen: number }, ctx: GpuOpContext): Measured | undefined;
}

/** The largest output peak (src/ops/noise.ts CLIP_LEVEL), as the f32 the kernels compare with. */
export const CLIP_WGSL = "0.999969482421875";
