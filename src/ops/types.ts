// The contract every augmentation follows (STYLE.md): a recipe schema, a plan-time sampler that
// makes every random choice, and an engine-time kernel that is a pure function of audio + params.
import type { z } from "zod";
import type { Rng } from "../plan/rng.js";
import type { RoomSpec } from "../rooms/types.js";
import type { PlannedOp } from "../types.js";

/** What a sampler may look at: plan-time facts, never audio. */
export interface SampleContext {
  sampleRate: number;
  /** Duration of the audio when this op runs (after earlier ops' duration changes). */
  durationS: number;
  banks: BankCatalog;
  /** 0-based index of the augmented copy of the source utterance being planned (recipe `copies`). */
  copy: number;
}

export interface BankEntry {
  id: string;
  /** The file, or "" for a simulated RIR (then `room` says how to make it). */
  path: string;
  category: string;
  durationS: number;
  room?: RoomSpec;
}

export interface BankCatalog {
  noise: Map<string, BankEntry[]>;
  rir: Map<string, BankEntry[]>;
}

/** A piece of audio an op needs at engine time (loaded or simulated, resampled and cached by the engine). */
export interface ResourceRef {
  kind: "noise" | "rir";
  bank: string;
  id: string;
  /** A room to simulate instead of a bank file (inline simulation; `id` must identify it). */
  room?: RoomSpec;
}

export interface ApplyContext {
  sampleRate: number;
  /** Audio of the resources the op declared, at the recipe's sample rate. */
  resource(ref: ResourceRef): Float32Array;
  /** A value computed once per engine for a key (e.g. a RIR's measured RT60), then reused. */
  memo<T>(key: string, compute: () => T): T;
  /**
   * An array for the op's output or scratch, owned by the engine and reused once the item is done
   * (a fresh large array costs more than filling it). Not zeroed: write every element you read.
   * Absent outside the engine (tests), where ops allocate.
   */
  buffer?(length: number): Float32Array;
}

export type Measured = Record<string, number | string | boolean>;

export interface OpOutput {
  audio: Float32Array;
  measured?: Measured;
}

export interface OpDefinition<Config = any, Params extends PlannedOp = any> {
  name: string;
  /** One line for the README's recipe reference. */
  summary: string;
  /** The op's recipe parameters. Must include `p` (probability) via `withProbability`. */
  schema: z.ZodType<Config>;
  /** Bank references in the config, checked against the recipe's banks before any work. */
  bankRefs?(config: Config): Array<{ kind: "noise" | "rir"; bank: string; field: string }>;
  /** Plan time: draw every random choice. Called only when the op's `p` draw passed. */
  sample(config: Config, rng: Rng, ctx: SampleContext): Params;
  /** Output length / input length (1 when the op keeps length). */
  durationFactor?(params: Params): number;
  /** Maps a time in the op's input (s) to the time in its output, for word/segment labels. */
  mapTime?(params: Params): (tS: number) => number;
  /** Speaker-id prefix this op adds (Kaldi's `sp1.1-` convention), or undefined. */
  speakerPrefix?(config: Config, params: Params): string | undefined;
  resources?(params: Params): ResourceRef[];
  /**
   * Engine time: pure DSP. May return a promise (ops that hand audio to an external codec):
   * the engine runs a batch's items concurrently, so such an op can gather one batch's requests
   * into one external process.
   */
  apply(audio: Float32Array, params: Params, ctx: ApplyContext): OpOutput | Promise<OpOutput>;
  /** Checks, once before any work, what the op needs outside the process (e.g. a codec binary). Throws a one-line Error. */
  preflight?(config: Config): void | Promise<void>;
  /**
   * Once per run, in the main thread, before the engine's threads start, with the parameters the
   * plan drew for this op: work every thread would otherwise repeat (e.g. timing each codec
   * setting). Best effort: a failure here is left for the items to report.
   */
  beforeEngine?(params: Params[], ctx: { sampleRate: number }): Promise<void>;
  /** When an engine closes, in each of its threads: ends what the op started outside the process (e.g. a helper process), so it is reaped, not orphaned. */
  closeThread?(): Promise<void>;
}
