// The recipe schema: the one source of the recipe's types, its validation, its defaults and the
// README's recipe reference (rendered by reference.ts). Op parameter schemas live with their ops.
import { z } from "zod";
import { balanceSchema } from "../plan/balance.js";
import { simulateSchema } from "../rooms/sample.js";
import { inputSchema } from "../sources/schema.js";

const bankSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, "bank names use letters, digits, `_` and `-`")
      .describe("Name that ops refer to (`bank:`)."),
    path: z
      .string()
      .describe(
        "Folder of audio files (wav, flac, mp3, ogg). Sub-folders are categories (the MUSAN layout works); an optional `metadata.jsonl` with `id`, `path`, `category` lines is used when present.",
      ),
  })
  .strict();

/** Output layouts: where the audio goes, and which manifests can point at it. */
const rirBankSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, "bank names use letters, digits, `_` and `-`")
      .describe("Name that ops refer to (`bank:`)."),
    path: z
      .string()
      .optional()
      .describe("Folder of RIR files (any rate; resampled; multi-channel files are averaged), sub-folders as categories, or a folder with a `metadata.jsonl` of `id`, `path` lines (what `augment rir simulate` writes), or a list file of `<id> <path>` lines."),
    simulate: simulateSchema
      .optional()
      .describe("Or simulate the bank: shoebox rooms by the image-source method with a statistical late tail, drawn from these ranges with the recipe's seed."),
  })
  .strict()
  .refine((b) => (b.path === undefined) !== (b.simulate === undefined), { message: "give a RIR bank either `path` or `simulate`" });

export const OUTPUT_FORMATS = ["webdataset", "files", "nemo_tarred", "lhotse_shar", "kaldi", "hf_audiofolder", "hf_parquet"] as const;
/** Formats that write audio as individual files (which file-based manifests need). */
export const FILE_FORMATS = new Set(["files", "kaldi", "hf_audiofolder"]);

export const outputSchema = z
  .object({
    path: z.string().default("out/augment").describe("Output folder (relative paths are relative to the working directory)."),
    format: z
      .enum(OUTPUT_FORMATS)
      .default("webdataset")
      .describe(
        "`webdataset`: tar shards `<name>-%06d.tar` with `.flac|.wav`, `.json`, `.txt` per item; `files`: one audio file per item under `audio/`; `nemo_tarred`: NeMo's `audio_<i>.tar` + `sharded_manifests/manifest_<i>.json` with equal items per shard; `lhotse_shar`: `shar/cuts.NNNNNN.jsonl.gz` + `shar/recording.NNNNNN.tar`; `kaldi`: PCM16 WAV files under `wav/` (use `manifests: [kaldi]` for the data dir); `hf_audiofolder`: `<split>/<id>.flac` + `<split>/metadata.jsonl`; `hf_parquet`: `data/<split>-NNNNN-of-NNNNN.parquet` with an `Audio` column.",
      ),
    audio: z.enum(["flac", "wav"]).default("flac").describe("Audio encoding: 16-bit mono FLAC or PCM16 WAV."),
    name: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, "shard names use letters, digits, `_` and `-`")
      .default("shard")
      .describe("Shard file name prefix (webdataset)."),
    shard_max_mb: z.number().positive().default(512).describe("Start a new shard when the planned size of this one would pass this many MB."),
    shard_max_items: z.number().int().positive().default(10000).describe("And at most this many items per shard."),
    num_gpus: z
      .number()
      .int()
      .min(1)
      .default(1)
      .describe("`nemo_tarred`: the shard count is made a multiple of this (NeMo wants shards divisible by the world size)."),
    manifests: z
      .array(z.enum(["nemo", "lhotse", "kaldi"]))
      .default(["nemo"])
      .describe(
        "Manifests besides the shards. `nemo`: `nemo_manifest.json` (tar member names + `shard_id` for tar formats, absolute paths for files); `lhotse`: `lhotse/{recordings,supervisions,cuts}.jsonl.gz` (needs audio files: `files`, `kaldi`, `hf_audiofolder`); `kaldi`: a Kaldi data dir `data/` (needs audio files).",
      ),
    shuffle: z
      .boolean()
      .default(true)
      .describe("Shuffle items across shards (seeded), so copies of one utterance and one speaker's items are spread out."),
  })
  .strict()
  .superRefine((o, ctx) => {
    for (const [i, m] of o.manifests.entries()) {
      if ((m === "lhotse" || m === "kaldi") && !FILE_FORMATS.has(o.format)) {
        ctx.addIssue({ code: "custom", path: ["manifests", i], message: `\`${m}\` manifests point at audio files; format \`${o.format}\` writes none (use files, kaldi or hf_audiofolder)` });
      }
      if (m === "nemo" && (o.format === "lhotse_shar" || o.format === "hf_parquet")) {
        ctx.addIssue({ code: "custom", path: ["manifests", i], message: `\`nemo\` manifests cannot point into \`${o.format}\` output (NeMo reads Lhotse Shar directly with shar_path)` });
      }
    }
    if (o.format === "kaldi" && o.audio !== "wav") ctx.addIssue({ code: "custom", path: ["audio"], message: "Kaldi reads only 16-bit PCM WAV: set `audio: wav` with `format: kaldi`" });
  });

