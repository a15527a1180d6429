#!/usr/bin/env node
// Second half of data/demo/generate.sh: reads the espeak-ng WAVs listed in a TSV
// (id, speaker, lang, wav path, text), trims the silence at both ends to 0.1 s, encodes FLAC at
// the WAV's own rate (22050 Hz) with the project's encoder, and writes <out>/audio/<id>.flac and
// <out>/manifest.json (NeMo JSONL, audio paths relative to the manifest's folder).
//
//   node data/demo/to-flac.mjs --list LIST.tsv [--out DIR]
//
// Needs the project build (npx tsc -p tsconfig.json) for dist/audio/{wav,flac}.js.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const MARGIN_S = 0.1;
/** Samples quieter than this, relative to the utterance's peak, count as silence at the ends. */
const SILENCE_BELOW_PEAK_DB = -40;
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

async function importFromBuild(name) {
  const url = new URL(`../../dist/audio/${name}.js`, import.meta.url);
  try {
    return await import(url.href);
  } catch (error) {
    throw new Error(`cannot load ${fileURLToPath(url)} (${error.message}); build it first: npx tsc -p tsconfig.json`);
  }
}

/** Keeps MARGIN_S before the first and after the last non-silent sample, padding with zeros
 * where the recording has less. */
function trimSilence(pcm, sampleRate) {
  let peak = 0;
  for (const v of pcm) peak = Math.max(peak, Math.abs(v));
  const threshold = peak * 10 ** (SILENCE_BELOW_PEAK_DB / 20);
  let first = 0;
  while (first < pcm.length && Math.abs(pcm[first]) <= threshold) first++;
  let last = pcm.length - 1;
  while (last > first && Math.abs(pcm[last]) <= threshold) last--;
  const margin = Math.round(MARGIN_S * sampleRate);
  const out = new Int16Array(last - first + 1 + 2 * margin);
  const from = Math.max(0, first - margin);
  const to = Math.min(pcm.length, last + 1 + margin);
  out.set(pcm.subarray(from, to), margin - (first - from));
  return out;
}

function parseArgs(argv) {
  const options = { list: null, out: HERE };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--list") options.list = resolve(argv[++i]);
    else if (argv[i] === "--out") options.out = resolve(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}; usage: to-flac.mjs --list LIST.tsv [--out DIR]`);
  }
  if (!options.list) throw new Error("--list LIST.tsv is required");
  return options;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const { parseWav } = await importFromBuild("wav");
  const { encodeFlac } = await importFromBuild("flac");
  mkdirSync(join(options.out, "audio"), { recursive: true });
  const manifestLines = [];
  const lines = readFileSync(options.list, "utf8").split("\n").filter((line) => line !== "");
  for (const line of lines) {
    const [id, speaker, lang, wavPath, text] = line.split("\t");
    if (!ID_PATTERN.test(id) || !id.startsWith(`${speaker}-`)) throw new Error(`bad id ${id} for speaker ${speaker}`);
    if (!text?.trim()) throw new Error(`${id}: empty transcript`);
    const decoded = parseWav(readFileSync(wavPath));
    if (decoded.channels.length !== 1) throw new Error(`${id}: expected mono, got ${decoded.channels.length} channels`);
    // parseWav scales 16-bit integers by 2^-15, so this gives back the exact samples.
    const pcm = Int16Array.from(decoded.channels[0], (v) => Math.round(v * 32768));
    const trimmed = trimSilence(pcm, decoded.sampleRate);
    const audioPath = `audio/${id}.flac`;
    writeFileSync(join(options.out, audioPath), encodeFlac(trimmed, decoded.sampleRate));
    // Duration from the sample count, to the microsecond: round(duration·rate) gives the count back.
    const duration = Math.round((trimmed.length / decoded.sampleRate) * 1e6) / 1e6;
    manifestLines.push(JSON.stringify({
      audio_filepath: audioPath, duration, text, lang, speaker, sampling_rate: decoded.sampleRate,
    }));
    console.log(`${id.padEnd(16)} ${duration.toFixed(3)} s  ${text}`);
  }
  writeFileSync(join(options.out, "manifest.json"), manifestLines.join("\n") + "\n");
}

main().catch((error) => {
  console.error(`data/demo/to-flac.mjs: ${error.message}`);
  process.exit(1);
});
