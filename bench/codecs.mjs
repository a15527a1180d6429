// Codec stage throughput: x-realtime per CPU core for each codec at a typical setting, three ways
// in the same run on the same clips, rounds interleaved:
//   batched  augment's way: FfmpegBatcher, the clips of an engine batch (--batch) in one encoder +
//            one decoder process, one stream per clip, started by the thread's helper process
//   naive    one ffmpeg encoder + one decoder process per clip, one clip after another, spawned
//            directly by this process (~100-150 MB: its fork costs ~20 ms of CPU per process)
//   naive-s  the same, spawned by a small helper process (~4 ms per process): the cheapest way to
//            run one process pair per clip, like a shell loop over `ffmpeg -i clip …`
//   floor    one ffmpeg encoding all the clips (tails included) as ONE stream, one decoding it: the
//            codec's own cost, which no batching can go below
// then (unless --no-pipeline) the whole pipeline (`augment run`, 2 threads) with the codec op at
// p = 0, 0.3 and 1, and at p = 0.3 with AUGMENT_CODEC_SPAWN=direct (ffmpeg spawned by the engine
// threads themselves, as before the helper process), rounds interleaved.
//
//   npx tsc -p tsconfig.json && node bench/codecs.mjs [--clips 48] [--batch 16] [--runs 5]
//        [--codecs mp3,opus,...] [--clip-s S] [--no-pipeline] [--pipeline-min 10] [--isolation]
//        [--fork-cost] [--json out.json]
//   (AUGMENT_FFMPEG=/path/to/ffmpeg times another build; the default is the bundled one.)
//
// CPU time is this process's (process.cpuUsage) plus its exited children's (cutime + cstime from
// /proc/self/stat) plus the helper process's own and its children's (/proc/<helper>/stat), so
// ffmpeg's work is counted wherever it ran: x-realtime per core = audio seconds / CPU seconds.
// Every figure is a median over --runs rounds; ratios are medians of the per-round ratios (same
// round, same load). Clips are real speech: the bundled demo utterances (espeak-ng) joined into
// 2-10 s clips. --isolation also checks whether silence between clips in one stream would isolate
// them (it does not: see bench/README-codecs.md); --fork-cost times spawning ffmpeg from processes
// of 64 MB-1 GB, directly and through the helper process (src/codecs/spawner.ts).
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { decodeAudio, floatToInt16 } from "../dist/audio/decode.js";
import { encodeWav } from "../dist/audio/wav.js";
import { resample } from "../dist/audio/resample.js";
import { DEFAULT_BATCHER_OPTIONS, FfmpegBatcher, runProcessPair } from "../dist/codecs/batcher.js";
import { checkFfmpeg } from "../dist/codecs/ffmpeg.js";
import { codecDelay, codecRoundTrip, TAIL_MARGIN_S } from "../dist/codecs/roundtrip.js";
import { directRunner, HelperRunner, sharedRunner } from "../dist/codecs/spawner.js";
import { CODECS, settingKey } from "../dist/codecs/table.js";

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
const runs = Number(opt("runs", 5));
const pipelineMin = Number(opt("pipeline-min", 10));
const jsonOut = opt("json", null);
const withPipeline = !args.includes("--no-pipeline");
const withIsolation = args.includes("--isolation");
const withForkCost = args.includes("--fork-cost");

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
  const s = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** utime, stime, cutime, cstime of a process, seconds. */
function procTimes(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return { self: (Number(f[11]) + Number(f[12])) / 100, children: (Number(f[13]) + Number(f[14])) / 100 };
  } catch {
    return { self: 0, children: 0 };
  }
}

/** CPU seconds: this process (precise), its exited children, and the helper with its children. */
function cpuS() {
  const u = process.cpuUsage();
  const self = (u.user + u.system) / 1e6;
  const exited = procTimes("self").children;
  const pid = sharedRunner().pid;
  const h = pid ? procTimes(pid) : { self: 0, children: 0 };
  return { self, ffmpeg: exited + h.self + h.children, total: self + exited + h.self + h.children };
}

