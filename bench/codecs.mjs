// Codec stage throughput: x-realtime per CPU core for each codec at a typical setting, through
// augment's batching (the items of an engine batch share one ffmpeg encoder + one decoder process)
// against a naive loop that runs one ffmpeg process pair per clip, measured in the same run on the
// same clips; then the whole pipeline (`augment run`) with the codec op at p = 0, 0.3 and 1.
//
//   npx tsc -p tsconfig.json && node bench/codecs.mjs [--clips 48] [--batch 16] [--runs 3]
//        [--codecs mp3,opus,...] [--clip-s 1] [--no-pipeline] [--pipeline-min 10] [--json out.json]
//   (AUGMENT_FFMPEG=/path/to/ffmpeg times another build; the default is the bundled one.)
//
// CPU time is this process's (process.cpuUsage) plus its waited-for children's (cutime + cstime
// from /proc/self/stat), so ffmpeg's work is counted: x-realtime per core = audio seconds / CPU
// seconds. Clips are real speech: the bundled demo utterances (espeak-ng) joined into 2-10 s clips.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { decodeAudio } from "../dist/audio/decode.js";
import { encodeWav } from "../dist/audio/wav.js";
import { floatToInt16 } from "../dist/audio/decode.js";
import { resample } from "../dist/audio/resample.js";
import { FfmpegBatcher, DEFAULT_BATCHER_OPTIONS } from "../dist/codecs/batcher.js";
import { checkFfmpeg } from "../dist/codecs/ffmpeg.js";
import { codecRoundTrip } from "../dist/codecs/roundtrip.js";
import { settingKey } from "../dist/codecs/table.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const SR = 16000;

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const nClips = Number(opt("clips", 48));
/** Fixed clip length in seconds (default: 2-10 s, drawn). */
const clipS = opt("clip-s", null);
const batchItems = Number(opt("batch", 16));
const runs = Number(opt("runs", 3));
const pipelineMin = Number(opt("pipeline-min", 10));
const jsonOut = opt("json", null);
const withPipeline = !args.includes("--no-pipeline");

const TYPICAL = {
  mp3: { codec: "mp3", sample_rate: 16000, bitrate: 32000 },
  opus: { codec: "opus", sample_rate: 16000, bitrate: 16000, bandwidth: "wb", application: "voip", complexity: 10, vbr: "on", frame_ms: 20 },
  opus_c5: { codec: "opus", sample_rate: 16000, bitrate: 16000, bandwidth: "wb", application: "voip", complexity: 5, vbr: "on", frame_ms: 20 },
  amr_nb: { codec: "amr_nb", sample_rate: 8000, bitrate: 12200 },
  amr_wb: { codec: "amr_wb", sample_rate: 16000, bitrate: 12650 },
  speex: { codec: "speex", sample_rate: 16000, quality: 8 },
  vorbis: { codec: "vorbis", sample_rate: 16000, quality: 3 },
  aac: { codec: "aac", sample_rate: 16000, bitrate: 32000 },
  g722: { codec: "g722", sample_rate: 16000, bitrate: 64000 },
  g726: { codec: "g726", sample_rate: 8000, bitrate: 32000 },
  mulaw: { codec: "mulaw", sample_rate: 8000, bitrate: 64000 },
};
const codecs = opt("codecs", Object.keys(TYPICAL).join(",")).split(",");

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** CPU seconds of this process and of its children that have exited. */
function cpuS() {
  const f = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
  const children = (Number(f[13]) + Number(f[14])) / 100; // cutime, cstime (fields 16, 17)
  const self = process.cpuUsage();
  return (self.user + self.system) / 1e6 + children;
}

