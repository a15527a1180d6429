// The Catalog: one reader per input format, each streaming Utterances (no audio decoded) and ItemErrors.
import path from "node:path";
import type { ItemError, Utterance } from "../types.js";
import { InputContext, type ReaderItem } from "./common.js";
import { readCommonVoice, prepareCommonVoice } from "./commonvoice.js";
import { STAT_CONCURRENCY, checkAudioFiles } from "./files.js";
import { prepareFolder, readFolder } from "./folder.js";
import { prepareKaldi, readKaldi } from "./kaldi.js";
import { prepareLhotse, readLhotse } from "./lhotse.js";
import { prepareLibrispeech, readLibrispeech } from "./librispeech.js";
import { prepareNemo, readNemo } from "./nemo.js";
import { prepareTts, readTts } from "./tts.js";
import { remoteError, remoteItems } from "./remote.js";
import { localPath } from "../storage/cache.js";
import type { InputSpec } from "./schema.js";

export { SourceError } from "./common.js";
export { safeId, utteranceId } from "./ids.js";
export { inputSchema, type InputSpec } from "./schema.js";

/**
 * Checks that the input itself exists and has the files its format needs (manifest, wav.scp + text, a
 * LibriSpeech part, the CV clip list, a metadata file), without reading entries. Throws SourceError.
 * readInput does the same on its first step; call this to stop before any work when an input is wrong.
 */
export async function checkInput(spec: InputSpec): Promise<void> {
  // An s3:// input is read from a local mirror of its text files; messages name the URL again.
  return checkLocal({ ...spec, path: await localPath(spec.path, "input") }).catch((e) => Promise.reject(remoteError(e)));
}

async function checkLocal(spec: InputSpec): Promise<void> {
  const root = path.resolve(spec.path);
  switch (spec.format) {
    case "nemo":
      return prepareNemo(root);
    case "kaldi":
      return prepareKaldi(root);
    case "librispeech":
      await prepareLibrispeech(root, spec.parts);
      return;
    case "commonvoice":
      await prepareCommonVoice(root, spec.tsv);
      return;
    case "folder":
      await prepareFolder(root);
      return;
    case "lhotse":
      await prepareLhotse(root, spec.supervisions);
      return;
    case "tts":
      return prepareTts(root);
  }
}

function reader(spec: InputSpec, ctx: InputContext, seed: number): AsyncGenerator<ReaderItem> {
  const root = path.resolve(spec.path);
  switch (spec.format) {
    case "nemo":
      return readNemo(root, ctx);
    case "kaldi":
      return readKaldi(root, ctx);
    case "librispeech":
      return readLibrispeech(root, spec.parts, ctx);
    case "commonvoice":
      return readCommonVoice(root, spec.tsv, ctx);
    case "folder":
      return readFolder(root, spec.audio_field, spec.text_field, ctx);
    case "lhotse":
      return readLhotse(root, spec.supervisions, ctx);
    case "tts":
      return readTts(root, spec, ctx, seed);
  }
}

export interface ReadOptions {
  /**
   * Emit utterances whose transcript is empty (text "") instead of an "empty transcript" ItemError
   * (recipe `filters.allow_empty_text`). Default false.
   */
  allowEmptyText?: boolean;
  /** Audio-file stats in flight at once (default 64). */
  statConcurrency?: number;
  /** The recipe seed: `tts` inputs draw each utterance's voice, rate and pitch from it (default 0). */
  seed?: number;
}

/**
 * Streams the utterances of one input in source order, each with its audio file checked to exist (a
 * bounded number of stats in flight). Bad entries come out as ItemErrors (stage "catalog", reason
 * `<file>:<line>: <what>`) and reading goes on; a missing or unusable input throws SourceError on the
 * first step.
 */
export async function* readInput(
  spec: InputSpec,
  inputIndex: number,
  options: ReadOptions = {},
): AsyncGenerator<Utterance | ItemError> {
  const ctx = new InputContext(spec, inputIndex, options.allowEmptyText ?? false);
  const local = { ...spec, path: await localPath(spec.path, "input") };
  yield* checkAudioFiles(remoteItems(reader(local, ctx, options.seed ?? 0)), options.statConcurrency ?? STAT_CONCURRENCY);
}