function delta(a, b) {
  return { self: b.self - a.self, ffmpeg: b.ffmpeg - a.ffmpeg, total: b.total - a.total };
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
  const c0 = cpuS();
  const t0 = performance.now();
  for (let i = 0; i < clips.length; i += batchItems) {
    await Promise.all(clips.slice(i, i + batchItems).map((x) => codecRoundTrip(x, SR, setting, batcher)));
  }
  return { wallS: (performance.now() - t0) / 1000, cpu: delta(c0, cpuS()), pairs: batcher.stats.processPairs };
}

async function naive(clips, setting, spawn = "direct") {
  // One ffmpeg encoder + decoder per clip, one clip at a time: the same arguments and the same
  // in-process resampling and alignment, only without sharing processes.
  const batcher = new FfmpegBatcher({ ...DEFAULT_BATCHER_OPTIONS, maxStreams: 1, spawn });
  const c0 = cpuS();
  const t0 = performance.now();
  for (const x of clips) await codecRoundTrip(x, SR, setting, batcher);
  return { wallS: (performance.now() - t0) / 1000, cpu: delta(c0, cpuS()), pairs: batcher.stats.processPairs };
}

/** The clips at the codec rate, each with the tail the op gives it, as one signal. */
async function oneStream(clips, setting) {
  const d = await codecDelay(setting, SR, new FfmpegBatcher({ ...DEFAULT_BATCHER_OPTIONS, spawn: "direct" }));
  const parts = clips.map((x) => {
    const atCodec = resample(x, SR, setting.sample_rate);
    const padded = new Float32Array(atCodec.length + Math.ceil((Math.max(0, d.samples) / SR + TAIL_MARGIN_S) * setting.sample_rate));
    padded.set(atCodec);
    return padded;
  });
  const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return all;
}

async function floor(stream, setting) {
  const c0 = cpuS();
  await runProcessPair([{ setting, pcm: stream }], 600_000, undefined, directRunner);
  return { cpu: delta(c0, cpuS()) };
}