export const engineSchema = z
  .object({
    device: z
      .enum(["cpu", "gpu", "auto"])
      .default("cpu")
      .describe("Where the chain runs: `cpu` (`worker_threads`); `gpu` (WebGPU: the chain on the GPU in batches, the CPU threads decode and encode; any adapter, software ones included, or an error); `auto` (a hardware GPU if there is one, else the CPU)."),
    workers: z
      .union([z.literal("auto"), z.number().int().min(0).max(512)])
      .default("auto")
      .describe("Worker threads: `auto` = one per core; 0 = run in the main thread."),
    batch_items: z.number().int().min(1).max(4096).default(16).describe("Items per batch sent to a worker."),
    max_batch_s: z.number().positive().default(300).describe("And at most this many seconds of audio per batch (bounds memory)."),
  })
  .strict();

export const recipeSchema = z
  .object({
    seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0).describe("Seed of every random choice; same recipe + seed = same bytes."),
    sample_rate: z.number().int().min(8000).max(192000).default(16000).describe("Output sample rate in Hz; inputs are resampled to it."),
    inputs: z.array(inputSchema).min(1).describe("Source corpora (see the input formats below)."),
    noise_banks: z.array(bankSchema).default([]).describe("Noise banks that `noise` ops draw from."),
    rir_banks: z.array(rirBankSchema).default([]).describe("Room impulse response banks that `reverb` ops draw from: folders, or simulated rooms."),
    copies: z.number().int().min(1).max(1000).default(1).describe("Augmented copies of each source utterance (each with its own draws)."),
    balance: balanceSchema.optional(),
    splits: z
      .object({
        augment: z
          .union([z.literal("all"), z.array(z.string()).min(1)])
          .default("all")
          .describe("Splits that get `copies` and the chain; items of other splits are written once, clean (e.g. `[train]` keeps dev/test clean)."),
        default: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/).default("train").describe("Split of utterances whose source names none."),
      })
      .strict()
      .default({ augment: "all", default: "train" })
      .describe("Source splits are kept: copies of one utterance stay in its split. With more than one split, each split gets its own sub-folder of shards and manifests."),
    include_clean: z.boolean().default(false).describe("Also write each source utterance unaugmented (id without the `_a<k>` suffix)."),
    chain: z
      .array(z.record(z.string(), z.unknown()))
      .default([])
      .describe("Ops applied in order to each copy; each entry is `{<op>: {params}}` (see the ops below)."),
    output: outputSchema.default(outputSchema.parse({})),
    engine: engineSchema.default(engineSchema.parse({})),
    filters: z
      .object({
        min_duration_s: z.number().min(0).default(0).describe("Skip source utterances shorter than this (recorded in errors.jsonl)."),
        max_duration_s: z.number().positive().nullable().default(null).describe("Skip source utterances longer than this."),
        allow_empty_text: z.boolean().default(false).describe("Keep utterances with an empty transcript (otherwise they are errors)."),
      })
      .strict()
      .default({ min_duration_s: 0, max_duration_s: null, allow_empty_text: false })
      .describe("Which source utterances to use."),
    max_errors: z
      .number()
      .int()
      .min(0)
      .nullable()
      .default(null)
      .describe("Fail the run (exit 1) when more than this many items fail; null = never."),
  })
  .strict();

export type RecipeInput = z.input<typeof recipeSchema>;
export type RecipeData = z.infer<typeof recipeSchema>;
export type OutputSpec = z.infer<typeof outputSchema>;
export type EngineSpec = z.infer<typeof engineSchema>;
export type BankSpec = z.infer<typeof bankSchema>;
export type RirBankSpec = z.infer<typeof rirBankSchema>;

/** One validated chain entry. */
export interface ChainStep {
  op: string;
  config: unknown;
}

/** A loaded, validated recipe with defaults filled and paths absolute. */
export interface Recipe extends Omit<RecipeData, "chain"> {
  chain: ChainStep[];
  /** The recipe file, for messages. */
  file: string;
  /** sha256 of the canonical JSON of the validated recipe (provenance, resume checks). */
  hash: string;
}