/** Demo speech joined into clips of 2-10 s (deterministic). */
async function makeClips(n) {
  const dir = path.join(root, "data/demo");
  const lines = readFileSync(path.join(dir, "manifest.json"), "utf8").trim().split("\n");
  const utts = [];
  for (const line of lines) {
    const file = path.join(dir, JSON.parse(line).audio_filepath);
    const d = await decodeAudio(readFileSync(file), file);
    utts.push(resample(d.channels[0], d.sampleRate, SR));
  }
  let seed = 2026;
  const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296;
  const clips = [];
  let u = 0;
  for (let k = 0; k < n; k++) {
    const target = Math.round((clipS ? Number(clipS) : 2 + 8 * rnd()) * SR);
    const x = new Float32Array(target);
    for (let o = 0; o < target; ) {
      const s = utts[u++ % utts.length];
      x.set(s.subarray(0, Math.min(s.length, target - o)), o);
      o += s.length;
    }
    clips.push(x);
  }
  return clips;
}

async function batched(clips, setting) {
  const batcher = new FfmpegBatcher();
  const t0 = performance.now();
  const c0 = cpuS();
  for (let i = 0; i < clips.length; i += batchItems) {
    await Promise.all(clips.slice(i, i + batchItems).map((x) => codecRoundTrip(x, SR, setting, batcher)));
  }
  return { wallS: (performance.now() - t0) / 1000, cpuS: cpuS() - c0, pairs: batcher.stats.processPairs };
}

async function naive(clips, setting) {
  // One ffmpeg encoder + decoder per clip, one clip at a time: the same arguments and the same
  // in-process resampling and alignment, only without sharing processes.
  const batcher = new FfmpegBatcher({ ...DEFAULT_BATCHER_OPTIONS, maxStreams: 1 });
  const t0 = performance.now();
  const c0 = cpuS();
  for (const x of clips) await codecRoundTrip(x, SR, setting, batcher);
  return { wallS: (performance.now() - t0) / 1000, cpuS: cpuS() - c0, pairs: batcher.stats.processPairs };
}

async function codecBench() {
  const clips = await makeClips(nClips);
  const audioS = clips.reduce((a, c) => a + c.length, 0) / SR;
  const rows = [];
  for (const name of codecs) {
    const setting = TYPICAL[name];
    // Warm-up: the delay probe, page cache, JIT.
    await batched(clips.slice(0, 4), setting);
    await naive(clips.slice(0, 2), setting);
    const b = [];
    const n = [];
    for (let r = 0; r < runs; r++) {
      b.push(await batched(clips, setting));
      if (setting.codec !== "mulaw") n.push(await naive(clips, setting));
    }
    const bCpu = median(b.map((r) => r.cpuS));
    const nCpu = n.length ? median(n.map((r) => r.cpuS)) : NaN;
    const row = {
      codec: name,
      setting: settingKey(setting),
      audio_s: Math.round(audioS * 10) / 10,
      clips: clips.length,
      batched: { cpu_s: bCpu, wall_s: median(b.map((r) => r.wallS)), x_rt_per_core: audioS / bCpu, process_pairs: b[0].pairs, audio_h_per_cpu_h_cost_s: (3600 * bCpu) / audioS },
      naive: n.length ? { cpu_s: nCpu, wall_s: median(n.map((r) => r.wallS)), x_rt_per_core: audioS / nCpu, process_pairs: n[0].pairs, audio_h_per_cpu_h_cost_s: (3600 * nCpu) / audioS } : null,
      speedup: n.length ? nCpu / bCpu : null,
    };
    rows.push(row);
    console.log(
      `${name.padEnd(8)} ${row.setting.padEnd(46)} batched ${row.batched.x_rt_per_core.toFixed(0).padStart(4)}x rt/core (${row.batched.process_pairs} pairs, ${row.batched.audio_h_per_cpu_h_cost_s.toFixed(0)} CPU-s per audio-hour)` +
        (row.naive ? `  naive ${row.naive.x_rt_per_core.toFixed(0).padStart(4)}x (${row.naive.process_pairs} pairs, ${row.naive.audio_h_per_cpu_h_cost_s.toFixed(0)} CPU-s/h)  batched/naive ${row.speedup.toFixed(2)}x` : "  (in-process)"),
    );
  }
  return { audioS, rows };
}