async function codecBench() {
  const clips = await makeClips(nClips);
  const audioS = clips.reduce((a, c) => a + c.length, 0) / SR;
  const rows = [];
  for (const name of codecs) {
    const setting = TYPICAL[name];
    const viaFfmpeg = CODECS[setting.codec].encoder !== null;
    // Warm-up: the delay probe, the helper process, page cache, JIT.
    await batched(clips.slice(0, 4), setting);
    if (viaFfmpeg) await naive(clips.slice(0, 2), setting);
    const stream = viaFfmpeg ? await oneStream(clips, setting) : null;
    const b = [];
    const n = [];
    const ns = [];
    const f = [];
    for (let r = 0; r < runs; r++) {
      b.push(await batched(clips, setting));
      if (viaFfmpeg) {
        n.push(await naive(clips, setting));
        ns.push(await naive(clips, setting, "helper"));
        f.push(await floor(stream, setting));
      }
    }
    const perHour = (s) => (3600 * s) / audioS;
    const med = (xs, get) => median(xs.map(get));
    const row = {
      codec: name,
      setting: settingKey(setting),
      audio_s: Math.round(audioS * 10) / 10,
      clips: clips.length,
      load_avg: loadavg()[0],
      batched: {
        cpu_s: med(b, (r) => r.cpu.total),
        x_rt_per_core: audioS / med(b, (r) => r.cpu.total),
        cpu_s_per_audio_h: perHour(med(b, (r) => r.cpu.total)),
        node_cpu_s_per_audio_h: perHour(med(b, (r) => r.cpu.self)),
        ffmpeg_cpu_s_per_audio_h: perHour(med(b, (r) => r.cpu.ffmpeg)),
        wall_s: med(b, (r) => r.wallS),
        process_pairs: b[0].pairs,
      },
      naive: n.length
        ? {
            cpu_s: med(n, (r) => r.cpu.total),
            x_rt_per_core: audioS / med(n, (r) => r.cpu.total),
            cpu_s_per_audio_h: perHour(med(n, (r) => r.cpu.total)),
            node_cpu_s_per_audio_h: perHour(med(n, (r) => r.cpu.self)),
            ffmpeg_cpu_s_per_audio_h: perHour(med(n, (r) => r.cpu.ffmpeg)),
            wall_s: med(n, (r) => r.wallS),
            process_pairs: n[0].pairs,
          }
        : null,
      naive_small_parent: ns.length
        ? { cpu_s: med(ns, (r) => r.cpu.total), x_rt_per_core: audioS / med(ns, (r) => r.cpu.total), cpu_s_per_audio_h: perHour(med(ns, (r) => r.cpu.total)) }
        : null,
      speedup_small_parent: ns.length ? median(ns.map((r, k) => r.cpu.total / b[k].cpu.total)) : null,
      floor: f.length ? { cpu_s_per_audio_h: perHour(med(f, (r) => r.cpu.total)), x_rt_per_core: audioS / med(f, (r) => r.cpu.total) } : null,
      // Same-round ratios.
      speedup: n.length ? median(n.map((r, k) => r.cpu.total / b[k].cpu.total)) : null,
      speedup_range: n.length ? [Math.min(...n.map((r, k) => r.cpu.total / b[k].cpu.total)), Math.max(...n.map((r, k) => r.cpu.total / b[k].cpu.total))] : null,
    };
    rows.push(row);
    const B = row.batched;
    console.log(
      `${name.padEnd(8)} ${row.setting.padEnd(46)} batched ${B.x_rt_per_core.toFixed(0).padStart(4)}x rt/core (${B.cpu_s_per_audio_h.toFixed(1)} CPU-s/audio-h: node ${B.node_cpu_s_per_audio_h.toFixed(1)}, ffmpeg ${B.ffmpeg_cpu_s_per_audio_h.toFixed(1)}; ${B.process_pairs} pairs)` +
        (row.naive
          ? `  naive ${row.naive.x_rt_per_core.toFixed(0).padStart(4)}x (${row.naive.cpu_s_per_audio_h.toFixed(1)}: node ${row.naive.node_cpu_s_per_audio_h.toFixed(1)}, ffmpeg ${row.naive.ffmpeg_cpu_s_per_audio_h.toFixed(1)}; ${row.naive.process_pairs} pairs)` +
            `  naive-s ${row.naive_small_parent.x_rt_per_core.toFixed(0)}x (${row.naive_small_parent.cpu_s_per_audio_h.toFixed(1)})` +
            `  floor ${row.floor.x_rt_per_core.toFixed(0)}x (${row.floor.cpu_s_per_audio_h.toFixed(1)})  naive/batched ${row.speedup.toFixed(2)}x [${row.speedup_range.map((v) => v.toFixed(2)).join("-")}], naive-s/batched ${row.speedup_small_parent.toFixed(2)}x`
          : "  (in-process)"),
    );
  }
  return { audioS, rows };
}

/**
 * Would silence isolate clips in one stream? [A, silence, B] against [B, silence] with B on the
 * same frame phase (A and the silence are whole multiples of every frame size): the decoded B
 * must then be bit-identical for a shared stream to be usable.
 */
