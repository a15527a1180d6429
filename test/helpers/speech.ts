// The bundled demo speech (espeak-ng, data/demo), decoded and resampled: real speech for the codec
// and channel tests, read with the project's own decoder.
import { readFileSync } from "node:fs";
import path from "node:path";
import { decodeAudio } from "../../src/audio/decode.js";
import { resample } from "../../src/audio/resample.js";
import { ROOT } from "./fixtures.js";

export interface DemoClip {
  id: string;
  audio: Float32Array;
}

/** The demo utterances at `sampleRate`, in manifest order. */
export async function demoSpeech(sampleRate: number): Promise<DemoClip[]> {
  const dir = path.join(ROOT, "data/demo");
  const lines = readFileSync(path.join(dir, "manifest.json"), "utf8").trim().split("\n");
  const out: DemoClip[] = [];
  for (const line of lines) {
    const entry = JSON.parse(line) as { audio_filepath: string };
    const file = path.join(dir, entry.audio_filepath);
    const decoded = await decodeAudio(readFileSync(file), file);
    out.push({ id: path.basename(file).replace(/\.[^.]+$/, ""), audio: resample(decoded.channels[0], decoded.sampleRate, sampleRate) });
  }
  return out;
}

/** Clips joined end to end. */
export function concat(clips: Float32Array[]): Float32Array {
  const out = new Float32Array(clips.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of clips) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