/** `augment run` on ~pipelineMin minutes of demo speech, codec op at p = 0, 0.3, 1. */
async function pipelineBench() {
  const dir = path.join(here, "data", "codecs");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, "audio"), { recursive: true });
  const clips = await makeClips(Math.round((pipelineMin * 60) / 6));
  const manifest = clips.map((x, k) => {
    const id = `spk${k % 20}-utt${String(k).padStart(4, "0")}`;
    writeFileSync(path.join(dir, "audio", `${id}.wav`), encodeWav(floatToInt16(x), SR));
    return JSON.stringify({ audio_filepath: `audio/${id}.wav`, duration: x.length / SR, text: `utterance ${k}`, speaker: `spk${k % 20}`, lang: "en" });
  });
  writeFileSync(path.join(dir, "manifest.json"), manifest.join("\n") + "\n");
  const audioS = clips.reduce((a, c) => a + c.length, 0) / SR;
  const results = [];
  for (const p of [0, 0.3, 1]) {
    const recipe = path.join(dir, `recipe-p${p}.yaml`);
    writeFileSync(
      recipe,
      `seed: 7
sample_rate: 16000
inputs: [{format: nemo, path: ${path.join(dir, "manifest.json")}}]
noise_banks: [{name: demo, path: ${path.join(root, "noise-banks/default")}}]
rir_banks: [{name: rooms, path: ${path.join(root, "rirs/demo")}}]
chain:
  - reverb: {bank: rooms, p: 0.5}
  - noise: {bank: demo, snr_db: [5, 25], p: 0.8}
  - telephone: {p: 0.3}
${p > 0 ? `  - codec:
      choices:
        - {codec: opus, bitrate: [6000, 24000], bandwidth: [nb, wb]}
        - {codec: amr_nb}
        - {codec: amr_wb}
        - {codec: mp3, bitrate: [16000, 64000]}
        - {codec: aac, bitrate: [16000, 48000]}
        - {codec: mulaw}
      p: ${p}
` : ""}  - packetloss: {p: 0.3}
  - gain: {db: [-6, 6]}
output: {path: ${path.join(dir, `out-p${p}`)}, audio: flac}
`,
    );
    const times = [];
    for (let r = 0; r < runs; r++) {
      rmSync(path.join(dir, `out-p${p}`), { recursive: true, force: true });
      const t0 = performance.now();
      const res = spawnSync("/usr/bin/time", ["-f", "%U %S", process.execPath, path.join(root, "dist/cli/main.js"), "run", recipe, "--quiet"], { encoding: "utf8", maxBuffer: 1 << 26 });
      const wallS = (performance.now() - t0) / 1000;
      if (res.status !== 0) throw new Error(`augment run failed: ${res.stderr}`);
      const [u, s] = res.stderr.trim().split("\n").pop().split(" ").map(Number);
      times.push({ wallS, cpuS: u + s });
    }
    const wallS = median(times.map((t) => t.wallS));
    const cpu = median(times.map((t) => t.cpuS));
    results.push({ p, audio_s: audioS, wall_s: wallS, cpu_s: cpu, x_rt: audioS / wallS, x_rt_per_core: audioS / cpu });
    console.log(`pipeline, codec p=${p}: ${(audioS / wallS).toFixed(1)}x real time (wall, ${availableParallelism()} threads), ${(audioS / cpu).toFixed(1)}x per core (CPU ${cpu.toFixed(1)} s for ${audioS.toFixed(0)} s of audio)`);
  }
  return results;
}

const info = await checkFfmpeg();
console.log(`${info.version} (${info.path})\nNode ${process.version}, ${cpus()[0]?.model ?? "?"} x ${availableParallelism()}, ${nClips} clips of ${clipS ? `${clipS} s` : "2-10 s"}, batches of ${batchItems}, median of ${runs}`);
const codecRows = await codecBench();
const pipeline = withPipeline ? await pipelineBench() : null;
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ date: new Date().toISOString(), node: process.version, ffmpeg: info.version, cpus: availableParallelism(), batch_items: batchItems, runs, codec: codecRows, pipeline }, null, 1));