async function isolationCheck() {
  const clips = await makeClips(8);
  const unit = 46080; // 2.88 s at 16 kHz: a multiple of 576, 1024, 320 and 160
  const cut = (x) => {
    const y = new Float32Array(unit);
    y.set(x.subarray(0, unit));
    return y;
  };
  const out = [];
  for (const name of codecs) {
    const s = TYPICAL[name];
    if (!CODECS[s.codec].encoder || name === "opus_c5") continue;
    for (const gapUnits of [1, 3]) {
      const a = resample(cut(clips[0]), SR, s.sample_rate);
      const b = resample(cut(clips[5]), SR, s.sample_rate);
      const u = a.length;
      const g = gapUnits * u;
      const alone = new Float32Array(u + g);
      alone.set(b);
      const shared = new Float32Array(2 * (u + g));
      shared.set(a);
      shared.set(b, u + g);
      const [o1, o2] = await runProcessPair([{ setting: s, pcm: alone }, { setting: s, pcm: shared }], 60_000, undefined, directRunner);
      const r = CODECS[s.codec].decodeRate(s) / s.sample_rate;
      const x = o1.pcm.subarray(0, Math.round((u + g / 2) * r));
      const y = o2.pcm.subarray(Math.round((u + g) * r), Math.round((u + g) * r) + x.length);
      let first = -1;
      let e = 0;
      let d = 0;
      for (let i = 0; i < x.length; i++) {
        if (x[i] !== y[i] && first < 0) first = i;
        e += x[i] * x[i];
        d += (x[i] - y[i]) ** 2;
      }
      const row = { codec: name, silence_s: g / s.sample_rate, identical: first < 0, first_difference: first, snr_db: d ? 10 * Math.log10(e / d) : Infinity };
      out.push(row);
      console.log(`isolation ${name.padEnd(8)} ${row.silence_s.toFixed(2)} s of silence before the clip: ${row.identical ? "identical" : `differs from sample ${first}, ${row.snr_db.toFixed(1)} dB apart`}`);
    }
  }
  return out;
}

/** `augment run` on ~pipelineMin minutes of demo speech, codec op at p = 0, 0.3, 1 (+ 0.3 spawning directly). */
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
  const configs = [
    { p: 0, env: {} },
    { p: 0.3, env: {} },
    { p: 0.3, env: { AUGMENT_CODEC_SPAWN: "direct" }, label: "0.3, spawned by the engine threads" },
    { p: 1, env: {} },
  ];
  for (const c of configs) {
    c.recipe = path.join(dir, `recipe-p${c.p}.yaml`);
    c.times = [];
    writeFileSync(
      c.recipe,
      `seed: 7
sample_rate: 16000
inputs: [{format: nemo, path: ${path.join(dir, "manifest.json")}}]
noise_banks: [{name: demo, path: ${path.join(root, "noise-banks/default")}}]
rir_banks: [{name: rooms, path: ${path.join(root, "rirs/demo")}}]
chain:
  - reverb: {bank: rooms, p: 0.5}
  - noise: {bank: demo, snr_db: [5, 25], p: 0.8}
  - telephone: {p: 0.3}
${c.p > 0 ? `  - codec:
      choices:
        - {codec: opus, bitrate: [6000, 24000], bandwidth: [nb, wb]}
        - {codec: amr_nb}
        - {codec: amr_wb}
        - {codec: mp3, bitrate: [16000, 64000]}
        - {codec: aac, bitrate: [16000, 48000]}
        - {codec: mulaw}
      p: ${c.p}
` : ""}  - packetloss: {p: 0.3}
  - gain: {db: [-6, 6]}
output: {path: ${path.join(dir, `out-p${c.p}`)}, audio: flac}
`,
    );
  }
  for (let r = 0; r < runs; r++) {
    for (const c of configs) {
      rmSync(path.join(dir, `out-p${c.p}`), { recursive: true, force: true });
      const t0 = performance.now();
      const res = spawnSync("/usr/bin/time", ["-f", "%U %S", process.execPath, path.join(root, "dist/cli/main.js"), "run", c.recipe, "--quiet"], {
        encoding: "utf8",
        maxBuffer: 1 << 26,
        env: { ...process.env, ...c.env },
      });
      const wallS = (performance.now() - t0) / 1000;
      if (res.status !== 0) throw new Error(`augment run failed: ${res.stderr}`);
      const [u, s] = res.stderr.trim().split("\n").pop().split(" ").map(Number);
      c.times.push({ wallS, cpuS: u + s });
    }
  }
  const base = configs[0];
  const results = [];
  for (const c of configs) {
    const cpu = median(c.times.map((t) => t.cpuS));
    const wallS = median(c.times.map((t) => t.wallS));
    // Same-round share: what the codec op adds to the p = 0 run of the same round.
    const share = c.p > 0 ? median(c.times.map((t, k) => (t.cpuS - base.times[k].cpuS) / t.cpuS)) : null;
    results.push({ p: c.p, label: c.label ?? String(c.p), audio_s: audioS, wall_s: wallS, cpu_s: cpu, x_rt: audioS / wallS, x_rt_per_core: audioS / cpu, codec_share: share, cpu_runs: c.times.map((t) => t.cpuS) });
    console.log(
      `pipeline, codec p=${c.label ?? c.p}: ${(audioS / wallS).toFixed(1)}x real time (wall, ${availableParallelism()} threads), ${(audioS / cpu).toFixed(1)}x per core (CPU ${cpu.toFixed(1)} s for ${audioS.toFixed(0)} s of audio)` +
        (share !== null ? `, codec share of CPU ${(100 * share).toFixed(0)}%` : ""),
    );
  }
  return results;
}

