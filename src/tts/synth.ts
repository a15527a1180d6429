// Synthesis of one utterance: text → espeak-ng input (escaped), audio, and the time span of every
// whitespace token of the text from the synthesizer's word events.
import { createHash } from "node:crypto";
import type { SynthSpec } from "../types.js";
import { ESPEAK_SAMPLE_RATE, espeak, type EspeakEvent } from "./espeak.js";

export type { SynthSpec };

/** A whitespace-separated token of the spoken text and when it is spoken, in seconds. */
export interface SynthToken {
  text: string;
  startS: number;
  endS: number;
}

export interface SynthResult {
  pcm: Int16Array;
  sampleRate: number;
  tokens: SynthToken[];
}

/** The synthesizer produced nothing usable for a text (only punctuation, say); the item is skipped. */
export class SynthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SynthError";
  }
}

/** Cache key of a spec: 32 hex chars of SHA-256 over what decides the samples. */
export function synthKey(spec: SynthSpec): string {
  return createHash("sha256").update(JSON.stringify([spec.engine, spec.text, spec.voice, spec.rate_wpm, spec.pitch])).digest("hex").slice(0, 32);
}

/**
 * espeak-ng reads its input as SSML with `[[…]]` phoneme escapes (the binding sets espeakSSML |
 * espeakPHONEMES), so `&`, `<`, `>` become entities and `[[` is broken up. `origin[i]` is the index
 * (in code points) in `text` of the i-th code point of the result, to map event positions back.
 */
export function espeakInput(text: string): { input: string; origin: number[] } {
  const cps = Array.from(text);
  let input = "";
  const origin: number[] = [];
  const emit = (s: string, at: number) => {
    for (const c of s) {
      input += c;
      origin.push(at);
    }
  };
  cps.forEach((c, i) => {
    if (c === "&") emit("&amp;", i);
    else if (c === "<") emit("&lt;", i);
    else if (c === ">") emit("&gt;", i);
    else if (c === "[" && cps[i + 1] === "[") emit("[ ", i);
    else emit(c, i);
  });
  return { input, origin };
}

/** Whitespace tokens of `text` with their [start, end) code point spans. */
export function tokenize(text: string): Array<{ text: string; start: number; end: number }> {
  const cps = Array.from(text);
  const out: Array<{ text: string; start: number; end: number }> = [];
  let start = -1;
  for (let i = 0; i <= cps.length; i++) {
    const space = i === cps.length || /\s/u.test(cps[i]);
    if (!space && start < 0) start = i;
    else if (space && start >= 0) {
      out.push({ text: cps.slice(start, i).join(""), start, end: i });
      start = -1;
    }
  }
  return out;
}

/** Frame length for trimming word spans to where there is sound. */
const TRIM_FRAME_S = 0.005;
/** A frame counts as sound when its RMS is within this many dB of the loudest frame. */
const TRIM_FLOOR_DB = 40;

/**
 * Token spans from word events. espeak-ng reports where each word starts (possibly several events
 * for one token: "2024" is read as several words) and where each clause ends, but not where a word
 * ends; a token ends where the next one starts or its clause ends, then both ends are pulled in to
 * the first and last 5 ms frame within 40 dB of the loudest frame, so pauses at commas and full
 * stops are not counted as part of the word before them. Tokens without any event (punctuation on
 * its own) get the gap between their neighbours. Spans are monotonic and inside the audio.
 */
