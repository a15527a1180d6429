// Test fixtures generated in code: signals with known answers, written as real files.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { floatToInt16 } from "../../src/audio/decode.js";
import { encodeWav } from "../../src/audio/wav.js";

export const ROOT = path.resolve(__dirname, "../..");
export const CLI = path.join(ROOT, "dist/cli/main.js");

export function tempDir(prefix = "augment-test-"): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** A deterministic pseudo-random generator for fixtures (not the product's RNG). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** A speech-like test signal: a harmonic complex with syllable-rate amplitude modulation. */
export function speechLike(n: number, sampleRate: number, f0 = 140, seed = 1): Float32Array {
  const rnd = lcg(seed);
  const x = new Float32Array(n);
  const phases = Array.from({ length: 12 }, () => rnd() * 2 * Math.PI);
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    const env = 0.55 + 0.45 * Math.sin(2 * Math.PI * 4 * t + phases[0]);
    let v = 0;
    for (let h = 1; h <= 12; h++) v += Math.sin(2 * Math.PI * f0 * h * t + phases[h - 1]) / h;
    x[i] = 0.18 * env * v;
  }
  return x;
}

export function noiseSignal(n: number, seed: number, amp = 0.3): Float32Array {
  const rnd = lcg(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * (2 * rnd() - 1);
  return x;
}

export function writeWav(file: string, x: Float32Array, sampleRate: number): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, encodeWav(floatToInt16(x), sampleRate));
}

/** Runs the built CLI; returns exit code and output. */
export function cli(args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface CorpusItem {
  id: string;
  text: string;
  speaker: string;
  lang?: string;
  samples: Float32Array;
  sampleRate: number;
}

/** Writes a NeMo manifest corpus of WAV files; returns the manifest path. */
export function writeNemoCorpus(dir: string, items: CorpusItem[], extra: Array<Record<string, unknown>> = []): string {
  const lines: string[] = [];
  for (const it of items) {
    const rel = `audio/${it.id}.wav`;
    writeWav(path.join(dir, rel), it.samples, it.sampleRate);
    lines.push(JSON.stringify({ audio_filepath: rel, duration: it.samples.length / it.sampleRate, text: it.text, speaker: it.speaker, lang: it.lang ?? "en" }));
  }
  for (const e of extra) lines.push(JSON.stringify(e));
  const manifest = path.join(dir, "manifest.json");
  writeFileSync(manifest, lines.join("\n") + "\n");
  return manifest;
}