/**
 * CPU per `ffmpeg -version` spawned from a process holding `mb` MB, directly or through a
 * HelperRunner. Runs in a child process (argv: --fork-cost-child mb mode) so the ballast is its own.
 */
async function forkCostChild(mb, mode) {
  const ballast = [];
  for (let i = 0; i < mb / 8; i++) ballast.push(new Float64Array(1 << 20).fill(i));
  const runner = mode === "helper" ? new HelperRunner() : directRunner;
  const ffmpeg = (await checkFfmpeg()).path;
  const once = () => runner.run(ffmpeg, ["-hide_banner", "-version"], [], 0, 10_000);
  await once();
  await new Promise((r) => setTimeout(r, 300));
  const times = () => {
    const u = process.cpuUsage();
    const h = runner.pid ? procTimes(runner.pid) : { self: 0, children: 0 };
    return (u.user + u.system) / 1e6 + procTimes("self").children + h.self + h.children;
  };
  const n = 30;
  const c0 = times();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await once();
  const wallS = (performance.now() - t0) / 1000;
  const cpu = times() - c0;
  console.log(JSON.stringify({ mb, mode, cpu_ms_per_spawn: (1000 * cpu) / n, wall_ms_per_spawn: (1000 * wallS) / n, ballast: ballast.length }));
  await runner.close();
}

async function forkCost() {
  const rows = [];
  for (const mb of [64, 256, 1024]) {
    for (const mode of ["direct", "helper"]) {
      const ms = [];
      for (let r = 0; r < Math.max(1, Math.min(runs, 3)); r++) {
        const res = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--fork-cost-child", String(mb), mode], { encoding: "utf8" });
        if (res.status !== 0) throw new Error(res.stderr);
        ms.push(JSON.parse(res.stdout.trim().split("\n").pop()).cpu_ms_per_spawn);
      }
      const row = { mb, mode, cpu_ms_per_spawn: median(ms) };
      rows.push(row);
      console.log(`spawn from a ${String(mb).padStart(4)} MB process, ${mode.padEnd(6)}: ${row.cpu_ms_per_spawn.toFixed(1)} ms CPU per ffmpeg (${ms.map((v) => v.toFixed(1)).join(", ")})`);
    }
  }
  return rows;
}

if (args[0] === "--fork-cost-child") {
  await forkCostChild(Number(args[1]), args[2]);
  process.exit(0);
}

const info = await checkFfmpeg();
console.log(`${info.version} (${info.path})\nNode ${process.version}, ${cpus()[0]?.model ?? "?"} x ${availableParallelism()}, load ${loadavg().map((l) => l.toFixed(1)).join(" ")}, ${nClips} clips of ${clipS ? `${clipS} s` : "2-10 s"}, batches of ${batchItems}, median of ${runs}`);
const forkCosts = withForkCost ? await forkCost() : null;
const codecRows = codecs.length && codecs[0] ? await codecBench() : null;
const isolation = withIsolation ? await isolationCheck() : null;
const pipeline = withPipeline ? await pipelineBench() : null;
if (jsonOut) {
  writeFileSync(
    jsonOut,
    JSON.stringify({ date: new Date().toISOString(), node: process.version, ffmpeg: info.version, cpus: availableParallelism(), load_avg_end: loadavg(), batch_items: batchItems, runs, fork_cost: forkCosts, codec: codecRows, isolation, pipeline }, null, 1),
  );
}