export function tokenTimes(text: string, origin: number[], events: EspeakEvent[], pcm: Int16Array, sampleRate: number): SynthToken[] {
  const tokens = tokenize(text);
  const totalS = pcm.length / sampleRate;
  const tokenAt = new Int32Array(Array.from(text).length).fill(-1);
  tokens.forEach((t, k) => tokenAt.fill(k, t.start, t.end));
  const starts = new Array<number>(tokens.length).fill(Number.NaN);
  const clauseEnds: number[] = [];
  for (const e of events) {
    const s = Math.min(totalS, Math.max(0, e.audioMs / 1000));
    if (e.type === "end") clauseEnds.push(s);
    if (e.type !== "word" || e.textPosition < 1 || e.textPosition > origin.length) continue;
    const k = tokenAt[origin[e.textPosition - 1]];
    // Events come in time order; a token keeps its first one, and never starts before an earlier token.
    if (k >= 0 && Number.isNaN(starts[k])) starts[k] = s;
  }
  clauseEnds.sort((a, b) => a - b);
  // Make starts non-decreasing in token order (guards against an event out of order).
  let floor = 0;
  for (let k = 0; k < starts.length; k++) {
    if (Number.isNaN(starts[k])) continue;
    if (starts[k] < floor) starts[k] = floor;
    floor = starts[k];
  }

  // Frame RMS for trimming.
  const frame = Math.max(1, Math.round(TRIM_FRAME_S * sampleRate));
  const nFrames = Math.ceil(pcm.length / frame);
  const rms = new Float64Array(nFrames);
  let loudest = 0;
  for (let f = 0; f < nFrames; f++) {
    let ss = 0;
    const end = Math.min(pcm.length, (f + 1) * frame);
    for (let i = f * frame; i < end; i++) ss += pcm[i] * pcm[i];
    rms[f] = Math.sqrt(ss / Math.max(1, end - f * frame));
    if (rms[f] > loudest) loudest = rms[f];
  }
  const floorRms = loudest * 10 ** (-TRIM_FLOOR_DB / 20);
  const trim = (s: number, e: number): [number, number] => {
    const f0 = Math.floor((s * sampleRate) / frame);
    const f1 = Math.min(nFrames, Math.ceil((e * sampleRate) / frame));
    let a = -1;
    let b = -1;
    for (let f = f0; f < f1; f++) {
      if (rms[f] >= floorRms && rms[f] > 0) {
        if (a < 0) a = f;
        b = f;
      }
    }
    if (a < 0) return [s, e];
    return [Math.max(s, (a * frame) / sampleRate), Math.min(e, ((b + 1) * frame) / sampleRate)];
  };

  const out: SynthToken[] = tokens.map((t) => ({ text: t.text, startS: Number.NaN, endS: Number.NaN }));
  for (let k = 0; k < tokens.length; k++) {
    if (Number.isNaN(starts[k])) continue;
    const s = starts[k];
    let e = totalS;
    for (let j = k + 1; j < tokens.length; j++) {
      if (!Number.isNaN(starts[j])) {
        e = starts[j];
        break;
      }
    }
    for (const c of clauseEnds) {
      if (c > s) {
        e = Math.min(e, c);
        break;
      }
    }
    [out[k].startS, out[k].endS] = trim(s, Math.max(s, e));
  }
  // Tokens without an event: the gap between the neighbours that have one.
  for (let k = 0; k < out.length; k++) {
    if (!Number.isNaN(out[k].startS)) continue;
    let prevEnd = 0;
    for (let j = k - 1; j >= 0; j--) if (!Number.isNaN(out[j].endS)) {
      prevEnd = out[j].endS;
      break;
    }
    let nextStart = totalS;
    for (let j = k + 1; j < out.length; j++) if (!Number.isNaN(starts[j])) {
      nextStart = out[j].startS;
      break;
    }
    out[k].startS = prevEnd;
    out[k].endS = Math.max(prevEnd, nextStart);
  }
  return out;
}

/** Synthesises a spec in this thread (the engine starts on first use). Throws SynthError when no speech comes out. */
export async function synthesize(spec: SynthSpec): Promise<SynthResult> {
  const engine = await espeak();
  const { input, origin } = espeakInput(spec.text);
  let out;
  try {
    out = engine.synthesize(input, spec.voice, spec.rate_wpm, spec.pitch);
  } catch (e: any) {
    throw new SynthError(`synthesis failed: ${e?.message ?? e}`);
  }
  const words = out.events.filter((e) => e.type === "word").length;
  let peak = 0;
  for (let i = 0; i < out.pcm.length; i++) peak = Math.max(peak, Math.abs(out.pcm[i]));
  if (words === 0 || peak === 0) {
    const said = engine.lastMessages().join("; ");
    throw new SynthError(`the synthesizer produced no speech for this text${said ? ` (espeak-ng: ${said.slice(0, 200)})` : ""}`);
  }
  return { pcm: out.pcm, sampleRate: ESPEAK_SAMPLE_RATE, tokens: tokenTimes(spec.text, origin, out.events, out.pcm, ESPEAK_SAMPLE_RATE) };
}
