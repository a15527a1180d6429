// Recipe schema of one input (one entry of `inputs:` in the recipe). The descriptions are rendered
// into the README's recipe reference, so they are written for users.
import { z } from "zod";

/** Split names become output directory and file names, so they keep to the id alphabet (FORMATS.md §0). */
const splitName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, "split must match [A-Za-z0-9][A-Za-z0-9_-]*");

/** `path` differs per format only in what it points at. */
function pathField(what: string) {
  return z.string().min(1).describe(`${what} A relative path is resolved against the recipe file's directory.`);
}

const common = {
  language: z
    .string()
    .min(1)
    .optional()
    .describe("Language code for utterances whose source states none (e.g. `en`)."),
  split: splitName
    .optional()
    .describe(
      "Force this split name (train, dev, test, …) on every utterance of the input, overriding any split the source states or implies.",
    ),
  channel: z
    .union([z.literal("mix"), z.number().int().min(0)])
    .default("mix")
    .describe("Which channel of multi-channel audio to use: `mix` (average of all channels) or a 0-based channel index."),
  name: z.string().min(1).optional().describe("A label for this input, used in logs and the run summary."),
};

const nemoInput = z
  .strictObject({
    format: z.literal("nemo").describe("NeMo JSONL manifest (one JSON object per line; `.gz` suffix means gzip)."),
    path: pathField(
      "The manifest file. Entries need `audio_filepath` (or `audio_filename`) and `duration`; text is `text`, else `normalized_text`, else the contents of `text_filepath`. Optional `offset`, `lang`, `speaker`, `gender`, `split`, and word times as `words: [{word, start, end}]` (seconds from the utterance start). Relative audio paths are relative to the manifest's directory; other keys are carried to the output metadata.",
    ),
    ...common,
  })
  .describe("A NeMo ASR manifest.");

const kaldiInput = z
  .strictObject({
    format: z.literal("kaldi").describe("Kaldi data directory."),
    path: pathField(
      "The data directory: `wav.scp` and `text` required; `utt2spk`, `segments`, `utt2dur`, `spk2gender` used when present. wav.scp values are file paths (relative ones resolved against the data directory) or exactly `flac -c -d -s PATH |`, `flac -d -c -s PATH |`, `sox PATH -t wav - |`.",
    ),
    ...common,
  })
  .describe("A Kaldi data directory.");

const librispeechInput = z
  .strictObject({
    format: z.literal("librispeech").describe("LibriSpeech tree."),
    path: pathField(
      "The `LibriSpeech/` directory (or its parent), or one part directory such as `LibriSpeech/train-clean-100`. Gender comes from `SPEAKERS.TXT` when found; the split is inferred from the part name.",
    ),
    ...common,
    parts: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe("Only these part directories (e.g. `[train-clean-100, dev-clean]`); all parts found when omitted."),
  })
  .describe("A LibriSpeech corpus (language defaults to `en`).");

const commonvoiceInput = z
  .strictObject({
    format: z.literal("commonvoice").describe("Common Voice release, one locale."),
    path: pathField(
      "The locale directory of a Common Voice release (`cv-corpus-<ver>/<locale>/`), holding `clips/` and the TSV files.",
    ),
    ...common,
    tsv: z
      .string()
      .min(1)
      .default("validated.tsv")
      .describe(
        "Which clip list to read, relative to the locale directory (`validated.tsv`, `train.tsv`, `dev.tsv`, `test.tsv`, …). `train`/`dev`/`test` lists set the split.",
      ),
  })
  .describe("A Common Voice locale directory.");

const folderInput = z
  .strictObject({
    format: z.literal("folder").describe("Audio folder with a metadata file, as Hugging Face `audiofolder`."),
    path: pathField(
      "A folder with `metadata.jsonl` or `metadata.csv` and the audio files beside it, or a folder whose split subdirectories (`train/`, `dev/`, `test/`, …) each hold one.",
    ),
    ...common,
    audio_field: z
      .string()
      .min(1)
      .default("file_name")
      .describe("Metadata column with the audio file path, relative to the metadata file's directory."),
    text_field: z
      .string()
      .min(1)
      .optional()
      .describe("Metadata column with the transcript; by default the first of `text`, `transcription`, `sentence` present."),
  })
  .describe("An audio folder with metadata.");

