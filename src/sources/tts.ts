// The `tts` input: lines of text (or JSON lines) become synthetic utterances. Each utterance's
// voice, rate and pitch are drawn here from the recipe seed with the planner's counter-based
// generator, keyed by the utterance, so they do not depend on order, threads or other lines; the
// audio is made later (catalog: once, for the duration and word times; engine: from the cache).
import path from "node:path";
import { rngFor } from "../plan/rng.js";
import { checkEspeakAvailable, TtsUnavailableError } from "../tts/espeak.js";
import { collapseSpace, splitLine, transcript, wordLabel, type TranscriptMode } from "../tts/text.js";
import { defaultPool, voiceGender } from "../tts/voices.js";
import type { SynthToken } from "../tts/synth.js";
import type { ItemError, SynthSpec, Utterance, WordTime } from "../types.js";
import { type InputContext, type ReaderItem, catalogError, isPending, nonEmpty, requirePath, SourceError } from "./common.js";
import type { InputSpec } from "./schema.js";
import { readLines } from "./text.js";

export type TtsSpec = Extract<InputSpec, { format: "tts" }>;

/** Rate and pitch buckets of a synthetic speaker id: near values are one speaker, far ones are not. */
export const RATE_BUCKET_WPM = 20;
export const PITCH_BUCKET = 10;

/** Keys the reader interprets in a JSON line; every other key goes to `fields`. */
const CONSUMED = new Set(["text", "id", "split"]);
/** Metadata of a synthetic utterance, in `fields` so every writer carries it; a JSON line cannot override them. */
const SYNTHETIC_KEYS = ["synthetic", "voice", "rate_wpm", "pitch"];

export async function prepareTts(file: string): Promise<void> {
  await requirePath(file, "file", "TTS text file");
  try {
    await checkEspeakAvailable();
  } catch (e) {
    if (e instanceof TtsUnavailableError) throw new SourceError(file, e.message);
    throw e;
  }
}

function isJsonl(file: string): boolean {
  return /\.jsonl(\.gz)?$/i.test(file);
}

function draw(range: number | [number, number], rng: ReturnType<typeof rngFor>): number {
  return typeof range === "number" ? range : range[0] + rng.int(range[1] - range[0] + 1);
}

/** `tts_<voice>_r<rate bucket>_p<pitch bucket>`, in the id alphabet (`sw+f2` → `sw_f2`). */
export function ttsSpeaker(voice: string, rateWpm: number, pitch: number): string {
  const v = voice.replace(/[^A-Za-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
  const r = Math.floor(rateWpm / RATE_BUCKET_WPM) * RATE_BUCKET_WPM;
  const p = Math.floor(pitch / PITCH_BUCKET) * PITCH_BUCKET;
  return `tts_${v}_r${r}_p${p}`;
}

/**
 * Voice, rate and pitch of one utterance: a pure function of (seed, text file name, source id).
 * Stream 0 of "op" -1 of the planner's generator, so no chain op ever shares it.
 */
export function drawVoice(spec: TtsSpec, seed: number, file: string, sourceId: string): { voice: string; rateWpm: number; pitch: number } {
  const rng = rngFor(seed, `tts:${path.basename(file)}:${sourceId}`, -1);
  const voice = rng.choice(spec.voices ?? defaultPool(spec.language));
  const rateWpm = draw(spec.rate_wpm, rng);
  const pitch = draw(spec.pitch, rng);
  return { voice, rateWpm, pitch };
}

export async function* readTts(file: string, spec: TtsSpec, ctx: InputContext, seed: number): AsyncGenerator<ReaderItem> {
  await prepareTts(file);
  const jsonl = isJsonl(file);
  const stem = path.basename(file).replace(/\.(txt|text|jsonl)(\.gz)?$/i, "");
  for await (const { text: raw, line } of readLines(file)) {
    if (raw.trim() === "") continue;
    let text: string;
    let id: string | undefined;
    let split: string | undefined;
    const fields: Record<string, unknown> = {};
    if (jsonl) {
      let entry: unknown;
      try {
        entry = JSON.parse(raw);
      } catch (err) {
        yield ctx.error(file, line, "", `malformed JSON line: ${(err as Error).message}`);
        continue;
      }
      if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
        yield ctx.error(file, line, "", "malformed JSON line: not an object");
        continue;
      }
      const e = entry as Record<string, unknown>;
      if (typeof e.text !== "string") {
        yield ctx.error(file, line, "", "missing required field text (a string)");
        continue;
      }
      text = e.text;
      id = e.id === undefined || e.id === null ? undefined : nonEmpty(e.id);
      split = nonEmpty(e.split);
      for (const [k, v] of Object.entries(e)) if (!CONSUMED.has(k) && !SYNTHETIC_KEYS.includes(k)) fields[k] = v;
    } else {
      text = raw;
    }
    text = collapseSpace(text);
    if (text === "") {
      if (jsonl) yield ctx.error(file, line, id ?? "", "empty text");
      continue;
    }
    const base = id ?? `${stem}_${line}`;
    const { parts, tooLong } = splitLine(text, spec.max_chars);
    for (const t of tooLong) {
      yield ctx.error(file, line, base, `sentence ${t.sentence} has ${t.chars} characters and no sentence punctuation to split it at (max_chars ${spec.max_chars})`);
    }
    for (let p = 0; p < parts.length; p++) {
      const sourceId = parts.length > 1 ? `${base}_${p + 1}` : base;
      const { voice, rateWpm, pitch } = drawVoice(spec, seed, file, sourceId);
      const item = ctx.entry({
        file,
        line,
        identity: id !== undefined ? `id\u0000${sourceId}` : `${file}\u0000${line}\u0000${p}`,
        sourceId,
        speaker: ttsSpeaker(voice, rateWpm, pitch),
        text: transcript(parts[p], spec.transcript, spec.language),
        audioPath: `${file}:${line}`,
        durationS: null,
        language: spec.language,
        gender: voiceGender(voice),
        split,
        fields: { ...fields, synthetic: true, voice, rate_wpm: rateWpm, pitch },
      });
      if (isPending(item)) {
        const synth: SynthSpec = { engine: "espeak-ng", text: parts[p], voice, rate_wpm: rateWpm, pitch };
        item.utt.audio.synth = synth;
      }
      yield item;
    }
  }
}

/** Word labels and times of a synthesised utterance from its token spans (tokens that are not words dropped). */
export function ttsWords(tokens: SynthToken[], mode: TranscriptMode, language: string): WordTime[] {
  const words: WordTime[] = [];
  for (const t of tokens) {
    const word = wordLabel(t.text, mode, language);
    if (word) words.push({ word, startS: t.startS, endS: t.endS });
  }
  return words;
}

/** The line number in a synthetic utterance's `audio.path` (`<file>:<line>`). */
function lineOf(utt: Utterance): { file: string; line: number } {
  const m = /^(.*):(\d+)$/.exec(utt.audio.path);
  return m ? { file: m[1], line: Number(m[2]) } : { file: utt.audio.path, line: 0 };
}

/** The catalog error of a line the synthesizer could not speak. */
export function synthError(utt: Utterance, reason: string): ItemError {
  const { file, line } = lineOf(utt);
  return catalogError(file, line, utt.id, reason);
}