const lhotseInput = z
  .strictObject({
    format: z.literal("lhotse").describe("Lhotse manifests (JSONL; `.gz` suffix means gzip)."),
    path: pathField(
      "A cuts manifest (`cuts.jsonl.gz`, MonoCuts with their recording inlined) or a recordings manifest (`recordings.jsonl.gz`, joined with its supervisions). Recordings need exactly one `file` source (relative source paths are relative to the working directory, as in Lhotse); recordings with transforms and other source types are skipped as errors. Text, language, speaker, gender and word alignments (`alignment.word`) are read; `custom` is carried to the output metadata, and `custom.split` or a split in the file name (`…_cuts_dev-clean.jsonl.gz`) sets the split.",
    ),
    supervisions: z
      .string()
      .min(1)
      .optional()
      .describe(
        "With a recordings manifest: its supervisions manifest, relative to the recordings manifest's directory. By default the file named like it with `recordings` replaced by `supervisions`.",
      ),
    ...common,
  })
  .describe("Lhotse recordings + supervisions, or cuts.");

/** A number, or `[min, max]` with min <= max (drawn per utterance, whole numbers). */
function intRange(what: string, min: number, max: number, dflt: [number, number]) {
  return z
    .union([z.number().int().min(min).max(max), z.tuple([z.number().int().min(min).max(max), z.number().int().min(min).max(max)])])
    .refine((v) => typeof v === "number" || v[0] <= v[1], { message: "range must be [min, max] with min <= max" })
    .default(dflt)
    .describe(what);
}

const ttsInput = z
  .strictObject({
    format: z.literal("tts").describe("Synthetic speech from text, by espeak-ng in process."),
    path: pathField(
      "A text file: one utterance a line (UTF-8; empty lines skipped), or JSON lines (`.jsonl`, `.jsonl.gz`) of `{\"text\", \"id\"?, \"split\"?, …}` whose other keys are carried to the output metadata. A line longer than `max_chars` is split at sentence punctuation into several utterances.",
    ),
    language: z
      .string()
      .min(1)
      .describe("espeak-ng language or voice code (`sw`, `en-us`, `am`; `augment voices` lists them). Also the utterances' language label."),
    voices: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe("Speaker pool, one drawn per utterance: the language voice and variants, e.g. `[sw, sw+f2, sw+m3]`. Default: the language voice with each espeak-ng variant."),
    rate_wpm: intRange("Speaking rate in words per minute (80–450), drawn per utterance.", 80, 450, [140, 190]),
    pitch: intRange("Base pitch (espeak-ng's 0–99 scale; 50 is the voice's normal pitch), drawn per utterance.", 0, 99, [35, 65]),
    max_chars: z
      .number()
      .int()
      .min(20)
      .max(10000)
      .default(300)
      .describe("Longest utterance in characters (about 20 s of speech at 300); longer lines are split at sentence punctuation, and a sentence still longer is skipped as an error."),
    transcript: z
      .enum(["as_written", "lowercase", "lowercase_no_punctuation"])
      .default("as_written")
      .describe("Transcript and word labels: the text as written (whitespace collapsed), lower-cased (by the language's rules), or also without punctuation. The synthesizer always reads the text as written."),
    split: common.split,
    name: common.name,
  })
  .describe(
    "Synthetic speech: espeak-ng (compiled by Emscripten and run in process; GPL-3.0; the optional dependency `@echogarden/espeak-ng-emscripten`) speaks each line in a voice, rate and pitch drawn from the seed. Each voice + rate/pitch bucket is a speaker (`tts_<voice>_r<rate, 20 wpm steps>_p<pitch, steps of 10>`); word times come from the synthesizer. Output metadata carries `synthetic: true`, `voice`, `rate_wpm` and `pitch`.",
  );

export const inputSchema = z
  .discriminatedUnion("format", [nemoInput, kaldiInput, librispeechInput, commonvoiceInput, folderInput, lhotseInput, ttsInput])
  .describe(
    "One input corpus; `format` selects the reader. Entries with a missing audio file, a malformed line, a missing required field, an empty transcript or a repeated id are skipped and recorded in errors.jsonl; a missing manifest or directory stops the run before any work.",
  );

export type InputSpec = z.infer<typeof inputSchema>;
export type InputFormat = InputSpec["format"];
